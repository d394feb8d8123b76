"""pybench: ns per operation of Python work the audit probes see.
  pybench.py MODE ITERS [--mark MODEL_FILE] [--dir DIR]
MODE: pytorch (python3 -c "import torch", a fresh interpreter each time),
pypool (a multiprocessing Pool of 2 mapping a __main__ function over
ITERS items one at a time: a task and a result pickled per item).
--mark loads MODEL_FILE (a pickle) first, so mlwatch marks this process
and the pool's workers. Prints the best of 3 batches, in ns per op, like
opbench. (--dir is accepted and ignored, for run.sh.)
"""
import multiprocessing
import pickle
import subprocess
import sys
import time

PY = "/usr/bin/python3"


def f(x):
    return (x, str(x))


def batch_torch(n):
    t = time.monotonic_ns()
    for _ in range(n):
        subprocess.run([PY, "-c", "import torch"], check=True)
    return (time.monotonic_ns() - t) / n


def batch_pool(n):
    with multiprocessing.get_context("fork").Pool(2) as pool:
        t = time.monotonic_ns()
        for _ in pool.imap_unordered(f, range(n), chunksize=1):
            pass
        return (time.monotonic_ns() - t) / n


def main(argv):
    mode, n = argv[1], max(1, int(argv[2]))
    if "--mark" in argv:
        with open(argv[argv.index("--mark") + 1], "rb") as fh:
            pickle.load(fh)
    run = {"pytorch": batch_torch, "pypool": batch_pool}[mode]
    print("%.1f" % min(run(n) for _ in range(3)))


if __name__ == "__main__":
    main(sys.argv)
