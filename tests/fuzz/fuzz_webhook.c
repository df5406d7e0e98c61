/*
 * fuzz_webhook.c - the registry webhook payload parsers.  The first byte
 * picks the provider ('d'istribution, 'h'arbor, 'a'rtifactory, docker hub
 * 'k', else by value), the rest is the body.  Every parsed event must name
 * a provider-prefixed id and give a reference only with a registry and tag.
 */
#include "server/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  iw_webhook_event *ev = NULL;
  iw_error *err = NULL;
  iw_webhook_provider p;
  size_t n = 0;

  if (size == 0)
    return 0;
  switch (data[0])
    {
    case 'd':
      p = IW_WEBHOOK_DISTRIBUTION;
      break;
    case 'h':
      p = IW_WEBHOOK_HARBOR;
      break;
    case 'a':
      p = IW_WEBHOOK_ARTIFACTORY;
      break;
    case 'k':
      p = IW_WEBHOOK_DOCKERHUB;
      break;
    default:
      p = (iw_webhook_provider)(data[0] % 4);
    }
  if (iw_webhook_parse (&ev, &n, p, (const char *)data + 1, size - 1, &err) < 0)
    {
      if (err == NULL || ev != NULL || n != 0)
        abort ();
      iw_error_free (err);
      return 0;
    }
  for (size_t i = 0; i < n; i++)
    {
      char *ref = iw_webhook_event_reference (&ev[i]);

      if (ev[i].id == NULL || strchr (ev[i].id, ':') == NULL)
        abort ();
      if (ref && (ev[i].registry == NULL || ev[i].tag == NULL))
        abort ();
      free (ref);
    }
  iw_webhook_events_free (ev, n);
  {
    int64_t t;

    /* The time parser on the same bytes, NUL-terminated. */
    char *s = strndup ((const char *)data + 1, size - 1 > 64 ? 64 : size - 1);

    if (s)
      {
        iw_webhook_parse_time (&t, s);
        free (s);
      }
  }
  return 0;
}
