"""deploy/: the Kubernetes manifests, read with a YAML parser (Debian's
python3-yaml), and the Dockerfile. No cluster runs here and no image is
built: these tests check what the manifests say, that the config they ship
passes the real ./mlwatch's own checks, that the overlays patch what they
claim (their JSON patches applied here as kustomize applies them), and that
the image's packages exist in apt. They load no BPF and need no lock.
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

import yaml

from harness import REPO, Checks, TestFailure, mlwatch_bin

DEPLOY = os.path.join(REPO, "deploy")
BASE = os.path.join(DEPLOY, "base")
# Each one's reason is beside it in daemonset.yaml and deploy/README.md.
CAPS = {"BPF", "PERFMON", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "LEASE",
        "CHECKPOINT_RESTORE"}
METRICS_PORT = 9464
# hostPath mounts that mlwatch writes; every other one is read-only
WRITABLE = {"/var/lib/mlwatch/spool", "/var/log/mlwatch"}
RUNTIME_PKGS = {"libbpf1", "libelf1", "zlib1g", "libcjson1", "libcurl4", "libssl3",
                "ca-certificates"}


def _load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if not docs:
        raise TestFailure("%s: no YAML document" % os.path.relpath(path, REPO))
    return docs


def _base():
    """Every object of the base, by kind (one of each)."""
    objs = {}
    for path in sorted(glob.glob(os.path.join(BASE, "*.yaml"))):
        if os.path.basename(path) == "kustomization.yaml":
            continue
        for d in _load(path):
            if d.get("kind") in objs:
                raise TestFailure("two %s objects in the base" % d["kind"])
            objs[d.get("kind")] = d
    return objs


def _ds():
    return _base()["DaemonSet"]


def _pod(ds):
    return ds["spec"]["template"]["spec"]


def _container(ds):
    cs = _pod(ds)["containers"]
    if len(cs) != 1:
        raise TestFailure("want one container, got %d" % len(cs))
    return cs[0]


def _quantity(q):
    """A Kubernetes quantity as a number (cores or bytes)."""
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", str(q))
    if not m:
        raise TestFailure("not a quantity: %r" % (q,))
    mult = {None: 1, "m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1e3,
            "M": 1e6, "G": 1e9}[m.group(2)]
    return float(m.group(1)) * mult


# ---------------------------------------------------------------- JSON patch

def _pointer(path):
    if not path.startswith("/"):
        raise TestFailure("JSON pointer %r does not start with /" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch(doc, ops, where):
    """RFC 6902 add, replace and remove, as kustomize applies a patch file."""
    doc = copy.deepcopy(doc)
    for op in ops:
        keys = _pointer(op["path"])
        parent = doc
        for k in keys[:-1]:
            try:
                parent = parent[int(k)] if isinstance(parent, list) else parent[k]
            except (KeyError, IndexError, ValueError):
                raise TestFailure("%s: %s: no %r on the way" % (where, op["path"], k))
        last = keys[-1]
        if isinstance(parent, list):
            if op["op"] == "add":
                parent.insert(len(parent) if last == "-" else int(last), op["value"])
                continue
            idx = int(last)
            if idx >= len(parent):
                raise TestFailure("%s: %s: index out of range" % (where, op["path"]))
        elif op["op"] in ("replace", "remove") and last not in parent:
            raise TestFailure("%s: %s: nothing to %s" % (where, op["path"], op["op"]))
        if op["op"] in ("add", "replace"):
            parent[int(last) if isinstance(parent, list) else last] = op["value"]
        elif op["op"] == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise TestFailure("%s: op %r is not used here" % (where, op["op"]))
    return doc


def _overlay(name):
    """The base DaemonSet with overlays/<name>'s patches applied."""
    d = os.path.join(DEPLOY, "overlays", name)
    k = _load(os.path.join(d, "kustomization.yaml"))[0]
    c = Checks("overlay " + name)
    c.eq(k.get("resources"), ["../../base"], "resources")
    c.true(k.get("patches"), "no patches")
    c.done()
    ds = _ds()
    for p in k["patches"]:
        t = p.get("target", {})
        if (t.get("kind"), t.get("name"), t.get("group"), t.get("version")) != \
                ("DaemonSet", "mlwatch", "apps", "v1"):
            raise TestFailure("overlay %s: patch target %r is not the DaemonSet" % (name, t))
        ops = _load(os.path.join(d, p["path"]))[0]
        ds = _json_patch(ds, ops, "overlays/%s/%s" % (name, p["path"]))
    return ds


# ---------------------------------------------------------------- tests

def test_kustomization_lists_every_base_file():
    c = Checks("kustomization")
    top = _load(os.path.join(DEPLOY, "kustomization.yaml"))[0]
    c.eq(top.get("resources"), ["base"], "deploy/kustomization.yaml resources")
    k = _load(os.path.join(BASE, "kustomization.yaml"))[0]
    yamls = {os.path.basename(p) for p in glob.glob(os.path.join(BASE, "*.yaml"))}
    c.eq(sorted(k.get("resources", [])), sorted(yamls - {"kustomization.yaml"}),
         "base resources (every .yaml of deploy/base)")
    c.eq(k.get("namespace"), "mlwatch", "namespace")
    gens = k.get("configMapGenerator", [])
    c.eq([g.get("name") for g in gens], ["mlwatch-config"], "configMapGenerator names")
    jsons = {os.path.basename(p) for p in glob.glob(os.path.join(BASE, "*.json"))}
    c.eq(sorted(gens[0].get("files", []) if gens else []), sorted(jsons),
         "ConfigMap files (every .json of deploy/base)")
    c.true(not (gens and gens[0].get("options", {}).get("disableNameSuffixHash")),
           "the ConfigMap keeps its hash suffix (a change must roll the pods)")
    c.done()


def test_kinds_and_rbac():
    objs = _base()
    c = Checks("kinds and RBAC")
    c.eq(sorted(objs), sorted(["Namespace", "ResourceQuota", "ServiceAccount", "ClusterRole",
                               "ClusterRoleBinding", "DaemonSet"]), "kinds in the base")
    ns = objs.get("Namespace", {})
    c.eq(ns.get("metadata", {}).get("name"), "mlwatch", "namespace name")
    c.eq(ns.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce"),
         "privileged", "Pod Security level (hostPID, hostPath and capabilities need it)")
    rules = objs.get("ClusterRole", {}).get("rules", [])
    c.eq(len(rules), 1, "ClusterRole rules")
    for r in rules:
        c.eq(r.get("apiGroups"), [""], "apiGroups")
        c.eq(r.get("resources"), ["pods"], "resources")
        c.eq(sorted(r.get("verbs", [])), ["get", "list", "watch"], "verbs")
        c.true(not r.get("resourceNames") and not r.get("nonResourceURLs"), "extra rule fields")
    b = objs.get("ClusterRoleBinding", {})
    c.eq(b.get("roleRef"), {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": objs.get("ClusterRole", {}).get("metadata", {}).get("name")},
         "roleRef")
    sa = objs.get("ServiceAccount", {}).get("metadata", {}).get("name")
    c.eq(b.get("subjects"), [{"kind": "ServiceAccount", "name": sa, "namespace": "mlwatch"}],
         "subjects")
    c.eq(_pod(objs["DaemonSet"]).get("serviceAccountName"), sa, "DaemonSet serviceAccountName")
    q = objs.get("ResourceQuota", {}).get("spec", {})
    c.eq(q.get("scopeSelector", {}).get("matchExpressions"),
         [{"scopeName": "PriorityClass", "operator": "In", "values": ["system-node-critical"]}],
         "ResourceQuota scope")
    c.done()


def test_daemonset_privileges():
    ds = _ds()
    pod, ctr = _pod(ds), _container(ds)
    sc = ctr.get("securityContext", {})
    c = Checks("privileges")
    c.eq(pod.get("hostPID"), True, "hostPID")
    c.true(not pod.get("hostNetwork") and not pod.get("hostIPC"), "hostNetwork/hostIPC")
    c.true(not (pod.get("securityContext") or {}).get("privileged"), "pod privileged")
    c.eq(sc.get("privileged"), False, "privileged (must be false in the base)")
    c.eq(sc.get("allowPrivilegeEscalation"), False, "allowPrivilegeEscalation")
    c.eq(sc.get("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem")
    c.eq(sc.get("runAsUser"), 0, "runAsUser")
    caps = sc.get("capabilities", {})
    c.eq(caps.get("drop"), ["ALL"], "capabilities.drop")
    c.eq(sorted(caps.get("add", [])), sorted(CAPS), "capabilities.add")
    c.eq(len(caps.get("add", [])), len(set(caps.get("add", []))), "capabilities added twice")
    # the set measured and tried is the set deployed
    with open(os.path.join(DEPLOY, "measure.sh")) as f:
        m = re.search(r"^CAPS=([a-z_,]+)$", f.read(), re.M)
    c.eq(sorted(m.group(1).upper().split(",")) if m else None, sorted(CAPS),
         "deploy/measure.sh CAPS")
    c.eq(pod.get("priorityClassName"), "system-node-critical", "priorityClassName")
    us = ds["spec"].get("updateStrategy", {})
    c.eq(us.get("type"), "RollingUpdate", "updateStrategy")
    c.true(us.get("rollingUpdate", {}).get("maxUnavailable") not in (None, 0, "0"),
           "maxUnavailable set")
    c.eq(us.get("rollingUpdate", {}).get("maxSurge"), 0, "maxSurge (one agent per node)")
    # mlwatch drains its outputs for 2 s; 3.6 s from SIGTERM to exit was
    # measured with an output that hangs (deploy/README.md)
    c.true((pod.get("terminationGracePeriodSeconds") or 0) >= 8,
           "terminationGracePeriodSeconds %r: want twice the 3.6 s stop measured at worst"
           % pod.get("terminationGracePeriodSeconds"))
    c.done()


def test_daemonset_tolerations():
    tol = _pod(_ds()).get("tolerations", [])
    c = Checks("tolerations")
    c.true({"key": "nvidia.com/gpu", "operator": "Exists"} in tol,
           "no {key: nvidia.com/gpu, operator: Exists} (every effect) in %r" % tol)
    c.true(all(t.get("key") for t in tol),
           "a blanket toleration in the base (that is overlays/all-nodes)")
    c.true(not _pod(_ds()).get("affinity") and
           set(_pod(_ds()).get("nodeSelector", {})) <= {"kubernetes.io/os"},
           "GPU node selection in the base (that is overlays/gpu-only)")
    c.done()


def test_daemonset_mounts():
    ds = _ds()
    pod, ctr = _pod(ds), _container(ds)
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    c = Checks("mounts")
    host = {}
    for m in ctr.get("volumeMounts", []):
        v = vols.get(m["name"])
        if not c.true(v is not None, "mount of unknown volume %r" % m["name"]):
            continue
        if "hostPath" in v:
            hp = v["hostPath"]["path"]
            host[hp] = m
            c.eq(bool(m.get("readOnly")), hp not in WRITABLE, "readOnly of hostPath %s" % hp)
            c.true(hp not in ("/", "/proc", "/sys", "/var/run", "/run") and "sock" not in hp,
                   "hostPath %s is more than mlwatch needs" % hp)
        elif "configMap" in v:
            c.true(m.get("readOnly") and m.get("subPath"),
                   "config %s: want readOnly and a subPath (a regular file, not a link)"
                   % m["mountPath"])
            c.eq(v["configMap"].get("name"), "mlwatch-config", "ConfigMap name")
            c.eq(v["configMap"].get("defaultMode"), 0o400, "ConfigMap defaultMode")
    for path, typ in (("/sys/kernel/btf", "Directory"), ("/sys/kernel/tracing", "Directory"),
                      ("/sys/fs/cgroup", "Directory"),
                      ("/var/lib/mlwatch/spool", "DirectoryOrCreate")):
        m = host.get(path)
        if c.true(m is not None, "no hostPath mount of %s" % path):
            c.eq(m["mountPath"], path, "mountPath of %s" % path)
            c.eq(vols[m["name"]]["hostPath"].get("type"), typ, "hostPath type of %s" % path)
    c.done()


def test_daemonset_probes_metrics_resources_env():
    ds = _ds()
    ctr = _container(ds)
    c = Checks("probes, metrics, resources, env")
    ports = {p.get("name"): p for p in ctr.get("ports", [])}
    c.eq(ports.get("metrics", {}).get("containerPort"), METRICS_PORT, "metrics containerPort")
    args = ctr.get("args", [])
    c.true("--metrics-addr" in args and args[args.index("--metrics-addr") + 1:][:1] ==
           ["0.0.0.0:%d" % METRICS_PORT], "--metrics-addr 0.0.0.0:%d in %r" % (METRICS_PORT, args))
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/readyz")):
        g = ctr.get(probe, {}).get("httpGet", {})
        c.eq(g.get("path"), path, probe + " path")
        c.true(g.get("port") in ("metrics", METRICS_PORT), "%s port %r" % (probe, g.get("port")))
    ann = ds["spec"]["template"]["metadata"].get("annotations", {})
    c.eq(ann.get("prometheus.io/scrape"), "true", "prometheus.io/scrape")
    c.eq(ann.get("prometheus.io/port"), str(METRICS_PORT), "prometheus.io/port")
    c.eq(ann.get("prometheus.io/path"), "/metrics", "prometheus.io/path")
    res = ctr.get("resources", {})
    for kind in ("cpu", "memory"):
        req = res.get("requests", {}).get(kind)
        lim = res.get("limits", {}).get(kind)
        if c.true(req is not None and lim is not None, "%s request and limit" % kind):
            c.true(_quantity(req) <= _quantity(lim), "%s request %s above limit %s"
                   % (kind, req, lim))
    env = {e["name"]: e for e in ctr.get("env", [])}
    c.eq(env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"),
         "spec.nodeName", "NODE_NAME")
    c.done()


def _mounted_config(ctr, key):
    """The path the container reads ConfigMap key at."""
    for m in ctr.get("volumeMounts", []):
        if m.get("name") == "config" and m.get("subPath") == key:
            return m["mountPath"]
    raise TestFailure("ConfigMap key %s is not mounted" % key)


def test_config_files_pass_mlwatch_checks():
    """The shipped outputs, rules and scan profiles, as root-owned 0600
    files, through the real binary's checks; the args point at them; what
    mlwatch writes lies on a writable mount (the root filesystem is not)."""
    ds = _ds()
    ctr = _container(ds)
    args = ctr.get("args", [])
    c = Checks("config")
    for opt, key in (("--outputs", "outputs.json"), ("--rules", "rules.json"),
                     ("--scan-profiles", "scan-profiles.json")):
        c.true(opt in args and args[args.index(opt) + 1:][:1] == [_mounted_config(ctr, key)],
               "%s %s" % (opt, _mounted_config(ctr, key)))
    tmp = tempfile.mkdtemp(prefix="mlwatch-deploy-")
    try:
        os.chmod(tmp, 0o700)
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        checks = {"outputs.json": ["outputs", "check"], "rules.json": ["rules", "check"],
                  "scan-profiles.json": ["scan", "--profiles"]}
        for key, sub in checks.items():
            f = os.path.join(tmp, key)
            shutil.copyfile(os.path.join(BASE, key), f)
            os.chown(f, 0, 0)
            os.chmod(f, 0o600)
            argv = [mlwatch_bin()] + sub + [f] + ([empty] if sub[0] == "scan" else [])
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            c.eq(r.returncode, 0, "%s (%s)" % (" ".join(argv[1:]), (r.stderr + r.stdout)[-300:]))
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(BASE, "outputs.json")) as f:
        outs = json.load(f)["outputs"]
    writable = [m["mountPath"] for m in ctr.get("volumeMounts", []) if not m.get("readOnly")]
    for o in outs:
        spool = o.get("spool_dir", "/var/lib/mlwatch/spool")
        c.true(spool in writable, "output %s: spool %s is on no writable mount" % (o.get("name"), spool))
        if o["type"] == "file":
            path = o["url"][len("file://"):] if o["url"].startswith("file://") else o["url"]
            c.true(os.path.dirname(path) in writable,
                   "file output %s: %s is on no writable mount" % (o.get("name"), path))
    c.done()


def test_overlays_patch_what_they_say():
    c = Checks("overlays")
    found = sorted(os.listdir(os.path.join(DEPLOY, "overlays")))
    c.eq(found, ["all-nodes", "gpu-only", "privileged"], "overlays")
    ds = _overlay("privileged")
    sc = _container(ds).get("securityContext", {})
    c.eq(sc.get("privileged"), True, "privileged overlay: privileged")
    c.true(sc.get("allowPrivilegeEscalation") is not False,
           "privileged overlay: allowPrivilegeEscalation false is refused with privileged")
    vols = {v["name"]: v for v in _pod(ds).get("volumes", [])}
    mounts = [m for m in _container(ds).get("volumeMounts", [])
              if vols.get(m["name"], {}).get("hostPath", {}).get("path") == "/sys/kernel/debug"]
    c.true(len(mounts) == 1 and mounts[0].get("readOnly") and
           mounts[0].get("mountPath") == "/sys/kernel/debug",
           "privileged overlay: debugfs read-only at /sys/kernel/debug")
    tol = _pod(_overlay("all-nodes")).get("tolerations", [])
    c.true({"operator": "Exists"} in tol, "all-nodes overlay: no blanket toleration in %r" % tol)
    c.true({"key": "nvidia.com/gpu", "operator": "Exists"} in tol,
           "all-nodes overlay lost the GPU toleration")
    sel = _pod(_overlay("gpu-only")).get("nodeSelector", {})
    c.eq(sel.get("nvidia.com/gpu.present"), "true", "gpu-only overlay: nodeSelector")
    c.done()


def _apt_known(pkgs):
    """The names among pkgs that apt has (one apt-cache call)."""
    r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(pkgs),
                       capture_output=True, text=True, timeout=120)
    return set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))


def test_dockerfile_packages_exist():
    """The Dockerfile's stages and packages (the image is not built here:
    no container engine runs on this machine)."""
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        text = f.read()
    c = Checks("Dockerfile")
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    c.eq([f[0] for f in froms], ["debian:bookworm", "debian:bookworm-slim"], "stages")
    c.true("print-BUILD_PKGS" in text and "make -j" in text and " mlwatch DEPS_STAMP=" in text,
           "the build stage installs the Makefile's BUILD_PKGS and runs make mlwatch")
    runtime = text[text.rfind("FROM"):]
    m = re.search(r"apt-get install[^\n]*\\\n((?:.*\\\n)*?.*)\n", runtime)
    pkgs = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", m.group(1).split("&&")[0])) if m else set()
    c.eq(pkgs, RUNTIME_PKGS, "runtime packages")
    r = subprocess.run(["make", "-s", "--no-print-directory", "--eval=print-%: ; @echo $($*)",
                        "print-BUILD_PKGS"], cwd=REPO, capture_output=True, text=True, timeout=60)
    build = r.stdout.split()
    c.true(r.returncode == 0 and build, "BUILD_PKGS from the Makefile: %s" % r.stderr[-200:])
    known = _apt_known(pkgs | set(build) | {"libc6"})
    if "libc6" not in known:
        raise TestFailure("apt-cache knows no packages: run apt-get update")
    for p in sorted((pkgs | set(build)) - known):
        c.true(False, "apt has no package %s" % p)
    # every library the binary links comes from a runtime package
    r = subprocess.run(["readelf", "-d", mlwatch_bin()], capture_output=True, text=True, timeout=30)
    libs = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", r.stdout)
    c.true(libs, "readelf found no libraries in %s" % mlwatch_bin())
    r = subprocess.run(["dpkg", "-S"] + ["*/" + lib for lib in libs], capture_output=True,
                       text=True, timeout=60)
    owner = {}
    for line in r.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        owner.setdefault(os.path.basename(path), pkg.split(":")[0])
    for lib in libs:
        c.true(owner.get(lib) in pkgs | {"libc6"}, "%s (package %r) is in no runtime package"
               % (lib, owner.get(lib)))
    c.true(os.path.exists(os.path.join(REPO, ".dockerignore")), "no .dockerignore")
    c.done()
