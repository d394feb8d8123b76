/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers every sensor uses: marks, record headers, emitting, counters. */
#ifndef MLWATCH_COMMON_BPF_H
#define MLWATCH_COMMON_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#define MLW_AT_FDCWD (-100)

static __always_inline void count(u32 idx)
{
	u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool bit_test(const u64 *bits, u32 id)
{
	return bits[(id >> 6) & (MLW_BITMAP_WORDS - 1)] & (1ull << (id & 63));
}

static __always_inline void bit_set(u64 *bits, u32 id)
{
	__sync_fetch_and_or(&bits[(id >> 6) & (MLW_BITMAP_WORDS - 1)], 1ull << (id & 63));
}

static __always_inline void bit_clear(u64 *bits, u32 id)
{
	__sync_fetch_and_and(&bits[(id >> 6) & (MLW_BITMAP_WORDS - 1)], ~(1ull << (id & 63)));
}

/* The mark entry, cleared or not (the open family re-arms a cleared one). */
static __always_inline struct mlw_mark_state *mark_raw(u32 tgid)
{
	if (!bit_test(mlw_mark_bits, tgid))
		return NULL;
	return bpf_map_lookup_elem(&marks, &tgid);
}

/* The mark in force: none while a clear request from user space names
 * exactly this mark and its model count (see struct mlw_unmark). */
static __always_inline struct mlw_mark_state *lookup_mark(u32 tgid)
{
	struct mlw_mark_state *s = mark_raw(tgid);
	struct mlw_unmark *u;

	if (!s || !bit_test(mlw_unmark_bits, tgid))
		return s;
	u = bpf_map_lookup_elem(&unmarks, &tgid);
	if (u && u->mark_ns == s->m.mark_ns && u->models == *(volatile u32 *)&s->m.models)
		return NULL;
	return s;
}

/* The bit goes up before the map entry, so no marked process is ever
 * behind a clear bit. A new mark drops any clear request left under the
 * id: it was for an earlier process or an earlier mark (a pid reused
 * inside the lineage must not inherit its predecessor's clearing). */
static __always_inline long set_mark(u32 tgid, const struct mlw_mark_state *m, u64 flags)
{
	long err;

	bit_set(mlw_mark_bits, tgid);
	err = bpf_map_update_elem(&marks, &tgid, m, flags);
	if (err && err != -17 /* EEXIST: a sibling thread marked it first */)
		count(MLW_CNT_MARKS_FULL);
	if (!err && bit_test(mlw_unmark_bits, tgid)) {
		bpf_map_delete_elem(&unmarks, &tgid);
		bit_clear(mlw_unmark_bits, tgid);
	}
	return err;
}

static __always_inline void clear_mark(u32 tgid)
{
	bpf_map_delete_elem(&marks, &tgid);
	bit_clear(mlw_mark_bits, tgid);
	if (bit_test(mlw_unmark_bits, tgid)) {
		bpf_map_delete_elem(&unmarks, &tgid);
		bit_clear(mlw_unmark_bits, tgid);
	}
}

/* The stash of the current thread (tid is its id), if it has one. */
static __always_inline struct mlw_pending *lookup_pending(u32 tid)
{
	if (!bit_test(mlw_pending_bits, tid))
		return NULL;
	return bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0, 0);
}

static __always_inline void stash_pending(u32 tid, const struct mlw_pending *p)
{
	struct mlw_pending *v = bpf_task_storage_get(&pending, bpf_get_current_task_btf(), 0,
						     BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!v) {
		count(MLW_CNT_PENDING_FULL);
		return;
	}
	*v = *p;
	bit_set(mlw_pending_bits, tid);
}

/* Clearing the bit is enough: the storage is only read behind it. */
static __always_inline void drop_pending(u32 tid)
{
	if (bit_test(mlw_pending_bits, tid))
		bit_clear(mlw_pending_bits, tid);
}

static __always_inline void *scratch_buf(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void fill_hdr(struct mlw_hdr *h, u32 kind, const struct mlw_mark_state *mark)
{
	/* Plain CO-RE loads through the task's BTF pointer: each helper call
	 * costs 35-80 ns here, and every field below had one. The values are
	 * what the helpers return (cgroup id: the v2 hierarchy's kernfs id). */
	struct task_struct *task = bpf_get_current_task_btf();

	h->kind = kind;
	h->flags = 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->tgid = task->tgid;
	h->tid = task->pid;
	h->ppid = task->real_parent->tgid;
	h->uid = task->cred->uid.val;
	h->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	__builtin_memcpy(h->comm, task->comm, sizeof(h->comm));
	if (mark) {
		h->mark = mark->m;
		h->flags |= MLW_F_MARKED;
	} else {
		__builtin_memset(&h->mark, 0, sizeof(h->mark));
	}
}

/* Ring-buffer bytes pending before a batched record wakes the reader. */
#define MLW_WAKEUP_BYTES (256 << 10)

/* Takes one vital record from the user's budget (see MLW_VITAL_RATE);
 * bucket 0: what a lineage does, 1: opens. */
static __always_inline bool budget_take(u32 uid, u32 bucket)
{
	struct mlw_budget *b = bpf_map_lookup_elem(&uid_budget, &uid);
	u64 now = bpf_ktime_get_ns(), add, t;

	bucket &= 1;
	if (!b) {
		struct mlw_budget nb = { .ts = { now, now },
					 .tokens = { MLW_VITAL_BURST, MLW_VITAL_BURST } };

		nb.tokens[bucket]--;
		bpf_map_update_elem(&uid_budget, &uid, &nb, BPF_ANY);
		return true;
	}
	/* racy across CPUs by design: a few records either way */
	t = b->ts[bucket];
	add = now > t ? (now - t) * MLW_VITAL_RATE / 1000000000ull : 0;
	if (add) {
		t = b->tokens[bucket] + add;
		b->tokens[bucket] = t > MLW_VITAL_BURST ? MLW_VITAL_BURST : t;
		b->ts[bucket] = now;
	}
	if (!b->tokens[bucket]) {
		count(MLW_CNT_OVER_BUDGET);
		return false;
	}
	b->tokens[bucket]--;
	return true;
}

/* What a marked lineage does is vital; so is the open that marks, and
 * whatever another process does to mlwatch itself. */
static __always_inline bool vital_kind(const struct mlw_hdr *h, u32 kind)
{
	if (kind == MLW_EV_SELF)
		return true;
	if (!(h->flags & MLW_F_MARKED))
		return false;
	switch (kind) {
	case MLW_EV_EXEC:
	case MLW_EV_EXEC_FAIL:
	case MLW_EV_CONNECT:
	case MLW_EV_DUP:
	case MLW_EV_SEND:
	case MLW_EV_LINK:
	case MLW_EV_SOCKET:
	case MLW_EV_PYTHON: /* a marked process's, or the find_class that marks */
		return true;
	case MLW_EV_MODEL_OPEN:
		return h->flags & MLW_F_NEW_MARK;
	default:
		return false;
	}
}

static __always_inline bool open_vital(const struct mlw_mark_state *s, u32 tid);

/* Send `size` bytes of a record built in scratch. The mask bounds the size
 * for the verifier; records never come near MLW_SCRATCH_SIZE. Plain opens
 * of marked processes are batched: a wakeup per record costs more than
 * the record, and the reader polls on a short timeout anyway. Once the
 * ring buffer is three quarters full (see MLW_HEADROOM_SHIFT), a record
 * that is not vital is shed and counted; only then is vitality worked
 * out, and the user's budget spent. open: the mark of an open (its
 * vitality depends on the load), NULL for other records. false: not sent. */
static __always_inline bool emit_as(void *rec, u64 size, u32 kind,
				    const struct mlw_mark_state *open)
{
	const struct mlw_hdr *h = rec;
	u64 flags = 0, used = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	u64 ring = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	if (used + size > ring - (ring >> MLW_HEADROOM_SHIFT)) {
		bool vital = vital_kind(h, kind) ||
			     (open && open_vital(open, (u32)bpf_get_current_pid_tgid()));

		if (!vital ||
		    !budget_take(h->uid, kind == MLW_EV_OPEN || (kind == MLW_EV_MODEL_OPEN &&
								 !(h->flags & MLW_F_NEW_MARK)))) {
			count(MLW_CNT_SHED_EXEC + kind - 1);
			return false;
		}
	}
	if (kind == MLW_EV_OPEN && used < MLW_WAKEUP_BYTES)
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, rec, size & (MLW_SCRATCH_SIZE - 1), flags)) {
		count(MLW_CNT_RB_FULL_EXEC + kind - 1);
		return false;
	}
	count(MLW_CNT_EVENTS_SENT);
	return true;
}

/* false: shed or lost (counted) */
static __always_inline bool emit(void *rec, u64 size, u32 kind)
{
	return emit_as(rec, size, kind, NULL);
}

/* Reads a user string into dst (at most MLW_PATH_MAX bytes). Returns its
 * length with the NUL, 0 if unreadable; flags truncation on the header. */
static __always_inline u32 read_user_path(char *dst, u64 uptr, struct mlw_hdr *h)
{
	long n = bpf_probe_read_user_str(dst, MLW_PATH_MAX, (const void *)uptr);

	if (n <= 0) {
		dst[0] = 0;
		count(MLW_CNT_PATH_FAULT);
		return 1;
	}
	/* A full buffer means the path went on past it (PATH_MAX includes
	 * the NUL, so a real path this long is already at the limit). */
	if (n >= MLW_PATH_MAX) {
		h->flags |= MLW_F_PATH_TRUNC;
		count(MLW_CNT_PATH_TRUNC);
		/* keep the length maskable; the decoder ends the string */
		return MLW_PATH_MAX - 1;
	}
	return (u32)n;
}

/* The struct file behind fd in the current task, or NULL. */
static __always_inline struct file *fd_to_file(s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !fdt || (u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

#define MLW_S_IFMT 00170000
#define MLW_S_IFSOCK 0140000

/*
 * Is the current thread's work part of a model load? While the model's
 * file is still open under the fd it was opened as (the unpickler reads
 * it), shortly after its open (a loader that read it whole first), or in
 * a thread or process made during a load (the payload's own). This is
 * what makes an outbound connect a payload's rather than the job's own
 * traffic once its model is loaded.
 */
static __always_inline bool in_load(const struct mlw_mark_state *s, u32 tid);

/* The socket behind a file, or NULL when it is not one. */
static __always_inline struct socket *file_socket(struct file *f)
{
	u16 mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & MLW_S_IFMT) != MLW_S_IFSOCK)
		return NULL;
	return (struct socket *)BPF_CORE_READ(f, private_data);
}

static __always_inline bool in_load(const struct mlw_mark_state *s, u32 tid)
{
	struct file *f;
	u64 age;

	if ((s->m.reason & MLW_MARK_PAYLOAD) || bit_test(mlw_taint_bits, tid))
		return true;
	/* a global outside the allowlist: the payload runs right after */
	if (!s->model_file)
		return (s->m.reason & MLW_MARK_PYTHON) &&
		       bpf_ktime_get_ns() - s->model_ns < MLW_LOAD_GRACE_NS;
	age = bpf_ktime_get_ns() - s->model_ns;
	if (age < MLW_LOAD_GRACE_NS)
		return true;
	if (age >= MLW_LOAD_MAX_NS)
		return false;
	f = fd_to_file(s->model_fd);
	return (u64)f == s->model_file && BPF_CORE_READ(f, f_inode, i_ino) == s->model_ino;
}

/* An open is vital when it may be the payload's: a process a load made
 * (a child of a loader, or marked as the payload's), or the loader while
 * it loads. A loader reading its dataset afterwards is not. */
static __always_inline bool open_vital(const struct mlw_mark_state *s, u32 tid)
{
	return s && (s->m.depth || in_load(s, tid));
}

/* false when this destination was already reported for this process,
 * load and context (the repeat is counted instead). */
static __always_inline bool net_first(const struct mlw_mark_state *s, u32 kind, bool load,
				      const struct mlw_sockaddr *a)
{
	struct mlw_dest_key k = {
		.tgid = current_tgid(),
		.port = a->port,
		.family = (u8)a->family,
		.ctx = (u8)(kind << 1 | load),
	};
	u64 *seen;

	__builtin_memcpy(k.addr, a->addr, sizeof(k.addr));
	seen = bpf_map_lookup_elem(&net_seen, &k);
	if (seen && *seen == s->m.mark_ns) {
		count(MLW_CNT_NET_REPEAT);
		return false;
	}
	bpf_map_update_elem(&net_seen, &k, &s->m.mark_ns, BPF_ANY);
	return true;
}

#endif
