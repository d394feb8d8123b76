"""A minimal io_uring client over ctypes, for payloads that do their I/O
without the open/connect syscalls (the way a payload dodges a syscall
monitor). Standard library only; x86_64 and arm64 share the syscall
numbers 425 (io_uring_setup) and 426 (io_uring_enter).

    r = Ring(); fd = r.openat(path); data = r.read(fd)
    r.connect(sock, "127.0.0.1", port); r.send(sock, data); r.rename(a, b)
"""
import ctypes
import mmap
import os
import socket
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
NR_SETUP, NR_ENTER = 425, 426
OP_CONNECT, OP_OPENAT, OP_READ, OP_SEND, OP_RENAMEAT = 16, 18, 22, 26, 35
OFF_SQES = 0x10000000
ENTER_GETEVENTS = 1


class Ring:
    def __init__(self, entries=8):
        params = ctypes.create_string_buffer(120)
        fd = _libc.syscall(NR_SETUP, entries, params)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "io_uring_setup")
        self.fd = fd
        p = params.raw
        sq_entries, cq_entries = struct.unpack_from("II", p, 0)
        (self.sq_head, self.sq_tail, self.sq_mask, _, _, _,
         self.sq_array, _) = struct.unpack_from("8I", p, 40)
        self.cq_head, self.cq_tail, self.cq_mask, _, _, self.cqes, _, _ = struct.unpack_from("8I", p, 80)
        size = max(self.sq_array + sq_entries * 4, self.cqes + cq_entries * 16)
        self.ring = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self.sqes = mmap.mmap(fd, sq_entries * 64, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE, offset=OFF_SQES)
        self._keep = []

    def _u32(self, off):
        return struct.unpack_from("I", self.ring, off)[0]

    def _buf(self, data):
        b = ctypes.create_string_buffer(data, len(data))
        self._keep.append(b)
        return ctypes.addressof(b)

    def submit(self, op, fd=0, addr=0, length=0, off=0, op_flags=0):
        """One request, waited for; returns its result (or -errno)."""
        tail = self._u32(self.sq_tail)
        idx = tail & self._u32(self.sq_mask)
        sqe = struct.pack("BBHiQQIIQHHiQQ", op, 0, 0, fd, off, addr, length, op_flags,
                          0x6d6c77, 0, 0, 0, 0, 0)
        self.sqes[idx * 64:idx * 64 + 64] = sqe
        struct.pack_into("I", self.ring, self.sq_array + idx * 4, idx)
        struct.pack_into("I", self.ring, self.sq_tail, tail + 1)
        if _libc.syscall(NR_ENTER, self.fd, 1, 1, ENTER_GETEVENTS, None, 0) < 0:
            raise OSError(ctypes.get_errno(), "io_uring_enter")
        head = self._u32(self.cq_head)
        _, res, _ = struct.unpack_from("QiI", self.ring, self.cqes + (head & self._u32(self.cq_mask)) * 16)
        struct.pack_into("I", self.ring, self.cq_head, head + 1)
        return res

    def openat(self, path, flags=os.O_RDONLY):
        return self.submit(OP_OPENAT, fd=-100, addr=self._buf(path.encode() + b"\0"), op_flags=flags)

    def rename(self, old, new):
        """renameat(AT_FDCWD, old, AT_FDCWD, new): the new name's address
        goes where a read's offset would."""
        return self.submit(OP_RENAMEAT, fd=-100, addr=self._buf(old.encode() + b"\0"),
                           length=(-100) & 0xffffffff, off=self._buf(new.encode() + b"\0"))

    def read(self, fd, n=4096):
        b = ctypes.create_string_buffer(n)
        self._keep.append(b)
        r = self.submit(OP_READ, fd=fd, addr=ctypes.addressof(b), length=n, off=0)
        return b.raw[:max(r, 0)]

    def connect(self, sock, host, port):
        sa = struct.pack("=H", socket.AF_INET) + struct.pack("!H4s8x", port, socket.inet_aton(host))
        return self.submit(OP_CONNECT, fd=sock.fileno(), addr=self._buf(sa), off=len(sa))

    def send(self, sock, data):
        return self.submit(OP_SEND, fd=sock.fileno(), addr=self._buf(data), length=len(data))

    def close(self):
        self.sqes.close()
        self.ring.close()
        os.close(self.fd)
