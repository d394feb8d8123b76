/*
 * Load stage. Order matters: privileges, BTF and tracefs are checked first
 * so each failure gets its own message; programs whose tracepoint this
 * kernel lacks (open/creat/dup2 on arm64) are skipped and said so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <mlwatch/events.h> /* u32 & co. for the skeleton */
#include <mlwatch/maps.h>
#include "collect/pidns.h"
#include "enforce.h"
#include "collect/cgmap.h"
#include "mlwatch.skel.h"
#include "modelpatterns.h"
#include "pyprobe.h"
#include "sensors.h"

#define TRACEFS "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"
#define BTF_PATH "/sys/kernel/btf/vmlinux"

#define CAP_BPF_BIT 39
#define CAP_PERFMON_BIT 38

static bool has_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

static int check_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {};

	if (syscall(SYS_capget, &h, d)) {
		fprintf(stderr, "mlwatch: cannot read capabilities: %s\n", strerror(errno));
		return MLW_EXIT_PRIVILEGE;
	}
	if (has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, CAP_BPF_BIT) && has_cap(d, CAP_PERFMON_BIT)))
		return MLW_EXIT_OK;
	fprintf(stderr,
		"mlwatch: needs root (CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON) to load BPF programs: run it with sudo\n");
	return MLW_EXIT_PRIVILEGE;
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* libbpf finds tracepoint ids under debugfs if that is there, else tracefs. */
static const char *tracing_dir(void)
{
	return exists(DEBUGFS_TRACING) ? DEBUGFS_TRACING : TRACEFS;
}

static int ensure_tracefs(struct sensors *s)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/events/syscalls", tracing_dir());
	if (exists(p))
		return MLW_EXIT_OK;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
		fprintf(stderr,
			"mlwatch: tracefs is not mounted and mounting it at %s failed: %s; "
			"mount it (mount -t tracefs nodev %s) and try again\n",
			TRACEFS, strerror(errno), TRACEFS);
		return MLW_EXIT_TRACEFS;
	}
	s->mounted_tracefs = true;
	fprintf(stderr, "mlwatch: tracefs was not mounted; mounted it at %s (unmounted at exit)\n",
		TRACEFS);
	snprintf(p, sizeof(p), "%s/events/syscalls", TRACEFS);
	if (!exists(p)) {
		fprintf(stderr,
			"mlwatch: %s has no syscall tracepoints: this kernel lacks CONFIG_FTRACE_SYSCALLS\n",
			TRACEFS);
		return MLW_EXIT_TRACEFS;
	}
	return MLW_EXIT_OK;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* bpf_program__set_autoload, failing by name (it only fails once the
 * object is loaded, which would be a bug here). */
static int set_autoload(struct bpf_program *prog, bool on)
{
	int err = bpf_program__set_autoload(prog, on);

	if (err)
		fprintf(stderr, "mlwatch: cannot %s %s before loading: %s\n",
			on ? "enable" : "disable", bpf_program__name(prog), strerror(-err));
	return err;
}

/* Can a function hook (fentry) on func be loaded here? It needs the
 * function in BTF, and a kernel that lets BPF trace it (some refuse with
 * EPERM, or lack trampolines). A two-instruction program answers; *why
 * says what failed. */
static bool fentry_loads(const struct btf *vmlinux, const char *func, char *why, size_t len)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) : -1, fd;

	if (id < 0) {
		snprintf(why, len, "this kernel has no such function");
		return false;
	}
	opts.attach_btf_id = (uint32_t)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "mlw_probe", "GPL", insns, 2, &opts);
	if (fd < 0) {
		snprintf(why, len, "this kernel refuses a function hook on it (%s)",
			 strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

/* Turns off tp/ and tp_btf/ programs whose tracepoint this kernel does not
 * have (open/creat/dup2 on arm64, io_uring's before Linux 6.0), fentry/
 * ones it will not load, and the cgroup hooks when there is no cgroup v2
 * hierarchy to attach them to. */
static int skip_missing_tracepoints(struct sensors *s)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		bool have = true;
		char p[512], why[160] = "this kernel has no such tracepoint";

		if (!bpf_program__autoload(prog))
			continue;
		if (strncmp(sec, "tp/", 3) == 0) {
			snprintf(p, sizeof(p), "%s/events/%s/id", tracing_dir(), sec + 3);
			have = exists(p);
		} else if (strncmp(sec, "tp_btf/", 7) == 0) {
			snprintf(p, sizeof(p), "btf_trace_%s", sec + 7);
			have = vmlinux && btf__find_by_name_kind(vmlinux, p, BTF_KIND_TYPEDEF) >= 0;
		} else if (strncmp(sec, "cgroup/", 7) == 0) {
			have = s->cgroup_fd >= 0;
		} else if (strncmp(sec, "fentry/", 7) == 0) {
			have = fentry_loads(vmlinux, sec + 7, why, sizeof(why));
		}
		if (have)
			continue;
		if (set_autoload(prog, false)) {
			btf__free(vmlinux);
			return MLW_EXIT_BPF_REFUSED;
		}
		s->n_skipped++;
		if (strncmp(sec, "cgroup/", 7) == 0)
			fprintf(stderr,
				"mlwatch: skipping %s: no mount of the whole cgroup v2 hierarchy, so "
				"datagram sends and io_uring connects are not seen, and connects are "
				"read from the caller's memory\n",
				sec);
		else
			fprintf(stderr, "mlwatch: skipping %s: %s\n", strchr(sec, '/') + 1, why);
	}
	btf__free(vmlinux);
	return MLW_EXIT_OK;
}

/* The cgroup v2 root the sock_addr hooks attach to: every process is in
 * it, hybrid hosts included (v2 at /sys/fs/cgroup/unified). Inside a
 * cgroup namespace (a DaemonSet pod) a container's own cgroup mount would
 * cover that container only: the host's, mounted in, is the one. -1 when
 * no mount is the whole hierarchy. */
static int open_cgroup2_root(void)
{
	char path[PATH_MAX], err[128];
	bool whole;

	if (cgmap_v2_mount(path, sizeof(path), &whole, err, sizeof(err)) || !whole)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool kernel_has_kfunc(const char *name)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	found = btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) >= 0;
	btf__free(vmlinux);
	return found;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* The open family runs in one of two modes (bpf/file.bpf.c): exit-only
 * (the _only exit programs, no entry hooks; needs bpf_rdonly_cast), or the
 * entry programs with the plain exit ones. Loads one set. */
static int choose_open_match(struct sensors *s, const struct options *o)
{
	bool have = kernel_has_kfunc("bpf_rdonly_cast"), at_exit;
	struct bpf_program *prog;

	if (o->open_match == OPEN_MATCH_EXIT && !have) {
		fprintf(stderr,
			"mlwatch: --open-match exit needs bpf_rdonly_cast (Linux 6.2+), which this kernel lacks; use auto or entry\n");
		return MLW_EXIT_BPF_REFUSED;
	}
	at_exit = o->open_match == OPEN_MATCH_EXIT || (o->open_match == OPEN_MATCH_AUTO && have);
	if (o->open_match == OPEN_MATCH_AUTO && !have)
		fprintf(stderr,
			"mlwatch: this kernel has no bpf_rdonly_cast: opens are matched at entry, which costs unmarked processes more\n");
	s->open_match_at_exit = at_exit;
	bpf_object__for_each_program(prog, s->skel->obj) {
		const char *name = bpf_program__name(prog);
		bool enter = !strncmp(name, "handle_enter_open", 17) ||
			     !strcmp(name, "handle_enter_creat");
		bool exit = !strncmp(name, "handle_exit_open", 16) ||
			    !strncmp(name, "handle_exit_creat", 17);

		if ((enter && set_autoload(prog, !at_exit)) ||
		    (exit && set_autoload(prog, ends_with(name, "_only") == at_exit)))
			return MLW_EXIT_BPF_REFUSED;
	}
	return MLW_EXIT_OK;
}

/* Control-plane names for the exec and rename hooks. An interpreter is
 * only sent up for an argv check; a name that is both is marked. */
static int push_roots(struct sensors *s, const struct options *o)
{
	int fd = bpf_map__fd(s->skel->maps.root_comms);
	const struct roots *r = &o->roots;

	for (int pass = 0; pass < 2; pass++) {
		const char *const *names = pass ? r->comms : r->interpreters;
		size_t n = pass ? r->n_comms : r->n_interpreters;
		uint32_t what = pass ? MLW_ROOT_MARK : MLW_ROOT_ARGV;

		if (pass == 0 && r->n_argv_patterns == 0)
			continue; /* no patterns: no reason to send interpreter execs */
		for (size_t i = 0; i < n; i++) {
			char key[MLW_COMM_LEN] = { 0 };
			uint32_t v = what | (pass && r->comm_notebook[i] ? MLW_ROOT_NOTEBOOK : 0);

			strncpy(key, names[i], MLW_COMM_LEN - 1);
			if (bpf_map_update_elem(fd, key, &v, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

static int attach_all(struct sensors *s)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->skel->obj) {
		struct bpf_link *link;

		/* the Python probes are attached per binary (pyprobe.c) */
		if (!bpf_program__autoload(prog) || !bpf_program__autoattach(prog))
			continue;
		if (strncmp(bpf_program__section_name(prog), "cgroup/", 7) == 0)
			link = bpf_program__attach_cgroup(prog, s->cgroup_fd);
		else
			link = bpf_program__attach(prog);
		/* a kernel function hook needs a trampoline the architecture
		 * may lack: the self-protection extras go, the rest stays */
		if (!link && strncmp(bpf_program__section_name(prog), "fentry/", 7) == 0) {
			fprintf(stderr, "mlwatch: skipping %s: attaching it failed: %s\n",
				bpf_program__section_name(prog) + 7, strerror(errno));
			s->n_skipped++;
			continue;
		}
		if (!link) {
			fprintf(stderr, "mlwatch: attaching %s (%s) failed: %s\n",
				bpf_program__name(prog), bpf_program__section_name(prog),
				strerror(errno));
			return MLW_EXIT_BPF_REFUSED;
		}
		/* The skeleton's destroy frees links it knows; keep ours on the
		 * program's slot so sensors_stop can find them. */
		for (int i = 0; i < s->skel->skeleton->prog_cnt; i++) {
			if (*s->skel->skeleton->progs[i].prog == prog)
				*s->skel->skeleton->progs[i].link = link;
		}
		s->n_attached++;
	}
	return MLW_EXIT_OK;
}

/* One of mlwatch's objects, as the kernel numbers it. */
static int self_add(struct sensors *s, int fd, uint32_t obj, const char *name)
{
	union {
		struct bpf_prog_info prog;
		struct bpf_map_info map;
		struct bpf_link_info link;
	} info;
	uint32_t len = sizeof(info), id;
	uint64_t key;
	uint8_t one = 1;
	struct sensors_obj *o;

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0; /* not a BPF object (a perf-event attachment): its program is */
	id = obj == MLW_SELF_OBJ_PROG ? info.prog.id :
	     obj == MLW_SELF_OBJ_MAP  ? info.map.id :
					info.link.id;
	key = MLW_SELF_KEY(obj, id);
	if (bpf_map__update_elem(s->skel->maps.self_ids, &key, sizeof(key), &one, sizeof(one),
				 BPF_ANY))
		return -errno;
	if (s->n_self % 64 == 0) {
		o = realloc(s->self, (s->n_self + 64) * sizeof(*o));
		if (!o)
			return -ENOMEM;
		s->self = o;
	}
	s->self[s->n_self++] = (struct sensors_obj){ .obj = obj, .id = id, .name = name };
	return 0;
}

/* Tells the kernel which programs, maps and links are mlwatch's, and
 * which threads: what bpf/self.bpf.c watches for. After attaching, so
 * links have ids and every thread made from then on is the fork
 * sensor's to add. */
static int push_self(struct sensors *s)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int fd = bpf_map__fd(s->skel->maps.self_tids), err;
	DIR *d;
	struct dirent *de;
	uint8_t one = 1;

	bpf_object__for_each_map(map, s->skel->obj)
		if ((err = self_add(s, bpf_map__fd(map), MLW_SELF_OBJ_MAP, bpf_map__name(map))))
			return err;
	bpf_object__for_each_program(prog, s->skel->obj) {
		const char *name = bpf_program__name(prog);

		if (!bpf_program__autoload(prog))
			continue;
		if ((err = self_add(s, bpf_program__fd(prog), MLW_SELF_OBJ_PROG, name)))
			return err;
		for (int i = 0; i < s->skel->skeleton->prog_cnt; i++) {
			struct bpf_link *link = *s->skel->skeleton->progs[i].link;

			if (*s->skel->skeleton->progs[i].prog == prog && link &&
			    (err = self_add(s, bpf_link__fd(link), MLW_SELF_OBJ_LINK, name)))
				return err;
		}
	}
	d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint32_t tid = (uint32_t)strtoul(de->d_name, NULL, 10);

		if (tid && bpf_map_update_elem(fd, &tid, &one, BPF_ANY)) {
			err = -errno;
			closedir(d);
			return err;
		}
	}
	closedir(d);
	return 0;
}

/* A link of the Python probes (attached as interpreters are found). */
static void py_self_link(void *ctx, int fd, uint32_t id, const char *prog)
{
	struct sensors *s = ctx;

	if (!sensors_obj_name(s, MLW_SELF_OBJ_LINK, id))
		self_add(s, fd, MLW_SELF_OBJ_LINK, prog);
}

const char *sensors_obj_name(const struct sensors *s, uint32_t obj, uint32_t id)
{
	for (size_t i = 0; s && i < s->n_self; i++)
		if (s->self[i].obj == obj && s->self[i].id == id)
			return s->self[i].name;
	return NULL;
}

static long read_proc_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v = dflt;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1 || v <= 0)
			v = dflt;
		fclose(f);
	}
	return v;
}

/* One mark per process the kernel can hold: no number of sleeping children
 * fills the maps (entries are allocated as used, so only the hash buckets,
 * 16 bytes each, cost memory up front). Sized from pid_max and threads-max
 * (which the kernel derives from memory); at least the built-in size. */
static int size_marks(struct sensors *s)
{
	long pids = read_proc_long("/proc/sys/kernel/pid_max", 4194304);
	long threads = read_proc_long("/proc/sys/kernel/threads-max", 4194304);
	long n = pids < threads ? pids : threads;
	int err;

	if (n < 16384)
		n = 16384;
	if (n > 4194304)
		n = 4194304;
	s->max_marks = (uint32_t)n;
	if ((err = bpf_map__set_max_entries(s->skel->maps.marks, s->max_marks)) ||
	    (err = bpf_map__set_max_entries(s->skel->maps.unmarks, s->max_marks)))
		return err;
	return 0;
}

int sensors_start(struct sensors *s, const struct options *o, const struct ruleset *rs,
		  sensors_event_fn fn, void *ctx)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	uint64_t bloom[4];
	int rc, err;

	memset(s, 0, sizeof(*s));
	s->cgroup_fd = -1;
	libbpf_set_print(libbpf_log);
	if ((rc = check_privileges()))
		return rc;
	{
		char why[512];

		/* every PID the sensors send is the host's */
		if (pidns_check(why, sizeof(why))) {
			fprintf(stderr, "mlwatch: %s\n", why);
			return MLW_EXIT_PIDNS;
		}
	}
	if (!exists(BTF_PATH)) {
		fprintf(stderr,
			"mlwatch: %s not found: this kernel was built without BTF (CONFIG_DEBUG_INFO_BTF), which the CO-RE sensors need\n",
			BTF_PATH);
		return MLW_EXIT_NO_BTF;
	}
	/* Kernels >= 5.11 charge BPF memory to the cgroup; where root lacks
	 * CAP_SYS_RESOURCE this fails and loading still works. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		fprintf(stderr,
			"mlwatch: warning: cannot raise RLIMIT_MEMLOCK (%s); continuing, BPF memory is charged to the memory cgroup on this kernel\n",
			strerror(errno));
	if ((rc = ensure_tracefs(s)))
		return rc;
	s->cgroup_fd = open_cgroup2_root();

	s->skel = mlwatch_bpf__open();
	if (!s->skel) {
		fprintf(stderr, "mlwatch: opening the BPF object failed: %s\n", strerror(errno));
		return MLW_EXIT_BPF_REFUSED;
	}
	s->skel->rodata->mlw_self_tgid = (uint32_t)getpid();
	s->skel->rodata->mlw_match_hex_blobs = o->hex_blobs;
	model_ext_bloom_fill(bloom, o->extra_exts, o->n_extra_exts);
	memcpy(s->skel->rodata->mlw_ext_bloom, bloom, sizeof(bloom));
	enforce_plan_build(&s->plan, rs, o->enforce, stderr);
	enforce_configure(s->skel, &s->plan);
	if (!o->roots.ray_workers)
		s->skel->rodata->mlw_root_prefix[0] = 0;
	if ((err = bpf_map__set_max_entries(s->skel->maps.events, o->ringbuf_mb << 20)) ||
	    (err = size_marks(s))) {
		fprintf(stderr, "mlwatch: sizing the BPF maps failed: %s\n", strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	/* the kernel-side path walk is a bpf_loop (5.17+) */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) != 1) {
		s->skel->rodata->mlw_have_loop = false;
		fprintf(stderr,
			"mlwatch: this kernel has no bpf_loop (Linux 5.17+): real paths of opened "
			"and executed files are not sent; paths are the ones processes asked for\n");
	}
	if ((rc = choose_open_match(s, o)))
		return rc;
	s->py = pyprobe_new(s->skel, stderr);
	if ((rc = skip_missing_tracepoints(s)))
		return rc;

	err = mlwatch_bpf__load(s->skel);
	if (err) {
		fprintf(stderr,
			"mlwatch: the kernel refused to load the BPF sensors (%s); "
			"see the verifier output above. Needs Linux >= 5.8 with BTF, ring buffers and tp_btf\n",
			strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	if ((err = model_exts_push(bpf_map__fd(s->skel->maps.model_exts),
				   bpf_map__fd(s->skel->maps.quiet_exts), o->extra_exts,
				   o->n_extra_exts))) {
		fprintf(stderr, "mlwatch: filling the model-extension map failed: %s\n",
			strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	if ((err = enforce_push(s->skel, &s->plan, o))) {
		fprintf(stderr, "mlwatch: filling the enforcement maps failed: %s\n",
			strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	if ((err = push_roots(s, o))) {
		fprintf(stderr, "mlwatch: filling the control-plane root map failed: %s\n",
			strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), fn, ctx, NULL);
	if (!s->rb) {
		fprintf(stderr, "mlwatch: creating the ring buffer reader failed: %s\n",
			strerror(errno));
		return MLW_EXIT_BPF_REFUSED;
	}
	if ((rc = attach_all(s)))
		return rc;
	if ((err = push_self(s))) {
		fprintf(stderr, "mlwatch: telling the kernel mlwatch's own ids failed: %s\n",
			strerror(-err));
		return MLW_EXIT_BPF_REFUSED;
	}
	pyprobe_start(s->py, py_self_link, s, stderr);
	return MLW_EXIT_OK;
}

int sensors_poll(struct sensors *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms), m;

	if (n < 0)
		return n;
	/* Batched records come without a wakeup, so epoll never reports
	 * them: drain whatever is there after every wait. */
	m = ring_buffer__consume(s->rb);
	return m < 0 ? m : n + m;
}

void sensors_counters(struct sensors *s, uint64_t out[MLW_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1];
	int fd = bpf_map__fd(s->skel->maps.counters);

	memset(out, 0, sizeof(uint64_t) * MLW_CNT_MAX);
	if (ncpu <= 0)
		return;
	for (uint32_t i = 0; i < MLW_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
}

/* A hash map's entries now, a batch at a time: the cost grows with the
 * entries, not with the bound. -errno if the kernel cannot say. */
static long map_entries(const struct bpf_map *map)
{
	enum { CHUNK = 1024 };
	uint32_t keys[CHUNK], in = 0, out = 0;
	size_t vsize = bpf_map__value_size(map);
	void *vals = malloc(CHUNK * vsize);
	long total = 0;
	bool first = true;

	if (!vals)
		return -ENOMEM;
	for (;;) {
		__u32 count = CHUNK;
		int err = bpf_map_lookup_batch(bpf_map__fd(map), first ? NULL : &in, &out, keys,
					       vals, &count, NULL);

		if (err && errno != ENOENT) {
			total = -errno;
			break;
		}
		total += count;
		if (err) /* ENOENT: that was the last batch */
			break;
		in = out;
		first = false;
	}
	free(vals);
	return total;
}

int sensors_map_usage(struct sensors *s, struct sensors_map_usage *u)
{
	memset(u, 0, sizeof(*u));
	if (!s->skel)
		return -ENOENT;
	u->marks = map_entries(s->skel->maps.marks);
	u->unmarks = map_entries(s->skel->maps.unmarks);
	u->marks_max = bpf_map__max_entries(s->skel->maps.marks);
	u->unmarks_max = bpf_map__max_entries(s->skel->maps.unmarks);
	return u->marks < 0 ? (int)u->marks : u->unmarks < 0 ? (int)u->unmarks : 0;
}

const char *sensors_counter_name(int idx)
{
	static const char *const names[MLW_CNT_MAX] = {
		[MLW_CNT_RB_FULL_EXEC] = "ringbuf_full_exec",
		[MLW_CNT_RB_FULL_EXEC_FAIL] = "ringbuf_full_exec_fail",
		[MLW_CNT_RB_FULL_FORK] = "ringbuf_full_fork",
		[MLW_CNT_RB_FULL_EXIT] = "ringbuf_full_exit",
		[MLW_CNT_RB_FULL_OPEN] = "ringbuf_full_open",
		[MLW_CNT_RB_FULL_MODEL_OPEN] = "ringbuf_full_model_open",
		[MLW_CNT_RB_FULL_CONNECT] = "ringbuf_full_connect",
		[MLW_CNT_RB_FULL_DUP] = "ringbuf_full_dup",
		[MLW_CNT_RB_FULL_SEND] = "ringbuf_full_send",
		[MLW_CNT_RB_FULL_LINK] = "ringbuf_full_link",
		[MLW_CNT_RB_FULL_SOCKET] = "ringbuf_full_socket",
		[MLW_CNT_RB_FULL_SELF] = "ringbuf_full_self",
		[MLW_CNT_RB_FULL_PYTHON] = "ringbuf_full_python",
		[MLW_CNT_MARKS_FULL] = "marks_map_full",
		[MLW_CNT_PENDING_FULL] = "pending_map_full",
		[MLW_CNT_PATH_TRUNC] = "path_truncated",
		[MLW_CNT_ARGS_TRUNC] = "args_truncated",
		[MLW_CNT_PATH_FAULT] = "path_unreadable",
		[MLW_CNT_EVENTS_SENT] = "events_sent",
		[MLW_CNT_MARKS_SET] = "marks_set",
		[MLW_CNT_OPEN_QUIET] = "opens_quiet",
		[MLW_CNT_NET_REPEAT] = "net_repeats",
		[MLW_CNT_OPEN_REPEAT] = "open_repeats",
		[MLW_CNT_MODEL_REPEAT] = "model_repeats",
		[MLW_CNT_SHED_EXEC] = "shed_exec",
		[MLW_CNT_SHED_EXEC_FAIL] = "shed_exec_fail",
		[MLW_CNT_SHED_FORK] = "shed_fork",
		[MLW_CNT_SHED_EXIT] = "shed_exit",
		[MLW_CNT_SHED_OPEN] = "shed_open",
		[MLW_CNT_SHED_MODEL_OPEN] = "shed_model_open",
		[MLW_CNT_SHED_CONNECT] = "shed_connect",
		[MLW_CNT_SHED_DUP] = "shed_dup",
		[MLW_CNT_SHED_SEND] = "shed_send",
		[MLW_CNT_SHED_LINK] = "shed_link",
		[MLW_CNT_SHED_SOCKET] = "shed_socket",
		[MLW_CNT_SHED_SELF] = "shed_self",
		[MLW_CNT_SHED_PYTHON] = "shed_python",
		[MLW_CNT_OVER_BUDGET] = "vital_over_budget",
		[MLW_CNT_PY_HITS] = "python_audit_hits",
		[MLW_CNT_PY_REPEAT] = "python_repeats",
		[MLW_CNT_PY_JUDGED] = "python_globals_judged",
		[MLW_CNT_PY_UNSAFE] = "python_unsafe_globals",
		[MLW_CNT_PY_FAULT] = "python_unreadable",
		[MLW_CNT_PY_TRUNC] = "python_truncated",
	};

	return idx >= 0 && idx < MLW_CNT_MAX && names[idx] ? names[idx] : "?";
}

/* The kernel's fast-path bitmaps live in .bss, which the skeleton maps
 * into this process: the same atomic order as bpf/common.bpf.h (bit up
 * before the entry, entry gone before the bit). */
#define BITMAP_WORDS (sizeof(((struct mlwatch_bpf *)0)->bss->mlw_mark_bits) / sizeof(u64))

static u64 *bit_word(u64 *bits, uint32_t id)
{
	return &bits[(id >> 6) % BITMAP_WORDS];
}

int sensors_set_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m)
{
	struct mlw_mark_state st = { .m = *m };

	__atomic_fetch_or(bit_word(s->skel->bss->mlw_mark_bits, tgid), 1ull << (tgid & 63),
			  __ATOMIC_SEQ_CST);
	return bpf_map__update_elem(s->skel->maps.marks, &tgid, sizeof(tgid), &st, sizeof(st),
				    BPF_ANY);
}

int sensors_seed_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m,
		      struct mlw_mark *had)
{
	struct mlw_mark_state st = { .m = *m }, cur;
	int err;

	__atomic_fetch_or(bit_word(s->skel->bss->mlw_mark_bits, tgid), 1ull << (tgid & 63),
			  __ATOMIC_SEQ_CST);
	err = bpf_map__update_elem(s->skel->maps.marks, &tgid, sizeof(tgid), &st, sizeof(st),
				   BPF_NOEXIST);
	if (err == -EEXIST) {
		if (bpf_map__lookup_elem(s->skel->maps.marks, &tgid, sizeof(tgid), &cur,
					 sizeof(cur), 0) != 0)
			return -ENOENT; /* gone meanwhile: it exited */
		*had = cur.m;
	}
	return err;
}

void sensors_drop_seed_mark(struct sensors *s, uint32_t tgid, const struct mlw_mark *m)
{
	struct mlw_mark_state cur;

	if (bpf_map__lookup_elem(s->skel->maps.marks, &tgid, sizeof(tgid), &cur, sizeof(cur), 0) ==
		    0 &&
	    cur.m.loader_tgid == m->loader_tgid && cur.m.mark_ns == m->mark_ns &&
	    cur.m.depth == m->depth)
		bpf_map__delete_elem(s->skel->maps.marks, &tgid, sizeof(tgid), 0);
}

int sensors_unmark(struct sensors *s, uint32_t tgid, uint64_t mark_ns, uint32_t models)
{
	struct mlw_unmark u = { .mark_ns = mark_ns, .models = models };
	int err = bpf_map__update_elem(s->skel->maps.unmarks, &tgid, sizeof(tgid), &u, sizeof(u),
				       BPF_ANY);

	/* the entry before the bit: the kernel reads it only behind the bit */
	if (!err)
		__atomic_fetch_or(bit_word(s->skel->bss->mlw_unmark_bits, tgid),
				  1ull << (tgid & 63), __ATOMIC_SEQ_CST);
	return err;
}

void sensors_detach(struct sensors *s)
{
	if (!s->skel)
		return;
	pyprobe_detach(s->py);
	for (int i = 0; i < s->skel->skeleton->prog_cnt; i++) {
		struct bpf_link **link = s->skel->skeleton->progs[i].link;

		bpf_link__destroy(*link);
		*link = NULL;
	}
}

void sensors_stop(struct sensors *s)
{
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	s->cgroup_fd = -1;
	ring_buffer__free(s->rb);
	s->rb = NULL;
	pyprobe_free(s->py);
	s->py = NULL;
	if (s->skel)
		mlwatch_bpf__destroy(s->skel); /* detaches every link */
	s->skel = NULL;
	free(s->self);
	s->self = NULL;
	s->n_self = 0;
	if (s->mounted_tracefs && umount2(TRACEFS, 0) == 0)
		s->mounted_tracefs = false;
}
