"""--enforce: the kernel side SIGKILLs a process that loaded a model at the
offending exec (before the new program runs) or external connect (before
its caller sends a byte), and the alert says so."""
import os
import time

from harness import Checks, Scenario, for_loader, get, require_rules, summary, with_rule


def test_enforce_kills_shell_before_it_runs():
    with Scenario("enforce-shell") as sc:
        marker = sc.path("MARKER")
        model = sc.make_model("pickle", "model.pkl", system="touch " + marker)
        sc.start(extra_args=["--enforce"])
        ld = sc.run_loader("pickle", model)
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        time.sleep(0.5)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        c = Checks("enforce shell")
        c.true(not os.path.exists(marker), "the shell ran: %s exists" % marker)
        for a in with_rule(mine, "model-loader-shell"):
            c.eq(get(a, "event", "action"), "killed", "shell alert event.action")
            c.eq(get(a, "event", "args"), ["sh", "-c", "touch " + marker], "shell args")
        # pickle's os.system returns the shell's wait status; the loader lives
        c.eq(ld.rc, 0, "loader exit status (only the shell is killed)")
        c.done()


def test_enforce_kills_external_connect_before_data():
    """In-process payload: connect to a 127.0.0.1 listener (external under
    --internal-net 10.0.0.0/8) and send a fake secret. The loader dies in
    connect(); the listener gets no byte."""
    with Scenario("enforce-connect") as sc:
        lst = sc.listener()
        code = ("import socket; s=socket.create_connection(('127.0.0.1', %d)); "
                "s.sendall(b'SECRET-PAYLOAD'); s.close()") % lst.port
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start(extra_args=["--enforce"])
        ld = sc.run_loader("pickle", model)
        sc.wait_rules(ld.pid, {"model-loader-external-connect"})
        lst.wait(1, timeout=2.0)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-external-connect"})
        c = Checks("enforce connect")
        c.eq(ld.rc, -9, "loader exit status (SIGKILL)")
        c.true(not any(b"SECRET" in d for d in lst.received),
               "the listener received the payload's bytes")
        for a in with_rule(mine, "model-loader-external-connect"):
            c.eq(get(a, "event", "action"), "killed", "connect alert event.action")
        c.done()


def test_enforce_spares_benign_load():
    """A benign load that runs a compiler the way torch.compile does and
    connects to a loopback parameter server marked internal is not killed.
    It holds its model open meanwhile: the connect is during its load, where
    an external one would be killed. Controls: mlwatch -v saw that connect,
    and a malicious load in the same run has its shell killed."""
    with Scenario("enforce-benign") as sc:
        lst = sc.listener()
        model = sc.make_model("pickle", "model.pkl")
        marker = sc.path("MARKER")
        evil = sc.make_model("pickle", "evil.pkl", system="touch " + marker)
        script = (
            "import pickle, socket, subprocess\n"
            "f = open(%r, 'rb')\n"
            "pickle.load(f)\n"
            "subprocess.run(['gcc', '--version'], check=True, stdout=subprocess.DEVNULL)\n"
            "s = socket.create_connection(('127.0.0.1', %d)); s.sendall(b'grad'); s.close()\n"
            "f.close()\n"
            "print('DONE')\n") % (model, lst.port)
        sc.start(extra_args=["-v", "--enforce", "--internal-net", "127.0.0.0/8"])
        res = sc.run_script(script)
        c = Checks("enforce benign")
        c.eq(res.rc, 0, "benign script exit status")
        c.true("DONE" in res.out, "benign script did not finish: %r" % res.err[-300:])
        if res.rc == 0:
            sc.expect_seen("the benign connect during its load",
                           lambda e: e["pid"] == res.pid and e["kind"] == "connect"
                           and e["port"] == lst.port and e["during_load"])
        ld = sc.run_loader("pickle", evil)
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        alerts = sc.stop()
        killed = [a for a in alerts if get(a, "event", "action") == "killed"]
        c.true(not [a for a in killed if get(a, "loader", "pid") != ld.pid],
               "killed in a benign run: %s" % killed[:1])
        c.true(not os.path.exists(marker), "control: the malicious load's shell ran")
        c.true([a for a in with_rule(killed, "model-loader-shell") if get(a, "loader", "pid") == ld.pid],
               "control: the malicious load's shell was not killed (%s)" % summary(for_loader(alerts, ld.pid)))
        c.done()


def test_rule_action_kill_without_enforce():
    """A rules-file rule with action kill is enforced on its own: the shell
    runs (no --enforce), the `touch` it starts is killed before it runs."""
    import json
    with Scenario("enforce-rule") as sc:
        marker = sc.path("MARKER")
        model = sc.make_model("pickle", "model.pkl", system="touch " + marker)
        rules = sc.write("rules.json", json.dumps({"version": 1, "rules": [
            {"id": "kill-touch", "title": "touch under a model loader", "severity": "high",
             "tags": ["AML.T0011.000", "T1059"],
             "action": "kill", "match": {"kind": "exec", "exe": ["touch"]}}]}))
        sc.start(extra_args=["--rules", rules])
        c = Checks("rule action kill")
        c.true("enforcing 1 rules" in sc.mon.stderr_text(), "mlwatch did not say it enforces the rule")
        ld = sc.run_loader("pickle", model)
        sc.wait_rules(ld.pid, {"model-loader-shell", "kill-touch"})
        time.sleep(0.5)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell", "kill-touch"})
        c.true(not os.path.exists(marker), "touch ran: %s exists" % marker)
        for a in with_rule(mine, "model-loader-shell"):
            c.true(get(a, "event", "action") is None, "the shell was killed without --enforce")
        for a in with_rule(mine, "kill-touch"):
            c.eq(get(a, "event", "action"), "killed", "touch alert event.action")
        c.done()
