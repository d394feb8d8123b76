// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle sensors: exec (and failed exec attempts), fork, exit.
 * Marks are inherited here, at fork, so a lineage stays tied to its loader
 * after setsid, double fork or reparenting.
 *
 * Threat model: docs/threat-model.md §2.1 (marking and inheritance), §4.5.
 */
#include "path.bpf.h"

#define MLW_SYS_EXECVE 100
#define MLW_SYS_EXECVEAT 101

/* A watched ML control-plane process (raylet, a Jupyter kernel...): it and
 * its lineage are watched whether or not they load a model. what: its
 * root_comms value (MLW_ROOT_NOTEBOOK for an interactive one). */
static __always_inline struct mlw_mark_state *mark_root(u32 tgid, u32 what)
{
	struct mlw_mark_state m = {
		.m = { .loader_tgid = tgid, .reason = MLW_MARK_ROOT, .mark_ns = bpf_ktime_get_ns() },
	};

	if (what & MLW_ROOT_NOTEBOOK)
		m.m.reason |= MLW_MARK_NOTEBOOK;
	/* BPF_ANY: a cleared mark may still be there */
	if (!set_mark(tgid, &m, BPF_ANY))
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

/* The kill tables' mask for the program about to run, by what really runs:
 * the name of the executed file (a symlink's target; busybox: the applet,
 * which is the comm), or its identity (a hard link under another name). */
static __always_inline u32 kill_mask_of(struct task_struct *task, struct linux_binprm *bprm,
					const struct mlw_file *id)
{
	struct mlw_comm_key k = {};
	struct mlw_exe_key ek = { .ino = id->ino, .dev = id->dev };
	u32 *m, mask = 0;

	bpf_probe_read_kernel_str(k.comm, sizeof(k.comm),
				  BPF_CORE_READ(bprm, file, f_path.dentry, d_name.name));
	if (has_prefix(k.comm, "busybox", 8))
		__builtin_memcpy(k.comm, task->comm, sizeof(k.comm));
	if ((m = bpf_map_lookup_elem(&kill_names, &k)))
		mask |= *m;
	if ((m = bpf_map_lookup_elem(&kill_exes, &ek)))
		mask |= *m;
	return mask;
}

/* --enforce: the new program has not run a single instruction yet; a
 * pending SIGKILL ends it on the way back to user space. real: the real
 * path of what runs (NULL if unknown); cut: it was cut short, so where it
 * runs from is unknown and counts as a temporary directory. */
static __always_inline bool enforce_exec(struct task_struct *task, struct linux_binprm *bprm,
					 const struct mlw_file *id, const char *real, bool cut,
					 u32 reason)
{
	bool kill = kill_mask_of(task, bprm, id) & reason;

	if (!kill && (mlw_kill_temp_exec & reason))
		kill = cut || under_temp(BPF_CORE_READ(bprm, filename)) ||
		       (real && under_temp(real));
	if (!kill && (mlw_kill_fileless_exec & reason))
		kill = id->nlink == 0;
	if (!kill)
		return false;
	bpf_send_signal(9 /* SIGKILL */);
	return true;
}

/* argv of the new image, read from its mm: at sys_enter_execve a fresh
 * child's argv page may not be faulted in yet and reads back empty. */
static __always_inline u32 read_args(char *dst, struct task_struct *task, struct mlw_hdr *h)
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

/* The first exec of this program (by identity) since start? Only then is
 * an unmarked exec sent, so user space can look for a Python interpreter
 * in it (a renamed or copied binary too). Racing execs may both say yes. */
static __always_inline bool exe_first(struct file *file, struct mlw_exe_key *k)
{
	u8 one = 1;

	if (!file)
		return false;
	k->ino = BPF_CORE_READ(file, f_inode, i_ino);
	k->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	if (bpf_map_lookup_elem(&exe_seen, k))
		return false;
	bpf_map_update_elem(&exe_seen, k, &one, BPF_ANY);
	return true;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	u32 tgid = current_tgid();
	u32 old = old_pid, hflags = 0, fl, al;
	struct mlw_mark_state *mark;
	struct mlw_exe_key ek = {};
	struct file *file;
	struct mlw_exec *ev;
	long n;

	/* A non-leader thread that execs takes the leader's pid: the bits
	 * under its old tid would otherwise never be cleared. */
	if (old != (u32)bpf_get_current_pid_tgid()) {
		drop_pending(old);
		if (bit_test(mlw_taint_bits, old))
			bit_clear(mlw_taint_bits, old);
	}

	mark = lookup_mark(tgid);
	file = BPF_CORE_READ(bprm, file);
	if (!mark) {
		struct mlw_comm_key k;
		u32 *what;

		if (exe_first(file, &ek))
			hflags = MLW_F_EXE_FIRST;
		__builtin_memcpy(k.comm, task->comm, sizeof(k.comm));
		what = bpf_map_lookup_elem(&root_comms, &k);
		if (!what && !hflags)
			return 0;
		if (what && (*what & MLW_ROOT_MARK))
			mark = mark_root(tgid, *what);
		else if (what)
			hflags |= MLW_F_ROOT_CHECK; /* user space decides by argv */
	}
	ev = scratch_buf();
	if (!ev)
		return 0;
	fill_hdr(&ev->hdr, MLW_EV_EXEC, mark);
	ev->hdr.flags |= hflags;
	ev->old_tid = old;
	file_identity(file, &ev->file);
	n = bpf_probe_read_kernel_str(ev->data, MLW_PATH_MAX, BPF_CORE_READ(bprm, filename));
	if (n <= 0) {
		ev->data[0] = 0;
		n = 1;
	} else if (n >= MLW_PATH_MAX) {
		ev->hdr.flags |= MLW_F_PATH_TRUNC;
		count(MLW_CNT_PATH_TRUNC);
		n = MLW_PATH_MAX - 1;
	}
	fl = (u32)n & (MLW_PATH_MAX - 1);
	ev->filename_len = fl;
	ev->args_len = read_args(ev->data + fl, task, &ev->hdr);
	al = ev->args_len & (2 * MLW_ARGS_MAX - 1);
	ev->kpath_len = copy_kpath(file, ev->data + fl + al, &ev->hdr.flags);
	if (mlw_enforce && mark &&
	    enforce_exec(task, bprm, &ev->file, ev->kpath_len ? ev->data + fl + al : NULL,
			 ev->hdr.flags & MLW_F_KPATH_TRUNC, mark->m.reason))
		ev->hdr.flags |= MLW_F_KILLED;
	/* shed: the program is looked at on its next exec */
	if (!emit(ev, sizeof(*ev) + fl + al + (ev->kpath_len & (MLW_PATH_MAX - 1)), MLW_EV_EXEC) &&
	    (hflags & MLW_F_EXE_FIRST))
		bpf_map_delete_elem(&exe_seen, &ek);
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
	struct mlw_mark_state *mark, inherited = {};
	struct mlw_fork *ev;
	bool load;

	/* mlwatch is never marked; its new threads are what ptrace and
	 * /proc may name (bpf/self.bpf.c) */
	if (ptgid == mlw_self_tgid) {
		u32 tid = BPF_CORE_READ(child, pid);
		u8 one = 1;

		if (ctgid == ptgid)
			bpf_map_update_elem(&self_tids, &tid, &one, BPF_ANY);
		return 0;
	}
	mark = lookup_mark(ptgid);
	if (!mark)
		return 0;
	/* made while the parent was loading a model: the payload's own */
	load = in_load(mark, (u32)bpf_get_current_pid_tgid());
	if (ctgid == ptgid) { /* a new thread, same process */
		if (load)
			bit_set(mlw_taint_bits, BPF_CORE_READ(child, pid));
		return 0;
	}
	inherited.m = mark->m;
	inherited.m.depth += 1;
	/* the model file is the parent's load, not the child's */
	inherited.m.models = 0;
	if (load)
		inherited.m.reason |= MLW_MARK_PAYLOAD;
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
	struct mlw_mark_state *mark;
	struct mlw_exit *ev;

	/* A thread killed inside a hooked syscall never reaches sys_exit. */
	drop_pending(tid);
	if (tgid == mlw_self_tgid)
		bpf_map_delete_elem(&self_tids, &tid);
	if (bit_test(mlw_taint_bits, tid))
		bit_clear(mlw_taint_bits, tid);
	/* The mark belongs to the process: keep it until its last thread. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	/* a cleared mark too: its entry must go, and user space knows it */
	mark = mark_raw(tgid);
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
		mark_root(tgid, what ? *what : MLW_ROOT_MARK);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
