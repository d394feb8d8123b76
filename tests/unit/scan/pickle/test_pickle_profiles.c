/* Profiles as data: extending built-ins, new profiles and their bases, the
 * deny list, every load error, all-or-nothing loads, reset, the file cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scan/pickle/pickle_profiles.h"

static char err[256];

static int load(const char *json)
{
	return pickle_profiles_load_text(json, strlen(json), "t.json", err, sizeof(err));
}

static void test_extend_builtin(void)
{
	pickle_profiles_reset();
	CHECK(pickle_judge("mypkg.layers", "Dense", &pickle_profile_torch) == PSEV_SUSPICIOUS);
	CHECK(load("{\"profiles\": [{\"name\": \"torch\", \"allow\": [\"mypkg.layers:*\"]}]}") ==
	      0);
	CHECK_STR(err, "");
	CHECK(pickle_judge("mypkg.layers", "Dense", &pickle_profile_torch) == PSEV_ALLOWED);
	/* the glob rules of the built-ins hold for loaded patterns too */
	CHECK(pickle_judge("mypkg.layers", "__reduce__", &pickle_profile_torch) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("mypkg.layers", "os.system", &pickle_profile_torch) == PSEV_MALICIOUS);
	/* ml's list is torch's: it sees torch's extensions; numpy does not */
	CHECK(pickle_judge("mypkg.layers", "Dense", &pickle_profile_ml) == PSEV_ALLOWED);
	CHECK(pickle_judge("mypkg.layers", "Dense", &pickle_profile_numpy) == PSEV_SUSPICIOUS);
	CHECK(pickle_profile_find("torch") == &pickle_profile_torch);
	pickle_profiles_reset();
	CHECK(pickle_judge("mypkg.layers", "Dense", &pickle_profile_torch) == PSEV_SUSPICIOUS);
}

static void test_new_profiles(void)
{
	const struct pickle_profile *p, *q;

	pickle_profiles_reset();
	CHECK(pickle_profile_find("myteam") == NULL);
	CHECK(load("{\"profiles\": ["
		   "{\"name\": \"myteam\", \"base\": \"torch\", \"allow\": [\"a.b:C\"]},"
		   "{\"name\": \"sub\", \"base\": \"myteam\", \"allow\": [\"x:Y*\"]},"
		   "{\"name\": \"plain\"}]}") == 0);
	CHECK((p = pickle_profile_find("myteam")) != NULL);
	CHECK(p && p->base == &pickle_profile_torch);
	CHECK_STR(p ? p->name : NULL, "myteam");
	CHECK(pickle_judge("a.b", "C", p) == PSEV_ALLOWED);
	CHECK(pickle_judge("a.b", "D", p) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("torch._utils", "_rebuild_tensor_v2", p) == PSEV_ALLOWED);
	CHECK((q = pickle_profile_find("sub")) != NULL && q->base == p);
	CHECK(pickle_judge("a.b", "C", q) == PSEV_ALLOWED);
	CHECK(pickle_judge("x", "Yes", q) == PSEV_ALLOWED);
	CHECK(pickle_judge("x", "Yes", p) == PSEV_SUSPICIOUS);
	/* default base is "data" */
	CHECK((q = pickle_profile_find("plain")) != NULL && q->base == &pickle_profile_data);
	/* a later load extends an earlier loaded profile; pointers stay valid */
	CHECK(load("{\"profiles\": [{\"name\": \"myteam\", \"allow\": [\"e:F\"]}]}") == 0);
	CHECK(pickle_profile_find("myteam") == p);
	CHECK(pickle_judge("e", "F", p) == PSEV_ALLOWED);
	CHECK(pickle_judge("e", "F", pickle_profile_find("sub")) == PSEV_ALLOWED);
	pickle_profiles_reset();
	CHECK(pickle_profile_find("myteam") == NULL);
}

static void test_deny(void)
{
	pickle_profiles_reset();
	CHECK(load("{\"profiles\": [{\"name\": \"torch\", \"allow\": [\"mymod:*\"]}],"
		   " \"deny\": [\"mymod:dangerous\"]}") == 0);
	CHECK(pickle_judge("mymod", "dangerous", NULL) == PSEV_MALICIOUS);
	/* deny wins over an allow that also matches */
	CHECK(pickle_judge("mymod", "dangerous", &pickle_profile_torch) == PSEV_MALICIOUS);
	CHECK(pickle_judge("mymod", "fine", &pickle_profile_torch) == PSEV_ALLOWED);
	pickle_profiles_reset();
	CHECK(pickle_judge("mymod", "dangerous", NULL) == PSEV_SUSPICIOUS);
}

/* Each bad input: -EINVAL, a message naming the place and the problem,
 * and nothing of the file kept. */
static void bad(const char *json, const char *want)
{
	err[0] = 0;
	CHECK(load(json) == -EINVAL);
	if (!strstr(err, want) || strncmp(err, "t.json: ", 8))
		printf("  got \"%s\", want \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
	CHECK(!strncmp(err, "t.json: ", 8));
	CHECK(pickle_profile_find("good") == NULL);
	CHECK(pickle_judge("g", "H", &pickle_profile_torch) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("d", "x", NULL) == PSEV_SUSPICIOUS);
}

#define GOOD \
	"{\"name\": \"good\", \"allow\": [\"g:H\"]}, {\"name\": \"torch\", \"allow\": [\"g:H\"]}"

static void test_errors(void)
{
	pickle_profiles_reset();
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"alow\": []}]}",
	    "profiles[2]: unknown key \"alow\"");
	bad("{\"profiles\": [" GOOD "], \"extra\": 1}", "unknown key \"extra\"");
	/* a value quoted in the message cannot start a line of its own */
	bad("{\"profiles\": [" GOOD "], \"x\\nFAKE\\u202e\": 1}",
	    "unknown key \"x\\nFAKE\\u{202E}\"");
	CHECK(!strchr(err, '\n'));
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\"nocolon\"]}]}",
	    "profiles[2].allow[0]: pattern without ':'");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\"a:b\", 7]}]}",
	    "profiles[2].allow[1]: not a string");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\"a:b:c\"]}]}",
	    "more than one ':'");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\":b\"]}]}",
	    "empty module or name");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\"a b:c\"]}]}", "space");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"allow\": [\"a[:c\"]}]}", "unclosed");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"base\": \"nope\"}]}",
	    "profiles[2]: unknown base \"nope\"");
	/* a base must come earlier in the file */
	bad("{\"profiles\": [" GOOD ", {\"name\": \"x\", \"base\": \"y\"}, {\"name\": \"y\"}]}",
	    "profiles[2]: unknown base \"y\"");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"good\"}]}",
	    "profiles[2]: duplicate name \"good\"");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"torch\"}]}",
	    "profiles[2]: duplicate name \"torch\"");
	bad("{\"profiles\": [" GOOD ", {\"allow\": []}]}", "profiles[2]: \"name\" missing");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"a b\"}]}", "profiles[2]: bad name");
	bad("{\"profiles\": [" GOOD ", 3]}", "profiles[2]: not an object");
	bad("{\"profiles\": [" GOOD ", {\"name\": \"numpy\", \"base\": \"torch\"}]}",
	    "cannot change the base");
	bad("{\"profiles\": [" GOOD "], \"deny\": [\"d:x\", \"oops\"]}",
	    "deny[1]: pattern without ':'");
	bad("{\"profiles\": {}}", "\"profiles\" is not an array");
	bad("[]", "top level is not an object");
	bad("{\"profiles\": [\n" GOOD ",\n\n  {\"name\": }]}", "line 4: bad JSON");
	bad("", "bad JSON");
	/* the same entries alone are fine: the errors above were the only cause */
	CHECK(load("{\"profiles\": [" GOOD "], \"deny\": [\"d:x\"]}") == 0);
	CHECK(pickle_profile_find("good") != NULL);
	CHECK(pickle_judge("g", "H", &pickle_profile_torch) == PSEV_ALLOWED);
	CHECK(pickle_judge("d", "x", NULL) == PSEV_MALICIOUS);
	pickle_profiles_reset();
}

static void test_files(void)
{
	char dir[] = "/tmp/mlwatch-pp-XXXXXX", path[64], big[64];
	static const char body[] =
		"{\"profiles\": [{\"name\": \"fromfile\", \"allow\": [\"f:G\"]}]}";
	FILE *f;
	char *pad;

	pickle_profiles_reset();
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/p.json", dir);
	snprintf(big, sizeof(big), "%s/big.json", dir);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f) {
		fputs(body, f);
		fclose(f);
	}
	/* whoever can write it could allow any import */
	CHECK(chmod(path, 0664) == 0);
	CHECK(pickle_profiles_load_file(path, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "p.json: writable by group/others (mode 0664); refusing") != NULL);
	CHECK(pickle_profile_find("fromfile") == NULL);
	CHECK(chmod(path, 0644) == 0);
	CHECK(pickle_profiles_load_file(path, err, sizeof(err)) == 0);
	CHECK(pickle_judge("f", "G", pickle_profile_find("fromfile")) == PSEV_ALLOWED);
	pickle_profiles_reset();

	/* one byte over the cap, valid JSON otherwise: refused unread */
	pad = malloc(PICKLE_PROFILES_MAX_FILE + 2);
	CHECK(pad != NULL && (f = fopen(big, "w")) != NULL);
	if (pad && f) {
		memset(pad, ' ', PICKLE_PROFILES_MAX_FILE + 1);
		memcpy(pad, body, sizeof(body) - 1);
		fwrite(pad, 1, PICKLE_PROFILES_MAX_FILE + 1, f);
		fclose(f);
		CHECK(pickle_profiles_load_file(big, err, sizeof(err)) == -EFBIG);
		CHECK(strstr(err, "big.json: file too big") != NULL);
		CHECK(pickle_profile_find("fromfile") == NULL);
		/* exactly at the cap is fine */
		CHECK(truncate(big, PICKLE_PROFILES_MAX_FILE) == 0);
		CHECK(pickle_profiles_load_file(big, err, sizeof(err)) == 0);
		CHECK(pickle_profile_find("fromfile") != NULL);
		CHECK(pickle_profiles_load_text(pad, PICKLE_PROFILES_MAX_FILE + 1, "mem", err,
						sizeof(err)) == -EFBIG);
	}
	free(pad);
	pickle_profiles_reset();

	CHECK(pickle_profiles_load_file("/nonexistent/x.json", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "/nonexistent/x.json: ") == err);
	/* a NULL error buffer is allowed */
	CHECK(pickle_profiles_load_text("{", 1, "x", NULL, 0) == -EINVAL);
	unlink(path);
	unlink(big);
	rmdir(dir);
}

static void test_find_builtins(void)
{
	static const char *const names[] = { "data", "torch", "numpy", "sklearn", "ml" };

	for (size_t i = 0; i < 5; i++) {
		const struct pickle_profile *p = pickle_profile_find(names[i]);

		CHECK(p != NULL);
		CHECK_STR(p ? p->name : NULL, names[i]);
	}
	CHECK(pickle_profile_find("nope") == NULL);
	CHECK(pickle_profile_find(NULL) == NULL);
}

static void test_roles(void)
{
	CHECK(pickle_global_roles("pickle", "loads") == PROLE_LOADER);
	CHECK(pickle_global_roles("io", "BytesIO") == PROLE_BYTES_WRAPPER);
	CHECK(pickle_global_roles("_codecs", "encode") == PROLE_CODECS_ENCODE);
	CHECK(pickle_global_roles("numpy", "dtype") == PROLE_NP_DTYPE);
	CHECK(pickle_global_roles("joblib.numpy_pickle", "NumpyArrayWrapper") ==
	      PROLE_JOBLIB_ARRAY);
	CHECK(pickle_global_roles("copyreg", "_reconstructor") == PROLE_RECONSTRUCTOR);
	CHECK(pickle_global_roles("numpy", "ndarray") == 0);
}

/* runtime: ml plus what process pools pickle; a script's namespace is no
 * way around the deny list */
static void test_runtime(void)
{
	const struct pickle_profile *r = &pickle_profile_runtime;

	pickle_profiles_reset();
	CHECK(pickle_profile_find("runtime") == r);
	CHECK(pickle_judge("__main__", "f", r) == PSEV_ALLOWED);
	CHECK(pickle_judge("__main__", "f", &pickle_profile_ml) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("torch.multiprocessing.reductions", "rebuild_storage_fd", r) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("joblib.externals.loky.process_executor", "_CallItem", r) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("torch._utils", "_rebuild_tensor_v2", r) == PSEV_ALLOWED);
	/* a DataLoader's batches from its workers (torch 1.13) */
	CHECK(pickle_judge("torch.storage", "UntypedStorage", r) == PSEV_ALLOWED);
	CHECK(pickle_judge("torch.storage", "UntypedStorage", &pickle_profile_ml) ==
	      PSEV_SUSPICIOUS);
	CHECK(pickle_judge("__main__", "system", r) == PSEV_MALICIOUS);
	CHECK(pickle_judge("__main__", "execvp", r) == PSEV_MALICIOUS);
	/* spawn and forkserver pools send the process object */
	CHECK(pickle_judge("multiprocessing.context", "SpawnProcess", r) == PSEV_ALLOWED);
	CHECK(pickle_judge("multiprocessing.popen_spawn_posix", "_DupFd", r) == PSEV_ALLOWED);
	CHECK(pickle_judge("__main__", "__class__", r) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("posix", "system", r) == PSEV_MALICIOUS);
	CHECK(pickle_judge("builtins", "exec", r) == PSEV_MALICIOUS);
	CHECK(pickle_judge("torch.storage", "_load_from_bytes", r) == PSEV_SUSPICIOUS);
}

struct each_seen {
	int deny, allow, os_denied, main_allowed, loaded_deny, loaded_allow, order_ok;
};

static void each_cb(const char *pat, bool allow, void *ctx)
{
	struct each_seen *e = ctx;

	if (allow)
		e->allow++;
	else if (e->allow)
		e->order_ok = 0; /* every deny pattern comes first */
	else
		e->deny++;
	e->os_denied += !allow && !strcmp(pat, "os:*");
	e->main_allowed += allow && !strcmp(pat, "__main__:*");
	e->loaded_deny += !allow && !strcmp(pat, "mymod:bad");
	e->loaded_allow += allow && !strcmp(pat, "mypkg.layers:*");
}

static void test_each(void)
{
	struct each_seen e = { .order_ok = 1 };

	pickle_profiles_reset();
	CHECK(load("{\"profiles\": [{\"name\": \"torch\", \"allow\": [\"mypkg.layers:*\"]}],"
		   " \"deny\": [\"mymod:bad\"]}") == 0);
	pickle_profile_each(&pickle_profile_runtime, each_cb, &e);
	CHECK(e.order_ok && e.deny > 20 && e.allow > 100);
	CHECK(e.os_denied == 1 && e.main_allowed == 1);
	CHECK(e.loaded_deny == 1 && e.loaded_allow == 1); /* torch's extension, through ml */
	memset(&e, 0, sizeof(e));
	e.order_ok = 1;
	pickle_profile_each(&pickle_profile_data, each_cb, &e);
	CHECK(e.main_allowed == 0 && e.loaded_allow == 0 && e.loaded_deny == 1);
	pickle_profiles_reset();
}

int main(void)
{
	RUN(test_extend_builtin);
	RUN(test_new_profiles);
	RUN(test_deny);
	RUN(test_errors);
	RUN(test_files);
	RUN(test_find_builtins);
	RUN(test_roles);
	RUN(test_runtime);
	RUN(test_each);
	return CHECK_DONE();
}
