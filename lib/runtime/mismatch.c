/*
 * mismatch.c - store-mismatch: local name -> digest against the registry's
 * tag -> digest, and the registry's knowledge of the local digest.
 */
#include "runtime/mismatch.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static char *
remediation (const iw_store_image *img)
{
  const char *ns = img->namespace_ ? img->namespace_ : "default";

  return iw_xasprintf ("ctr -n %s images rm %s && ctr -n %s images pull %s", ns, img->name, ns, img->name);
}

static void
add (iw_store_report *r, const iw_store_image *img, const char *check, const char *severity,
     const char *reason, const char *msg)
{
  char *rem = strcmp (check, "store-mismatch") == 0 ? remediation (img) : NULL;

  iw_store_report_add (r, check, severity, img->name, img->namespace_, img->digest, NULL, reason, msg, rem);
  free (rem);
}

int
iw_store_compare_registry (iw_store_report *report, iw_registry *reg, const iw_store_images *images,
                           iw_error **err)
{
  iw_ref **refs = iw_xcalloc (images->n + 1, sizeof *refs);
  size_t *which = iw_xcalloc (images->n + 1, sizeof *which);
  iw_resolution *res = NULL;
  iw_check *checks = NULL;
  iw_presence *pres = NULL;
  size_t n = 0;
  int ret = -1;

  for (size_t i = 0; i < images->n; i++)
    {
      iw_ref *r = NULL;
      iw_error *e = NULL;

      if (strncmp (images->v[i].name, "sha256:", 7) == 0 || iw_ref_parse (&r, images->v[i].name, &e) < 0)
        {
          iw_error_free (e);
          continue;
        }
      refs[n] = r;
      which[n++] = i;
    }
  if (n == 0)
    {
      ret = 0;
      goto done;
    }
  /* Tags first: a reference with a digest is checked by its digest. */
  if (iw_registry_resolve_many (&res, reg, (const iw_ref *const *)refs, n, 0, err) < 0)
    goto done;
  checks = iw_xcalloc (n, sizeof *checks);
  for (size_t k = 0; k < n; k++)
    {
      checks[k].repo = refs[k];
      checks[k].digest = images->v[which[k]].digest;
      checks[k].kind = IW_CHECK_MANIFEST;
    }
  if (iw_registry_check_many (&pres, reg, checks, n, err) < 0)
    goto done;
  for (size_t k = 0; k < n; k++)
    {
      const iw_store_image *img = &images->v[which[k]];
      const iw_resolution *rs = &res[k];
      const iw_presence *p = &pres[k];
      char *msg = NULL;

      if (rs->code == IW_OK && rs->digest && strcmp (rs->digest, img->digest) == 0)
        continue;
      if (p->state == IW_PRESENCE_ABSENT)
        {
          msg = iw_xasprintf ("image %s is %s locally, a digest the registry does not hold%s%s: built or "
                              "imported elsewhere under this name",
                              img->name, img->digest, rs->code == IW_OK ? "; the registry's tag is " : "",
                              rs->code == IW_OK ? rs->digest : "");
          add (report, img, "store-mismatch", "critical", "digest-absent", msg);
        }
      else if (rs->code == IW_OK && p->state == IW_PRESENCE_PRESENT)
        {
          msg = iw_xasprintf ("image %s is %s locally, but the registry's tag is now %s: the node keeps an "
                              "older image under this name",
                              img->name, img->digest, rs->digest);
          add (report, img, "store-mismatch", "critical", "tag-moved", msg);
        }
      else if (rs->code == IW_ENOTFOUND && p->state == IW_PRESENCE_PRESENT)
        continue; /* the tag is gone; the content is the registry's: assess reports tag-missing */
      else
        {
          const char *why = rs->code != IW_OK && rs->message ? rs->message
                            : p->message                     ? p->message
                                                             : "no answer";

          msg = iw_xasprintf ("image %s (%s) could not be compared with the registry: %s", img->name,
                              img->digest, why);
          add (report, img, "unverified", "medium", "registry", msg);
        }
      free (msg);
    }
  ret = 0;
done:
  for (size_t k = 0; k < n; k++)
    iw_ref_free (refs[k]);
  free (refs);
  free (which);
  free (checks);
  if (res)
    iw_resolutions_free (res, n);
  if (pres)
    iw_presences_free (pres, n);
  return ret;
}
