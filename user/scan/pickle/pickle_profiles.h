/* Allowlist profiles and the deny list the pickle walker judges imports
 * against: built-in tables plus profiles loaded from JSON files. */
#ifndef MLWATCH_PICKLE_PROFILES_H
#define MLWATCH_PICKLE_PROFILES_H
#include <stdbool.h>
#include <stddef.h>

enum pickle_severity { PSEV_ALLOWED = 0, PSEV_SUSPICIOUS, PSEV_MALICIOUS };

/* Allowlist: NULL-terminated "module:name" patterns (fnmatch globs; a
 * wildcard never matches a dotted or dunder name), plus a base profile
 * whose patterns are allowed too. */
struct pickle_profile {
	const char *name;
	const char *const *allow;
	const struct pickle_profile *base;
};
extern const struct pickle_profile pickle_profile_data;        /* builtin containers only */
extern const struct pickle_profile pickle_profile_torch;       /* state_dict / checkpoints */
extern const struct pickle_profile pickle_profile_numpy;       /* ndarray / dtype / scalar */
extern const struct pickle_profile pickle_profile_sklearn;     /* sklearn + joblib + numpy */
extern const struct pickle_profile pickle_profile_torchscript; /* torch.jit.save archives */
extern const struct pickle_profile pickle_profile_ml;          /* torch + sklearn + numpy + data */
extern const struct pickle_profile pickle_profile_runtime;     /* ml + what process pools pickle */

/* Severity of module:name under profile (NULL = none allowed). The deny
 * list (built-in and loaded) wins over any allowlist. */
enum pickle_severity pickle_judge(const char *module, const char *name,
				  const struct pickle_profile *profile);

/*
 * Every pattern that decides under profile, for a matcher elsewhere (the
 * kernel's, see user/sense/): fn gets each deny pattern (allow false, the
 * built-in and loaded ones), then each allow pattern of the profile, its
 * bases and their loaded extensions, as "module:name" fnmatch globs. Not
 * a pattern, so a matcher must add it itself: pickle_judge also denies a
 * dotted name with a component such as "os" or "sys", and a glob never
 * matches a dotted or dunder name.
 */
void pickle_profile_each(const struct pickle_profile *profile,
			 void (*fn)(const char *pat, bool allow, void *ctx), void *ctx);

/* What a global does when called, as far as the walker must follow it. */
enum pickle_role {
	PROLE_LOADER = 1 << 0,        /* unpickles its argument: the bytes are walked */
	PROLE_BYTES_WRAPPER = 1 << 1, /* io.BytesIO(b): passed on as b */
	PROLE_CODECS_ENCODE = 1 << 2, /* _codecs.encode(str, enc): str -> bytes */
	PROLE_RECONSTRUCTOR = 1 << 3, /* copyreg._reconstructor: cls.__new__(cls) */
	PROLE_NP_DTYPE = 1 << 4,      /* numpy.dtype(str, ...) */
	PROLE_JOBLIB_ARRAY = 1 << 5,  /* joblib NumpyArrayWrapper: array data after BUILD */
};
unsigned pickle_global_roles(const char *module, const char *name);

/* Profiles as data (docs/scan-profiles.md):
 *   { "profiles": [ { "name": "torch", "allow": ["mypkg.layers:*"] },
 *                   { "name": "myteam", "base": "torch", "allow": ["a.b:C"] } ],
 *     "deny": ["mymod:dangerous"] }
 * An existing name gets the patterns added; a new name is a new profile
 * (base: a built-in or earlier profile, default "data"). A failed load
 * changes nothing. Loading and reset are not thread-safe: do them before
 * any scan starts; scanning threads only read the loaded state.
 * Return 0 or -errno; err gets "origin: where: problem". A file is opened
 * with safeopen_config: whoever can write it can allow any import. */
#define PICKLE_PROFILES_MAX_FILE (1u << 20)
int pickle_profiles_load_file(const char *path, char *err, size_t errlen);
int pickle_profiles_load_text(const char *text, size_t len, const char *origin, char *err,
			      size_t errlen);
/* Built-in or loaded profile by name; NULL if none. */
const struct pickle_profile *pickle_profile_find(const char *name);
/* Drops everything loaded; pointers from pickle_profile_find to loaded
 * profiles become invalid. */
void pickle_profiles_reset(void);
#endif
