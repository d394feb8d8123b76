"""mlwatch in its own cgroup namespace, as a DaemonSet pod runs it.

The sock_addr hooks (connects, datagram sends) must go on the root of the
cgroup v2 hierarchy, or they see only the pod. Inside a cgroup namespace
mountinfo cannot tell: a cgroup2 mount of the namespace shows "/" but holds
only the pod, and the host's hierarchy mounted in (deploy/'s hostPath of
/sys/fs/cgroup) shows "/..". Each test moves mlwatch into a cgroup of its
own under the v2 root, unshares the cgroup namespace there and checks where
the hooks went (bpftool) and, with the host's hierarchy mounted, that a
datagram sent from outside mlwatch's cgroup is seen.
"""
import json
import os
import subprocess

from harness import Checks, Scenario, TestFailure, get, require_rules, summary, with_rule

HOOKS = {"handle_connect4", "handle_connect6", "handle_sendmsg4", "handle_sendmsg6"}


def _v2_root():
    """The cgroup2 mount of the whole hierarchy, as this (init-namespace)
    process sees it: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 ") and left.split()[3] == "/":
                return left.split()[4]
    raise TestFailure("no cgroup v2 hierarchy is mounted here")


def _bpftool(*args):
    r = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise TestFailure("bpftool %s: %s" % (" ".join(args), r.stderr.strip()[-300:]))
    return json.loads(r.stdout.strip() or "[]")


def _attached(cgroup, prog_ids):
    """Names of the programs among prog_ids attached directly at cgroup."""
    return {p.get("name") for p in _bpftool("cgroup", "show", cgroup) if p.get("id") in prog_ids}


def _hook_ids(pid):
    """Ids of the sock_addr programs that the process pid holds open (its
    fds' fdinfo names each program's id; another mlwatch may be running)."""
    held = set()
    fds = "/proc/%d/fd" % pid
    for fd in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        held.add(int(line.split()[1]))
        except OSError:
            continue
    return {p["id"] for p in _bpftool("prog", "show") if p.get("name") in HOOKS and p["id"] in held}


def _in_own_cgroupns(name, fresh_mount):
    """A scenario whose mlwatch runs in cgroup <v2>/<name> with a cgroup
    namespace rooted there. fresh_mount: the v2 mount point is replaced, in
    a mount namespace of mlwatch's own, by a cgroup2 mount of that
    namespace (what a container runtime gives a pod); else the host's
    hierarchy stays mounted (what deploy/ mounts)."""
    root = _v2_root()
    cg = os.path.join(root, "%s-%d" % (name, os.getpid()))
    os.mkdir(cg)
    sc = Scenario(name)
    if fresh_mount:
        run = ("exec unshare --cgroup --mount sh -c 'umount %s && mount -t cgroup2 none %s && "
               "exec \"$0\" \"$@\"' %s \"$@\"" % (root, root, _mlwatch()))
    else:
        run = "exec unshare --cgroup %s \"$@\"" % _mlwatch()
    return sc, cg, "#!/bin/sh\necho $$ > %s/cgroup.procs\n%s\n" % (cg, run)


def _mlwatch():
    from harness import mlwatch_bin
    return mlwatch_bin()


def _start_wrapped(sc, wrapper_text, extra_args):
    wrapper = sc.write("mlwatch-in-cgroupns", wrapper_text, mode=0o755)
    old = os.environ.get("MLWATCH_BIN")
    os.environ["MLWATCH_BIN"] = wrapper
    try:
        sc.start(sentinel=True, extra_args=extra_args)
    finally:
        if old is None:
            del os.environ["MLWATCH_BIN"]
        else:
            os.environ["MLWATCH_BIN"] = old


def test_hooks_on_host_root_from_a_cgroup_namespace():
    """The host's hierarchy mounted into the namespace ("/.." in mountinfo):
    the hooks go on its root, and a UDP send by a loader outside mlwatch's
    cgroup is alerted."""
    sc, cg, wrapper = _in_own_cgroupns("cgns-host", fresh_mount=False)
    try:
        with sc:
            code = ("import socket\n"
                    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "s.sendto(b'exfil', ('127.0.0.1', 9))\n"
                    "open(%r, 'w').close()\n" % sc.path("MARK"))
            model = sc.make_model("pickle", "model.pkl", exec_code=code)
            _start_wrapped(sc, wrapper, ["-v"])
            ids = _hook_ids(sc.mon.proc.pid)
            at_root, at_own = _attached(_v2_root(), ids), _attached(cg, ids)
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.expect_file(sc.path("MARK"))
            sc.wait_rules(ld.pid, {"model-loader-external-connect"})
            sc.liveness_sentinel()
            log = sc.mon.stderr_text()
            alerts = sc.stop()
            mine = require_rules(sc, alerts, ld.pid, {"model-loader-external-connect"})
            c = Checks("cgroupns host mount " + summary(mine))
            c.eq(len(ids), len(HOOKS), "sock_addr programs mlwatch holds")
            c.eq(at_root, HOOKS, "hooks attached at the hierarchy's root")
            c.eq(at_own, set(), "hooks attached at mlwatch's own cgroup")
            c.true("skipping cgroup/" not in log, "a cgroup hook was skipped: %s" % log[-400:])
            sends = [a for a in with_rule(mine, "model-loader-external-connect")
                     if get(a, "event", "kind") == "send"]
            c.true(sends, "the loader's datagram was not seen: %s" % summary(mine))
            c.done()
    finally:
        os.rmdir(cg)


def test_namespace_mount_is_not_taken_for_the_root():
    """Only the namespace's own cgroup2 mount ("/" in mountinfo, holding
    just mlwatch's cgroup): the hooks are skipped, said at start, never
    attached where they would see only mlwatch's own pod."""
    sc, cg, wrapper = _in_own_cgroupns("cgns-fresh", fresh_mount=True)
    try:
        with sc:
            _start_wrapped(sc, wrapper, [])
            ids = _hook_ids(sc.mon.proc.pid)
            at_own = _attached(cg, ids)
            sc.liveness_sentinel()
            log = sc.mon.stderr_text()
            sc.stop()
            c = Checks("cgroupns fresh mount")
            c.eq(at_own, set(), "hooks attached at mlwatch's own cgroup")
            c.eq(ids, set(), "sock_addr programs loaded")
            for hook in ("connect4", "connect6", "sendmsg4", "sendmsg6"):
                c.true("skipping cgroup/%s: no mount of the whole cgroup v2 hierarchy" % hook
                       in log,
                       "no skip message for cgroup/%s: %s" % (hook, log[-400:]))
            c.done()
    finally:
        os.rmdir(cg)
