"""Sample models for the static-scan tests, made by the real libraries.

    /usr/bin/python3 scan_samples.py OUTDIR

Writes benign models (torch state_dicts and whole models, legacy torch,
numpy, npz, joblib plain/zlib/gzip, sklearn, safetensors, GGUF, HDF5 with a
Keras config), malicious ones and hand-built evasions into OUTDIR, and
OUTDIR/manifest.json: [{"path", "expect", "global"?, "kind"?}], expect one of
clean | suspicious | malicious | flagged (suspicious or malicious) | error.

Nothing here is ever loaded: payloads are only pickled. They would run
harmless commands (`true`) if someone did load them.
"""
import base64
import gzip
import io
import json
import marshal
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib

OUT = sys.argv[1]
MANIFEST = []


def add(rel, expect, glob=None, kind=None):
    MANIFEST.append({"path": os.path.join(OUT, rel), "expect": expect,
                     "global": glob, "kind": kind})


def path(rel):
    p = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


class Reduce:
    """Pickles as func(*args): what malicious models do."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def system_payload():
    return Reduce(os.system, "true")


def pickle_bytes(obj, protocol=4):
    return pickle.dumps(obj, protocol=protocol)


# ---------------------------------------------------------------- torch

def torch_samples():
    import torch
    import torch.nn as nn

    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    torch.save(lin.state_dict(), path("benign/linear_state.pt"))
    add("benign/linear_state.pt", "clean")

    seq = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 2), nn.Dropout(0.1))
    torch.save(seq, path("benign/whole_sequential.pt"))
    add("benign/whole_sequential.pt", "clean")

    rnn = nn.ModuleDict({"lstm": nn.LSTM(4, 4, batch_first=True), "emb": nn.Embedding(10, 4),
                         "norm": nn.LayerNorm(4), "gru": nn.GRU(4, 4)})
    torch.save(rnn, path("benign/whole_moduledict.pt"))
    add("benign/whole_moduledict.pt", "clean")

    ckpt = {"epoch": 3, "model": seq.state_dict(), "optimizer":
            torch.optim.SGD(seq.parameters(), lr=0.1, momentum=0.9).state_dict(),
            "metrics": [0.5, 0.25], "dtype": torch.float16, "size": torch.Size([2, 3])}
    torch.save(ckpt, path("benign/training_checkpoint.pth"))
    add("benign/training_checkpoint.pth", "clean")

    torch.save({"w%d" % i: torch.zeros(1 << 19) for i in range(4)}, path("benign/big_state.pt"))
    add("benign/big_state.pt", "clean")
    torch.save(lin.state_dict(), path("benign/legacy_state.pt"),
               _use_new_zipfile_serialization=False)
    add("benign/legacy_state.pt", "clean")

    # malicious: a payload inside a state dict, zip and legacy formats
    state = dict(lin.state_dict())
    state["hook"] = system_payload()
    torch.save(state, path("malicious/torch_payload.pt"))
    add("malicious/torch_payload.pt", "malicious", "posix.system")
    torch.save(state, path("malicious/torch_legacy_payload.pt"),
               _use_new_zipfile_serialization=False)
    add("malicious/torch_legacy_payload.pt", "malicious", "posix.system")

    benign_zip = open(path("benign/linear_state.pt"), "rb").read()
    evil_zip = open(path("malicious/torch_payload.pt"), "rb").read()
    write_bytes("malicious/zip_bad_crc.pt", zip_break_crc(evil_zip))
    add("malicious/zip_bad_crc.pt", "malicious", "posix.system")
    write_bytes("suspicious/benign_bad_crc.pt", zip_break_crc(benign_zip))
    add("suspicious/benign_bad_crc.pt", "suspicious", kind="container")
    write_bytes("malicious/zip_name_mismatch.pt", zip_rename_local(evil_zip))
    add("malicious/zip_name_mismatch.pt", "malicious", "posix.system")

    # torch 0.1.x: a tar whose "pickle" member holds the payload
    tar_path = path("malicious/torch_tar.pt")
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("sys_info", pickle_bytes({"protocol_version": 1001}, 2)),
                           ("pickle", pickle_bytes(system_payload(), 2)),
                           ("storages", pickle_bytes(0, 2)), ("tensors", pickle_bytes(0, 2))):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    add("malicious/torch_tar.pt", "malicious", "posix.system")


def write_bytes(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def zip_entries(data):
    """(central header offset, local header offset, name) of each member."""
    eocd = data.rfind(b"PK\x05\x06")
    n, cd_off = struct.unpack("<H", data[eocd + 10:eocd + 12])[0], \
        struct.unpack("<I", data[eocd + 16:eocd + 20])[0]
    out, p = [], cd_off
    for _ in range(n):
        nl, xl, cl = struct.unpack("<HHH", data[p + 28:p + 34])
        local = struct.unpack("<I", data[p + 42:p + 46])[0]
        out.append((p, local, data[p + 46:p + 46 + nl]))
        p += 46 + nl + xl + cl
    return out


def zip_break_crc(data):
    """Wrong CRC-32 for data.pkl in both headers: torch loads it anyway."""
    b = bytearray(data)
    for cd, local, name in zip_entries(data):
        if name.endswith(b"data.pkl"):
            b[cd + 16] ^= 0xFF
            b[local + 14] ^= 0xFF
    return bytes(b)


def zip_rename_local(data):
    """The local header names another file than the central directory."""
    b = bytearray(data)
    for cd, local, name in zip_entries(data):
        if name.endswith(b"data.pkl"):
            nl = struct.unpack("<H", data[local + 26:local + 28])[0]
            b[local + 30:local + 30 + nl] = name[:-8] + b"zzzz.pkl"
    return bytes(b)


# ---------------------------------------------------------------- pickle

def pickle_samples():
    write_bytes("benign/plain_data.pkl", pickle_bytes(
        {"weights": [0.5, 0.25], "labels": ("a", "b"), "meta": {"v": 1, "set": {1, 2}},
         "raw": b"\x00\x01", "big": 1 << 80, "f": 1.5, "none": None}))
    add("benign/plain_data.pkl", "clean")
    for proto in (0, 2):
        rel = "benign/plain_proto%d.pkl" % proto
        write_bytes(rel, pickle_bytes({"a": [1, 2.5, "x"], "b": (None, True)}, proto))
        add(rel, "clean")

    write_bytes("malicious/reduce_system.pkl", pickle_bytes(system_payload()))
    add("malicious/reduce_system.pkl", "malicious", "posix.system")
    # raw pickle renamed to look like weights
    write_bytes("malicious/pytorch_model.bin", pickle_bytes(system_payload(), 2))
    add("malicious/pytorch_model.bin", "malicious", "posix.system")
    # payload, then a broken stream: the loader runs the payload, then fails
    body = pickle_bytes([system_payload(), 1], 4)
    write_bytes("malicious/payload_then_broken.pkl", body[:-2] + b"\xff\xfe garbage")
    add("malicious/payload_then_broken.pkl", "malicious", "posix.system")
    # too short for the format detector to call it a pickle, but a .pkl
    # that pickle.load would unpickle: walked anyway
    write_bytes("malicious/tiny_import.pkl", b"cos\nsystem\n.")
    add("malicious/tiny_import.pkl", "malicious", "os.system")
    write_bytes("benign/notes.pkl", b"just some notes, not a pickle\n")
    add("benign/notes.pkl", "skipped")
    # nested: pickle.loads of an embedded malicious pickle
    inner = pickle_bytes(system_payload())
    write_bytes("malicious/nested.pkl", pickle_bytes(Reduce(pickle.loads, inner)))
    add("malicious/nested.pkl", "malicious", "posix.system")
    # stdlib gadgets: allowlisting catches them without a blocklist entry
    import cProfile
    import pkgutil
    write_bytes("malicious/cprofile_run.pkl",
                pickle_bytes(Reduce(cProfile.run, "import os; os.system('true')")))
    add("malicious/cprofile_run.pkl", "flagged", "cProfile.run")
    write_bytes("malicious/pkgutil_resolve.pkl",
                pickle_bytes(Reduce(pkgutil.resolve_name, "os:system")))
    add("malicious/pkgutil_resolve.pkl", "flagged", "pkgutil.resolve_name")
    import doctest
    write_bytes("suspicious/doctest_gadget.pkl",
                pickle_bytes(Reduce(doctest.debug_script, "import os")))
    add("suspicious/doctest_gadget.pkl", "flagged", "doctest.debug_script")


# ---------------------------------------------------------------- numpy / joblib

def numpy_samples():
    import numpy as np
    with open(path("benign/floats.npy"), "wb") as f:
        np.save(f, np.arange(12, dtype=np.float64).reshape(3, 4))
    add("benign/floats.npy", "clean")
    obj = np.empty(3, dtype=object)
    obj[:] = ["a", 1, (2.5, None)]
    with open(path("benign/objects.npy"), "wb") as f:
        np.save(f, obj, allow_pickle=True)
    add("benign/objects.npy", "clean")
    np.savez(path("benign/arrays.npz"), a=np.ones(4), b=np.arange(3))
    add("benign/arrays.npz", "clean")
    np.savez_compressed(path("benign/arrays_compressed.npz"), a=np.ones(4), o=obj)
    add("benign/arrays_compressed.npz", "clean")

    evil = np.empty(2, dtype=object)
    evil[0], evil[1] = "weights", system_payload()
    with open(path("malicious/object_array.npy"), "wb") as f:
        np.save(f, evil, allow_pickle=True)
    add("malicious/object_array.npy", "malicious", "posix.system")
    np.savez_compressed(path("malicious/object_array.npz"), w=np.ones(2), o=evil)
    add("malicious/object_array.npz", "malicious", "posix.system")


def joblib_samples():
    import joblib
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] * 4)
    y = np.array([0, 0, 1, 1] * 4)
    lr = LogisticRegression().fit(x, y)
    rf = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    for rel, obj, comp in (("benign/logreg.joblib", lr, 0), ("benign/forest.joblib", rf, 0),
                           ("benign/pipeline_zlib.joblib", pipe, 3),
                           ("benign/forest_gzip.joblib", rf, ("gzip", 3))):
        joblib.dump(obj, path(rel), compress=comp)
        add(rel, "clean")
    with open(path("benign/logreg_plain.pkl"), "wb") as f:
        pickle.dump(lr, f)
    add("benign/logreg_plain.pkl", "clean")
    joblib.dump(rf, path("suspicious/forest_bz2.joblib"), compress=("bz2", 3))
    add("suspicious/forest_bz2.joblib", "suspicious", kind="not-scanned")

    evil = {"coef": np.arange(16, dtype=np.float64), "hook": system_payload()}
    joblib.dump(evil, path("malicious/payload.joblib"), compress=0)
    add("malicious/payload.joblib", "malicious", "posix.system")
    joblib.dump(evil, path("malicious/payload_zlib.joblib"), compress=3)
    add("malicious/payload_zlib.joblib", "malicious", "posix.system")


# ---------------------------------------------------------------- other formats

def safetensors_bytes(tensors):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def gguf_bytes(template):
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    kv = [("general.architecture", 8, s("llama")), ("general.name", 8, s("sample")),
          ("llama.context_length", 4, struct.pack("<I", 4096)),
          ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s("<s>") + s("</s>") + s("a")),
          ("tokenizer.chat_template", 8, s(template))]
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv))
    for k, t, v in kv:
        out += s(k) + struct.pack("<I", t) + v
    return out


BENIGN_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                   "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}"
                   "{{ message['content'] + eos_token }}{% endif %}{% endfor %}")
EVIL_TEMPLATE = ("{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in "
                 "x.__name__ %}{{ x()._module.__builtins__['__import__']('os').popen('true') }}"
                 "{% endif %}{% endfor %}")


def keras_config(layers):
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def zip_with_encrypted_member():
    """A zip whose one member has the encryption flag set: no loader reads
    it, so it is an error, not a suspicious model."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes({"w": 1}, protocol=2))
    b = bytearray(buf.getvalue())
    b[6] |= 1
    cd = b.find(b"PK\x01\x02")
    b[cd + 8] |= 1
    return bytes(b)


def other_samples():
    write_bytes("error/encrypted.zip", zip_with_encrypted_member())
    add("error/encrypted.zip", "error")
    with zipfile.ZipFile(path("benign/plain-archive.zip"), "w") as z:
        z.writestr("README.txt", "hello\n")
        z.writestr("data/a.csv", "1,2\n")
    add("benign/plain-archive.zip", "clean")
    # a GLOBAL the unpickler cannot decode: pickle.load fails right there,
    # nothing runs, and it is no model anyone could load
    write_bytes("benign/bad-global.pkl", b"\x80\x02c\xff\xfe\n\xfd\n)R.")
    add("benign/bad-global.pkl", "skipped")
    write_bytes("benign/model.safetensors", safetensors_bytes(
        {"w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "b": ("F16", [2], b"\0" * 4)}))
    add("benign/model.safetensors", "clean")
    bad = bytearray(safetensors_bytes({"w": ("F32", [2, 2], b"\0" * 16)}))
    write_bytes("error/truncated.safetensors", bytes(bad[:-5]))
    add("error/truncated.safetensors", "error")

    write_bytes("benign/chat.gguf", gguf_bytes(BENIGN_TEMPLATE))
    add("benign/chat.gguf", "clean")
    write_bytes("malicious/ssti.gguf", gguf_bytes(EVIL_TEMPLATE))
    add("malicious/ssti.gguf", "malicious", kind="chat-template")

    import h5py
    dense = [{"class_name": "Dense", "config": {"name": "dense", "units": 2}}]
    with h5py.File(path("benign/keras_dense.h5"), "w") as f:
        f.attrs["model_config"] = json.dumps(keras_config(dense))
        f.attrs["keras_version"] = "2.11.0"
        f.create_group("model_weights").create_dataset("dense/kernel", data=[[1.0, 2.0]])
    add("benign/keras_dense.h5", "clean")
    code = marshal.dumps((lambda x: x).__code__)
    lam = dense + [{"class_name": "Lambda", "config": {
        "name": "lambda", "function": [base64.b64encode(code).decode(), None, None],
        "function_type": "lambda"}}]
    with h5py.File(path("malicious/keras_lambda.h5"), "w") as f:
        f.attrs["model_config"] = json.dumps(keras_config(lam)).encode()
        f.attrs["keras_version"] = "2.11.0"
    add("malicious/keras_lambda.h5", "flagged", kind="keras-layer")
    with zipfile.ZipFile(path("malicious/lambda.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        z.writestr("config.json", json.dumps(keras_config(lam)))
        z.writestr("model.weights.h5", b"")
    add("malicious/lambda.keras", "flagged", kind="keras-layer")

    # a 7z archive around a pickle: never "clean"
    inner = path("tmp7z/model.pkl")
    write_bytes("tmp7z/model.pkl", pickle_bytes(system_payload()))
    subprocess.run(["7z", "a", "-bd", "-y", path("malicious/wrapped.7z"), inner],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(os.path.dirname(inner))
    add("malicious/wrapped.7z", "suspicious", kind="unscannable")


# ---------------------------------------------------------------- HF cache

def hf_cache_samples():
    """Hugging Face hub cache: snapshots/<rev>/<file> -> ../../blobs/<sha256>."""
    import torch
    rev = "0123456789abcdef0123456789abcdef01234567"
    for repo, payload in (("models--acme--tiny-good", None),
                          ("models--mallory--tiny-evil", system_payload())):
        state = {"w": torch.ones(2)}
        if payload is not None:
            state["x"] = payload
        buf = io.BytesIO()
        torch.save(state, buf)
        data = buf.getvalue()
        import hashlib
        sha = hashlib.sha256(data).hexdigest()
        base = os.path.join("hf/hub", repo)
        write_bytes(os.path.join(base, "blobs", sha), data)
        snap = path(os.path.join(base, "snapshots", rev, "pytorch_model.bin"))
        os.symlink(os.path.join("..", "..", "blobs", sha), snap)
        write_bytes(os.path.join(base, "refs", "main"), rev.encode())
        MANIFEST.append({"path": snap, "expect": "malicious" if payload else "clean",
                         "global": "posix.system" if payload else None, "kind": None,
                         "repo": repo[len("models--"):].replace("--", "/")})


def main():
    os.makedirs(OUT, exist_ok=True)
    torch_samples()
    pickle_samples()
    numpy_samples()
    joblib_samples()
    other_samples()
    hf_cache_samples()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=1)
    print("WROTE %d samples" % len(MANIFEST))


if __name__ == "__main__":
    main()
