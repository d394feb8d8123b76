"""Rules as data, through the real binary: `mlwatch rules check` names every
error by rule and field; a rules file changes what alerts; SIGHUP reloads
it, and a broken file keeps the rules in force."""
import json
import os
import signal
import subprocess
import time

from harness import Checks, Scenario, get, mlwatch_bin, require_rules, with_rule

BROKEN = {
    "version": 1,
    "rules": [
        {"id": "bad-sev", "title": "t", "severity": "urgent", "match": {"kind": "exec"}},
        {"id": "bad-dest", "title": "t", "severity": "low",
         "match": {"kind": "connect", "dest": ["extrnal"]}},
        {"id": "bad-cidr", "title": "t", "severity": "low",
         "match": {"kind": "connect", "cidr": ["10.0.0.0/33"]}},
        {"id": "bad-port", "title": "t", "severity": "low",
         "match": {"kind": "connect", "port": [70000]}},
        {"id": "typo", "title": "t", "severity": "low", "match": {"kind": "exec", "argz": ["x"]}},
        {"title": "no id", "severity": "low", "match": {"kind": "exec"}},
    ],
}


def run_cmd(*args):
    p = subprocess.run([mlwatch_bin()] + list(args), capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_rules_check_names_every_error():
    with Scenario("rules-check") as sc:
        bad = sc.write("bad.json", json.dumps(BROKEN))
        os.chmod(bad, 0o600)
        rc, out, err = run_cmd("rules", "check", bad)
        text = out + err
        c = Checks("rules check")
        c.eq(rc, 1, "exit code for a file with errors")
        for needle in ('rule "bad-sev": severity', 'rule "bad-dest": match.dest[0]', "extrnal",
                       'rule "bad-cidr": match.cidr[0]', 'rule "bad-port": match.port[0]',
                       'rule "typo": match: unknown key "argz"', "rules[5]"):
            c.true(needle in text, "%r not in the report:\n%s" % (needle, text))
        syntax = sc.write("syntax.json", '{"version": 1, "rules": [\n  {"id": "x",,}\n]}')
        os.chmod(syntax, 0o600)
        rc, out, err = run_cmd("rules", "check", syntax)
        c.eq(rc, 1, "exit code for invalid JSON")
        c.true("line 2" in out + err, "invalid JSON without a line number: %s" % (out + err))
        rc, out, err = run_cmd("rules", "check", sc.path("missing.json"))
        c.eq(rc, 1, "exit code for a missing file")
        c.true("missing.json" in out + err, "missing file not named: %s" % (out + err))
        rc, out, err = run_cmd("rules", "list")
        c.eq(rc, 0, "rules list exit code")
        c.true("model-loader-shell" in out and "root-credential-read" in out,
               "rules list lacks built-ins: %s" % out[:300])
        c.done()


GOOD_V1 = {"version": 1, "rules": [
    {"id": "model-loader-shell", "enabled": False},
    {"id": "site-touch", "title": "touch run by a process that loaded a model", "severity": "medium",
     "tags": ["AML.T0011.000"], "match": {"kind": "exec", "exe": ["touch"]}},
]}


def test_rules_file_and_sighup_reload():
    """v1 disables model-loader-shell and adds site-touch; a broken file
    sent with SIGHUP changes nothing; the built-ins come back on a valid
    reload of an empty rules list."""
    with Scenario("rules-hup") as sc:
        markers = [sc.path("M%d" % i) for i in range(3)]
        models = [sc.make_model("pickle", "m%d.pkl" % i, system="touch " + markers[i]) for i in range(3)]
        rules = sc.write("rules.json", json.dumps(GOOD_V1))
        os.chmod(rules, 0o600)
        sc.start(extra_args=["--rules", rules])
        c = Checks("rules + SIGHUP")
        ld0 = sc.run_loader("pickle", models[0]).expect_ok("loader 0")
        sc.expect_file(markers[0])
        sc.wait_rules(ld0.pid, {"site-touch"})

        with open(rules, "w") as f:
            f.write('{"version": 1, "rules": [{"id": "oops", "severity": "loud"}]}')
        os.kill(sc.mon.proc.pid, signal.SIGHUP)
        end = time.monotonic() + 5
        while time.monotonic() < end and "keeping the rules in force" not in sc.mon.stderr_text():
            time.sleep(0.1)
        c.true("keeping the rules in force" in sc.mon.stderr_text(), "no message for a broken reload")
        c.true('rule "oops"' in sc.mon.stderr_text(), "the broken reload's error does not name the rule")
        ld1 = sc.run_loader("pickle", models[1]).expect_ok("loader 1")
        sc.expect_file(markers[1])
        sc.wait_rules(ld1.pid, {"site-touch"})

        with open(rules, "w") as f:
            f.write('{"version": 1, "rules": []}')
        os.kill(sc.mon.proc.pid, signal.SIGHUP)
        end = time.monotonic() + 5
        while time.monotonic() < end and "reloaded" not in sc.mon.stderr_text():
            time.sleep(0.1)
        ld2 = sc.run_loader("pickle", models[2]).expect_ok("loader 2")
        sc.expect_file(markers[2])
        sc.wait_rules(ld2.pid, {"model-loader-shell"})
        alerts = sc.stop()
        for pid, want, gone in ((ld0.pid, "site-touch", "model-loader-shell"),
                                (ld1.pid, "site-touch", "model-loader-shell"),
                                (ld2.pid, "model-loader-shell", "site-touch")):
            mine = [a for a in alerts if get(a, "loader", "pid") == pid]
            rules_seen = {get(a, "rule", "id") for a in mine}
            c.true(want in rules_seen, "loader %d: %s missing (saw %s)" % (pid, want, sorted(rules_seen)))
            c.true(gone not in rules_seen, "loader %d: %s fired (saw %s)" % (pid, gone, sorted(rules_seen)))
        c.done()
