/*
 * cmd_assess.c - `imgwatch assess`: the Live Assessment.
 *
 * Reads what runs (the Kubernetes API, or --from-file), groups it by
 * reference (one registry request per distinct reference, however many
 * pods), asks the registry, runs the checks and prints the images sorted
 * by risk, as a table, imgwatch/v1 JSON or SARIF 2.1.0.
 *
 * Exit codes: 0 nothing at or above --fail-on (default high), 1 findings
 * at or above it, 2 usage, config or input error, 3 could not run
 * (cluster unreachable, registry client could not start, --timeout hit).
 */
#include "assess/assess.h"
#include "assess_output.h"
#include "cli.h"
#include "commands.h"
#include "config/config.h"
#include "kube/kube.h"
#include "registry/registry.h"
#include "runtime/containerd.h"
#include "runtime/docker.h"
#include "util/log.h"
#include "util/mem.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct progress_ctx
{
  bool on;
  bool shown;
  const char *what;
} progress_ctx;

static progress_ctx progress;

static void
clear_progress (void)
{
  if (progress.shown)
    {
      fputs ("\r\033[K", stderr);
      progress.shown = false;
    }
}

static void
on_kube_progress (const iw_kube_stats *s, void *userdata)
{
  (void)userdata;
  fprintf (stderr, "\r\033[Kimgwatch assess: reading pods: %zu pods, %zu containers", s->pods, s->records);
  progress.shown = true;
}

static void
on_registry_progress (void *data, size_t done, size_t total)
{
  int width = 30, filled = total ? (int)(done * (size_t)width / total) : width;

  (void)data;
  if (filled > width)
    filled = width;
  fprintf (stderr, "\r\033[Kimgwatch assess: %s [%.*s%*s] %zu/%zu", progress.what, filled,
           "##############################", width - filled, "", done, total);
  progress.shown = true;
}

static void
on_alarm (int sig)
{
  static const char msg[] = "\nimgwatch assess: --timeout reached before the assessment finished\n";

  (void)sig;
  if (write (STDERR_FILENO, msg, sizeof msg - 1) < 0)
    _exit (IW_EXIT_UNAVAILABLE);
  _exit (IW_EXIT_UNAVAILABLE);
}

typedef struct assess_opts
{
  iw_kube_options kube;
  const char *from_file;
  const char *containerd;
  const char *docker;
  const char *config;
  const char *output;
  const char *fail_on;
  const char *timeout;
  bool wide;
  bool lineage;
  bool offline;
} assess_opts;

/* --timeout: from one second to a week. */
static bool
valid_timeout (const char *s)
{
  long v = iw_cli_parse_duration (s);

  return v > 0 && v <= 7 * 86400;
}

static int
parse (assess_opts *o, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "kubeconfig", required_argument, NULL, 'k' },
    { "context", required_argument, NULL, 'c' },
    { "namespace", required_argument, NULL, 'n' },
    { "all-namespaces", no_argument, NULL, 'A' },
    { "selector", required_argument, NULL, 'l' },
    { "from-file", required_argument, NULL, 'f' },
    { "containerd", required_argument, NULL, 'D' },
    { "docker", required_argument, NULL, 'K' },
    { "config", required_argument, NULL, 'C' },
    { "output", required_argument, NULL, 'o' },
    { "fail-on", required_argument, NULL, 'F' },
    { "timeout", required_argument, NULL, 't' },
    { "wide", no_argument, NULL, 'w' },
    { "no-lineage", no_argument, NULL, 'L' },
    { "offline", no_argument, NULL, 'O' },
    { "use-pull-secrets", no_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int opt;

  optind = 1;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, ":n:Al:o:f:", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'k':
        o->kube.kubeconfig = optarg;
        break;
      case 'c':
        o->kube.context = optarg;
        break;
      case 'n':
        o->kube.namespace_ = optarg;
        break;
      case 'A':
        o->kube.all_namespaces = true;
        break;
      case 'l':
        o->kube.label_selector = optarg;
        break;
      case 'f':
        o->from_file = optarg;
        break;
      case 'D':
        o->containerd = optarg;
        break;
      case 'K':
        o->docker = optarg;
        break;
      case 'C':
        o->config = optarg;
        break;
      case 'o':
        o->output = optarg;
        break;
      case 'F':
        o->fail_on = optarg;
        break;
      case 't':
        o->timeout = optarg;
        break;
      case 'w':
        o->wide = true;
        break;
      case 'L':
        o->lineage = false;
        break;
      case 'O':
        o->offline = true;
        break;
      case 'P':
        o->kube.use_pull_secrets = true;
        break;
      case 'h':
        iw_cli_usage (&iw_cmd_assess, stdout);
        return 1;
      case ':':
        iw_cli_error ("assess", "%s needs a value", argv[optind - 1]);
        return -1;
      default:
        iw_cli_error ("assess", "unknown option \"%s\"", argv[optind - 1]);
        return -1;
      }
  if (optind < argc)
    {
      iw_cli_error ("assess", "unexpected argument \"%s\"", argv[optind]);
      return -1;
    }
  if (strcmp (o->output, "table") != 0 && strcmp (o->output, "json") != 0 && strcmp (o->output, "sarif") != 0)
    {
      iw_cli_error ("assess", "unknown output format \"%s\" (table, json, sarif)", o->output);
      return -1;
    }
  if (strcmp (o->fail_on, "none") != 0 && iw_severity_parse (o->fail_on) < 0)
    {
      iw_cli_error ("assess",
                    "unknown severity \"%s\" for --fail-on (critical, high, medium, low, info, none)",
                    o->fail_on);
      return -1;
    }
  if (o->timeout && !valid_timeout (o->timeout))
    {
      iw_cli_error ("assess",
                    "invalid --timeout \"%s\" (seconds, or a number with s, m, h or d; at most 7 days)",
                    o->timeout);
      return -1;
    }
  if (o->kube.use_pull_secrets && (o->from_file || o->docker || o->containerd || o->offline))
    {
      /* Secrets live in the cluster: a file, a node's runtime or an
         offline run has none to read. */
      iw_cli_error ("assess", "--use-pull-secrets needs the Kubernetes API source and the registry "
                              "(not with --from-file, --containerd, --docker or --offline)");
      return -1;
    }
  if (o->kube.all_namespaces && o->kube.namespace_)
    {
      iw_cli_error ("assess", "-n and -A are mutually exclusive");
      return -1;
    }
  return 0;
}

/* Hand a pod's pull secret to the registry client.  A secret that cannot
 * be parsed is a warning (its name, never its content): the images that
 * needed it are judged without it, unverified if the registry refuses. */
static int
on_pull_secret (const char *namespace_, const char *name, const char *dockerconfigjson, size_t len,
                void *userdata, iw_error **err)
{
  char *what = iw_xasprintf ("%s/%s", namespace_, name);
  iw_error *e = NULL;

  (void)err;
  if (iw_registry_add_pull_secret (userdata, what, dockerconfigjson, len, &e) < 0)
    iw_log_warn ("%s; ignored", iw_error_msg (e));
  iw_error_free (e);
  free (what);
  return 0;
}

static int
make_registry (iw_registry **out, const assess_opts *o, const iw_config *cfg, iw_error **err)
{
  iw_registry_options ro = IW_REGISTRY_OPTIONS_INIT;

  if (o->timeout)
    {
      /* A quarter of the whole deadline per request, so that a registry
         that hangs becomes an unverified finding (retries included)
         before the deadline ends the run. */
      long ms = iw_cli_parse_duration (o->timeout) * 1000 / 4;

      ro.request_timeout_ms = ms < 30000 ? ms : 30000;
      ro.connect_timeout_ms = ms < 10000 ? ms : 10000;
    }
  if (progress.on)
    {
      ro.progress = on_registry_progress;
      progress.what = "asking the registry";
    }
  return iw_registry_new (out, cfg, &ro, err);
}

static int
run (int argc, char **argv)
{
  assess_opts o = { .kube = IW_KUBE_OPTIONS_INIT, .output = "table", .fail_on = "high", .lineage = true };
  iw_config *cfg = NULL;
  iw_inventory *inv = NULL;
  iw_assessment *a = NULL;
  iw_registry *reg = NULL;
  iw_error *err = NULL;
  iw_check_ctx ctx;
  char *source = NULL;
  int rc, p;

  p = parse (&o, argc, argv);
  if (p != 0)
    return p > 0 ? IW_EXIT_OK : IW_EXIT_USAGE;
  progress.on = isatty (STDERR_FILENO);
  if (o.timeout)
    {
      long secs = iw_cli_parse_duration (o.timeout);

      signal (SIGALRM, on_alarm);
      alarm ((unsigned)secs);
    }
  if (o.config)
    {
      if (iw_config_load (&cfg, o.config, &err) < 0)
        {
          iw_cli_error ("assess", "%s", iw_error_msg (err));
          rc = IW_EXIT_USAGE;
          goto done;
        }
    }
  else
    cfg = iw_config_new_default ();
  ctx.config = cfg;

  inv = iw_inventory_new ();
  if (o.from_file)
    {
      source = iw_xasprintf ("file:%s", o.from_file);
      rc = iw_source_read_file_stats (o.from_file, iw_inventory_add_fn, inv, NULL,
                                      progress.on ? on_kube_progress : NULL, NULL, &err);
    }
  else if (o.docker)
    {
      source = iw_xasprintf ("docker:%s", o.docker);
      rc = iw_docker_list_containers (o.docker, iw_inventory_add_fn, inv, &err);
    }
  else if (o.containerd)
    {
      source = iw_xasprintf ("containerd:%s", o.containerd);
      rc = iw_containerd_list_containers (o.containerd, o.kube.namespace_, iw_inventory_add_fn, inv, &err);
    }
  else
    {
      o.kube.progress = progress.on ? on_kube_progress : NULL;
      if (o.kube.use_pull_secrets)
        {
          /* The registry client is made first, to receive the secrets. */
          if (make_registry (&reg, &o, cfg, &err) < 0)
            {
              iw_cli_error ("assess", "%s", iw_error_msg (err));
              rc = IW_EXIT_UNAVAILABLE;
              goto done;
            }
          o.kube.secret_fn = on_pull_secret;
          o.kube.secret_userdata = reg;
          o.kube.secrets_best_effort = true;
        }
      rc = iw_kube_list_pods (&o.kube, iw_inventory_add_fn, inv, NULL, &err);
    }
  clear_progress ();
  if (rc < 0)
    {
      /* A partial inventory is never assessed as if it were complete. */
      iw_cli_error ("assess", "%s", iw_error_msg (err));
      rc = iw_cli_exit_for_source_error (err);
      goto done;
    }
  iw_inventory_finish (inv);
  a = iw_assessment_new (iw_steal (&inv), source);

  if (!o.offline)
    {
      iw_registry_metrics m;

      if (reg == NULL && make_registry (&reg, &o, cfg, &err) < 0)
        {
          iw_cli_error ("assess", "%s", iw_error_msg (err));
          rc = IW_EXIT_UNAVAILABLE;
          goto done;
        }
      if (iw_assess_resolve (a, &ctx, reg, o.lineage, &err) < 0)
        {
          clear_progress ();
          iw_cli_error ("assess", "%s", iw_error_msg (err));
          rc = IW_EXIT_UNAVAILABLE;
          goto done;
        }
      clear_progress ();
      iw_registry_metrics_get (&m, reg);
      a->registry_requests = m.requests;
      iw_log_info ("assess: %zu distinct references, %llu registry requests", a->distinct_references,
                   (unsigned long long)m.requests);
    }
  a->offline = o.offline;
  iw_assess_evaluate (a, &ctx);

  if (strcmp (o.output, "json") == 0)
    rc = iw_output_json (stdout, a);
  else if (strcmp (o.output, "sarif") == 0)
    rc = iw_output_sarif (stdout, a, o.from_file && strcmp (o.from_file, "-") != 0 ? o.from_file : NULL);
  else
    {
      iw_table_options to = { .color = iw_cli_color (stdout), .wide = o.wide };

      rc = iw_output_table (stdout, a, &to);
    }
  if (rc < 0 || fflush (stdout) != 0)
    {
      iw_cli_error ("assess", "writing the output failed");
      rc = IW_EXIT_UNAVAILABLE;
      goto done;
    }
  if (strcmp (o.fail_on, "none") != 0 && iw_assessment_fails (a, (iw_severity)iw_severity_parse (o.fail_on)))
    rc = IW_EXIT_FINDINGS;
  else
    rc = IW_EXIT_OK;
done:
  if (o.timeout)
    alarm (0);
  iw_registry_free (reg);
  iw_assessment_free (a);
  iw_inventory_free (inv);
  iw_config_free (cfg);
  iw_error_free (err);
  free (source);
  return rc;
}

const iw_command iw_cmd_assess = {
  .name = "assess",
  .summary = "the Live Assessment: running images the registry cannot vouch for, by risk",
  .usage = "Usage: imgwatch assess [--kubeconfig F] [--context C] [-n NS | -A] [-l SELECTOR]\n"
           "                       [--from-file F|- | --containerd SOCK | --docker SOCK]\n"
           "                       [--config F] [-o table|json|sarif]\n"
           "                       [--fail-on SEVERITY] [--timeout DURATION] [--wide]\n"
           "                       [--no-lineage] [--offline] [--use-pull-secrets]\n"
           "\n"
           "Compare every running container with what its registry holds for its reference,\n"
           "apply the trust policy, and list the images with findings, riskiest first, each\n"
           "finding with a runnable fix.  See docs/assess.md.\n"
           "\n"
           "Options:\n"
           "  --kubeconfig F        kubeconfig file (default $KUBECONFIG, ~/.kube/config,\n"
           "                        then the in-cluster service account)\n"
           "  --context C           kubeconfig context (default: current-context)\n"
           "  -n, --namespace NS    namespace (default: the context's, else \"default\")\n"
           "  -A, --all-namespaces  every namespace\n"
           "  -l, --selector SEL    label selector, as kubectl -l\n"
           "  -f, --from-file F     read `kubectl get pods -A -o json` output or manifests\n"
           "                        (JSON or YAML) from F, or - for stdin, instead of a cluster\n"
           "  --containerd SOCK     assess the containers of a node's containerd instead\n"
           "                        (-n: one containerd namespace; default: all)\n"
           "  --docker SOCK         the containers of a Docker Engine (or podman service)\n"
           "  --config F            policy: trustedRegistries, movingTags, registries, ...\n"
           "  -o, --output FORMAT   table (default), json (imgwatch/v1) or sarif (2.1.0)\n"
           "  --fail-on SEVERITY    exit 1 when a finding is at least this severe:\n"
           "                        critical, high (default), medium, low, info, or none\n"
           "  --timeout DURATION    give up after this long (30, 30s, 2m, 1h): exit 3\n"
           "  --wide                table: whole digests and workload names\n"
           "  --no-lineage          do not read image labels (fewer registry requests)\n"
           "  --offline             do not ask any registry: only the checks that need none\n"
           "  --use-pull-secrets    read the pods' imagePullSecrets (needs get secrets) and use\n"
           "                        them to authenticate to the registries they name\n"
           "\n"
           "Exit status: 0 nothing at or above --fail-on, 1 findings at or above it,\n"
           "2 usage, config or input error, 3 could not run (cluster unreachable, timeout).\n",
  .run = run,
};
