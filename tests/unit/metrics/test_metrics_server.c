/* The metrics endpoint over real sockets: states, hostile clients, bounds. */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "metrics/httpreq.h"
#include "metrics/metrics_server.h"

static struct listen_addr addr;
static struct metrics_server *srv;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port nobody listens on now. */
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

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 2 * METRICS_READ_MS / 1000 }; /* past any deadline */

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr.ss, addr.len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything the server sends until it closes (NUL-terminated, static). */
static const char *read_all(int fd)
{
	static char buf[65536];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return buf;
}

static const char *ask(const char *req, size_t len)
{
	int fd = dial();
	const char *out;

	if (fd < 0)
		return "";
	if (write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return "";
	}
	out = read_all(fd);
	close(fd);
	return out;
}

#define ASK(s) ask(s, sizeof(s) - 1)
#define GET(path) ASK("GET " path " HTTP/1.1\r\nHost: t\r\n\r\n")

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static void test_bind_failure(void)
{
	struct metrics_server *other;
	char err[256];

	other = metrics_server_start(&addr, err, sizeof(err));
	CHECK(other == NULL);
	CHECK(strstr(err, "cannot listen on 127.0.0.1:") != NULL);
	CHECK(strstr(err, "Address already in use") != NULL);
}

static void test_states(void)
{
	const char *r;
	struct metrics_server_stats st;

	/* before the sensors and the first snapshot */
	CHECK(starts(GET("/metrics"), "HTTP/1.1 503 "));
	CHECK(starts(GET("/readyz"), "HTTP/1.1 503 "));
	r = GET("/healthz");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(strstr(r, "\r\n\r\nok: starting\n") != NULL);
	metrics_server_set_ready(srv);
	CHECK(starts(GET("/readyz"), "HTTP/1.1 200 OK\r\n"));
	metrics_server_publish(srv, "# HELP a x\n# TYPE a gauge\na 1\n", 30);
	r = GET("/metrics");
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
	CHECK(strstr(r, "Content-Length: 30\r\n") != NULL);
	CHECK(strstr(r, "Connection: close\r\n") != NULL);
	CHECK(strstr(r, "\r\n\r\n# HELP a x\n# TYPE a gauge\na 1\n") != NULL);
	r = GET("/healthz");
	CHECK(strstr(r, "\r\n\r\nok\n") != NULL);
	/* a snapshot that could not be made: 500 until the next */
	metrics_server_publish(srv, NULL, 0);
	CHECK(starts(GET("/metrics"), "HTTP/1.1 500 "));
	metrics_server_publish(srv, "b 2\n", 4);
	CHECK(strstr(GET("/metrics"), "\r\n\r\nb 2\n") != NULL);
	metrics_server_stats(srv, &st);
	CHECK(st.snapshot_bytes == 4);
	/* by status, in metrics_server_codes' order */
	CHECK(metrics_server_codes[0] == 200 && st.responses[0] == 5);
	CHECK(metrics_server_codes[7] == 500 && st.responses[7] == 1);
	CHECK(metrics_server_codes[8] == 503 && st.responses[8] == 2);
}

static void test_hostile(void)
{
	char *big = malloc(HTTP_REQ_MAX + 100);
	const char *r;
	size_t n;

	r = ASK("HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK(starts(r, "HTTP/1.1 405 "));
	CHECK(strstr(r, "Allow: GET\r\n") != NULL);
	CHECK(starts(ASK("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"),
		     "HTTP/1.1 405 "));
	CHECK(starts(GET("/../metrics"), "HTTP/1.1 404 "));
	CHECK(starts(GET("/metrics/../../etc/shadow"), "HTTP/1.1 404 "));
	CHECK(starts(ASK("GET /metrics HTTP/1.1\n\n"), "HTTP/1.1 400 "));
	CHECK(starts(ASK("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"), "HTTP/1.1 400 "));
	/* a header that never ends: answered at the bound, not read on */
	n = (size_t)snprintf(big, 64, "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + n, 'x', HTTP_REQ_MAX + 100 - n);
	CHECK(starts(ask(big, HTTP_REQ_MAX + 100), "HTTP/1.1 431 "));
	/* a request line with no CRLF */
	memset(big, 'G', HTTP_REQ_MAX);
	CHECK(starts(ask(big, HTTP_REQ_MAX), "HTTP/1.1 414 "));
	free(big);
	/* after all that, still serving */
	CHECK(starts(GET("/metrics"), "HTTP/1.1 200 "));
}

/* A slow client that finishes in time is served. */
static void test_byte_by_byte(void)
{
	static const char req[] = "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n";
	int fd = dial();

	for (size_t i = 0; fd >= 0 && i < sizeof(req) - 1; i++) {
		CHECK(write(fd, req + i, 1) == 1);
		usleep(20000);
	}
	CHECK(starts(read_all(fd), "HTTP/1.1 200 OK\r\n"));
	close(fd);
}

/* Slowloris: every slot taken by silent clients. They are cut off at
 * METRICS_READ_MS with a 408, or sooner for a newer client, which is
 * served at once. */
static void test_slowloris(void)
{
	int idle[METRICS_MAX_CONNS + 4], fd;
	struct metrics_server_stats before, after;
	double t0, took;
	const char *r;

	metrics_server_stats(srv, &before);
	for (int i = 0; i < METRICS_MAX_CONNS + 4; i++) {
		idle[i] = dial();
		CHECK(idle[i] >= 0);
		if (idle[i] >= 0 && i % 2)
			CHECK(write(idle[i], "GET /metr", 9) == 9); /* half a request */
	}
	usleep(200000);
	t0 = now_s();
	fd = dial();
	CHECK(write(fd, "GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n", 33) == 33);
	r = read_all(fd);
	took = now_s() - t0;
	close(fd);
	CHECK(starts(r, "HTTP/1.1 200 OK\r\n"));
	CHECK(took < 0.5);
	CHECK(starts(read_all(idle[0]), "HTTP/1.1 408 ")); /* its slot taken */
	/* the newest: cut off at the deadline */
	CHECK(starts(read_all(idle[METRICS_MAX_CONNS + 3]), "HTTP/1.1 408 "));
	for (int i = 0; i < METRICS_MAX_CONNS + 4; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	metrics_server_stats(srv, &after);
	CHECK(after.timeouts - before.timeouts >= 1);
	CHECK(after.evicted - before.evicted >= 5);
	CHECK(after.slots_full > before.slots_full);
	CHECK(after.connections - before.connections >= METRICS_MAX_CONNS + 1);
	printf("  slowloris: the waiting client was served after %.2f s\n", took);
}

/* A client that keeps every slot and the backlog full of silent
 * connections, dialing again as each is cut off: a probe (the kubelet's,
 * 3 s) must still be answered, and soon. */
static void test_probe_under_flood(void)
{
	enum { HOLD = METRICS_MAX_CONNS + 64 };
	int worst_ms = 0, failed = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct pollfd p[HOLD];

		for (int i = 0; i < HOLD; i++)
			p[i] = (struct pollfd){ .fd = dial(), .events = POLLIN };
		for (;;) {
			poll(p, HOLD, 100);
			for (int i = 0; i < HOLD; i++)
				if (p[i].fd < 0 || p[i].revents) {
					if (p[i].fd >= 0)
						close(p[i].fd);
					p[i].fd = dial();
				}
		}
	}
	usleep(500000);
	for (int k = 0; k < 5; k++) {
		double t0 = now_s();
		const char *r = GET("/readyz");
		int ms = (int)((now_s() - t0) * 1000);

		failed += !starts(r, "HTTP/1.1 200 OK\r\n") || ms > 1000;
		worst_ms = ms > worst_ms ? ms : worst_ms;
		usleep(200000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(failed == 0);
	printf("  probe under a flood of silent clients: %d of 5 late or refused, worst %d ms\n",
	       failed, worst_ms);
}

/* No snapshot for METRICS_STALL_NS: /healthz says the main loop stalled,
 * until the next one. */
static void test_stall(double published_at)
{
	double wait = published_at + METRICS_STALL_NS / 1e9 + 0.3 - now_s();
	const char *r;

	if (wait > 0)
		usleep((useconds_t)(wait * 1e6));
	r = GET("/healthz");
	CHECK(starts(r, "HTTP/1.1 503 "));
	CHECK(strstr(r, "stalled: the main loop's last turn was") != NULL);
	metrics_server_publish(srv, "c 3\n", 4);
	CHECK(starts(GET("/healthz"), "HTTP/1.1 200 OK\r\n"));
}

int main(void)
{
	char spec[64], err[256];
	double published;

	snprintf(spec, sizeof(spec), "127.0.0.1:%d", free_port());
	if (listen_addr_parse(spec, &addr, err, sizeof(err)) ||
	    !(srv = metrics_server_start(&addr, err, sizeof(err)))) {
		printf("FAIL cannot start: %s\n0 passed, 1 failed\n", err);
		return 1;
	}
	RUN(test_bind_failure);
	RUN(test_states);
	published = now_s();
	RUN(test_hostile);
	RUN(test_byte_by_byte);
	RUN(test_slowloris);
	RUN(test_probe_under_flood);
	check_cur_name = "test_stall";
	check_cur_failed = 0;
	test_stall(published);
	if (check_cur_failed)
		check_failed++;
	else
		check_passed++, printf("ok test_stall\n");
	metrics_server_stop(srv);
	return CHECK_DONE();
}
