"""Model inventory: every confirmed load is a record (path, size, sha256,
format, Hugging Face repo and revision), hashed off the hot path and cached;
a blocklisted repo id alerts at load time, a blocklisted sha256 once hashed."""
import hashlib
import json
import os
import re
import shutil
import subprocess

from harness import Checks, Scenario, TestFailure, get, schema_problems

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


# Opens argv[1] argv[2] times, each time from a new process: every open is
# a new loader to mlwatch (one process's repeats never leave the kernel).
# vfork keeps 20000 of them to seconds. Halfway it says so on stdout and
# waits for a line on stdin.
FLOOD_C = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0;
	char go;

	for (int i = 0; i < n; i++) {
		pid_t p;

		if (i == n / 2 && (write(1, "half\n", 5) != 5 || read(0, &go, 1) != 1))
			return 3;
		p = vfork();

		if (p == 0) {
			int fd = open(argv[1], O_RDONLY);

			if (fd >= 0)
				close(fd);
			_exit(fd >= 0 ? 0 : 1);
		}
		if (p < 0)
			return 2;
		waitpid(p, NULL, 0);
	}
	return 0;
}
"""
FLOOD_OPENS = 20000


def _report_counts(stderr, line):
    """{name: int} of one `mlwatch: inventory ...` exit-report line."""
    for l in stderr.splitlines():
        if l.startswith(line):
            return {k: int(v) for k, v in re.findall(r" ([a-z_]+)=(\d+)", l)}
    return {}


def test_inventory_flood_is_folded_and_alerts_still_go_out():
    """An unprivileged user opens a model-named file 20000 times, each from a
    new process, while mlwatch keeps an inventory: a bounded number of
    records, the repeats counted on them and every load accounted for. A
    malicious pickle loaded by root during the flood still raises its alert
    and has its own record."""
    with Scenario("inv-flood") as sc:
        marker = sc.path("MARKER")
        evil = sc.make_model("pickle", "evil.pkl", system="touch %s" % marker)
        pub = sc.make_model("pickle", "pub/weights.pkl")
        src = sc.write("flood.c", FLOOD_C)
        flood = sc.path("flood")
        r = subprocess.run(["gcc", "-O2", src, "-o", flood], capture_output=True, timeout=120)
        if r.returncode != 0:
            raise TestFailure("gcc failed: %s" % r.stderr.decode()[-300:])
        for d in (sc.dir, sc.path("pub")):
            os.chmod(d, 0o755)
        setpriv = shutil.which("setpriv", path="/usr/bin:/bin")
        if not setpriv:
            raise TestFailure("setpriv (util-linux) not found")
        inv = sc.path("inventory.jsonl")
        sc.start(extra_args=["--inventory", inv])
        p = subprocess.Popen([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                              flood, pub, str(FLOOD_OPENS)], cwd="/", env=sc.env(),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            half = p.stdout.readline()   # bounded by the test's own timeout
            ld = sc.run_loader("pickle", evil).expect_ok("root's loader during the flood")
            p.stdin.write(b"go\n")
            p.stdin.close()
            rc = p.wait(180)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        sc.expect_file(marker)
        sc.wait_alerts(lambda al: any(get(a, "rule", "id") == "model-scan-malicious" and
                                      get(a, "process", "pid") == ld.pid for a in al), 20)
        alerts = sc.stop()
        c = Checks("inventory flood")
        c.eq(half, b"half\n", "the flood got halfway before root's load")
        c.eq(rc, 0, "flood exit status (%s)" % p.stderr.read().decode()[-200:])
        with open(inv) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        for r in lines:
            c.extend(schema_problems(r), "--inventory: ")
        recs = [r for r in lines if r.get("record") == "inventory"]
        held = [r for r in lines if r.get("record") == "inventory-held-back"]
        mine = [r for r in recs if get(r, "model", "resolved_path") == os.path.realpath(pub)
                and get(r, "process", "uid") == 65534]
        folded = sum(r.get("repeats", 0) for r in mine)
        c.true(1 <= len(mine) <= 6, "%d records of the flooded file, want 1 to 6 "
               "(one a window and its repeats)" % len(mine))
        c.true(folded >= FLOOD_OPENS * 9 // 10,
               "repeats on the flooded file's records: %d of %d opens" % (folded, FLOOD_OPENS))
        c.true(len(lines) < 1000, "%d lines in --inventory for %d opens" % (len(lines), FLOOD_OPENS))
        err = sc.mon.stderr_text()
        st = _report_counts(err, "mlwatch: inventory loads=")
        vol = _report_counts(err, "mlwatch: inventory volume ")
        shown = sum(r.get("repeats") or 1 for r in recs) + sum(h.get("loads", 0) for h in held)
        c.eq(shown + st.get("folded", -1), st.get("loads"),
             "loads in records (repeats counted) + held back + folded by pid vs the exit report")
        c.eq(vol.get("repeats"), sum(r.get("repeats", 0) for r in recs),
             "repeats in the exit report vs on the records")
        evil_alerts = [a for a in alerts if get(a, "rule", "id") == "model-scan-malicious"
                       and get(a, "process", "pid") == ld.pid]
        c.eq(len(evil_alerts), 1, "model-scan-malicious alerts for root's load during the flood")
        evil_recs = [r for r in recs if get(r, "process", "pid") == ld.pid]
        c.eq([get(r, "model", "scan", "verdict") for r in evil_recs], ["malicious"],
             "verdicts on root's inventory record")
        c.true(not any(os.path.realpath(pub) in json.dumps(a) for a in alerts),
               "the benign flooded file raised an alert")
        c.done()
