"""Receivers for the forwarding end-to-end tests, all on 127.0.0.1, each
started and stopped by the test (processes by PID), every wait bounded.

    Certs(dir)            a CA, a server certificate (IP:127.0.0.1,
                          DNS:localhost) and a client certificate, by openssl
    Rsyslog(certs=...)    Debian's rsyslogd: udp://, tcp:// (octet counting),
                          tls:// (RFC 5425); each message back as rsyslog
                          parsed it, plus a strict RFC 5424 parse of its bytes
    SyslogCapture(proto)  the syslog wire byte for byte (framing checks)
    HttpReceiver(mode)    Splunk HEC (hec), Elasticsearch _bulk (bulk), an
                          NDJSON webhook (webhook), Falcosidekick (falco)
    Prometheus(targets)   Debian's prometheus scraping --metrics-addr (it
                          pulls rather than receives); instant queries

A forwarding test uses them like this:

    import json
    from harness import Scenario, TestFailure
    from receivers import Certs, Rsyslog, HttpReceiver

    with Scenario("fwd-syslog") as sc:
        certs = Certs(sc.path("pki"))
        with Rsyslog(workdir=sc.path("rsyslog"), certs=certs) as rs:
            outputs = {"outputs": [{"type": "syslog", "url": rs.url("tls"),
                                    "ca_file": certs.ca_file}]}
            sc.write("outputs.json", json.dumps(outputs))
            sc.start(extra_args=["--outputs", sc.path("outputs.json")])
            ... make mlwatch raise an alert ...
            if not rs.wait_for(lambda ms: any("mlwatch@" in m["structured-data"]
                                              for m in ms), timeout=10):
                raise TestFailure("nothing arrived: " + rs.log_tail())
            m = rs.messages()[0]
            assert m["rfc5424_error"] is None, m["rfc5424_error"]
            assert m["inputname"] == "tls" and m["app-name"] == "mlwatch"
            assert m["sd"]["mlwatch@32473"]["id"] == alert["id"]   # whatever the SD holds
            rs.down()            # an outage: nothing listens on the port
            ...                  # mlwatch spools
            rs.up()              # same ports; messages() still has the old ones

    with HttpReceiver("hec", token="t0k3n", certs=certs) as hec:
        # {"type": "splunk_hec", "url": hec.url, "token_file": ..., "ca_file": certs.ca_file}
        hec.fail_next(2, status=503)                 # then it accepts
        hec.wait_for(lambda recs: len(recs) >= 1, timeout=10)
        assert not hec.problems(), hec.problems()
        assert all(q.gzip for q in hec.requests() if q.status == 200)

    with HttpReceiver("bulk", token="a2V5", index="mlwatch-alerts") as es:
        # {"type": "elasticsearch", "url": es.url, "token_file": ...}: mlwatch
        # POSTs es.url + "/_bulk"; answers carry per-item statuses
        es.bulk_item_fail(status=429, position=0)    # first item, once
        ...                                          # mlwatch must retry that one
        assert {i for _, i in es.stored()} == {a["id"] for a in alerts}
        assert not es.problems(), es.problems()     # create actions with _id

rsyslog's fields keep its own names (pri, facility, severity, timestamp,
hostname, app-name, procid, msgid, structured-data, msg, rawmsg, inputname);
tests/e2e/README.md says what rsyslog changes on the way (NUL, fractions of
a second beyond 6 digits, invalid UTF-8).
"""
from .capture import SyslogCapture
from .certs import Certs
from .httprecv import HttpReceiver
from .prometheus import Prometheus
from .rfc5424 import SyslogFormatError, octet_frame, parse, parse_sd, split_octet_counted
from .rsyslog import Rsyslog

__all__ = ["Certs", "HttpReceiver", "Prometheus", "Rsyslog", "SyslogCapture", "SyslogFormatError",
           "octet_frame", "parse", "parse_sd", "split_octet_counted"]
