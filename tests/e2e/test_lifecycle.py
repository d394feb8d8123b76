"""mlwatch's own contract: ready line, clean exit on SIGINT/SIGTERM with
counters on stderr, and no BPF programs left behind."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from harness import Checks, Monitor, Scenario, TestFailure


def loaded_prog_ids():
    """IDs of all loaded BPF programs (bpftool), or None without bpftool."""
    tool = shutil.which("bpftool", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not tool:
        return None
    try:
        out = subprocess.run([tool, "-j", "prog", "show"], capture_output=True, timeout=20).stdout
        return {p["id"] for p in json.loads(out or b"[]")}
    except (subprocess.SubprocessError, ValueError, KeyError, TypeError):
        return None


def held_prog_ids(pid):
    """BPF program IDs behind the fds of pid (prog and link fds), from fdinfo."""
    ids = set()
    d = "/proc/%d/fdinfo" % pid
    try:
        names = os.listdir(d)
    except OSError:
        return ids
    for n in names:
        try:
            with open(os.path.join(d, n)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            continue
    return ids


def test_sigint_clean_exit_and_detach():
    with Scenario("sigint") as sc:
        sc.start(sentinel=True)
        pid = sc.mon.proc.pid
        held = held_prog_ids(pid)
        sc.liveness_sentinel()
        sc.stop(signal.SIGINT)
        c = Checks()
        c.true(held, "mlwatch (pid %d) holds no BPF program fds while ready" % pid)
        c.true(sc.mon.exit_seconds is not None and sc.mon.exit_seconds <= 3.0,
               "exit took %.1f s after SIGINT (want <= 3)" % (sc.mon.exit_seconds or -1))
        tail = sc.mon.stderr_after_ready()
        c.true(re.search(r"drop|lost", tail, re.I) and re.search(r"trunc", tail, re.I),
               "no drop/lost and truncation counters on stderr at exit; stderr after ready: %r"
               % tail[-300:])
        left = set(held)
        for _ in range(60):                  # programs are freed asynchronously
            now = loaded_prog_ids()
            if now is None:
                break
            left &= now
            if not left:
                break
            time.sleep(0.05)
        c.true(not left, "BPF programs %s still loaded after mlwatch exited (pinned?)" % sorted(left))
        c.done()


def test_sigterm_clean_exit():
    with Scenario("sigterm") as sc:
        sc.start()
        time.sleep(0.2)
        sc.stop(signal.SIGTERM)
        if sc.mon.exit_seconds is None or sc.mon.exit_seconds > 3.0:
            raise TestFailure("exit took %.1f s after SIGTERM (want <= 3)" % (sc.mon.exit_seconds or -1))


def _run_mlwatch(argv, prefix=(), timeout=20):
    from harness import mlwatch_bin
    p = subprocess.run(list(prefix) + [mlwatch_bin()] + argv, capture_output=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def test_startup_errors_named_with_exit_codes():
    """Each reason mlwatch cannot start has its own exit code and a message
    that names the problem; none leaves a program loaded."""
    c = Checks("startup errors")
    before = loaded_prog_ids()
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    c.true(setpriv is not None, "setpriv (util-linux) not found")
    if setpriv:
        rc, err = _run_mlwatch([], prefix=[setpriv, "--reuid=65534", "--regid=65534",
                                           "--clear-groups", "--inh-caps=-all"])
        c.eq(rc, 3, "exit code as nobody")
        c.true("needs root" in err, "unprivileged message: %r" % err[-300:])
    rc, err = _run_mlwatch(["--internal-net", "10.0.0.0/33"])
    c.eq(rc, 2, "exit code for a bad CIDR")
    c.true("10.0.0.0/33" in err and "prefix" in err, "bad CIDR message: %r" % err[-300:])
    rc, err = _run_mlwatch(["--ringbuf-mb", "3"])
    c.eq(rc, 2, "exit code for a bad ring-buffer size")
    rc, err = _run_mlwatch(["--output", "/proc/no/such/dir/alerts.json"])
    c.eq(rc, 7, "exit code for an unwritable output")
    c.true("/proc/no/such/dir/alerts.json" in err, "output message: %r" % err[-300:])
    rc, err = _run_mlwatch(["--version"])
    c.true(rc == 0 and err == "", "--version: rc %s" % rc)
    after = loaded_prog_ids()
    if before is not None and after is not None:
        c.true(after <= before | set(), "programs left loaded: %s" % sorted(after - before))
    c.done()


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_own_and_peer_reads_not_chased():
    """mlwatch reads each candidate model to confirm it. That read is itself
    an open of a model file: mlwatch must not be told of its own, and two
    instances must not chase each other's reads forever. Both alert once,
    then go idle, then stop on SIGTERM."""
    with Scenario("peers") as sc:
        marker = sc.path("MARKER")
        made = sc.make_model("pickle", "m.pkl", system="touch " + marker)
        # directly under /tmp: a read whose path argument is lost is reported
        # as "/<parent>/<name>", which then names the real file, so a loop
        # would not stop on a path that does not resolve
        model = "/tmp/mlwatch-e2e-peers-%d.pkl" % os.getpid()
        os.replace(made, model)
        sc.cleanup_paths.append(model)
        sc.start()
        second = Monitor(sc.path())
        second.output = sc.path("second.jsonl")
        second.stdout_path = sc.path("second.stdout")
        second.start()
        c = Checks("peer instances")
        try:
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.expect_file(marker)
            sc.wait_rules(ld.pid, {"model-loader-shell"})
            time.sleep(1.0)
            busy = [_cpu_seconds(p) for p in (sc.mon.proc.pid, second.proc.pid)]
            time.sleep(2.0)
            busy = [_cpu_seconds(p) - b for p, b in zip((sc.mon.proc.pid, second.proc.pid), busy)]
            for who, cpu in zip(("first", "second"), busy):
                c.true(cpu < 0.5, "%s mlwatch used %.2f s of CPU in 2 s idle after one model load"
                       % (who, cpu))
        finally:
            c.extend(second.stop(signal.SIGTERM), "second: ")
        alerts = sc.stop()
        second_alerts, problems = second.read(final=True)
        c.extend(problems, "second: ")
        for who, got in (("first", alerts), ("second", second_alerts)):
            shells = [a for a in got if a.get("rule", {}).get("id") == "model-loader-shell"
                      and a.get("loader", {}).get("pid") == ld.pid]
            c.eq(len(shells), 1, "%s mlwatch: model-loader-shell alerts for the loader" % who)
            # the harness's own stop signal is said (mlwatch-stop-requested)
            noise = [a for a in got if a.get("loader", {}).get("pid") != ld.pid
                     and not (a.get("rule", {}).get("id") == "mlwatch-stop-requested"
                              and a.get("process", {}).get("pid") == os.getpid())]
            c.true(not noise, "%s mlwatch: alerts about something else: %s" % (who, noise[:2]))
        c.done()
