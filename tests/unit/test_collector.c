/* The collector pipeline without BPF: synthetic records in, alerts out. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "collector.h"

static unsigned char rec[16384];
static char dir[] = "/tmp/mlwatch-ut-XXXXXX";

static struct mlw_hdr hdr(u32 kind, u32 tgid, u32 loader, u32 flags)
{
	struct mlw_hdr h = { .kind = kind, .tgid = tgid, .tid = tgid, .ppid = 1,
			     .flags = flags | (loader ? MLW_F_MARKED : 0) };

	memcpy(h.comm, "python3", 8);
	h.mark.loader_tgid = loader;
	h.mark.mark_ns = loader ? 1000 : 0;
	h.mark.reason = loader ? MLW_MARK_MODEL : 0; /* as the kernel's open hook sets it */
	return h;
}

static size_t model_open(u32 tgid, int fd, const char *path, u32 flags)
{
	struct mlw_open *o = (struct mlw_open *)rec;

	memset(o, 0, sizeof(*o));
	o->hdr = hdr(MLW_EV_MODEL_OPEN, tgid, tgid, flags);
	o->ret = fd;
	o->dirfd = -100;
	o->path_len = (u32)strlen(path) + 1;
	memcpy(o->path, path, o->path_len);
	return sizeof(*o) + o->path_len;
}

static size_t fork_rec(u32 parent, u32 child, u32 loader)
{
	struct mlw_fork *f = (struct mlw_fork *)rec;

	memset(f, 0, sizeof(*f));
	f->hdr = hdr(MLW_EV_FORK, parent, loader, 0);
	f->child_tgid = child;
	return sizeof(*f);
}

static size_t exec_sh(u32 tgid, u32 loader)
{
	struct mlw_exec *e = (struct mlw_exec *)rec;
	const char file[] = "/bin/sh", args[] = "sh\0-c\0id";

	memset(e, 0, sizeof(*e));
	e->hdr = hdr(MLW_EV_EXEC, tgid, loader, 0);
	memcpy(e->hdr.comm, "sh", 3);
	e->filename_len = sizeof(file);
	e->args_len = sizeof(args);
	memcpy(e->data, file, sizeof(file));
	memcpy(e->data + sizeof(file), args, sizeof(args));
	return sizeof(*e) + sizeof(file) + sizeof(args);
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

/* fd_file: the file whose fd the record carries (NULL: the model itself). */
static void run_case_fd(const char *model_bytes, size_t model_len, const char *fd_file,
			int *alerts, cJSON **first)
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
	collector_handle(&c, rec, model_open(me, fd, model, MLW_F_NEW_MARK));
	collector_handle(&c, rec, fork_rec(me, child, me));
	collector_handle(&c, rec, exec_sh(child, me));
	close(fd);
	collector_free(&c);
	sink_close(&s);
	*alerts = count_lines(out, first);
}

static void run_case(const char *model_bytes, size_t model_len, int *alerts, cJSON **first)
{
	run_case_fd(model_bytes, model_len, NULL, alerts, first);
}

static void test_confirmed_pickle_alerts_with_lineage(void)
{
	static const char pkl[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
	cJSON *a;
	int n;

	run_case(pkl, sizeof(pkl) - 1, &n, &a);
	CHECK(n == 1);
	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "rule"), "id")->valuestring, "model-loader-shell");
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "loader"), "pid")->valueint == getpid());
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "loader"), "model"),
				      "format")->valuestring, "pickle");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a, "ancestry")) == 2);
	cJSON_Delete(a);
}

/* A .pkl that is really text: the mark is withdrawn and what its lineage
 * does in flight raises nothing. */
static void test_rejected_candidate_silent(void)
{
	static const char txt[] = "just some notes, not a model\n";
	cJSON *a;
	int n;

	run_case(txt, sizeof(txt) - 1, &n, &a);
	CHECK(n == 0);
	cJSON_Delete(a);
}

/* The loader closed the model and reused its fd number for a text file
 * before the collector looked: the model must still be read by its path. */
static void test_reused_fd_not_trusted(void)
{
	static const char pkl[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
	char other[256];
	cJSON *a;
	int n;

	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	write_file(other, "plain text, not a model\n", 24);
	run_case_fd(pkl, sizeof(pkl) - 1, other, &n, &a);
	CHECK(n == 1);
	cJSON_Delete(a);
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

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(test_confirmed_pickle_alerts_with_lineage);
	RUN(test_rejected_candidate_silent);
	RUN(test_reused_fd_not_trusted);
	RUN(test_malformed_record_counted);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) { /* best effort */ }
	}
	return CHECK_DONE();
}
