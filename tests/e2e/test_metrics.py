"""--metrics-addr scraped by Debian's real Prometheus.

mlwatch starts with its metrics endpoint on a free port of 127.0.0.1 and a
1 MiB ring buffer. While its sensors attach, /healthz answers and /readyz
says 503; once they are, 200. Prometheus (its own config, TSDB and port,
scrape interval 1 s) scrapes it: the target is up, and a malicious pickle
load moves the counters it stores (records by kind, the alert by rule and
severity, the last event time), and a process holding a model open is
counted in both views of the marked processes. Then mlwatch is stopped (SIGSTOP) while a
process opens a model-named file tens of thousands of times: the ring
buffer overflows, and after SIGCONT the losses show in /metrics and in
Prometheus by reason, as many as the report at exit counts, with the
sensor-events-lost alert counted by rule. Two outputs show per destination
(one delivering, one whose webhook is down, its records spooled). Hostile
requests get their status and the endpoint keeps serving.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from harness import PY, Checks, Scenario, TestFailure, require_rules, summary
from receivers import Prometheus
from receivers.common import free_port, wait_until

OPENS = 40000
FLOODER = r"""
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
# opens that may write are never folded into repeats: a record each
for _ in range(n):
    os.close(os.open(path, os.O_RDWR))
"""
HOLDER = r"""
import sys, time
f = open(sys.argv[1], "rb")
print("open", flush=True)
time.sleep(30)
"""
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def http_get(port, path, timeout=3.0):
    """(status, body) of GET path; (None, error) when nothing answered."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, urllib.error.URLError) as e:
        return None, str(e)


def raw(port, data, timeout=5.0):
    """What the endpoint answers to these exact bytes (its status line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    return out.split(b"\r\n", 1)[0].decode("latin-1")


def parse_metrics(text):
    """{(name, labels text): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise TestFailure("not a sample line: %r" % line)
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def lost(samples):
    """Records lost by reason (ringbuf_full, shed, ...), from /metrics."""
    by = {}
    for (name, labels), v in samples.items():
        if name == "mlwatch_events_lost_total":
            reason = re.search(r'reason="([^"]*)"', labels).group(1)
            by[reason] = by.get(reason, 0) + v
    return by


class Poller(threading.Thread):
    """/readyz and /healthz every 20 ms while mlwatch starts."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.seen, self.halt = port, [], threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.seen.append((http_get(self.port, "/readyz", 1)[0],
                              http_get(self.port, "/healthz", 1)[0]))
            time.sleep(0.02)


def test_metrics_prometheus():
    with Scenario("metrics") as sc:
        c = Checks()
        marker = sc.path("MARKER")
        model = sc.make_model("pickle", "evil.pkl", system="touch %s" % marker)
        bait = sc.write("bait/bait.pt", "not a checkpoint\n")  # before mlwatch starts
        # per destination: a file that takes everything, a webhook nobody
        # listens on (its records wait in its queue and spool)
        outs = sc.write("outputs.json", json.dumps({"outputs": [
            {"name": "local-file", "type": "file", "url": sc.path("fwd.json"),
             "spool_dir": sc.path("spool")},
            {"name": "dead-hook", "type": "http", "url": "http://127.0.0.1:%d/" % free_port(),
             "spool_dir": sc.path("spool")}]}), 0o600)
        port = free_port()
        poller = Poller(port)
        poller.start()
        try:
            sc.start(extra_args=("--metrics-addr", "127.0.0.1:%d" % port, "--ringbuf-mb", "1",
                                 "--outputs", outs))
        finally:
            poller.halt.set()
            poller.join(5)
        # readiness: 503 while attaching (with /healthz 200 meanwhile), then 200
        answered = [s for s in poller.seen if s[0] is not None]
        c.true(any(r == 503 and h == 200 for r, h in answered),
               "never saw /readyz 503 with /healthz 200 while the sensors attached: %s"
               % sorted(set(answered)))
        c.eq(http_get(port, "/readyz")[0], 200, "/readyz once ready")
        c.eq(http_get(port, "/healthz")[0], 200, "/healthz once ready")
        c.true("metrics at http://127.0.0.1:%d/metrics" % port in sc.mon.stderr_text(),
               "no start-up line naming the endpoint")

        with Prometheus({"mlwatch": "127.0.0.1:%d" % port}, workdir=sc.path("prom")) as prom:
            prom.wait_up("mlwatch")
            t = prom.target("mlwatch")
            c.eq((t["health"], t["lastError"]), ("up", ""), "the target as Prometheus sees it")
            events0 = prom.value("sum(mlwatch_events_total)")
            c.true(events0 is not None, "no mlwatch_events_total in Prometheus")
            c.eq(prom.value('sum(mlwatch_alerts_total{rule="model-loader-shell"})'), None,
                 "an alert before the attack")

            t_load = time.time()
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.expect_file(marker)
            sc.wait_rules(ld.pid, {"model-loader-shell"})
            shell = prom.wait_for('mlwatch_alerts_total{rule="model-loader-shell",'
                                  'severity="critical"}', lambda v: v >= 1)
            c.true(shell is not None and shell >= 1,
                   "Prometheus never saw the model-loader-shell alert: %r" % shell)
            for kind in ("model_open", "exec", "fork"):
                v = prom.wait_for('mlwatch_events_total{kind="%s"}' % kind, lambda v: v >= 1)
                c.true(v is not None and v >= 1, "events of kind %s in Prometheus: %r"
                       % (kind, v))
            c.true(prom.value("sum(mlwatch_events_total)") > (events0 or 0),
                   "the records counter did not move")
            last = prom.value("mlwatch_last_event_timestamp_seconds")
            c.true(last is not None and t_load - 2 <= last <= time.time() + 2,
                   "last event time %r, the load was at %.0f" % (last, t_load))
            c.true((prom.value("mlwatch_proctable_entries") or 0) >= 1,
                   "the process table is empty in Prometheus")
            c.eq(prom.value('mlwatch_bpf_map_capacity{map="marks"}') is not None, True,
                 "marks map capacity")
            # a process holding a model open stays marked: both views count it
            holder = subprocess.Popen([PY, "-c", HOLDER, model], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                holder.stdout.readline()  # the model is open
                kmarks = prom.wait_for('mlwatch_bpf_map_entries{map="marks"}', lambda v: v >= 1)
                umarks = prom.wait_for("mlwatch_marked_processes", lambda v: v >= 1)
            finally:
                holder.kill()
                holder.wait(5)
            c.true(kmarks and kmarks >= 1, "the kernel's marks map in Prometheus: %r" % kmarks)
            c.true(umarks and umarks >= 1, "marked processes in Prometheus: %r" % umarks)
            # the outputs, each by name: delivered, and waiting with its destination down
            v = prom.wait_for('mlwatch_output_delivered_total{output="local-file"}',
                              lambda v: v >= 1)
            c.true(v and v >= 1, "records delivered to the file output: %r" % v)
            v = prom.wait_for('sum(mlwatch_output_queue_records{output="dead-hook"}) + '
                              'sum(mlwatch_output_spool_records{output="dead-hook"})',
                              lambda v: v >= 1)
            c.true(v and v >= 1, "records waiting for the dead webhook: %r" % v)
            c.true((prom.value('mlwatch_output_spool_bytes{output="dead-hook"}') or 0) > 0,
                   "the dead webhook's spool is empty in Prometheus")

            # a forced overflow: nobody reads the ring while it fills
            before = lost(parse_metrics(http_get(port, "/metrics")[1]))
            c.eq(sum(before.values()), 0, "records lost before the overflow: %r" % before)
            os.kill(sc.mon.proc.pid, signal.SIGSTOP)
            try:
                fl = sc._run([PY, "-c", FLOODER, bait, str(OPENS)], 60, tag="flood")
            finally:
                os.kill(sc.mon.proc.pid, signal.SIGCONT)
            fl.expect_ok("flooder")
            after = wait_until(lambda: (lambda by: by if sum(by.values()) else None)(
                lost(parse_metrics(http_get(port, "/metrics")[1]))), 10, 0.2)
            c.true(after, "no losses in /metrics after %d opens into a stopped reader" % OPENS)
            after = after or {}
            c.true(set(after) == {"ringbuf_full", "shed", "syscall_stash_full"},
                   "loss reasons %r" % sorted(after))
            by_reason = dict(
                (labels["reason"], v) for labels, v in
                prom.series("sum by (reason) (mlwatch_events_lost_total)"))
            wait_until(lambda: by_reason.update(
                (labels["reason"], v) for labels, v in
                prom.series("sum by (reason) (mlwatch_events_lost_total)")) or
                sum(by_reason.values()) >= sum(after.values()), 10, 0.3)
            c.true(sum(by_reason.values()) > 0, "Prometheus saw no losses: %r" % by_reason)
            c.true(by_reason.get("shed", 0) + by_reason.get("ringbuf_full", 0) > 0,
                   "Prometheus: no ringbuf_full or shed losses: %r" % by_reason)
            told = prom.wait_for('sum(mlwatch_alerts_total{rule="sensor-events-lost"})',
                                 lambda v: v >= 1)
            c.true(told is not None and told >= 1,
                   "the sensor-events-lost alert is not counted by rule: %r" % told)
            c.eq(prom.target("mlwatch")["health"], "up", "the target after the overflow")

            # hostile requests get their status; the endpoint keeps serving
            c.eq(raw(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                 "HTTP/1.1 405 Method Not Allowed", "HEAD")
            c.eq(raw(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"),
                 "HTTP/1.1 405 Method Not Allowed", "POST")
            c.eq(raw(port, b"GET /../metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                 "HTTP/1.1 404 Not Found", "path traversal")
            c.eq(raw(port, b"GET /" + b"a" * 5000), "HTTP/1.1 414 URI Too Long",
                 "a request line with no end")
            c.eq(raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 5000),
                 "HTTP/1.1 431 Request Header Fields Too Large", "headers with no end")
            idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
            try:
                t0 = time.monotonic()
                st, body = http_get(port, "/metrics")
                c.true(st == 200 and time.monotonic() - t0 < 1.0,
                       "a scrape beside 4 silent clients: %r after %.1f s"
                       % (st, time.monotonic() - t0))
            finally:
                for s in idle:
                    s.close()
            final = lost(parse_metrics(body))
            c.true(wait_until(lambda: (prom.value(
                'mlwatch_metrics_http_responses_total{code="405"}') or 0) >= 2, 5, 0.2),
                "the refused requests are not counted by status")

        alerts = sc.stop()
        require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        m = re.search(r"lost in kernel (\d+)", sc.mon.stderr_text())
        if not m:
            raise TestFailure("no 'lost in kernel N' in mlwatch's report at exit")
        at_exit = int(m.group(1))
        scraped = final.get("ringbuf_full", 0) + final.get("shed", 0)
        c.true(0 < scraped <= at_exit,
               "lost per /metrics %d, per the report at exit %d" % (scraped, at_exit))
        print("metrics: readiness %s; after %d opens into a stopped reader: lost %s "
              "(exit report: %d); Prometheus by reason %s"
              % ([r for r, _ in answered[:1]] + [200], OPENS, final, at_exit, by_reason))
        c.done()


def _start_error(args):
    """(exit code, stderr) of an mlwatch that must not start."""
    from harness import mlwatch_bin
    p = subprocess.run([mlwatch_bin()] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stderr.decode(errors="replace")


def test_metrics_addr_errors():
    """A bad --metrics-addr is a usage error naming the value (2); an address
    that cannot be bound stops mlwatch at start with the reason (7)."""
    c = Checks("--metrics-addr errors")
    for bad, why in (("localhost:9464", "names are not resolved"),
                     ("127.0.0.1:0", "from 1 to 65535"),
                     ("::1:9464", "brackets"),
                     ("127.0.0.1", "HOST:PORT")):
        rc, err = _start_error(["--metrics-addr", bad])
        c.eq(rc, 2, "exit code for %s" % bad)
        c.true("--metrics-addr '%s'" % bad in err and why in err,
               "message for %s: %r" % (bad, err[-300:]))
    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        addr = "127.0.0.1:%d" % taken.getsockname()[1]
        rc, err = _start_error(["--metrics-addr", addr])
        c.eq(rc, 7, "exit code for a port in use")
        c.true("cannot listen on %s: Address already in use" % addr in err,
               "message for a port in use: %r" % err[-300:])
        c.true("mlwatch: ready" not in err, "started although the port is taken")
    finally:
        taken.close()
    rc, err = _start_error(["--metrics-addr", "192.0.2.1:9464"])  # TEST-NET-1, not ours
    c.eq(rc, 7, "exit code for an address not on this host")
    c.true("cannot listen on 192.0.2.1:9464" in err, "message: %r" % err[-300:])
    c.done()
