/*
 * make bench, forwarding part: records per second through one output per
 * format to a receiver in this process on 127.0.0.1 that only counts
 * (so the figure is mlwatch's side: render, spool, send), and what a
 * record costs the caller (the collector's thread) with the destination
 * alive, hung (an HTTP server that accepts and never answers), or absent.
 *   fwdbench throughput TYPE FORMAT N   -> records_per_s= submit_cpu_ns=
 *   fwdbench submit none|alive|hung N   -> submit_cpu_ns= (per record, caller's CPU)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "config/outputs_conf.h"
#include "forward/fanout.h"

static const char *RECORD =
	"{\"record\":\"alert\",\"schema_version\":1,\"id\":\"0193a0b1-2c3d-7e4f-8a5b-6c7d8e9f0a1b\","
	"\"time\":\"2026-11-22T02:05:51.412Z\",\"incident\":\"mlw-3bc14412b6622831\",\"host\":\"node-1\","
	"\"rule\":{\"id\":\"model-loader-shell\",\"title\":\"Shell started by a process that loaded a "
	"model\"},\"severity\":\"critical\",\"tags\":[\"AML.T0011.000\",\"AML.T0010.003\",\"T1059.004\"],"
	"\"process\":{\"pid\":11328,\"tid\":11328,\"ppid\":11327,\"uid\":0,\"comm\":\"sh\",\"exe\":\"/bin/"
	"sh\",\"args\":[\"sh\",\"-c\",\"touch /tmp/mwt/mk1\"],\"args_truncated\":false,\"cgroup_id\":6789},"
	"\"loader\":{\"pid\":11327,\"exe\":\"/usr/bin/python3.11\",\"model\":{\"path\":\"evil.pkl\","
	"\"resolved_path\":\"/tmp/mwt/evil.pkl\",\"format\":\"pickle\"}},\"ancestry\":[{\"pid\":11328,"
	"\"exe\":\"/bin/sh\"},{\"pid\":11327,\"exe\":\"/usr/bin/python3.11\"}],\"event\":{\"kind\":"
	"\"exec\",\"filename\":\"/bin/sh\",\"resolved_path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch "
	"/tmp/mwt/mk1\"],\"args_truncated\":false,\"classes\":\"shell,shell-inline\",\"path_truncated\":"
	"false}}";

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

/* The caller's own CPU: what forwarding costs the collector's thread, not
 * counting the time the output's threads take the CPU from it. */
static uint64_t cpu_ns(void)
{
	return clock_of(CLOCK_THREAD_CPUTIME_ID);
}

/* ---- receivers that only count ---- */

struct recv {
	int lfd;
	int port;
	int kind;      /* 0 udp, 1 tcp octet counted, 2 http, 3 http that hangs */
	int http_mode; /* 0 ndjson, 1 one per request, 2 hec gzip, 3 bulk */
	volatile uint64_t got;
};

static size_t count_char(const char *p, size_t n, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == c;
	return k;
}

static void *udp_main(void *arg)
{
	struct recv *r = arg;
	static char buf[70000];

	for (;;)
		if (recv(r->lfd, buf, sizeof(buf), 0) > 0)
			__atomic_fetch_add(&r->got, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *tcp_conn(void *arg)
{
	struct recv *r = ((void **)arg)[0];
	int fd = (int)(intptr_t)((void **)arg)[1];
	static __thread char buf[1 << 16];
	size_t want = 0; /* bytes of the current frame still to skip */
	char num[24];
	size_t nn = 0;

	free(arg);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n;) {
			if (want) {
				size_t take = (size_t)(n - i) < want ? (size_t)(n - i) : want;

				want -= take;
				i += (ssize_t)take;
				if (!want)
					__atomic_fetch_add(&r->got, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (buf[i] == ' ') {
				num[nn] = '\0';
				want = strtoull(num, NULL, 10);
				nn = 0;
			} else if (nn < sizeof(num) - 1) {
				num[nn++] = buf[i];
			}
			i++;
		}
	}
	close(fd);
	return NULL;
}

static size_t gunzip_count(const char *p, size_t n)
{
	static __thread unsigned char out[1 << 22];
	z_stream z = { 0 };
	size_t k = 0;

	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return 0;
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	for (;;) {
		int rc;

		z.next_out = out;
		z.avail_out = sizeof(out);
		rc = inflate(&z, Z_NO_FLUSH);
		k += count_char((char *)out, sizeof(out) - z.avail_out, '\n');
		if (rc != Z_OK)
			break;
	}
	inflateEnd(&z);
	return k;
}

static void *http_conn(void *arg)
{
	struct recv *r = ((void **)arg)[0];
	int fd = (int)(intptr_t)((void **)arg)[1];
	size_t cap = 1 << 22, len = 0;
	char *buf = malloc(cap);

	free(arg);
	for (;;) {
		char *hdr_end, *cl;
		size_t need, body_len, recs;
		ssize_t n;

		while (!(hdr_end = memmem(buf, len, "\r\n\r\n", 4))) {
			n = read(fd, buf + len, cap - len);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		cl = memmem(buf, (size_t)(hdr_end - buf), "Content-Length:", 15);
		if (!cl)
			cl = memmem(buf, (size_t)(hdr_end - buf), "content-length:", 15);
		body_len = cl ? strtoull(cl + 15, NULL, 10) : 0;
		need = (size_t)(hdr_end - buf) + 4 + body_len;
		if (need > cap) {
			cap = need;
			buf = realloc(buf, cap);
			hdr_end = memmem(buf, len, "\r\n\r\n", 4);
		}
		while (len < need) {
			n = read(fd, buf + len, cap - len);
			if (n <= 0)
				goto out;
			len += (size_t)n;
		}
		if (r->kind == 3) /* hang: never answer */
			for (;;)
				pause();
		{
			const char *body = hdr_end + 4;
			char head[160];
			char *ans = NULL;
			size_t alen = 0;

			switch (r->http_mode) {
			case 1:
				recs = 1;
				break;
			case 2:
				recs = gunzip_count(body, body_len);
				break;
			case 3:
				recs = count_char(body, body_len, '\n') / 2;
				break;
			default:
				recs = count_char(body, body_len, '\n');
			}
			if (r->http_mode == 3) {
				/* a _bulk answer: one created item per record */
				const char *item = "{\"create\":{\"status\":201}}";

				alen = 40 + recs * (strlen(item) + 1);
				ans = malloc(alen);
				strcpy(ans, "{\"took\":1,\"errors\":false,\"items\":[");
				for (size_t i = 0; i < recs; i++) {
					strcat(ans, item);
					if (i + 1 < recs)
						strcat(ans, ",");
				}
				strcat(ans, "]}");
				alen = strlen(ans);
			} else {
				ans = strdup("{\"text\":\"Success\",\"code\":0}");
				alen = strlen(ans);
			}
			snprintf(head, sizeof(head),
				 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: %zu\r\n\r\n",
				 alen);
			{
				/* one write: two would meet Nagle and a delayed ACK */
				size_t hl = strlen(head);
				char *all = malloc(hl + alen);

				memcpy(all, head, hl);
				memcpy(all + hl, ans, alen);
				if (write(fd, all, hl + alen) < 0) {
					free(all);
					free(ans);
					goto out;
				}
				free(all);
			}
			free(ans);
			__atomic_fetch_add(&r->got, recs, __ATOMIC_RELAXED);
		}
		memmove(buf, buf + need, len - need);
		len -= need;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct recv *r = arg;

	for (;;) {
		int fd = accept(r->lfd, NULL, NULL);
		void **a;
		pthread_t t;

		if (fd < 0)
			continue;
		a = malloc(2 * sizeof(*a));
		a[0] = r;
		a[1] = (void *)(intptr_t)fd;
		pthread_create(&t, NULL, r->kind == 1 ? tcp_conn : http_conn, a);
		pthread_detach(t);
	}
	return NULL;
}

static void recv_start(struct recv *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	pthread_t t;
	int one = 1;

	r->lfd = socket(AF_INET, r->kind == 0 ? SOCK_DGRAM : SOCK_STREAM, 0);
	setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (r->kind == 0) {
		int sz = 8 << 20;

		setsockopt(r->lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &al) ||
	    (r->kind != 0 && listen(r->lfd, 64))) {
		perror("fwdbench: receiver");
		exit(1);
	}
	r->port = ntohs(a.sin_port);
	pthread_create(&t, NULL, r->kind == 0 ? udp_main : accept_main, r);
	pthread_detach(t);
}

/* ---- one output through the product's own parser ---- */

static struct fanout *start_output(const char *type, const char *format, struct recv *r,
				   const char *spool, struct outputs_conf *conf)
{
	char json[1024], err[1024], url[256];
	const char *token = "";

	if (!strcmp(type, "syslog"))
		snprintf(url, sizeof(url), "%s://127.0.0.1:%d", r->kind == 0 ? "udp" : "tcp",
			 r->port);
	else if (!strcmp(type, "splunk_hec"))
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/collector/event", r->port);
	else if (!strcmp(type, "elasticsearch"))
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/mlwatch", r->port);
	else
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/", r->port);
	if (!strcmp(type, "splunk_hec")) {
		setenv("FWDBENCH_TOKEN", "bench-token", 1);
		token = ",\"token_env\":\"FWDBENCH_TOKEN\"";
	}
	snprintf(json, sizeof(json),
		 "{\"outputs\":[{\"type\":\"%s\",\"format\":\"%s\",\"url\":\"%s\",\"spool_dir\":\"%s\","
		 "\"flush_ms\":20,\"timeout_ms\":60000%s%s}]}",
		 type, format, url, spool, token,
		 strcmp(format, "falco") && strcmp(type, "syslog") ? ",\"batch\":500" : "");
	if (outputs_conf_parse(json, strlen(json), "bench", conf, err, sizeof(err))) {
		fprintf(stderr, "fwdbench: %s\n", err);
		exit(1);
	}
	{
		struct fanout *f = fanout_start(conf, "bench-host", err, sizeof(err));

		if (!f) {
			fprintf(stderr, "fwdbench: %s\n", err);
			exit(1);
		}
		return f;
	}
}

static void spool_dir(char *buf, size_t n)
{
	char tmpl[] = "/tmp/mlwatch-fwdbench-XXXXXX";

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(buf, n, "%s", tmpl);
}

static void rm_rf(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "fwdbench: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
	struct outputs_conf conf = { 0 };
	struct recv r = { 0 };
	struct fanout *f = NULL;
	char spool[128];
	size_t len = strlen(RECORD);
	unsigned n;
	uint64_t t0, t1, t2;

	if (argc == 5 && !strcmp(argv[1], "throughput")) {
		const char *type = argv[2], *fmt = argv[3];

		n = (unsigned)atoi(argv[4]);
		r.kind = !strcmp(type, "syslog") ? (strcmp(fmt, "json") ? 1 : 0) : 2;
		if (!strcmp(type, "syslog") && !strcmp(fmt, "udp"))
			r.kind = 0;
		r.http_mode = !strcmp(fmt, "falco")          ? 1 :
			      !strcmp(type, "splunk_hec")    ? 2 :
			      !strcmp(type, "elasticsearch") ? 3 :
							       0;
		recv_start(&r);
		spool_dir(spool, sizeof(spool));
		f = start_output(type, fmt, &r, spool, &conf);
		t0 = now_ns();
		t1 = cpu_ns();
		for (unsigned i = 0; i < n; i++)
			fanout_submit(f, REC_ALERT, RECORD, len);
		t1 = cpu_ns() - t1;
		while (__atomic_load_n(&r.got, __ATOMIC_RELAXED) < n && now_ns() - t0 < 120e9)
			usleep(1000);
		t2 = now_ns();
		printf("type=%s format=%s records=%u received=%llu records_per_s=%.0f "
		       "submit_cpu_ns=%.0f\n",
		       type, fmt, n, (unsigned long long)r.got, n / ((t2 - t0) / 1e9),
		       (double)t1 / n);
		fanout_stop(f, 0);
		fanout_free(f);
		outputs_conf_free(&conf);
		rm_rf(spool);
		return r.got >= n ? 0 : 1;
	}
	if (argc == 4 && !strcmp(argv[1], "submit")) {
		const char *mode = argv[2];

		n = (unsigned)atoi(argv[3]);
		if (strcmp(mode, "none")) {
			r.kind = !strcmp(mode, "hung") ? 3 : 2;
			recv_start(&r);
			spool_dir(spool, sizeof(spool));
			f = start_output("http", "json", &r, spool, &conf);
		}
		t0 = cpu_ns();
		for (unsigned i = 0; i < n; i++) {
			/* the collector's side: render once, hand over */
			char *copy = strdup(RECORD);

			if (f)
				fanout_submit(f, REC_ALERT, copy, len);
			free(copy);
			if ((i & 1023) == 1023)
				usleep(100); /* records come in bursts, not one hot loop */
		}
		t1 = cpu_ns();
		printf("mode=%s records=%u submit_cpu_ns=%.0f\n", mode, n, (double)(t1 - t0) / n);
		if (f) {
			fanout_stop(f, 0);
			fanout_free(f);
			outputs_conf_free(&conf);
			rm_rf(spool);
		}
		return 0;
	}
	fprintf(stderr, "usage: fwdbench throughput TYPE FORMAT N | submit none|alive|hung N\n");
	return 2;
}
