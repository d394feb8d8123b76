"""No blind spot after a restart: processes that were running before mlwatch
started are marked from /proc at start, and what they do afterwards is
alerted and tied to their lineage's incident like anything the kernel saw.

Every holder below opens (or maps) its file and forks its child before
mlwatch starts, then waits for a trigger file; mlwatch starts; the trigger
makes each run the same shell. Holders of a model file (an fd, a mapping
with the fd closed, a child forked before the start) are named as loaders
with their model; a control-plane root by command line is a root; the
twins (a text file held open, a data-only safetensors file held open or
mapped, which the judge proves inert through the holder's own handle)
raise nothing for the same shell. The tests in test_pidns.py check that
mlwatch refuses to run where its PIDs would be wrong."""
import json
import os
import re
import struct
import subprocess
import time

from harness import (PY, Checks, Scenario, TestFailure, check_loader_fields, check_shell_exec,
                     for_loader, get, require_rules, summary, touching, with_rule)
from receivers.common import free_port, wait_until
from test_metrics import http_get, parse_metrics

# mode fd: holds the file open; map: maps it and keeps no fd; child:
# holds it open and forks, before mlwatch starts, the child that acts;
# read: reads a credential instead of running a shell (a root's action).
HOLDER = r'''
import ctypes, os, subprocess, sys, time
mode, path, trig, mark = sys.argv[1:5]
if mode == "map":
    # libc's mmap: Python's mmap module keeps a dup of the fd
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    fd = os.open(path, os.O_RDONLY)
    addr = libc.mmap(None, os.fstat(fd).st_size, 1, 2, fd, 0)  # PROT_READ, MAP_PRIVATE
    os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap failed")
    if any(os.path.realpath("/proc/self/fd/" + n) == os.path.realpath(path)
           for n in os.listdir("/proc/self/fd")):
        sys.exit("an fd still names the file")
elif mode != "read":
    f = open(path, "rb")
actor = os.fork() if mode == "child" else 0
if actor:
    print("READY %d" % actor, flush=True)
    os.waitpid(actor, 0)
    sys.exit(0)
if mode != "child":
    print("READY %d" % os.getpid(), flush=True)
end = time.monotonic() + 90
while not os.path.exists(trig) and time.monotonic() < end:
    time.sleep(0.05)
if mode == "read":
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
subprocess.run(["/bin/sh", "-c", "touch " + mark], check=True)
'''

SEED_RE = re.compile(r"^mlwatch: seeded (\d+) processes from /proc, marked (\d+) loaders "
                     r"\((\d+) roots\)$", re.M)


def _safetensors():
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 2, 3, 4)


class Holders:
    """Processes started before mlwatch, each stopped by its PID."""

    def __init__(self, sc):
        self.sc, self.procs, self.trig = sc, [], sc.path("TRIGGER")

    def start(self, name, mode, path, script=None, argv0=None):
        """Returns (holder pid, acting pid, marker path) once it holds."""
        mark = self.sc.path("MARK-" + name)
        script = script or self.sc.write("holder.py", HOLDER)
        p = subprocess.Popen([PY, script, mode, path, self.trig, mark], cwd=self.sc.dir,
                             env=self.sc.env(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        line = p.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            raise TestFailure("holder %s did not start: %r %s" % (name, line, p.stderr.read()))
        return p.pid, int(line[1]), mark

    def trigger(self, markers):
        open(self.trig, "w").close()
        for m in markers:
            self.sc.expect_file(m, timeout=15)

    def stop(self):
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _seed_line(sc):
    m = SEED_RE.search(sc.mon.stderr_text())
    if not m:
        raise TestFailure("no 'seeded ... marked ... loaders' line at start")
    return tuple(int(x) for x in m.groups())


def _required(sc, alerts, pid, rules):
    """require_rules, with what the walk at start said when it fails."""
    try:
        return require_rules(sc, alerts, pid, rules)
    except TestFailure as e:
        walk = [l for l in sc.mon.stderr_text().splitlines()
                if l.startswith(("mlwatch: seeded", "mlwatch: /proc walk", "mlwatch: WARNING"))]
        raise TestFailure("%s; at start: %s; verdicts: %s" % (e, walk, sc.judged())) from None


def _incident_of(sc, a, loader):
    """The alert names an incident, and that incident's records name the
    loader."""
    c = Checks("incident of %s" % get(a, "rule", "id"))
    inc = a.get("incident")
    c.true(isinstance(inc, str) and inc.startswith("mlw-"), "alert has no incident id: %r" % inc)
    recs = [i for i in sc.mon.incidents if i.get("incident") == inc]
    c.true(recs, "no incident record %s" % inc)
    for r in recs:
        c.eq(get(r, "loader", "pid"), loader, "incident loader.pid")
    c.done()


def test_restart_loader_holding_model_is_watched():
    """A loader holding a model open, one whose child (forked before the
    start) acts, and a control-plane root by command line: all started
    before mlwatch; their shells and the root's credential read afterwards
    are alerts in their incidents. The twin holding a text file does the
    same and raises nothing."""
    with Scenario("restart") as sc:
        evil = sc.make_model("pickle", "fd/evil.pkl", system="true")
        kid_model = sc.make_model("pickle", "child/ckpt.pkl", system="true")
        notes = sc.write("twin/notes.txt", "not a model\n")
        cred = sc.fake_credentials()
        h = Holders(sc)
        try:
            fd_pid, _, fd_mark = h.start("fd", "fd", evil)
            kid_loader, kid_pid, kid_mark = h.start("child", "child", kid_model)
            twin_pid, _, twin_mark = h.start("twin", "fd", notes)
            # Ray's dashboard: a root by its command line
            server = sc.write("ray/dashboard/dashboard.py", HOLDER)
            root_pid, _, root_mark = h.start("root", "read", cred, script=server)
            sc.start(extra_args=["-v"])
            h.trigger([fd_mark, kid_mark, twin_mark, root_mark])
            sc.wait_rules(fd_pid, {"model-loader-shell"}, timeout=10)
            sc.wait_rules(kid_loader, {"model-loader-shell"}, timeout=10)
            sc.wait_rules(root_pid, {"root-credential-read"}, timeout=10)
        finally:
            h.stop()
        alerts = sc.stop()
        c = Checks("restart")
        seeded, loaders, roots = _seed_line(sc)
        # the fd holder, the child's holder and the child, the root
        c.true(loaders >= 3 and roots >= 1 and seeded >= 4,
               "start line says seeded %d, %d loaders (%d roots); want at least 4, 3 (1)"
               % (seeded, loaders, roots))

        mine = _required(sc, alerts, fd_pid, {"model-loader-shell"})
        a = [x for x in mine if get(x, "rule", "id") == "model-loader-shell"][0]
        check_loader_fields(a, fd_pid, evil, "pickle")
        check_shell_exec(a, ["/bin/sh", "-c", "touch " + fd_mark], parent=fd_pid,
                         ancestry_len=2)
        _incident_of(sc, a, fd_pid)

        # the child forked before mlwatch started is in its parent's lineage
        mine = _required(sc, alerts, kid_loader, {"model-loader-shell"})
        a = [x for x in mine if get(x, "rule", "id") == "model-loader-shell"][0]
        check_loader_fields(a, kid_loader, kid_model, "pickle")
        c.eq([get(e, "pid") for e in a.get("ancestry") or []][1:], [kid_pid, kid_loader],
             "ancestry above the shell")
        _incident_of(sc, a, kid_loader)

        rmine = [x for x in for_loader(alerts, root_pid)]
        c.true(any(get(x, "rule", "id") == "root-credential-read" for x in rmine),
               "the root's credential read raised nothing: %s" % summary(rmine))
        c.true(all(str(get(x, "rule", "id")).startswith("root-") for x in rmine),
               "model rules fired for a root that holds no model: %s" % summary(rmine))
        for x in rmine:
            _incident_of(sc, x, root_pid)

        near = touching(alerts, twin_pid)
        c.true(not near, "the twin holding a text file raised: %s" % summary(near))
        c.done()


def test_restart_mapped_and_inert_models():
    """A model only mapped (fd closed) before the start is found in maps
    and its holder is a loader; the same shell from a holder of a
    data-only safetensors file, mapped or held open, raises nothing: the
    judge proves it inert through the holder's own handle, as for an open
    the kernel saw."""
    with Scenario("restart-map") as sc:
        evil = sc.make_model("torch", "map/weights.pt", system="true")
        inert = sc.write("twin/weights.safetensors", _safetensors())
        inert_fd = sc.write("twin/held.safetensors", _safetensors())
        h = Holders(sc)
        try:
            map_pid, _, map_mark = h.start("map", "map", evil)
            tmap_pid, _, tmap_mark = h.start("twin-map", "map", inert)
            tfd_pid, _, tfd_mark = h.start("twin-fd", "fd", inert_fd)
            sc.start(extra_args=["-v"])
            h.trigger([map_mark, tmap_mark, tfd_mark])
            sc.wait_rules(map_pid, {"model-loader-shell"}, timeout=10)
        finally:
            h.stop()
        alerts = sc.stop()
        c = Checks("restart-map")
        mine = _required(sc, alerts, map_pid, {"model-loader-shell"})
        a = [x for x in mine if get(x, "rule", "id") == "model-loader-shell"][0]
        check_loader_fields(a, map_pid, evil, "torch-zip")
        _incident_of(sc, a, map_pid)
        judged = sc.judged()
        c.eq(judged.get(map_pid), {"may run code"}, "verdict on the mapped torch file")
        for pid, what in ((tmap_pid, "mapped"), (tfd_pid, "held open")):
            c.eq(judged.get(pid), {"inert"}, "verdict on the %s safetensors file" % what)
            near = touching(alerts, pid)
            c.true(not near, "the %s safetensors twin raised: %s" % (what, summary(near)))
        c.done()


# Holds open a model file whose path is longer than PATH_MAX (made level by
# level, relative to each directory): /proc/PID/fd will not name it.
DEEP_HOLDER = r"""
import os, sys, time
_, base, trig, mark = sys.argv[1:5]
fd = os.open(base, os.O_RDONLY)
for i in range(24):
    os.mkdir("d" * 200, dir_fd=fd)
    nfd = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
f = os.open("model.pkl", os.O_RDWR | os.O_CREAT, 0o600, dir_fd=fd)
os.write(f, b"\x80\x04K\x01.")
print("READY %d" % os.getpid(), flush=True)
end = time.monotonic() + 90
while not os.path.exists(trig) and time.monotonic() < end:
    time.sleep(0.05)
"""


def test_restart_walk_limits_are_said():
    """A process holding a file by a path longer than PATH_MAX before
    mlwatch starts: the walk cannot read that name, so it cannot tell a
    model. That is said at start as a sensor-proc-walk-incomplete alert
    where the alerts go, and exported in /metrics, not only on stderr."""
    with Scenario("restart-limits") as sc:
        base = sc.path("deep")
        os.mkdir(base)
        script = sc.write("deep_holder.py", DEEP_HOLDER)
        port = free_port()
        h = Holders(sc)
        try:
            pid, _, _ = h.start("deep", "deep", base, script=script)
            sc.start(extra_args=["--metrics-addr", "127.0.0.1:%d" % port])
            samples = {}

            def scraped():
                st, body = http_get(port, "/metrics")
                if st == 200 and "mlwatch_proc_walk_files" in body:
                    samples.update(parse_metrics(body))
                    return True
                return False
            got = wait_until(scraped, 10)
        finally:
            h.trigger([])
            h.stop()
        alerts = sc.stop()
        c = Checks("restart-limits")
        c.true(got, "no mlwatch_proc_walk_* in /metrics")
        unnamed = samples.get(("mlwatch_proc_walk_files", '{kind="unnamed"}'), 0)
        c.true(unnamed >= 1, "mlwatch_proc_walk_files{kind=\"unnamed\"} is %r" % unnamed)
        c.true(samples.get(("mlwatch_proc_walk_processes", '{state="listed"}'), 0) > 1,
               "mlwatch_proc_walk_processes{state=\"listed\"}")
        c.true(("mlwatch_proc_walk_duration_seconds", "") in samples, "no walk duration")
        told = with_rule(alerts, "sensor-proc-walk-incomplete")
        c.eq(len(told), 1, "sensor-proc-walk-incomplete alerts")
        for a in told:
            c.true(get(a, "sensor", "counts", "files_unnamed") == unnamed,
                   "the alert's files_unnamed %r, /metrics %r"
                   % (get(a, "sensor", "counts", "files_unnamed"), unnamed))
            c.true(a.get("severity") in ("medium", "high"), "severity %r" % a.get("severity"))
        c.true("/proc walk: %d open or mapped files with names" % unnamed
               in sc.mon.stderr_text(), "no WARNING line on stderr")
        c.true(samples.get(("mlwatch_alerts_total",
                            '{rule="sensor-proc-walk-incomplete",severity="%s"}'
                            % (told[0].get("severity") if told else "")), 0) == 1,
               "the alert is not counted by rule in /metrics")
        c.true(pid > 0, "holder")
        c.done()
