"""An HTTPS stand-in of the Kubernetes API server's pod endpoints, for the
pod-identity tests (no cluster runs where the tests run).

    GET /api/v1/pods?fieldSelector=spec.nodeName=NODE[&limit=N][&continue=T]
        a PodList, paged (page_size items a page, whatever limit asks, as
        the real server may), metadata.resourceVersion the list's version
    GET /api/v1/pods?fieldSelector=...&watch=1&resourceVersion=RV
        a chunked stream of {"type","object"} lines, as the real server sends

The test scripts what the server says: lists[i] is the i-th full list (the
last one repeats), watches[i] the i-th watch: a list of steps

    ("ADDED" | "MODIFIED" | "DELETED", pod)   an event; the object's version
                                             is the server's next one
    ("BOOKMARK",)                            a bookmark at the current version
    ("ERROR", 410)                           an ERROR event with a Status
    ("STATUS", 410)                          the watch answered with HTTP 410
    ("HOLD",)                                stay open, send nothing, until the
                                             client goes or the server stops

A watch whose steps end without HOLD is ended by the server (as its
timeoutSeconds does). Every request is checked the way the real server
would: the bearer token (kept only as ok / wrong / missing), the field
selector, the watch's resourceVersion against the last one this server gave
out. The certificate comes from receivers.Certs."""
import http.server
import json
import ssl
import threading
import time
import urllib.parse

from .common import HOST

HANDSHAKE_TIMEOUT = 10.0
HOLD_MAX = 120.0       # s, a held watch ends after this at the latest


def pod(uid, name, namespace, labels=None, node="node-1"):
    """A Pod object the way the API server writes it (the parts mlwatch
    reads, and a few it must skip)."""
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "uid": uid,
                         "labels": dict(labels or {}),
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                         "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "python:3.11"}]},
            "status": {"phase": "Running", "podIP": "10.1.2.3"}}


class Request:
    def __init__(self, n, path, query, auth):
        self.n, self.path, self.query, self.auth = n, path, query, auth
        self.kind = "watch" if query.get("watch") in ("1", "true") else "list"
        self.status = None
        self.problems = []
        self.sent = []          # watch: the event types sent
        self.time = time.time()

    def __repr__(self):
        return "<%s #%d %s rv=%s cont=%s -> %s%s>" % (
            self.kind, self.n, self.auth, self.query.get("resourceVersion"),
            self.query.get("continue"), self.status,
            " problems: %s" % self.problems if self.problems else "")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api):
        self.api = api
        super().__init__((HOST, 0), _Handler)

    def finish_request(self, request, client_address):
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            sock = self.api.ctx.wrap_socket(request, server_side=True)
        except (OSError, ValueError) as e:
            self.api.errors.append("TLS: %s" % e)
            return
        try:
            self.RequestHandlerClass(sock, client_address, self)
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        import sys
        self.api.errors.append(repr(sys.exc_info()[1]))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "mlwatch-e2e-kubeapi"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.api._handle(self)

    def json_answer(self, status, obj):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class KubeAPI:
    """with KubeAPI(certs, token, node, lists, watches) as api: api.url"""

    def __init__(self, certs, token, node, lists, watches, page_size=2):
        self.ctx = certs.server_context()
        self.token = token
        self.node = node
        self.lists = lists
        self.watches = watches
        self.page_size = page_size
        self.rv = 100               # the server's resourceVersion
        self.given = set()          # versions handed out (a watch must use one)
        self._lock = threading.Lock()
        self._requests = []
        self._n_lists = 0           # full lists begun
        self._n_watches = 0
        self._pages = {}            # continue token -> (items, offset, rv)
        self._stop = threading.Event()
        self.errors = []
        self._server = None
        self._thread = None

    # -- lifecycle
    def __enter__(self):
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5.0)
            self._server = None

    @property
    def url(self):
        return "https://%s:%d" % (HOST, self._server.server_address[1])

    # -- what happened
    def requests(self, kind=None):
        with self._lock:
            return [r for r in self._requests if kind is None or r.kind == kind]

    def problems(self):
        out = list(self.errors)
        for r in self.requests():
            out += ["%r: %s" % (r, p) for p in r.problems]
        return out

    def full_lists(self):
        """Full lists done: first pages answered 200."""
        return len([r for r in self.requests("list")
                    if r.status == 200 and "continue" not in r.query])

    # -- serving
    def _next_rv(self):
        self.rv += 1
        self.given.add(str(self.rv))
        return str(self.rv)

    def _handle(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        got = h.headers.get("Authorization")
        auth = ("missing" if got is None else
                "ok" if got == "Bearer " + self.token else "wrong")
        with self._lock:
            req = Request(len(self._requests) + 1, parsed.path, query, auth)
            self._requests.append(req)
        if parsed.path != "/api/v1/pods":
            req.problems.append("path %r" % parsed.path)
            req.status = 404
            return h.json_answer(404, _status(404, "NotFound", "the server could not find the requested resource"))
        if auth != "ok":
            req.problems.append("Authorization %s" % auth)
            req.status = 401
            return h.json_answer(401, _status(401, "Unauthorized", "Unauthorized"))
        if query.get("fieldSelector") != "spec.nodeName=" + self.node:
            req.problems.append("fieldSelector %r, want spec.nodeName=%s"
                                % (query.get("fieldSelector"), self.node))
        if req.kind == "list":
            self._list(h, req)
        else:
            self._watch(h, req)

    def _list(self, h, req):
        with self._lock:
            cont = req.query.get("continue")
            if cont:
                if cont not in self._pages:
                    req.problems.append("unknown continue token")
                    req.status = 410
                    return h.json_answer(410, _status(410, "Expired", "continue token expired"))
                items, off, rv = self._pages.pop(cont)
            else:
                items = [json.loads(json.dumps(p)) for p in
                         self.lists[min(self._n_lists, len(self.lists) - 1)]]
                self._n_lists += 1
                off, rv = 0, self._next_rv()
            page = items[off:off + self.page_size]
            for p in page:
                p["metadata"]["resourceVersion"] = rv
            meta = {"resourceVersion": rv}
            if off + self.page_size < len(items):
                tok = "c%d-%d" % (req.n, off)
                self._pages[tok] = (items, off + self.page_size, rv)
                meta["continue"] = tok
        req.status = 200
        h.json_answer(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta,
                            "items": page})

    def _watch(self, h, req):
        rv = req.query.get("resourceVersion")
        if req.query.get("allowWatchBookmarks") != "true":
            req.problems.append("watch without allowWatchBookmarks=true")
        with self._lock:
            if rv not in self.given:
                req.problems.append("resourceVersion %r was never given out" % rv)
            elif rv != str(self.rv):
                req.problems.append("resourceVersion %r is not the latest (%d)" % (rv, self.rv))
            steps = self.watches[min(self._n_watches, len(self.watches) - 1)]
            self._n_watches += 1
        if steps and steps[0][0] == "STATUS":
            req.status = steps[0][1]
            req.sent.append("STATUS %d" % steps[0][1])
            return h.json_answer(steps[0][1], _status(steps[0][1], "Expired",
                                                      "too old resource version"))
        req.status = 200
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            for step in steps:
                kind = step[0]
                if kind == "HOLD":
                    req.sent.append("HOLD")
                    end = time.monotonic() + HOLD_MAX
                    while not self._stop.is_set() and time.monotonic() < end:
                        if _peer_closed(h.connection):
                            break
                        time.sleep(0.05)
                    break
                if kind == "ERROR":
                    obj = _status(step[1], "Expired", "too old resource version: %s" % rv)
                elif kind == "BOOKMARK":
                    obj = {"kind": "Pod", "apiVersion": "v1",
                           "metadata": {"resourceVersion": self._next_rv()}}
                else:
                    obj = json.loads(json.dumps(step[1]))
                    obj["metadata"]["resourceVersion"] = self._next_rv()
                line = json.dumps({"type": kind, "object": obj}, separators=(",", ":"))
                req.sent.append(kind)
                # the real server's chunks do not follow lines: split one
                h.chunk(line[:7].encode())
                h.chunk(line[7:].encode() + b"\n")
            h.chunk(b"")
        except OSError:
            pass
        h.close_connection = True


def _status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _peer_closed(conn):
    """Whether the client hung up (TLS: peek at the raw socket)."""
    try:
        conn.setblocking(False)
        try:
            return conn.recv(1) == b""
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        finally:
            conn.setblocking(True)
    except (OSError, ValueError):
        return True
