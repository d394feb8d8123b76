/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Keys and values of the maps user space writes into, shared by the BPF
 * sensors (bpf/maps.bpf.h declares the maps) and the collector. One
 * definition each.
 */
#ifndef MLWATCH_MAPS_H
#define MLWATCH_MAPS_H

#include <mlwatch/events.h>

/*
 * A mark as the kernel keeps it (map `marks`, per tgid). Records carry
 * only `m`; the rest says whether a model load is in progress, for the
 * connects and sends that happen during one.
 */
struct mlw_mark_state {
	struct mlw_mark m;
	u64 model_file; /* the struct file of the latest model open (an identity, never
	                    * dereferenced), 0 if none */
	u64 model_ino;  /* its inode number: a freed struct file is soon reused, often
	                    * for the next file the same fd number gets */
	u64 model_ns;   /* when it was opened */
	s32 model_fd;   /* and under which fd */
	u32 last_as;    /* the last plain open sent: how (enum mlw_seen_as), */
	u64 last_inode; /* of which in-memory inode, */
	u64 last_ns;    /* when: an open loop's repeats are found here first */
};

/* A clear request (map `unmarks`, per tgid): user space judged every model
 * this process opened under the mark up to `models` to be data that cannot
 * run code. The kernel treats the process as unmarked while the mark still
 * has exactly that `mark_ns` and `models`; one more model open, and the
 * request no longer applies. */
struct mlw_unmark {
	u64 mark_ns;
	u32 models;
	u32 _pad;
};

/* Process names (comm, NUL-padded): control-plane roots, kill tables. */
struct mlw_comm_key {
	char comm[MLW_COMM_LEN];
};

/* The internal networks (--internal-net), for enforcement's destination
 * class: data is a family byte (4 or 6) and the address; prefixlen counts
 * the family byte's 8 bits too. */
struct mlw_net_key {
	u32 prefixlen;
	u8 data[17];
};

/* An executable by identity (map `kill_exes`): the same program under
 * another name (a hard link) is still killed. */
struct mlw_exe_key {
	u64 ino;
	u32 dev; /* kernel encoding, as in struct mlw_file */
	u32 _pad;
};

/* Key of map `self_ids`: the kind of object (MLW_SELF_OBJ_*) and its id. */
#define MLW_SELF_KEY(obj, id) ((u64)(obj) << 32 | (u32)(id))

#endif /* MLWATCH_MAPS_H */
