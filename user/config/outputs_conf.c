/* --outputs FILE: the JSON read, every key checked, defaults filled in.
 * The first problem found is the one reported, naming the file, the output
 * and the key; nothing half-checked is ever returned. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs_conf.h"
#include "lib/jsontext.h"
#include "lib/safeopen.h"
#include "lib/textsan.h"

#define OUTPUTS_FILE_MAX (1 << 20)
#define OUTPUTS_MAX 32
#define URL_MAX 2048
#define HOST_MAX 253
#define TOKEN_MAX 8192
#define ENV_NAME_MAX 255
#define ES_INDEX_MAX 255
#define SPOOL_DIR_DEFAULT "/var/lib/mlwatch/spool"
/* Values quoted in messages are cut here: a message is one readable line. */
#define QUOTE_MAX 60

/* ---- names ---------------------------------------------------------- */

static const char *const type_names[] = {
	[OUT_SYSLOG] = "syslog",
	[OUT_HTTP] = "http",
	[OUT_SPLUNK_HEC] = "splunk_hec",
	[OUT_ELASTICSEARCH] = "elasticsearch",
	[OUT_FILE] = "file",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static const char *const format_names[] = {
	[FMT_JSON] = "json",   [FMT_RFC5424] = "rfc5424", [FMT_CEF] = "cef",
	[FMT_FALCO] = "falco", [FMT_ECS] = "ecs",         [FMT_OCSF] = "ocsf",
};
#define N_FORMATS (sizeof(format_names) / sizeof(format_names[0]))

/* The formats each type can send, its default first; -1 ends a list. */
static const int type_formats[N_TYPES][N_FORMATS + 1] = {
	[OUT_SYSLOG] = { FMT_RFC5424, FMT_CEF, FMT_JSON, -1 },
	[OUT_HTTP] = { FMT_JSON, FMT_FALCO, FMT_ECS, FMT_OCSF, -1 },
	[OUT_SPLUNK_HEC] = { FMT_JSON, FMT_ECS, FMT_OCSF, FMT_FALCO, -1 },
	[OUT_ELASTICSEARCH] = { FMT_ECS, FMT_JSON, FMT_OCSF, -1 },
	[OUT_FILE] = { FMT_JSON, FMT_RFC5424, FMT_CEF, FMT_FALCO, FMT_ECS, FMT_OCSF, -1 },
};

static const struct {
	const char *name;
	unsigned bit;
} record_names[] = {
	{ "alert", REC_ALERT },
	{ "incident", REC_INCIDENT },
	{ "inventory", REC_INVENTORY },
	{ "health", REC_HEALTH },
};
#define N_RECORDS (sizeof(record_names) / sizeof(record_names[0]))

/* RFC 5424's numbers; 12 to 15 are named differently from one system to
 * the next and are left out. */
static const struct {
	const char *name;
	int code;
} facility_names[] = {
	{ "kern", 0 },      { "user", 1 },    { "mail", 2 },    { "daemon", 3 },  { "auth", 4 },
	{ "syslog", 5 },    { "lpr", 6 },     { "news", 7 },    { "uucp", 8 },    { "cron", 9 },
	{ "authpriv", 10 }, { "ftp", 11 },    { "local0", 16 }, { "local1", 17 }, { "local2", 18 },
	{ "local3", 19 },   { "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};
#define N_FACILITIES (sizeof(facility_names) / sizeof(facility_names[0]))
#define FACILITY_DEFAULT 16

enum key {
	K_NAME,
	K_TYPE,
	K_URL,
	K_FORMAT,
	K_RECORDS,
	K_TOKEN_FILE,
	K_TOKEN_ENV,
	K_CA_FILE,
	K_CERT_FILE,
	K_KEY_FILE,
	K_INSECURE,
	K_FACILITY,
	K_BATCH,
	K_FLUSH_MS,
	K_TIMEOUT_MS,
	K_SPOOL_DIR,
	K_SPOOL_MAX_MB,
	K_COUNT
};
static const char *const key_names[K_COUNT] = {
	"name",
	"type",
	"url",
	"format",
	"records",
	"token_file",
	"token_env",
	"ca_file",
	"cert_file",
	"key_file",
	"insecure_skip_verify",
	"facility",
	"batch",
	"flush_ms",
	"timeout_ms",
	"spool_dir",
	"spool_max_mb",
};

const char *out_type_name(enum out_type t)
{
	return (unsigned)t < N_TYPES ? type_names[t] : "?";
}

const char *out_format_name(enum out_format f)
{
	return (unsigned)f < N_FORMATS ? format_names[f] : "?";
}

const char *out_facility_name(int facility)
{
	for (size_t i = 0; i < N_FACILITIES; i++)
		if (facility_names[i].code == facility)
			return facility_names[i].name;
	return "?";
}

/* ---- parser state --------------------------------------------------- */

struct outputs_parser {
	const char *origin; /* the file, first in every message */
	char *err;
	size_t errlen;
	bool failed;
	char where[OUT_NAME_MAX + 32]; /* outputs[2] "name", or "" at the top */
};

static void perr(struct outputs_parser *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Only the first problem is kept. The line is escaped as a whole: a value
 * quoted in it (a newline, invalid UTF-8) cannot forge another line. */
static void perr(struct outputs_parser *p, const char *key, const char *fmt, ...)
{
	char msg[768], line[1536];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s%s%s%s%s%s", p->origin, p->where, *p->where ? ": " : "",
		 key ? "key \"" : "", key ? key : "", key ? "\": " : "", msg);
	if (p->err && p->errlen)
		text_escape(line, strlen(line), p->err, p->errlen);
}

/* A value for a message: quoted by the caller, cut to QUOTE_MAX. */
static const char *clip(const char *s, char *buf, size_t len)
{
	if (strlen(s) <= QUOTE_MAX)
		return s;
	snprintf(buf, len, "%.*s...", QUOTE_MAX, s);
	return buf;
}

static const char *json_type(const cJSON *it)
{
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsBool(it))
		return "true/false";
	if (cJSON_IsNull(it))
		return "null";
	if (cJSON_IsArray(it))
		return "an array";
	if (cJSON_IsObject(it))
		return "an object";
	return "an invalid value";
}

static char *pstrdup(struct outputs_parser *p, const char *s)
{
	char *r = strdup(s);

	if (!r)
		perr(p, NULL, "out of memory");
	return r;
}

/* ---- values --------------------------------------------------------- */

static const char *want_string(struct outputs_parser *p, const cJSON *it, const char *key)
{
	if (cJSON_IsString(it) && it->valuestring) {
		if (!*it->valuestring) {
			perr(p, key, "is empty");
			return NULL;
		}
		return it->valuestring;
	}
	perr(p, key, "expected a string, got %s", json_type(it));
	return NULL;
}

/* A JSON integer from lo to hi: 1.5, "10", true and -1 are refused. */
static bool want_uint(struct outputs_parser *p, const cJSON *it, const char *key, unsigned long lo,
		      unsigned long hi, unsigned long *out)
{
	double d;

	if (!cJSON_IsNumber(it)) {
		perr(p, key, "expected an integer from %lu to %lu, got %s", lo, hi, json_type(it));
		return false;
	}
	d = it->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi)) {
		perr(p, key, "%.15g is out of range (%lu to %lu)", d, lo, hi);
		return false;
	}
	if ((double)(unsigned long)d != d) {
		perr(p, key, "%.15g is not a whole number (%lu to %lu)", d, lo, hi);
		return false;
	}
	*out = (unsigned long)d;
	return true;
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Why an absolute path is refused, or NULL. */
static const char *path_problem(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/')
		return "is not an absolute path (the monitor's working folder is no guide)";
	if (n >= PATH_MAX - OUT_NAME_MAX)
		return "is too long";
	for (size_t i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]))
			return "contains a control character (a newline?)";
	if (!utf8_valid((const uint8_t *)s, n, NULL))
		return "is not valid UTF-8";
	return NULL;
}

static const char *want_path(struct outputs_parser *p, const cJSON *it, const char *key)
{
	const char *s = want_string(p, it, key), *why;
	char c[QUOTE_MAX + 4];

	if (!s)
		return NULL;
	if ((why = path_problem(s))) {
		perr(p, key, "\"%s\" %s", clip(s, c, sizeof(c)), why);
		return NULL;
	}
	return s;
}

static const char *file_kind(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
	case S_IFBLK:
		return "a device";
	default:
		return "not a regular file";
	}
}

/* Opens a file the configuration names (links followed: certificates and
 * mounted secrets are often links). stat comes first so that no device is
 * ever opened (opening a watchdog starts it); the open never blocks and
 * fstat checks what was opened. Returns the fd or -1 (reported). */
static int open_regular(struct outputs_parser *p, const char *key, const char *path,
			struct stat *st)
{
	char c[QUOTE_MAX + 4];
	int fd;

	if (stat(path, st) == 0 && !S_ISREG(st->st_mode)) {
		perr(p, key, "\"%s\" is %s, not a regular file", clip(path, c, sizeof(c)),
		     file_kind(st->st_mode));
		return -1;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		perr(p, key, "cannot open \"%s\": %s", clip(path, c, sizeof(c)), strerror(errno));
		return -1;
	}
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		perr(p, key, "\"%s\" is not a regular file", clip(path, c, sizeof(c)));
		close(fd);
		return -1;
	}
	/* whoever can rewrite it chooses whom we trust or what we send */
	if (st->st_mode & S_IWOTH) {
		perr(p, key, "\"%s\" is writable by others (chmod o-w it)",
		     clip(path, c, sizeof(c)));
		close(fd);
		return -1;
	}
	return fd;
}

/* A secret that others can read is worth saying, not worth refusing: the
 * file may be shared with the destination's own tooling. */
static void warn_readable(struct outputs_parser *p, const char *key, const char *path,
			  const struct stat *st)
{
	char line[1024], safe[2048];

	if (!(st->st_mode & (S_IRGRP | S_IROTH)))
		return;
	snprintf(line, sizeof(line),
		 "%s: %s: key \"%s\": \"%s\" is readable by group or others (chmod 600 it)",
		 p->origin, p->where, key, path);
	text_escape(line, strlen(line), safe, sizeof(safe));
	fprintf(stderr, "mlwatch: warning: %s\n", safe);
}

/* A token goes into an HTTP header as is: one word of printable ASCII.
 * The message never quotes it. */
static bool token_ok(struct outputs_parser *p, const char *key, const char *t, size_t n,
		     const char *from)
{
	if (!n) {
		perr(p, key, "%s is empty", from);
		return false;
	}
	if (n > TOKEN_MAX) {
		perr(p, key, "%s holds more than %d bytes (a token is one line)", from, TOKEN_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c == '\n' || c == '\r') {
			perr(p, key, "%s holds more than one line (a token is one line)", from);
			return false;
		}
		if (is_ctl(c) || c == ' ' || c >= 0x80) {
			perr(p, key,
			     "%s holds %s at byte %zu (a token is printable ASCII without spaces)",
			     from,
			     c == ' '  ? "a space" :
			     c >= 0x80 ? "a non-ASCII byte" :
					 "a control character",
			     i);
			return false;
		}
	}
	return true;
}

static char *read_token_file(struct outputs_parser *p, const char *key, const char *path)
{
	char buf[TOKEN_MAX + 2], from[QUOTE_MAX + 16], c[QUOTE_MAX + 4];
	size_t n = 0;
	struct stat st;
	char *tok = NULL;
	int fd = open_regular(p, key, path, &st);

	if (fd < 0)
		return NULL;
	snprintf(from, sizeof(from), "\"%s\"", clip(path, c, sizeof(c)));
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perr(p, key, "cannot read %s: %s", from, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!p->failed) {
		/* what an editor or echo leaves: one "\n", or "\r\n" */
		if (n && n <= TOKEN_MAX + 1 && buf[n - 1] == '\n') {
			n--;
			if (n && buf[n - 1] == '\r')
				n--;
		}
		if (token_ok(p, key, buf, n, from)) {
			warn_readable(p, key, path, &st);
			if ((tok = malloc(n + 1))) {
				memcpy(tok, buf, n);
				tok[n] = 0;
			} else {
				perr(p, NULL, "out of memory");
			}
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return tok;
}

static char *read_token_env(struct outputs_parser *p, const char *key, const char *name)
{
	char from[ENV_NAME_MAX + 32], c[QUOTE_MAX + 4];
	size_t n = strlen(name);
	const char *v;

	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
			  (i && ch >= '0' && ch <= '9');

		if (!ok || n > ENV_NAME_MAX) {
			perr(p, key,
			     "\"%s\" is not an environment variable name (letters, digits and _, not starting with a digit)",
			     clip(name, c, sizeof(c)));
			return NULL;
		}
	}
	snprintf(from, sizeof(from), "environment variable %s", name);
	v = getenv(name);
	if (!v) {
		perr(p, key, "%s is not set", from);
		return NULL;
	}
	if (!token_ok(p, key, v, strlen(v), from))
		return NULL;
	return pstrdup(p, v);
}

/* ---- URLs ----------------------------------------------------------- */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

/* "host", "host:port", "[v6]" or "[v6]:port" (the authority, userinfo
 * already refused) into host (brackets dropped) and port ("" if none). */
static bool split_authority(struct outputs_parser *p, const char *a, size_t n, char *host,
			    char *port)
{
	const char *colon = NULL;
	size_t hn;

	host[0] = port[0] = 0;
	if (n && a[0] == '[') {
		const char *close = memchr(a, ']', n);
		char tmp[INET6_ADDRSTRLEN];
		struct in6_addr in6;

		hn = close ? (size_t)(close - a - 1) : 0;
		if (!close || !hn || hn >= sizeof(tmp)) {
			perr(p, "url", "\"[\" without a valid IPv6 address and \"]\"");
			return false;
		}
		memcpy(tmp, a + 1, hn);
		tmp[hn] = 0;
		if (inet_pton(AF_INET6, tmp, &in6) != 1) {
			perr(p, "url", "\"%s\" is not an IPv6 address", tmp);
			return false;
		}
		strcpy(host, tmp);
		if (close + 1 < a + n) {
			if (close[1] != ':') {
				perr(p, "url", "expected \":PORT\" or the end after \"]\"");
				return false;
			}
			colon = close + 1;
		}
	} else {
		colon = memchr(a, ':', n);
		hn = colon ? (size_t)(colon - a) : n;
		if (colon && memchr(colon + 1, ':', n - hn - 1)) {
			perr(p, "url",
			     "an IPv6 address goes in brackets, e.g. tls://[2001:db8::1]:6514");
			return false;
		}
		if (!hn) {
			perr(p, "url", "has no host");
			return false;
		}
		if (hn > HOST_MAX) {
			perr(p, "url", "the host is longer than %d bytes", HOST_MAX);
			return false;
		}
		for (size_t i = 0; i < hn; i++)
			if (!host_char(a[i])) {
				perr(p, "url",
				     "the host holds '%c' (a host name or address: letters, digits, '.', '-', '_')",
				     a[i]);
				return false;
			}
		memcpy(host, a, hn);
		host[hn] = 0;
	}
	if (colon) {
		size_t pn = (size_t)(a + n - colon - 1);
		unsigned long v = 0;

		if (!pn || pn > 5) {
			perr(p, "url", "%s port (expected a number from 1 to 65535)",
			     pn ? "a too long" : "an empty");
			return false;
		}
		for (size_t i = 0; i < pn; i++) {
			char d = colon[1 + i];

			if (d < '0' || d > '9') {
				perr(p, "url", "the port is not a number (expected 1 to 65535)");
				return false;
			}
			v = v * 10 + (unsigned long)(d - '0');
		}
		if (v < 1 || v > 65535) {
			perr(p, "url", "port %lu is out of range (1 to 65535)", v);
			return false;
		}
		snprintf(port, 6, "%lu", v);
	}
	return true;
}

/* An Elasticsearch index or data stream name, as Elasticsearch takes it. */
static bool es_index_ok(const char *s, size_t n)
{
	if (!n || n > ES_INDEX_MAX || s[0] == '-' || s[0] == '_' || s[0] == '+')
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || c == '+'))
			return false;
	}
	return true;
}

static bool set_str(struct outputs_parser *p, char **dst, const char *s, size_t n)
{
	if (!(*dst = strndup(s, n)))
		perr(p, NULL, "out of memory");
	return *dst != NULL;
}

/* The URL to POST to: splunk_hec gets its collector path when the URL has
 * none, elasticsearch "/_bulk" after the index. base: up to the path. */
static bool http_path(struct outputs_parser *p, struct output_conf *o, const char *url, size_t base,
		      const char *rest)
{
	size_t pn = strcspn(rest, "?");
	const char *query = rest + pn;
	char c[QUOTE_MAX + 4];

	if (o->type == OUT_SPLUNK_HEC && (pn == 0 || (pn == 1 && rest[0] == '/'))) {
		static const char hec[] = "/services/collector/event";

		if (asprintf(&o->path, "%.*s%s%s", (int)base, url, hec, query) < 0) {
			o->path = NULL;
			perr(p, NULL, "out of memory");
		}
		return o->path != NULL;
	}
	if (o->type != OUT_ELASTICSEARCH)
		return set_str(p, &o->path, url, strlen(url));
	/* "/index", "/index/" or a path ending in "/_bulk" */
	if (pn >= 6 && memcmp(rest + pn - 6, "/_bulk", 6) == 0) {
		if (pn == 6) {
			perr(p, "url", "\"/_bulk\" names no index (expected %.*s/INDEX)", (int)base,
			     url);
			return false;
		}
		return set_str(p, &o->path, url, strlen(url));
	}
	if (pn && rest[pn - 1] == '/')
		pn--;
	if (pn <= 1) {
		perr(p, "url",
		     "names no index or data stream (expected %s/INDEX, e.g. https://es:9200/mlwatch)",
		     clip(url, c, sizeof(c)));
		return false;
	}
	if (!es_index_ok(rest + 1, pn - 1)) {
		perr(p, "url",
		     "\"%.*s\" is not an index or data stream name (one path segment of lowercase letters, digits, '.', '-', '_', '+', not starting with '-', '_' or '+'; or a path ending in /_bulk)",
		     (int)(pn - 1 > QUOTE_MAX ? QUOTE_MAX : pn - 1), rest + 1);
		return false;
	}
	if (asprintf(&o->path, "%.*s/%.*s/_bulk%s", (int)base, url, (int)(pn - 1), rest + 1,
		     query) < 0) {
		o->path = NULL;
		perr(p, NULL, "out of memory");
	}
	return o->path != NULL;
}

static bool parse_file_url(struct outputs_parser *p, struct output_conf *o, const char *url)
{
	const char *path = url, *why;
	size_t n;

	o->proto = PROTO_FILE;
	if (strncasecmp(url, "file:", 5) == 0) {
		if (strncmp(url + 5, "///", 3) != 0) {
			perr(p, "url", "expected file:///ABSOLUTE/PATH (a local file, no host)");
			return false;
		}
		path = url + 7;
		/* a URL: no spaces (no %-decoding either: the plain path form
		 * takes any name) */
		if (strchr(path, ' ')) {
			perr(p, "url",
			     "a file:// URL with a space (write the plain absolute path instead)");
			return false;
		}
	} else if (url[0] != '/') {
		perr(p, "url", "expected file:///ABSOLUTE/PATH or /ABSOLUTE/PATH");
		return false;
	}
	n = strlen(path);
	if ((why = path_problem(path))) {
		perr(p, "url", "the path %s", why);
		return false;
	}
	if (path[n - 1] == '/') {
		perr(p, "url", "the path ends in '/' (expected a file, not a folder)");
		return false;
	}
	return set_str(p, &o->path, path, n);
}

static bool parse_url(struct outputs_parser *p, struct output_conf *o, const char *url)
{
	static const struct {
		const char *scheme;
		enum out_proto proto;
		bool syslog;
	} schemes[] = {
		{ "udp", PROTO_UDP, true },      { "tcp", PROTO_TCP, true },
		{ "tls", PROTO_TLS, true },      { "http", PROTO_HTTP, false },
		{ "https", PROTO_HTTPS, false },
	};
	bool syslog = o->type == OUT_SYSLOG;
	const char *want = syslog ? "udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT" :
				    "http://HOST[:PORT]/... or https://HOST[:PORT]/...";
	const char *sep, *auth, *end;
	size_t n = strlen(url), sn, an;
	char host[HOST_MAX + 1], port[6], c[QUOTE_MAX + 4];
	int found = -1;

	if (n > URL_MAX) {
		perr(p, "url", "longer than %d bytes", URL_MAX);
		return false;
	}
	if (o->type == OUT_FILE)
		return set_str(p, &o->url, url, n) && parse_file_url(p, o, url);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)url[i];

		if (is_ctl(ch) || ch == ' ' || ch >= 0x80) {
			perr(p, "url", "%s at byte %zu (percent-encode it)",
			     ch == ' '  ? "a space" :
			     ch >= 0x80 ? "a non-ASCII byte" :
					  "a control character",
			     i);
			return false;
		}
	}
	sep = strstr(url, "://");
	if (!sep) {
		perr(p, "url", "\"%s\" has no scheme (expected %s)", clip(url, c, sizeof(c)), want);
		return false;
	}
	sn = (size_t)(sep - url);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].scheme) == sn && !strncasecmp(url, schemes[i].scheme, sn) &&
		    schemes[i].syslog == syslog)
			found = (int)i;
	if (found < 0) {
		perr(p, "url", "scheme \"%.*s\" does not fit %s (expected %s)",
		     (int)(sn > QUOTE_MAX ? QUOTE_MAX : sn), url, out_type_name(o->type), want);
		return false;
	}
	o->proto = schemes[found].proto;
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	an = (size_t)(end - auth);
	if (strchr(url, '#')) {
		perr(p, "url", "has a fragment (\"#...\"), which is never sent");
		return false;
	}
	if (memchr(auth, '@', an)) {
		perr(p, "url", "holds user information (user@ or user:password@): %s",
		     syslog ? "syslog takes no credentials" :
			      "credentials go in token_file or token_env");
		return false;
	}
	if (!split_authority(p, auth, an, host, port))
		return false;
	if (syslog) {
		if (!*port) {
			perr(p, "url",
			     "has no port (expected %s, e.g. udp://HOST:514, tls://HOST:6514)",
			     want);
			return false;
		}
		if (*end) {
			perr(p, "url", "has a path or query (expected %s only)", want);
			return false;
		}
	} else if (!*port) {
		strcpy(port, o->proto == PROTO_HTTPS ? "443" : "80");
	}
	if (!set_str(p, &o->url, url, n) || !set_str(p, &o->host, host, strlen(host)) ||
	    !set_str(p, &o->port, port, strlen(port)))
		return false;
	return syslog || http_path(p, o, url, (size_t)(end - url), end);
}

/* ---- one output ----------------------------------------------------- */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= OUT_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!host_char(s[i]))
			return false;
	return true;
}

static const char *format_list(enum out_type t, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; type_formats[t][i] >= 0 && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
				      format_names[type_formats[t][i]]);
	return buf;
}

static void parse_format(struct outputs_parser *p, const cJSON *it, struct output_conf *o)
{
	const int *allowed = type_formats[o->type];
	char list[128], c[QUOTE_MAX + 4];
	const char *s;

	o->format = (enum out_format)allowed[0];
	if (!it || !(s = want_string(p, it, "format")))
		return;
	for (size_t i = 0; allowed[i] >= 0; i++)
		if (!strcmp(s, format_names[allowed[i]])) {
			o->format = (enum out_format)allowed[i];
			return;
		}
	perr(p, "format", "\"%s\" is not a format of %s (%s)", clip(s, c, sizeof(c)),
	     out_type_name(o->type), format_list(o->type, list, sizeof(list)));
}

static void parse_records(struct outputs_parser *p, const cJSON *it, struct output_conf *o)
{
	char c[QUOTE_MAX + 4];
	const cJSON *el;
	size_t i = 0;

	o->records = REC_ALL;
	if (!it)
		return;
	if (!cJSON_IsArray(it) || !cJSON_GetArraySize(it)) {
		perr(p, "records",
		     "expected a non-empty array of \"alert\", \"incident\", \"inventory\", \"health\", got %s",
		     cJSON_IsArray(it) ? "an empty array" : json_type(it));
		return;
	}
	o->records = 0;
	cJSON_ArrayForEach(el, it) {
		size_t k;

		if (!cJSON_IsString(el)) {
			perr(p, "records", "records[%zu] is %s, not a string", i, json_type(el));
			return;
		}
		for (k = 0; k < N_RECORDS && strcmp(el->valuestring, record_names[k].name); k++)
			;
		if (k == N_RECORDS) {
			perr(p, "records",
			     "records[%zu] \"%s\" is not a record kind (alert, incident, inventory, health)",
			     i, clip(el->valuestring, c, sizeof(c)));
			return;
		}
		if (o->records & record_names[k].bit) {
			perr(p, "records", "records[%zu] \"%s\" is listed twice", i,
			     record_names[k].name);
			return;
		}
		o->records |= record_names[k].bit;
		i++;
	}
}

static void parse_token(struct outputs_parser *p, const cJSON *const *kv, struct output_conf *o)
{
	const char *key = kv[K_TOKEN_FILE] ? "token_file" : "token_env", *s;
	const cJSON *it = kv[K_TOKEN_FILE] ? kv[K_TOKEN_FILE] : kv[K_TOKEN_ENV];

	if (kv[K_TOKEN_FILE] && kv[K_TOKEN_ENV]) {
		perr(p, "token_env", "given with token_file (one or the other)");
		return;
	}
	if (!it) {
		if (o->type == OUT_SPLUNK_HEC)
			perr(p, "token_file",
			     "missing: splunk_hec needs its HEC token from token_file or token_env");
		return;
	}
	if (o->type == OUT_SYSLOG || o->type == OUT_FILE) {
		perr(p, key, "%s outputs send no token (only http, splunk_hec, elasticsearch)",
		     out_type_name(o->type));
		return;
	}
	if (kv[K_TOKEN_FILE]) {
		if (!(s = want_path(p, it, key)) || !(o->token = read_token_file(p, key, s)))
			return;
		if (asprintf(&o->token_from, "file %s", s) < 0)
			o->token_from = NULL;
	} else {
		if (!(s = want_string(p, it, key)) || !(o->token = read_token_env(p, key, s)))
			return;
		if (asprintf(&o->token_from, "environment variable %s", s) < 0)
			o->token_from = NULL;
	}
	if (!o->token_from)
		perr(p, NULL, "out of memory");
}

static bool tls_url(const struct output_conf *o)
{
	return o->proto == PROTO_TLS || o->proto == PROTO_HTTPS;
}

static void parse_tls(struct outputs_parser *p, const cJSON *const *kv, struct output_conf *o)
{
	static const enum key keys[] = { K_CA_FILE, K_CERT_FILE, K_KEY_FILE };
	char **dst[] = { &o->ca_file, &o->cert_file, &o->key_file };

	for (size_t i = 0; i < 3 && !p->failed; i++) {
		const char *key = key_names[keys[i]], *s;
		struct stat st;
		int fd;

		if (!kv[keys[i]])
			continue;
		if (!tls_url(o)) {
			perr(p, key, "only for tls:// and https:// URLs (this one is %s)",
			     o->proto == PROTO_FILE ? "a file" : "not encrypted");
			return;
		}
		if (!(s = want_path(p, kv[keys[i]], key)) ||
		    (fd = open_regular(p, key, s, &st)) < 0)
			return;
		close(fd);
		if (keys[i] == K_KEY_FILE)
			warn_readable(p, key, s, &st);
		*dst[i] = pstrdup(p, s);
	}
	if (p->failed)
		return;
	if (!!kv[K_CERT_FILE] != !!kv[K_KEY_FILE]) {
		perr(p, kv[K_CERT_FILE] ? "cert_file" : "key_file",
		     "given without %s (a client certificate needs both, or neither)",
		     kv[K_CERT_FILE] ? "key_file" : "cert_file");
		return;
	}
	if (kv[K_INSECURE]) {
		if (!cJSON_IsBool(kv[K_INSECURE])) {
			perr(p, "insecure_skip_verify", "expected true or false, got %s",
			     json_type(kv[K_INSECURE]));
			return;
		}
		if (!tls_url(o)) {
			perr(p, "insecure_skip_verify", "only for tls:// and https:// URLs");
			return;
		}
		o->insecure_skip_verify = cJSON_IsTrue(kv[K_INSECURE]);
	}
}

static void parse_facility(struct outputs_parser *p, const cJSON *it, struct output_conf *o)
{
	char c[QUOTE_MAX + 4];
	const char *s;

	o->facility = FACILITY_DEFAULT;
	if (!it)
		return;
	if (o->type != OUT_SYSLOG) {
		perr(p, "facility", "only for syslog outputs");
		return;
	}
	if (!(s = want_string(p, it, "facility")))
		return;
	for (size_t i = 0; i < N_FACILITIES; i++)
		if (!strcmp(s, facility_names[i].name)) {
			o->facility = facility_names[i].code;
			return;
		}
	perr(p, "facility",
	     "\"%s\" is not a syslog facility (kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0 to local7)",
	     clip(s, c, sizeof(c)));
}

static void parse_numbers(struct outputs_parser *p, const cJSON *const *kv, struct output_conf *o)
{
	unsigned long v;

	o->batch = o->type == OUT_SYSLOG || o->format == FMT_FALCO ? 1 : 100;
	o->flush_ms = 1000;
	o->timeout_ms = 5000;
	o->spool_max_bytes = 256ull << 20;
	if (kv[K_BATCH] && want_uint(p, kv[K_BATCH], "batch", 1, 10000, &v)) {
		if (v > 1 && o->type == OUT_HTTP && o->format == FMT_FALCO) {
			perr(p, "batch",
			     "%lu: format falco over http sends one event per POST (batch 1)", v);
			return;
		}
		o->batch = (unsigned)v;
	}
	if (kv[K_FLUSH_MS] && want_uint(p, kv[K_FLUSH_MS], "flush_ms", 10, 60000, &v))
		o->flush_ms = (unsigned)v;
	if (kv[K_TIMEOUT_MS] && want_uint(p, kv[K_TIMEOUT_MS], "timeout_ms", 100, 120000, &v))
		o->timeout_ms = (unsigned)v;
	if (kv[K_SPOOL_MAX_MB] && want_uint(p, kv[K_SPOOL_MAX_MB], "spool_max_mb", 1, 1048576, &v))
		o->spool_max_bytes = (uint64_t)v << 20;
}

static void parse_spool_dir(struct outputs_parser *p, const cJSON *it, struct output_conf *o)
{
	const char *s = it ? want_path(p, it, "spool_dir") : SPOOL_DIR_DEFAULT;
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		n--;
	if (asprintf(&o->spool_dir, "%.*s/%s", (int)(n == 1 ? 0 : n), s, o->name) < 0) {
		o->spool_dir = NULL;
		perr(p, NULL, "out of memory");
	}
}

/* The type named s, or N_TYPES. */
static size_t type_find(const char *s)
{
	size_t t;

	for (t = 0; t < N_TYPES && strcmp(s, type_names[t]); t++)
		;
	return t;
}

static void set_where(struct outputs_parser *p, size_t i, const char *name)
{
	snprintf(p->where, sizeof(p->where), "outputs[%zu]%s%s%s", i, name ? " \"" : "",
		 name ? name : "", name ? "\"" : "");
}

static void parse_output(struct outputs_parser *p, const cJSON *obj, size_t i,
			 struct output_conf *o)
{
	const cJSON *kv[K_COUNT] = { 0 }, *it;
	const char *unknown = NULL, *twice = NULL;
	char c[QUOTE_MAX + 4];
	const char *s;
	size_t t;

	set_where(p, i, NULL);
	if (!cJSON_IsObject(obj)) {
		perr(p, NULL, "expected an object, got %s", json_type(obj));
		return;
	}
	/* cJSON keeps both copies of a repeated key, and a lookup would
	 * quietly take the first: walk them all */
	cJSON_ArrayForEach(it, obj) {
		size_t k;

		for (k = 0; k < K_COUNT && strcmp(it->string, key_names[k]); k++)
			;
		if (k == K_COUNT && !unknown)
			unknown = it->string;
		else if (k < K_COUNT && kv[k] && !twice)
			twice = key_names[k];
		else if (k < K_COUNT)
			kv[k] = it;
	}
	/* the output's name in those messages, when it has one */
	if (kv[K_NAME] && cJSON_IsString(kv[K_NAME]) && name_ok(kv[K_NAME]->valuestring)) {
		set_where(p, i, kv[K_NAME]->valuestring);
	} else if (!kv[K_NAME] && cJSON_IsString(kv[K_TYPE]) &&
		   (t = type_find(kv[K_TYPE]->valuestring)) < N_TYPES) {
		snprintf(o->name, sizeof(o->name), "%s-%zu", type_names[t], i + 1);
		set_where(p, i, o->name);
	}
	if (unknown) {
		perr(p, unknown,
		     "not a key of an output (expected name, type, url, format, records, token_file, token_env, ca_file, cert_file, key_file, insecure_skip_verify, facility, batch, flush_ms, timeout_ms, spool_dir, spool_max_mb)");
		return;
	}
	if (twice) {
		perr(p, twice, "appears twice");
		return;
	}
	if (kv[K_NAME]) {
		if (!(s = want_string(p, kv[K_NAME], "name")))
			return;
		if (!name_ok(s)) {
			perr(p, "name",
			     "\"%s\" is not a name (1 to %d of A-Z a-z 0-9 . _ -, not \".\" or \"..\": it names the spool folder)",
			     clip(s, c, sizeof(c)), OUT_NAME_MAX - 1);
			return;
		}
		strcpy(o->name, s);
		set_where(p, i, o->name);
	}
	if (!kv[K_TYPE]) {
		perr(p, "type",
		     "missing (expected syslog, http, splunk_hec, elasticsearch or file)");
		return;
	}
	if (!(s = want_string(p, kv[K_TYPE], "type")))
		return;
	if ((t = type_find(s)) == N_TYPES) {
		perr(p, "type",
		     "\"%s\" is not a type (syslog, http, splunk_hec, elasticsearch, file)",
		     clip(s, c, sizeof(c)));
		return;
	}
	o->type = (enum out_type)t;
	if (!kv[K_NAME]) {
		snprintf(o->name, sizeof(o->name), "%s-%zu", type_names[o->type], i + 1);
		set_where(p, i, o->name);
	}
	if (!kv[K_URL]) {
		perr(p, "url", "missing");
		return;
	}
	if (!(s = want_string(p, kv[K_URL], "url")) || !parse_url(p, o, s))
		return;
	parse_format(p, kv[K_FORMAT], o);
	if (!p->failed)
		parse_records(p, kv[K_RECORDS], o);
	if (!p->failed)
		parse_token(p, kv, o);
	if (!p->failed)
		parse_tls(p, kv, o);
	if (!p->failed)
		parse_facility(p, kv[K_FACILITY], o);
	if (!p->failed)
		parse_numbers(p, kv, o);
	if (!p->failed)
		parse_spool_dir(p, kv[K_SPOOL_DIR], o);
}

/* Names are spool folders, file outputs are files: two of one would mix. */
static void check_unique(struct outputs_parser *p, const struct outputs_conf *c)
{
	for (size_t i = 1; i < c->n && !p->failed; i++)
		for (size_t j = 0; j < i && !p->failed; j++) {
			const struct output_conf *a = &c->v[j], *b = &c->v[i];

			set_where(p, i, b->name);
			if (!strcmp(a->name, b->name))
				perr(p, "name",
				     "\"%s\" is already the name of outputs[%zu] (names must be unique: they name the spool folders)",
				     b->name, j);
			else if (a->type == OUT_FILE && b->type == OUT_FILE &&
				 !strcmp(a->path, b->path))
				perr(p, "url", "the same file as outputs[%zu] \"%s\"", j, a->name);
		}
}

/* ---- the file ------------------------------------------------------- */

static cJSON *parse_json(struct outputs_parser *p, const char *text, size_t len)
{
	const char *end = NULL, *nul = memchr(text, 0, len);
	size_t line, col, at, skip = 0;
	cJSON *root;

	if (nul) {
		text_line_col(text, (size_t)(nul - text), &line, &col);
		perr(p, NULL, "line %zu, column %zu: a NUL byte (is this a text file?)", line, col);
		return NULL;
	}
	if (json_find_escaped_nul(text, len, &at)) {
		text_line_col(text, at, &line, &col);
		perr(p, NULL,
		     "line %zu, column %zu: an escaped NUL character (backslash u0000) cannot appear in an outputs file",
		     line, col);
		return NULL;
	}
	while (skip < len && json_is_space(text[skip]))
		skip++;
	if (skip == len) {
		perr(p, NULL, "empty file (expected {\"outputs\": [...]})");
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		char near[24];
		size_t n = 0;

		/* a few characters from where cJSON gave up, on this line */
		while (off + n < len && n < sizeof(near) - 1 && text[off + n] != '\n')
			n++;
		memcpy(near, text + off, n);
		near[n] = 0;
		text_line_col(text, off, &line, &col);
		perr(p, NULL, "line %zu, column %zu: invalid JSON near \"%s\"", line, col, near);
		return NULL;
	}
	at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
	while (at < len && json_is_space(text[at]))
		at++;
	if (at < len) {
		text_line_col(text, at, &line, &col);
		perr(p, NULL,
		     "line %zu, column %zu: invalid JSON: text after the end of the object", line,
		     col);
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static void parse_top(struct outputs_parser *p, const cJSON *root, struct outputs_conf *out)
{
	const cJSON *it, *list = NULL, *el;
	size_t n, i = 0;

	if (!cJSON_IsObject(root)) {
		perr(p, NULL, "expected an object {\"outputs\": [...]}, got %s", json_type(root));
		return;
	}
	cJSON_ArrayForEach(it, root) {
		if (strcmp(it->string, "outputs") != 0) {
			perr(p, it->string,
			     "not a key at the top level (expected only \"outputs\")");
			return;
		}
		if (list) {
			perr(p, "outputs", "appears twice");
			return;
		}
		list = it;
	}
	if (!list) {
		perr(p, "outputs", "missing (expected {\"outputs\": [...]})");
		return;
	}
	if (!cJSON_IsArray(list)) {
		perr(p, "outputs", "expected an array of outputs, got %s", json_type(list));
		return;
	}
	n = (size_t)cJSON_GetArraySize(list);
	if (n < 1 || n > OUTPUTS_MAX) {
		perr(p, "outputs", "%zu outputs (expected 1 to %d)", n, OUTPUTS_MAX);
		return;
	}
	if (!(out->v = calloc(n, sizeof(*out->v)))) {
		perr(p, NULL, "out of memory");
		return;
	}
	cJSON_ArrayForEach(el, list) {
		out->n = i + 1; /* freed on failure, set or not */
		parse_output(p, el, i, &out->v[i]);
		if (p->failed)
			return;
		i++;
	}
	check_unique(p, out);
}

int outputs_conf_parse(const char *text, size_t len, const char *origin, struct outputs_conf *out,
		       char *err, size_t errlen)
{
	struct outputs_parser p = { .origin = origin ? origin : "(outputs)",
				    .err = err,
				    .errlen = errlen };
	cJSON *root;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (!text) {
		perr(&p, NULL, "no text");
		return -1;
	}
	if (len > OUTPUTS_FILE_MAX) {
		perr(&p, NULL, "file too large (%zu bytes; at most %d)", len, OUTPUTS_FILE_MAX);
		return -1;
	}
	root = parse_json(&p, text, len);
	if (root)
		parse_top(&p, root, out);
	cJSON_Delete(root);
	if (p.failed) {
		outputs_conf_free(out);
		return -1;
	}
	return 0;
}

int outputs_conf_load(const char *path, struct outputs_conf *out, char *err, size_t errlen)
{
	struct outputs_parser p = { .origin = path, .err = err, .errlen = errlen };
	char *text = NULL;
	size_t len = 0, cap = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	/* whoever can write the file chooses where records go, and which
	 * token file root reads and sends */
	fd = safeopen_config(path, err, errlen);
	if (fd < 0)
		return -1;
	/* read to the end whatever st_size says: the cap is on what arrives */
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *t;

			if (ncap > OUTPUTS_FILE_MAX + 1)
				ncap = OUTPUTS_FILE_MAX + 1;
			if (ncap == cap) {
				perr(&p, NULL, "file too large (more than %d bytes)",
				     OUTPUTS_FILE_MAX);
				break;
			}
			if (!(t = realloc(text, ncap))) {
				perr(&p, NULL, "out of memory");
				break;
			}
			text = t;
			cap = ncap;
		}
		r = read(fd, text + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perr(&p, NULL, "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = p.failed ? -1 : outputs_conf_parse(text ? text : "", len, path, out, err, errlen);
	free(text);
	return rc;
}

void outputs_conf_free(struct outputs_conf *c)
{
	for (size_t i = 0; c->v && i < c->n; i++) {
		struct output_conf *o = &c->v[i];

		if (o->token) {
			explicit_bzero(o->token, strlen(o->token));
			free(o->token);
		}
		free(o->token_from);
		free(o->url);
		free(o->host);
		free(o->port);
		free(o->path);
		free(o->ca_file);
		free(o->cert_file);
		free(o->key_file);
		free(o->spool_dir);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
