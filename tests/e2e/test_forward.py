"""Forwarding (--outputs) to real receivers on 127.0.0.1: Debian's rsyslogd
over UDP, TCP (octet counting) and TLS, and the HTTP stand-in for Splunk
HEC, Elasticsearch _bulk, an NDJSON webhook and Falcosidekick. Every record
the local JSON output holds must arrive, with the same id, in order, and
read back field by field; outages and a SIGKILL cost nothing."""
import datetime
import json
import os
import signal
import time

from harness import (Checks, Scenario, TestFailure, for_loader, get, summary, with_rule)
from receivers import Certs, HttpReceiver, Rsyslog, SyslogCapture, split_octet_counted
from test_payloads import OUTER_HEAD, hostile_command

SD_ID = "mlwatch@32473"
ARRIVE = 20.0  # s: a record's way to a receiver, retries included


def local_records(sc):
    """Every record of the local JSON output, in order."""
    with open(sc.mon.output, "rb") as f:
        return [json.loads(l) for l in f.read().split(b"\n") if l.strip()]


def event_alert(r):
    """An alert an output with records ["alert"] takes: sensor-, collector-
    and output-health alerts (they carry "sensor") are records "health"
    for the outputs, e.g. the /proc walk's at start."""
    return r.get("record") == "alert" and "sensor" not in r


def outputs_file(sc, outs):
    for o in outs:
        o.setdefault("spool_dir", sc.path("spool"))
    return sc.write("outputs.json", json.dumps({"outputs": outs}), 0o600)


def msgid_of(r):
    return get(r, "rule", "id") if r.get("record") == "alert" else r.get("record")


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def attack(sc, marker_name="MARKER", hostile=False):
    """A pickle whose payload runs a shell; returns the loader's pid."""
    marker = sc.path(marker_name)
    if hostile:
        model = sc.make_model("pickle", marker_name + ".pkl", system_bytes=hostile_command(marker))
    else:
        model = sc.make_model("pickle", marker_name + ".pkl", system="touch " + marker)
    return model, marker


def run_attack(sc, model, marker):
    ld = sc.run_loader("pickle", model).expect_ok("loader")
    sc.expect_file(marker)
    if not sc.wait_alerts(lambda al: with_rule(for_loader(al, ld.pid), "model-loader-shell")):
        raise TestFailure("no model-loader-shell alert for loader %d" % ld.pid)
    return ld.pid


def check_syslog_message(c, m, r, proto):
    """One rsyslog-parsed message against the local record it carries."""
    what = "%s %s %s" % (proto, msgid_of(r), r["id"])
    c.true(m["rfc5424_error"] is None, "%s: not RFC 5424: %s" % (what, m["rfc5424_error"]))
    c.eq(m.get("app-name"), "mlwatch", what + " APP-NAME")
    c.eq(m.get("msgid"), msgid_of(r)[:32], what + " MSGID")
    c.eq(m.get("hostname"), r.get("host"), what + " HOSTNAME")
    c.eq(m.get("facility"), 16, what + " facility (local0)")
    sev = {"critical": 2, "high": 3, "medium": 4, "low": 5}.get(r.get("severity"), 6)
    c.eq(m.get("severity"), sev, what + " severity")
    try:
        c.eq(ts(m["timestamp"]), ts(r["time"]), what + " TIMESTAMP")
    except (KeyError, ValueError) as e:
        c.true(False, "%s TIMESTAMP %r: %s" % (what, m.get("timestamp"), e))
    try:
        body = json.loads(m["msg"].lstrip("\ufeff").strip())
    except ValueError as e:
        c.true(False, "%s MSG is not the JSON record (%s): %r" % (what, e, m["msg"][:200]))
        return
    c.true(body == r, "%s MSG differs from the local record" % what)
    sd = (m.get("sd") or {}).get(SD_ID) or {}
    c.eq(sd.get("id"), r["id"], what + " SD id")
    if r.get("severity"):
        c.eq(sd.get("severity"), r["severity"], what + " SD severity")
    if get(r, "rule", "id"):
        c.eq(sd.get("rule"), r["rule"]["id"], what + " SD rule")
    if get(r, "process", "pid") is not None:
        c.eq(sd.get("pid"), str(r["process"]["pid"]), what + " SD pid")
    if get(r, "loader", "pid") is not None:
        c.eq(sd.get("loader"), str(r["loader"]["pid"]), what + " SD loader")
    inc = r.get("incident")
    if isinstance(inc, str):
        c.eq(sd.get("incident"), inc, what + " SD incident")


def by_sd_id(msgs):
    out = {}
    for m in msgs:
        i = ((m.get("sd") or {}).get(SD_ID) or {}).get("id")
        if i:
            out.setdefault(i, []).append(m)
    return out


def test_syslog_rfc5424_udp_tcp_tls_read_back_by_rsyslog():
    """Three syslog outputs at once; a hostile argv (newlines, quotes, ],
    backslashes, invalid UTF-8, 5000 bytes) in the alerts. rsyslog parses
    every message; each field and the JSON MSG must equal the local record."""
    with Scenario("fwd-syslog") as sc:
        certs = Certs(sc.path("pki"))
        model, marker = attack(sc, hostile=True)
        with Rsyslog(workdir=sc.path("rsyslog"), certs=certs) as rs:
            outs = [{"type": "syslog", "name": p, "url": rs.url(p)} for p in ("udp", "tcp", "tls")]
            outs[2]["ca_file"] = certs.ca_file
            sc.start(extra_args=["--outputs", outputs_file(sc, outs)])
            pid = run_attack(sc, model, marker)
            sc.stop()
            recs = local_records(sc)
            ids = [r["id"] for r in recs]
            c = Checks("%d local records" % len(recs))
            c.true(len(set(ids)) == len(ids), "local records share ids")
            hostile = [r for r in recs if get(r, "process", "pid") and
                       any(OUTER_HEAD[:20] in a for a in (get(r, "process", "args") or []))]
            c.true(hostile, "no local record carries the hostile argv")
            for proto in ("udp", "tcp", "tls"):
                rs.wait_for(lambda ms: set(ids) <= set(by_sd_id(
                    [m for m in ms if m.get("inputname") == proto])), timeout=ARRIVE)
                got = by_sd_id([m for m in rs.messages() if m.get("inputname") == proto])
                missing = [i for i in ids if i not in got]
                c.true(not missing, "%s: %d of %d records never arrived: %s\n%s"
                       % (proto, len(missing), len(ids), missing[:5], rs.log_tail()))
                for r in recs:
                    for m in got.get(r["id"], [])[:1]:
                        check_syslog_message(c, m, r, proto)
            c.true(any(get(r, "loader", "pid") == pid for r in recs), "no record names the loader")
            c.done()


def unescape_cef(s, header):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"n": "\n", "r": "\r"}.get(n, n) if not header else n)
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_cef(text):
    """CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension"""
    k = text.find("CEF:0|")
    if k < 0:
        raise ValueError("no CEF:0| in %r" % text[:120])
    text, parts, cur, i = text[k:], [], [], 0
    while len(parts) < 7 and i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if ch == "|":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if len(parts) != 7:
        raise ValueError("CEF header has %d fields" % len(parts))
    hdr = [unescape_cef(p, True) for p in parts]
    ext_text, ext = text[i:], {}
    # key=value pairs; a value runs to the next unescaped " key="
    keys = []
    j = 0
    while j < len(ext_text):
        e = ext_text.find("=", j)
        if e < 0:
            break
        if e > 0 and ext_text[e - 1] == "\\":
            j = e + 1
            continue
        s = ext_text.rfind(" ", 0, e)
        keys.append((s + 1, e))
        j = e + 1
    for n, (s, e) in enumerate(keys):
        end = keys[n + 1][0] - 1 if n + 1 < len(keys) else len(ext_text)
        ext[ext_text[s:e]] = unescape_cef(ext_text[e + 1:end], False)
    return hdr, ext


def test_syslog_cef_and_json_formats():
    """CEF over TCP and JSON over UDP to rsyslog: the CEF header and
    extensions unescape back to the record's values; the JSON MSG is the
    record."""
    with Scenario("fwd-cef") as sc:
        model, marker = attack(sc, hostile=True)
        with Rsyslog(workdir=sc.path("rsyslog")) as rs:
            outs = [{"type": "syslog", "name": "cef", "url": rs.url("tcp"), "format": "cef",
                     "records": ["alert"]},
                    {"type": "syslog", "name": "json", "url": rs.url("udp"), "format": "json"}]
            sc.start(extra_args=["--outputs", outputs_file(sc, outs)])
            run_attack(sc, model, marker)
            sc.stop()
            recs = local_records(sc)
            alerts = [r for r in recs if event_alert(r)]
            c = Checks("%d local records" % len(recs))
            rs.wait_for(lambda ms: len([m for m in ms if m.get("inputname") == "tcp"]) >= len(alerts)
                        and len([m for m in ms if m.get("inputname") == "udp"]) >= len(recs),
                        timeout=ARRIVE)
            msgs = rs.messages()
            cef = {}
            for m in msgs:
                if m.get("inputname") != "tcp":
                    continue
                c.true(m["rfc5424_error"] is None, "CEF message not RFC 5424: %s" % m["rfc5424_error"])
                try:
                    hdr, ext = parse_cef(m["msg"])
                except ValueError as e:
                    c.true(False, "CEF does not parse: %s" % e)
                    continue
                cef[ext.get("externalId")] = (hdr, ext)
            for r in alerts:
                got = cef.get(r["id"])
                c.true(got is not None, "alert %s (%s) never arrived as CEF" % (r["id"], msgid_of(r)))
                if not got:
                    continue
                hdr, ext = got
                c.eq(hdr[1:3], ["mlwatch", "mlwatch"], "CEF vendor/product")
                c.eq(hdr[4], r["rule"]["id"], "CEF signature id")
                c.eq(hdr[5], r["rule"]["title"], "CEF name")
                c.eq(hdr[6], {"critical": "10", "high": "8", "medium": "5", "low": "3"}.get(
                    r.get("severity"), hdr[6]), "CEF severity")
                if get(r, "process", "pid") is not None:
                    c.eq(ext.get("spid"), str(r["process"]["pid"]), "CEF spid")
            js = {}
            for m in msgs:
                if m.get("inputname") == "udp":
                    try:
                        o = json.loads(m["msg"].strip())
                        js[o.get("id")] = o
                    except ValueError as e:
                        c.true(False, "JSON format MSG is not JSON: %s" % e)
            for r in recs:
                c.true(js.get(r["id"]) == r, "record %s differs or is missing in JSON format"
                       % r["id"])
            c.done()


def test_outage_then_sigkill_restart_loses_nothing():
    """The TCP receiver is down while attacks run; it comes up: every record
    arrives, in the local order. Then it goes down again, an attack runs,
    mlwatch is killed with SIGKILL and restarted with the receiver up: what
    was spooled arrives."""
    with Scenario("fwd-outage") as sc:
        models = [attack(sc, "M%d" % i) for i in range(4)]
        with Rsyslog(workdir=sc.path("rsyslog")) as rs:
            conf = outputs_file(sc, [{"type": "syslog", "name": "siem", "url": rs.url("tcp")}])
            rs.down()
            sc.start(extra_args=["--outputs", conf])
            for m, mk in models[:3]:
                run_attack(sc, m, mk)
            time.sleep(1.0)
            c = Checks()
            c.eq(len(rs.messages()), 0, "messages while the receiver was down")
            rs.up()
            before = [r["id"] for r in local_records(sc)]
            rs.wait_for(lambda ms: set(before) <= set(by_sd_id(ms)), timeout=ARRIVE)
            got = [((m.get("sd") or {}).get(SD_ID) or {}).get("id") for m in rs.messages()]
            first = []
            for i in got:
                if i and i not in first:
                    first.append(i)
            c.true(set(before) <= set(first), "after the outage %d of %d records missing"
                   % (len(set(before) - set(first)), len(before)))
            order = [i for i in first if i in before]
            c.true(order == [i for i in before if i in order],
                   "records arrived out of the local order")
            # again down; an attack; SIGKILL while its records are spooled
            rs.down()
            run_attack(sc, *models[3])
            time.sleep(1.5)
            spooled = [r["id"] for r in local_records(sc)]
            os.kill(sc.mon.proc.pid, signal.SIGKILL)
            sc.mon.proc.wait(10)
            c.true(os.listdir(sc.path("spool", "siem")), "no spool left after SIGKILL")
            rs.up()
            sc.start(extra_args=["--outputs", conf])
            c.true("records from an earlier run waiting" in sc.mon.stderr_text(),
                   "restart did not say it found spooled records:\n" + sc.mon.log_tail())
            rs.wait_for(lambda ms: set(spooled) <= set(by_sd_id(ms)), timeout=ARRIVE)
            have = set(by_sd_id(rs.messages()))
            lost = [i for i in spooled if i not in have]
            c.true(not lost, "%d records spooled before SIGKILL never arrived" % len(lost))
            sc.stop()
            c.done()


def test_http_destinations_hec_bulk_webhook_falco():
    """Four HTTP outputs at once: Splunk HEC over HTTPS (token, gzip, a 503
    twice first), Elasticsearch _bulk into a data stream (one item refused
    with 429 once), an ECS webhook and Falcosidekick. Every record reaches
    each, with its id, and each receiver's contract holds."""
    with Scenario("fwd-http") as sc:
        certs = Certs(sc.path("pki"))
        model, marker = attack(sc)
        tok = sc.write("hec.token", "t0k3n-e2e-secret\n", 0o600)
        key = sc.write("es.key", "ZXMta2V5LWUyZQ==\n", 0o600)
        with HttpReceiver("hec", token="t0k3n-e2e-secret", certs=certs) as hec, \
                HttpReceiver("bulk", token="ZXMta2V5LWUyZQ==", index="logs-mlwatch-e2e",
                             data_stream=True) as es, \
                HttpReceiver("webhook") as hook, HttpReceiver("falco") as falco:
            hec.fail_next(2, status=503)
            es.bulk_item_fail(status=429, position=0, times=1)
            outs = [{"type": "splunk_hec", "name": "hec", "url": hec.url, "token_file": tok,
                     "ca_file": certs.ca_file, "flush_ms": 200},
                    {"type": "elasticsearch", "name": "es", "url": es.url, "token_file": key,
                     "flush_ms": 200},
                    {"type": "http", "name": "ecs", "url": hook.url, "format": "ecs",
                     "flush_ms": 200},
                    {"type": "http", "name": "falco", "url": falco.url, "format": "falco",
                     "records": ["alert"]}]
            sc.start(extra_args=["--outputs", outputs_file(sc, outs)])
            run_attack(sc, model, marker)
            sc.stop()
            recs = local_records(sc)
            ids = [r["id"] for r in recs]
            alert_ids = [r["id"] for r in recs if event_alert(r)]
            c = Checks("%d local records" % len(recs))
            c.true("t0k3n-e2e-secret" not in sc.mon.stderr_text(), "the HEC token was printed")
            hec.wait_for(lambda rs: set(ids) <= {get(e, "event", "id") for e in rs}, ARRIVE)
            es.wait_for(lambda rs: set(ids) <= {i for (_, i) in es.stored()}, ARRIVE)
            hook.wait_for(lambda rs: set(ids) <= {get(e, "event", "id") for e in rs}, ARRIVE)
            falco.wait_for(lambda rs: set(alert_ids) <= {e.get("uuid") for e in rs}, ARRIVE)
            for name, rcv, got in (
                    ("hec", hec, [get(e, "event", "id") for e in hec.records()]),
                    ("es", es, [i for (_, i) in es.stored()]),
                    ("ecs", hook, [get(e, "event", "id") for e in hook.records()])):
                c.true(set(ids) <= set(got), "%s: %d of %d records missing"
                       % (name, len(set(ids) - set(got)), len(ids)))
                c.extend(rcv.problems(), name + ": ")
            got = [e.get("uuid") for e in falco.records()]
            c.true(set(alert_ids) <= set(got), "falco: %d of %d alerts missing"
                   % (len(set(alert_ids) - set(got)), len(alert_ids)))
            c.true(not (set(got) - set(alert_ids)), "falco got records other than alerts")
            c.extend(falco.problems(), "falco: ")
            c.true([q for q in hec.requests() if q.status == 503], "HEC never saw the 503s")
            c.true(all(q.gzip for q in hec.requests() if q.status == 200), "HEC body not gzip")
            c.true(all(q.auth == "ok" for q in hec.requests() if q.status == 200), "HEC auth not ok")
            c.true(all(q.auth == "ok" for q in es.requests() if q.status == 200), "ES auth not ok")
            for e in falco.records():
                r = next((x for x in recs if x["id"] == e.get("uuid")), None)
                if not r:
                    continue
                c.eq(e.get("source"), "mlwatch", "falco source")
                c.eq(e.get("hostname"), r.get("host"), "falco hostname")
                c.eq(sorted(e.get("tags") or []), sorted(r.get("tags") or []), "falco tags")
                c.true(isinstance(e.get("output"), str) and e["output"], "falco output empty")
            for (_, i), doc in es.stored().items():
                r = next((x for x in recs if x["id"] == i), None)
                if r:
                    c.eq(get(doc, "event", "id"), i, "ES doc event.id")
                    c.true(isinstance(doc.get("@timestamp"), str), "ES doc without @timestamp")
            c.done()


def test_refused_records_are_counted_and_alerted():
    """A webhook that refuses everything with 400: the records are dropped,
    counted at exit, and an output-records-lost alert names the output and
    the reason in the local output."""
    with Scenario("fwd-refused") as sc:
        model, marker = attack(sc)
        with HttpReceiver("webhook") as hook:
            hook.fail_always(status=400)
            conf = outputs_file(sc, [{"type": "http", "name": "hook", "url": hook.url,
                                      "flush_ms": 100}])
            sc.start(extra_args=["--outputs", conf])
            run_attack(sc, model, marker)
            ok = sc.wait_alerts(lambda al: any(get(a, "rule", "id") == "output-records-lost"
                                               for a in al), timeout=10)
            alerts = sc.stop()
            c = Checks()
            c.true(ok, "no output-records-lost alert while running")
            lost = [a for a in alerts if get(a, "rule", "id") == "output-records-lost"]
            for a in lost:
                c.eq(get(a, "sensor", "output"), "hook", "sensor.output")
                c.true("400" in (get(a, "sensor", "error") or ""), "sensor.error lacks the status")
                c.true((get(a, "sensor", "counts", "rejected") or 0) >= 1, "counts.rejected")
            c.true("output hook:" in sc.mon.stderr_text() and " rejected" in sc.mon.stderr_text(),
                   "no exit report for the output")
            c.true(not hook.records(), "a refusing receiver stored records")
            c.done()


def test_hung_destination_does_not_hold_detection():
    """A webhook that accepts and never answers: alerts keep reaching the
    local output as usual, and mlwatch still stops within its drain time."""
    with Scenario("fwd-hang") as sc:
        models = [attack(sc, "H%d" % i) for i in range(3)]
        with HttpReceiver("webhook") as hook:
            hook.hang_next(1000)
            conf = outputs_file(sc, [{"type": "http", "name": "hook", "url": hook.url,
                                      "flush_ms": 50, "timeout_ms": 60000}])
            sc.start(extra_args=["--outputs", conf])
            for m, mk in models:
                run_attack(sc, m, mk)   # each waits for its alert locally
            t = time.monotonic()
            sc.stop()
            c = Checks()
            c.true(time.monotonic() - t < 10, "stopping took %.1f s with a hung output"
                   % (time.monotonic() - t))
            c.true(hook.requests(), "the webhook never got a request")
            c.true(os.listdir(sc.path("spool", "hook")), "the unsent records are not spooled")
            c.done()
