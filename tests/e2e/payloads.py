"""Model-file generator for the end-to-end tests.

Run by /usr/bin/python3 (Debian's, with torch, numpy, joblib and sklearn):

    /usr/bin/python3 payloads.py SPEC_JSON

SPEC_JSON is an object:
    format   "pickle" | "torch" | "numpy" | "joblib" | "joblib-z"
    out      path of the file to write
    payload  null for a benign model, or {"call": "system"|"exec",
             "arg": str} / {"call": "system", "arg_b64": base64 bytes}

A payload object's __reduce__ returns (os.system, (arg,)) or (exec, (arg,)),
so the file imports posix.system / builtins.exec when it is loaded, exactly
like the malicious models seen in the wild. The payloads the tests write are
harmless: they touch a marker, read a fake credential the test created, and
connect to a listener on 127.0.0.1.
"""
import base64
import builtins
import json
import os
import pickle
import sys


class Payload:
    def __init__(self, func, arg):
        self.func = func
        self.arg = arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def make_payload(spec):
    if spec is None:
        return None
    call = spec["call"]
    if "arg_b64" in spec:
        arg = base64.b64decode(spec["arg_b64"])
    else:
        arg = spec["arg"]
    if call == "system":
        return Payload(os.system, arg)
    if call == "exec":
        return Payload(builtins.exec, arg)
    raise SystemExit("unknown payload call %r" % call)


def write_pickle(out, payload):
    obj = payload if payload is not None else {
        "weights": [0.5, 0.25, 0.125], "bias": 0.0, "name": "benign"}
    with open(out, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def write_torch(out, payload):
    import torch
    state = {"layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
             "layer.bias": torch.zeros(2)}
    if payload is not None:
        state["extra"] = payload
    torch.save(state, out)


def write_numpy(out, payload):
    import numpy as np
    if payload is None:
        arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    else:
        arr = np.empty(2, dtype=object)
        arr[0] = "weights"
        arr[1] = payload
    # np.save appends .npy when the name lacks it; write through a file object.
    with open(out, "wb") as f:
        np.save(f, arr, allow_pickle=True)


def write_joblib(out, payload, compress):
    import joblib
    import numpy as np
    if payload is None:
        from sklearn.linear_model import LogisticRegression
        x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4)
        y = np.array([0, 0, 1, 1] * 4)
        obj = LogisticRegression().fit(x, y)
    else:
        # The array makes joblib write its NumpyArrayWrapper, which is what
        # tells a joblib pickle from a plain one.
        obj = {"coef": np.arange(16, dtype=np.float64), "hook": payload}
    joblib.dump(obj, out, compress=3 if compress else 0)


def main():
    spec = json.loads(sys.argv[1])
    payload = make_payload(spec.get("payload"))
    fmt, out = spec["format"], spec["out"]
    if fmt == "pickle":
        write_pickle(out, payload)
    elif fmt == "torch":
        write_torch(out, payload)
    elif fmt == "numpy":
        write_numpy(out, payload)
    elif fmt in ("joblib", "joblib-z"):
        write_joblib(out, payload, fmt == "joblib-z")
    else:
        raise SystemExit("unknown format %r" % fmt)
    print("WROTE %s %d" % (out, os.path.getsize(out)))


if __name__ == "__main__":
    main()
