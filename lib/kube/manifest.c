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
 * A regular JSON file that holds ReplicaSets or Jobs is read twice: the
 * first pass only learns who owns each of them (kubectl prints pods before
 * ReplicaSets), the second hands records over.  Whether it holds any is a
 * byte search over the whole file, run on a second thread while the first
 * pass starts speculatively: records are held back until the search says
 * they may go (a file of pods), or thrown away for the two-pass read.  A
 * pipe is read once; owners then come from the ReplicaSets seen so far,
 * else from the pod-template-hash label.
 */
#include "kube/kube.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
  long start;    /* where the content starts: after a UTF-8 byte order mark */
  long long pos; /* the file offset of the next byte read_chunk gives */
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
      in->pos += (long long)n;
      *got = n;
      return 0;
    }
  n = fread (buf, 1, cap, in->f);
  if (n == 0 && ferror (in->f))
    return iw_error_set (err, IW_EIO, "read %s: %s", in->name, strerror (errno));
  in->pos += (long long)n;
  *got = n;
  return 0;
}

/* Give back buf[0..n): read_chunk serves it again before the file. */
static void
unread (input *in, const char *buf, size_t n)
{
  char *rest = iw_xmalloc (n + (in->peek_len - in->peek_pos));

  memcpy (rest, buf, n);
  memcpy (rest + n, in->peek + in->peek_pos, in->peek_len - in->peek_pos);
  free (in->peek);
  in->peek_len = n + (in->peek_len - in->peek_pos);
  in->peek_pos = 0;
  in->peek = rest;
  in->pos -= (long long)n;
}

/* --- JSON ------------------------------------------------------------ */

/* Feed the parser up to the end of the input, or up to the file offset
 * stop_at (-1: none): 1 when it stopped there (the rest is unread), 0 at
 * the end (the parse finished), -1 on error. */
static int
read_json_to (iw_kube_parser *p, input *in, long long stop_at, iw_kube_stats *stats,
              iw_kube_progress_fn progress, void *pud, iw_error **err)
{
  char *buf = iw_xmalloc (CHUNK);
  size_t got;
  int rc = -1;

  for (;;)
    {
      long long at = in->pos;

      if (read_chunk (in, buf, CHUNK, &got, err) < 0)
        goto done;
      if (got == 0)
        break;
      if (stop_at > at && stop_at <= at + (long long)got)
        {
          size_t take = (size_t)(stop_at - at);

          if (iw_kube_parser_feed (p, buf, take, err) < 0)
            goto done;
          unread (in, buf + take, got - take);
          rc = 1;
          goto done;
        }
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

static int
read_json (iw_kube_parser *p, input *in, iw_kube_stats *stats, iw_kube_progress_fn progress, void *pud,
           iw_error **err)
{
  return read_json_to (p, in, -1, stats, progress, pud, err) < 0 ? -1 : 0;
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
 * learn?  Those the API server returns always carry spec.selector (required
 * on a ReplicaSet, generated for a Job); pods never have one.  A plain byte
 * search over the page cache costs a few milliseconds per 100 MB, a parse
 * pass costs a hundred times more, and `kubectl get pods -A -o json` holds
 * only pods.  A false hit (a label named "selector", a Deployment) only
 * costs the extra pass; a Job written by hand without a selector is missed,
 * and its pods' owners are then inferred from their names and labels.
 * pread: the parse reads the same file meanwhile. */
static bool
may_hold_owners (int fd)
{
  static const char needle[] = "\"selector\"";
  enum
  {
    KEEP = sizeof needle - 2 /* a needle across two reads */
  };
  char *buf = iw_xmalloc (CHUNK + KEEP);
  size_t kept = 0;
  off_t off = 0;
  bool hit = false;

  for (;;)
    {
      ssize_t n = pread (fd, buf + kept, CHUNK, off);
      size_t len;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          hit = true; /* cannot tell: take the safe way */
          break;
        }
      if (n == 0)
        break;
      off += n;
      len = kept + (size_t)n;
      if (memmem (buf, len, needle, sizeof needle - 1) != NULL)
        {
          hit = true;
          break;
        }
      kept = len < KEEP ? len : KEEP;
      memmove (buf, buf + len - kept, kept);
    }
  free (buf);
  return hit;
}

typedef struct prescan
{
  pthread_t thread;
  int fd;
  bool hit;
  atomic_bool done;
} prescan;

static void *
prescan_main (void *arg)
{
  prescan *s = arg;

  s->hit = may_hold_owners (s->fd);
  atomic_store_explicit (&s->done, true, memory_order_release);
  return NULL;
}

/* Records of the speculative pass, held until the search has spoken.
 * HOLD_MAX bounds them (about a kilobyte each): past it the pass waits. */
#define HOLD_MAX 4096

typedef struct held
{
  iw_record_fn fn;
  void *userdata;
  prescan *scan; /* NULL once joined */
  bool owners;   /* what it found */
  iw_record **recs;
  size_t n;
} held;

static void
held_join (held *h)
{
  if (h->scan == NULL)
    return;
  pthread_join (h->scan->thread, NULL);
  h->owners = h->scan->hit;
  h->scan = NULL;
}

static void
held_drop (held *h)
{
  for (size_t i = 0; i < h->n; i++)
    iw_record_free (h->recs[i]);
  h->n = 0;
}

/* Hand the held records over, in order. */
static int
held_flush (held *h, iw_error **err)
{
  size_t i = 0;
  int rc = 0;

  for (; i < h->n && rc == 0; i++)
    rc = h->fn (h->recs[i], h->userdata, err);
  for (; i < h->n; i++)
    iw_record_free (h->recs[i]);
  h->n = 0;
  return rc;
}

static int
hold_record (iw_record *rec, void *userdata, iw_error **err)
{
  held *h = userdata;

  if (h->scan && (h->n == HOLD_MAX || atomic_load_explicit (&h->scan->done, memory_order_acquire)))
    held_join (h);
  if (h->scan == NULL)
    {
      if (h->owners)
        {
          /* Owners are in the file: this pass was for nothing. */
          iw_record_free (rec);
          return iw_error_set (err, IW_EINVAL, "restart with owners");
        }
      if (held_flush (h, err) < 0)
        {
          iw_record_free (rec);
          return -1;
        }
      return h->fn (rec, h->userdata, err);
    }
  h->recs[h->n++] = rec;
  return 0;
}

/* Back to where the content starts, for another pass. */
static int
rewind_input (input *in, iw_error **err)
{
  if (fseek (in->f, in->start, SEEK_SET) < 0)
    return iw_error_set (err, IW_EIO, "rewind %s: %s", in->name, strerror (errno));
  free (in->peek);
  in->peek = NULL;
  in->peek_pos = in->peek_len = 0;
  in->pos = in->start;
  return 0;
}

/* The counters of the parser a (and b, when two threads read), into to. */
static void
set_counts (iw_kube_stats *to, const iw_kube_stats *a, const iw_kube_stats *b)
{
  static const iw_kube_stats none = { 0 };

  if (b == NULL)
    b = &none;
  to->pods = a->pods + b->pods;
  to->records = a->records + b->records;
  to->objects = a->objects + b->objects;
  to->skipped = a->skipped + b->skipped;
  to->bytes = a->bytes + b->bytes;
}

/* The two-pass read: owners first, then records. */
static int
read_json_owners_first (iw_kube_parser *p, input *in, iw_kube_stats *stats, iw_kube_progress_fn progress,
                        void *pud, iw_error **err)
{
  iw_kube_parser_set_mode (p, IW_KUBE_PARSE_OWNERS_ONLY);
  if (read_json (p, in, NULL, NULL, NULL, err) < 0 || rewind_input (in, err) < 0)
    return -1;
  iw_kube_parser_reset (p, err);
  iw_kube_parser_set_mode (p, IW_KUBE_PARSE_RECORDS);
  return read_json (p, in, stats, progress, pud, err);
}

/* --- two threads on one big file ---------------------------------------
 *
 * A file of pods bigger than SPLIT_MIN is parsed by two threads: this one
 * from the top, a second from an item boundary guessed near the middle
 * (find_split), as if inside the top-level "items" array, to the end.  The
 * guess is proved when this thread gets there: the byte before it must
 * have closed an item of that very array (iw_kube_parser_at_item_boundary),
 * and only a comma and blanks lie between.  Then the two parses together
 * read every byte once, in the same states a single parse would have, and
 * the second one's records (handed to its own callback) follow the first
 * one's.  A wrong guess only costs the second thread's work, thrown away. */
#define SPLIT_MIN (16 * 1024 * 1024)
#define SPLIT_PROBE (1024 * 1024)

typedef struct split
{
  pthread_t thread;
  int fd;
  long long item_end;   /* the offset after the '}' closing the item before */
  long long item_start; /* the offset of the '{' opening the next one */
  const char *source, *name;
  iw_record_fn fn;
  void *userdata;
  atomic_bool cancel;
  /* results */
  int rc;
  iw_error *err;
  iw_kube_stats stats;
  char *warnings;
} split;

static const char *
skip_blanks (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* lit at *p, then blanks. */
static bool
eat (const char **p, const char *end, const char *lit)
{
  size_t n = strlen (lit);

  if ((size_t)(end - *p) < n || memcmp (*p, lit, n) != 0)
    return false;
  *p = skip_blanks (*p + n, end);
  return true;
}

/* Does the object whose first key starts at p look like a pod of a list:
 * "kind": "Pod", or "metadata": first (API lists), or kubectl's sorted
 * "apiVersion": "...", "kind": "Pod"?  (Not a managedFields entry, an
 * owner reference: their next key is another.) */
static bool
looks_like_pod (const char *p, const char *end)
{
  if (eat (&p, end, "\"metadata\"") && eat (&p, end, ":") && eat (&p, end, "{"))
    return true;
  if (eat (&p, end, "\"apiVersion\"") && eat (&p, end, ":") && eat (&p, end, "\""))
    {
      const char *q = memchr (p, '"', (size_t)(end - p));

      if (q == NULL || memchr (p, '\\', (size_t)(q - p)) != NULL)
        return false;
      p = skip_blanks (q + 1, end);
      if (!eat (&p, end, ","))
        return false;
    }
  return eat (&p, end, "\"kind\"") && eat (&p, end, ":") && eat (&p, end, "\"Pod\"");
}

/* A likely item boundary "} , {" at or after from: false if none nearby. */
static bool
find_split (int fd, long long from, long long *item_end, long long *item_start)
{
  char *w = iw_xmalloc (SPLIT_PROBE);
  ssize_t n = pread (fd, w, SPLIT_PROBE, (off_t)from);
  const char *end = n > 0 ? w + n : w;
  bool found = false;

  for (const char *c = memchr (w, ',', (size_t)(end - w)); c && !found;
       c = c + 1 < end ? memchr (c + 1, ',', (size_t)(end - c - 1)) : NULL)
    {
      const char *b = c, *f;

      while (b > w && strchr (" \t\r\n", b[-1]) && b[-1] != '\0')
        b--;
      if (b == w || b[-1] != '}')
        continue;
      f = skip_blanks (c + 1, end);
      if (f == end || *f != '{' || !looks_like_pod (skip_blanks (f + 1, end), end))
        continue;
      *item_end = from + (b - w);
      *item_start = from + (f - w);
      found = true;
    }
  free (w);
  return found;
}

static void *
split_main (void *arg)
{
  split *w = arg;
  char *buf = iw_xmalloc (CHUNK);
  unsigned long long lines = 0;
  long long off = 0;
  iw_kube_parser *p = NULL;
  int rc = 0;

  /* Errors name the lines of the whole file. */
  while (off < w->item_start && !atomic_load (&w->cancel))
    {
      size_t want = w->item_start - off < CHUNK ? (size_t)(w->item_start - off) : CHUNK;
      ssize_t n = pread (w->fd, buf, want, (off_t)off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          rc = iw_error_set (&w->err, IW_EIO, "read %s: %s", w->name, n < 0 ? strerror (errno) : "truncated");
          goto done;
        }
      for (const char *q = buf; (q = memchr (q, '\n', (size_t)(buf + n - q))) != NULL; q++)
        lines++;
      off += n;
    }
  p = iw_kube_parser_new (w->source, w->name, w->fn, w->userdata);
  iw_kube_parser_defer_warnings (p);
  rc = iw_kube_parser_resume_items (p, lines, (unsigned long long)off, &w->err);
  while (rc == 0 && !atomic_load (&w->cancel))
    {
      ssize_t n = pread (w->fd, buf, CHUNK, (off_t)off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        rc = iw_error_set (&w->err, IW_EIO, "read %s: %s", w->name, strerror (errno));
      else if (n == 0)
        {
          rc = iw_kube_parser_finish (p, &w->err);
          break;
        }
      else
        rc = iw_kube_parser_feed (p, buf, (size_t)n, &w->err);
      off += n;
    }
  if (p)
    {
      w->stats = *iw_kube_parser_stats (p);
      w->warnings = iw_xstrdup0 (iw_kube_parser_warnings (p));
    }
done:
  w->rc = rc;
  iw_kube_parser_free (p);
  free (buf);
  return NULL;
}

/* Stop the second thread and forget what it did. */
static void
split_abandon (split *w)
{
  atomic_store (&w->cancel, true);
  pthread_join (w->thread, NULL);
  iw_error_free (w->err);
  w->err = NULL;
  free (w->warnings);
  w->warnings = NULL;
}

/* A regular JSON file: records speculatively while a second thread
 * searches the file for owners (may_hold_owners); a big one is parsed by
 * two threads when second is given (the split above). */
static int
read_json_file (const char *source, input *in, iw_record_fn fn, void *userdata,
                const iw_source_second *second, iw_kube_stats *stats, iw_kube_progress_fn progress, void *pud,
                iw_error **err)
{
  prescan scan = { .fd = fileno (in->f) };
  held h = { .fn = fn, .userdata = userdata, .scan = &scan };
  split w = { .fd = fileno (in->f), .source = source, .name = in->name };
  bool splitting = false;
  iw_kube_parser *p;
  iw_error *e = NULL;
  struct stat st;
  int rc;

  atomic_init (&scan.done, false);
  atomic_init (&w.cancel, false);
  if (pthread_create (&scan.thread, NULL, prescan_main, &scan) != 0)
    {
      /* No thread: search first, then read. */
      h.scan = NULL;
      h.owners = may_hold_owners (scan.fd);
    }
  if (second && fstat (w.fd, &st) == 0 && st.st_size >= SPLIT_MIN
      && find_split (w.fd, in->start + (st.st_size - in->start) * 11 / 20, &w.item_end, &w.item_start))
    {
      w.fn = second->fn;
      w.userdata = second->userdata;
      splitting = pthread_create (&w.thread, NULL, split_main, &w) == 0;
    }
  h.recs = iw_xreallocarray (NULL, HOLD_MAX, sizeof *h.recs);
  p = iw_kube_parser_new (source, in->name, hold_record, &h);
  if (h.scan == NULL && h.owners)
    rc = -1; /* straight to the two-pass read */
  else
    rc = read_json_to (p, in, splitting ? w.item_end : -1, stats, progress, pud, &e);
  if (rc == 1)
    {
      held_join (&h);
      if (!h.owners && iw_kube_parser_at_item_boundary (p))
        {
          /* The guess holds: the second thread reads the rest. */
          pthread_join (w.thread, NULL);
          splitting = false;
          *second->used = true;
          rc = w.rc;
          e = iw_steal (&w.err);
          if (w.warnings)
            {
              for (char *line = w.warnings, *nl; (nl = strchr (line, '\n')) != NULL; line = nl + 1)
                {
                  *nl = '\0';
                  iw_log_warn ("%s", line);
                }
              free (w.warnings);
            }
        }
      else
        {
          split_abandon (&w);
          splitting = false;
          rc = h.owners ? -1 : read_json (p, in, stats, progress, pud, &e);
        }
    }
  if (splitting)
    split_abandon (&w); /* the parse ended or failed before the split */
  held_join (&h);
  if (h.owners)
    {
      /* Whatever this pass did or found, the two-pass read says it again. */
      held_drop (&h);
      iw_error_free (e);
      e = NULL;
      *stats = (iw_kube_stats){ 0 };
      if (second)
        *second->used = false;
      if (rewind_input (in, &e) < 0)
        rc = -1;
      else
        {
          iw_kube_parser_free (p);
          p = iw_kube_parser_new (source, in->name, fn, userdata);
          rc = read_json_owners_first (p, in, stats, progress, pud, &e);
        }
    }
  else if (held_flush (&h, rc < 0 ? NULL : &e) < 0 && rc == 0)
    rc = -1; /* records read before an error still go, as from a pipe */
  if (second && *second->used)
    {
      set_counts (stats, iw_kube_parser_stats (p), &w.stats);
      stats->bytes += (size_t)(w.item_start - w.item_end); /* the comma between */
    }
  else
    set_counts (stats, iw_kube_parser_stats (p), NULL);
  iw_kube_parser_free (p);
  free (h.recs);
  if (rc < 0)
    {
      if (err)
        *err = e;
      else
        iw_error_free (e);
    }
  return rc;
}

static int
read_file (const char *path, iw_record_fn fn, void *userdata, const iw_source_second *second,
           iw_kube_stats *stats_out, iw_kube_progress_fn progress, void *progress_userdata, iw_error **err)
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
      in.start = (long)(in.peek_pos = 3), in.pos = 3;
  }
  source = iw_xasprintf ("file:%s", is_stdin ? "stdin" : path);
  if (json && seekable)
    {
      rc = read_json_file (source, &in, fn, userdata, second, &stats, progress, progress_userdata, err);
      goto done;
    }
  p = iw_kube_parser_new (source, in.name, fn, userdata);
  if (json)
    rc = read_json (p, &in, &stats, progress, progress_userdata, err);
  else
    rc = read_yaml (p, &in, &stats, err);
done:
  if (p)
    set_counts (&stats, iw_kube_parser_stats (p), NULL);
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
iw_source_read_file_stats (const char *path, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                           iw_kube_progress_fn progress, void *progress_userdata, iw_error **err)
{
  return read_file (path, fn, userdata, NULL, stats_out, progress, progress_userdata, err);
}

int
iw_source_read_file_split (const char *path, iw_record_fn fn, void *userdata, const iw_source_second *second,
                           iw_kube_stats *stats_out, iw_kube_progress_fn progress, void *progress_userdata,
                           iw_error **err)
{
  *second->used = false;
  return read_file (path, fn, userdata, second, stats_out, progress, progress_userdata, err);
}

int
iw_source_read_file (const char *path, iw_record_fn fn, void *userdata, iw_error **err)
{
  return iw_source_read_file_stats (path, fn, userdata, NULL, NULL, NULL, err);
}
