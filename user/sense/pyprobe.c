#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h>
#include <mlwatch/maps.h>
#include "collect/exeid.h"
#include "collect/pyevents.h"
#include "collect/pylayout.h"
#include "mlwatch.skel.h"
#include "pyelf.h"
#include "pypattern.h"
#include "pyprobe.h"

/* A dynamically linked interpreter's libpython is looked for this long
 * after its exec. */
#define LIB_WAIT_NS (10ull * 1000 * 1000 * 1000)
#define LIB_WAITS 256

enum seen_state { SEEN_NOT_PYTHON = 1, SEEN_PYTHON };

struct seen {
	uint64_t ino;
	uint32_t dev; /* kernel encoding; 0: empty slot */
	uint8_t state;
};

struct interp {
	char path[256];
	unsigned major, minor;
	enum pyprobe_how how;
	struct bpf_link *link;
};

struct lib_wait {
	uint32_t pid;
	uint64_t until_ns;
};

struct pyprobe {
	struct mlwatch_bpf *skel;
	pyprobe_link_fn on_link;
	void *link_ctx;
	FILE *log;
	bool off, started, force_uprobe;
	struct interp v[MLW_PY_INTERPS];
	unsigned n;
	struct seen *seen; /* open addressing on (dev, ino) */
	size_t seen_cap, seen_n;
	struct lib_wait waits[LIB_WAITS];
	unsigned n_waits;
	struct pyprobe_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* ---- binaries already looked at ---------------------------------------- */

static size_t seen_slot(const struct pyprobe *p, uint32_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ull) ^ dev;
	size_t i = (size_t)(h >> 17) & (p->seen_cap - 1);

	while (p->seen[i].dev && (p->seen[i].dev != dev || p->seen[i].ino != ino))
		i = (i + 1) & (p->seen_cap - 1);
	return i;
}

static struct seen *seen_get(struct pyprobe *p, uint32_t dev, uint64_t ino)
{
	struct seen *e = &p->seen[seen_slot(p, dev, ino)];

	return e->dev ? e : NULL;
}

/* NULL: out of memory (the binary is then looked at again next time) */
static struct seen *seen_add(struct pyprobe *p, uint32_t dev, uint64_t ino)
{
	struct seen *e;

	if ((p->seen_n + 1) * 2 > p->seen_cap) {
		size_t cap = p->seen_cap * 2, oldcap = p->seen_cap;
		struct seen *old = p->seen, *nv = calloc(cap, sizeof(*nv));

		if (!nv)
			return NULL;
		p->seen = nv;
		p->seen_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].dev)
				p->seen[seen_slot(p, old[i].dev, old[i].ino)] = old[i];
		free(old);
	}
	e = &p->seen[seen_slot(p, dev, ino)];
	e->dev = dev;
	e->ino = ino;
	p->seen_n++;
	return e;
}

/* ---- kernel support ------------------------------------------------------ */

static const char *kernel_lacks(void)
{
	if (!exists("/sys/bus/event_source/devices/uprobe/type"))
		return "uprobes (CONFIG_UPROBE_EVENTS)";
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL) != 1)
		return "bpf_loop (Linux 5.17+)";
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_attach_cookie, NULL) != 1)
		return "BPF attach cookies (Linux 5.15+)";
	return NULL;
}

struct pyprobe *pyprobe_new(struct mlwatch_bpf *skel, FILE *log)
{
	struct pyprobe *p = calloc(1, sizeof(*p));
	struct bpf_program *progs[] = { skel->progs.handle_py_audit,
					skel->progs.handle_py_sysaudit };
	const char *lacks = kernel_lacks(), *force = getenv("MLWATCH_PY_FORCE_UPROBE");

	/* never attached by the generic attach: they need a binary */
	for (size_t i = 0; i < 2; i++)
		bpf_program__set_autoattach(progs[i], false);
	if (!p || lacks) {
		for (size_t i = 0; i < 2; i++)
			bpf_program__set_autoload(progs[i], false);
		fprintf(log, "mlwatch: python: skipping the Python audit probes: %s%s\n",
			lacks ? "this kernel has no " : "out of memory", lacks ? lacks : "");
		if (p)
			p->off = p->st.off = true;
		return p;
	}
	p->skel = skel;
	p->log = log;
	/* tests only (tests/e2e/README.md): the fallback, where a probe exists */
	p->force_uprobe = force && !strcmp(force, "1");
	p->seen_cap = 1024;
	p->seen = calloc(p->seen_cap, sizeof(*p->seen));
	if (!p->seen) {
		free(p);
		return NULL;
	}
	return p;
}

/* ---- maps ---------------------------------------------------------------- */

static int push_events(struct pyprobe *p)
{
	size_t n;
	const struct pyevent_def *d = pyevent_defs(&n);

	for (size_t i = 0; i < n; i++) {
		struct mlw_py_evkey k;
		struct mlw_py_evspec v = { .id = d[i].id, .flags = d[i].flags };

		memset(&k, 0, sizeof(k));
		if (strlen(d[i].name) >= sizeof(k.name))
			return -ENAMETOOLONG;
		memcpy(k.name, d[i].name, strlen(d[i].name));
		memcpy(v.arg, d[i].arg, sizeof(v.arg));
		if (bpf_map__update_elem(p->skel->maps.py_events, &k, sizeof(k), &v, sizeof(v),
					 BPF_ANY))
			return -errno;
	}
	return 0;
}

static int push_patterns(struct pyprobe *p)
{
	struct pypattern_set *set = malloc(sizeof(*set));

	if (!set)
		return -ENOMEM;
	pypattern_build(&pickle_profile_runtime, set);
	for (uint32_t i = 0; i < set->n; i++)
		if (bpf_map__update_elem(p->skel->maps.py_patterns, &i, sizeof(i), &set->v[i],
					 sizeof(set->v[i]), BPF_ANY)) {
			free(set);
			return -errno;
		}
	p->st.patterns = (unsigned)set->n;
	p->st.patterns_left_out = (unsigned)set->left_out;
	p->st.patterns_widened = (unsigned)set->widened;
	fprintf(p->log,
		"mlwatch: python: %zu allowlist patterns (profile runtime) in the kernel; %zu left "
		"out (the kernel marks what they allow, user space judges again)%s%s%s; %zu deny "
		"patterns matched wider\n",
		set->n, set->left_out, set->left_out ? ", first: \"" : "", set->first_left_out,
		set->left_out ? "\"" : "", set->widened);
	free(set);
	return 0;
}

/* ---- self-protection ----------------------------------------------------- */

/* The links of the Python programs (one per probe location of a USDT
 * attach) go to self_ids, so detaching one is reported. They are found
 * among mlwatch's own descriptors (/proc/self/fdinfo names each link's id
 * and program): opening links by id would reach other processes' links,
 * which a second mlwatch reports as inspected. */
static void push_links(struct pyprobe *p)
{
	struct bpf_prog_info pi;
	uint32_t len, ids[2] = { 0 };
	struct bpf_program *progs[] = { p->skel->progs.handle_py_audit,
					p->skel->progs.handle_py_sysaudit };
	struct dirent *de;
	DIR *d;

	for (int i = 0; i < 2; i++) {
		memset(&pi, 0, sizeof(pi));
		len = sizeof(pi);
		if (bpf_program__fd(progs[i]) >= 0 &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &pi, &len))
			ids[i] = pi.id;
	}
	d = opendir("/proc/self/fdinfo");
	while (d && (de = readdir(d))) {
		char path[64], line[128];
		unsigned link_id = 0, prog_id = 0;
		int fd = atoi(de->d_name);
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "link_id: %u", &link_id) != 1)
				sscanf(line, "prog_id: %u", &prog_id);
		fclose(f);
		if (link_id && prog_id && (prog_id == ids[0] || prog_id == ids[1]))
			p->on_link(p->link_ctx, fd, link_id,
				   prog_id == ids[0] ? "handle_py_audit" : "handle_py_sysaudit");
	}
	if (d)
		closedir(d);
}

/* ---- looking at a binary ------------------------------------------------- */

/* The probe's way into one interpreter: 0, or -1 when not attached (the
 * reason said). fd: the binary, open; shown: its path as its processes
 * see it. */
static int attach(struct pyprobe *p, int fd, const char *shown, const struct pyelf *e)
{
	LIBBPF_OPTS(bpf_usdt_opts, uo);
	LIBBPF_OPTS(bpf_uprobe_opts, po);
	struct mlw_py_layout lay;
	struct interp *it;
	char via[64];
	uint32_t idx = p->n;
	const char *refuse = NULL;

	if (e->debug || e->trace_refs) {
		refuse = "a debug build (other object layouts)";
		p->st.refused_debug++;
	} else if (e->free_threaded) {
		refuse = "a free-threaded build (not supported)";
		p->st.refused_free_threaded++;
	} else if (!e->major) {
		refuse = "its version could not be read (no Py_Version, no version in its name)";
		p->st.refused_version++;
	} else if (pylayout_get(e->major, e->minor, &lay)) {
		refuse = "this CPython version is not one mlwatch knows";
		p->st.refused_version++;
	} else if (idx >= MLW_PY_INTERPS) {
		refuse = "too many interpreters";
		p->st.refused_full++;
	}
	if (refuse) {
		p->st.refused++;
		fprintf(p->log, "mlwatch: python: %s (%u.%u): not covered: %s\n", shown, e->major,
			e->minor, refuse);
		return -1;
	}
	if (!e->usdt && !e->sysaudit) {
		p->st.not_covered++;
		fprintf(p->log,
			"mlwatch: python: %s (%u.%u): not covered: no python:audit probe and no "
			"PySys_Audit symbol\n",
			shown, e->major, e->minor);
		return -1;
	}
	/* the layout first: the probe reads it on its first hit */
	if (bpf_map__update_elem(p->skel->maps.py_layouts, &idx, sizeof(idx), &lay, sizeof(lay),
				 BPF_ANY)) {
		fprintf(p->log, "mlwatch: python: %s: not covered: writing its layout failed: %s\n",
			shown, strerror(errno));
		p->st.attach_failed++;
		return -1;
	}
	it = &p->v[idx];
	memset(it, 0, sizeof(*it));
	/* through our own fd: the process may be gone, the file may be in
	 * another mount namespace; the kernel resolves it to the inode */
	snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
	if (e->usdt && !p->force_uprobe) {
		uo.usdt_cookie = idx;
		it->link = bpf_program__attach_usdt(p->skel->progs.handle_py_audit, -1, via,
						    "python", "audit", &uo);
		if (it->link)
			it->how = PYPROBE_USDT;
		else
			fprintf(p->log, "mlwatch: python: %s: attaching python:audit failed: %s\n",
				shown, strerror(errno));
	}
	if (!it->link && e->sysaudit) {
		po.func_name = "PySys_Audit";
		po.bpf_cookie = idx;
		it->link = bpf_program__attach_uprobe_opts(p->skel->progs.handle_py_sysaudit, -1,
							   via, 0, &po);
		if (it->link)
			it->how = PYPROBE_UPROBE;
		else
			fprintf(p->log, "mlwatch: python: %s: attaching PySys_Audit failed: %s\n",
				shown, strerror(errno));
	}
	if (!it->link) {
		p->st.attach_failed++;
		fprintf(p->log, "mlwatch: python: %s (%u.%u): not covered: attaching failed\n",
			shown, e->major, e->minor);
		return -1;
	}
	snprintf(it->path, sizeof(it->path), "%s", shown);
	it->major = e->major;
	it->minor = e->minor;
	p->n++;
	if (it->how == PYPROBE_USDT)
		p->st.usdt++;
	else
		p->st.uprobe++;
	fprintf(p->log, "mlwatch: python: %s (%u.%u, %s)\n", shown, e->major, e->minor,
		it->how == PYPROBE_USDT ? "usdt python:audit" : "uprobe PySys_Audit");
	if (p->on_link)
		push_links(p);
	return 0;
}

/* Looks at the binary open at fd once (by identity). Returns true when it
 * is a dynamically linked interpreter whose libpython is still to come. */
static bool examine(struct pyprobe *p, int fd, const char *shown)
{
	struct stat st;
	struct pyelf e;
	struct seen *s;
	char err[160];
	uint32_t dev;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	dev = exeid_kdev(st.st_dev);
	if (!dev)
		dev = 1; /* 0 marks an empty slot */
	if ((s = seen_get(p, dev, st.st_ino)))
		return false;
	s = seen_add(p, dev, st.st_ino);
	p->st.examined++;
	if (pyelf_read(fd, shown, &e, err, sizeof(err))) {
		if (s)
			s->state = SEEN_NOT_PYTHON;
		return false;
	}
	if (!e.usdt && !e.sysaudit && !e.major) {
		if (s)
			s->state = SEEN_NOT_PYTHON;
		return e.needed[0] != 0;
	}
	if (!e.usdt && !e.sysaudit && e.needed[0]) {
		/* python3.X linked with libpython: the library has the probe */
		if (s)
			s->state = SEEN_NOT_PYTHON;
		return true;
	}
	if (s)
		s->state = SEEN_PYTHON;
	attach(p, fd, shown, &e);
	return false;
}

/* The path a process sees for its file; "(pid N)" appended when that is
 * in another mount namespace than ours. */
static void shown_path(uint32_t pid, const char *link, char *out, size_t len)
{
	char root[64], target[PATH_MAX];
	struct stat a, b;
	ssize_t n = readlink(link, target, sizeof(target) - 1);

	if (n <= 0) {
		snprintf(out, len, "%s", link);
		return;
	}
	target[n] = 0;
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	if (!stat(root, &a) && !stat("/", &b) && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		snprintf(out, len, "%s (root of pid %u)", target, pid);
	else
		snprintf(out, len, "%s", target);
}

/* Every file-backed libpython3 mapping of pid, through map_files (it
 * works whatever the process's mount namespace). true if one was seen. */
static bool scan_maps(struct pyprobe *p, uint32_t pid)
{
	char path[64], line[PATH_MAX + 128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *nl, range[64], mf[128], shown[PATH_MAX + 64];
		const char *base;
		int fd;

		if (!file || !(base = strrchr(file, '/')) || strncmp(base + 1, "libpython3", 10))
			continue;
		if ((nl = strchr(file, '\n')))
			*nl = 0;
		if (sscanf(line, "%63s", range) != 1)
			continue;
		found = true;
		snprintf(mf, sizeof(mf), "/proc/%u/map_files/%s", pid, range);
		fd = open(mf, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		shown_path(pid, mf, shown, sizeof(shown));
		examine(p, fd, shown);
		close(fd);
	}
	fclose(f);
	return found;
}

static void wait_for_lib(struct pyprobe *p, uint32_t pid)
{
	if (p->n_waits >= LIB_WAITS) {
		p->st.lib_waits_expired++;
		return;
	}
	p->waits[p->n_waits++] =
		(struct lib_wait){ .pid = pid, .until_ns = now_ns() + LIB_WAIT_NS };
}

/* pid's executable; false if it could not be opened. */
static bool scan_exe(struct pyprobe *p, uint32_t pid, uint32_t kdev, uint64_t ino)
{
	char link[64], shown[PATH_MAX + 64];
	struct stat st;
	bool dyn;
	int fd;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* the pid went on to another program: not the one the record names */
	if (ino && (fstat(fd, &st) || st.st_ino != ino || exeid_kdev(st.st_dev) != kdev)) {
		close(fd);
		return false;
	}
	shown_path(pid, link, shown, sizeof(shown));
	dyn = examine(p, fd, shown);
	close(fd);
	if (dyn && !scan_maps(p, pid))
		wait_for_lib(p, pid);
	return true;
}

void pyprobe_start(struct pyprobe *p, pyprobe_link_fn on_link, void *ctx, FILE *log)
{
	DIR *d;
	struct dirent *de;
	int err;

	if (!p || p->off)
		return;
	p->on_link = on_link;
	p->link_ctx = ctx;
	p->log = log;
	if ((err = push_events(p)) || (err = push_patterns(p))) {
		fprintf(log,
			"mlwatch: python: filling the probe's maps failed (%s): not attached\n",
			strerror(-err));
		p->off = p->st.off = true;
		return;
	}
	p->started = true;
	d = opendir("/proc");
	if (!d) {
		fprintf(log, "mlwatch: python: cannot list /proc (%s): only new interpreters\n",
			strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);

		if (!pid || pid == (uint32_t)getpid())
			continue;
		scan_exe(p, pid, 0, 0);
		scan_maps(p, pid);
	}
	closedir(d);
	fprintf(log,
		"mlwatch: python: %u interpreters covered (%u usdt, %u uprobe), %u refused, %u "
		"without probe or symbol\n",
		p->st.usdt + p->st.uprobe, p->st.usdt, p->st.uprobe, p->st.refused,
		p->st.not_covered);
}

void pyprobe_exec(struct pyprobe *p, uint32_t pid, uint32_t kdev, uint64_t ino, const char *kpath)
{
	(void)kpath;
	if (!p || !p->started)
		return;
	if (seen_get(p, kdev ? kdev : 1, ino))
		return;
	if (!scan_exe(p, pid, kdev, ino)) {
		/* gone before we looked: its next exec is sent again */
		struct mlw_exe_key k = { .ino = ino, .dev = kdev };

		p->st.unreadable++;
		bpf_map__delete_elem(p->skel->maps.exe_seen, &k, sizeof(k), 0);
	}
}

void pyprobe_tick(struct pyprobe *p)
{
	uint64_t now;
	unsigned keep = 0;

	if (!p || !p->started || !p->n_waits)
		return;
	now = now_ns();
	for (unsigned i = 0; i < p->n_waits; i++) {
		char proc[32];

		snprintf(proc, sizeof(proc), "/proc/%u", p->waits[i].pid);
		if (scan_maps(p, p->waits[i].pid))
			continue;
		if (now > p->waits[i].until_ns || !exists(proc)) {
			p->st.lib_waits_expired++;
			continue;
		}
		p->waits[keep++] = p->waits[i];
	}
	p->n_waits = keep;
}

int pyprobe_allow_global(struct pyprobe *p, const char *module, const char *name)
{
	struct mlw_py_global g;
	uint8_t v = MLW_PY_V_ALLOW;

	if (!p || !p->started)
		return -ENOENT;
	if (strlen(module) >= sizeof(g.mod) || strlen(name) >= sizeof(g.name))
		return -ENAMETOOLONG; /* the kernel never allows a cut name anyway */
	memset(&g, 0, sizeof(g));
	memcpy(g.mod, module, strlen(module));
	memcpy(g.name, name, strlen(name));
	if (bpf_map__update_elem(p->skel->maps.py_verdicts, &g, sizeof(g), &v, sizeof(v), BPF_ANY))
		return -errno;
	return 0;
}

bool pyprobe_interp(const struct pyprobe *p, uint32_t idx, struct pyprobe_interp_info *out)
{
	if (!p || idx >= p->n)
		return false;
	out->path = p->v[idx].path;
	out->major = p->v[idx].major;
	out->minor = p->v[idx].minor;
	out->how = p->v[idx].how;
	return true;
}

void pyprobe_stats(const struct pyprobe *p, struct pyprobe_stats *out)
{
	if (p)
		*out = p->st;
	else
		memset(out, 0, sizeof(*out));
	if (!p)
		out->off = true;
}

void pyprobe_report(const struct pyprobe *p, FILE *f)
{
	struct pyprobe_stats st;

	pyprobe_stats(p, &st);
	if (st.off) {
		fprintf(f, "mlwatch: python: probes off\n");
		return;
	}
	fprintf(f,
		"mlwatch: python: interpreters usdt=%u uprobe=%u refused=%u (debug=%u "
		"free_threaded=%u version=%u full=%u) not_covered=%u attach_failed=%u "
		"binaries_examined=%llu unreadable=%llu lib_waits_expired=%llu patterns=%u "
		"patterns_left_out=%u patterns_widened=%u\n",
		st.usdt, st.uprobe, st.refused, st.refused_debug, st.refused_free_threaded,
		st.refused_version, st.refused_full, st.not_covered, st.attach_failed,
		(unsigned long long)st.examined, (unsigned long long)st.unreadable,
		(unsigned long long)st.lib_waits_expired, st.patterns, st.patterns_left_out,
		st.patterns_widened);
}

void pyprobe_detach(struct pyprobe *p)
{
	for (unsigned i = 0; p && i < p->n; i++) {
		bpf_link__destroy(p->v[i].link);
		p->v[i].link = NULL;
	}
}

void pyprobe_free(struct pyprobe *p)
{
	if (!p)
		return;
	pyprobe_detach(p);
	free(p->seen);
	free(p);
}
