"""No alert without a malicious model. Every test here proves its scenario
ran (exit status / output / marker / listener) and ends with a liveness
sentinel, so a dead or silent mlwatch cannot make it pass.

Threat model: docs/threat-model.md §3 (benign twins).
"""
from harness import Checks, Scenario, summary, touching


def benign_load(name, gen_fmt, kind, rel, want_out):
    with Scenario(name) as sc:
        model = sc.make_model(gen_fmt, rel)
        sc.start(sentinel=True)
        ld = sc.run_loader(kind, model).expect_ok("benign loader")
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
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
    shell, connects to an 'external' 127.0.0.1 and reads a credential."""
    with Scenario("control") as sc:
        marker = sc.path("MARKER")
        cred = sc.fake_credentials()
        sc.start(sentinel=True)
        lst = sc.listener()
        r = sc.run_script(control_code(marker, cred, lst.port)).expect_ok("control")
        sc.expect_file(marker)
        c = Checks()
        c.true(lst.wait(1), "control never connected to the listener")
        c.true(r.out.strip() == "CONTROL 0 0", "control printed %r" % r.out.strip())
        c.true(any(b"AKIAFAKE" in d for d in lst.received), "control did not send the credential")
        sc.liveness_sentinel()
        alerts = sc.stop()
        mine = touching(alerts, r.pid)
        c.true(not mine, "unmarked process (pid %d) raised alerts %s" % (r.pid, summary(mine)))
        c.done()


def test_model_named_text_file_not_marked():
    """notes.pkl holds text the unpickler refuses at its first byte: proven
    to carry no code while the reader still holds it, so the reader is
    unmarked and its shell afterwards is its own business. (Closed before
    mlwatch could read it, it would stay marked: test_failclosed.py.)"""
    with Scenario("fakename") as sc:
        marker = sc.path("MARKER")
        text = "# just text that happens to be named .pkl\nimport os\n"
        notes = sc.write("notes.pkl", text)
        sc.start(sentinel=True)
        code = ("import os, time\nf = open(%r, 'rb')\ndata = f.read()\ntime.sleep(1.0)\n"
                "f.close()\n"
                "print('READ', len(data), os.system('touch ' + %r), flush=True)\n") % (notes, marker)
        r = sc.run_script(code).expect_ok("reader")
        sc.expect_file(marker)
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
        c.true(r.out.startswith("READ %d 0" % len(text)), "reader printed %r" % r.out.strip())
        mine = touching(alerts, r.pid)
        c.true(not mine, "reader of a text .pkl (pid %d) raised alerts %s" % (r.pid, summary(mine)))
        c.done()


def test_benign_training_job_workers():
    """A benign checkpoint load followed by what training jobs do next:
    spawn-context worker processes (as DDP / torch.multiprocessing.spawn
    and DataLoader(multiprocessing_context='spawn') run them) and a joblib
    loky pool. Their bootstrap `python -c` one-liners are not inline code."""
    with Scenario("btrain") as sc:
        model = sc.make_model("torch", "model.pt")
        sc.start(sentinel=True)
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
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks()
        c.true("TRAINED ['layer.bias', 'layer.weight'] 285 285" in res.out,
               "training job printed %r" % res.out.strip()[:300])
        mine = touching(alerts, res.pid)
        c.true(not mine, "benign training job (pid %d) raised alerts %s" % (res.pid, summary(mine)))
        c.done()
