"""Real-shaped Kubernetes objects for the tests and the benchmark.

The shapes follow what real clusters return (kubectl get -o json of pods on
containerd and on dockershim nodes): full metadata with managedFields-free
owner references, specs with resources and mounts, statuses with every
imageID style (``repo@sha256:``, ``docker-pullable://``, ``docker://sha256:``,
bare ``sha256:``, empty while creating).  ``cluster()`` is the small fixed
cluster the tests assert on; ``big_cluster(n)`` repeats its shapes for
benchmarks.
"""

import hashlib
import json


def digest(seed):
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def uid(seed):
    h = hashlib.md5(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


TS = "2026-11-30T09:14:07Z"


def owner(kind, name, api="apps/v1"):
    return {"apiVersion": api, "blockOwnerDeletion": True, "controller": True,
            "kind": kind, "name": name, "uid": uid(kind + name)}


def container(name, image, policy=None, port=None):
    c = {"name": name, "image": image,
         "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
         "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                           "name": "kube-api-access-x7k2q", "readOnly": True}]}
    if policy:
        c["imagePullPolicy"] = policy
    if port:
        c["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
    return c


def status(name, image, image_id, state="running", runtime="containerd", restarts=0):
    s = {"image": image, "imageID": image_id, "lastState": {}, "name": name,
         "ready": state == "running", "restartCount": restarts, "started": state == "running"}
    if state == "running":
        s["state"] = {"running": {"startedAt": TS}}
        s["containerID"] = f"{runtime}://" + hashlib.sha256((name + image).encode()).hexdigest()
    elif state == "terminated":
        s["state"] = {"terminated": {"containerID": f"{runtime}://" + "ab" * 32, "exitCode": 0,
                                     "finishedAt": TS, "reason": "Completed", "startedAt": TS}}
        s["containerID"] = f"{runtime}://" + "ab" * 32
    else:
        s["state"] = {"waiting": {"reason": "ContainerCreating"}}
    return s


def pod(ns, name, owners, containers, statuses, node, phase="Running", labels=None,
        init=None, init_statuses=None, ephemeral=None, eph_statuses=None, secrets=None,
        listed=True):
    p = {
        "metadata": {
            "creationTimestamp": TS,
            "labels": labels or {"app": name},
            "name": name, "namespace": ns, "resourceVersion": "48213",
            "uid": uid(ns + name),
        },
        "spec": {
            "containers": containers,
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
            "nodeName": node, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
            "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "securityContext": {}, "serviceAccount": "default", "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                             "operator": "Exists", "tolerationSeconds": 300}],
            "volumes": [{"name": "kube-api-access-x7k2q", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}}]}}],
        },
        "status": {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": TS, "status": "True", "type": t}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": statuses,
            "hostIP": "10.0.0.11", "phase": phase, "podIP": "10.244.1.17",
            "podIPs": [{"ip": "10.244.1.17"}], "qosClass": "Burstable", "startTime": TS,
        },
    }
    # What the kubelet and controllers record: the bulk of real pod JSON.
    p["metadata"]["managedFields"] = [
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager",
         "operation": "Update", "time": TS,
         "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, **{f"f:{k}": {} for k in p["metadata"]["labels"]}},
                                     "f:ownerReferences": {".": {}, 'k:{"uid":"x"}': {}}},
                      "f:spec": {"f:containers": {f'k:{{"name":"{c["name"]}"}}': {
                          ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {
                              ".": {}, "f:limits": {".": {}, "f:memory": {}}, "f:requests": {
                                  ".": {}, "f:cpu": {}, "f:memory": {}}},
                          "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}} for c in containers},
                          "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                          "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet", "operation": "Update",
         "subresource": "status", "time": TS,
         "fieldsV1": {"f:status": {"f:conditions": {f'k:{{"type":"{t}"}}': {
             ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}
             for t in ("ContainersReady", "Initialized", "Ready")},
             "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
             "f:podIPs": {".": {}, 'k:{"ip":"10.244.1.17"}': {".": {}, "f:ip": {}}}, "f:startTime": {}}}},
    ]
    p["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": TS,
                                    "prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
    if listed:
        p = {"apiVersion": "v1", "kind": "Pod", **p}
    if owners:
        p["metadata"]["ownerReferences"] = owners
        p["metadata"]["generateName"] = name.rsplit("-", 1)[0] + "-"
    if init:
        p["spec"]["initContainers"] = init
        p["status"]["initContainerStatuses"] = init_statuses or []
    if ephemeral:
        p["spec"]["ephemeralContainers"] = ephemeral
        p["status"]["ephemeralContainerStatuses"] = eph_statuses or []
    if secrets:
        p["spec"]["imagePullSecrets"] = [{"name": s} for s in secrets]
    return p


def replicaset(ns, name, deployment=None, hash_=None, image="nginx"):
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"creationTimestamp": TS, "generation": 1, "labels": {"app": name},
                       "name": name, "namespace": ns, "resourceVersion": "4100", "uid": uid(ns + name)},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                   "template": {"metadata": {"labels": {"app": name}},
                                "spec": {"containers": [container("app", image)]}}},
          "status": {"availableReplicas": 2, "fullyLabeledReplicas": 2, "observedGeneration": 1,
                     "readyReplicas": 2, "replicas": 2}}
    if deployment:
        rs["metadata"]["ownerReferences"] = [owner("Deployment", deployment)]
        rs["metadata"]["labels"]["pod-template-hash"] = hash_
        rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "3"}
    return rs


def job(ns, name, cronjob=None):
    j = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"creationTimestamp": TS, "name": name, "namespace": ns, "uid": uid(ns + name),
                      "labels": {"job-name": name}},
         "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1,
                  # generated by the API server (manualSelector unset)
                  "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid(ns + name)}},
                  "template": {"spec": {"containers": [container("report", "busybox:1.36")],
                                        "restartPolicy": "OnFailure"}}},
         "status": {"succeeded": 1}}
    if cronjob:
        j["metadata"]["ownerReferences"] = [owner("CronJob", cronjob, "batch/v1")]
    return j


A = digest("green-burrito-A")
B = digest("green-burrito-B")
PROXY = digest("kube-proxy")
ETCD = digest("etcd")
REDIS = digest("redis")
BUSYBOX_CFG = digest("busybox-config")
NGINX = digest("nginx")
REPORT = digest("report")
LEGACY = digest("legacy")
DEBUG = digest("debug")


def cluster(listed=True):
    """The fixed test cluster: (pods, replicasets, jobs)."""
    gb_hash = "7d4b9c8f6d"
    gb_rs = f"green-burrito-{gb_hash}"
    gb_labels = {"app": "green-burrito", "pod-template-hash": gb_hash}
    pods = [
        # Deployment on containerd; two nodes run different digests (drift).
        pod("default", f"{gb_rs}-x2mlq", [owner("ReplicaSet", gb_rs)],
            [container("app", "registry.example.com/green-burrito:latest", "IfNotPresent", 8080)],
            [status("app", "registry.example.com/green-burrito:latest", "registry.example.com/green-burrito@" + A)],
            "node-1", labels=gb_labels, listed=listed),
        pod("default", f"{gb_rs}-p8fzt", [owner("ReplicaSet", gb_rs)],
            [container("app", "registry.example.com/green-burrito:latest", "IfNotPresent", 8080)],
            [status("app", "registry.example.com/green-burrito:latest", "registry.example.com/green-burrito@" + B)],
            "node-2", labels=gb_labels, listed=listed),
        # DaemonSet on a dockershim node: docker-pullable:// manifest digest.
        pod("kube-system", "kube-proxy-7xk9d", [owner("DaemonSet", "kube-proxy")],
            [container("kube-proxy", "registry.k8s.io/kube-proxy:v1.28.4", "IfNotPresent")],
            [status("kube-proxy", "registry.k8s.io/kube-proxy:v1.28.4",
                    "docker-pullable://registry.k8s.io/kube-proxy@" + PROXY, runtime="docker")],
            "node-3", listed=listed),
        # Static pod mirrored by its node.
        pod("kube-system", "etcd-node-1", [{"apiVersion": "v1", "controller": True, "kind": "Node",
                                            "name": "node-1", "uid": uid("node-1")}],
            [container("etcd", "registry.k8s.io/etcd:3.5.9-0", "IfNotPresent")],
            [status("etcd", "registry.k8s.io/etcd:3.5.9-0", "registry.k8s.io/etcd@" + ETCD)],
            "node-1", listed=listed),
        # StatefulSet: a docker:// config-ID init container, an app, an ephemeral debugger.
        pod("shop", "cart-0", [owner("StatefulSet", "cart")],
            [container("redis", "redis:7.2")],
            [status("redis", "docker.io/library/redis:7.2", "docker.io/library/redis@" + REDIS)],
            "node-2", init=[container("init-perms", "busybox:1.36", "IfNotPresent")],
            init_statuses=[status("init-perms", "busybox:1.36", "docker://" + BUSYBOX_CFG, "terminated",
                                  runtime="docker")],
            ephemeral=[{"name": "debugger-k4x2p", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                        "stdin": True, "tty": True}],
            eph_statuses=[status("debugger-k4x2p", "docker.io/library/busybox:latest", "sha256:" + DEBUG[7:])],
            listed=listed),
        # CronJob -> Job -> Pod.
        pod("batch", "report-28934560-6ps7w",
            [owner("Job", "report-28934560", "batch/v1")],
            [container("report", "registry.example.com/tools/report:2.1", "Always")],
            [status("report", "registry.example.com/tools/report:2.1",
                    "registry.example.com/tools/report@" + REPORT, "terminated")],
            "node-3", phase="Succeeded", labels={"job-name": "report-28934560"}, listed=listed),
        # A bare pod being created: no imageID yet, defaulted policy, a pull secret.
        pod("default", "scratch", None,
            [container("web", "nginx")],
            [status("web", "nginx", "", "waiting")],
            "node-1", phase="Pending", secrets=["regcred"], listed=listed),
        # A bare ReplicaSet; the node pulled through a mirror.
        pod("shop", "legacy-rs-5kq8m", [owner("ReplicaSet", "legacy-rs")],
            [container("web", "docker.io/library/nginx:1.25", "IfNotPresent")],
            [status("web", "docker.io/library/nginx:1.25", "mirror.gcr.io/library/nginx@" + NGINX)],
            "node-2", labels={"app": "legacy"}, listed=listed),
    ]
    rss = [replicaset("default", gb_rs, "green-burrito", gb_hash,
                      "registry.example.com/green-burrito:latest"),
           replicaset("shop", "legacy-rs", None, None, "docker.io/library/nginx:1.25")]
    jobs = [job("batch", "report-28934560", "report")]
    return pods, rss, jobs


def production_details(p):
    """What production pods carry besides cluster()'s basics, and their
    managedFields: env (plain and from the downward API), probes, args and a
    container securityContext.  This brings a pod to the ~6 KB (compact) of
    the clusters the benchmark models (100,000 pods ~ 600 MB)."""
    for c in p["spec"]["containers"]:
        c["args"] = ["--config=/etc/app/config.yaml", "--log-format=json", "--metrics-addr=:9090"]
        c["env"] = [{"name": k, "value": v} for k, v in (
            ("LOG_LEVEL", "info"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability:4317"),
            ("OTEL_SERVICE_NAME", c["name"]), ("GOMAXPROCS", "2"), ("TZ", "UTC"),
            ("FEATURE_FLAGS", "checkout-v2,async-cart,edge-cache"))] + [
            {"name": k, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f}}}
            for k, f in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"),
                         ("NODE_NAME", "spec.nodeName"), ("POD_IP", "status.podIP"))]
        probe = {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                 "initialDelaySeconds": 10, "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1}
        c["livenessProbe"] = probe
        c["readinessProbe"] = dict(probe, httpGet=dict(probe["httpGet"], path="/readyz"))
        c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 10001}
        fields = p["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"]
        for spec in fields.values():
            spec.update({"f:args": {}, "f:env": {".": {}, **{f'k:{{"name":"{e["name"]}"}}': (
                {".": {}, "f:name": {}, "f:value": {}} if "value" in e else
                {".": {}, "f:name": {}, "f:valueFrom": {".": {}, "f:fieldRef": {}}}) for e in c["env"]}},
                "f:livenessProbe": {".": {}, "f:failureThreshold": {}, "f:httpGet": {
                    ".": {}, "f:path": {}, "f:port": {}, "f:scheme": {}}, "f:periodSeconds": {}},
                "f:securityContext": {".": {}, "f:allowPrivilegeEscalation": {}, "f:capabilities": {
                    ".": {}, "f:drop": {}}, "f:readOnlyRootFilesystem": {}, "f:runAsNonRoot": {}}})
    return p


def big_cluster(n, production=False):
    """n pods shaped like cluster()'s, in 50 namespaces, as an iterator;
    with production=True, with production_details() too."""
    base, _, _ = cluster()
    if production:
        base = [production_details(p) for p in base]
    for i in range(n):
        p = json.loads(json.dumps(base[i % len(base)]))
        ns = f"ns-{i % 50}"
        p["metadata"]["namespace"] = ns
        p["metadata"]["name"] = p["metadata"]["name"] + f"-{i}"
        p["metadata"]["uid"] = uid(f"{i}")
        yield p


def kubectl_list(items):
    """A List as `kubectl get ... -o json` prints it (keys sorted, indented)."""
    return json.dumps({"apiVersion": "v1", "items": items, "kind": "List",
                       "metadata": {"resourceVersion": ""}}, indent=4, sort_keys=True)
