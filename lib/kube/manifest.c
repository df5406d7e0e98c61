/*
 * manifest.c - offline input (--from-file): pod lists as kubectl prints
 * them, mixed Lists, single objects and multi-document manifests, in JSON
 * or YAML, from a file or stdin.
 *
 * JSON goes straight to the streaming parser (pods.c).  YAML is read with
 * libyaml's event parser and re-emitted as JSON with yajl_gen, a few
 * kilobytes at a time, into the same parser: one code path decides what
 * an object means, and memory stays bounded for big YAML lists too.
 *
 * A regular JSON file is read twice: the first pass only learns who owns
 * each ReplicaSet and Job (kubectl prints pods before ReplicaSets), the
 * second hands records over.  A pipe is read once; owners then come from
 * the ReplicaSets seen so far, else from the pod-template-hash label.
 */
#include "kube/kube.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yajl/yajl_gen.h>
#include <yaml.h>

#define CHUNK (256 * 1024)
#define YAML_FLUSH (64 * 1024)

typedef struct input
{
  FILE *f;
  const char *name;
  char *peek; /* bytes read to detect the format, served first */
  size_t peek_len, peek_pos;
  long start; /* where the content starts: after a UTF-8 byte order mark */
} input;

static int
read_chunk (input *in, char *buf, size_t cap, size_t *got, iw_error **err)
{
  size_t n = 0;

  if (in->peek_pos < in->peek_len)
    {
      n = in->peek_len - in->peek_pos;
      if (n > cap)
        n = cap;
      memcpy (buf, in->peek + in->peek_pos, n);
      in->peek_pos += n;
      *got = n;
      return 0;
    }
  n = fread (buf, 1, cap, in->f);
  if (n == 0 && ferror (in->f))
    return iw_error_set (err, IW_EIO, "read %s: %s", in->name, strerror (errno));
  *got = n;
  return 0;
}

/* --- JSON ------------------------------------------------------------ */

static int
read_json (iw_kube_parser *p, input *in, iw_kube_stats *stats, iw_kube_progress_fn progress, void *pud,
           iw_error **err)
{
  char *buf = iw_xmalloc (CHUNK);
  size_t got;
  int rc = -1;

  for (;;)
    {
      if (read_chunk (in, buf, CHUNK, &got, err) < 0)
        goto done;
      if (got == 0)
        break;
      if (iw_kube_parser_feed (p, buf, got, err) < 0)
        goto done;
      if (stats)
        stats->pages++;
      if (progress && stats && stats->pages % 16 == 0)
        {
          const iw_kube_stats *ps = iw_kube_parser_stats (p);

          stats->pods = ps->pods;
          stats->records = ps->records;
          progress (stats, pud);
        }
    }
  rc = iw_kube_parser_finish (p, err);
done:
  free (buf);
  return rc;
}

/* --- YAML ------------------------------------------------------------ */

static int
yaml_read_handler (void *data, unsigned char *buffer, size_t size, size_t *size_read)
{
  input *in = data;

  if (read_chunk (in, (char *)buffer, size, size_read, NULL) < 0)
    return 0;
  return 1;
}

static bool
scalar_is (const char *v, const char *const *words)
{
  for (; *words; words++)
    if (strcmp (v, *words) == 0)
      return true;
  return false;
}

static bool
looks_numeric (const char *v, size_t n)
{
  size_t i = 0;
  bool digits = false;

  if (n == 0)
    return false;
  if (v[i] == '-' || v[i] == '+')
    i++;
  for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
    digits = true;
  if (i < n && v[i] == '.')
    for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++)
      digits = true;
  if (digits && i < n && (v[i] == 'e' || v[i] == 'E'))
    {
      i++;
      if (i < n && (v[i] == '-' || v[i] == '+'))
        i++;
      if (i == n)
        return false;
      for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        ;
    }
  /* JSON numbers have no leading '+' and no leading zeros. */
  return digits && i == n && v[0] != '+' && !(n > 1 && v[0] == '0' && v[1] != '.')
         && !(n > 2 && v[0] == '-' && v[1] == '0' && v[2] != '.');
}

/* One scalar as JSON, typed the way YAML 1.1 (and so kubectl) types plain
 * scalars. */
static void
gen_scalar (yajl_gen g, const yaml_event_t *ev)
{
  const char *v = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL };
  static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL };
  static const char *const null[] = { "null", "Null", "NULL", "~", "", NULL };

  if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL)
    {
      if (scalar_is (v, yes))
        {
          yajl_gen_bool (g, 1);
          return;
        }
      if (scalar_is (v, no))
        {
          yajl_gen_bool (g, 0);
          return;
        }
      if (scalar_is (v, null))
        {
          yajl_gen_null (g);
          return;
        }
      if (looks_numeric (v, n))
        {
          yajl_gen_number (g, v, n);
          return;
        }
    }
  yajl_gen_string (g, (const unsigned char *)v, n);
}

static int
flush_gen (yajl_gen g, iw_kube_parser *p, size_t min, iw_error **err)
{
  const unsigned char *out;
  size_t len;

  yajl_gen_get_buf (g, &out, &len);
  if (len < min || len == 0)
    return 0;
  if (iw_kube_parser_feed (p, (const char *)out, len, err) < 0)
    return -1;
  yajl_gen_clear (g);
  return 0;
}

#define YAML_MAX_DEPTH 128

static int
read_yaml (iw_kube_parser *p, input *in, iw_kube_stats *stats, iw_error **err)
{
  yaml_parser_t parser;
  yaml_event_t ev;
  yajl_gen g = yajl_gen_alloc (NULL);
  bool is_map[YAML_MAX_DEPTH];
  bool want_key[YAML_MAX_DEPTH];
  int depth = 0, rc = -1;
  bool done = false, doc_has_root = false;
  size_t doc_line = 0;

  if (g == NULL)
    abort ();
  if (!yaml_parser_initialize (&parser))
    abort ();
  yaml_parser_set_input (&parser, yaml_read_handler, in);
  while (!done)
    {
      if (!yaml_parser_parse (&parser, &ev))
        {
          if (parser.problem)
            iw_error_set (err, IW_EPARSE, "%s:%zu: invalid YAML: %s%s%s", in->name,
                          parser.problem_mark.line + 1, parser.problem, parser.context ? " " : "",
                          parser.context ? parser.context : "");
          else
            iw_error_set (err, IW_EIO, "read %s", in->name);
          goto out;
        }
      /* A value in a mapping where a key was expected is a key. */
      if (depth > 0 && is_map[depth - 1] && want_key[depth - 1])
        {
          if (ev.type == YAML_SCALAR_EVENT)
            {
              yajl_gen_string (g, ev.data.scalar.value, ev.data.scalar.length);
              want_key[depth - 1] = false;
              yaml_event_delete (&ev);
              continue;
            }
          if (ev.type != YAML_MAPPING_END_EVENT)
            {
              iw_error_set (err, IW_EUNSUPPORTED, "%s:%zu: complex mapping keys are not supported", in->name,
                            ev.start_mark.line + 1);
              yaml_event_delete (&ev);
              goto out;
            }
        }
      else if (depth > 0 && is_map[depth - 1]
               && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_MAPPING_START_EVENT
                   || ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_ALIAS_EVENT))
        want_key[depth - 1] = true; /* this is the value; a key comes next */
      switch (ev.type)
        {
        case YAML_DOCUMENT_START_EVENT:
          doc_has_root = false;
          doc_line = ev.start_mark.line + 1;
          yajl_gen_reset (g, "\n");
          break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
          if (depth == YAML_MAX_DEPTH)
            {
              iw_error_set (err, IW_EPARSE, "%s:%zu: invalid YAML: nesting too deep", in->name,
                            ev.start_mark.line + 1);
              yaml_event_delete (&ev);
              goto out;
            }
          doc_has_root = true;
          is_map[depth] = ev.type == YAML_MAPPING_START_EVENT;
          want_key[depth] = true;
          depth++;
          if (ev.type == YAML_MAPPING_START_EVENT)
            yajl_gen_map_open (g);
          else
            yajl_gen_array_open (g);
          break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
          depth--;
          if (ev.type == YAML_MAPPING_END_EVENT)
            yajl_gen_map_close (g);
          else
            yajl_gen_array_close (g);
          break;
        case YAML_SCALAR_EVENT:
          if (depth == 0)
            {
              /* An empty document is fine; a bare scalar is not an object. */
              if (ev.data.scalar.length == 0 && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                break;
              iw_error_set (err, IW_EPARSE, "%s:%zu: expected a Kubernetes object, found a scalar", in->name,
                            ev.start_mark.line + 1);
              yaml_event_delete (&ev);
              goto out;
            }
          gen_scalar (g, &ev);
          break;
        case YAML_ALIAS_EVENT:
          iw_error_set (err, IW_EUNSUPPORTED, "%s:%zu: YAML aliases are not supported", in->name,
                        ev.start_mark.line + 1);
          yaml_event_delete (&ev);
          goto out;
        case YAML_DOCUMENT_END_EVENT:
          if (doc_has_root && flush_gen (g, p, 0, err) < 0)
            {
              iw_error_wrap (err, "document at line %zu", doc_line);
              yaml_event_delete (&ev);
              goto out;
            }
          if (stats)
            stats->pages++;
          break;
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        default:
          break;
        }
      yaml_event_delete (&ev);
      if (depth > 0 && flush_gen (g, p, YAML_FLUSH, err) < 0)
        {
          iw_error_wrap (err, "document at line %zu", doc_line);
          goto out;
        }
    }
  /* Documents that were all empty fed nothing: that is an empty input. */
  rc = iw_kube_parser_stats (p)->bytes ? iw_kube_parser_finish (p, err) : 0;
out:
  yaml_parser_delete (&parser);
  yajl_gen_free (g);
  return rc;
}

/* --- the source ------------------------------------------------------- */

/* Could the file hold ReplicaSets or Jobs, whose owners a first pass must
 * learn?  Their specs always carry "replicas" or "backoffLimit" (the API
 * server defaults them); pods never do.  A plain byte search over the page
 * cache costs a few milliseconds per 100 MB, a parse pass costs a hundred
 * times more, and `kubectl get pods -A -o json` holds only pods.  A false
 * hit only costs the extra pass; a ReplicaSet written without replicas is
 * missed, and its pods' owners are then inferred from their labels. */
static bool
may_hold_owners (input *in)
{
  static const char *const needles[] = { "\"replicas\"", "\"backoffLimit\"" };
  enum
  {
    KEEP = 16
  };
  char *buf;
  size_t kept = 0, n;
  bool hit = false;

  if (fseek (in->f, 0, SEEK_SET) < 0)
    return true;
  buf = iw_xmalloc (CHUNK + KEEP);
  while (!hit && (n = fread (buf + kept, 1, CHUNK, in->f)) > 0)
    {
      size_t len = kept + n;

      for (size_t i = 0; i < sizeof needles / sizeof needles[0] && !hit; i++)
        hit = memmem (buf, len, needles[i], strlen (needles[i])) != NULL;
      kept = len < KEEP ? len : KEEP;
      memmove (buf, buf + len - kept, kept);
    }
  free (buf);
  /* Start again from the top; the peeked bytes are read again from the file. */
  if (fseek (in->f, in->start, SEEK_SET) < 0)
    return true;
  in->peek_pos = in->peek_len = 0;
  return hit;
}

int
iw_source_read_file_stats (const char *path, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                           iw_kube_progress_fn progress, void *progress_userdata, iw_error **err)
{
  bool is_stdin = strcmp (path, "-") == 0;
  input in = { 0 };
  iw_kube_parser *p = NULL;
  iw_kube_stats stats = { 0 };
  char *source = NULL;
  struct stat st;
  double t0 = iw_clock_mono (), c0 = iw_clock_cpu ();
  bool json, seekable;
  int rc = -1;

  in.name = is_stdin ? "stdin" : path;
  in.f = is_stdin ? stdin : fopen (path, "rb");
  if (in.f == NULL)
    return iw_error_set (err, IW_EIO, "open %s: %s", path, strerror (errno));
  seekable = fstat (fileno (in.f), &st) == 0 && S_ISREG (st.st_mode);
  /* Peek at the first bytes: JSON starts with '{' or '['. */
  in.peek = iw_xmalloc (4096);
  in.peek_len = fread (in.peek, 1, 4096, in.f);
  if (in.peek_len == 0 && ferror (in.f))
    {
      iw_error_set (err, IW_EIO, "read %s: %s", in.name, strerror (errno));
      goto done;
    }
  {
    size_t i = 0;

    if (in.peek_len >= 3 && memcmp (in.peek, "\xef\xbb\xbf", 3) == 0)
      i = 3;
    while (i < in.peek_len && strchr (" \t\r\n", in.peek[i]))
      i++;
    if (i == in.peek_len && in.peek_len == 4096)
      {
        iw_error_set (err, IW_EPARSE, "%s: only whitespace in the first 4096 bytes", in.name);
        goto done;
      }
    json = i < in.peek_len && (in.peek[i] == '{' || in.peek[i] == '[');
    /* yajl does not skip a byte order mark; libyaml does. */
    if (json && in.peek_len >= 3 && memcmp (in.peek, "\xef\xbb\xbf", 3) == 0)
      in.start = (long)(in.peek_pos = 3);
  }
  source = iw_xasprintf ("file:%s", is_stdin ? "stdin" : path);
  p = iw_kube_parser_new (source, in.name, fn, userdata);
  if (json && seekable && may_hold_owners (&in))
    {
      iw_kube_parser_set_mode (p, IW_KUBE_PARSE_OWNERS_ONLY);
      if (read_json (p, &in, NULL, NULL, NULL, err) < 0)
        goto done;
      if (fseek (in.f, in.start, SEEK_SET) < 0)
        {
          iw_error_set (err, IW_EIO, "rewind %s: %s", in.name, strerror (errno));
          goto done;
        }
      in.peek_pos = in.peek_len = 0;
      iw_kube_parser_reset (p, err);
      iw_kube_parser_set_mode (p, IW_KUBE_PARSE_RECORDS);
    }
  if (json)
    rc = read_json (p, &in, &stats, progress, progress_userdata, err);
  else
    rc = read_yaml (p, &in, &stats, err);
done:
  if (p)
    {
      const iw_kube_stats *ps = iw_kube_parser_stats (p);

      stats.pods = ps->pods;
      stats.records = ps->records;
      stats.objects = ps->objects;
      stats.skipped = ps->skipped;
      stats.bytes = ps->bytes;
    }
  stats.wall_seconds = iw_clock_mono () - t0;
  stats.cpu_seconds = iw_clock_cpu () - c0;
  if (stats_out)
    *stats_out = stats;
  iw_kube_parser_free (p);
  free (source);
  free (in.peek);
  if (!is_stdin)
    fclose (in.f);
  return rc;
}

int
iw_source_read_file (const char *path, iw_record_fn fn, void *userdata, iw_error **err)
{
  return iw_source_read_file_stats (path, fn, userdata, NULL, NULL, NULL, err);
}
