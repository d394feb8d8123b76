// SPDX-License-Identifier: GPL-2.0
/*
 * File sensors: open, openat, openat2, creat.
 * Every open is checked against the model patterns (that is how a loader
 * gets marked); only candidates and opens by marked processes are sent.
 */
#include "model_match.bpf.h"
#include "path.bpf.h"

#define MLW_O_ACCMODE 03
#define MLW_O_RDONLY 0
#define MLW_O_WRONLY 01
#define MLW_O_CREAT 0100
#define MLW_O_TRUNC 01000
#define MLW_O_DIRECTORY 0200000
#define MLW_O_PATH 010000000

static __always_inline bool loadable(u32 flags)
{
	/* Writing, listing or O_PATH-ing a file is not loading it. */
	return !(flags & (MLW_O_WRONLY | MLW_O_DIRECTORY | MLW_O_PATH));
}

/*
 * Two ways to run, chosen by user space at load (see --open-match):
 *
 * exit-only (Linux 6.2+, bpf_rdonly_cast): no entry hooks at all. The exit
 * looks at the file just opened, through its name in kernel memory; only a
 * model candidate, or any open by a marked process, has its arguments read
 * back from the registers the syscall was entered with. An unmarked
 * process pays one tracepoint and a name check per open.
 *
 * entry+exit (any kernel): the entry reads the path to see whether it
 * names a model; a candidate or a marked process stashes the arguments
 * for the exit, which reports them with the result.
 */

/* Weak: referenced only by the exit-only programs, which are not loaded on
 * kernels without it. */
extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym __weak;

#define MLW_FMODE_READ 0x1
#define MLW_FMODE_WRITE 0x2
#define MLW_S_IFDIR 0040000

static __always_inline int open_enter(u64 path, s32 dirfd, u32 flags, u32 mode, u32 sys)
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

/* A model candidate opened as fd (file f) by tgid: mark it, or count one
 * more model under its mark. A control-plane lineage that loads a model
 * starts a model lineage here, keeping its root reasons, so both rule sets
 * apply to what it does next. Returns the mark and whether it is new. */
static __always_inline struct mlw_mark_state *mark_model_open(u32 tgid, s32 fd, struct file *f,
							      bool *new_mark)
{
	struct mlw_mark_state *st = mark_raw(tgid);
	u64 now = bpf_ktime_get_ns();

	*new_mark = false;
	if (st && (st->m.reason & MLW_MARK_MODEL)) {
		/* also re-arms a mark user space asked to clear: its request
		 * names the old count */
		__sync_fetch_and_add(&st->m.models, 1);
	} else {
		struct mlw_mark_state m = {
			.m = { .loader_tgid = tgid,
			       .reason = MLW_MARK_MODEL,
			       .mark_ns = now,
			       .models = 1 },
		};

		if (st)
			m.m.reason |= st->m.reason &
				      (MLW_MARK_ROOT | MLW_MARK_NOTEBOOK | MLW_MARK_USER);
		if (!set_mark(tgid, &m, st ? BPF_ANY : BPF_NOEXIST)) {
			count(MLW_CNT_MARKS_SET);
			*new_mark = true;
			st = mark_raw(tgid);
		} else if ((st = mark_raw(tgid)) && (st->m.reason & MLW_MARK_MODEL)) {
			/* a sibling thread's first model open won: this one is
			 * the next model under its mark, never a second "first" */
			__sync_fetch_and_add(&st->m.models, 1);
		}
		if (!st)
			return NULL;
	}
	st->model_fd = fd;
	st->model_file = (u64)f;
	st->model_ino = f ? BPF_CORE_READ(f, f_inode, i_ino) : 0;
	st->model_ns = now;
	return st;
}

/* A read-only model open of a file this process opened as a model under
 * its current mark, and unchanged since: it was counted and judged then.
 * Otherwise remembers it under mark (the mark it now has). */
static __always_inline bool model_repeat(u32 tgid, struct file *f,
					 const struct mlw_mark_state *mark, bool note)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct mlw_open_key k = {
		.tgid = tgid,
		.as = MLW_SEEN_MODEL,
		.ino = BPF_CORE_READ(ino, i_ino),
		.dev = BPF_CORE_READ(ino, i_sb, s_dev),
	};
	struct mlw_open_seen v = {
		.ts = bpf_ktime_get_ns(),
		.ctime_ns = inode_ctime_ns(ino),
		.size = BPF_CORE_READ(ino, i_size),
		.inode = (u64)ino,
	};
	struct mlw_open_seen *seen;

	/* a read-only open only: one that may write is always sent */
	if (!mark || !(mark->m.reason & MLW_MARK_MODEL) ||
	    (BPF_CORE_READ(f, f_mode) & MLW_FMODE_WRITE))
		return false;
	v.mark_ns = mark->m.mark_ns;
	if (note) {
		bpf_map_update_elem(&open_seen, &k, &v, BPF_ANY);
		return false;
	}
	seen = bpf_map_lookup_elem(&open_seen, &k);
	if (seen && seen->mark_ns == v.mark_ns && seen->ctime_ns == v.ctime_ns &&
	    seen->size == v.size && seen->inode == v.inode) {
		count(MLW_CNT_MODEL_REPEAT);
		return true;
	}
	return false;
}

/* Sends the open that p describes, its path as asked (n bytes) in
 * pb->path; f is the file it opened (NULL when it failed). A model
 * candidate that succeeds marks the process. */
static __always_inline int open_send(long ret, const struct mlw_pending *p,
				     const struct mlw_pathbuf *pb, u32 n, u32 hflags,
				     struct file *f)
{
	u32 tgid = current_tgid();
	struct mlw_mark_state *mark = NULL;
	struct mlw_open *ev = scratch_buf();
	bool new_mark = false;
	u32 kind, models = 0, k = 0;

	if (!ev)
		return 0;
	if (p->candidate && ret >= 0) {
		if (f && model_repeat(tgid, f, mark_raw(tgid), false))
			return 0;
		mark = mark_model_open(tgid, (s32)ret, f, &new_mark);
		if (f)
			model_repeat(tgid, f, mark, true);
		/* the count this open made, for user space's clear request */
		models = mark ? *(volatile u32 *)&mark->m.models : 0;
	} else {
		mark = lookup_mark(tgid);
	}
	kind = p->candidate ? MLW_EV_MODEL_OPEN : MLW_EV_OPEN;
	fill_hdr(&ev->hdr, kind, mark);
	ev->hdr.flags |= hflags | (new_mark ? MLW_F_NEW_MARK : 0);
	if (models)
		ev->hdr.mark.models = models;
	file_identity(f, &ev->file);
	ev->ret = (s32)ret;
	ev->dirfd = p->fd;
	ev->flags = p->flags;
	ev->mode = p->mode;
	ev->syscall = p->syscall;
	ev->path_len = n;
	ev->_pad = 0;
	bpf_probe_read_kernel(ev->data, n & (MLW_PATH_MAX - 1), pb->path);
	if (f)
		k = copy_kpath(f, ev->data + (n & (MLW_PATH_MAX - 1)), &ev->hdr.flags);
	ev->kpath_len = k;
	emit_as(ev, sizeof(*ev) + (n & (MLW_PATH_MAX - 1)) + (k & (MLW_PATH_MAX - 1)), kind, mark);
	return 0;
}

/* Reads p's path and reports the open. For a marked process, the path
 * decides whether this is a second model, an import that stays in the
 * kernel (MLW_MATCH_QUIET), or a plain open. */
static __always_inline int open_report(long ret, struct mlw_pending *p, struct mlw_pathbuf *pb,
				       struct file *f)
{
	struct mlw_hdr h = {};
	u32 n = read_user_path(pb->path, p->ptr, &h);

	if (!p->candidate && loadable(p->flags) && n > 1) {
		/* a full buffer is a 4095-byte path (a longer one fails with
		 * ENAMETOOLONG): its last character counts for the match */
		u32 whole = (h.flags & MLW_F_PATH_TRUNC) ? MLW_PATH_MAX : n;
		int r = mlw_match_path(whole, (p->flags & MLW_O_ACCMODE) == MLW_O_RDONLY);

		if (r == MLW_MATCH_QUIET) {
			count(MLW_CNT_OPEN_QUIET);
			return 0;
		}
		p->candidate = r == MLW_MATCH_MODEL;
	}
	return open_send(ret, p, pb, n, h.flags & MLW_F_PATH_TRUNC, f);
}

/* entry+exit mode: the exit of an open whose entry stashed its arguments */
static __always_inline int open_exit(long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct mlw_pending *pp = lookup_pending(tid);
	struct mlw_pathbuf *pb;
	struct mlw_pending p;

	if (!pp)
		return 0;
	p = *pp;
	drop_pending(tid);
	if (p.syscall > MLW_SYS_CREAT) /* an exec or connect stash, not ours */
		return 0;
	if (!(pb = pathbuf_get()))
		return 0;
	return open_report(ret, &p, pb, ret >= 0 ? fd_to_file((s32)ret) : NULL);
}

/*
 * Eight bytes of kernel memory at p, by a plain load: bpf_rdonly_cast
 * makes it a fault-safe (PROBE_MEM) load of a struct whose first member is
 * a u64, which spares a bpf_probe_read_kernel call (~30 ns here) on the
 * path every unmarked open takes. struct qstr has that shape (hash_len)
 * on every kernel with bpf_rdonly_cast. p need not be aligned; a fault
 * reads 0.
 */
static __always_inline u64 load8_kernel(const void *p)
{
	const struct qstr *q = bpf_rdonly_cast((void *)p, bpf_core_type_id_kernel(struct qstr));

	return q->hash_len;
}

/* exit-only mode: the struct file behind fd, by plain loads; NULL if none. */
static __always_inline struct file *fd_file_fast(struct task_struct *task, s32 fd)
{
	struct fdtable *fdt = task->files->fdt;

	if ((u32)fd >= fdt->max_fds)
		return NULL;
	return bpf_rdonly_cast((void *)load8_kernel(&fdt->fd[fd]),
			       bpf_core_type_id_kernel(struct file));
}

/* The last 8 bytes of a dentry's name (the last character in the top
 * byte, zero-filled below a shorter name); *nl its length, 0 if bad. */
static __always_inline u64 name_last8(struct dentry *d, u32 *nl)
{
	const unsigned char *name = d->d_name.name;
	u32 n = d->d_name.len;
	u64 last8;

	*nl = n;
	if (n == 0 || n > 255) {
		*nl = 0;
		return 0;
	}
	if (n >= 8)
		return load8_kernel(name + n - 8);
	/* the bytes after a short name are not the name's */
	last8 = load8_kernel(name) & ((1ull << (8 * n)) - 1);
	return last8 << (8 * (8 - n));
}

/*
 * exit-only mode: is the file just opened a model candidate? From its name
 * alone (kernel memory, cheap): the last 8 bytes give the extension key
 * for the bloom filter; only a hit, or a name as long as a blob's, builds
 * "/<parent>/<name>" in pb->path for the full matcher. The name is the
 * file's own, so a symlink's name does not count.
 */
static __always_inline bool opened_file_is_model(struct file *f, struct mlw_pathbuf *pb)
{
	const unsigned char *name, *pname;
	struct dentry *d;
	u64 last8;
	long a, b;
	u32 nl;

	if (!f || !(f->f_mode & MLW_FMODE_READ) || (f->f_inode->i_mode & MLW_S_IFMT) == MLW_S_IFDIR)
		return false; /* O_PATH, write-only or a directory: not a load */
	d = f->f_path.dentry;
	last8 = name_last8(d, &nl);
	if (!nl)
		return false;
	if (!bloom_has(ext_key_of_last8(last8)) &&
	    !(mlw_match_hex_blobs && (nl == 40 || nl == 64 || nl == 71)))
		return false;

	name = d->d_name.name;
	pname = d->d_parent->d_name.name;
	pb->path[0] = '/';
	a = bpf_probe_read_kernel_str(pb->path + 1, 256, pname);
	if (a <= 0)
		a = 1;
	a &= 255;
	pb->path[a] = '/';
	b = bpf_probe_read_kernel_str(pb->path + a + 1, 256, name);
	if (b <= 0)
		return false;
	return mlw_match_path(a + 1 + (b & 511), 0) == MLW_MATCH_MODEL;
}

/* A marked process reading one of Python's imports (.py .pyc .so): by the
 * opened file's own name, so a symlink called x.py to a key is no import. */
static __always_inline bool quiet_file(struct file *f)
{
	u64 last8, key;
	u32 nl;

	if (f->f_mode & MLW_FMODE_WRITE)
		return false;
	last8 = name_last8(f->f_path.dentry, &nl);
	if (!nl)
		return false;
	key = ext_key_of_last8(last8);
	/* ext_key_of_last8 gives the whole tail when there is no dot */
	return key != lower8(last8) && bpf_map_lookup_elem(&quiet_exts, &key);
}

/* The same file (that very inode) opened again the same way by the same
 * marked process, not long ago: counted (MLW_CNT_OPEN_REPEAT), not sent
 * again. A new mark, a different access mode, or MLW_OPEN_REPEAT_NS later,
 * and it is sent. */
static __always_inline bool open_repeat(struct mlw_mark_state *mark, struct file *f, u64 now)
{
	u32 as = f->f_mode & MLW_FMODE_WRITE ? MLW_SEEN_WRITE : MLW_SEEN_READ;
	u64 inode = (u64)f->f_inode;
	struct mlw_open_key k = {};
	struct mlw_open_seen v, *seen;

	k.tgid = current_tgid();
	k.as = as;
	k.ino = f->f_inode->i_ino;
	k.dev = f->f_inode->i_sb->s_dev;
	seen = bpf_map_lookup_elem(&open_seen, &k);
	if (seen && seen->mark_ns == mark->m.mark_ns && seen->inode == inode &&
	    now - seen->ts < MLW_OPEN_REPEAT_NS) {
		count(MLW_CNT_OPEN_REPEAT);
		return true;
	}
	__builtin_memset(&v, 0, sizeof(v));
	v.mark_ns = mark->m.mark_ns;
	v.ts = now;
	v.inode = inode;
	bpf_map_update_elem(&open_seen, &k, &v, BPF_ANY);
	mark->last_inode = inode;
	mark->last_as = as;
	mark->last_ns = now;
	return false;
}

/* The clock of the repeat windows (a minute long), in ns: jiffies cost a
 * fraction of bpf_ktime_get_ns on the path every marked open takes, and a
 * tick's precision is plenty here. */
extern int CONFIG_HZ __kconfig __weak;

static __always_inline u64 coarse_ns(void)
{
	if (CONFIG_HZ > 0 && bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_jiffies64))
		return bpf_jiffies64() * (1000000000ull / (u64)CONFIG_HZ);
	return bpf_ktime_get_ns();
}

/* An open loop: the file the process last had sent, again the same way,
 * found in its mark with no map lookup (see open_repeat). */
static __always_inline bool open_repeat_last(const struct mlw_mark_state *mark, struct file *f,
					     u64 now)
{
	if (mark->last_inode != (u64)f->f_inode || now - mark->last_ns >= MLW_OPEN_REPEAT_NS ||
	    mark->last_as != (f->f_mode & MLW_FMODE_WRITE ? MLW_SEEN_WRITE : MLW_SEEN_READ))
		return false;
	count(MLW_CNT_OPEN_REPEAT);
	return true;
}

/* exit-only mode: the arguments, from the user registers saved at syscall
 * entry (libbpf's per-architecture PT_REGS_PARMn_SYSCALL; sys is a
 * constant in each program, so the switch folds away). */
static __always_inline void open_args(u32 sys, struct mlw_pending *p)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	p->syscall = sys;
	switch (sys) {
	case MLW_SYS_OPEN:
		p->fd = MLW_AT_FDCWD;
		p->ptr = PT_REGS_PARM1_SYSCALL(regs);
		p->flags = PT_REGS_PARM2_SYSCALL(regs);
		p->mode = PT_REGS_PARM3_SYSCALL(regs);
		break;
	case MLW_SYS_CREAT:
		p->fd = MLW_AT_FDCWD;
		p->ptr = PT_REGS_PARM1_SYSCALL(regs);
		p->flags = MLW_O_CREAT | MLW_O_WRONLY | MLW_O_TRUNC;
		p->mode = PT_REGS_PARM2_SYSCALL(regs);
		break;
	case MLW_SYS_OPENAT2: {
		struct open_how how = {};

		p->fd = PT_REGS_PARM1_SYSCALL(regs);
		p->ptr = PT_REGS_PARM2_SYSCALL(regs);
		bpf_probe_read_user(&how, sizeof(how), (void *)PT_REGS_PARM3_SYSCALL(regs));
		p->flags = how.flags;
		p->mode = how.mode;
		break;
	}
	default:
		p->fd = PT_REGS_PARM1_SYSCALL(regs);
		p->ptr = PT_REGS_PARM2_SYSCALL(regs);
		p->flags = PT_REGS_PARM3_SYSCALL(regs);
		p->mode = PT_REGS_PARM4_SYSCALL(regs);
	}
}

static __always_inline int open_exit_only(long ret, u32 sys)
{
	struct task_struct *task = bpf_get_current_task_btf();
	u32 tgid = task->tgid;
	struct mlw_mark_state *mark;
	struct mlw_pending p = {};
	struct mlw_pathbuf *pb;
	struct mlw_hdr h = {};
	struct file *f;
	u64 now;
	u32 n;

	/* mlwatch reads every candidate it is told of: never tell it of its own */
	if (tgid == mlw_self_tgid || !(pb = pathbuf_get()))
		return 0;
	mark = lookup_mark(tgid);
	if (ret < 0) {
		if (!mark)
			return 0;
		open_args(sys, &p); /* a failed open: judged by the path asked */
		return open_report(ret, &p, pb, NULL);
	}
	f = fd_file_fast(task, (s32)ret);
	if (!f)
		return 0;
	if (opened_file_is_model(f, pb)) {
		p.candidate = 1;
	} else if (!mark) {
		return 0;
	} else if (open_repeat_last(mark, f, now = coarse_ns())) {
		return 0;
	} else if (quiet_file(f)) {
		count(MLW_CNT_OPEN_QUIET);
		return 0;
	} else if (open_repeat(mark, f, now)) {
		return 0;
	}
	open_args(sys, &p);
	n = read_user_path(pb->path, p.ptr, &h);
	return open_send(ret, &p, pb, n, h.flags & MLW_F_PATH_TRUNC, f);
}

/* Both modes' exit programs for one syscall; user space loads one of them. */
#define OPEN_EXIT_PROGRAMS(sys, SYS)                                       \
	SEC("tp/syscalls/sys_exit_" #sys)                                  \
	int handle_exit_##sys(struct trace_event_raw_sys_exit *ctx)        \
	{                                                                  \
		return open_exit(ctx->ret);                                \
	}                                                                  \
	SEC("tp/syscalls/sys_exit_" #sys)                                  \
	int handle_exit_##sys##_only(struct trace_event_raw_sys_exit *ctx) \
	{                                                                  \
		return open_exit_only(ctx->ret, SYS);                      \
	}

SEC("tp/syscalls/sys_enter_openat")
int handle_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[1], (s32)ctx->args[0], (u32)ctx->args[2], (u32)ctx->args[3],
			  MLW_SYS_OPENAT);
}

OPEN_EXIT_PROGRAMS(openat, MLW_SYS_OPENAT)

/* open(2) and creat(2) exist on x86_64 only; arm64 has openat alone.
 * User space turns these off where the tracepoint is missing. */
SEC("tp/syscalls/sys_enter_open")
int handle_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[0], MLW_AT_FDCWD, (u32)ctx->args[1], (u32)ctx->args[2],
			  MLW_SYS_OPEN);
}

OPEN_EXIT_PROGRAMS(open, MLW_SYS_OPEN)

SEC("tp/syscalls/sys_enter_creat")
int handle_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(ctx->args[0], MLW_AT_FDCWD, MLW_O_CREAT | MLW_O_WRONLY | MLW_O_TRUNC,
			  (u32)ctx->args[1], MLW_SYS_CREAT);
}

OPEN_EXIT_PROGRAMS(creat, MLW_SYS_CREAT)

SEC("tp/syscalls/sys_enter_openat2")
int handle_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return open_enter(ctx->args[1], (s32)ctx->args[0], (u32)how.flags, (u32)how.mode,
			  MLW_SYS_OPENAT2);
}

OPEN_EXIT_PROGRAMS(openat2, MLW_SYS_OPENAT2)

/*
 * rename, link and symlink by marked processes: a payload can drop a file
 * and move it onto a persistence path, or link a credential file under
 * another name, without opening the target for writing. Read at the exit
 * from the registers the syscall was entered with; sent with its result.
 */
enum link_args { ARGS_OLD_NEW, ARGS_AT4, ARGS_AT5, ARGS_SYMLINKAT };

static __always_inline int link_exit(long ret, u32 sys, enum link_args layout)
{
	struct mlw_mark_state *mark = lookup_mark(current_tgid());
	struct pt_regs *regs;
	struct mlw_link *ev;
	u64 oldp, newp;
	s32 olddfd = MLW_AT_FDCWD, newdfd = MLW_AT_FDCWD;
	u32 flags = 0, n, m;

	if (!mark || !(ev = scratch_buf()))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	switch (layout) {
	case ARGS_OLD_NEW:
		oldp = PT_REGS_PARM1_SYSCALL(regs);
		newp = PT_REGS_PARM2_SYSCALL(regs);
		break;
	case ARGS_SYMLINKAT:
		oldp = PT_REGS_PARM1_SYSCALL(regs);
		newdfd = PT_REGS_PARM2_SYSCALL(regs);
		newp = PT_REGS_PARM3_SYSCALL(regs);
		break;
	default:
		olddfd = PT_REGS_PARM1_SYSCALL(regs);
		oldp = PT_REGS_PARM2_SYSCALL(regs);
		newdfd = PT_REGS_PARM3_SYSCALL(regs);
		newp = PT_REGS_PARM4_SYSCALL(regs);
		if (layout == ARGS_AT5)
			flags = PT_REGS_PARM5_SYSCALL(regs);
	}
	fill_hdr(&ev->hdr, MLW_EV_LINK, mark);
	ev->ret = (s32)ret;
	ev->olddirfd = olddfd;
	ev->newdirfd = newdfd;
	ev->syscall = sys;
	ev->flags = flags;
	ev->_pad = 0;
	n = read_user_path(ev->data, oldp, &ev->hdr);
	m = read_user_path(ev->data + (n & (MLW_PATH_MAX - 1)), newp, &ev->hdr);
	link_emit(ev, n, m);
	return 0;
}

#define LINK_EXIT(name, sys, layout)                                 \
	SEC("tp/syscalls/sys_exit_" #name)                           \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx) \
	{                                                            \
		return link_exit(ctx->ret, sys, layout);             \
	}

/* rename, link and symlink exist on x86_64 only; arm64 has the *at forms. */
LINK_EXIT(rename, MLW_LINK_RENAME, ARGS_OLD_NEW)
LINK_EXIT(renameat, MLW_LINK_RENAME, ARGS_AT4)
LINK_EXIT(renameat2, MLW_LINK_RENAME, ARGS_AT5)
LINK_EXIT(link, MLW_LINK_LINK, ARGS_OLD_NEW)
LINK_EXIT(linkat, MLW_LINK_LINK, ARGS_AT5)
LINK_EXIT(symlink, MLW_LINK_SYMLINK, ARGS_OLD_NEW)
LINK_EXIT(symlinkat, MLW_LINK_SYMLINK, ARGS_SYMLINKAT)
