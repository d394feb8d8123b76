/* Allowlist profiles, the deny list and the role tables the pickle walker
 * consults, plus profiles loaded from JSON. Loaded state is a stack of
 * immutable layers, one per successful load, so that a failed load never
 * leaves half of a file behind and profile pointers stay valid. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pickle_profiles.h"
#include "lib/safeopen.h"
#include "lib/textsan.h"

/* ---- built-in profiles ------------------------------------------------ */

/* allow and deny lists: several names per line */
/* clang-format off */
static const char *const data_allow[] = {
	"collections:OrderedDict", "collections:defaultdict", "builtins:set",
	"builtins:frozenset", "builtins:bytearray", "builtins:slice", "builtins:complex",
	"builtins:object", "__builtin__:set", "__builtin__:frozenset", "__builtin__:object",
	/* protocol-2 pickles of py3 bytes go through _codecs.encode(str, 'latin1') */
	"_codecs:encode",
	/* instantiates the class argument, which is judged on its own */
	"copyreg:_reconstructor", "copy_reg:_reconstructor",
	/* value types training checkpoints keep next to the weights (epoch
	 * times, argparse arguments, paths, counters); each constructor only
	 * builds the value */
	"builtins:dict", "builtins:list", "builtins:tuple", "builtins:int", "builtins:float",
	"builtins:str", "builtins:bytes", "builtins:bool", "builtins:range",
	"__builtin__:dict", "__builtin__:list", "__builtin__:tuple", "__builtin__:int",
	"__builtin__:float", "__builtin__:long", "__builtin__:str", "__builtin__:unicode",
	"__builtin__:bool",
	"collections:deque", "collections:Counter", "datetime:datetime", "datetime:date",
	"datetime:time", "datetime:timedelta", "datetime:timezone", "decimal:Decimal",
	"fractions:Fraction", "uuid:UUID", "argparse:Namespace", "pathlib:PosixPath",
	"pathlib:WindowsPath", "pathlib:PurePosixPath", "pathlib:PureWindowsPath", NULL,
};
const struct pickle_profile pickle_profile_data = { "data", data_allow, NULL };

/* torch.nn.parameter.Parameter is allowed: torch's own weights_only loader
 * accepts it and _rebuild_from_type_v2 names it for Parameter subclasses.
 * torch.storage._load_from_bytes is NOT: it is torch.load on embedded bytes. */
static const char *const torch_allow[] = {
	"torch._utils:_rebuild_tensor_v2", "torch._utils:_rebuild_tensor",
	"torch._utils:_rebuild_parameter", "torch._utils:_rebuild_parameter_with_state",
	"torch._tensor:_rebuild_from_type_v2", "torch:*Storage", "torch:Size", "torch:Tensor",
	"torch.nn.parameter:Parameter", "torch:device", "torch:float16", "torch:float32",
	"torch:float64", "torch:bfloat16", "torch:half", "torch:float", "torch:double",
	"torch:int8", "torch:int16", "torch:int32", "torch:int64", "torch:uint8", "torch:bool",
	"torch:complex64", "torch:complex128",
	/* the other tensor rebuilders (quantized, sparse, meta, nested) */
	"torch._utils:_rebuild_*",
	/* torch.save(model): the built-in layer classes, the activation
	 * functions layers keep a reference to, parametrization and pruning
	 * hooks. Constructing them runs torch's own code, nothing chosen by
	 * the file; a model class from the user's own module is not here and
	 * is suspicious until a profile names it (docs/scan-profiles.md). */
	"torch.nn.modules.*:*", "torch.nn.functional:*", "torch.nn.parameter:*",
	"torch.nn.utils.*:*", "torch.nn.intrinsic.*:*", "torch.nn.quantized.*:*",
	"torch.ao.nn.*:*", "torch:memory_format", "torch:contiguous_format",
	"torch:channels_last", "torch:layout", "torch:strided",
	"torch.serialization:_get_layout", "torch:sparse_coo", "torch:sparse_csr",
	/* quantized tensors and dynamic-quantized layers' packed weights */
	"torch:qint8", "torch:quint8", "torch:qint32", "torch:quint4x2", "torch:quint2x4",
	"torch:per_tensor_affine", "torch:per_channel_affine", "torch:per_tensor_symmetric",
	"torch:per_channel_symmetric", "torch:ScriptObject",
	/* torch.save(optimizer) and schedulers */
	"torch.optim.*:*", NULL,
};
/* numpy underneath: checkpoints carry numpy scalars and arrays (best
 * accuracy, RNG state) next to tensors */
const struct pickle_profile pickle_profile_torch = { "torch", torch_allow, &pickle_profile_numpy };

/* TorchScript archives (torch.jit.save): read by TorchScript's own C++
 * unpickler, which resolves __torch__ classes to compiled code and never
 * imports Python; its helpers in torch.jit._pickle build lists. */
static const char *const torchscript_allow[] = {
	"__torch__.*:*", "torch.jit._pickle:*", "torch:Tensor", NULL,
};
const struct pickle_profile pickle_profile_torchscript = { "torchscript", torchscript_allow,
							   &pickle_profile_torch };

static const char *const numpy_allow[] = {
	"numpy.core.multiarray:_reconstruct", "numpy._core.multiarray:_reconstruct",
	"numpy.core.multiarray:scalar", "numpy._core.multiarray:scalar",
	"numpy.core.numeric:_frombuffer", "numpy._core.numeric:_frombuffer",
	"numpy:ndarray", "numpy:dtype", "numpy.dtypes:*DType",
	/* dtype classes (type(np.dtype('f8'))) pickle through this helper */
	"numpy.core:_DType_reconstruct", "numpy._core:_DType_reconstruct",
	/* scalar types: estimators keep e.g. dtype=np.float64 as a parameter */
	"numpy:float16", "numpy:float32", "numpy:float64", "numpy:longdouble",
	"numpy:int8", "numpy:int16", "numpy:int32", "numpy:int64", "numpy:intc", "numpy:intp",
	"numpy:uint8", "numpy:uint16", "numpy:uint32", "numpy:uint64", "numpy:bool_",
	"numpy:complex64", "numpy:complex128", "numpy:str_", "numpy:bytes_", "numpy:object_",
	/* random state (random_state=RandomState(..), Generator): the ctors only
	 * look a bit generator up by name or take one of these classes */
	"numpy.random._pickle:__randomstate_ctor", "numpy.random._pickle:__generator_ctor",
	"numpy.random._pickle:__bit_generator_ctor", "numpy.random.mtrand:RandomState",
	"numpy.random._generator:Generator", "numpy.random._mt19937:MT19937",
	"numpy.random._pcg64:PCG64", "numpy.random._pcg64:PCG64DXSM",
	"numpy.random._philox:Philox", "numpy.random._sfc64:SFC64", NULL,
};
const struct pickle_profile pickle_profile_numpy = { "numpy", numpy_allow, &pickle_profile_data };

static const char *const sklearn_allow[] = {
	"sklearn.*:*", "joblib.numpy_pickle:NumpyArrayWrapper",
	"sklearn.externals.joblib.numpy_pickle:NumpyArrayWrapper", NULL,
};
const struct pickle_profile pickle_profile_sklearn = { "sklearn", sklearn_allow,
						       &pickle_profile_numpy };

/* What a running interpreter unpickles besides models: the process pools
 * of Python, PyTorch and joblib send tasks, functions and results as
 * pickles all day. cloudpickle's globals build functions from code (how
 * loky and Ray ship a function defined in __main__): allowed here, so a
 * pickle built from them is not marked by its imports (docs/python.md). */
static const char *const runtime_allow[] = {
	"__main__:*", "functools:partial",
	"multiprocessing.pool:mapstar", "multiprocessing.pool:starmapstar",
	/* spawn and forkserver start methods (DDP, DataLoader with
	 * multiprocessing_context="spawn") send the process object itself */
	"multiprocessing.pool:worker", "multiprocessing.context:SpawnProcess",
	"multiprocessing.context:ForkServerProcess", "multiprocessing.context:ForkProcess",
	"multiprocessing.popen_spawn_posix:_DupFd", "multiprocessing.popen_forkserver:_DupFd",
	"torch.multiprocessing.spawn:_wrap",
	"multiprocessing.reduction:_rebuild_partial", "multiprocessing.resource_sharer:DupFd",
	"multiprocessing.process:AuthenticationString",
	"multiprocessing.connection:rebuild_connection", "multiprocessing.synchronize:*",
	"multiprocessing.queues:*", "multiprocessing.managers:*",
	"concurrent.futures.process:_CallItem", "concurrent.futures.process:_ResultItem",
	"concurrent.futures.process:_process_chunk",
	"concurrent.futures.process:_ExceptionWithTraceback",
	"concurrent.futures.process:_rebuild_exc",
	"torch.multiprocessing.reductions:rebuild_*", "torch.utils.data.*:*",
	/* the storage class rebuild_typed_storage is given: a DataLoader's
	 * batches from its workers name it */
	"torch.storage:UntypedStorage", "torch.storage:TypedStorage",
	"numpy:memmap", "numpy.core.memmap:memmap",
	"joblib._parallel_backends:*", "joblib.parallel:BatchedCalls",
	"joblib._memmapping_reducer:*", "joblib.externals.loky.*:*",
	"joblib.externals.cloudpickle.*:*", "cloudpickle.*:*", "cloudpickle:*", NULL,
};

/* Raw pickles of unknown origin: torch's list here, the rest by the chain
 * sklearn -> numpy -> data. Extensions of "torch" apply here too. */
const struct pickle_profile pickle_profile_ml = { "ml", torch_allow, &pickle_profile_sklearn };

const struct pickle_profile pickle_profile_runtime = { "runtime", runtime_allow,
						       &pickle_profile_ml };

static const struct pickle_profile *const builtins[] = {
	&pickle_profile_data, &pickle_profile_torch, &pickle_profile_numpy,
	&pickle_profile_sklearn, &pickle_profile_torchscript, &pickle_profile_ml,
	&pickle_profile_runtime, NULL,
};

/* Known code-execution primitives: malicious whatever the profile. */
static const char *const deny[] = {
	"os:*", "os.*:*", "posix:*", "nt:*", "subprocess:*", "runpy:*", "pty:*", "socket:*",
	"importlib:*", "importlib.*:*", "marshal:*", "pip:*", "pip.*:*", "shutil:*", "sys:*",
	"ctypes:*", "ctypes.*:*", "webbrowser:*", "code:*", "timeit:*", "pdb:*",
	"cProfile:run", "cProfile:runctx", "profile:run", "profile:runctx",
	"pkgutil:resolve_name", "operator:attrgetter", "operator:methodcaller",
	"_operator:attrgetter", "_operator:methodcaller",
	"builtins:exec", "builtins:eval", "builtins:compile", "builtins:__import__",
	"builtins:getattr", "builtins:setattr", "builtins:open", "builtins:breakpoint",
	"__builtin__:exec", "__builtin__:eval", "__builtin__:compile", "__builtin__:__import__",
	"__builtin__:getattr", "__builtin__:open", "__builtin__:execfile",
	/* a script's own namespace holds what it imported: "from os import
	 * system" makes __main__.system os.system */
	"__main__:system", "__main__:popen", "__main__:Popen", "__main__:check_output",
	"__main__:check_call", "__main__:getoutput", "__main__:getstatusoutput",
	"__main__:eval", "__main__:exec*", "__main__:spawn*", "__main__:posix_spawn*",
	"__main__:getattr", "__main__:setattr", "__main__:open", "__main__:compile",
	/* libraries' own ways to run code: outside the standard library, so
	 * only a name here gets them an alert at run time */
	"numpy.testing._private.utils:runstring", "numpy.testing:runstring",
	"torch.hub:load", "torch.hub:_load_local", "torch.utils.cpp_extension:load",
	"torch.utils.cpp_extension:load_inline", NULL,
};
/* Modules that, met as a component of a dotted name (protocol 4 resolves
 * "a.b.c" by getattr), reach a denied module through another one. */
static const char *const deny_components[] = {
	"os", "posix", "nt", "subprocess", "sys", "builtins", "__builtins__", "importlib",
	"runpy", "pty", "socket", "shutil", "ctypes", "marshal", NULL,
};

/* ---- role tables ------------------------------------------------------ */

static const char *const loaders[] = {
	"pickle:loads", "pickle:load", "_pickle:loads", "_pickle:load", "torch:load",
	"torch.serialization:load", "torch.storage:_load_from_bytes", "numpy:loads",
	"joblib:load", "cloudpickle:loads", "cloudpickle:load", "dill:loads", "dill:load", NULL,
};
static const char *const bytes_wrappers[] = { "io:BytesIO", "_io:BytesIO", NULL };
static const char *const codecs_encoders[] = { "_codecs:encode", "codecs:encode", NULL };
static const char *const reconstructors[] = {
	"copyreg:_reconstructor", "copy_reg:_reconstructor", "copyreg:__newobj__",
	"copyreg:__newobj_ex__", NULL,
};
static const char *const np_dtypes[] = { "numpy:dtype", NULL };
/* where joblib (and sklearn's old vendored copy) define the wrapper */
static const char *const joblib_arrays[] = {
	"joblib.numpy_pickle:NumpyArrayWrapper",
	"sklearn.externals.joblib.numpy_pickle:NumpyArrayWrapper", NULL,
};
/* clang-format on */

/* ---- matching --------------------------------------------------------- */

static bool pat_match(const char *pat, const char *module, const char *name)
{
	const char *colon = strchr(pat, ':');
	char mpat[128];
	size_t ml;

	if (!colon || (ml = (size_t)(colon - pat)) >= sizeof(mpat))
		return false;
	memcpy(mpat, pat, ml);
	mpat[ml] = 0;
	if (fnmatch(mpat, module, 0) != 0 || fnmatch(colon + 1, name, 0) != 0)
		return false;
	/* a glob must not grant attribute traversal or dunder access */
	if (strchr(colon + 1, '*') && (strchr(name, '.') || !strncmp(name, "__", 2)))
		return false;
	return true;
}

static bool list_match(const char *const *l, const char *module, const char *name)
{
	for (; l && *l; l++)
		if (pat_match(*l, module, name))
			return true;
	return false;
}

static bool dotted_denied(const char *name)
{
	const char *s = name, *dot;
	char comp[256];

	while ((dot = strchr(s, '.'))) {
		size_t n = (size_t)(dot - s);

		if (n >= sizeof(comp))
			n = sizeof(comp) - 1;
		memcpy(comp, s, n);
		comp[n] = 0;
		for (const char *const *d = deny_components; *d; d++)
			if (!strcmp(comp, *d))
				return true;
		s = dot + 1;
	}
	return false;
}

unsigned pickle_global_roles(const char *module, const char *name)
{
	unsigned r = 0;

	if (list_match(loaders, module, name))
		r |= PROLE_LOADER;
	if (list_match(bytes_wrappers, module, name))
		r |= PROLE_BYTES_WRAPPER;
	if (list_match(codecs_encoders, module, name))
		r |= PROLE_CODECS_ENCODE;
	if (list_match(reconstructors, module, name))
		r |= PROLE_RECONSTRUCTOR;
	if (list_match(np_dtypes, module, name))
		r |= PROLE_NP_DTYPE;
	if (list_match(joblib_arrays, module, name))
		r |= PROLE_JOBLIB_ARRAY;
	return r;
}

/* ---- loaded layers ---------------------------------------------------- */

struct ext { /* patterns added to an existing profile */
	const struct pickle_profile *target;
	char **pats;
};

struct layer {
	struct layer *prev;
	struct pickle_profile *profs; /* new profiles; names and lists owned */
	size_t nprofs;
	struct ext *exts;
	size_t nexts;
	char **deny; /* NULL-terminated, or NULL */
};

static struct layer *layers; /* newest first; read-only while scanning */

#define PICKLE_PROFILES_MAX_ENTRIES 1024u  /* profiles per file */
#define PICKLE_PROFILES_MAX_PATTERNS 4096u /* patterns per list */

static bool ext_match(const struct pickle_profile *p, const char *module, const char *name)
{
	for (const struct layer *l = layers; l; l = l->prev)
		for (size_t i = 0; i < l->nexts; i++) {
			const struct pickle_profile *t = l->exts[i].target;

			/* ml's own list is torch's: so are torch's extensions */
			if ((t == p || (p == &pickle_profile_ml && t == &pickle_profile_torch)) &&
			    list_match((const char *const *)l->exts[i].pats, module, name))
				return true;
		}
	return false;
}

enum pickle_severity pickle_judge(const char *module, const char *name,
				  const struct pickle_profile *profile)
{
	if (list_match(deny, module, name) || dotted_denied(name))
		return PSEV_MALICIOUS;
	for (const struct layer *l = layers; l; l = l->prev)
		if (list_match((const char *const *)l->deny, module, name))
			return PSEV_MALICIOUS;
	for (const struct pickle_profile *p = profile; p; p = p->base)
		if (list_match(p->allow, module, name) || ext_match(p, module, name))
			return PSEV_ALLOWED;
	return PSEV_SUSPICIOUS;
}

void pickle_profile_each(const struct pickle_profile *profile,
			 void (*fn)(const char *pat, bool allow, void *ctx), void *ctx)
{
	for (const char *const *d = deny; *d; d++)
		fn(*d, false, ctx);
	for (const struct layer *l = layers; l; l = l->prev)
		for (char **d = l->deny; d && *d; d++)
			fn(*d, false, ctx);
	for (const struct pickle_profile *p = profile; p; p = p->base) {
		for (const char *const *a = p->allow; a && *a; a++)
			fn(*a, true, ctx);
		for (const struct layer *l = layers; l; l = l->prev)
			for (size_t i = 0; i < l->nexts; i++) {
				const struct pickle_profile *t = l->exts[i].target;

				if (t == p ||
				    (p == &pickle_profile_ml && t == &pickle_profile_torch))
					for (char **a = l->exts[i].pats; a && *a; a++)
						fn(*a, true, ctx);
			}
	}
}

static const struct pickle_profile *find_in(const struct layer *l, const char *name)
{
	for (; l; l = l->prev)
		for (size_t i = 0; i < l->nprofs; i++)
			if (!strcmp(l->profs[i].name, name))
				return &l->profs[i];
	return NULL;
}

const struct pickle_profile *pickle_profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct pickle_profile *const *b = builtins; *b; b++)
		if (!strcmp((*b)->name, name))
			return *b;
	return find_in(layers, name);
}

static void free_list(char **l)
{
	for (char **s = l; s && *s; s++)
		free(*s);
	free(l);
}

static void free_layer(struct layer *l)
{
	for (size_t i = 0; i < l->nprofs; i++) {
		free((char *)l->profs[i].name);
		free_list((char **)l->profs[i].allow);
	}
	free(l->profs);
	for (size_t i = 0; i < l->nexts; i++)
		free_list(l->exts[i].pats);
	free(l->exts);
	free_list(l->deny);
	free(l);
}

void pickle_profiles_reset(void)
{
	while (layers) {
		struct layer *l = layers;

		layers = l->prev;
		free_layer(l);
	}
}

/* ---- JSON loading ----------------------------------------------------- */

struct loadctx {
	const char *origin;
	char *err;
	size_t errlen;
	struct layer *nl; /* being built; linked only on success */
};

__attribute__((format(printf, 2, 3))) static int fail(struct loadctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = 0;

	if (!c->err || !c->errlen)
		return -EINVAL;
	n = snprintf(msg, sizeof(msg), "%s: ", c->origin);
	if (n >= 0 && (size_t)n < sizeof(msg)) {
		va_start(ap, fmt);
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* names and patterns from the file: one printable line */
	text_escape(msg, strlen(msg), c->err, c->errlen);
	return -EINVAL;
}

/* Same syntax as the built-ins; NULL if fine, else what is wrong. */
static const char *pattern_problem(const char *s)
{
	const char *colon = strchr(s, ':');
	const char *br;

	if (!colon)
		return "pattern without ':'";
	if (strchr(colon + 1, ':'))
		return "pattern with more than one ':'";
	if (colon == s || !colon[1])
		return "pattern with an empty module or name";
	if (colon - s >= 128 || strlen(colon + 1) > 255)
		return "pattern too long";
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return "pattern with a space, control or non-ASCII character";
	/* an unclosed bracket would make fnmatch match it literally */
	for (br = s; (br = strchr(br, '[')); br++)
		if (!strchr(br, ']'))
			return "pattern with an unclosed '['";
	return NULL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* A JSON array of patterns as a NULL-terminated owned list. */
static int pattern_list(struct loadctx *c, const cJSON *arr, const char *where, char ***out)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
	const cJSON *it;
	char **l;

	*out = NULL;
	if (!cJSON_IsArray(arr))
		return fail(c, "%s: not an array", where);
	/* every pattern is tried on every import a scan meets */
	if (n > PICKLE_PROFILES_MAX_PATTERNS)
		return fail(c, "%s: more than %u patterns", where, PICKLE_PROFILES_MAX_PATTERNS);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		const char *why;

		if (!cJSON_IsString(it)) {
			free_list(l);
			return fail(c, "%s[%zu]: not a string", where, i);
		}
		if ((why = pattern_problem(it->valuestring))) {
			free_list(l);
			return fail(c, "%s[%zu]: %s: \"%.80s\"", where, i, why, it->valuestring);
		}
		if (!(l[i++] = strdup(it->valuestring))) {
			free_list(l);
			return -ENOMEM;
		}
	}
	*out = l;
	return 0;
}

/* Built-in, already loaded, or earlier in this file. */
static const struct pickle_profile *lookup(struct loadctx *c, const char *name)
{
	const struct pickle_profile *p = pickle_profile_find(name);

	return p ? p : find_in(c->nl, name);
}

static int one_profile(struct loadctx *c, const cJSON *e, size_t idx)
{
	const cJSON *name = NULL, *base = NULL, *allow = NULL, *k;
	const struct pickle_profile *old, *bp;
	char where[48];
	char **pats = NULL;
	int rc;

	if (!cJSON_IsObject(e))
		return fail(c, "profiles[%zu]: not an object", idx);
	cJSON_ArrayForEach(k, e) {
		if (!strcmp(k->string, "name"))
			name = k;
		else if (!strcmp(k->string, "base"))
			base = k;
		else if (!strcmp(k->string, "allow"))
			allow = k;
		else
			return fail(c, "profiles[%zu]: unknown key \"%.40s\"", idx, k->string);
	}
	if (!cJSON_IsString(name))
		return fail(c, "profiles[%zu]: \"name\" missing or not a string", idx);
	if (!name_ok(name->valuestring))
		return fail(c, "profiles[%zu]: bad name \"%.64s\" (1-63 of A-Z a-z 0-9 _ - .)", idx,
			    name->valuestring);
	old = pickle_profile_find(name->valuestring);
	for (size_t i = 0; old && i < c->nl->nexts; i++)
		if (c->nl->exts[i].target == old)
			return fail(c, "profiles[%zu]: duplicate name \"%s\"", idx,
				    name->valuestring);
	if (find_in(c->nl, name->valuestring))
		return fail(c, "profiles[%zu]: duplicate name \"%s\"", idx, name->valuestring);
	if (base && !cJSON_IsString(base))
		return fail(c, "profiles[%zu]: \"base\" not a string", idx);
	bp = lookup(c, base ? base->valuestring : "data");
	if (!bp)
		return fail(c, "profiles[%zu]: unknown base \"%.64s\"", idx, base->valuestring);
	snprintf(where, sizeof(where), "profiles[%zu].allow", idx);
	if (allow && (rc = pattern_list(c, allow, where, &pats)))
		return rc;
	if (!pats && !(pats = calloc(1, sizeof(*pats))))
		return -ENOMEM;

	if (old) {
		struct ext *ne;

		if (base && bp != old->base) {
			free_list(pats);
			return fail(c,
				    "profiles[%zu]: cannot change the base of existing "
				    "profile \"%s\"",
				    idx, name->valuestring);
		}
		ne = realloc(c->nl->exts, (c->nl->nexts + 1) * sizeof(*ne));
		if (!ne) {
			free_list(pats);
			return -ENOMEM;
		}
		c->nl->exts = ne;
		ne[c->nl->nexts++] = (struct ext){ .target = old, .pats = pats };
		return 0;
	}
	/* profs has room for every entry: pointers to it stay valid */
	char *nm = strdup(name->valuestring);
	if (!nm) {
		free_list(pats);
		return -ENOMEM;
	}
	c->nl->profs[c->nl->nprofs++] = (struct pickle_profile){ .name = nm,
								 .allow = (const char *const *)pats,
								 .base = bp };
	return 0;
}

static int load_json(struct loadctx *c, const cJSON *root)
{
	const cJSON *profiles = NULL, *dn = NULL, *k, *e;
	size_t i = 0;
	int rc;

	if (!cJSON_IsObject(root))
		return fail(c, "top level is not an object");
	cJSON_ArrayForEach(k, root) {
		if (!strcmp(k->string, "profiles"))
			profiles = k;
		else if (!strcmp(k->string, "deny"))
			dn = k;
		else
			return fail(c, "unknown key \"%.40s\"", k->string);
	}
	if (profiles && !cJSON_IsArray(profiles))
		return fail(c, "\"profiles\" is not an array");
	if (profiles) {
		size_t n = (size_t)cJSON_GetArraySize(profiles);

		/* keeps the duplicate and base look-ups (linear) cheap */
		if (n > PICKLE_PROFILES_MAX_ENTRIES)
			return fail(c, "more than %u profiles", PICKLE_PROFILES_MAX_ENTRIES);
		if (!(c->nl->profs = calloc(n ? n : 1, sizeof(*c->nl->profs))))
			return -ENOMEM;
		cJSON_ArrayForEach(e, profiles)
			if ((rc = one_profile(c, e, i++)))
				return rc;
	}
	if (dn && (rc = pattern_list(c, dn, "deny", &c->nl->deny)))
		return rc;
	return 0;
}

int pickle_profiles_load_text(const char *text, size_t len, const char *origin, char *err,
			      size_t errlen)
{
	struct loadctx c = { .origin = origin ? origin : "(text)", .err = err, .errlen = errlen };
	const char *end = NULL;
	cJSON *root;
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (len > PICKLE_PROFILES_MAX_FILE) {
		fail(&c, "too big (max %u bytes)", PICKLE_PROFILES_MAX_FILE);
		return -EFBIG;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		unsigned line = 1;

		if (!end || end < text || end > text + len)
			end = text + len;
		for (const char *p = text; p < end; p++)
			line += *p == '\n';
		return fail(&c, "line %u: bad JSON", line);
	}
	if (!(c.nl = calloc(1, sizeof(*c.nl)))) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	rc = load_json(&c, root);
	cJSON_Delete(root);
	if (rc) {
		if (rc == -ENOMEM)
			fail(&c, "out of memory");
		free_layer(c.nl);
		return rc;
	}
	c.nl->prev = layers;
	layers = c.nl;
	return 0;
}

int pickle_profiles_load_file(const char *path, char *err, size_t errlen)
{
	struct loadctx c = { .origin = path, .err = err, .errlen = errlen };
	size_t cap = PICKLE_PROFILES_MAX_FILE + 1, len = 0;
	char *buf;
	int fd, rc;

	/* whoever can write it can allow any import */
	fd = safeopen_config(path, err, errlen);
	if (fd < 0)
		return fd;
	if (!(buf = malloc(cap))) {
		close(fd);
		fail(&c, "out of memory");
		return -ENOMEM;
	}
	/* read one byte past the cap to tell "exactly 1 MiB" from "more" */
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(fd);
			free(buf);
			fail(&c, "%s", strerror(-rc));
			return rc;
		}
		if (n == 0 || (len += (size_t)n) == cap)
			break;
	}
	close(fd);
	if (len > PICKLE_PROFILES_MAX_FILE) {
		free(buf);
		fail(&c, "file too big (max %u bytes)", PICKLE_PROFILES_MAX_FILE);
		return -EFBIG;
	}
	rc = pickle_profiles_load_text(buf, len, path, err, errlen);
	free(buf);
	return rc;
}
