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

/*
 * Python audit probes (bpf/python.bpf.c). User space writes, per attached
 * interpreter, where CPython keeps what the probe reads (map `py_layouts`,
 * indexed by the attach cookie): taken from the binary's version, never
 * guessed; an interpreter whose version is not known is not attached.
 */
#define MLW_PY_INTERPS 256
/* struct mlw_py_layout.flags */
#define MLW_PY_L_LONG_TAG (1u << 0) /* 3.12+: int size and sign in lv_tag, not ob_size */
struct mlw_py_layout {
	u32 version;     /* major << 16 | minor << 8: 0x030b00 is 3.11 */
	u32 flags;       /* MLW_PY_L_* */
	u16 ob_type;     /* PyObject.ob_type */
	u16 ob_size;     /* PyVarObject.ob_size (tuple, list, bytes) */
	u16 tp_flags;    /* PyTypeObject.tp_flags: the *_SUBCLASS bits tell str,
	                 * bytes, tuple, list and int apart */
	u16 tuple_item;  /* PyTupleObject.ob_item[0] */
	u16 list_item;   /* PyListObject.ob_item (a pointer to the items) */
	u16 str_length;  /* PyASCIIObject.length (code points) */
	u16 str_state;   /* PyASCIIObject.state (kind bits 2-4, compact 5, ascii 6) */
	u16 str_ascii;   /* data of a compact ASCII str: sizeof(PyASCIIObject) */
	u16 str_compact; /* data of a compact non-ASCII str: sizeof(PyCompactUnicodeObject) */
	u16 str_utf8;    /* PyCompactUnicodeObject.utf8 (a pointer, NULL until asked) */
	u16 bytes_data;  /* PyBytesObject.ob_sval */
	u16 long_digit;  /* PyLongObject's first digit (30-bit digits) */
};

/* Map `py_events`: an audit event's name, NUL-padded (names are shorter
 * than MLW_PY_EVNAME_MAX), to what the probe does with it. Events not in
 * the map return at once. */
struct mlw_py_evkey {
	char name[MLW_PY_EVNAME_MAX];
};
/* struct mlw_py_evspec.arg[]: how to read each argument of the tuple */
enum mlw_py_argkind {
	MLW_PY_ARG_SKIP = 0, /* not sent */
	MLW_PY_ARG_STR = 1,  /* str or bytes (anything else: its enc says NONE) */
	MLW_PY_ARG_SEQ = 2,  /* str, bytes, or a list/tuple of them (argv) */
	MLW_PY_ARG_ADDR = 3, /* a socket address: a str (AF_UNIX), or a tuple
	                      * whose first item is the host and second the port:
	                      * sent as two arguments, the host and the port */
	MLW_PY_ARG_INT = 4,  /* an int */
};
/* struct mlw_py_evspec.flags */
#define MLW_PY_S_FIND_CLASS \
	(1u << 0)                 /* pickle.find_class(module, name): judged and
                                        * sent for unmarked processes too */
#define MLW_PY_S_MARKED (1u << 1) /* sent for marked processes */
struct mlw_py_evspec {
	u32 id;              /* struct mlw_python.event */
	u32 flags;           /* MLW_PY_S_* */
	u8 arg[MLW_PY_ARGS]; /* enum mlw_py_argkind, per tuple item */
};

/*
 * The allowlist as the kernel can match it (map `py_patterns`, an array
 * of MLW_PY_PATTERNS, the used ones first, then kind 0): each side of a
 * "module:name" pattern is exact, a prefix ("torch.nn.*"), a suffix
 * ("*Storage") or anything. User space compiles the scanner's profiles
 * into it and leaves out a pattern it cannot express this way: the kernel
 * is then stricter than user space (it marks; user space judges again
 * and says so), never looser. Deny patterns win over allow patterns.
 */
#define MLW_PY_PATTERNS 1024
#define MLW_PY_PAT_LEN 64
enum mlw_py_match {
	MLW_PY_M_END = 0,
	MLW_PY_M_EXACT,
	MLW_PY_M_PREFIX,
	MLW_PY_M_SUFFIX,
	MLW_PY_M_ANY
};
enum mlw_py_verdict {
	MLW_PY_V_UNKNOWN = 0,
	MLW_PY_V_ALLOW = 1,
	MLW_PY_V_DENY = 2,
	MLW_PY_V_UNLISTED = 3 /* neither: outside the allowlist */
};
struct mlw_py_pattern {
	u8 verdict;  /* MLW_PY_V_ALLOW or MLW_PY_V_DENY */
	u8 mod_kind; /* enum mlw_py_match (MLW_PY_M_END: the table ends here) */
	u8 name_kind;
	u8 mod_len; /* bytes of mod[] that count */
	u8 name_len;
	u8 _pad[3];
	char mod[MLW_PY_PAT_LEN];
	char name[MLW_PY_PAT_LEN];
};

/* A global by its full names, NUL-padded: the key of the kernel's
 * verdict cache (`py_verdicts`, LRU) and, with the process, of the
 * per-process repeat filter (`py_seen`). Full names, not a hash: a crafted
 * collision must not make an unsafe global look like one already seen. */
struct mlw_py_global {
	char mod[MLW_PY_NAME_MAX];
	char name[MLW_PY_NAME_MAX];
};
struct mlw_py_seen_key {
	u32 tgid;
	u32 _pad;
	u64 start_ns; /* the process's start time: a reused pid starts afresh */
	struct mlw_py_global g;
};

#endif /* MLWATCH_MAPS_H */
