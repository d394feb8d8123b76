/* Command-line options. */
#ifndef MLWATCH_OPTIONS_H
#define MLWATCH_OPTIONS_H
#include <stdbool.h>
#include "collect/roots.h"
#include "detect/netclass.h"
#include "listen_addr.h"

/* Extra model extensions a user may add with --model-ext. */
#define OPTIONS_MAX_EXTS 64

/* Where an unmarked process's opens are matched against the model patterns:
 * at exit by the opened file's name (needs bpf_rdonly_cast, Linux 6.2+),
 * or at entry by the path argument (any kernel). */
enum open_match { OPEN_MATCH_AUTO, OPEN_MATCH_ENTRY, OPEN_MATCH_EXIT };

struct options {
	bool json;
	bool verbose;       /* also print every event received (debugging) */
	const char *output; /* NULL: stdout */
	struct netclass net;
	const char *extra_exts[OPTIONS_MAX_EXTS];
	int n_extra_exts;
	unsigned ringbuf_mb;
	bool hex_blobs;
	enum open_match open_match;
	struct roots roots;             /* ML control-plane processes watched from exec */
	bool enforce;                   /* kill at the offending exec or connect (enforce.h) */
	const char *rules_file;         /* --rules: extends/overrides the built-ins; NULL: none */
	const char *outputs_file;       /* --outputs: forwarding (outputs_conf.h); NULL: none */
	const char *inventory_file;     /* --inventory: model load records, JSON lines */
	const char *blocklist_file;     /* --blocklist: model hashes and repo ids */
	unsigned hash_mib_per_s;        /* --hash-rate: inventory read cap; 0: none */
	unsigned hash_max_gib;          /* --hash-max-gib: larger files are not hashed */
	unsigned inventory_window_s;    /* --inventory-window: repeats folded; 0: none */
	unsigned inventory_rate;        /* --inventory-rate: records per second */
	const char *scan_profiles_file; /* --scan-profiles: allowlist extensions */
	bool no_scan;                   /* --no-scan: no static scan of loaded models */
	/* memory bounds; 0 (a zeroed struct) takes the tables' defaults */
	unsigned max_procs;     /* --max-procs: process table entries */
	unsigned max_incidents; /* --max-incidents: incidents open at once */
	/* --metrics-addr: /metrics, /healthz and /readyz served there */
	bool metrics_on;
	struct listen_addr metrics_addr;
};

enum options_result { OPTIONS_RUN, OPTIONS_EXIT_OK, OPTIONS_EXIT_USAGE };

/* Parses argv; prints help/version/errors itself. A bound out of its range
 * is clamped into it, with a warning naming the value used. */
enum options_result options_parse(struct options *o, int argc, char **argv);
#endif
