/*
 * fuzz_pullsecret.c - Kubernetes pull secrets (.dockerconfigjson and
 * legacy .dockercfg content) as the registry client receives them: the
 * parser, kubelet's key normalization, and adding them to a client.
 */
#include "registry/internal.h"
#include "registry/registry.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  iw_pull_auth *a = NULL;
  size_t n = 0, skipped = 0;
  iw_error *err = NULL;
  char *key = iw_xstrndup ((const char *)data, size < 512 ? size : 512), *h = NULL, *p = NULL;
  iw_registry *reg = NULL;

  iw_log_setup (IW_LOG_ERROR, IW_LOG_TEXT);
  if (iw_pull_auths_parse (&a, &n, &skipped, (const char *)data, size, &err) == 0)
    {
      for (size_t i = 0; i < n; i++)
        if (a[i].host == NULL || *a[i].host == '\0' || a[i].creds.username == NULL
            || a[i].creds.password == NULL)
          abort ();
      iw_pull_auths_free (a, n);
    }
  iw_error_clear (&err);
  /* Adding the same secret twice keeps the first credentials per host. */
  if (iw_registry_new (&reg, NULL, NULL, NULL) < 0)
    abort ();
  if (iw_registry_add_pull_secret (reg, "fuzz/secret", (const char *)data, size, &err) >= 0
      && iw_registry_add_pull_secret (reg, "fuzz/again", (const char *)data, size, &err) != 0)
    abort ();
  iw_error_clear (&err);
  iw_registry_free (reg);
  if (iw_pull_key_normalize (&h, &p, key, &err) == 0)
    {
      if (h == NULL || *h == '\0' || strchr (h, '/') != NULL)
        abort ();
      free (h);
      free (p);
    }
  iw_error_clear (&err);
  free (key);
  return 0;
}
