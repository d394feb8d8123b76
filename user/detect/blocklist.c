/* Blocklist file parsing (cJSON) and lookup (one open-addressing hash set
 * keyed by kind + lower-cased id). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklist.h"
#include "collect/hfcache.h"
#include "lib/safeopen.h"
#include "lib/textsan.h"

void blocklist_init(struct blocklist *bl)
{
	memset(bl, 0, sizeof(*bl));
}

void blocklist_free(struct blocklist *bl)
{
	for (size_t i = 0; i < bl->n; i++) {
		free(bl->entries[i].text);
		free(bl->entries[i].reason);
		free(bl->entries[i].key);
	}
	free(bl->entries);
	free(bl->slots);
	blocklist_init(bl);
}

size_t blocklist_count(const struct blocklist *bl)
{
	return bl->n;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static const struct bl_entry *find_key(const struct blocklist *bl, const char *key)
{
	if (!bl || !bl->nslots)
		return NULL;
	for (size_t i = fnv1a(key) & (bl->nslots - 1);; i = (i + 1) & (bl->nslots - 1)) {
		uint32_t s = bl->slots[i];

		if (!s)
			return NULL;
		if (strcmp(bl->entries[s - 1].key, key) == 0)
			return &bl->entries[s - 1];
	}
}

static void put_slot(struct blocklist *bl, uint32_t idx)
{
	size_t i = fnv1a(bl->entries[idx].key) & (bl->nslots - 1);

	while (bl->slots[i])
		i = (i + 1) & (bl->nslots - 1);
	bl->slots[i] = idx + 1;
}

/* Keeps the table at most half full, so probes stay short. */
static int grow(struct blocklist *bl)
{
	if (bl->n == bl->cap) {
		size_t cap = bl->cap ? bl->cap * 2 : 64;
		struct bl_entry *e = realloc(bl->entries, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		bl->entries = e;
		bl->cap = cap;
	}
	if ((bl->n + 1) * 2 > bl->nslots) {
		size_t ns = bl->nslots ? bl->nslots * 2 : 128;
		uint32_t *s = calloc(ns, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(bl->slots);
		bl->slots = s;
		bl->nslots = ns;
		for (size_t i = 0; i < bl->n; i++)
			put_slot(bl, (uint32_t)i);
	}
	return 0;
}

static char *lower_dup(char prefix, const char *s, size_t n)
{
	char *k = malloc(n + 2);

	if (!k)
		return NULL;
	k[0] = prefix;
	for (size_t i = 0; i < n; i++)
		k[i + 1] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	k[n + 1] = 0;
	return k;
}

static const char kind_letter[] = { [BL_SHA256] = 's', [BL_REPO] = 'r', [BL_ORG] = 'o' };

/* Takes ownership of text; reason is copied. */
static int add_entry(struct blocklist *bl, enum bl_kind kind, char *text, size_t keylen,
		     const char *reason, unsigned index)
{
	struct bl_entry e = { .kind = kind, .text = text, .index = index };

	e.key = lower_dup(kind_letter[kind], text, keylen);
	if (!e.key) {
		free(text);
		return -ENOMEM;
	}
	if (find_key(bl, e.key)) {
		bl->duplicates++;
		free(e.key);
		free(text);
		return 0;
	}
	if (reason && !(e.reason = strdup(reason))) {
		free(e.key);
		free(text);
		return -ENOMEM;
	}
	if (grow(bl)) {
		free(e.reason);
		free(e.key);
		free(text);
		return -ENOMEM;
	}
	bl->entries[bl->n] = e;
	put_slot(bl, (uint32_t)bl->n);
	bl->n++;
	return 0;
}

/* Error context: "<file>: <list>[<index>]: " or "<file>: ". */
struct ctx {
	const char *name;
	const char *list;
	unsigned index;
	char *err;
	size_t errlen;
};

static int fail(const struct ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct ctx *c, int rc, const char *fmt, ...)
{
	char msg[512], name[256];
	va_list ap;

	if (!c->err || !c->errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_escape(c->name, strlen(c->name), name, sizeof(name));
	if (c->list)
		snprintf(c->err, c->errlen, "%s: %s[%u]: %s", name, c->list, c->index, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", name, msg);
	return rc;
}

/* A value from the file, escaped and shortened for a message. */
static const char *quoted(const char *s, char *out, size_t len)
{
	char esc[64 * 4 + 1];
	size_t n = strlen(s);

	text_escape(s, n > 64 ? 64 : n, esc, sizeof(esc));
	snprintf(out, len, "\"%s%s\"", esc, n > 64 ? "..." : "");
	return out;
}

static const char *json_type_name(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsBool(j))
		return "a boolean";
	if (cJSON_IsNull(j))
		return "null";
	if (cJSON_IsArray(j))
		return "an array";
	if (cJSON_IsObject(j))
		return "an object";
	return "an invalid value";
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static int add_sha256(struct blocklist *bl, const struct ctx *c, const char *s, const char *reason)
{
	char q[300];
	char *text;
	size_t n;

	/* advisories often write digests as "sha256:<hex>" */
	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	n = strlen(s);
	if (n != 64)
		return fail(c, -EINVAL, "expected 64 hex digits, got %zu characters (%s)", n,
			    quoted(s, q, sizeof(q)));
	for (size_t i = 0; i < 64; i++)
		if (!is_hex(s[i]))
			return fail(c, -EINVAL, "character %zu is not a hex digit (%s)", i + 1,
				    quoted(s, q, sizeof(q)));
	text = strndup(s, 64);
	if (!text)
		return -ENOMEM;
	for (char *t = text; *t; t++)
		if (*t >= 'A' && *t <= 'F')
			*t = (char)(*t - 'A' + 'a');
	return add_entry(bl, BL_SHA256, text, 64, reason, c->index);
}

static int add_repo(struct blocklist *bl, const struct ctx *c, const char *s, const char *reason)
{
	size_t n = strlen(s);
	char q[300], *text;
	enum bl_kind kind = BL_REPO;
	size_t keylen = n;

	if (n >= 2 && strcmp(s + n - 2, "/*") == 0 && !memchr(s, '/', n - 2)) {
		kind = BL_ORG;
		keylen = n - 2;
	}
	if (memchr(s, '*', keylen))
		return fail(c, -EINVAL, "%s: only a whole namespace can be matched, as \"org/*\"",
			    quoted(s, q, sizeof(q)));
	if (!hf_repo_id_valid(s, keylen))
		return fail(c, -EINVAL,
			    "%s is not a Hugging Face repo id (expected \"org/name\", \"name\" or \"org/*\")",
			    quoted(s, q, sizeof(q)));
	text = strdup(s);
	if (!text)
		return -ENOMEM;
	return add_entry(bl, kind, text, keylen, reason, c->index);
}

/* One list item: "<id>" or {"<idkey>": "<id>", "reason": "...", "comment": "..."}. */
static int parse_item(struct blocklist *bl, const struct ctx *c, const cJSON *item, bool sha)
{
	const char *idkey = sha ? "sha256" : "repo";
	const char *id = NULL, *reason = NULL;
	unsigned seen = 0;
	const cJSON *k;

	if (cJSON_IsString(item)) {
		id = item->valuestring;
	} else if (cJSON_IsObject(item)) {
		cJSON_ArrayForEach(k, item) {
			char q[300];
			unsigned bit;

			if (strcmp(k->string, idkey) == 0)
				bit = 1;
			else if (strcmp(k->string, "reason") == 0)
				bit = 2;
			else if (strcmp(k->string, "comment") == 0)
				bit = 4;
			else
				return fail(c, -EINVAL,
					    "unknown key %s (expected %s, reason, comment)",
					    quoted(k->string, q, sizeof(q)), idkey);
			if (seen & bit)
				return fail(c, -EINVAL, "duplicate key \"%s\"", k->string);
			seen |= bit;
			if (!cJSON_IsString(k))
				return fail(c, -EINVAL, "\"%s\" is %s, expected a string",
					    k->string, json_type_name(k));
			if (bit == 1)
				id = k->valuestring;
			else if (bit == 2)
				reason = k->valuestring;
		}
		if (!id)
			return fail(c, -EINVAL, "object without \"%s\"", idkey);
		if (reason && strlen(reason) > BLOCKLIST_MAX_REASON)
			return fail(c, -EINVAL, "reason longer than %d bytes",
				    BLOCKLIST_MAX_REASON);
	} else {
		return fail(c, -EINVAL, "expected a string or an object, got %s",
			    json_type_name(item));
	}
	return sha ? add_sha256(bl, c, id, reason) : add_repo(bl, c, id, reason);
}

static int parse_list(struct blocklist *bl, struct ctx *c, const cJSON *arr, bool sha)
{
	const cJSON *item;
	int rc;

	if (!cJSON_IsArray(arr))
		return fail(c, -EINVAL, "\"%s\" is %s, expected an array", arr->string,
			    json_type_name(arr));
	c->list = arr->string;
	c->index = 0;
	cJSON_ArrayForEach(item, arr) {
		if (bl->n >= BLOCKLIST_MAX_ENTRIES)
			return fail(c, -EINVAL, "more than %u entries", BLOCKLIST_MAX_ENTRIES);
		rc = parse_item(bl, c, item, sha);
		if (rc)
			return rc;
		c->index++;
	}
	c->list = NULL;
	return 0;
}

/* "line L, column C" of a byte offset, for JSON syntax errors. */
static void position(const char *text, size_t off, char *out, size_t len)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(out, len, "line %u, column %u", line, col);
}

static int parse_root(struct blocklist *bl, struct ctx *c, const cJSON *root)
{
	unsigned seen = 0;
	const cJSON *k;
	int rc;

	if (!cJSON_IsObject(root))
		return fail(c, -EINVAL, "expected a JSON object at the top, got %s",
			    json_type_name(root));
	cJSON_ArrayForEach(k, root) {
		static const char *const keys[] = { "sha256", "repos", "comment", "version" };
		unsigned bit = 0;
		char q[300];

		for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k->string, keys[i]) == 0)
				bit = 1u << i;
		if (!bit)
			return fail(c, -EINVAL,
				    "unknown key %s (expected sha256, repos, comment, version)",
				    quoted(k->string, q, sizeof(q)));
		if (seen & bit)
			return fail(c, -EINVAL, "duplicate key \"%s\"", k->string);
		seen |= bit;
		if (bit == 1 || bit == 2) {
			rc = parse_list(bl, c, k, bit == 1);
			if (rc)
				return rc;
		} else if (bit == 4 && !cJSON_IsString(k)) {
			return fail(c, -EINVAL, "\"comment\" is %s, expected a string",
				    json_type_name(k));
		} else if (bit == 8 && (!cJSON_IsNumber(k) || k->valuedouble != 1)) {
			return fail(c, -EINVAL, "\"version\" must be 1");
		}
	}
	return 0;
}

int blocklist_parse(struct blocklist *bl, const char *name, const char *text, size_t len, char *err,
		    size_t errlen)
{
	struct ctx c = { .name = name ? name : "blocklist", .err = err, .errlen = errlen };
	const char *end = NULL, *nul;
	char where[64];
	cJSON *root;
	int rc;

	blocklist_free(bl);
	if (err && errlen)
		err[0] = 0;
	if (len > BLOCKLIST_MAX_BYTES)
		return fail(&c, -EFBIG, "larger than %u bytes", BLOCKLIST_MAX_BYTES);
	nul = memchr(text, 0, len);
	if (nul) {
		position(text, (size_t)(nul - text), where, sizeof(where));
		return fail(&c, -EINVAL, "%s: NUL byte in the file", where);
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;

		position(text, off, where, sizeof(where));
		return fail(&c, -EINVAL, "%s: not valid JSON", where);
	}
	while (end && end < text + len &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end && end < text + len) {
		position(text, (size_t)(end - text), where, sizeof(where));
		cJSON_Delete(root);
		return fail(&c, -EINVAL, "%s: unexpected data after the JSON object", where);
	}
	rc = parse_root(bl, &c, root);
	cJSON_Delete(root);
	if (rc) {
		if (rc == -ENOMEM)
			fail(&c, rc, "out of memory");
		blocklist_free(bl);
	}
	return rc;
}

int blocklist_load(struct blocklist *bl, const char *path, char *err, size_t errlen)
{
	struct ctx c = { .name = path, .err = err, .errlen = errlen };
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, rc;

	blocklist_free(bl);
	/* whoever can write it can clear it: the checks of a rules file */
	fd = safeopen_config(path, err, errlen);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		rc = -errno;
		close(fd);
		return fail(&c, rc, "cannot stat: %s", strerror(-rc));
	}
	if ((uint64_t)st.st_size > BLOCKLIST_MAX_BYTES) {
		close(fd);
		return fail(&c, -EFBIG, "larger than %u bytes", BLOCKLIST_MAX_BYTES);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return fail(&c, -ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			fail(&c, rc, "read failed: %s", strerror(-rc));
			free(buf);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	rc = blocklist_parse(bl, path, buf, got, err, errlen);
	free(buf);
	return rc;
}

const struct bl_entry *blocklist_match_sha256(const struct blocklist *bl, const char *hex)
{
	char key[66];

	if (!bl || !bl->n || !hex || strlen(hex) != 64)
		return NULL;
	key[0] = kind_letter[BL_SHA256];
	for (size_t i = 0; i < 64; i++) {
		char ch = hex[i];

		if (!is_hex(ch))
			return NULL;
		key[i + 1] = (ch >= 'A' && ch <= 'F') ? (char)(ch - 'A' + 'a') : ch;
	}
	key[65] = 0;
	return find_key(bl, key);
}

const struct bl_entry *blocklist_match_repo(const struct blocklist *bl, const char *repo_id)
{
	char key[HF_REPO_ID_MAX + 1];
	const struct bl_entry *e;
	const char *slash;
	size_t n;

	if (!bl || !bl->n || !repo_id || !repo_id[0])
		return NULL;
	n = strnlen(repo_id, HF_REPO_ID_MAX);
	if (n >= HF_REPO_ID_MAX)
		return NULL;
	key[0] = kind_letter[BL_REPO];
	for (size_t i = 0; i < n; i++)
		key[i + 1] = (repo_id[i] >= 'A' && repo_id[i] <= 'Z') ?
				     (char)(repo_id[i] - 'A' + 'a') :
				     repo_id[i];
	key[n + 1] = 0;
	e = find_key(bl, key);
	slash = strchr(repo_id, '/');
	if (!e && slash) {
		key[0] = kind_letter[BL_ORG];
		key[slash - repo_id + 1] = 0;
		e = find_key(bl, key);
	}
	return e;
}
