"""An unprivileged user's flood must not hide a root loader's attack.

Two processes of `nobody` open a model-named file for writing as fast as
they can (a model-open record each: opens that may write are never folded
into repeats) and fork short-lived children that open it too (a new mark
each), while root loads a malicious pickle. The ring buffer is made small (1 MiB) so the
flood presses on it. The attack's alert must come through, and any record
the kernel could not send must be said while mlwatch runs, as a
sensor-events-lost alert, not only in the report at exit.

Threat model: docs/threat-model.md §4.12 (floods).
"""
import datetime
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import PY, Checks, Scenario, TestFailure, get, require_rules, summary, with_rule

FLOOD_S = 8.0
FLOODER = r"""
import os, sys, time
path, end = sys.argv[1], time.monotonic() + float(sys.argv[2])
opens = 0
while time.monotonic() < end:
    # a short-lived child: a new mark and a model-open record each
    pid = os.fork()
    if pid == 0:
        os.close(os.open(path, os.O_RDONLY))
        os._exit(0)
    # opens that may write are never folded into repeats: a record each
    for _ in range(2000):
        os.close(os.open(path, os.O_RDWR))
    opens += 2001
    os.waitpid(pid, 0)
print(opens)
"""


def start_flooders(bait, n=2):
    procs = []
    for _ in range(n):
        procs.append(subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             PY, "-c", FLOODER, bait, str(FLOOD_S)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return procs


def stop_flooders(procs):
    opens = 0
    for p in procs:
        try:
            out, _ = p.communicate(timeout=FLOOD_S + 30)
            opens += int(out.strip() or 0)
        except (subprocess.TimeoutExpired, ValueError):
            p.kill()
            p.wait(5)
    return opens


def kernel_losses(stderr):
    """Records the kernel did not send, from the report at exit."""
    m = re.search(r"lost in kernel (\d+)", stderr)
    if not m:
        raise TestFailure("no 'lost in kernel N' in mlwatch's report at exit")
    return int(m.group(1))


def test_flood_does_not_hide_attack():
    bait_dir = tempfile.mkdtemp(prefix="mlwatch-e2e-flood-bait-", dir="/tmp")
    procs = []
    try:
        os.chmod(bait_dir, 0o755)
        bait = os.path.join(bait_dir, "bait.pt")
        with open(bait, "wb") as f:
            f.write(b"not a checkpoint\n")
        os.chmod(bait, 0o666)
        with Scenario("flood") as sc:
            marker = sc.path("MARKER")
            model = sc.make_model("pickle", "evil.pkl", system="touch %s" % marker)
            sc.start(extra_args=("--ringbuf-mb", "1"))
            t_start = time.time()
            procs = start_flooders(bait)
            time.sleep(2.0)  # the flood is at full rate
            ld = sc.run_loader("pickle", model).expect_ok("loader under the flood")
            sc.expect_file(marker)
            opens = stop_flooders(procs)
            procs = []
            sc.wait_rules(ld.pid, {"model-loader-shell"})
            time.sleep(3.0)  # one health check at least after the flood ends
            alerts_running, _ = sc.mon.read()
            alerts = sc.stop()
            mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
            c = Checks(summary(mine))
            c.true(opens > 100000, "the flood made only %d opens: it pressed on nothing" % opens)
            lost = kernel_losses(sc.mon.stderr_text())
            health = with_rule(alerts_running, "sensor-events-lost")
            if lost:
                c.true(health, "the kernel lost %d records but no sensor-events-lost alert "
                       "came while mlwatch ran" % lost)
            if health:
                first = min(datetime.datetime.fromisoformat(get(a, "time").replace("Z", "+00:00"))
                            .timestamp() for a in health)
                c.true(first <= t_start + FLOOD_S,
                       "the first loss alert came %.1f s after the flood began, after it ended"
                       % (first - t_start))
            told = sum(n for a in with_rule(alerts, "sensor-events-lost")
                       for k, n in get(a, "sensor", "counts").items()
                       if k.startswith(("ringbuf_full_", "shed_")))
            c.eq(told, lost, "records said lost in alerts vs the kernel's count at exit")
            for a in health:
                c.true(get(a, "tags") == ["T1562.006"], "sensor alert tags %r" % get(a, "tags"))
            noise = [a for a in alerts if get(a, "process", "uid") == 65534]
            c.true(not noise, "the flood itself raised alerts: %s" % summary(noise))
            print("flood: %d model opens in %.0f s, %d records lost in kernel, %d health "
                  "alerts while running" % (opens, FLOOD_S, lost, len(health)))
            c.done()
    finally:
        stop_flooders(procs)
        shutil.rmtree(bait_dir, ignore_errors=True)
