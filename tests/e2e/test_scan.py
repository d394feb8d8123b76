"""`mlwatch scan`, through the real binary, on models the real libraries
made at test time (tests/e2e/scan_samples.py) and on hand-built evasions:
every malicious one flagged with the right global, every benign one clean,
exit codes 0/1/2, hostile names escaped, profiles extended from a file."""
import json
import os
import subprocess

from harness import (PY, Checks, Scenario, TestFailure, get, mlwatch_bin, schema_problems,
                     shape_problems)

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scan_samples.py")
FLAGGED = ("suspicious", "malicious")


def run_scan(*args, timeout=120):
    p = subprocess.run([mlwatch_bin(), "scan"] + list(args), capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def make_samples(sc):
    out = sc.path("samples")
    p = subprocess.run([PY, SAMPLES, out], capture_output=True, timeout=300, cwd=sc.dir)
    if p.returncode != 0:
        raise TestFailure("sample generator failed: %s" % p.stderr.decode()[-600:])
    with open(os.path.join(out, "manifest.json")) as f:
        return out, json.load(f)


def scan_json(*paths):
    rc, out, err = run_scan("--json", *paths)
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise TestFailure("scan --json is not JSON (%s): %s %s" % (e, out[:300], err[-300:]))
    bad = schema_problems(doc) if isinstance(doc, dict) else ["scan --json is not an object"]
    if bad:
        raise TestFailure("scan --json: " + "; ".join(bad))
    return rc, doc, err


def verdict_ok(expect, got):
    if expect == "flagged":
        return got in FLAGGED
    return got == expect


def test_scan_verdicts_on_real_samples():
    with Scenario("scan-samples") as sc:
        out, manifest = make_samples(sc)
        rc, doc, err = scan_json(out)
        c = Checks("scan samples")
        by_path = {f["path"]: f for f in doc.get("files", [])}
        for m in manifest:
            f = by_path.get(m["path"])
            name = os.path.relpath(m["path"], out)
            if f is None:
                c.true(False, "%s not in the report" % name)
                continue
            c.true(verdict_ok(m["expect"], f["verdict"]),
                   "%s: expected %s, got %s: %s" % (name, m["expect"], f["verdict"],
                                                     json.dumps(f["findings"][:4])[:600]
                                                     + f.get("error", "")))
            if m.get("global"):
                hits = [x for x in f["findings"] if x.get("global") == m["global"]]
                c.true(hits, "%s: no finding for %s in %s" % (name, m["global"],
                                                              json.dumps(f["findings"])[:500]))
                for h in hits:
                    c.true(isinstance(h.get("offset"), (int, float)) and "called" in h
                           and h.get("profile") and "member" in h,
                           "%s: finding lacks offset/called/profile/member: %s" % (name, h))
            if m.get("kind"):
                c.true(any(x["kind"] == m["kind"] for x in f["findings"]),
                       "%s: no %s finding: %s" % (name, m["kind"], json.dumps(f["findings"])[:400]))
            if m["expect"] == "error":
                c.true(f.get("error"), "%s: error verdict without a message" % name)
            if m.get("repo"):
                c.eq(f.get("origin", {}).get("repo"), m["repo"], "%s: repo id" % name)
        # the HF blobs are the snapshot files: scanned once, by the snapshot name
        c.true(not any("/blobs/" in p for p in by_path),
               "blobs scanned again under their blob names: %s"
               % [p for p in by_path if "/blobs/" in p])
        c.eq(rc, 1, "exit code with malicious files present")
        c.true(doc["summary"]["malicious"] >= 10, "summary: %s" % doc.get("summary"))
        # tensor bytes are never read: an 8 MiB checkpoint costs a few KiB
        big = [f for f in doc["files"] if f["path"].endswith("big_state.pt")]
        c.true(big and big[0]["bytes_read"] < 64 * 1024 and big[0]["size"] > 8 << 20,
               "bytes_read: %s" % big)
        c.done()


def test_scan_exit_codes_and_text():
    with Scenario("scan-cli") as sc:
        out, manifest = make_samples(sc)
        c = Checks("scan cli")
        rc, text, err = run_scan(os.path.join(out, "benign"))
        c.eq(rc, 0, "exit code on the benign samples (%s)" % text[-800:])
        c.true("0 suspicious, 0 malicious" in text, "summary line: %s" % text[-300:])
        evil = os.path.join(out, "malicious", "torch_payload.pt")
        rc, text, err = run_scan(evil)
        c.eq(rc, 1, "exit code on a malicious file")
        c.true("MALICIOUS" in text and "torch_payload.pt" in text and "data.pkl @ " in text
               and "posix.system called" in text, "readable report: %s" % text)
        rc, text, err = run_scan(os.path.join(out, "error", "truncated.safetensors"))
        c.eq(rc, 2, "exit code on a malformed file")
        c.true("error:" in text and "safetensors" in (text + err).lower(),
               "error not named: %s %s" % (text, err))
        rc, text, err = run_scan(sc.path("no-such-file"))
        c.eq(rc, 2, "exit code on a missing path")
        c.true("no-such-file" in err, "missing path not named: %s" % err)
        rc, text, err = run_scan("--bogus")
        c.eq(rc, 2, "exit code on a bad option")
        # a FIFO is never opened (it would block); named, it is an error
        fifo = sc.path("model.pkl.fifo")
        os.mkfifo(fifo)
        rc, text, err = run_scan(fifo, timeout=20)
        c.eq(rc, 2, "exit code on a FIFO")
        c.true("not a regular file" in err, "FIFO not named: %s" % err)
        # hostile names: a newline and invalid UTF-8 cannot forge a line or break JSON
        hostile = os.path.join(sc.dir.encode(), b"evil\nMALICIOUS fake.pt \xff.pkl")
        with open(os.path.join(out, "malicious", "reduce_system.pkl"), "rb") as f:
            data = f.read()
        with open(hostile, "wb") as f:
            f.write(data)
        p = subprocess.run([mlwatch_bin().encode(), b"scan", hostile], capture_output=True,
                           timeout=60)
        lines = p.stdout.decode("utf-8", "replace").splitlines()
        c.eq(p.returncode, 1, "exit code on the hostile name")
        c.true(not any(l.startswith("MALICIOUS fake.pt") for l in lines),
               "a name forged a report line: %s" % lines)
        c.true(any("\\n" in l and "\\xff" in l for l in lines), "name not escaped: %s" % lines)
        p = subprocess.run([mlwatch_bin().encode(), b"scan", b"--json", hostile],
                           capture_output=True, timeout=60)
        try:
            doc = json.loads(p.stdout.decode("utf-8"))
            c.true(doc["files"][0]["verdict"] == "malicious", "hostile JSON: %s" % doc)
        except (ValueError, UnicodeDecodeError) as e:
            c.true(False, "hostile name broke the JSON: %s" % e)
        c.done()


CUSTOM = b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x0bteam.layers\x8c\x06Custom\x93)R."


def test_scan_profiles_file_extends_allowlist():
    with Scenario("scan-profiles") as sc:
        c = Checks("scan profiles")
        model = sc.write("custom.pkl", CUSTOM)
        rc, doc, err = scan_json(model)
        c.eq(rc, 1, "an import outside every profile is flagged")
        c.eq(doc["files"][0]["verdict"], "suspicious", "verdict without the profile")
        prof = sc.write("profiles.json", json.dumps(
            {"profiles": [{"name": "ml", "allow": ["team.layers:*"]}]}))
        rc, doc, err = scan_json("--profiles", prof, model)
        c.eq(rc, 0, "the user's profile allows it (%s)" % json.dumps(doc)[:300])
        deny = sc.write("deny.json", json.dumps({"deny": ["team.layers:Custom"]}))
        rc, doc, err = scan_json("--profiles", deny, model)
        c.eq(doc["files"][0]["verdict"], "malicious", "a user deny entry makes it malicious")
        bad = sc.write("bad.json", json.dumps({"profiles": [{"name": "ml", "allow": ["nocolon"]}]}))
        rc, text, err = run_scan("--profiles", bad, model)
        c.eq(rc, 2, "a broken profiles file is a usage error")
        c.true("bad.json" in err and "nocolon" in err, "error does not name the problem: %s" % err)
        c.done()


def test_runtime_scan_verdict_alerts_at_load():
    """A malicious model is an alert at load, from the static scan, before
    any behaviour rule; the verdict is on the inventory record and a step of
    the loader's incident. A benign model scans clean, with no scan alert."""
    with Scenario("scan-runtime") as sc:
        marker = sc.path("MARKER")
        evil = sc.make_model("torch", "evil.pt", system="touch %s" % marker)
        good = sc.make_model("torch", "good.pt")
        sc.start()
        bad_ld = sc.run_loader("torch", evil).expect_ok("malicious loader")
        good_ld = sc.run_loader("torch", good).expect_ok("benign loader")
        sc.wait_rules(bad_ld.pid, {"model-scan-malicious"}, timeout=10)
        alerts = sc.stop()
        c = Checks("runtime scan")
        scan_alerts = [a for a in alerts if get(a, "rule", "id") == "model-scan-malicious"]
        c.eq([get(a, "process", "pid") for a in scan_alerts], [bad_ld.pid],
             "model-scan-malicious alerts by pid")
        if scan_alerts:
            a = scan_alerts[0]
            c.eq(a.get("severity"), "critical", "scan alert severity")
            c.true("AML.T0011.000" in (a.get("tags") or []), "tags: %s" % a.get("tags"))
            top = " ".join(get(a, "scan", "top") or [])
            c.true("posix.system" in top and "data.pkl" in top, "alert names the finding: %s" % top)
            c.eq(get(a, "scan", "verdict"), "malicious", "scan.verdict in the alert")
            c.eq(get(a, "event", "kind"), "open", "the alert is on the model-open event")
            c.true(str(a.get("incident", "")).startswith("mlw-"), "alert without incident id")
            c.extend(shape_problems(a, sc.t0), "scan alert shape: ")
        c.true(not any(get(a, "rule", "id", ) in ("model-scan-malicious", "model-scan-suspicious")
                       and get(a, "process", "pid") == good_ld.pid for a in alerts),
               "the benign model raised a scan alert")
        inv = {get(r, "process", "pid"): r for r in sc.mon.inventory if r.get("complete")}
        c.eq(get(inv.get(bad_ld.pid, {}), "model", "scan", "verdict"), "malicious",
             "verdict on the malicious model's inventory record")
        c.eq(get(inv.get(good_ld.pid, {}), "model", "scan", "verdict"), "clean",
             "verdict on the benign model's inventory record")
        incs = [i for i in sc.mon.incidents if get(i, "loader", "pid") == bad_ld.pid]
        steps = [s.get("step") for s in (incs[-1].get("timeline") or [])] if incs else []
        c.true("model_scan" in steps,
               "incident timeline lacks the scan step: %s" % steps)
        c.eq(incs[-1].get("severity") if incs else None, "critical", "incident severity")
        c.eq(get(incs[-1], "loader", "model_scan") if incs else None, "malicious",
             "the incident names the model's scan verdict")
        c.done()


def test_runtime_clean_verdict_rides_on_behaviour_incident():
    """A model that scans clean, loaded by a process that then runs a shell
    itself: the incident comes from behaviour, and says the model was clean
    (what an analyst needs to tell a scanner bypass from a compromised job)."""
    with Scenario("scan-clean-incident") as sc:
        marker = sc.path("MARKER")
        good = sc.make_model("torch", "good.pt")
        sc.start()
        ld = sc.run_script("import os, torch\ntorch.load(%r)\nos.system('touch %s')\n"
                           % (good, marker)).expect_ok("script")
        sc.expect_file(marker)
        sc.wait_rules(ld.pid, {"model-loader-shell"}, timeout=10)
        alerts = sc.stop()
        c = Checks("clean verdict on a behaviour incident")
        c.true(not any(get(a, "rule", "id") in ("model-scan-malicious", "model-scan-suspicious")
                       for a in alerts), "a clean model raised a scan alert")
        incs = [i for i in sc.mon.incidents if get(i, "loader", "pid") == ld.pid]
        c.true(incs, "no incident for the loader")
        if incs:
            c.eq(incs[-1].get("status"), "closed", "last record")
            c.eq(get(incs[-1], "loader", "model_scan"), "clean", "loader.model_scan")
        c.done()
