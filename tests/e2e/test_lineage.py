"""Lineage must be recorded at fork time: payloads detach (setsid, double
fork, new sessions) and outlive the loader."""
from harness import (Checks, Scenario, TestFailure, check_loader_fields, check_shell_exec,
                     get, require_rules, summary, with_rule)


def read_pid(sc, name):
    p = sc.path(name)
    if not sc.wait_file(p, 6.0):
        raise TestFailure("%s was never written: the payload did not run" % name)
    with open(p) as f:
        text = f.read().strip()
    if not text.isdigit():
        raise TestFailure("%s holds %r, not a pid" % (name, text))
    return int(text)


def test_double_fork_setsid():
    with Scenario("dfork") as sc:
        marker, mid, gpid = sc.path("MARKER"), sc.path("MID"), sc.path("GPID")
        code = ("import os\n"
                "if os.fork()==0:\n"
                " os.setsid()\n"
                " open(%r, 'w').write(str(os.getpid()))\n"
                " if os.fork()==0:\n"
                "  os.execv('/bin/sh',['sh','-c','echo $$ > %s; touch %s'])\n"
                " os._exit(0)\n") % (mid, gpid, marker)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        mid_pid, g_pid = read_pid(sc, "MID"), read_pid(sc, "GPID")
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        argv = ["sh", "-c", "echo $$ > %s; touch %s" % (gpid, marker)]
        a = with_rule(mine, "model-loader-shell")[0]
        check_loader_fields(a, ld.pid, model, "pickle")
        check_shell_exec(a, argv)
        c = Checks(summary(mine))
        c.eq(get(a, "process", "pid"), g_pid, "process.pid (the grandchild's $$)")
        c.true(get(a, "process", "ppid") != ld.pid, "process.ppid is the loader; want the setsid child or a reaper")
        c.eq([get(e, "pid") for e in a.get("ancestry") or []], [g_pid, mid_pid, ld.pid],
             "ancestry pids (grandchild, setsid child, loader)")
        c.done()


def test_nested_shells_ancestry():
    """os.system("sh -c '...'; true"): outer sh forks an inner sh."""
    with Scenario("nested") as sc:
        marker, ipid = sc.path("MARKER"), sc.path("INNER")
        inner_cmd = "echo $$ > %s; touch %s" % (ipid, marker)
        outer_cmd = "/bin/sh -c '%s'; true" % inner_cmd
        model = sc.make_model("pickle", "model.pkl", system=outer_cmd)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        inner_pid = read_pid(sc, "INNER")
        sc.wait_alerts(lambda al: len(with_rule([x for x in al if get(x, "loader", "pid") == ld.pid],
                                                "model-loader-shell")) >= 2)
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        shells = with_rule(mine, "model-loader-shell")
        c = Checks(summary(mine))
        outer = [a for a in shells if get(a, "event", "args") == ["sh", "-c", outer_cmd]]
        inner = [a for a in shells if get(a, "process", "pid") == inner_pid]
        if not (c.true(outer, "no alert for the outer sh") and c.true(inner, "no alert for the inner sh (pid %d)" % inner_pid)):
            c.done()
        o, i = outer[0], inner[0]
        check_loader_fields(o, ld.pid, model, "pickle")
        check_loader_fields(i, ld.pid, model, "pickle")
        check_shell_exec(o, ["sh", "-c", outer_cmd], parent=ld.pid, ancestry_len=2)
        check_shell_exec(i, ["/bin/sh", "-c", inner_cmd])
        o_pid = get(o, "process", "pid")
        c.eq(get(i, "process", "ppid"), o_pid, "inner process.ppid == outer sh pid")
        c.eq([get(e, "pid") for e in i.get("ancestry") or []], [inner_pid, o_pid, ld.pid],
             "inner ancestry pids")
        c.done()


def test_new_session_child():
    """subprocess.Popen(..., start_new_session=True), not waited for (the
    ShadowRay / detached-job shape)."""
    with Scenario("newsess") as sc:
        marker = sc.path("MARKER")
        code = ("import subprocess; subprocess.Popen(['/bin/sh', '-c', 'touch %s'], "
                "start_new_session=True)") % marker
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        for a in with_rule(mine, "model-loader-shell"):
            check_loader_fields(a, ld.pid, model, "pickle")
            check_shell_exec(a, ["/bin/sh", "-c", "touch " + marker], parent=ld.pid, ancestry_len=2)


def test_shell_after_loader_exited():
    """The payload forks a child that waits until the loader has exited (its
    parent pid changes), then execs a shell: the alert still names the
    loader and its model."""
    with Scenario("orphan") as sc:
        marker = sc.path("MARKER")
        code = ("import os, time\n"
                "if os.fork() == 0:\n"
                "    p = os.getppid()\n"
                "    for _ in range(200):\n"
                "        if os.getppid() != p:\n"
                "            break\n"
                "        time.sleep(0.025)\n"
                "    open(%r, 'w').write(str(int(os.getppid() != p)))\n"
                "    os.execv('/bin/sh', ['sh', '-c', 'touch %s'])\n") % (sc.path("ORPHANED"), marker)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start()
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        sc.expect_file(marker)
        with open(sc.path("ORPHANED")) as f:
            if f.read().strip() != "1":
                raise TestFailure("the child exec'd before the loader exited: scenario did not happen")
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        for a in with_rule(mine, "model-loader-shell"):
            check_loader_fields(a, ld.pid, model, "pickle")
            check_shell_exec(a, ["sh", "-c", "touch " + marker], ancestry_len=2)
