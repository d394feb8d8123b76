"""A strict RFC 5424 parser and RFC 6587 octet-counting framing, to check
what mlwatch puts on the wire. rsyslog is lenient (a message it cannot parse
as RFC 5424 still comes out, with its fields guessed), so the receivers run
every raw message through parse() too and report what is wrong with it."""
import calendar
import re

NIL = b"-"
BOM = b"\xef\xbb\xbf"
# SD-IDs without an "@" must be IANA-registered (RFC 5424 section 7).
REGISTERED_SD_IDS = (b"timeQuality", b"origin", b"meta")
HEADER_LIMITS = ((b"hostname", 255), (b"app-name", 48), (b"procid", 128), (b"msgid", 32))
TIMESTAMP_RE = re.compile(rb"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,6})?"
                          rb"(Z|[+-](\d\d):(\d\d))$")
ENTERPRISE_RE = re.compile(rb"^[^@]+@\d+(\.\d+)*$")
MAX_FRAME = 1 << 24  # bytes: a length beyond this is a framing error here


class SyslogFormatError(ValueError):
    pass


def _printusascii(b):
    return len(b) > 0 and all(33 <= c <= 126 for c in b)


def _check_timestamp(ts):
    if ts == NIL:
        return
    m = TIMESTAMP_RE.match(ts)
    if not m:
        raise SyslogFormatError("TIMESTAMP %r is not FULL-DATE T FULL-TIME with at most "
                                "6 fraction digits and Z or +hh:mm" % ts)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]):
        raise SyslogFormatError("TIMESTAMP %r: no such date" % ts)
    if h > 23 or mi > 59 or s > 59:
        raise SyslogFormatError("TIMESTAMP %r: no such time (leap seconds are not allowed)" % ts)
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        raise SyslogFormatError("TIMESTAMP %r: bad offset" % ts)


def _sd_name(buf, i, what, stops):
    j = i
    while j < len(buf) and buf[j] not in stops:
        j += 1
    name = buf[i:j]
    if not (1 <= len(name) <= 32) or not _printusascii(name) or any(c in name for c in b'= ]"'):
        raise SyslogFormatError("%s %r is not 1-32 printable ASCII without '=', ' ', ']', '\"'"
                                % (what, name))
    return name, j


def _sd_value(buf, i):
    """buf[i] is just after the opening quote. Returns (value bytes, index
    after the closing quote). '\\' escapes only '"', '\\' and ']'; before
    anything else it is a literal backslash."""
    out = bytearray()
    while i < len(buf):
        c = buf[i]
        if c == 0x5C and i + 1 < len(buf) and buf[i + 1] in b'"\\]':
            out.append(buf[i + 1])
            i += 2
        elif c == 0x22:
            return bytes(out), i + 1
        elif c == 0x5D:
            raise SyslogFormatError("PARAM-VALUE has an unescaped ']' at byte %d" % i)
        else:
            out.append(c)
            i += 1
    raise SyslogFormatError("PARAM-VALUE is not closed by '\"'")


def parse_sd(buf, start=0):
    """Parse STRUCTURED-DATA at buf[start:]. Returns (elements, end) where
    elements is [(sd_id, [(name, value), ...]), ...] as str (values as
    UTF-8, which RFC 5424 requires) and end indexes the byte after it."""
    if isinstance(buf, str):
        buf = buf.encode("utf-8", "surrogateescape")
    if buf[start:start + 1] == NIL:
        return [], start + 1
    if buf[start:start + 1] != b"[":
        raise SyslogFormatError("STRUCTURED-DATA is neither '-' nor '[...]'")
    elements, seen, i = [], set(), start
    while buf[i:i + 1] == b"[":
        sd_id, i = _sd_name(buf, i + 1, "SD-ID", b" ]")
        if b"@" in sd_id:
            if not ENTERPRISE_RE.match(sd_id):
                raise SyslogFormatError("SD-ID %r is not name@<enterprise number>" % sd_id)
        elif sd_id not in REGISTERED_SD_IDS:
            raise SyslogFormatError("SD-ID %r has no '@' and is not IANA-registered" % sd_id)
        if sd_id in seen:
            raise SyslogFormatError("SD-ID %r appears twice" % sd_id)
        seen.add(sd_id)
        params = []
        while buf[i:i + 1] == b" ":
            name, i = _sd_name(buf, i + 1, "PARAM-NAME", b"= ]")
            if buf[i:i + 2] != b'="':
                raise SyslogFormatError("PARAM-NAME %r is not followed by '=\"'" % name)
            value, i = _sd_value(buf, i + 2)
            try:
                params.append((name.decode(), value.decode("utf-8")))
            except UnicodeDecodeError:
                raise SyslogFormatError("PARAM-VALUE of %r is not UTF-8: %r" % (name, value))
        if buf[i:i + 1] != b"]":
            raise SyslogFormatError("SD-ELEMENT %r is not closed by ']' (byte %d)" % (sd_id, i))
        elements.append((sd_id.decode(), params))
        i += 1
    return elements, i


def parse(raw):
    """Parse one RFC 5424 message (bytes) strictly; raise SyslogFormatError
    naming the first problem. Header fields come back as str, "-" for NIL,
    as rsyslog reports them; "msg" is str (undecodable bytes as surrogate
    escapes), "msg_bytes" the bytes, "bom" whether MSG began with a BOM."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    m = re.match(rb"^<(0|[1-9]\d{0,2})>", raw)
    if not m or int(m.group(1)) > 191:
        raise SyslogFormatError("PRI is not <0..191> without leading zeros: %r" % raw[:6])
    pri = int(m.group(1))
    i = m.end()
    if raw[i:i + 2] != b"1 ":
        raise SyslogFormatError("VERSION is not '1' followed by a space: %r" % raw[i:i + 4])
    i += 2
    fields = []
    for name, limit in ((b"timestamp", 64),) + HEADER_LIMITS:
        j = raw.find(b" ", i)
        if j < 0:
            raise SyslogFormatError("header ends before %s" % name.decode())
        v = raw[i:j]
        if name == b"timestamp":
            _check_timestamp(v)
        elif not (v == NIL or (_printusascii(v) and len(v) <= limit)):
            raise SyslogFormatError("%s %r is not '-' or 1-%d printable ASCII"
                                    % (name.decode(), v, limit))
        fields.append(v.decode())
        i = j + 1
    sd, end = parse_sd(raw, i)
    rest = raw[end:]
    if rest and rest[:1] != b" ":
        raise SyslogFormatError("STRUCTURED-DATA is followed by %r, not a space" % rest[:8])
    msg = rest[1:]
    bom = msg.startswith(BOM)
    if bom:
        try:
            msg[3:].decode("utf-8")
        except UnicodeDecodeError as e:
            raise SyslogFormatError("MSG starts with a BOM but is not UTF-8: %s" % e)
    return {"pri": pri, "facility": pri >> 3, "severity": pri & 7, "version": 1,
            "timestamp": fields[0], "hostname": fields[1], "app-name": fields[2],
            "procid": fields[3], "msgid": fields[4],
            "structured-data": raw[i:end].decode("utf-8", "surrogateescape"),
            "sd": sd, "msg": msg.decode("utf-8", "surrogateescape"), "msg_bytes": msg,
            "bom": bom}


def octet_frame(msg):
    """RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG."""
    return b"%d %s" % (len(msg), msg)


def split_octet_counted(data):
    """Split a TCP stream into octet-counted frames. Returns (frames, rest):
    rest is an incomplete last frame. Raises SyslogFormatError on anything
    that is not MSG-LEN SP (MSG-LEN without leading zeros), such as a
    newline-delimited message."""
    frames, i = [], 0
    while i < len(data):
        m = re.match(rb"[1-9]\d{0,8} ", data[i:i + 10])
        if not m:
            if re.fullmatch(rb"[1-9]\d{0,8}", data[i:i + 10]):
                break  # length not complete yet
            raise SyslogFormatError("byte %d: %r is not MSG-LEN SP (octet counting)"
                                    % (i, data[i:i + 16]))
        n = int(m.group()[:-1])
        if n > MAX_FRAME:
            raise SyslogFormatError("byte %d: MSG-LEN %d is beyond %d" % (i, n, MAX_FRAME))
        start = i + m.end()
        if start + n > len(data):
            break
        frames.append(data[start:start + n])
        i = start + n
    return frames, data[i:]
