/* The collector's Prometheus snapshot: records and alerts counted, the
 * text valid line by line, and collector_tick handing it to the server. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"
#include "pipeline/collector.h"
#include "pipeline/collector_metrics.h"
#include "pipeline/seed.h"

static unsigned char rec[16384];
static char dir[] = "/tmp/mlwatch-ut-XXXXXX";

static struct mlw_hdr hdr(u32 kind, u32 tgid, u32 loader, u32 flags)
{
	struct mlw_hdr h = { .kind = kind,
			     .tgid = tgid,
			     .tid = tgid,
			     .ppid = 1,
			     .ts_ns = 5000000000ull,
			     .flags = flags | (loader ? MLW_F_MARKED : 0) };

	memcpy(h.comm, "python3", 8);
	h.mark.loader_tgid = loader;
	h.mark.mark_ns = loader ? 1000 : 0;
	h.mark.reason = loader ? MLW_MARK_MODEL : 0;
	h.mark.models = 1;
	return h;
}

static size_t model_open(u32 tgid, int fd, const char *path)
{
	struct mlw_open *o = (struct mlw_open *)rec;

	memset(o, 0, sizeof(*o));
	o->hdr = hdr(MLW_EV_MODEL_OPEN, tgid, tgid, MLW_F_NEW_MARK);
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

/* A loader opens a pickle that runs os.system, forks, and the child execs
 * a shell: one model-loader-shell alert. */
static void run_attack(struct collector *c)
{
	static const char pkl[] =
		"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
	char model[256];
	u32 me = (u32)getpid(), child = 0x7ffff001;
	FILE *f;
	int fd;

	snprintf(model, sizeof(model), "%s/model.pkl", dir);
	f = fopen(model, "wb");
	fwrite(pkl, 1, sizeof(pkl) - 1, f);
	fclose(f);
	fd = open(model, O_RDONLY);
	collector_handle(c, rec, model_open(me, fd, model));
	collector_handle(c, rec, fork_rec(me, child, me));
	collector_handle(c, rec, exec_sh(child, me));
	close(fd);
}

/* Every line is a HELP, a TYPE or a sample of the family last typed;
 * families appear once, counters end in _total. Returns problems. */
static int problems(const char *text)
{
	regex_t help, type, sample;
	char *copy = strdup(text), *save = NULL, fam[128] = "", seen[8192] = " ";
	int bad = 0;

	regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]*$", REG_EXTENDED);
	regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$", REG_EXTENDED);
	regcomp(&sample,
		"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
		"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
		"(-?[0-9]+(\\.[0-9]+)?(e[-+][0-9]+)?|NaN|[-+]Inf)$",
		REG_EXTENDED);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		regmatch_t m[3];

		if (!regexec(&help, l, 0, NULL, 0))
			continue;
		if (!regexec(&type, l, 3, m, 0)) {
			char key[140];

			snprintf(fam, sizeof(fam), "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
				 l + m[1].rm_so);
			snprintf(key, sizeof(key), " %s ", fam);
			if (strstr(seen, key)) {
				printf("  family twice: %s\n", fam);
				bad++;
			}
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			if ((strstr(l, " counter") != NULL) !=
			    (strlen(fam) > 6 && !strcmp(fam + strlen(fam) - 6, "_total"))) {
				printf("  counter without _total or gauge with it: %s\n", l);
				bad++;
			}
			continue;
		}
		if (regexec(&sample, l, 2, m, 0) ||
		    (size_t)(m[1].rm_eo - m[1].rm_so) != strlen(fam) ||
		    strncmp(l, fam, strlen(fam))) {
			printf("  bad line: %s\n", l);
			bad++;
		}
	}
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	free(copy);
	return bad;
}

static void test_render(void)
{
	static struct options opt;
	struct collector c;
	struct sink s;
	struct expo e;
	char out[300];

	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	opt.ringbuf_mb = 16;
	snprintf(out, sizeof(out), "%s/alerts.json", dir);
	CHECK(sink_open(&s, out, true) == 0);
	CHECK(collector_init(&c, &opt, NULL, &s) == 0);
	run_attack(&c);
	/* a rule id from a rules file may hold anything valid in UTF-8 */
	labeltab_add(&c.alerts_by_rule, "x\"} 1\nmlwatch_evil_total 1", "high");
	expo_init(&e, METRICS_SNAPSHOT_MAX);
	collector_metrics_render(&c, &e);
	CHECK(e.errors == 0);
	CHECK(e.buf != NULL);
	if (e.buf) {
		CHECK(problems(e.buf) == 0);
		CHECK(strstr(e.buf, "\nmlwatch_events_total{kind=\"model_open\"} 1\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_events_total{kind=\"fork\"} 1\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_events_total{kind=\"exec\"} 1\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_alerts_total{rule=\"model-loader-shell\","
				    "severity=\"critical\"} 1\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_alerts_total{rule=\"x\\\"} 1\\nmlwatch_evil_total "
				    "1\",severity=\"high\"} 1\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_evil_total") == NULL);
		/* the collector's view: the loader and its child, live */
		CHECK(strstr(e.buf, "\nmlwatch_marked_processes 2\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_proctable_entries 2\n") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_proctable_capacity ") != NULL);
		CHECK(strstr(e.buf, "\nmlwatch_last_event_timestamp_seconds 0.000\n") == NULL);
		CHECK(strstr(e.buf, "\nmlwatch_ringbuf_bytes 16777216\n") != NULL);
	}
	expo_free(&e);
	collector_free(&c);
	sink_close(&s);
}

/* The walk of /proc at start: absent before it, then each of its counts,
 * the bounds that can hide a loader among them. */
static void test_render_seed(void)
{
	static struct options opt;
	struct seed_stats st = { .listed = 3000,
				 .examined = 2990,
				 .not_examined = 10,
				 .unnamed = 2,
				 .models = 5,
				 .loaders = 4,
				 .unreadable = 1,
				 .time_ms = 10000,
				 .ms = 1500 };
	struct collector c;
	struct expo e;

	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	CHECK(collector_init(&c, &opt, NULL, NULL) == 0);
	expo_init(&e, METRICS_SNAPSHOT_MAX);
	collector_metrics_render(&c, &e);
	CHECK(e.buf && !strstr(e.buf, "mlwatch_proc_walk"));
	c.seed = &st;
	expo_reset(&e);
	collector_metrics_render(&c, &e);
	CHECK(e.errors == 0 && e.buf);
	if (e.buf) {
		CHECK(problems(e.buf) == 0);
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_processes{state=\"listed\"} 3000\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_processes{state=\"examined\"} 2990\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_processes{state=\"not_examined\"} 10\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_files{kind=\"unnamed\"} 2\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_files{kind=\"model\"} 5\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_marked_processes{as=\"loader\"} 4\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_errors{kind=\"unreadable\"} 1\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_errors{kind=\"proc_unlisted\"} 0\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_errors{kind=\"no_cgroup_id\"} 0\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_duration_seconds 1.500\n"));
		CHECK(strstr(e.buf, "\nmlwatch_proc_walk_budget_seconds 10.000\n"));
	}
	expo_free(&e);
	collector_free(&c);
}

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &l);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static const char *scrape(const struct listen_addr *a)
{
	static char buf[1 << 17];
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 5 };
	size_t n = 0;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf[0] = 0;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) ||
	    write(fd, req, sizeof(req) - 1) != sizeof(req) - 1) {
		close(fd);
		return buf;
	}
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return buf;
}

/* collector_tick makes the snapshot the server serves. */
static void test_tick_publishes(void)
{
	static struct options opt;
	struct collector c;
	struct metrics_server *m;
	struct listen_addr a;
	char spec[64], err[256];
	const char *r;

	memset(&opt, 0, sizeof(opt));
	netclass_init(&opt.net);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", free_port());
	CHECK(listen_addr_parse(spec, &a, err, sizeof(err)) == 0);
	m = metrics_server_start(&a, err, sizeof(err));
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(collector_init(&c, &opt, NULL, NULL) == 0);
	CHECK(collector_metrics_attach(&c, m) == 0);
	r = scrape(&a); /* no tick yet, no snapshot */
	CHECK(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
	run_attack(&c);
	collector_tick(&c);
	r = scrape(&a);
	CHECK(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(r, "\nmlwatch_events_total{kind=\"exec\"} 1\n") != NULL);
	CHECK(strstr(r, "\nmlwatch_metrics_render_errors 0\n") != NULL);
	/* the snapshot is the tick's: a record after it shows at the next */
	run_attack(&c);
	CHECK(strstr(scrape(&a), "\nmlwatch_events_total{kind=\"exec\"} 1\n") != NULL);
	collector_metrics_detach(&c);
	metrics_server_stop(m);
	collector_free(&c);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = calloc(1, 1 << 20);

	if (f && b)
		fread(b, 1, (1 << 20) - 1, f);
	if (f)
		fclose(f);
	return b;
}

/* Every metric the snapshot can hold (each "mlwatch_..." name in its
 * source) has its row in docs/metrics.md. Run from the repository root. */
static void test_documented(void)
{
	char *src = slurp("user/pipeline/collector_metrics.c"), *doc = slurp("docs/metrics.md");
	int names = 0;

	CHECK(src && doc && strlen(src) > 0 && strlen(doc) > 0);
	for (const char *p = src; src && doc && (p = strstr(p, "\"mlwatch_")); p++) {
		char name[128], row[140];
		size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");

		snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
		snprintf(row, sizeof(row), "| `%s` |", name);
		names++;
		if (!strstr(doc, row)) {
			printf("  %s: no row in docs/metrics.md\n", name);
			CHECK(0);
		}
	}
	CHECK(names > 40);
	free(src);
	free(doc);
}

int main(void)
{
	char model[300], out[300];

	if (!mkdtemp(dir))
		return 1;
	RUN(test_render);
	RUN(test_render_seed);
	RUN(test_tick_publishes);
	RUN(test_documented);
	snprintf(model, sizeof(model), "%s/model.pkl", dir);
	snprintf(out, sizeof(out), "%s/alerts.json", dir);
	unlink(model);
	unlink(out);
	rmdir(dir);
	return CHECK_DONE();
}
