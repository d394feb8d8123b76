/* The walk of /proc at start (see seed.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "seed.h"
#include "collect/exeid.h"
#include "collect/procfs.h"
#include "collect/procwalk.h"
#include "collect/roots.h"
#include "sense/modelpatterns.h"
#include "sense/sensors.h"

/* A model file a process holds. */
struct held {
	int fd; /* -1: only mapped */
	uint64_t map_start, map_end;
	uint64_t ino;
	unsigned maj, min; /* 0:0 when unknown */
	char *path;
};

/* One process found in /proc. */
struct seen_proc {
	uint32_t pid, ppid;
	uint64_t start_ticks;
	uint64_t vsize;
	char comm[MLW_COMM_LEN + 1];
	bool root, notebook;
	bool late;         /* found by a later listing: forked during the walk */
	bool done;         /* its mark decided */
	bool marked;       /* it has a mark (ours or the kernel's): eff */
	bool ours;         /* ... which the walk wrote */
	uint32_t n_models; /* model files found, past the ones kept too */
	uint32_t own;      /* ... not shared with its parent: what its mark counts */
	uint32_t n_held;
	struct held *held;
	struct mlw_mark eff;
};

/* mlwatch's own ancestors remembered: a supervisor chain is short */
#define SEED_ANCESTORS 32

struct seed_walk {
	struct collector *c;
	struct seed_stats *st;
	struct model_exts_table exts;
	struct seen_proc *r;
	size_t n, cap;
	uint32_t *by_pid; /* indices into r, by pid */
	size_t indexed;   /* ... of the first this many */
	uint32_t self;
	uint32_t ancestors[SEED_ANCESTORS]; /* mlwatch's parent, its parent ... */
	unsigned n_ancestors;
	uint64_t mono_off; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC: start times to mark times */
	uint64_t ns_per_tick;
	struct seen_proc *cur; /* the process whose files are being read */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool seed_mark_for(const struct mlw_mark *inh, uint32_t pid, uint64_t mark_ns, bool root,
		   bool notebook, uint32_t models, struct mlw_mark *out)
{
	memset(out, 0, sizeof(*out));
	if (inh) {
		/* inherited at fork (bpf/process.bpf.c): the model is the
		 * parent's load; a root's exec check sees a marked process
		 * and leaves it in its lineage */
		*out = *inh;
		out->depth = inh->depth + 1;
		out->models = 0;
	}
	if (models) {
		if (inh && (inh->reason & MLW_MARK_MODEL)) {
			out->models = models; /* one more model under the lineage's mark */
			return true;
		}
		/* a model lineage starts here, keeping its root reasons */
		out->reason =
			MLW_MARK_MODEL | MLW_MARK_USER |
			(inh ? inh->reason & (MLW_MARK_ROOT | MLW_MARK_NOTEBOOK | MLW_MARK_USER) :
			       0);
		if (!inh && root)
			out->reason |= MLW_MARK_ROOT | (notebook ? MLW_MARK_NOTEBOOK : 0);
		out->loader_tgid = pid;
		out->mark_ns = mark_ns;
		out->depth = 0;
		out->models = models;
		return true;
	}
	if (inh)
		return true;
	if (!root)
		return false;
	out->loader_tgid = pid;
	out->reason = MLW_MARK_ROOT | MLW_MARK_USER | (notebook ? MLW_MARK_NOTEBOOK : 0);
	out->mark_ns = mark_ns;
	return true;
}

/* ---- listing --------------------------------------------------------- */

static int by_pid_cmp(const void *a, const void *b, void *ctx)
{
	const struct seen_proc *r = ctx;
	uint32_t x = r[*(const uint32_t *)a].pid, y = r[*(const uint32_t *)b].pid;

	return x < y ? -1 : x > y;
}

static int index_pids(struct seed_walk *w)
{
	uint32_t *idx = realloc(w->by_pid, (w->n ? w->n : 1) * sizeof(*idx));

	if (!idx)
		return -1;
	w->by_pid = idx;
	for (size_t i = 0; i < w->n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, w->n, sizeof(*idx), by_pid_cmp, w->r);
	w->indexed = w->n;
	return 0;
}

/* Among the records indexed (a listing in progress adds others). */
static struct seen_proc *find(struct seed_walk *w, uint32_t pid)
{
	size_t lo = 0, hi = w->indexed;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t p = w->r[w->by_pid[mid]].pid;

		if (p == pid)
			return &w->r[w->by_pid[mid]];
		if (p < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether a root by its name (as the kernel's exec and rename hooks
 * decide) or, for an interpreter, by its command line (as the collector
 * decides for the exec the kernel sends up). */
static void check_root(struct seed_walk *w, struct seen_proc *r)
{
	const struct roots *ro = &w->c->opt->roots;
	char args[MLW_ARGS_MAX + 1];
	const char *argv[256];
	size_t argc = 0;
	bool trunc, interp = false;
	long n;

	for (size_t i = 0; i < ro->n_comms; i++)
		if (!strcmp(r->comm, ro->comms[i])) {
			r->root = true;
			r->notebook = ro->comm_notebook[i];
			return;
		}
	if (ro->ray_workers && !strncmp(r->comm, "ray::", 5)) {
		r->root = true;
		return;
	}
	for (size_t i = 0; i < ro->n_interpreters; i++)
		interp |= !strcmp(r->comm, ro->interpreters[i]);
	if (!interp || !ro->n_argv_patterns)
		return;
	n = procfs_cmdline((pid_t)r->pid, args, sizeof(args) - 1, &trunc);
	if (n <= 0)
		return;
	args[n] = 0;
	for (long i = 0; i < n && argc < sizeof(argv) / sizeof(argv[0]);
	     i += (long)strlen(args + i) + 1)
		argv[argc++] = args + i;
	if (roots_argv_match(ro, argv, argc, &r->notebook))
		r->root = true;
}

/* Adds every process of /proc not listed yet (late: a later listing). */
static int list_procs(struct seed_walk *w, bool late)
{
	size_t first = w->n;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		struct procwalk_stat ps;
		char *e;
		unsigned long pid = strtoul(de->d_name, &e, 10);
		struct seen_proc *r;

		if (*e || !pid || pid > UINT32_MAX || pid == w->self)
			continue;
		if (late && find(w, (uint32_t)pid))
			continue;
		if (procwalk_read_stat((uint32_t)pid, &ps) != 0) {
			w->st->gone++;
			continue;
		}
		if (ps.flags & PROCWALK_PF_KTHREAD)
			continue;
		if (w->n >= SEED_MAX_PROCS) {
			w->st->procs_cut++;
			continue;
		}
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 1024;
			struct seen_proc *nr = realloc(w->r, cap * sizeof(*nr));

			if (!nr) {
				closedir(d);
				return -1;
			}
			w->r = nr;
			w->cap = cap;
		}
		r = &w->r[w->n++];
		memset(r, 0, sizeof(*r));
		r->pid = ps.pid;
		r->ppid = ps.ppid;
		r->start_ticks = ps.start_ticks;
		r->vsize = ps.vsize;
		r->late = late;
		memcpy(r->comm, ps.comm, sizeof(r->comm));
		w->st->listed++;
		/* one born during the walk execed after the sensors were on:
		 * the kernel judged its name itself */
		if (!late)
			check_root(w, r);
	}
	closedir(d);
	if (late)
		w->st->late += w->n - first;
	return index_pids(w);
}

/* ---- the files a process holds ---------------------------------------- */

static bool alive(uint32_t pid)
{
	char p[32];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%u", pid);
	return stat(p, &st) == 0;
}

static bool is_model(struct seed_walk *w, const char *path)
{
	char cut[PATH_MAX + 1];

	if (model_path_is_candidate(&w->exts, path))
		return true;
	/* an unlinked file's link ends in " (deleted)"; a file may also be
	 * named so: either reading makes it one */
	snprintf(cut, sizeof(cut), "%s", path);
	return procwalk_cut_deleted(cut) && model_path_is_candidate(&w->exts, cut);
}

static bool held_already(const struct seen_proc *r, unsigned maj, unsigned min, uint64_t ino)
{
	for (uint32_t i = 0; i < r->n_held; i++)
		if (r->held[i].ino == ino && r->held[i].maj == maj && r->held[i].min == min)
			return true;
	return false;
}

static void add_held(struct seed_walk *w, const struct held *h)
{
	struct seen_proc *r = w->cur;
	struct held *nh;

	if (held_already(r, h->maj, h->min, h->ino))
		return;
	r->n_models++;
	w->st->models++;
	if (r->n_held >= SEED_MODELS_PER_PROC) {
		w->st->models_cut++;
		return;
	}
	nh = realloc(r->held, (r->n_held + 1) * sizeof(*nh));
	if (!nh)
		return; /* counted as held: the mark still says so */
	r->held = nh;
	nh[r->n_held] = *h;
	nh[r->n_held].path = strdup(h->path);
	if (nh[r->n_held].path)
		r->n_held++;
}

static void on_fd(void *ctx, int fd, char *path)
{
	struct seed_walk *w = ctx;
	struct held h = { .fd = fd, .path = path };
	char p[64];
	struct statx sx;

	if (!is_model(w, path))
		return;
	snprintf(p, sizeof(p), "/proc/%u/fd/%d", w->cur->pid, fd);
	/* cached attributes only: no FUSE server is asked */
	if (statx(AT_FDCWD, p, AT_STATX_DONT_SYNC, STATX_INO, &sx) == 0) {
		h.ino = sx.stx_ino;
		h.maj = sx.stx_dev_major;
		h.min = sx.stx_dev_minor;
	}
	procwalk_cut_deleted(path);
	add_held(w, &h);
}

static void on_map(void *ctx, const struct procwalk_map *m)
{
	struct seed_walk *w = ctx;
	struct held h = { .fd = -1,
			  .map_start = m->start,
			  .map_end = m->end,
			  .ino = m->inode,
			  .maj = m->dev_major,
			  .min = m->dev_minor,
			  .path = m->path };
	char *un, *whole;
	bool model;

	/* the same file mapped again (its segments): one look */
	if (held_already(w->cur, h.maj, h.min, h.ino))
		return;
	model = model_path_is_candidate(&w->exts, m->path);
	/* whole copies: a path may be longer than PATH_MAX, its name last */
	un = strdup(m->path);
	if (!un) {
		w->st->unnamed++;
		return;
	}
	if (procwalk_unescape_maps(un)) {
		/* "\012" is a newline, or those four characters: either */
		model |= model_path_is_candidate(&w->exts, un);
		if (model)
			h.path = un;
	}
	if (!model && m->deleted && asprintf(&whole, "%s (deleted)", m->path) >= 0) {
		model = model_path_is_candidate(&w->exts, whole);
		free(whole);
	}
	if (model)
		add_held(w, &h);
	free(un);
}

static bool is_ancestor(const struct seed_walk *w, uint32_t pid)
{
	for (unsigned i = 0; i < w->n_ancestors; i++)
		if (w->ancestors[i] == pid)
			return true;
	return false;
}

static void find_ancestors(struct seed_walk *w)
{
	struct procwalk_stat st;
	uint32_t pid = w->self;

	while (w->n_ancestors < SEED_ANCESTORS && !procwalk_read_stat(pid, &st) && st.ppid &&
	       st.ppid != pid) {
		pid = st.ppid;
		w->ancestors[w->n_ancestors++] = pid;
	}
}

/* The model files r holds: its fds, then its mappings (a loader that
 * mapped the file and closed it, as safetensors does). */
static void examine(struct seed_walk *w, struct seen_proc *r)
{
	bool cut = false, bad = false;
	uint64_t unnamed = 0;

	w->cur = r;
	w->st->examined++;
	if (procwalk_fds(r->pid, SEED_MAX_FDS, on_fd, w, &cut, &unnamed) < 0)
		bad = true;
	w->st->fds_cut += cut;
	w->st->unnamed += unnamed;
	if (procwalk_maps(r->pid, SEED_MAX_MAP_LINES, on_map, w, &cut, &unnamed) < 0)
		bad = true;
	w->st->maps_cut += cut;
	w->st->unnamed += unnamed;
	/* gone meanwhile is no failure: its stat is read again below. What
	 * started mlwatch (init, a runtime's shim, a sandbox's supervisor) may
	 * refuse even root; it is the operator's, not a loader: counted only */
	if (bad && alive(r->pid)) {
		w->st->unreadable++;
		w->st->ancestors_unreadable += is_ancestor(w, r->pid);
	}
	w->cur = NULL;
}

/* ---- marks ------------------------------------------------------------ */

/* The lineage's time: the process's start, so that the same lineage gets
 * the same mark (and incident id) from every restart on this boot. Start
 * times count from boot, suspend included; marks use CLOCK_MONOTONIC. */
static uint64_t mark_ns_of(const struct seed_walk *w, const struct seen_proc *r)
{
	uint64_t boot = r->start_ticks * w->ns_per_tick, now = clock_ns(CLOCK_MONOTONIC);
	uint64_t ns = boot > w->mono_off ? boot - w->mono_off : 1;

	return ns > now ? now : ns ? ns : 1;
}

/* Model files r holds that its parent does not: a child shares its
 * parent's fds and mappings at fork, and those are the parent's load,
 * under the parent's mark (an unmarked parent's files are the child's). */
static uint32_t own_models(const struct seen_proc *r, const struct seen_proc *parent)
{
	uint32_t shared = 0;

	if (!parent || !parent->marked || r->n_models > r->n_held)
		return r->n_models;
	for (uint32_t i = 0; i < r->n_held; i++)
		shared += held_already(parent, r->held[i].maj, r->held[i].min, r->held[i].ino);
	return shared < r->n_held ? r->n_models : 0;
}

static void decide(struct seed_walk *w, struct seen_proc *r)
{
	struct sensors *s = w->c->sensors;
	struct seen_proc *parent = r->ppid ? find(w, r->ppid) : NULL;
	const struct mlw_mark *inh = parent && parent->marked ? &parent->eff : NULL;
	struct procwalk_stat ps;
	struct mlw_mark m, had;
	int err;

	r->done = true;
	r->own = own_models(r, parent);
	if (!seed_mark_for(inh, r->pid, mark_ns_of(w, r), r->root, r->notebook, r->own, &m))
		return;
	/* no sensors (unit tests): as if the kernel took every mark */
	err = s ? sensors_seed_mark(s, r->pid, &m, &had) : 0;
	if (err == -EEXIST) {
		/* the kernel's: set since the sensors were attached */
		r->eff = had;
		r->marked = true;
		w->st->kernel_had++;
		return;
	}
	if (err == -ENOENT) {
		w->st->gone++;
		return;
	}
	if (err) {
		w->st->mark_failed++;
		return;
	}
	/* the process may have exited, and its PID been taken, before the
	 * mark was written: the kernel drops a mark only at its exit */
	if (procwalk_read_stat(r->pid, &ps) != 0 || ps.start_ticks != r->start_ticks) {
		if (s)
			sensors_drop_seed_mark(s, r->pid, &m);
		if (alive(r->pid))
			w->st->reused++;
		else
			w->st->gone++;
		return;
	}
	r->eff = m;
	r->marked = r->ours = true;
	if (m.loader_tgid != r->pid) {
		w->st->descendants++;
	} else {
		w->st->loaders++;
		w->st->roots += (m.reason & MLW_MARK_ROOT) != 0;
	}
}

static int by_vsize_cmp(const void *a, const void *b, void *ctx)
{
	const struct seen_proc *r = ctx, *x = &r[*(const uint32_t *)a],
			       *y = &r[*(const uint32_t *)b];

	return x->vsize > y->vsize ? -1 : x->vsize < y->vsize;
}

static int by_start_cmp(const void *a, const void *b, void *ctx)
{
	const struct seen_proc *r = ctx, *x = &r[*(const uint32_t *)a],
			       *y = &r[*(const uint32_t *)b];

	if (x->start_ticks != y->start_ticks)
		return x->start_ticks < y->start_ticks ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Decides records from..n-1, parents first: a parent starts no later than
 * its child; a tie (PIDs wrapped) waits for its parent. Returns how many
 * got marks the walk wrote. */
static uint64_t decide_all(struct seed_walk *w, size_t from)
{
	size_t n = w->n - from, left;
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
	uint64_t before = w->st->loaders + w->st->descendants;

	if (!order) {
		for (size_t i = from; i < w->n; i++)
			decide(w, &w->r[i]);
		return w->st->loaders + w->st->descendants - before;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)(from + i);
	qsort_r(order, n, sizeof(*order), by_start_cmp, w->r);
	for (left = n; left;) {
		size_t kept = 0;

		for (size_t i = 0; i < left; i++) {
			struct seen_proc *r = &w->r[order[i]];
			struct seen_proc *p = r->ppid ? find(w, r->ppid) : NULL;

			if (p && !p->done && p != r)
				order[kept++] = order[i];
			else
				decide(w, r);
		}
		if (kept == left) { /* no progress: cannot be, but never loop */
			for (size_t i = 0; i < left; i++)
				decide(w, &w->r[order[i]]);
			kept = 0;
		}
		left = kept;
	}
	free(order);
	return w->st->loaders + w->st->descendants - before;
}

/* ---- the collector's side --------------------------------------------- */

/* File systems no user namespace can mount: their files are judged like
 * the kernel's reports. On the others (tmpfs, ramfs, overlay, FUSE and
 * the network ones) /proc cannot say who mounted it, so the file is not
 * judged and its loader keeps its mark. */
static uint32_t fs_magic_of(uint32_t pid, uint32_t mnt_id)
{
	static const struct {
		const char *name;
		uint32_t magic;
	} fs[] = {
		{ "ext4", 0xEF53 },         { "ext3", 0xEF53 },      { "ext2", 0xEF53 },
		{ "xfs", 0x58465342 },      { "btrfs", 0x9123683E }, { "squashfs", 0x73717368 },
		{ "erofs", 0xE0F5E1E2 },    { "f2fs", 0xF2F52010 },  { "zfs", 0x2FC12FC1 },
		{ "bcachefs", 0xCA451A4E }, { "jfs", 0x3153464A },   { "vfat", 0x4D44 },
		{ "exfat", 0x2011BAB0 },
	};
	char p[64], line[4096];
	uint32_t magic = 0;
	FILE *f;

	if (!mnt_id)
		return 0;
	snprintf(p, sizeof(p), "/proc/%u/mountinfo", pid);
	if (!(f = fopen(p, "re")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), type[64];
		unsigned id;

		if (sscanf(line, "%u", &id) != 1 || id != mnt_id || !sep ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
			if (!strcmp(type, fs[i].name))
				magic = fs[i].magic;
		break;
	}
	fclose(f);
	return magic;
}

/* The file's identity as the kernel would report it, through the
 * process's own handle; mode 0 (the judge: gone) when it cannot be had. */
static void identity(uint32_t pid, const struct held *h, struct mlw_file *id)
{
	char p[96];
	struct statx sx;

	memset(id, 0, sizeof(*id));
	if (h->fd >= 0)
		snprintf(p, sizeof(p), "/proc/%u/fd/%d", pid, h->fd);
	else
		snprintf(p, sizeof(p), "/proc/%u/map_files/%llx-%llx", pid,
			 (unsigned long long)h->map_start, (unsigned long long)h->map_end);
	if (statx(AT_FDCWD, p, AT_STATX_DONT_SYNC, STATX_BASIC_STATS | STATX_MNT_ID, &sx) != 0)
		return;
	id->ino = sx.stx_ino;
	id->dev = exeid_kdev(makedev(sx.stx_dev_major, sx.stx_dev_minor));
	id->mnt_id = sx.stx_mask & STATX_MNT_ID ? (uint32_t)sx.stx_mnt_id : 0;
	id->nlink = sx.stx_nlink;
	id->mode = sx.stx_mode;
	id->size = sx.stx_size;
	id->ctime_ns = (uint64_t)sx.stx_ctime.tv_sec * 1000000000ull + sx.stx_ctime.tv_nsec;
	id->fs_magic = fs_magic_of(pid, id->mnt_id);
}

/* r's entry in the process table, as a fork and an exec would have left it. */
static void seed_table(struct seed_walk *w, struct seen_proc *r)
{
	struct collector *c = w->c;
	struct seen_proc *parent = r->ppid ? find(w, r->ppid) : NULL;
	char exe[PATH_MAX], args[MLW_ARGS_MAX];
	bool created, trunc;
	struct proc *p;
	long n;

	p = proctable_add(&c->pt, r->pid, &created);
	if (!p) {
		w->st->table_refused++;
		return;
	}
	if (!created)
		proctable_reset(&c->pt, p);
	p->parent = r->ppid;
	proctable_set_lineage(&c->pt, p, r->eff.loader_tgid, r->eff.mark_ns);
	memcpy(p->comm, r->comm, sizeof(p->comm));
	proctable_set_exe(&c->pt, p,
			  procfs_exe((pid_t)r->pid, exe, sizeof(exe)) == 0 ? exe : r->comm);
	n = procfs_cmdline((pid_t)r->pid, args, sizeof(args), &trunc);
	if (n > 0)
		proctable_set_args(&c->pt, p, args, (size_t)n, trunc);
	/* its parent's model count when it forked it: at most this */
	p->forked_at = parent && parent->marked ? parent->eff.models : 0;
	if (!r->ours && r->own && r->n_held) {
		/* the kernel marked it meanwhile: what it held before is not
		 * judged, so nothing it opens later may clear the mark */
		p->model_state = MODEL_CONFIRMED;
		proctable_set_model(&c->pt, p, r->held[0].path, r->held[0].path, MF_UNKNOWN,
				    clock_ns(CLOCK_MONOTONIC));
	}
	w->st->seeded++;
}

/* Each model file r holds goes through the collector as the kernel's
 * record of its open would: judged by r's own handle, scanned,
 * inventoried, named as the lineage's model. */
static void feed_models(struct seed_walk *w, struct seen_proc *r)
{
	struct collector *c = w->c;
	uint32_t uid = 0;
	uint64_t cg = procwalk_cgroup_id(r->pid, c->sensors ? c->sensors->cgroup_fd : -1);

	procwalk_read_uid(r->pid, &uid);
	w->st->no_cgroup += !cg;
	for (uint32_t i = 0; i < r->n_held; i++) {
		const struct held *h = &r->held[i];
		size_t pl = strnlen(h->path, MLW_PATH_MAX - 1) + 1;
		bool cut = h->path[pl - 1] != 0;
		size_t size = sizeof(struct mlw_open) + 2 * pl;
		struct mlw_open *o = calloc(1, size);

		if (!o)
			return;
		o->hdr.kind = MLW_EV_MODEL_OPEN;
		o->hdr.flags = MLW_F_MARKED | MLW_F_SEEDED |
			       (cut ? MLW_F_PATH_TRUNC | MLW_F_KPATH_TRUNC : 0);
		if (i == 0 && r->eff.loader_tgid == r->pid)
			o->hdr.flags |= MLW_F_NEW_MARK;
		o->hdr.ts_ns = clock_ns(CLOCK_MONOTONIC);
		o->hdr.tgid = o->hdr.tid = r->pid;
		o->hdr.ppid = r->ppid;
		o->hdr.uid = uid;
		o->hdr.cgroup_id = cg;
		memcpy(o->hdr.comm, r->comm, MLW_COMM_LEN);
		o->hdr.mark = r->eff;
		o->hdr.mark.models = i + 1;
		identity(r->pid, h, &o->file);
		o->ret = h->fd;
		o->dirfd = -100; /* AT_FDCWD */
		o->flags = O_RDONLY;
		o->syscall = MLW_SYS_OPENAT;
		o->path_len = o->kpath_len = (uint32_t)pl;
		memcpy(o->data, h->path, pl - 1);
		memcpy(o->data + pl, h->path, pl - 1);
		collector_handle(c, o, size);
		free(o);
	}
}

int seed_run(struct collector *c, unsigned time_ms, struct seed_stats *st)
{
	struct seed_walk w = { .c = c, .st = st, .self = (uint32_t)getpid() };
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), deadline = t0 + time_ms * 1000000ull;
	long tck = sysconf(_SC_CLK_TCK);
	uint32_t *order;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->time_ms = time_ms;
	w.ns_per_tick = 1000000000ull / (uint64_t)(tck > 0 ? tck : 100);
	{
		/* read in this order the difference cannot come out negative */
		uint64_t mono = clock_ns(CLOCK_MONOTONIC), boot = clock_ns(CLOCK_BOOTTIME);

		w.mono_off = boot > mono ? boot - mono : 0;
	}
	model_exts_table_fill(&w.exts, c->opt->extra_exts, c->opt->n_extra_exts, c->opt->hex_blobs);
	find_ancestors(&w);
	if (list_procs(&w, false)) {
		st->list_failed = 1;
		rc = -1;
		goto out;
	}
	/* the largest address spaces first: a model's mapping is counted in
	 * it, so if the time runs out, what is left is small processes */
	order = malloc((w.n ? w.n : 1) * sizeof(*order));
	for (size_t i = 0; order && i < w.n; i++)
		order[i] = (uint32_t)i;
	if (order)
		qsort_r(order, w.n, sizeof(*order), by_vsize_cmp, w.r);
	for (size_t i = 0; i < w.n; i++) {
		if (clock_ns(CLOCK_MONOTONIC) >= deadline) {
			st->not_examined = w.n - i;
			break;
		}
		examine(&w, &w.r[order ? order[i] : i]);
	}
	free(order);
	decide_all(&w, 0);
	/* a child forked before its parent's mark was written inherited
	 * nothing: list again for those */
	for (int k = 0; k < SEED_CATCH_UP; k++) {
		size_t from = w.n;

		if (list_procs(&w, true) || !decide_all(&w, from))
			break;
	}
	for (size_t i = 0; i < w.n; i++)
		if (w.r[i].marked)
			seed_table(&w, &w.r[i]);
	for (size_t i = 0; i < w.n; i++)
		if (w.r[i].ours && w.r[i].own)
			feed_models(&w, &w.r[i]);
out:
	for (size_t i = 0; i < w.n; i++) {
		for (uint32_t k = 0; k < w.r[i].n_held; k++)
			free(w.r[i].held[k].path);
		free(w.r[i].held);
	}
	free(w.r);
	free(w.by_pid);
	st->ms = (clock_ns(CLOCK_MONOTONIC) - t0) / 1000000;
	{
		int e = errno; /* the caller says why /proc could not be listed */
		struct health_alert a;

		c->seed = st;
		if (seed_health(st, &a))
			collector_health_alert(c, &a);
		errno = e;
	}
	return rc;
}

bool seed_health(const struct seed_stats *st, struct health_alert *a)
{
	/* a process whose files were not all read, or that could not be
	 * marked: a loader among them is not watched */
	const struct {
		const char *reason;
		uint64_t n;
		bool whole; /* the whole process missed, not a part of its files */
	} c[] = {
		{ "proc_not_listed", st->list_failed, true },
		{ "procs_not_examined_time", st->not_examined, true },
		{ "procs_not_listed_max", st->procs_cut, true },
		{ "marks_refused", st->mark_failed, true },
		{ "procs_unreadable", st->unreadable - st->ancestors_unreadable, true },
		{ "files_unnamed", st->unnamed, false },
		{ "procs_fds_cut", st->fds_cut, false },
		{ "procs_maps_cut", st->maps_cut, false },
		{ "procs_not_in_table", st->table_refused, false },
	};
	bool whole = false;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (!c[i].n)
			continue;
		a->counts[a->n].reason = c[i].reason;
		a->counts[a->n].count = c[i].n;
		a->n++;
		whole |= c[i].whole;
	}
	if (!a->n)
		return false;
	a->rule_id = "sensor-proc-walk-incomplete";
	a->title = "The /proc walk at start did not read every process: a loader already "
		   "running may not be watched";
	a->severity = whole ? "high" : "medium";
	a->window_ns = st->ms * 1000000ull;
	return true;
}

void seed_print(const struct seed_stats *st, FILE *f)
{
	fprintf(f, "mlwatch: seeded %llu processes from /proc, marked %llu loaders (%llu roots)\n",
		(unsigned long long)st->seeded, (unsigned long long)st->loaders,
		(unsigned long long)st->roots);
	fprintf(f,
		"mlwatch: /proc walk: %llu processes in %llu ms, %llu model files held, "
		"%llu descendants marked, %llu already marked by the kernel, %llu forked meanwhile, "
		"%llu exited meanwhile, %llu PIDs reused, %llu unreadable (%llu of them mlwatch's "
		"ancestors), %llu loaders without a cgroup id\n",
		(unsigned long long)st->listed, (unsigned long long)st->ms,
		(unsigned long long)st->models, (unsigned long long)st->descendants,
		(unsigned long long)st->kernel_had, (unsigned long long)st->late,
		(unsigned long long)st->gone, (unsigned long long)st->reused,
		(unsigned long long)st->unreadable, (unsigned long long)st->ancestors_unreadable,
		(unsigned long long)st->no_cgroup);
	if (st->unnamed)
		fprintf(f,
			"mlwatch: WARNING: /proc walk: %llu open or mapped files with names "
			"the kernel would not give (longer than %d bytes, or %u in maps): not "
			"judged by name, their processes not marked for them\n",
			(unsigned long long)st->unnamed, PATH_MAX - 1, PROCWALK_LINE_CAP);
	if (st->not_examined || st->procs_cut || st->fds_cut || st->maps_cut || st->models_cut ||
	    st->mark_failed || st->table_refused)
		fprintf(f,
			"mlwatch: WARNING: /proc walk limits reached: %llu processes' files not read "
			"(%u ms spent), %llu processes not listed (over %u), %llu with fds past %d, "
			"%llu with maps past %d lines, %llu model files not judged (past %d a "
			"process: their loaders stay marked), %llu marks refused by the kernel, "
			"%llu processes not in the table\n",
			(unsigned long long)st->not_examined, st->time_ms,
			(unsigned long long)st->procs_cut, SEED_MAX_PROCS,
			(unsigned long long)st->fds_cut, SEED_MAX_FDS,
			(unsigned long long)st->maps_cut, SEED_MAX_MAP_LINES,
			(unsigned long long)st->models_cut, SEED_MODELS_PER_PROC,
			(unsigned long long)st->mark_failed, (unsigned long long)st->table_refused);
}
