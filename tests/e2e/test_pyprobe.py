"""Python audit probes, the kernel part: a pickle.find_class of a global
outside the allowlist marks the process in the kernel before find_class
returns, whatever the pickle came from (here: bytes over a loopback TCP
socket, no file opened), so the payload's shell runs under the mark and
raises model-loader-shell with the unpickling process as loader. Benign
globals mark nothing. Interpreters are found at start, at exec (a copy of
the binary under another name, in a mount namespace of its own), and the
PySys_Audit uprobe is the fallback (MLWATCH_PY_FORCE_UPROBE=1, tests only).

These read what mlwatch does before the Python records are decoded and
alerted on their own (the user-space part): the marks, seen as the shell's
alert, and the start-up and exit lines.
"""
import os
import re
import shutil
import subprocess

from harness import PY, Checks, Scenario, TestFailure, for_loader, get, summary

INTERP = os.path.realpath(PY)

# Receives a pickle over loopback TCP and unpickles it. The payload calls
# os.system (posix.system), which runs /bin/sh -c "touch MARKER". DELAY:
# seconds to wait first (a new binary is attached from user space).
EVIL = r'''
import os, pickle, socket, sys, threading, time
marker, delay = sys.argv[1], float(sys.argv[2])
class P:
    def __reduce__(self):
        return (os.system, ("touch " + marker,))
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def send():
    c = socket.create_connection(srv.getsockname()); c.sendall(pickle.dumps(P())); c.close()
threading.Thread(target=send).start()
conn, _ = srv.accept()
data = b""
while True:
    b = conn.recv(65536)
    if not b:
        break
    data += b
time.sleep(delay)
pickle.loads(data)
print("PID", os.getpid())
'''

# Allowed globals only (plain data, OrderedDict, a __main__ function),
# then a shell of its own: nothing is marked, so the shell is not alerted.
BENIGN = r'''
import collections, os, pickle, sys
def f(x):
    return x
obj = {"a": collections.OrderedDict(b=1), "f": f, "s": {1, 2}}
for _ in range(50):
    assert pickle.loads(pickle.dumps(obj))["f"] is f
os.system("touch " + sys.argv[1])
print("PID", os.getpid())
'''


def run_py(sc, argv, timeout=60):
    r = sc._run(argv, timeout, tag="py")
    if r.rc != 0:
        raise TestFailure("%s failed (rc %s): %s" % (" ".join(argv[:2]), r.rc, r.err[-600:]))
    m = re.search(r"PID (\d+)", r.out)
    if not m:
        raise TestFailure("no PID line from %s: %r %r" % (argv[0], r.out, r.err[-300:]))
    return int(m.group(1))


def expect_shell(sc, pid, what):
    ok = sc.wait_alerts(lambda al: any(get(a, "rule", "id") == "model-loader-shell"
                                       for a in for_loader(al, pid)))
    alerts, _ = sc.mon.read()
    c = Checks("%s (pid %d); alerts %s" % (what, pid, summary(alerts)))
    c.true(ok, "%s: no model-loader-shell alert with the unpickling process %d as loader: "
              "it was not marked before its payload ran" % (what, pid))
    return c


def covered_line(sc, path_re, how):
    pat = re.compile(r"^mlwatch: python: %s.* \(3\.\d+, %s\)$" % (path_re, how), re.M)
    return pat.search(sc.mon.stderr_text())


def test_loopback_pickle_marks_before_the_shell():
    """posix.system unpickled from a loopback socket: marked by find_class,
    the payload's shell alerted with the unpickler as loader; the start-up
    line names the interpreter; the exit report counts the unsafe global."""
    with Scenario("py-loopback") as sc:
        sc.start()
        marker = sc.path("PWNED")
        pid = run_py(sc, [PY, sc.write("evil.py", EVIL), marker, "0"])
        sc.expect_file(marker, "payload marker")
        c = expect_shell(sc, pid, "loopback pickle")
        c.true(covered_line(sc, re.escape(INTERP), "usdt python:audit"),
               "no start-up line for %s through python:audit" % INTERP)
        sc.stop()
        m = re.search(r"python_unsafe_globals=(\d+)", sc.mon.stderr_text())
        c.true(m and int(m.group(1)) >= 1, "exit counters lack python_unsafe_globals >= 1")
        c.true(re.search(r"mlwatch: python: interpreters usdt=[1-9]", sc.mon.stderr_text()),
               "exit report lacks the interpreters line")
        c.done()


def test_benign_pickles_mark_nothing():
    """Allowed globals: the process is not marked, so its own shell is not
    a model-loader-shell; the probe did judge them (positive control)."""
    with Scenario("py-benign") as sc:
        sc.start()
        marker = sc.path("RAN")
        pid = run_py(sc, [PY, sc.write("benign.py", BENIGN), marker])
        sc.expect_file(marker, "benign shell marker")
        sc.wait_alerts(lambda al: False, 1.5)
        alerts = sc.stop()
        c = Checks("benign pid %d; alerts %s" % (pid, summary(alerts)))
        c.true(not for_loader(alerts, pid), "benign pickles marked the process: %s"
               % summary(for_loader(alerts, pid)))
        m = re.search(r"python_globals_judged=(\d+)", sc.mon.stderr_text())
        c.true(m and int(m.group(1)) >= 1, "the probe judged no global (not attached?)")
        c.done()


def test_copied_interpreter_found_at_exec():
    """A copy of the interpreter under another name (a new inode) started
    after mlwatch: found by its first exec, attached, and its unpickling
    marks it."""
    with Scenario("py-copy") as sc:
        sc.start()
        copy = sc.path("renamed-interp")
        shutil.copy2(INTERP, copy)
        marker = sc.path("PWNED")
        pid = run_py(sc, [copy, sc.write("evil.py", EVIL), marker, "1.5"])
        sc.expect_file(marker, "payload marker")
        c = expect_shell(sc, pid, "copied interpreter")
        c.true(covered_line(sc, re.escape(copy), "usdt python:audit"),
               "no line saying %s was attached" % copy)
        sc.stop()
        c.done()


def test_interpreter_in_another_mount_namespace():
    """A copy of the interpreter on a tmpfs mounted only inside an unshared
    mount namespace (the host cannot see the path): reached through
    /proc/PID/exe, attached, and its unpickling marks it."""
    if not shutil.which("unshare"):
        raise TestFailure("unshare(1) is missing")
    with Scenario("py-mntns") as sc:
        sc.start()
        marker = sc.path("PWNED")
        script = sc.write("evil.py", EVIL)
        mnt = sc.path("mnt")
        os.makedirs(mnt)
        inner = ("mount -t tmpfs mlw-py %s && cp %s %s/py3 && exec %s/py3 %s %s 1.5"
                 % (mnt, INTERP, mnt, mnt, script, marker))
        pid = run_py(sc, ["unshare", "-m", "--propagation", "private", "sh", "-c", inner])
        sc.expect_file(marker, "payload marker")
        c = expect_shell(sc, pid, "interpreter in its own mount namespace")
        c.true(covered_line(sc, re.escape(mnt + "/py3") + r" \(root of pid \d+\)|"
                            + re.escape(mnt + "/py3"), "usdt python:audit"),
               "no line saying %s/py3 was attached" % mnt)
        c.true(not os.path.exists(os.path.join(mnt, "py3")),
               "the tmpfs was visible from the host: the test proves nothing")
        sc.stop()
        c.done()


def test_uprobe_fallback():
    """MLWATCH_PY_FORCE_UPROBE=1 (tests only) attaches PySys_Audit instead
    of the USDT probe; the C unpickler's find_class goes through it, its
    variadic "OO" arguments are read from registers, and marking works."""
    with Scenario("py-uprobe") as sc:
        sc.start(env=dict(os.environ, MLWATCH_PY_FORCE_UPROBE="1"))
        c0 = covered_line(sc, re.escape(INTERP), "uprobe PySys_Audit")
        marker = sc.path("PWNED")
        pid = run_py(sc, [PY, sc.write("evil.py", EVIL), marker, "0"])
        sc.expect_file(marker, "payload marker")
        c = expect_shell(sc, pid, "uprobe fallback")
        c.true(c0, "no start-up line for %s through the PySys_Audit uprobe" % INTERP)
        sc.stop()
        # read from the registers and judged, not marked for being unreadable
        err = sc.mon.stderr_text()
        judged = re.search(r"python_globals_judged=(\d+)", err)
        unread = re.search(r"python_unreadable=(\d+)", err)
        c.true(judged and int(judged.group(1)) >= 1, "no global judged: arguments not read")
        c.true(unread and int(unread.group(1)) == 0,
               "arguments the uprobe could not read: %s" % (unread and unread.group(0)))
        c.done()


def test_no_probe_left_attached():
    """After mlwatch stops, none of its Python probes stay attached."""
    with Scenario("py-detach") as sc:
        sc.start()
        sc.stop()
        out = subprocess.run(["bpftool", "link", "show"], capture_output=True, text=True,
                             timeout=30).stdout
        progs = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True,
                               timeout=30).stdout
        c = Checks("bpftool")
        c.true("handle_py_audit" not in progs and "handle_py_sysau" not in progs,
               "a Python program outlived mlwatch: %s" % progs[-400:])
        c.true(out is not None, "bpftool link show failed")
        c.done()
