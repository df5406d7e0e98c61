/*
 * kube.c - listing pods from the Kubernetes API (being built: see client.c).
 */
#include "kube/kube.h"

int
iw_kube_list_pods (const iw_kube_options *opts, iw_record_fn fn, void *userdata, iw_kube_stats *stats_out,
                   iw_error **err)
{
  (void)opts;
  (void)fn;
  (void)userdata;
  (void)stats_out;
  return iw_error_set (err, IW_EUNSUPPORTED,
                       "listing from the Kubernetes API is not built yet; use --from-file");
}
