/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map and load-time setting of the sensors, declared once. Each
 * sensor file includes this one; the maps are __weak so `bpftool gen object`
 * merges them into one set when it links the sensor objects. Keys and
 * values user space writes are in include/mlwatch/maps.h.
 */
#ifndef MLWATCH_MAPS_BPF_H
#define MLWATCH_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <mlwatch/events.h>
#include <mlwatch/maps.h>

/* Marked processes at once, before user space sizes the maps from the
 * host (one entry per process the kernel can have: no flood of sleeping
 * children can fill them). Entries are allocated as used. A full map is
 * counted (MLW_CNT_MARKS_FULL) and alerted: a lineage that cannot be marked
 * goes unwatched. */
#define MLW_MAX_MARKS 16384
/* Per-CPU scratch for building a record: header + filename + argv + real
 * path fit (a power of two: sizes are masked with it). */
#define MLW_SCRATCH_SIZE 32768

/* pid_max can be at most 4M (PID_MAX_LIMIT on 64-bit): one bit each. */
#define MLW_BITMAP_WORDS ((4u << 20) / 64)
/* Destinations remembered per process so a chatty one costs little: a
 * connect or send to one already reported (same load, same context) is
 * counted (MLW_CNT_NET_REPEAT), not sent. An evicted entry is only sent
 * again. */
#define MLW_NET_SEEN 16384
/* A connect or send this soon after a model open is part of the load even
 * when the loader read the file and closed it before unpickling it
 * (pickle.loads(f.read())). */
#define MLW_LOAD_GRACE_NS (500ull * 1000 * 1000)
/* The model's file still open counts as "loading" this long at most: a
 * loader that keeps its checkpoint open (mmap) is not loading forever. */
#define MLW_LOAD_MAX_NS (600ull * 1000 * 1000 * 1000)

/* Set by user space between open and load (the verifier prunes on them). */
const volatile u32 mlw_self_tgid __weak = 0; /* mlwatch itself never marks */
const volatile bool mlw_match_hex_blobs __weak = true;

/*
 * Fast-path filters, one bit per id, read with a plain load: unmarked
 * processes (nearly all) stop at one bit test instead of a hash lookup.
 * A set bit only says "look in the map"; a clear bit is authoritative.
 * User space flips bits with atomics through the skeleton's mmap of .bss.
 */
u64 mlw_mark_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak;    /* tgid has a mark */
u64 mlw_pending_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak; /* tid has a stash */
u64 mlw_unmark_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak;  /* tgid has a clear request */
u64 mlw_taint_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak;   /* tid: a thread made during a load */

/* ML control-plane process names (comm, NUL-padded) -> MLW_ROOT_*; pushed
 * from user space. Looked up once per exec or rename of an unmarked task. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct mlw_comm_key);
	__type(value, u32);
} root_comms SEC(".maps") __weak;

/* Threads renamed to a name starting with this are control-plane workers
 * too (Ray names its workers "ray::<task>" with prctl after exec). Empty:
 * off. */
const volatile char mlw_root_prefix[8] __weak = "ray::";

/*
 * Enforcement (--enforce, or rules with action "kill"), off unless user
 * space turns it on. Each value is a mask of mlw_mark.reason bits: a marked
 * process is killed when its mark's reason is in the mask (a shell is an
 * attack under a model loader, and a job under a Ray root).
 */
const volatile bool mlw_enforce __weak = false;
const volatile u32 mlw_kill_temp_exec __weak = 0;        /* exec from /tmp, /var/tmp, /dev/shm */
const volatile u32 mlw_kill_fileless_exec __weak = 0;    /* exec of a memfd or deleted file */
const volatile u32 mlw_kill_connect_external __weak = 0; /* connects and sends */
const volatile u32 mlw_kill_connect_metadata __weak = 0;
/* the same, only during a model load (in_load()) */
const volatile u32 mlw_kill_connect_external_load __weak = 0;
const volatile u32 mlw_kill_connect_metadata_load __weak = 0;
/* Program names -> reason mask: the real file's name (what a symlink
 * points at), first 15 bytes, NUL-padded as a comm. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct mlw_comm_key);
	__type(value, u32);
} kill_names SEC(".maps") __weak;
/* The same programs by identity (dev, inode) -> reason mask: a hard link
 * under another name is the same program. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mlw_exe_key);
	__type(value, u32);
} kill_exes SEC(".maps") __weak;

/* The internal networks (--internal-net), for enforcement's own
 * destination class. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, struct mlw_net_key);
	__type(value, u32);
} internal_nets SEC(".maps") __weak;

/* tgid -> why it is watched; inherited at fork, removed at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MLW_MAX_MARKS);
	__type(key, u32);
	__type(value, struct mlw_mark_state);
} marks SEC(".maps") __weak;

/* tgid -> a clear request from user space (see struct mlw_unmark). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MLW_MAX_MARKS);
	__type(key, u32);
	__type(value, struct mlw_unmark);
} unmarks SEC(".maps") __weak;

/* What a syscall entry saw, for its exit to report with the result. */
struct mlw_pending {
	u64 ptr; /* user pointer: path or sockaddr */
	s32 fd;  /* dirfd or socket fd */
	u32 flags;
	u32 mode;
	u32 syscall; /* enum mlw_open_syscall, or the connect/exec marker */
	u32 addrlen;
	u8 candidate; /* the path matched the model patterns */
	u8 killed;    /* --enforce: SIGKILL is due at the exit */
	u8 have_addr; /* connect: addr is the kernel's copy (cgroup hook) */
	u8 denied;    /* connect: the cgroup hook refused it */
	struct mlw_sockaddr addr;
};

/* Per thread (task-local storage: no lock, freed with the task); only valid
 * while the thread's bit in mlw_pending_bits is set. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mlw_pending);
} pending SEC(".maps") __weak;

/* Lowercase model extensions (see events.h), pushed from user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u64);
	__type(value, u32);
} model_exts SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* user space may resize before load */
} events SEC(".maps") __weak;

/*
 * Flood control. A quarter of the ring buffer is kept for vital records
 * (what a marked lineage does: exec, connect, send, dup, link, socket, its
 * first model open, and the opens of a payload or a load); other records
 * are shed once the ring is three quarters full. Vital records are rated
 * per user: past MLW_VITAL_RATE a second (after a burst), one user's
 * records compete as not vital, so a user flooding its own marked
 * processes cannot take the headroom another user's attack needs.
 */
#define MLW_HEADROOM_SHIFT 2
#define MLW_VITAL_RATE 2000
#define MLW_VITAL_BURST 20000
/* Two buckets per user: what a lineage does (exec, connect, send, ...,
 * the open that marks), and the opens of payloads and loads, so a user's
 * busy data loader cannot spend the budget its attack's exec needs. */
struct mlw_budget {
	u64 ts[2];
	u64 tokens[2];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct mlw_budget);
} uid_budget SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLW_CNT_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps") __weak;

/* Files a marked process opened recently, by identity and access: the same
 * open again within this long is counted, not sent (an open loop, a log
 * reopened per line). A model is a repeat for as long as its entry lasts,
 * if it is unchanged (same ctime and size): a data loader re-reading its
 * shard must not re-open the load window each time. An evicted entry is
 * only sent again. */
#define MLW_OPEN_SEEN 16384
#define MLW_OPEN_REPEAT_NS (60ull * 1000 * 1000 * 1000)
enum mlw_seen_as { MLW_SEEN_READ, MLW_SEEN_WRITE, MLW_SEEN_MODEL };
struct mlw_open_key {
	u64 ino;
	u32 dev;
	u32 tgid;
	u32 as; /* enum mlw_seen_as */
	u32 _pad;
};
struct mlw_open_seen {
	u64 mark_ns;
	u64 ts;
	u64 ctime_ns; /* models only: the file as it was then */
	u64 size;
	u64 inode; /* models only: that very inode (btrfs subvolumes share numbers) */
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLW_OPEN_SEEN);
	__type(key, struct mlw_open_key);
	__type(value, struct mlw_open_seen);
} open_seen SEC(".maps") __weak;

/* Destinations already reported (see MLW_NET_SEEN). */
struct mlw_dest_key {
	u32 tgid;
	u16 port;
	u8 family;
	u8 ctx; /* the event kind and whether it was part of a load */
	u8 addr[16];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLW_NET_SEEN);
	__type(key, struct mlw_dest_key);
	__type(value, u64); /* the mark_ns it was reported under */
} net_seen SEC(".maps") __weak;

/* mlwatch's own programs, maps and links (MLW_SELF_KEY(obj, id)), pushed
 * from user space once they are attached: bpf() on one of them from
 * another process is reported (bpf/self.bpf.c). */
#define MLW_SELF_IDS 1024
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLW_SELF_IDS);
	__type(key, u64);
	__type(value, u8);
} self_ids SEC(".maps") __weak;

/* mlwatch's threads (tid -> 1): what ptrace, process_vm_* and /proc/PID
 * name is a thread. Seeded from user space, kept by the fork and exit
 * sensors; entries go with their thread, so a bound this size is never
 * reached by mlwatch's own few threads. */
#define MLW_SELF_TIDS 1024
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLW_SELF_TIDS);
	__type(key, u32);
	__type(value, u8);
} self_tids SEC(".maps") __weak;

/*
 * Python audit probes (bpf/python.bpf.c), filled by user/sense/pyprobe.c:
 * per interpreter (the attach cookie) where CPython keeps what the probe
 * reads; the events read, by name; the allowlist as the kernel matches it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLW_PY_INTERPS);
	__type(key, u32);
	__type(value, struct mlw_py_layout);
} py_layouts SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct mlw_py_evkey);
	__type(value, struct mlw_py_evspec);
} py_events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLW_PY_PATTERNS);
	__type(key, u32);
	__type(value, struct mlw_py_pattern);
} py_patterns SEC(".maps") __weak;

/* Globals judged (full names -> enum mlw_py_verdict): a pool's repeated
 * globals are judged once. User space writes ALLOW for a global it allowed
 * that the kernel's patterns could not (pyprobe_allow_global). */
#define MLW_PY_VERDICTS 4096
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLW_PY_VERDICTS);
	__type(key, struct mlw_py_global);
	__type(value, u8);
} py_verdicts SEC(".maps") __weak;

/* (process, global) already sent: a repeat is counted (MLW_CNT_PY_REPEAT),
 * not sent. An evicted entry is only sent again. */
#define MLW_PY_SEEN 16384
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLW_PY_SEEN);
	__type(key, struct mlw_py_seen_key);
	__type(value, u8);
} py_seen SEC(".maps") __weak;

/* Programs (by identity) already executed since start: the first exec of
 * each is flagged MLW_F_EXE_FIRST, so user space can look for a Python
 * interpreter in it. User space deletes an entry it could not examine. */
#define MLW_EXE_SEEN 16384
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLW_EXE_SEEN);
	__type(key, struct mlw_exe_key);
	__type(value, u8);
} exe_seen SEC(".maps") __weak;

struct mlw_scratch {
	u8 buf[MLW_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct mlw_scratch);
} scratch SEC(".maps") __weak;

#endif
