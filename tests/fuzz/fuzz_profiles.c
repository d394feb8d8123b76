/* libFuzzer target: scan-profile files (docs/scan-profiles.md). Whoever
 * writes one chooses what the scanner allows, not whether it crashes: a
 * bad file comes back as one printable line and changes nothing, and no
 * loaded allowlist clears a denied global. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/textsan.h"
#include "scan/pickle/pickle_profiles.h"

/* Denied by the built-in list under every profile, loaded or not. */
static void check_deny(const struct pickle_profile *p)
{
	if (pickle_judge("os", "system", p) != PSEV_MALICIOUS ||
	    pickle_judge("builtins", "eval", p) != PSEV_MALICIOUS ||
	    pickle_judge("subprocess", "Popen", p) != PSEV_MALICIOUS)
		__builtin_trap();
}

/* Each profile the input names, and each of its patterns tried as a
 * global (module:name split at the colon). */
static void exercise(const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len), *profs, *e, *pat;

	profs = cJSON_GetObjectItemCaseSensitive(root, "profiles");
	if (!cJSON_IsArray(profs))
		profs = NULL;
	cJSON_ArrayForEach(e, profs) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		const struct pickle_profile *p =
			cJSON_IsString(name) ? pickle_profile_find(name->valuestring) : NULL;

		if (!p)
			continue;
		check_deny(p);
		cJSON_ArrayForEach(pat, cJSON_GetObjectItemCaseSensitive(e, "allow")) {
			char g[512], *colon;

			if (!cJSON_IsString(pat))
				continue;
			snprintf(g, sizeof(g), "%s", pat->valuestring);
			if ((colon = strchr(g, ':'))) {
				*colon = 0;
				(void)pickle_judge(g, colon + 1, p);
			}
		}
	}
	cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size heap copy, not NUL-terminated: ASan sees any read past it */
	char *text = malloc(size ? size : 1), err[512];
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	pickle_profiles_reset();
	rc = pickle_profiles_load_text(text, size, "fuzz.json", err, sizeof(err));
	if (rc == 0) {
		if (err[0])
			__builtin_trap(); /* loaded, yet complained */
		exercise(text, size);
		/* the same file again: stacks or fails, never breaks the first */
		if (pickle_profiles_load_text(text, size, "again.json", err, sizeof(err)) != 0 &&
		    (!err[0] || strchr(err, '\n')))
			__builtin_trap();
		exercise(text, size);
	} else {
		if (!err[0] || strchr(err, '\n') ||
		    !utf8_valid((const uint8_t *)err, strlen(err), NULL))
			__builtin_trap(); /* refused: one printable line that says why */
		/* all or nothing: a refused file left no profile behind */
		if (pickle_judge("zz_fuzz", "x", pickle_profile_find("ml")) != PSEV_SUSPICIOUS)
			__builtin_trap();
	}
	check_deny(pickle_profile_find("ml"));
	check_deny(NULL);
	pickle_profiles_reset();
	free(text);
	return 0;
}
