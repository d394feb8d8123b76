/* Command-line parsing: every bad value is named in the message. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "collect/proctable.h"
#include "collect/pylayout.h"
#include "detect/incident.h"

/* 1 MiB is enough for bursts from a few marked lineages; 1 GiB is a typo. */
#define RINGBUF_MB_MIN 1
#define RINGBUF_MB_MAX 1024

/* A decimal number from lo to hi, nothing else; 0 or -1. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mlwatch [OPTIONS]\n"
		"       mlwatch rules check FILE | rules list [--json] [FILE]\n"
		"       mlwatch outputs check FILE\n"
		"       mlwatch scan [--json] [--profiles FILE] [--time-limit SEC] [-v] PATH...\n"
		"                    (docs/scan.md)\n"
		"Watch processes that load ML model files (pickle, torch, numpy, joblib, ...)\n"
		"and alert on what they do next: shells, downloaders, outbound connects,\n"
		"credential reads, sockets handed to stdin/stdout/stderr.\n"
		"\n"
		"  --json                 one JSON object per alert per line\n"
		"  -o, --output FILE      write alerts to FILE (appended) instead of stdout\n"
		"  --internal-net CIDR    a network that counts as internal; repeatable; the\n"
		"                         first one replaces the defaults (127/8, 10/8,\n"
		"                         172.16/12, 192.168/16, 100.64/10, 169.254/16, ::1,\n"
		"                         fc00::/7, fe80::/10)\n"
		"  --model-ext EXT        also treat files ending in .EXT as models; repeatable\n"
		"  --no-hex-blobs         do not treat blobs/<sha> cache files as models\n"
		"  --open-match WHERE     auto (default), exit or entry: match an unmarked\n"
		"                         process's opens by the opened file's name at exit\n"
		"                         (cheaper; Linux 6.2+), or by the path at entry\n"
		"  --root NAME            also watch processes named NAME (as in ps -o comm,\n"
		"                         at most 15 characters) and their descendants as ML\n"
		"                         control-plane roots; repeatable\n"
		"  --root-argv PATTERN    also watch Python/Java processes whose command line\n"
		"                         matches PATTERN (fnmatch, e.g. '*my_server.py*')\n"
		"  --no-default-roots     forget the built-in roots (raylet, Jupyter, vLLM, ...)\n"
		"  --rules FILE           rules file (JSON, see docs/rules.md) that extends or\n"
		"                         overrides the built-in rules; SIGHUP reloads it\n"
		"  --outputs FILE         also forward alerts, incidents, inventory and health\n"
		"                         records to the syslog, HTTP, Splunk HEC,\n"
		"                         Elasticsearch or file outputs FILE lists (JSON, see\n"
		"                         docs/forwarding.md; check it with mlwatch outputs\n"
		"                         check FILE)\n"
		"  --inventory FILE       append a record per model load (path, size, sha256,\n"
		"                         format, Hugging Face repo and revision) to FILE\n"
		"  --blocklist FILE       alert at load time on models whose sha256 or Hugging\n"
		"                         Face repo id is listed in FILE (docs/inventory.md)\n"
		"  --hash-rate MIB        read at most MIB MiB/s when hashing models (default:\n"
		"                         no cap; the hashing thread runs at nice 19)\n"
		"  --hash-max-gib N       do not hash model files over N GiB (default 64); the\n"
		"                         record says \"skipped (too large)\"\n"
		"  --inventory-window SEC fold repeated loads of one file version by one program\n"
		"                         and user into one record per SEC seconds (default\n"
		"                         60; 0: a record per load)\n"
		"  --inventory-rate N     write at most N inventory records a second, bursts of\n"
		"                         10 N (default 50); what is held back is counted in an\n"
		"                         inventory-held-back record and alert; alerts are never\n"
		"                         held back\n"
		"  --scan-profiles FILE   extend the static scan's allowlist profiles (JSON,\n"
		"                         docs/scan-profiles.md)\n"
		"  --no-scan              do not scan loaded models statically (model_scan)\n"
		"  --metrics-addr ADDR    serve Prometheus /metrics, /healthz and /readyz over\n"
		"                         HTTP at ADDR, an IP address and port: 127.0.0.1:9464,\n"
		"                         [::1]:9464, 0.0.0.0:9464 (docs/metrics.md)\n"
		"  --enforce              SIGKILL a process that loaded a model when it execs\n"
		"                         a shell, downloader, network tool, miner or a program\n"
		"                         under /tmp, or connects to an external or metadata\n"
		"                         address; the alert says what was killed\n"
		"  --ringbuf-mb N         kernel-to-user ring buffer size in MiB (default 16)\n"
		"  --max-procs N          processes the process table holds (default %d,\n"
		"                         %d to %d; about 800 bytes each at most)\n"
		"  --max-incidents N      incidents open at once (default %d, %d to %d;\n"
		"                         about 28 KiB each at most)\n"
		"  -v, --verbose          also print every event received\n"
		"  -h, --help             this help\n"
		"  -V, --version          print the version\n"
		"\n"
		"Runs as root. Prints 'mlwatch: ready' on stderr once every sensor is\n"
		"attached; SIGINT/SIGTERM detach everything and print the drop counters.\n",
		PROCTABLE_DEF_MAX, PROCTABLE_MIN_MAX, PROCTABLE_MAX_MAX, INCIDENT_MAX_OPEN,
		INCIDENT_MIN_OPEN, INCIDENT_MAX_OPEN_MAX);
}

enum {
	OPT_JSON = 256,
	OPT_NET,
	OPT_EXT,
	OPT_NO_HEX,
	OPT_RB,
	OPT_OPEN_MATCH,
	OPT_ROOT,
	OPT_ROOT_ARGV,
	OPT_NO_ROOTS,
	OPT_ENFORCE,
	OPT_RULES,
	OPT_INVENTORY,
	OPT_BLOCKLIST,
	OPT_HASH_RATE,
	OPT_SCAN_PROFILES,
	OPT_NO_SCAN,
	OPT_MAX_PROCS,
	OPT_MAX_INCIDENTS,
	OPT_HASH_MAX,
	OPT_INV_WINDOW,
	OPT_INV_RATE,
	OPT_OUTPUTS,
	OPT_METRICS_ADDR
};

/* A table bound: a positive integer, clamped into [min, max] with a
 * warning (a bound is a size, not a switch: the nearest one is meant).
 * Returns 0, or -1 after naming what is wrong. */
static int parse_bound(const char *opt, const char *arg, unsigned long min, unsigned long max,
		       unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || v == 0) {
		fprintf(stderr, "mlwatch: %s '%s': expected a positive integer (%lu to %lu)\n", opt,
			arg, min, max);
		return -1;
	}
	if (errno == ERANGE || v > max) {
		fprintf(stderr, "mlwatch: %s '%s': above the most allowed, using %lu\n", opt, arg,
			max);
		v = max;
	} else if (v < min) {
		fprintf(stderr, "mlwatch: %s '%s': below the least allowed, using %lu\n", opt, arg,
			min);
		v = min;
	}
	*out = (unsigned)v;
	return 0;
}

enum options_result options_parse(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "output", required_argument, NULL, 'o' },
		{ "internal-net", required_argument, NULL, OPT_NET },
		{ "model-ext", required_argument, NULL, OPT_EXT },
		{ "no-hex-blobs", no_argument, NULL, OPT_NO_HEX },
		{ "ringbuf-mb", required_argument, NULL, OPT_RB },
		{ "open-match", required_argument, NULL, OPT_OPEN_MATCH },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "root-argv", required_argument, NULL, OPT_ROOT_ARGV },
		{ "no-default-roots", no_argument, NULL, OPT_NO_ROOTS },
		{ "enforce", no_argument, NULL, OPT_ENFORCE },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "outputs", required_argument, NULL, OPT_OUTPUTS },
		{ "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
		{ "inventory", required_argument, NULL, OPT_INVENTORY },
		{ "blocklist", required_argument, NULL, OPT_BLOCKLIST },
		{ "hash-rate", required_argument, NULL, OPT_HASH_RATE },
		{ "scan-profiles", required_argument, NULL, OPT_SCAN_PROFILES },
		{ "no-scan", no_argument, NULL, OPT_NO_SCAN },
		{ "max-procs", required_argument, NULL, OPT_MAX_PROCS },
		{ "max-incidents", required_argument, NULL, OPT_MAX_INCIDENTS },
		{ "hash-max-gib", required_argument, NULL, OPT_HASH_MAX },
		{ "inventory-window", required_argument, NULL, OPT_INV_WINDOW },
		{ "inventory-rate", required_argument, NULL, OPT_INV_RATE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct roots extra = { 0 };
	bool default_roots = true;
	char err[256];
	int c;

	memset(o, 0, sizeof(*o));
	o->ringbuf_mb = 16;
	o->hex_blobs = true;
	o->max_procs = PROCTABLE_DEF_MAX;
	o->max_incidents = INCIDENT_MAX_OPEN;
	o->hash_max_gib = 64;
	o->inventory_window_s = 60;
	o->inventory_rate = 50;
	netclass_init(&o->net);

	while ((c = getopt_long(argc, argv, "o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			o->json = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_NET:
			if (netclass_add(&o->net, optarg, err, sizeof(err))) {
				fprintf(stderr, "mlwatch: --internal-net: %s\n", err);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_EXT: {
			const char *e = optarg[0] == '.' ? optarg + 1 : optarg;
			size_t n = strlen(e);

			if (n == 0 || strchr(e, '/')) {
				fprintf(stderr,
					"mlwatch: --model-ext '%s': expected an extension such as 'pt' or '.pt'\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			if (o->n_extra_exts >= OPTIONS_MAX_EXTS) {
				fprintf(stderr,
					"mlwatch: --model-ext: at most %d extra extensions\n",
					OPTIONS_MAX_EXTS);
				return OPTIONS_EXIT_USAGE;
			}
			o->extra_exts[o->n_extra_exts++] = e;
			break;
		}
		case OPT_NO_HEX:
			o->hex_blobs = false;
			break;
		case OPT_RB: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || v < RINGBUF_MB_MIN || v > RINGBUF_MB_MAX || (v & (v - 1))) {
				fprintf(stderr,
					"mlwatch: --ringbuf-mb '%s': expected a power of two from %d to %d\n",
					optarg, RINGBUF_MB_MIN, RINGBUF_MB_MAX);
				return OPTIONS_EXIT_USAGE;
			}
			o->ringbuf_mb = (unsigned)v;
			break;
		}
		case OPT_OPEN_MATCH:
			if (!strcmp(optarg, "auto")) {
				o->open_match = OPEN_MATCH_AUTO;
			} else if (!strcmp(optarg, "entry")) {
				o->open_match = OPEN_MATCH_ENTRY;
			} else if (!strcmp(optarg, "exit")) {
				o->open_match = OPEN_MATCH_EXIT;
			} else {
				fprintf(stderr,
					"mlwatch: --open-match '%s': expected auto, exit or entry\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_ROOT:
			if (roots_add_comm(&extra, optarg)) {
				fprintf(stderr,
					"mlwatch: --root '%s': expected a process name of 1 to 15 characters (at most %d roots)\n",
					optarg, ROOTS_MAX);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_ROOT_ARGV:
			if (roots_add_argv(&extra, optarg)) {
				fprintf(stderr,
					"mlwatch: --root-argv '%s': expected a non-empty pattern (at most %d)\n",
					optarg, ROOTS_MAX);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_INVENTORY:
			o->inventory_file = optarg;
			break;
		case OPT_BLOCKLIST:
			o->blocklist_file = optarg;
			break;
		case OPT_SCAN_PROFILES:
			o->scan_profiles_file = optarg;
			break;
		case OPT_NO_SCAN:
			o->no_scan = true;
			break;
		case OPT_MAX_PROCS:
			if (parse_bound("--max-procs", optarg, PROCTABLE_MIN_MAX, PROCTABLE_MAX_MAX,
					&o->max_procs))
				return OPTIONS_EXIT_USAGE;
			break;
		case OPT_MAX_INCIDENTS:
			if (parse_bound("--max-incidents", optarg, INCIDENT_MIN_OPEN,
					INCIDENT_MAX_OPEN_MAX, &o->max_incidents))
				return OPTIONS_EXIT_USAGE;
			break;
		case OPT_HASH_RATE: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v < 1 || v > 100000) {
				fprintf(stderr,
					"mlwatch: --hash-rate '%s': expected MiB/s from 1 to 100000\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			o->hash_mib_per_s = (unsigned)v;
			break;
		}
		case OPT_HASH_MAX:
			if (parse_uint(optarg, 1, 1u << 20, &o->hash_max_gib)) {
				fprintf(stderr,
					"mlwatch: --hash-max-gib '%s': expected GiB from 1 to %u\n",
					optarg, 1u << 20);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_INV_WINDOW:
			if (parse_uint(optarg, 0, 86400, &o->inventory_window_s)) {
				fprintf(stderr,
					"mlwatch: --inventory-window '%s': expected seconds from 0 to 86400\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_INV_RATE:
			if (parse_uint(optarg, 1, 100000, &o->inventory_rate)) {
				fprintf(stderr,
					"mlwatch: --inventory-rate '%s': expected records per second from 1 to 100000\n",
					optarg);
				return OPTIONS_EXIT_USAGE;
			}
			break;
		case OPT_RULES:
			o->rules_file = optarg;
			break;
		case OPT_OUTPUTS:
			o->outputs_file = optarg;
			break;
		case OPT_METRICS_ADDR:
			if (listen_addr_parse(optarg, &o->metrics_addr, err, sizeof(err))) {
				fprintf(stderr, "mlwatch: --metrics-addr '%s': %s\n", optarg, err);
				return OPTIONS_EXIT_USAGE;
			}
			o->metrics_on = true;
			break;
		case OPT_ENFORCE:
			o->enforce = true;
			break;
		case OPT_NO_ROOTS:
			default_roots = false;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("mlwatch %s\n", MLWATCH_VERSION);
			printf("python: CPython %s (default builds; not debug or free-threaded), "
			       "through the python:audit USDT probe, else a uprobe on PySys_Audit "
			       "(x86-64, arm64)\n",
			       pylayout_versions());
			return OPTIONS_EXIT_OK;
		default:
			usage(stderr);
			return OPTIONS_EXIT_USAGE;
		}
	}
	if (default_roots)
		roots_defaults(&o->roots);
	for (size_t i = 0; i < extra.n_comms; i++)
		if (roots_add_comm(&o->roots, extra.comms[i])) {
			fprintf(stderr, "mlwatch: --root: at most %d roots in all\n", ROOTS_MAX);
			return OPTIONS_EXIT_USAGE;
		}
	for (size_t i = 0; i < extra.n_argv_patterns; i++)
		if (roots_add_argv(&o->roots, extra.argv_patterns[i])) {
			fprintf(stderr, "mlwatch: --root-argv: at most %d patterns in all\n",
				ROOTS_MAX);
			return OPTIONS_EXIT_USAGE;
		}
	if (optind < argc) {
		fprintf(stderr, "mlwatch: unexpected argument '%s' (see --help)\n", argv[optind]);
		return OPTIONS_EXIT_USAGE;
	}
	return OPTIONS_RUN;
}
