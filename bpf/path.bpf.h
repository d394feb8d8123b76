/* SPDX-License-Identifier: GPL-2.0
 * Threat model: docs/threat-model.md §4.11 (racing the sensor).
 */
/*
 * What a struct file is, from the kernel's side: its identity (device,
 * inode, mount, link count) and its path, walked up the dentries the way
 * d_path does (tracepoints cannot call bpf_d_path). A path read back from
 * the caller's memory can be rewritten by another thread, and names the
 * link rather than the file; this one cannot, and does not.
 */
#ifndef MLWATCH_PATH_BPF_H
#define MLWATCH_PATH_BPF_H

#include "common.bpf.h"

/* Components walked: as many as MLW_PATH_MAX can hold ("/a" each), so
 * only a path too long for the record is cut (and flagged); a normal one
 * stops after its own few steps. */
#define MLW_KPATH_DEPTH (MLW_PATH_MAX / 2)
#define MLW_NAME_MAX 255

/* Components are written backwards, ending at buf[MLW_PATH_MAX - 1]; the
 * tail room lets a masked offset take a whole name. */
struct mlw_kpath {
	char buf[MLW_PATH_MAX + MLW_NAME_MAX + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct mlw_kpath);
} kpath SEC(".maps") __weak;

/* The inode's ctime moved twice in recent kernels: a timespec64 (to 6.5),
 * __i_ctime (6.6 to 6.10), then seconds and nanoseconds apart. */
struct inode___ctime_split {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));
struct inode___ctime_hidden {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___ctime_ts {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline u64 inode_ctime_ns(struct inode *ino)
{
	struct timespec64 ts = {};

	if (bpf_core_field_exists(((struct inode___ctime_split *)ino)->i_ctime_sec)) {
		struct inode___ctime_split *i = (void *)ino;

		/* multigrain timestamps keep a flag in the top bit (I_CTIME_QUERIED);
		 * nanoseconds need 30 bits */
		return (u64)BPF_CORE_READ(i, i_ctime_sec) * 1000000000ull +
		       (BPF_CORE_READ(i, i_ctime_nsec) & ((1u << 30) - 1));
	}
	if (bpf_core_field_exists(((struct inode___ctime_hidden *)ino)->__i_ctime))
		BPF_CORE_READ_INTO(&ts, (struct inode___ctime_hidden *)ino, __i_ctime);
	else if (bpf_core_field_exists(((struct inode___ctime_ts *)ino)->i_ctime))
		BPF_CORE_READ_INTO(&ts, (struct inode___ctime_ts *)ino, i_ctime);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

static __always_inline void file_identity(struct file *f, struct mlw_file *out)
{
	struct inode *ino;
	struct vfsmount *vm;
	struct mount *mnt;

	__builtin_memset(out, 0, sizeof(*out));
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	out->inode = (u64)ino;
	out->ino = BPF_CORE_READ(ino, i_ino);
	out->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	out->fs_magic = (u32)BPF_CORE_READ(ino, i_sb, s_magic);
	if (BPF_CORE_READ(ino, i_sb, s_user_ns, level))
		out->fs_flags |= MLW_FS_USERNS;
	out->nlink = BPF_CORE_READ(ino, __i_nlink);
	out->mode = BPF_CORE_READ(ino, i_mode);
	out->size = BPF_CORE_READ(ino, i_size);
	out->ctime_ns = inode_ctime_ns(ino);
	vm = BPF_CORE_READ(f, f_path.mnt);
	mnt = (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
	out->mnt_id = BPF_CORE_READ(mnt, mnt_id);
}

/* The path of a struct path (*path: its address, since a global function
 * takes no kernel pointer) as the current task sees it. Defined in
 * path.bpf.c. */
extern u32 mlw_kpath(u64 *path, u32 *start, u32 *flags);

/* Copies the path at kernel address pa (a struct path, see mlw_kpath) to
 * dst, at most MLW_PATH_MAX bytes; returns the bytes copied (NUL
 * included), 0 when there is none. */
static __always_inline u32 copy_path_at(u64 pa, char *dst, u32 *flags)
{
	struct mlw_kpath *kp;
	u32 zero = 0, start = 0, n;

	if (!pa)
		return 0;
	n = mlw_kpath(&pa, &start, flags);
	if (!n || !(kp = bpf_map_lookup_elem(&kpath, &zero)))
		return 0;
	bpf_probe_read_kernel(dst, n & (MLW_PATH_MAX - 1), &kp->buf[start & (MLW_PATH_MAX - 1)]);
	return n & (MLW_PATH_MAX - 1);
}

/* The path of the open file f (see copy_path_at). */
static __always_inline u32 copy_kpath(struct file *f, char *dst, u32 *flags)
{
	return f ? copy_path_at((u64)f + bpf_core_field_offset(struct file, f_path), dst, flags) :
		   0;
}

/* The directory a relative name given with dirfd is looked up from: the
 * dirfd's file, or the current working directory (AT_FDCWD). As a kernel
 * address of a struct path (see copy_path_at), 0 when there is none. */
static __always_inline u64 lookup_base(s32 dirfd)
{
	struct task_struct *task;
	struct file *f;

	if (dirfd == MLW_AT_FDCWD) {
		task = bpf_get_current_task_btf();
		return (u64)BPF_CORE_READ(task, fs) + bpf_core_field_offset(struct fs_struct, pwd);
	}
	f = fd_to_file(dirfd);
	return f ? (u64)f + bpf_core_field_offset(struct file, f_path) : 0;
}

/* Sends a rename, link or symlink record (struct mlw_link, its fixed
 * fields filled) whose data[] holds the source (n bytes) and destination
 * (m bytes). A relative name is the process's to re-point once the call
 * is over (chdir, another dirfd): the directory it was looked up from is
 * added from the kernel now. A symlink's target is relative to the link,
 * not to a dirfd. */
static __always_inline void link_emit(struct mlw_link *ev, u32 n, u32 m)
{
	u32 od = 0, nd = 0;

	n &= MLW_PATH_MAX - 1;
	m &= MLW_PATH_MAX - 1;
	ev->old_len = n;
	ev->new_len = m;
	if (ev->syscall != MLW_LINK_SYMLINK && n > 1 && ev->data[0] != '/')
		od = copy_path_at(lookup_base(ev->olddirfd), ev->data + n + m, &ev->hdr.flags);
	od &= MLW_PATH_MAX - 1;
	ev->olddir_len = od;
	if (m > 1 && ev->data[n] != '/')
		nd = copy_path_at(lookup_base(ev->newdirfd), ev->data + n + m + od, &ev->hdr.flags);
	nd &= MLW_PATH_MAX - 1;
	ev->newdir_len = nd;
	emit(ev, sizeof(*ev) + n + m + od + nd, MLW_EV_LINK);
}

#endif
