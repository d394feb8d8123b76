/*
 * The collector's tables under a storm of processes, without BPF: records
 * as the kernel sends them go through collector_handle, the real path.
 *   1. 50k tracked processes (50 loaders forking 1000 workers each, every
 *      worker exec'd with its own command line): RSS.
 *   2. Fork/exit storm of short-lived children of a loader whose lineage
 *      has an incident: ns per fork and per exit record.
 *   3. Alert storm: short-lived marked processes, each exec'ing a shell with
 *      its own command line, across more lineages than the incident table
 *      holds: the incident table's peak.
 * Prints key=value lines. It builds against older trees too (run.sh's
 * "before" column): what only the new tables report is under #ifdef.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/collector.h"

static unsigned char rec[8192];
static uint64_t now_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* kB from /proc/self/status ("VmRSS", "VmHWM") */
static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static struct mlw_hdr hdr(u32 kind, u32 tgid, u32 loader, const char *comm)
{
	struct mlw_hdr h = { .kind = kind, .tgid = tgid, .tid = tgid, .ppid = 1 };

	h.ts_ns = now_ns += 1000; /* 1 µs apart */
	snprintf(h.comm, sizeof(h.comm), "%s", comm);
	if (loader) {
		h.flags = MLW_F_MARKED;
		h.mark.loader_tgid = loader;
		h.mark.mark_ns = 1000 + loader;
		h.mark.reason = MLW_MARK_MODEL;
		h.mark.models = 1;
	}
	return h;
}

static size_t fork_rec(u32 parent, u32 child, u32 loader)
{
	struct mlw_fork *f = (struct mlw_fork *)rec;

	memset(f, 0, sizeof(*f));
	f->hdr = hdr(MLW_EV_FORK, parent, loader, "python3");
	f->child_tgid = child;
	return sizeof(*f);
}

static size_t exit_rec(u32 tgid, u32 loader)
{
	struct mlw_exit *x = (struct mlw_exit *)rec;

	memset(x, 0, sizeof(*x));
	x->hdr = hdr(MLW_EV_EXIT, tgid, loader, "python3");
	return sizeof(*x);
}

/* args: NUL-separated, args_len bytes */
static size_t exec_rec(u32 tgid, u32 loader, const char *file, const char *args, size_t args_len)
{
	struct mlw_exec *e = (struct mlw_exec *)rec;
	size_t fl = strlen(file) + 1;

	memset(e, 0, sizeof(*e));
	e->hdr = hdr(MLW_EV_EXEC, tgid, loader, strrchr(file, '/') + 1);
	e->filename_len = (u32)fl;
	e->args_len = (u32)args_len;
	memcpy(e->data, file, fl);
	memcpy(e->data + fl, args, args_len);
	return sizeof(*e) + fl + args_len;
}

static size_t args_of(char *buf, size_t len, const char *fmt, unsigned n)
{
	int k = snprintf(buf, len, fmt, n, n);

	for (int i = 0; i < k; i++)
		if (buf[i] == ' ')
			buf[i] = 0;
	return (size_t)k + 1;
}

static void start(struct collector *c, struct sink *s, struct options *o)
{
	memset(o, 0, sizeof(*o));
	netclass_init(&o->net);
	if (sink_open(s, "/dev/null", true) || collector_init(c, o, NULL, s)) {
		fprintf(stderr, "tablebench: init failed\n");
		exit(2);
	}
}

static void stop(struct collector *c, struct sink *s)
{
	collector_free(c);
	sink_close(s);
}

#define PID_BASE 10000000u /* far above any real pid: /proc reads fail fast */

/* 1: nloaders loaders, per_loader workers each, exec'd with their own args */
static void track(struct collector *c, unsigned nloaders, unsigned per_loader)
{
	char args[256];

	for (unsigned l = 0; l < nloaders; l++) {
		u32 loader = PID_BASE + l * (per_loader + 1);

		for (unsigned j = 1; j <= per_loader; j++) {
			size_t n = args_of(args, sizeof(args),
					   "worker --rank %u --world 1000 --config "
					   "/opt/job/conf/train-%u.yaml",
					   j);

			collector_handle(c, rec, fork_rec(loader, loader + j, loader));
			collector_handle(c, rec,
					 exec_rec(loader + j, loader, "/opt/job/bin/worker", args,
						  n));
		}
	}
}

/* 1 and 2 */
static int bench_procs(unsigned tracked, unsigned storm)
{
	static struct options opt;
	struct collector c;
	struct sink s;
	long rss0, rss1;
	double fork_ns = 0, exit_ns = 0, full_ns = 0;
	unsigned full = 0;
	char args[256];
	u32 loader = PID_BASE, pid = PID_BASE + 5000000;
	size_t n;

	start(&c, &s, &opt);
	rss0 = status_kb("VmRSS");
	track(&c, tracked / 1000, 1000);
	rss1 = status_kb("VmRSS");
	printf("tracked=%zu rss_before_kb=%ld rss_after_kb=%ld hwm_kb=%ld bytes_per_process=%.0f "
	       "alerts=%llu\n",
	       c.pt.count, rss0, rss1, status_kb("VmHWM"),
	       (double)(rss1 - rss0) * 1024.0 / (double)c.pt.count,
	       (unsigned long long)c.st.alerts);

	/* the first loader's lineage gets an incident (a shell), so every
	 * exit asks whether the lineage is gone */
	n = args_of(args, sizeof(args), "sh -c id%u%u", 0);
	collector_handle(&c, rec, exec_rec(loader + 1, loader, "/bin/sh", args, n));
	for (unsigned done = 0; done < storm; done += 1000) {
		size_t before = c.pt.count;
		uint64_t t0 = mono_ns(), t1, t2;

		for (unsigned i = 0; i < 1000; i++)
			collector_handle(&c, rec, fork_rec(loader, pid + done + i, loader));
		t1 = mono_ns();
		/* the table did not grow: at its bound, every fork made room */
		if (c.pt.count == before) {
			full_ns += (double)(t1 - t0);
			full += 1000;
		}
		for (unsigned i = 0; i < 1000; i++)
			collector_handle(&c, rec, exit_rec(pid + done + i, loader));
		t2 = mono_ns();
		fork_ns += (double)(t1 - t0);
		exit_ns += (double)(t2 - t1);
	}
	printf("storm=%u fork_ns=%.0f fork_full_ns=%.0f exit_ns=%.0f table=%zu "
	       "incidents_open=%zu\n",
	       storm, fork_ns / storm, full ? full_ns / full : -1.0, exit_ns / storm, c.pt.count,
	       c.inc.count);
#ifdef PROCTABLE_DEF_MAX
	printf("proctable_peak=%zu proctable_peak_bytes=%zu proctable_max_bytes=%zu "
	       "evicted_exited=%llu evicted_unmarked=%llu refused=%llu clipped=%llu\n",
	       c.pt.st.peak, c.pt.st.peak_bytes, proctable_max_bytes(&c.pt),
	       (unsigned long long)c.pt.st.evicted_exited,
	       (unsigned long long)c.pt.st.evicted_unmarked, (unsigned long long)c.pt.st.refused,
	       (unsigned long long)(c.pt.st.strings_clipped + c.pt.st.strings_dropped));
#endif
	stop(&c, &s);
	return 0;
}

/* 3: lineages x alerts short-lived shells, each with its own command line
 * (a step of its own): every incident reaches its step cap, and there are
 * more lineages than the table holds. Pids are reused from a pool of 4096,
 * as a busy host does. */
static int bench_incidents(unsigned lineages, unsigned per_lineage)
{
	static struct options opt;
	struct collector c;
	struct sink s;
	long rss0, hwm0;
	char args[256];
	unsigned k = 0;
	uint64_t t0;

	start(&c, &s, &opt);
	rss0 = status_kb("VmRSS");
	hwm0 = status_kb("VmHWM");
	t0 = mono_ns();
	for (unsigned l = 0; l < lineages; l++)
		for (unsigned i = 0; i < per_lineage; i++) {
			u32 loader = PID_BASE + 8000000 + l, pid = PID_BASE + k++ % 4096;
			size_t n = args_of(args, sizeof(args), "sh -c echo%u-%u", i);

			collector_handle(&c, rec, fork_rec(loader, pid, loader));
			collector_handle(&c, rec, exec_rec(pid, loader, "/bin/sh", args, n));
			collector_handle(&c, rec, exit_rec(pid, loader));
		}
	printf("lineages=%u alerts_per_lineage=%u ns_per_process=%.0f alerts=%llu "
	       "incidents_open=%zu rss_kb=%ld rss_growth_kb=%ld hwm_growth_kb=%ld\n",
	       lineages, per_lineage, (double)(mono_ns() - t0) / k, (unsigned long long)c.st.alerts,
	       c.inc.count, status_kb("VmRSS"), status_kb("VmRSS") - rss0,
	       status_kb("VmHWM") - hwm0);
#ifdef PROCTABLE_DEF_MAX
	printf("incidents_max=%zu incidents_peak=%zu incidents_peak_bytes=%zu "
	       "incidents_max_bytes=%zu incidents_evicted=%llu proctable_peak_bytes=%zu\n",
	       c.inc.cfg.max_open, c.inc.st.peak_open, c.inc.st.peak_bytes,
	       incident_table_max_bytes(&c.inc), (unsigned long long)c.inc.st.evicted,
	       c.pt.st.peak_bytes);
#endif
	stop(&c, &s);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned a = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	unsigned b = argc > 3 ? (unsigned)atoi(argv[3]) : 0;

	now_ns = mono_ns();
	if (argc > 1 && !strcmp(argv[1], "procs"))
		return bench_procs(a >= 1000 ? a : 50000, b >= 1000 ? b : 20000);
	if (argc > 1 && !strcmp(argv[1], "incidents"))
		return bench_incidents(a ? a : 4500, b ? b : 70);
	fprintf(stderr,
		"usage: tablebench procs [TRACKED [STORM]] | incidents [LINEAGES [ALERTS]]\n");
	return 2;
}
