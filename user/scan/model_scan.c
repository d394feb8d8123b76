/* Model scanner: dispatch by magic bytes, the leaf formats only it meets,
 * the verdict. Findings are kept by scan_findings.c, pickles and Keras
 * configs (also met inside archives) read by scan_leaf.c, archives (zip,
 * tar, legacy torch) opened by scan_archive.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan_archive.h"
#include "scan_findings.h"
#include "scan_leaf.h"
#include "lib/zinflate.h"
#include "scan/formats/gguf.h"
#include "scan/formats/npy.h"
#include "scan/formats/safetensors.h"

const struct scan_limits scan_default_limits = {
	.max_member = 512ull << 20,
	.max_nesting = 3,
	.max_members = 100000,
	.max_findings = 1000,
	.max_inflate = 1ull << 30,
	.max_ms = 60000,
};

/* ---- pickles ------------------------------------------------------------- */

/* The first n bytes of v: where they are for a view of memory (a member
 * already inflated is not copied again: an archive of big members costs
 * one buffer each, not two), else read into *owned, which the caller frees. */
static int view_bytes(const struct byte_src *v, size_t n, const uint8_t **p, uint8_t **owned)
{
	int rc;

	*owned = NULL;
	if (v->fd >= 0 || !v->mem) {
		rc = bsrc_load(v, 0, n, owned);
		*p = *owned;
		return rc;
	}
	if (budget_time_up(v->budget))
		return -ETIME;
	if (n > v->size)
		return -ERANGE;
	if (v->bytes_read)
		*v->bytes_read += n;
	*p = v->mem + v->base;
	return 0;
}

/* Loads a view (at most max_member bytes) and walks it as a pickle. */
static void scan_pickle_view(struct scan_ctx *c, const struct byte_src *v, const char *member,
			     const struct pickle_profile *profile, int mode)
{
	uint64_t n = v->size < c->lim->max_member ? v->size : c->lim->max_member;
	const uint8_t *buf;
	uint8_t *owned;
	int rc = view_bytes(v, (size_t)n, &buf, &owned);

	if (rc) {
		if (rc == -ENOMEM)
			c->oom = true;
		else
			scan_fail(c, member, "pickle could not be read: %s", strerror(-rc));
		return;
	}
	scan_pickle_buf(c, buf, (size_t)n, 0, member, profile, mode, n < v->size);
	free(owned);
}

/* ---- leaf formats ---------------------------------------------------------- */

static void scan_npy(struct scan_ctx *c, const struct byte_src *v, const char *member,
		     const struct pickle_profile *profile)
{
	struct npy_header h;
	char err[SCAN_DETAIL_MAX];
	struct byte_src data;

	if (npy_parse(v, &h, err, sizeof(err))) {
		scan_fail(c, member, "%s", err);
		return;
	}
	if (!h.has_object)
		return;
	/* np.load(allow_pickle=True) unpickles what follows the header */
	data = bsrc_sub(v, h.data_off, v->size - h.data_off);
	uint64_t n = data.size < c->lim->max_member ? data.size : c->lim->max_member;
	const uint8_t *buf;
	uint8_t *owned;
	int rc = view_bytes(&data, (size_t)n, &buf, &owned);

	if (rc) {
		c->oom |= rc == -ENOMEM;
		return;
	}
	scan_pickle_buf(c, buf, (size_t)n, h.data_off, member, profile, 0, n < data.size);
	free(owned);
}

/* joblib.load: a joblib pickle, plain or compressed as a whole file. */
static void scan_joblib(struct scan_ctx *c, const struct byte_src *v, const char *member,
			const struct pickle_profile *profile)
{
	uint8_t head[32] = { 0 };
	ssize_t got = bsrc_read(v, 0, head, sizeof(head));
	enum zinflate_fmt zf;
	uint64_t off = 0;
	struct zinflate_result z;

	if (got < 2) {
		scan_fail(c, member, "joblib file too short");
		return;
	}
	if (head[0] == 0x78) {
		zf = ZINF_ZLIB;
	} else if (head[0] == 0x1f && head[1] == 0x8b) {
		zf = ZINF_GZIP;
	} else if (head[0] == 'Z' && head[1] == 'F') {
		/* joblib < 0.10: "ZF0x<hex length>" then an optional space, then zlib */
		zf = ZINF_ZLIB;
		off = got > 19 && head[19] == ' ' ? 20 : 19;
	} else {
		const char *what = head[0] == 'B'  ? "bz2" :
				   head[0] == 0xfd ? "xz" :
				   head[0] == 0x5d ? "lzma" :
				   head[0] == 0x04 ? "lz4" :
						     "unknown";
		scan_add(c, SF_NOT_SCANNED, PSEV_SUSPICIOUS, member, 0,
			 "joblib file compressed with %s: not scanned", what);
		return;
	}
	if (zinflate_src(v, off, v->size - off, zf, (size_t)c->lim->max_member, &z)) {
		c->oom = true;
		return;
	}
	if (z.zerr)
		scan_add(c, SF_PARSE_ERROR, PSEV_SUSPICIOUS, member, z.in_used,
			 "compressed stream damaged (zlib error %d)", z.zerr);
	scan_pickle_buf(c, z.data, z.len, 0, member, profile, 2, z.truncated);
	zinflate_free(&z);
}

static void scan_gguf(struct scan_ctx *c, const struct byte_src *v, const char *member)
{
	struct gguf_info g;
	char err[SCAN_DETAIL_MAX] = "";
	int rc = gguf_scan(v, &g, err, sizeof(err));

	if (rc == -ENOMEM) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < g.nhits; i++)
		scan_add(c, SF_TEMPLATE, g.hits[i].malicious ? PSEV_MALICIOUS : PSEV_SUSPICIOUS,
			 member, g.hits[i].offset, "%s: %s", g.hits[i].key, g.hits[i].what);
	if (g.hits_dropped)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0, "%zu more template hits",
			 g.hits_dropped);
	if (rc)
		scan_fail(c, member, "%s", err);
}

/* ---- wrappers this scanner cannot open ------------------------------------- */

static const char *archive_magic(const uint8_t *b, size_t n)
{
	if (n >= 6 && !memcmp(b, "7z\xbc\xaf\x27\x1c", 6))
		return "7z";
	if (n >= 6 && !memcmp(b, "Rar!\x1a\x07", 6))
		return "rar";
	if (n >= 6 && !memcmp(b,
			      "\xfd"
			      "7zXZ\0",
			      6))
		return "xz";
	if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	if (n >= 4 && !memcmp(b, "\x04\x22\x4d\x18", 4))
		return "lz4";
	if (n >= 3 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return "bz2";
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "gzip";
	return NULL;
}

/* Names a loader would unpickle (or that usually hold a pickle). */
static bool pickle_bearing_name(const char *name)
{
	static const char *const ext[] = {
		".pkl", ".pickle", ".pt",    ".pth", ".bin",  ".ckpt", ".joblib", ".npy", ".npz",
		".h5",  ".hdf5",   ".keras", ".sav", ".dill", ".mar",  ".model",  ".dat", ".data",
	};
	const char *base = name ? strrchr(name, '/') : NULL;

	base = base ? base + 1 : name;
	if (!base)
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strstr(base, ext[i]))
			return true;
	return false;
}

/* Names a loader may unpickle whatever the bytes say: a pickle-bearing
 * one, none at all, or one without an extension (a Hugging Face or Ollama
 * blob is named by its digest; torch.load reached it through a link). */
static bool may_be_unpickled(const char *name)
{
	const char *base = name ? strrchr(name, '/') : NULL;

	if (!name || pickle_bearing_name(name))
		return true;
	base = base ? base + 1 : name;
	return !strchr(base, '.');
}

/* Whether v's first MiB, walked as a pickle, imports anything at all (a
 * probe: a big data file with a .bin name costs one small read). */
#define PICKLE_PROBE_LEN (1u << 20)
static bool pickle_imports_something(struct scan_ctx *c, const struct byte_src *v)
{
	uint64_t n = v->size < PICKLE_PROBE_LEN ? v->size : PICKLE_PROBE_LEN;
	struct pickle_result pr;
	uint8_t *buf;
	bool any;

	if (!n || bsrc_load(v, 0, (size_t)n, &buf))
		return false;
	c->oom |= pickle_scan_stream(buf, (size_t)n, NULL, &c->plim, &pr) == -ENOMEM;
	any = pr.nfindings || pr.findings_dropped;
	pickle_result_free(&pr);
	free(buf);
	return any;
}

/* Bytes the sniffer took for no pickle (unknown, or a format that carries
 * none) under a name a loader may unpickle: torch.load and pickle.load do
 * not ask the format, so when the unpickler's reading of them imports
 * something, they are walked as a pickle too. */
static bool unpickled_too(struct scan_ctx *c, const struct byte_src *v, const char *name,
			  const char *member, const struct pickle_profile *profile)
{
	if (!may_be_unpickled(name) || !pickle_imports_something(c, v))
		return false;
	scan_pickle_view(c, v, member, profile ? profile : scan_profile("ml"), 1);
	return true;
}

/* ---- dispatch -------------------------------------------------------------- */

static void scan_view(struct scan_ctx *c, const struct byte_src *v, const char *name,
		      const char *member, const struct pickle_profile *profile, bool force_pickle,
		      unsigned nesting)
{
	uint8_t head[MODELFMT_PROBE_LEN];
	ssize_t got = bsrc_read(v, 0, head, sizeof(head));
	enum model_format fmt;
	const char *arch;

	/* no part is opened past the deadline: the limit finding says so.
	 * Past the inflate budget, what was inflated before it is still
	 * read (the loops stop inflating more) */
	if (budget_time_up(&c->budget)) {
		scan_budget_out(c, member);
		return;
	}
	if (got < 0) {
		scan_fail(c, member, "read failed: %s", strerror((int)-got));
		return;
	}
	fmt = model_format_detect(head, (size_t)got, name);
	if (nesting == 0)
		c->r->format = fmt;
	if (force_pickle && fmt == MF_UNKNOWN)
		fmt = MF_PICKLE;
	if (nesting > c->lim->max_nesting && fmt != MF_UNKNOWN) {
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0,
			 "%s nested %u deep: not opened (nesting limit)", model_format_name(fmt),
			 nesting);
		return;
	}
	switch (fmt) {
	case MF_TORCH_ZIP:
	case MF_NUMPY_ZIP:
	case MF_KERAS_ZIP:
	case MF_ZIP:
		scan_zip(c, v, member, fmt, nesting);
		break;
	case MF_TORCH_LEGACY:
		scan_torch_legacy(c, v, member);
		break;
	case MF_TORCH_TAR:
		scan_torch_tar(c, v, member);
		break;
	case MF_PICKLE:
		/* torch.load and the legacy format read stacked pickles: walk all */
		scan_pickle_view(c, v, member, profile ? profile : scan_profile("ml"), 1);
		break;
	case MF_JOBLIB:
		scan_pickle_view(c, v, member, profile ? profile : scan_profile("sklearn"), 2);
		break;
	case MF_JOBLIB_COMPRESSED:
		scan_joblib(c, v, member, profile ? profile : scan_profile("sklearn"));
		break;
	case MF_NUMPY:
		scan_npy(c, v, member, profile ? profile : scan_profile("numpy"));
		break;
	case MF_HDF5:
		scan_hdf5(c, v, member);
		break;
	case MF_GGUF:
		scan_gguf(c, v, member);
		unpickled_too(c, v, name, member, profile);
		break;
	case MF_SAFETENSORS: {
		struct st_info si;
		char err[SCAN_DETAIL_MAX];

		if (safetensors_check(v, &si, err, sizeof(err)))
			scan_fail(c, member, "%s", err);
		unpickled_too(c, v, name, member, profile);
		break;
	}
	case MF_ONNX:
		break; /* protobuf graph: no Python code to walk */
	case MF_SEVENZIP:
		scan_add(c, SF_UNSCANNABLE, PSEV_SUSPICIOUS, member, 0,
			 "7z archive: unscannable container");
		break;
	default: {
		bool flagged = false;

		arch = archive_magic(head, (size_t)got);
		if (arch && (!strcmp(arch, "7z") || !strcmp(arch, "rar") ||
			     pickle_bearing_name(name) || nesting > 0)) {
			scan_add(c, SF_UNSCANNABLE, PSEV_SUSPICIOUS, member, 0,
				 "%s-compressed or archived: unscannable container", arch);
			flagged = true;
		}
		/* no pickle magic a detector trusts (a wrapper's magic can
		 * start a pickle too), but a loader would still unpickle a file
		 * of this name, and it imports */
		if (unpickled_too(c, v, name, member, profile)) {
			if (nesting == 0 && !arch)
				c->r->format = MF_PICKLE;
		} else if (!flagged && nesting == 0) {
			snprintf(c->r->note, sizeof(c->r->note), "not a model format");
		}
		break;
	}
	}
}

/* ---- entry points ------------------------------------------------------------ */

static int finish(struct scan_ctx *c)
{
	struct scan_report *r = c->r;

	scan_budget_report(c);
	if (r->verdict == SCAN_SKIPPED && (r->format != MF_UNKNOWN || r->pickles))
		r->verdict = SCAN_CLEAN;
	if (r->errors && r->verdict < SCAN_ERROR)
		r->verdict = SCAN_ERROR;
	if (c->oom)
		return -ENOMEM;
	return 0;
}

static int scan_src(struct byte_src *src, const char *name, const struct scan_limits *lim,
		    struct scan_report *r)
{
	struct scan_ctx c = { .r = r, .lim = lim ? lim : &scan_default_limits, .view = scan_view };
	int rc;

	memset(r, 0, sizeof(*r));
	r->profile = "";
	r->size = src->size;
	budget_init(&c.budget, c.lim->max_ms, c.lim->max_inflate);
	c.plim = pickle_default_limits;
	c.plim.budget = &c.budget;
	src->bytes_read = &r->bytes_read;
	src->budget = &c.budget;
	scan_view(&c, src, name, "", NULL, false, 0);
	rc = finish(&c);
	src->budget = NULL; /* it lived on this stack */
	return rc;
}

int model_scan_mem(const void *buf, size_t len, const char *name, const struct scan_limits *lim,
		   struct scan_report *r)
{
	struct byte_src s;

	bsrc_from_mem(&s, buf, len);
	return scan_src(&s, name, lim, r);
}

int model_scan_fd(int fd, const char *name, const struct scan_limits *lim, struct scan_report *r)
{
	struct stat st;
	struct byte_src s;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;

		memset(r, 0, sizeof(*r));
		r->profile = "";
		r->verdict = SCAN_ERROR;
		r->errors = 1;
		snprintf(r->error, sizeof(r->error), "%s", e ? strerror(e) : "not a regular file");
		return 0;
	}
	bsrc_from_fd(&s, fd, (uint64_t)st.st_size);
	return scan_src(&s, name, lim, r);
}

int model_scan_path(const char *path, const struct scan_limits *lim, struct scan_report *r)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = errno;

		memset(r, 0, sizeof(*r));
		r->profile = "";
		r->verdict = SCAN_ERROR;
		r->errors = 1;
		snprintf(r->error, sizeof(r->error), "%s",
			 fd >= 0 && S_ISDIR(st.st_mode)  ? "is a directory" :
			 fd >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" :
							   strerror(e));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rc = model_scan_fd(fd, path, lim, r);
	close(fd);
	return rc;
}

void scan_report_free(struct scan_report *r)
{
	free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}
