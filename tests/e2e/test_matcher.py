"""The kernel's model-path matcher, by path shape. One process opens every
path read-only; mlwatch -v prints a `model_open` event for each open the
kernel took as a model candidate, and an `open` event for the rest once
the process is marked."""
import os
import re
import time

from harness import Checks, Scenario

HEX64 = "0123456789abcdef" * 4
HEX40 = HEX64[:40]

POSITIVE = [
    "m.pt", "UPPER.PTH", "x.bin", "a.ckpt", "w.pkl", "w.pickle", "e.joblib", "s.sav",
    "a.npy", "a.npz", "k.h5", "k.hdf5", "k.keras", "o.onnx", "l.gguf", "d.dill",
    "s.safetensors", "S.SafeTensors", "torch/model.pth", "dir with space/x.pt",
    "hub/models--acme--m/blobs/" + HEX64, "hub/models--acme--m/blobs/" + HEX40,
    "ollama/models/blobs/sha256-" + HEX64,
    "/".join(["d" * 50] * 6) + "/long.pkl",  # past any short-path fast path
]
NEGATIVE = [
    "notes.txt", "libx.so", "mod.py", "model.ptx", "a.safetensorsx", "pkl",
    "lib/python3/site-packages/distutils-precedence.pth",
    "usr/lib/python3/dist-packages/zz.pth",
    "hub/models--acme--m/blobs/" + HEX64[:63],
    "hub/models--acme--m/blobs/" + HEX64[:63] + "g",
    "hub/models--acme--m/notblobs/" + HEX64,
    "ollama/models/blobs/sha255-" + HEX64,
]


def test_kernel_model_path_matcher():
    with Scenario("matcher") as sc:
        paths = []
        for rel in POSITIVE + NEGATIVE:
            p = sc.path("m", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(b"\x80\x04N.")  # a pickle: confirmed, process stays marked
            paths.append(p)
        listing = sc.write("paths.txt", "\n".join(paths) + "\n")
        sc.start(extra_args=["-v"])
        res = sc.run_script(
            "import os\n"
            "for p in open(%r).read().splitlines():\n"
            "    os.close(os.open(p, os.O_RDONLY))\n" % listing).expect_ok("opener")
        # the opens are batched to user space: wait (bounded) for the last
        end = time.monotonic() + 5.0
        while time.monotonic() < end and paths[-1] not in sc.mon.stderr_text():
            time.sleep(0.1)
        sc.stop()
        seen = {}
        for line in sc.mon.stderr_text().splitlines():
            m = re.match(r"event (model_open|open) pid=%d .* path=(.*)$" % res.pid, line)
            if m:
                seen.setdefault(m.group(2), set()).add(m.group(1))
        c = Checks("matcher")
        for rel, p in zip(POSITIVE + NEGATIVE, paths):
            kinds = seen.get(p, set())
            if rel in POSITIVE:
                c.true("model_open" in kinds, "%s: not a model candidate (saw %s)" % (rel, sorted(kinds)))
            else:
                c.true("model_open" not in kinds, "%s: taken as a model candidate" % rel)
                c.true("open" in kinds, "%s: no open event at all (was the process marked?)" % rel)
        c.done()
