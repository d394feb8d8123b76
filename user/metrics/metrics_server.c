/* The metrics endpoint's thread (see metrics_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics_server.h"
#include "httpreq.h"

const int metrics_server_codes[METRICS_N_CODES] = {
	200, 400, 404, 405, 408, 414, 431, 500, 503, 505
};

struct conn {
	int fd; /* -1: a free slot */
	uint64_t accepted_ns;
	char in[HTTP_REQ_MAX];
	size_t in_len;
	char *out; /* the whole answer, once the request is judged */
	size_t out_len, out_off;
};

struct metrics_server {
	int lfd, wakefd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct conn conns[METRICS_MAX_CONNS];
	bool was_full;

	/* shared with the main thread: under mu */
	pthread_mutex_t mu;
	char *snap;
	size_t snap_len, snap_cap;
	bool have_snap, snap_ok, ready;
	uint64_t started_ns, beat_ns;
	struct metrics_server_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void count_response(struct metrics_server *m, int status)
{
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < METRICS_N_CODES; i++) {
		if (metrics_server_codes[i] == status) {
			m->st.responses[i]++;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
}

/* The head and body in one buffer; NULL when out of memory. */
static char *answer(int status, const char *ctype, const char *body, size_t blen, size_t *len)
{
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			  "Cache-Control: no-store\r\nConnection: close\r\n%s\r\n",
			  status, http_status_text(status), ctype, blen,
			  status == 405 ? "Allow: GET\r\n" : "");
	char *out = malloc((size_t)hl + blen);

	if (!out)
		return NULL;
	memcpy(out, head, (size_t)hl);
	memcpy(out + hl, body, blen);
	*len = (size_t)hl + blen;
	return out;
}

#define TEXT "text/plain; charset=utf-8"
#define EXPO "text/plain; version=0.0.4; charset=utf-8"

/* The answer to a judged request, into c->out. */
static void respond(struct metrics_server *m, struct conn *c, const struct http_req *r)
{
	char msg[160];
	int status = r->status;
	uint64_t now = now_ns();

	if (status != 200) {
		snprintf(msg, sizeof(msg), "%s\n", http_status_text(status));
	} else if (r->route == HTTP_ROUTE_HEALTHZ) {
		pthread_mutex_lock(&m->mu);
		if (m->beat_ns && now - m->beat_ns >= METRICS_STALL_NS) {
			status = 503;
			snprintf(msg, sizeof(msg),
				 "stalled: the main loop's last turn was %llu s ago\n",
				 (unsigned long long)((now - m->beat_ns) / 1000000000ull));
		} else if (!m->beat_ns && now - m->started_ns >= METRICS_STARTUP_NS) {
			status = 503;
			snprintf(msg, sizeof(msg), "stalled: still starting after %llu s\n",
				 (unsigned long long)((now - m->started_ns) / 1000000000ull));
		} else {
			snprintf(msg, sizeof(msg), m->beat_ns ? "ok\n" : "ok: starting\n");
		}
		pthread_mutex_unlock(&m->mu);
	} else if (r->route == HTTP_ROUTE_READYZ) {
		pthread_mutex_lock(&m->mu);
		if (!m->ready)
			status = 503;
		pthread_mutex_unlock(&m->mu);
		snprintf(msg, sizeof(msg),
			 status == 200 ? "ready\n" : "not ready: attaching the sensors\n");
	} else {
		pthread_mutex_lock(&m->mu);
		if (m->have_snap && m->snap_ok) {
			c->out = answer(200, EXPO, m->snap, m->snap_len, &c->out_len);
			pthread_mutex_unlock(&m->mu);
			if (!c->out)
				status = 500; /* no memory for a copy */
			else
				goto counted;
		} else {
			status = m->have_snap ? 500 : 503;
			pthread_mutex_unlock(&m->mu);
		}
		snprintf(msg, sizeof(msg),
			 status == 503 ? "starting: no snapshot yet\n" :
					 "no snapshot: see stderr\n");
	}
	c->out = answer(status, TEXT, msg, strlen(msg), &c->out_len);
counted:
	c->out_off = 0;
	count_response(m, status);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->in_len = c->out_len = c->out_off = 0;
}

/* Reads what is there and judges it; false: close the connection. */
static bool conn_read(struct metrics_server *m, struct conn *c)
{
	struct http_req r;
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false; /* gone before the request was complete */
	c->in_len += (size_t)n;
	if (http_req_parse(c->in, c->in_len, &r) == HTTP_NEED_MORE)
		return true;
	respond(m, c, &r);
	return c->out != NULL;
}

/* Writes what it can; false: done (or failed), close the connection. */
static bool conn_write(struct metrics_server *m, struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		pthread_mutex_lock(&m->mu);
		m->st.write_errors++;
		pthread_mutex_unlock(&m->mu);
		return false;
	}
	c->out_off += (size_t)n;
	if (c->out_off < c->out_len)
		return true;
	shutdown(c->fd, SHUT_WR);
	return false;
}

/* Past a deadline, or its slot wanted: a request still not in gets a
 * 408 (one try, no wait). */
static void conn_expire(struct metrics_server *m, struct conn *c, bool evicted)
{
	if (!c->out) {
		c->out = answer(408, TEXT, "Request Timeout\n", 16, &c->out_len);
		if (c->out) {
			ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

			(void)n;
			count_response(m, 408);
		}
	}
	pthread_mutex_lock(&m->mu);
	if (evicted)
		m->st.evicted++;
	else
		m->st.timeouts++;
	pthread_mutex_unlock(&m->mu);
	conn_close(c);
}

/* A free slot, else the one held longest, cut off: silent clients that
 * keep every slot and dial again as each is cut must not keep a probe
 * waiting in the backlog past its timeout. One whose request came
 * meanwhile is answered first. */
static struct conn *free_slot(struct metrics_server *m)
{
	struct conn *old = NULL;

	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->fd < 0)
			return c;
		if (!old || c->accepted_ns < old->accepted_ns)
			old = c;
	}
	if (!old->out && !(conn_read(m, old) && (!old->out || conn_write(m, old))))
		conn_close(old);
	if (old->fd >= 0)
		conn_expire(m, old, true);
	return old;
}

/* Takes what waits in the backlog (a bounded number a turn), each into a
 * slot; a request already in is answered at once, without a turn of
 * poll, so a prompt client never holds a slot. */
static void accept_some(struct metrics_server *m)
{
	for (size_t i = 0; i < 2 * METRICS_MAX_CONNS; i++) {
		struct conn *c;
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			/* out of fds or memory: the connection stays in the
			 * backlog and poll says so again at once; do not spin */
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				usleep(100000);
			return;
		}
		c = free_slot(m);
		c->fd = fd;
		c->accepted_ns = now_ns();
		pthread_mutex_lock(&m->mu);
		m->st.connections++;
		pthread_mutex_unlock(&m->mu);
		if (!(conn_read(m, c) && (!c->out || conn_write(m, c))))
			conn_close(c);
	}
}

static void *serve(void *arg)
{
	struct metrics_server *m = arg;
	struct pollfd pfd[METRICS_MAX_CONNS + 2];
	struct conn *of[METRICS_MAX_CONNS + 2];

	for (;;) {
		uint64_t now = now_ns();
		int timeout = 1000, busy = 0;
		nfds_t n = 0;

		pfd[n++] = (struct pollfd){ .fd = m->wakefd, .events = POLLIN };
		for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
			struct conn *c = &m->conns[i];
			uint64_t dl;
			int left;

			if (c->fd < 0)
				continue;
			busy++;
			dl = c->accepted_ns +
			     (c->out ? METRICS_CONN_MS : METRICS_READ_MS) * 1000000ull;
			if (now >= dl) {
				conn_expire(m, c, false);
				busy--;
				continue;
			}
			left = (int)((dl - now) / 1000000ull) + 1;
			if (left < timeout)
				timeout = left;
			of[n] = c;
			pfd[n++] =
				(struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
		}
		if (busy < METRICS_MAX_CONNS) {
			m->was_full = false;
		} else if (!m->was_full) {
			m->was_full = true;
			pthread_mutex_lock(&m->mu);
			m->st.slots_full++;
			pthread_mutex_unlock(&m->mu);
		}
		/* last: accepting may reuse the slots polled above */
		of[n] = NULL;
		pfd[n++] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			usleep(100000); /* cannot happen with valid fds; do not spin */
		if (atomic_load(&m->stop))
			return NULL;
		for (nfds_t i = 1; i < n; i++) {
			struct conn *c = of[i];
			bool keep;

			if (!pfd[i].revents)
				continue;
			if (!c) {
				accept_some(m);
				continue;
			}
			if (c->out)
				keep = conn_write(m, c);
			else if (pfd[i].revents & POLLIN)
				keep = conn_read(m, c) && (!c->out || conn_write(m, c));
			else
				keep = false; /* POLLERR or POLLHUP before a request */
			if (!keep)
				conn_close(c);
		}
	}
}

struct metrics_server *metrics_server_start(const struct listen_addr *a, char *err, size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	sigset_t all, old;
	int one = 1, e;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->wakefd = -1;
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		m->conns[i].fd = -1;
	m->lfd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->lfd, (const struct sockaddr *)&a->ss, a->len) || listen(m->lfd, 64)) {
		snprintf(err, errlen, "cannot listen on %s: %s", a->text, strerror(errno));
		goto fail;
	}
	m->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wakefd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&m->mu, NULL);
	m->started_ns = now_ns();
	/* signals are the main thread's: SIGINT must wake its poll */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&m->thread, NULL, serve, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		snprintf(err, errlen, "cannot start its thread: %s", strerror(e));
		pthread_mutex_destroy(&m->mu);
		goto fail;
	}
	m->running = true;
	return m;
fail:
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->wakefd >= 0)
		close(m->wakefd);
	free(m);
	return NULL;
}

void metrics_server_publish(struct metrics_server *m, const char *text, size_t len)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->beat_ns = now_ns();
	m->have_snap = true;
	m->snap_ok = false;
	if (text && len <= METRICS_SNAPSHOT_MAX) {
		if (len > m->snap_cap) {
			char *b = realloc(m->snap, len);

			if (b) {
				m->snap = b;
				m->snap_cap = len;
			}
		}
		if (len <= m->snap_cap) {
			memcpy(m->snap, text, len);
			m->snap_len = len;
			m->snap_ok = true;
		}
	}
	m->st.snapshot_bytes = m->snap_ok ? len : 0;
	pthread_mutex_unlock(&m->mu);
}

void metrics_server_set_ready(struct metrics_server *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->ready = true;
	pthread_mutex_unlock(&m->mu);
}

void metrics_server_stats(struct metrics_server *m, struct metrics_server_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	*st = m->st;
	pthread_mutex_unlock(&m->mu);
}

void metrics_server_stop(struct metrics_server *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	if (m->running) {
		atomic_store(&m->stop, true);
		/* a wakeup now; without it the thread sees stop within a second */
		if (write(m->wakefd, &one, sizeof(one)) != sizeof(one))
			one = 0;
		pthread_join(m->thread, NULL);
		pthread_mutex_destroy(&m->mu);
	}
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		conn_close(&m->conns[i]);
	close(m->lfd);
	close(m->wakefd);
	free(m->snap);
	free(m);
}
