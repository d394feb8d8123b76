/* The collector and Python audit records, without BPF: what find_class
 * marks, what it leaves alone, and the payload's steps in one incident. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "pyrec.h"
#include "collect/pyevents.h"
#include "pipeline/collector.h"

static unsigned char rec[16384];
static char dir[] = "/tmp/mlwatch-ut-py-XXXXXX";
static char out[256];

#define PY_PID 0x7ffff200u
#define CHILD_PID 0x7ffff201u

static void start(struct collector *c, struct sink *s)
{
	static struct options opt;

	snprintf(out, sizeof(out), "%s/t.json", dir);
	unlink(out);
	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	CHECK(sink_open(s, out, true) == 0);
	CHECK(collector_init(c, &opt, NULL, s) == 0);
}

static void stop(struct collector *c, struct sink *s)
{
	collector_free(c);
	sink_close(s);
}

/* The mark as the kernel sends it with a record (reason 0: none). */
static void mark(void *r, u32 loader, u32 reason, u32 flags)
{
	struct mlw_hdr *h = r;

	h->flags |= flags | (loader ? MLW_F_MARKED : 0);
	h->mark.loader_tgid = loader;
	h->mark.mark_ns = loader ? 5000 : 0;
	h->mark.reason = reason;
	h->ts_ns = 6000;
}

static size_t find_class(const char *module, const char *name, u16 pyflags, u32 loader, u32 reason)
{
	struct pyrec_arg a[] = {
		{ .enc = MLW_PY_ENC_UTF8, .bytes = module, .len = (u16)strlen(module) },
		{ .enc = MLW_PY_ENC_UTF8, .bytes = name, .len = (u16)strlen(name) }
	};
	size_t n = pyrec_make(rec, PY_PID, PYEV_FIND_CLASS, pyflags, a, 2);

	mark(rec, loader, reason, loader && (pyflags & MLW_PY_F_UNSAFE) ? MLW_F_NEW_MARK : 0);
	return n;
}

static size_t py_event(u32 event, const char *arg, u32 loader, u32 reason)
{
	struct pyrec_arg a[] = { { .enc = MLW_PY_ENC_UTF8, .bytes = arg, .len = (u16)strlen(arg) } };
	size_t n = pyrec_make(rec, PY_PID, event, 0, a, arg[0] ? 1 : 0);

	mark(rec, loader, reason, 0);
	return n;
}

static size_t fork_rec(u32 parent, u32 child, u32 loader, u32 reason)
{
	struct mlw_fork *f = (struct mlw_fork *)rec;

	memset(f, 0, sizeof(*f));
	f->hdr.kind = MLW_EV_FORK;
	f->hdr.tgid = f->hdr.tid = parent;
	f->child_tgid = child;
	mark(f, loader, reason, 0);
	return sizeof(*f);
}

static size_t exec_sh(u32 tgid, u32 loader, u32 reason)
{
	struct mlw_exec *e = (struct mlw_exec *)rec;
	const char file[] = "/bin/sh", args[] = "sh\0-c\0id";

	memset(e, 0, sizeof(*e));
	e->hdr.kind = MLW_EV_EXEC;
	e->hdr.tgid = e->hdr.tid = tgid;
	e->hdr.ppid = PY_PID;
	memcpy(e->hdr.comm, "sh", 3);
	e->filename_len = sizeof(file);
	e->args_len = sizeof(args);
	memcpy(e->data, file, sizeof(file));
	memcpy(e->data + sizeof(file), args, sizeof(args));
	mark(e, loader, reason, 0);
	return sizeof(*e) + sizeof(file) + sizeof(args);
}

/* The records written, alerts into a[] (up to max), the last incident
 * record into *inc; returns the number of alerts. */
static int read_out(cJSON **a, int max, cJSON **inc)
{
	char line[65536];
	FILE *f = fopen(out, "r");
	int n = 0;

	*inc = NULL;
	while (f && fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *r = cJSON_GetObjectItem(j, "record");

		if (r && cJSON_IsString(r) && !strcmp(r->valuestring, "alert") && n < max) {
			a[n++] = j;
			continue;
		}
		if (r && cJSON_IsString(r) && !strcmp(r->valuestring, "incident")) {
			cJSON_Delete(*inc);
			*inc = j;
			continue;
		}
		cJSON_Delete(j);
	}
	if (f)
		fclose(f);
	return n;
}

static void free_all(cJSON **a, int n, cJSON *inc)
{
	for (int i = 0; i < n; i++)
		cJSON_Delete(a[i]);
	cJSON_Delete(inc);
}

static const char *str_at(const cJSON *j, const char *a, const char *b, const char *c)
{
	const cJSON *x = cJSON_GetObjectItem(j, a);

	if (b)
		x = cJSON_GetObjectItem(x, b);
	if (c)
		x = cJSON_GetObjectItem(x, c);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* pickle.loads of bytes from a socket: no model file. The kernel marked
 * the process at posix.system; its child's shell is a step of the same
 * incident: "find_class posix.system -> exec /bin/sh". */
static void test_denied_global_then_shell_one_incident(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[8], *inc;
	int n;
	const u32 r = MLW_MARK_PYTHON;

	start(&c, &s);
	collector_handle(&c, rec,
			 find_class("posix", "system", MLW_PY_F_UNSAFE | MLW_PY_F_DENIED, PY_PID,
				    r));
	collector_handle(&c, rec, fork_rec(PY_PID, CHILD_PID, PY_PID, r));
	collector_handle(&c, rec, exec_sh(CHILD_PID, PY_PID, r));
	CHECK(c.st.py_denied == 1 && c.inc.count == 1);
	collector_finish(&c);
	stop(&c, &s);
	n = read_out(a, 8, &inc);
	CHECK(n == 2);
	if (n < 2 || !inc) {
		free_all(a, n, inc);
		CHECK(0);
		return;
	}
	CHECK_STR(str_at(a[0], "rule", "id", NULL), "python-pickle-unsafe-import");
	CHECK_STR(str_at(a[0], "severity", NULL, NULL), "critical");
	CHECK_STR(str_at(a[0], "event", "kind", NULL), "python");
	CHECK_STR(str_at(a[0], "event", "audit", NULL), "pickle.find_class");
	CHECK_STR(str_at(a[0], "event", "module", NULL), "posix");
	CHECK_STR(str_at(a[0], "event", "name", NULL), "system");
	CHECK_STR(str_at(a[0], "event", "verdict", NULL), "denied");
	CHECK_STR(str_at(a[0], "loader", "model", "source"), "python");
	CHECK_STR(str_at(a[0], "loader", "model", "path"), "memory");
	CHECK_STR(str_at(a[1], "rule", "id", NULL), "model-loader-shell");
	CHECK_STR(str_at(a[0], "incident", NULL, NULL), str_at(a[1], "incident", NULL, NULL));
	{
		const cJSON *tl = cJSON_GetObjectItem(inc, "timeline");

		CHECK(cJSON_GetArraySize(tl) == 2);
		CHECK_STR(str_at(cJSON_GetArrayItem(tl, 0), "summary", NULL, NULL),
			  "find_class posix.system");
		CHECK_STR(str_at(cJSON_GetArrayItem(tl, 0), "step", NULL, NULL), "python_import");
		CHECK_STR(str_at(cJSON_GetArrayItem(tl, 1), "summary", NULL, NULL),
			  "exec /bin/sh -c id");
		CHECK_STR(str_at(inc, "loader", "model", NULL), "memory");
	}
	free_all(a, n, inc);
}

/* A standard-library global outside the allowlist that no deny pattern
 * names (a gadget the scanner's deny list does not know): high. */
static void test_unknown_global_high(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[4], *inc;
	int n;

	start(&c, &s);
	collector_handle(&c, rec,
			 find_class("pydoc", "pipepager", MLW_PY_F_UNSAFE, PY_PID,
				    MLW_MARK_PYTHON));
	stop(&c, &s);
	n = read_out(a, 4, &inc);
	CHECK(n == 1);
	if (n == 1) {
		CHECK_STR(str_at(a[0], "severity", NULL, NULL), "high");
		CHECK_STR(str_at(a[0], "event", "verdict", NULL), "unsafe");
	}
	CHECK(c.st.py_unsafe == 1 && c.st.py_custom == 0);
	free_all(a, n, inc);
}

/* A class of the user's own (torch.save(model)): the kernel marked it,
 * user space keeps the mark, raises nothing, and the python rules stay
 * off for that lineage; the loader rules still see its shell. Once an
 * unsafe global follows in the same lineage, the python rules apply. */
static void test_custom_class_watched_not_alerted(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[8], *inc;
	int n;

	start(&c, &s);
	collector_handle(&c, rec,
			 find_class("mypkg.layers", "Custom", MLW_PY_F_UNSAFE, PY_PID,
				    MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_MARSHAL_LOADS, "x", PY_PID, MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_EXEC, "", PY_PID, MLW_MARK_PYTHON));
	CHECK(c.st.alerts == 0 && c.st.py_custom == 1);
	collector_handle(&c, rec, exec_sh(PY_PID, PY_PID, MLW_MARK_PYTHON));
	CHECK(c.st.alerts == 1); /* the loader's shell: model scope */
	collector_handle(&c, rec,
			 find_class("posix", "system", MLW_PY_F_UNSAFE | MLW_PY_F_DENIED, PY_PID,
				    MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_OS_SYSTEM, "id", PY_PID, MLW_MARK_PYTHON));
	stop(&c, &s);
	n = read_out(a, 8, &inc);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(str_at(a[1], "rule", "id", NULL), "python-pickle-unsafe-import");
		CHECK_STR(str_at(a[2], "rule", "id", NULL), "python-os-system");
	}
	free_all(a, n, inc);
}

/* What pools pickle all day: evidence only, no alert, no incident. */
static void test_allowed_globals_silent(void)
{
	static const char *const g[][2] = {
		{ "torch._utils", "_rebuild_tensor_v2" },       { "__main__", "f" },
		{ "multiprocessing.pool", "mapstar" },          { "copyreg", "_reconstructor" },
		{ "joblib.numpy_pickle", "NumpyArrayWrapper" },
	};
	struct collector c;
	struct sink s;
	cJSON *a[4], *inc;
	int n;

	start(&c, &s);
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		collector_handle(&c, rec, find_class(g[i][0], g[i][1], 0, 0, 0));
	CHECK(c.st.py_allowed == sizeof(g) / sizeof(g[0]));
	CHECK(c.inc.count == 0 && c.st.marks_set_by_user == 0);
	stop(&c, &s);
	n = read_out(a, 4, &inc);
	CHECK(n == 0 && !inc);
	free_all(a, n, inc);
}

static char allowed_module[64], allowed_name[64];
static int allowed_calls;

static void allow_hook(void *ctx, const char *module, const char *name)
{
	(void)ctx;
	allowed_calls++;
	snprintf(allowed_module, sizeof(allowed_module), "%s", module);
	snprintf(allowed_name, sizeof(allowed_name), "%s", name);
}

/* The kernel flagged a global that user space allows (a pattern it could
 * not express): no alert, the hook hears of it, the mark is left alone. */
static void test_kernel_flagged_user_allowed(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[4], *inc;
	int n;

	start(&c, &s);
	collector_set_py_hooks(&c, &(struct collector_py_hooks){ .allow_global = allow_hook });
	collector_handle(&c, rec,
			 find_class("collections", "OrderedDict", MLW_PY_F_UNSAFE, PY_PID,
				    MLW_MARK_PYTHON));
	CHECK(c.st.py_user_allowed == 1 && allowed_calls == 1);
	CHECK_STR(allowed_module, "collections");
	CHECK_STR(allowed_name, "OrderedDict");
	CHECK(c.inc.count == 0);
	stop(&c, &s);
	n = read_out(a, 4, &inc);
	CHECK(n == 0);
	free_all(a, n, inc);
}

/* The kernel let through what user space denies: fail closed, alert and
 * count the mismatch. */
static void test_kernel_missed_denied(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[4], *inc;
	int n;

	start(&c, &s);
	collector_handle(&c, rec, find_class("builtins", "exec", 0, 0, 0));
	CHECK(c.st.py_kernel_missed == 1 && c.st.py_denied == 1);
	stop(&c, &s);
	n = read_out(a, 4, &inc);
	CHECK(n == 1);
	free_all(a, n, inc);
}

/* In-process events: alerts for a lineage marked by find_class, nothing
 * for one marked by a model file only (a .pt loader compiles all day). */
static void test_in_process_rules_python_scope(void)
{
	struct collector c;
	struct sink s;
	cJSON *a[8], *inc;
	int n;

	start(&c, &s);
	collector_handle(&c, rec, py_event(PYEV_OS_SYSTEM, "id", PY_PID, MLW_MARK_MODEL));
	collector_handle(&c, rec, py_event(PYEV_EXEC, "", PY_PID, MLW_MARK_MODEL));
	CHECK(c.st.alerts == 0);
	collector_handle(&c, rec, py_event(PYEV_OS_SYSTEM, "id", PY_PID, MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_EXEC, "", PY_PID, MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_EXEC, "", PY_PID, MLW_MARK_PYTHON));
	/* an import makes code objects by the hundred, each named: one step */
	collector_handle(&c, rec, py_event(PYEV_CODE_NEW, "f1", PY_PID, MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_CODE_NEW, "f2", PY_PID, MLW_MARK_PYTHON));
	/* and compiles, each of its own source (namedtuple): one step too */
	collector_handle(&c, rec, py_event(PYEV_COMPILE, "src1", PY_PID, MLW_MARK_PYTHON));
	collector_handle(&c, rec, py_event(PYEV_COMPILE, "src2", PY_PID, MLW_MARK_PYTHON));
	stop(&c, &s);
	n = read_out(a, 8, &inc);
	CHECK(n == 4); /* repeats of exec, code.__new__ and compile are counts on their steps */
	if (n == 4) {
		const cJSON *args = cJSON_GetObjectItem(cJSON_GetObjectItem(a[0], "event"), "args");

		CHECK_STR(str_at(a[0], "rule", "id", NULL), "python-os-system");
		CHECK_STR(str_at(a[0], "severity", NULL, NULL), "critical");
		CHECK(cJSON_GetArraySize(args) == 1);
		CHECK_STR(cJSON_GetArrayItem(args, 0)->valuestring, "id");
		CHECK_STR(str_at(a[1], "rule", "id", NULL), "python-exec-compile");
		CHECK_STR(str_at(a[2], "event", "audit", NULL), "code.__new__");
		CHECK_STR(str_at(a[3], "event", "audit", NULL), "compile");
		args = cJSON_GetObjectItem(cJSON_GetObjectItem(a[3], "event"), "args");
		CHECK(cJSON_GetArraySize(args) >= 1 &&
		      !strcmp(cJSON_GetArrayItem(args, 0)->valuestring, "src1"));
	}
	free_all(a, n, inc);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_denied_global_then_shell_one_incident);
	RUN(test_unknown_global_high);
	RUN(test_custom_class_watched_not_alerted);
	RUN(test_allowed_globals_silent);
	RUN(test_kernel_flagged_user_allowed);
	RUN(test_kernel_missed_denied);
	RUN(test_in_process_rules_python_scope);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) { /* best effort */
		}
	}
	return CHECK_DONE();
}
