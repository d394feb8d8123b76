#!/usr/bin/env python3
"""make bench, forwarding part 2: does a dead destination slow detection?
A loader's payload starts N shells (each a model-loader-shell alert); the
latency of an alert is the time its line reaches the local JSON output
minus its event time. Three runs, alternating, in one go: no outputs, an
HTTP output that answers, and one that accepts and never answers (hung),
plus a syslog output to a port nobody listens on (dead).
Usage: fwd_latency.py MLWATCH_BIN [SHELLS] [ROUNDS]."""
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

PY = "/usr/bin/python3"


class Sink(threading.Thread):
    """HTTP on 127.0.0.1: answers 200 to everything, or (hang) never."""

    def __init__(self, hang):
        super().__init__(daemon=True)
        self.hang = hang
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]
        self.conns = []

    def run(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
                while b"\r\n\r\n" in buf:
                    head, rest = buf.split(b"\r\n\r\n", 1)
                    n = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            n = int(line.split(b":")[1])
                    if len(rest) < n:
                        break
                    buf = rest[n:]
                    if not self.hang:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        except OSError:
            return

    def close(self):
        self.s.close()
        for c in self.conns:
            c.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def one_run(binary, work, mode, shells):
    d = tempfile.mkdtemp(prefix="run-", dir=work)
    marker = os.path.join(d, "DONE")
    evil = os.path.join(d, "evil.pkl")
    cmd = "for i in $(seq %d); do sh -c \"true $i\"; sleep 0.02; done; touch %s" % (shells, marker)
    subprocess.run([PY, "-c", "import pickle, os\n"
                    "class E:\n def __reduce__(self): return (os.system, (%r,))\n"
                    "pickle.dump(E(), open(%r, 'wb'))" % (cmd, evil)], check=True)
    sink = None
    args = []
    if mode != "none":
        if mode == "dead":
            out = {"type": "syslog", "url": "tcp://127.0.0.1:%d" % free_port()}
        else:
            sink = Sink(hang=(mode == "hung"))
            sink.start()
            out = {"type": "http", "url": "http://127.0.0.1:%d/" % sink.port,
                   "timeout_ms": 60000, "flush_ms": 50}
        out["spool_dir"] = os.path.join(d, "spool")
        conf = os.path.join(d, "outputs.json")
        with open(conf, "w") as f:
            json.dump({"outputs": [out]}, f)
        args = ["--outputs", conf]
    outp = os.path.join(d, "alerts.jsonl")
    err = open(os.path.join(d, "mlwatch.err"), "w+")
    mon = subprocess.Popen([binary, "--json", "--output", outp] + args,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           start_new_session=True)
    arrived = {}
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            err.seek(0)
            if "mlwatch: ready" in err.read():
                break
            if mon.poll() is not None:
                raise SystemExit("mlwatch exited early: see " + err.name)
            time.sleep(0.05)
        loader = subprocess.Popen([PY, "-c", "import pickle; pickle.load(open(%r, 'rb'))" % evil],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        # read the output as it grows; note when each alert line lands
        pos, buf = 0, b""
        end = time.monotonic() + 60 + shells * 0.1
        while time.monotonic() < end:
            try:
                with open(outp, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            now = time.time()
            if data:
                pos += len(data)
                buf += data
                *lines, buf = buf.split(b"\n")
                for l in lines:
                    r = json.loads(l)
                    if (r.get("rule") or {}).get("id") == "model-loader-shell":
                        arrived[r["id"]] = (now, r["time"])
            if os.path.exists(marker) and loader.poll() is not None and len(arrived) >= shells:
                break
            time.sleep(0.001)
        loader.wait(30)
    finally:
        os.kill(mon.pid, signal.SIGINT)
        try:
            mon.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(mon.pid, signal.SIGKILL)
            mon.wait()
        if sink:
            sink.close()
    lat = []
    for now, t in arrived.values():
        ev = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
        lat.append((now - ev) * 1000.0)
    shutil.rmtree(d, ignore_errors=True)
    return lat


def main():
    binary = os.path.abspath(sys.argv[1])
    shells = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    modes = ["none", "alive", "hung", "dead"]
    work = tempfile.mkdtemp(prefix="mlwatch-fwdlat-")
    os.chmod(work, 0o700)
    res = {m: [] for m in modes}
    try:
        for r in range(rounds):
            for m in modes:
                lat = one_run(binary, work, m, shells)
                print("round %d %s: %d alerts, median %.1f ms" % (
                    r + 1, m, len(lat), statistics.median(lat) if lat else -1), flush=True)
                res[m] += lat
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| output | alerts | median ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for m in modes:
        v = sorted(res[m])
        if not v:
            print("| %s | 0 | - | - | - |" % m)
            continue
        print("| %s | %d | %.1f | %.1f | %.1f |" % (
            m, len(v), statistics.median(v), v[int(0.95 * (len(v) - 1))], v[-1]))


if __name__ == "__main__":
    main()
