"""Model inventory: every confirmed load is a record (path, size, sha256,
format, Hugging Face repo and revision), hashed off the hot path and cached;
a blocklisted repo id alerts at load time, a blocklisted sha256 once hashed."""
import hashlib
import json
import os

from harness import Checks, Scenario, get, schema_problems

REV = "0123456789abcdef0123456789abcdef01234567"


def hf_layout(sc, src, repo):
    """Move src into an HF hub cache under its sha256 with a snapshot symlink."""
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    org, name = repo.split("/")
    base = sc.path("hub", "models--%s--%s" % (org, name))
    os.makedirs(os.path.join(base, "blobs"))
    os.makedirs(os.path.join(base, "snapshots", REV))
    blob = os.path.join(base, "blobs", digest)
    os.replace(src, blob)
    snap = os.path.join(base, "snapshots", REV, "pytorch_model.bin")
    os.symlink(os.path.join("..", "..", "blobs", digest), snap)
    return snap, digest


def test_inventory_records_hashes_and_blocklist():
    with Scenario("inventory") as sc:
        hub_model, hub_digest = hf_layout(sc, sc.make_model("torch", "tmp/a.pt"), "acme/poisoned")
        plain = sc.make_model("pickle", "plain.pkl")
        plain_digest = hashlib.sha256(open(plain, "rb").read()).hexdigest()
        clean = sc.make_model("numpy", "clean.npy")
        bl = sc.write("blocklist.json", json.dumps(
            {"version": 1, "repos": [{"repo": "ACME/*", "reason": "test advisory"}],
             "sha256": [{"sha256": plain_digest, "reason": "test hash"}]}))
        inv = sc.path("inventory.jsonl")
        sc.start(extra_args=["--inventory", inv, "--blocklist", bl])
        l1 = sc.run_loader("torch", hub_model).expect_ok("hub loader")
        l2 = sc.run_loader("pickle", plain).expect_ok("plain loader")
        l3 = sc.run_loader("pickle", plain).expect_ok("plain loader again")
        l4 = sc.run_loader("numpy", clean).expect_ok("clean loader")
        sc.wait_alerts(lambda al: sum(get(a, "rule", "id") == "model-blocklisted" for a in al) >= 3)
        alerts = sc.stop()
        c = Checks("inventory")
        with open(inv) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        by_pid = {}
        for r in recs:
            c.eq(r.get("record"), "inventory", "record type in --inventory")
            c.extend(schema_problems(r), "--inventory: ")
            by_pid.setdefault(get(r, "process", "pid"), []).append(r)
        for pid in (l1.pid, l2.pid, l3.pid, l4.pid):
            c.eq(len(by_pid.get(pid, [])), 1, "inventory records for pid %d" % pid)
        r1 = (by_pid.get(l1.pid) or [{}])[0]
        c.eq(get(r1, "model", "sha256"), hub_digest, "hub model sha256")
        c.eq(get(r1, "source", "repo"), "acme/poisoned", "hub repo id")
        c.eq(get(r1, "source", "revision"), REV, "hub revision")
        c.eq(get(r1, "model", "format"), "torch-zip", "hub model format")
        r2 = (by_pid.get(l2.pid) or [{}])[0]
        r3 = (by_pid.get(l3.pid) or [{}])[0]
        c.eq(get(r2, "model", "sha256"), plain_digest, "plain model sha256")
        c.eq(get(r2, "model", "size"), os.path.getsize(plain), "plain model size")
        c.eq(get(r3, "model", "hash"), "cached", "second load of the same file")
        c.eq(get(r3, "load_count"), 2, "load_count of the same file version")
        r4 = (by_pid.get(l4.pid) or [{}])[0]
        c.true(get(r4, "blocklist") is None, "clean model flagged: %r" % get(r4, "blocklist"))
        bl_alerts = [a for a in alerts if get(a, "rule", "id") == "model-blocklisted"]
        pids = sorted(get(a, "process", "pid") for a in bl_alerts)
        c.eq(pids, sorted([l1.pid, l2.pid, l3.pid]), "blocklist alerts by pid")
        c.true(not any(get(a, "process", "pid") == l4.pid for a in alerts), "clean load alerted")
        json_inv = [r for r in sc.mon.inventory if get(r, "process", "pid") == l2.pid]
        c.eq(len(json_inv), 1, "inventory record in the --json stream")
        c.done()
