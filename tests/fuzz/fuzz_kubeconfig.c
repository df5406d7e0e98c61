/*
 * fuzz_kubeconfig.c - libFuzzer target for the kubeconfig loader.
 *
 * Loads the input as a kubeconfig document for its current context, then
 * for a context named "c".  It must either resolve (with a server URL, and
 * a key whenever there is a certificate) or fail with a message; never
 * crash or leak.
 */
#include "kube/kube.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (const uint8_t *data, size_t size, const char *context)
{
  iw_kubeconfig *kc = NULL;
  iw_error *err = NULL;

  if (iw_kubeconfig_parse (&kc, (const char *)data, size, "/fuzz/kubeconfig", context, &err) == 0)
    {
      if (kc == NULL || kc->server == NULL || err != NULL)
        abort ();
      if ((kc->client_cert_file || kc->client_cert_data) && !(kc->client_key_file || kc->client_key_data))
        abort ();
    }
  else if (err == NULL || iw_error_msg (err)[0] == '\0' || kc != NULL)
    abort ();
  iw_kubeconfig_free (kc);
  iw_error_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  check (data, size, NULL);
  check (data, size, "c");
  return 0;
}
