// SPDX-License-Identifier: GPL-2.0
/*
 * Network sensors, for marked processes:
 *  - connects and datagram sends, with the address the kernel itself
 *    checks (the cgroup sock_addr hooks see the kernel's copy, whatever
 *    path it took: connect(), sendto/sendmsg/sendmmsg, io_uring,
 *    sendto(MSG_FASTOPEN)), or the connected socket's peer; a buffer
 *    another thread rewrites during the call changes nothing;
 *  - a socket becoming fd 0, 1 or 2 (dup2/dup3, dup, fcntl(F_DUPFD) after
 *    a close, or socket/accept returning it: the reverse-shell handoff);
 *  - raw and packet sockets.
 * Unmarked processes stop at one bit test.
 *
 * Threat model: docs/threat-model.md §4.8 (sockets onto stdio), §4.9 (traffic without connect).
 */
#include "common.bpf.h"

#define MLW_SYS_CONNECT 200
#define MLW_AF_UNIX 1
#define MLW_AF_INET 2
#define MLW_AF_INET6 10
#define MLW_AF_PACKET 17
#define MLW_SOCK_RAW 3
#define MLW_SOCK_TYPE_MASK 0xf
#define MLW_F_DUPFD 0
#define MLW_F_DUPFD_CLOEXEC 1030

/* sockaddr_in / sockaddr_in6 / sockaddr_un, as the user passed them. */
union mlw_user_sockaddr {
	u16 family;
	struct {
		u16 family;
		u16 port; /* network byte order */
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

static __always_inline void sockaddr_from_user(struct mlw_sockaddr *out, u64 uptr, u32 addrlen)
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

/* The address a cgroup sock_addr hook was given: the kernel's own copy.
 * v6: a constant per program (the verifier allows user_ip4 in the *4
 * hooks only, user_ip6 in the *6 ones). */
static __always_inline void sockaddr_from_ctx(struct mlw_sockaddr *out,
					      const struct bpf_sock_addr *ctx, bool v6)
{
	__builtin_memset(out, 0, sizeof(*out));
	out->family = v6 ? MLW_AF_INET6 : MLW_AF_INET;
	out->port = bpf_ntohs(ctx->user_port);
	if (!v6) {
		u32 a = ctx->user_ip4;

		__builtin_memcpy(out->addr, &a, 4);
	} else {
		u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
			     ctx->user_ip6[3] };

		__builtin_memcpy(out->addr, a, 16);
	}
}

/* The bound name of a unix socket (the listener's path for a peer). */
static __always_inline void unix_name(struct mlw_sockaddr *out, struct sock *sk)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	int len;

	if (!ua)
		return;
	len = BPF_CORE_READ(ua, len) - (int)sizeof(u16);
	if (len <= 0)
		return;
	if (len > MLW_UNIX_PATH_MAX - 1)
		len = MLW_UNIX_PATH_MAX - 1;
	/* keep clang from reading a copy of len taken before the clamp */
	asm volatile("" : "+r"(len));
	bpf_probe_read_kernel(out->unix_path, len & 127,
			      (void *)ua + bpf_core_field_offset(struct unix_address, name) +
				      sizeof(u16));
	if (out->unix_path[0] == 0)
		out->unix_path[0] = '@';
	out->unix_path[MLW_UNIX_PATH_MAX - 1] = 0;
}

/* The remote end of a connected socket, from the kernel's sock. */
static __always_inline void sockaddr_from_sock(struct mlw_sockaddr *out, struct socket *sock)
{
	struct sock *sk = BPF_CORE_READ(sock, sk);

	__builtin_memset(out, 0, sizeof(*out));
	if (!sk)
		return;
	out->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (out->family == MLW_AF_UNIX) {
		struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);

		if (peer)
			unix_name(out, peer);
		return;
	}
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
	/* 169.254.169.254, 169.254.170.2 (ECS), fd00:ec2::254; not port 53:
	 * GCP's metadata server is the VPC's DNS resolver too */
	const u8 *x = a->addr;

	if (a->port == 53)
		return false;
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

/* --enforce: refuse a connect or send to an external or metadata address.
 * Decided on the kernel's copy of the address, before the first packet. */
static __always_inline bool enforce_net(const struct mlw_sockaddr *in,
					const struct mlw_mark_state *mark)
{
	struct mlw_net_key k = {};
	struct mlw_sockaddr a = *in;
	u32 reason = mark->m.reason, mask;
	bool load = false;

	if ((mlw_kill_connect_external_load | mlw_kill_connect_metadata_load) & reason)
		load = in_load(mark, (u32)bpf_get_current_pid_tgid());
	if (!((mlw_kill_connect_external | mlw_kill_connect_metadata) & reason) && !load)
		return false;
	if (a.family != MLW_AF_INET && a.family != MLW_AF_INET6)
		return false;
	if (a.family == MLW_AF_INET6 && is_v4_mapped(a.addr)) {
		/* ::ffff:a.b.c.d is the IPv4 address, as user space classes it */
		a.family = MLW_AF_INET;
		__builtin_memcpy(a.addr, &a.addr[12], 4);
	}
	if (is_metadata(&a)) {
		mask = mlw_kill_connect_metadata | (load ? mlw_kill_connect_metadata_load : 0);
	} else {
		k.data[0] = a.family == MLW_AF_INET ? 4 : 6;
		__builtin_memcpy(&k.data[1], a.addr, 16);
		k.prefixlen = 8 + (a.family == MLW_AF_INET ? 32 : 128);
		if (bpf_map_lookup_elem(&internal_nets, &k))
			return false;
		mask = mlw_kill_connect_external | (load ? mlw_kill_connect_external_load : 0);
	}
	return mask & reason;
}

/* A unix path has no address bytes: the repeat filter keys it by a hash of
 * the whole path, so two sockets sharing a prefix are two destinations. */
static __always_inline void unix_key(struct mlw_sockaddr *k, const struct mlw_sockaddr *a)
{
	u64 h = 0xcbf29ce484222325ull;

	for (int i = 0; i < MLW_UNIX_PATH_MAX; i++) {
		if (!a->unix_path[i])
			break;
		h = (h ^ (u8)a->unix_path[i]) * 0x100000001b3ull;
	}
	__builtin_memcpy(k->addr, &h, sizeof(h));
}

/* Reports a connect or send, once per destination, load and context. */
static __always_inline void emit_net(const struct mlw_mark_state *mark, u32 kind,
				     const struct mlw_sockaddr *a, s32 fd, s32 type, s32 ret,
				     u32 addrlen, u32 flags)
{
	struct mlw_connect *ev;
	bool load = in_load(mark, (u32)bpf_get_current_pid_tgid());

	if (a->family == MLW_AF_UNIX) {
		struct mlw_sockaddr k = { .family = MLW_AF_UNIX };

		unix_key(&k, a);
		if (!net_first(mark, kind, load, &k))
			return;
	} else if (!net_first(mark, kind, load, a)) {
		return;
	}
	ev = scratch_buf();
	if (!ev)
		return;
	fill_hdr(&ev->hdr, kind, mark);
	ev->hdr.flags |= flags | (load ? MLW_F_IN_LOAD : 0);
	ev->ret = ret;
	ev->fd = fd;
	ev->sock_type = type;
	ev->addrlen = addrlen;
	ev->addr = *a;
	emit(ev, sizeof(*ev), kind);
}

/*
 * The cgroup hooks (attached to the cgroup v2 root: every process). A
 * connect() in progress leaves the kernel's copy in the thread's stash for
 * its exit, which reports it with the result; anything else (io_uring,
 * sendto with MSG_FASTOPEN, datagram sends) is reported here. Returns 0 to
 * refuse (EPERM), 1 to let it through.
 */
static __always_inline int sock_addr_hook(struct bpf_sock_addr *ctx, u32 kind, bool v6)
{
	u64 id = bpf_get_current_pid_tgid();
	struct mlw_mark_state *mark = lookup_mark(id >> 32);
	struct mlw_pending *p;
	struct mlw_sockaddr a;
	bool deny = false;

	if (!mark)
		return 1;
	sockaddr_from_ctx(&a, ctx, v6);
	if (mlw_enforce)
		deny = enforce_net(&a, mark);
	if (kind == MLW_EV_CONNECT && (p = lookup_pending((u32)id)) &&
	    p->syscall == MLW_SYS_CONNECT) {
		p->addr = a;
		p->have_addr = 1;
		p->denied |= deny;
		return deny ? 0 : 1;
	}
	emit_net(mark, kind, &a, -1, ctx->type, 0, 0,
		 (kind == MLW_EV_CONNECT ? MLW_F_NO_SYSCALL : 0) | (deny ? MLW_F_DENIED : 0));
	return deny ? 0 : 1;
}

SEC("cgroup/connect4")
int handle_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr_hook(ctx, MLW_EV_CONNECT, false);
}

SEC("cgroup/connect6")
int handle_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr_hook(ctx, MLW_EV_CONNECT, true);
}

SEC("cgroup/sendmsg4")
int handle_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr_hook(ctx, MLW_EV_SEND, false);
}

SEC("cgroup/sendmsg6")
int handle_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr_hook(ctx, MLW_EV_SEND, true);
}

SEC("tp/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct mlw_pending p = {};

	if (!lookup_mark(id >> 32))
		return 0;
	p.fd = (s32)ctx->args[0];
	p.ptr = ctx->args[1];
	p.addrlen = (u32)ctx->args[2];
	p.syscall = MLW_SYS_CONNECT;
	stash_pending((u32)id, &p);
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct mlw_pending *pp = lookup_pending((u32)id);
	struct mlw_mark_state *mark;
	struct mlw_sockaddr a;
	struct socket *sock;
	u32 flags = 0;
	s32 type;

	if (!pp)
		return 0;
	drop_pending((u32)id);
	if (pp->syscall != MLW_SYS_CONNECT || !(mark = lookup_mark(id >> 32)))
		return 0;
	if (pp->denied) {
		/* refused in the cgroup hook; --enforce also ends the process */
		bpf_send_signal(9 /* SIGKILL */);
		flags |= MLW_F_DENIED | MLW_F_KILLED;
	}
	sock = file_socket(fd_to_file(pp->fd));
	type = sock ? BPF_CORE_READ(sock, type) : 0;
	if (pp->have_addr) {
		a = pp->addr;
	} else if (sock && ctx->ret == 0 &&
		   BPF_CORE_READ(sock, sk, __sk_common.skc_family) == MLW_AF_UNIX) {
		sockaddr_from_sock(&a, sock);
	} else {
		/* failed before the kernel took the address, or not inet */
		sockaddr_from_user(&a, pp->ptr, pp->addrlen);
		flags |= MLW_F_ADDR_USER;
	}
	emit_net(mark, MLW_EV_CONNECT, &a, pp->fd, type, (s32)ctx->ret, pp->addrlen, flags);
	return 0;
}

/*
 * A socket on fd 0, 1 or 2, checked on the result: dup2/dup3 onto it, but
 * also dup() or fcntl(F_DUPFD) after a close(0), and socket() or accept()
 * handing out a freed low fd.
 */
static __always_inline int stdio_exit(long ret, u32 sys)
{
	struct mlw_mark_state *mark;
	struct pt_regs *regs;
	struct socket *sock;
	struct mlw_dup *ev;
	s32 oldfd = -1;

	if (ret < 0 || ret > 2)
		return 0;
	mark = lookup_mark(current_tgid());
	if (!mark)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (sys == MLW_DUP_FCNTL) {
		u32 cmd = PT_REGS_PARM2_SYSCALL(regs);

		if (cmd != MLW_F_DUPFD && cmd != MLW_F_DUPFD_CLOEXEC)
			return 0;
	}
	if (sys <= MLW_DUP_FCNTL)
		oldfd = PT_REGS_PARM1_SYSCALL(regs);
	sock = file_socket(fd_to_file((s32)ret));
	if (!sock)
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_DUP, mark);
	ev->oldfd = oldfd;
	ev->newfd = (s32)ret;
	ev->syscall = sys;
	ev->sock_type = BPF_CORE_READ(sock, type);
	sockaddr_from_sock(&ev->peer, sock);
	emit(ev, sizeof(*ev), MLW_EV_DUP);
	return 0;
}

#define STDIO_EXIT(name, sys)                                        \
	SEC("tp/syscalls/sys_exit_" #name)                           \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx) \
	{                                                            \
		return stdio_exit(ctx->ret, sys);                    \
	}

/* dup2 exists on x86_64 only; arm64 libc uses dup3. */
STDIO_EXIT(dup, MLW_DUP_DUP)
STDIO_EXIT(dup2, MLW_DUP_DUP2)
STDIO_EXIT(dup3, MLW_DUP_DUP3)
STDIO_EXIT(fcntl, MLW_DUP_FCNTL)
STDIO_EXIT(accept, MLW_DUP_ACCEPT)
STDIO_EXIT(accept4, MLW_DUP_ACCEPT4)
STDIO_EXIT(pidfd_getfd, MLW_DUP_PIDFD_GETFD)

/* socket(): the stdio check, and raw or packet sockets (attempts too: an
 * unprivileged one fails, and the attempt is the signal). */
SEC("tp/syscalls/sys_exit_socket")
int handle_exit_socket(struct trace_event_raw_sys_exit *ctx)
{
	struct mlw_mark_state *mark;
	struct pt_regs *regs;
	struct mlw_socket *ev;
	s32 family, type;

	mark = lookup_mark(current_tgid());
	if (!mark)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	family = PT_REGS_PARM1_SYSCALL(regs);
	type = PT_REGS_PARM2_SYSCALL(regs);
	if (family == MLW_AF_PACKET || (type & MLW_SOCK_TYPE_MASK) == MLW_SOCK_RAW) {
		ev = scratch_buf();
		if (ev) {
			fill_hdr(&ev->hdr, MLW_EV_SOCKET, mark);
			ev->ret = (s32)ctx->ret;
			ev->family = family;
			ev->type = type;
			ev->protocol = PT_REGS_PARM3_SYSCALL(regs);
			emit(ev, sizeof(*ev), MLW_EV_SOCKET);
		}
	}
	return stdio_exit(ctx->ret, MLW_DUP_SOCKET);
}
