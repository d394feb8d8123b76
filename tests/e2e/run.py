"""Runs the mlwatch end-to-end tests.

    /usr/bin/python3 tests/e2e/run.py [SUBSTRING ...]

Discovers tests/e2e/test_*.py, runs every test_* function (those whose
"module.name" contains one of the SUBSTRINGs, when given), prints
`ok NAME` or `FAIL NAME: reason` (with mlwatch's stderr tail), and ends with
the line `N passed, N failed`. Exit status 1 if anything failed, 2 if a
filter matched nothing. Needs root and a built ./mlwatch (or MLWATCH_BIN);
without them every test fails with the reason.
Env: MLWATCH_BIN (binary), MLWATCH_E2E_KEEP=1 (keep the temp dirs).
"""
import importlib.util
import os
import signal
import sys
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

TEST_TIMEOUT = 240  # s, hard cap per test on top of the harness' own bounds


class TestTimeout(harness.TestFailure):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded %d s" % TEST_TIMEOUT)


def discover():
    tests, broken = [], []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        try:
            spec = importlib.util.spec_from_file_location("e2e_" + modname, os.path.join(HERE, fn))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        except Exception as e:  # a broken test file is a failure, not a skip
            broken.append((modname, "cannot import: %s: %s" % (type(e).__name__, e)))
            continue
        funcs = [(getattr(f, "__code__").co_firstlineno, name, f)
                 for name, f in vars(mod).items()
                 if name.startswith("test_") and callable(f)
                 and getattr(f, "__module__", None) == mod.__name__]
        for _, name, f in sorted(funcs):
            tests.append(("%s.%s" % (modname, name), f))
    return tests, broken


def main(argv):
    filters = argv[1:]
    tests, broken = discover()
    if filters:
        tests = [t for t in tests if any(s in t[0] for s in filters)]
        broken = [b for b in broken if any(s in b[0] for s in filters)]
    passed = failed = 0
    for name, why in broken:
        print("FAIL %s: %s" % (name, why), flush=True)
        failed += 1
    reason = harness.preflight()
    signal.signal(signal.SIGALRM, _alarm)
    for name, fn in tests:
        if reason:
            print("FAIL %s: %s" % (name, reason), flush=True)
            failed += 1
            continue
        err = None
        signal.alarm(TEST_TIMEOUT)
        try:
            fn()
        except harness.TestFailure as e:
            err = e
        except KeyboardInterrupt:
            signal.alarm(0)
            print("FAIL %s: interrupted" % name, flush=True)
            failed += 1
            break
        except Exception as e:
            err = e
            e.args = ("%s: %s\n%s" % (type(e).__name__, e,
                                       "".join(traceback.format_tb(e.__traceback__)[-3:]).rstrip()),)
        finally:
            signal.alarm(0)
        if err is None:
            print("ok %s" % name, flush=True)
            passed += 1
        else:
            print("FAIL %s: %s" % (name, err.args[0] if err.args else type(err).__name__), flush=True)
            log = getattr(err, "mlwatch_log", None)
            if log:
                print("    " + log.replace("\n", "\n    "), flush=True)
            failed += 1
    if not tests and not broken:
        print("no tests matched %r" % (filters,), file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    if failed:
        return 1
    return 2 if not tests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
