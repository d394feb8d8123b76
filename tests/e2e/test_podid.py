"""Container and pod identity on every record. Real cgroup v2 groups made
under the v2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid
hosts) with the names the kubelet and containerd / CRI-O give them, a
loader moved into one before it loads a malicious model; the alert, the
incident and the inventory record name the container and the pod. Pod
names, namespaces and labels come from the Kubernetes API: no cluster runs
here, so an HTTPS stand-in of the API server (receivers/kubeapi.py) serves
the list and the watch, a deleted pod and two kinds of 410."""
import os
import secrets
import time
import uuid

from harness import LOADER, PY, SAFE_PATH, Checks, Scenario, TestFailure, get, mlwatch_bin, \
    summary, with_rule
from receivers.certs import Certs
from receivers.kubeapi import KubeAPI, pod
from test_restart import Holders

NODE = "gpu-node-1"


def v2_mount():
    """The cgroup v2 mount whose root is the hierarchy's, as mlwatch picks it."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"] and left.split()[3] == "/":
                return left.split()[4]
    raise TestFailure("no cgroup v2 hierarchy is mounted: container identity cannot be tested")


class Cgroups:
    """Groups made under the v2 mount below one parent of the test's, all
    removed at the end, leaf to root, once their processes are gone (what
    is still in one is moved to the root group first)."""

    def __init__(self):
        self.root = v2_mount()
        self.top = os.path.join(self.root, "mlwatch-e2e-%d.slice" % os.getpid())
        self.made = []

    def make(self, rel):
        path = self.top
        for part in [""] + rel.strip("/").split("/"):
            path = os.path.join(path, part) if part else path
            if not os.path.isdir(path):
                os.mkdir(path)
                self.made.append(path)
        return path

    def run_in(self, sc, cg, argv, timeout=90, tag="loader"):
        """argv in cgroup cg: a shell writes its own pid into cgroup.procs,
        then execs argv (same pid, so the loader starts inside)."""
        wrap = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', os.path.join(cg, "cgroup.procs")]
        return sc._run(wrap + argv, timeout, tag=tag)

    def close(self):
        problems = []
        for path in sorted(self.made, key=len, reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    try:
                        with open(os.path.join(path, "cgroup.procs")) as f:
                            pids = f.read().split()
                        for p in pids:
                            with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                                f.write(p)
                    except OSError:
                        pass
                    time.sleep(0.1)
            else:
                problems.append("could not remove %s" % path)
        return problems


def env_without_cluster():
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("KUBERNETES_", "MLWATCH_K8S_")) and k != "NODE_NAME"}
    e["PATH"] = SAFE_PATH
    return e


def slice_of(uid, qos="besteffort"):
    """The kubelet's systemd-driver slice of a pod (guaranteed: no QoS level)."""
    u = uid.replace("-", "_")
    if qos == "guaranteed":
        return "kubepods.slice/kubepods-pod%s.slice" % u
    return "kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (qos, qos, u)


def shell_alert(sc, loader_pid, timeout=8.0):
    if not sc.wait_rules(loader_pid, {"model-loader-shell"}, timeout):
        alerts, _ = sc.mon.read()
        raise TestFailure("no model-loader-shell alert for loader %d: %s"
                          % (loader_pid, summary(alerts)))
    alerts, _ = sc.mon.read()
    return [a for a in with_rule(alerts, "model-loader-shell")
            if get(a, "loader", "pid") == loader_pid][0]


def load_in(sc, cgs, cg, model, marker):
    ld = cgs.run_in(sc, cg, [PY, LOADER, "pickle", model]).expect_ok("loader in " + cg)
    sc.expect_file(marker)
    return ld


def test_container_and_pod_from_cgroup():
    """No cluster: the container id, runtime and pod UID from the cgroup's
    name alone, on the alert, the loader's incident and its inventory
    record; a process of a plain cgroup carries neither object."""
    cid = secrets.token_hex(32)
    uid = str(uuid.uuid4())
    cgs = Cgroups()
    try:
        with Scenario("podid-cg") as sc:
            m1 = sc.path("in-container")
            m2 = sc.path("plain")
            model = sc.make_model("pickle", "c/model.pkl", system="touch " + m1)
            twin = sc.make_model("pickle", "p/model.pkl", system="touch " + m2)
            sc.start(env=env_without_cluster())
            err = sc.mon.stderr_text()
            c = Checks("mlwatch stderr: %s" % err[-600:])
            c.true("containers and pods from the cgroup v2 hierarchy at %s " % cgs.root in err,
                   "no line naming the v2 mount %s" % cgs.root)
            c.true("pod names, namespaces and labels left out: not in a Kubernetes cluster" in err,
                   "no line saying the API's fields are left out")
            c.done()
            # made after mlwatch's first walk: the alert's lookup walks again
            cg = cgs.make(slice_of(uid) + "/cri-containerd-%s.scope" % cid)
            plain = cgs.make("system.slice/session-9.scope")
            ld = load_in(sc, cgs, cg, model, m1)
            tw = load_in(sc, cgs, plain, twin, m2)
            a = shell_alert(sc, ld.pid)
            b = shell_alert(sc, tw.pid)
            sc.wait_inventory(ld.pid)
            alerts = sc.stop()
            c = Checks(summary(alerts))
            c.eq(get(a, "process", "cgroup_id"), os.stat(cg).st_ino, "process.cgroup_id")
            c.eq(a.get("container"), {"id": cid, "runtime": "containerd"}, "alert container")
            c.eq(a.get("k8s"), {"pod_uid": uid}, "alert k8s (no API: the UID alone)")
            c.eq(get(b, "process", "cgroup_id"), os.stat(plain).st_ino, "twin process.cgroup_id")
            c.true("container" not in b and "k8s" not in b,
                   "a plain cgroup's alert names a container or pod: %r / %r"
                   % (b.get("container"), b.get("k8s")))
            inc = [i for i in sc.mon.incidents if get(i, "loader", "pid") == ld.pid]
            c.true(inc, "no incident for loader %d" % ld.pid)
            for i in inc:
                c.eq(get(i, "container", "id"), cid, "incident container.id")
                c.eq(get(i, "k8s", "pod_uid"), uid, "incident k8s.pod_uid")
            for i in [i for i in sc.mon.incidents if get(i, "loader", "pid") == tw.pid]:
                c.true("container" not in i and "k8s" not in i, "twin incident names a container")
            inv = [r for r in sc.mon.inventory if get(r, "process", "pid") == ld.pid]
            c.true(inv, "no inventory record for loader %d" % ld.pid)
            for r in inv:
                c.eq(get(r, "container", "id"), cid, "inventory container.id")
                c.eq(get(r, "k8s", "pod_uid"), uid, "inventory k8s.pod_uid")
            for r in [r for r in sc.mon.inventory if get(r, "process", "pid") == tw.pid]:
                c.true("container" not in r, "twin inventory record names a container")
            report = sc.mon.stderr_after_ready()
            c.true("mlwatch: cgroups: lookups=" in report, "no cgroups line in the exit report")
            c.true("mlwatch: pods:" not in report, "a pods line without a cluster")
            c.done()
    finally:
        left = cgs.close()
        if left:
            raise TestFailure("; ".join(left))


def test_in_its_own_cgroup_namespace():
    """mlwatch in a cgroup namespace of its own, as a DaemonSet pod is:
    /proc/PID/cgroup paths there are relative to its own group, but the v2
    mount it walks is the host's whole hierarchy, so the alert still names
    the container and the pod."""
    cid = secrets.token_hex(32)
    uid = str(uuid.uuid4())
    cgs = Cgroups()
    saved = os.environ.get("MLWATCH_BIN")
    try:
        with Scenario("podid-ns") as sc:
            marker = sc.path("marker")
            model = sc.make_model("pickle", "model.pkl", system="touch " + marker)
            own = cgs.make("system.slice/mlwatch.service")
            # its pid into its own group, then a new cgroup namespace rooted there
            wrapper = sc.write("mlwatch-in-cgns",
                               '#!/bin/sh\necho $$ > %s/cgroup.procs || exit 97\n'
                               'exec /usr/bin/unshare --cgroup %s "$@"\n' % (own, mlwatch_bin()),
                               0o755)
            os.environ["MLWATCH_BIN"] = wrapper
            sc.start(env=env_without_cluster())
            pid = sc.mon.proc.pid
            c = Checks("mlwatch stderr: %s" % sc.mon.stderr_text()[-600:])
            c.true(os.readlink("/proc/%d/ns/cgroup" % pid) != os.readlink("/proc/self/ns/cgroup"),
                   "mlwatch is not in a cgroup namespace of its own")
            with open("/proc/%d/cgroup" % pid) as f:
                c.true(own[len(cgs.root):] in f.read(), "mlwatch is not in %s" % own)
            err = sc.mon.stderr_text()
            c.true("containers and pods from the cgroup v2 hierarchy at %s " % cgs.root in err,
                   "no line naming the v2 mount %s" % cgs.root)
            # the whole hierarchy, not only mlwatch's own group: identity for
            # every process, and the network hooks on every process too
            c.true("a part of it only" not in err, "the mount was taken for a part")
            c.true("skipping cgroup/" not in err, "the cgroup hooks were skipped")
            c.done()
            cg = cgs.make(slice_of(uid) + "/cri-containerd-%s.scope" % cid)
            ld = load_in(sc, cgs, cg, model, marker)
            a = shell_alert(sc, ld.pid)
            sc.stop()
            c = Checks("alert %r" % a)
            c.eq(a.get("container"), {"id": cid, "runtime": "containerd"}, "alert container")
            c.eq(a.get("k8s"), {"pod_uid": uid}, "alert k8s")
            c.done()
    finally:
        if saved is None:
            os.environ.pop("MLWATCH_BIN", None)
        else:
            os.environ["MLWATCH_BIN"] = saved
        left = cgs.close()
        if left:
            raise TestFailure("; ".join(left))


def test_seeded_loader_seen_from_a_cgroup_namespace():
    """A loader in a pod's containerd cgroup holds its model before
    mlwatch starts; mlwatch, in a cgroup namespace of its own (a DaemonSet
    pod), finds it in /proc at start. There the loader's /proc/PID/cgroup
    reads "/../..." (above mlwatch's namespace), yet the seeded model's
    inventory record and the loader's incident carry the cgroup id the
    kernel gives (the one on the shell it runs afterwards), so they name
    the container and the pod."""
    cid = secrets.token_hex(32)
    uid = str(uuid.uuid4())
    want_c, want_k = {"id": cid, "runtime": "containerd"}, {"pod_uid": uid}
    cgs = Cgroups()
    saved = os.environ.get("MLWATCH_BIN")
    try:
        with Scenario("podid-seed-ns") as sc:
            h = Holders(sc)
            try:
                model = sc.make_model("pickle", "held/model.pkl", system="true")
                cg = cgs.make(slice_of(uid) + "/cri-containerd-%s.scope" % cid)
                own = cgs.make("system.slice/mlwatch.service")
                pid, _, mark = h.start("seeded", "fd", model)
                with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
                wrapper = sc.write("mlwatch-in-cgns",
                                   '#!/bin/sh\necho $$ > %s/cgroup.procs || exit 97\n'
                                   'exec /usr/bin/unshare --cgroup %s "$@"\n'
                                   % (own, mlwatch_bin()), 0o755)
                os.environ["MLWATCH_BIN"] = wrapper
                sc.start(env=env_without_cluster())
                with open("/proc/%d/cgroup" % pid) as f:
                    seen = f.read()
                h.trigger([mark])
                a = shell_alert(sc, pid, timeout=10)
                sc.wait_inventory(pid)
            finally:
                h.stop()
            sc.stop()
            c = Checks("alert %r" % a)
            c.true(cg[len(cgs.root):] in seen, "the loader is not in %s: %s" % (cg, seen))
            c.eq(a.get("container"), want_c, "alert container (the kernel's cgroup id)")
            c.eq(a.get("k8s"), want_k, "alert k8s")
            inv = [r for r in sc.mon.inventory if get(r, "process", "pid") == pid]
            c.true(inv, "no inventory record for the seeded loader %d" % pid)
            for r in inv:
                c.eq(r.get("container"), want_c, "seeded inventory container")
                c.eq(r.get("k8s"), want_k, "seeded inventory k8s")
            inc = [i for i in sc.mon.incidents if get(i, "loader", "pid") == pid]
            c.true(inc, "no incident for the seeded loader %d" % pid)
            for i in inc:
                c.eq(i.get("container"), want_c, "incident container")
                c.eq(i.get("k8s"), want_k, "incident k8s")
            c.done()
    finally:
        if saved is None:
            os.environ.pop("MLWATCH_BIN", None)
        else:
            os.environ["MLWATCH_BIN"] = saved
        left = cgs.close()
        if left:
            raise TestFailure("; ".join(left))


def test_pod_names_from_api_standin():
    """The API stand-in lists two pods (two pages), then the watch modifies
    pod A's labels, deletes it, and ends with a 410 ERROR event; the
    re-list no longer has A, the next watch is answered 410 outright, the
    third list brings B and C and its watch adds D. A loader in A's
    containerd cgroup is named with A's name, namespace and newest labels
    (a deleted pod is kept for late records); one in D's CRI-O cgroup with
    D's. Every request carried the token and this node's field selector,
    and every watch resumed from the newest version. Every record's host
    is NODE_NAME (in a pod the host name is the pod's)."""
    token = secrets.token_urlsafe(32)
    ua, ub, uc, ud = (str(uuid.uuid4()) for _ in range(4))
    ca_, cd = secrets.token_hex(32), secrets.token_hex(32)
    pa1 = pod(ua, "trainer-0", "ml-team", {"app": "trainer", "version": "v1"}, NODE)
    pa2 = pod(ua, "trainer-0", "ml-team", {"app": "trainer", "version": "v2"}, NODE)
    pb = pod(ub, "serve-1", "ml-team", {"app": "serve"}, NODE)
    pc = pod(uc, "other", "default", {}, NODE)
    pd = pod(ud, "notebook-7", "research", {"app.kubernetes.io/name": "jupyter"}, NODE)
    lists = [[pa1, pb, pc], [pb], [pb, pc]]
    watches = [[("MODIFIED", pa2), ("BOOKMARK",), ("DELETED", pa2), ("ERROR", 410)],
               [("STATUS", 410)],
               [("ADDED", pd), ("HOLD",)]]
    cgs = Cgroups()
    try:
        with Scenario("podid-api") as sc:
            certs = Certs(sc.path("pki"))
            tok_file = sc.write("sa/token", token + "\n", 0o600)
            ma, md = sc.path("in-a"), sc.path("in-d")
            model_a = sc.make_model("pickle", "a/model.pkl", system="touch " + ma)
            model_d = sc.make_model("pickle", "d/model.pkl", system="touch " + md)
            with KubeAPI(certs, token, NODE, lists, watches) as api:
                env = env_without_cluster()
                env.update({"MLWATCH_K8S_API": api.url, "MLWATCH_K8S_TOKEN_FILE": tok_file,
                            "MLWATCH_K8S_CA_FILE": certs.ca_file, "NODE_NAME": NODE})
                sc.start(env=env)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    w = api.requests("watch")
                    if api.full_lists() >= 3 and len(w) >= 3 and "HOLD" in w[2].sent:
                        break
                    time.sleep(0.05)
                else:
                    raise TestFailure("the stand-in never got to its third watch: %r"
                                      % api.requests())
                cga = cgs.make(slice_of(ua, "burstable") + "/cri-containerd-%s.scope" % ca_)
                cgd = cgs.make(slice_of(ud, "guaranteed") + "/crio-%s.scope" % cd)
                la = load_in(sc, cgs, cga, model_a, ma)
                ldd = load_in(sc, cgs, cgd, model_d, md)
                a = shell_alert(sc, la.pid)
                d = shell_alert(sc, ldd.pid)
                alerts = sc.stop()
                reqs = api.requests()
                c = Checks("requests %r" % reqs)
                c.true(not api.problems(), "the stand-in saw: %s" % api.problems()[:6])
                c.eq(a.get("container"), {"id": ca_, "runtime": "containerd"}, "A's container")
                c.eq(a.get("k8s"), {"pod_uid": ua, "pod": "trainer-0", "namespace": "ml-team",
                                    "labels": {"app": "trainer", "version": "v2"}},
                     "A's k8s (deleted, its last labels)")
                c.eq(d.get("container"), {"id": cd, "runtime": "cri-o"}, "D's container")
                c.eq(d.get("k8s"), {"pod_uid": ud, "pod": "notebook-7", "namespace": "research",
                                    "labels": {"app.kubernetes.io/name": "jupyter"}},
                     "D's k8s (added by the watch)")
                for i in sc.mon.incidents:
                    if get(i, "loader", "pid") == la.pid:
                        c.eq(get(i, "k8s", "pod"), "trainer-0", "A's incident k8s.pod")
                        c.eq(i.get("host"), NODE, "A's incident host (NODE_NAME)")
                c.eq(a.get("host"), NODE, "host is NODE_NAME, not the host name")
                c.eq(api.full_lists(), 3, "full lists (a 410 event, then a 410 answer)")
                c.true(any("continue" in r.query for r in api.requests("list")),
                       "the paged list was not followed (no continue request)")
                c.eq([r.sent[-1] for r in api.requests("watch")][:3],
                     ["ERROR", "STATUS 410", "HOLD"], "how the watches ended")
                report = sc.mon.stderr_after_ready()
                c.true("mlwatch: pods: lists=3 " in report and " expired_410=2 " in report,
                       "the exit report's pods line: %s"
                       % [l for l in report.splitlines() if "pods:" in l])
                c.true("watching the pods of node %s at %s" % (NODE, api.url)
                       in sc.mon.stderr_text(), "no start-up line for the watch")
                blob = sc.mon.stderr_text() + open(sc.mon.output).read()
                c.true(token not in blob, "the token was printed")
                c.done()
    finally:
        left = cgs.close()
        if left:
            raise TestFailure("; ".join(left))


def test_k8s_api_settings_checked():
    """A wrong API setting stops mlwatch with a message naming it."""
    with Scenario("podid-bad") as sc:
        env = env_without_cluster()
        env.update({"MLWATCH_K8S_API": "http://127.0.0.1:1", "NODE_NAME": NODE})
        try:
            sc.start(env=env)
        except TestFailure as e:
            if "rc 2" not in str(e):
                raise
        else:
            raise TestFailure("mlwatch started with MLWATCH_K8S_API=http://...")
        err = sc.mon.stderr_text()
        if "MLWATCH_K8S_API must be an https:// URL" not in err:
            raise TestFailure("no message naming MLWATCH_K8S_API: %s" % err[-400:])
        sc.mon.rc = sc.mon.proc.returncode
