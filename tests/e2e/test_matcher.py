"""The kernel's model-path matcher, by path shape. One process opens every
path read-only; mlwatch -v prints a `model_open` event for each open the
kernel took as a model candidate, and an `open` event for the rest once
the process is marked, except for read-only opens of Python's import
files (.py .pyc .so), which a marked process does not send; writing one
is still sent."""
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
    # joblib and pandas decompress by the last extension
    "model.pkl.gz", "clf.joblib.xz", "ckpt.pt.gz", "m.PKL.BZ2", "x.npy.zip",
]
QUIET = ["mod.py", "pkg/__pycache__/mod.cpython-311.pyc", "libx.so", "ext.SO"]
WRITTEN = ["site-packages/sitecustomize.py"]
NEGATIVE = [
    "notes.txt", "libc.so.6", "model.ptx", "a.safetensorsx", "pkl",
    "lib/python3/site-packages/distutils-precedence.pth",
    "usr/lib/python3/dist-packages/zz.pth",
    "hub/models--acme--m/blobs/" + HEX64[:63],
    "hub/models--acme--m/blobs/" + HEX64[:63] + "g",
    "hub/models--acme--m/notblobs/" + HEX64,
    "ollama/models/blobs/sha255-" + HEX64,
    "logs.tar.gz", "data.gz", "notes.txt.gz", "x.safetensorsx.gz",
]


def _matcher(where):
    """where: exit (the file's name, Linux 6.2+) or entry (the path)."""
    with Scenario("matcher-" + where) as sc:
        paths = []
        for rel in POSITIVE + NEGATIVE + QUIET + WRITTEN:
            p = sc.path("m", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(b"\x80\x04N.")  # a pickle: confirmed, process stays marked
            paths.append(p)
        n_read = len(POSITIVE + NEGATIVE + QUIET)
        listing = sc.write("paths.txt", "\n".join(paths[:n_read]) + "\n")
        writes = sc.write("writes.txt", "\n".join(paths[n_read:]) + "\n")
        sc.start(extra_args=["-v", "--open-match", where])
        res = sc.run_script(
            "import os\n"
            "for p in open(%r).read().splitlines():\n"
            "    os.close(os.open(p, os.O_RDONLY))\n"
            "for p in open(%r).read().splitlines():\n"
            "    os.close(os.open(p, os.O_WRONLY | os.O_APPEND))\n" % (listing, writes)).expect_ok("opener")
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
        c = Checks("matcher at " + where)
        c.true("opens matched at " + where in sc.mon.stderr_text(),
               "mlwatch did not say it matches opens at %s" % where)
        for rel, p in zip(POSITIVE + NEGATIVE + QUIET + WRITTEN, paths):
            kinds = seen.get(p, set())
            if rel in QUIET:
                c.true(not kinds, "%s: a marked process's import read was sent (%s)" % (rel, sorted(kinds)))
            elif rel in POSITIVE:
                c.true("model_open" in kinds, "%s: not a model candidate (saw %s)" % (rel, sorted(kinds)))
            else:
                c.true("model_open" not in kinds, "%s: taken as a model candidate" % rel)
                c.true("open" in kinds, "%s: no open event at all (was the process marked?)" % rel)
        c.done()


def test_kernel_model_path_matcher_at_exit():
    _matcher("exit")


def test_kernel_model_path_matcher_at_entry():
    """The fallback for kernels without bpf_rdonly_cast (6.1, the arm64
    Grace Hopper nodes): the same verdicts from the path argument."""
    _matcher("entry")
