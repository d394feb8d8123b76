"""Debian's real Prometheus (package `prometheus`), scraping targets on
127.0.0.1 with a config of its own in a temp dir: its own TSDB folder, its
own listen port, started and stopped by PID. The machine's prometheus
service (if the package started one) is neither needed nor touched.

    with Prometheus({"mlwatch": "127.0.0.1:9464"}) as prom:
        prom.wait_up("mlwatch")                      # up == 1, or why not
        prom.value('sum(mlwatch_events_total)')      # None: no such series
        prom.series('mlwatch_alerts_total')          # [(labels, value), ...]
        prom.target("mlwatch")                       # health, lastError, ...
"""
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from .common import HOST, WorkDir, free_port, stop_process, wait_until

PROMETHEUS = "/usr/bin/prometheus"
START_TIMEOUT = 20.0  # s, until /-/ready
STOP_GRACE = 10.0     # s, SIGTERM -> SIGKILL (it flushes its TSDB head)

CONFIG = """global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
scrape_configs:
{jobs}"""
JOB = """  - job_name: {job}
    metrics_path: {path}
    static_configs:
      - targets: ['{target}']
"""


class Prometheus:
    def __init__(self, targets, workdir=None, interval="1s", path="/metrics"):
        """targets: {job name: "host:port"}."""
        self.targets = dict(targets)
        self.interval = interval
        self.path = path
        self.wd = WorkDir(workdir, "prom")
        self.port = None
        self.proc = None
        self.log_path = self.wd.join("prometheus.log")

    @property
    def url(self):
        return "http://%s:%d" % (HOST, self.port)

    def start(self):
        if not os.access(PROMETHEUS, os.X_OK):
            raise RuntimeError("%s not found: install the package prometheus (`make deps` "
                               "does)" % PROMETHEUS)
        conf = self.wd.join("prometheus.yml")
        with open(conf, "w") as f:
            f.write(CONFIG.format(interval=self.interval, jobs="".join(
                JOB.format(job=j, target=t, path=self.path) for j, t in self.targets.items())))
        self.port = free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + conf,
                 "--storage.tsdb.path=" + self.wd.join("data"),
                 "--web.listen-address=%s:%d" % (HOST, self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.wd.path,
                start_new_session=True)
        if not wait_until(lambda: self.proc.poll() is not None or self._ready(),
                          START_TIMEOUT, poll=0.1) or self.proc.poll() is not None:
            stop_process(self.proc, STOP_GRACE)
            raise RuntimeError("prometheus did not become ready within %.0f s: %s"
                               % (START_TIMEOUT, self.log_tail()))
        return self

    def _ready(self):
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def api(self, path, **params):
        """GET /api/v1/PATH; the "data" of a success, else RuntimeError."""
        url = "%s/api/v1/%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError("prometheus %s: %r" % (path, body))
        return body["data"]

    def series(self, expr):
        """An instant query: [(labels without __name__, float value), ...]."""
        out = []
        for s in self.api("query", query=expr)["result"]:
            labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
            out.append((labels, float(s["value"][1])))
        return out

    def value(self, expr):
        """The value of a query with one series (sum(...), x{...}); None if none."""
        s = self.series(expr)
        if len(s) > 1:
            raise RuntimeError("%s: %d series, want one" % (expr, len(s)))
        return s[0][1] if s else None

    def target(self, job):
        """The active target of job, as /api/v1/targets has it (health,
        lastError, lastScrape, ...), or None."""
        for t in self.api("targets")["activeTargets"]:
            if t.get("labels", {}).get("job") == job:
                return t
        return None

    def wait_up(self, job, timeout=20.0):
        """Until up{job=...} is 1 (the scrape manager starts its first
        scrapes about 5 s after start); RuntimeError naming the target's
        last error otherwise."""
        if wait_until(lambda: self.value('up{job="%s"}' % job) == 1, timeout, poll=0.2):
            return
        t = self.target(job) or {}
        raise RuntimeError("target %s not up after %.0f s: health %r, lastError %r"
                           % (job, timeout, t.get("health"), t.get("lastError")))

    def wait_for(self, expr, pred, timeout=10.0):
        """Poll an instant query until pred(value) holds; the last value."""
        last = [None]

        def ok():
            last[0] = self.value(expr)
            return last[0] is not None and pred(last[0])
        wait_until(ok, timeout, poll=0.2)
        return last[0]

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        return stop_process(self.proc, STOP_GRACE)

    def close(self):
        self.stop()
        self.wd.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if ev is not None and hasattr(ev, "args"):
            try:
                ev.mlwatch_log = ((getattr(ev, "mlwatch_log", "") or "") +
                                  "\nprometheus: " + self.log_tail())
            except AttributeError:
                pass
        self.close()
        return False
