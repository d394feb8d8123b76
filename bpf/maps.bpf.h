/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map and load-time setting of the sensors, declared once. Each
 * Each sensor file includes this one; the maps are __weak so `bpftool gen object`
 * merges them into one set when it links the sensor objects.
 */
#ifndef MLWATCH_MAPS_BPF_H
#define MLWATCH_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <mlwatch/events.h>

/* Marked processes at once. A full map is counted (MLW_CNT_MARKS_FULL):
 * a lineage that cannot be marked goes unwatched, so size it generously. */
#define MLW_MAX_MARKS   16384
/* Per-CPU scratch for building a record: header + path + argv fit. */
#define MLW_SCRATCH_SIZE 16384

/* pid_max can be at most 4M (PID_MAX_LIMIT on 64-bit): one bit each. */
#define MLW_BITMAP_WORDS ((4u << 20) / 64)

/* Set by user space between open and load (the verifier prunes on them). */
const volatile u32 mlw_self_tgid __weak = 0;      /* mlwatch itself never marks */
const volatile bool mlw_match_hex_blobs __weak = true;

/*
 * Fast-path filters, one bit per id, read with a plain load: unmarked
 * processes (nearly all) stop at one bit test instead of a hash lookup.
 * A set bit only says "look in the map"; a clear bit is authoritative.
 * User space flips bits with atomics through the skeleton's mmap of .bss.
 */
u64 mlw_mark_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak;    /* tgid has a mark */
u64 mlw_pending_bits[MLW_BITMAP_WORDS] SEC(".bss") __weak; /* tid has a stash */

/* ML control-plane process names (comm, NUL-padded) -> MLW_ROOT_*; pushed
 * from user space. Looked up once per exec or rename of an unmarked task. */
struct mlw_comm_key {
	char comm[MLW_COMM_LEN];
};
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
const volatile u32 mlw_kill_connect_external __weak = 0;
const volatile u32 mlw_kill_connect_metadata __weak = 0;
/* Program names (comm after exec) -> reason mask. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct mlw_comm_key);
	__type(value, u32);
} kill_comms SEC(".maps") __weak;

/* The internal networks (--internal-net), for enforcement's own
 * destination class: key data is a family byte (4 or 6) and the address;
 * prefixlen counts the family byte's 8 bits. */
struct mlw_net_key {
	u32 prefixlen;
	u8 data[17];
};
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
	__uint(max_entries, MLW_MAX_MARKS);
	__type(key, u32);
	__type(value, struct mlw_mark);
} marks SEC(".maps") __weak;

/* What a syscall entry saw, for its exit to report with the result. */
struct mlw_pending {
	u64 ptr;       /* user pointer: path or sockaddr */
	s32 fd;        /* dirfd or socket fd */
	u32 flags;
	u32 mode;
	u32 syscall;   /* enum mlw_open_syscall, or the connect/exec marker */
	u32 addrlen;
	u8 candidate;  /* the path matched the model patterns */
	u8 killed;     /* --enforce sent SIGKILL at entry */
	u8 _pad[2];
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLW_CNT_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps") __weak;

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
