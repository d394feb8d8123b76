"""`mlwatch outputs check FILE` through the real binary: a good --outputs
file is listed with its defaults, a bad one is refused with a message that
names the file, the output and the key, and a token never shows."""
import json
import os
import subprocess

from harness import Checks, Scenario, mlwatch_bin

SECRET = "e2e-SeCrEt-4f9c1b"


def run_cmd(args, env=None):
    p = subprocess.run([mlwatch_bin()] + list(args), capture_output=True, timeout=20, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def write_conf(sc, name, conf):
    text = conf if isinstance(conf, str) else json.dumps(conf, indent=1)
    return sc.write(name, text, 0o600)


def test_outputs_check_lists_a_good_file():
    with Scenario("outputs-good") as sc:
        tok = sc.write("hec.token", SECRET + "\n", 0o600)
        conf = write_conf(sc, "outputs.json", {"outputs": [
            {"type": "syslog", "url": "tls://[::1]:6514", "format": "cef", "facility": "auth"},
            {"name": "hec", "type": "splunk_hec", "url": "https://splunk.example:8088",
             "token_file": tok, "records": ["alert", "health"]},
            {"type": "elasticsearch", "url": "http://es:9200/mlwatch", "token_env": "MLW_E2E_ES"},
            {"type": "http", "url": "http://falco:2801/", "format": "falco"},
            {"type": "file", "url": "file:///var/log/mlwatch/out.json",
             "spool_dir": sc.path("spool"), "spool_max_mb": 10},
        ]})
        env = dict(os.environ, MLW_E2E_ES=SECRET + "-es")
        rc, out, err = run_cmd(["outputs", "check", conf], env=env)
        c = Checks("outputs check (good)")
        c.eq(rc, 0, "exit code")
        lines = out.splitlines()
        c.eq(len(lines), 6, "lines (one per output, then the total): %r" % out)
        c.eq(lines[-1] if lines else "", "%s: 5 outputs ok" % conf, "last line")
        want = [
            ("syslog-1: type syslog, format cef, url tls://[::1]:6514", "facility auth",
             "spool /var/lib/mlwatch/spool/syslog-1 (at most 256 MiB)"),
            ("hec: type splunk_hec, format json", "records alert,health",
             "posts to https://splunk.example:8088/services/collector/event",
             "token: from file %s" % tok),
            ("elasticsearch-3: type elasticsearch, format ecs",
             "posts to http://es:9200/mlwatch/_bulk", "token: from environment variable MLW_E2E_ES"),
            ("http-4: type http, format falco", "batch 1,"),
            ("file-5: type file, format json", "writes /var/log/mlwatch/out.json",
             "spool %s (at most 10 MiB)" % sc.path("spool", "file-5")),
        ]
        for i, needles in enumerate(want):
            line = lines[i] if i < len(lines) else ""
            for n in needles:
                c.true(n in line, "output %d: %r not in %r" % (i, n, line))
        c.true(SECRET not in out + err, "the token was printed: %s" % (out + err))
        c.eq(err, "", "stderr of a clean check")
        c.done()


BAD = [
    # (what, conf, needles in the message)
    ("format", {"outputs": [{"type": "syslog", "url": "udp://h:514"},
                            {"name": "hec", "type": "splunk_hec", "url": "https://s:8088",
                             "token_env": "MLW_E2E_TOK", "format": "cef"}]},
     ['outputs[1] "hec": key "format": "cef" is not a format of splunk_hec (json, ecs, ocsf, falco)']),
    ("port", {"outputs": [{"type": "syslog", "url": "tcp://h:65536"}]},
     ['outputs[0] "syslog-1": key "url"', "65536"]),
    ("userinfo", {"outputs": [{"type": "http", "url": "https://u:p@h/"}]},
     ['key "url"', "token_file or token_env"]),
    ("unknown key", {"outputs": [{"type": "file", "url": "/x", "colour": "red"}]},
     ['outputs[0] "file-1": key "colour": not a key of an output']),
    ("top key", {"outputs": [{"type": "file", "url": "/x"}], "version": 1},
     ['key "version": not a key at the top level']),
    ("batch", {"outputs": [{"type": "file", "url": "/x", "batch": 1.5}]},
     ['key "batch"', "not a whole number"]),
    ("records", {"outputs": [{"type": "file", "url": "/x", "records": ["alerts"]}]},
     ['key "records"', '"alerts" is not a record kind']),
    ("ca for http", {"outputs": [{"type": "http", "url": "http://h/", "ca_file": "/etc/hostname"}]},
     ['key "ca_file"', "only for tls:// and https://"]),
    ("no token", {"outputs": [{"type": "splunk_hec", "url": "https://s"}]},
     ['key "token_file"', "splunk_hec needs"]),
    ("duplicate name", {"outputs": [{"name": "a", "type": "file", "url": "/x"},
                                    {"name": "a", "type": "file", "url": "/y"}]},
     ['outputs[1] "a": key "name"', "outputs[0]"]),
    ("syntax", '{"outputs": [\n {"type": "file",, "url": "/x"}\n]}', ["line 2, column", "invalid JSON"]),
]


def test_outputs_check_refuses_bad_files():
    with Scenario("outputs-bad") as sc:
        env = dict(os.environ, MLW_E2E_TOK=SECRET)
        c = Checks("outputs check (bad)")
        for i, (what, conf, needles) in enumerate(BAD):
            path = write_conf(sc, "bad%d.json" % i, conf)
            rc, out, err = run_cmd(["outputs", "check", path], env=env)
            c.eq(rc, 1, "%s: exit code" % what)
            c.eq(out, "", "%s: stdout" % what)
            c.true(err.startswith("mlwatch outputs: %s: " % path),
                   "%s: the message does not start with the file: %r" % (what, err))
            c.eq(len(err.splitlines()), 1, "%s: message lines" % what)
            for n in needles:
                c.true(n in err, "%s: %r not in %r" % (what, n, err))
            c.true(SECRET not in out + err, "%s: the token was printed" % what)
        # a token file that is refused is not quoted
        tok = sc.write("bad.token", SECRET + "\x01\n", 0o600)
        path = write_conf(sc, "tok.json", {"outputs": [
            {"type": "splunk_hec", "url": "https://s", "token_file": tok}]})
        rc, out, err = run_cmd(["outputs", "check", path])
        c.eq(rc, 1, "bad token file: exit code")
        c.true('key "token_file"' in err and "control character" in err,
               "bad token file: message %r" % err)
        c.true(SECRET not in out + err, "bad token file: the token was printed: %r" % err)
        # readable by others: a warning on stderr, still ok
        os.chmod(tok, 0o644)
        with open(tok, "w") as f:
            f.write(SECRET + "\n")
        rc, out, err = run_cmd(["outputs", "check", path])
        c.eq(rc, 0, "token file readable by others: exit code (%s)" % err)
        c.true("warning" in err and "readable by group or others" in err,
               "no warning for a token file others can read: %r" % err)
        c.true(SECRET not in out + err, "readable token file: the token was printed")
        # the file itself: whoever can write it chooses where records go
        ww = write_conf(sc, "ww.json", {"outputs": [{"type": "file", "url": "/x"}]})
        os.chmod(ww, 0o666)
        rc, out, err = run_cmd(["outputs", "check", ww])
        c.eq(rc, 1, "world-writable file: exit code")
        c.true(ww in err and "writable" in err, "world-writable file: message %r" % err)
        rc, out, err = run_cmd(["outputs", "check", sc.path("missing.json")])
        c.eq(rc, 1, "missing file: exit code")
        c.true("missing.json" in err, "missing file not named: %r" % err)
        c.done()


def test_outputs_check_usage():
    c = Checks("outputs usage")
    rc, out, err = run_cmd(["outputs", "--help"])
    c.eq(rc, 0, "outputs --help")
    c.true("Usage: mlwatch outputs check FILE" in out, "help text: %r" % out)
    for args in (["outputs"], ["outputs", "check"], ["outputs", "check", "a", "b"],
                 ["outputs", "frob"], ["outputs", "check", "--json"]):
        rc, out, err = run_cmd(args)
        c.eq(rc, 2, "exit code of %s" % " ".join(args))
        c.true(err.strip() != "", "no message for %s" % " ".join(args))
    rc, out, err = run_cmd(["--help"])
    c.true("--outputs FILE" in out and "mlwatch outputs check FILE" in out,
           "the monitor's --help lacks --outputs")
    c.done()
