"""The receivers the forwarding tests rely on, checked on their own (no
mlwatch): what goes in over UDP, TCP, TLS and HTTP must come back field for
field, and what the real services refuse must be refused, so a broken
receiver cannot make a forwarding test pass."""
import gzip
import json
import os
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request

from harness import Checks, TestFailure
from receivers.common import wait_until
from receivers import (Certs, HttpReceiver, Prometheus, Rsyslog, SyslogCapture,
                       SyslogFormatError, octet_frame, parse, parse_sd, split_octet_counted)

HOSTILE_SD = (b'[ex@32473 Quote="a\\"b" br="x\\]y" bs="c\\\\d" u="\xc3\xa9\xe2\x98\x83"]'
              b'[origin ip="127.0.0.1"]')
HOSTILE_SD_PARSED = {"ex@32473": {"Quote": 'a"b', "br": "x]y", "bs": "c\\d", "u": "\u00e9\u2603"},
                     "origin": {"ip": "127.0.0.1"}}
HOSTILE_MSG = b'bytes \xff\xfe\xc3 tab\there del\x7f \xc3\xa9 quote " backslash \\ end'


class Tmp:
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="mlwatch-e2e-recv-", dir="/tmp")
        return self.dir

    def __exit__(self, *a):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def udp_send(port, *msgs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for m in msgs:
            s.sendto(m, ("127.0.0.1", port))
    finally:
        s.close()


def tcp_send(sock, data, chunk=None):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if chunk is None:
        sock.sendall(data)
    else:
        for i in range(0, len(data), chunk):
            sock.sendall(data[i:i + chunk])


def expect_fields(c, m, want, what):
    for k, v in want.items():
        c.eq(m.get(k), v, "%s %s" % (what, k))


def wait_n(rs, n, what, timeout=5.0):
    ms = rs.wait_count(n, timeout)
    if len(ms) < n:
        raise TestFailure("%s: %d of %d messages arrived; rsyslogd says: %s"
                          % (what, len(ms), n, rs.log_tail()))
    return ms


# ---------------------------------------------------------------- syslog

def test_rfc5424_parser():
    """The strict parser and the octet-counting splitter, on their own."""
    c = Checks()
    good = b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 " \
           + HOSTILE_SD + b" \xef\xbb\xbfAn application event"
    p = parse(good)
    expect_fields(c, p, {"pri": 165, "facility": 20, "severity": 5, "timestamp":
                         "2003-10-11T22:14:15.003Z", "hostname": "mymachine.example.com",
                         "app-name": "evntslog", "procid": "-", "msgid": "ID47", "bom": True,
                         "msg_bytes": b"\xef\xbb\xbfAn application event",
                         "structured-data": HOSTILE_SD.decode()}, "parse")
    c.eq(dict((i, dict(ps)) for i, ps in p["sd"]), HOSTILE_SD_PARSED, "parse sd")
    c.eq(parse_sd(b'[a@1 x="\\n"]')[0], [("a@1", [("x", "\\n")])],
         "a backslash before another character stays")
    c.eq(parse(b"<0>1 - - - - - -")["msg_bytes"], b"", "all NIL, no MSG")
    bad = {
        b"<13>1 2024-01-02T03:04:05.1234567Z h a - - - x": "fraction digits",
        b"<013>1 - - - - - - x": "leading zero",
        b"<192>1 - - - - - - x": "PRI beyond 191",
        b"<13>2 - - - - - - x": "version 2",
        b"<13>Jan  2 03:04:05 h a: bsd": "RFC 3164",
        b"<13>1 2024-02-30T00:00:00Z h a - - - x": "no such date",
        b"<13>1 2024-01-02T03:04:60Z h a - - - x": "leap second",
        b"<13>1 2024-01-02 03:04:05Z h a - - - x": "space in timestamp",
        b'<13>1 - h a - - [x@1 v="a]b"] x': "unescaped ]",
        b'<13>1 - h a - - [x@1 v="a"][x@1 w="b"] x': "SD-ID twice",
        b'<13>1 - h a - - [mine v="a"] x': "SD-ID without @",
        b'<13>1 - h a - - [x@1 v="\xff"] x': "PARAM-VALUE not UTF-8",
        b'<13>1 - h a - - [x@1 v="open] x': "value not closed",
        b'<13>1 - h a - - [x@1 v="a"]x': "no space after SD",
        b"<13>1 - h " + b"a" * 49 + b" - - - x": "APP-NAME too long",
        b"<13>1 - h\xc3\xa9 a - - - x": "non-ASCII HOSTNAME",
        b"<13>1 - h a - - - \xef\xbb\xbf\xff": "BOM then invalid UTF-8",
    }
    for raw, why in bad.items():
        try:
            parse(raw)
            c.true(False, "parse accepted %s: %r" % (why, raw))
        except SyslogFormatError:
            pass
    frames, rest = split_octet_counted(octet_frame(b"a\nb") + octet_frame(b"x" * 12) + b"5 ab")
    c.eq((frames, rest), ([b"a\nb", b"x" * 12], b"5 ab"), "octet counting split")
    for raw in (b"<13>1 - - - - - - lf\n", b"03 abc", b"3abc"):
        try:
            split_octet_counted(raw)
            c.true(False, "split_octet_counted accepted %r" % raw)
        except SyslogFormatError:
            pass
    c.done()


def test_rsyslog_udp_fields():
    """Every field of a hostile message over UDP comes back as sent."""
    with Tmp() as d, Rsyslog(workdir=os.path.join(d, "rs")) as rs:
        one = b"<134>1 2024-01-02T03:04:05.123456+02:00 host-1.example app.name 4242 MSG-7 " \
              + HOSTILE_SD + b" " + HOSTILE_MSG
        two = b"<13>1 2024-01-02T03:04:05.1Z - - - - - \xef\xbb\xbfcaf\xc3\xa9"
        udp_send(rs.ports["udp"], one, two)
        ms = wait_n(rs, 2, "udp")
        c = Checks()
        a, b = ms
        expect_fields(c, a, {
            "pri": 134, "facility": 16, "severity": 6, "protocol-version": "1",
            "timestamp": "2024-01-02T03:04:05.123456+02:00", "hostname": "host-1.example",
            "app-name": "app.name", "procid": "4242", "msgid": "MSG-7",
            "structured-data": HOSTILE_SD.decode(), "sd": HOSTILE_SD_PARSED,
            "msg": HOSTILE_MSG.decode("utf-8", "surrogateescape"), "raw": one,
            "inputname": "udp", "fromhost-ip": "127.0.0.1", "rfc5424_error": None}, "udp")
        c.eq(a["msg"].encode("utf-8", "surrogateescape"), HOSTILE_MSG, "udp msg bytes")
        c.eq((a["rfc5424"] or {}).get("msg_bytes"), HOSTILE_MSG, "udp strict msg")
        c.eq([(k, dict(v)) for k, v in (a["rfc5424"] or {}).get("sd", [])],
             list(HOSTILE_SD_PARSED.items()), "udp strict sd")
        expect_fields(c, b, {"timestamp": "2024-01-02T03:04:05.1Z", "hostname": "-",
                             "structured-data": "-", "sd": {}, "msg": "\ufeffcaf\u00e9",
                             "rfc5424_error": None}, "udp BOM")
        c.eq((b["rfc5424"] or {}).get("bom"), True, "udp BOM seen")
        c.done()


def test_rsyslog_tcp_octet_counting():
    """Octet-counted frames over TCP: a newline inside a message, 5000 and
    60000 bytes, frames pipelined in one write and cut across writes."""
    with Tmp() as d, Rsyslog(workdir=os.path.join(d, "rs")) as rs:
        msgs = [b"<14>1 2024-01-02T03:04:05Z h app - - - line one\nline two",
                b"<14>1 2024-01-02T03:04:05Z h app - - - " + b"5" * 5000,
                b"<14>1 2024-01-02T03:04:05Z h app - - [big@32473 v=\"" + b"v" * 4096
                + b"\"] " + b"L" * 55000,
                b"<14>1 2024-01-02T03:04:05Z h app - - - last\n"]
        stream = b"".join(octet_frame(m) for m in msgs)
        with socket.create_connection(("127.0.0.1", rs.ports["tcp"]), timeout=5) as s:
            tcp_send(s, stream[:100])          # two frames and a bit
            tcp_send(s, stream[100:], chunk=997)
        ms = wait_n(rs, 4, "tcp")
        c = Checks()
        c.eq(len(ms), 4, "tcp message count")
        for m, sent in zip(ms, msgs):
            c.eq(m["raw"], sent, "tcp raw")
            c.eq(m["msg"].encode("utf-8", "surrogateescape"), parse(sent)["msg_bytes"], "tcp msg")
            c.eq(m["inputname"], "tcp", "tcp inputname")
            c.eq(m["rfc5424_error"], None, "tcp strict")
        c.eq(ms[0]["msg"], "line one\nline two", "newline kept")
        c.eq(len(ms[1]["msg"]), 5000, "5000-byte msg")
        c.eq(ms[2]["sd"], {"big@32473": {"v": "v" * 4096}}, "4 KB SD value")
        c.eq(ms[3]["msg"], "last\n", "trailing newline kept")
        c.done()


def test_rsyslog_tls():
    """RFC 5425 over TLS: the certificate verifies for 127.0.0.1 and
    localhost with the test CA, not with another CA; messages arrive."""
    with Tmp() as d:
        certs = Certs(os.path.join(d, "pki"))
        other = Certs(os.path.join(d, "pki"), "other")
        with Rsyslog(workdir=os.path.join(d, "rs"), certs=certs) as rs:
            c = Checks()
            c.eq(rs.url("tls"), "tls://127.0.0.1:%d" % rs.ports["tls"], "tls url")
            sent = []
            for name in ("127.0.0.1", "localhost"):
                m = b"<85>1 2024-01-02T03:04:05Z " + name.encode() + b" mlwatch 1 - " \
                    + HOSTILE_SD + b" over tls \xff"
                sent.append(m)
                raw = socket.create_connection(("127.0.0.1", rs.ports["tls"]), timeout=5)
                with certs.client_context().wrap_socket(raw, server_hostname=name) as t:
                    t.sendall(octet_frame(m))
                    t.unwrap()
            try:
                raw = socket.create_connection(("127.0.0.1", rs.ports["tls"]), timeout=5)
                with other.client_context().wrap_socket(raw, server_hostname="127.0.0.1"):
                    pass
                c.true(False, "a client trusting another CA completed the handshake")
            except ssl.SSLCertVerificationError:
                pass
            ms = wait_n(rs, 2, "tls")
            for m, s in zip(ms, sent):
                expect_fields(c, m, {"raw": s, "inputname": "tls", "sd": HOSTILE_SD_PARSED,
                                     "facility": 10, "severity": 5, "rfc5424_error": None},
                              "tls")
            time.sleep(0.2)
            c.eq(len(rs.messages()), 2, "messages after the refused handshake")
            c.done()


def test_rsyslog_tls_client_cert():
    """client_auth: no client certificate, no message; with one, it arrives."""
    with Tmp() as d:
        certs = Certs(os.path.join(d, "pki"))
        with Rsyslog(workdir=os.path.join(d, "rs"), certs=certs, client_auth=True) as rs:
            for with_cert in (False, True):
                m = b"<13>1 - - - - - - cert=%d" % with_cert
                try:
                    raw = socket.create_connection(("127.0.0.1", rs.ports["tls"]), timeout=5)
                    ctx = certs.client_context(with_cert=with_cert)
                    with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                        t.sendall(octet_frame(m))
                        t.unwrap()
                except OSError:
                    pass  # the server hangs up on the client without a certificate
            ms = wait_n(rs, 1, "mtls")
            time.sleep(0.3)
            ms = rs.messages()
            c = Checks()
            c.eq([m["msg"] for m in ms], ["cert=1"], "messages over mutual TLS")
            c.true("certificate" in rs.log_tail(), "rsyslogd logged the missing certificate: %s"
                   % rs.log_tail())
            c.done()


def test_rsyslog_outage():
    """down() frees the ports, up() listens on the same ones again and the
    earlier messages stay; close() leaves no process and no directory."""
    rs = Rsyslog().start()
    c = Checks()
    try:
        pid, ports, wd = rs.proc.pid, dict(rs.ports), rs.wd.path
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            c.true(f.read().startswith(b"/usr/sbin/rsyslogd\0-n\0-f\0"), "runs rsyslogd -n -f")
        fds = [os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in os.listdir("/proc/%d/fd" % pid)]
        c.true(not any(t in ("/dev/log", "/proc/kmsg", "/dev/kmsg") or t.startswith("/var/log")
                       for t in fds), "rsyslogd opened system log files: %s" % fds)
        with open(rs.conf_path) as f:
            conf = f.read()
        c.true("imuxsock" not in conf and "imklog" not in conf, "no system inputs")
        udp_send(ports["udp"], b"<13>1 - - - - - - before")
        wait_n(rs, 1, "before the outage")
        rs.down()
        c.true(not rs.alive() and not os.path.exists("/proc/%d" % pid),
               "rsyslogd %d still there after down()" % pid)
        try:
            socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=1).close()
            c.true(False, "tcp port still accepts during the outage")
        except ConnectionRefusedError:
            pass
        rs.up()
        c.eq(rs.ports, ports, "ports after up()")
        c.true(rs.proc.pid != pid, "a new rsyslogd after up()")
        with socket.create_connection(("127.0.0.1", ports["tcp"]), timeout=5) as s:
            s.sendall(octet_frame(b"<13>1 - - - - - - after"))
        ms = wait_n(rs, 2, "after the outage")
        c.eq([m["msg"] for m in ms], ["before", "after"], "messages across the outage")
        c.eq(rs.starts, 2, "starts")
    finally:
        pid = rs.proc.pid
        rs.close()
    c.true(not os.path.isdir(wd), "work dir %s left behind" % wd)
    c.true(not os.path.exists("/proc/%d" % pid), "rsyslogd %d left behind" % pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # fails only on a listener
    try:
        s.bind(("127.0.0.1", ports["tcp"]))
    except OSError as e:
        c.true(False, "tcp port %d still taken: %s" % (ports["tcp"], e))
    finally:
        s.close()
    c.done()


def test_rsyslog_non_rfc5424():
    """What rsyslog does with what is not RFC 5424, and that the strict
    parse flags it: a forwarding test must not take rsyslog's guesses."""
    with Tmp() as d, Rsyslog(workdir=os.path.join(d, "rs")) as rs:
        sent = [b"<13>1 2024-01-02T03:04:05.123456789Z h a - - - nine digits",
                b"<13>Jan  2 03:04:05 h a: bsd",
                b'<13>1 2024-01-02T03:04:05Z h a - - [x@1 v="a]b"] unescaped',
                b"<13>1 - h a - - - nul\x00after"]
        udp_send(rs.ports["udp"], *sent)
        ms = wait_n(rs, 4, "non-5424")
        c = Checks()
        for m, s in zip(ms, sent[:3]):
            c.true(m["rfc5424_error"], "strict parse accepted %r" % s)
        c.true(ms[0]["timestamp"] != "2024-01-02T03:04:05.123456789Z",
               "rsyslog now keeps 9 fraction digits (%r): update README" % ms[0]["timestamp"])
        c.eq(ms[1]["protocol-version"], "0", "BSD syslog protocol-version")
        c.eq(ms[3]["msg"], "nul#000after", "rsyslog writes NUL as #000")
        c.done()


def test_syslog_capture_framing():
    """The byte-for-byte capture: octet counting passes, newline framing
    and a cut frame are reported; TLS and UDP capture."""
    with Tmp() as d:
        certs = Certs(os.path.join(d, "pki"))
        c = Checks()
        with SyslogCapture("tcp") as cap:
            with socket.create_connection(("127.0.0.1", cap.port), timeout=5) as s:
                s.sendall(octet_frame(b"<13>1 - - - - - - a\nb") + octet_frame(b"<13>1 - - - - - - c"))
            with socket.create_connection(("127.0.0.1", cap.port), timeout=5) as s:
                s.sendall(b"<13>1 - - - - - - lf framed\n")
            with socket.create_connection(("127.0.0.1", cap.port), timeout=5) as s:
                s.sendall(b"30 <13>1 - - - - - - cut")
            cap.wait_frames(2)
            time.sleep(0.2)
            frames, problems = cap.frames()
            c.eq(frames, [b"<13>1 - - - - - - a\nb", b"<13>1 - - - - - - c"], "tcp frames")
            c.eq(len(problems), 2, "framing problems (%s)" % problems)
        with SyslogCapture("tls", certs=certs) as cap:
            raw = socket.create_connection(("127.0.0.1", cap.port), timeout=5)
            with certs.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as t:
                t.sendall(octet_frame(b"<13>1 - - - - - - tls"))
            frames, problems = cap.wait_frames(1)
            c.eq((frames, problems), ([b"<13>1 - - - - - - tls"], []), "tls frames")
        with SyslogCapture("udp") as cap:
            udp_send(cap.port, b"<13>1 - - - - - - udp")
            c.eq(cap.wait_frames(1), ([b"<13>1 - - - - - - udp"], []), "udp frames")
        c.done()


# ---------------------------------------------------------------- http

def post(url, body, headers=None, ctx=None, timeout=5.0, method="POST"):
    """(status, headers, body) whatever the status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def quiet_post(*a):
    try:
        post(*a)
    except (OSError, urllib.error.URLError):
        pass


def jpost(*a, **kw):
    st, hd, body = post(*a, **kw)
    try:
        return st, hd, json.loads(body) if body else None
    except ValueError:
        return st, hd, body


def test_http_hec():
    """HEC: Splunk token scheme, gzip only when declared, concatenated
    events, Splunk's error codes, and the events before a bad one kept."""
    with HttpReceiver("hec", token="s3cret-token") as hec:
        c = Checks()
        ok = {"Authorization": "Splunk s3cret-token"}
        ev = lambda i: {"event": {"i": i}, "time": 1700000000.5, "host": "h", "source": "mlwatch",  # noqa: E731
                        "sourcetype": "mlwatch:alert"}
        body = (json.dumps(ev(0)) + "\n" + json.dumps(ev(1)) + json.dumps(ev(2))).encode()
        gz = dict(ok, **{"Content-Encoding": "gzip", "Content-Type": "application/json"})
        c.eq(jpost(hec.url, gzip.compress(body), gz)[::2], (200, {"text": "Success", "code": 0}),
             "gzip batch")
        c.eq(jpost(hec.url, gzip.compress(body), ok)[::2][0], 400, "gzip without the header")
        c.eq(jpost(hec.url, body, {"Authorization": "Splunk nope"})[::2],
             (403, {"text": "Invalid token", "code": 4}), "wrong token")
        c.eq(jpost(hec.url, body, {})[::2], (401, {"text": "Token is required", "code": 2}),
             "no token")
        c.eq(jpost(hec.url, body, {"Authorization": "Bearer s3cret-token"})[::2],
             (401, {"text": "Invalid authorization", "code": 3}), "wrong scheme")
        c.eq(jpost(hec.base_url + "/services/collector/raw", body, ok)[0], 404, "other path")
        bad = (json.dumps(ev(3)) + json.dumps({"time": 1, "host": "h"})).encode()
        c.eq(jpost(hec.url, bad, ok)[::2], (400, {"text": "Event field is required", "code": 12,
                                                   "invalid-event-number": 1}), "no event")
        c.eq(jpost(hec.url, b"", ok)[::2], (400, {"text": "No data", "code": 5}), "no data")
        c.eq(jpost(hec.url, (json.dumps(ev(4)) + ' {"event": nope}').encode(), ok)[::2],
             (400, {"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
             "not JSON")
        c.eq(jpost(hec.url, json.dumps({"event": ""}).encode(), ok)[::2],
             (400, {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 0}),
             "blank event")
        c.eq(jpost(hec.url, json.dumps({"event": "x", "time": "now"}).encode(), ok)[0], 200,
             "event without host")
        c.eq([r.get("event") for r in hec.records()],
             [{"i": 0}, {"i": 1}, {"i": 2}, {"i": 3}, {"i": 4}, "x"],
             "events delivered")
        qs = hec.requests()
        c.eq([q.gzip for q in qs[:2]], [True, False], "gzip seen")
        c.eq([q.auth for q in qs[:5]], ["ok", "ok", "wrong", "missing", "bad-scheme"], "auth")
        c.true(all("s3cret" not in repr(q.headers) + repr(q) for q in qs), "the token was kept")
        probs = hec.problems()
        c.true(len(probs) == 4 and all(p.startswith("request 11: event 0") for p in probs),
               "problems for the event without time/host/source/sourcetype: %s" % probs)
        c.done()


def bulk_body(pairs, newline=True):
    lines = []
    for action, doc in pairs:
        lines.append(json.dumps(action))
        if doc is not None:
            lines.append(doc if isinstance(doc, str) else json.dumps(doc))
    return ("\n".join(lines) + ("\n" if newline else "")).encode()


def test_http_bulk():
    """_bulk: ApiKey, NDJSON with a final newline, create with _id, item
    statuses (201, 409 for a duplicate, programmed 429 then 201, 400 for
    good), the whole request refused when malformed."""
    with HttpReceiver("bulk", token="a2V5OnNlY3JldA==", index="alerts") as es:
        c = Checks()
        url = es.url + "/_bulk"
        hd = {"Authorization": "ApiKey a2V5OnNlY3JldA==", "Content-Type": "application/x-ndjson"}
        docs = [({"create": {"_id": "id-%d" % i}}, {"@timestamp": "2024-01-01T00:00:00Z", "i": i})
                for i in range(4)]
        es.bulk_item_fail(status=429, position=1)                        # once
        es.bulk_item_fail(status=400, match=lambda d: d.get("i") == 3, times=None)
        st, _, ans = jpost(url, bulk_body(docs), hd)
        c.eq((st, ans.get("errors")), (200, True), "bulk answer")
        c.eq([it["create"]["status"] for it in ans["items"]], [201, 429, 201, 400], "first pass")
        c.eq(ans["items"][1]["create"]["error"]["type"], "es_rejected_execution_exception", "429 type")
        c.eq(ans["items"][3]["create"]["error"]["type"], "mapper_parsing_exception", "400 type")
        c.eq(ans["items"][0]["create"]["_index"], "alerts", "_index")
        st, _, ans = jpost(url, bulk_body(docs), hd)
        c.eq([it["create"]["status"] for it in ans["items"]], [409, 201, 409, 400], "retry")
        c.eq(ans["items"][0]["create"]["error"]["type"], "version_conflict_engine_exception", "409")
        c.eq(sorted(k[1] for k in es.stored()), ["id-0", "id-1", "id-2"], "stored ids")
        c.eq([r["i"] for r in es.records()], [0, 2, 1], "records in delivery order")
        st, _, ans = jpost(url, bulk_body(docs[:1], newline=False), hd)
        c.eq((st, ans["error"]["reason"]), (400, "The bulk request must be terminated by a newline [\\n]"),
             "no final newline")
        st, _, ans = jpost(url, gzip.compress(bulk_body([({"create": {"_id": "gz"}}, {"g": 1})])),
                           dict(hd, **{"Content-Encoding": "gzip"}))
        c.eq((st, ans["items"][0]["create"]["status"]), (200, 201), "gzip bulk")
        c.eq(jpost(url, b'{"create":{}}\n', hd)[0], 400, "action without document")
        c.eq(jpost(url, b'not json\n{}\n', hd)[0], 400, "malformed action")
        c.eq(jpost(url, bulk_body(docs[:1]), dict(hd, **{"Content-Type": "text/plain"}))[0], 406,
             "content type")
        st, hdrs, ans = jpost(url, bulk_body(docs[:1]), {"Content-Type": "application/x-ndjson"})
        c.eq((st, ans["error"]["type"]), (401, "security_exception"), "no api key")
        c.eq(jpost(url, bulk_body(docs[:1]), dict(hd, Authorization="ApiKey bad"))[0], 401,
             "wrong api key")
        st, _, ans = jpost(url, bulk_body([({"index": {"_id": "ix"}}, {"x": 1})]), hd)
        c.eq(ans["items"][0]["index"]["status"], 201, "index action into an index")
        c.true(any("not create" in p for p in es.problems()), "index action flagged")
        c.done()
    with HttpReceiver("bulk", index="logs-mlwatch", data_stream=True) as ds:
        hd = {"Content-Type": "application/x-ndjson"}
        st, _, ans = jpost(ds.url + "/_bulk", bulk_body([
            ({"index": {"_id": "a"}}, {"@timestamp": "2024-01-01T00:00:00Z"}),
            ({"create": {"_id": "b"}}, {"no": "timestamp"}),
            ({"create": {"_id": "c"}}, {"@timestamp": "2024-01-01T00:00:00Z"})]), hd)
        c = Checks()
        c.eq([next(iter(it.values()))["status"] for it in ans["items"]], [400, 400, 201],
             "data stream: index refused, @timestamp needed")
        c.true(ans["items"][2]["create"]["_index"].startswith(".ds-logs-mlwatch-"),
               "backing index name")
        c.done()


def test_http_webhook_and_falco():
    """NDJSON webhook with a Bearer token; Falcosidekick's one event per
    POST and its 400 for what it cannot take."""
    with HttpReceiver("webhook", token="wh", path="/hook") as wh:
        c = Checks()
        hd = {"Authorization": "Bearer wh", "Content-Type": "application/x-ndjson"}
        c.eq(post(wh.url, b'{"a":1}\n{"b":"\\u00e9"}\n', hd)[0], 200, "ndjson")
        c.eq(post(wh.url, b'{"c":3}', hd)[0], 200, "no final newline")
        c.eq(post(wh.url, b'{"d":4}\nnot json\n', hd)[0], 400, "bad line")
        c.eq(post(wh.url, b'{"e":5}\n', {"Authorization": "Bearer no"})[0], 401, "wrong token")
        c.eq(wh.records(), [{"a": 1}, {"b": "\u00e9"}, {"c": 3}], "webhook records")
        c.eq(wh.problems(), ["request 2: the body does not end with a newline"], "webhook problems")
        c.done()
    with HttpReceiver("falco") as fs:
        c = Checks()
        ev = {"output": "x", "priority": "Critical", "rule": "r", "time": "2024-01-02T03:04:05.123456789Z",
              "output_fields": {"proc.pid": 1}, "source": "mlwatch", "tags": ["a"], "hostname": "h"}
        hd = {"Content-Type": "application/json"}
        c.eq(post(fs.url, json.dumps(ev).encode(), hd)[:3:2], (200, b""), "falco event")
        c.eq(post(fs.url, (json.dumps(ev) + json.dumps(ev)).encode(), hd)[0], 200, "two events")
        for k, v in (("output_fields", {}), ("priority", "urgent"), ("time", 17), ("rule", "")):
            c.eq(post(fs.url, json.dumps(dict(ev, **{k: v})).encode(), hd)[:3:2],
                 (400, b"Please send a valid request body\n"), "falco without a good " + k)
        c.eq(post(fs.url, b"", hd, method="GET")[0], 400, "falco GET")
        c.eq(len(fs.records()), 2, "falco records")
        c.true(any("data after the first JSON object" in p for p in fs.problems()),
               "two events in one POST flagged: %s" % fs.problems())
        c.done()


def test_http_failures_and_restart():
    """503 then success, 429 with Retry-After, 400 for good then clear(),
    a hang the client times out on, and an outage on the same port over
    HTTPS; stop() returns promptly even with a request hung."""
    with Tmp() as d:
        certs = Certs(os.path.join(d, "pki"))
        ctx = certs.client_context()
        threads = threading.active_count()
        wh = HttpReceiver("webhook", certs=certs).start()
        try:
            c = Checks()
            body, hd = b'{"n":1}\n', {"Content-Type": "application/x-ndjson"}
            wh.fail_next(2, status=503)
            c.eq([post(wh.url, body, hd, ctx)[0] for _ in range(3)], [503, 503, 200], "503 x2 then ok")
            wh.fail_next(1, status=429, retry_after=7)
            st, h, _ = post(wh.url, body, hd, ctx)
            c.eq((st, h.get("Retry-After")), (429, "7"), "429 Retry-After")
            wh.fail_always(400)
            c.eq([post(wh.url, body, hd, ctx)[0] for _ in range(2)], [400, 400], "400 for good")
            wh.clear()
            wh.hang_next(1)
            t0 = time.monotonic()
            try:
                post(wh.url, body, hd, ctx, timeout=0.5)
                c.true(False, "a hung request was answered")
            except (socket.timeout, TimeoutError, urllib.error.URLError):
                pass
            c.true(time.monotonic() - t0 < 3, "the client timeout did not apply")
            c.eq(post(wh.url, body, hd, ctx)[0], 200, "answered after the hang")
            wh.hang_next(1)
            threading.Thread(target=quiet_post, args=(wh.url, body, hd, ctx, 10),
                             daemon=True).start()
            c.true(wh.wait_requests(9)[-1].hung, "the second hang was not reached")
            port = wh.port
            t0 = time.monotonic()
            wh.stop()
            c.true(time.monotonic() - t0 < 3, "stop() took %.1f s" % (time.monotonic() - t0))
            try:
                post(wh.url, body, hd, ctx, timeout=1)
                c.true(False, "answered while stopped")
            except urllib.error.URLError:
                pass
            wh.start()
            c.eq(wh.port, port, "same port after start()")
            c.eq(post(wh.url, body, hd, ctx)[0], 200, "after the outage")
            qs = wh.requests()
            c.eq([q.status for q in qs], [503, 503, 200, 429, 400, 400, None, 200, None, 200],
                 "statuses")
            c.eq([q.hung for q in qs].count(True), 2, "hung requests")
            c.eq(len(wh.records()), 3, "records: only answered-200 requests")
            try:
                post(wh.url, body, hd, ssl.create_default_context(), timeout=2)
                c.true(False, "HTTPS verified without the test CA")
            except urllib.error.URLError:
                pass
            c.true(wait_until(lambda: wh.tls_errors, 2), "the refused handshake is not recorded")
        finally:
            wh.stop()
        c.true(wait_until(lambda: threading.active_count() <= threads, 3),
               "threads left after stop(): %s" % threading.enumerate())
        c.done()


def test_kubeapi_standin():
    """The API server stand-in of the pod-identity tests: a paged list, a
    chunked watch from the list's version (an event, a bookmark, a 410
    ERROR event), a 410 answer, and what the real server
    refuses (no token, a wrong one, a watch from a version it never gave)."""
    from receivers.kubeapi import KubeAPI, pod
    uid = "8a1b2c3d-4e5f-4789-abcd-ef0123456789"
    p1, p2, p3 = (pod(uid[:-1] + str(i), "p%d" % i, "ns") for i in range(3))
    with Tmp() as d:
        certs = Certs(d)
        ctx = certs.client_context()
        lists = [[p1, p2, p3]]
        watches = [[("MODIFIED", p1), ("BOOKMARK",), ("ERROR", 410)], [("STATUS", 410)]]
        with KubeAPI(certs, "tok", "n1", lists, watches) as api:
            sel = "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1"

            def get(q, token="tok"):
                req = urllib.request.Request(api.url + sel + q)
                if token:
                    req.add_header("Authorization", "Bearer " + token)
                try:
                    with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            c = Checks()
            st, body = get("&limit=500")
            page = json.loads(body)
            c.eq((st, len(page["items"])), (200, 2), "first page")
            cont, rv = page["metadata"].get("continue"), page["metadata"]["resourceVersion"]
            st, body = get("&limit=500&continue=" + str(cont))
            page2 = json.loads(body)
            c.eq(([i["metadata"]["name"] for i in page2["items"]], page2["metadata"]
                  .get("continue"), page2["metadata"]["resourceVersion"]), (["p2"], None, rv),
                 "last page")
            st, body = get("&watch=1&allowWatchBookmarks=true&resourceVersion=" + rv)
            lines = [json.loads(x) for x in body.decode().splitlines()]
            c.eq([x["type"] for x in lines], ["MODIFIED", "BOOKMARK", "ERROR"], "watch events")
            c.eq(lines[2]["object"].get("code"), 410, "the ERROR event's Status code")
            st, _ = get("&watch=1&allowWatchBookmarks=true&resourceVersion="
                        + lines[1]["object"]["metadata"]["resourceVersion"])
            c.eq(st, 410, "the second watch's answer")
            c.true(not api.problems(), "problems on valid requests: %s" % api.problems())
            c.eq(api.full_lists(), 1, "full lists")
            c.eq(get("&limit=5", token=None)[0], 401, "no token")
            c.eq(get("&limit=5", token="nope")[0], 401, "a wrong token")
            st, _ = get("&watch=1&allowWatchBookmarks=true&resourceVersion=1")
            c.true(any("never given out" in p for p in api.problems()),
                   "a watch from an unknown version passed: %s" % api.problems())
            c.true(any("Authorization missing" in p for p in api.problems()) and
                   any("Authorization wrong" in p for p in api.problems()),
                   "token problems not recorded: %s" % api.problems())
            c.true(all("tok" not in repr(r.__dict__) for r in api.requests()),
                   "the stand-in kept the token")
            c.done()


def _serve_text(body):
    """A one-route HTTP server on 127.0.0.1 answering every GET with body
    as Prometheus text; (server, port)."""
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def test_prometheus_scrapes():
    """The Prometheus helper: a valid exposition is up with its values
    queryable, labels escaped as the format says; a broken one is down
    with the parser's error. So up == 1 in test_metrics means Prometheus
    took mlwatch's text, not that the helper looked away."""
    good = (b'# HELP t_good_total A counter.\n# TYPE t_good_total counter\n'
            b't_good_total{rule="a\\"b\\\\c\\nd"} 42\n')
    bad = b'# TYPE t_bad_total counter\nt_bad_total{rule="unterminated} 1\n'
    c = Checks()
    servers = [_serve_text(good), _serve_text(bad)]
    try:
        with Prometheus({"good": "127.0.0.1:%d" % servers[0][1],
                         "bad": "127.0.0.1:%d" % servers[1][1]}) as prom:
            prom.wait_up("good")
            c.eq(prom.series("t_good_total"), [({"job": "good", "instance": "127.0.0.1:%d"
                                                 % servers[0][1], "rule": 'a"b\\c\nd'}, 42.0)],
                 "the good target's series")
            c.true(wait_until(lambda: (prom.target("bad") or {}).get("lastError"), 10, 0.2),
                   "no scrape error for the broken exposition: %r" % prom.target("bad"))
            c.eq(prom.value('up{job="bad"}'), 0.0, "up of the broken target")
            c.eq(prom.value("t_bad_total"), None, "a series from the broken target")
    finally:
        for srv, _ in servers:
            srv.shutdown()
            srv.server_close()
    c.done()
