/*
 * cmd_list.c - `imgwatch list`: what runs, one line per container.
 *
 * Records stream from the Kubernetes API (or a file) straight to stdout:
 * the table keeps only its first rows to size the columns, and -o json is
 * written as records arrive, so a 100,000-pod cluster costs the memory of
 * one API page.
 */
#include "cli.h"
#include "commands.h"
#include "kube/kube.h"
#include "runtime/containerd.h"
#include "runtime/docker.h"
#include "util/json.h"
#include "util/mem.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCOLS 7
#define SIZING_ROWS 500

static const char *const headers[NCOLS]
    = { "NAMESPACE", "WORKLOAD", "CONTAINER", "IMAGE", "RUNNING-DIGEST", "PULL-POLICY", "NODE" };

/* -o json output is written straight into this buffer, which goes to
 * stdout with one fwrite per OUT_CHUNK bytes.  A record is twenty fixed
 * keys and their strings: writing the keys as literal fragments and
 * copying the strings in runs costs a fifth of what yajl_gen spends on
 * them (a print callback per token, a byte at a time through its escaper),
 * and list -o json is meant to keep up with a 100,000-pod cluster.  The
 * bytes are those yajl_gen would write (no spaces, "/" not escaped). */
#define OUT_CHUNK (256 * 1024)

typedef struct out_buf
{
  char *data; /* OUT_CHUNK bytes */
  size_t len;
  FILE *f; /* where it goes */
} out_buf;

typedef struct list_ctx
{
  bool json;
  out_buf out;
  bool first_item;
  /* Table: the first rows are held to size the columns. */
  char **rows; /* NCOLS strings per row */
  size_t n_rows;
  size_t width[NCOLS];
  bool flushed;
  size_t printed;
  bool progress_shown;
} list_ctx;

static const char *
or_dash (const char *s)
{
  return s && *s ? s : "<none>";
}

static char *
digest_cell (const iw_record *r)
{
  const iw_image_id *id = &r->image_id;

  if (id->kind == IW_IMAGE_ID_NONE)
    return iw_xstrdup ("<none>");
  if (id->digest == NULL)
    return iw_xasprintf ("? %s", id->raw);
  if (id->kind == IW_IMAGE_ID_CONFIG)
    return iw_xasprintf ("%s (config)", id->digest);
  return iw_xstrdup (id->digest);
}

static void
print_row (list_ctx *c, char **cells)
{
  for (int i = 0; i < NCOLS; i++)
    {
      if (i == NCOLS - 1)
        fputs (cells[i], stdout);
      else
        printf ("%-*s   ", (int)c->width[i], cells[i]);
    }
  fputc ('\n', stdout);
  c->printed++;
}

static void
flush_rows (list_ctx *c)
{
  if (!c->flushed)
    {
      print_row (c, (char **)headers);
      c->printed--;
      c->flushed = true;
    }
  for (size_t r = 0; r < c->n_rows; r++)
    {
      print_row (c, c->rows + r * NCOLS);
      for (int i = 0; i < NCOLS; i++)
        free (c->rows[r * NCOLS + i]);
    }
  c->n_rows = 0;
}

static void
table_row (list_ctx *c, const iw_record *r)
{
  char *cells[NCOLS];

  cells[0] = iw_xstrdup (or_dash (r->namespace_));
  cells[1] = iw_xasprintf ("%s/%s", or_dash (r->workload_kind), or_dash (r->workload_name));
  cells[2] = iw_xasprintf ("%s%s", or_dash (r->container),
                           r->container_type == IW_CONTAINER_INIT        ? " (init)"
                           : r->container_type == IW_CONTAINER_EPHEMERAL ? " (ephemeral)"
                                                                         : "");
  cells[3] = iw_xstrdup (or_dash (r->image));
  cells[4] = digest_cell (r);
  cells[5] = iw_xasprintf ("%s%s", or_dash (iw_pull_policy_name (r->pull_policy)),
                           r->pull_policy_defaulted ? " (default)" : "");
  cells[6] = iw_xstrdup (or_dash (r->node));
  /* Names come from the cluster or a file: never let them drive the terminal. */
  for (int i = 0; i < NCOLS; i++)
    for (char *q = cells[i]; *q; q++)
      if ((unsigned char)*q < 0x20 || *q == 0x7f)
        *q = '?';
  if (c->flushed)
    {
      print_row (c, cells);
      for (int i = 0; i < NCOLS; i++)
        free (cells[i]);
      return;
    }
  if (c->n_rows == 0)
    for (int i = 0; i < NCOLS; i++)
      if (strlen (headers[i]) > c->width[i])
        c->width[i] = strlen (headers[i]);
  c->rows = iw_xreallocarray (c->rows, (c->n_rows + 1) * NCOLS, sizeof (char *));
  for (int i = 0; i < NCOLS; i++)
    {
      size_t w = strlen (cells[i]);

      if (w > c->width[i])
        c->width[i] = w;
      c->rows[c->n_rows * NCOLS + i] = cells[i];
    }
  c->n_rows++;
  if (c->n_rows >= SIZING_ROWS)
    flush_rows (c);
}

static const char *
type_name (iw_container_type t)
{
  return t == IW_CONTAINER_INIT ? "init" : t == IW_CONTAINER_EPHEMERAL ? "ephemeral" : "app";
}

static const char *
id_kind_name (iw_image_id_kind k)
{
  switch (k)
    {
    case IW_IMAGE_ID_REPO_DIGEST:
      return "repo-digest";
    case IW_IMAGE_ID_CONFIG:
      return "config";
    case IW_IMAGE_ID_UNKNOWN:
      return "unknown";
    case IW_IMAGE_ID_NONE:
    default:
      return "none";
    }
}

static void
out_flush (out_buf *o)
{
  if (o->len > 0)
    fwrite (o->data, 1, o->len, o->f);
  o->len = 0;
}

static void
out_bytes_slow (out_buf *o, const char *s, size_t n)
{
  out_flush (o);
  if (n > OUT_CHUNK)
    fwrite (s, 1, n, o->f);
  else
    {
      memcpy (o->data, s, n);
      o->len = n;
    }
}

static inline void
out_bytes (out_buf *o, const char *s, size_t n)
{
  if (n > OUT_CHUNK - o->len)
    out_bytes_slow (o, s, n);
  else
    {
      memcpy (o->data + o->len, s, n);
      o->len += n;
    }
}

/* A string literal, without its terminating NUL. */
#define OUT_LIT(o, lit) out_bytes ((o), "" lit, sizeof (lit) - 1)

/* Bytes a JSON string holds as they are: printable ASCII but '"' and '\'
 * (DEL too, as yajl_gen writes it).  Filled by init_json_plain. */
static bool json_plain[256];

static void
init_json_plain (void)
{
  for (int ch = 0x20; ch < 0x80; ch++)
    json_plain[ch] = ch != '"' && ch != '\\';
}

/* Write s[0..len) quoted to d, which has room for 6 * len + 2 bytes, and
 * return the end.  Names from a file or the API passed yajl's UTF-8 check,
 * but those from containerd's gRPC did not: a byte that does not start
 * valid UTF-8 is written as '?', as iw_json_gen_str does. */
static char *
quote_to (char *d, const unsigned char *p, const unsigned char *end)
{
  static const char hex[] = "0123456789abcdef";

  *d++ = '"';
  while (p < end)
    {
      size_t n;

      /* Eight plain bytes at a time: none below 0x20, none 0x80 and up,
       * no '"' (0x22) and no '\' (0x5c).  ((x - 0x01..) & ~x & 0x80..
       * flags a word holding a zero byte.) */
      for (uint64_t w, q, b; end - p >= 8; p += 8, d += 8)
        {
          memcpy (&w, p, 8);
          q = w ^ 0x2222222222222222ULL;
          b = w ^ 0x5c5c5c5c5c5c5c5cULL;
          if ((((w - 0x2020202020202020ULL) & ~w) | ((q - 0x0101010101010101ULL) & ~q)
               | ((b - 0x0101010101010101ULL) & ~b) | w)
              & 0x8080808080808080ULL)
            break;
          memcpy (d, &w, 8);
        }
      if (p == end)
        break;
      if (json_plain[*p])
        {
          *d++ = (char)*p++;
          continue;
        }
      switch (*p)
        {
        case '"':
        case '\\':
          *d++ = '\\';
          *d++ = (char)*p;
          break;
        case '\b':
          *d++ = '\\';
          *d++ = 'b';
          break;
        case '\f':
          *d++ = '\\';
          *d++ = 'f';
          break;
        case '\n':
          *d++ = '\\';
          *d++ = 'n';
          break;
        case '\r':
          *d++ = '\\';
          *d++ = 'r';
          break;
        case '\t':
          *d++ = '\\';
          *d++ = 't';
          break;
        default:
          if (*p < 0x20)
            {
              memcpy (d, "\\u00", 4);
              d[4] = hex[*p >> 4];
              d[5] = hex[*p & 0xf];
              d += 6;
            }
          else if ((n = iw_utf8_len (p)) > 0 && n <= (size_t)(end - p))
            {
              memcpy (d, p, n);
              d += n;
              p += n - 1;
            }
          else
            *d++ = '?';
        }
      p++;
    }
  *d++ = '"';
  return d;
}

/* s as a JSON string, or null. */
static void
out_str (out_buf *o, const char *s)
{
  size_t len;

  if (s == NULL)
    {
      OUT_LIT (o, "null");
      return;
    }
  len = strlen (s);
  if (len > (OUT_CHUNK - 2) / 6)
    {
      /* Longer than any name: quote it on its own. */
      char *q = iw_xmalloc (6 * len + 2);

      out_bytes (o, q, (size_t)(quote_to (q, (const unsigned char *)s, (const unsigned char *)s + len) - q));
      free (q);
      return;
    }
  if (6 * len + 2 > OUT_CHUNK - o->len)
    out_flush (o);
  o->len = (size_t)(quote_to (o->data + o->len, (const unsigned char *)s, (const unsigned char *)s + len)
                    - o->data);
}

static void
json_row (list_ctx *c, const iw_record *r)
{
  out_buf *o = &c->out;

  if (c->first_item)
    OUT_LIT (o, "{\"namespace\":");
  else
    OUT_LIT (o, ",{\"namespace\":");
  c->first_item = false;
  out_str (o, r->namespace_);
  OUT_LIT (o, ",\"pod\":");
  out_str (o, r->pod);
  OUT_LIT (o, ",\"workload\":{\"kind\":");
  out_str (o, r->workload_kind);
  OUT_LIT (o, ",\"name\":");
  out_str (o, r->workload_name);
  OUT_LIT (o, "},\"container\":");
  out_str (o, r->container);
  OUT_LIT (o, ",\"containerType\":");
  out_str (o, type_name (r->container_type));
  OUT_LIT (o, ",\"image\":");
  out_str (o, r->image);
  OUT_LIT (o, ",\"statusImage\":");
  out_str (o, r->status_image);
  OUT_LIT (o, ",\"imageID\":{\"raw\":");
  out_str (o, r->image_id.raw);
  OUT_LIT (o, ",\"kind\":");
  out_str (o, id_kind_name (r->image_id.kind));
  OUT_LIT (o, ",\"repository\":");
  out_str (o, r->image_id.repository);
  OUT_LIT (o, ",\"digest\":");
  out_str (o, r->image_id.digest);
  OUT_LIT (o, "},\"imagePullPolicy\":");
  out_str (o, iw_pull_policy_name (r->pull_policy));
  if (r->pull_policy_defaulted)
    OUT_LIT (o, ",\"imagePullPolicyDefaulted\":true,\"node\":");
  else
    OUT_LIT (o, ",\"imagePullPolicyDefaulted\":false,\"node\":");
  out_str (o, r->node);
  OUT_LIT (o, ",\"phase\":");
  out_str (o, r->phase);
  OUT_LIT (o, ",\"state\":");
  out_str (o, r->state);
  OUT_LIT (o, ",\"startedAt\":");
  out_str (o, r->started_at);
  OUT_LIT (o, ",\"imagePullSecrets\":[");
  for (char **s = r->pull_secrets; s && *s; s++)
    {
      if (s != r->pull_secrets)
        OUT_LIT (o, ",");
      out_str (o, *s);
    }
  OUT_LIT (o, "],\"cluster\":");
  out_str (o, r->cluster);
  OUT_LIT (o, ",\"source\":");
  out_str (o, r->source);
  OUT_LIT (o, "}");
  c->printed++;
}

static int
on_record (iw_record *rec, void *userdata, iw_error **err)
{
  list_ctx *c = userdata;

  (void)err;
  if (c->progress_shown)
    {
      fputs ("\r\033[K", stderr);
      c->progress_shown = false;
    }
  if (c->json)
    json_row (c, rec);
  else
    table_row (c, rec);
  iw_record_free (rec);
  return 0;
}

/* list has no registry to hand pull secrets to: it only checks they can be
 * read, and counts them. */
static int
on_secret (const char *namespace_, const char *name, const char *dockerconfigjson, size_t len, void *userdata,
           iw_error **err)
{
  size_t *n = userdata;

  (void)namespace_;
  (void)name;
  (void)dockerconfigjson;
  (void)len;
  (void)err;
  (*n)++;
  return 0;
}

static void
on_progress (const iw_kube_stats *s, void *userdata)
{
  list_ctx *c = userdata;

  fprintf (stderr, "\r\033[Kimgwatch list: %zu pods, %zu containers...", s->pods, s->records);
  c->progress_shown = true;
}

/* -o json of a big file: the records a second thread reads from the
 * middle of it (iw_source_read_file_split) are written to a temporary file,
 * which follows the first thread's on stdout. */
static FILE *
second_half_file (void)
{
  const char *dir = getenv ("TMPDIR");
  char *path = iw_xasprintf ("%s/imgwatch-list.XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp (path);
  FILE *f = NULL;

  if (fd >= 0)
    {
      unlink (path);
      f = fdopen (fd, "w+");
      if (f == NULL)
        close (fd);
    }
  free (path);
  return f;
}

/* Copy the second half after the first: its items all start with a comma,
 * which goes when the first half printed none. */
static int
append_second_half (FILE *f, bool first_empty)
{
  char *buf = iw_xmalloc (OUT_CHUNK);
  size_t n;
  int rc = 0;

  if (fflush (f) != 0 || fseek (f, first_empty ? 1 : 0, SEEK_SET) != 0)
    rc = -1;
  while (rc == 0 && (n = fread (buf, 1, OUT_CHUNK, f)) > 0)
    fwrite (buf, 1, n, stdout);
  if (ferror (f))
    rc = -1;
  free (buf);
  return rc;
}

static int
run (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "kubeconfig", required_argument, NULL, 'k' },
    { "context", required_argument, NULL, 'c' },
    { "namespace", required_argument, NULL, 'n' },
    { "all-namespaces", no_argument, NULL, 'A' },
    { "selector", required_argument, NULL, 'l' },
    { "from-file", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "use-pull-secrets", no_argument, NULL, 's' },
    { "chunk-size", required_argument, NULL, 'C' },
    { "containerd", required_argument, NULL, 'D' },
    { "docker", required_argument, NULL, 'K' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  iw_kube_options o = IW_KUBE_OPTIONS_INIT;
  const char *from_file = NULL, *output = "table", *containerd = NULL, *docker = NULL;
  list_ctx c = { 0 }, c2 = { 0 };
  bool second_used = false;
  iw_kube_stats stats = { 0 };
  iw_error *err = NULL;
  bool progress;
  size_t n_secrets = 0;
  int opt, rc;

  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, ":n:Al:o:f:", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'k':
        o.kubeconfig = optarg;
        break;
      case 'c':
        o.context = optarg;
        break;
      case 'n':
        o.namespace_ = optarg;
        break;
      case 'A':
        o.all_namespaces = true;
        break;
      case 'l':
        o.label_selector = optarg;
        break;
      case 'f':
        from_file = optarg;
        break;
      case 'D':
        containerd = optarg;
        break;
      case 'K':
        docker = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case 's':
        o.use_pull_secrets = true;
        break;
      case 'C':
        {
          char *end;
          unsigned long v = strtoul (optarg, &end, 10);

          if (*optarg == '\0' || *end != '\0' || v == 0 || v > 100000)
            {
              iw_cli_error ("list", "--chunk-size: expected a number from 1 to 100000, not \"%s\"", optarg);
              return IW_EXIT_USAGE;
            }
          o.page_limit = (unsigned)v;
        }
        break;
      case 'h':
        iw_cli_usage (&iw_cmd_list, stdout);
        return IW_EXIT_OK;
      case ':':
        iw_cli_error ("list", "%s needs a value", argv[optind - 1]);
        return IW_EXIT_USAGE;
      default:
        iw_cli_error ("list", "unknown option \"%s\"", argv[optind - 1]);
        return IW_EXIT_USAGE;
      }
  if (optind < argc)
    {
      iw_cli_error ("list", "unexpected argument \"%s\"", argv[optind]);
      return IW_EXIT_USAGE;
    }
  if (strcmp (output, "json") == 0)
    c.json = true;
  else if (strcmp (output, "table") != 0)
    {
      iw_cli_error ("list", "unknown output format \"%s\" (table, json)", output);
      return IW_EXIT_USAGE;
    }
  if (o.all_namespaces && o.namespace_)
    {
      iw_cli_error ("list", "-n and -A are mutually exclusive");
      return IW_EXIT_USAGE;
    }
  progress = isatty (STDERR_FILENO);
  if (c.json)
    {
      init_json_plain ();
      c.out.data = iw_xmalloc (OUT_CHUNK);
      c.out.f = stdout;
      c.first_item = true;
      OUT_LIT (&c.out, "{\"apiVersion\":\"imgwatch/v1\",\"kind\":\"ContainerList\",\"items\":[");
    }
  if (from_file
      && (o.use_pull_secrets || o.kubeconfig || o.context || o.namespace_ || o.all_namespaces
          || o.label_selector))
    fprintf (stderr, "imgwatch list: warning: cluster options have no effect with --from-file\n");
  if (from_file && c.json && (c2.out.f = second_half_file ()) != NULL)
    {
      iw_source_second second = { .fn = on_record, .userdata = &c2, .used = &second_used };

      c2.json = true;
      c2.out.data = iw_xmalloc (OUT_CHUNK);
      rc = iw_source_read_file_split (from_file, on_record, &c, &second, &stats,
                                      progress ? on_progress : NULL, &c, &err);
      out_flush (&c2.out);
      if (second_used)
        {
          out_flush (&c.out);
          if (append_second_half (c2.out.f, c.printed == 0) < 0 && rc == 0)
            rc = iw_error_set (&err, IW_EIO, "list: temporary file: %s", strerror (errno));
          c.printed += c2.printed;
        }
      fclose (c2.out.f);
      free (c2.out.data);
    }
  else if (from_file)
    rc = iw_source_read_file_stats (from_file, on_record, &c, &stats, progress ? on_progress : NULL, &c,
                                    &err);
  else if (docker)
    rc = iw_docker_list_containers (docker, on_record, &c, &err);
  else if (containerd)
    rc = iw_containerd_list_containers (containerd, o.namespace_, on_record, &c, &err);
  else
    {
      o.secret_fn = on_secret;
      o.secret_userdata = &n_secrets;
      o.progress = progress ? on_progress : NULL;
      o.progress_userdata = &c;
      rc = iw_kube_list_pods (&o, on_record, &c, &stats, &err);
    }
  if (c.progress_shown)
    fputs ("\r\033[K", stderr);
  if (c.json)
    {
      /* A consumer must not mistake a failed list for a complete one. */
      if (rc == 0)
        OUT_LIT (&c.out, "],\"complete\":true}\n");
      else
        {
          OUT_LIT (&c.out, "],\"complete\":false,\"error\":");
          out_str (&c.out, iw_error_msg (err));
          OUT_LIT (&c.out, "}\n");
        }
      out_flush (&c.out);
      free (c.out.data);
    }
  else if (rc == 0 && (c.n_rows > 0 || c.flushed))
    flush_rows (&c);
  else
    {
      for (size_t i = 0; i < c.n_rows * NCOLS; i++)
        free (c.rows[i]);
    }
  free (c.rows);
  fflush (stdout);
  if (rc < 0)
    {
      iw_cli_error ("list", "%s", iw_error_msg (err));
      if (c.printed)
        iw_cli_error ("list", "incomplete: the %zu containers printed are not the whole inventory",
                      c.printed);
      rc = iw_cli_exit_for_source_error (err);
      iw_error_free (err);
      return rc;
    }
  if (o.use_pull_secrets)
    fprintf (stderr, "imgwatch list: read %zu pull secret%s\n", n_secrets, n_secrets == 1 ? "" : "s");
  if (!c.json && c.printed == 0)
    fprintf (stderr, "No containers found%s.\n", from_file ? " in the input" : "");
  return IW_EXIT_OK;
}

const iw_command iw_cmd_list = {
  .name = "list",
  .summary = "list running containers with their images and digests",
  .usage = "Usage: imgwatch list [--kubeconfig F] [--context C] [-n NS | -A] [-l SELECTOR]\n"
           "                     [--from-file F|-] [-o table|json] [--use-pull-secrets]\n"
           "\n"
           "List every container (init, app, ephemeral) of the pods in a namespace or in the\n"
           "whole cluster, with its workload, image, running digest, effective pull policy\n"
           "and node.  Read-only: it only lists pods, replicasets and jobs.\n"
           "\n"
           "Options:\n"
           "  --kubeconfig F        kubeconfig file (default $KUBECONFIG, ~/.kube/config,\n"
           "                        then the in-cluster service account)\n"
           "  --context C           kubeconfig context (default: current-context)\n"
           "  -n, --namespace NS    namespace (default: the context's, else \"default\")\n"
           "  -A, --all-namespaces  every namespace\n"
           "  -l, --selector SEL    label selector, as kubectl -l\n"
           "  -f, --from-file F     read `kubectl get pods -o json` output or manifests\n"
           "                        (JSON or YAML, several documents) from F, or - for stdin\n"
           "  --containerd SOCK     list the containers of a node's containerd instead\n"
           "                        (-n: one containerd namespace; default: all)\n"
           "  --docker SOCK         the containers of a Docker Engine (or podman service)\n"
           "  -o, --output FORMAT   table (default) or json\n"
           "  --use-pull-secrets    read the pods' imagePullSecrets (needs get secrets)\n"
           "  --chunk-size N        pods per API page (default 500), as kubectl --chunk-size\n"
           "\n"
           "Exit status: 0 listed, 2 usage or input error, 3 the cluster could not be\n"
           "read (unreachable, TLS, authorization).  See docs/kube.md.\n",
  .run = run,
};
