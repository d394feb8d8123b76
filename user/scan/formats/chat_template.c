/* Jinja chat template checks: flags templates that climb to Python internals
 * or OS access (gguf_check_template, declared in gguf.h). */
#include "chat_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/textsan.h"

/* Attribute names whose only use in a template is to climb from a Jinja
 * object to Python's internals. */
static const char *const DUNDERS[] = {
	"__class__",      "__mro__",          "__base__",         "__bases__",
	"__subclasses__", "__globals__",      "__builtins__",     "__init__",
	"__import__",     "__getattribute__", "__dict__",         "__code__",
	"__func__",       "__self__",         "__module__",       "__reduce__",
	"__reduce_ex__",  "__loader__",       "__spec__",         "__closure__",
	"__getitem__",    "__call__",         "__subclasshook__", "__init_subclass__",
	"__new__",        "__qualname__",     "__name__",         "__doc__",
	"__file__",
};
/* Jinja/Flask globals whose attributes lead to module globals. */
static const char *const GLOBAL_OBJS[] = {
	"lipsum", "cycler", "joiner", "namespace", "url_for", "get_flashed_messages",
};
/* Names that are harmful as a looked-up attribute name ('...'] / attr()). */
static const char *const DANGER_NAMES[] = {
	"os",    "popen", "subprocess", "eval",  "exec", "builtins", "import_module",
	"spawn", "execv", "execve",     "posix", "sys",  "modules",
};

#define CHAIN_MAX 256
#define HUGE_RANGE 100000ull
#define MAX_BOUND 64

enum tok { T_NONE, T_IDENT, T_STR, T_NUM, T_OP };
enum chain_ctx { CC_OTHER, CC_SUBSCRIPT, CC_ATTR };

struct token {
	enum tok type;
	size_t off, len;
	char op;
};

struct tctx {
	const char *key;
	const uint8_t *t;
	size_t len;
	uint64_t base;
	struct gguf_info *g;
	struct token p1, p2; /* last two tokens of this region */
	int balance;         /* open ( [ { in the region */
	/* a run of string literals joined by ~, + or juxtaposition */
	bool chain, chain_op;
	enum chain_ctx chain_ctx;
	size_t chain_off, chain_len;
	char chain_buf[CHAIN_MAX];
	/* |attr( waiting for its argument */
	int attr_state; /* 1: saw |attr, 2: saw its ( */
	size_t attr_off;
	int range_level;           /* balance inside range( ... ), 0: none */
	int stmt;                  /* 0 none, 1 set, 2 for (binding), 3 macro */
	char bound[MAX_BOUND][32]; /* names the template binds itself */
	size_t nbound;
};

static void hit(struct tctx *c, const char *what, size_t off, bool malicious)
{
	struct gguf_info *g = c->g;
	char key[sizeof(g->hits[0].key)];
	struct gguf_hit *h;

	text_escape(c->key, strlen(c->key), key, sizeof(key));
	for (size_t i = 0; i < g->nhits; i++) {
		h = &g->hits[i];
		if (!strcmp(h->key, key) && !strcmp(h->what, what)) {
			h->malicious |= malicious;
			return;
		}
	}
	if (g->nhits >= GGUF_MAX_HITS) {
		g->hits_dropped++;
		return;
	}
	h = &g->hits[g->nhits++];
	memset(h, 0, sizeof(*h));
	memcpy(h->key, key, sizeof(h->key));
	text_escape(what, strlen(what), h->what, sizeof(h->what));
	h->offset = c->base + off;
	h->malicious = malicious;
}

static bool in_list(const char *const *l, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) == len && !memcmp(l[i], s, len))
			return true;
	return false;
}

#define IN(list, s, len) in_list(list, sizeof(list) / sizeof(list[0]), s, len)

static bool tok_is(const struct tctx *c, const struct token *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == T_IDENT && k->len == n && !memcmp(c->t + k->off, s, n);
}

static bool op_is(const struct token *k, char op)
{
	return k->type == T_OP && k->op == op;
}

static bool is_ident_start(uint8_t ch)
{
	return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_ident(uint8_t ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9');
}

static bool is_space(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool has_dunder(const char *s, size_t n)
{
	return memmem(s, n, "__", 2) != NULL;
}

static bool is_bound(const struct tctx *c, const char *s, size_t n)
{
	for (size_t i = 0; i < c->nbound; i++)
		if (strlen(c->bound[i]) == n && !memcmp(c->bound[i], s, n))
			return true;
	return false;
}

static void bind(struct tctx *c, const struct token *k)
{
	if (c->nbound < MAX_BOUND && k->len < sizeof(c->bound[0])) {
		memcpy(c->bound[c->nbound], c->t + k->off, k->len);
		c->bound[c->nbound++][k->len] = 0;
	}
}

/* Next non-space byte at or after i (0 at the end). */
static uint8_t peek(const struct tctx *c, size_t i)
{
	while (i < c->len && is_space(c->t[i]))
		i++;
	return i < c->len ? c->t[i] : 0;
}

/* The identifier after the next '.' from i, if any: used to tell "self."
 * from "self._TemplateReference__context". */
static bool next_attr_has_dunder(const struct tctx *c, size_t i)
{
	size_t s;

	while (i < c->len && is_space(c->t[i]))
		i++;
	if (i >= c->len || c->t[i] != '.')
		return false;
	for (i++; i < c->len && is_space(c->t[i]); i++)
		;
	for (s = i; i < c->len && is_ident(c->t[i]); i++)
		;
	return has_dunder((const char *)c->t + s, i - s);
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static void chain_put(struct tctx *c, char ch)
{
	if (c->chain_len < sizeof(c->chain_buf))
		c->chain_buf[c->chain_len++] = ch;
}

/* Appends a string literal's value (quotes at s and s+n-1, or unterminated)
 * decoded as Jinja does (Python escapes), so '\x5f\x5fclass\x5f\x5f' and
 * '\N{LOW LINE}' spellings normalise to the attribute name they reach. */
static void chain_decode(struct tctx *c, size_t s, size_t n)
{
	const uint8_t *p = c->t + s + 1, *e = c->t + s + n;

	if (n >= 2 && c->t[s + n - 1] == c->t[s])
		e--;
	while (p < e) {
		uint32_t cp = 0;
		int digits = 0, h;

		if (*p != '\\' || p + 1 >= e) {
			chain_put(c, (char)*p++);
			continue;
		}
		p++;
		switch (*p) {
		case 'x':
			digits = 2;
			break;
		case 'u':
			digits = 4;
			break;
		case 'U':
			digits = 8;
			break;
		case 'n':
			chain_put(c, '\n');
			p++;
			continue;
		case 't':
			chain_put(c, '\t');
			p++;
			continue;
		case 'N':
			if (p + 1 < e && p[1] == '{') {
				/* character names are short: a bounded look keeps a
				 * literal full of "\N{" linear */
				size_t lim = (size_t)(e - p) < 64 ? (size_t)(e - p) : 64;
				const uint8_t *q = memchr(p, '}', lim);

				if (q) {
					bool low = q - p - 2 == 8 &&
						   !strncasecmp((const char *)p + 2, "LOW LINE", 8);
					chain_put(c, low ? '_' : '?');
					p = q + 1;
					continue;
				}
			}
			chain_put(c, '\\');
			continue;
		default:
			if (*p >= '0' && *p <= '7') {
				for (int k = 0; k < 3 && p < e && *p >= '0' && *p <= '7'; k++)
					cp = cp * 8 + (uint32_t)(*p++ - '0');
				chain_put(c, cp < 0x80 ? (char)cp : '?');
				continue;
			}
			if (*p == '\\' || *p == '\'' || *p == '"') {
				chain_put(c, (char)*p++);
				continue;
			}
			chain_put(c, '\\');
			continue;
		}
		p++;
		for (int k = 0; k < digits; k++) {
			if (p >= e || (h = hexval(*p)) < 0)
				break;
			cp = cp * 16 + (uint32_t)h;
			p++;
		}
		chain_put(c, cp < 0x80 ? (char)cp : '?');
	}
}

/* Judges a finished run of string literals. Returns true when it named
 * something dangerous (so |attr( on it needs no separate hit). */
static bool chain_flush(struct tctx *c)
{
	const char *b = c->chain_buf;
	size_t n = c->chain_len;
	bool lookup = c->chain_ctx != CC_OTHER, found = false, prose = false;
	char what[64];

	if (!c->chain)
		return false;
	c->chain = false;
	/* a bare name ('__class__', or pieces joined) is meant for a lookup
	 * even when stored in a variable first; prose that mentions one is not */
	for (size_t i = 0; i < n && !lookup; i++)
		if (!is_ident((uint8_t)b[i]))
			prose = true;
	for (size_t i = 0; i < sizeof(DUNDERS) / sizeof(DUNDERS[0]); i++)
		if (memmem(b, n, DUNDERS[i], strlen(DUNDERS[i]))) {
			hit(c, DUNDERS[i], c->chain_off, !prose);
			found = true;
		}
	if (found)
		return !prose;
	if (lookup && IN(DANGER_NAMES, b, n)) {
		snprintf(what, sizeof(what), "'%.*s' lookup", (int)n, b);
		hit(c, what, c->chain_off, true);
		return true;
	}
	for (size_t i = 0; i + 1 < n;) {
		const char *d = memmem(b + i, n - i, "__", 2);
		size_t j, k;

		if (!d)
			break;
		j = (size_t)(d - b);
		for (k = j + 2; k < n && is_ident((uint8_t)b[k]) &&
				!(b[k] == '_' && k + 1 < n && b[k + 1] == '_');
		     k++)
			;
		if (k > j + 2 && k + 1 < n && b[k] == '_' && b[k + 1] == '_') {
			/* a whole __name__ nobody lists: still an attribute climb when
			 * looked up, odd text otherwise */
			snprintf(what, sizeof(what), "%.*s", (int)(k + 2 - j), d);
			hit(c, what, c->chain_off, lookup);
			return lookup;
		}
		if ((j > 0 && is_ident((uint8_t)b[j - 1]) && b[j - 1] != '_') ||
		    (j + 2 < n && is_ident((uint8_t)b[j + 2]) && b[j + 2] != '_') || n == 2) {
			/* '__cla' ~ x ~ 'ss__': a piece of a dunder name */
			hit(c, "dunder fragment in string", c->chain_off, false);
			return false;
		}
		i = j + 1;
	}
	return false;
}

static void attr_done(struct tctx *c, bool named_danger)
{
	if (c->attr_state && !named_danger)
		hit(c, "|attr(", c->attr_off, false);
	c->attr_state = 0;
}

static void ident_rules(struct tctx *c, const struct token *k, size_t end)
{
	const char *s = (const char *)c->t + k->off;
	size_t n = k->len;
	bool attr = op_is(&c->p1, '.');
	bool global = !attr && !is_bound(c, s, n);
	uint8_t nx = peek(c, end);
	char what[64];

	if (has_dunder(s, n)) {
		if (attr && c->p2.type == T_IDENT &&
		    (IN(GLOBAL_OBJS, (const char *)c->t + c->p2.off, c->p2.len) ||
		     tok_is(c, &c->p2, "self") || tok_is(c, &c->p2, "config") ||
		     tok_is(c, &c->p2, "request")))
			snprintf(what, sizeof(what), "%.*s.%.*s", (int)c->p2.len,
				 (const char *)c->t + c->p2.off, (int)n, s);
		else
			snprintf(what, sizeof(what), "%.*s", (int)n, s);
		/* an attribute climb; a bare name is only odd unless it is a
		 * known dunder (__import__ etc. are never template variables) */
		hit(c, what, k->off, attr || IN(DUNDERS, s, n));
		return;
	}
	if (n == 5 && !memcmp(s, "popen", n)) {
		hit(c, attr && tok_is(c, &c->p2, "os") ? "os.popen" : "popen(", k->off, true);
		return;
	}
	if (n == 10 && !memcmp(s, "subprocess", n)) {
		hit(c, "subprocess", k->off, true);
		return;
	}
	if (n == 6 && !memcmp(s, "system", n) && attr && tok_is(c, &c->p2, "os")) {
		hit(c, "os.system", k->off, true);
		return;
	}
	if (nx == '(' && ((n == 6 && !memcmp(s, "system", n)) ||
			  (n == 4 && !memcmp(s, "eval", n)) || (n == 4 && !memcmp(s, "exec", n)))) {
		snprintf(what, sizeof(what), "%.*s(", (int)n, s);
		hit(c, what, k->off, true);
		return;
	}
	if (n == 6 && !memcmp(s, "import", n)) {
		hit(c, "import", k->off, true);
		return;
	}
	if (n == 11 && !memcmp(s, "application", n) && attr && tok_is(c, &c->p2, "request")) {
		hit(c, "request.application", c->p2.off, true);
		return;
	}
	if (!global)
		return;
	if (n == 20 && !memcmp(s, "get_flashed_messages", n)) {
		hit(c, "get_flashed_messages", k->off, true);
		return;
	}
	if (IN(GLOBAL_OBJS, s, n) && (nx == '[' || nx == '|' || nx == '.')) {
		/* a dunder right after is reported as "lipsum.__globals__" */
		if (!next_attr_has_dunder(c, end)) {
			snprintf(what, sizeof(what), "%.*s", (int)n, s);
			hit(c, what, k->off, true);
		}
		return;
	}
	if (n == 6 && !memcmp(s, "config", n) && (nx == '.' || nx == '[')) {
		hit(c, "config.", k->off, true);
		return;
	}
	if (n == 4 && !memcmp(s, "self", n) && nx == '.' && !next_attr_has_dunder(c, end)) {
		hit(c, "self.", k->off, false);
		return;
	}
	if (n == 5 && !memcmp(s, "range", n) && nx == '(')
		c->range_level = c->balance + 1;
}

/* One token of a code region, in order. */
static void token(struct tctx *c, const struct token *k, size_t end)
{
	/* string literal runs: 'a' ~ 'b', 'a' + 'b', 'a' 'b' */
	if (c->chain) {
		if (k->type == T_STR && (c->chain_op || c->p1.type == T_STR)) {
			chain_decode(c, k->off, k->len);
			c->chain_op = false;
			goto shift;
		}
		if (k->type == T_OP && (k->op == '~' || k->op == '+') && !c->chain_op) {
			c->chain_op = true;
			goto shift;
		}
		attr_done(c, chain_flush(c));
	}
	if (c->attr_state == 1) {
		if (op_is(k, '('))
			c->attr_state = 2;
		else
			attr_done(c, false);
	} else if (c->attr_state == 2 && k->type != T_STR) {
		attr_done(c, false);
	}
	switch (k->type) {
	case T_STR:
		c->chain = true;
		c->chain_op = false;
		c->chain_off = k->off;
		c->chain_len = 0;
		c->chain_ctx = c->attr_state == 2 ? CC_ATTR :
			       op_is(&c->p1, '[') ? CC_SUBSCRIPT :
						    CC_OTHER;
		chain_decode(c, k->off, k->len);
		break;
	case T_IDENT:
		if (c->p1.type == T_NONE)
			c->stmt = tok_is(c, k, "set")   ? 1 :
				  tok_is(c, k, "for")   ? 2 :
				  tok_is(c, k, "macro") ? 3 :
							  0;
		if (op_is(&c->p1, '|') && tok_is(c, k, "attr")) {
			c->attr_state = 1;
			c->attr_off = c->p1.off;
			break;
		}
		if (c->stmt == 1 && c->p2.type == T_NONE && c->p1.type == T_IDENT) {
			bind(c, k);
			c->stmt = 0;
		} else if (c->stmt == 2) {
			if (tok_is(c, k, "in"))
				c->stmt = 0;
			else
				bind(c, k);
		} else if (c->stmt == 3 && !op_is(&c->p1, '=')) {
			bind(c, k);
		}
		ident_rules(c, k, end);
		break;
	case T_NUM:
		if (c->range_level && c->balance >= c->range_level) {
			uint64_t v = 0;
			bool big = false;

			for (size_t i = 0; i < k->len; i++) {
				uint8_t ch = c->t[k->off + i];

				if (ch == '_')
					continue;
				if (ch < '0' || ch > '9')
					break;
				v = v * 10 + (ch - '0');
				if (v >= HUGE_RANGE)
					big = true;
			}
			if (big)
				hit(c, "huge range()", k->off, false);
		}
		break;
	case T_OP:
		if (k->op == '(' || k->op == '[' || k->op == '{')
			c->balance++;
		else if ((k->op == ')' || k->op == ']' || k->op == '}') && c->balance > 0)
			c->balance--;
		if (c->range_level && c->balance < c->range_level)
			c->range_level = 0;
		break;
	default:
		break;
	}
shift:
	c->p2 = c->p1;
	c->p1 = *k;
}

/* Lexes a {{ }} or {% %} region from i (after the opener) to its closer,
 * which, as in Jinja, only counts outside strings and brackets. Returns the
 * index after the closer (or len). */
static size_t code_region(struct tctx *c, size_t i, char kind)
{
	const uint8_t *t = c->t;
	size_t n = c->len;

	c->p1.type = c->p2.type = T_NONE;
	c->balance = 0;
	c->chain = false;
	c->attr_state = 0;
	c->range_level = 0;
	c->stmt = 0;
	while (i < n) {
		struct token k = { .off = i };
		uint8_t ch = t[i];

		if (is_space(ch)) {
			i++;
			continue;
		}
		if (c->balance == 0 && i + 1 < n && t[i + 1] == '}' &&
		    ((kind == '{' && ch == '}') || (kind == '%' && ch == '%'))) {
			i += 2;
			break;
		}
		if (ch == '\'' || ch == '"') {
			for (i++; i < n && t[i] != ch; i++)
				if (t[i] == '\\' && i + 1 < n)
					i++;
			i = i < n ? i + 1 : n;
			k.type = T_STR;
		} else if (ch >= '0' && ch <= '9') {
			while (i < n && (is_ident(t[i]) || t[i] == '.'))
				i++;
			k.type = T_NUM;
		} else if (is_ident_start(ch)) {
			while (i < n && is_ident(t[i]))
				i++;
			k.type = T_IDENT;
		} else {
			k.type = T_OP;
			k.op = (char)ch;
			i++;
		}
		k.len = i - k.off;
		token(c, &k, i);
	}
	if (c->chain)
		attr_done(c, chain_flush(c));
	attr_done(c, false);
	return i;
}

/* Literal text is only printed, but a dunder name in it means the
 * template's code may be hidden where this lexer does not look. */
static void text_rules(struct tctx *c, size_t s, size_t e)
{
	char what[64];

	for (size_t i = 0; i < sizeof(DUNDERS) / sizeof(DUNDERS[0]); i++) {
		const uint8_t *p = memmem(c->t + s, e - s, DUNDERS[i], strlen(DUNDERS[i]));

		if (p) {
			snprintf(what, sizeof(what), "%s in text", DUNDERS[i]);
			hit(c, what, (size_t)(p - c->t), false);
		}
	}
}

/* After {% raw %}: the index after the matching {% endraw %} (or len). */
static size_t skip_raw(struct tctx *c, size_t i)
{
	while (i < c->len) {
		const uint8_t *p = memmem(c->t + i, c->len - i, "{%", 2);
		size_t j;

		if (!p)
			return c->len;
		j = (size_t)(p - c->t) + 2;
		while (j < c->len && (is_space(c->t[j]) || c->t[j] == '-' || c->t[j] == '+'))
			j++;
		if (c->len - j >= 6 && !memcmp(c->t + j, "endraw", 6)) {
			p = memmem(c->t + j, c->len - j, "%}", 2);
			return p ? (size_t)(p - c->t) + 2 : c->len;
		}
		i = j;
	}
	return c->len;
}

void gguf_check_template(const char *key, const uint8_t *t, size_t len, uint64_t base_off,
			 struct gguf_info *g)
{
	struct tctx *c = calloc(1, sizeof(*c));
	size_t i = 0;

	g->templates++;
	if (!c) {
		/* cannot look: say so rather than pass the template as clean */
		struct tctx tmp = { .key = key ? key : "", .g = g };

		hit(&tmp, "not checked (out of memory)", 0, false);
		return;
	}
	c->key = key ? key : "";
	c->t = t;
	c->len = len;
	c->base = base_off;
	c->g = g;
	while (i < len) {
		size_t j = i, start;
		char kind = 0;

		for (; j + 1 < len; j++)
			if (t[j] == '{' &&
			    (t[j + 1] == '{' || t[j + 1] == '%' || t[j + 1] == '#')) {
				kind = (char)t[j + 1];
				break;
			}
		if (!kind) {
			text_rules(c, i, len);
			break;
		}
		text_rules(c, i, j);
		if (kind == '#') {
			const uint8_t *p = j + 2 < len ? memmem(t + j + 2, len - j - 2, "#}", 2) :
							 NULL;

			i = p ? (size_t)(p - t) + 2 : len;
			continue;
		}
		start = j + 2;
		i = code_region(c, start, kind);
		if (kind == '%') {
			size_t k = start;

			while (k < i && (is_space(t[k]) || t[k] == '-' || t[k] == '+'))
				k++;
			if (i - k >= 3 && !memcmp(t + k, "raw", 3) &&
			    (k + 3 >= i || !is_ident(t[k + 3])))
				i = skip_raw(c, i);
		}
	}
	free(c);
}
