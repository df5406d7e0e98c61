/*
 * test_kube_pods.c - the streaming object parser and the file source:
 * pod lists as the API pages them and kubectl prints them, owners, every
 * container type, manifests in YAML and JSON, and precise errors.
 */
#include "kube/kube.h"
#include "util/buf.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

/* Records collected as "ns|pod|Kind/name|container|type|image|policy|default|idkind|digest|node|state". */
typedef struct got
{
  char *lines[64];
  size_t n;
  int fail_after; /* stop with an error after this many records; 0 = never */
} got;

static int
collect (iw_record *r, void *userdata, iw_error **err)
{
  got *g = userdata;

  if (g->fail_after && (int)g->n == g->fail_after)
    {
      iw_record_free (r);
      return iw_error_set (err, IW_EIO, "consumer full");
    }
  assert_true (g->n < 64);
  g->lines[g->n++] = iw_xasprintf (
      "%s|%s|%s/%s|%s|%d|%s|%s|%d|%d|%s|%s|%s|%s", r->namespace_ ? r->namespace_ : "-", r->pod ? r->pod : "-",
      r->workload_kind, r->workload_name ? r->workload_name : "-", r->container ? r->container : "-",
      (int)r->container_type, r->image ? r->image : "-",
      iw_pull_policy_name (r->pull_policy) ? iw_pull_policy_name (r->pull_policy) : "-",
      (int)r->pull_policy_defaulted, (int)r->image_id.kind, r->image_id.digest ? r->image_id.digest : "-",
      r->node ? r->node : "-", r->state ? r->state : "-", r->pull_secrets ? r->pull_secrets[0] : "-");
  iw_record_free (r);
  return 0;
}

static void
got_free (got *g)
{
  for (size_t i = 0; i < g->n; i++)
    free (g->lines[i]);
  g->n = 0;
}

/* An API page: items without kind, continue token before the items. */
static const char page[]
    = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"9\",\"continue\":"
      "\"tok-2\"},"
      "\"items\":[{\"metadata\":{\"name\":\"web-6d4b9c8f6d-x2mlq\",\"namespace\":\"default\",\"uid\":\"u1\","
      "\"labels\":{\"pod-template-hash\":\"6d4b9c8f6d\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
      "\"kind\":\"ReplicaSet\",\"name\":\"web-6d4b9c8f6d\",\"uid\":\"r\",\"controller\":true}],"
      "\"managedFields\":[{\"fieldsV1\":{\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"x\\\"}\":{}}}}}]"
      "},"
      "\"spec\":{\"initContainers\":[{\"name\":\"setup\",\"image\":\"busybox:1.36\"}],"
      "\"containers\":[{\"name\":\"app\",\"image\":\"registry.example.com/web:latest\",\"imagePullPolicy\":"
      "\"IfNotPresent\",\"env\":[{\"name\":\"image\",\"value\":\"evil\"}]}],\"nodeName\":\"node-1\","
      "\"imagePullSecrets\":[{\"name\":\"regcred\"}]},"
      "\"status\":{\"phase\":\"Running\",\"initContainerStatuses\":[{\"name\":\"setup\",\"image\":\"busybox:"
      "1.36\","
      "\"imageID\":\"docker://" D2 "\",\"state\":{\"terminated\":{\"exitCode\":0}}}],"
      "\"containerStatuses\":[{\"name\":\"app\",\"image\":\"registry.example.com/web:latest\","
      "\"imageID\":\"registry.example.com/web@" D1
      "\",\"state\":{\"running\":{\"startedAt\":\"2026-01-01T00:00:00Z\"}}}]}},"
      "{\"metadata\":{\"name\":\"report-28934560-abcde\",\"namespace\":\"batch\",\"ownerReferences\":[{"
      "\"kind\":"
      "\"Job\",\"name\":\"report-28934560\",\"controller\":true}]},\"spec\":{\"containers\":[{\"name\":\"r\","
      "\"image\":\"busybox\"}],\"ephemeralContainers\":[{\"name\":\"dbg\",\"image\":\"busybox:1.36\"}]},"
      "\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"r\",\"imageID\":\"\",\"state\":"
      "{\"waiting\":{\"reason\":\"ContainerCreating\"}}}]}}]}";

static void
test_kube_pods__api_page_byte_by_byte (void **state)
{
  got g = { 0 };
  iw_error *err = NULL;
  iw_kube_parser *p = iw_kube_parser_new ("kube:https://x", "page", collect, &g);

  (void)state;
  /* Every chunk boundary must be fine: feed one byte at a time. */
  for (size_t i = 0; i < sizeof page - 1; i++)
    assert_int_equal (iw_kube_parser_feed (p, page + i, 1, &err), 0);
  assert_int_equal (iw_kube_parser_finish (p, &err), 0);
  assert_int_equal (g.n, 4);
  assert_string_equal (g.lines[0],
                       "default|web-6d4b9c8f6d-x2mlq|Deployment/web|setup|1|busybox:1.36|IfNotPresent|1|2|" D2
                       "|node-1|terminated|regcred");
  assert_string_equal (g.lines[1],
                       "default|web-6d4b9c8f6d-x2mlq|Deployment/web|app|0|registry.example.com/web:"
                       "latest|IfNotPresent|0|1|" D1 "|node-1|running|regcred");
  assert_string_equal (g.lines[2],
                       "batch|report-28934560-abcde|CronJob/report|r|0|busybox|Always|1|0|-|-|waiting|-");
  assert_string_equal (
      g.lines[3], "batch|report-28934560-abcde|CronJob/report|dbg|2|busybox:1.36|IfNotPresent|1|0|-|-|-|-");
  assert_string_equal (iw_kube_parser_continue (p), "tok-2");
  assert_int_equal (iw_kube_parser_stats (p)->pods, 2);
  assert_string_equal (iw_kube_parser_pull_secrets (p)[0], "default/regcred");
  assert_null (iw_kube_parser_pull_secrets (p)[1]);
  got_free (&g);
  iw_kube_parser_free (p);
}

/* kubectl's indentation, added to a compact document: a newline and
 * spaces or tabs after every ',', '{' and '[' outside strings. */
static char *
indent (const char *compact)
{
  size_t n = strlen (compact);
  char *out = iw_xmalloc (n * 12 + 1), *o = out;
  bool in_str = false, esc = false;

  for (const char *c = compact; *c; c++)
    {
      *o++ = *c;
      if (in_str)
        {
          if (esc)
            esc = false;
          else if (*c == '\\')
            esc = true;
          else if (*c == '"')
            in_str = false;
          continue;
        }
      if (*c == '"')
        in_str = true;
      else if (*c == ',' || *c == '{' || *c == '[')
        {
          const char *blank = (c - compact) % 2 ? "\n        " : "\r\n\t \t ";

          memcpy (o, blank, strlen (blank));
          o += strlen (blank);
        }
    }
  *o = '\0';
  return out;
}

static int
parse_in_chunks (const char *text, size_t chunk, got *g, iw_error **err)
{
  iw_kube_parser *p = iw_kube_parser_new ("kube:https://x", "doc", collect, g);
  size_t len = strlen (text);
  int rc = 0;

  for (size_t i = 0; i < len && rc == 0; i += chunk)
    rc = iw_kube_parser_feed (p, text + i, len - i < chunk ? len - i : chunk, err);
  if (rc == 0)
    rc = iw_kube_parser_finish (p, err);
  iw_kube_parser_free (p);
  return rc;
}

/* The parser drops the blanks after newlines before yajl reads them: the
 * records, the verdicts and the error lines must be those of the input. */
static void
test_kube_pods__indentation_changes_nothing (void **state)
{
  static const struct
  {
    const char *text;
    const char *want; /* error prefix; NULL: valid */
  } bad[] = {
    /* A raw newline inside a string stays invalid, whatever follows it. */
    { "{\n    \"kind\": \"Pod\",\n    \"metadata\": {\n        \"name\": \"a\n        b\"\n    }\n}\n",
      "doc:4: invalid JSON" },
    /* Two values in an array do not become one number. */
    { "[\n    1\n    2\n]\n", "doc:3: invalid JSON" },
    /* Nor does a literal broken by a newline become whole again. */
    { "{\"kind\": \"Pod\", \"x\": tr\n    ue}", "doc:1: invalid JSON" },
    { "{\n\t\"kind\": \"Pod\",\n\t\"x\": 1\n\t\t.5}", "doc:4: invalid JSON" },
    { "{\n    \"kind\": \"Pod\"\n    \n  \t  \n", "doc:5: invalid JSON" },
  };
  static const size_t chunks[] = { 1, 2, 7, 4096 };
  char *indented = indent (page);
  got want = { 0 };
  iw_error *err = NULL;

  (void)state;
  assert_int_equal (parse_in_chunks (page, sizeof page, &want, &err), 0);
  assert_int_equal (want.n, 4);
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
    {
      got g = { 0 };

      if (parse_in_chunks (indented, chunks[c], &g, &err) < 0)
        fail_msg ("chunks of %zu: %s", chunks[c], iw_error_msg (err));
      assert_int_equal (g.n, want.n);
      for (size_t i = 0; i < g.n; i++)
        assert_string_equal (g.lines[i], want.lines[i]);
      got_free (&g);
      for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        {
          assert_int_equal (parse_in_chunks (bad[i].text, chunks[c], &g, &err), -1);
          if (strncmp (iw_error_msg (err), bad[i].want, strlen (bad[i].want)) != 0)
            fail_msg ("case %zu, chunks of %zu: \"%s\", not \"%s\"", i, chunks[c], iw_error_msg (err),
                      bad[i].want);
          iw_error_free (err);
          err = NULL;
          got_free (&g);
        }
    }
  got_free (&want);
  free (indented);
}

static char *
write_temp (const char *text)
{
  char *path = iw_xstrdup ("/tmp/test_kube_pods.XXXXXX");
  int fd = mkstemp (path);

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t)strlen (text));
  close (fd);
  return path;
}

/* kubectl prints pods before ReplicaSets; the ReplicaSet's real owner (a
 * Rollout here, which the label heuristic would miss) must win. */
static void
test_kube_pods__file_list_uses_replicasets_printed_later (void **state)
{
  const char *text
      = "{\"apiVersion\":\"v1\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
        "\"c-"
        "5f-aa\",\"namespace\":\"ns\",\"labels\":{\"pod-template-hash\":\"5f\"},\"ownerReferences\":[{"
        "\"kind\":"
        "\"ReplicaSet\",\"name\":\"c-5f\",\"controller\":true}]},\"spec\":{\"containers\":[{\"name\":\"a\","
        "\"image\":\"x:1\"}]}},{\"apiVersion\":\"apps/"
        "v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"c-5f\","
        "\"namespace\":\"ns\",\"uid\":\"u\",\"ownerReferences\":[{\"kind\":\"Rollout\",\"name\":\"canary\","
        "\"controller\":true}]},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"pod-template-"
        "hash\":"
        "\"5f\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":"
        "\"a\",\"image\":"
        "\"x:1\"}]}}}}],\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"}}\n";
  char *path = write_temp (text);
  got g = { 0 };
  iw_error *err = NULL;
  iw_kube_stats st;

  (void)state;
  assert_int_equal (iw_source_read_file_stats (path, collect, &g, &st, NULL, NULL, &err), 0);
  assert_int_equal (g.n, 1);
  assert_string_equal (g.lines[0], "ns|c-5f-aa|Rollout/canary|a|0|x:1|IfNotPresent|1|0|-|-|-|-");
  assert_int_equal (st.pods, 1);
  assert_int_equal (st.objects, 1);
  got_free (&g);
  unlink (path);
  free (path);
}

/* Many records, checked as they come: in order, each owned as expected. */
typedef struct tally
{
  size_t n;
  const char *owner_kind;
  bool out_of_order;
  bool wrong_owner;
} tally;

static int
count_in_order (iw_record *r, void *userdata, iw_error **err)
{
  tally *t = userdata;
  char want[64];

  (void)err;
  snprintf (want, sizeof want, "c-5f-%zu", t->n);
  if (r->pod == NULL || strcmp (r->pod, want) != 0)
    t->out_of_order = true;
  if (r->workload_kind == NULL || strcmp (r->workload_kind, t->owner_kind) != 0)
    t->wrong_owner = true;
  t->n++;
  iw_record_free (r);
  return 0;
}

/* n pods of ReplicaSet c-5f, then that ReplicaSet (owned by a Rollout)
 * when with_rs, then tail. */
static char *
many_pods_sep (size_t n, bool with_rs, const char *tail, const char *sep)
{
  iw_buf b = IW_BUF_INIT (64 << 20);

  iw_buf_appends (&b, "{\"apiVersion\":\"v1\",\"items\":[", NULL);
  for (size_t i = 0; i < n; i++)
    iw_buf_printf (
        &b, NULL,
        "%s{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c-5f-%zu\",\"namespace\":\"ns\",\"labels\":{"
        "\"pod-template-hash\":\"5f\"},\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"c-"
        "5f\",\"controller\":true}]},\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"}]}}",
        i ? sep : "", i);
  if (with_rs)
    iw_buf_appends (
        &b,
        ",{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"c-5f\","
        "\"namespace\":\"ns\",\"uid\":\"u\",\"ownerReferences\":[{\"kind\":\"Rollout\",\"name\":"
        "\"canary\",\"controller\":true}]},\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
        "\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"}]}}}}",
        NULL);
  iw_buf_appends (&b, tail, NULL);
  return iw_buf_take (&b);
}

static char *
many_pods (size_t n, bool with_rs, const char *tail)
{
  return many_pods_sep (n, with_rs, tail, ",");
}

/* A file is read speculatively while another thread searches it for
 * owners; more records than are held back make the read wait for the
 * search.  Whatever the outcome, the records are those of a plain read. */
static void
test_kube_pods__big_file_owners_found_late (void **state)
{
  static const struct
  {
    bool with_rs;
    const char *owner;
  } cases[] = { { false, "Deployment" }, { true, "Rollout" } };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (size_t n = 1; n <= 9000; n += 8999)
      {
        char *text = many_pods (n, cases[i].with_rs, "],\"kind\":\"List\"}\n");
        char *path = write_temp (text);
        tally t = { .owner_kind = cases[i].owner };
        iw_error *err = NULL;
        iw_kube_stats st;

        assert_int_equal (iw_source_read_file_stats (path, count_in_order, &t, &st, NULL, NULL, &err), 0);
        assert_int_equal (t.n, n);
        assert_false (t.out_of_order);
        if (t.wrong_owner)
          fail_msg ("case %zu, %zu pods: owners not %s", i, n, cases[i].owner);
        assert_int_equal (st.pods, n);
        assert_int_equal (st.records, n);
        unlink (path);
        free (path);
        free (text);
      }
}

/* Invalid JSON at the end of a big file: a file of pods hands over what it
 * read before the error (as a pipe does); one with owners fails in its
 * owners pass, before any record.  Either way the error names the line. */
static void
test_kube_pods__big_file_error_at_the_end (void **state)
{
  (void)state;
  for (int with_rs = 0; with_rs < 2; with_rs++)
    {
      char *text = many_pods (6000, with_rs, ",\n{oops}]}\n");
      char *path = write_temp (text);
      tally t = { .owner_kind = with_rs ? "Rollout" : "Deployment" };
      iw_error *err = NULL;

      assert_int_equal (iw_source_read_file (path, count_in_order, &t, &err), -1);
      assert_int_equal (iw_error_code (err), IW_EPARSE);
      assert_non_null (strstr (iw_error_msg (err), ":2: invalid JSON"));
      assert_int_equal (t.n, with_rs ? 0 : 6000);
      assert_false (t.out_of_order);
      assert_false (t.wrong_owner);
      iw_error_free (err);
      unlink (path);
      free (path);
      free (text);
    }
}

/* Records of a split read: the first thread's, then the second's, which
 * must continue the count exactly where the first stopped. */
typedef struct halves
{
  tally first, second;
  size_t second_start; /* the number of the second half's first pod */
} halves;

/* On the second thread, while the first one still counts: the second
 * half's pods must follow one another from wherever it starts. */
static int
count_second (iw_record *r, void *userdata, iw_error **err)
{
  halves *h = userdata;
  char want[64];

  (void)err;
  if (h->second.n == 0 && r->pod && strncmp (r->pod, "c-5f-", 5) == 0)
    h->second_start = strtoul (r->pod + 5, NULL, 10);
  snprintf (want, sizeof want, "c-5f-%zu", h->second_start + h->second.n);
  if (r->pod == NULL || strcmp (r->pod, want) != 0)
    h->second.out_of_order = true;
  h->second.n++;
  iw_record_free (r);
  return 0;
}

static int
split_read_path (const char *path, halves *h, bool *used, iw_kube_stats *st, iw_error **err)
{
  iw_source_second second = { .fn = count_second, .userdata = h, .used = used };
  int rc;

  h->first.owner_kind = h->second.owner_kind = "Deployment";
  rc = iw_source_read_file_split (path, count_in_order, &h->first, &second, st, NULL, NULL, err);
  /* The second half starts where the first one ends. */
  if (*used && h->second.n > 0 && h->second_start != h->first.n)
    h->second.out_of_order = true;
  return rc;
}

static int
split_read (const char *text, halves *h, bool *used, iw_kube_stats *st, iw_error **err)
{
  char *path = write_temp (text);
  int rc = split_read_path (path, h, used, st, err);

  unlink (path);
  free (path);
  return rc;
}

/* A big file of pods is read by two threads; together they give every
 * record once, in order, with the same stats as one thread. */
static void
test_kube_pods__big_file_on_two_threads (void **state)
{
  char *text = many_pods_sep (80000, false, "\n],\"kind\":\"List\"}\n", ",\n");
  halves h = { 0 };
  bool used = false;
  iw_error *err = NULL;
  iw_kube_stats st;

  (void)state;
  assert_true (strlen (text) > 16 << 20);
  assert_int_equal (split_read (text, &h, &used, &st, &err), 0);
  assert_true (used);
  assert_true (h.first.n > 0 && h.second.n > 0);
  assert_int_equal (h.first.n + h.second.n, 80000);
  assert_false (h.first.out_of_order || h.second.out_of_order);
  assert_int_equal (st.pods, 80000);
  assert_int_equal (st.bytes, strlen (text));
  free (text);
}

/* The guess is wrong when the boundary it found is deeper than the
 * top-level items: here pods in a List nested in the List, which are not
 * read as pods.  Then one thread reads it all, and what the second handed
 * over is void.  (Valid JSON cannot put the probe's "} , {\"kind\"" inside a
 * string: its quote would end the string.) */
static void
test_kube_pods__big_file_split_guess_too_deep (void **state)
{
  char *pods = many_pods (80000, false, "]");
  char *text
      = iw_xasprintf ("{\"kind\":\"List\",\"items\":[{\"kind\":\"List\",\"metadata\":{\"name\":\"nested\"},"
                      "\"items\":%s}]}",
                      strchr (pods, '['));
  halves h = { 0 };
  bool used = true;
  iw_error *err = NULL;
  iw_kube_stats st;

  (void)state;
  assert_int_equal (split_read (text, &h, &used, &st, &err), 0);
  assert_false (used);
  assert_int_equal (h.first.n, 0);
  assert_int_equal (st.pods, 0);
  assert_int_equal (st.bytes, strlen (text));
  free (pods);
  free (text);
}

/* An error past the split: the same message, line included, as one
 * thread gives, and the records before it are all handed over. */
static void
test_kube_pods__big_file_error_in_the_second_half (void **state)
{
  char *text = many_pods_sep (80000, false, ",\n{oops}]}\n", ",\n");
  halves h = { 0 };
  tally one = { .owner_kind = "Deployment" };
  bool used = false;
  iw_error *err = NULL, *err1 = NULL;
  iw_kube_stats st;
  char *path = write_temp (text);

  (void)state;
  assert_int_equal (split_read_path (path, &h, &used, &st, &err), -1);
  assert_true (used);
  assert_int_equal (iw_source_read_file (path, count_in_order, &one, &err1), -1);
  assert_string_equal (iw_error_msg (err), iw_error_msg (err1));
  assert_non_null (strstr (iw_error_msg (err), ":80001: invalid JSON"));
  assert_int_equal (h.first.n + h.second.n, one.n);
  assert_false (h.first.out_of_order || h.second.out_of_order);
  iw_error_free (err);
  iw_error_free (err1);
  unlink (path);
  free (path);
  free (text);
}

/* Owners in the file: one thread, two passes, all records to the first
 * callback. */
static void
test_kube_pods__big_file_with_owners_is_not_split (void **state)
{
  char *text = many_pods (80000, true, "]}");
  halves h = { 0 };
  bool used = true;
  iw_error *err = NULL;
  iw_kube_stats st;
  char *path = write_temp (text);
  iw_source_second second = { .fn = count_second, .userdata = &h, .used = &used };

  (void)state;
  h.first.owner_kind = "Rollout";
  assert_int_equal (
      iw_source_read_file_split (path, count_in_order, &h.first, &second, &st, NULL, NULL, &err), 0);
  assert_false (used);
  assert_int_equal (h.first.n, 80000);
  assert_false (h.first.out_of_order || h.first.wrong_owner);
  unlink (path);
  free (path);
  free (text);
}

static void
test_kube_pods__yaml_manifests_give_spec_only_records (void **state)
{
  const char *text
      = "# a release\n"
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: green-burrito\n"
        "  namespace: prod\n"
        "spec:\n"
        "  replicas: 3\n"
        "  template:\n"
        "    spec:\n"
        "      imagePullSecrets: [{name: pull}]\n"
        "      containers:\n"
        "        - name: app\n"
        "          image: registry.example.com/green-burrito:latest\n"
        "          imagePullPolicy: IfNotPresent\n"
        "          ports: [{containerPort: 8080}]\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata: {name: settings}\n"
        "data: {a: 'yes'}\n"
        "---\n"
        "apiVersion: batch/v1\n"
        "kind: CronJob\n"
        "metadata: {name: nightly}\n"
        "spec:\n"
        "  schedule: '0 3 * * *'\n"
        "  jobTemplate:\n"
        "    spec:\n"
        "      template:\n"
        "        spec:\n"
        "          initContainers: [{name: i, image: 'busybox@" D1 "'}]\n"
        "          containers: [{name: job, image: tools/report}]\n"
        "---\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: List\n"
        "items:\n"
        "- kind: StatefulSet\n"
        "  metadata: {name: db}\n"
        "  spec: {template: {spec: {containers: [{name: pg, image: 'postgres:16', imagePullPolicy: "
        "Always}]}}}\n";
  char *path = write_temp (text);
  got g = { 0 };
  iw_error *err = NULL;
  iw_kube_stats st;

  (void)state;
  assert_int_equal (iw_source_read_file_stats (path, collect, &g, &st, NULL, NULL, &err), 0);
  assert_int_equal (g.n, 4);
  assert_string_equal (g.lines[0], "prod|-|Deployment/green-burrito|app|0|registry.example.com/"
                                   "green-burrito:latest|IfNotPresent|0|0|-|-|-|pull");
  assert_string_equal (g.lines[1], "-|-|CronJob/nightly|i|1|busybox@" D1 "|IfNotPresent|1|0|-|-|-|-");
  assert_string_equal (g.lines[2], "-|-|CronJob/nightly|job|0|tools/report|Always|1|0|-|-|-|-");
  assert_string_equal (g.lines[3], "-|-|StatefulSet/db|pg|0|postgres:16|Always|0|0|-|-|-|-");
  assert_int_equal (st.skipped, 1);
  got_free (&g);
  unlink (path);
  free (path);
}

static void
test_kube_pods__bad_input_names_file_and_line (void **state)
{
  static const struct
  {
    const char *text;
    const char *want;
    iw_code code;
  } cases[] = {
    { "{\"kind\":\"PodList\",\n\"items\":[\n{\"metadata\":{\"name\":\"a\"}},\n{oops}]}", ":4: invalid JSON",
      IW_EPARSE },
    { "{\"kind\":\"PodList\",\n\"items\":[\n", ":3: invalid JSON", IW_EPARSE },
    { "kind: Pod\nmetadata:\n  name: [a\nspec: {}\n", ": invalid YAML", IW_EPARSE },
    { "kind: Pod\nspec: &a {}\nstatus: *a\n", ":3: YAML aliases are not supported", IW_EUNSUPPORTED },
    { "just a string\n", ":1: expected a Kubernetes object", IW_EPARSE },
  };

  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *path = write_temp (cases[i].text);
      got g = { 0 };
      iw_error *err = NULL;

      assert_int_equal (iw_source_read_file (path, collect, &g, &err), -1);
      if (strstr (iw_error_msg (err), path) == NULL || strstr (iw_error_msg (err), cases[i].want) == NULL)
        fail_msg ("case %zu: \"%s\" lacks the file or \"%s\"", i, iw_error_msg (err), cases[i].want);
      assert_int_equal (iw_error_code (err), cases[i].code);
      iw_error_free (err);
      got_free (&g);
      unlink (path);
      free (path);
    }
}

static void
test_kube_pods__consumer_error_stops_the_source (void **state)
{
  got g = { .fail_after = 1 };
  iw_error *err = NULL;
  iw_kube_parser *p = iw_kube_parser_new ("kube:x", "page", collect, &g);

  (void)state;
  assert_int_equal (iw_kube_parser_feed (p, page, sizeof page - 1, &err), -1);
  assert_string_equal (iw_error_msg (err), "consumer full");
  assert_int_equal (g.n, 1);
  iw_error_free (err);
  got_free (&g);
  iw_kube_parser_free (p);
}

static void
test_kube_pods__missing_file_is_an_io_error (void **state)
{
  iw_error *err = NULL;
  got g = { 0 };

  (void)state;
  assert_int_equal (iw_source_read_file ("/nonexistent/pods.json", collect, &g, &err), -1);
  assert_int_equal (iw_error_code (err), IW_EIO);
  assert_non_null (strstr (iw_error_msg (err), "/nonexistent/pods.json"));
  iw_error_free (err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_kube_pods__api_page_byte_by_byte),
    cmocka_unit_test (test_kube_pods__indentation_changes_nothing),
    cmocka_unit_test (test_kube_pods__file_list_uses_replicasets_printed_later),
    cmocka_unit_test (test_kube_pods__big_file_owners_found_late),
    cmocka_unit_test (test_kube_pods__big_file_error_at_the_end),
    cmocka_unit_test (test_kube_pods__big_file_on_two_threads),
    cmocka_unit_test (test_kube_pods__big_file_split_guess_too_deep),
    cmocka_unit_test (test_kube_pods__big_file_error_in_the_second_half),
    cmocka_unit_test (test_kube_pods__big_file_with_owners_is_not_split),
    cmocka_unit_test (test_kube_pods__yaml_manifests_give_spec_only_records),
    cmocka_unit_test (test_kube_pods__bad_input_names_file_and_line),
    cmocka_unit_test (test_kube_pods__consumer_error_stops_the_source),
    cmocka_unit_test (test_kube_pods__missing_file_is_an_io_error),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
