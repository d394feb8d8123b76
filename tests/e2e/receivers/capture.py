"""The syslog wire as it arrives, byte for byte: rsyslog accepts both TCP
framings (octet counting and newline-delimited) and repairs much, so a
test that must prove mlwatch's own framing reads it here instead."""
import socket
import threading

from .common import HOST, wait_until
from . import rfc5424

MAX_BYTES = 64 << 20   # per capture; beyond it connections are dropped


class SyslogCapture:
    """proto udp, tcp or tls (certs: a receivers.Certs). Records every
    datagram, or every connection's bytes, in arrival order."""

    def __init__(self, proto, certs=None, client_auth=False):
        if proto not in ("udp", "tcp", "tls") or (proto == "tls") != bool(certs):
            raise ValueError("proto udp|tcp|tls, and certs exactly for tls")
        self.proto = proto
        self.ctx = certs.server_context(client_auth) if certs else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._chunks = []          # [bytearray] per connection or datagram
        self.tls_errors = []
        self._threads = []
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.url = "%s://%s:%d" % (proto, HOST, self.port)
        if proto != "udp":
            self.sock.listen(16)
        self.sock.settimeout(0.1)
        self._spawn(self._serve)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _total(self):
        return sum(len(c) for c in self._chunks)

    def _serve(self):
        while not self._stop.is_set():
            try:
                if self.proto == "udp":
                    data = self.sock.recv(65536)
                    with self._lock:
                        if self._total() < MAX_BYTES:
                            self._chunks.append(bytearray(data))
                    continue
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                buf = bytearray()
                self._chunks.append(buf)
            self._spawn(self._drain, conn, buf)

    def _drain(self, conn, buf):
        conn.settimeout(5.0)
        try:
            if self.ctx:
                try:
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                except (OSError, ValueError) as e:
                    with self._lock:
                        self.tls_errors.append(str(e))
                    return
            conn.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    b = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not b:
                    return
                with self._lock:
                    if self._total() + len(b) > MAX_BYTES:
                        return
                    buf += b
        finally:
            conn.close()

    def streams(self):
        """Bytes per connection (tcp, tls) or per datagram (udp)."""
        with self._lock:
            return [bytes(c) for c in self._chunks]

    def frames(self):
        """(messages, problems): every message in arrival order (datagrams
        as they are; streams split by strict octet counting), and what is
        wrong with the framing (a stream that is not MSG-LEN SP MSG ..., a
        stream cut inside a frame)."""
        if self.proto == "udp":
            return self.streams(), []
        msgs, problems = [], []
        for n, data in enumerate(self.streams()):
            try:
                got, rest = rfc5424.split_octet_counted(data)
            except rfc5424.SyslogFormatError as e:
                problems.append("connection %d: %s" % (n, e))
                continue
            msgs += got
            if rest:
                problems.append("connection %d: %d bytes after the last whole frame: %r"
                                % (n, len(rest), rest[:40]))
        return msgs, problems

    def wait_frames(self, n, timeout=5.0):
        """frames() once at least n messages arrived, or after timeout."""
        wait_until(lambda: len(self.frames()[0]) >= n, timeout)
        return self.frames()

    def close(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for t in self._threads:
            t.join(2.0)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close()
        return False
