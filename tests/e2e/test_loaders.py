"""Each real loader runs a __reduce__ payload (os.system "touch MARKER");
mlwatch must raise model-loader-shell naming that loader and its model."""
import os

from harness import (Checks, Scenario, TestFailure, check_loader_fields,
                     check_shell_exec, require_rules, with_rule)


def shell_on_load(name, gen_fmt, kind, rel, want_format, open_rel=None, prepare=None):
    """Generate rel with gen_fmt carrying os.system("touch M"), optionally
    move it into place with prepare(sc, path) -> path, load it with `kind`
    (through open_rel when given), and check the shell alert."""
    with Scenario(name) as sc:
        marker = sc.path("MARKER")
        model = sc.make_model(gen_fmt, rel, system="touch " + marker)
        if prepare:
            model = prepare(sc, model)
        opened = sc.path(open_rel) if open_rel else model
        sc.start()
        ld = sc.run_loader(kind, opened).expect_ok("loader")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-shell"})
        alerts = sc.stop()
        mine = require_rules(sc, alerts, ld.pid, {"model-loader-shell"})
        for a in with_rule(mine, "model-loader-shell"):
            check_loader_fields(a, ld.pid, model, want_format, model_path=opened)
            check_shell_exec(a, ["sh", "-c", "touch " + marker], parent=ld.pid, ancestry_len=2)
        return mine


def test_pickle_load_runs_shell():
    shell_on_load("pickle", "pickle", "pickle", "model.pkl", "pickle")


def test_torch_load_runs_shell():
    shell_on_load("torch", "torch", "torch", "model.pt", "torch-zip")


def test_numpy_load_allow_pickle_runs_shell():
    shell_on_load("numpy", "numpy", "numpy", "weights.npy", "numpy")


def test_joblib_load_runs_shell():
    shell_on_load("joblib", "joblib", "joblib", "estimator.joblib", "joblib")


def test_joblib_compressed_load_runs_shell():
    shell_on_load("joblibz", "joblib-z", "joblib", "estimator_z.joblib", "joblib-compressed")


def test_renamed_raw_pickle_bin():
    """A raw pickle named model.bin (a known scanner bypass) is a pickle."""
    shell_on_load("bin", "pickle", "pickle", "model.bin", "pickle")


def _hf_blob(sc, path):
    """Move a generated pickle into an HF hub cache layout under its sha256,
    with a snapshot symlink like huggingface_hub writes."""
    digest = sc.sha256(path)
    repo = sc.path("hub", "models--acme--evil")
    blob = os.path.join(repo, "blobs", digest)
    os.makedirs(os.path.dirname(blob))
    os.rename(path, blob)
    snap = os.path.join(repo, "snapshots", "0123456789abcdef0123456789abcdef01234567")
    os.makedirs(snap)
    os.symlink(os.path.join("..", "..", "blobs", digest), os.path.join(snap, "pytorch_model.bin"))
    os.makedirs(os.path.join(repo, "refs"))
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write("0123456789abcdef0123456789abcdef01234567")
    return blob


def test_hf_cache_blob_opened_directly():
    """blobs/<sha256> has no extension: the blob-name rule plus magic bytes."""
    mine = shell_on_load("hfblob", "pickle", "pickle", "gen/evil.pkl", "pickle", prepare=_hf_blob)
    c = Checks()
    for a in mine:
        name = os.path.basename(a["loader"]["model"]["path"])
        c.true(len(name) == 64 and all(ch in "0123456789abcdef" for ch in name),
               "loader.model.path %r does not end with the 64-hex blob name"
               % a["loader"]["model"]["path"])
    c.done()


def test_hf_cache_snapshot_symlink():
    """Opened through snapshots/<rev>/pytorch_model.bin -> ../../blobs/<sha>:
    path is what was opened, resolved_path is the blob."""
    rel = os.path.join("hub", "models--acme--evil", "snapshots",
                       "0123456789abcdef0123456789abcdef01234567", "pytorch_model.bin")
    shell_on_load("hfsnap", "pickle", "pickle", "gen/evil.pkl", "pickle",
                  open_rel=rel, prepare=_hf_blob)


def _ollama_blob(sc, path):
    digest = sc.sha256(path)
    blob = sc.path("ollama", "models", "blobs", "sha256-" + digest)
    os.makedirs(os.path.dirname(blob))
    os.rename(path, blob)
    os.makedirs(sc.path("ollama", "models", "manifests", "registry.ollama.ai"))
    return blob


def test_ollama_blob():
    mine = shell_on_load("ollama", "pickle", "pickle", "gen/evil.pkl", "pickle",
                         prepare=_ollama_blob)
    for a in mine:
        if not os.path.basename(a["loader"]["model"]["path"]).startswith("sha256-"):
            raise TestFailure("loader.model.path %r is not the sha256-<hex> blob"
                              % a["loader"]["model"]["path"])
