/* Load stage: checks, load, attach and detach of the BPF sensors. */
#ifndef MLWATCH_SENSORS_H
#define MLWATCH_SENSORS_H
#include <stdbool.h>
#include <stdint.h>
#include <mlwatch/events.h>
#include "enforce.h"
#include "config/options.h"

/* Exit codes, one per reason mlwatch cannot start (documented in README). */
enum mlw_exit_code {
	MLW_EXIT_OK = 0,
	MLW_EXIT_FAILURE = 1,
	MLW_EXIT_USAGE = 2,
	MLW_EXIT_PRIVILEGE = 3,
	MLW_EXIT_NO_BTF = 4,
	MLW_EXIT_BPF_REFUSED = 5,
	MLW_EXIT_TRACEFS = 6,
	MLW_EXIT_OUTPUT = 7,
	MLW_EXIT_PIDNS = 8, /* not in the host's PID namespace (collect/pidns.h) */
};

struct mlwatch_bpf;
struct ring_buffer;
struct pyprobe;

/* One of mlwatch's own programs, maps or links (MLW_SELF_OBJ_*), by the
 * id the kernel gave it and the name the object file gives it. */
struct sensors_obj {
	uint32_t obj;
	uint32_t id;
	const char *name;
};

struct sensors {
	struct mlwatch_bpf *skel;
	struct ring_buffer *rb;
	bool mounted_tracefs;
	int n_attached;
	int n_skipped;
	bool open_match_at_exit;  /* see --open-match */
	int cgroup_fd;            /* cgroup v2 root the sock_addr hooks attach to, or -1 */
	struct enforce_plan plan; /* kill tables given to the kernel at start */
	uint32_t max_marks;       /* marked processes the kernel can hold */
	struct sensors_obj *self; /* mlwatch's own objects, told to the kernel */
	size_t n_self;
	struct pyprobe *py; /* the Python audit probes (pyprobe.h) */
};

typedef int (*sensors_event_fn)(void *ctx, void *data, size_t size);

/* Runs every start-up check, loads and attaches. Prints what it did and
 * what it skipped; returns MLW_EXIT_OK or the exit code to leave with. */
int sensors_start(struct sensors *s, const struct options *o, const struct ruleset *rs,
		  sensors_event_fn fn, void *ctx);
/* Waits up to timeout_ms for events and hands each to fn. */
int sensors_poll(struct sensors *s, int timeout_ms);
/* Sums the per-CPU counters (enum mlw_counter). */
void sensors_counters(struct sensors *s, uint64_t out[MLW_CNT_MAX]);
const char *sensors_counter_name(int idx);
/* The name of mlwatch's program, map or link with that id, or NULL. */
const char *sensors_obj_name(const struct sensors *s, uint32_t obj, uint32_t id);
/* The marks and unmarks maps' entries now and their bounds. Counting walks
 * the entries (batched): call it at most once a second. 0 or -errno. */
struct sensors_map_usage {
	long marks, unmarks;
	uint32_t marks_max, unmarks_max;
};
int sensors_map_usage(struct sensors *s, struct sensors_map_usage *u);
int sensors_set_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m);
/* Marks tgid unless the kernel already has a mark for it: then -EEXIST,
 * and *had is the kernel's (which wins: it is newer). 0 or -errno. */
int sensors_seed_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m,
		      struct mlw_mark *had);
/* Removes tgid's mark if it is still m (same loader, time and depth): the
 * process it was meant for exited before it was written. The bit stays:
 * alone it costs the kernel one lookup, and clearing it could race a new
 * mark. */
void sensors_drop_seed_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m);
/* Asks the kernel to treat tgid as unmarked while its mark still is the one
 * made at mark_ns with exactly `models` model opens (struct mlw_unmark). */
int sensors_unmark(struct sensors *s, uint32_t tgid, uint64_t mark_ns, uint32_t models);
/* Detaches and frees everything; safe on a partly started struct. */
/* Detaches every program, keeping the ring buffer readable: what is in
 * it can then be drained to the end. */
void sensors_detach(struct sensors *s);
void sensors_stop(struct sensors *s);
#endif
