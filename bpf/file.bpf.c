// SPDX-License-Identifier: GPL-2.0
/*
 * File sensors: open, openat, openat2, creat.
 * Every open is checked against the model patterns (that is how a loader
 * gets marked); only candidates and marked processes reach the exit hook's
 * send, so an unmarked process pays a path read and two map lookups.
 */
#include "model_match.bpf.h"

#define MLW_O_ACCMODE 03
#define MLW_O_RDONLY 0
#define MLW_O_WRONLY 01
#define MLW_O_CREAT  0100
#define MLW_O_TRUNC  01000
#define MLW_O_DIRECTORY 0200000
#define MLW_O_PATH   010000000

static __always_inline bool loadable(u32 flags)
{
	/* Writing, listing or O_PATH-ing a file is not loading it. */
	return !(flags & (MLW_O_WRONLY | MLW_O_DIRECTORY | MLW_O_PATH));
}

/*
 * Entry: an unmarked process reads the path only to see whether it names a
 * model (and stops here unless it does); a marked one just stashes the
 * arguments: its path is read once, at exit, for the record and the match.
 */
static __always_inline int open_enter(u64 path, s32 dirfd, u32 flags, u32 mode,
				      u32 sys)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;
	struct mlw_pending p = {};

	if (tgid == mlw_self_tgid)
		return 0;
	if (!lookup_mark(tgid)) {
		struct mlw_pathbuf *pb;
		long n;

		if (!loadable(flags) || !(pb = pathbuf_get()))
			return 0;
		n = bpf_probe_read_user_str(pb->path, MLW_PATH_MAX, (const void *)path);
		if (n <= 0 || mlw_match_path((u32)n, 0) != MLW_MATCH_MODEL)
			return 0;
		p.candidate = 1;
	}
	p.ptr = path;
	p.fd = dirfd;
	p.flags = flags;
	p.mode = mode;
	p.syscall = sys;
	stash_pending(tid, &p);
	return 0;
}

static __always_inline int open_exit(long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;
	struct mlw_pending *pp = lookup_pending(tid);
	struct mlw_pathbuf *pb;
	struct mlw_pending p;
	struct mlw_mark *mark;
	struct mlw_open *ev;
	bool new_mark = false;
	u32 n, kind;

	if (!pp)
		return 0;
	p = *pp;
	drop_pending(tid);
	if (p.syscall > MLW_SYS_CREAT) /* an exec or connect stash, not ours */
		return 0;
	ev = scratch_buf();
	pb = pathbuf_get();
	if (!ev || !pb)
		return 0;
	/* one read of the path (the CPU may have changed since entry) */
	ev->hdr.flags = 0;
	n = read_user_path(pb->path, p.ptr, &ev->hdr);
	if (!p.candidate && loadable(p.flags) && n > 1) {
		/* a marked process: is it a second model, or an import? */
		int r = mlw_match_path(n, (p.flags & MLW_O_ACCMODE) == MLW_O_RDONLY);

		if (r == MLW_MATCH_QUIET) {
			count(MLW_CNT_OPEN_QUIET);
			return 0;
		}
		p.candidate = r == MLW_MATCH_MODEL;
	}

	mark = lookup_mark(tgid);
	if (p.candidate && ret >= 0 && !mark) {
		struct mlw_mark m = {
			.loader_tgid = tgid,
			.reason = MLW_MARK_MODEL,
			.mark_ns = bpf_ktime_get_ns(),
		};

		if (!set_mark(tgid, &m, BPF_NOEXIST))
			count(MLW_CNT_MARKS_SET);
		mark = lookup_mark(tgid);
		new_mark = true;
	}
	kind = p.candidate ? MLW_EV_MODEL_OPEN : MLW_EV_OPEN;
	{
		u32 trunc = ev->hdr.flags & MLW_F_PATH_TRUNC; /* set by the read */

		fill_hdr(&ev->hdr, kind, mark);
		ev->hdr.flags |= trunc | (new_mark ? MLW_F_NEW_MARK : 0);
	}
	ev->ret = (s32)ret;
	ev->dirfd = p.fd;
	ev->flags = p.flags;
	ev->mode = p.mode;
	ev->syscall = p.syscall;
	ev->path_len = n;
	bpf_probe_read_kernel(ev->path, n & (MLW_PATH_MAX - 1), pb->path);
	emit(ev, sizeof(*ev) + (n & (MLW_PATH_MAX - 1)), kind);
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int handle_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[1], (s32)ctx->args[0], (u32)ctx->args[2],
			  (u32)ctx->args[3], MLW_SYS_OPENAT);
}

SEC("tp/syscalls/sys_exit_openat")
int handle_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

/* open(2) and creat(2) exist on x86_64 only; arm64 has openat alone.
 * User space turns these off where the tracepoint is missing. */
SEC("tp/syscalls/sys_enter_open")
int handle_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[0], MLW_AT_FDCWD, (u32)ctx->args[1],
			  (u32)ctx->args[2], MLW_SYS_OPEN);
}

SEC("tp/syscalls/sys_exit_open")
int handle_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tp/syscalls/sys_enter_creat")
int handle_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[0], MLW_AT_FDCWD,
			  MLW_O_CREAT | MLW_O_WRONLY | MLW_O_TRUNC,
			  (u32)ctx->args[1], MLW_SYS_CREAT);
}

SEC("tp/syscalls/sys_exit_creat")
int handle_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tp/syscalls/sys_enter_openat2")
int handle_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_enter(ctx->args[1], (s32)ctx->args[0], (u32)how.flags,
			  (u32)how.mode, MLW_SYS_OPENAT2);
}

SEC("tp/syscalls/sys_exit_openat2")
int handle_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}
