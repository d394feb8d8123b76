"""mlwatch refuses to start where the PIDs the kernel reports (the host's)
would name other processes or none: in a PID namespace of its own, with
that namespace's /proc or the host's, and in the host's namespace with a
/proc mounted from another one. Each refusal is exit code 8 with a message
saying what to do, before any BPF program is loaded. In the host's
namespace it starts (every other test; here with the start line checked)."""
import os
import shutil
import subprocess
import tempfile

from harness import Checks, Scenario, TestFailure, mlwatch_bin

EXIT_PIDNS = 8
TIMEOUT = 30


def _run(argv):
    out = tempfile.mkdtemp(prefix="mlwatch-e2e-pidns-", dir="/tmp")
    try:
        try:
            p = subprocess.run(argv + [mlwatch_bin(), "--json", "--output",
                                       os.path.join(out, "alerts.jsonl")],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise TestFailure("mlwatch was still running after %d s (killed): it did not "
                              "refuse; stderr: %r" % (TIMEOUT, (e.stderr or b"")[-400:]))
        return p.returncode, p.stderr, os.path.exists(os.path.join(out, "alerts.jsonl"))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _prog_ids():
    r = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True)
    return {l.split(":")[0] for l in r.stdout.splitlines() if "handle_" in l}


def _refused(argv, want):
    """--kill-child: a mlwatch that did not refuse goes with its unshare
    when the test gives up on it."""
    if not shutil.which("unshare"):
        raise TestFailure("unshare (util-linux) is needed")
    before = _prog_ids()
    rc, err, _ = _run(argv)
    c = Checks(" ".join(argv))
    c.eq(rc, EXIT_PIDNS, "exit code")
    c.true(want in err, "stderr lacks %r: %r" % (want, err[-600:]))
    c.true("hostPID: true" in err, "the message does not say what to do: %r" % err[-600:])
    c.true("mlwatch: ready" not in err, "it started anyway")
    c.true(not (_prog_ids() - before), "BPF programs were loaded before the refusal")
    c.done()


def test_pidns_own_namespace_own_proc():
    """unshare --pid --mount-proc: its own namespace, its own /proc."""
    _refused(["unshare", "--pid", "--fork", "--kill-child=SIGINT", "--mount-proc"],
             "PID namespace of its own")


def test_pidns_own_namespace_host_proc():
    """unshare --pid: its own namespace, the host's /proc (NSpid has two)."""
    _refused(["unshare", "--pid", "--fork", "--kill-child=SIGINT"], "PID namespace of its own")


def test_pidns_host_namespace_foreign_proc():
    """The host's namespace, /proc mounted from another one (a private
    mount namespace: the host's /proc is untouched)."""
    _refused(["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'unshare --pid --fork mount -t proc proc /proc && exec "$0" "$@"'],
             "/proc is not the host's")


def test_pidns_host_namespace_starts():
    with Scenario("pidns-host") as sc:
        sc.start()
        sc.stop()
        err = sc.mon.stderr_text()
        c = Checks("host namespace")
        c.true("PID namespace" not in err, "a namespace complaint in the host's: %r" % err[-400:])
        c.true("mlwatch: seeded " in err, "no /proc walk line at start")
        c.done()
