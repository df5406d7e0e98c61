/*
 * pin.c - locate the image fields of Kubernetes manifests in their text
 * and rewrite them in place (see pin.h).
 *
 * Each YAML document is read with libyaml's event parser into a small
 * node table (scalars, mappings, sequences, aliases, in document order,
 * linked first-child/next-sibling), which is then walked the way
 * Kubernetes reads the object: kind, then the pod spec's place for that
 * kind, then the three container lists.  A table and not a stream,
 * because `kind` may come after `spec` and aliases point backwards.
 *
 * libyaml counts marks in characters, not bytes, so mark indexes are
 * mapped to byte offsets through checkpoints every CHECKPOINT characters
 * (only when the text is not pure ASCII).  A scalar event's start mark
 * includes its anchor and tag; when a site has either, the scanner is run
 * once more to find the scalar token's own start.
 */
#include "kube/pin.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define NONE SIZE_MAX
#define CHECKPOINT 1024
#define MERGE_BUDGET 4096 /* mapping visits per key lookup through merge keys */
#define CONTEXT 3         /* diff context lines */

enum
{
  N_SCALAR,
  N_MAP,
  N_SEQ,
  N_ALIAS,
};

typedef struct node
{
  int type;
  int style;      /* yaml_scalar_style_t for scalars */
  bool flow;      /* scalar inside a flow collection */
  bool props;     /* scalar has an anchor or a tag */
  bool visited;   /* object or pod spec already walked */
  bool image_occ; /* this occurrence (scalar or alias) is an image value */
  bool site;      /* scalar: recorded as a site */
  size_t start;   /* character index of the event start */
  size_t end;     /* character index of the event end */
  size_t line;    /* 0-based, of the event start */
  size_t col;     /* 0-based */
  char *value;    /* scalar text (owned), alias and anchor names */
  char *anchor;   /* owned, or NULL */
  size_t first;   /* first child */
  size_t last;    /* last child, while building */
  size_t next;    /* next sibling */
  size_t target;  /* alias: the anchored node */
} node;

typedef struct anchor
{
  char *name; /* borrowed from the node */
  size_t node;
} anchor;

typedef struct locator
{
  const char *text;
  size_t len;
  const char *name;
  node *nodes;
  size_t n_nodes, cap_nodes;
  anchor *anchors;
  size_t n_anchors, cap_anchors;
  size_t *stack;
  size_t depth, cap_stack;
  int flow_depth;
  iw_pin_site *sites;
  size_t n_sites, cap_sites;
  bool need_scan; /* some site has an anchor or tag */
  size_t budget;
  /* Character index -> byte offset. */
  bool ascii;
  size_t skip; /* BOM bytes */
  size_t *cps;
  size_t n_cps;
} locator;

/* ---- character index -> byte offset ---------------------------------- */

static void
build_checkpoints (locator *l)
{
  size_t chars = 0, cap = 0;

  l->skip = 0;
  if (l->len >= 3 && memcmp (l->text, "\xef\xbb\xbf", 3) == 0)
    l->skip = 3;
  l->ascii = l->skip == 0;
  for (size_t i = 0; i < l->len && l->ascii; i++)
    if ((unsigned char)l->text[i] >= 0x80)
      l->ascii = false;
  if (l->ascii)
    return;
  for (size_t i = l->skip; i <= l->len; i++)
    {
      if (i < l->len && ((unsigned char)l->text[i] & 0xc0) == 0x80)
        continue;
      if (chars % CHECKPOINT == 0)
        {
          if (l->n_cps == cap)
            {
              cap = cap ? 2 * cap : 64;
              l->cps = iw_xreallocarray (l->cps, cap, sizeof *l->cps);
            }
          l->cps[l->n_cps++] = i;
        }
      chars++;
    }
}

static size_t
byte_offset (const locator *l, size_t ch)
{
  size_t k, i;

  if (l->ascii)
    return ch < l->len ? ch : l->len;
  k = ch / CHECKPOINT;
  if (k >= l->n_cps)
    return l->len;
  i = l->cps[k];
  for (size_t left = ch % CHECKPOINT; left > 0 && i < l->len; left--)
    {
      i++;
      while (i < l->len && ((unsigned char)l->text[i] & 0xc0) == 0x80)
        i++;
    }
  return i;
}

/* ---- node table ------------------------------------------------------- */

static size_t
add_node (locator *l, int type, const yaml_event_t *ev)
{
  node *n;
  size_t idx;

  if (l->n_nodes == l->cap_nodes)
    {
      l->cap_nodes = l->cap_nodes ? 2 * l->cap_nodes : 256;
      l->nodes = iw_xreallocarray (l->nodes, l->cap_nodes, sizeof *l->nodes);
    }
  idx = l->n_nodes++;
  n = &l->nodes[idx];
  memset (n, 0, sizeof *n);
  n->type = type;
  n->start = ev->start_mark.index;
  n->end = ev->end_mark.index;
  n->line = ev->start_mark.line;
  n->col = ev->start_mark.column;
  n->first = n->last = n->next = n->target = NONE;
  if (l->depth > 0)
    {
      node *parent = &l->nodes[l->stack[l->depth - 1]];

      if (parent->last == NONE)
        parent->first = idx;
      else
        l->nodes[parent->last].next = idx;
      parent->last = idx;
    }
  return idx;
}

static void
set_anchor (locator *l, size_t idx, yaml_char_t **anchor_text)
{
  if (*anchor_text == NULL)
    return;
  l->nodes[idx].anchor = (char *)iw_steal (anchor_text);
  for (size_t i = 0; i < l->n_anchors; i++)
    if (strcmp (l->anchors[i].name, l->nodes[idx].anchor) == 0)
      {
        l->anchors[i].name = l->nodes[idx].anchor;
        l->anchors[i].node = idx;
        return;
      }
  if (l->n_anchors == l->cap_anchors)
    {
      l->cap_anchors = l->cap_anchors ? 2 * l->cap_anchors : 16;
      l->anchors = iw_xreallocarray (l->anchors, l->cap_anchors, sizeof *l->anchors);
    }
  l->anchors[l->n_anchors].name = l->nodes[idx].anchor;
  l->anchors[l->n_anchors++].node = idx;
}

static void
push (locator *l, size_t idx)
{
  if (l->depth == l->cap_stack)
    {
      l->cap_stack = l->cap_stack ? 2 * l->cap_stack : 32;
      l->stack = iw_xreallocarray (l->stack, l->cap_stack, sizeof *l->stack);
    }
  l->stack[l->depth++] = idx;
}

static void
clear_doc (locator *l)
{
  for (size_t i = 0; i < l->n_nodes; i++)
    {
      free (l->nodes[i].value);
      free (l->nodes[i].anchor);
    }
  l->n_nodes = 0;
  l->n_anchors = 0;
  l->depth = 0;
  l->flow_depth = 0;
}

/* ---- the walk --------------------------------------------------------- */

static size_t
deref (const locator *l, size_t idx)
{
  if (idx != NONE && l->nodes[idx].type == N_ALIAS)
    return l->nodes[idx].target;
  return idx;
}

static int
lookup_in (size_t *out, locator *l, size_t map, const char *key, int depth, iw_error **err)
{
  map = deref (l, map);
  *out = NONE;
  if (map == NONE || l->nodes[map].type != N_MAP)
    return 0;
  if (l->budget-- == 0 || depth > 32)
    return iw_error_set (err, IW_EUNSUPPORTED, "%s:%zu:%zu: merge keys nest too deeply", l->name,
                         l->nodes[map].line + 1, l->nodes[map].col + 1);
  for (size_t k = l->nodes[map].first; k != NONE && l->nodes[k].next != NONE;
       k = l->nodes[l->nodes[k].next].next)
    {
      size_t kd = deref (l, k);

      if (l->nodes[kd].type == N_SCALAR && strcmp (l->nodes[kd].value, key) == 0)
        {
          *out = l->nodes[k].next;
          return 0;
        }
    }
  /* Merge keys: explicit keys win, then the merged mappings in order. */
  for (size_t k = l->nodes[map].first; k != NONE && l->nodes[k].next != NONE;
       k = l->nodes[l->nodes[k].next].next)
    {
      size_t kd = deref (l, k), v = deref (l, l->nodes[k].next);

      if (l->nodes[kd].type != N_SCALAR || strcmp (l->nodes[kd].value, "<<") != 0 || v == NONE)
        continue;
      if (l->nodes[v].type == N_MAP)
        {
          if (lookup_in (out, l, v, key, depth + 1, err) < 0)
            return -1;
          if (*out != NONE)
            return 0;
        }
      else if (l->nodes[v].type == N_SEQ)
        for (size_t m = l->nodes[v].first; m != NONE; m = l->nodes[m].next)
          {
            if (lookup_in (out, l, m, key, depth + 1, err) < 0)
              return -1;
            if (*out != NONE)
              return 0;
          }
    }
  return 0;
}

/* The value node of key in map (aliases followed), or NONE. */
static int
lookup (size_t *out, locator *l, size_t map, const char *key, iw_error **err)
{
  l->budget = MERGE_BUDGET;
  if (lookup_in (out, l, map, key, 0, err) < 0)
    return -1;
  return 0;
}

/* The scalar text of key in map, or NULL. */
static int
lookup_str (const char **out, locator *l, size_t map, const char *key, iw_error **err)
{
  size_t v;

  *out = NULL;
  if (lookup (&v, l, map, key, err) < 0)
    return -1;
  v = deref (l, v);
  if (v != NONE && l->nodes[v].type == N_SCALAR)
    *out = l->nodes[v].value;
  return 0;
}

static int
lookup_path (size_t *out, locator *l, size_t map, const char *const *keys, iw_error **err)
{
  *out = map;
  for (; *keys && *out != NONE; keys++)
    if (lookup (out, l, *out, *keys, err) < 0)
      return -1;
  return 0;
}

static int
add_site (locator *l, size_t occ, const char *where, iw_error **err)
{
  size_t idx = deref (l, occ);
  node *n = &l->nodes[idx];
  iw_pin_site *s;

  l->nodes[occ].image_occ = true;
  if (n->type != N_SCALAR)
    return iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: %s: image is not a string", l->name, n->line + 1,
                         n->col + 1, where);
  if (n->style == YAML_LITERAL_SCALAR_STYLE || n->style == YAML_FOLDED_SCALAR_STYLE)
    return iw_error_set (err, IW_EUNSUPPORTED,
                         "%s:%zu:%zu: %s: image is a block scalar (| or >); write it as a plain or "
                         "quoted string to pin it",
                         l->name, n->line + 1, n->col + 1, where);
  if (n->value[0] == '\0')
    return iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: %s: image is empty", l->name, n->line + 1, n->col + 1,
                         where);
  if (n->site)
    return 0;
  n->site = true;
  if (n->props)
    l->need_scan = true;
  if (l->n_sites == l->cap_sites)
    {
      l->cap_sites = l->cap_sites ? 2 * l->cap_sites : 16;
      l->sites = iw_xreallocarray (l->sites, l->cap_sites, sizeof *l->sites);
    }
  s = &l->sites[l->n_sites];
  memset (s, 0, sizeof *s);
  s->start = n->start; /* characters for now; bytes after fix_offsets () */
  s->end = n->end;
  s->line = n->line + 1;
  s->col = n->col + 1;
  s->style = n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE   ? IW_PIN_SINGLE_QUOTED
             : n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ? IW_PIN_DOUBLE_QUOTED
                                                           : IW_PIN_PLAIN;
  s->flow = n->flow;
  s->value = iw_xstrdup (n->value);
  s->where = iw_xstrdup (where);
  l->n_sites++;
  return 0;
}

static int
walk_pod_spec (locator *l, size_t spec, const char *owner, iw_error **err)
{
  static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
  static const char *const names[] = { "container", "init container", "ephemeral container" };

  spec = deref (l, spec);
  if (spec == NONE || l->nodes[spec].type != N_MAP || l->nodes[spec].visited)
    return 0;
  l->nodes[spec].visited = true;
  for (size_t i = 0; i < 3; i++)
    {
      size_t seq;

      if (lookup (&seq, l, spec, lists[i], err) < 0)
        return -1;
      seq = deref (l, seq);
      if (seq == NONE || l->nodes[seq].type != N_SEQ)
        continue;
      for (size_t c = l->nodes[seq].first; c != NONE; c = l->nodes[c].next)
        {
          const char *cname;
          size_t img;
          char *where;
          int rc;

          if (lookup (&img, l, c, "image", err) < 0 || lookup_str (&cname, l, c, "name", err) < 0)
            return -1;
          if (img == NONE)
            continue;
          where = iw_xasprintf ("%s %s %s", owner, names[i], cname ? cname : "(unnamed)");
          rc = add_site (l, img, where, err);
          free (where);
          if (rc < 0)
            return -1;
        }
    }
  return 0;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);

  return a >= b && strcmp (s + a - b, suffix) == 0;
}

static int
walk_object (locator *l, size_t obj, int depth, iw_error **err)
{
  static const char *const template_spec[] = { "spec", "template", "spec", NULL };
  static const char *const cron_spec[] = { "spec", "jobTemplate", "spec", "template", "spec", NULL };
  static const char *const pod_template_spec[] = { "template", "spec", NULL };
  static const char *const pod_spec[] = { "spec", NULL };
  static const char *const workloads[]
      = { "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", NULL };
  const char *const *path = NULL;
  const char *kind, *name = NULL;
  size_t meta, spec;
  char *owner;
  int rc;

  obj = deref (l, obj);
  if (obj == NONE || l->nodes[obj].type != N_MAP || l->nodes[obj].visited)
    return 0;
  l->nodes[obj].visited = true;
  if (lookup_str (&kind, l, obj, "kind", err) < 0)
    return -1;
  if (kind == NULL)
    return 0;
  if (ends_with (kind, "List"))
    {
      size_t items;

      if (depth > 64)
        return iw_error_set (err, IW_EUNSUPPORTED, "%s:%zu:%zu: Lists nest too deeply", l->name,
                             l->nodes[obj].line + 1, l->nodes[obj].col + 1);
      if (lookup (&items, l, obj, "items", err) < 0)
        return -1;
      items = deref (l, items);
      if (items == NONE || l->nodes[items].type != N_SEQ)
        return 0;
      for (size_t i = l->nodes[items].first; i != NONE; i = l->nodes[i].next)
        if (walk_object (l, i, depth + 1, err) < 0)
          return -1;
      return 0;
    }
  if (strcmp (kind, "Pod") == 0)
    path = pod_spec;
  else if (strcmp (kind, "CronJob") == 0)
    path = cron_spec;
  else if (strcmp (kind, "PodTemplate") == 0)
    path = pod_template_spec;
  else
    for (size_t i = 0; workloads[i]; i++)
      if (strcmp (kind, workloads[i]) == 0)
        path = template_spec;
  if (path == NULL)
    return 0;
  if (lookup (&meta, l, obj, "metadata", err) < 0 || lookup_str (&name, l, meta, "name", err) < 0
      || lookup_path (&spec, l, obj, path, err) < 0)
    return -1;
  owner = iw_xasprintf ("%s/%s", kind, name ? name : "(unnamed)");
  rc = walk_pod_spec (l, spec, owner, err);
  free (owner);
  return rc;
}

/* An anchored image scalar may only be used as an image: pinning it
 * rewrites every alias of it. */
static int
check_shared_anchors (locator *l, iw_error **err)
{
  for (size_t i = 0; i < l->n_nodes; i++)
    {
      const node *n = &l->nodes[i];
      const node *t;

      if (n->type == N_ALIAS && n->target != NONE && l->nodes[n->target].site && !n->image_occ)
        t = &l->nodes[n->target];
      else if (n->type == N_SCALAR && n->site && !n->image_occ)
        t = n;
      else
        continue;
      return iw_error_set (err, IW_EPARSE,
                           "%s:%zu:%zu: the image anchor &%s is also used outside image fields "
                           "(line %zu); pinning it would change that use too",
                           l->name, t->line + 1, t->col + 1, t->anchor ? t->anchor : "", n->line + 1);
    }
  return 0;
}

static int
end_document (locator *l, size_t root, iw_error **err)
{
  if (root != NONE && walk_object (l, root, 0, err) < 0)
    return -1;
  if (check_shared_anchors (l, err) < 0)
    return -1;
  clear_doc (l);
  return 0;
}

static int
yaml_failed (const locator *l, const yaml_parser_t *p, iw_error **err)
{
  if (p->error == YAML_MEMORY_ERROR)
    return iw_error_set (err, IW_ENOMEM, "%s: out of memory parsing YAML", l->name);
  return iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: invalid YAML: %s%s%s", l->name, p->problem_mark.line + 1,
                       p->problem_mark.column + 1, p->problem ? p->problem : "parse error",
                       p->context ? " " : "", p->context ? p->context : "");
}

static int
parse_events (locator *l, iw_error **err)
{
  yaml_parser_t p;
  yaml_event_t ev;
  size_t root = NONE;
  int ret = -1;

  if (!yaml_parser_initialize (&p))
    return iw_error_set (err, IW_ENOMEM, "%s: cannot start the YAML parser", l->name);
  yaml_parser_set_input_string (&p, (const unsigned char *)l->text, l->len);
  for (;;)
    {
      size_t idx;
      int type;

      if (!yaml_parser_parse (&p, &ev))
        {
          yaml_failed (l, &p, err);
          goto done;
        }
      type = ev.type;
      switch (ev.type)
        {
        case YAML_DOCUMENT_START_EVENT:
          root = NONE;
          break;
        case YAML_DOCUMENT_END_EVENT:
          if (end_document (l, root, err) < 0)
            {
              yaml_event_delete (&ev);
              goto done;
            }
          break;
        case YAML_SCALAR_EVENT:
          idx = add_node (l, N_SCALAR, &ev);
          l->nodes[idx].style = ev.data.scalar.style;
          l->nodes[idx].flow = l->flow_depth > 0;
          l->nodes[idx].props = ev.data.scalar.anchor != NULL || ev.data.scalar.tag != NULL;
          l->nodes[idx].value = (char *)iw_steal (&ev.data.scalar.value);
          set_anchor (l, idx, &ev.data.scalar.anchor);
          if (root == NONE)
            root = idx;
          break;
        case YAML_ALIAS_EVENT:
          idx = add_node (l, N_ALIAS, &ev);
          for (size_t i = 0; i < l->n_anchors; i++)
            if (strcmp (l->anchors[i].name, (const char *)ev.data.alias.anchor) == 0)
              l->nodes[idx].target = l->anchors[i].node;
          if (l->nodes[idx].target == NONE)
            {
              /* libyaml does not check this; YAML does. */
              iw_error_set (err, IW_EPARSE, "%s:%zu:%zu: invalid YAML: undefined alias *%s", l->name,
                            ev.start_mark.line + 1, ev.start_mark.column + 1, ev.data.alias.anchor);
              yaml_event_delete (&ev);
              goto done;
            }
          if (root == NONE)
            root = idx;
          break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
          {
            bool is_map = ev.type == YAML_MAPPING_START_EVENT;
            bool flow = is_map ? ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                               : ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;

            idx = add_node (l, is_map ? N_MAP : N_SEQ, &ev);
            set_anchor (l, idx, is_map ? &ev.data.mapping_start.anchor : &ev.data.sequence_start.anchor);
            if (root == NONE)
              root = idx;
            push (l, idx);
            /* Flow collections nest only flow collections. */
            if (flow || l->flow_depth > 0)
              l->flow_depth++;
            break;
          }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
          if (l->depth > 0)
            l->depth--;
          if (l->flow_depth > 0)
            l->flow_depth--;
          break;
        default:
          break;
        }
      yaml_event_delete (&ev);
      if (type == YAML_STREAM_END_EVENT)
        break;
    }
  ret = 0;
done:
  yaml_parser_delete (&p);
  return ret;
}

typedef struct end_index
{
  size_t end, site;
} end_index;

static int
cmp_end (const void *a, const void *b)
{
  const end_index *x = a, *y = b;

  return x->end < y->end ? -1 : x->end > y->end;
}

/* Find the scalar tokens' own starts for sites whose event start mark
 * includes an anchor or a tag. */
static int
scan_token_starts (locator *l, iw_error **err)
{
  yaml_parser_t p;
  yaml_token_t tok;
  size_t next = 0;
  int ret = -1;
  end_index *order = iw_xcalloc (l->n_sites ? l->n_sites : 1, sizeof *order);

  for (size_t i = 0; i < l->n_sites; i++)
    {
      order[i].end = l->sites[i].end;
      order[i].site = i;
    }
  qsort (order, l->n_sites, sizeof *order, cmp_end);
  if (!yaml_parser_initialize (&p))
    {
      free (order);
      return iw_error_set (err, IW_ENOMEM, "%s: cannot start the YAML scanner", l->name);
    }
  yaml_parser_set_input_string (&p, (const unsigned char *)l->text, l->len);
  while (next < l->n_sites)
    {
      int type;

      if (!yaml_parser_scan (&p, &tok))
        {
          yaml_failed (l, &p, err);
          goto done;
        }
      type = tok.type;
      if (type == YAML_SCALAR_TOKEN)
        while (next < l->n_sites && order[next].end == tok.end_mark.index)
          {
            iw_pin_site *site = &l->sites[order[next++].site];

            site->start = tok.start_mark.index;
            site->line = tok.start_mark.line + 1;
            site->col = tok.start_mark.column + 1;
          }
      yaml_token_delete (&tok);
      if (type == YAML_STREAM_END_TOKEN)
        break;
    }
  if (next < l->n_sites)
    {
      iw_error_set (err, IW_EPARSE, "%s: cannot find the scalar token of an image", l->name);
      goto done;
    }
  ret = 0;
done:
  yaml_parser_delete (&p);
  free (order);
  return ret;
}

static int
cmp_sites (const void *a, const void *b)
{
  const iw_pin_site *x = a, *y = b;

  return x->start < y->start ? -1 : x->start > y->start;
}

int
iw_pin_locate (iw_pin_site **out, size_t *n_out, const char *text, size_t len, const char *name,
               iw_error **err)
{
  locator l = { 0 };
  int ret = -1;

  *out = NULL;
  *n_out = 0;
  l.text = text;
  l.len = len;
  l.name = name ? name : "<input>";
  if (len > IW_PIN_MAX)
    return iw_error_set (err, IW_ETOOBIG, "%s: larger than %d MiB", l.name, IW_PIN_MAX / (1024 * 1024));
  if (len >= 2 && ((text[0] == '\xfe' && text[1] == '\xff') || (text[0] == '\xff' && text[1] == '\xfe')))
    return iw_error_set (err, IW_EUNSUPPORTED, "%s: UTF-16 input is not supported; convert it to UTF-8",
                         l.name);
  if (parse_events (&l, err) < 0)
    goto done;
  if (l.need_scan && scan_token_starts (&l, err) < 0)
    goto done;
  build_checkpoints (&l);
  for (size_t i = 0; i < l.n_sites; i++)
    {
      l.sites[i].start = byte_offset (&l, l.sites[i].start);
      l.sites[i].end = byte_offset (&l, l.sites[i].end);
    }
  if (l.n_sites > 1)
    qsort (l.sites, l.n_sites, sizeof *l.sites, cmp_sites);
  *out = iw_steal (&l.sites);
  *n_out = l.n_sites;
  l.n_sites = 0;
  ret = 0;
done:
  clear_doc (&l);
  iw_pin_sites_free (l.sites, l.n_sites);
  free (l.nodes);
  free (l.anchors);
  free (l.stack);
  free (l.cps);
  return ret;
}

void
iw_pin_sites_free (iw_pin_site *sites, size_t n)
{
  if (sites == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    {
      free (sites[i].value);
      free (sites[i].where);
    }
  free (sites);
}

char *
iw_pin_pinned (const char *image, const char *digest)
{
  return iw_xasprintf ("%s@%s", image, digest);
}

/* ---- rewriting -------------------------------------------------------- */

/* A value that reads back as the same string when written plain: safe
 * characters only, and a '@' or '/' so that YAML 1.1 never takes it for
 * a number, a boolean or null. */
static bool
plain_safe (const char *v)
{
  if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= '0' && v[0] <= '9')))
    return false;
  for (const char *p = v; *p; p++)
    if (!strchr ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/@:-", *p))
      return false;
  return v[strlen (v) - 1] != ':' && (strchr (v, '@') || strchr (v, '/'));
}

/* The code point YAML does not allow raw at p (C0 and C1 controls, DEL,
 * U+FFFE, U+FFFF), with its length in *n; -1 when p may stay as is. */
static long
unprintable (const unsigned char *p, size_t *n)
{
  *n = 1;
  if (*p < 0x20 || *p == 0x7f)
    return *p;
  if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
    {
      *n = 2;
      return p[1];
    }
  if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
    {
      *n = 3;
      return 0xffc0 | (p[2] & 0x3f);
    }
  return -1;
}

static void
append_double_quoted (iw_buf *b, const char *v)
{
  iw_buf_appendc (b, '"', NULL);
  for (const unsigned char *p = (const unsigned char *)v; *p;)
    {
      size_t n;
      long cp = unprintable (p, &n);

      if (cp >= 0)
        iw_buf_printf (b, NULL, "\\u%04lx", (unsigned long)cp);
      else if (*p == '"' || *p == '\\')
        iw_buf_printf (b, NULL, "\\%c", *p);
      else
        iw_buf_appendc (b, (char)*p, NULL);
      p += n;
    }
  iw_buf_appendc (b, '"', NULL);
}

/* The text that replaces a site's token for value v.  prev is the byte
 * before the token: a plain scalar may follow an anchor or tag with no
 * blank between ("&a:x"), and a quote may not, so one is added. */
static void
encode (iw_buf *b, const iw_pin_site *s, const char *v, char prev)
{
  bool ctl = false;

  if (s->style == IW_PIN_PLAIN
      && !(plain_safe (v) && !(s->flow && strchr (v, ':') && !strchr (s->value, ':'))) && prev != '\0'
      && !strchr (" \t\r\n[{,:", prev))
    iw_buf_appendc (b, ' ', NULL);

  for (const unsigned char *p = (const unsigned char *)v; *p;)
    {
      size_t n;

      if (unprintable (p, &n) >= 0)
        ctl = true;
      p += n;
    }
  switch (s->style)
    {
    case IW_PIN_PLAIN:
      if (plain_safe (v) && !(s->flow && strchr (v, ':') && !strchr (s->value, ':')))
        {
          iw_buf_appends (b, v, NULL);
          return;
        }
      break;
    case IW_PIN_SINGLE_QUOTED:
      if (ctl)
        break;
      iw_buf_appendc (b, '\'', NULL);
      for (const char *p = v; *p; p++)
        if (*p == '\'')
          iw_buf_appends (b, "''", NULL);
        else
          iw_buf_appendc (b, *p, NULL);
      iw_buf_appendc (b, '\'', NULL);
      return;
    case IW_PIN_DOUBLE_QUOTED:
      break;
    }
  append_double_quoted (b, v);
}

static bool
changes (const iw_pin_site *s, const char *v)
{
  return v != NULL && strcmp (v, s->value) != 0;
}

static int
check_sites (const char *text, size_t len, const iw_pin_site *sites, size_t n, iw_error **err)
{
  for (size_t i = 0; i < n; i++)
    if (sites[i].start > sites[i].end || sites[i].end > len || (i > 0 && sites[i].start < sites[i - 1].end))
      return iw_error_set (err, IW_EINVAL, "image sites do not belong to this text");
  (void)text;
  return 0;
}

int
iw_pin_apply (char **out, size_t *out_len, const char *text, size_t len, const char *name,
              const iw_pin_site *sites, const char *const *values, size_t n, iw_error **err)
{
  iw_buf b = IW_BUF_INIT (SIZE_MAX);
  iw_pin_site *again = NULL;
  size_t n_again = 0, pos = 0;
  int ret = -1;

  *out = NULL;
  *out_len = 0;
  if (check_sites (text, len, sites, n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (!changes (&sites[i], values[i]))
        continue;
      iw_buf_append (&b, text + pos, sites[i].start - pos, NULL);
      encode (&b, &sites[i], values[i], sites[i].start > 0 ? text[sites[i].start - 1] : '\0');
      pos = sites[i].end;
    }
  iw_buf_append (&b, text + pos, len - pos, NULL);
  /* Parse the result back: same sites, new values. */
  if (iw_pin_locate (&again, &n_again, b.data ? b.data : "", b.len, name, err) < 0)
    {
      char *why = iw_xstrdup (iw_error_msg (*err));

      iw_error_set (err, IW_EINTEGRITY, "%s: the pinned text does not parse back: %s", name, why);
      free (why);
      goto done;
    }
  if (n_again != n)
    {
      iw_error_set (err, IW_EINTEGRITY, "%s: the pinned text has %zu images instead of %zu", name, n_again,
                    n);
      goto done;
    }
  for (size_t i = 0; i < n; i++)
    {
      const char *want = values[i] ? values[i] : sites[i].value;

      if (strcmp (again[i].value, want) != 0)
        {
          iw_error_set (err, IW_EINTEGRITY, "%s:%zu: the pinned image reads back as \"%s\", not \"%s\"", name,
                        again[i].line, again[i].value, want);
          goto done;
        }
    }
  *out_len = b.len;
  *out = iw_buf_take (&b);
  ret = 0;
done:
  iw_pin_sites_free (again, n_again);
  iw_buf_free (&b);
  return ret;
}

/* ---- diff ------------------------------------------------------------- */

typedef struct lines
{
  const char *text;
  size_t len;
  size_t *starts; /* starts[i] is where line i (0-based) begins; starts[n] = len */
  size_t n;
} lines;

static void
split_lines (lines *ls, const char *text, size_t len)
{
  size_t cap = 64;

  ls->text = text;
  ls->len = len;
  ls->starts = iw_xmalloc (cap * sizeof *ls->starts);
  ls->n = 0;
  for (size_t i = 0; i < len;)
    {
      const char *nl = memchr (text + i, '\n', len - i);

      if (ls->n + 2 > cap)
        {
          cap *= 2;
          ls->starts = iw_xreallocarray (ls->starts, cap, sizeof *ls->starts);
        }
      ls->starts[ls->n++] = i;
      i = nl ? (size_t)(nl - text) + 1 : len;
    }
  ls->starts[ls->n] = len;
}

/* The 0-based line that holds byte offset off. */
static size_t
line_of (const lines *ls, size_t off)
{
  size_t lo = 0, hi = ls->n;

  while (hi - lo > 1)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (ls->starts[mid] <= off)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

static void
emit_line (iw_buf *b, char mark, const char *p, size_t n)
{
  iw_buf_appendc (b, mark, NULL);
  iw_buf_append (b, p, n, NULL);
  if (n == 0 || p[n - 1] != '\n')
    iw_buf_appends (b, "\n\\ No newline at end of file\n", NULL);
}

static void
emit_lines (iw_buf *b, char mark, const char *p, size_t n)
{
  while (n > 0)
    {
      const char *nl = memchr (p, '\n', n);
      size_t k = nl ? (size_t)(nl - p) + 1 : n;

      emit_line (b, mark, p, k);
      p += k;
      n -= k;
    }
}

static size_t
count_lines (const char *p, size_t n)
{
  size_t c = 0;

  for (size_t i = 0; i < n; i++)
    if (p[i] == '\n')
      c++;
  return c + (n > 0 && p[n - 1] != '\n');
}

typedef struct cluster
{
  size_t a, b;     /* old lines a..b (0-based, inclusive) */
  size_t first, k; /* sites first .. k-1 */
  iw_buf repl;     /* the new text of lines a..b */
} cluster;

static void
append_range (iw_buf *h, const lines *ls, size_t from, size_t to)
{
  for (size_t i = from; i < to; i++)
    emit_line (h, ' ', ls->text + ls->starts[i], ls->starts[i + 1] - ls->starts[i]);
}

static void
range_header (iw_buf *b, char sign, size_t start, size_t count)
{
  if (count == 1)
    iw_buf_printf (b, NULL, "%c%zu", sign, start);
  else
    iw_buf_printf (b, NULL, "%c%zu,%zu", sign, count ? start : start - 1, count);
}

int
iw_pin_diff (char **out, const char *text, size_t len, const char *name, const iw_pin_site *sites,
             const char *const *values, size_t n, iw_error **err)
{
  iw_buf b = IW_BUF_INIT (SIZE_MAX);
  lines ls = { 0 };
  cluster *cl = NULL;
  size_t ncl = 0;
  long delta = 0;

  *out = NULL;
  if (check_sites (text, len, sites, n, err) < 0)
    return -1;
  split_lines (&ls, text, len);
  cl = iw_xcalloc (n ? n : 1, sizeof *cl);
  for (size_t i = 0; i < n; i++)
    {
      size_t a, e;

      if (!changes (&sites[i], values[i]))
        continue;
      a = line_of (&ls, sites[i].start);
      e = line_of (&ls, sites[i].end > sites[i].start ? sites[i].end - 1 : sites[i].start);
      /* Changes on the same or adjacent lines make one block. */
      if (ncl > 0 && a <= cl[ncl - 1].b + 1)
        {
          if (e > cl[ncl - 1].b)
            cl[ncl - 1].b = e;
          cl[ncl - 1].k = i + 1;
          continue;
        }
      cl[ncl].a = a;
      cl[ncl].b = e;
      cl[ncl].first = i;
      cl[ncl].k = i + 1;
      ncl++;
    }
  for (size_t c = 0; c < ncl; c++)
    {
      size_t pos = ls.starts[cl[c].a];

      iw_buf_init (&cl[c].repl, SIZE_MAX);
      for (size_t i = cl[c].first; i < cl[c].k; i++)
        {
          if (!changes (&sites[i], values[i]))
            continue;
          iw_buf_append (&cl[c].repl, text + pos, sites[i].start - pos, NULL);
          encode (&cl[c].repl, &sites[i], values[i], sites[i].start > 0 ? text[sites[i].start - 1] : '\0');
          pos = sites[i].end;
        }
      iw_buf_append (&cl[c].repl, text + pos, ls.starts[cl[c].b + 1] - pos, NULL);
    }
  if (ncl > 0)
    iw_buf_printf (&b, NULL, "--- a/%s\n+++ b/%s\n", name, name);
  for (size_t c = 0; c < ncl;)
    {
      size_t d = c, from, to, old_count = 0, new_count = 0;
      iw_buf h = IW_BUF_INIT (SIZE_MAX);
      long hunk_delta = 0;

      while (d + 1 < ncl && cl[d + 1].a <= cl[d].b + 2 * CONTEXT + 1)
        d++;
      from = cl[c].a > CONTEXT ? cl[c].a - CONTEXT : 0;
      to = cl[d].b + 1 + CONTEXT < ls.n ? cl[d].b + 1 + CONTEXT : ls.n;
      for (size_t i = c; i <= d; i++)
        {
          size_t new_lines = count_lines (cl[i].repl.data, cl[i].repl.len);

          append_range (&h, &ls, i == c ? from : cl[i - 1].b + 1, cl[i].a);
          emit_lines (&h, '-', text + ls.starts[cl[i].a], ls.starts[cl[i].b + 1] - ls.starts[cl[i].a]);
          emit_lines (&h, '+', cl[i].repl.data, cl[i].repl.len);
          hunk_delta += (long)new_lines - (long)(cl[i].b - cl[i].a + 1);
        }
      append_range (&h, &ls, cl[d].b + 1, to);
      old_count = to - from;
      new_count = (size_t)((long)old_count + hunk_delta);
      iw_buf_appends (&b, "@@ ", NULL);
      range_header (&b, '-', from + 1, old_count);
      iw_buf_appendc (&b, ' ', NULL);
      range_header (&b, '+', (size_t)((long)from + 1 + delta), new_count);
      iw_buf_appends (&b, " @@\n", NULL);
      iw_buf_append (&b, h.data, h.len, NULL);
      iw_buf_free (&h);
      delta += hunk_delta;
      c = d + 1;
    }
  for (size_t c = 0; c < ncl; c++)
    iw_buf_free (&cl[c].repl);
  free (cl);
  free (ls.starts);
  *out = iw_buf_take (&b);
  return 0;
}
