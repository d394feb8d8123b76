/* Model origin from a cache path: Hugging Face hub, torch hub, Ollama. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hfcache.h"

/* One path component: [start, start + len). */
struct comp {
	size_t start, len;
};

/* The component at or after *off (slashes skipped); false at the end. */
static bool next_comp(const char *p, size_t plen, size_t *off, struct comp *c)
{
	size_t i = *off;

	while (i < plen && p[i] == '/')
		i++;
	if (i >= plen)
		return false;
	c->start = i;
	while (i < plen && p[i] != '/')
		i++;
	c->len = i - c->start;
	*off = i;
	return true;
}

/* The last n components, last one in c[n - 1]. False if the path has
 * fewer, or ends with '/' (a directory, not a file). */
static bool last_comps(const char *p, size_t plen, struct comp *c, size_t n)
{
	size_t end = plen;

	if (plen == 0 || p[plen - 1] == '/')
		return false;
	for (size_t k = n; k-- > 0;) {
		size_t s = end;

		while (s > 0 && p[s - 1] != '/')
			s--;
		if (s == end)
			return false;
		c[k].start = s;
		c[k].len = end - s;
		while (s > 0 && p[s - 1] == '/')
			s--;
		if (k > 0 && s == 0)
			return false;
		end = s;
	}
	return true;
}

static bool comp_is(const char *p, const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->len == n && memcmp(p + c->start, lit, n) == 0;
}

/* Lower-case hex only: that is how the hub, torch and Ollama write them. */
static bool is_lhex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return n > 0;
}

static bool is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

static bool part_valid(const char *s, size_t n)
{
	if (n == 0 || n > HF_PART_MAX || !is_word(s[0]) || !is_word(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_word(s[i]) && s[i] != '-' && s[i] != '.')
			return false;
		if (i > 0 && (s[i] == '-' || s[i] == '.') && s[i - 1] == s[i])
			return false; /* "--" or ".." */
	}
	return true;
}

bool hf_repo_id_valid(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);

	if (len >= 4 && memcmp(s + len - 4, ".git", 4) == 0)
		return false;
	if (!slash)
		return part_valid(s, len);
	return part_valid(s, (size_t)(slash - s)) &&
	       part_valid(slash + 1, len - (size_t)(slash - s) - 1);
}

/* "org--name" (or a legacy "name") from a cache folder name, after its
 * type prefix. huggingface_hub joins [type + "s", *repo_id.split("/")]
 * with "--"; as no part may contain "--", the first "--" is the slash. */
static bool folder_repo(const char *s, size_t n, char *out)
{
	char id[HF_REPO_ID_MAX];
	size_t sep = n;

	if (n == 0 || n >= sizeof(id))
		return false;
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '-' && s[i + 1] == '-') {
			sep = i;
			break;
		}
	if (sep == n) {
		memcpy(id, s, n);
		id[n] = 0;
	} else {
		memcpy(id, s, sep);
		id[sep] = '/';
		memcpy(id + sep + 1, s + sep + 2, n - sep - 2);
		id[n - 1] = 0;
	}
	if (!hf_repo_id_valid(id, strlen(id)))
		return false;
	memcpy(out, id, strlen(id) + 1);
	return true;
}

static const struct {
	const char *prefix;
	enum hf_repo_type type;
} hf_prefixes[] = {
	{ "models--", HF_REPO_MODEL },
	{ "datasets--", HF_REPO_DATASET },
	{ "spaces--", HF_REPO_SPACE },
};

/* The rest of the path after a snapshot revision must be a file inside
 * it: no "." or ".." component (it would point elsewhere), no trailing
 * slash. */
static bool inside_snapshot(const char *p, size_t plen, size_t off)
{
	struct comp c;
	bool any = false;

	if (plen == 0 || p[plen - 1] == '/')
		return false;
	while (next_comp(p, plen, &off, &c)) {
		if (comp_is(p, &c, ".") || comp_is(p, &c, ".."))
			return false;
		any = true;
	}
	return any;
}

/* The repo folder is the component c; what follows must be
 * snapshots/<40 hex>/<file...> or blobs/<40 or 64 hex> (last). */
static bool hf_at(const char *p, size_t plen, const struct comp *c, struct model_origin *o)
{
	struct comp n1, n2, extra;
	size_t off = c->start + c->len, pl = 0;
	enum hf_repo_type type = HF_REPO_NONE;

	for (size_t i = 0; i < sizeof(hf_prefixes) / sizeof(hf_prefixes[0]); i++) {
		pl = strlen(hf_prefixes[i].prefix);
		if (c->len > pl && memcmp(p + c->start, hf_prefixes[i].prefix, pl) == 0) {
			type = hf_prefixes[i].type;
			break;
		}
	}
	if (type == HF_REPO_NONE)
		return false;
	memset(o, 0, sizeof(*o));
	if (!folder_repo(p + c->start + pl, c->len - pl, o->repo))
		return false;
	if (!next_comp(p, plen, &off, &n1) || !next_comp(p, plen, &off, &n2))
		return false;
	if (comp_is(p, &n1, "snapshots")) {
		size_t rest = off;

		if (n2.len != HF_REV_LEN || !is_lhex(p + n2.start, n2.len) ||
		    !inside_snapshot(p, plen, rest))
			return false;
		memcpy(o->revision, p + n2.start, HF_REV_LEN);
		o->revision_from = HF_REV_SNAPSHOT;
		while (rest < plen && p[rest] == '/')
			rest++;
		if (plen - rest < sizeof(o->file))
			memcpy(o->file, p + rest, plen - rest);
	} else if (comp_is(p, &n1, "blobs")) {
		if ((n2.len != 40 && n2.len != 64) || !is_lhex(p + n2.start, n2.len) ||
		    next_comp(p, plen, &off, &extra) || p[plen - 1] == '/')
			return false;
		/* LFS files are stored under their sha256, plain git files
		 * under their git blob sha1 (40): only the first is ours. */
		if (n2.len == 64)
			memcpy(o->name_sha256, p + n2.start, 64);
	} else {
		return false;
	}
	o->source = MSRC_HUGGINGFACE;
	o->repo_type = type;
	o->repo_dir_len = c->start + c->len;
	return true;
}

/* The innermost repo folder wins: a cache may sit below a directory that
 * happens to be named models--x. */
static bool parse_hf(const char *p, size_t plen, struct model_origin *o)
{
	struct model_origin tmp;
	struct comp c;
	size_t off = 0;
	bool found = false;

	while (next_comp(p, plen, &off, &c)) {
		if (p[c.start] != 'm' && p[c.start] != 'd' && p[c.start] != 's')
			continue;
		if (hf_at(p, plen, &c, &tmp)) {
			*o = tmp;
			found = true;
		}
	}
	return found;
}

/* torch.hub names checkpoints <name>-<sha256 prefix>.<ext> and checks the
 * prefix with check_hash: the first '-' followed by hex digits and a '.'. */
static void torch_hash_prefix(const char *f, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1;

		if (f[i] != '-')
			continue;
		while (j < n && is_lhex(f + j, 1))
			j++;
		if (j < n && f[j] == '.') {
			/* shorter prefixes are too likely to be a version number */
			if (j - i - 1 >= 8 && j - i - 1 <= 64)
				memcpy(out, f + i + 1, j - i - 1);
			return;
		}
	}
}

static bool parse_torch_hub(const char *p, size_t plen, struct model_origin *o)
{
	struct comp c[3];

	if (!last_comps(p, plen, c, 3) || !comp_is(p, &c[0], "hub") ||
	    !comp_is(p, &c[1], "checkpoints") || c[2].len >= sizeof(o->file))
		return false;
	memset(o, 0, sizeof(*o));
	o->source = MSRC_TORCH_HUB;
	memcpy(o->file, p + c[2].start, c[2].len);
	torch_hash_prefix(o->file, c[2].len, o->name_sha256);
	return true;
}

/* Ollama stores layers as blobs/sha256-<hex>, named by their digest. */
static bool parse_ollama(const char *p, size_t plen, struct model_origin *o)
{
	struct comp c[2];

	if (!last_comps(p, plen, c, 2) || !comp_is(p, &c[0], "blobs") || c[1].len != 7 + 64 ||
	    memcmp(p + c[1].start, "sha256-", 7) != 0 || !is_lhex(p + c[1].start + 7, 64))
		return false;
	memset(o, 0, sizeof(*o));
	o->source = MSRC_OLLAMA;
	memcpy(o->name_sha256, p + c[1].start + 7, 64);
	return true;
}

bool hfcache_parse(const char *path, struct model_origin *o)
{
	size_t plen;

	memset(o, 0, sizeof(*o));
	if (!path)
		return false;
	plen = strlen(path);
	if (parse_hf(path, plen, o) || parse_torch_hub(path, plen, o) ||
	    parse_ollama(path, plen, o))
		return true;
	memset(o, 0, sizeof(*o));
	return false;
}

/* refs/main holds the 40-hex commit the branch pointed to when the hub
 * last resolved it. Hostile caches may put a FIFO or a symlink there. */
static void read_refs_main(const char *path, struct model_origin *o)
{
	char ref[PATH_MAX], buf[65];
	struct stat st;
	ssize_t n;
	int fd;

	if (o->repo_dir_len == 0 || o->repo_dir_len + sizeof("/refs/main") > sizeof(ref))
		return;
	memcpy(ref, path, o->repo_dir_len);
	memcpy(ref + o->repo_dir_len, "/refs/main", sizeof("/refs/main"));
	fd = open(ref, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n >= HF_REV_LEN && is_lhex(buf, HF_REV_LEN) &&
		    (n == HF_REV_LEN || buf[HF_REV_LEN] == '\n' || buf[HF_REV_LEN] == '\r')) {
			memcpy(o->revision, buf, HF_REV_LEN);
			o->revision[HF_REV_LEN] = 0;
			o->revision_from = HF_REV_REFS_MAIN;
		}
	}
	close(fd);
}

/* snapshots/<rev>/<file> is a symlink to ../../blobs/<etag>. */
static void read_snapshot_link(const char *path, struct model_origin *o)
{
	char target[PATH_MAX];
	struct comp c[2];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n <= 0)
		return;
	target[n] = 0;
	if (last_comps(target, (size_t)n, c, 2) && comp_is(target, &c[0], "blobs") &&
	    c[1].len == 64 && is_lhex(target + c[1].start, 64))
		memcpy(o->name_sha256, target + c[1].start, 64);
}

void hfcache_enrich(const char *path, struct model_origin *o)
{
	if (!path || o->source != MSRC_HUGGINGFACE)
		return;
	if (o->revision_from == HF_REV_SNAPSHOT && !o->name_sha256[0])
		read_snapshot_link(path, o);
	if (!o->revision[0])
		read_refs_main(path, o);
}

const char *model_source_name(enum model_source s)
{
	switch (s) {
	case MSRC_HUGGINGFACE:
		return "huggingface";
	case MSRC_TORCH_HUB:
		return "torch-hub";
	case MSRC_OLLAMA:
		return "ollama";
	default:
		return "";
	}
}

const char *hf_repo_type_name(enum hf_repo_type t)
{
	switch (t) {
	case HF_REPO_MODEL:
		return "model";
	case HF_REPO_DATASET:
		return "dataset";
	case HF_REPO_SPACE:
		return "space";
	default:
		return "";
	}
}

const char *hf_rev_from_name(enum hf_rev_from f)
{
	switch (f) {
	case HF_REV_SNAPSHOT:
		return "snapshot";
	case HF_REV_REFS_MAIN:
		return "refs/main";
	default:
		return "";
	}
}
