/*
 * fuzz_config.c - feed arbitrary bytes to the config parser, and exercise
 * the lookups on whatever config it accepts.
 */
#include "config/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  iw_config *c = NULL;
  iw_error *err = NULL;
  size_t i;

  if (iw_config_parse (&c, (const char *)data, size, "fuzz.yaml", &err) < 0)
    {
      /* Every failure explains itself. */
      if (iw_error_msg (err)[0] == '\0')
        __builtin_trap ();
      iw_error_free (err);
      return 0;
    }
  (void)iw_config_is_trusted (c, "docker.io/library/nginx");
  (void)iw_config_is_trusted (c, "acme.jfrog.io:8443/team/app");
  (void)iw_config_is_moving_tag (c, "latest");
  (void)iw_config_registry (c, "registry-1.docker.io");
  (void)iw_config_mirrors (c, "docker.io");
  (void)iw_config_severity (c, "moving-tag");
  (void)iw_config_is_exempt (c, "kube-system", "docker.io/library/pause", "moving-tag");
  for (i = 0; c->trusted[i] != NULL; i++)
    {
      char *again = NULL;

      /* Stored patterns are normalized; normalizing again changes nothing. */
      if (iw_config_pattern_normalize (&again, c->trusted[i], NULL) < 0 || strcmp (again, c->trusted[i]) != 0)
        __builtin_trap ();
      free (again);
      (void)iw_config_pattern_match (c->trusted[i], c->trusted[i]);
    }
  iw_config_free (c);
  return 0;
}
