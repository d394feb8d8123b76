/* Shared between the model scanner's stages (model_scan.c dispatches,
 * scan_archive.c opens zip/tar/legacy torch); not a public interface. */
#ifndef MLWATCH_SCAN_INTERNAL_H
#define MLWATCH_SCAN_INTERNAL_H
#include "model_scan.h"

struct scan_ctx {
	struct scan_report *r;
	const struct scan_limits *lim;
	bool oom;
};

/* Records a finding (kept up to lim->max_findings, then counted). */
void scan_add(struct scan_ctx *c, enum scan_finding_kind kind, enum pickle_severity sev,
	      const char *member, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Records that a part could not be read or parsed (the first message is
 * kept): a file with nothing worse is SCAN_ERROR. */
void scan_fail(struct scan_ctx *c, const char *member, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A .keras archive's config.json. */
void scan_keras_config(struct scan_ctx *c, const uint8_t *json, size_t len, const char *member);
/* Joins a container's member path and a member name: "a.zip" + "b.pkl". */
void scan_member_join(char *out, size_t len, const char *outer, const char *name);
/* Scans the bytes of v (a whole file or one member) by their magic.
 * profile: the allowlist the enclosing container implies for a pickle
 * found here (NULL: chosen by format). force_pickle: walk it as a pickle
 * even without pickle magic (a member named data.pkl). */
void scan_view(struct scan_ctx *c, const struct byte_src *v, const char *name,
	       const char *member, const struct pickle_profile *profile, bool force_pickle,
	       unsigned nesting);
/* Walks a pickle held in buf (member bytes), adding its findings. mode:
 * 0 one pickle, 1 a stream of pickles, 2 as joblib.load reads it. */
void scan_pickle_buf(struct scan_ctx *c, const uint8_t *buf, size_t len, uint64_t base,
		     const char *member, const struct pickle_profile *profile, int mode,
		     bool input_cut);
/* A profile by name, user extensions included (never NULL). */
const struct pickle_profile *scan_profile(const char *name);

void scan_zip(struct scan_ctx *c, const struct byte_src *v, const char *member,
	      enum model_format fmt, unsigned nesting);
void scan_torch_tar(struct scan_ctx *c, const struct byte_src *v, const char *member);
void scan_torch_legacy(struct scan_ctx *c, const struct byte_src *v, const char *member);
#endif
