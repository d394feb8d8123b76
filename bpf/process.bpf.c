// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle sensors: exec (and failed exec attempts), fork, exit.
 * Marks are inherited here, at fork, so a lineage stays tied to its loader
 * after setsid, double fork or reparenting.
 */
#include "common.bpf.h"

#define MLW_SYS_EXECVE   100
#define MLW_SYS_EXECVEAT 101

/* A watched ML control-plane process (raylet, a Jupyter kernel...): it and
 * its lineage are watched whether or not they load a model. */
static __always_inline struct mlw_mark *mark_root(u32 tgid)
{
	struct mlw_mark m = {
		.loader_tgid = tgid,
		.reason = MLW_MARK_ROOT,
		.mark_ns = bpf_ktime_get_ns(),
	};

	if (!set_mark(tgid, &m, BPF_NOEXIST))
		count(MLW_CNT_MARKS_SET);
	return lookup_mark(tgid);
}

static __always_inline bool has_prefix(const char *p, const char *lit, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] != lit[i])
			return false;
	return true;
}

static __always_inline bool under_temp(const char *f)
{
	char p[10] = {};

	bpf_probe_read_kernel_str(p, sizeof(p), f);
	return has_prefix(p, "/tmp/", 5) || has_prefix(p, "/var/tmp/", 9) ||
	       has_prefix(p, "/dev/shm/", 9);
}

/* --enforce: the new program has not run a single instruction yet; a
 * pending SIGKILL ends it on the way back to user space. */
static __always_inline bool enforce_exec(struct task_struct *task,
					 struct linux_binprm *bprm, u32 reason)
{
	struct mlw_comm_key k;
	u32 *mask;

	__builtin_memcpy(k.comm, task->comm, sizeof(k.comm));
	mask = bpf_map_lookup_elem(&kill_comms, &k);
	if (!(mask && (*mask & reason)) &&
	    !((mlw_kill_temp_exec & reason) && under_temp(BPF_CORE_READ(bprm, filename))))
		return false;
	bpf_send_signal(9 /* SIGKILL */);
	return true;
}

/* argv of the new image, read from its mm: at sys_enter_execve a fresh
 * child's argv page may not be faulted in yet and reads back empty. */
static __always_inline u32 read_args(char *dst, struct task_struct *task,
				     struct mlw_hdr *h)
{
	u64 start = BPF_CORE_READ(task, mm, arg_start);
	u64 end = BPF_CORE_READ(task, mm, arg_end);
	u64 len;

	if (end <= start)
		return 0;
	len = end - start;
	if (len > MLW_ARGS_MAX) {
		len = MLW_ARGS_MAX;
		h->flags |= MLW_F_ARGS_TRUNC;
		count(MLW_CNT_ARGS_TRUNC);
	}
	if (bpf_probe_read_user(dst, len & (2 * MLW_ARGS_MAX - 1), (void *)start)) {
		h->flags |= MLW_F_ARGS_FAULT;
		return 0;
	}
	return (u32)len;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	u32 tgid = current_tgid();
	u32 old = old_pid, hflags = 0;
	struct mlw_mark *mark;
	struct mlw_exec *ev;
	long n;

	/* A non-leader thread that execs takes the leader's pid: the bit
	 * under its old tid would otherwise never be cleared. */
	if (old != (u32)bpf_get_current_pid_tgid())
		drop_pending(old);

	mark = lookup_mark(tgid);
	if (!mark) {
		struct mlw_comm_key k;
		u32 *what;

		__builtin_memcpy(k.comm, task->comm, sizeof(k.comm));
		what = bpf_map_lookup_elem(&root_comms, &k);
		if (!what)
			return 0;
		if (*what & MLW_ROOT_MARK)
			mark = mark_root(tgid);
		else
			hflags = MLW_F_ROOT_CHECK; /* user space decides by argv */
	}
	if (mlw_enforce && mark && enforce_exec(task, bprm, mark->reason))
		hflags |= MLW_F_KILLED;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_EXEC, mark);
	ev->hdr.flags |= hflags;
	ev->old_tid = old;
	n = bpf_probe_read_kernel_str(ev->data, MLW_PATH_MAX, BPF_CORE_READ(bprm, filename));
	if (n <= 0) {
		ev->data[0] = 0;
		n = 1;
	} else if (n >= MLW_PATH_MAX) {
		ev->hdr.flags |= MLW_F_PATH_TRUNC;
		count(MLW_CNT_PATH_TRUNC);
		n = MLW_PATH_MAX - 1;
	}
	ev->filename_len = (u32)n;
	ev->args_len = read_args(ev->data + (n & (MLW_PATH_MAX - 1)), task, &ev->hdr);
	ev->_pad = 0;
	emit(ev, sizeof(*ev) + (n & (MLW_PATH_MAX - 1)) +
		 (ev->args_len & (2 * MLW_ARGS_MAX - 1)), MLW_EV_EXEC);
	return 0;
}

static __always_inline int exec_enter(u64 path, s32 dirfd, u32 sys)
{
	struct mlw_pending p = {};
	u32 tid = (u32)bpf_get_current_pid_tgid();

	if (!lookup_mark(current_tgid()))
		return 0;
	p.ptr = path;
	p.fd = dirfd;
	p.syscall = sys;
	stash_pending(tid, &p);
	return 0;
}

/* Only failures are sent: PATH search leaves a trail of ENOENT attempts
 * before the real exec, and a success is reported by sched_process_exec. */
static __always_inline int exec_exit(long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct mlw_pending *p = lookup_pending(tid);
	struct mlw_exec_fail *ev;
	struct mlw_pending saved;
	u32 n;

	if (!p)
		return 0;
	saved = *p;
	drop_pending(tid);
	if (ret >= 0 || (saved.syscall != MLW_SYS_EXECVE && saved.syscall != MLW_SYS_EXECVEAT))
		return 0;
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_EXEC_FAIL, lookup_mark(current_tgid()));
	ev->ret = (s32)ret;
	ev->dirfd = saved.fd;
	n = read_user_path(ev->path, saved.ptr, &ev->hdr);
	ev->path_len = n;
	ev->_pad = 0;
	emit(ev, sizeof(*ev) + (n & (MLW_PATH_MAX - 1)), MLW_EV_EXEC_FAIL);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int handle_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx->args[0], MLW_AT_FDCWD, MLW_SYS_EXECVE);
}

SEC("tp/syscalls/sys_exit_execve")
int handle_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

SEC("tp/syscalls/sys_enter_execveat")
int handle_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx->args[1], (s32)ctx->args[0], MLW_SYS_EXECVEAT);
}

SEC("tp/syscalls/sys_exit_execveat")
int handle_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 ptgid = BPF_CORE_READ(parent, tgid);
	u32 ctgid = BPF_CORE_READ(child, tgid);
	struct mlw_mark *mark, inherited;
	struct mlw_fork *ev;

	if (ctgid == ptgid) /* a new thread, same process */
		return 0;
	mark = lookup_mark(ptgid);
	if (!mark)
		return 0;
	inherited = *mark;
	inherited.depth += 1;
	set_mark(ctgid, &inherited, BPF_ANY);
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_FORK, mark);
	ev->child_tgid = ctgid;
	ev->_pad = 0;
	emit(ev, sizeof(*ev), MLW_EV_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;
	struct mlw_mark *mark;
	struct mlw_exit *ev;

	/* A thread killed inside a hooked syscall never reaches sys_exit. */
	drop_pending(tid);
	/* The mark belongs to the process: keep it until its last thread. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	mark = lookup_mark(tgid);
	if (!mark)
		return 0;
	ev = scratch_buf();
	if (ev) {
		fill_hdr(&ev->hdr, MLW_EV_EXIT, mark);
		ev->exit_code = BPF_CORE_READ(task, exit_code);
		ev->_pad = 0;
		emit(ev, sizeof(*ev), MLW_EV_EXIT);
	}
	clear_mark(tgid);
	return 0;
}

/* prctl(PR_SET_NAME) and writes to /proc/PID/comm: how Ray names its
 * workers ("ray::JobSupervisor") after they exec as plain python. */
SEC("tp_btf/task_rename")
int BPF_PROG(handle_rename, struct task_struct *task, const char *comm)
{
	u32 tgid = task->tgid;
	struct mlw_comm_key k = {};
	u32 *what;
	bool prefix = mlw_root_prefix[0] != 0;

	if (lookup_mark(tgid) || tgid == mlw_self_tgid)
		return 0;
	bpf_probe_read_kernel_str(k.comm, sizeof(k.comm), comm);
	for (int i = 0; i < (int)sizeof(mlw_root_prefix) && mlw_root_prefix[i]; i++)
		prefix &= k.comm[i] == mlw_root_prefix[i];
	what = bpf_map_lookup_elem(&root_comms, &k);
	if (prefix || (what && (*what & MLW_ROOT_MARK)))
		mark_root(tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
