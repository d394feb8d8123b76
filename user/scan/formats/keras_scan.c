/* Keras model configs: finds Lambda layers, functions and classes that the
 * loader would fetch from modules outside Keras, and custom objects.
 *
 * The whole JSON tree is walked, not only "layers": Keras 3 deserialises
 * every {"module", "class_name"} object it meets (initializers, losses in
 * compile_config, activations), so any of them can make it import a module.
 * For legacy HDF5 files the config is found by searching the file's bytes
 * for the JSON text instead of parsing HDF5: h5py stores the root attribute
 * "model_config" as one contiguous string (global heap or inline). */
#include "keras_scan.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/textsan.h"

/* cJSON refuses deeper nesting anyway; this keeps the walk's own recursion
 * bounded the same way whatever cJSON was built with. */
#define KERAS_JSON_MAX_DEPTH 1000
/* The HDF5 search: chunk size, whitespace allowed inside the pattern
 * '{ "class_name" :', and the overlap that keeps a pattern split between
 * chunks findable. */
#define SEARCH_CHUNK (1u << 20)
#define PAT_WS_MAX 16
#define SEARCH_OVERLAP 64
#define BRACE_BUF 65536
/* Candidates that do not parse, and bytes brace-matched in all: past
 * either, a file full of decoys is refused rather than searched forever. */
#define MAX_BAD_CANDIDATES 256
#define BRACE_BUDGET (4ull * KERAS_MAX_CONFIG)

static const uint8_t HDF5_SIG[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

/* Packages of the Keras project itself (Keras 3 module paths and the
 * registered_name prefix "keras_hub>..."). */
static const char *const KERAS_PKGS[] = { "keras", "tf_keras", "keras_hub", "keras_nlp",
					  "keras_cv" };
/* Importing these, or calling anything in them, is code execution. */
static const char *const DANGER_MODS[] = {
	"os",     "subprocess", "builtins", "__builtin__", "posix",      "nt",
	"sys",    "importlib",  "runpy",    "pty",         "socket",     "shutil",
	"ctypes", "pickle",     "marshal",  "code",        "webbrowser",
};

struct keras_walk {
	struct keras_result *r;
	char *err;
	size_t errlen;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Whether the top-level package of a dotted name is in list. */
static bool top_in(const char *mod, const char *const *list, size_t n)
{
	size_t len = strcspn(mod, ".");

	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && !memcmp(list[i], mod, len))
			return true;
	return false;
}

static bool keras_pkg(const char *mod)
{
	return top_in(mod, KERAS_PKGS, sizeof(KERAS_PKGS) / sizeof(KERAS_PKGS[0]));
}

static bool danger_mod(const char *mod)
{
	return top_in(mod, DANGER_MODS, sizeof(DANGER_MODS) / sizeof(DANGER_MODS[0]));
}

static const char *str_item(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void add_hit(struct keras_walk *w, const char *layer, const char *cls, const char *mod,
		    const char *what, bool malicious)
{
	struct keras_result *r = w->r;
	struct keras_hit *h;

	if (r->nhits >= KERAS_MAX_HITS) {
		r->hits_dropped++;
		return;
	}
	h = &r->hits[r->nhits++];
	memset(h, 0, sizeof(*h));
	text_escape(layer ? layer : "", layer ? strlen(layer) : 0, h->layer, sizeof(h->layer));
	text_escape(cls ? cls : "", cls ? strlen(cls) : 0, h->class_name, sizeof(h->class_name));
	text_escape(mod ? mod : "", mod ? strlen(mod) : 0, h->module, sizeof(h->module));
	snprintf(h->what, sizeof(h->what), "%s", what);
	h->malicious = malicious;
}

/* Legacy Keras dumps a lambda as [base64 of marshal(code), defaults,
 * closure] (func_dump: base64 with line breaks). */
static bool marshalled(const cJSON *f)
{
	const char *s;
	size_t n = 0;

	if (!cJSON_IsArray(f) || !(s = cJSON_GetStringValue(cJSON_GetArrayItem(f, 0))))
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/' || s[n] == '=' ||
		      s[n] == '\n' || s[n] == '\r'))
			return false;
	return n >= 4;
}

/* Keras 3: {"class_name": "__lambda__", "config": {"code": base64, ...}}. */
static bool k3_lambda(const cJSON *f)
{
	const char *c = str_item(f, "class_name");

	return c && !strcmp(c, "__lambda__");
}

static void check_lambda(struct keras_walk *w, const cJSON *cfg, const char *layer, const char *mod)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(cfg, "function");
	const cJSON *os = cJSON_GetObjectItemCaseSensitive(cfg, "output_shape");
	bool bad = marshalled(fn) || k3_lambda(fn) || marshalled(os) || k3_lambda(os);

	/* a named function (function_type "function") is looked up, not run
	 * from bytes: still custom code the loader must trust */
	add_hit(w, layer, "Lambda", mod, "lambda-layer", bad);
}

/* Judges one serialised object ({"class_name": ...}). */
static void check_object(struct keras_walk *w, const cJSON *o, const char *cls, const char *layer,
			 bool in_lambda)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(o, "config");
	const char *mod = str_item(o, "module");
	const char *reg = str_item(o, "registered_name");
	const char *gt;
	char fn[128];

	if (mod && !keras_pkg(mod)) {
		/* Keras 3 imports "module" to find the class or function */
		const char *name = cJSON_GetStringValue(cfg);

		if (!strcmp(cls, "function") && name) {
			snprintf(fn, sizeof(fn), "function:%s", name);
			cls = fn;
		}
		add_hit(w, layer, cls, mod, "foreign-module", danger_mod(mod));
		return;
	}
	if (!strcmp(cls, "Lambda")) {
		check_lambda(w, cfg, layer, mod);
		return;
	}
	if (!strcmp(cls, "__lambda__")) {
		if (!in_lambda)
			add_hit(w, layer, cls, mod, "lambda-function", true);
		return;
	}
	/* "Package>Name": registered with register_keras_serializable; only
	 * Keras' own packages come with the loader */
	gt = reg && strchr(reg, '>') ? reg : strchr(cls, '>') ? cls : NULL;
	if (gt) {
		char pkg[64];
		size_t n = (size_t)(strchr(gt, '>') - gt);

		snprintf(pkg, sizeof(pkg), "%.*s", (int)(n < sizeof(pkg) ? n : sizeof(pkg) - 1),
			 gt);
		if (!keras_pkg(pkg))
			add_hit(w, layer, gt, mod, "custom-object", false);
	}
}

static bool layer_key(const char *k)
{
	/* Bidirectional, TimeDistributed and RNN wrappers keep the wrapped
	 * layer (or cell) under these */
	return k && (!strcmp(k, "layer") || !strcmp(k, "forward_layer") ||
		     !strcmp(k, "backward_layer") || !strcmp(k, "cell"));
}

static int walk(struct keras_walk *w, const cJSON *n, int jdepth, int ldepth, const char *layer,
		bool is_layer, bool in_lambda)
{
	const cJSON *c;
	const char *cls;
	int rc;

	if (jdepth > KERAS_JSON_MAX_DEPTH) {
		seterr(w->err, w->errlen, "config nested deeper than %d", KERAS_JSON_MAX_DEPTH);
		return -EINVAL;
	}
	if (cJSON_IsArray(n)) {
		cJSON_ArrayForEach(c, n)
			if ((rc = walk(w, c, jdepth + 1, ldepth, layer, is_layer, in_lambda)))
				return rc;
		return 0;
	}
	if (!cJSON_IsObject(n))
		return 0;
	if ((cls = str_item(n, "class_name"))) {
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(n, "config");
		const char *name = str_item(cfg, "name");

		if (is_layer || jdepth == 0) {
			/* the root is the model itself, not one of its layers */
			w->r->layers += is_layer;
			if (++ldepth > KERAS_MAX_DEPTH) {
				seterr(w->err, w->errlen, "layers nested deeper than %d",
				       KERAS_MAX_DEPTH);
				return -EINVAL;
			}
			if (name)
				layer = name;
		}
		check_object(w, n, cls, layer, in_lambda);
		if (!strcmp(cls, "Lambda"))
			in_lambda = true;
	}
	cJSON_ArrayForEach(c, n) {
		bool lay = (cJSON_IsArray(c) && !strcmp(c->string, "layers")) ||
			   (cJSON_IsObject(c) && layer_key(c->string));

		if ((rc = walk(w, c, jdepth + 1, ldepth, layer, lay, in_lambda)))
			return rc;
	}
	return 0;
}

/* Parses and checks one config without resetting r. Returns 0, -EINVAL
 * (err set; *parsed says whether it was a config at all), or -ENOMEM. */
static int check_into(const char *json, size_t len, struct keras_result *r, char *err,
		      size_t errlen, bool *parsed)
{
	struct keras_walk w = { .r = r, .err = err, .errlen = errlen };
	cJSON *root;
	int rc;

	*parsed = false;
	if (len > KERAS_MAX_CONFIG) {
		seterr(err, errlen, "config of %zu bytes above the limit", len);
		return -EINVAL;
	}
	if (!(root = cJSON_ParseWithLength(json, len))) {
		/* cJSON does not tell a parse error from a failed allocation */
		seterr(err, errlen, "config is not valid JSON");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root) || !str_item(root, "class_name")) {
		seterr(err, errlen, "not a Keras model config (no class_name)");
		cJSON_Delete(root);
		return -EINVAL;
	}
	r->config_found = *parsed = true;
	rc = walk(&w, root, 0, 0, NULL, false, false);
	cJSON_Delete(root);
	return rc;
}

int keras_check_config(const char *json, size_t len, struct keras_result *r, char *err,
		       size_t errlen)
{
	bool parsed;

	memset(r, 0, sizeof(*r));
	seterr(err, errlen, "%s", "");
	return check_into(json, len, r, err, errlen, &parsed);
}

/* ---- HDF5 ------------------------------------------------------------- */

static bool ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* '{' ws* '"class_name"' ws* ':' at p (n bytes there). */
static bool pattern_at(const uint8_t *p, size_t n)
{
	static const char key[] = "\"class_name\"";
	size_t i = 1, k;

	for (k = 0; i < n && k < PAT_WS_MAX && ws(p[i]); i++, k++)
		;
	if (n - i < sizeof(key) - 1 || memcmp(p + i, key, sizeof(key) - 1))
		return false;
	i += sizeof(key) - 1;
	for (k = 0; i < n && k < PAT_WS_MAX && ws(p[i]); i++, k++)
		;
	return i < n && p[i] == ':';
}

/* Length of the JSON object starting at off (its '{'): braces matched
 * outside strings. 0 when it does not close (NUL bytes, which JSON text
 * never holds, end it early), -errno on a read error. */
static int64_t object_len(const struct byte_src *s, uint64_t off, uint64_t *budget, uint8_t *buf)
{
	uint64_t pos = off, max = s->size - off;
	int depth = 0;
	bool in_str = false, esc = false;

	if (max > KERAS_MAX_CONFIG)
		max = KERAS_MAX_CONFIG;
	while (pos - off < max) {
		size_t want = BRACE_BUF;
		ssize_t got;

		if (want > max - (pos - off))
			want = (size_t)(max - (pos - off));
		if ((got = bsrc_read(s, pos, buf, want)) <= 0)
			return got < 0 ? got : 0;
		for (ssize_t i = 0; i < got; i++) {
			uint8_t c = buf[i];

			if (!*budget)
				return 0;
			--*budget;
			if (!c)
				return 0;
			if (in_str) {
				if (esc)
					esc = false;
				else if (c == '\\')
					esc = true;
				else if (c == '"')
					in_str = false;
			} else if (c == '"') {
				in_str = true;
			} else if (c == '{') {
				if (++depth > KERAS_JSON_MAX_DEPTH)
					return 0;
			} else if (c == '}' && --depth == 0) {
				return (int64_t)(pos + (uint64_t)i + 1 - off);
			}
		}
		pos += (uint64_t)got;
	}
	return 0;
}

static bool has_hdf5_sig(const struct byte_src *s, uint64_t limit)
{
	uint8_t b[sizeof(HDF5_SIG)];

	/* the superblock sits at 0 or after a user block of 512, 1024, ... */
	for (uint64_t off = 0; off < limit; off = off ? off * 2 : 512)
		if (bsrc_read(s, off, b, sizeof(b)) == (ssize_t)sizeof(b) &&
		    !memcmp(b, HDF5_SIG, sizeof(b)))
			return true;
	return false;
}

struct search {
	const struct byte_src *s;
	struct keras_result *r;
	char *err;
	size_t errlen;
	uint64_t budget;
	unsigned bad;
	uint8_t *brace;
};

/* Tries the candidate at off. Returns 1 and its end when it parsed (and
 * was checked), 0 when it is no config, or an error. */
static int candidate(struct search *c, uint64_t off, uint64_t *end)
{
	char e[128];
	bool parsed;
	uint8_t *json;
	int64_t n;
	int rc;

	if (!c->brace && !(c->brace = malloc(BRACE_BUF)))
		return -ENOMEM;
	n = object_len(c->s, off, &c->budget, c->brace);
	if (n < 0) {
		seterr(c->err, c->errlen, "read error at offset %llu", (unsigned long long)off);
		return (int)n;
	}
	if (n == 0)
		return 0;
	if ((rc = bsrc_load(c->s, off, (size_t)n, &json))) {
		if (rc != -ENOMEM)
			seterr(c->err, c->errlen, "read error at offset %llu",
			       (unsigned long long)off);
		return rc;
	}
	rc = check_into((const char *)json, (size_t)n, c->r, e, sizeof(e), &parsed);
	free(json);
	if (rc == -EINVAL && !parsed)
		return 0; /* text that only looked like a config */
	if (rc) {
		if (rc != -ENOMEM)
			seterr(c->err, c->errlen, "model config at offset %llu: %s",
			       (unsigned long long)off, e);
		return rc;
	}
	*end = off + (uint64_t)n;
	return 1;
}

int keras_scan_hdf5(const struct byte_src *s, struct keras_result *r, char *err, size_t errlen)
{
	struct search c = { .s = s, .r = r, .err = err, .errlen = errlen, .budget = BRACE_BUDGET };
	uint64_t limit = s->size < HDF5_CONFIG_SEARCH ? s->size : HDF5_CONFIG_SEARCH, pos = 0;
	uint8_t *buf;
	size_t chunk;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	seterr(err, errlen, "%s", "");
	if (!has_hdf5_sig(s, limit)) {
		seterr(err, errlen, "not an HDF5 file (no signature)");
		return -EINVAL;
	}
	/* a small file needs no megabyte of buffer */
	chunk = s->size < SEARCH_CHUNK ? (size_t)s->size : SEARCH_CHUNK;
	if (!(buf = malloc(chunk))) {
		rc = -ENOMEM;
		goto out;
	}
	while (pos < limit) {
		ssize_t n = bsrc_read(s, pos, buf, chunk);
		uint64_t next, end = 0;
		size_t scan, i = 0;
		const uint8_t *p;

		if (n < 0) {
			seterr(err, errlen, "read error at offset %llu", (unsigned long long)pos);
			rc = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		/* a pattern starting in the overlap is found by the next chunk */
		scan = pos + (uint64_t)n >= s->size || (size_t)n < chunk || n <= SEARCH_OVERLAP ?
			       (size_t)n :
			       (size_t)n - SEARCH_OVERLAP;
		if (scan > limit - pos)
			scan = (size_t)(limit - pos);
		next = pos + scan;
		while (i < scan && (p = memchr(buf + i, '{', scan - i))) {
			i = (size_t)(p - buf);
			if (!pattern_at(p, (size_t)n - i)) {
				i++;
				continue;
			}
			rc = candidate(&c, pos + i, &end);
			if (rc < 0)
				goto out;
			if (rc == 1) {
				/* objects inside the config are not configs of their own */
				next = end;
				break;
			}
			if (++c.bad > MAX_BAD_CANDIDATES || !c.budget) {
				seterr(err, errlen,
				       "gave up after %u config-like texts that do not parse",
				       c.bad);
				rc = -EINVAL;
				goto out;
			}
			i++;
		}
		pos = next;
	}
	rc = 0;
out:
	free(buf);
	free(c.brace);
	return rc;
}
