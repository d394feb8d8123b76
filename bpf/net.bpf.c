// SPDX-License-Identifier: GPL-2.0
/*
 * Network sensors: connect(), and dup2/dup3 of a socket onto fd 0-2 (the
 * reverse-shell handoff). Only marked processes are looked at past the
 * mark lookup.
 */
#include "common.bpf.h"

#define MLW_SYS_CONNECT 200
#define MLW_AF_UNIX  1
#define MLW_AF_INET  2
#define MLW_AF_INET6 10

/* sockaddr_in / sockaddr_in6 / sockaddr_un, as the user passed them. */
union mlw_user_sockaddr {
	u16 family;
	struct {
		u16 family;
		u16 port;      /* network byte order */
		u32 addr;
	} in;
	struct {
		u16 family;
		u16 port;
		u32 flowinfo;
		u8 addr[16];
		u32 scope_id;
	} in6;
	struct {
		u16 family;
		char path[MLW_UNIX_PATH_MAX];
	} un;
	u8 room[128]; /* a masked length (<= 127) always fits */
};

static __always_inline void sockaddr_from_user(struct mlw_sockaddr *out, u64 uptr,
					       u32 addrlen)
{
	union mlw_user_sockaddr sa = {};
	u32 len = addrlen;

	__builtin_memset(out, 0, sizeof(*out));
	if (len > sizeof(sa.un))
		len = sizeof(sa.un);
	/* keep clang from reading a copy of len taken before the clamp */
	asm volatile("" : "+r"(len));
	if (!uptr || len < sizeof(u16) || bpf_probe_read_user(&sa, len & 127, (void *)uptr))
		return;
	out->family = sa.family;
	if (sa.family == MLW_AF_INET) {
		out->port = bpf_ntohs(sa.in.port);
		__builtin_memcpy(out->addr, &sa.in.addr, 4);
	} else if (sa.family == MLW_AF_INET6) {
		out->port = bpf_ntohs(sa.in6.port);
		out->scope_id = sa.in6.scope_id;
		__builtin_memcpy(out->addr, sa.in6.addr, 16);
	} else if (sa.family == MLW_AF_UNIX) {
		/* abstract names start with a NUL: show them with '@' */
		__builtin_memcpy(out->unix_path, sa.un.path, sizeof(out->unix_path));
		if (len > sizeof(u16) && out->unix_path[0] == 0)
			out->unix_path[0] = '@';
		out->unix_path[MLW_UNIX_PATH_MAX - 1] = 0;
	}
}

/* The remote end of a connected socket, from the kernel's sock. */
static __always_inline void sockaddr_from_sock(struct mlw_sockaddr *out,
					       struct socket *sock)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);

	__builtin_memset(out, 0, sizeof(*out));
	if (!sk)
		return;
	out->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	out->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (out->family == MLW_AF_INET) {
		u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(out->addr, &daddr, 4);
	} else if (out->family == MLW_AF_INET6) {
		BPF_CORE_READ_INTO(&out->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

static __always_inline bool is_v4_mapped(const u8 *x)
{
	for (int i = 0; i < 10; i++)
		if (x[i])
			return false;
	return x[10] == 0xff && x[11] == 0xff;
}

static __always_inline bool is_metadata(const struct mlw_sockaddr *a)
{
	/* 169.254.169.254, 169.254.170.2 (ECS), fd00:ec2::254 */
	const u8 *x = a->addr;

	if (a->family == MLW_AF_INET)
		return x[0] == 169 && x[1] == 254 &&
		       ((x[2] == 169 && x[3] == 254) || (x[2] == 170 && x[3] == 2));
	if (a->family != MLW_AF_INET6 || x[0] != 0xfd || x[1] != 0 || x[2] != 0x0e ||
	    x[3] != 0xc2 || x[14] != 0x02 || x[15] != 0x54)
		return false;
	for (int i = 4; i < 14; i++)
		if (x[i])
			return false;
	return true;
}

/* --enforce: SIGKILL before connect() returns, so the caller never sends a
 * byte. The kernel still sends the SYN: a tracepoint cannot veto the
 * syscall itself. */
static __always_inline bool enforce_connect(u64 uptr, u32 addrlen, u32 reason)
{
	struct mlw_net_key k = {};
	struct mlw_sockaddr a;
	u32 mask;

	if (!((mlw_kill_connect_external | mlw_kill_connect_metadata) & reason))
		return false;
	sockaddr_from_user(&a, uptr, addrlen);
	if (a.family != MLW_AF_INET && a.family != MLW_AF_INET6)
		return false;
	if (a.family == MLW_AF_INET6 && is_v4_mapped(a.addr)) {
		/* ::ffff:a.b.c.d is the IPv4 address, as user space classes it */
		a.family = MLW_AF_INET;
		__builtin_memcpy(a.addr, &a.addr[12], 4);
	}
	if (is_metadata(&a)) {
		mask = mlw_kill_connect_metadata;
	} else {
		k.data[0] = a.family == MLW_AF_INET ? 4 : 6;
		__builtin_memcpy(&k.data[1], a.addr, 16);
		k.prefixlen = 8 + (a.family == MLW_AF_INET ? 32 : 128);
		if (bpf_map_lookup_elem(&internal_nets, &k))
			return false;
		mask = mlw_kill_connect_external;
	}
	if (!(mask & reason))
		return false;
	bpf_send_signal(9 /* SIGKILL */);
	return true;
}

SEC("tp/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct mlw_pending p = {};
	struct mlw_mark *mark = lookup_mark(id >> 32);

	if (!mark)
		return 0;
	p.fd = (s32)ctx->args[0];
	p.ptr = ctx->args[1];
	p.addrlen = (u32)ctx->args[2];
	p.syscall = MLW_SYS_CONNECT;
	if (mlw_enforce)
		p.killed = enforce_connect(p.ptr, p.addrlen, mark->reason);
	stash_pending(tid, &p);
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct mlw_pending *pp = lookup_pending(tid);
	struct mlw_pending p;
	struct mlw_connect *ev;
	struct socket *sock;

	if (!pp)
		return 0;
	p = *pp;
	drop_pending(tid);
	if (p.syscall != MLW_SYS_CONNECT)
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_CONNECT, lookup_mark(id >> 32));
	if (p.killed)
		ev->hdr.flags |= MLW_F_KILLED;
	ev->ret = (s32)ctx->ret;
	ev->fd = p.fd;
	ev->addrlen = p.addrlen;
	sock = file_socket(fd_to_file(p.fd));
	ev->sock_type = sock ? BPF_CORE_READ(sock, type) : 0;
	sockaddr_from_user(&ev->addr, p.ptr, p.addrlen);
	emit(ev, sizeof(*ev), MLW_EV_CONNECT);
	return 0;
}

static __always_inline int dup_enter(s32 oldfd, s32 newfd, u32 sys)
{
	struct mlw_mark *mark;
	struct socket *sock;
	struct mlw_dup *ev;

	if (newfd < 0 || newfd > 2)
		return 0;
	mark = lookup_mark(current_tgid());
	if (!mark)
		return 0;
	sock = file_socket(fd_to_file(oldfd));
	if (!sock)
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_DUP, mark);
	ev->oldfd = oldfd;
	ev->newfd = newfd;
	ev->syscall = sys;
	ev->sock_type = BPF_CORE_READ(sock, type);
	sockaddr_from_sock(&ev->peer, sock);
	emit(ev, sizeof(*ev), MLW_EV_DUP);
	return 0;
}

/* dup2 exists on x86_64 only; arm64 libc uses dup3. */
SEC("tp/syscalls/sys_enter_dup2")
int handle_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	return dup_enter((s32)ctx->args[0], (s32)ctx->args[1], 2);
}

SEC("tp/syscalls/sys_enter_dup3")
int handle_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return dup_enter((s32)ctx->args[0], (s32)ctx->args[1], 3);
}
