// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring sensors: a request runs without its syscall, so the open and
 * connect hooks never see it. For marked processes, an OPENAT/OPENAT2
 * request becomes an open event when it completes (the file is installed:
 * its real path and identity are known), a CONNECT of a unix socket a
 * connect event and a RENAMEAT/LINKAT/SYMLINKAT a link event when they are
 * submitted (inet connects and datagram sends go
 * through the cgroup hooks in net.bpf.c whichever way they were issued).
 * Kernels without these tracepoints (before 6.0) skip this file.
 *
 * Threat model: docs/threat-model.md §4.4.
 */
#include "path.bpf.h"

#define MLW_IORING_OP_CONNECT 16
#define MLW_IORING_OP_OPENAT 18
#define MLW_IORING_OP_OPENAT2 28
#define MLW_IORING_OP_RENAMEAT 35
#define MLW_IORING_OP_SYMLINKAT 38
#define MLW_IORING_OP_LINKAT 39
#define MLW_AF_UNIX 1

SEC("tp_btf/io_uring_complete")
int BPF_PROG(handle_uring_complete, void *ctx_ring, void *vreq, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = vreq;
	struct mlw_mark_state *mark;
	struct io_open *op;
	struct mlw_open *ev;
	struct file *f;
	u8 opcode;
	s32 res;

	if (!req || !(mark = lookup_mark(current_tgid())))
		return 0;
	opcode = BPF_CORE_READ(req, opcode);
	if (opcode != MLW_IORING_OP_OPENAT && opcode != MLW_IORING_OP_OPENAT2)
		return 0;
	res = BPF_CORE_READ(cqe, res);
	/* a fixed-file slot (res 0 with file_slot set) is not in the fd table */
	op = (struct io_open *)&req->cmd;
	if (res < 0 || BPF_CORE_READ(op, file_slot) || !(f = fd_to_file(res)))
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_OPEN, mark);
	ev->hdr.flags |= MLW_F_NO_SYSCALL;
	file_identity(f, &ev->file);
	ev->ret = res;
	ev->dirfd = BPF_CORE_READ(op, dfd);
	ev->flags = (u32)BPF_CORE_READ(op, how.flags);
	ev->mode = (u32)BPF_CORE_READ(op, how.mode);
	ev->syscall = MLW_SYS_URING_OPENAT;
	ev->data[0] = 0; /* the name as asked is gone by now: the real path stands */
	ev->path_len = 1;
	ev->_pad = 0;
	ev->kpath_len = copy_kpath(f, ev->data + 1, &ev->hdr.flags);
	emit_as(ev, sizeof(*ev) + 1 + (ev->kpath_len & (MLW_PATH_MAX - 1)), MLW_EV_OPEN, mark);
	return 0;
}

/* A kernel copy of a name (struct filename, taken when the request was
 * prepared) into dst; returns its bytes with the NUL, at least 1. */
static __always_inline u32 read_filename(char *dst, struct filename *fn)
{
	long n = fn ? bpf_probe_read_kernel_str(dst, MLW_PATH_MAX, BPF_CORE_READ(fn, name)) : 0;

	if (n <= 0) {
		dst[0] = 0;
		return 1;
	}
	return (u32)n;
}

/* RENAMEAT, LINKAT, SYMLINKAT: the same record as the syscalls' (sent when
 * submitted, before the request runs: ret is 0, its result unknown here). */
static __always_inline int uring_link(struct io_kiocb *req, u8 opcode, struct mlw_mark_state *mark)
{
	struct io_link *l = (struct io_link *)&req->cmd; /* io_rename has its layout */
	struct mlw_link *ev = scratch_buf();
	u32 n, m;

	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_LINK, mark);
	ev->hdr.flags |= MLW_F_NO_SYSCALL;
	ev->ret = 0;
	ev->olddirfd = BPF_CORE_READ(l, old_dfd);
	ev->newdirfd = BPF_CORE_READ(l, new_dfd);
	ev->syscall = opcode == MLW_IORING_OP_RENAMEAT ? MLW_LINK_RENAME :
		      opcode == MLW_IORING_OP_LINKAT   ? MLW_LINK_LINK :
							 MLW_LINK_SYMLINK;
	ev->flags = BPF_CORE_READ(l, flags);
	ev->_pad = 0;
	n = read_filename(ev->data, BPF_CORE_READ(l, oldpath));
	m = read_filename(ev->data + (n & (MLW_PATH_MAX - 1)), BPF_CORE_READ(l, newpath));
	link_emit(ev, n, m);
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(handle_uring_submit, struct io_kiocb *req)
{
	struct mlw_mark_state *mark;
	struct io_connect *c;
	struct mlw_connect *ev;
	struct {
		u16 family;
		char path[MLW_UNIX_PATH_MAX];
	} sa = {};
	u64 uaddr;
	u32 len;
	u8 opcode;

	if (!(mark = lookup_mark(current_tgid())))
		return 0;
	opcode = BPF_CORE_READ(req, opcode);
	if (opcode == MLW_IORING_OP_RENAMEAT || opcode == MLW_IORING_OP_LINKAT ||
	    opcode == MLW_IORING_OP_SYMLINKAT)
		return uring_link(req, opcode, mark);
	if (opcode != MLW_IORING_OP_CONNECT)
		return 0;
	c = (struct io_connect *)&req->cmd;
	uaddr = (u64)BPF_CORE_READ(c, addr);
	len = BPF_CORE_READ(c, addr_len);
	if (len > sizeof(sa))
		len = sizeof(sa);
	asm volatile("" : "+r"(len));
	if (len < sizeof(u16) || bpf_probe_read_user(&sa, len & 127, (void *)uaddr) ||
	    sa.family != MLW_AF_UNIX)
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_CONNECT, mark);
	ev->hdr.flags |= MLW_F_NO_SYSCALL | MLW_F_ADDR_USER;
	ev->ret = 0;
	ev->fd = BPF_CORE_READ(req, cqe.fd);
	ev->sock_type = 0;
	ev->addrlen = len;
	__builtin_memset(&ev->addr, 0, sizeof(ev->addr));
	ev->addr.family = MLW_AF_UNIX;
	__builtin_memcpy(ev->addr.unix_path, sa.path, sizeof(sa.path));
	if (len > sizeof(u16) && ev->addr.unix_path[0] == 0)
		ev->addr.unix_path[0] = '@';
	ev->addr.unix_path[MLW_UNIX_PATH_MAX - 1] = 0;
	emit(ev, sizeof(*ev), MLW_EV_CONNECT);
	return 0;
}
