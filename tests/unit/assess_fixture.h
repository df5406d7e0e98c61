/*
 * assess_fixture.h - helpers the check, inventory and assessment unit
 * tests share: digests written as "%X" expand to "sha256:" + 64 x's,
 * records are made from a few fields, and findings are summarized as
 * "check:severity" lists that a table can spell out.
 */
#ifndef IW_TESTS_ASSESS_FIXTURE_H
#define IW_TESTS_ASSESS_FIXTURE_H

#include "check/check.h"
#include "inventory/inventory.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

/* Replace every "%X" (X in [0-9a-f]) by "sha256:" and 64 X. */
static inline char *
fx_expand (const char *s)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);

  if (s == NULL)
    return NULL;
  for (const char *p = s; *p; p++)
    {
      if (p[0] == '%' && p[1] && ((p[1] >= 'a' && p[1] <= 'f') || (p[1] >= '0' && p[1] <= '9')))
        {
          iw_buf_appends (&b, "sha256:", NULL);
          for (int i = 0; i < 64; i++)
            iw_buf_appendc (&b, p[1], NULL);
          p++;
        }
      else
        iw_buf_appendc (&b, *p, NULL);
    }
  return iw_buf_take (&b);
}

typedef struct fx_pod
{
  const char *ns;
  const char *kind;
  const char *name;
  const char *container;
  const char *image;    /* spec, with %X digests */
  const char *image_id; /* runtime imageID, with %X digests; NULL = not running */
  const char *policy;   /* "Always", "IfNotPresent", "Never", NULL = defaulted */
  const char *node;
  int init; /* 1: init container */
} fx_pod;

static inline void
fx_add (iw_inventory *inv, const fx_pod *p, int i)
{
  iw_record r;
  char *id = fx_expand (p->image_id);

  memset (&r, 0, sizeof r);
  r.source = iw_xstrdup ("file:test.json");
  r.namespace_ = iw_xstrdup0 (p->ns ? p->ns : "default");
  r.workload_kind = iw_xstrdup (p->kind ? p->kind : "Deployment");
  r.workload_name = iw_xstrdup (p->name ? p->name : "app");
  r.container = iw_xstrdup (p->container ? p->container : "app");
  r.container_type = p->init ? IW_CONTAINER_INIT : IW_CONTAINER_APP;
  r.pod = iw_xasprintf ("%s-%d", r.workload_name, i);
  r.node = iw_xstrdup (p->node ? p->node : "node-1");
  r.image = fx_expand (p->image);
  r.pull_policy = iw_pull_policy_parse (p->policy);
  r.pull_policy_defaulted = p->policy == NULL;
  if (r.pull_policy == IW_PULL_UNSET)
    r.pull_policy = iw_pull_policy_default (r.image);
  iw_image_id_parse (&r.image_id, id);
  free (id);
  iw_inventory_add (inv, &r);
  iw_record_clear (&r);
}

/* "check:severity;check:severity" in the findings' order; caller frees. */
static inline char *
fx_summary (const iw_findings *fs)
{
  iw_buf b = IW_BUF_INIT ((size_t)-1);

  for (size_t i = 0; i < fs->len; i++)
    iw_buf_printf (&b, NULL, "%s%s:%s", i ? ";" : "", iw_check_name (fs->items[i].check),
                   iw_severity_name (fs->items[i].severity));
  return iw_buf_take (&b);
}

static inline char **
fx_strv (const char *const *list)
{
  size_t n = 0;
  char **v;

  while (list[n])
    n++;
  if (n == 0)
    return NULL;
  v = iw_xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = fx_expand (list[i]);
  return v;
}

/* Replace the config's trustedRegistries with list (NULL-terminated). */
static inline void
fx_set_trusted (iw_config *cfg, const char *const *list)
{
  size_t n = 0;

  for (size_t i = 0; cfg->trusted && cfg->trusted[i]; i++)
    free (cfg->trusted[i]);
  free (cfg->trusted);
  while (list[n])
    n++;
  cfg->trusted = iw_xcalloc (n + 1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    cfg->trusted[i] = iw_xstrdup (list[i]);
  cfg->has_trusted = true;
}

#endif
