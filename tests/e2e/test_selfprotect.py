"""Self-protection: what another process does to mlwatch itself is alerted,
naming that process, while mlwatch goes on working.

Each test acts on the running mlwatch from a process of its own (Python's
ctypes calling bpf(), ptrace(), process_vm_readv(), pidfd_getfd(); a shell's
kill), waits for the alert that names it, and ends with the liveness
sentinel (a malicious pickle that must still raise model-loader-shell), so
a crashed or blinded mlwatch cannot pass. The acts leave mlwatch's state as
it was: a delete of a key no process has, a ptrace seize dropped when its
tracer exits, a read of a few bytes, a copy of its /dev/null. The link test
really detaches a sensor, and stops mlwatch after.

Threat model: docs/threat-model.md §3.4.
"""
import json
import os
import re
import subprocess

from harness import Checks, Scenario, TestFailure, get, real, summary

# x86_64 and aarch64 numbers of the calls the actors make
SYSCALLS = {
    "x86_64": {"bpf": 321, "ptrace": 101, "process_vm_readv": 310, "pidfd_open": 434,
               "pidfd_getfd": 438},
    "aarch64": {"bpf": 280, "ptrace": 117, "process_vm_readv": 270, "pidfd_open": 434,
                "pidfd_getfd": 438},
}

# Imported by every actor script: bpf() and friends through ctypes.
ACTOR_LIB = r'''
import ctypes, os, re, struct, sys
NR = %(nr)r
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def sysc(name, *args):
    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(a) for a in args])
    return r, ctypes.get_errno()

def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    return sysc("bpf", cmd, ctypes.addressof(buf), 128)

def fdinfo_ids(pid, key):
    out = []
    for fd in os.listdir("/proc/%%d/fdinfo" %% pid):
        try:
            t = open("/proc/%%d/fdinfo/%%s" %% (pid, fd)).read()
        except OSError:
            continue
        m = re.search(r"^%%s:\s*(\d+)" %% key, t, re.M)
        if m:
            out.append(int(m.group(1)))
    return out

def map_name(fd):
    info = ctypes.create_string_buffer(96)
    attr = struct.pack("IIQ", fd, 96, ctypes.addressof(info))
    r, e = bpf(15, attr)          # BPF_OBJ_GET_INFO_BY_FD
    if r < 0:
        return None
    return info.raw[24:40].split(b"\0")[0].decode()
'''


def actor(sc, body):
    nr = SYSCALLS.get(os.uname().machine)
    if not nr:
        raise TestFailure("no syscall numbers for %s in this test" % os.uname().machine)
    r = sc.run_script(ACTOR_LIB % {"nr": nr} + body, timeout=30)
    if r.rc != 0:
        raise TestFailure("actor script failed (rc %s): %s %s" % (r.rc, r.out[-300:], r.err[-600:]))
    return r


def self_alerts(alerts, pid=None, rule=None):
    return [a for a in alerts if get(a, "event", "kind") == "self"
            and (pid is None or get(a, "process", "pid") == pid)
            and (rule is None or get(a, "rule", "id") == rule)]


def wait_self(sc, pid, rule, pred=lambda a: True, timeout=5.0):
    """The alerts of rule naming pid for which pred holds, once there are any."""
    hits = []

    def ready(al):
        hits[:] = [a for a in self_alerts(al, pid, rule) if pred(a)]
        return bool(hits)

    sc.wait_alerts(ready, timeout)
    return hits


def check_actor(c, a, pid, exe, what):
    c.eq(get(a, "process", "pid"), pid, "%s: process.pid" % what)
    c.eq(real(get(a, "process", "exe")), real(exe), "%s: realpath(process.exe)" % what)
    c.true(isinstance(get(a, "process", "comm"), str) and get(a, "process", "comm"),
           "%s: process.comm missing" % what)
    c.true("T1562.001" in (a.get("tags") or []), "%s: tags %r lack T1562.001" % (what, a.get("tags")))
    c.eq(get(a, "event", "kind"), "self", "%s: event.kind" % what)


def fdinfo_ids(pid, key):
    """The ids (map_id, prog_id, link_id) of the BPF objects pid holds."""
    out = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                m = re.search(r"^%s:\s*(\d+)" % key, f.read(), re.M)
        except OSError:
            continue
        if m:
            out.add(int(m.group(1)))
    return out


def all_self(sc):
    alerts, _ = sc.mon.read()
    return summary(self_alerts(alerts), 12)


def test_map_write_by_another_process():
    """A delete from mlwatch's `marks` map by another process (of a key no
    process has: the attempt is the act) is mlwatch-tampered, critical,
    naming the caller and the map; opening the maps by id first is one
    mlwatch-inspected alert."""
    with Scenario("self-map") as sc:
        sc.start(sentinel=True)
        pid = sc.mon.proc.pid
        r = actor(sc, r'''
target = %d
done = None
for mid in fdinfo_ids(target, "map_id"):
    fd, e = bpf(14, struct.pack("III", mid, 0, 0))      # BPF_MAP_GET_FD_BY_ID
    if fd >= 0 and map_name(fd) == "marks":
        key = ctypes.create_string_buffer(struct.pack("I", 0xffffffff))
        rc, e = bpf(3, struct.pack("IIQ", fd, 0, ctypes.addressof(key)))  # BPF_MAP_DELETE_ELEM
        done = (mid, rc, e)
        break
print("DELETED", done)
''' % pid)
        m = re.search(r"DELETED \((\d+), (-?\d+), (\d+)\)", r.out)
        if not m:
            raise TestFailure("the actor found no map named marks among mlwatch's: %r" % r.out)
        mid = int(m.group(1))
        c = Checks("actor pid %d, map id %d; self alerts %s" % (r.pid, mid, all_self(sc)))
        c.eq(int(m.group(3)), 2, "the delete's errno (ENOENT: no such key, nothing changed)")
        hits = wait_self(sc, r.pid, "mlwatch-tampered")
        if c.true(len(hits) == 1, "want one mlwatch-tampered alert for pid %d, got %d"
                  % (r.pid, len(hits))):
            a = hits[0]
            check_actor(c, a, r.pid, "/usr/bin/python3", "tampered")
            c.eq(a.get("severity"), "critical", "severity")
            c.eq(get(a, "event", "op"), "bpf", "event.op")
            c.eq(get(a, "event", "command"), "BPF_MAP_DELETE_ELEM", "event.command")
            c.eq(get(a, "event", "object"), {"type": "map", "id": mid, "name": "marks"},
                 "event.object")
            c.true(any(x.endswith(".py") for x in get(a, "process", "args") or []),
                   "process.args %r lack the actor's script" % get(a, "process", "args"))
        ins = wait_self(sc, r.pid, "mlwatch-inspected")
        c.true(len(ins) == 1, "want one mlwatch-inspected alert for the opens by id, got %d"
               % len(ins))
        if ins:
            c.eq(ins[0].get("severity"), "low", "inspected severity")
            c.eq(get(ins[0], "event", "command"), "BPF_MAP_GET_FD_BY_ID", "inspected command")
        sc.liveness_sentinel()
        sc.stop()
        c.done()


def test_bpftool_show_is_not_a_high_alert():
    """The benign twin: `bpftool prog show` (and map, link) opens every
    program by id, mlwatch's too. That is one low mlwatch-inspected alert
    per bpftool run (seen: the positive control), nothing high."""
    with Scenario("self-bpftool") as sc:
        sc.start(sentinel=True)
        runs = []
        for what in ("prog", "map", "link"):
            r = sc._run(["bpftool", what, "show"], 30, tag="bpftool")
            if r.rc != 0 or (what == "prog" and "handle_" not in r.out):
                raise TestFailure("bpftool %s show failed (rc %s): %s" % (what, r.rc, r.err[-300:]))
            runs.append((what, r.pid))
        c = Checks("self alerts %s" % all_self(sc))
        for what, pid in runs:
            hits = wait_self(sc, pid, "mlwatch-inspected")
            c.true(len(hits) == 1, "bpftool %s show (pid %d): want one mlwatch-inspected alert, "
                   "got %d" % (what, pid, len(hits)))
            for a in hits:
                check_actor(c, a, pid, "/usr/sbin/bpftool", "bpftool %s show" % what)
                c.eq(a.get("severity"), "low", "bpftool %s show: severity" % what)
        sc.liveness_sentinel()
        alerts = sc.stop()
        high = [a for a in alerts if get(a, "process", "pid") in {p for _, p in runs}
                and a.get("severity") in ("high", "critical")]
        c.true(not high, "bpftool show raised %s" % summary(high))
        c.done()


def test_signals_name_the_sender():
    """kill -HUP (a rules reload) is a low alert, kill -STOP then -CONT a high
    one, each naming the shell that sent it; mlwatch reloads, resumes and
    still alerts. The harness's own SIGINT at the end is
    mlwatch-stop-requested, written before mlwatch drained and exited."""
    with Scenario("self-signal") as sc:
        sc.start(sentinel=True)
        pid = sc.mon.proc.pid
        hup = sc._run(["/bin/sh", "-c", "kill -HUP %d" % pid], 10, tag="kill")
        stop = sc._run(["/bin/sh", "-c", "kill -STOP %d; sleep 0.3; kill -CONT %d" % (pid, pid)],
                       10, tag="kill")
        c = Checks("self alerts %s" % all_self(sc))
        c.eq((hup.rc, stop.rc), (0, 0), "the kill shells' exit status")
        got = wait_self(sc, hup.pid, "mlwatch-reload-requested")
        if c.true(len(got) == 1, "want one mlwatch-reload-requested for the HUP sender %d, got %d"
                  % (hup.pid, len(got))):
            check_actor(c, got[0], hup.pid, "/bin/sh", "SIGHUP")
            c.eq(got[0].get("severity"), "low", "SIGHUP: severity")
            c.eq((get(got[0], "event", "signal"), get(got[0], "event", "thread"),
                  get(got[0], "event", "origin")), ("SIGHUP", pid, "kill"), "SIGHUP: event")
        got = wait_self(sc, stop.pid, "mlwatch-signaled")
        if c.true(len(got) == 1, "want one mlwatch-signaled for the STOP sender %d, got %d"
                  % (stop.pid, len(got))):
            check_actor(c, got[0], stop.pid, "/bin/sh", "SIGSTOP")
            c.eq(got[0].get("severity"), "high", "SIGSTOP: severity")
            c.eq(get(got[0], "event", "signal"), "SIGSTOP", "SIGSTOP: event.signal")
        c.true(sc.wait_alerts(lambda al: "SIGHUP: reloaded" in sc.mon.stderr_after_ready()),
               "mlwatch did not say it reloaded its rules on SIGHUP")
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = self_alerts(alerts, os.getpid(), "mlwatch-stop-requested")
        if c.true(len(mine) == 1, "want one mlwatch-stop-requested naming the harness (pid %d), "
                  "got %s" % (os.getpid(), summary(self_alerts(alerts)))):
            c.eq((mine[0].get("severity"), get(mine[0], "event", "signal")), ("medium", "SIGINT"),
                 "stop: severity and signal")
        c.done()


def test_ptrace_and_memory_access_alert():
    """PTRACE_SEIZE of one of mlwatch's threads, process_vm_readv of its
    memory, pidfd_getfd of its fd 0: each is mlwatch-traced, naming the
    caller and the thread. The tracer exits, which detaches it."""
    with Scenario("self-trace") as sc:
        sc.start(sentinel=True)
        pid = sc.mon.proc.pid
        r = actor(sc, r'''
target = %d
tids = sorted(int(t) for t in os.listdir("/proc/%%d/task" %% target))
tid = ([t for t in tids if t != target] or [target])[0]
rc, e = sysc("ptrace", 0x4206, tid, 0, 0)                   # PTRACE_SEIZE
print("SEIZE", tid, rc, e)
start = int(open("/proc/%%d/maps" %% target).readline().split("-")[0], 16)
buf = ctypes.create_string_buffer(16)
local = struct.pack("QQ", ctypes.addressof(buf), 16)
remote = struct.pack("QQ", start, 16)
lb, rb = ctypes.create_string_buffer(local), ctypes.create_string_buffer(remote)
rc, e = sysc("process_vm_readv", target, ctypes.addressof(lb), 1, ctypes.addressof(rb), 1, 0)
print("READV", rc, e)
pfd, e = sysc("pidfd_open", target, 0)
fd, e = sysc("pidfd_getfd", pfd, 0, 0)
print("GETFD", fd, e, os.readlink("/proc/self/fd/%%d" %% fd) if fd >= 0 else "")
''' % pid)
        seize = re.search(r"SEIZE (\d+) (-?\d+) (\d+)", r.out)
        c = Checks("actor pid %d output %r; self alerts %s" % (r.pid, r.out, all_self(sc)))
        if not seize:
            raise TestFailure("the actor did not try PTRACE_SEIZE: %r" % r.out)
        tid = int(seize.group(1))
        c.eq(int(seize.group(2)), 0, "PTRACE_SEIZE's result (root may trace root)")
        c.true("READV 16 0" in r.out, "process_vm_readv did not read 16 bytes")
        c.true("/dev/null" in r.out, "pidfd_getfd did not copy mlwatch's /dev/null")
        want = {"ptrace": ("request", "PTRACE_SEIZE", tid),
                "process_vm_readv": (None, None, pid),
                "pidfd_getfd": ("fd", 0, pid)}
        for op, (key, val, thread) in sorted(want.items()):
            got = wait_self(sc, r.pid, "mlwatch-traced", lambda a: get(a, "event", "op") == op)
            if not c.true(len(got) == 1, "want one mlwatch-traced %s alert, got %d"
                          % (op, len(got))):
                continue
            check_actor(c, got[0], r.pid, "/usr/bin/python3", op)
            c.eq(got[0].get("severity"), "high", "%s: severity" % op)
            c.eq(get(got[0], "event", "thread"), thread, "%s: event.thread" % op)
            if key:
                c.eq(get(got[0], "event", key), val, "%s: event.%s" % (op, key))
        sc.liveness_sentinel()
        sc.stop()
        c.done()


def test_link_detach_alerts_then_stop():
    """Detaching one of mlwatch's links (the cgroup connect hook) is
    mlwatch-tampered naming the link's program; the alert is written before
    the detach is done. mlwatch is stopped right after: it is then blind
    to that hook."""
    with Scenario("self-link") as sc:
        sc.start()
        pid = sc.mon.proc.pid
        links = json.loads(subprocess.run(["bpftool", "-j", "link", "show"], check=True,
                                          capture_output=True, timeout=30).stdout or "[]")
        progs = {p["id"]: p.get("name") for p in json.loads(subprocess.run(
            ["bpftool", "-j", "prog", "show"], check=True, capture_output=True,
            timeout=30).stdout or "[]")}
        mine = fdinfo_ids(pid, "link_id")
        target = [l["id"] for l in links if l["id"] in mine
                  and progs.get(l.get("prog_id")) == "handle_connect4"]
        if not target:
            raise TestFailure("mlwatch has no cgroup connect4 link to detach (no cgroup v2?): "
                              "links %s" % sorted(mine))
        r = actor(sc, r'''
fd, e = bpf(30, struct.pack("III", %d, 0, 0))            # BPF_LINK_GET_FD_BY_ID
rc, e = bpf(34, struct.pack("I", fd))                       # BPF_LINK_DETACH
print("DETACH", fd, rc, e)
''' % target[0])
        c = Checks("actor %d output %r; self alerts %s" % (r.pid, r.out, all_self(sc)))
        c.true(re.search(r"DETACH \d+ 0 ", r.out), "the link was not detached: %r" % r.out)
        got = wait_self(sc, r.pid, "mlwatch-tampered")
        if c.true(len(got) == 1, "want one mlwatch-tampered alert, got %d" % len(got)):
            check_actor(c, got[0], r.pid, "/usr/bin/python3", "link detach")
            c.eq(get(got[0], "event", "command"), "BPF_LINK_DETACH", "event.command")
            c.eq(get(got[0], "event", "object"),
                 {"type": "link", "id": target[0], "name": "handle_connect4"}, "event.object")
        sc.stop()
        c.done()
