#!/usr/bin/env python3
"""make bench, flood part: while two unprivileged processes flood model
opens (opens that may write, each a record) and short-lived children,
root loads a malicious pickle. Per round: the flood's rate, whether the
attack was alerted, what the kernel lost, and whether the loss was said
while mlwatch ran. Usage: flood.py MLWATCH_BIN [ROUNDS] [LABEL]."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PY = "/usr/bin/python3"
# The same flood as the end-to-end test's.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from test_flood import FLOOD_S, FLOODER  # noqa: E402


def one_round(binary, work):
    bait = os.path.join(work, "bait.pt")
    with open(bait, "wb") as f:
        f.write(b"bait\n")
    os.chmod(work, 0o755)
    os.chmod(bait, 0o666)
    marker = os.path.join(work, "MARKER")
    evil = os.path.join(work, "evil.pkl")
    subprocess.run([PY, "-c", "import pickle, os\n"
                    "class E:\n def __reduce__(self): return (os.system, (%r,))\n"
                    "pickle.dump(E(), open(%r, 'wb'))" % ("touch " + marker, evil)], check=True)
    out = os.path.join(work, "alerts.jsonl")
    err = open(os.path.join(work, "mlwatch.err"), "w+")
    mon = subprocess.Popen([binary, "--json", "--output", out, "--ringbuf-mb", "1"],
                           stdin=subprocess.DEVNULL, stderr=err, start_new_session=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        err.seek(0)
        if "mlwatch: ready" in err.read():
            break
        time.sleep(0.1)
    floods = [subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                PY, "-c", FLOODER, bait, str(FLOOD_S)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
              for _ in range(2)]
    time.sleep(2.0)
    loader = subprocess.Popen([PY, "-c", "import pickle; pickle.load(open(%r, 'rb'))" % evil])
    loader.wait(60)
    opens = sum(int(p.communicate(timeout=FLOOD_S + 30)[0].strip() or 0) for p in floods)
    time.sleep(4.0)
    running = open(out).read() if os.path.exists(out) else ""
    os.kill(mon.pid, signal.SIGINT)
    mon.wait(120)
    err.seek(0)
    log = err.read()
    alerts = [json.loads(l) for l in open(out) if l.strip()]
    attack = any(a.get("rule", {}).get("id") == "model-loader-shell" and
                 a.get("loader", {}).get("pid") == loader.pid for a in alerts)
    told = sum(1 for l in running.splitlines() if '"sensor-events-lost"' in l)
    m = re.search(r"lost in kernel (\d+)", log)
    return opens / FLOOD_S, attack, int(m.group(1)) if m else -1, told


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    label = sys.argv[3] if len(sys.argv) > 3 else binary
    caught = 0
    for r in range(rounds):
        work = tempfile.mkdtemp(prefix="mlwatch-bench-flood-", dir="/tmp")
        try:
            rate, attack, lost, told = one_round(binary, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        caught += attack
        print("flood (%s) round %d: %.0f model opens/s by nobody, attack alerted: %s, "
              "lost in kernel: %d, loss alerts while running: %d"
              % (label, r + 1, rate, "yes" if attack else "NO", lost, told), flush=True)
    print("flood (%s): attack alerted in %d of %d rounds" % (label, caught, rounds))
    return 0 if caught == rounds else 1


if __name__ == "__main__":
    sys.exit(main())
