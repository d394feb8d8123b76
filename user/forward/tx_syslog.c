/* Plain sockets with send/receive timeouts, and OpenSSL on top for TLS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "tx_syslog.h"

#define UDP_MAX 65000 /* below the IPv4/IPv6 datagram limit, with headers */

static void tls_err(char *buf, size_t n, const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[120] = "";

	if (e)
		ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	snprintf(buf, n, "%s%s%s", what, msg[0] ? ": " : "", msg);
}

int tx_syslog_init(struct tx_syslog *t, const struct output_conf *oc, const bool *stop, char *err,
		   size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->oc = oc;
	t->stop = stop;
	t->fd = -1;
	if (oc->proto != PROTO_TLS)
		return 0;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx) {
		tls_err(err, errlen, "TLS set-up failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	if (oc->ca_file ? SSL_CTX_load_verify_locations(t->ctx, oc->ca_file, NULL) != 1 :
			  SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		tls_err(err, errlen,
			oc->ca_file ? "cannot load ca_file" : "cannot load system CAs");
		return -1;
	}
	if (oc->cert_file &&
	    (SSL_CTX_use_certificate_chain_file(t->ctx, oc->cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(t->ctx, oc->key_file, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(t->ctx) != 1)) {
		tls_err(err, errlen, "cannot load cert_file/key_file");
		return -1;
	}
	SSL_CTX_set_verify(t->ctx, oc->insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
			   NULL);
	return 0;
}

static void disconnect(struct tx_syslog *t)
{
	if (t->ssl) {
		SSL_free(t->ssl);
		t->ssl = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for the socket in slices, so that a stop or the message's deadline
 * ends the wait: a peer that never reads cannot hold the sender. 0, or -1
 * with t->err set. */
static int wait_fd(struct tx_syslog *t, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = t->fd, .events = events };
		uint64_t now = now_ms();
		int rc;

		if (t->stop && __atomic_load_n(t->stop, __ATOMIC_RELAXED)) {
			snprintf(t->err, sizeof(t->err), "stopped");
			return -1;
		}
		if (now >= deadline) {
			snprintf(t->err, sizeof(t->err), "%s:%s: timed out after %u ms",
				 t->oc->host, t->oc->port, t->oc->timeout_ms);
			return -1;
		}
		rc = poll(&p, 1, deadline - now < 100 ? (int)(deadline - now) : 100);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR) {
			snprintf(t->err, sizeof(t->err), "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* A non-blocking connect bounded by the output's timeout; the socket
 * stays non-blocking (every wait is wait_fd's). */
static int connect_bounded(struct tx_syslog *t, const struct sockaddr *sa, socklen_t len)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
	if (connect(t->fd, sa, len) && errno != EINPROGRESS)
		return -errno;
	if (wait_fd(t, POLLOUT, now_ms() + t->oc->timeout_ms))
		return -ETIMEDOUT;
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr)
		return -(soerr ? soerr : errno);
	return 0;
}

static int tls_handshake(struct tx_syslog *t)
{
	const struct output_conf *oc = t->oc;
	struct in6_addr a6;
	struct in_addr a4;
	bool is_ip = inet_pton(AF_INET, oc->host, &a4) == 1 ||
		     inet_pton(AF_INET6, oc->host, &a6) == 1;

	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1) {
		tls_err(t->err, sizeof(t->err), "TLS set-up failed");
		return -1;
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(t->ssl, oc->host);
	/* the name (or address) in the URL must be the certificate's */
	if (!oc->insecure_skip_verify &&
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), oc->host) :
		     SSL_set1_host(t->ssl, oc->host)) != 1) {
		tls_err(t->err, sizeof(t->err), "TLS set-up failed");
		return -1;
	}
	for (uint64_t deadline = now_ms() + oc->timeout_ms;;) {
		int r = SSL_connect(t->ssl), e;

		if (r == 1)
			return 0;
		e = SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		if (wait_fd(t, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
			return -1;
	}
	{
		long v = SSL_get_verify_result(t->ssl);

		if (v != X509_V_OK)
			snprintf(t->err, sizeof(t->err), "TLS: certificate not accepted: %s",
				 X509_verify_cert_error_string(v));
		else
			tls_err(t->err, sizeof(t->err), "TLS handshake failed");
		return -1;
	}
	return 0;
}

static int connect_peer(struct tx_syslog *t)
{
	const struct output_conf *oc = t->oc;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = oc->proto == PROTO_UDP ? SOCK_DGRAM :
									  SOCK_STREAM },
			*res = NULL, *ai;
	int rc, last = ECONNREFUSED;

	rc = getaddrinfo(oc->host, oc->port, &hints, &res);
	if (rc) {
		snprintf(t->err, sizeof(t->err), "cannot resolve %s: %s", oc->host,
			 gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		t->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (t->fd < 0) {
			last = errno;
			continue;
		}
		rc = connect_bounded(t, ai->ai_addr, ai->ai_addrlen);
		if (!rc)
			break;
		last = -rc;
		close(t->fd);
		t->fd = -1;
	}
	freeaddrinfo(res);
	if (t->fd < 0) {
		snprintf(t->err, sizeof(t->err), "cannot connect to %s:%s: %s", oc->host, oc->port,
			 strerror(last));
		return -1;
	}
	if (oc->proto == PROTO_TLS && tls_handshake(t)) {
		disconnect(t);
		return -1;
	}
	return 0;
}

static int write_all(struct tx_syslog *t, const char *p, size_t n, uint64_t deadline)
{
	while (n) {
		ssize_t w;

		if (t->ssl) {
			int r = SSL_write(t->ssl, p, n > 1u << 30 ? 1 << 30 : (int)n), e;

			if (r <= 0) {
				e = SSL_get_error(t->ssl, r);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
					if (wait_fd(t, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
						    deadline))
						return -1;
					continue;
				}
				tls_err(t->err, sizeof(t->err), "TLS write failed");
				return -1;
			}
			w = r;
		} else {
			w = send(t->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				if (wait_fd(t, POLLOUT, deadline))
					return -1;
				continue;
			}
			if (w <= 0) {
				snprintf(t->err, sizeof(t->err), "send to %s:%s: %s", t->oc->host,
					 t->oc->port, w < 0 ? strerror(errno) : "nothing sent");
				return -1;
			}
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tx_syslog_send(struct tx_syslog *t, const char *msg, size_t len)
{
	char count[24];
	uint64_t deadline;
	int n;

	if (t->oc->proto == PROTO_UDP && len > UDP_MAX) {
		snprintf(t->err, sizeof(t->err), "a %zu-byte message does not fit a UDP datagram",
			 len);
		return -2; /* never sendable over this output: not a retry */
	}
	if (t->fd < 0 && connect_peer(t))
		return -1;
	if (t->oc->proto == PROTO_UDP) {
		if (send(t->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
			return 0;
		snprintf(t->err, sizeof(t->err), "send to %s:%s: %s", t->oc->host, t->oc->port,
			 strerror(errno));
		disconnect(t);
		return -1;
	}
	/* RFC 6587 octet counting: the length, a space, the message */
	n = snprintf(count, sizeof(count), "%zu ", len);
	deadline = now_ms() + t->oc->timeout_ms;
	if (write_all(t, count, (size_t)n, deadline) || write_all(t, msg, len, deadline)) {
		disconnect(t);
		return -1;
	}
	return 0;
}

bool tx_syslog_check(struct tx_syslog *t, unsigned wait_ms)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN | POLLRDHUP };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char junk[512];

	if (t->fd < 0)
		return false;
	if (t->oc->proto == PROTO_UDP) {
		/* a refused datagram comes back as an ICMP error on the socket */
		if (wait_ms)
			poll(&p, 1, (int)wait_ms);
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr) {
			snprintf(t->err, sizeof(t->err), "%s:%s: %s", t->oc->host, t->oc->port,
				 strerror(soerr));
			disconnect(t);
			return false;
		}
		return true;
	}
	if (poll(&p, 1, (int)wait_ms) <= 0)
		return true;
	if (!(p.revents & (POLLHUP | POLLERR | POLLRDHUP)) && (p.revents & POLLIN)) {
		/* a receiver says nothing in syslog; TLS may send tickets */
		ssize_t r;

		if (t->ssl) {
			r = SSL_read(t->ssl, junk, sizeof(junk));
			if (r <= 0 && SSL_get_error(t->ssl, (int)r) == SSL_ERROR_WANT_READ)
				r = 1;
			ERR_clear_error();
		} else {
			r = recv(t->fd, junk, sizeof(junk), 0);
			if (r < 0 && errno == EAGAIN)
				r = 1;
		}
		if (r > 0)
			return true;
	}
	snprintf(t->err, sizeof(t->err), "%s:%s closed the connection", t->oc->host, t->oc->port);
	disconnect(t);
	return false;
}

void tx_syslog_free(struct tx_syslog *t)
{
	disconnect(t);
	if (t->ctx)
		SSL_CTX_free(t->ctx);
	t->ctx = NULL;
}
