"""`mlwatch scan`, the real binary with its default limits, on work bombs
made at test time (never stored): a zip of 10000 entries on one deflated
member of 1 GiB of zeros, and a pickle that unpickles one memoized string
again and again. Each ends suspicious with a limit finding naming its
limit, in bounded time; the clean twin (a checkpoint whose tensor member is
that same 1 GiB stream) stays clean."""
import json
import struct
import subprocess
import time
import zlib

from harness import Checks, Scenario, TestFailure, mlwatch_bin

GIB = 1 << 30


def zeros_deflate():
    """1 GiB of zeros as raw deflate: one MiB deflated after a full flush
    (byte-aligned, nothing refers back), its blocks repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib = bytes(1 << 20)
    one = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(mib, crc)
    return one * 1024 + c.flush(), crc


def local(name, method, crc, data, usize):
    return struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0, crc, len(data), usize,
                       len(name), 0) + name + data


def central(name, method, crc, csize, usize, off):
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0, crc, csize,
                       usize, len(name), 0, 0, 0, 0, 0, off) + name


def end(n, cd, off):
    return cd + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cd), off, 0)


def overlap_zip(data, crc):
    body = local(b"m00000.pkl", 8, crc, data, GIB)
    cd = b"".join(central(b"m%05d.pkl" % i, 8, crc, len(data), GIB, 0) for i in range(10000))
    return body + end(10000, cd, len(body))


def twin_pt(data, crc):
    pkl = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01K\x01s."
    members = [(b"archive/data.pkl", 0, zlib.crc32(pkl), pkl, len(pkl)),
               (b"archive/version", 0, zlib.crc32(b"3\n"), b"3\n", 2),
               (b"archive/data/0", 8, crc, data, GIB)]
    body, cd = b"", b""
    for name, method, c, d, usize in members:
        cd += central(name, method, c, len(d), usize, len(body))
        body += local(name, method, c, d, usize)
    return body + end(len(members), cd, len(body))


def loads_bomb():
    """pickle.loads of one memoized 512 KiB bytes object, 87000 times."""
    nested = b"S'" + b"a" * ((512 << 10) - 5) + b"'\n."
    p = b"\x80\x04cpickle\nloads\nq\x00B" + struct.pack("<I", len(nested)) + nested
    p += b"\x85q\x01"
    p += b"h\x00h\x01R0" * (((1 << 20) - len(p) - 2) // 6)
    return p + b"N."


def scan(path, *opts, limit=600):
    t0 = time.time()
    p = subprocess.run([mlwatch_bin(), "scan", "--json"] + list(opts) + [path],
                       capture_output=True, timeout=limit)
    took = time.time() - t0
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except ValueError as e:
        raise TestFailure("scan --json of %s is not JSON (%s): %s" % (path, e, p.stderr[-300:]))
    f = doc["files"][0]
    print("    %s: %.2f s, verdict %s, exit %d" % (path.rsplit("/", 1)[-1], took, f["verdict"],
                                                 p.returncode))
    return p.returncode, f, took


def limit_finding(f, *names):
    return [x for x in f["findings"] if x["kind"] == "limit"
            and any("(%s limit)" % n in x.get("detail", "") for n in names)]


def test_scan_bombs_bounded():
    with Scenario("scan-bombs") as sc:
        c = Checks("scan bombs")
        data, crc = zeros_deflate()
        bomb = sc.write("overlap.zip", overlap_zip(data, crc))
        twin = sc.write("twin.pt", twin_pt(data, crc))
        loads = sc.write("loads.pkl", loads_bomb())

        rc, f, took = scan(bomb)
        c.eq(rc, 1, "exit code on the overlapped zip")
        c.eq(f["verdict"], "suspicious", "verdict of the overlapped zip")
        # the file's inflate budget ends it (a slow machine may reach the deadline first)
        c.true(limit_finding(f, "inflate", "time"),
               "no inflate or time limit finding: %s" % json.dumps(f["findings"])[:600])
        c.true(any("overlapping-data: 10000 entries" in x.get("detail", "")
                   for x in f["findings"]), "overlap not reported: %s" % f["findings"][:3])
        c.true(took < 120, "the overlapped zip took %.1f s" % took)

        rc, f, took = scan(loads, "--time-limit", "2")
        c.eq(f["verdict"], "suspicious", "verdict of the loads loop")
        c.true(limit_finding(f, "time"), "no time limit finding: %s" % f["findings"])
        c.true(any(x.get("global") == "pickle.loads" for x in f["findings"]),
               "the import seen before the deadline is lost: %s" % f["findings"])
        c.true(took < 20, "the loads loop took %.1f s with a 2 s limit" % took)

        rc, f, took = scan(twin)
        c.eq((rc, f["verdict"], f["findings"]), (0, "clean", []), "the clean twin")
        c.true(took < 10, "the clean twin took %.1f s" % took)
        c.done()
