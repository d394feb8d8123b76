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
	MLW_EV_DUP = 8,        /* a socket became fd 0, 1 or 2 (dup*, fcntl, socket, accept) */
	MLW_EV_SEND = 9,       /* a datagram to an explicit address (sendto/sendmsg, io_uring) */
	MLW_EV_LINK = 10,      /* rename, link or symlink by a marked process */
	MLW_EV_SOCKET = 11,    /* a raw or packet socket made by a marked process */
	MLW_EV_SELF = 12,      /* another process aimed at mlwatch itself (any process) */
	MLW_EV_PYTHON = 13,    /* a Python audit event (probe python:audit, or PySys_Audit) */
	MLW_EV_KIND_MAX,
};

/* mlw_hdr.flags */
/* clang-format off */
#define MLW_F_PATH_TRUNC   (1u << 0) /* path longer than the kernel side reads */
#define MLW_F_ARGS_TRUNC   (1u << 1) /* argv longer than MLW_ARGS_MAX */
#define MLW_F_MARKED       (1u << 2) /* the process carried a mark when sent */
#define MLW_F_NEW_MARK     (1u << 3) /* this event set the mark (model open) */
#define MLW_F_ARGS_FAULT   (1u << 4) /* argv could not be read (page not present) */
#define MLW_F_ROOT_CHECK   (1u << 5) /* exec of an unmarked interpreter, sent so user
                                       * space can tell a control-plane process by argv */
#define MLW_F_KILLED       (1u << 6) /* --enforce: SIGKILLed at this event, before the new
                                       * program ran or the connect's caller went on */
#define MLW_F_KPATH_TRUNC  (1u << 7) /* the kernel path was cut (too deep or too long) */
#define MLW_F_IN_LOAD      (1u << 8) /* connect/send: while a model was being loaded, or
                                       * from a thread or process such a load started */
#define MLW_F_NO_SYSCALL   (1u << 9) /* not from its own syscall (io_uring, sendto with
                                       * MSG_FASTOPEN): the result is not known */
#define MLW_F_ADDR_USER    (1u << 10) /* connect: the address is the caller's buffer read at
                                        * exit (the kernel kept none: the connect failed early) */
#define MLW_F_DENIED       (1u << 11) /* --enforce: the kernel refused the connect (EPERM) */
#define MLW_F_SEEDED       (1u << 12) /* model_open: made by user space for a file a process
                                        * held when mlwatch started (ret -1: only mapped) */
#define MLW_F_EXE_FIRST    (1u << 13) /* exec of an unmarked process whose executable (by
                                        * identity) was not seen since start: sent once per
                                        * program, so user space can find new interpreters */
/* clang-format on */

/* Why a process is marked (mlw_mark.reason). */
/* clang-format off */
#define MLW_MARK_MODEL     (1u << 0) /* it, or an ancestor, opened a model file */
#define MLW_MARK_USER      (1u << 1) /* user space marked it (classified by bytes) */
#define MLW_MARK_ROOT      (1u << 2) /* a watched ML control-plane process */
#define MLW_MARK_NOTEBOOK  (1u << 3) /* ... an interactive one (Jupyter): shells are the user's */
#define MLW_MARK_PAYLOAD   (1u << 4) /* made while an ancestor was loading a model: the
                                       * payload's own process, or one of its descendants */
#define MLW_MARK_PYTHON    (1u << 5) /* it, or an ancestor, unpickled a global outside the
                                       * allowlist (Python's pickle.find_class audit event) */
/* clang-format on */

/* root_comms values: what an exec (or rename) to that comm means. */
#define MLW_ROOT_MARK 1u     /* a control-plane process: mark it and its lineage */
#define MLW_ROOT_ARGV 2u     /* an interpreter: send the exec, user space reads argv */
#define MLW_ROOT_NOTEBOOK 4u /* with MLW_ROOT_MARK: an interactive root (Jupyter) */

/*
 * The mark kept per tgid in the kernel (map `marks`) and inherited at fork.
 * `loader_tgid` and `mark_ns` identify the load that started the lineage, so
 * user space can tie a grandchild back to its loader after setsid/reparenting.
 */
struct mlw_mark {
	u32 loader_tgid;
	u32 reason;
	u64 mark_ns; /* boot-time ns of the model open that set the mark */
	u32 depth;   /* 0 for the loader itself, +1 per fork */
	u32 models;  /* model candidates this process opened under the mark (a
	                * clear request names the count it judged: a later open
	                * makes the request stale, so the mark stays) */
};

/* The file the kernel opened or executed, from its struct file: what user
 * space ties its reads to, and what a rename, link or swapped path cannot
 * fake. */
struct mlw_file {
	u64 ino;
	u32 dev;      /* the superblock's s_dev, kernel encoding (major << 20 | minor) */
	u32 mnt_id;   /* the mount's id, as statx(STATX_MNT_ID) reports it */
	u32 nlink;    /* 0: unlinked (a deleted file, or a memfd) */
	u16 mode;     /* i_mode; 0: no file */
	u16 fs_flags; /* MLW_FS_* */
	u64 size;     /* i_size when sent */
	u64 ctime_ns; /* i_ctime when sent: any later change to the file moves it */
	u32 fs_magic; /* the file system's s_magic (EXT4, TMPFS, FUSE, NFS, ...) */
	u32 _pad;
	u64 inode; /* the in-memory inode's address: tells apart two files that share
	                * dev and ino (btrfs subvolumes); never printed */
};
/* struct mlw_file fs_flags */
#define MLW_FS_USERNS (1u << 0) /* mounted from a user namespace (unprivileged) */

struct mlw_hdr {
	u32 kind;  /* enum mlw_event_kind */
	u32 flags; /* MLW_F_* */
	u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	u32 tgid;
	u32 tid;
	u32 ppid; /* tgid of real_parent at the time of the event */
	u32 uid;
	u64 cgroup_id;
	char comm[MLW_COMM_LEN];
	struct mlw_mark mark; /* zero when unmarked */
};

struct mlw_exec {
	struct mlw_hdr hdr;
	struct mlw_file file; /* what runs: the ELF, or a script's interpreter */
	u32 old_tid;
	u32 filename_len; /* bytes of filename in data[], NUL included */
	u32 args_len;     /* bytes of argv in data[] after the filename (NUL-separated) */
	u32 kpath_len;    /* bytes of the real path of `file` after argv, NUL included */
	char data[];      /* filename as given, then argv, then the real path */
};

struct mlw_exec_fail {
	struct mlw_hdr hdr;
	s32 ret;   /* -errno */
	s32 dirfd; /* execveat's dirfd; AT_FDCWD for execve */
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
	struct mlw_file file; /* the file opened (mode 0 when the open failed) */
	s32 ret;              /* fd, or -errno (0 for io_uring: submitted) */
	s32 dirfd;
	u32 flags; /* O_* as passed */
	u32 mode;
	u32 syscall;   /* enum mlw_open_syscall */
	u32 path_len;  /* bytes of the path as asked in data[], NUL included */
	u32 kpath_len; /* bytes of the opened file's real path after it; 0: none */
	u32 _pad;
	char data[]; /* path as asked, then the real path */
};

enum mlw_open_syscall {
	MLW_SYS_OPENAT = 0,
	MLW_SYS_OPEN = 1,
	MLW_SYS_OPENAT2 = 2,
	MLW_SYS_CREAT = 3,
	MLW_SYS_URING_OPENAT = 4, /* IORING_OP_OPENAT / OPENAT2 */
};

struct mlw_sockaddr {
	u16 family; /* AF_INET, AF_INET6, AF_UNIX, or other */
	u16 port;   /* host byte order */
	u32 scope_id;
	u8 addr[16];                       /* IPv4 in the first 4 bytes */
	char unix_path[MLW_UNIX_PATH_MAX]; /* abstract sockets start with '@' */
};

/* MLW_EV_CONNECT and MLW_EV_SEND. The address is the kernel's own copy
 * (taken where the kernel checks it), or the connected socket's peer. */
struct mlw_connect {
	struct mlw_hdr hdr;
	s32 ret;       /* 0, -EINPROGRESS, or -errno; 0 when not known (send, io_uring) */
	s32 fd;        /* -1 when not known */
	s32 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... (0 if unknown) */
	u32 addrlen;
	struct mlw_sockaddr addr;
};

enum mlw_dup_syscall {
	MLW_DUP_DUP = 1,
	MLW_DUP_DUP2 = 2,
	MLW_DUP_DUP3 = 3,
	MLW_DUP_FCNTL = 4,  /* F_DUPFD, F_DUPFD_CLOEXEC */
	MLW_DUP_SOCKET = 5, /* socket() returned fd 0-2 */
	MLW_DUP_ACCEPT = 6,
	MLW_DUP_ACCEPT4 = 7,
	MLW_DUP_PIDFD_GETFD = 8,
};

struct mlw_dup {
	struct mlw_hdr hdr;
	s32 oldfd;   /* the source fd (-1: none, socket/accept) */
	s32 newfd;   /* 0, 1 or 2: what the call returned */
	u32 syscall; /* enum mlw_dup_syscall */
	s32 sock_type;
	struct mlw_sockaddr peer; /* the socket's remote end, when it has one */
};

enum mlw_link_syscall {
	MLW_LINK_RENAME = 1,  /* rename, renameat, renameat2 */
	MLW_LINK_LINK = 2,    /* link, linkat */
	MLW_LINK_SYMLINK = 3, /* symlink, symlinkat */
};

/* rename/link/symlink: the destination is what a persistence check reads;
 * the source is what a credential check reads (a link to a key). */
struct mlw_link {
	struct mlw_hdr hdr;
	s32 ret;
	s32 olddirfd; /* AT_FDCWD, or the dirfd (symlink: unused) */
	s32 newdirfd;
	u32 syscall;    /* enum mlw_link_syscall */
	u32 flags;      /* renameat2 / linkat flags */
	u32 old_len;    /* bytes of the source in data[], NUL included */
	u32 new_len;    /* bytes of the destination after it */
	u32 olddir_len; /* then the directory a relative source was looked up from */
	u32 newdir_len; /* and the one of a relative destination (0: none sent) */
	u32 _pad;
	char data[]; /* source (symlink: its target text), destination, their
	                    * directories as the kernel resolved them at the exit */
};

/* A raw or packet socket (ICMP tunnels, sniffing): family, type, protocol
 * as the caller asked, and the fd it got. */
struct mlw_socket {
	struct mlw_hdr hdr;
	s32 ret;
	s32 family;
	s32 type;
	s32 protocol;
};

/* What another process did to mlwatch (struct mlw_self.op). */
enum mlw_self_op {
	MLW_SELF_BPF = 1,      /* bpf() on one of its programs, maps or links; arg: the cmd */
	MLW_SELF_SIGNAL = 2,   /* a signal to one of its threads; arg: the signal */
	MLW_SELF_PTRACE = 3,   /* PTRACE_ATTACH or PTRACE_SEIZE; arg: the request */
	MLW_SELF_VM_READ = 4,  /* process_vm_readv of its memory */
	MLW_SELF_VM_WRITE = 5, /* process_vm_writev into its memory */
	MLW_SELF_GETFD = 6,    /* pidfd_getfd of one of its fds; arg: the fd */
	MLW_SELF_MEM_OPEN = 7, /* an open of /proc/PID/mem; arg: 1 when for writing */
	MLW_SELF_MAP_MMAP = 8, /* an mmap of one of its maps; arg: 1 when writable */
};

/* The kind of mlwatch's object a record names (struct mlw_self.obj). */
#define MLW_SELF_OBJ_PROG 1
#define MLW_SELF_OBJ_MAP 2
#define MLW_SELF_OBJ_LINK 3

/* MLW_EV_SELF: the header is the actor's (the sender, the caller); data[]
 * is the real path of its executable, read in the kernel (a `kill` is
 * gone before user space could read /proc). Sent whether or not the actor
 * is marked: it never is, usually. */
struct mlw_self {
	struct mlw_hdr hdr;
	u32 op;      /* enum mlw_self_op */
	u32 arg;     /* per op, see enum mlw_self_op */
	u32 obj;     /* MLW_SELF_OBJ_*, 0: none (signals, ptrace ...) */
	u32 obj_id;  /* the program's, map's or link's id */
	u32 target;  /* mlwatch's thread aimed at (0: the object, not a thread) */
	s32 code;    /* signal: si_code (SI_USER 0, SI_KERNEL 0x80, SI_TKILL -6 ...) */
	s32 result;  /* signal: the kernel's TRACE_SIGNAL_* result */
	u32 exe_len; /* bytes of the actor's executable path in data[], NUL included */
	char data[];
};

/*
 * MLW_EV_PYTHON: one Python audit event, read in the kernel from the
 * interpreter's own objects (bpf/python.bpf.c). `event` is the id user
 * space gave the event's name (map `py_events`); the arguments worth
 * keeping follow back to back in data[], each as the kernel found it:
 * enc[] says how to read it, len[] how many bytes it has here, size[]
 * how long the object was (in its own units), so a cut one is known.
 */
#define MLW_PY_ARGS 4
/* Bytes kept of one argument (a power of two). */
#define MLW_PY_ARG_MAX 256
/* A pickle module or name longer than this is cut, flagged, never allowed. */
#define MLW_PY_NAME_MAX 128
/* Event names are looked up by their first 31 bytes. */
#define MLW_PY_EVNAME_MAX 32

/* struct mlw_python.enc[] */
enum mlw_py_enc {
	MLW_PY_ENC_NONE = 0,   /* not sent: None, an absent argument, a type not read */
	MLW_PY_ENC_UTF8 = 1,   /* a str as UTF-8 (ASCII, or its cached UTF-8) */
	MLW_PY_ENC_LATIN1 = 2, /* a str of 1-byte code points (not all ASCII) */
	MLW_PY_ENC_UCS2 = 3,   /* a str of 2-byte code points, little-endian */
	MLW_PY_ENC_UCS4 = 4,   /* a str of 4-byte code points, little-endian */
	MLW_PY_ENC_BYTES = 5,  /* a bytes object's bytes */
	MLW_PY_ENC_INT = 6,    /* an int: 8 bytes, signed, little-endian */
	MLW_PY_ENC_SEQ = 7,    /* a list or tuple of str/bytes: the items' bytes,
	                        * each followed by a NUL (size[]: the item count) */
	MLW_PY_ENC_FAULT = 8,  /* could not be read (page not present, unknown layout) */
};

/* struct mlw_python.pyflags */
/* clang-format off */
#define MLW_PY_F_TRUNC     (1u << 0) /* an argument was cut at MLW_PY_ARG_MAX or NAME_MAX */
#define MLW_PY_F_FAULT     (1u << 1) /* an argument could not be read */
#define MLW_PY_F_UNSAFE    (1u << 2) /* find_class: outside the allowlist (the kernel's
                                       * verdict); the process is marked from here on */
#define MLW_PY_F_UPROBE    (1u << 3) /* seen by the PySys_Audit uprobe, not the USDT probe */
#define MLW_PY_F_DENIED    (1u << 4) /* find_class: on the deny list */
/* clang-format on */

struct mlw_python {
	struct mlw_hdr hdr;
	u32 event;   /* the event's id (enum mlw_py_event in user space) */
	u32 interp;  /* the interpreter it came from: user space's index (the
	              * attach cookie), which names the binary and its version */
	u16 pyflags; /* MLW_PY_F_* */
	u8 nargs;    /* arguments in data[] */
	u8 _pad;
	u8 enc[MLW_PY_ARGS];   /* enum mlw_py_enc, per argument */
	u16 len[MLW_PY_ARGS];  /* bytes of each argument in data[] */
	u32 size[MLW_PY_ARGS]; /* the object's own length (characters, bytes, items) */
	char data[];
};

/* Index of the per-reason counters in the `counters` map. */
enum mlw_counter {
	MLW_CNT_RB_FULL_EXEC = 0, /* ring buffer full: one per event kind, in kind order */
	MLW_CNT_RB_FULL_EXEC_FAIL,
	MLW_CNT_RB_FULL_FORK,
	MLW_CNT_RB_FULL_EXIT,
	MLW_CNT_RB_FULL_OPEN,
	MLW_CNT_RB_FULL_MODEL_OPEN,
	MLW_CNT_RB_FULL_CONNECT,
	MLW_CNT_RB_FULL_DUP,
	MLW_CNT_RB_FULL_SEND,
	MLW_CNT_RB_FULL_LINK,
	MLW_CNT_RB_FULL_SOCKET,
	MLW_CNT_RB_FULL_SELF,
	MLW_CNT_RB_FULL_PYTHON,
	MLW_CNT_MARKS_FULL,   /* marks map full: a lineage went unwatched */
	MLW_CNT_PENDING_FULL, /* per-thread syscall stash full */
	MLW_CNT_PATH_TRUNC,   /* paths cut at MLW_PATH_MAX */
	MLW_CNT_ARGS_TRUNC,   /* argv cut at MLW_ARGS_MAX */
	MLW_CNT_PATH_FAULT,   /* user path unreadable */
	MLW_CNT_EVENTS_SENT,
	MLW_CNT_MARKS_SET,
	MLW_CNT_OPEN_QUIET,   /* marked read-only opens of .py/.pyc/.so not sent */
	MLW_CNT_NET_REPEAT,   /* connects/sends to a destination already reported for
	                              * the same process, load and context: not sent again */
	MLW_CNT_OPEN_REPEAT,  /* a marked process opening a file it opened the same way
	                              * less than a minute ago: not sent again */
	MLW_CNT_MODEL_REPEAT, /* a process opening a model it opened before under the same
	                              * mark, unchanged: neither counted as a new model nor sent */
	/* the ring buffer past its share for records that are not vital (see
	 * emit() in bpf/common.bpf.h): not sent, one per event kind */
	MLW_CNT_SHED_EXEC,
	MLW_CNT_SHED_EXEC_FAIL,
	MLW_CNT_SHED_FORK,
	MLW_CNT_SHED_EXIT,
	MLW_CNT_SHED_OPEN,
	MLW_CNT_SHED_MODEL_OPEN,
	MLW_CNT_SHED_CONNECT,
	MLW_CNT_SHED_DUP,
	MLW_CNT_SHED_SEND,
	MLW_CNT_SHED_LINK,
	MLW_CNT_SHED_SOCKET,
	MLW_CNT_SHED_SELF,
	MLW_CNT_SHED_PYTHON,
	MLW_CNT_OVER_BUDGET, /* vital records of a user past its rate: sent as not vital */
	MLW_CNT_PY_HITS,     /* audit events the Python probes saw (every event, any process) */
	MLW_CNT_PY_REPEAT,   /* find_class of a global this process already sent: not sent */
	MLW_CNT_PY_JUDGED,   /* find_class globals judged against the patterns (cache misses) */
	MLW_CNT_PY_UNSAFE,   /* find_class outside the allowlist: the process was marked */
	MLW_CNT_PY_FAULT,    /* an argument or event name the probe could not read */
	MLW_CNT_PY_TRUNC,    /* an argument cut */
	MLW_CNT_MAX,
};
_Static_assert(MLW_CNT_RB_FULL_PYTHON == MLW_CNT_RB_FULL_EXEC + MLW_EV_KIND_MAX - 2,
	       "one ring-buffer-full counter per event kind, in kind order");
_Static_assert(MLW_CNT_SHED_PYTHON == MLW_CNT_SHED_EXEC + MLW_EV_KIND_MAX - 2,
	       "one shed counter per event kind, in kind order");

/*
 * Model-extension table: key is the lowercase extension (without the dot)
 * packed into a u64, little-endian, zero padded. Extensions longer than 8
 * bytes cannot be keyed and are matched in user space only.
 */
#define MLW_EXT_MAX 8
/* Value flags of the model-extension table. */
#define MLW_EXT_ANYWHERE 0
/* Not when directly inside a *-packages directory: Python's site module
 * opens every .pth file in site-packages (path configuration) at start-up. */
#define MLW_EXT_NOT_IN_PACKAGES (1u << 0)
/* An extension longer than MLW_EXT_MAX ("safetensors"): keyed by its last
 * 8 bytes, matched when the path ends with them. */
#define MLW_EXT_LONG (1u << 1)
/* Not a model: a read-only open of it by a marked process is not sent
 * (Python imports: .py .pyc .so). Kept in its own table, `quiet_exts`. */
#define MLW_EXT_QUIET (1u << 2)
/* A compressor's extension (gz, bz2, xz ...): a model only behind a model
 * extension, as joblib and pandas decompress by name (model.pkl.gz). */
#define MLW_EXT_COMPRESSOR (1u << 3)
/* A model extension that does not make "<name>.<it>.<compressor>" a model
 * (tar: every .tar.gz would be one). */
#define MLW_EXT_NOT_INNER (1u << 4)

#endif /* MLWATCH_EVENTS_H */
