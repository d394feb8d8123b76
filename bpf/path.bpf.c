// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel-side path of a struct file (see path.bpf.h). One global
 * function, shared by the sensors that need it; the walk is a bpf_loop
 * callback, so the verifier checks one step, not every depth.
 */
#include "path.bpf.h"

/* bpf_loop (Linux 5.17+): user space clears this where it is missing, and
 * paths then come from user memory only. */
const volatile bool mlw_have_loop __weak = true;

struct dentry_walk {
	u64 d, vm, mnt;     /* dentry, vfsmount, and its struct mount */
	u64 root_d, root_m; /* the task's root */
	u64 mnt_off;        /* offsetof(struct mount, mnt) */
	struct mlw_kpath *kp;
	u32 pos;   /* the path so far is kp->buf[pos .. MLW_PATH_MAX) */
	bool done; /* reached the root */
};

/* Prepends "/<d's name>"; false when it does not fit. */
static __always_inline bool put_name(struct dentry_walk *w, struct dentry *d)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	u32 len = BPF_CORE_READ(d, d_name.len), pos = w->pos;

	if (len > MLW_NAME_MAX || len + 2 > pos) /* keep pos >= 1 */
		return false;
	pos -= len;
	bpf_probe_read_kernel(&w->kp->buf[pos & (MLW_PATH_MAX - 1)], len & MLW_NAME_MAX, name);
	pos -= 1;
	w->kp->buf[pos & (MLW_PATH_MAX - 1)] = '/';
	w->pos = pos;
	return true;
}

static long walk_step(u64 i, void *ctx)
{
	struct dentry_walk *w = ctx;
	struct dentry *d = (struct dentry *)w->d, *parent, *mroot;
	struct vfsmount *vm = (struct vfsmount *)w->vm;

	if (w->d == w->root_d && w->vm == w->root_m) {
		w->done = true;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	mroot = BPF_CORE_READ(vm, mnt_root);
	/* a pseudo file (memfd, socket, anon inode) is its own parent: its
	 * name ("memfd:x") is all the path it has */
	if (d == parent && d != mroot) {
		put_name(w, d);
		w->done = true;
		return 1;
	}
	if (d == mroot || d == parent) {
		struct mount *mnt = (struct mount *)w->mnt;
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt || !up) { /* the top of the mount tree */
			w->done = true;
			return 1;
		}
		w->d = (u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (u64)up;
		w->vm = (u64)up + w->mnt_off;
		return 0;
	}
	if (!put_name(w, d))
		return 1;
	w->d = (u64)parent;
	return 0;
}

/*
 * The path of the struct path at *path (a pointer in memory: global
 * functions take no kernel pointers) as the current task sees it: up to its
 * root, crossing
 * mount points. Returns the bytes written at the end of the per-CPU kpath
 * buffer, NUL included (*start: where they begin), or 0. Sets
 * MLW_F_KPATH_TRUNC in *flags when it had to stop early.
 */
__noinline u32 mlw_kpath(u64 *path, u32 *start, u32 *flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct path *p;
	struct dentry_walk w = {};
	u32 zero = 0;

	if (!path || !start || !flags || !mlw_have_loop)
		return 0;
	p = (struct path *)*path;
	if (!p || !(w.kp = bpf_map_lookup_elem(&kpath, &zero)))
		return 0;
	w.mnt_off = bpf_core_field_offset(struct mount, mnt);
	w.d = (u64)BPF_CORE_READ(p, dentry);
	w.vm = (u64)BPF_CORE_READ(p, mnt);
	if (!w.d || !w.vm)
		return 0;
	w.mnt = w.vm - w.mnt_off;
	w.root_d = (u64)BPF_CORE_READ(task, fs, root.dentry);
	w.root_m = (u64)BPF_CORE_READ(task, fs, root.mnt);
	w.pos = MLW_PATH_MAX - 1;
	w.kp->buf[MLW_PATH_MAX - 1] = 0;
	bpf_loop(MLW_KPATH_DEPTH, walk_step, &w, 0);
	if (!w.done) {
		*flags |= MLW_F_KPATH_TRUNC;
		count(MLW_CNT_PATH_TRUNC);
	}
	if (w.pos == MLW_PATH_MAX - 1) { /* the root itself */
		w.pos -= 1;
		w.kp->buf[w.pos & (MLW_PATH_MAX - 1)] = '/';
	}
	*start = w.pos & (MLW_PATH_MAX - 1);
	return MLW_PATH_MAX - *start;
}
