/* Rules files: JSON in, a checked and merged struct ruleset out. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pathclass.h"
#include "rulefile.h"
#include "lib/jsontext.h"
#include "lib/safeopen.h"
#include "lib/textsan.h"

#define KIND(k) (1u << (k))
#define K_EXEC KIND(MLW_EV_EXEC)
#define K_OPEN KIND(MLW_EV_OPEN)
#define K_CONNECT KIND(MLW_EV_CONNECT)
#define K_DUP KIND(MLW_EV_DUP)
#define K_SEND KIND(MLW_EV_SEND)
#define K_LINK KIND(MLW_EV_LINK)
#define K_SOCKET KIND(MLW_EV_SOCKET)
#define K_PYTHON KIND(MLW_EV_PYTHON)
#define K_ALL (K_EXEC | K_OPEN | K_CONNECT | K_DUP | K_SEND | K_LINK | K_SOCKET | K_PYTHON)

#define RULE_TITLE_MAX 200
#define RULE_WINDOW_MAX 315360000u /* ten years, in seconds */
/* Values quoted in messages are cut here: a message is one readable line. */
#define QUOTE_MAX 60
/* Field paths: an entry of a list ("allow[3]"), a field of it
 * ("allow[3].exe"), an element of that ("allow[3].exe[1]"). */
#define ENTRY_LEN 128
#define FIELD_LEN 160
#define ELEM_LEN 200

/* ---- messages ------------------------------------------------------- */

void rule_errors_init(struct rule_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void rule_errors_free(struct rule_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	memset(e, 0, sizeof(*e));
}

void rule_errors_print(const struct rule_errors *e, FILE *f)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->msgs[i]);
	if (e->dropped)
		fprintf(f, "... and %zu more errors\n", e->dropped);
}

static void errors_add(struct rule_errors *e, const char *msg)
{
	char *copy;

	if (!e)
		return;
	if (e->n >= RULE_ERRORS_MAX) {
		e->dropped++;
		return;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		char **m = realloc(e->msgs, cap * sizeof(*m));

		if (!m) {
			e->dropped++;
			return;
		}
		e->msgs = m;
		e->cap = cap;
	}
	copy = strdup(msg);
	if (!copy) {
		e->dropped++;
		return;
	}
	e->msgs[e->n++] = copy;
}

/* ---- arena: everything a ruleset points to, freed at once ---------- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
};

#define ARENA_BLOCK (64 * 1024)

static void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct arena_block *b = a->head;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = n ? (n + align - 1) & ~(align - 1) : align;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a && a->head) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
	free(a);
}

/* ---- parser state --------------------------------------------------- */

struct parser {
	const char *name; /* the file, first in every message */
	struct rule_errors *errs;
	size_t n_err;
	bool oom;
	struct arena *mem;
	char where[RULE_ID_MAX + 16]; /* rule "id", rules[3], or "" */
};

static void perr(struct parser *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole line is escaped once: a hostile value (a newline, invalid
 * UTF-8) quoted in a message cannot forge another line. */
static void perr(struct parser *p, const char *field, const char *fmt, ...)
{
	char msg[512], line[1024], safe[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s%s%s%s%s", p->name, p->where, *p->where ? ": " : "",
		 field, *field ? ": " : "", msg);
	text_escape(line, strlen(line), safe, sizeof(safe));
	p->n_err++;
	errors_add(p->errs, safe);
}

static void *palloc(struct parser *p, size_t n)
{
	void *r = arena_alloc(p->mem, n);

	if (!r && !p->oom) {
		p->oom = true;
		perr(p, "", "out of memory");
	}
	return r;
}

static const char *pstrdup(struct parser *p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = palloc(p, n);

	if (r)
		memcpy(r, s, n);
	return r;
}

/* A value for a message: quoted by the caller, cut to QUOTE_MAX. */
static const char *clip(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (n < len && n <= QUOTE_MAX)
		return s;
	snprintf(buf, len, "%.*s...", QUOTE_MAX, s);
	return buf;
}

static const char *type_name(const cJSON *it)
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

static bool valid_utf8(const char *s)
{
	size_t n = strlen(s);
	char small[256], *buf = n * 3 + 1 <= sizeof(small) ? small : malloc(n * 3 + 1);
	bool ok;

	if (!buf)
		return false;
	ok = !utf8_sanitize(s, n, buf, n * 3 + 1);
	if (buf != small)
		free(buf);
	return ok;
}

/* ---- names ---------------------------------------------------------- */

struct name {
	const char *name;
	unsigned value;
};

static const struct name kind_names[] = {
	{ "exec", MLW_EV_EXEC },     { "connect", MLW_EV_CONNECT }, { "open", MLW_EV_OPEN },
	{ "dup", MLW_EV_DUP },       { "send", MLW_EV_SEND },       { "link", MLW_EV_LINK },
	{ "socket", MLW_EV_SOCKET }, { "python", MLW_EV_PYTHON },
};
static const struct name dest_names[] = {
	{ "loopback", DEST_LOOPBACK },
	{ "internal", DEST_INTERNAL },
	{ "external", DEST_EXTERNAL },
	{ "metadata", DEST_METADATA },
};
static const struct name severity_names[] = {
	{ "low", SEV_LOW },
	{ "medium", SEV_MEDIUM },
	{ "high", SEV_HIGH },
	{ "critical", SEV_CRITICAL },
};
static const struct name scope_names[] = {
	{ "model", RULE_SCOPE_MODEL },       { "root", RULE_SCOPE_ROOT },
	{ "notebook", RULE_SCOPE_NOTEBOOK }, { "python", RULE_SCOPE_PYTHON },
	{ "any", RULE_SCOPE_ANY },
};
static const struct name action_names[] = {
	{ "alert", RULE_ACTION_ALERT },
	{ "kill", RULE_ACTION_KILL },
	{ "record", RULE_ACTION_RECORD },
};
static const struct name load_names[] = {
	{ "during", RULE_LOAD_DURING },
	{ "after", RULE_LOAD_AFTER },
};
static const struct name open_names[] = {
	{ "read", RULE_OPEN_READ },
	{ "write", RULE_OPEN_WRITE },
};
static const struct name path_class_names[] = {
	{ "credential", RULE_PATH_CREDENTIAL },
	{ "persistence", RULE_PATH_PERSISTENCE },
};
#define NAMES(t) (t), sizeof(t) / sizeof((t)[0])

static int name_find(const struct name *t, size_t n, const char *s, unsigned *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, s) == 0) {
			*out = t[i].value;
			return 0;
		}
	return -1;
}

static const char *name_of(const struct name *t, size_t n, unsigned v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return "?";
}

/* "a, b, c" */
static const char *name_list(const struct name *t, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", t[i].name);
	return buf;
}

/* Exec classes are named by pathclass.c (exec_class_names), the one list. */
static int exec_class_find(const char *s, unsigned *bit)
{
	char buf[64];

	for (unsigned b = 0; b < 32; b++) {
		exec_class_names(1u << b, buf, sizeof(buf));
		if (buf[0] && strcmp(buf, s) == 0) {
			*bit = 1u << b;
			return 0;
		}
	}
	return -1;
}

static const char *exec_class_list(char *buf, size_t len)
{
	char one[64];
	size_t o = 0;

	buf[0] = 0;
	for (unsigned b = 0; b < 32 && o < len; b++) {
		exec_class_names(1u << b, one, sizeof(one));
		if (one[0])
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", one);
	}
	return buf;
}

/* "exec and open" for the kinds in mask */
static const char *kinds_text(unsigned mask, char *buf, size_t len)
{
	size_t o = 0, n = 0, total = 0;

	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		total += !!(mask & KIND(kind_names[i].value));
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]) && o < len; i++) {
		if (!(mask & KIND(kind_names[i].value)))
			continue;
		n++;
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      n == 1     ? "" :
				      n == total ? " and " :
						   ", ",
				      kind_names[i].name);
	}
	return buf;
}

/* ---- values --------------------------------------------------------- */

/* A string element, valid UTF-8; NULL (reported) otherwise. */
static const char *want_string(struct parser *p, const cJSON *it, const char *field)
{
	if (!cJSON_IsString(it) || !it->valuestring) {
		perr(p, field, "expected a string, got %s", type_name(it));
		return NULL;
	}
	if (!valid_utf8(it->valuestring)) {
		char c[QUOTE_MAX + 4];

		perr(p, field, "\"%s\" is not valid UTF-8", clip(it->valuestring, c, sizeof(c)));
		return NULL;
	}
	return it->valuestring;
}

static bool want_array(struct parser *p, const cJSON *it, const char *field)
{
	if (!cJSON_IsArray(it)) {
		perr(p, field, "expected an array, got %s", type_name(it));
		return false;
	}
	if (!it->child) {
		perr(p, field, "empty list (leave the field out instead)");
		return false;
	}
	return true;
}

static int want_bool(struct parser *p, const cJSON *it, const char *field)
{
	if (!cJSON_IsBool(it)) {
		perr(p, field, "expected true or false, got %s", type_name(it));
		return -1;
	}
	return cJSON_IsTrue(it);
}

/* One name of table t; what names the table in messages ("severity"). */
static int want_name(struct parser *p, const cJSON *it, const char *field, const char *what,
		     const struct name *t, size_t n, unsigned *out)
{
	char list[256], c[QUOTE_MAX + 4];
	const char *s = want_string(p, it, field);

	if (!s)
		return -1;
	if (name_find(t, n, s, out) == 0)
		return 0;
	perr(p, field, "unknown %s \"%s\" (expected %s)", what, clip(s, c, sizeof(c)),
	     name_list(t, n, list, sizeof(list)));
	return -1;
}

/* A list of names, or-ed into *bits as (1u << value) (shift) or value. */
static void want_names(struct parser *p, const cJSON *it, const char *field, const char *what,
		       const struct name *t, size_t n, bool shift, unsigned *bits)
{
	size_t i = 0;
	const cJSON *el;

	if (!want_array(p, it, field))
		return;
	cJSON_ArrayForEach(el, it) {
		char f[ELEM_LEN];
		unsigned v;

		snprintf(f, sizeof(f), "%s[%zu]", field, i++);
		if (want_name(p, el, f, what, t, n, &v) == 0)
			*bits |= shift ? 1u << v : v;
	}
}

/* A whole number in [lo, hi] */
static bool whole_in(const cJSON *it, double lo, double hi)
{
	double d = it->valuedouble;

	return cJSON_IsNumber(it) && d >= lo && d <= hi && d == (double)(long long)d;
}

/* ---- patterns ------------------------------------------------------- */

enum list_kind { LIST_PATH, LIST_EXE, LIST_ARGV, LIST_SUBSTR };

/* What fnmatch would quietly read another way, or NULL. */
static const char *glob_problem(const char *s)
{
	for (const char *c = s; *c; c++) {
		if (*c == '\\') {
			if (!c[1])
				return "ends with a lone backslash";
			c++;
		} else if (*c == '[') {
			const char *e = c + 1;

			if (*e == '!' || *e == '^')
				e++;
			if (*e == ']')
				e++; /* a leading ']' is a member */
			while (*e && *e != ']')
				e++;
			if (!*e)
				return "has an unterminated \"[\" (\"[[]\" matches a bracket)";
			c = e;
		}
	}
	return NULL;
}

static const char *pattern_problem(const char *s, enum list_kind k)
{
	if (!*s)
		return k == LIST_SUBSTR ? "empty substring (it would match everything)" :
					  "empty pattern (use \"*\" to match everything)";
	if (strlen(s) > RULE_PATTERN_MAX)
		return "is longer than 4096 bytes";
	if (k == LIST_PATH && !strchr("/*?[", s[0]))
		return "is not absolute: a path pattern starts with \"/\" or a wildcard";
	if (k == LIST_EXE && strchr(s, '/'))
		return "is a path: exe takes program names (match paths with \"path\")";
	return k == LIST_SUBSTR ? NULL : glob_problem(s);
}

static void want_patterns(struct parser *p, const cJSON *it, const char *field, enum list_kind k,
			  struct pattern_list *out)
{
	size_t n = 0, i = 0;
	struct pattern *v;
	const cJSON *el;

	if (!want_array(p, it, field))
		return;
	n = (size_t)cJSON_GetArraySize(it);
	v = palloc(p, n * sizeof(*v));
	if (!v)
		return;
	n = 0;
	cJSON_ArrayForEach(el, it) {
		char f[ELEM_LEN], c[QUOTE_MAX + 4];
		const char *s, *why;

		snprintf(f, sizeof(f), "%s[%zu]", field, i++);
		if (!(s = want_string(p, el, f)))
			continue;
		if ((why = pattern_problem(s, k))) {
			perr(p, f, "\"%s\" %s", clip(s, c, sizeof(c)), why);
			continue;
		}
		if (!(v[n].text = pstrdup(p, s)))
			return;
		if (k == LIST_SUBSTR) {
			v[n].kind = PAT_CONTAINS;
			v[n].lit = v[n].text;
			v[n].lit_len = strlen(v[n].text);
		} else {
			pattern_compile(&v[n]);
		}
		n++;
	}
	out->v = v;
	out->n = n;
}

/* ---- networks ------------------------------------------------------- */

static void want_cidrs(struct parser *p, const cJSON *it, const char *field, struct rule_filter *m)
{
	struct cidr *v;
	size_t n = 0, i = 0;
	const cJSON *el;

	if (!want_array(p, it, field))
		return;
	v = palloc(p, (size_t)cJSON_GetArraySize(it) * sizeof(*v));
	if (!v)
		return;
	cJSON_ArrayForEach(el, it) {
		char f[ELEM_LEN], err[160];
		const char *s;

		snprintf(f, sizeof(f), "%s[%zu]", field, i++);
		if (!(s = want_string(p, el, f)))
			continue;
		if (cidr_parse(s, &v[n], err, sizeof(err)) < 0) {
			perr(p, f, "%s", err);
			continue;
		}
		n++;
	}
	m->cidrs = v;
	m->n_cidrs = n;
}

/* "8000-8100": digits only, so "+80", " 80" and "0x50" are refused. */
static int port_range_parse(const char *s, struct port_range *r)
{
	unsigned long v[2] = { 0, 0 };
	int part = 0, digits = 0;

	for (const char *c = s;; c++) {
		if (*c >= '0' && *c <= '9') {
			if (++digits > 5)
				return -1;
			v[part] = v[part] * 10 + (unsigned long)(*c - '0');
		} else if ((*c == '-' && part == 0) || *c == 0) {
			if (!digits)
				return -1;
			if (*c == 0)
				break;
			part = 1;
			digits = 0;
		} else {
			return -1;
		}
	}
	if (part != 1)
		return -1;
	if (v[0] > 65535 || v[1] > 65535)
		return -2;
	if (v[0] > v[1])
		return -3;
	r->lo = (uint16_t)v[0];
	r->hi = (uint16_t)v[1];
	return 0;
}

static void want_ports(struct parser *p, const cJSON *it, const char *field, struct rule_filter *m)
{
	struct port_range *v;
	size_t n = 0, i = 0;
	const cJSON *el;

	if (!want_array(p, it, field))
		return;
	v = palloc(p, (size_t)cJSON_GetArraySize(it) * sizeof(*v));
	if (!v)
		return;
	cJSON_ArrayForEach(el, it) {
		char f[ELEM_LEN], c[QUOTE_MAX + 4];

		snprintf(f, sizeof(f), "%s[%zu]", field, i++);
		if (cJSON_IsNumber(el)) {
			if (!whole_in(el, 0, 65535)) {
				perr(p, f, "port %g out of range (a whole number from 0 to 65535)",
				     el->valuedouble);
				continue;
			}
			v[n].lo = v[n].hi = (uint16_t)el->valuedouble;
			n++;
		} else if (cJSON_IsString(el) && el->valuestring) {
			const char *s = clip(el->valuestring, c, sizeof(c));

			switch (port_range_parse(el->valuestring, &v[n])) {
			case 0:
				n++;
				break;
			case -2:
				perr(p, f, "port range \"%s\" out of range (0-65535)", s);
				break;
			case -3:
				perr(p, f, "port range \"%s\" is backwards (low-high)", s);
				break;
			default:
				perr(p, f, "\"%s\" is not a port range such as \"8000-8100\"", s);
				break;
			}
		} else {
			perr(p, f, "expected a port number or a \"low-high\" string, got %s",
			     type_name(el));
		}
	}
	m->ports = v;
	m->n_ports = n;
}

/* ---- objects -------------------------------------------------------- */

/* Index of key in keys, or -1 (reported with the expected keys). Each
 * known key at most once: cJSON keeps both copies of a repeated key and a
 * lookup would silently use the first. */
static int key_index(struct parser *p, const cJSON *it, const char *field, const char *const *keys,
		     size_t n, unsigned *seen)
{
	char f[FIELD_LEN], list[320], c[QUOTE_MAX + 4];
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(it->string, keys[i]) != 0)
			continue;
		snprintf(f, sizeof(f), "%s%s%s", field, *field ? "." : "", keys[i]);
		if (*seen & (1u << i)) {
			perr(p, f, "duplicate key");
			return -1;
		}
		*seen |= 1u << i;
		return (int)i;
	}
	list[0] = 0;
	for (size_t i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", keys[i]);
	perr(p, field, "unknown key \"%s\" (expected %s)", clip(it->string, c, sizeof(c)), list);
	return -1;
}

static bool want_object(struct parser *p, const cJSON *it, const char *field)
{
	if (cJSON_IsObject(it))
		return true;
	perr(p, field, "expected an object, got %s", type_name(it));
	return false;
}

enum filter_use { FILTER_MATCH, FILTER_EXCEPT, FILTER_ALLOW };

enum filter_key {
	FK_KIND,
	FK_EXEC_CLASS,
	FK_EXEC_CLASS_NOT,
	FK_EXE,
	FK_PATH,
	FK_ARGV,
	FK_ARGV_CONTAINS,
	FK_DEST,
	FK_CIDR,
	FK_PORT,
	FK_OPEN,
	FK_PATH_CLASS,
	FK_DROPPED,
	FK_RUNTIME,
	FK_LOAD,
	FK_AUDIT,
	FK_ARGS,
	FK_FAILED_TOO,
	FK_COUNT, /* failed_too last: match only */
};
static const char *const filter_keys[FK_COUNT] = {
	"kind",          "exec_class", "exec_class_not", "exe",   "path", "argv",
	"argv_contains", "dest",       "cidr",           "port",  "open", "path_class",
	"dropped",       "runtime",    "load",           "audit", "args", "failed_too",
};
/* The event kinds each condition can hold for. */
static const unsigned filter_key_kinds[FK_COUNT] = {
	[FK_KIND] = K_ALL,
	[FK_EXEC_CLASS] = K_EXEC,
	[FK_EXEC_CLASS_NOT] = K_EXEC,
	[FK_EXE] = K_ALL,
	[FK_PATH] = K_EXEC | K_OPEN | K_LINK,
	[FK_ARGV] = K_EXEC,
	[FK_ARGV_CONTAINS] = K_EXEC,
	[FK_DEST] = K_CONNECT | K_SEND | K_DUP | K_PYTHON,
	[FK_CIDR] = K_CONNECT | K_SEND | K_DUP,
	[FK_PORT] = K_CONNECT | K_SEND | K_DUP,
	[FK_OPEN] = K_OPEN | K_LINK,
	[FK_PATH_CLASS] = K_OPEN | K_LINK,
	[FK_FAILED_TOO] = K_OPEN | K_CONNECT | K_SEND | K_LINK | K_SOCKET,
	[FK_DROPPED] = K_EXEC,
	[FK_RUNTIME] = K_CONNECT | K_SEND,
	[FK_LOAD] = K_CONNECT | K_SEND,
	[FK_AUDIT] = K_PYTHON,
	[FK_ARGS] = K_PYTHON,
};

static void want_kinds(struct parser *p, const cJSON *it, const char *field, unsigned *kinds)
{
	unsigned v;

	if (cJSON_IsString(it)) {
		if (want_name(p, it, field, "event kind", NAMES(kind_names), &v) == 0)
			*kinds |= KIND(v);
		return;
	}
	if (!cJSON_IsArray(it)) {
		perr(p, field,
		     "expected an event kind (exec, open, connect, send, dup, link, socket, "
		     "python), "
		     "or a list of them, got %s",
		     type_name(it));
		return;
	}
	want_names(p, it, field, "event kind", NAMES(kind_names), true, kinds);
}

static void want_exec_classes(struct parser *p, const cJSON *it, const char *field, unsigned *bits)
{
	size_t i = 0;
	const cJSON *el;

	if (!want_array(p, it, field))
		return;
	cJSON_ArrayForEach(el, it) {
		char f[ELEM_LEN], list[320], c[QUOTE_MAX + 4];
		const char *s;
		unsigned b;

		snprintf(f, sizeof(f), "%s[%zu]", field, i++);
		if (!(s = want_string(p, el, f)))
			continue;
		if (exec_class_find(s, &b) == 0)
			*bits |= b;
		else
			perr(p, f, "unknown exec class \"%s\" (expected %s)", clip(s, c, sizeof(c)),
			     exec_class_list(list, sizeof(list)));
	}
}

/*
 * A match, an exception or an allowlist entry. Conditions for event kinds
 * the filter cannot see are errors: they could never hold, and a rule that
 * silently never fires is the failure this format is meant to prevent.
 */
static void parse_filter(struct parser *p, const cJSON *obj, const char *field, enum filter_use use,
			 struct rule_filter *m, bool *failed_too)
{
	size_t nkeys = use == FILTER_MATCH ? FK_COUNT : FK_COUNT - 1;
	unsigned seen = 0, used = 0;
	size_t err0 = p->n_err;
	const cJSON *it;

	if (!want_object(p, obj, field))
		return;
	cJSON_ArrayForEach(it, obj) {
		char f[FIELD_LEN];
		int k = key_index(p, it, field, filter_keys, nkeys, &seen);
		unsigned v = 0;

		if (k < 0)
			continue;
		snprintf(f, sizeof(f), "%s.%s", field, filter_keys[k]);
		switch ((enum filter_key)k) {
		case FK_KIND:
			want_kinds(p, it, f, &m->kinds);
			break;
		case FK_EXEC_CLASS:
			want_exec_classes(p, it, f, &m->exec_any);
			break;
		case FK_EXEC_CLASS_NOT:
			want_exec_classes(p, it, f, &m->exec_none);
			break;
		case FK_EXE:
			want_patterns(p, it, f, LIST_EXE, &m->exe);
			break;
		case FK_PATH:
			want_patterns(p, it, f, LIST_PATH, &m->path);
			break;
		case FK_ARGV:
			want_patterns(p, it, f, LIST_ARGV, &m->argv);
			break;
		case FK_ARGV_CONTAINS:
			want_patterns(p, it, f, LIST_SUBSTR, &m->argv_contains);
			break;
		case FK_DEST:
			want_names(p, it, f, "destination class", NAMES(dest_names), true,
				   &m->dest_any);
			break;
		case FK_CIDR:
			want_cidrs(p, it, f, m);
			break;
		case FK_PORT:
			want_ports(p, it, f, m);
			break;
		case FK_OPEN:
			if (want_name(p, it, f, "open mode", NAMES(open_names), &v) == 0)
				m->open = (enum rule_open)v;
			break;
		case FK_PATH_CLASS:
			want_names(p, it, f, "path class", NAMES(path_class_names), false,
				   &m->path_class);
			break;
		case FK_FAILED_TOO: {
			int b = want_bool(p, it, f);

			if (b >= 0)
				*failed_too = b;
			if (b <= 0)
				continue; /* false asks for nothing */
			break;
		}
		case FK_DROPPED: {
			int b = want_bool(p, it, f);

			if (b >= 0)
				m->dropped = b;
			if (b <= 0)
				continue; /* false asks for nothing */
			break;
		}
		case FK_RUNTIME: {
			int b = want_bool(p, it, f);

			if (b >= 0)
				m->runtime = b;
			if (b <= 0)
				continue; /* false asks for nothing */
			break;
		}
		case FK_LOAD:
			if (want_name(p, it, f, "load", NAMES(load_names), &v) == 0)
				m->load = (enum rule_load)v;
			break;
		case FK_AUDIT:
			want_patterns(p, it, f, LIST_ARGV, &m->audit);
			break;
		case FK_ARGS:
			want_patterns(p, it, f, LIST_ARGV, &m->args);
			break;
		case FK_COUNT:
			break;
		}
		if (k != FK_KIND)
			used |= 1u << k;
	}
	if (use == FILTER_MATCH && !(seen & (1u << FK_KIND))) {
		char f[FIELD_LEN];

		snprintf(f, sizeof(f), "%s.kind", field);
		perr(p, f, "missing (exec, open, connect, send, dup, link, socket or python)");
	}
	if (use != FILTER_MATCH && !obj->child)
		perr(p, field, "empty: it would suppress every event");
	if (p->n_err != err0)
		return; /* the checks below would only echo what is reported */
	unsigned can = m->kinds ? m->kinds : K_ALL;
	for (int k = 0; k < FK_COUNT; k++) {
		char f[FIELD_LEN], a[64], b[64];
		unsigned ok = filter_key_kinds[k];

		if (!(used & (1u << k)))
			continue;
		snprintf(f, sizeof(f), "%s.%s", field, filter_keys[k]);
		if (m->kinds && (m->kinds & ~ok)) {
			perr(p, f, "applies to %s events only, not %s",
			     kinds_text(ok, a, sizeof(a)),
			     kinds_text(m->kinds & ~ok, b, sizeof(b)));
		} else if (!(can & ok)) {
			perr(p, f, "applies to %s events only, which the other conditions rule out",
			     kinds_text(ok, a, sizeof(a)));
		}
		can &= ok;
	}
}

/* A list of exceptions or allowlist entries. */
static const struct rule_filter *want_filters(struct parser *p, const cJSON *it, const char *field,
					      enum filter_use use, size_t max, size_t *n_out)
{
	struct rule_filter *v;
	size_t i = 0, n;
	const cJSON *el;
	bool unused;

	*n_out = 0;
	if (!want_array(p, it, field))
		return NULL;
	n = (size_t)cJSON_GetArraySize(it);
	if (n > max) {
		perr(p, field, "%zu entries, at most %zu", n, max);
		return NULL;
	}
	v = palloc(p, n * sizeof(*v));
	if (!v)
		return NULL;
	cJSON_ArrayForEach(el, it) {
		char f[ENTRY_LEN];

		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		parse_filter(p, el, f, use, &v[i], &unused);
		i++;
	}
	*n_out = n;
	return v;
}

/* ---- rules ---------------------------------------------------------- */

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Ids name rules in alerts and logs: a short, plain word. */
static const char *id_problem(const char *s)
{
	size_t n = strlen(s);

	if (!n)
		return "empty";
	if (n > RULE_ID_MAX)
		return "longer than 64 characters";
	for (size_t i = 0; i < n; i++)
		if (!id_char(s[i]))
			return "may hold only letters, digits, '-', '_' and '.'";
	return NULL;
}

/* AML.T0011.000, AML.TA0001, AML.M0001, T1059.004, TA0002, M1038 */
static bool tag_ok(const char *s)
{
	if (strncmp(s, "AML.", 4) == 0)
		s += 4;
	if (s[0] == 'T' && s[1] == 'A')
		s += 2;
	else if (s[0] == 'T' || s[0] == 'M')
		s++;
	else
		return false;
	for (int i = 0; i < 4; i++)
		if (*s < '0' || *s > '9')
			return false;
		else
			s++;
	if (*s == '.') {
		s++;
		for (int i = 0; i < 3; i++)
			if (*s < '0' || *s > '9')
				return false;
			else
				s++;
	}
	return *s == 0;
}

/* C0, DEL, and C1 (U+0080-U+009F, which some terminals obey as escapes) */
static bool has_control(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
			return true;
	return false;
}

enum rule_key {
	RK_ID,
	RK_TITLE,
	RK_SEVERITY,
	RK_TAGS,
	RK_SCOPE,
	RK_WINDOW,
	RK_ACTION,
	RK_ENABLED,
	RK_MATCH,
	RK_EXCEPT,
	RK_COUNT,
};
static const char *const rule_keys[RK_COUNT] = {
	"id",     "title",  "severity", "tags",  "scope",
	"window", "action", "enabled",  "match", "except",
};

/* Exceptions per rule: each is evaluated for every event the rule matches. */
#define RULE_MAX_EXCEPT 256

struct file_rule {
	struct rule r;
	bool enabled;
	bool replaces; /* its id is a built-in's */
	bool ok;       /* parsed without a problem */
};

static const struct rule *builtin_by_id(const char *id)
{
	for (size_t i = 0; i < n_builtin_rules; i++)
		if (strcmp(builtin_rules[i].id, id) == 0)
			return &builtin_rules[i];
	return NULL;
}

static void parse_tags(struct parser *p, const cJSON *it, struct rule *r)
{
	size_t i = 0, n = 0;
	const cJSON *el;

	if (!cJSON_IsArray(it)) {
		perr(p, "tags", "expected an array, got %s", type_name(it));
		return;
	}
	if (cJSON_GetArraySize(it) > RULE_MAX_TAGS) {
		perr(p, "tags", "%d tags, at most %d", cJSON_GetArraySize(it), RULE_MAX_TAGS);
		return;
	}
	cJSON_ArrayForEach(el, it) {
		char f[32], c[QUOTE_MAX + 4];
		const char *s;

		snprintf(f, sizeof(f), "tags[%zu]", i++);
		if (!(s = want_string(p, el, f)))
			continue;
		if (!tag_ok(s)) {
			perr(p, f,
			     "\"%s\" is not an ATLAS or ATT&CK id (such as AML.T0011.000 or T1059.004)",
			     clip(s, c, sizeof(c)));
			continue;
		}
		r->tags[n++] = pstrdup(p, s);
	}
}

static void parse_rule(struct parser *p, const cJSON *obj, size_t index, struct file_rule *fr)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");
	struct rule *r = &fr->r;
	unsigned seen = 0, v;
	const cJSON *it;
	size_t err0 = p->n_err;

	/* Messages name the rule by its id once it has a usable one. */
	if (cJSON_IsString(id) && id->valuestring && !id_problem(id->valuestring))
		snprintf(p->where, sizeof(p->where), "rule \"%s\"", id->valuestring);
	else
		snprintf(p->where, sizeof(p->where), "rules[%zu]", index);
	fr->enabled = true;
	r->scope = RULE_SCOPE_MODEL;
	r->action = RULE_ACTION_ALERT;
	r->origin = RULE_ADDED;
	if (!want_object(p, obj, ""))
		return;
	cJSON_ArrayForEach(it, obj) {
		int k = key_index(p, it, "", rule_keys, RK_COUNT, &seen);
		char c[QUOTE_MAX + 4];
		const char *s;
		int b;

		switch (k) {
		case RK_ID:
			if (!(s = want_string(p, it, "id")))
				break;
			if (!*s)
				perr(p, "id", "empty");
			else if (id_problem(s))
				perr(p, "id", "\"%s\" %s", clip(s, c, sizeof(c)), id_problem(s));
			else
				r->id = pstrdup(p, s);
			break;
		case RK_TITLE:
			if (!(s = want_string(p, it, "title")))
				break;
			if (!*s)
				perr(p, "title", "empty");
			else if (strlen(s) > RULE_TITLE_MAX)
				perr(p, "title", "longer than %d bytes", RULE_TITLE_MAX);
			else if (has_control(s))
				perr(p, "title",
				     "contains a control character (a line break, a tab, ...)");
			else
				r->title = pstrdup(p, s);
			break;
		case RK_SEVERITY:
			if (want_name(p, it, "severity", "severity", NAMES(severity_names), &v) ==
			    0)
				r->severity = (enum severity)v;
			break;
		case RK_TAGS:
			parse_tags(p, it, r);
			break;
		case RK_SCOPE:
			/* one name, or a list: ["model", "notebook"] */
			if (cJSON_IsArray(it)) {
				v = 0;
				want_names(p, it, "scope", "scope", NAMES(scope_names), false, &v);
				if (v)
					r->scope = v;
			} else if (want_name(p, it, "scope", "scope", NAMES(scope_names), &v) ==
				   0) {
				r->scope = v;
			}
			break;
		case RK_WINDOW:
			if (whole_in(it, 0, RULE_WINDOW_MAX))
				r->window_s = (uint32_t)it->valuedouble;
			else if (cJSON_IsNumber(it))
				perr(p, "window", "%g is not whole seconds from 0 (no limit) to %u",
				     it->valuedouble, RULE_WINDOW_MAX);
			else
				perr(p, "window", "expected a number of seconds, got %s",
				     type_name(it));
			break;
		case RK_ACTION:
			if (want_name(p, it, "action", "action", NAMES(action_names), &v) == 0)
				r->action = (enum rule_action)v;
			break;
		case RK_ENABLED:
			if ((b = want_bool(p, it, "enabled")) >= 0)
				fr->enabled = b;
			break;
		case RK_MATCH:
			parse_filter(p, it, "match", FILTER_MATCH, &r->match, &r->failed_too);
			break;
		case RK_EXCEPT:
			r->except = want_filters(p, it, "except", FILTER_EXCEPT, RULE_MAX_EXCEPT,
						 &r->n_except);
			break;
		default:
			break;
		}
	}
	if (!(seen & (1u << RK_ID)))
		perr(p, "id", "missing");
	if (r->id)
		fr->replaces = builtin_by_id(r->id) != NULL;
	/* {"id": "model-loader-shell", "enabled": false} switches a built-in
	 * off; a rule of one's own that is off still has to be whole. */
	if (!fr->enabled && !(seen & (1u << RK_MATCH))) {
		if (r->id && !fr->replaces)
			perr(p, "enabled", "no built-in rule \"%s\" to disable", r->id);
	} else {
		static const enum rule_key needed[] = { RK_TITLE, RK_SEVERITY, RK_MATCH };

		for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
			if (!(seen & (1u << needed[i])))
				perr(p, rule_keys[needed[i]], "missing");
	}
	fr->ok = p->n_err == err0;
}

/* ---- copying the built-ins in --------------------------------------- */

static int copy_patterns(struct parser *p, struct pattern_list *dst, const struct pattern_list *src,
			 bool substr)
{
	struct pattern *v;

	if (!src->n)
		return 0;
	if (!(v = palloc(p, src->n * sizeof(*v))))
		return -1;
	for (size_t i = 0; i < src->n; i++) {
		if (!(v[i].text = pstrdup(p, src->v[i].text)))
			return -1;
		if (substr) {
			v[i].kind = PAT_CONTAINS;
			v[i].lit = v[i].text;
			v[i].lit_len = strlen(v[i].text);
		} else {
			pattern_compile(&v[i]);
		}
	}
	dst->v = v;
	dst->n = src->n;
	return 0;
}

static int copy_filter(struct parser *p, struct rule_filter *dst, const struct rule_filter *src)
{
	*dst = *src;
	if (src->n_cidrs) {
		struct cidr *c = palloc(p, src->n_cidrs * sizeof(*c));

		if (!c)
			return -1;
		memcpy(c, src->cidrs, src->n_cidrs * sizeof(*c));
		dst->cidrs = c;
	}
	if (src->n_ports) {
		struct port_range *r = palloc(p, src->n_ports * sizeof(*r));

		if (!r)
			return -1;
		memcpy(r, src->ports, src->n_ports * sizeof(*r));
		dst->ports = r;
	}
	if (copy_patterns(p, &dst->path, &src->path, false) ||
	    copy_patterns(p, &dst->exe, &src->exe, false) ||
	    copy_patterns(p, &dst->argv, &src->argv, false) ||
	    copy_patterns(p, &dst->argv_contains, &src->argv_contains, true) ||
	    copy_patterns(p, &dst->audit, &src->audit, false) ||
	    copy_patterns(p, &dst->args, &src->args, false))
		return -1;
	return 0;
}

static int copy_rule(struct parser *p, struct rule *dst, const struct rule *src)
{
	struct rule_filter *ex = NULL;

	*dst = *src;
	if (!(dst->id = pstrdup(p, src->id)) || !(dst->title = pstrdup(p, src->title)))
		return -1;
	for (int i = 0; i < RULE_MAX_TAGS && src->tags[i]; i++)
		if (!(dst->tags[i] = pstrdup(p, src->tags[i])))
			return -1;
	if (copy_filter(p, &dst->match, &src->match))
		return -1;
	if (src->n_except && !(ex = palloc(p, src->n_except * sizeof(*ex))))
		return -1;
	for (size_t i = 0; i < src->n_except; i++)
		if (copy_filter(p, &ex[i], &src->except[i]))
			return -1;
	dst->except = ex;
	return 0;
}

/* ---- the file ------------------------------------------------------- */

static const cJSON *parse_json(struct parser *p, const char *text, size_t len, cJSON **root)
{
	const char *end = NULL;
	size_t line, col, at;
	const char *nul = memchr(text, 0, len);

	*root = NULL;
	if (nul) {
		text_line_col(text, (size_t)(nul - text), &line, &col);
		perr(p, "", "line %zu, column %zu: a NUL byte (is this a text file?)", line, col);
		return NULL;
	}
	if (json_find_escaped_nul(text, len, &at)) {
		text_line_col(text, at, &line, &col);
		perr(p, "", "line %zu, column %zu: \"\\u0000\" cannot appear in a rules file", line,
		     col);
		return NULL;
	}
	*root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!*root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
		size_t skip = 0;

		while (skip < len && json_is_space(text[skip]))
			skip++;
		if (skip == len) {
			perr(p, "",
			     "empty file (expected a JSON object such as {\"version\": 1, \"rules\": []})");
			return NULL;
		}
		char near[24];
		size_t n = 0;

		/* a few characters from where cJSON gave up, on this line */
		while (off + n < len && n < sizeof(near) - 1 && text[off + n] != '\n')
			n++;
		memcpy(near, text + off, n);
		near[n] = 0;
		text_line_col(text, off, &line, &col);
		perr(p, "", "line %zu, column %zu: invalid JSON near \"%s\"", line, col, near);
		return NULL;
	}
	/* Anything after the value is a mistake too (two objects, a stray brace). */
	at = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
	while (at < len && json_is_space(text[at]))
		at++;
	if (at < len) {
		text_line_col(text, at, &line, &col);
		perr(p, "", "line %zu, column %zu: invalid JSON: text after the end of the object",
		     line, col);
		return NULL;
	}
	return *root;
}

enum top_key { TK_VERSION, TK_ALLOW, TK_RULES, TK_COUNT };
static const char *const top_keys[TK_COUNT] = { "version", "allow", "rules" };

struct ruleset_build {
	struct ruleset *rs;
	const struct rule_filter *allow;
	size_t n_allow;
	struct file_rule *rules;
	size_t n_rules;
};

static void parse_top(struct parser *p, const cJSON *root, struct ruleset_build *b)
{
	const cJSON *it, *rules = NULL;
	unsigned seen = 0;

	if (!cJSON_IsObject(root)) {
		perr(p, "", "expected a JSON object at the top, got %s", type_name(root));
		return;
	}
	cJSON_ArrayForEach(it, root) {
		switch (key_index(p, it, "", top_keys, TK_COUNT, &seen)) {
		case TK_VERSION:
			if (cJSON_IsNumber(it) && !whole_in(it, 1, 1))
				perr(p, "version",
				     "unsupported version %g (this mlwatch reads version 1)",
				     it->valuedouble);
			else if (!cJSON_IsNumber(it))
				perr(p, "version", "expected the number 1, got %s", type_name(it));
			break;
		case TK_ALLOW:
			b->allow = want_filters(p, it, "allow", FILTER_ALLOW, RULESET_MAX_ALLOW,
						&b->n_allow);
			break;
		case TK_RULES:
			rules = it;
			break;
		default:
			break;
		}
	}
	if (!(seen & (1u << TK_VERSION)))
		perr(p, "version", "missing (write \"version\": 1)");
	if (!rules)
		return;
	if (!cJSON_IsArray(rules)) {
		perr(p, "rules", "expected an array, got %s", type_name(rules));
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(rules), i = 0;
	if (n > RULESET_MAX_RULES) {
		perr(p, "rules", "%zu rules, at most %d", n, RULESET_MAX_RULES);
		return;
	}
	if (!n)
		return;
	if (!(b->rules = palloc(p, n * sizeof(*b->rules))))
		return;
	cJSON_ArrayForEach(it, rules) {
		struct file_rule *fr = &b->rules[i];

		parse_rule(p, it, i, fr);
		/* Same id twice: which one counts would depend on order. */
		for (size_t j = 0; fr->r.id && j < i; j++)
			if (b->rules[j].r.id && strcmp(b->rules[j].r.id, fr->r.id) == 0) {
				perr(p, "id", "duplicate: rules[%zu] has this id too", j);
				break;
			}
		p->where[0] = 0;
		i++;
	}
	b->n_rules = n;
	/* The cap is on the set in effect, so that its listing loads too. */
	size_t added = 0;
	for (i = 0; i < n; i++)
		added += b->rules[i].enabled && !b->rules[i].replaces;
	if (n_builtin_rules + added > RULESET_MAX_RULES)
		perr(p, "rules", "%zu rules with the built-ins, at most %d",
		     n_builtin_rules + added, RULESET_MAX_RULES);
}

/* Built-ins in their order (replaced in place, or dropped), then new rules
 * in file order; built-in allowlist, then the file's. */
static int merge(struct parser *p, struct ruleset_build *b)
{
	struct ruleset *rs = b->rs;
	struct rule *rules = palloc(p, (n_builtin_rules + b->n_rules) * sizeof(*rules));
	struct rule_filter *allow = palloc(p, (n_builtin_allow + b->n_allow) * sizeof(*allow));
	size_t n = 0, na = 0;

	if (!rules || !allow)
		return -1;
	for (size_t i = 0; i < n_builtin_rules; i++) {
		const struct file_rule *over = NULL;

		for (size_t j = 0; j < b->n_rules; j++)
			if (strcmp(b->rules[j].r.id, builtin_rules[i].id) == 0)
				over = &b->rules[j];
		if (over && !over->enabled)
			continue;
		if (over) {
			rules[n] = over->r;
			rules[n++].origin = RULE_OVERRIDE;
		} else if (copy_rule(p, &rules[n++], &builtin_rules[i])) {
			return -1;
		}
	}
	for (size_t j = 0; j < b->n_rules; j++)
		if (!b->rules[j].replaces && b->rules[j].enabled)
			rules[n++] = b->rules[j].r;
	for (size_t i = 0; i < n_builtin_allow; i++)
		if (copy_filter(p, &allow[na++], &builtin_allow[i]))
			return -1;
	for (size_t i = 0; i < b->n_allow; i++)
		allow[na++] = b->allow[i];
	rs->rules = rules;
	rs->n_rules = n;
	for (unsigned k = 1; k < MLW_EV_KIND_MAX; k++) {
		uint32_t *idx = palloc(p, (n ? n : 1) * sizeof(*idx));
		size_t m = 0;

		if (!idx)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (!rules[i].match.kinds || (rules[i].match.kinds & KIND(k)))
				idx[m++] = (uint32_t)i;
		rs->by_kind[k] = idx;
		rs->n_by_kind[k] = m;
	}
	rs->allow = allow;
	rs->n_allow = na;
	rs->n_builtin_allow = n_builtin_allow;
	return 0;
}

int ruleset_parse(const char *text, size_t len, const char *name, struct ruleset **out,
		  struct rule_errors *errs)
{
	struct parser p = { .name = name ? name : "(built-in)", .errs = errs };
	struct ruleset_build b = { 0 };
	cJSON *root = NULL;

	*out = NULL;
	if (!(p.mem = calloc(1, sizeof(*p.mem))) || !(b.rs = palloc(&p, sizeof(*b.rs)))) {
		if (!p.oom)
			perr(&p, "", "out of memory");
		arena_free(p.mem);
		return -1;
	}
	if (text && len > RULEFILE_MAX_BYTES)
		perr(&p, "", "file too large (%zu bytes; at most %d)", len, RULEFILE_MAX_BYTES);
	else if (text && parse_json(&p, text, len, &root))
		parse_top(&p, root, &b);
	cJSON_Delete(root);
	if (!p.n_err)
		merge(&p, &b);
	if (p.n_err) {
		arena_free(p.mem);
		return -1;
	}
	b.rs->mem = p.mem;
	*out = b.rs;
	return 0;
}

int ruleset_load(const char *path, struct ruleset **out, struct rule_errors *errs)
{
	struct parser p = { .name = path, .errs = errs };
	char *text = NULL, why[1024];
	size_t len = 0, cap = 0;
	int fd, rc;

	*out = NULL;
	if (!path)
		return ruleset_parse(NULL, 0, NULL, out, errs);
	/* whoever can write the file can switch detection off */
	fd = safeopen_config(path, why, sizeof(why));
	if (fd < 0) {
		errors_add(errs, why);
		return -1;
	}
	/* Read to the end whatever st_size says (a file still growing): the
	 * cap is on what arrives. */
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *t;

			if (ncap > RULEFILE_MAX_BYTES + 1)
				ncap = RULEFILE_MAX_BYTES + 1;
			if (ncap == cap) {
				perr(&p, "", "file too large (more than %d bytes)",
				     RULEFILE_MAX_BYTES);
				break;
			}
			if (!(t = realloc(text, ncap))) {
				perr(&p, "", "out of memory");
				break;
			}
			text = t;
			cap = ncap;
		}
		r = read(fd, text + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perr(&p, "", "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (p.n_err) {
		free(text);
		return -1;
	}
	rc = ruleset_parse(text ? text : "", len, path, out, errs);
	free(text);
	return rc;
}

void ruleset_free(struct ruleset *rs)
{
	if (rs)
		arena_free(rs->mem); /* rs itself lives in its arena */
}

const struct rule *ruleset_find(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; rs && i < rs->n_rules; i++)
		if (strcmp(rs->rules[i].id, id) == 0)
			return &rs->rules[i];
	return NULL;
}

/* ---- back to JSON --------------------------------------------------- */

static void add_names(cJSON *o, const char *key, unsigned bits, const struct name *t, size_t n,
		      bool shift)
{
	cJSON *a;

	if (!bits || !(a = cJSON_AddArrayToObject(o, key)))
		return;
	for (size_t i = 0; i < n; i++)
		if (bits & (shift ? 1u << t[i].value : t[i].value))
			cJSON_AddItemToArray(a, cJSON_CreateString(t[i].name));
}

static void add_exec_classes(cJSON *o, const char *key, unsigned bits)
{
	char one[64];
	cJSON *a;

	if (!bits || !(a = cJSON_AddArrayToObject(o, key)))
		return;
	for (unsigned b = 0; b < 32; b++) {
		exec_class_names(bits & (1u << b), one, sizeof(one));
		if (one[0])
			cJSON_AddItemToArray(a, cJSON_CreateString(one));
	}
}

static void add_patterns(cJSON *o, const char *key, const struct pattern_list *l)
{
	cJSON *a;

	if (!l->n || !(a = cJSON_AddArrayToObject(o, key)))
		return;
	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i].text));
}

static void cidr_text(const struct cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(c->family, c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%d", addr, c->prefix);
}

cJSON *rule_filter_to_json(const struct rule_filter *m, bool failed_too)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned kinds = 0, one = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (m->kinds & KIND(kind_names[i].value)) {
			kinds++;
			one = kind_names[i].value;
		}
	if (kinds == 1)
		cJSON_AddStringToObject(o, "kind", name_of(NAMES(kind_names), one));
	else
		add_names(o, "kind", m->kinds, NAMES(kind_names), true);
	add_exec_classes(o, "exec_class", m->exec_any);
	add_exec_classes(o, "exec_class_not", m->exec_none);
	add_patterns(o, "exe", &m->exe);
	add_patterns(o, "path", &m->path);
	add_patterns(o, "argv", &m->argv);
	add_patterns(o, "argv_contains", &m->argv_contains);
	add_patterns(o, "audit", &m->audit);
	add_patterns(o, "args", &m->args);
	add_names(o, "dest", m->dest_any, NAMES(dest_names), true);
	if (m->n_cidrs && (a = cJSON_AddArrayToObject(o, "cidr")))
		for (size_t i = 0; i < m->n_cidrs; i++) {
			cidr_text(&m->cidrs[i], buf, sizeof(buf));
			cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		}
	if (m->n_ports && (a = cJSON_AddArrayToObject(o, "port")))
		for (size_t i = 0; i < m->n_ports; i++) {
			if (m->ports[i].lo == m->ports[i].hi) {
				cJSON_AddItemToArray(a, cJSON_CreateNumber(m->ports[i].lo));
			} else {
				snprintf(buf, sizeof(buf), "%u-%u", m->ports[i].lo, m->ports[i].hi);
				cJSON_AddItemToArray(a, cJSON_CreateString(buf));
			}
		}
	if (m->open != RULE_OPEN_ANY)
		cJSON_AddStringToObject(o, "open", name_of(NAMES(open_names), m->open));
	add_names(o, "path_class", m->path_class, NAMES(path_class_names), false);
	if (failed_too)
		cJSON_AddTrueToObject(o, "failed_too");
	if (m->dropped)
		cJSON_AddTrueToObject(o, "dropped");
	if (m->runtime)
		cJSON_AddTrueToObject(o, "runtime");
	if (m->load != RULE_LOAD_ANY)
		cJSON_AddStringToObject(o, "load", name_of(NAMES(load_names), m->load));
	return o;
}

cJSON *rule_to_json(const struct rule *r)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "title", r->title ? r->title : "");
	cJSON_AddStringToObject(o, "severity", severity_name(r->severity));
	if ((a = cJSON_AddArrayToObject(o, "tags")))
		for (int i = 0; i < RULE_MAX_TAGS && r->tags[i]; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->tags[i]));
	unsigned scope = r->scope ? r->scope : RULE_SCOPE_MODEL;

	/* one name, "any", or a list the parser takes back */
	if (scope == RULE_SCOPE_ANY || !(scope & (scope - 1))) {
		cJSON_AddStringToObject(o, "scope", name_of(NAMES(scope_names), scope));
	} else if ((a = cJSON_AddArrayToObject(o, "scope"))) {
		for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
			if (scope_names[i].value != RULE_SCOPE_ANY &&
			    (scope & scope_names[i].value))
				cJSON_AddItemToArray(a, cJSON_CreateString(scope_names[i].name));
	}
	cJSON_AddNumberToObject(o, "window", r->window_s);
	cJSON_AddStringToObject(o, "action", rule_action_name(r->action));
	cJSON_AddItemToObject(o, "match", rule_filter_to_json(&r->match, r->failed_too));
	if (r->n_except && (a = cJSON_AddArrayToObject(o, "except")))
		for (size_t i = 0; i < r->n_except; i++)
			cJSON_AddItemToArray(a, rule_filter_to_json(&r->except[i], false));
	return o;
}

cJSON *ruleset_to_json(const struct ruleset *rs, bool builtin_allow)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "version", 1);
	size_t first_allow = builtin_allow ? 0 : rs->n_builtin_allow;

	/* an empty list is an error in a file: leave it out */
	if (first_allow < rs->n_allow && (a = cJSON_AddArrayToObject(o, "allow")))
		for (size_t i = first_allow; i < rs->n_allow; i++)
			cJSON_AddItemToArray(a, rule_filter_to_json(&rs->allow[i], false));
	if ((a = cJSON_AddArrayToObject(o, "rules")))
		for (size_t i = 0; i < rs->n_rules; i++)
			cJSON_AddItemToArray(a, rule_to_json(&rs->rules[i]));
	return o;
}
