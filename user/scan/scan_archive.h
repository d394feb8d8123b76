/* Model scanner internals: archives, opened as their loaders open them;
 * members go back through ctx->view. Not a public interface. */
#ifndef MLWATCH_SCAN_ARCHIVE_H
#define MLWATCH_SCAN_ARCHIVE_H
#include "scan_findings.h"

void scan_zip(struct scan_ctx *c, const struct byte_src *v, const char *member,
	      enum model_format fmt, unsigned nesting);
void scan_torch_tar(struct scan_ctx *c, const struct byte_src *v, const char *member);
void scan_torch_legacy(struct scan_ctx *c, const struct byte_src *v, const char *member);
#endif
