/*
 * The Python attach manager: finds interpreters (at start from /proc, at
 * exec from MLW_F_EXE_FIRST records, a dynamically linked one's libpython
 * once it is mapped), reads each binary's version, and attaches the
 * python:audit USDT probe, or a uprobe on PySys_Audit, once per binary
 * (by device and inode), through /proc so other mount namespaces count.
 * Fills the probe's maps: layouts, events, the allowlist.
 */
#ifndef MLWATCH_PYPROBE_H
#define MLWATCH_PYPROBE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mlwatch_bpf;
struct pyprobe;

enum pyprobe_how { PYPROBE_NONE = 0, PYPROBE_USDT, PYPROBE_UPROBE };

struct pyprobe_stats {
	unsigned usdt;          /* interpreters attached through python:audit */
	unsigned uprobe;        /* through PySys_Audit */
	unsigned not_covered;   /* Python in it, but neither probe nor symbol */
	unsigned refused;       /* not attached: the reasons below */
	unsigned refused_debug; /* debug or trace-refs builds */
	unsigned refused_free_threaded;
	unsigned refused_version; /* version not known, or not one mlwatch knows */
	unsigned refused_full;    /* more than MLW_PY_INTERPS interpreters */
	unsigned attach_failed;
	uint64_t examined;          /* binaries read (each once) */
	uint64_t unreadable;        /* binaries that could not be opened (their exec is re-sent) */
	uint64_t lib_waits_expired; /* dynamic interpreters whose libpython never showed */
	unsigned patterns;          /* allowlist entries the kernel matches */
	unsigned patterns_left_out; /* allow patterns it cannot match (stricter) */
	unsigned patterns_widened;  /* deny patterns matched wider */
	bool off;                   /* the probes are off on this kernel */
};

/* What a record's interp index names. */
struct pyprobe_interp_info {
	const char *path; /* as the process sees it */
	unsigned major, minor;
	enum pyprobe_how how;
};

/* Before the BPF object is loaded: the Python programs are never attached
 * by the generic attach, and not loaded at all where the kernel cannot run
 * them (no uprobes, no bpf_loop, no attach cookies), said on log. NULL:
 * out of memory (the probes are then off). */
struct pyprobe *pyprobe_new(struct mlwatch_bpf *skel, FILE *log);
/* Told each BPF link (fd, id) the probes make, for self-protection. */
typedef void (*pyprobe_link_fn)(void *ctx, int fd, uint32_t id, const char *prog);
/* After the load and attach: fills the maps, attaches every interpreter
 * running now. Never fatal; what fails is said on log. */
void pyprobe_start(struct pyprobe *p, pyprobe_link_fn on_link, void *ctx, FILE *log);
/* An exec record flagged MLW_F_EXE_FIRST (or any exec of a marked
 * process): pid, the executed file's identity (kernel dev encoding) and
 * real path as the kernel gave it (may be ""). */
void pyprobe_exec(struct pyprobe *p, uint32_t pid, uint32_t kdev, uint64_t ino, const char *kpath);
/* Retries the libpython of dynamically linked interpreters; call often. */
void pyprobe_tick(struct pyprobe *p);
/* User space allowed a global the kernel could not: remembered in the
 * kernel's verdict cache so the next process unpickling it is not marked.
 * 0 or -errno. */
int pyprobe_allow_global(struct pyprobe *p, const char *module, const char *name);
/* The interpreter behind a record's interp index; false if none. */
bool pyprobe_interp(const struct pyprobe *p, uint32_t idx, struct pyprobe_interp_info *out);
void pyprobe_stats(const struct pyprobe *p, struct pyprobe_stats *out);
/* One line for the exit report. */
void pyprobe_report(const struct pyprobe *p, FILE *f);
/* Detaches every probe (the ring buffer stays readable). */
void pyprobe_detach(struct pyprobe *p);
void pyprobe_free(struct pyprobe *p);
#endif
