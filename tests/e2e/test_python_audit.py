"""Python audit events, end to end: what user space makes of the kernel's
records (test_pyprobe.py proves the marks themselves). With the real
/usr/bin/python3, torch, numpy and joblib:

- a pickle from a loopback socket is alerted by the global it imports
  (python-pickle-unsafe-import), its model is "memory", and the payload's
  shell is a later step of the same incident;
- loads that file-name marking cannot see (joblib's .pkl.gz, an mmap of a
  file with an unknown extension, a file renamed before loading) are
  alerted by name;
- gadgets a scanner's deny list may not know (pydoc.pipepager,
  _posixsubprocess.fork_exec) and indirection through builtins.getattr
  are named, with docs/python.md's severities;
- a marked process's in-process actions are python-* alerts;
- benign twins (torch.load, DataLoader workers, joblib, multiprocessing
  and concurrent.futures pools) raise nothing and mark nothing, a user's
  own classes mark without an alert;
- a Python chrooted into another mount namespace is alerted the same way.

Payloads only touch markers under the scenario's directory and connect to
127.0.0.1.
"""
import os
import re
import shutil
import time

from harness import (PY, Checks, Scenario, TestFailure, for_loader, get, shape_problems,
                     summary, with_rule)
from test_pyprobe import EVIL, run_py

RULE = "python-pickle-unsafe-import"

# Unpickles attacker bytes made in the process (no file): argv SHAPE
# MARKER. pipepager: pydoc.pipepager("", "touch M") runs a shell through
# subprocess; fork_exec: _posixsubprocess.fork_exec, CPython 3.11's
# arguments, starts /bin/sh itself (no subprocess.Popen audit event);
# getattr: builtins.getattr(builtins.__import__("os"), "system")("touch M").
GADGET = r'''
import os, pickle, pydoc, sys, _posixsubprocess
shape, marker = sys.argv[1], sys.argv[2]
cmd = "touch " + marker
r, w = os.pipe()
class G:
    def __init__(self, f, a):
        self.f, self.a = f, a
    def __reduce__(self):
        return (self.f, self.a)
if shape == "pipepager":
    data = pickle.dumps(G(pydoc.pipepager, ("", cmd)), protocol=2)
elif shape == "fork_exec":
    argv = [b"/bin/sh", b"-c", cmd.encode()]
    data = pickle.dumps(G(_posixsubprocess.fork_exec, (
        argv, [b"/bin/sh"], True, (w,), None, None, -1, -1, -1, -1, -1, -1, r, w,
        False, False, -1, None, None, None, -1, None, False)), protocol=2)
elif shape == "getattr":
    data = (b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V"
            + cmd.encode() + b"\ntR.")
else:
    raise SystemExit("unknown shape " + shape)
res = pickle.loads(data)
if shape == "fork_exec":
    os.waitpid(res, 0)
print("PID", os.getpid())
'''

# builtins.exec of a payload that does each in-process action once:
# os.system, subprocess.Popen, a loopback connect, ctypes.CDLL, compile and
# exec of source. argv: MARKER_DIR PORT.
ACTIONS = r'''
import os, pickle, sys
d, port = sys.argv[1], int(sys.argv[2])
code = """
import ctypes, os, socket, subprocess
os.system("touch %(d)s/system")
subprocess.Popen(["/bin/touch", "%(d)s/popen"]).wait()
s = socket.socket(); s.connect(("127.0.0.1", %(port)d)); s.close()
ctypes.CDLL("libc.so.6")
exec(compile("open('%(d)s/compiled', 'w').close()", "<mlw-e2e>", "exec"))
""" % {"d": d, "port": port}
class G:
    def __reduce__(self):
        return (exec, (code,))
pickle.loads(pickle.dumps(G()))
print("PID", os.getpid())
'''

# A file loaded three ways file-name marking cannot see; argv HOW PATH.
# mmap: read through a mapping, unpickled from it; renamed: the loader
# renames it to .txt first; joblib: joblib.load of a .pkl.gz.
FILE_LOAD = r'''
import mmap, os, pickle, sys
how, path = sys.argv[1], sys.argv[2]
if how == "mmap":
    with open(path, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    pickle.loads(m)
elif how == "renamed":
    txt = path + ".txt"
    os.rename(path, txt)
    with open(txt, "rb") as f:
        pickle.load(f)
elif how == "joblib":
    import joblib
    joblib.load(path)
print("PID", os.getpid())
'''


def find_alert(alerts, pid, module, name):
    return [a for a in with_rule(for_loader(alerts, pid), RULE)
            if get(a, "event", "module") == module and get(a, "event", "name") == name]


def check_import_alert(c, alerts, pid, module, name, severity, verdict, model_path="memory"):
    """The python-pickle-unsafe-import alert for module.name on pid."""
    hits = find_alert(alerts, pid, module, name)
    if not c.true(hits, "no %s alert naming %s.%s for pid %d (its alerts: %s)"
                  % (RULE, module, name, pid, summary(for_loader(alerts, pid)))):
        return None
    a = hits[0]
    c.extend(shape_problems(a), "%s.%s: " % (module, name))
    c.eq(a.get("severity"), severity, "%s.%s severity" % (module, name))
    c.eq(get(a, "event", "kind"), "python", "event.kind")
    c.eq(get(a, "event", "audit"), "pickle.find_class", "event.audit")
    c.eq(get(a, "event", "args"), [module, name], "event.args")
    c.eq(get(a, "event", "verdict"), verdict, "event.verdict")
    c.eq(get(a, "event", "kernel_flagged"), True, "event.kernel_flagged")
    c.eq(get(a, "process", "pid"), pid, "process.pid")
    c.eq(get(a, "loader", "model", "source"), "python", "loader.model.source")
    if model_path is not None:
        c.eq(get(a, "loader", "model", "path"), model_path, "loader.model.path")
    return a


def incidents_of(sc, pid):
    return [i for i in sc.mon.incidents if get(i, "loader", "pid") == pid]


def exit_py_counts(sc):
    """The exit report's python find_class line as a dict of ints."""
    m = re.search(r"^mlwatch: python find_class (.*)$", sc.mon.stderr_text(), re.M)
    if not m:
        raise TestFailure("no 'mlwatch: python find_class' line in the exit report")
    return {k: int(v) for k, v in re.findall(r"([\w-]+)=(\d+)", m.group(1))}


def wait_events(sc, pred, timeout=5.0):
    """mlwatch -v's events from marked processes for which pred holds,
    polled until there is one or timeout."""
    end = time.monotonic() + timeout
    while True:
        hits = [e for e in sc.events() if pred(e)]
        if hits or time.monotonic() >= end:
            return hits
        time.sleep(0.05)


def test_loopback_pickle_alert_and_incident():
    """posix.system unpickled from loopback bytes (no file): a critical
    alert names it with model "memory", the payload's shell carries the
    same incident id, and the timeline has the import before the shell."""
    with Scenario("pya-loopback") as sc:
        sc.start()
        marker = sc.path("PWNED")
        pid = run_py(sc, [PY, sc.write("evil.py", EVIL), marker, "0"])
        sc.expect_file(marker, "payload marker")
        sc.wait_alerts(lambda al: {RULE, "model-loader-shell"} <= {
            get(a, "rule", "id") for a in for_loader(al, pid)})
        alerts = sc.stop()
        c = Checks("pid %d; alerts %s" % (pid, summary(alerts)))
        a = check_import_alert(c, alerts, pid, "posix", "system", "critical", "denied")
        if a:
            c.eq(get(a, "loader", "model", "format"), "pickle", "loader.model.format")
        shells = with_rule(for_loader(alerts, pid), "model-loader-shell")
        c.true(shells, "no model-loader-shell alert for the payload's shell")
        inc = a and a.get("incident")
        c.true(isinstance(inc, str) and inc.startswith("mlw-"), "import alert incident %r" % inc)
        for s in shells:
            c.eq(s.get("incident"), inc, "shell alert's incident id")
            c.eq(get(s, "loader", "model", "source"), "python", "shell alert's model.source")
            c.eq(get(s, "loader", "model", "path"), "memory", "shell alert's model.path")
        recs = [r for r in sc.mon.incidents if r.get("incident") == inc]
        c.true(recs, "no incident record %s" % inc)
        if recs:
            steps = [s.get("step") for s in recs[-1].get("timeline") or []]
            c.true("python_import" in steps and "shell_exec" in steps
                   and steps.index("python_import") < steps.index("shell_exec"),
                   "timeline %s: want python_import before shell_exec" % steps)
            sums = [s.get("summary") for s in recs[-1].get("timeline") or []]
            c.true(any("posix.system" in (x or "") for x in sums),
                   "no timeline step names posix.system: %s" % sums)
        c.true(not sc.mon.inventory, "an inventory record for a pickle from memory: %s"
               % [get(r, "model", "path") for r in sc.mon.inventory])
        c.done()


def _file_loads(sc, extra_args=()):
    """joblib .pkl.gz, mmap of an unknown extension, renamed to .txt:
    each alerted by the global, on its own pid. Returns the checks."""
    marks = {h: sc.path("PWNED-" + h) for h in ("joblib", "mmap", "renamed")}
    files = {
        "joblib": sc.make_model("joblib-z", "m/clf.pkl.gz", system="touch " + marks["joblib"]),
        "mmap": sc.make_model("pickle", "m/blob.q7x", system="touch " + marks["mmap"]),
        "renamed": sc.make_model("pickle", "m/model.pkl", system="touch " + marks["renamed"]),
    }
    script = sc.write("fileload.py", FILE_LOAD)
    sc.start(extra_args=extra_args)
    pids = {}
    for how, path in files.items():
        pids[how] = run_py(sc, [PY, script, how, path], timeout=90)
        sc.expect_file(marks[how], "%s payload marker" % how)
    sc.wait_alerts(lambda al: all(find_alert(al, p, "posix", "system") for p in pids.values()))
    alerts = sc.stop()
    c = Checks("pids %s; alerts %s" % (pids, summary(alerts, 20)))
    for how, pid in pids.items():
        a = check_import_alert(c, alerts, pid, "posix", "system", "critical", "denied",
                               model_path=None)
        path = a and get(a, "loader", "model", "path")
        if how == "mmap":
            # the mapped file is no model by name: the load came "from memory"
            c.eq(path, "memory", "mmap load's loader.model.path")
        elif how == "joblib":
            # a model by name too (.pkl.gz): the alert names the file
            c.eq(path, files["joblib"], "joblib load's loader.model.path")
    return c


def test_marked_where_file_names_cannot():
    """joblib.load of a .pkl.gz, a pickle mmapped from a file with an
    unknown extension, a model renamed to .txt before pickle.load: each
    alerted by name."""
    with Scenario("pya-files") as sc:
        _file_loads(sc).done()


def test_marked_where_file_names_cannot_runtime_only():
    """The same with --no-scan: the runtime layer alone."""
    with Scenario("pya-files-noscan") as sc:
        _file_loads(sc, extra_args=["--no-scan"]).done()


def test_scanner_evading_gadgets_named():
    """pydoc.pipepager and _posixsubprocess.fork_exec (stdlib, on no deny
    list: high, verdict unsafe) and builtins.getattr (deny list: critical):
    each alerted by module and name; the shells they start are alerted
    under the same loader."""
    with Scenario("pya-gadgets") as sc:
        script = sc.write("gadget.py", GADGET)
        sc.start()
        pids = {}
        for shape in ("pipepager", "fork_exec", "getattr"):
            marker = sc.path("PWNED-" + shape)
            pids[shape] = run_py(sc, [PY, script, shape, marker])
            sc.expect_file(marker, "%s payload marker" % shape)
        want = {"pipepager": ("pydoc", "pipepager", "high", "unsafe"),
                "fork_exec": ("_posixsubprocess", "fork_exec", "high", "unsafe"),
                "getattr": ("builtins", "getattr", "critical", "denied")}
        sc.wait_alerts(lambda al: all(
            find_alert(al, pids[s], w[0], w[1]) and with_rule(for_loader(al, pids[s]),
                                                              "model-loader-shell")
            for s, w in want.items()))
        alerts = sc.stop()
        c = Checks("pids %s; alerts %s" % (pids, summary(alerts, 20)))
        for shape, (mod, name, sev, verdict) in want.items():
            check_import_alert(c, alerts, pids[shape], mod, name, sev, verdict)
            c.true(with_rule(for_loader(alerts, pids[shape]), "model-loader-shell"),
                   "%s: its shell was not alerted under the unpickler" % shape)
        c.true(find_alert(alerts, pids["getattr"], "builtins", "__import__"),
               "builtins.__import__ (the getattr gadget's other global) not named")
        c.done()


def test_in_process_actions():
    """A process marked by builtins.exec runs os.system, subprocess.Popen,
    a loopback connect, ctypes.CDLL, compile + exec: each is a python-*
    alert carrying event.audit and event.args."""
    with Scenario("pya-actions") as sc:
        lst = sc.listener()
        # loopback inside the internal set: the medium rule, not -external
        sc.start(extra_args=["--internal-net", "127.0.0.0/8"])
        d = sc.path("out")
        os.makedirs(d)
        pid = run_py(sc, [PY, sc.write("actions.py", ACTIONS), d, str(lst.port)])
        for f in ("system", "popen", "compiled"):
            sc.expect_file(os.path.join(d, f), "%s marker" % f)
        if not lst.wait(1):
            raise TestFailure("the payload never connected to the listener")
        want = {"python-os-system", "python-subprocess", "python-socket-connect",
                "python-ctypes", "python-exec-compile", RULE}
        sc.wait_alerts(lambda al: want <= {get(a, "rule", "id") for a in for_loader(al, pid)})
        alerts = sc.stop()
        mine = for_loader(alerts, pid)
        c = Checks("pid %d; alerts %s" % (pid, summary(mine, 20)))
        check_import_alert(c, alerts, pid, "builtins", "exec", "critical", "denied")

        def one(rule, audit, pred, what):
            hits = [a for a in with_rule(mine, rule) if get(a, "event", "audit") == audit]
            if not c.true(hits, "no %s alert for %s" % (rule, audit)):
                return None
            c.extend(shape_problems(hits[0]), "%s: " % rule)
            args = get(hits[0], "event", "args") or []
            c.true(any(pred(a) for a in hits), "%s %s: no alert with %s; args %r"
                   % (rule, audit, what, [get(a, "event", "args") for a in hits]))
            c.eq(get(hits[0], "process", "pid"), pid, "%s process.pid" % rule)
            return args
        one("python-os-system", "os.system",
            lambda a: get(a, "event", "args") == ["touch %s/system" % d], "the command")
        one("python-subprocess", "subprocess.Popen",
            lambda a: get(a, "event", "args", 0) == "/bin/touch"
            and "%s/popen" % d in (get(a, "event", "args", 1) or ""), "executable and argv")
        one("python-socket-connect", "socket.connect",
            lambda a: get(a, "event", "args") == ["127.0.0.1", str(lst.port)]
            and get(a, "event", "address") == "127.0.0.1"
            and get(a, "event", "port") == lst.port
            and get(a, "event", "dest_class") == "loopback", "127.0.0.1 and the port")
        one("python-ctypes", "ctypes.dlopen",
            lambda a: get(a, "event", "args") == ["libc.so.6"], "libc.so.6")
        one("python-exec-compile", "compile",
            lambda a: "<mlw-e2e>" in (get(a, "event", "args") or []), "the file name")
        c.true(any(get(a, "event", "audit") == "exec" for a in with_rule(mine, "python-exec-compile")),
               "the exec audit event was not alerted")
        sevs = {get(a, "rule", "id"): a.get("severity") for a in mine}
        c.eq(sevs.get("python-os-system"), "critical", "python-os-system severity")
        c.done()


# Written before mlwatch starts: a state_dict, a whole model of torch.nn
# modules, and a whole model of classes of the user's own module.
MAKE_TORCH = r'''
import sys, torch
sys.path.insert(0, sys.argv[1])
import mymodels
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
torch.save(net.state_dict(), sys.argv[1] + "/state.pt")
torch.save(net, sys.argv[1] + "/whole.pt")
torch.save(mymodels.Net(), sys.argv[1] + "/net.weights")
'''

MYMODELS = r'''
import torch
class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
    def forward(self, x):
        return self.lin(x)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
    def forward(self, x):
        return self.block(x)
'''

TORCH_LOADS = r'''
import os, sys, torch
d = sys.argv[1]
sd = torch.load(d + "/state.pt")
whole = torch.load(d + "/whole.pt", weights_only=False)
whole.load_state_dict(sd)
assert whole(torch.ones(1, 4)).shape == (1, 2)
print("PID", os.getpid())
'''

CUSTOM_LOAD = r'''
import os, subprocess, sys, torch
d = sys.argv[1]
sys.path.insert(0, d)
net = torch.load(d + "/net.weights", weights_only=False)
assert net(torch.ones(1, 4)).shape == (1, 4)
subprocess.run(["/bin/true"], check=True)
print("PID", os.getpid())
'''

POOLS = r'''
import concurrent.futures, multiprocessing, os
import joblib, torch
from torch.utils.data import DataLoader, TensorDataset

def f(x):
    return x * 2

if __name__ == "__main__":
    ds = TensorDataset(torch.arange(32, dtype=torch.float32).reshape(16, 2))
    n = sum(float(b[0].sum()) for b in DataLoader(ds, batch_size=4, num_workers=2))
    assert n == float(sum(range(32))), n
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(f)(i) for i in range(8)) == [2 * i for i in range(8)]
    assert joblib.Parallel(n_jobs=2)(joblib.delayed(lambda x: x + 1)(i) for i in range(8)) == list(range(1, 9))
    with multiprocessing.Pool(2) as p:
        assert p.map(f, range(8)) == [2 * i for i in range(8)]
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        assert list(ex.map(f, range(8))) == [2 * i for i in range(8)]
    print("PID", os.getpid())
'''


def test_benign_twins_silent():
    """torch.load of a state_dict and of a whole torch.nn model, DataLoader
    workers, joblib pools (a __main__ function, a lambda), a
    multiprocessing Pool, a ProcessPoolExecutor: no alert, and no global
    outside the allowlist (the exit report counts the globals judged). A
    whole model of the user's own classes: marked (its child is watched)
    without an alert, the python rules off for it. The liveness sentinel
    shows alerts were being delivered."""
    with Scenario("pya-benign") as sc:
        d = sc.path("models")
        os.makedirs(d)
        sc.write("models/mymodels.py", MYMODELS)
        r = sc._run([PY, sc.write("mk.py", MAKE_TORCH), d], 120, tag="mk")
        if r.rc != 0:
            raise TestFailure("making the torch models failed: %s" % r.err[-400:])
        sc.start(sentinel=True, extra_args=["-v"])
        loads = run_py(sc, [PY, sc.write("loads.py", TORCH_LOADS), d], timeout=90)
        pools = run_py(sc, [PY, sc.write("pools.py", POOLS)], timeout=120)
        custom = run_py(sc, [PY, sc.write("custom.py", CUSTOM_LOAD), d], timeout=90)
        # the custom twin is marked: its /bin/true runs under its mark
        seen = wait_events(sc, lambda e: e["kind"] == "exec" and e["loader"] == custom)
        sentinel = sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("pids loads=%d pools=%d custom=%d; alerts %s"
                   % (loads, pools, custom, summary(alerts, 20)))
        # not about the twins: the sentinel's own, the start-up walk's
        # blind spots, the harness's SIGINT to mlwatch
        others = [a for a in alerts if get(a, "loader", "pid") != sentinel
                  and get(a, "rule", "id") != "sensor-proc-walk-incomplete"
                  and not (get(a, "rule", "id") == "mlwatch-stop-requested"
                           and get(a, "process", "pid") == os.getpid())]
        c.true(not others, "benign twins raised alerts: %s" % summary(others, 20))
        c.true(seen, "the custom-class loader was not marked: its exec of /bin/true was "
                     "not sent as a marked process's")
        # the pools open no model file: any event sent as a marked
        # process's in their lineage is a mark by what they unpickled
        marked = [e for e in sc.events() if e["loader"] == pools]
        c.true(not marked, "the pools' lineage was marked: %s" % marked[:3])
        n = exit_py_counts(sc)
        c.true(n.get("allowed", 0) >= 20, "only %s allowed globals judged: the probe did not "
               "see the twins' unpickling" % n.get("allowed"))
        c.eq(n.get("custom"), 2, "custom globals (mymodels.Net, mymodels.Block)")
        c.eq(n.get("unsafe"), 0, "unsafe globals")
        c.eq(n.get("denied"), 1, "denied globals (the sentinel's posix.system only)")
        c.eq(n.get("allowed-here-flagged-by-kernel"), 0, "globals the kernel flagged, allowed here")
        c.eq(n.get("missed-by-kernel"), 0, "globals the kernel missed")
        c.done()


def test_chroot_in_own_mount_namespace():
    """/usr/bin/python3 chrooted into a bind mount of /usr inside a mount
    namespace of its own (the scenario's files bind-mounted at /work):
    its unpickled posix.system is alerted by name, and its shell is in the
    same incident."""
    if not shutil.which("unshare"):
        raise TestFailure("unshare(1) is missing")
    with Scenario("pya-chroot") as sc:
        sc.write("evil.py", EVIL)
        root = sc.path("root")
        for p in ("usr", "work", "tmp"):
            os.makedirs(os.path.join(root, p))
        for link in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink("/" + link):
                os.symlink(os.readlink("/" + link), os.path.join(root, link))
        inner = ("mount --bind /usr {r}/usr && mount -o remount,bind,ro {r}/usr && "
                 "mount --bind {d} {r}/work && exec chroot {r} /usr/bin/python3 "
                 "/work/evil.py /work/PWNED 0").format(r=root, d=sc.dir)
        sc.start()
        pid = run_py(sc, ["unshare", "-m", "--propagation", "private", "sh", "-c", inner])
        sc.expect_file(sc.path("PWNED"), "payload marker")
        sc.wait_alerts(lambda al: find_alert(al, pid, "posix", "system")
                       and with_rule(for_loader(al, pid), "model-loader-shell"))
        alerts = sc.stop()
        c = Checks("pid %d; alerts %s" % (pid, summary(alerts)))
        a = check_import_alert(c, alerts, pid, "posix", "system", "critical", "denied")
        shells = with_rule(for_loader(alerts, pid), "model-loader-shell")
        c.true(shells, "its shell was not alerted under the chrooted unpickler")
        c.true(a and all(s.get("incident") == a.get("incident") for s in shells),
               "the shell is not in the import's incident")
        c.true(os.path.ismount(os.path.join(root, "usr")) is False,
               "the bind mount leaked to the host's namespace")
        c.done()
