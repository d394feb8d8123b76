/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event ABI shared by the BPF sensors (bpf/) and the collector (user/).
 * One definition of each record; both sides include this file.
 *
 * Every record starts with struct mlw_hdr. Records are variable length: the
 * string tail (path, argv) is sent only as long as it is, and a flag says when
 * the kernel side had to cut it.
 */
#ifndef MLWATCH_EVENTS_H
#define MLWATCH_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#endif

#define MLW_COMM_LEN 16
/* PATH_MAX: a longer path cannot be opened anyway. Power of two so the BPF
 * side can bound lengths with a mask. */
#define MLW_PATH_MAX 4096
/* argv is read from the new image's mm at sched_process_exec; 4 KiB covers
 * every real `sh -c` payload we know of, longer ones are flagged. */
#define MLW_ARGS_MAX 4096
/* Unix socket paths are at most 108 bytes (sun_path). */
#define MLW_UNIX_PATH_MAX 108

enum mlw_event_kind {
	MLW_EV_EXEC = 1,       /* sched_process_exec of a marked process */
	MLW_EV_EXEC_FAIL = 2,  /* execve/execveat that returned an error */
	MLW_EV_FORK = 3,       /* a marked process created a new process */
	MLW_EV_EXIT = 4,       /* a marked process (its leader) exited */
	MLW_EV_OPEN = 5,       /* open/openat/openat2/creat by a marked process */
	MLW_EV_MODEL_OPEN = 6, /* an open whose path matched the model patterns */
	MLW_EV_CONNECT = 7,    /* connect() by a marked process */
	MLW_EV_DUP = 8,        /* dup2/dup3 of a socket onto fd 0, 1 or 2 */
	MLW_EV_KIND_MAX,
};

/* mlw_hdr.flags */
#define MLW_F_PATH_TRUNC   (1u << 0) /* path longer than the kernel side reads */
#define MLW_F_ARGS_TRUNC   (1u << 1) /* argv longer than MLW_ARGS_MAX */
#define MLW_F_MARKED       (1u << 2) /* the process carried a mark when sent */
#define MLW_F_NEW_MARK     (1u << 3) /* this event set the mark (model open) */
#define MLW_F_ARGS_FAULT   (1u << 4) /* argv could not be read (page not present) */
#define MLW_F_ROOT_CHECK   (1u << 5) /* exec of an unmarked interpreter, sent so user
                                       * space can tell a control-plane process by argv */
#define MLW_F_KILLED       (1u << 6) /* --enforce: SIGKILLed at this event, before the new
                                       * program ran or the connect's caller went on */

/* Why a process is marked (mlw_mark.reason). */
#define MLW_MARK_MODEL     (1u << 0) /* it, or an ancestor, opened a model file */
#define MLW_MARK_USER      (1u << 1) /* user space marked it (classified by bytes) */
#define MLW_MARK_ROOT      (1u << 2) /* a watched ML control-plane process */

/* root_comms values: what an exec (or rename) to that comm means. */
#define MLW_ROOT_MARK      1u /* a control-plane process: mark it and its lineage */
#define MLW_ROOT_ARGV      2u /* an interpreter: send the exec, user space reads argv */

/*
 * The mark kept per tgid in the kernel (map `marks`) and inherited at fork.
 * `loader_tgid` and `mark_ns` identify the load that started the lineage, so
 * user space can tie a grandchild back to its loader after setsid/reparenting.
 */
struct mlw_mark {
	u32 loader_tgid;
	u32 reason;
	u64 mark_ns;   /* boot-time ns of the model open that set the mark */
	u32 depth;     /* 0 for the loader itself, +1 per fork */
	u32 _pad;
};

struct mlw_hdr {
	u32 kind;      /* enum mlw_event_kind */
	u32 flags;     /* MLW_F_* */
	u64 ts_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	u32 tgid;
	u32 tid;
	u32 ppid;      /* tgid of real_parent at the time of the event */
	u32 uid;
	u64 cgroup_id;
	char comm[MLW_COMM_LEN];
	struct mlw_mark mark; /* zero when unmarked */
};

struct mlw_exec {
	struct mlw_hdr hdr;
	u32 old_tid;
	u32 filename_len;  /* bytes of filename in data[], NUL included */
	u32 args_len;      /* bytes of argv in data[] after the filename (NUL-separated) */
	u32 _pad;
	char data[];       /* filename, then argv */
};

struct mlw_exec_fail {
	struct mlw_hdr hdr;
	s32 ret;           /* -errno */
	s32 dirfd;         /* execveat's dirfd; AT_FDCWD for execve */
	u32 path_len;
	u32 _pad;
	char path[];
};

struct mlw_fork {
	struct mlw_hdr hdr; /* hdr.tgid is the parent */
	u32 child_tgid;
	u32 _pad;
};

struct mlw_exit {
	struct mlw_hdr hdr;
	s32 exit_code;
	u32 _pad;
};

/* MLW_EV_OPEN and MLW_EV_MODEL_OPEN */
struct mlw_open {
	struct mlw_hdr hdr;
	s32 ret;           /* fd, or -errno */
	s32 dirfd;
	u32 flags;         /* O_* as passed */
	u32 mode;
	u32 syscall;       /* enum mlw_open_syscall */
	u32 path_len;      /* bytes in path[], NUL included */
	char path[];
};

enum mlw_open_syscall {
	MLW_SYS_OPENAT = 0,
	MLW_SYS_OPEN = 1,
	MLW_SYS_OPENAT2 = 2,
	MLW_SYS_CREAT = 3,
};

struct mlw_sockaddr {
	u16 family;        /* AF_INET, AF_INET6, AF_UNIX, or other */
	u16 port;          /* host byte order */
	u32 scope_id;
	u8 addr[16];       /* IPv4 in the first 4 bytes */
	char unix_path[MLW_UNIX_PATH_MAX]; /* abstract sockets start with '@' */
};

struct mlw_connect {
	struct mlw_hdr hdr;
	s32 ret;           /* 0, -EINPROGRESS, or -errno */
	s32 fd;
	s32 sock_type;     /* SOCK_STREAM, SOCK_DGRAM, ... (0 if unknown) */
	u32 addrlen;
	struct mlw_sockaddr addr;
};

struct mlw_dup {
	struct mlw_hdr hdr;
	s32 oldfd;
	s32 newfd;
	u32 syscall;       /* 2 = dup2, 3 = dup3 */
	s32 sock_type;
	struct mlw_sockaddr peer; /* the socket's remote end, when inet */
};

/* Index of the per-reason counters in the `counters` map. */
enum mlw_counter {
	MLW_CNT_RB_FULL_EXEC = 0,    /* ring buffer full: one per event kind */
	MLW_CNT_RB_FULL_EXEC_FAIL,
	MLW_CNT_RB_FULL_FORK,
	MLW_CNT_RB_FULL_EXIT,
	MLW_CNT_RB_FULL_OPEN,
	MLW_CNT_RB_FULL_MODEL_OPEN,
	MLW_CNT_RB_FULL_CONNECT,
	MLW_CNT_RB_FULL_DUP,
	MLW_CNT_MARKS_FULL,          /* marks map full: a lineage went unwatched */
	MLW_CNT_PENDING_FULL,        /* per-thread syscall stash full */
	MLW_CNT_PATH_TRUNC,          /* paths cut at MLW_PATH_MAX */
	MLW_CNT_ARGS_TRUNC,          /* argv cut at MLW_ARGS_MAX */
	MLW_CNT_PATH_FAULT,          /* user path unreadable */
	MLW_CNT_EVENTS_SENT,
	MLW_CNT_MARKS_SET,
	MLW_CNT_OPEN_QUIET,          /* marked read-only opens of .py/.pyc/.so not sent */
	MLW_CNT_MAX,
};

/*
 * Model-extension table: key is the lowercase extension (without the dot)
 * packed into a u64, little-endian, zero padded. Extensions longer than 8
 * bytes cannot be keyed and are matched in user space only.
 */
#define MLW_EXT_MAX 8
/* Value flags of the model-extension table. */
#define MLW_EXT_ANYWHERE      0
/* Not when directly inside a *-packages directory: Python's site module
 * opens every .pth file in site-packages (path configuration) at start-up. */
#define MLW_EXT_NOT_IN_PACKAGES (1u << 0)
/* An extension longer than MLW_EXT_MAX ("safetensors"): keyed by its last
 * 8 bytes, matched when the path ends with them. */
#define MLW_EXT_LONG            (1u << 1)
/* Not a model: a read-only open of it by a marked process is not sent
 * (Python imports: .py .pyc .so). Kept in its own table, `quiet_exts`. */
#define MLW_EXT_QUIET           (1u << 2)

#endif /* MLWATCH_EVENTS_H */
