"""Benign ML noise: what a real training job does after a checkpoint load
must raise nothing. Load a benign torch model, train a few steps, read data
files, compile a kernel with gcc the way torch.compile/Triton do, run an
nvidia-smi stand-in, and talk to a loopback parameter server that is marked
internal. Ends with a sentinel so a silent mlwatch cannot pass."""
import os
import shutil
import subprocess

from harness import Checks, Scenario, TestFailure

JOB = r'''
import json, os, socket, subprocess, sys, tempfile
import numpy as np, torch
state = torch.load(sys.argv[1])
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
            sc.start(sentinel=True, extra_args=["--internal-net", "127.0.0.0/8"])
            job = sc.write("job.py", JOB)
            r = sc._run(["/usr/bin/python3", job, model, data, labels, smi, work, str(ps.port)],
                        180, tag="job")
            if r.rc != 0 or "TRAINED" not in r.out:
                raise TestFailure("training job failed (rc %s): %s" % (r.rc, r.err[-500:]))
            ps.wait(1)
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
