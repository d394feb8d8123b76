#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config/outputs_conf.h"

static char dir[] = "/tmp/mlwatch-oc-XXXXXX";
static char err[4096];
static struct outputs_conf conf;

static const char *at(const char *name)
{
	static char p[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static const char *put(const char *name, const char *text, mode_t mode)
{
	const char *path = at(name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		printf("FAIL: cannot write %s\n", path);
	if (fd >= 0)
		close(fd);
	chmod(path, mode);
	return path;
}

/* Parses {"outputs": [ONE]}; the result stays in conf until the next call. */
static int parse_text(const char *text)
{
	outputs_conf_free(&conf);
	return outputs_conf_parse(text, strlen(text), "outputs.json", &conf, err, sizeof(err));
}

static int one(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int one(const char *fmt, ...)
{
	char obj[8192], text[8300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(obj, sizeof(obj), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "{\"outputs\": [%s]}", obj);
	return parse_text(text);
}

static bool has(const char *needle)
{
	if (strstr(err, needle))
		return true;
	printf("  (message \"%s\" lacks \"%s\")\n", err, needle);
	return false;
}

/* Refused, and the message names each of a, b (NULL: skip). */
#define BAD(a, b, ...)                                      \
	do {                                                \
		CHECK(one(__VA_ARGS__) == -1);              \
		CHECK(conf.v == NULL && conf.n == 0);       \
		CHECK(has("outputs.json: "));               \
		CHECK((a) == NULL || has(a));               \
		CHECK((const char *)(b) == NULL || has(b)); \
	} while (0)
#define GOOD(...)                                         \
	do {                                              \
		int _rc = one(__VA_ARGS__);               \
		CHECK(_rc == 0);                          \
		if (_rc)                                  \
			printf("  (refused: %s)\n", err); \
	} while (0)

#define SYSLOG "\"type\": \"syslog\", \"url\": \"udp://127.0.0.1:514\""
#define HEC_URL "\"type\": \"splunk_hec\", \"url\": \"https://splunk:8088\""

/* ---- per type defaults ------------------------------------------- */

static void test_defaults_per_type(void)
{
	const char *tok = put("tok", "secret-token-1\n", 0600);
	const struct output_conf *o;

	GOOD("{" SYSLOG "}");
	o = &conf.v[0];
	CHECK(conf.n == 1 && o->type == OUT_SYSLOG && o->proto == PROTO_UDP);
	CHECK(o->format == FMT_RFC5424 && o->batch == 1 && o->facility == 16);
	CHECK(o->records == REC_ALL && o->flush_ms == 1000 && o->timeout_ms == 5000);
	CHECK(o->spool_max_bytes == 256ull << 20 && !o->insecure_skip_verify);
	CHECK_STR(o->name, "syslog-1");
	CHECK_STR(o->host, "127.0.0.1");
	CHECK_STR(o->port, "514");
	CHECK_STR(o->spool_dir, "/var/lib/mlwatch/spool/syslog-1");
	CHECK(o->token == NULL && o->token_from == NULL && o->ca_file == NULL);

	GOOD("{\"type\": \"http\", \"url\": \"http://c:8080/in\"}");
	o = &conf.v[0];
	CHECK(o->format == FMT_JSON && o->batch == 100 && o->proto == PROTO_HTTP);
	CHECK_STR(o->path, "http://c:8080/in");
	CHECK_STR(o->name, "http-1");

	GOOD("{" HEC_URL ", \"token_file\": \"%s\"}", tok);
	o = &conf.v[0];
	CHECK(o->format == FMT_JSON && o->batch == 100 && o->proto == PROTO_HTTPS);
	CHECK_STR(o->path, "https://splunk:8088/services/collector/event");
	CHECK_STR(o->port, "8088");
	CHECK_STR(o->token, "secret-token-1");

	GOOD("{\"type\": \"elasticsearch\", \"url\": \"https://es/mlwatch\"}");
	o = &conf.v[0];
	CHECK(o->format == FMT_ECS && o->batch == 100);
	CHECK_STR(o->path, "https://es/mlwatch/_bulk");
	CHECK_STR(o->port, "443");

	GOOD("{\"type\": \"file\", \"url\": \"/var/log/m.json\"}");
	o = &conf.v[0];
	CHECK(o->format == FMT_JSON && o->batch == 100 && o->proto == PROTO_FILE);
	CHECK_STR(o->path, "/var/log/m.json");
	CHECK(o->host == NULL && o->port == NULL);

	/* falco: one event at a time by default, whatever the type */
	GOOD("{\"type\": \"splunk_hec\", \"url\": \"http://s:8088\", \"format\": \"falco\", "
	     "\"token_file\": \"%s\"}",
	     tok);
	CHECK(conf.v[0].batch == 1);
	GOOD("{\"type\": \"file\", \"url\": \"/x.log\", \"format\": \"falco\"}");
	CHECK(conf.v[0].batch == 1);
}

static void test_several_outputs(void)
{
	GOOD("{" SYSLOG "}, {\"type\": \"file\", \"url\": \"/a\"}, {" SYSLOG "}");
	CHECK(conf.n == 3);
	CHECK_STR(conf.v[0].name, "syslog-1");
	CHECK_STR(conf.v[1].name, "file-2");
	CHECK_STR(conf.v[2].name, "syslog-3");
}

/* ---- name --------------------------------------------------------- */

static void test_name(void)
{
	char long_name[80];

	GOOD("{\"name\": \"Site_A.siem-2\", " SYSLOG "}");
	CHECK_STR(conf.v[0].name, "Site_A.siem-2");
	CHECK_STR(conf.v[0].spool_dir, "/var/lib/mlwatch/spool/Site_A.siem-2");
	memset(long_name, 'a', 63);
	long_name[63] = 0;
	GOOD("{\"name\": \"%s\", " SYSLOG "}", long_name);
	long_name[63] = 'a';
	long_name[64] = 0;
	BAD("key \"name\"", "1 to 63", "{\"name\": \"%s\", " SYSLOG "}", long_name);
	BAD("key \"name\"", "\"a/b\" is not a name", "{\"name\": \"a/b\", " SYSLOG "}");
	BAD("key \"name\"", "\"..\"", "{\"name\": \"..\", " SYSLOG "}");
	BAD("key \"name\"", "\".\"", "{\"name\": \".\", " SYSLOG "}");
	BAD("key \"name\"", "a b", "{\"name\": \"a b\", " SYSLOG "}");
	BAD("key \"name\"", "empty", "{\"name\": \"\", " SYSLOG "}");
	BAD("key \"name\"", "expected a string, got a number", "{\"name\": 3, " SYSLOG "}");
}

static void test_name_unique(void)
{
	BAD("outputs[1] \"x\": key \"name\"", "already the name of outputs[0]",
	    "{\"name\": \"x\", " SYSLOG "}, {\"name\": \"x\", " SYSLOG "}");
	/* a given name that is another output's default */
	BAD("outputs[1] \"syslog-1\": key \"name\"", "outputs[0]",
	    "{" SYSLOG "}, {\"name\": \"syslog-1\", " SYSLOG "}");
	BAD("outputs[1] \"syslog-2\": key \"name\"", "outputs[0]",
	    "{\"name\": \"syslog-2\", " SYSLOG "}, {" SYSLOG "}");
	BAD("outputs[1] \"file-2\": key \"url\"", "the same file as outputs[0]",
	    "{\"type\": \"file\", \"url\": \"/a\"}, {\"type\": \"file\", \"url\": \"file:///a\"}");
}

/* ---- type and format ---------------------------------------------- */

static void test_type(void)
{
	BAD("outputs[0]: key \"type\"", "missing", "{\"url\": \"udp://h:1\"}");
	BAD("key \"type\"", "\"kafka\" is not a type (syslog, http, splunk_hec",
	    "{\"type\": \"kafka\", \"url\": \"udp://h:1\"}");
	BAD("key \"type\"", "got a number", "{\"type\": 1, \"url\": \"udp://h:1\"}");
	BAD("outputs[0] \"syslog-1\": key \"url\"", "missing", "{\"type\": \"syslog\"}");
	BAD("key \"url\"", "got null", "{\"type\": \"syslog\", \"url\": null}");
}

static void test_format(void)
{
	static const struct {
		const char *type_url, *format;
		enum out_format f;
	} good[] = {
		{ SYSLOG, "rfc5424", FMT_RFC5424 },
		{ SYSLOG, "cef", FMT_CEF },
		{ SYSLOG, "json", FMT_JSON },
		{ "\"type\": \"http\", \"url\": \"http://h/\"", "json", FMT_JSON },
		{ "\"type\": \"http\", \"url\": \"http://h/\"", "falco", FMT_FALCO },
		{ "\"type\": \"http\", \"url\": \"http://h/\"", "ecs", FMT_ECS },
		{ "\"type\": \"http\", \"url\": \"http://h/\"", "ocsf", FMT_OCSF },
		{ "\"type\": \"elasticsearch\", \"url\": \"http://h/i\"", "ecs", FMT_ECS },
		{ "\"type\": \"elasticsearch\", \"url\": \"http://h/i\"", "json", FMT_JSON },
		{ "\"type\": \"elasticsearch\", \"url\": \"http://h/i\"", "ocsf", FMT_OCSF },
		{ "\"type\": \"file\", \"url\": \"/f\"", "rfc5424", FMT_RFC5424 },
		{ "\"type\": \"file\", \"url\": \"/f\"", "cef", FMT_CEF },
		{ "\"type\": \"file\", \"url\": \"/f\"", "falco", FMT_FALCO },
		{ "\"type\": \"file\", \"url\": \"/f\"", "ecs", FMT_ECS },
		{ "\"type\": \"file\", \"url\": \"/f\"", "ocsf", FMT_OCSF },
		{ "\"type\": \"file\", \"url\": \"/f\"", "json", FMT_JSON },
	};
	const char *tok = put("tok", "t0k", 0600);

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		GOOD("{%s, \"format\": \"%s\"}", good[i].type_url, good[i].format);
		CHECK(conf.n == 1 && conf.v[0].format == good[i].f);
		CHECK_STR(out_format_name(conf.v[0].format), good[i].format);
	}
	for (const char *f = "json\0ecs\0ocsf\0falco\0"; *f; f += strlen(f) + 1) {
		GOOD("{" HEC_URL ", \"token_file\": \"%s\", \"format\": \"%s\"}", tok, f);
		CHECK_STR(out_format_name(conf.v[0].format), f);
	}
	/* the exact message a user sees */
	CHECK(one("{" SYSLOG "}, {\"name\": \"hec\", " HEC_URL
		  ", \"token_file\": \"%s\", \"format\": \"cef\"}",
		  tok) == -1);
	CHECK_STR(err, "outputs.json: outputs[1] \"hec\": key \"format\": \"cef\" is not a "
		       "format of splunk_hec (json, ecs, ocsf, falco)");
	BAD("key \"format\"", "not a format of syslog (rfc5424, cef, json)",
	    "{" SYSLOG ", \"format\": \"ecs\"}");
	BAD("key \"format\"", "not a format of http (json, falco, ecs, ocsf)",
	    "{\"type\": \"http\", \"url\": \"http://h/\", \"format\": \"cef\"}");
	BAD("key \"format\"", "not a format of elasticsearch (ecs, json, ocsf)",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://h/i\", \"format\": \"falco\"}");
	BAD("key \"format\"", "\"JSON\" is not a format of file",
	    "{\"type\": \"file\", \"url\": \"/f\", \"format\": \"JSON\"}");
	BAD("key \"format\"", "got an array", "{" SYSLOG ", \"format\": [\"json\"]}");
}

/* ---- URLs ----------------------------------------------------------- */

static void test_url_syslog(void)
{
	GOOD("{\"type\": \"syslog\", \"url\": \"tcp://logs.example.com:601\"}");
	CHECK(conf.v[0].proto == PROTO_TCP);
	CHECK_STR(conf.v[0].host, "logs.example.com");
	GOOD("{\"type\": \"syslog\", \"url\": \"tls://[2001:db8::1]:6514\"}");
	CHECK(conf.v[0].proto == PROTO_TLS);
	CHECK_STR(conf.v[0].host, "2001:db8::1");
	CHECK_STR(conf.v[0].port, "6514");
	CHECK_STR(conf.v[0].url, "tls://[2001:db8::1]:6514");
	GOOD("{\"type\": \"syslog\", \"url\": \"UDP://h:65535\"}");
	CHECK(conf.v[0].proto == PROTO_UDP);
	CHECK_STR(conf.v[0].port, "65535");
	GOOD("{\"type\": \"syslog\", \"url\": \"udp://h:00514\"}");
	CHECK_STR(conf.v[0].port, "514");

	BAD("key \"url\"", "has no port", "{\"type\": \"syslog\", \"url\": \"udp://h\"}");
	BAD("key \"url\"", "an empty port", "{\"type\": \"syslog\", \"url\": \"udp://h:\"}");
	BAD("key \"url\"", "port 0 is out of range (1 to 65535)",
	    "{\"type\": \"syslog\", \"url\": \"udp://h:0\"}");
	BAD("key \"url\"", "port 65536 is out of range",
	    "{\"type\": \"syslog\", \"url\": \"udp://h:65536\"}");
	BAD("key \"url\"", "not a number", "{\"type\": \"syslog\", \"url\": \"udp://h:5x4\"}");
	BAD("key \"url\"", "too long", "{\"type\": \"syslog\", \"url\": \"udp://h:100000\"}");
	BAD("key \"url\"", "in brackets",
	    "{\"type\": \"syslog\", \"url\": \"tls://2001:db8::1:6514\"}");
	BAD("key \"url\"", "is not an IPv6 address",
	    "{\"type\": \"syslog\", \"url\": \"tls://[2001:zz::1]:6514\"}");
	BAD("key \"url\"", "\"]\"", "{\"type\": \"syslog\", \"url\": \"tls://[::1:6514\"}");
	BAD("key \"url\"", "after \"]\"", "{\"type\": \"syslog\", \"url\": \"tls://[::1]6514\"}");
	BAD("key \"url\"", "user information", "{\"type\": \"syslog\", \"url\": \"tcp://u@h:1\"}");
	BAD("key \"url\"", "a path or query", "{\"type\": \"syslog\", \"url\": \"tcp://h:1/x\"}");
	BAD("key \"url\"", "a path or query", "{\"type\": \"syslog\", \"url\": \"tcp://h:1?a\"}");
	BAD("key \"url\"", "a space at byte 7", "{\"type\": \"syslog\", \"url\": \"tcp://h :1\"}");
	BAD("key \"url\"", "a control character",
	    "{\"type\": \"syslog\", \"url\": \"tcp://h\\t:1\"}");
	BAD("key \"url\"", "non-ASCII", "{\"type\": \"syslog\", \"url\": \"tcp://h\xc3\xa9:1\"}");
	BAD("key \"url\"", "has no host", "{\"type\": \"syslog\", \"url\": \"tcp://:514\"}");
	BAD("key \"url\"", "the host holds '!'",
	    "{\"type\": \"syslog\", \"url\": \"tcp://a!b:514\"}");
	BAD("key \"url\"", "scheme \"https\" does not fit syslog",
	    "{\"type\": \"syslog\", \"url\": \"https://h:514\"}");
	BAD("key \"url\"", "has no scheme", "{\"type\": \"syslog\", \"url\": \"h:514\"}");
	BAD("key \"url\"", "fragment", "{\"type\": \"syslog\", \"url\": \"tcp://h:1#x\"}");
}

static void test_url_http(void)
{
	char longurl[2100];
	const char *tok = put("tok", "t0k", 0600);

	GOOD("{\"type\": \"http\", \"url\": \"https://collector.example/in?x=1\"}");
	CHECK_STR(conf.v[0].path, "https://collector.example/in?x=1");
	CHECK_STR(conf.v[0].host, "collector.example");
	CHECK_STR(conf.v[0].port, "443");
	GOOD("{\"type\": \"http\", \"url\": \"http://[::1]:2801\"}");
	CHECK_STR(conf.v[0].host, "::1");
	CHECK_STR(conf.v[0].port, "2801");
	CHECK_STR(conf.v[0].path, "http://[::1]:2801");
	GOOD("{\"type\": \"http\", \"url\": \"http://h\"}");
	CHECK_STR(conf.v[0].port, "80");

	/* splunk_hec: the collector path when none is given */
	GOOD("{" HEC_URL ", \"token_file\": \"%s\"}, {\"type\": \"splunk_hec\", \"url\": "
	     "\"http://s:8088/\", \"token_file\": \"%s\"}, {\"type\": \"splunk_hec\", \"url\": "
	     "\"https://s/services/collector/raw\", \"token_file\": \"%s\"}, {\"type\": "
	     "\"splunk_hec\", \"url\": \"https://s:8088?channel=abc\", \"token_file\": \"%s\"}",
	     tok, tok, tok, tok);
	CHECK(conf.n == 4);
	if (conf.n == 4) {
		CHECK_STR(conf.v[0].path, "https://splunk:8088/services/collector/event");
		CHECK_STR(conf.v[1].path, "http://s:8088/services/collector/event");
		CHECK_STR(conf.v[2].path, "https://s/services/collector/raw");
		CHECK_STR(conf.v[3].path, "https://s:8088/services/collector/event?channel=abc");
	}

	/* elasticsearch: an index, then /_bulk */
	GOOD("{\"type\": \"elasticsearch\", \"url\": \"http://es:9200/logs-mlwatch-default/\"}");
	CHECK_STR(conf.v[0].path, "http://es:9200/logs-mlwatch-default/_bulk");
	GOOD("{\"type\": \"elasticsearch\", \"url\": \"http://es:9200/proxy/es/_bulk\"}");
	CHECK_STR(conf.v[0].path, "http://es:9200/proxy/es/_bulk");
	GOOD("{\"type\": \"elasticsearch\", \"url\": \"https://es/a.b_c+d?pipeline=p\"}");
	CHECK_STR(conf.v[0].path, "https://es/a.b_c+d/_bulk?pipeline=p");
	BAD("key \"url\"", "names no index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es\"}");
	BAD("key \"url\"", "names no index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es:9200/\"}");
	BAD("key \"url\"", "\"/_bulk\" names no index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es:9200/_bulk\"}");
	BAD("key \"url\"", "\"Logs\" is not an index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es/Logs\"}");
	BAD("key \"url\"", "\"a/b\" is not an index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es/a/b\"}");
	BAD("key \"url\"", "\"_x\" is not an index",
	    "{\"type\": \"elasticsearch\", \"url\": \"http://es/_x\"}");

	BAD("key \"url\"", "credentials go in token_file or token_env",
	    "{\"type\": \"http\", \"url\": \"https://user:pw@h/\"}");
	BAD("key \"url\"", "scheme \"tcp\" does not fit http",
	    "{\"type\": \"http\", \"url\": \"tcp://h:1\"}");
	BAD("key \"url\"", "has no host", "{\"type\": \"http\", \"url\": \"https:///x\"}");
	BAD("key \"url\"", "port 0", "{\"type\": \"http\", \"url\": \"http://h:0/\"}");
	BAD("key \"url\"", "a space", "{\"type\": \"http\", \"url\": \"http://h/a b\"}");
	BAD("key \"url\"", "a control character",
	    "{\"type\": \"http\", \"url\": \"http://h/\\r\\n\"}");
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = 0;
	memcpy(longurl, "http://h/", 9);
	BAD("key \"url\"", "longer than 2048 bytes", "{\"type\": \"http\", \"url\": \"%s\"}",
	    longurl);
	longurl[2048] = 0;
	GOOD("{\"type\": \"http\", \"url\": \"%s\"}", longurl);
}

static void test_url_file(void)
{
	GOOD("{\"type\": \"file\", \"url\": \"file:///var/log/mlwatch/out.json\"}");
	CHECK_STR(conf.v[0].path, "/var/log/mlwatch/out.json");
	CHECK_STR(conf.v[0].url, "file:///var/log/mlwatch/out.json");
	/* the plain path form takes any name */
	GOOD("{\"type\": \"file\", \"url\": \"/var/log/a b/\xc3\xa9%%20.json\"}");
	CHECK_STR(conf.v[0].path, "/var/log/a b/\xc3\xa9%20.json");
	BAD("key \"url\"", "expected file:///ABSOLUTE/PATH or /ABSOLUTE/PATH",
	    "{\"type\": \"file\", \"url\": \"out.json\"}");
	BAD("key \"url\"", "no host", "{\"type\": \"file\", \"url\": \"file://host/x\"}");
	BAD("key \"url\"", "no host", "{\"type\": \"file\", \"url\": \"file:/x\"}");
	BAD("key \"url\"", "a space", "{\"type\": \"file\", \"url\": \"file:///a b\"}");
	BAD("key \"url\"", "ends in '/'", "{\"type\": \"file\", \"url\": \"/var/log/\"}");
	BAD("key \"url\"", "control character", "{\"type\": \"file\", \"url\": \"/a\\nb\"}");
	BAD("key \"url\"", "not valid UTF-8", "{\"type\": \"file\", \"url\": \"/a\xff\"}");
	BAD("key \"url\"", "expected file:///", "{\"type\": \"file\", \"url\": \"http://h/x\"}");
}

/* ---- records ------------------------------------------------------ */

static void test_records(void)
{
	GOOD("{" SYSLOG ", \"records\": [\"alert\"]}");
	CHECK(conf.v[0].records == REC_ALERT);
	GOOD("{" SYSLOG ", \"records\": [\"health\", \"inventory\", \"incident\", \"alert\"]}");
	CHECK(conf.v[0].records == REC_ALL);
	GOOD("{" SYSLOG ", \"records\": [\"incident\", \"health\"]}");
	CHECK(conf.v[0].records == (REC_INCIDENT | REC_HEALTH));
	BAD("key \"records\"", "an empty array", "{" SYSLOG ", \"records\": []}");
	BAD("key \"records\"", "got a string", "{" SYSLOG ", \"records\": \"alert\"}");
	BAD("key \"records\"", "records[1] \"alert\" is listed twice",
	    "{" SYSLOG ", \"records\": [\"alert\", \"alert\"]}");
	BAD("key \"records\"", "records[0] \"alerts\" is not a record kind (alert, incident",
	    "{" SYSLOG ", \"records\": [\"alerts\"]}");
	BAD("key \"records\"", "records[1] is a number",
	    "{" SYSLOG ", \"records\": [\"alert\", 1]}");
}

/* ---- tokens ------------------------------------------------------- */

/* Runs one() with stderr in a file; returns what was written there. */
static const char *stderr_of(int *rc, const char *obj)
{
	static char buf[4096];
	const char *path = at("stderr.txt");
	int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	*rc = one("%s", obj);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static void test_token_file(void)
{
	char big[9000], obj[1024];
	const char *tok, *warn;
	int rc;

	tok = put("tok", "abc-123\n", 0600);
	GOOD("{" HEC_URL ", \"token_file\": \"%s\"}", tok);
	CHECK_STR(conf.v[0].token, "abc-123");
	CHECK(conf.v[0].token_from &&
	      strstr(conf.v[0].token_from, "file ") == conf.v[0].token_from);
	tok = put("tok", "abc-123\r\n", 0600);
	GOOD("{" HEC_URL ", \"token_file\": \"%s\"}", tok);
	CHECK_STR(conf.v[0].token, "abc-123");
	tok = put("tok", "no-newline", 0600);
	GOOD("{\"type\": \"elasticsearch\", \"url\": \"https://es/i\", \"token_file\": \"%s\"}",
	     tok);
	CHECK_STR(conf.v[0].token, "no-newline");
	GOOD("{\"type\": \"http\", \"url\": \"https://h/\", \"token_file\": \"%s\"}", tok);
	CHECK_STR(conf.v[0].token, "no-newline");

	BAD("key \"token_file\"", "No such file", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    at("missing"));
	BAD("key \"token_file\"", "is empty", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("empty", "", 0600));
	BAD("key \"token_file\"", "is empty", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("nl", "\n", 0600));
	BAD("key \"token_file\"", "is a directory, not a regular file",
	    "{" HEC_URL ", \"token_file\": \"%s\"}", dir);
	unlink(at("fifo"));
	CHECK(mkfifo(at("fifo"), 0600) == 0);
	BAD("key \"token_file\"", "is a FIFO", "{" HEC_URL ", \"token_file\": \"%s\"}", at("fifo"));
	BAD("key \"token_file\"", "is a device", "{" HEC_URL ", \"token_file\": \"/dev/null\"}");
	BAD("key \"token_file\"", "more than one line", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("two", "line-one\nline-two\n", 0600));
	BAD("key \"token_file\"", "a control character at byte 3",
	    "{" HEC_URL ", \"token_file\": \"%s\"}", put("ctl", "abc\x01z", 0600));
	BAD("key \"token_file\"", "a space", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("sp", "Bearer xyz", 0600));
	BAD("key \"token_file\"", "is writable by others", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("ww", "abc", 0606));
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	BAD("key \"token_file\"", "more than 8192 bytes", "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("big", big, 0600));
	big[8192] = 0;
	GOOD("{" HEC_URL ", \"token_file\": \"%s\"}", put("big", big, 0600));
	CHECK(conf.n == 1 && strlen(conf.v[0].token) == 8192);
	BAD("key \"token_file\"", "not an absolute path", "{" HEC_URL ", \"token_file\": \"tok\"}");
	/* the token never appears in a message */
	BAD("key \"token_file\"", NULL, "{" HEC_URL ", \"token_file\": \"%s\"}",
	    put("leak", "SeCrEt\x7fSeCrEt", 0600));
	CHECK(!strstr(err, "SeCrEt"));

	/* readable by others: said on stderr, not refused */
	tok = put("tok", "abc", 0644);
	snprintf(obj, sizeof(obj), "{" HEC_URL ", \"token_file\": \"%s\"}", tok);
	warn = stderr_of(&rc, obj);
	CHECK(rc == 0);
	CHECK(strstr(warn, "warning") && strstr(warn, "readable by group or others") &&
	      strstr(warn, "token_file") && !strstr(warn, "abc\n"));
	tok = put("tok", "abc", 0600);
	snprintf(obj, sizeof(obj), "{" HEC_URL ", \"token_file\": \"%s\"}", tok);
	warn = stderr_of(&rc, obj);
	CHECK(rc == 0 && warn[0] == 0);
}

static void test_token_rules(void)
{
	const char *tok = put("tok", "abc", 0600);

	BAD("outputs[0] \"splunk_hec-1\": key \"token_file\"", "missing", "{" HEC_URL "}");
	BAD("key \"token_env\"", "given with token_file",
	    "{" HEC_URL ", \"token_file\": \"%s\", \"token_env\": \"X\"}", tok);
	BAD("key \"token_file\"", "syslog outputs send no token",
	    "{" SYSLOG ", \"token_file\": \"%s\"}", tok);
	BAD("key \"token_env\"", "file outputs send no token",
	    "{\"type\": \"file\", \"url\": \"/f\", \"token_env\": \"HOME\"}");
	GOOD("{\"type\": \"http\", \"url\": \"http://h/\"}");
	CHECK(conf.v[0].token == NULL);
}

static void test_token_env(void)
{
	setenv("MLW_TEST_TOKEN", "env-tok-42", 1);
	GOOD("{" HEC_URL ", \"token_env\": \"MLW_TEST_TOKEN\"}");
	CHECK_STR(conf.v[0].token, "env-tok-42");
	CHECK_STR(conf.v[0].token_from, "environment variable MLW_TEST_TOKEN");
	unsetenv("MLW_TEST_TOKEN_UNSET");
	BAD("key \"token_env\"", "MLW_TEST_TOKEN_UNSET is not set",
	    "{" HEC_URL ", \"token_env\": \"MLW_TEST_TOKEN_UNSET\"}");
	setenv("MLW_TEST_TOKEN", "", 1);
	BAD("key \"token_env\"", "is empty", "{" HEC_URL ", \"token_env\": \"MLW_TEST_TOKEN\"}");
	setenv("MLW_TEST_TOKEN", "a\nSeCrEt", 1);
	BAD("key \"token_env\"", "more than one line",
	    "{" HEC_URL ", \"token_env\": \"MLW_TEST_TOKEN\"}");
	CHECK(!strstr(err, "SeCrEt"));
	BAD("key \"token_env\"", "not an environment variable name",
	    "{" HEC_URL ", \"token_env\": \"1X\"}");
	BAD("key \"token_env\"", "not an environment variable name",
	    "{" HEC_URL ", \"token_env\": \"A=B\"}");
	BAD("key \"token_env\"", "got a number", "{" HEC_URL ", \"token_env\": 5}");
	unsetenv("MLW_TEST_TOKEN");
}

/* ---- TLS files -------------------------------------------------- */

static void test_tls_files(void)
{
	const char *ca = put("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	const char *cert = put("c.pem", "cert", 0644);
	const char *key = put("k.pem", "key", 0600);
	const char *tls = "\"type\": \"syslog\", \"url\": \"tls://h:6514\"";

	GOOD("{%s, \"ca_file\": \"%s\", \"cert_file\": \"%s\", \"key_file\": \"%s\"}", tls, ca,
	     cert, key);
	CHECK_STR(conf.v[0].ca_file, ca);
	CHECK_STR(conf.v[0].cert_file, cert);
	CHECK_STR(conf.v[0].key_file, key);
	GOOD("{\"type\": \"http\", \"url\": \"https://h/\", \"ca_file\": \"%s\", "
	     "\"insecure_skip_verify\": true}",
	     ca);
	CHECK(conf.v[0].insecure_skip_verify && conf.v[0].cert_file == NULL);
	GOOD("{%s, \"insecure_skip_verify\": false}", tls);
	CHECK(!conf.v[0].insecure_skip_verify);

	BAD("key \"ca_file\"", "only for tls:// and https:// URLs",
	    "{\"type\": \"http\", \"url\": \"http://h/\", \"ca_file\": \"%s\"}", ca);
	BAD("key \"ca_file\"", "only for tls:// and https:// URLs",
	    "{\"type\": \"syslog\", \"url\": \"tcp://h:1\", \"ca_file\": \"%s\"}", ca);
	BAD("key \"cert_file\"", "only for tls:// and https:// URLs (this one is a file)",
	    "{\"type\": \"file\", \"url\": \"/f\", \"cert_file\": \"%s\"}", cert);
	BAD("key \"insecure_skip_verify\"", "only for tls:// and https://",
	    "{\"type\": \"syslog\", \"url\": \"udp://h:1\", \"insecure_skip_verify\": true}");
	BAD("key \"insecure_skip_verify\"", "expected true or false, got a string",
	    "{%s, \"insecure_skip_verify\": \"yes\"}", tls);
	BAD("key \"cert_file\"", "without key_file", "{%s, \"cert_file\": \"%s\"}", tls, cert);
	BAD("key \"key_file\"", "without cert_file", "{%s, \"key_file\": \"%s\"}", tls, key);
	BAD("key \"ca_file\"", "No such file", "{%s, \"ca_file\": \"%s\"}", tls, at("nope.pem"));
	BAD("key \"ca_file\"", "is a directory", "{%s, \"ca_file\": \"%s\"}", tls, dir);
	BAD("key \"ca_file\"", "writable by others", "{%s, \"ca_file\": \"%s\"}", tls,
	    put("ww.pem", "x", 0666));
	BAD("key \"key_file\"", "not an absolute path",
	    "{%s, \"cert_file\": \"%s\", \"key_file\": \"k.pem\"}", tls, cert);
}

/* ---- facility and numbers --------------------------------------- */

static void test_facility(void)
{
	static const struct {
		const char *name;
		int code;
	} f[] = { { "kern", 0 },    { "user", 1 },    { "mail", 2 },      { "daemon", 3 },
		  { "auth", 4 },    { "syslog", 5 },  { "lpr", 6 },       { "news", 7 },
		  { "uucp", 8 },    { "cron", 9 },    { "authpriv", 10 }, { "ftp", 11 },
		  { "local0", 16 }, { "local4", 20 }, { "local7", 23 } };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		GOOD("{" SYSLOG ", \"facility\": \"%s\"}", f[i].name);
		CHECK(conf.n == 1 && conf.v[0].facility == f[i].code);
		CHECK_STR(out_facility_name(f[i].code), f[i].name);
	}
	BAD("key \"facility\"", "\"local8\" is not a syslog facility",
	    "{" SYSLOG ", \"facility\": \"local8\"}");
	BAD("key \"facility\"", "got a number", "{" SYSLOG ", \"facility\": 16}");
	BAD("key \"facility\"", "only for syslog outputs",
	    "{\"type\": \"file\", \"url\": \"/f\", \"facility\": \"local0\"}");
}

static void test_numbers(void)
{
	static const struct {
		const char *key;
		unsigned long lo, hi;
	} keys[] = { { "batch", 1, 10000 },
		     { "flush_ms", 10, 60000 },
		     { "timeout_ms", 100, 120000 },
		     { "spool_max_mb", 1, 1048576 } };
	const char *tok = put("tok", "abc", 0600);

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i].key;
		const char *file = "\"type\": \"file\", \"url\": \"/f\"";
		char num[64];

		GOOD("{%s, \"%s\": %lu}", file, k, keys[i].lo);
		GOOD("{%s, \"%s\": %lu}", file, k, keys[i].hi);
		BAD(k, "out of range", "{%s, \"%s\": %lu}", file, k, keys[i].lo - 1);
		BAD(k, "out of range", "{%s, \"%s\": %lu}", file, k, keys[i].hi + 1);
		snprintf(num, sizeof(num), "%lu is out of range", keys[i].hi + 1);
		CHECK(has(num));
		BAD(k, "out of range", "{%s, \"%s\": -1}", file, k);
		BAD(k, "1e+30 is out of range", "{%s, \"%s\": 1e30}", file, k);
		BAD(k, "not a whole number", "{%s, \"%s\": %lu.5}", file, k, keys[i].lo);
		BAD(k, "got a string", "{%s, \"%s\": \"%lu\"}", file, k, keys[i].lo);
		BAD(k, "got true/false", "{%s, \"%s\": true}", file, k);
		BAD(k, "got null", "{%s, \"%s\": null}", file, k);
	}
	GOOD("{" SYSLOG ", \"batch\": 50, \"flush_ms\": 250, \"timeout_ms\": 30000, "
	     "\"spool_max_mb\": 1048576}");
	CHECK(conf.v[0].batch == 50 && conf.v[0].flush_ms == 250 && conf.v[0].timeout_ms == 30000);
	CHECK(conf.v[0].spool_max_bytes == 1ull << 40);
	/* falco over http: one event per POST */
	BAD("key \"batch\"", "falco over http sends one event per POST",
	    "{\"type\": \"http\", \"url\": \"http://h/\", \"format\": \"falco\", \"batch\": 2}");
	GOOD("{\"type\": \"http\", \"url\": \"http://h/\", \"format\": \"falco\", \"batch\": 1}");
	GOOD("{" HEC_URL ", \"token_file\": \"%s\", \"format\": \"falco\", \"batch\": 50}", tok);
	CHECK(conf.v[0].batch == 50);
}

static void test_spool_dir(void)
{
	GOOD("{\"name\": \"s\", " SYSLOG ", \"spool_dir\": \"/srv/spool/\"}");
	CHECK_STR(conf.v[0].spool_dir, "/srv/spool/s");
	GOOD("{\"name\": \"s\", " SYSLOG ", \"spool_dir\": \"/\"}");
	CHECK_STR(conf.v[0].spool_dir, "/s");
	BAD("key \"spool_dir\"", "not an absolute path", "{" SYSLOG ", \"spool_dir\": \"spool\"}");
	BAD("key \"spool_dir\"", "control character", "{" SYSLOG ", \"spool_dir\": \"/a\\nb\"}");
	BAD("key \"spool_dir\"", "is empty", "{" SYSLOG ", \"spool_dir\": \"\"}");
	BAD("key \"spool_dir\"", "got an object", "{" SYSLOG ", \"spool_dir\": {}}");
}

/* ---- structure ---------------------------------------------------- */

static void test_unknown_keys(void)
{
	CHECK(parse_text("{\"outputs\": [{" SYSLOG "}], \"version\": 1}") == -1);
	CHECK(has("outputs.json: key \"version\": not a key at the top level"));
	CHECK(parse_text("{\"output\": []}") == -1);
	CHECK(has("key \"output\": not a key at the top level (expected only \"outputs\")"));
	BAD("outputs[0] \"syslog-1\": key \"forma\": not a key of an output (expected name, type, url",
	    NULL, "{" SYSLOG ", \"forma\": \"cef\"}");
	BAD("outputs[0]: key \"Type\": not a key", NULL, "{\"Type\": \"syslog\"}");
	/* the output is named even when the bad key comes first */
	BAD("outputs[0] \"x\": key \"bogus\": not a key", NULL,
	    "{\"bogus\": 1, \"name\": \"x\", " SYSLOG "}");
	BAD("outputs[0]: key \"bogus\"", NULL, "{\"bogus\": 1, \"name\": \"x/y\", " SYSLOG "}");
}

static void test_duplicates(void)
{
	BAD("key \"url\": appears twice", NULL, "{" SYSLOG ", \"url\": \"udp://other:514\"}");
	BAD("key \"name\": appears twice", NULL, "{\"name\": \"a\", \"name\": \"b\", " SYSLOG "}");
	CHECK(parse_text("{\"outputs\": [{" SYSLOG "}], \"outputs\": []}") == -1);
	CHECK(has("key \"outputs\": appears twice"));
}

static void test_structure(void)
{
	char many[8192];
	size_t o = 0;

	CHECK(parse_text("[]") == -1 &&
	      has("expected an object {\"outputs\": [...]}, got an array"));
	CHECK(parse_text("{}") == -1 && has("key \"outputs\": missing"));
	CHECK(parse_text("{\"outputs\": {}}") == -1 && has("expected an array of outputs"));
	CHECK(parse_text("{\"outputs\": []}") == -1 && has("0 outputs (expected 1 to 32)"));
	CHECK(parse_text("{\"outputs\": [\"syslog\"]}") == -1 &&
	      has("outputs[0]: expected an object, got a string"));
	o += (size_t)snprintf(many + o, sizeof(many) - o, "{\"outputs\": [");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s{" SYSLOG "}", i ? "," : "");
	snprintf(many + o, sizeof(many) - o, "]}");
	CHECK(parse_text(many) == -1 && has("33 outputs (expected 1 to 32)"));
	/* 32 is fine */
	o = (size_t)snprintf(many, sizeof(many), "{\"outputs\": [");
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s{" SYSLOG "}", i ? "," : "");
	snprintf(many + o, sizeof(many) - o, "]}");
	CHECK(parse_text(many) == 0 && conf.n == 32);
}

static void test_bad_json(void)
{
	CHECK(parse_text("{\"outputs\": [\n  {\"type\": \"syslog\",,}\n]}") == -1);
	CHECK(has("outputs.json: line 2, column") && has("invalid JSON near"));
	CHECK(parse_text("") == -1 && has("empty file"));
	CHECK(parse_text("  \n ") == -1 && has("empty file"));
	CHECK(parse_text("{\"outputs\": [{" SYSLOG "}]} {}") == -1 &&
	      has("text after the end of the object"));
	CHECK(parse_text(
		      "{\"outputs\": [{\"type\": \"syslog\", \"url\": \"udp://h:1\\u0000x\"}]}") ==
		      -1 &&
	      has("escaped NUL character"));
	CHECK(outputs_conf_parse("{\"outputs\"\0: []}", 16, "o.json", &conf, err, sizeof(err)) ==
		      -1 &&
	      has("o.json: line 1, column 11: a NUL byte"));
	/* a hostile key cannot forge a line */
	CHECK(parse_text("{\"outputs\": [{\"x\\ny\": 1}]}") == -1);
	CHECK(!strchr(err, '\n') && has("x\\ny"));
}

static void test_load(void)
{
	char big[(1 << 20) + 64];
	const char *good = put("good.json", "{\"outputs\": [{" SYSLOG "}]}\n", 0600);

	CHECK(outputs_conf_load(good, &conf, err, sizeof(err)) == 0 && conf.n == 1);
	outputs_conf_free(&conf);
	CHECK(outputs_conf_load(at("missing.json"), &conf, err, sizeof(err)) == -1);
	CHECK(has("missing.json"));
	/* whoever can write it chooses where records go */
	CHECK(outputs_conf_load(put("ww.json", "{}", 0666), &conf, err, sizeof(err)) == -1);
	CHECK(has("ww.json") && has("writable"));
	unlink(at("link.json"));
	CHECK(symlink(good, at("link.json")) == 0);
	CHECK(outputs_conf_load(at("link.json"), &conf, err, sizeof(err)) == -1);
	CHECK(has("link.json"));
	CHECK(outputs_conf_load(put("bad.json", "{\"outputs\": [{\"type\": \"x\"}]}", 0600), &conf,
				err, sizeof(err)) == -1);
	CHECK(has(at("bad.json")) && has(": outputs[0]: key \"type\""));
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "{\"outputs\": [{" SYSLOG "}]}", strlen("{\"outputs\": [{" SYSLOG "}]}"));
	CHECK(outputs_conf_load(put("big.json", big, 0600), &conf, err, sizeof(err)) == -1);
	CHECK(has("file too large"));
	CHECK(conf.v == NULL);
}

static void cleanup(void)
{
	static const char *const names[] = {
		"tok",       "empty",   "nl",        "fifo",     "two",      "ctl",        "sp",
		"ww",        "big",     "leak",      "ca.pem",   "c.pem",    "k.pem",      "ww.pem",
		"good.json", "ww.json", "link.json", "bad.json", "big.json", "stderr.txt",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(at(names[i]));
	rmdir(dir);
}

int main(void)
{
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_defaults_per_type);
	RUN(test_several_outputs);
	RUN(test_name);
	RUN(test_name_unique);
	RUN(test_type);
	RUN(test_format);
	RUN(test_url_syslog);
	RUN(test_url_http);
	RUN(test_url_file);
	RUN(test_records);
	RUN(test_token_file);
	RUN(test_token_rules);
	RUN(test_token_env);
	RUN(test_tls_files);
	RUN(test_facility);
	RUN(test_numbers);
	RUN(test_spool_dir);
	RUN(test_unknown_keys);
	RUN(test_duplicates);
	RUN(test_structure);
	RUN(test_bad_json);
	RUN(test_load);
	outputs_conf_free(&conf);
	cleanup();
	rc = CHECK_DONE();
	return rc;
}
