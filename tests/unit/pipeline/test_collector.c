/* The collector pipeline without BPF: synthetic records in, alerts out. */
#include <sys/vfs.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "check.h"
#include "pipeline/collector.h"

static unsigned char rec[16384];
static char dir[] = "/tmp/mlwatch-ut-XXXXXX";

/* models: the kernel's count of model opens under the mark by this process */
static struct mlw_hdr hdr(u32 kind, u32 tgid, u32 loader, u32 flags, u32 models)
{
	struct mlw_hdr h = { .kind = kind,
			     .tgid = tgid,
			     .tid = tgid,
			     .ppid = 1,
			     .flags = flags | (loader ? MLW_F_MARKED : 0) };

	memcpy(h.comm, "python3", 8);
	h.mark.loader_tgid = loader;
	h.mark.mark_ns = loader ? 1000 : 0;
	h.mark.reason = loader ? MLW_MARK_MODEL : 0; /* as the kernel's open hook sets it */
	h.mark.models = models;
	return h;
}

/* What the kernel reports of the file a path names when it is opened. */
static struct mlw_file identity_of(const char *path)
{
	struct mlw_file id = { 0 };
	struct statfs sf;
	struct statx sx;

	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS | STATX_MNT_ID, &sx) == 0) {
		id.ino = sx.stx_ino;
		id.dev = sx.stx_dev_major << 20 | sx.stx_dev_minor;
		id.mnt_id = (u32)sx.stx_mnt_id;
		id.nlink = sx.stx_nlink;
		id.mode = sx.stx_mode;
		id.size = sx.stx_size;
		id.ctime_ns = (u64)sx.stx_ctime.tv_sec * 1000000000ull + sx.stx_ctime.tv_nsec;
		id.inode = sx.stx_ino; /* stands in for the in-memory inode's address */
	}
	if (statfs(path, &sf) == 0)
		id.fs_magic = (u32)sf.f_type;
	return id;
}

/* id_path: the file the kernel saw opened (NULL: no identity sent). */
static size_t model_open(u32 tgid, int fd, const char *path, const char *id_path, u32 flags)
{
	struct mlw_open *o = (struct mlw_open *)rec;

	memset(o, 0, sizeof(*o));
	o->hdr = hdr(MLW_EV_MODEL_OPEN, tgid, tgid, flags, 1);
	if (id_path)
		o->file = identity_of(id_path);
	o->ret = fd;
	o->dirfd = -100;
	o->path_len = (u32)strlen(path) + 1;
	memcpy(o->data, path, o->path_len);
	return sizeof(*o) + o->path_len;
}

static size_t fork_rec(u32 parent, u32 child, u32 loader)
{
	struct mlw_fork *f = (struct mlw_fork *)rec;

	memset(f, 0, sizeof(*f));
	f->hdr = hdr(MLW_EV_FORK, parent, loader, 0, 1);
	f->child_tgid = child;
	return sizeof(*f);
}

static size_t exec_sh(u32 tgid, u32 loader)
{
	struct mlw_exec *e = (struct mlw_exec *)rec;
	const char file[] = "/bin/sh", args[] = "sh\0-c\0id";

	memset(e, 0, sizeof(*e));
	e->hdr = hdr(MLW_EV_EXEC, tgid, loader, 0, 0);
	memcpy(e->hdr.comm, "sh", 3);
	e->filename_len = sizeof(file);
	e->args_len = sizeof(args);
	memcpy(e->data, file, sizeof(file));
	memcpy(e->data + sizeof(file), args, sizeof(args));
	return sizeof(*e) + sizeof(file) + sizeof(args);
}

static size_t exit_rec(u32 tgid, u32 loader)
{
	struct mlw_exit *x = (struct mlw_exit *)rec;

	memset(x, 0, sizeof(*x));
	x->hdr = hdr(MLW_EV_EXIT, tgid, loader, 0, 0);
	return sizeof(*x);
}

/* Alert lines (record "alert"); incident records are counted apart. */
static int count_lines(const char *path, cJSON **first)
{
	char line[65536];
	FILE *f = fopen(path, "r");
	int n = 0;

	*first = NULL;
	while (f && fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_Parse(line);
		cJSON *rec = j ? cJSON_GetObjectItem(j, "record") : NULL;

		if (!rec || !cJSON_IsString(rec) || strcmp(rec->valuestring, "alert")) {
			cJSON_Delete(j);
			continue;
		}
		if (n++ == 0)
			*first = j;
		else
			cJSON_Delete(j);
	}
	if (f)
		fclose(f);
	return n;
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(data, 1, n, f);
	fclose(f);
}

enum ident { ID_MODEL, ID_NONE };

/* fd_file: the file whose fd the record carries (NULL: the model itself);
 * ident: whether the record names the model's identity, as the kernel does. */
static void run_case_fd(const char *model_bytes, size_t model_len, const char *fd_file,
			enum ident ident, int *alerts, cJSON **first)
{
	static struct options opt;
	struct collector c;
	struct sink s;
	char model[256], out[256];
	u32 me = (u32)getpid(), child = 0x7ffff001;
	int fd;

	snprintf(model, sizeof(model), "%s/model.pkl", dir);
	snprintf(out, sizeof(out), "%s/alerts.json", dir);
	unlink(out);
	write_file(model, model_bytes, model_len);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	CHECK(sink_open(&s, out, true) == 0);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);
	fd = open(fd_file ? fd_file : model, O_RDONLY);
	collector_handle(&c, rec,
			 model_open(me, fd, model, ident == ID_MODEL ? model : NULL,
				    MLW_F_NEW_MARK));
	collector_handle(&c, rec, fork_rec(me, child, me));
	collector_handle(&c, rec, exec_sh(child, me));
	close(fd);
	collector_free(&c);
	sink_close(&s);
	*alerts = count_lines(out, first);
}

static void run_case(const char *model_bytes, size_t model_len, int *alerts, cJSON **first)
{
	run_case_fd(model_bytes, model_len, NULL, ID_MODEL, alerts, first);
}

static void test_confirmed_pickle_alerts_with_lineage(void)
{
	static const char pkl[] =
		"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
	cJSON *a;
	int n;

	run_case(pkl, sizeof(pkl) - 1, &n, &a);
	CHECK(n == 1);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "rule"), "id")->valuestring,
		  "model-loader-shell");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "loader"), "pid")->valueint == getpid());
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "loader"),
							  "model"),
				      "format")
			  ->valuestring,
		  "pickle");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a, "ancestry")) == 2);
	cJSON_Delete(a);
}

/* A .pkl that is really text (the unpickler refuses its first opcode): the
 * mark is withdrawn and what its lineage does in flight raises nothing. */
static void test_inert_text_silent(void)
{
	static const char txt[] = "just some notes, not a model\n";
	cJSON *a;
	int n;

	run_case(txt, sizeof(txt) - 1, &n, &a);
	CHECK(n == 0);
	cJSON_Delete(a);
}

/* The same text, but the kernel named no file (it could not be tied to
 * what the loader opened): not proven, so the lineage stays watched. */
static void test_unidentified_file_keeps_mark(void)
{
	static const char txt[] = "just some notes, not a model\n";
	cJSON *a;
	int n;

	run_case_fd(txt, sizeof(txt) - 1, NULL, ID_NONE, &n, &a);
	CHECK(n == 1);
	cJSON_Delete(a);
}

/* The loader closed the model and reused its fd number for a text file
 * before the collector looked: that file is not the model, and nothing is
 * read by path instead, so the mark stays. */
static void test_reused_fd_not_trusted(void)
{
	static const char pkl[] =
		"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
	char other[256];
	cJSON *a;
	int n;

	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	write_file(other, "plain text, not a model\n", 24);
	run_case_fd(pkl, sizeof(pkl) - 1, other, ID_MODEL, &n, &a);
	CHECK(n == 1);
	cJSON_Delete(a);
}

/* Prefix shapes that once made the sniffer reject a runnable protocol 0
 * pickle: a long run of one valid opcode, printable opcodes past the 4 KiB
 * sniff window, then os.system. pickle.load runs them; the mark stays. */
static void test_sniffer_bypass_shapes_keep_mark(void)
{
	static const char tail[] = "cos\nsystem\n(S'id'\ntR.";
	static char buf[16384];
	const struct {
		char fill;
		size_t n;
		const char *end;
	} shapes[] = {
		{ '(', 5000, ")" }, /* MARKs past the sniffer's mark limit */
		{ 'N', 6000, "0" }, /* NONE pushes, popped one by one below */
		{ ')', 4200, "0" }, /* EMPTY_TUPLE */
	};

	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		size_t o = 0;
		cJSON *a;
		int n;

		for (size_t i = 0; i < shapes[k].n; i++)
			buf[o++] = shapes[k].fill;
		if (shapes[k].fill != '(')
			for (size_t i = 0; i < shapes[k].n; i++)
				buf[o++] = shapes[k].end[0];
		memcpy(buf + o, tail, sizeof(tail) - 1);
		o += sizeof(tail) - 1;
		run_case(buf, o, &n, &a);
		CHECK(n == 1);
		cJSON_Delete(a);
	}
}

/* A strict data format, checked whole: a valid safetensors file unmarks;
 * the same header with a zip directory appended (a second reading a
 * zip-based loader would take) does not. */
static void test_safetensors_polyglot(void)
{
	static const char hdr[] =
		"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
	static char buf[512];
	size_t hl = sizeof(hdr) - 1, o = 0;
	cJSON *a;
	int n;

	for (int i = 0; i < 8; i++)
		buf[o++] = (char)((hl >> (8 * i)) & 0xff);
	memcpy(buf + o, hdr, hl);
	o += hl;
	memset(buf + o, 0, 8);
	o += 8;
	run_case(buf, o, &n, &a);
	CHECK(n == 0);
	cJSON_Delete(a);
	memcpy(buf + o, "PK\x05\x06", 4);
	memset(buf + o + 4, 0, 18);
	run_case(buf, o + 22, &n, &a);
	CHECK(n == 1); /* the header no longer covers the file either: not inert */
	cJSON_Delete(a);
}

/* Records of each kind in a JSON output: "alert" lines by rule id. */
static void count_records(const char *path, int *inventory, int *held, int *held_alerts)
{
	char line[65536];
	FILE *f = fopen(path, "r");

	*inventory = *held = *held_alerts = 0;
	while (f && fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_Parse(line);
		const char *rec = cJSON_GetStringValue(cJSON_GetObjectItem(j, "record"));
		const char *id = cJSON_GetStringValue(
			cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "id"));

		if (rec && !strcmp(rec, "inventory"))
			++*inventory;
		if (rec && !strcmp(rec, "inventory-held-back"))
			++*held;
		if (rec && !strcmp(rec, "alert") && id && !strcmp(id, "inventory-held-back"))
			++*held_alerts;
		cJSON_Delete(j);
	}
	if (f)
		fclose(f);
}

/* Model loads past the inventory's rate limit: the records it allows, then
 * what it held back as a record of its own and an alert, at exit at the
 * latest; the --inventory file gets the records and the summary. */
static void test_inventory_held_back_written(void)
{
	static const char pkl[] = "\x80\x04K\x01.";
	static struct options opt;
	struct collector c;
	struct sink s;
	char out[256], invf[256], model[256];
	int n_inv, n_held, n_alerts;

	snprintf(out, sizeof(out), "%s/held.json", dir);
	snprintf(invf, sizeof(invf), "%s/held-inventory.json", dir);
	unlink(out);
	unlink(invf);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	opt.inventory_file = invf;
	opt.inventory_rate = 1; /* bursts of 10 */
	opt.no_scan = true;
	CHECK(sink_open(&s, out, true) == 0);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);
	CHECK(collector_start_inventory(&c) == 0);
	for (u32 i = 0; i < 15; i++) {
		snprintf(model, sizeof(model), "%s/m%u.pkl", dir, i);
		write_file(model, pkl, sizeof(pkl) - 1);
		collector_handle(&c, rec,
				 model_open(0x7ffe0000 + i, 3, model, model, MLW_F_NEW_MARK));
	}
	for (int i = 0; i < 5000; i++) {
		const struct inv_stats *st = inventory_stats(c.inv);

		collector_poll_inventory(&c);
		if (st->records + st->held_back == 15)
			break;
		usleep(2000);
	}
	CHECK(inventory_stats(c.inv)->records == 10 && inventory_stats(c.inv)->held_back == 5);
	collector_finish(&c);
	collector_free(&c);
	sink_close(&s);
	count_records(out, &n_inv, &n_held, &n_alerts);
	CHECK(n_inv == 10 && n_held == 1 && n_alerts == 1);
	count_records(invf, &n_inv, &n_held, &n_alerts);
	CHECK(n_inv == 10 && n_held == 1 && n_alerts == 0);
}

static void test_malformed_record_counted(void)
{
	static struct options opt;
	struct collector c;
	struct sink s;
	char out[256];
	struct mlw_hdr h = { .kind = 42 };

	snprintf(out, sizeof(out), "%s/m.json", dir);
	netclass_init(&opt.net);
	sink_open(&s, out, true);
	collector_init(&c, &opt, NULL, &s);
	collector_handle(&c, &h, sizeof(h));
	collector_handle(&c, &h, 3);
	CHECK(c.st.decode_errors == 2);
	collector_free(&c);
	sink_close(&s);
}

static void start(struct collector *c, struct sink *s, unsigned max_procs)
{
	static struct options opt;
	char out[256];

	snprintf(out, sizeof(out), "%s/t.json", dir);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	opt.max_procs = max_procs;
	CHECK(sink_open(s, out, true) == 0);
	CHECK(collector_init(c, &opt, NULL, s) == 0);
}

/* The incident of a lineage closes when its last live process exits, not
 * before: counted from the lineage's own live count. */
static void test_incident_closes_with_last_process(void)
{
	struct collector c;
	struct sink s;
	const u32 loader = 0x7ffff100, child = 0x7ffff101;

	start(&c, &s, 0);
	collector_handle(&c, rec, fork_rec(loader, child, loader));
	collector_handle(&c, rec, exec_sh(child, loader));
	CHECK(c.inc.count == 1);
	collector_handle(&c, rec, exit_rec(child, loader));
	CHECK(c.inc.count == 1 && c.inc.st.closed == 0); /* the loader lives */
	CHECK(proctable_lineage_live(&c.pt, loader, 1000) == 1);
	collector_handle(&c, rec, exit_rec(loader, loader));
	CHECK(c.inc.count == 0 && c.inc.st.closed == 1);
	collector_free(&c);
	sink_close(&s);
}

/* A table full of marked live processes and one unmarked parent: its fork
 * evicts the parent itself to make room for the child, and the child must
 * not read the freed entry (it gets no exe). A marked newcomer evicts that
 * unmarked child; the next is refused, and collector_limits says so. */
static void test_fork_evicting_its_parent(void)
{
	struct collector c;
	struct collector_limits l;
	struct sink s;
	const u32 loader = 0x7ff00000, parent = 0x7fe00000;
	struct proc *p;

	start(&c, &s, PROCTABLE_MIN_MAX);
	for (u32 i = 1; i < PROCTABLE_MIN_MAX - 1; i++)
		collector_handle(&c, rec, fork_rec(loader, loader + i, loader));
	collector_handle(&c, rec, exec_sh(parent, 0));
	CHECK(c.pt.count == PROCTABLE_MIN_MAX && c.pt.cls[PROC_UNMARKED].n == 1);
	CHECK(proctable_get(&c.pt, parent) && proctable_get(&c.pt, parent)->exe);
	collector_handle(&c, rec, fork_rec(parent, parent + 1, 0)); /* evicts parent */
	p = proctable_get(&c.pt, parent + 1);
	CHECK(!proctable_get(&c.pt, parent) && p && p->exe == NULL);
	CHECK(p && p->args == NULL && p->args_len == 0 && !p->args_truncated);
	collector_handle(&c, rec, fork_rec(loader, loader + 5000, loader)); /* evicts the child */
	collector_handle(&c, rec, fork_rec(loader, loader + 5001, loader)); /* refused */
	CHECK(proctable_get(&c.pt, loader + 5000) && !proctable_get(&c.pt, loader + 5001));
	collector_limits(&c, &l);
	CHECK(l.procs_refused == 1 && l.procs_evicted_unmarked == 2 && l.procs_evicted_exited == 0);
	CHECK(l.procs_max == PROCTABLE_MIN_MAX && l.procs_peak == PROCTABLE_MIN_MAX);
	CHECK(l.procs_peak_bytes > 0 && l.procs_peak_bytes <= l.procs_max_bytes);
	/* said while running: the next tick writes collector-limit-reached */
	c.last_tick_ns = 0;
	c.limits_told_ns = 0;
	collector_tick(&c);
	fflush(s.f);
	{
		char path[300], buf[65536] = "";
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/t.json", dir);
		f = fopen(path, "r");
		n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		buf[n] = 0;
		if (f)
			fclose(f);
		CHECK(strstr(buf, "\"collector-limit-reached\"") != NULL);
		CHECK(strstr(buf, "\"procs_refused_full_of_marked\":1") != NULL);
	}
	collector_free(&c);
	sink_close(&s);
}

/* A signal from a process that carries no mark: an alert naming it by the
 * kernel's path of its program (it is gone from /proc); the same signal
 * again from it is folded. */
static void test_self_signal_alerts_unmarked_sender(void)
{
	static struct options opt;
	struct mlw_self *x = (struct mlw_self *)rec;
	const char exe[] = "/usr/bin/kill";
	struct collector c;
	struct sink s;
	char out[256];
	cJSON *a, *ev;
	size_t n = sizeof(*x) + sizeof(exe);
	int alerts;

	snprintf(out, sizeof(out), "%s/self.json", dir);
	unlink(out);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	memset(x, 0, sizeof(*x));
	x->hdr = hdr(MLW_EV_SELF, 0x7ffff321, 0, 0, 0);
	memcpy(x->hdr.comm, "kill", 5);
	x->op = MLW_SELF_SIGNAL;
	x->arg = 9; /* SIGKILL */
	x->target = 4242;
	x->exe_len = sizeof(exe);
	memcpy(x->data, exe, sizeof(exe));
	CHECK(sink_open(&s, out, true) == 0);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);
	collector_handle(&c, rec, n);
	collector_handle(&c, rec, n);
	CHECK(c.self.alerts == 1 && c.self.folded == 1);
	collector_free(&c);
	sink_close(&s);
	alerts = count_lines(out, &a);
	CHECK(alerts == 1);
	if (!a)
		return;
	ev = cJSON_GetObjectItem(a, "event");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "rule"), "id")->valuestring,
		  "mlwatch-signaled");
	CHECK_STR(cJSON_GetObjectItem(a, "severity")->valuestring, "high");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "process"), "pid")->valueint ==
	      0x7ffff321);
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "process"), "exe")->valuestring,
		  "/usr/bin/kill");
	CHECK_STR(cJSON_GetObjectItem(ev, "kind")->valuestring, "self");
	CHECK_STR(cJSON_GetObjectItem(ev, "signal")->valuestring, "SIGKILL");
	CHECK(cJSON_GetObjectItem(ev, "thread")->valueint == 4242);
	cJSON_Delete(a);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_confirmed_pickle_alerts_with_lineage);
	RUN(test_inert_text_silent);
	RUN(test_unidentified_file_keeps_mark);
	RUN(test_reused_fd_not_trusted);
	RUN(test_sniffer_bypass_shapes_keep_mark);
	RUN(test_safetensors_polyglot);
	RUN(test_malformed_record_counted);
	RUN(test_incident_closes_with_last_process);
	RUN(test_fork_evicting_its_parent);
	RUN(test_inventory_held_back_written);
	RUN(test_self_signal_alerts_unmarked_sender);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) { /* best effort */
		}
	}
	return CHECK_DONE();
}
