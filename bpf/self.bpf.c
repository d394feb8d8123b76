// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection sensors: what other processes do to mlwatch itself.
 * bpf() on its programs, maps and links; signals, ptrace, process_vm_*
 * and pidfd_getfd aimed at its threads; opens of its /proc/PID/mem and
 * mmaps of its maps. Sent whoever the actor is (who tampers with the
 * monitor is not a marked process) and vital (bpf/common.bpf.h). Anything
 * not aimed at mlwatch stops at a compare or at one map lookup.
 *
 * Threat model: docs/threat-model.md §3.4.
 */
#include "path.bpf.h"

#define MLW_BPF_F_REPLACE (1u << 2)
#define MLW_PTRACE_ATTACH 16
#define MLW_PTRACE_SEIZE 0x4206
#define MLW_TRACE_SIGNAL_IGNORED 1
#define MLW_SI_KERNEL 0x80
#define MLW_PIDFS_MAGIC 0x50494446
#define MLW_FMODE_WRITE 0x2
#define MLW_VM_WRITE 0x2

static __always_inline bool self_tid(u32 tid)
{
	return tid && bpf_map_lookup_elem(&self_tids, &tid);
}

static __always_inline bool self_obj(u32 obj, u32 id)
{
	u64 k = MLW_SELF_KEY(obj, id);

	return obj && id && bpf_map_lookup_elem(&self_ids, &k);
}

/* A record about the current task's act (op, arg), its executable's
 * path read here: a `kill` is gone before user space could look. The
 * caller fills what else it knows and sends it with self_send. */
static __always_inline struct mlw_self *self_rec(u32 op, u32 arg)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mlw_self *ev = scratch_buf();
	struct file *exe;

	if (!ev)
		return NULL;
	fill_hdr(&ev->hdr, MLW_EV_SELF, lookup_mark(current_tgid()));
	ev->op = op;
	ev->arg = arg;
	ev->obj = 0;
	ev->obj_id = 0;
	ev->target = 0;
	ev->code = 0;
	ev->result = 0;
	exe = BPF_CORE_READ(task, mm, exe_file);
	ev->exe_len = copy_kpath(exe, ev->data, &ev->hdr.flags);
	return ev;
}

static __always_inline void self_send(struct mlw_self *ev)
{
	emit(ev, sizeof(*ev) + (ev->exe_len & (MLW_PATH_MAX - 1)), MLW_EV_SELF);
}

/* An act aimed at one of mlwatch's threads, named by number: a process in
 * another PID namespace names its own processes with its numbers, and
 * cannot see mlwatch's (in the host's) anyway. */
static __always_inline int aimed_at(u32 op, u32 arg, u32 nr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mlw_self *ev;

	if (current_tgid() == mlw_self_tgid || BPF_CORE_READ(task, thread_pid, level) != 0 ||
	    !self_tid(nr))
		return 0;
	ev = self_rec(op, arg);
	if (!ev)
		return 0;
	ev->target = nr;
	self_send(ev);
	return 0;
}

/* The kind (MLW_SELF_OBJ_*) and id of the BPF object behind fd in the
 * current task, 0 when it is none. The kernel names the anonymous files
 * it makes for them "bpf-map", "bpf-prog", and "bpf_link" when a link is
 * made but "bpf-link" when one is opened by id. */
static __always_inline u32 bpf_obj_at(s32 fd, u32 *id)
{
	struct file *f = fd_to_file(fd);
	char n[8] = {};
	void *priv;

	if (!f)
		return 0;
	bpf_probe_read_kernel(n, sizeof(n), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	priv = BPF_CORE_READ(f, private_data);
	if (!priv || n[0] != 'b' || n[1] != 'p' || n[2] != 'f')
		return 0;
	if (n[3] == '-' && n[4] == 'm' && n[5] == 'a' && n[6] == 'p' && !n[7]) {
		*id = BPF_CORE_READ((struct bpf_map *)priv, id);
		return MLW_SELF_OBJ_MAP;
	}
	if (n[3] == '-' && n[4] == 'p' && n[5] == 'r' && n[6] == 'o' && n[7] == 'g') {
		*id = BPF_CORE_READ((struct bpf_prog *)priv, aux, id);
		return MLW_SELF_OBJ_PROG;
	}
	if ((n[3] == '_' || n[3] == '-') && n[4] == 'l' && n[5] == 'i' && n[6] == 'n' &&
	    n[7] == 'k') {
		*id = BPF_CORE_READ((struct bpf_link *)priv, id);
		return MLW_SELF_OBJ_LINK;
	}
	return 0;
}

/* A u32 field of the caller's union bpf_attr (0 when unreadable). */
static __always_inline u32 attr_u32(u64 attr, u32 off)
{
	u32 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)(attr + off));
	return v;
}

static __always_inline void bpf_report(u32 cmd, u32 obj, u32 id)
{
	struct mlw_self *ev = self_rec(MLW_SELF_BPF, cmd);

	if (!ev)
		return;
	ev->obj = obj;
	ev->obj_id = id;
	self_send(ev);
}

/* cmd names an object by the fd at attr + off: reported when it is ours. */
static __always_inline bool bpf_fd_check(u32 cmd, u64 attr, u32 off)
{
	u32 id = 0, obj = bpf_obj_at((s32)attr_u32(attr, off), &id);

	if (!self_obj(obj, id))
		return false;
	bpf_report(cmd, obj, id);
	return true;
}

/*
 * The commands that change a program, map or link, or attach or pin one,
 * and the ones that open one by id (bpftool's way in: what it then does
 * with the fd is one of the others, or reading). Offsets are the fd's (or
 * id's) in union bpf_attr, fixed by the syscall's ABI.
 */
SEC("tp/syscalls/sys_enter_bpf")
int handle_enter_bpf(struct trace_event_raw_sys_enter *ctx)
{
	u32 cmd = (u32)ctx->args[0], off, obj = 0, id;
	u64 attr = ctx->args[1];

	switch (cmd) {
	case BPF_PROG_GET_FD_BY_ID:
		obj = MLW_SELF_OBJ_PROG;
		break;
	case BPF_MAP_GET_FD_BY_ID:
		obj = MLW_SELF_OBJ_MAP;
		break;
	case BPF_LINK_GET_FD_BY_ID:
		obj = MLW_SELF_OBJ_LINK;
		break;
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
	case BPF_LINK_CREATE: /* prog_fd: ours attached elsewhere */
	case BPF_LINK_UPDATE:
	case BPF_LINK_DETACH:
		off = 0;
		break;
	case BPF_PROG_ATTACH: /* attach_bpf_fd; replace_bpf_fd below */
	case BPF_PROG_DETACH:
		off = 4;
		break;
	case BPF_OBJ_PIN:             /* bpf_fd */
	case BPF_RAW_TRACEPOINT_OPEN: /* prog_fd */
		off = 8;
		break;
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		off = 36; /* batch.map_fd */
		break;
	default:
		return 0;
	}
	if (current_tgid() == mlw_self_tgid)
		return 0;
	if (obj) {
		id = attr_u32(attr, 0);
		if (self_obj(obj, id))
			bpf_report(cmd, obj, id);
		return 0;
	}
	if (bpf_fd_check(cmd, attr, off))
		return 0;
	if (cmd == BPF_PROG_ATTACH && (attr_u32(attr, 12) & MLW_BPF_F_REPLACE))
		bpf_fd_check(cmd, attr, 16);
	return 0;
}

/* Any signal mlwatch does not ignore (so not SIGCHLD, SIGPIPE, SIGIO, a
 * lease break's), from any process but itself, kill, tgkill and
 * pidfd_send_signal alike. Written when the signal is made: a SIGKILL's
 * record is in the ring buffer before mlwatch dies (who reads it then is
 * another matter: docs/threat-model.md §3.4). */
SEC("tp_btf/signal_generate")
int BPF_PROG(handle_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct mlw_self *ev;

	if (task->tgid != mlw_self_tgid || result == MLW_TRACE_SIGNAL_IGNORED ||
	    current_tgid() == mlw_self_tgid)
		return 0;
	ev = self_rec(MLW_SELF_SIGNAL, (u32)sig);
	if (!ev)
		return 0;
	ev->target = task->pid;
	/* SEND_SIG_NOINFO (0) is a user's kill, SEND_SIG_PRIV (1) the kernel's */
	if ((u64)info > 1)
		ev->code = BPF_CORE_READ(info, si_code);
	else
		ev->code = info ? MLW_SI_KERNEL : 0;
	ev->result = result;
	self_send(ev);
	return 0;
}

/* Attaching is what every later request needs; the attempt is reported,
 * allowed or not. */
SEC("tp/syscalls/sys_enter_ptrace")
int handle_enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	u32 req = (u32)ctx->args[0];

	if (req != MLW_PTRACE_ATTACH && req != MLW_PTRACE_SEIZE)
		return 0;
	return aimed_at(MLW_SELF_PTRACE, req, (u32)ctx->args[1]);
}

SEC("tp/syscalls/sys_enter_process_vm_readv")
int handle_enter_vm_readv(struct trace_event_raw_sys_enter *ctx)
{
	return aimed_at(MLW_SELF_VM_READ, 0, (u32)ctx->args[0]);
}

SEC("tp/syscalls/sys_enter_process_vm_writev")
int handle_enter_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	return aimed_at(MLW_SELF_VM_WRITE, 0, (u32)ctx->args[0]);
}

/* The pid behind a pidfd (pidfs since 6.9 keeps it in the inode; an
 * anonymous "[pidfd]" file before), as the host numbers it; 0 if fd is
 * no pidfd. */
static __always_inline u32 pidfd_nr(s32 fd)
{
	struct file *f = fd_to_file(fd);
	struct pid *p = NULL;
	char n[8] = {};

	if (!f)
		return 0;
	if (BPF_CORE_READ(f, f_inode, i_sb, s_magic) == MLW_PIDFS_MAGIC) {
		p = BPF_CORE_READ(f, f_inode, i_private);
		if (!p)
			p = BPF_CORE_READ(f, private_data);
	} else {
		bpf_probe_read_kernel(n, sizeof(n), BPF_CORE_READ(f, f_path.dentry, d_name.name));
		if (n[0] == '[' && n[1] == 'p' && n[2] == 'i' && n[3] == 'd' && n[4] == 'f' &&
		    n[5] == 'd' && n[6] == ']')
			p = BPF_CORE_READ(f, private_data);
	}
	return p ? (u32)BPF_CORE_READ(p, numbers[0].nr) : 0;
}

/* Another process taking a copy of one of mlwatch's fds (a map's, the
 * ring buffer's, an output's socket). */
SEC("tp/syscalls/sys_enter_pidfd_getfd")
int handle_enter_pidfd_getfd(struct trace_event_raw_sys_enter *ctx)
{
	u32 nr;
	struct mlw_self *ev;

	if (current_tgid() == mlw_self_tgid)
		return 0;
	nr = pidfd_nr((s32)ctx->args[0]);
	if (!self_tid(nr))
		return 0;
	ev = self_rec(MLW_SELF_GETFD, (u32)ctx->args[1]);
	if (!ev)
		return 0;
	ev->target = nr;
	self_send(ev);
	return 0;
}

/* /proc/PID/mem (and /proc/PID/task/TID/mem): reading and writing
 * mlwatch's memory without ptrace. */
SEC("fentry/mem_open")
int BPF_PROG(handle_mem_open, struct inode *inode, struct file *file)
{
	struct proc_inode *pi =
		(void *)((u64)inode - bpf_core_field_offset(struct proc_inode, vfs_inode));
	u32 nr = BPF_CORE_READ(pi, pid, numbers[0].nr);
	u32 fmode = BPF_CORE_READ(file, f_mode);
	struct mlw_self *ev;

	if (current_tgid() == mlw_self_tgid || !self_tid(nr))
		return 0;
	ev = self_rec(MLW_SELF_MEM_OPEN, !!(fmode & MLW_FMODE_WRITE));
	if (!ev)
		return 0;
	ev->target = nr;
	self_send(ev);
	return 0;
}

/* A map mapped into another process: a writable mapping of the .bss
 * (the mark bitmaps) or of the ring buffer's consumer page changes what
 * mlwatch sees without a single bpf() call. */
SEC("fentry/bpf_map_mmap")
int BPF_PROG(handle_map_mmap, struct file *filp, struct vm_area_struct *vma)
{
	struct bpf_map *map = BPF_CORE_READ(filp, private_data);
	u64 vm_flags = 0;
	u32 id = BPF_CORE_READ(map, id);
	struct mlw_self *ev;

	if (current_tgid() == mlw_self_tgid || !self_obj(MLW_SELF_OBJ_MAP, id))
		return 0;
	bpf_core_read(&vm_flags, sizeof(vm_flags), &vma->vm_flags);
	ev = self_rec(MLW_SELF_MAP_MMAP, !!(vm_flags & MLW_VM_WRITE));
	if (!ev)
		return 0;
	ev->obj = MLW_SELF_OBJ_MAP;
	ev->obj_id = id;
	self_send(ev);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
