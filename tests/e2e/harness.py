"""End-to-end harness for ./mlwatch (standard library only).

One Scenario per test: a fresh temp dir under /tmp/mlwatch-e2e-*, model files
generated *before* mlwatch starts (so the harness never opens a model file
while it is watched), one mlwatch process started with
`--json --output FILE --internal-net 10.0.0.0/8`, the scenario's processes,
a bounded settle, SIGINT, and a strict parse of every output line.

Every wait is bounded in time; every process the harness starts is stopped by
its PID; every listener is on 127.0.0.1 and closed on exit.
"""
import base64
import datetime
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
PY = "/usr/bin/python3"              # Debian's: torch 1.13, numpy, joblib
GENERATOR = os.path.join(E2E_DIR, "payloads.py")
LOADER = os.path.join(E2E_DIR, "loader.py")

READY_LINE = "mlwatch: ready"
READY_TIMEOUT = 20.0                 # s, for "mlwatch: ready"
SETTLE = 3.0                         # s, alert polling after a scenario
STOP_GRACE = 5.0                     # s, SIGINT -> SIGKILL
POLL = 0.05                          # s
INTERNAL_NET = "10.0.0.0/8"          # so 127.0.0.1 counts as external
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENV_CANARY = "MLWATCH_E2E_CANARY=env-canary-7f3a9c"   # must never show up in args

RULES = {
    "model-loader-shell": ("exec",),
    "model-loader-downloader": ("exec",),
    "model-loader-inline-interpreter": ("exec",),
    "model-loader-exec-from-temp": ("exec",),
    "model-loader-external-connect": ("connect", "send"),
    "model-loader-metadata-connect": ("connect", "send"),
    "model-loader-credential-read": ("open", "link"),
    "model-loader-socket-stdio": ("dup",),
    # beyond the contract's list, documented in README.md: counted as false
    # positives when they fire where a test does not expect them
    "model-loader-network-tool": ("exec",),
    "model-loader-miner": ("exec",),
    "model-loader-persistence-write": ("open", "link"),
    "model-loader-exec-fileless": ("exec",),
    "model-loader-exec-dropped": ("exec",),
    "model-loader-runtime-socket": ("connect", "send"),
    "model-loader-raw-socket": ("socket",),
}
SEVERITIES = ("critical", "high", "medium", "low")
# mlwatch -v: one line per event received, loader=0 when it carried no mark
EVENT_RE = re.compile(r"^event (\w+) pid=(\d+) tid=\d+ ppid=\d+ comm=.*? loader=(\d+) depth=\d+ "
                      r"path=(.*?)(?: address=(.*) port=(\d+)( during-load)?)?$")
# mlwatch -v: one line per model open, with the verdict on its bytes
JUDGED_RE = re.compile(r"^model pid=(\d+) models=\d+ format=\S+ (inert|may run code): ")
TAG_RE = re.compile(r"^(AML\.T\d{4}(\.\d{3})?|T\d{4}(\.\d{3})?)$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|\+00:00)$")


def _schema_version():
    """MLW_SCHEMA_VERSION as the C code has it: one definition."""
    with open(os.path.join(REPO, "include", "mlwatch", "schema.h")) as f:
        m = re.search(r"^#define MLW_SCHEMA_VERSION (\d+)\s*$", f.read(), re.M)
    if not m:
        raise RuntimeError("no MLW_SCHEMA_VERSION in include/mlwatch/schema.h")
    return int(m.group(1))


SCHEMA_VERSION = _schema_version()


class TestFailure(AssertionError):
    pass


# ---------------------------------------------------------------- preflight

def mlwatch_bin():
    env = os.environ.get("MLWATCH_BIN")
    if env:
        return os.path.abspath(env)
    return os.path.join(REPO, "mlwatch")


def preflight():
    """None when the suite can run, else the reason every test fails."""
    if os.geteuid() != 0:
        return "must run as root (euid %d): mlwatch loads BPF programs" % os.geteuid()
    b = mlwatch_bin()
    if not os.path.isfile(b):
        return "mlwatch binary not found at %s (build it with `make`, or set MLWATCH_BIN)" % b
    if not os.access(b, os.X_OK):
        return "mlwatch binary %s is not executable" % b
    if not os.access(PY, os.X_OK):
        return "%s not found: the loaders need Debian's python3 with torch/numpy/joblib" % PY
    return None


# ---------------------------------------------------------------- checks

class Checks:
    """Collects problems; done() raises one TestFailure listing them."""

    def __init__(self, context=""):
        self.problems = []
        self.context = context

    def true(self, cond, msg):
        if not cond:
            self.problems.append(msg)
        return bool(cond)

    def eq(self, actual, expected, what):
        return self.true(actual == expected,
                         "%s: got %r, want %r" % (what, actual, expected))

    def extend(self, problems, prefix=""):
        self.problems.extend(prefix + p for p in problems)

    def done(self):
        if self.problems:
            shown = self.problems[:12]
            more = len(self.problems) - len(shown)
            msg = "; ".join(shown) + (" (+%d more)" % more if more > 0 else "")
            if self.context:
                msg += " [" + self.context + "]"
            raise TestFailure(msg)


def get(obj, *keys):
    """Nested lookup that returns None instead of raising."""
    for k in keys:
        if isinstance(obj, dict):
            obj = obj.get(k)
        elif isinstance(obj, list) and isinstance(k, int) and -len(obj) <= k < len(obj):
            obj = obj[k]
        else:
            return None
    return obj


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def real(p):
    return os.path.realpath(p) if isinstance(p, str) and p else p


def resolved_problem(got, path, what):
    """resolved_path must be absolute and normal, and name the same file as
    path; symlinks may be left unresolved (README: "the path as the process
    named it"). Returns a problem string or None."""
    if not (isinstance(got, str) and got.startswith("/")):
        return "%s %r is not absolute" % (what, got)
    if os.path.normpath(got) != got:
        return "%s %r is not normalized" % (what, got)
    if os.path.realpath(got) != os.path.realpath(path):
        return "%s %r does not name %s" % (what, got, os.path.realpath(path))
    return None


def brief(a):
    return "%s(pid=%s,%s)" % (get(a, "rule", "id"), get(a, "process", "pid"),
                              get(a, "event", "kind"))


def my_cgroup_id():
    """cgroup v2 id (= inode of the cgroup dir) of this process, or None."""
    try:
        rel = None
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    rel = line[3:].strip()
        if rel is None:
            return None
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if right.split()[:1] == ["cgroup2"]:
                    mnt = left.split()[4]
                    return os.stat(mnt.rstrip("/") + rel).st_ino
    except OSError:
        return None
    return None


def shape_problems(a, t0=None):
    """Contract checks every alert must pass, whatever its rule."""
    p = []
    if not isinstance(a, dict):
        return ["alert is not an object"]
    t = a.get("time")
    if not (isinstance(t, str) and TIME_RE.match(t)):
        p.append("time %r is not RFC 3339 UTC" % (t,))
    elif t0 is not None:
        try:
            ts = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
            if not (t0 - 5 <= ts <= time.time() + 5):
                p.append("time %s is outside the test window" % t)
        except ValueError as e:
            p.append("time %r does not parse: %s" % (t, e))
    if not (isinstance(a.get("host"), str) and a["host"]):
        p.append("host missing")
    elif a["host"] != os.uname().nodename:
        p.append("host %r != %r" % (a["host"], os.uname().nodename))
    rid = get(a, "rule", "id")
    if not (isinstance(rid, str) and rid):
        p.append("rule.id missing")
    if not (isinstance(get(a, "rule", "title"), str) and get(a, "rule", "title")):
        p.append("rule.title missing")
    if a.get("severity") not in SEVERITIES:
        p.append("severity %r not in %s" % (a.get("severity"), SEVERITIES))
    tags = a.get("tags")
    if not (is_str_list(tags) and tags):
        p.append("tags %r not a non-empty list of strings" % (tags,))
    else:
        bad = [x for x in tags if not TAG_RE.match(x)]
        if bad:
            p.append("tags %r are not ATLAS/ATT&CK ids" % bad)
        if not any(x.startswith("AML.") for x in tags):
            p.append("tags %r lack an ATLAS id" % tags)
        if not any(x.startswith("T") for x in tags):
            p.append("tags %r lack an ATT&CK id" % tags)
    pr = a.get("process")
    if not isinstance(pr, dict):
        p.append("process missing")
    else:
        for k in ("pid", "tid", "ppid", "uid", "cgroup_id"):
            if not is_int(pr.get(k)):
                p.append("process.%s %r not an integer" % (k, pr.get(k)))
        for k in ("comm", "exe"):
            if not isinstance(pr.get(k), str):
                p.append("process.%s missing" % k)
        if not is_str_list(pr.get("args")):
            p.append("process.args %r not a list of strings" % (pr.get("args"),))
        if "args_truncated" in pr and not isinstance(pr["args_truncated"], bool):
            p.append("process.args_truncated %r not a boolean" % (pr["args_truncated"],))
    ld = a.get("loader")
    if not isinstance(ld, dict):
        p.append("loader missing")
    else:
        if not is_int(ld.get("pid")):
            p.append("loader.pid missing")
        if not isinstance(ld.get("exe"), str):
            p.append("loader.exe missing")
        m = ld.get("model")
        if not isinstance(m, dict):
            p.append("loader.model missing")
        else:
            for k in ("path", "resolved_path", "format"):
                if not (isinstance(m.get(k), str) and m.get(k)):
                    p.append("loader.model.%s missing" % k)
            rp = m.get("resolved_path")
            # unpickled from memory (docs/python.md): no file to name
            memory = m.get("source") == "python" and m.get("path") == rp == "memory"
            if isinstance(rp, str) and not rp.startswith("/") and not memory:
                p.append("loader.model.resolved_path %r not absolute" % rp)
    anc = a.get("ancestry")
    if not (isinstance(anc, list) and anc):
        p.append("ancestry %r not a non-empty list" % (anc,))
    else:
        for i, e in enumerate(anc):
            if not (isinstance(e, dict) and is_int(e.get("pid")) and isinstance(e.get("exe"), str)):
                p.append("ancestry[%d] %r lacks pid/exe" % (i, e))
        if get(anc, 0, "pid") != get(pr, "pid"):
            p.append("ancestry[0].pid %r != process.pid %r" % (get(anc, 0, "pid"), get(pr, "pid")))
        if get(anc, -1, "pid") != get(ld, "pid"):
            p.append("ancestry[-1].pid %r != loader.pid %r" % (get(anc, -1, "pid"), get(ld, "pid")))
        pids = [get(e, "pid") for e in anc]
        if len(set(pids)) != len(pids):
            p.append("ancestry repeats a pid: %r" % pids)
    ev = a.get("event")
    kind = get(ev, "kind")
    if kind not in ("exec", "connect", "send", "open", "dup", "link", "socket", "python"):
        p.append("event.kind %r unknown" % (kind,))
    if rid in RULES and kind not in RULES[rid]:
        p.append("rule %s carries event.kind %r, want one of %r" % (rid, kind, RULES[rid]))
    if kind == "python":
        # the interpreter's own audit event (bpf/python.bpf.c, docs/python.md)
        if not (isinstance(ev.get("audit"), str) and ev.get("audit")):
            p.append("python event.audit missing")
        if not is_str_list(ev.get("args")):
            p.append("python event.args %r not a list of strings" % (ev.get("args"),))
    if kind == "exec":
        if not isinstance(ev.get("filename"), str):
            p.append("exec event.filename missing")
        if not is_str_list(ev.get("args")):
            p.append("exec event.args %r not a list of strings" % (ev.get("args"),))
        if "args_truncated" in ev and not isinstance(ev["args_truncated"], bool):
            p.append("exec event.args_truncated %r not a boolean" % (ev["args_truncated"],))
    elif kind in ("connect", "send"):
        if not isinstance(ev.get("during_load"), bool):
            p.append("%s event.during_load %r not a boolean" % (kind, ev.get("during_load")))
        if ev.get("family") not in ("inet", "inet6", "unix"):
            p.append("connect event.family %r" % (ev.get("family"),))
        if not isinstance(ev.get("address"), str):
            p.append("connect event.address missing")
        if not is_int(ev.get("port")):
            p.append("connect event.port %r not an integer" % (ev.get("port"),))
        if ev.get("family") != "unix" and ev.get("dest_class") not in (
                "loopback", "internal", "external", "metadata"):
            p.append("connect event.dest_class %r" % (ev.get("dest_class"),))
        if "result" not in ev:
            p.append("connect event.result missing")
    elif kind == "open":
        for k in ("path", "resolved_path"):
            if not isinstance(ev.get(k), str):
                p.append("open event.%s missing" % k)
        if not (is_str_list(ev.get("flags")) and ev.get("flags")):
            p.append("open event.flags %r not a list of O_* names" % (ev.get("flags"),))
        if "result" not in ev:
            p.append("open event.result missing")
        if rid == "model-loader-credential-read" and not (isinstance(ev.get("match"), str) and ev["match"]):
            p.append("open event.match empty")
    elif kind == "dup":
        for k in ("oldfd", "newfd"):
            if not is_int(ev.get(k)):
                p.append("dup event.%s missing" % k)
        if not (isinstance(get(ev, "peer", "address"), str) and is_int(get(ev, "peer", "port"))):
            p.append("dup event.peer %r lacks address/port" % (ev.get("peer"),))
        if ev.get("syscall") not in ("dup", "dup2", "dup3", "fcntl", "socket", "accept",
                                     "accept4", "pidfd_getfd"):
            p.append("dup event.syscall %r" % (ev.get("syscall"),))
    elif kind == "link":
        for k in ("source", "path", "resolved_path", "syscall"):
            if not isinstance(ev.get(k), str):
                p.append("link event.%s missing" % k)
        if not is_int(ev.get("result")):
            p.append("link event.result missing")
    elif kind == "socket":
        if ev.get("class") not in ("raw", "packet"):
            p.append("socket event.class %r" % (ev.get("class"),))
    return p


def _surrogate_free(v):
    if isinstance(v, str):
        v.encode("utf-8")          # raises on lone surrogates (\udcff ...)
    elif isinstance(v, list):
        for x in v:
            _surrogate_free(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _surrogate_free(k)
            _surrogate_free(x)


def _nested_versions(v):
    """How many objects below v carry schema_version."""
    kids = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
    return sum((isinstance(x, dict) and "schema_version" in x) + _nested_versions(x)
               for x in kids)


def schema_problems(obj):
    """Every top-level record (alert, incident, inventory, scan report)
    carries schema_version: the integer MLW_SCHEMA_VERSION, among its first
    two keys; a nested object is part of its record and carries none."""
    v = obj.get("schema_version")
    if type(v) is not int or v != SCHEMA_VERSION:     # True is an int in Python
        return ["schema_version %r, want %d (record %r)" % (v, SCHEMA_VERSION, obj.get("record"))]
    p = []
    if list(obj).index("schema_version") > 1:
        p.append("schema_version is not among the first two keys: %r" % list(obj)[:4])
    if _nested_versions(obj):
        p.append("a nested object carries schema_version (record %r)" % obj.get("record"))
    return p


def parse_output(data, final):
    """Parse JSON lines. Returns (alerts, problems). While mlwatch runs an
    unterminated last line may be half-written and is left for later."""
    alerts, problems = [], []
    lines = data.split(b"\n")
    tail = lines.pop()
    if final and tail:
        lines.append(tail)
        problems.append("output does not end with a newline")
    for n, raw in enumerate(lines, 1):
        try:
            obj = json.loads(raw.decode("utf-8"))
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            _surrogate_free(obj)
        except (UnicodeError, ValueError) as e:
            problems.append("output line %d is not valid JSON/UTF-8 (%s): %r"
                            % (n, e, raw[:160]))
            continue
        problems.extend("output line %d: %s" % (n, p) for p in schema_problems(obj))
        alerts.append(obj)
    return alerts, problems


# ---------------------------------------------------------------- processes

class Result:
    def __init__(self, pid, rc, out, err, argv):
        self.pid, self.rc, self.out, self.err, self.argv = pid, rc, out, err, argv

    def expect_ok(self, what="process"):
        """Exit status 0 and no Python traceback (a payload thread that dies
        does not change the exit status)."""
        if self.rc != 0 or "Traceback (most recent call last)" in self.err:
            raise TestFailure("%s %s (pid %d) exited %s; stderr: %s"
                              % (what, " ".join(self.argv[1:3]), self.pid, self.rc,
                                 self.err.strip()[-400:]))
        return self


class Listener:
    """TCP listener on 127.0.0.1 that accepts and drains connections in a
    thread, bounded in time and bytes."""

    def __init__(self, lifetime=60.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.received = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                r, _, _ = select.select([self.sock], [], [], 0.1)
                if not r:
                    continue
                conn, _ = self.sock.accept()
            except OSError:
                break
            with self._lock:
                self.accepted += 1
            data = self._drain(conn)
            with self._lock:
                self.received.append(data)

    def _drain(self, conn):
        chunks, total = [], 0
        end = min(self._deadline, time.monotonic() + 10.0)
        conn.settimeout(0.1)
        try:
            while not self._stop.is_set() and time.monotonic() < end and total < (1 << 20):
                try:
                    b = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not b:
                    break
                chunks.append(b)
                total += len(b)
        finally:
            conn.close()
        return b"".join(chunks)

    def wait(self, n=1, timeout=5.0, drained=True):
        """Wait until n connections were accepted (and drained)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if (len(self.received) if drained else self.accepted) >= n:
                    return True
            time.sleep(POLL)
        return False

    def close(self):
        self._stop.set()
        self._thread.join(2.0)
        self.sock.close()


class Monitor:
    """One mlwatch process."""

    def __init__(self, workdir):
        self.output = os.path.join(workdir, "alerts.jsonl")
        self.stdout_path = os.path.join(workdir, "mlwatch.stdout")
        self.proc = None
        self.lines = []
        self.ready_index = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None
        self.exit_seconds = None
        self.rc = None
        self.extra_args = []
        self.env = None       # None: the harness' own environment
        self.incidents = []
        self.inventory = []
        self.held_back = []   # inventory-held-back summaries

    def start(self):
        argv = [mlwatch_bin(), "--json", "--output", self.output,
                "--internal-net", INTERNAL_NET] + self.extra_args
        # MLWATCH_E2E_ARGS (split on spaces) goes to every mlwatch a test
        # starts: run a suite once more with --no-scan, the runtime layer alone.
        argv += os.environ.get("MLWATCH_E2E_ARGS", "").split()
        with open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.PIPE, cwd=REPO, env=self.env,
                                         start_new_session=True)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        end = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < end:
            if self._ready.wait(POLL):
                return
            if self.proc.poll() is not None:
                self._reader.join(1.0)
                raise TestFailure("mlwatch exited with rc %s before printing %r"
                                  % (self.proc.returncode, READY_LINE))
        raise TestFailure("mlwatch did not print %r within %.0f s" % (READY_LINE, READY_TIMEOUT))

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self.lines.append(line)
                if line == READY_LINE and self.ready_index is None:
                    self.ready_index = len(self.lines) - 1
                    self._ready.set()
        self.proc.stderr.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read(self, final=False):
        """(alerts, problems); incident records go to self.incidents, inventory
        records to self.inventory, held-back summaries to self.held_back."""
        try:
            with open(self.output, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        objs, problems = parse_output(data, final)
        self.incidents = [o for o in objs if o.get("record") == "incident"]
        self.inventory = [o for o in objs if o.get("record") == "inventory"]
        self.held_back = [o for o in objs if o.get("record") == "inventory-held-back"]
        return [o for o in objs if o.get("record") not in
                ("incident", "inventory", "inventory-held-back")], problems

    def stop(self, sig=signal.SIGINT):
        """Stop by PID. Returns a list of problems (empty when clean)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is not None:
            problems.append("mlwatch died during the test (rc %s)" % self.proc.returncode)
        else:
            t = time.monotonic()
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5.0)
                problems.append("mlwatch ignored %s for %.0f s and was SIGKILLed"
                                % (signal.Signals(sig).name, STOP_GRACE))
            self.exit_seconds = time.monotonic() - t
            if self.proc.returncode != 0 and not problems:
                problems.append("mlwatch exited with rc %s after %s (want 0)"
                                % (self.proc.returncode, signal.Signals(sig).name))
        self.rc = self.proc.returncode
        if self._reader:
            self._reader.join(2.0)
        return problems

    def stderr_text(self):
        with self._lock:
            return "\n".join(self.lines)

    def stderr_after_ready(self):
        with self._lock:
            if self.ready_index is None:
                return ""
            return "\n".join(self.lines[self.ready_index + 1:])

    def log_tail(self, n=25):
        with self._lock:
            tail = self.lines[-n:]
        out = "mlwatch stderr (last %d lines):\n" % len(tail) + "\n".join("  | " + l for l in tail)
        try:
            with open(self.stdout_path, "rb") as f:
                so = f.read()[-1500:].decode("utf-8", "replace").strip()
            if so:
                out += "\nmlwatch stdout (tail):\n" + "\n".join("  | " + l for l in so.splitlines())
        except OSError:
            pass
        return out


# ---------------------------------------------------------------- scenario

class Scenario:
    """with Scenario("name") as sc: make models, sc.start(), run, sc.stop()."""

    def __init__(self, name):
        self.name = name
        reason = preflight()
        if reason:
            raise TestFailure(reason)
        self.dir = None
        self.mon = None
        self.listeners = []
        self.t0 = time.time()
        self.final_alerts = None
        self.sentinel_model = None
        self.cleanup_paths = []  # files a test put outside its directory

    # -- setup --------------------------------------------------------
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="mlwatch-e2e-%s-" % self.name, dir="/tmp")
        self.home = self.path("home")
        os.makedirs(self.home)
        return self

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def env(self, **extra):
        k, v = ENV_CANARY.split("=", 1)
        e = {"PATH": SAFE_PATH, "HOME": self.home, "LANG": "C.UTF-8",
             "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", k: v}
        e.update(extra)
        return e

    def write(self, rel, content, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        os.chmod(p, mode)
        return p

    def fake_credentials(self):
        return self.write("home/.aws/credentials",
                          "[default]\naws_access_key_id = AKIAFAKEFAKEFAKE0000\n"
                          "aws_secret_access_key = fake/e2e/not-a-real-secret\n", 0o600)

    def make_model(self, fmt, rel, system=None, system_bytes=None, exec_code=None):
        """Write a model with the real library, before mlwatch starts.
        fmt: pickle | torch | numpy | joblib | joblib-z. No payload = benign."""
        if self.mon is not None:
            raise TestFailure("harness bug: models must be made before mlwatch starts")
        out = self.path(rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        payload = None
        if system is not None:
            payload = {"call": "system", "arg": system}
        elif system_bytes is not None:
            payload = {"call": "system", "arg_b64": base64.b64encode(system_bytes).decode()}
        elif exec_code is not None:
            payload = {"call": "exec", "arg": exec_code}
        spec = json.dumps({"format": fmt, "out": out, "payload": payload})
        r = self._run([PY, GENERATOR, spec], timeout=120, cwd=self.dir, tag="gen")
        if r.rc != 0 or not os.path.isfile(out):
            raise TestFailure("payload generator failed for %s (rc %s): %s"
                              % (rel, r.rc, r.err.strip()[-400:]))
        return out

    @staticmethod
    def sha256(path):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            h.update(f.read())
        return h.hexdigest()

    def start(self, sentinel=False, extra_args=(), env=None):
        """Start mlwatch and wait for ready. sentinel=True first writes a
        malicious pickle for liveness_sentinel(); extra_args go to mlwatch;
        env (a dict), when given, is mlwatch's whole environment."""
        if sentinel:
            self.sentinel_marker = self.path("SENTINEL")
            self.sentinel_model = self.make_model(
                "pickle", "sentinel/sentinel.pkl", system="touch " + self.sentinel_marker)
        self.mon = Monitor(self.dir)
        self.mon.extra_args = list(extra_args)
        self.mon.env = env
        self.mon.start()

    def listener(self):
        lst = Listener()
        self.listeners.append(lst)
        return lst

    # -- running things -----------------------------------------------
    def _run(self, argv, timeout, cwd=None, env=None, tag="proc"):
        n = len(os.listdir(self.dir))
        out_p = self.path(".%s-%d.out" % (tag, n))
        err_p = self.path(".%s-%d.err" % (tag, n))
        with open(out_p, "wb") as out, open(err_p, "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 cwd=cwd or self.dir, env=env or self.env())
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5.0)
            raise TestFailure("%s did not finish within %.0f s (killed)" % (" ".join(argv[:3]), timeout))
        with open(out_p, "rb") as f:
            o = f.read().decode("utf-8", "replace")
        with open(err_p, "rb") as f:
            e = f.read().decode("utf-8", "replace")
        return Result(p.pid, rc, o, e, argv)

    def run_loader(self, kind, model, timeout=90):
        """Load `model` with pickle|torch|numpy|joblib in /usr/bin/python3."""
        return self._run([PY, LOADER, kind, model], timeout, tag="loader")

    def run_script(self, code, timeout=60):
        """Run a Python script file (not -c) with /usr/bin/python3."""
        n = len(os.listdir(self.dir))
        script = self.write("script-%d.py" % n, code)
        return self._run([PY, script], timeout, tag="script")

    def wait_file(self, path, timeout=6.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.exists(path):
                return True
            time.sleep(POLL)
        return os.path.exists(path)

    def expect_file(self, path, what="marker", timeout=6.0):
        if not self.wait_file(path, timeout):
            raise TestFailure("%s %s never appeared: the payload did not run"
                              % (what, os.path.basename(path)))

    # -- alerts -------------------------------------------------------
    def wait_alerts(self, pred, timeout=SETTLE):
        """Poll the output until pred(alerts) holds or timeout; True if it held."""
        end = time.monotonic() + timeout
        while True:
            alerts, _ = self.mon.read()
            if pred(alerts):
                return True
            if time.monotonic() >= end or not self.mon.alive():
                return False
            time.sleep(POLL)

    def wait_rules(self, loader_pid, rules, timeout=SETTLE):
        want = set(rules)
        return self.wait_alerts(
            lambda al: want <= {get(a, "rule", "id") for a in for_loader(al, loader_pid)},
            timeout)

    def wait_inventory(self, pid, n=1, timeout=10.0):
        """Poll until n inventory records name pid or timeout; True if so."""
        end = time.monotonic() + timeout
        while True:
            self.mon.read()
            if len([r for r in self.mon.inventory if get(r, "process", "pid") == pid]) >= n:
                return True
            if time.monotonic() >= end or not self.mon.alive():
                return False
            time.sleep(POLL)

    def events(self):
        """What mlwatch (started with -v) received from marked processes:
        dicts with kind, pid, loader, path, address, port, during_load."""
        out = []
        for line in self.mon.stderr_text().splitlines():
            m = EVENT_RE.match(line)
            if m and int(m.group(3)):
                out.append({"kind": m.group(1), "pid": int(m.group(2)), "loader": int(m.group(3)),
                            "path": m.group(4), "address": m.group(5),
                            "port": int(m.group(6)) if m.group(6) else None,
                            "during_load": bool(m.group(7))})
        return out

    def judged(self):
        """mlwatch -v's verdicts on model opens: {pid: {"inert", "may run code"}}."""
        out = {}
        for line in self.mon.stderr_text().splitlines():
            m = JUDGED_RE.match(line)
            if m:
                out.setdefault(int(m.group(1)), set()).add(m.group(2))
        return out

    def expect_seen(self, what, pred, timeout=5.0):
        """The positive control of a benign twin: mlwatch -v received the
        twin's action (an event for which pred holds) while it was marked,
        by a loader whose every model may run code (an inert one is unmarked
        and what it sent before is let pass), and let it pass. Without that
        its silence would prove nothing."""
        end = time.monotonic() + timeout
        while True:
            judged = self.judged()
            hits = [e for e in self.events()
                    if pred(e) and judged.get(e["loader"]) == {"may run code"}]
            if hits:
                return hits
            if time.monotonic() >= end or not self.mon.alive():
                raise TestFailure("mlwatch never received %s from a marked process, so its "
                                  "silence would prove nothing (run with -v)" % what)
            time.sleep(POLL)

    def liveness_sentinel(self, timeout=5.0):
        """Prove mlwatch is alive and delivering: load the sentinel pickle and
        wait for its alert. Runs after a negative scenario, so alerts for that
        scenario, which the kernel saw earlier, would already be out."""
        r = self.run_loader("pickle", self.sentinel_model).expect_ok("sentinel loader")
        self.expect_file(self.sentinel_marker, "sentinel marker")
        if not self.wait_rules(r.pid, {"model-loader-shell"}, timeout):
            raise TestFailure("liveness sentinel (malicious pickle, pid %d) raised no "
                              "model-loader-shell alert within %.0f s: mlwatch is not "
                              "delivering alerts, so the negative result would be vacuous"
                              % (r.pid, timeout))
        return r.pid

    def stop(self, sig=signal.SIGINT):
        """Stop mlwatch, parse every line strictly; raise on any problem."""
        if self.final_alerts is not None:
            return self.final_alerts
        problems = self.mon.stop(sig) if self.mon else ["mlwatch was never started"]
        alerts, parse_problems = self.mon.read(final=True) if self.mon else ([], [])
        problems += parse_problems
        for a in alerts:
            if get(a, "rule", "id") is None or a.get("record") != "alert":
                problems.append("alert without rule.id or record=alert: %r" % (a,))
        mine = [a for a in alerts if get(a, "loader", "pid") == os.getpid()]
        if mine:
            problems.append("the harness itself is a loader (it opened a file with a model's "
                            "name while watched): %s" % summary(mine, 3))
        for i in self.mon.incidents if self.mon else []:
            if not str(i.get("incident", "")).startswith("mlw-"):
                problems.append("incident record without an id: %r" % (i,))
        self.final_alerts = alerts
        if problems:
            c = Checks()
            c.extend(problems)
            c.done()
        return alerts

    def __exit__(self, et, ev, tb):
        cleanup = []
        if self.mon is not None and self.mon.rc is None and self.mon.proc is not None:
            cleanup = self.mon.stop()
        for lst in self.listeners:
            lst.close()
        if self.mon is not None and ev is not None:
            if self.mon.proc is not None:
                cleanup += self.mon.read(final=True)[1][:3]
            extra = ("\n".join("harness: " + p for p in cleanup) + "\n") if cleanup else ""
            try:
                ev.mlwatch_log = extra + self.mon.log_tail()
            except AttributeError:
                pass
        for p in self.cleanup_paths:
            try:
                os.unlink(p)
            except OSError:
                pass
        if self.dir and os.path.isdir(self.dir) and not os.environ.get("MLWATCH_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if ev is None and cleanup:
            raise TestFailure("; ".join(cleanup))
        return False


# ---------------------------------------------------------------- filters

def for_loader(alerts, pid):
    return [a for a in alerts if get(a, "loader", "pid") == pid]


def touching(alerts, pid):
    """Alerts that involve pid anywhere: as loader, actor, parent or ancestor."""
    out = []
    for a in alerts:
        pids = {get(a, "loader", "pid"), get(a, "process", "pid"), get(a, "process", "ppid")}
        anc = a.get("ancestry")
        if isinstance(anc, list):
            pids.update(get(e, "pid") for e in anc)
        if pid in pids:
            out.append(a)
    return out


def with_rule(alerts, rule):
    return [a for a in alerts if get(a, "rule", "id") == rule]


def summary(alerts, limit=10):
    s = ", ".join(brief(a) for a in alerts[:limit])
    return "[%s%s]" % (s, ", ..." if len(alerts) > limit else "")


# ---------------------------------------------------------------- assertions

def require_rules(sc, alerts, loader_pid, expected, allowed=()):
    """Alerts for loader_pid must include every expected rule; known rules
    other than expected + allowed are false positives. Returns the list."""
    mine = for_loader(alerts, loader_pid)
    got = {get(a, "rule", "id") for a in mine}
    c = Checks("loader pid %d; its alerts %s; %d alerts in file %s"
               % (loader_pid, summary(mine), len(alerts), summary(alerts, 6)))
    for r in sorted(set(expected) - got):
        c.problems.append("no %s alert" % r)
    extra = {r for r in got if r in RULES} - set(expected) - set(allowed)
    for r in sorted(extra):
        c.problems.append("unexpected %s alert" % r)
    for a in mine:
        c.extend(shape_problems(a, sc.t0), "%s: " % brief(a))
    c.done()
    return mine


def check_loader_fields(a, loader_pid, model, fmt, model_path=None):
    """loader.* of one alert: pid, python exe, model path / resolved / format."""
    c = Checks(brief(a))
    c.eq(get(a, "loader", "pid"), loader_pid, "loader.pid")
    c.eq(real(get(a, "loader", "exe")), real(PY), "realpath(loader.exe)")
    c.eq(get(a, "loader", "model", "path"), model_path or model, "loader.model.path")
    rp = resolved_problem(get(a, "loader", "model", "resolved_path"), model_path or model,
                          "loader.model.resolved_path")
    c.true(rp is None, rp)
    c.eq(get(a, "loader", "model", "format"), fmt, "loader.model.format")
    c.eq(get(a, "ancestry", -1, "pid"), loader_pid, "ancestry[-1].pid")
    c.eq(real(get(a, "ancestry", -1, "exe")), real(PY), "realpath(ancestry[-1].exe)")
    c.eq(get(a, "process", "uid"), os.geteuid(), "process.uid")
    cg = my_cgroup_id()
    if cg is not None:
        c.eq(get(a, "process", "cgroup_id"), cg, "process.cgroup_id")
    c.done()


def check_shell_exec(a, argv, parent=None, ancestry_len=None):
    """One model-loader-shell alert for an exec of /bin/sh with argv."""
    c = Checks(brief(a))
    c.eq(get(a, "event", "kind"), "exec", "event.kind")
    c.eq(get(a, "event", "filename"), "/bin/sh", "event.filename")
    c.eq(get(a, "event", "args"), argv, "event.args")
    c.eq(get(a, "process", "args"), argv, "process.args")
    c.eq(real(get(a, "process", "exe")), real("/bin/sh"), "realpath(process.exe)")
    c.eq(get(a, "process", "comm"), "sh", "process.comm")
    c.eq(get(a, "process", "tid"), get(a, "process", "pid"), "process.tid (single-threaded sh)")
    c.eq(real(get(a, "ancestry", 0, "exe")), real("/bin/sh"), "realpath(ancestry[0].exe)")
    if parent is not None:
        c.eq(get(a, "process", "ppid"), parent, "process.ppid")
    if ancestry_len is not None:
        c.eq(len(a.get("ancestry") or []), ancestry_len, "len(ancestry)")
    tags = a.get("tags") or []
    c.true("T1059.004" in tags, "tags %r lack T1059.004 (unix shell)" % (tags,))
    c.done()


def pick(alerts, desc, pred):
    for a in alerts:
        if pred(a):
            return a
    raise TestFailure("no alert %s among %s" % (desc, summary(alerts)))
