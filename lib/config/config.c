/*
 * config.c - load imgwatch's YAML configuration and answer policy questions
 * about it: is an image name trusted, is a tag a moving tag, which settings
 * apply to a registry host.
 *
 * The YAML is read with libyaml's event API into a small tree (scalars,
 * sequences, mappings with their line and column), which lets us refuse
 * what libyaml accepts silently: duplicate keys, aliases, deep nesting.
 * A schema walk over that tree then fills an iw_config, naming file:line
 * and the key path in every error.  A ConfigMap wrapping the config is
 * unwrapped first and its inner string parsed the same way.
 */
#include "config/config.h"

#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define CONFIG_MAX IW_MIB    /* bytes of YAML */
#define DEPTH_MAX 16         /* nested sequences and mappings */
#define ENTRIES_MAX 10000    /* items in one sequence or mapping */
#define PATTERN_MAX 512      /* bytes in a normalized pattern */
#define CONCURRENCY_MAX 1024 /* registries.<host>.maxConcurrency */

static const char *const default_moving_tags[]
    = { "latest", "stable", "prod", "production", "main", "master", "dev", "edge", "nightly", NULL };

static const char *const known_checks[] = { "integrity-unknown",
                                            "integrity-stale",
                                            "digest-drift",
                                            "untrusted-registry",
                                            "tag-missing",
                                            "unverified",
                                            "pull-policy",
                                            "moving-tag",
                                            "image-id-reference",
                                            "store-corrupt",
                                            "store-mismatch",
                                            "tag-rollback",
                                            "config",
                                            NULL };

static const char *const severities[] = { "critical", "high", "medium", "low", "info", NULL };

static const char *const top_keys[] = { "trustedRegistries", "movingTags", "registries", "mirrors",
                                        "severity",          "exemptions", "admission",  NULL };

static const char *const registry_keys[]
    = { "insecure", "ca", "username", "passwordFile", "maxConcurrency", NULL };

static const char *const exemption_keys[] = { "namespace", "image", "checks", NULL };

static const char *const admission_keys[]
    = { "denyUntrusted", "denyMovingTags", "requireDigest", "mutate", "onRegistryError", NULL };

/* The names Docker Hub goes by: settings for one apply to all. */
static const char *const docker_hosts[] = { "docker.io", "index.docker.io", "registry-1.docker.io", NULL };

/* ---- The YAML tree ---- */

enum node_type
{
  NODE_SCALAR,
  NODE_SEQ,
  NODE_MAP
};

typedef struct node
{
  enum node_type type;
  size_t line, col;    /* 1-based */
  char *value;         /* scalars: NUL-free text */
  bool plain;          /* scalars: unquoted and untagged, so null/true/false/numbers apply */
  bool quoted;         /* scalars: quoted or block style */
  bool block;          /* scalars: block style ("|" or ">") */
  char *tag;           /* scalars: a tag other than !!bool, !!int, !!null ("!!str"), or NULL */
  struct node **items; /* sequences: items; mappings: key, value, key, value... */
  size_t n;            /* number of entries in items */
  size_t cap;
} node;

static void
node_free (node *n)
{
  size_t i;

  if (n == NULL)
    return;
  for (i = 0; i < n->n; i++)
    node_free (n->items[i]);
  free (n->items);
  free (n->value);
  free (n->tag);
  free (n);
}

/* Where errors point: the file's name and, for a ConfigMap's inner
 * string, a note that lines are relative to that string. */
typedef struct ctx
{
  const char *name;
  const char *note; /* appended to messages, or "" */
} ctx;

static int fail_at (const ctx *cx, iw_error **err, iw_code code, size_t line, const char *path,
                    const char *fmt, ...) __attribute__ ((format (printf, 6, 7)));

static int
fail_at (const ctx *cx, iw_error **err, iw_code code, size_t line, const char *path, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  va_start (ap, fmt);
  msg = iw_xvasprintf (fmt, ap);
  va_end (ap);
  if (path != NULL && *path != '\0')
    iw_error_set (err, code, "%s:%zu: %s: %s%s", cx->name, line, path, msg, cx->note);
  else
    iw_error_set (err, code, "%s:%zu: %s%s", cx->name, line, msg, cx->note);
  free (msg);
  return -1;
}

static node *
node_new (enum node_type type, const yaml_mark_t *mark)
{
  node *n = iw_xcalloc (1, sizeof *n);

  n->type = type;
  n->line = mark->line + 1;
  n->col = mark->column + 1;
  return n;
}

static void
node_push (node *parent, node *child)
{
  if (parent->n == parent->cap)
    {
      parent->cap = parent->cap ? parent->cap * 2 : 8;
      parent->items = iw_xreallocarray (parent->items, parent->cap, sizeof *parent->items);
    }
  parent->items[parent->n++] = child;
}

static int
yaml_fail (const ctx *cx, yaml_parser_t *p, iw_error **err)
{
  const char *problem = p->problem ? p->problem : "malformed YAML";

  if (p->context != NULL)
    return iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: %s (%s at line %zu)%s", cx->name,
                         p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
                         p->context_mark.line + 1, cx->note);
  return iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: %s%s", cx->name, p->problem_mark.line + 1,
                       p->problem_mark.column + 1, problem, cx->note);
}

/* Read the YAML stream into a tree.  *out is NULL for an empty stream. */
static int
load_tree (node **out, const ctx *cx, const char *text, size_t len, iw_error **err)
{
  yaml_parser_t parser;
  yaml_event_t ev;
  node *stack[DEPTH_MAX + 1];
  size_t depth = 0, docs = 0;
  node *root = NULL;
  bool done = false;
  int ret = -1;

  *out = NULL;
  if (!yaml_parser_initialize (&parser))
    return iw_error_set (err, IW_ENOMEM, "%s: cannot initialize the YAML parser", cx->name);
  yaml_parser_set_input_string (&parser, (const unsigned char *)text, len);
  while (!done)
    {
      node *n = NULL;

      if (!yaml_parser_parse (&parser, &ev))
        {
          yaml_fail (cx, &parser, err);
          goto out;
        }
      switch (ev.type)
        {
        case YAML_STREAM_END_EVENT:
          done = true;
          break;
        case YAML_DOCUMENT_START_EVENT:
          if (++docs > 1)
            {
              fail_at (cx, err, IW_EPOLICY, ev.start_mark.line + 1, NULL,
                       "more than one YAML document; a config is one document");
              goto fail_event;
            }
          break;
        case YAML_ALIAS_EVENT:
          fail_at (cx, err, IW_EPOLICY, ev.start_mark.line + 1, NULL,
                   "YAML aliases (*%s) are not supported in a config", (const char *)ev.data.alias.anchor);
          goto fail_event;
        case YAML_SCALAR_EVENT:
          if (strlen ((const char *)ev.data.scalar.value) != ev.data.scalar.length)
            {
              fail_at (cx, err, IW_EPOLICY, ev.start_mark.line + 1, NULL,
                       "a string contains a NUL character");
              goto fail_event;
            }
          n = node_new (NODE_SCALAR, &ev.start_mark);
          n->value = iw_xstrndup ((const char *)ev.data.scalar.value, ev.data.scalar.length);
          /* An explicit !!bool, !!int or !!null changes nothing for us; any
           * other tag (!!str, custom) makes the scalar a plain string. */
          if (ev.data.scalar.tag != NULL)
            {
              const char *t = (const char *)ev.data.scalar.tag;

              if (strncmp (t, "tag:yaml.org,2002:", 18) == 0)
                {
                  if (strcmp (t + 18, "bool") != 0 && strcmp (t + 18, "int") != 0
                      && strcmp (t + 18, "null") != 0)
                    n->tag = iw_xasprintf ("!!%s", t + 18);
                }
              else
                n->tag = iw_xstrdup (t);
            }
          n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n->tag == NULL;
          n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
          n->block = ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE
                     || ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
          break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
          if (depth == DEPTH_MAX)
            {
              fail_at (cx, err, IW_EPOLICY, ev.start_mark.line + 1, NULL, "nested deeper than %d levels",
                       DEPTH_MAX);
              goto fail_event;
            }
          n = node_new (ev.type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP, &ev.start_mark);
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          n = stack[--depth];
          break;
        default:
          break;
        }
      if (n != NULL
          && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_END_EVENT
              || ev.type == YAML_MAPPING_END_EVENT))
        {
          /* A complete node: attach it to its parent, or make it the root. */
          if (depth == 0)
            root = n;
          else
            {
              node *parent = stack[depth - 1];

              if (parent->n >= (parent->type == NODE_MAP ? 2 * ENTRIES_MAX : ENTRIES_MAX))
                {
                  fail_at (cx, err, IW_ETOOBIG, n->line, NULL, "more than %d entries in one list or mapping",
                           ENTRIES_MAX);
                  node_free (n);
                  goto fail_event;
                }
              node_push (parent, n);
            }
        }
      else if (n != NULL)
        stack[depth++] = n; /* a sequence or mapping starts */
      yaml_event_delete (&ev);
    }
  *out = iw_steal (&root);
  ret = 0;
  goto out;
fail_event:
  yaml_event_delete (&ev);
out:
  /* On failure, the open collections are not attached to anything yet. */
  while (depth > 0)
    node_free (stack[--depth]);
  node_free (root);
  yaml_parser_delete (&parser);
  return ret;
}

/* ---- Small helpers ---- */

static bool
in_list (const char *const *list, const char *s)
{
  for (; list != NULL && *list != NULL; list++)
    if (strcmp (*list, s) == 0)
      return true;
  return false;
}

static void
strv_free (char **v)
{
  size_t i;

  for (i = 0; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

static char **
strv_dup (const char *const *v)
{
  size_t n = 0, i;
  char **out;

  while (v[n] != NULL)
    n++;
  out = iw_xcalloc (n + 1, sizeof *out);
  for (i = 0; i < n; i++)
    out[i] = iw_xstrdup (v[i]);
  return out;
}

/* Case-insensitive Levenshtein distance, for "did you mean". */
static size_t
edit_distance (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), i, j;
  size_t *row, d;

  if (la > 64 || lb > 64)
    return (size_t)-1;
  row = iw_xcalloc (lb + 1, sizeof *row);
  for (j = 0; j <= lb; j++)
    row[j] = j;
  for (i = 1; i <= la; i++)
    {
      size_t prev = row[0];

      row[0] = i;
      for (j = 1; j <= lb; j++)
        {
          size_t cur = row[j];
          size_t cost = tolower ((unsigned char)a[i - 1]) == tolower ((unsigned char)b[j - 1]) ? 0 : 1;
          size_t best = prev + cost;

          if (row[j] + 1 < best)
            best = row[j] + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          prev = cur;
        }
    }
  d = row[lb];
  free (row);
  return d;
}

/* The closest name within a small distance, or NULL. */
static const char *
suggest (const char *const *names, const char *s)
{
  const char *best = NULL;
  size_t best_d = (size_t)-1;

  for (; *names != NULL; names++)
    {
      size_t d = edit_distance (*names, s);
      size_t limit = strlen (*names) / 3 + 1;

      if (d <= limit && d < best_d)
        {
          best = *names;
          best_d = d;
        }
    }
  return best;
}

/* User text quoted for a message: at most 100 bytes, with quotes,
 * backslashes and control characters escaped, so a message stays one
 * line and cannot carry terminal escapes. */
typedef struct qbuf
{
  char s[4 * 100 + 16];
} qbuf;

static const char *
q (qbuf *b, const char *s)
{
  size_t o = 0, i;

  b->s[o++] = '"';
  for (i = 0; i < 100 && s[i] != '\0'; i++)
    {
      unsigned char c = (unsigned char)s[i];

      if (c == '"' || c == '\\')
        o += (size_t)sprintf (b->s + o, "\\%c", c);
      else if (c == '\n')
        o += (size_t)sprintf (b->s + o, "\\n");
      else if (c == '\t')
        o += (size_t)sprintf (b->s + o, "\\t");
      else if (c < 0x20 || c == 0x7f)
        o += (size_t)sprintf (b->s + o, "\\x%02x", c);
      else
        b->s[o++] = (char)c;
    }
  b->s[o++] = '"';
  if (s[i] != '\0')
    o += (size_t)sprintf (b->s + o, "...");
  b->s[o] = '\0';
  return b->s;
}

/* A key as it appears in a path: bare when it is a simple word, else quoted. */
static char *
key_path (const char *parent, const char *key)
{
  const char *p;
  bool simple = *key != '\0';
  qbuf qb;

  for (p = key; *p; p++)
    if (!isalnum ((unsigned char)*p) && *p != '_' && *p != '-')
      simple = false;
  if (simple)
    return *parent ? iw_xasprintf ("%s.%s", parent, key) : iw_xstrdup (key);
  return *parent ? iw_xasprintf ("%s.%s", parent, q (&qb, key)) : iw_xstrdup (q (&qb, key));
}

static const char *
type_name (const node *n)
{
  if (n->type == NODE_SEQ)
    return "a list";
  if (n->type == NODE_MAP)
    return "a mapping";
  if (n->plain && (n->value[0] == '\0' || strcmp (n->value, "~") == 0 || strcasecmp (n->value, "null") == 0))
    return "null";
  return NULL;
}

/* "got ..." text for a node that has the wrong type. */
static char *
got (const node *n)
{
  const char *t = type_name (n);

  if (t != NULL)
    return iw_xstrdup (t);
  qbuf qb;

  if (n->tag != NULL)
    return iw_xasprintf ("%s tagged %s", q (&qb, n->value), n->tag);
  return iw_xstrdup (q (&qb, n->value));
}

static int
expect_type (const ctx *cx, const node *n, enum node_type type, const char *path, iw_error **err)
{
  static const char *const want[] = { "a string", "a list", "a mapping" };
  char *g;

  if (n->type == type && type_name (n) == NULL)
    return 0;
  if (n->type == type && type != NODE_SCALAR)
    return 0;
  g = got (n);
  fail_at (cx, err, IW_EPOLICY, n->line, path, "expected %s, got %s", want[type], g);
  free (g);
  return -1;
}

/* A string value: a scalar that is not null and not empty. */
static int
expect_string (const ctx *cx, const node *n, const char *path, iw_error **err)
{
  if (expect_type (cx, n, NODE_SCALAR, path, err) < 0)
    return -1;
  if (n->value[0] == '\0')
    return fail_at (cx, err, IW_EPOLICY, n->line, path, "expected a non-empty string");
  return 0;
}

typedef struct keyref
{
  const char *key;
  size_t line;
  size_t order;
} keyref;

static int
keyref_cmp (const void *a, const void *b)
{
  const keyref *x = a, *y = b;
  int c = strcmp (x->key, y->key);

  if (c != 0)
    return c;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Keys of a mapping must be strings and must not repeat.  Sorting keeps
 * this O(n log n); the duplicate reported is the first one in the file. */
static int
check_keys (const ctx *cx, const node *map, const char *path, iw_error **err)
{
  size_t n = map->n / 2, i;
  keyref *refs;
  const keyref *dup = NULL, *first = NULL;

  for (i = 0; i < n; i++)
    {
      const node *k = map->items[2 * i];

      if (k->type != NODE_SCALAR)
        return fail_at (cx, err, IW_EPOLICY, k->line, path, "keys must be strings, got %s", type_name (k));
    }
  refs = iw_xcalloc (n + 1, sizeof *refs);
  for (i = 0; i < n; i++)
    refs[i] = (keyref){ map->items[2 * i]->value, map->items[2 * i]->line, i };
  qsort (refs, n, sizeof *refs, keyref_cmp);
  for (i = 1; i < n; i++)
    if (strcmp (refs[i].key, refs[i - 1].key) == 0 && (dup == NULL || refs[i].order < dup->order))
      {
        size_t j = i - 1;

        while (j > 0 && strcmp (refs[j - 1].key, refs[i].key) == 0)
          j--;
        dup = &refs[i];
        first = &refs[j];
      }
  if (dup != NULL)
    {
      char *kp = key_path ("", dup->key);

      fail_at (cx, err, IW_EPOLICY, dup->line, path, "duplicate key %s (first at line %zu)", kp, first->line);
      free (kp);
      free (refs);
      return -1;
    }
  free (refs);
  return 0;
}

static int
unknown_key (const ctx *cx, const node *k, const char *path, const char *const *known, iw_error **err)
{
  const char *s = suggest (known, k->value);
  char *kp = key_path ("", k->value);

  if (s != NULL)
    fail_at (cx, err, IW_EPOLICY, k->line, path, "unknown key %s (did you mean %s?)", kp, s);
  else
    fail_at (cx, err, IW_EPOLICY, k->line, path, "unknown key %s", kp);
  free (kp);
  return -1;
}

/* ---- Hosts and patterns ---- */

/* Validate host[:port] (a DNS name, IPv4 or [IPv6] literal, with an
 * optional port 1-65535).  allow_wild lets it start with "*.". */
static const char *
host_problem (const char *s, size_t len, bool allow_wild)
{
  size_t i = 0, end = len;
  const char *colon = NULL;

  if (len == 0)
    return "empty host";
  if (allow_wild && len >= 2 && s[0] == '*' && s[1] == '.')
    i = 2;
  if (s[i] == '[')
    {
      const char *close = memchr (s + i, ']', len - i);

      if (i != 0)
        return "a wildcard cannot apply to an IPv6 address";
      if (close == NULL)
        return "unterminated IPv6 address";
      for (const char *p = s + 1; p < close; p++)
        if (!isxdigit ((unsigned char)*p) && *p != ':' && *p != '.')
          return "invalid IPv6 address";
      if (close == s + 1)
        return "invalid IPv6 address";
      end = (size_t)(close - s) + 1;
      if (end < len && s[end] != ':')
        return "unexpected text after the IPv6 address";
      if (end < len)
        colon = s + end;
    }
  else
    {
      bool label_start = true;

      colon = memchr (s + i, ':', len - i);
      end = colon ? (size_t)(colon - s) : len;
      if (end == i)
        return "empty host";
      for (; i < end; i++)
        {
          unsigned char c = (unsigned char)s[i];

          if (c == '.')
            {
              if (label_start)
                return "empty label in host name";
              label_start = true;
              continue;
            }
          if (c == '*')
            return "a wildcard is only allowed as a leading \"*.\"";
          if (!isalnum (c) && c != '-')
            return "invalid character in host name";
          label_start = false;
        }
      if (label_start)
        return "host name ends with a dot";
    }
  if (colon != NULL)
    {
      const char *p = colon + 1;
      unsigned long port = 0;

      if (p == s + len)
        return "empty port";
      if (s + len - p > 5)
        return "invalid port";
      for (; p < s + len; p++)
        {
          if (!isdigit ((unsigned char)*p))
            return "invalid port";
          port = port * 10 + (unsigned long)(*p - '0');
        }
      if (port == 0 || port > 65535)
        return "port out of range";
    }
  return NULL;
}

static bool
is_docker_host (const char *host, size_t len)
{
  const char *const *h;

  for (h = docker_hosts; *h; h++)
    if (strlen (*h) == len && strncasecmp (*h, host, len) == 0)
      return true;
  return false;
}

/* Normalize a pattern the way references are normalized, into out (which
 * has PATTERN_MAX bytes).  Returns NULL, or what is wrong with it. */
static const char *
normalize_pattern (char *out, const char *pattern)
{
  size_t len = strlen (pattern), dlen, i;
  const char *slash, *path, *problem;
  bool has_domain;
  int n;

  if (len == 0)
    return "empty pattern";
  if (len >= PATTERN_MAX - 32)
    return "pattern too long";
  for (i = 0; i < len; i++)
    if (isspace ((unsigned char)pattern[i]) || !isprint ((unsigned char)pattern[i]))
      return "pattern contains a space or control character";
  if (strpbrk (pattern, "@") != NULL)
    return "patterns name repositories; remove the digest";
  slash = strchr (pattern, '/');
  dlen = slash ? (size_t)(slash - pattern) : len;
  /* Docker's rule: the first component is a domain when it has a dot or a
   * colon, is localhost, or is an IPv6 literal; "*." starts a domain too. */
  has_domain = memchr (pattern, '.', dlen) || memchr (pattern, ':', dlen) || pattern[0] == '['
               || (dlen == 9 && strncmp (pattern, "localhost", 9) == 0);
  if (!has_domain)
    {
      if (memchr (pattern, '*', dlen) != NULL)
        return "a wildcard is only allowed as a leading \"*.\" label or as a final \"/*\"";
      /* Docker Hub shorthand: "nginx" is docker.io/library/nginx. */
      if (slash == NULL)
        n = snprintf (out, PATTERN_MAX, "docker.io/library/%s", pattern);
      else
        n = snprintf (out, PATTERN_MAX, "docker.io/%s", pattern);
    }
  else
    {
      if ((problem = host_problem (pattern, dlen, true)) != NULL)
        return problem;
      path = slash ? slash + 1 : NULL;
      if (is_docker_host (pattern, dlen) && strcmp (pattern, "registry-1.docker.io") != 0
          && strncmp (pattern, "registry-1.docker.io/", 21) != 0)
        {
          /* index.docker.io becomes docker.io, and a one-component path
           * gets library/, as the reference parser does. */
          if (path == NULL)
            n = snprintf (out, PATTERN_MAX, "docker.io");
          else if (strchr (path, '/') == NULL && strcmp (path, "*") != 0)
            n = snprintf (out, PATTERN_MAX, "docker.io/library/%s", path);
          else
            n = snprintf (out, PATTERN_MAX, "docker.io/%s", path);
        }
      else
        n = snprintf (out, PATTERN_MAX, "%s", pattern);
    }
  if (n < 0 || n >= PATTERN_MAX)
    return "pattern too long";
  /* The domain is case-insensitive; store it lowercase. */
  for (i = 0; out[i] && out[i] != '/'; i++)
    out[i] = (char)tolower ((unsigned char)out[i]);
  /* The path: lowercase components, "*" only as the last one. */
  path = strchr (out, '/');
  if (path != NULL)
    {
      const char *p = path + 1, *comp = p;

      for (;; p++)
        {
          if (*p == '/' || *p == '\0')
            {
              if (p == comp)
                return "empty path component";
              if (memchr (comp, '*', (size_t)(p - comp)) != NULL && (p - comp != 1 || *p != '\0'))
                return "a wildcard is only allowed as a leading \"*.\" label or as a final \"/*\"";
              if (*p == '\0')
                break;
              comp = p + 1;
              continue;
            }
          if (*p == ':')
            return "patterns name repositories; remove the tag";
          if (isupper ((unsigned char)*p))
            return "repository paths must be lowercase";
          if (!islower ((unsigned char)*p) && !isdigit ((unsigned char)*p) && *p != '.' && *p != '_'
              && *p != '-' && *p != '*')
            return "invalid character in repository path";
        }
    }
  return NULL;
}

/* Split "host[:port]" at its port colon; IPv6 literals keep theirs. */
static void
split_port (const char *d, size_t dlen, size_t *hostlen, const char **port, size_t *portlen)
{
  const char *colon = NULL;

  if (dlen > 0 && d[0] == '[')
    {
      const char *close = memchr (d, ']', dlen);

      if (close != NULL && (size_t)(close - d) + 1 < dlen && close[1] == ':')
        colon = close + 1;
    }
  else
    colon = memchr (d, ':', dlen);
  *hostlen = colon ? (size_t)(colon - d) : dlen;
  *port = colon ? colon + 1 : "";
  *portlen = colon ? dlen - *hostlen - 1 : 0;
}

/* A wildcard host "*.suffix" matches one or more non-empty labels before
 * ".suffix". */
static bool
host_match (const char *pat, size_t plen, const char *host, size_t hlen)
{
  if (plen >= 2 && pat[0] == '*' && pat[1] == '.')
    {
      size_t slen = plen - 1; /* ".suffix" */
      size_t i;

      if (hlen <= slen || strncasecmp (host + hlen - slen, pat + 1, slen) != 0)
        return false;
      /* The part before must be labels: not empty, no empty label. */
      for (i = 0; i < hlen - slen; i++)
        if (host[i] == '.' && (i == 0 || host[i - 1] == '.'))
          return false;
      return host[hlen - slen - 1] != '.';
    }
  return plen == hlen && strncasecmp (pat, host, hlen) == 0;
}

static bool
match_normalized (const char *pat, const char *name)
{
  const char *pslash = strchr (pat, '/'), *nslash = strchr (name, '/');
  size_t pdlen = pslash ? (size_t)(pslash - pat) : strlen (pat);
  size_t ndlen = nslash ? (size_t)(nslash - name) : strlen (name);
  size_t phl, nhl, ppl, npl;
  const char *pport, *nport, *ppath, *npath;
  size_t pplen, nplen;

  split_port (pat, pdlen, &phl, &pport, &ppl);
  split_port (name, ndlen, &nhl, &nport, &npl);
  if (ppl != npl || strncmp (pport, nport, ppl) != 0)
    return false;
  if (!host_match (pat, phl, name, nhl))
    return false;
  if (pslash == NULL)
    return true;
  ppath = pslash + 1;
  npath = nslash ? nslash + 1 : "";
  pplen = strlen (ppath);
  nplen = strlen (npath);
  if (ppath[pplen - 1] == '*')
    {
      /* A final star: strictly under the prefix; "*" alone: any repository. */
      size_t prefix = pplen - 1;

      return nplen > prefix && strncmp (npath, ppath, prefix) == 0;
    }
  /* "p": p itself or anything under it, on a "/" boundary. */
  return strncmp (npath, ppath, pplen) == 0 && (npath[pplen] == '\0' || npath[pplen] == '/');
}

bool
iw_config_pattern_match (const char *pattern, const char *name)
{
  char norm[PATTERN_MAX];

  if (pattern == NULL || name == NULL || *name == '\0')
    return false;
  if (normalize_pattern (norm, pattern) != NULL)
    return false;
  return match_normalized (norm, name);
}

int
iw_config_pattern_normalize (char **out, const char *pattern, iw_error **err)
{
  char norm[PATTERN_MAX];
  const char *problem;

  *out = NULL;
  if ((problem = normalize_pattern (norm, pattern)) != NULL)
    {
      qbuf qb;

      return iw_error_set (err, IW_EPOLICY, "invalid pattern %s: %s", q (&qb, pattern), problem);
    }
  *out = iw_xstrdup (norm);
  return 0;
}

bool
iw_config_is_trusted (const iw_config *c, const char *name)
{
  char **p;

  if (c == NULL || !c->has_trusted)
    return true;
  /* Stored patterns are normalized already: match them directly. */
  if (name == NULL || *name == '\0')
    return false;
  for (p = c->trusted; p != NULL && *p != NULL; p++)
    if (match_normalized (*p, name))
      return true;
  return false;
}

bool
iw_config_is_moving_tag (const iw_config *c, const char *tag)
{
  if (tag == NULL)
    return false;
  if (c == NULL || c->moving_tags == NULL)
    return in_list (default_moving_tags, tag);
  return in_list ((const char *const *)c->moving_tags, tag);
}

bool
iw_config_is_known_check (const char *check)
{
  return check != NULL && in_list (known_checks, check);
}

static bool
same_registry (const char *a, const char *b)
{
  if (strcasecmp (a, b) == 0)
    return true;
  return is_docker_host (a, strlen (a)) && is_docker_host (b, strlen (b));
}

const iw_registry_settings *
iw_config_registry (const iw_config *c, const char *host)
{
  size_t i;

  if (c == NULL || host == NULL)
    return NULL;
  for (i = 0; i < c->n_registries; i++)
    if (strcasecmp (c->registries[i].host, host) == 0)
      return &c->registries[i];
  for (i = 0; i < c->n_registries; i++)
    if (same_registry (c->registries[i].host, host))
      return &c->registries[i];
  return NULL;
}

const char *const *
iw_config_mirrors (const iw_config *c, const char *registry)
{
  size_t i;

  if (c == NULL || registry == NULL)
    return NULL;
  for (i = 0; i < c->n_mirrors; i++)
    if (same_registry (c->mirrors[i].registry, registry))
      return (const char *const *)c->mirrors[i].mirrors;
  return NULL;
}

const char *
iw_config_severity (const iw_config *c, const char *check)
{
  size_t i;

  if (c == NULL || check == NULL)
    return NULL;
  for (i = 0; i < c->n_severity; i++)
    if (strcmp (c->severity[i].check, check) == 0)
      return c->severity[i].severity;
  return NULL;
}

bool
iw_config_is_exempt (const iw_config *c, const char *namespace_, const char *name, const char *check)
{
  size_t i;

  if (c == NULL)
    return false;
  for (i = 0; i < c->n_exemptions; i++)
    {
      const iw_exemption *e = &c->exemptions[i];

      if (e->namespace_ != NULL && (namespace_ == NULL || strcmp (e->namespace_, namespace_) != 0))
        continue;
      if (e->image != NULL && (name == NULL || *name == '\0' || !match_normalized (e->image, name)))
        continue;
      if (e->checks != NULL && (check == NULL || !in_list ((const char *const *)e->checks, check)))
        continue;
      return true;
    }
  return false;
}

/* ---- The schema walk ---- */

static int
parse_string_list (char ***out, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  char **v;
  size_t i;

  *out = NULL;
  if (expect_type (cx, n, NODE_SEQ, path, err) < 0)
    return -1;
  v = iw_xcalloc (n->n + 1, sizeof *v);
  for (i = 0; i < n->n; i++)
    {
      char *ip = iw_xasprintf ("%s[%zu]", path, i);
      int r = expect_string (cx, n->items[i], ip, err);

      free (ip);
      if (r < 0)
        {
          strv_free (v);
          return -1;
        }
      v[i] = iw_xstrdup (n->items[i]->value);
    }
  *out = v;
  return 0;
}

/* A list of patterns, each checked and normalized. */
static int
parse_patterns (char ***out, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  qbuf qb;
  char **v = NULL;
  size_t i;

  if (parse_string_list (&v, cx, n, path, err) < 0)
    return -1;
  for (i = 0; v[i] != NULL; i++)
    {
      char norm[PATTERN_MAX];
      const char *problem = normalize_pattern (norm, v[i]);

      if (problem != NULL)
        {
          char *ip = iw_xasprintf ("%s[%zu]", path, i);

          fail_at (cx, err, IW_EPOLICY, n->items[i]->line, ip, "invalid pattern %s: %s", q (&qb, v[i]),
                   problem);
          free (ip);
          strv_free (v);
          return -1;
        }
      free (v[i]);
      v[i] = iw_xstrdup (norm);
    }
  *out = v;
  return 0;
}

static bool
valid_tag (const char *t)
{
  size_t i;

  if (!isalnum ((unsigned char)t[0]) && t[0] != '_')
    return false;
  for (i = 1; t[i]; i++)
    if (!isalnum ((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
      return false;
  return i <= 128;
}

static int
parse_moving_tags (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  qbuf qb;
  size_t i;

  if (parse_string_list (&c->moving_tags, cx, n, "movingTags", err) < 0)
    return -1;
  for (i = 0; c->moving_tags[i] != NULL; i++)
    if (!valid_tag (c->moving_tags[i]))
      {
        char *ip = iw_xasprintf ("movingTags[%zu]", i);

        fail_at (cx, err, IW_EPOLICY, n->items[i]->line, ip, "invalid tag %s", q (&qb, c->moving_tags[i]));
        free (ip);
        return -1;
      }
  return 0;
}

static int
host_key (const ctx *cx, const node *k, const char *path, iw_error **err)
{
  const char *problem;
  char *kp;

  if (strstr (k->value, "://") != NULL || strchr (k->value, '/') != NULL)
    problem = "expected a registry host (host[:port]) without scheme or path";
  else
    problem = host_problem (k->value, strlen (k->value), false);
  if (problem == NULL)
    return 0;
  kp = key_path (path, k->value);
  fail_at (cx, err, IW_EPOLICY, k->line, kp, "%s", problem);
  free (kp);
  return -1;
}

/* Two keys naming one registry ("docker.io" and "index.docker.io", or
 * hosts differing in case) are an error like a duplicate key. */
static int
check_same_registry (const ctx *cx, const node *map, const char *path, iw_error **err)
{
  qbuf qb;
  size_t n = map->n / 2, i;
  char **canon = iw_xcalloc (n + 1, sizeof *canon);
  keyref *refs = iw_xcalloc (n + 1, sizeof *refs);
  int ret = 0;
  size_t bad = n, first = 0;

  for (i = 0; i < n; i++)
    {
      const char *h = map->items[2 * i]->value;
      size_t j;

      canon[i] = is_docker_host (h, strlen (h)) ? iw_xstrdup ("docker.io") : iw_xstrdup (h);
      for (j = 0; canon[i][j]; j++)
        canon[i][j] = (char)tolower ((unsigned char)canon[i][j]);
      refs[i] = (keyref){ canon[i], map->items[2 * i]->line, i };
    }
  qsort (refs, n, sizeof *refs, keyref_cmp);
  for (i = 1; i < n; i++)
    if (strcmp (refs[i].key, refs[i - 1].key) == 0 && (bad == n || refs[i].order < bad))
      {
        size_t j = i - 1;

        while (j > 0 && strcmp (refs[j - 1].key, refs[i].key) == 0)
          j--;
        bad = refs[i].order;
        first = refs[j].order;
      }
  if (bad != n)
    {
      char *kp = key_path (path, map->items[2 * bad]->value);

      ret = fail_at (cx, err, IW_EPOLICY, map->items[2 * bad]->line, kp, "same registry as %s (line %zu)",
                     q (&qb, map->items[2 * first]->value), map->items[2 * first]->line);
      free (kp);
    }
  for (i = 0; i < n; i++)
    free (canon[i]);
  free (canon);
  free (refs);
  return ret;
}

static int
parse_bool (bool *out, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  char *g;

  if (n->type == NODE_SCALAR && n->plain)
    {
      if (strcmp (n->value, "true") == 0 || strcmp (n->value, "True") == 0 || strcmp (n->value, "TRUE") == 0)
        {
          *out = true;
          return 0;
        }
      if (strcmp (n->value, "false") == 0 || strcmp (n->value, "False") == 0
          || strcmp (n->value, "FALSE") == 0)
        {
          *out = false;
          return 0;
        }
    }
  g = got (n);
  fail_at (cx, err, IW_EPOLICY, n->line, path, "expected true or false, got %s%s",
           n->type == NODE_SCALAR && n->quoted ? "the quoted string " : "", g);
  free (g);
  return -1;
}

static int
parse_concurrency (int *out, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  const char *p;
  long v = 0;
  char *g;

  if (n->type == NODE_SCALAR && n->plain && n->value[0] != '\0' && strlen (n->value) <= 5)
    {
      for (p = n->value; isdigit ((unsigned char)*p); p++)
        v = v * 10 + (*p - '0');
      if (*p == '\0' && v >= 1 && v <= CONCURRENCY_MAX)
        {
          *out = (int)v;
          return 0;
        }
    }
  g = got (n);
  fail_at (cx, err, IW_EPOLICY, n->line, path, "expected an integer from 1 to %d, got %s", CONCURRENCY_MAX,
           g);
  free (g);
  return -1;
}

static int
parse_registry (iw_registry_settings *r, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  size_t i;

  if (expect_type (cx, n, NODE_MAP, path, err) < 0 || check_keys (cx, n, path, err) < 0)
    return -1;
  for (i = 0; i < n->n; i += 2)
    {
      const node *k = n->items[i], *v = n->items[i + 1];
      char *kp = key_path (path, k->value);
      int ret = 0;

      if (strcmp (k->value, "insecure") == 0)
        ret = parse_bool (&r->insecure, cx, v, kp, err);
      else if (strcmp (k->value, "maxConcurrency") == 0)
        ret = parse_concurrency (&r->max_concurrency, cx, v, kp, err);
      else if (in_list (registry_keys, k->value))
        {
          ret = expect_string (cx, v, kp, err);
          if (ret == 0 && strcmp (k->value, "ca") == 0)
            r->ca = iw_xstrdup (v->value);
          else if (ret == 0 && strcmp (k->value, "username") == 0)
            r->username = iw_xstrdup (v->value);
          else if (ret == 0)
            r->password_file = iw_xstrdup (v->value);
        }
      else
        ret = unknown_key (cx, k, path, registry_keys, err);
      free (kp);
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
parse_registries (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  size_t i;

  if (expect_type (cx, n, NODE_MAP, "registries", err) < 0 || check_keys (cx, n, "registries", err) < 0)
    return -1;
  for (i = 0; i < n->n; i += 2)
    if (host_key (cx, n->items[i], "registries", err) < 0)
      return -1;
  if (check_same_registry (cx, n, "registries", err) < 0)
    return -1;
  c->registries = iw_xcalloc (n->n / 2 + 1, sizeof *c->registries);
  for (i = 0; i < n->n; i += 2)
    {
      iw_registry_settings *r = &c->registries[c->n_registries++];
      char *kp = key_path ("registries", n->items[i]->value);
      int ret;

      r->host = iw_xstrdup (n->items[i]->value);
      ret = parse_registry (r, cx, n->items[i + 1], kp, err);
      free (kp);
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
parse_mirrors (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  size_t i, j;

  if (expect_type (cx, n, NODE_MAP, "mirrors", err) < 0 || check_keys (cx, n, "mirrors", err) < 0)
    return -1;
  for (i = 0; i < n->n; i += 2)
    if (host_key (cx, n->items[i], "mirrors", err) < 0)
      return -1;
  if (check_same_registry (cx, n, "mirrors", err) < 0)
    return -1;
  c->mirrors = iw_xcalloc (n->n / 2 + 1, sizeof *c->mirrors);
  for (i = 0; i < n->n; i += 2)
    {
      iw_mirror *m = &c->mirrors[c->n_mirrors++];
      const node *v = n->items[i + 1];
      char *kp = key_path ("mirrors", n->items[i]->value);
      int ret;

      m->registry = iw_xstrdup (n->items[i]->value);
      ret = parse_string_list (&m->mirrors, cx, v, kp, err);
      for (j = 0; ret == 0 && m->mirrors[j] != NULL; j++)
        {
          const char *h = m->mirrors[j];
          const char *problem = (strstr (h, "://") || strchr (h, '/'))
                                    ? "expected a registry host (host[:port]) without scheme or path"
                                    : host_problem (h, strlen (h), false);

          if (problem != NULL)
            {
              char *ip = iw_xasprintf ("%s[%zu]", kp, j);

              ret = fail_at (cx, err, IW_EPOLICY, v->items[j]->line, ip, "%s", problem);
              free (ip);
            }
          else if (same_registry (h, m->registry))
            {
              char *ip = iw_xasprintf ("%s[%zu]", kp, j);

              ret = fail_at (cx, err, IW_EPOLICY, v->items[j]->line, ip, "a registry cannot mirror itself");
              free (ip);
            }
        }
      free (kp);
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
check_name (const ctx *cx, const node *n, const char *path, iw_error **err)
{
  qbuf qb;
  const char *s = suggest (known_checks, n->value);

  if (in_list (known_checks, n->value))
    return 0;
  if (s != NULL)
    return fail_at (cx, err, IW_EPOLICY, n->line, path, "unknown check %s (did you mean %s?)",
                    q (&qb, n->value), s);
  return fail_at (cx, err, IW_EPOLICY, n->line, path, "unknown check %s", q (&qb, n->value));
}

static int
parse_severity (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  qbuf qb;
  size_t i;

  if (expect_type (cx, n, NODE_MAP, "severity", err) < 0 || check_keys (cx, n, "severity", err) < 0)
    return -1;
  c->severity = iw_xcalloc (n->n / 2 + 1, sizeof *c->severity);
  for (i = 0; i < n->n; i += 2)
    {
      const node *k = n->items[i], *v = n->items[i + 1];
      char *kp = key_path ("severity", k->value);
      int ret = check_name (cx, k, "severity", err);

      if (ret == 0)
        ret = expect_string (cx, v, kp, err);
      if (ret == 0 && !in_list (severities, v->value))
        ret = fail_at (cx, err, IW_EPOLICY, v->line, kp,
                       "expected critical, high, medium, low or info, got %s", q (&qb, v->value));
      free (kp);
      if (ret < 0)
        return -1;
      c->severity[c->n_severity].check = iw_xstrdup (k->value);
      c->severity[c->n_severity].severity = iw_xstrdup (v->value);
      c->n_severity++;
    }
  return 0;
}

static bool
valid_namespace (const char *s)
{
  size_t i;

  for (i = 0; s[i]; i++)
    if (!islower ((unsigned char)s[i]) && !isdigit ((unsigned char)s[i])
        && (s[i] != '-' || i == 0 || s[i + 1] == '\0'))
      return false;
  return i >= 1 && i <= 63;
}

static int
parse_exemption (iw_exemption *e, const ctx *cx, const node *n, const char *path, iw_error **err)
{
  qbuf qb;
  size_t i, j;

  if (expect_type (cx, n, NODE_MAP, path, err) < 0 || check_keys (cx, n, path, err) < 0)
    return -1;
  if (n->n == 0)
    return fail_at (cx, err, IW_EPOLICY, n->line, path,
                    "an empty exemption would exempt everything; give namespace, image or checks");
  for (i = 0; i < n->n; i += 2)
    {
      const node *k = n->items[i], *v = n->items[i + 1];
      char *kp = key_path (path, k->value);
      int ret = 0;

      if (strcmp (k->value, "namespace") == 0)
        {
          ret = expect_string (cx, v, kp, err);
          if (ret == 0 && !valid_namespace (v->value))
            ret = fail_at (cx, err, IW_EPOLICY, v->line, kp, "invalid namespace name %s", q (&qb, v->value));
          if (ret == 0)
            e->namespace_ = iw_xstrdup (v->value);
        }
      else if (strcmp (k->value, "image") == 0)
        {
          char norm[PATTERN_MAX];
          const char *problem;

          ret = expect_string (cx, v, kp, err);
          if (ret == 0 && (problem = normalize_pattern (norm, v->value)) != NULL)
            ret = fail_at (cx, err, IW_EPOLICY, v->line, kp, "invalid pattern %s: %s", q (&qb, v->value),
                           problem);
          if (ret == 0)
            e->image = iw_xstrdup (norm);
        }
      else if (strcmp (k->value, "checks") == 0)
        {
          ret = parse_string_list (&e->checks, cx, v, kp, err);
          if (ret == 0 && e->checks[0] == NULL)
            ret = fail_at (cx, err, IW_EPOLICY, v->line, kp,
                           "an empty list exempts nothing; omit checks to exempt every check");
          for (j = 0; ret == 0 && e->checks[j] != NULL; j++)
            {
              char *ip = iw_xasprintf ("%s[%zu]", kp, j);

              ret = check_name (cx, v->items[j], ip, err);
              free (ip);
            }
        }
      else
        ret = unknown_key (cx, k, path, exemption_keys, err);
      free (kp);
      if (ret < 0)
        return -1;
    }
  return 0;
}

static int
parse_exemptions (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  size_t i;

  if (expect_type (cx, n, NODE_SEQ, "exemptions", err) < 0)
    return -1;
  c->exemptions = iw_xcalloc (n->n + 1, sizeof *c->exemptions);
  for (i = 0; i < n->n; i++)
    {
      char *ip = iw_xasprintf ("exemptions[%zu]", i);
      int ret = parse_exemption (&c->exemptions[c->n_exemptions++], cx, n->items[i], ip, err);

      free (ip);
      if (ret < 0)
        return -1;
    }
  return 0;
}

/* admission: {denyUntrusted, denyMovingTags, requireDigest, mutate,
 * onRegistryError: deny|allow}. */
static int
parse_admission (iw_config *c, const ctx *cx, const node *n, iw_error **err)
{
  iw_admission_policy *a = &c->admission;
  size_t i;

  if (expect_type (cx, n, NODE_MAP, "admission", err) < 0 || check_keys (cx, n, "admission", err) < 0)
    return -1;
  for (i = 0; i < n->n; i += 2)
    {
      const node *k = n->items[i], *v = n->items[i + 1];
      char *kp = key_path ("admission", k->value);
      int ret;

      if (strcmp (k->value, "denyUntrusted") == 0)
        ret = parse_bool (&a->deny_untrusted, cx, v, kp, err);
      else if (strcmp (k->value, "denyMovingTags") == 0)
        ret = parse_bool (&a->deny_moving_tags, cx, v, kp, err);
      else if (strcmp (k->value, "requireDigest") == 0)
        ret = parse_bool (&a->require_digest, cx, v, kp, err);
      else if (strcmp (k->value, "mutate") == 0)
        ret = parse_bool (&a->mutate, cx, v, kp, err);
      else if (strcmp (k->value, "onRegistryError") == 0)
        {
          ret = expect_string (cx, v, kp, err);
          if (ret == 0 && strcmp (v->value, "deny") == 0)
            a->allow_on_registry_error = false;
          else if (ret == 0 && strcmp (v->value, "allow") == 0)
            a->allow_on_registry_error = true;
          else if (ret == 0)
            {
              char *g = got (v);

              ret = fail_at (cx, err, IW_EPOLICY, v->line, kp, "expected deny or allow, got %s", g);
              free (g);
            }
        }
      else
        ret = unknown_key (cx, k, "admission", admission_keys, err);
      free (kp);
      if (ret < 0)
        return -1;
    }
  return 0;
}

static bool
is_null (const node *n)
{
  return n == NULL || (n->type == NODE_SCALAR && type_name (n) != NULL);
}

/* The top-level mapping of an imgwatch config. */
static int
parse_config (iw_config *c, const ctx *cx, const node *root, iw_error **err)
{
  size_t i;

  if (is_null (root))
    return 0;
  if (root->type != NODE_MAP)
    {
      char *g = got (root);

      fail_at (cx, err, IW_EPOLICY, root->line, NULL,
               "expected a mapping of settings at the top level, got %s", g);
      free (g);
      return -1;
    }
  if (check_keys (cx, root, "", err) < 0)
    return -1;
  for (i = 0; i < root->n; i += 2)
    {
      const node *k = root->items[i], *v = root->items[i + 1];
      int ret;

      if (strcmp (k->value, "trustedRegistries") == 0)
        {
          strv_free (c->trusted);
          c->trusted = NULL;
          ret = parse_patterns (&c->trusted, cx, v, "trustedRegistries", err);
          c->has_trusted = ret == 0;
        }
      else if (strcmp (k->value, "movingTags") == 0)
        {
          strv_free (c->moving_tags);
          c->moving_tags = NULL;
          ret = parse_moving_tags (c, cx, v, err);
        }
      else if (strcmp (k->value, "registries") == 0)
        ret = parse_registries (c, cx, v, err);
      else if (strcmp (k->value, "mirrors") == 0)
        ret = parse_mirrors (c, cx, v, err);
      else if (strcmp (k->value, "severity") == 0)
        ret = parse_severity (c, cx, v, err);
      else if (strcmp (k->value, "exemptions") == 0)
        ret = parse_exemptions (c, cx, v, err);
      else if (strcmp (k->value, "admission") == 0)
        ret = parse_admission (c, cx, v, err);
      else
        ret = unknown_key (cx, k, "", top_keys, err);
      if (ret < 0)
        return -1;
    }
  return 0;
}

/* The value of key in a mapping, or NULL. */
static const node *
map_get (const node *map, const char *key)
{
  size_t i;

  for (i = 0; i + 1 < map->n; i += 2)
    if (map->items[i]->type == NODE_SCALAR && strcmp (map->items[i]->value, key) == 0)
      return map->items[i + 1];
  return NULL;
}

static int parse_text (iw_config *c, const char *text, size_t len, const ctx *cx, bool allow_configmap,
                       iw_error **err);

/* A ConfigMap: parse its data."config.yaml", or its only data key. */
static int
parse_configmap (iw_config *c, const ctx *cx, const node *root, iw_error **err)
{
  const node *data, *key = NULL, *value = NULL;
  char *name, *note, *kp;
  ctx inner;
  int ret;

  if (check_keys (cx, root, "", err) < 0)
    return -1;
  data = map_get (root, "data");
  if (data == NULL)
    return fail_at (cx, err, IW_EPOLICY, root->line, NULL,
                    "ConfigMap has no data; put the config under data.\"config.yaml\"");
  if (expect_type (cx, data, NODE_MAP, "data", err) < 0 || check_keys (cx, data, "data", err) < 0)
    return -1;
  if (map_get (data, "config.yaml") != NULL)
    {
      size_t i;

      for (i = 0; i < data->n; i += 2)
        if (strcmp (data->items[i]->value, "config.yaml") == 0)
          {
            key = data->items[i];
            value = data->items[i + 1];
          }
    }
  else if (data->n == 2)
    {
      key = data->items[0];
      value = data->items[1];
    }
  else
    return fail_at (cx, err, IW_EPOLICY, data->line, "data",
                    "ConfigMap has %zu data keys and none is \"config.yaml\"", data->n / 2);
  kp = key_path ("data", key->value);
  if (expect_type (cx, value, NODE_SCALAR, kp, err) < 0)
    {
      free (kp);
      return -1;
    }
  name = iw_xasprintf ("%s: %s", cx->name, kp);
  /* A block scalar's text starts on the line after its "|" or ">". */
  note = iw_xasprintf (" (line numbers are relative to the %s string, which starts at %s:%zu)", kp, cx->name,
                       value->line + (value->block ? 1 : 0));
  free (kp);
  inner = (ctx){ name, note };
  ret = parse_text (c, value->value, strlen (value->value), &inner, false, err);
  free (name);
  free (note);
  return ret;
}

static int
parse_text (iw_config *c, const char *text, size_t len, const ctx *cx, bool allow_configmap, iw_error **err)
{
  node *root = NULL;
  const node *kind;
  int ret;

  if (load_tree (&root, cx, text, len, err) < 0)
    return -1;
  if (allow_configmap && root != NULL && root->type == NODE_MAP && (kind = map_get (root, "kind")) != NULL)
    {
      if (kind->type == NODE_SCALAR && strcmp (kind->value, "ConfigMap") == 0)
        ret = parse_configmap (c, cx, root, err);
      else
        {
          char *g = got (kind);

          ret = fail_at (cx, err, IW_EPOLICY, kind->line, "kind",
                         "expected ConfigMap (or a plain imgwatch config without kind), got %s", g);
          free (g);
        }
    }
  else
    ret = parse_config (c, cx, root, err);
  node_free (root);
  return ret;
}

/* ---- Public entry points ---- */

iw_config *
iw_config_new_default (void)
{
  iw_config *c = iw_xcalloc (1, sizeof *c);

  c->trusted = iw_xcalloc (1, sizeof *c->trusted);
  c->moving_tags = strv_dup (default_moving_tags);
  c->admission.deny_untrusted = true;
  c->admission.deny_moving_tags = true;
  c->admission.mutate = true;
  return c;
}

void
iw_config_free (iw_config *c)
{
  size_t i;

  if (c == NULL)
    return;
  free (c->path);
  strv_free (c->trusted);
  strv_free (c->moving_tags);
  for (i = 0; i < c->n_registries; i++)
    {
      free (c->registries[i].host);
      free (c->registries[i].ca);
      free (c->registries[i].username);
      free (c->registries[i].password_file);
    }
  free (c->registries);
  for (i = 0; i < c->n_mirrors; i++)
    {
      free (c->mirrors[i].registry);
      strv_free (c->mirrors[i].mirrors);
    }
  free (c->mirrors);
  for (i = 0; i < c->n_severity; i++)
    {
      free (c->severity[i].check);
      free (c->severity[i].severity);
    }
  free (c->severity);
  for (i = 0; i < c->n_exemptions; i++)
    {
      free (c->exemptions[i].namespace_);
      free (c->exemptions[i].image);
      strv_free (c->exemptions[i].checks);
    }
  free (c->exemptions);
  free (c);
}

int
iw_config_parse (iw_config **out, const char *text, size_t len, const char *name, iw_error **err)
{
  iw_config *c = NULL;
  ctx cx = { name ? name : "config", "" };
  int ret = -1;

  *out = NULL;
  if (len > CONFIG_MAX)
    return iw_error_set (err, IW_ETOOBIG, "%s: larger than %zu bytes", cx.name, (size_t)CONFIG_MAX);
  c = iw_config_new_default ();
  c->path = iw_xstrdup (cx.name);
  if (parse_text (c, text, len, &cx, true, err) < 0)
    goto done;
  *out = iw_steal (&c);
  ret = 0;
done:
  iw_config_free (c);
  return ret;
}

int
iw_config_load (iw_config **out, const char *path, iw_error **err)
{
  iw_buf b = IW_BUF_INIT (CONFIG_MAX);
  const char *name = strcmp (path, "-") == 0 ? "<stdin>" : path;
  FILE *f = NULL;
  char chunk[16384];
  size_t n;
  int ret = -1;

  *out = NULL;
  f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
  if (f == NULL)
    return iw_error_set (err, IW_EIO, "open %s: %s", path, strerror (errno));
  while ((n = fread (chunk, 1, sizeof chunk, f)) > 0)
    if (iw_buf_append (&b, chunk, n, err) < 0)
      {
        iw_error_set (err, IW_ETOOBIG, "%s: larger than %zu bytes", name, (size_t)CONFIG_MAX);
        goto done;
      }
  if (ferror (f))
    {
      iw_error_set (err, IW_EIO, "read %s: %s", name, strerror (errno));
      goto done;
    }
  ret = iw_config_parse (out, iw_buf_cstr (&b), b.len, name, err);
done:
  if (f != NULL && f != stdin)
    fclose (f);
  iw_buf_free (&b);
  return ret;
}
