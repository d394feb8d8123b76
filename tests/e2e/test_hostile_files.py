"""Files other users may control, through the real binary: root's outputs
never follow a planted link, a configuration file that is a FIFO or that
others may write is refused at once with a message naming it (at start
and on SIGHUP, where the rules in force stay), and a user can still check
their own rules file."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import Checks, Scenario, mlwatch_bin

NOBODY = 65534
BOUND = 5.0  # s: an open that waits on a FIFO would take the whole timeout


def run(argv, prefix=(), timeout=20):
    """(rc, stdout + stderr, seconds); rc None when it had to be stopped. A
    monitor that started when it should have refused gets SIGINT first, so
    it detaches and unmounts what it mounted."""
    t = time.monotonic()
    p = subprocess.Popen(list(prefix) + [mlwatch_bin()] + argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        secs = time.monotonic() - t
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        return None, out.decode("utf-8", "replace"), secs
    return rc, out.decode("utf-8", "replace"), time.monotonic() - t


def test_output_symlink_refused():
    """-o and --inventory naming a symlink (to a file root could be made to
    append to) exit 7 with a message; the target is untouched."""
    with Scenario("out-link") as sc:
        c = Checks("output symlink")
        victim = sc.write("victim.txt", "keep\n")
        for opt in ("-o", "--inventory"):
            link = sc.path("link%s.log" % opt.strip("-"))
            os.symlink(victim, link)
            argv = [opt, link] if opt == "-o" else ["-o", sc.path("alerts.log"), opt, link]
            rc, err, secs = run(argv + ["--json"])
            c.eq(rc, 7, "%s LINK: exit code" % opt)
            c.true("%s: is a symbolic link; refusing" % link in err,
                   "%s LINK: message: %r" % (opt, err[-300:]))
        dangling = sc.path("dangling.log")
        os.symlink(sc.path("made-by-root"), dangling)
        rc, err, secs = run(["-o", dangling])
        c.eq(rc, 7, "-o dangling link: exit code")
        c.true(not os.path.lexists(sc.path("made-by-root")), "the link's target was created")
        with open(victim) as f:
            c.eq(f.read(), "keep\n", "the link's target")
        c.done()


def test_rules_fifo_does_not_hang():
    """--rules, --blocklist, --scan-profiles and scan --profiles naming a
    FIFO (no writer ever comes) end at once with a message."""
    with Scenario("rules-fifo") as sc:
        c = Checks("config FIFO")
        fifo = sc.path("rules.json")
        os.mkfifo(fifo, 0o600)
        for argv, want_rc in ((["--rules", fifo], 2), (["--blocklist", fifo], 2),
                              (["--scan-profiles", fifo], 2),
                              (["scan", "--profiles", fifo, fifo], 2),
                              (["rules", "check", fifo], 1)):
            rc, err, secs = run(argv + ([] if argv[0] in ("scan", "rules")
                                        else ["-o", sc.path("alerts.log")]), timeout=BOUND * 2)
            what = " ".join(a if a != fifo else "FIFO" for a in argv)
            c.true(rc is not None, "%s: hung (killed after %.0f s)" % (what, secs))
            c.true(secs < BOUND, "%s: took %.1f s" % (what, secs))
            c.eq(rc, want_rc, "%s: exit code" % what)
            c.true("%s: not a regular file (a FIFO); refusing" % fifo in err,
                   "%s: message: %r" % (what, err[-300:]))
        c.done()


def test_config_writable_by_others_refused():
    """A rules file others may write, or one in a directory others may
    write, would let them switch detection off."""
    with Scenario("rules-mode") as sc:
        c = Checks("config modes")
        rules = sc.write("rules.json", json.dumps({"version": 1}), mode=0o664)
        rc, err, _ = run(["--rules", rules, "-o", sc.path("alerts.log")])
        c.eq(rc, 2, "group-writable --rules: exit code")
        c.true("mlwatch: --rules: %s: writable by group/others (mode 0664); refusing" % rules
               in err,
               "message: %r" % err[-300:])
        shared = sc.path("shared")
        os.makedirs(shared)
        os.chmod(shared, 0o777)
        inner = sc.write("shared/rules.json", json.dumps({"version": 1}))
        rc, err, _ = run(["rules", "check", inner])
        c.eq(rc, 1, "rules file in a world-writable directory: exit code")
        c.true("its directory %s is writable by group/others (mode 0777)" % shared in err,
               "message: %r" % err[-300:])
        c.done()


def test_user_checks_own_rules_file():
    """`mlwatch rules check` by a user on the user's own file works, and
    says that the monitor (root) would not load it; root refuses it."""
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
    c = Checks("rules check as a user")
    c.true(setpriv is not None, "setpriv (util-linux) not found")
    if not setpriv:
        c.done()
    d = tempfile.mkdtemp(prefix="mlwatch-e2e-userrules-", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        os.chown(d, NOBODY, NOBODY)
        rules = os.path.join(d, "rules.json")
        with open(rules, "w") as f:
            json.dump({"version": 1}, f)
        os.chmod(rules, 0o644)
        os.chown(rules, NOBODY, NOBODY)
        rc, out, _ = run(["rules", "check", rules],
                         prefix=[setpriv, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                 "--clear-groups", "--inh-caps=-all"])
        c.eq(rc, 0, "the user's own file: exit code (%r)" % out[-300:])
        c.true("%s: ok:" % rules in out, "no ok line: %r" % out[-300:])
        c.true("loads only a file root owns" in out, "no note about root: %r" % out[-300:])
        rc, out, _ = run(["rules", "check", rules])
        c.eq(rc, 1, "the same file checked by root: exit code")
        c.true("owned by uid %d (only root may own it); refusing" % NOBODY in out,
               "root's message: %r" % out[-300:])
    finally:
        shutil.rmtree(d, ignore_errors=True)
    c.done()


SITE = {"version": 1, "rules": [
    {"id": "site-touch", "title": "touch run by a process that loaded a model", "severity": "medium",
     "tags": ["AML.T0011.000"], "match": {"kind": "exec", "exe": ["touch"]}},
]}


def test_sighup_fifo_keeps_rules():
    """SIGHUP with the rules file swapped for a FIFO, then for a file others
    may write: the monitor neither hangs nor dies, says why, and the rules
    it had stay in force."""
    with Scenario("hup-fifo") as sc:
        c = Checks("SIGHUP FIFO")
        marker = sc.path("M")
        model = sc.make_model("pickle", "m.pkl", system="touch " + marker)
        rules = sc.write("rules.json", json.dumps(SITE), mode=0o600)
        sc.start(extra_args=["--rules", rules])
        os.unlink(rules)
        os.mkfifo(rules, 0o600)
        for want in ("not a regular file (a FIFO); refusing",
                     "writable by group/others (mode 0666); refusing"):
            n = sc.mon.stderr_text().count("keeping the rules in force")
            os.kill(sc.mon.proc.pid, signal.SIGHUP)
            end = time.monotonic() + BOUND
            while (time.monotonic() < end and
                   sc.mon.stderr_text().count("keeping the rules in force") == n):
                time.sleep(0.1)
            text = sc.mon.stderr_text()
            c.true(text.count("keeping the rules in force") > n,
                   "no message within %.0f s of SIGHUP (%s)" % (BOUND, want))
            c.true("%s: %s" % (rules, want) in text, "the reason is not named: %s" % want)
            c.true(sc.mon.alive(), "mlwatch died on SIGHUP (%s)" % want)
            os.unlink(rules)
            sc.write("rules.json", json.dumps({"version": 1, "rules": []}), mode=0o666)
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"site-touch"})
        sc.stop()
        c.done()
