"""Model loader for the end-to-end tests: loads one file the way real code does.

    /usr/bin/python3 loader.py KIND PATH

KIND: pickle | torch | numpy | joblib. Prints "LOADED <summary>" and exits 0
when the load returns; a payload runs inside the load, in this process.
"""
import sys


def summary(obj):
    try:
        import numpy as np
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                return "ndarray[object]"
            return "ndarray sum=%s" % obj.sum()
    except ImportError:
        pass
    if isinstance(obj, dict):
        return "dict keys=%s" % ",".join(sorted(str(k) for k in obj))
    if hasattr(obj, "predict"):
        return "estimator %s predict=%s" % (
            type(obj).__name__, list(obj.predict([[1.0, 1.0], [0.0, 0.0]])))
    return type(obj).__name__


def main():
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "pickle":
        import pickle
        with open(path, "rb") as f:
            obj = pickle.load(f)
    elif kind == "torch":
        import torch
        obj = torch.load(path)
    elif kind == "numpy":
        import numpy as np
        obj = np.load(path, allow_pickle=True)
    elif kind == "joblib":
        import joblib
        obj = joblib.load(path)
    else:
        raise SystemExit("unknown loader kind %r" % kind)
    print("LOADED " + summary(obj), flush=True)


if __name__ == "__main__":
    main()
