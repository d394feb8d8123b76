/* libFuzzer target: blocklist files and cache paths, both untrusted text.
 * The input is parsed as a blocklist (and looked up in when it parses),
 * and read as a path by the model origin parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "collect/hfcache.h"
#include "detect/blocklist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blocklist bl;
	struct model_origin o;
	char err[512], *path;

	blocklist_init(&bl);
	if (blocklist_parse(&bl, "fuzz.json", (const char *)data, size, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < bl.n; i++) {
			const struct bl_entry *e = &bl.entries[i];

			/* every entry finds itself, whatever case it is asked in */
			if (e->kind == BL_SHA256 && blocklist_match_sha256(&bl, e->text) == NULL)
				__builtin_trap();
			if (e->kind == BL_REPO && blocklist_match_repo(&bl, e->text) == NULL)
				__builtin_trap();
		}
		(void)blocklist_match_repo(&bl, "org/name");
	} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
		__builtin_trap(); /* a failure always says why */
	}
	blocklist_free(&bl);

	path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = 0;
	if (hfcache_parse(path, &o)) {
		if (o.source == MSRC_NONE || memchr(o.repo, 0, sizeof(o.repo)) == NULL ||
		    memchr(o.file, 0, sizeof(o.file)) == NULL ||
		    (o.repo[0] && !hf_repo_id_valid(o.repo, strlen(o.repo))))
			__builtin_trap();
	}
	(void)hf_repo_id_valid(path, size);
	free(path);
	return 0;
}
