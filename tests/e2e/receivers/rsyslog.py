"""Debian's real rsyslogd as the syslog receiver: a private config in a
work dir, listeners on 127.0.0.1 only (UDP; TCP with RFC 6587 octet
counting; TLS per RFC 5425 via GnuTLS), each message written by a template
as one JSON line with the fields as rsyslog parsed them.

It never touches the system's logging: no imuxsock (so no /dev/log), no
imklog, its own pid file, work dir and internal log (processInternalMessages
keeps rsyslog's own messages away from the system log socket)."""
import json
import os
import subprocess

from .common import HOST, WorkDir, free_port, stop_process, wait_until
from . import rfc5424

RSYSLOGD = "/usr/sbin/rsyslogd"
START_TIMEOUT = 10.0   # s, until every listener is bound
STOP_GRACE = 5.0       # s, SIGTERM -> SIGKILL
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

# outname -> rsyslog property; each comes out as a JSON string
FIELDS = (
    ("pri", "pri"), ("facility", "syslogfacility"), ("severity", "syslogseverity"),
    ("protocol-version", "protocol-version"), ("timestamp", "timestamp"),
    ("hostname", "hostname"), ("app-name", "app-name"), ("procid", "procid"),
    ("msgid", "msgid"), ("structured-data", "structured-data"), ("msg", "msg"),
    ("rawmsg", "rawmsg"), ("inputname", "inputname"), ("fromhost-ip", "fromhost-ip"),
    ("received", "timegenerated"), ("sd-json", "$!rfc5424-sd"),
)
INT_FIELDS = ("pri", "facility", "severity")

CONFIG = """\
global(workDirectory="{dir}" maxMessageSize="64k" processInternalMessages="on"
       net.enableDNS="off" parser.escapeControlCharactersOnReceive="off"
       parser.dropTrailingLFOnReception="off"{tls_global})
main_queue(queue.type="Direct")
module(load="imudp")
module(load="imtcp")
module(load="mmpstrucdata")
template(name="mlwjson" type="list" option.jsonf="on") {{
{props}
}}
ruleset(name="received") {{
  action(type="mmpstrucdata" sd_name.lowercase="off")
  action(type="omfile" file="{out}" template="mlwjson" fileCreateMode="0600")
}}
*.* action(type="omfile" file="{internal}")
input(type="imudp" address="127.0.0.1" port="{udp}" name="udp" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="{tcp}" name="tcp" ruleset="received"
      supportOctetCountedFraming="on")
{tls_input}"""
TLS_GLOBAL = """
       defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}\""""
TLS_INPUT = """\
input(type="imtcp" address="127.0.0.1" port="{tls}" name="tls" ruleset="received"
      supportOctetCountedFraming="on" streamDriver.name="gtls" streamDriver.mode="1"
      streamDriver.authMode="{auth}")
"""


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if t.startswith("socket:["):
                inodes.add(t[8:-1])
    except OSError:
        pass
    return inodes


def _bound(table, port, state, inodes):
    """True if /proc/net/<table> has 127.0.0.1:port in state, owned by one
    of inodes."""
    want = "0100007F:%04X" % port
    try:
        with open("/proc/net/" + table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if col[1] == want and col[3] == state and col[9] in inodes:
                    return True
    except OSError:
        pass
    return False


class Rsyslog:
    """rsyslogd on free ports of 127.0.0.1. certs (a receivers.Certs) turns
    on the TLS listener; client_auth makes it demand a client certificate
    signed by the same CA (GnuTLS authMode x509/certvalid), else anon."""

    def __init__(self, workdir=None, certs=None, client_auth=False):
        for p in filter(None, (workdir, certs and certs.dir)):
            if '"' in p or "\\" in p:
                raise ValueError("path %r cannot go into an rsyslog config" % p)
        self.wd = WorkDir(workdir, "rsyslog")
        self.certs = certs
        self.client_auth = client_auth
        self.out_path = self.wd.join("received.jsonl")
        self.internal_path = self.wd.join("rsyslogd-internal.log")
        self.stderr_path = self.wd.join("rsyslogd.stderr")
        self.conf_path = self.wd.join("rsyslog.conf")
        self.pid_path = self.wd.join("rsyslogd.pid")
        self.ports = {}
        self.proc = None
        self.starts = 0

    # -- life cycle ---------------------------------------------------
    @property
    def ca_file(self):
        return self.certs.ca_file if self.certs else None

    def url(self, proto):
        """udp|tcp|tls -> the url mlwatch's syslog output takes."""
        return "%s://%s:%d" % (proto, HOST, self.ports[proto])

    def _write_config(self):
        props = "\n".join('  property(outname="%s" name="%s" format="jsonf"%s)'
                          % (o, n, ' dateFormat="rfc3339"' if n in ("timestamp", "timegenerated")
                             else "") for o, n in FIELDS)
        tls_global = tls_input = ""
        if self.certs:
            tls_global = TLS_GLOBAL.format(ca=self.certs.ca_file, cert=self.certs.server_cert,
                                           key=self.certs.server_key)
            tls_input = TLS_INPUT.format(tls=self.ports["tls"], auth="x509/certvalid"
                                         if self.client_auth else "anon")
        with open(self.conf_path, "w") as f:
            f.write(CONFIG.format(dir=self.wd.path, tls_global=tls_global, props=props,
                                  out=self.out_path, internal=self.internal_path,
                                  udp=self.ports["udp"], tcp=self.ports["tcp"],
                                  tls_input=tls_input))

    def start(self):
        """Start rsyslogd and wait until every listener is bound; the
        ports stay the same for later up() calls."""
        if not os.access(RSYSLOGD, os.X_OK):
            raise RuntimeError("%s not found: install the packages rsyslog and rsyslog-gnutls "
                               "(`make deps` does)" % RSYSLOGD)
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("rsyslogd already running (pid %d)" % self.proc.pid)
        if not self.ports:
            import socket
            self.ports = {"udp": free_port(socket.SOCK_DGRAM), "tcp": free_port()}
            if self.certs:
                self.ports["tls"] = free_port()
            self._write_config()
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", self.conf_path, "-i", self.pid_path],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, cwd=self.wd.path,
                env=ENV, start_new_session=True)
        self.starts += 1
        if not wait_until(self._listening, START_TIMEOUT):
            alive = self.proc.poll() is None
            stop_process(self.proc, STOP_GRACE)
            raise RuntimeError("rsyslogd %s its listeners %s within %.0f s: %s"
                               % ("did not bind" if alive else "exited before binding",
                                  self.ports, START_TIMEOUT, self.log_tail()))
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            return True  # dead: stop waiting, start() reports it
        inodes = _socket_inodes(self.proc.pid)
        return all(_bound("udp" if p == "udp" else "tcp", port,
                          "07" if p == "udp" else "0A", inodes)
                   for p, port in self.ports.items())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM by PID, bounded wait, then SIGKILL. Received messages
        stay readable."""
        rc = stop_process(self.proc, STOP_GRACE)
        return rc

    def down(self):
        """An outage: rsyslogd stops; nothing listens on the ports."""
        self.stop()

    def up(self):
        """The end of an outage: rsyslogd again, on the same ports, appending
        to the same output file."""
        return self.start()

    def close(self):
        self.stop()
        self.wd.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        if ev is not None and hasattr(ev, "args"):
            try:
                ev.mlwatch_log = ((getattr(ev, "mlwatch_log", "") or "") +
                                  "\nrsyslogd: " + self.log_tail())
            except AttributeError:
                pass
        self.close()
        return False

    def log_tail(self, n=15):
        """rsyslogd's own messages (TLS handshake errors and the like)."""
        lines = []
        for p in (self.stderr_path, self.internal_path):
            try:
                with open(p, "rb") as f:
                    lines += f.read().decode(errors="replace").splitlines()
            except OSError:
                pass
        return "\n".join(lines[-n:])

    # -- what arrived -------------------------------------------------
    def messages(self):
        """Every message received so far, in arrival order, as dicts with
        the rsyslog fields (pri, facility, severity as int), plus: "sd"
        (mmpstrucdata's parse, {} for none), "raw" (the message as bytes),
        "rfc5424" (the strict parse of raw, or None) and "rfc5424_error"
        (why raw is not RFC 5424, or None). Invalid UTF-8 shows up as
        surrogate escapes (str.encode("utf-8", "surrogateescape") gives the
        bytes back). A partial last line is left for the next call."""
        try:
            with open(self.out_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for n, line in enumerate(data.split(b"\n")[:-1], 1):
            out.append(self._record(n, line))
        return out

    def _record(self, n, line):
        try:
            m = json.loads(line.decode("utf-8", "surrogateescape"))
        except ValueError as e:
            raise RuntimeError("rsyslog output line %d is not JSON (%s): %r" % (n, e, line[:300]))
        for k in INT_FIELDS:
            if isinstance(m.get(k), str) and m[k].isdigit():
                m[k] = int(m[k])
        sd = m.pop("sd-json", "")
        try:
            m["sd"] = json.loads(sd) if sd else {}
        except ValueError:
            m["sd"] = None
        m["raw"] = m.get("rawmsg", "").encode("utf-8", "surrogateescape")
        try:
            m["rfc5424"], m["rfc5424_error"] = rfc5424.parse(m["raw"]), None
        except rfc5424.SyslogFormatError as e:
            m["rfc5424"], m["rfc5424_error"] = None, str(e)
        return m

    def wait_for(self, pred, timeout=5.0):
        """Poll until pred(messages) holds or timeout; True if it held."""
        return bool(wait_until(lambda: pred(self.messages()), timeout))

    def wait_count(self, n, timeout=5.0):
        """Messages once there are at least n, or what came within timeout."""
        self.wait_for(lambda ms: len(ms) >= n, timeout)
        return self.messages()
