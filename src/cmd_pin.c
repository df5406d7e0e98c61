/*
 * cmd_pin.c - `imgwatch pin FILE...`: rewrite the image fields of
 * Kubernetes manifests to tag@digest, as the registry holds them now,
 * changing no other byte of the files.
 *
 * All or nothing: every file is read and parsed, every distinct
 * reference is resolved (one concurrent batch for all files), every
 * rewrite is parsed back, and only then is anything written; each file is
 * replaced atomically (temp file in the same directory, fsync, rename),
 * keeping its mode and, where allowed, its owner.
 */
#include "cli.h"
#include "commands.h"
#include "config/config.h"
#include "kube/pin.h"
#include "ref/ref.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pin_opts
{
  const char *config;
  bool write;
  bool check;
  bool verify;
  int concurrency;
  long timeout_s;
} pin_opts;

typedef struct pin_file
{
  const char *name; /* as given; "<stdin>" for - */
  bool is_stdin;
  bool dup; /* the same file as an earlier argument: skipped */
  char *text;
  size_t len;
  struct stat st;
  iw_pin_site *sites;
  size_t n_sites;
  iw_ref **refs;  /* per site */
  size_t *uniq;   /* per site: index into the distinct references, or SIZE_MAX */
  char **values;  /* per site: the pinned value, or NULL */
  size_t changed; /* sites whose value changes */
} pin_file;

/* One distinct reference text, and where it was first seen. */
typedef struct uniq_ref
{
  const char *text;  /* borrowed from a site */
  const iw_ref *ref; /* borrowed */
  const pin_file *file;
  const iw_pin_site *site;
  size_t uses;
  bool pinned; /* has a digest: checked with --verify only */
} uniq_ref;

static int
parse_long (long *out, const char *opt, const char *arg, long min, long max)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (arg, &end, 10);
  if (errno || end == arg || *end || v < min || v > max)
    {
      iw_cli_error ("pin", "%s \"%s\": expected %ld to %ld", opt, arg, min, max);
      return -1;
    }
  *out = v;
  return 0;
}

static int
parse_opts (pin_opts *o, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "write", no_argument, NULL, 'w' },
    { "check", no_argument, NULL, 'C' },
    { "verify", no_argument, NULL, 'V' },
    { "config", required_argument, NULL, 'c' },
    { "concurrency", required_argument, NULL, 'j' },
    { "timeout", required_argument, NULL, 't' },
    { NULL, 0, NULL, 0 },
  };
  int c;
  long v;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+wc:j:t:", longopts, NULL)) != -1)
    switch (c)
      {
      case 'w':
        o->write = true;
        break;
      case 'C':
        o->check = true;
        break;
      case 'V':
        o->verify = true;
        break;
      case 'c':
        o->config = optarg;
        break;
      case 'j':
        if (parse_long (&v, "--concurrency", optarg, 1, 256) < 0)
          return -1;
        o->concurrency = (int)v;
        break;
      case 't':
        if (parse_long (&v, "--timeout", optarg, 1, 3600) < 0)
          return -1;
        o->timeout_s = v;
        break;
      default:
        fprintf (stderr, "Run 'imgwatch help pin' for usage.\n");
        return -1;
      }
  if (o->write && o->check)
    {
      iw_cli_error ("pin", "--write and --check do not go together");
      return -1;
    }
  return 0;
}

static int
read_file (pin_file *f)
{
  iw_buf b = IW_BUF_INIT (IW_PIN_MAX);
  iw_error *err = NULL;
  char chunk[65536];
  FILE *fp = f->is_stdin ? stdin : fopen (f->name, "rb");
  int ret = -1;

  if (fp == NULL)
    {
      iw_cli_error ("pin", "%s: %s", f->name, strerror (errno));
      return -1;
    }
  if (fstat (fileno (fp), &f->st) < 0)
    {
      iw_cli_error ("pin", "%s: %s", f->name, strerror (errno));
      goto done;
    }
  if (S_ISDIR (f->st.st_mode))
    {
      iw_cli_error ("pin", "%s: is a directory", f->name);
      goto done;
    }
  for (;;)
    {
      size_t n = fread (chunk, 1, sizeof chunk, fp);

      if (n > 0 && iw_buf_append (&b, chunk, n, &err) < 0)
        {
          iw_cli_error ("pin", "%s: larger than %d MiB", f->name, IW_PIN_MAX / (1024 * 1024));
          goto done;
        }
      if (n < sizeof chunk)
        break;
    }
  if (ferror (fp))
    {
      iw_cli_error ("pin", "%s: read: %s", f->name, strerror (errno));
      goto done;
    }
  f->len = b.len;
  f->text = iw_buf_take (&b);
  ret = 0;
done:
  if (fp != stdin)
    fclose (fp);
  iw_buf_free (&b);
  iw_error_free (err);
  return ret;
}

/* Replace path's target atomically with data, keeping mode and owner.
 * Refuses when the file changed since it was read. */
static int
write_atomic (const pin_file *f, const char *data, size_t len)
{
  char *target = realpath (f->name, NULL);
  char *dir_copy = NULL, *base_copy = NULL, *tmp = NULL;
  const char *dir, *base;
  struct stat now;
  int fd = -1, dfd = -1, ret = -1;
  size_t off = 0;

  if (target == NULL)
    {
      iw_cli_error ("pin", "%s: %s", f->name, strerror (errno));
      return -1;
    }
  dir_copy = iw_xstrdup (target);
  base_copy = iw_xstrdup (target);
  dir = dirname (dir_copy);
  base = basename (base_copy);
  tmp = iw_xasprintf ("%s/.%s.imgwatch-XXXXXX", dir, base);
  fd = mkstemp (tmp);
  if (fd < 0)
    {
      iw_cli_error ("pin", "%s: create a temporary file in %s: %s", f->name, dir, strerror (errno));
      free (tmp);
      tmp = NULL;
      goto done;
    }
  while (off < len)
    {
      ssize_t w = write (fd, data + off, len - off);

      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        {
          iw_cli_error ("pin", "%s: write %s: %s", f->name, tmp, strerror (errno));
          goto done;
        }
      off += (size_t)w;
    }
  if (fchmod (fd, f->st.st_mode & 07777) < 0)
    {
      iw_cli_error ("pin", "%s: keep the file mode: %s", f->name, strerror (errno));
      goto done;
    }
  /* Only root may give a file away; anyone else keeps their own. */
  if (fchown (fd, f->st.st_uid, f->st.st_gid) < 0 && errno != EPERM)
    {
      iw_cli_error ("pin", "%s: keep the file owner: %s", f->name, strerror (errno));
      goto done;
    }
  if (fsync (fd) < 0)
    {
      iw_cli_error ("pin", "%s: fsync %s: %s", f->name, tmp, strerror (errno));
      goto done;
    }
  if (close (fd) < 0)
    {
      fd = -1;
      iw_cli_error ("pin", "%s: close %s: %s", f->name, tmp, strerror (errno));
      goto done;
    }
  fd = -1;
  if (stat (target, &now) < 0 || now.st_ino != f->st.st_ino || now.st_size != f->st.st_size
      || now.st_mtim.tv_sec != f->st.st_mtim.tv_sec || now.st_mtim.tv_nsec != f->st.st_mtim.tv_nsec)
    {
      iw_cli_error ("pin", "%s: changed while it was being pinned; not written", f->name);
      goto done;
    }
  if (rename (tmp, target) < 0)
    {
      iw_cli_error ("pin", "%s: rename %s: %s", f->name, tmp, strerror (errno));
      goto done;
    }
  free (tmp);
  tmp = NULL;
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void)fsync (dfd);
      close (dfd);
    }
  ret = 0;
done:
  if (fd >= 0)
    close (fd);
  if (tmp)
    {
      unlink (tmp);
      free (tmp);
    }
  free (dir_copy);
  free (base_copy);
  free (target);
  return ret;
}

/* Parse each site's reference and collect the distinct ones to ask.
 * Returns the number of invalid references. */
static size_t
collect (uniq_ref **uniq, size_t *n_uniq, pin_file *f, const pin_opts *o)
{
  size_t bad = 0;

  f->refs = iw_xcalloc (f->n_sites ? f->n_sites : 1, sizeof *f->refs);
  f->uniq = iw_xcalloc (f->n_sites ? f->n_sites : 1, sizeof *f->uniq);
  f->values = iw_xcalloc (f->n_sites ? f->n_sites : 1, sizeof *f->values);
  for (size_t i = 0; i < f->n_sites; i++)
    {
      const iw_pin_site *s = &f->sites[i];
      iw_error *err = NULL;
      size_t u;

      f->uniq[i] = SIZE_MAX;
      if (iw_ref_parse (&f->refs[i], s->value, &err) < 0)
        {
          iw_cli_error ("pin", "%s:%zu:%zu: %s: %s", f->name, s->line, s->col, s->where, iw_error_msg (err));
          iw_error_free (err);
          bad++;
          continue;
        }
      if (f->refs[i]->digest && !o->verify)
        continue;
      if (f->refs[i]->digest == NULL && o->check && !o->verify)
        continue;
      for (u = 0; u < *n_uniq; u++)
        if (strcmp ((*uniq)[u].text, s->value) == 0)
          break;
      if (u == *n_uniq)
        {
          *uniq = iw_xreallocarray (*uniq, *n_uniq + 1, sizeof **uniq);
          (*uniq)[u] = (uniq_ref){
            .text = s->value, .ref = f->refs[i], .file = f, .site = s, .pinned = f->refs[i]->digest != NULL
          };
          (*n_uniq)++;
        }
      (*uniq)[u].uses++;
      f->uniq[i] = u;
    }
  return bad;
}

static void
report_failure (const uniq_ref *u, iw_code code, const char *message)
{
  const iw_pin_site *s = u->site;

  if (u->uses > 1)
    iw_cli_error ("pin", "%s:%zu:%zu: %s: %s: %s (and %zu more uses)", u->file->name, s->line, s->col,
                  u->text, iw_cli_reason (code), message ? message : "", u->uses - 1);
  else
    iw_cli_error ("pin", "%s:%zu:%zu: %s: %s: %s", u->file->name, s->line, s->col, u->text,
                  iw_cli_reason (code), message ? message : "");
}

/* Resolve the unpinned references and check the pinned ones (--verify).
 * digests[u] receives the digest of each unpinned one.  Returns the
 * number of failures, or -1 when the registry client could not start. */
static long
ask_registry (char ***digests, const pin_opts *o, const uniq_ref *uniq, size_t n_uniq)
{
  iw_registry_options ropts = IW_REGISTRY_OPTIONS_INIT;
  iw_config *cfg = NULL;
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  const iw_ref **tags = iw_xcalloc (n_uniq ? n_uniq : 1, sizeof *tags);
  size_t *tag_of = iw_xcalloc (n_uniq ? n_uniq : 1, sizeof *tag_of);
  iw_check *checks = iw_xcalloc (n_uniq ? n_uniq : 1, sizeof *checks);
  size_t *check_of = iw_xcalloc (n_uniq ? n_uniq : 1, sizeof *check_of);
  size_t n_tags = 0, n_checks = 0;
  iw_resolution *res = NULL;
  iw_presence *pres = NULL;
  long failed = -1;

  *digests = iw_xcalloc (n_uniq ? n_uniq : 1, sizeof **digests);
  for (size_t u = 0; u < n_uniq; u++)
    if (uniq[u].pinned)
      {
        checks[n_checks]
            = (iw_check){ .repo = uniq[u].ref, .digest = uniq[u].ref->digest, .kind = IW_CHECK_MANIFEST };
        check_of[n_checks++] = u;
      }
    else
      {
        tags[n_tags] = uniq[u].ref;
        tag_of[n_tags++] = u;
      }
  if (o->config && iw_config_load (&cfg, o->config, &err) < 0)
    {
      iw_cli_error ("pin", "%s", iw_error_msg (err));
      goto done;
    }
  if (o->concurrency)
    ropts.max_per_host = o->concurrency;
  if (o->timeout_s)
    ropts.request_timeout_ms = o->timeout_s * 1000;
  if (iw_registry_new (&reg, cfg, &ropts, &err) < 0)
    {
      iw_cli_error ("pin", "%s", iw_error_msg (err));
      goto done;
    }
  if (n_tags > 0 && iw_registry_resolve_many (&res, reg, tags, n_tags, 0, &err) < 0)
    {
      iw_cli_error ("pin", "%s", iw_error_msg (err));
      goto done;
    }
  if (n_checks > 0 && iw_registry_check_many (&pres, reg, checks, n_checks, &err) < 0)
    {
      iw_cli_error ("pin", "%s", iw_error_msg (err));
      goto done;
    }
  failed = 0;
  for (size_t i = 0; i < n_tags; i++)
    if (res[i].code != IW_OK || res[i].digest == NULL)
      {
        report_failure (&uniq[tag_of[i]], res[i].code != IW_OK ? res[i].code : IW_EPARSE,
                        res[i].message ? res[i].message : "no digest");
        failed++;
      }
    else
      (*digests)[tag_of[i]] = iw_xstrdup (res[i].digest);
  for (size_t i = 0; i < n_checks; i++)
    if (pres[i].state == IW_PRESENCE_ABSENT)
      {
        char *msg = iw_xasprintf ("the registry does not hold %s", uniq[check_of[i]].ref->digest);

        report_failure (&uniq[check_of[i]], IW_ENOTFOUND, msg);
        free (msg);
        failed++;
      }
    else if (pres[i].state != IW_PRESENCE_PRESENT)
      {
        report_failure (&uniq[check_of[i]], pres[i].code, pres[i].message);
        failed++;
      }
done:
  iw_resolutions_free (res, n_tags);
  iw_presences_free (pres, n_checks);
  iw_registry_free (reg);
  iw_config_free (cfg);
  iw_error_free (err);
  free (tags);
  free (tag_of);
  free (checks);
  free (check_of);
  return failed;
}

static void
free_file (pin_file *f)
{
  for (size_t i = 0; i < f->n_sites; i++)
    {
      if (f->refs)
        iw_ref_free (f->refs[i]);
      if (f->values)
        free (f->values[i]);
    }
  free (f->refs);
  free (f->uniq);
  free (f->values);
  iw_pin_sites_free (f->sites, f->n_sites);
  free (f->text);
}

static int
run (int argc, char **argv)
{
  pin_opts o = { 0 };
  pin_file *files = NULL;
  size_t n_files = 0, n_uniq = 0, bad = 0, unpinned = 0, changed_files = 0;
  uniq_ref *uniq = NULL;
  char **digests = NULL;
  char **outputs = NULL;
  size_t *out_lens = NULL;
  bool has_stdin = false;
  int ret = IW_EXIT_USAGE;

  if (parse_opts (&o, argc, argv) < 0)
    return IW_EXIT_USAGE;
  n_files = (size_t)(argc - optind);
  if (n_files == 0)
    {
      iw_cli_error ("pin", "no files given (use - to read a manifest from stdin)");
      fprintf (stderr, "Run 'imgwatch help pin' for usage.\n");
      return IW_EXIT_USAGE;
    }
  files = iw_xcalloc (n_files, sizeof *files);
  for (size_t i = 0; i < n_files; i++)
    {
      files[i].name = argv[optind + (int)i];
      if (strcmp (files[i].name, "-") == 0)
        {
          files[i].is_stdin = true;
          files[i].name = "<stdin>";
          has_stdin = true;
        }
    }
  if (has_stdin && n_files > 1)
    {
      iw_cli_error ("pin", "- (stdin) cannot be mixed with files");
      goto done;
    }
  if (has_stdin && o.write)
    {
      iw_cli_error ("pin", "--write needs files; with - the pinned manifest goes to stdout");
      goto done;
    }

  /* 1. Read and locate everything; report every error before stopping. */
  for (size_t i = 0; i < n_files; i++)
    {
      iw_error *err = NULL;

      if (read_file (&files[i]) < 0)
        {
          bad++;
          continue;
        }
      for (size_t j = 0; j < i && !files[i].is_stdin; j++)
        if (!files[j].dup && files[j].text && files[j].st.st_dev == files[i].st.st_dev
            && files[j].st.st_ino == files[i].st.st_ino)
          files[i].dup = true;
      if (files[i].dup)
        continue;
      if (iw_pin_locate (&files[i].sites, &files[i].n_sites, files[i].text, files[i].len, files[i].name, &err)
          < 0)
        {
          iw_cli_error ("pin", "%s", iw_error_msg (err));
          iw_error_free (err);
          bad++;
          continue;
        }
      bad += collect (&uniq, &n_uniq, &files[i], &o);
    }
  if (bad)
    goto done;

  /* 2. --check alone needs no registry. */
  for (size_t i = 0; i < n_files; i++)
    for (size_t s = 0; s < files[i].n_sites; s++)
      if (files[i].refs[s]->digest == NULL)
        {
          unpinned++;
          if (o.check)
            printf ("%s:%zu:%zu: %s: %s is not pinned to a digest\n", files[i].name, files[i].sites[s].line,
                    files[i].sites[s].col, files[i].sites[s].where, files[i].sites[s].value);
        }

  /* 3. One batch for every distinct reference of every file. */
  if (n_uniq > 0)
    {
      long failed;

      fflush (stdout);
      failed = ask_registry (&digests, &o, uniq, n_uniq);
      if (failed != 0)
        {
          if (failed > 0)
            iw_cli_error ("pin", "%ld reference%s could not be %s; nothing was written", failed,
                          failed == 1 ? "" : "s", o.verify ? "resolved or verified" : "resolved");
          ret = failed < 0 ? IW_EXIT_USAGE : IW_EXIT_UNAVAILABLE;
          goto done;
        }
    }
  if (o.check)
    {
      ret = unpinned ? IW_EXIT_FINDINGS : IW_EXIT_OK;
      goto done;
    }

  /* 4. Rewrite in memory and parse back, every file, before writing any. */
  outputs = iw_xcalloc (n_files, sizeof *outputs);
  out_lens = iw_xcalloc (n_files, sizeof *out_lens);
  for (size_t i = 0; i < n_files; i++)
    {
      pin_file *f = &files[i];
      iw_error *err = NULL;

      if (f->dup)
        continue;
      for (size_t s = 0; s < f->n_sites; s++)
        if (f->refs[s]->digest == NULL)
          {
            f->values[s] = iw_pin_pinned (f->sites[s].value, digests[f->uniq[s]]);
            f->changed++;
          }
      if (f->changed)
        changed_files++;
      if (o.write && f->changed == 0)
        continue;
      if (o.write || f->is_stdin)
        {
          if (iw_pin_apply (&outputs[i], &out_lens[i], f->text, f->len, f->name, f->sites,
                            (const char *const *)f->values, f->n_sites, &err)
              < 0)
            {
              iw_cli_error ("pin", "%s; nothing was written", iw_error_msg (err));
              iw_error_free (err);
              goto done;
            }
        }
      else if (iw_pin_diff (&outputs[i], f->text, f->len, f->name, f->sites, (const char *const *)f->values,
                            f->n_sites, &err)
               < 0)
        {
          iw_cli_error ("pin", "%s", iw_error_msg (err));
          iw_error_free (err);
          goto done;
        }
      else
        out_lens[i] = strlen (outputs[i]);
    }

  /* 5. Output. */
  ret = IW_EXIT_OK;
  for (size_t i = 0; i < n_files; i++)
    {
      pin_file *f = &files[i];

      if (f->dup)
        continue;
      if (o.write)
        {
          if (f->changed == 0)
            continue;
          if (write_atomic (f, outputs[i], out_lens[i]) < 0)
            {
              ret = IW_EXIT_UNAVAILABLE;
              continue;
            }
          printf ("%s: pinned %zu image%s\n", f->name, f->changed, f->changed == 1 ? "" : "s");
        }
      else
        {
          fwrite (outputs[i], 1, out_lens[i], stdout);
          if (!f->is_stdin && f->changed)
            ret = IW_EXIT_FINDINGS;
        }
    }
  if (fflush (stdout) != 0)
    {
      iw_cli_error ("pin", "writing to stdout failed");
      ret = IW_EXIT_UNAVAILABLE;
    }
done:
  for (size_t i = 0; i < n_files; i++)
    {
      free (outputs ? outputs[i] : NULL);
      free_file (&files[i]);
    }
  for (size_t u = 0; digests && u < n_uniq; u++)
    free (digests[u]);
  free (digests);
  free (outputs);
  free (out_lens);
  free (uniq);
  free (files);
  return ret;
}

const iw_command iw_cmd_pin = {
  .name = "pin",
  .summary = "rewrite image: fields of manifests to tag@digest",
  .usage = "Usage: imgwatch pin [--write | --check] [--verify] [--config F] [--concurrency N]\n"
           "                    [--timeout SECONDS] FILE... | -\n"
           "\n"
           "Find the image of every container, init container and ephemeral container of\n"
           "the Kubernetes objects in FILE (YAML or JSON; multi-document YAML; Pod,\n"
           "Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,\n"
           "CronJob, PodTemplate, Lists) and pin it to the digest the registry holds for\n"
           "it now: name:tag becomes name:tag@sha256:....  Only those scalars change;\n"
           "comments, quoting, anchors and layout are kept byte for byte.  References\n"
           "that already have a digest are left alone.\n"
           "\n"
           "Without --write, print a unified diff of the changes.  With -, read a\n"
           "manifest from stdin and print the pinned manifest to stdout.\n"
           "\n"
           "Options:\n"
           "  -w, --write             replace each FILE atomically (same mode and owner)\n"
           "      --check             do not ask the registry: list the unpinned images,\n"
           "                          exit 1 if there is any\n"
           "      --verify            also check that pinned digests exist in the registry\n"
           "  -c, --config F          imgwatch config (registries: insecure, ca, username,\n"
           "                          passwordFile; mirrors)\n"
           "  -j, --concurrency N     requests in flight per registry (default 16)\n"
           "  -t, --timeout SECONDS   deadline of each request (default 30)\n"
           "\n"
           "Nothing is written unless every file parses and every reference resolves.\n"
           "\n"
           "Exit status: 0 nothing to change (or written; or - printed), 1 changes pending\n"
           "(diff) or unpinned images (--check), 2 usage, YAML or reference errors,\n"
           "3 a reference could not be resolved or verified (one line each on stderr\n"
           "saying why), or a file could not be written.\n"
           "See docs/pin.md.\n",
  .run = run,
};
