"""An HTTP receiver on 127.0.0.1 standing in for Splunk HEC, Elasticsearch
_bulk, a generic NDJSON webhook and Falcosidekick: it checks each request
the way the real service does (path, token, gzip, body shape), answers in
that service's shape, records everything, and misbehaves on demand (errors,
Retry-After, hangs, per-item _bulk failures, an outage)."""
import gzip
import http.server
import json
import re
import socket
import ssl
import sys
import threading
import time
import zlib

from .common import HOST, wait_until

MODES = ("hec", "bulk", "webhook", "falco")
DEFAULT_PATH = {"hec": "/services/collector/event", "webhook": "/", "falco": "/"}
DEFAULT_SCHEME = {"hec": "Splunk", "bulk": "ApiKey", "webhook": "Bearer", "falco": "Bearer"}
MAX_BODY = 32 << 20     # bytes, after decompression too; beyond it: 413
HANG_MAX = 120.0        # s, a hung request is dropped after this at the latest
IDLE_TIMEOUT = 30.0     # s, an idle keep-alive connection is closed
HANDSHAKE_TIMEOUT = 10.0
FALCO_PRIORITIES = ("emergency", "alert", "critical", "error", "warning", "notice",
                    "informational", "info", "debug")
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
HEC_TEXT = {400: (6, "Invalid data format"), 401: (2, "Token is required"),
            403: (4, "Invalid token"), 404: (404, "The requested URL was not found on this server."),
            429: (9, "Server is busy"), 500: (8, "Internal server error"),
            503: (9, "Server is busy")}
ES_TYPE = {400: "illegal_argument_exception", 401: "security_exception",
           403: "security_exception", 404: "index_not_found_exception",
           409: "version_conflict_engine_exception", 413: "illegal_argument_exception",
           429: "es_rejected_execution_exception", 500: "exception",
           503: "unavailable_shards_exception"}


class Request:
    """One request as received and answered. The Authorization header's
    secret part is never kept: auth says how it compared."""

    def __init__(self, n, method, path, query, headers):
        self.n, self.method, self.path, self.query = n, method, path, query
        self.headers = headers          # lower-case name -> value
        self.content_type = headers.get("content-type")
        self.content_encoding = headers.get("content-encoding")
        self.gzip = False
        self.chunked = False
        self.raw_len = 0                # bytes on the wire
        self.body = b""                 # after gzip
        self.auth = None                # ok | missing | bad-scheme | wrong | not-checked
        self.status = None              # answered status; None: hung or dropped
        self.answer = None              # the answer body, parsed when JSON
        self.records = []               # records this request delivered
        self.items = []                 # _bulk: one dict per action
        self.problems = []              # contract breaches the real service would take
        self.hung = False
        self.forced = False             # answered by a programmed failure
        self.time = time.time()

    def __repr__(self):
        return "<Request %d %s %s -> %s, %d records%s>" % (
            self.n, self.method, self.path, self.status, len(self.records),
            ", problems: %s" % self.problems if self.problems else "")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, recv, port):
        self.recv = recv
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def finish_request(self, request, client_address):
        sock = request
        if self.recv.ctx is not None:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                sock = self.recv.ctx.wrap_socket(request, server_side=True)
            except (OSError, ValueError) as e:
                self.recv._note_tls_error(e)
                return
        with self.conns_lock:
            self.conns.add(sock)
        try:
            self.RequestHandlerClass(sock, client_address, self)
        finally:
            with self.conns_lock:
                self.conns.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, ssl.SSLError):  # TLS 1.3: a client's alert comes after the handshake
            self.recv._note_tls_error(e)
        else:
            self.recv._note_error(e)

    def drop_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server_version = "mlwatch-e2e-receiver"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        self.server.recv._handle(self)

    do_PUT = do_GET = do_DELETE = do_PATCH = do_POST

    def read_body(self):
        """The body per Content-Length or chunked; None if too large."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts), True
                total += size
                if total > MAX_BODY:
                    return None, True
                parts.append(self.rfile.read(size))
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None, False
        return self.rfile.read(n), False

    def answer(self, status, body=b"", ctype="application/json; charset=UTF-8", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()  # as the services answer
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        return body


class HttpReceiver:
    """mode: hec | bulk | webhook | falco. token: the expected secret (None:
    any or no Authorization passes); scheme: the Authorization scheme (Splunk
    for hec, ApiKey for bulk, Bearer otherwise). certs (a receivers.Certs):
    HTTPS with the server certificate; client_auth demands a client
    certificate. path: the one path served (hec: /services/collector/event,
    webhook and falco: /); bulk serves POST|PUT /_bulk and /<index>/_bulk.
    data_stream (bulk): the index is a data stream, which takes only
    create actions and needs @timestamp in each document."""

    def __init__(self, mode, token=None, scheme=None, certs=None, client_auth=False,
                 path=None, index="mlwatch", data_stream=False, port=0):
        if mode not in MODES:
            raise ValueError("mode must be one of %s" % (MODES,))
        self.mode = mode
        self.token = token
        self.scheme = scheme or DEFAULT_SCHEME[mode]
        self.certs = certs
        self.ctx = certs.server_context(client_auth) if certs else None
        self.path = path or DEFAULT_PATH.get(mode)
        self.index = index
        self.data_stream = data_stream
        self.port = port
        self._lock = threading.Lock()
        self._requests = []
        self._delivered = []            # (request n, record)
        self._docs = {}                 # bulk: (index, _id) -> doc
        self._seq = 0
        self._fail = []                 # [[count or None, status, retry_after, body]]
        self._hang = 0
        self._hang_events = []
        self._item_rules = []
        self.errors = []                # handler exceptions
        self.tls_errors = []
        self._server = None
        self._thread = None

    # -- life cycle ---------------------------------------------------
    @property
    def ca_file(self):
        return self.certs.ca_file if self.certs else None

    @property
    def base_url(self):
        return "%s://%s:%d" % ("https" if self.ctx else "http", HOST, self.port)

    @property
    def url(self):
        """What mlwatch's output url should be: the endpoint itself (hec,
        webhook, falco) or the index (bulk: mlwatch appends /_bulk)."""
        if self.mode == "bulk":
            return "%s/%s" % (self.base_url, self.index)
        return self.base_url + self.path

    def start(self):
        """Listen (again, on the same port after stop()); state is kept."""
        if self._server is not None:
            raise RuntimeError("already listening on %d" % self.port)
        self._server = _Server(self, self.port)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening and drop every open connection (a hung request
        too); what was received stays."""
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        self.release_hangs()
        srv.drop_connections()
        self._thread.join(5.0)

    down, up = stop, start

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        self.stop()
        return False

    # -- programmed behaviour -----------------------------------------
    def fail_next(self, n, status=503, retry_after=None, body=None):
        """Answer the next n requests with status (and Retry-After when
        given) before looking at them; body: the answer, else the service's
        own shape for that status."""
        with self._lock:
            self._fail.append([n, status, retry_after, body])

    def fail_always(self, status=400, body=None):
        """Answer every request with status until clear()."""
        with self._lock:
            self._fail.append([None, status, None, body])

    def hang_next(self, n):
        """Read the next n requests whole and never answer them (until
        release_hangs() or stop(), then the connection is closed)."""
        with self._lock:
            self._hang += n

    def release_hangs(self):
        with self._lock:
            evs, self._hang_events = self._hang_events, []
        for e in evs:
            e.set()

    def bulk_item_fail(self, status=429, error_type=None, reason=None, position=None,
                       match=None, times=1):
        """Fail _bulk items with status: the item at position (0-based, in
        its request) and/or those match(doc) accepts, times times (None:
        for good). error_type defaults to the one Elasticsearch uses for
        that status (429 es_rejected_execution_exception, 400
        mapper_parsing_exception, ...)."""
        if error_type is None:
            error_type = "mapper_parsing_exception" if status == 400 else ES_TYPE.get(status, "exception")
        with self._lock:
            self._item_rules.append({"status": status, "type": error_type,
                                     "reason": reason or "programmed failure (%d)" % status,
                                     "position": position, "match": match, "times": times})

    def clear(self):
        """Forget every programmed failure and hang."""
        with self._lock:
            self._fail, self._hang, self._item_rules = [], 0, []
        self.release_hangs()

    # -- what arrived -------------------------------------------------
    def requests(self):
        with self._lock:
            return list(self._requests)

    def records(self):
        """Every record delivered (answered as stored), in order."""
        with self._lock:
            return [r for _, r in self._delivered]

    def delivered(self):
        """(request number, record) for every record delivered."""
        with self._lock:
            return list(self._delivered)

    def problems(self):
        """Contract breaches, each prefixed with its request number."""
        with self._lock:
            return ["request %d: %s" % (q.n, p) for q in self._requests for p in q.problems]

    def wait_for(self, pred, timeout=5.0):
        """Poll until pred(records) holds or timeout; True if it held."""
        return bool(wait_until(lambda: pred(self.records()), timeout))

    def wait_requests(self, n, timeout=5.0):
        """Requests once at least n were answered (or hung), or after timeout."""
        wait_until(lambda: sum(1 for q in self.requests()
                               if q.status is not None or q.hung) >= n, timeout)
        return self.requests()

    def _note_error(self, e):
        with self._lock:
            self.errors.append(repr(e))

    def _note_tls_error(self, e):
        with self._lock:
            self.tls_errors.append(str(e))

    # -- one request --------------------------------------------------
    def _handle(self, h):
        path, _, query = h.path.partition("?")
        headers = {k.lower(): v for k, v in h.headers.items()}
        if "authorization" in headers:
            scheme = headers["authorization"].split(" ", 1)[0]
            headers["authorization"] = scheme + " <redacted>"
        body, chunked = h.read_body()
        with self._lock:
            q = Request(len(self._requests) + 1, h.command, path, query, headers)
            self._requests.append(q)
            q.chunked = chunked
            fail = None
            if self._hang > 0:
                self._hang -= 1
                q.hung = True
                ev = threading.Event()
                self._hang_events.append(ev)
            elif self._fail:
                fail = self._fail[0]
                if fail[0] is not None:
                    fail[0] -= 1
                    if fail[0] <= 0:
                        self._fail.pop(0)
        if body is None:
            h.close_connection = True
            return self._reply(h, q, *self._error(413, "request body beyond %d bytes" % MAX_BODY))
        q.raw_len = len(body)
        if q.hung:
            ev.wait(HANG_MAX)
            h.close_connection = True
            return
        if fail is not None:
            q.forced = True
            status, retry_after, fbody = fail[1], fail[2], fail[3]
            st, ans, ctype, hdrs = self._error(status, "programmed failure")
            if retry_after is not None:
                hdrs = hdrs + [("Retry-After", str(retry_after))]
            return self._reply(h, q, status, ans if fbody is None else fbody, ctype, hdrs)
        return self._reply(h, q, *self._process(h, q, body))

    def _reply(self, h, q, status, body, ctype="application/json; charset=UTF-8", headers=()):
        sent = h.answer(status, body, ctype, headers)
        with self._lock:
            q.status = status
            try:
                q.answer = json.loads(sent) if sent else None
            except ValueError:
                q.answer = sent.decode(errors="replace")

    def _error(self, status, reason, **extra):
        """(status, body, content type, headers) in the service's shape."""
        ctype = "application/json; charset=UTF-8"
        hdrs = []
        if self.mode == "hec":
            code, text = HEC_TEXT.get(status, (8, reason))
            body = {"text": text, "code": code}
            body.update(extra)
        elif self.mode == "bulk":
            t = extra.pop("type", ES_TYPE.get(status, "exception"))
            err = {"type": t, "reason": reason}
            err.update(extra)
            body = {"error": {"root_cause": [dict(err)], "type": t, "reason": reason},
                    "status": status}
            hdrs.append(("X-elastic-product", "Elasticsearch"))
            if status == 401:
                hdrs.append(("WWW-Authenticate", 'ApiKey'))
        elif self.mode == "falco":
            body, ctype = reason + "\n", "text/plain; charset=utf-8"
        else:
            body = {"error": reason}
            if status == 401:
                hdrs.append(("WWW-Authenticate", self.scheme))
        return status, body, ctype, hdrs

    def _check_auth(self, h, q):
        """None if the request may go on, else the answer."""
        got = h.headers.get("Authorization")
        if self.token is None:
            q.auth = "not-checked"
            return None
        if got is None:
            q.auth = "missing"
            if self.mode == "bulk":
                return self._error(401, "missing authentication credentials for REST request [%s]"
                                   % h.path)
            return self._error(401, "Token is required")
        scheme, _, secret = got.partition(" ")
        if scheme != self.scheme:
            q.auth = "bad-scheme"
            if self.mode == "hec":
                return 401, {"text": "Invalid authorization", "code": 3}
            return self._error(401, "unable to authenticate with provided credentials")
        if secret != self.token:
            q.auth = "wrong"
            if self.mode == "hec":
                return self._error(403, "Invalid token")
            return self._error(401, "unable to authenticate with provided credentials")
        q.auth = "ok"
        return None

    def _process(self, h, q, body):
        if self.mode == "bulk":
            m = re.fullmatch(r"/(?:([^/_][^/]*)/)?_bulk", q.path)
            if not m:
                return self._error(400, "no handler found for uri [%s] and method [%s]"
                                   % (q.path, q.method), type="illegal_argument_exception")
            if q.method not in ("POST", "PUT"):
                return self._error(405, "Incorrect HTTP method for uri [%s] and method [%s], "
                                   "allowed: [POST, PUT]" % (q.path, q.method))
        else:
            if q.path != self.path:
                return self._error(404, "no such path %s" % q.path)
            if q.method != "POST":
                return self._error(405 if self.mode != "falco" else 400,
                                   "Please send with post http method")
        denied = self._check_auth(h, q)
        if denied:
            return denied
        enc = (q.content_encoding or "").lower()
        if enc == "gzip":
            q.gzip = True
            try:
                body = _gunzip(body)
            except (OSError, EOFError, zlib.error, ValueError) as e:
                return self._error(400, "Content-Encoding gzip, but the body is not gzip: %s" % e)
        elif enc not in ("", "identity"):
            return self._error(415, "Content-Encoding %s is not supported" % enc)
        q.body = body
        return {"hec": self._hec, "bulk": self._bulk, "webhook": self._webhook,
                "falco": self._falco}[self.mode](q, body)

    def _deliver(self, q, recs):
        with self._lock:
            q.records.extend(recs)
            self._delivered.extend((q.n, r) for r in recs)

    # -- Splunk HEC ---------------------------------------------------
    def _hec(self, q, body):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._error(400, "Invalid data format", **{"invalid-event-number": 0})
        if not text.strip():
            return 400, {"text": "No data", "code": 5}
        dec, i, events = json.JSONDecoder(), 0, []
        while True:
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
            if i >= len(text):
                break
            k = len(events)
            try:
                ev, i = dec.raw_decode(text, i)
            except ValueError:
                ev = None
            err = None
            if not isinstance(ev, dict):
                err = (6, "Invalid data format")
            elif "event" not in ev:
                err = (12, "Event field is required")
            elif ev["event"] in ("", None, {}):
                err = (13, "Event field cannot be blank")
            if err:
                self._deliver(q, events)  # the ones before it are kept, as Splunk may index them
                return 400, {"text": err[1], "code": err[0], "invalid-event-number": k}
            t = ev.get("time")
            if isinstance(t, bool) or not isinstance(t, (int, float)):
                q.problems.append("event %d: time %r is not epoch seconds as a number" % (k, t))
            for f in ("host", "source", "sourcetype"):
                if not (isinstance(ev.get(f), str) and ev[f]):
                    q.problems.append("event %d: %s %r is not a non-empty string" % (k, f, ev.get(f)))
            events.append(ev)
        self._deliver(q, events)
        return 200, {"text": "Success", "code": 0}

    # -- Elasticsearch _bulk ------------------------------------------
    def _bulk(self, q, body):
        ctype = (q.content_type or "").split(";")[0].strip().lower()
        if ctype not in ("application/json", "application/x-ndjson") and \
                not ctype.startswith("application/vnd.elasticsearch+"):
            return 406, {"error": "Content-Type header [%s] is not supported" % (q.content_type or ""),
                         "status": 406}
        if not body:
            return self._error(400, "Validation Failed: 1: no requests added;",
                               type="action_request_validation_exception")
        if not body.endswith(b"\n"):
            return self._error(400, "The bulk request must be terminated by a newline [\\n]")
        url_index = re.fullmatch(r"/(?:([^/_][^/]*)/)?_bulk", q.path).group(1)
        lines = body.split(b"\n")[:-1]
        pairs, i = [], 0
        while i < len(lines):
            if not lines[i].strip():
                q.problems.append("line %d is empty" % (i + 1))
                i += 1
                continue
            try:
                action = json.loads(lines[i])
            except ValueError as e:
                return self._error(400, "Malformed action/metadata line [%d], expected "
                                   "START_OBJECT: %s" % (i + 1, e), type="x_content_parse_exception")
            if not (isinstance(action, dict) and len(action) == 1 and
                    next(iter(action)) in ("create", "index", "update", "delete") and
                    isinstance(next(iter(action.values())), dict)):
                return self._error(400, "Malformed action/metadata line [%d], expected field "
                                   "[create], [delete], [index] or [update]" % (i + 1))
            op, meta = next(iter(action.items()))
            if op == "delete":
                pairs.append((op, meta, None, i + 1))
                i += 1
                continue
            if i + 1 >= len(lines):
                return self._error(400, "action/metadata line [%d] has no document line" % (i + 1))
            pairs.append((op, meta, lines[i + 1], i + 1))
            i += 2
        items = []
        for pos, (op, meta, src, line) in enumerate(pairs):
            items.append(self._bulk_item(q, pos, op, meta, src, line, url_index))
        errors = any(it[next(iter(it))]["status"] >= 300 for it in items)
        return 200, {"took": 1, "errors": errors, "items": items}, \
            "application/json; charset=UTF-8", [("X-elastic-product", "Elasticsearch")]

    def _bulk_item(self, q, pos, op, meta, src, line, url_index):
        index = meta.get("_index", url_index)
        _id = meta.get("_id")
        rec = {"n": q.n, "position": pos, "op": op, "index": index, "_id": _id}
        shown = index
        if self.data_stream and index:
            shown = ".ds-%s-%s-000001" % (index, time.strftime("%Y.%m.%d", time.gmtime()))

        def item(status, err=None, **ok):
            rec["status"] = status
            rec["error"] = err
            with self._lock:
                q.items.append(rec)
            r = {"_index": shown, "_id": _id, "status": status}
            if err:
                r["error"] = dict(err, index=index, shard="0", index_uuid="e2e")
            r.update(ok)
            return {op: r}

        if index is None:
            return item(400, {"type": "action_request_validation_exception",
                              "reason": "Validation Failed: 1: index is missing;"})
        if op != "create":
            q.problems.append("line %d: action %r, not create" % (line, op))
        if op == "create" and _id is None:
            q.problems.append("line %d: create without _id" % line)
        if self.data_stream and op != "create":
            return item(400, {"type": "illegal_argument_exception",
                              "reason": "only write ops with an op_type of create are allowed "
                                        "in data streams"})
        if op not in ("create", "index"):
            return item(400, {"type": "illegal_argument_exception",
                              "reason": "the receiver takes create and index only"})
        try:
            doc = json.loads(src)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return item(400, {"type": "document_parsing_exception",
                              "reason": "[1:1] failed to parse: %s" % e})
        with self._lock:
            rule = None
            for r in self._item_rules:
                if r["times"] == 0 or (r["position"] is not None and r["position"] != pos):
                    continue
                if r["match"] is not None and not r["match"](doc):
                    continue
                rule = r
                if r["times"] is not None:
                    r["times"] -= 1
                break
        if rule:
            return item(rule["status"], {"type": rule["type"], "reason": rule["reason"]})
        if self.data_stream and "@timestamp" not in doc:
            return item(400, {"type": "document_parsing_exception",
                              "reason": "data stream timestamp field [@timestamp] is missing"})
        with self._lock:
            key = (index, _id)
            if _id is not None and key in self._docs and op == "create":
                conflict = True
            else:
                conflict = False
                self._seq += 1
                seq = self._seq
                if _id is None:
                    _id = rec["_id"] = "auto-%d" % seq
                    key = (index, _id)
                self._docs[key] = doc
        if conflict:
            return item(409, {"type": "version_conflict_engine_exception",
                              "reason": "[%s]: version conflict, document already exists "
                                        "(current version [1])" % _id})
        self._deliver(q, [doc])
        return item(201, None, _version=1, result="created", _seq_no=seq, _primary_term=1,
                    _shards={"total": 1, "successful": 1, "failed": 0})

    def stored(self):
        """bulk: {(index, _id): doc} as stored."""
        with self._lock:
            return dict(self._docs)

    # -- NDJSON webhook -----------------------------------------------
    def _webhook(self, q, body):
        ctype = (q.content_type or "").split(";")[0].strip().lower()
        if ctype not in ("application/x-ndjson", "application/json"):
            q.problems.append("Content-Type %r is not application/x-ndjson" % q.content_type)
        if not body:
            return self._error(400, "empty body")
        if not body.endswith(b"\n"):
            q.problems.append("the body does not end with a newline")
        recs = []
        for k, line in enumerate(body.split(b"\n"), 1):
            if not line.strip():
                if k <= body.count(b"\n"):
                    q.problems.append("line %d is empty" % k)
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                return self._error(400, "line %d is not JSON: %s" % (k, e))
            if not isinstance(r, dict):
                return self._error(400, "line %d is not a JSON object" % k)
            recs.append(r)
        self._deliver(q, recs)
        return 200, {"accepted": len(recs)}

    # -- Falcosidekick ------------------------------------------------
    def _falco(self, q, body):
        bad = (400, "Please send a valid request body\n", "text/plain; charset=utf-8", [])
        ctype = (q.content_type or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            q.problems.append("Content-Type %r is not application/json" % q.content_type)
        try:
            text = body.decode("utf-8")
            ev, end = json.JSONDecoder().raw_decode(text.lstrip())
        except ValueError as e:
            q.problems.append("not one JSON object: %s" % e)
            return bad
        if text.lstrip()[end:].strip():
            q.problems.append("data after the first JSON object (Falcosidekick ignores it)")
        why = _falco_invalid(ev)
        if why:
            q.problems.append(why)
            return bad
        self._deliver(q, [ev])
        return 200, b"", "text/plain; charset=utf-8", []


def _falco_invalid(ev):
    """Why Falcosidekick would answer 400 to ev, or None."""
    if not isinstance(ev, dict):
        return "the payload is not a JSON object"
    for f in ("output", "rule", "source", "hostname", "uuid"):
        if ev.get(f) is not None and not isinstance(ev[f], str):
            return "%s is not a string" % f
    if not (isinstance(ev.get("priority"), str) and ev["priority"].lower() in FALCO_PRIORITIES):
        return "priority %r is not a Falco priority" % (ev.get("priority"),)
    if not ev.get("rule"):
        return "rule is empty"
    if not (isinstance(ev.get("time"), str) and RFC3339_RE.match(ev["time"])):
        return "time %r is not RFC 3339" % (ev.get("time"),)
    if not (isinstance(ev.get("output_fields"), dict) and ev["output_fields"]):
        return "output_fields is not a non-empty object"
    tags = ev.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        return "tags is not a list of strings"
    return None


def _gunzip(data):
    """gzip.decompress, bounded by MAX_BODY (a gzip bomb is refused)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(data, MAX_BODY + 1)
    if len(out) > MAX_BODY:
        raise ValueError("more than %d bytes once decompressed" % MAX_BODY)
    if not d.eof:
        raise EOFError("the gzip stream is cut short")
    if d.unused_data:
        # several gzip members: rare, but valid gzip
        return out + gzip.decompress(d.unused_data)
    return out
