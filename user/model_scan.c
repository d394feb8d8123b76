/* Model scanner: dispatch by magic bytes, leaf formats, findings, verdict.
 * Archives (zip, tar, legacy torch) are opened in scan_archive.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "keras_scan.h"
#include "npy.h"
#include "safetensors.h"
#include "scan_internal.h"
#include "zinflate.h"

const struct scan_limits scan_default_limits = {
	.max_member = 512ull << 20, .max_nesting = 3, .max_members = 100000,
	.max_findings = 1000,
};

/* ---- findings ------------------------------------------------------------ */

static struct scan_finding *new_finding(struct scan_ctx *c)
{
	struct scan_report *r = c->r;

	if (r->nfindings >= c->lim->max_findings) {
		r->findings_dropped++;
		return NULL;
	}
	/* capacity: 8, then doubled each time it fills */
	if (r->nfindings == 0 || (r->nfindings >= 8 && !(r->nfindings & (r->nfindings - 1)))) {
		size_t nc = r->nfindings ? r->nfindings * 2 : 8;
		struct scan_finding *nf = realloc(r->findings, nc * sizeof(*nf));

		if (!nf) {
			c->oom = true;
			return NULL;
		}
		r->findings = nf;
	}
	memset(&r->findings[r->nfindings], 0, sizeof(r->findings[0]));
	return &r->findings[r->nfindings++];
}

static void note_verdict(struct scan_ctx *c, enum scan_verdict v)
{
	if (v > c->r->verdict)
		c->r->verdict = v;
}

/* The worst severity seen decides the verdict, dropped findings included. */
static void note_severity(struct scan_ctx *c, enum pickle_severity sev)
{
	note_verdict(c, sev == PSEV_MALICIOUS ? SCAN_MALICIOUS :
			sev == PSEV_SUSPICIOUS ? SCAN_SUSPICIOUS : SCAN_CLEAN);
}

/* An import outside the profile that is only rebuilt as a class (never
 * called with arguments, not a loader, a real name): what a whole-model
 * checkpoint of the user's own class looks like. A gadget is a call. */
static bool rebuilt_class(const struct pickle_finding *pf)
{
	return pf->severity == PSEV_SUSPICIOUS && !(pf->use & PUSE_CALL) && !pf->loader &&
	       pf->kind != PIMP_EXT && pf->module[0] && pf->name[0];
}

void scan_add(struct scan_ctx *c, enum scan_finding_kind kind, enum pickle_severity sev,
	      const char *member, uint64_t offset, const char *fmt, ...)
{
	struct scan_finding *f;
	va_list ap;

	note_severity(c, sev);
	if (!(f = new_finding(c)))
		return;
	f->kind = kind;
	f->severity = sev;
	f->offset = offset;
	f->profile = "";
	snprintf(f->member, sizeof(f->member), "%s", member ? member : "");
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
}

void scan_fail(struct scan_ctx *c, const char *member, const char *fmt, ...)
{
	struct scan_report *r = c->r;
	size_t off = 0;
	va_list ap;

	if (r->errors++)
		return;
	if (member && *member)
		off = (size_t)snprintf(r->error, sizeof(r->error), "%s: ", member);
	if (off >= sizeof(r->error))
		return;
	va_start(ap, fmt);
	vsnprintf(r->error + off, sizeof(r->error) - off, fmt, ap);
	va_end(ap);
}

void scan_member_join(char *out, size_t len, const char *outer, const char *name)
{
	if (outer && *outer)
		snprintf(out, len, "%s/%s", outer, name);
	else
		snprintf(out, len, "%s", name);
}

const struct pickle_profile *scan_profile(const char *name)
{
	const struct pickle_profile *p = pickle_profile_find(name);

	return p ? p : &pickle_profile_ml;
}

/* ---- pickles ------------------------------------------------------------- */

void scan_pickle_buf(struct scan_ctx *c, const uint8_t *buf, size_t len, uint64_t base,
		     const char *member, const struct pickle_profile *profile, int mode,
		     bool input_cut)
{
	struct pickle_result pr;
	int rc;

	if (mode == 2)
		rc = pickle_scan_joblib(buf, len, profile, NULL, &pr);
	else if (mode == 1)
		rc = pickle_scan_stream(buf, len, profile, NULL, &pr);
	else
		rc = pickle_scan(buf, len, profile, &pr);
	if (rc == -ENOMEM)
		c->oom = true;
	if (!*c->r->profile)
		c->r->profile = profile->name;
	c->r->pickles += pr.pickles + pr.nested;
	for (size_t i = 0; i < pr.nfindings; i++) {
		const struct pickle_finding *pf = &pr.findings[i];
		struct scan_finding *f;

		if (pf->severity == PSEV_ALLOWED) {
			c->r->imports_allowed++;
			continue;
		}
		if (rebuilt_class(pf))
			note_verdict(c, SCAN_CUSTOM);
		else
			note_severity(c, pf->severity);
		if (!(f = new_finding(c)))
			continue;
		f->kind = SF_IMPORT;
		f->custom = rebuilt_class(pf);
		f->severity = pf->severity;
		snprintf(f->member, sizeof(f->member), "%s", member);
		f->offset = base + pf->offset;
		memcpy(f->module, pf->module, sizeof(f->module));
		memcpy(f->name, pf->name, sizeof(f->name));
		f->called = pf->called;
		f->depth = pf->depth;
		f->profile = profile->name;
		if (pf->kind == PIMP_EXT)
			snprintf(f->detail, sizeof(f->detail), "extension registry code %d",
				 pf->ext_code);
		else if (pf->loader)
			snprintf(f->detail, sizeof(f->detail), "unpickles its argument");
	}
	if (pr.findings_dropped) {
		note_severity(c, pr.worst);
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
			 "%zu more imports not listed (findings limit)", pr.findings_dropped);
	}
	/* broken before it imported anything: nothing of it can run, it is
	 * only unreadable (a corrupt file, text, a name the unpickler refuses) */
	if (pr.nerrors && !pr.nfindings && !pr.findings_dropped && !pr.limits_hit && !input_cut) {
		scan_fail(c, member, "pickle %s at offset %zu, before any import",
			  pickle_err_name(pr.errors[0].kind), (size_t)pr.errors[0].offset);
		pickle_result_free(&pr);
		return;
	}
	for (size_t i = 0; i < pr.nerrors && i < PICKLE_MAX_ERRORS; i++) {
		const struct pickle_error *e = &pr.errors[i];

		/* A stream cut by our own read limit ends early by design. */
		if (input_cut && (e->kind == PERR_TRUNCATED || e->kind == PERR_NO_STOP))
			continue;
		char op[16];

		if (strcmp(pickle_opcode_name(e->opcode), "?"))
			snprintf(op, sizeof(op), "%s", pickle_opcode_name(e->opcode));
		else
			snprintf(op, sizeof(op), "0x%02x", e->opcode);
		scan_add(c, SF_PARSE_ERROR, PSEV_SUSPICIOUS, member, base + e->offset,
			 "pickle %s at opcode %s (depth %u)", pickle_err_name(e->kind), op, e->depth);
	}
	if (pr.nerrors > PICKLE_MAX_ERRORS)
		scan_add(c, SF_PARSE_ERROR, PSEV_SUSPICIOUS, member, base, "%zu more pickle errors",
			 pr.nerrors - PICKLE_MAX_ERRORS);
	for (unsigned b = 0; b < 16; b++)
		if (pr.limits_hit & (1u << b))
			scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
				 "pickle walk cut by the %s limit", pickle_limit_name(1u << b));
	if (input_cut)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, base,
			 "only the first %llu bytes read (member size limit)",
			 (unsigned long long)len);
	pickle_result_free(&pr);
}

/* Loads a view (at most max_member bytes) and walks it as a pickle. */
static void scan_pickle_view(struct scan_ctx *c, const struct byte_src *v, const char *member,
			     const struct pickle_profile *profile, int mode)
{
	uint64_t n = v->size < c->lim->max_member ? v->size : c->lim->max_member;
	uint8_t *buf;
	int rc = bsrc_load(v, 0, (size_t)n, &buf);

	if (rc) {
		if (rc == -ENOMEM)
			c->oom = true;
		else
			scan_fail(c, member, "pickle could not be read: %s", strerror(-rc));
		return;
	}
	scan_pickle_buf(c, buf, (size_t)n, 0, member, profile, mode, n < v->size);
	free(buf);
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
	uint8_t *buf;
	int rc = bsrc_load(&data, 0, (size_t)n, &buf);

	if (rc) {
		c->oom |= rc == -ENOMEM;
		return;
	}
	scan_pickle_buf(c, buf, (size_t)n, h.data_off, member, profile, 0, n < data.size);
	free(buf);
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
		const char *what = head[0] == 'B' ? "bz2" : head[0] == 0xfd ? "xz" :
				   head[0] == 0x5d ? "lzma" : head[0] == 0x04 ? "lz4" : "unknown";
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

static void add_keras_hits(struct scan_ctx *c, const struct keras_result *k, const char *member)
{
	for (size_t i = 0; i < k->nhits; i++) {
		const struct keras_hit *h = &k->hits[i];

		scan_add(c, SF_LAMBDA, h->malicious ? PSEV_MALICIOUS : PSEV_SUSPICIOUS, member, 0,
			 "%s: layer '%s' class %s%s%s", h->what, h->layer, h->class_name,
			 *h->module ? " module " : "", h->module);
	}
	if (k->hits_dropped)
		scan_add(c, SF_LIMIT, PSEV_SUSPICIOUS, member, 0, "%zu more layer hits",
			 k->hits_dropped);
}

static void scan_hdf5(struct scan_ctx *c, const struct byte_src *v, const char *member)
{
	struct keras_result k;
	char err[SCAN_DETAIL_MAX] = "";
	int rc = keras_scan_hdf5(v, &k, err, sizeof(err));

	if (rc == -ENOMEM) {
		c->oom = true;
		return;
	}
	add_keras_hits(c, &k, member);
	if (rc)
		scan_fail(c, member, "%s", err);
	else if (!k.config_found && !*c->r->note)
		snprintf(c->r->note, sizeof(c->r->note), "HDF5 without a readable Keras model config");
}

void scan_keras_config(struct scan_ctx *c, const uint8_t *json, size_t len, const char *member)
{
	struct keras_result k;
	char err[SCAN_DETAIL_MAX] = "";
	int rc = keras_check_config((const char *)json, len, &k, err, sizeof(err));

	if (rc == -ENOMEM) {
		c->oom = true;
		return;
	}
	add_keras_hits(c, &k, member);
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
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
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
		".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz",
		".h5", ".hdf5", ".keras", ".sav", ".dill", ".mar", ".model", ".dat", ".data",
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
	c->oom |= pickle_scan_stream(buf, (size_t)n, NULL, NULL, &pr) == -ENOMEM;
	any = pr.nfindings || pr.findings_dropped;
	pickle_result_free(&pr);
	free(buf);
	return any;
}

/* ---- dispatch -------------------------------------------------------------- */

void scan_view(struct scan_ctx *c, const struct byte_src *v, const char *name,
	       const char *member, const struct pickle_profile *profile, bool force_pickle,
	       unsigned nesting)
{
	uint8_t head[MODELFMT_PROBE_LEN];
	ssize_t got = bsrc_read(v, 0, head, sizeof(head));
	enum model_format fmt;
	const char *arch;

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
	case MF_TORCH_ZIP: case MF_NUMPY_ZIP: case MF_KERAS_ZIP: case MF_ZIP:
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
		break;
	case MF_SAFETENSORS: {
		struct st_info si;
		char err[SCAN_DETAIL_MAX];

		if (safetensors_check(v, &si, err, sizeof(err)))
			scan_fail(c, member, "%s", err);
		break;
	}
	case MF_ONNX:
		break;        /* protobuf graph: no Python code to walk */
	case MF_SEVENZIP:
		scan_add(c, SF_UNSCANNABLE, PSEV_SUSPICIOUS, member, 0,
			 "7z archive: unscannable container");
		break;
	default:
		arch = archive_magic(head, (size_t)got);
		if (arch && (!strcmp(arch, "7z") || !strcmp(arch, "rar") ||
			     pickle_bearing_name(name) || nesting > 0)) {
			scan_add(c, SF_UNSCANNABLE, PSEV_SUSPICIOUS, member, 0,
				 "%s-compressed or archived: unscannable container", arch);
		} else if (!arch && pickle_bearing_name(name) && pickle_imports_something(c, v)) {
			/* no pickle magic a detector trusts, but a loader would still
			 * unpickle a file of this name, and it imports */
			if (nesting == 0)
				c->r->format = MF_PICKLE;
			scan_pickle_view(c, v, member, profile ? profile : scan_profile("ml"), 1);
		} else if (nesting == 0) {
			snprintf(c->r->note, sizeof(c->r->note), "not a model format");
		}
		break;
	}
}

/* ---- entry points ------------------------------------------------------------ */

static int finish(struct scan_ctx *c)
{
	struct scan_report *r = c->r;

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
	struct scan_ctx c = { .r = r, .lim = lim ? lim : &scan_default_limits };

	memset(r, 0, sizeof(*r));
	r->profile = "";
	r->size = src->size;
	src->bytes_read = &r->bytes_read;
	scan_view(&c, src, name, "", NULL, false, 0);
	return finish(&c);
}

int model_scan_mem(const void *buf, size_t len, const char *name,
		   const struct scan_limits *lim, struct scan_report *r)
{
	struct byte_src s;

	bsrc_from_mem(&s, buf, len);
	return scan_src(&s, name, lim, r);
}

int model_scan_fd(int fd, const char *name, const struct scan_limits *lim,
		  struct scan_report *r)
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
			 fd >= 0 && S_ISDIR(st.st_mode) ? "is a directory" :
			 fd >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" : strerror(e));
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
