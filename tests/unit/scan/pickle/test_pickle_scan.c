/* pickle_scan: hand-built hostile byte strings (never produced by running a
 * __reduce__), benign pickles generated offline with python3 -m pickle, and
 * joblib / protocol 0 files python3 writes at test time (dumped, never
 * loaded). */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/budget.h"
#include "scan/pickle/pickle_render.h"

/* Generated with /usr/bin/python3 pickle (protocol 2): a torch-shaped
 * state_dict (OrderedDict of _rebuild_tensor_v2 with persistent ids), a
 * numpy float32 array, and a plain dict at protocol 4. */
static const uint8_t torch_sd[] =
	"\x80\x02\x63\x63\x6f\x6c\x6c\x65\x63\x74\x69\x6f\x6e\x73\x0a\x4f\x72\x64\x65\x72\x65\x64\x44\x69"
	"\x63\x74\x0a\x71\x00\x29\x52\x71\x01\x28\x58\x09\x00\x00\x00\x66\x63\x2e\x77\x65\x69\x67\x68\x74"
	"\x71\x02\x63\x74\x6f\x72\x63\x68\x2e\x5f\x75\x74\x69\x6c\x73\x0a\x5f\x72\x65\x62\x75\x69\x6c\x64"
	"\x5f\x74\x65\x6e\x73\x6f\x72\x5f\x76\x32\x0a\x71\x03\x28\x28\x58\x07\x00\x00\x00\x73\x74\x6f\x72"
	"\x61\x67\x65\x71\x04\x58\x18\x00\x00\x00\x46\x6c\x6f\x61\x74\x53\x74\x6f\x72\x61\x67\x65\x5f\x70"
	"\x6c\x61\x63\x65\x68\x6f\x6c\x64\x65\x72\x71\x05\x58\x01\x00\x00\x00\x30\x71\x06\x58\x03\x00\x00"
	"\x00\x63\x70\x75\x71\x07\x4b\x04\x74\x71\x08\x51\x4b\x00\x4b\x02\x4b\x02\x86\x71\x09\x4b\x02\x4b"
	"\x01\x86\x71\x0a\x89\x68\x00\x29\x52\x71\x0b\x74\x71\x0c\x52\x71\x0d\x58\x07\x00\x00\x00\x66\x63"
	"\x2e\x62\x69\x61\x73\x71\x0e\x68\x03\x28\x28\x68\x04\x68\x05\x58\x01\x00\x00\x00\x31\x71\x0f\x68"
	"\x07\x4b\x04\x74\x71\x10\x51\x4b\x00\x68\x09\x68\x0a\x89\x68\x00\x29\x52\x71\x11\x74\x71\x12\x52"
	"\x71\x13\x75\x2e";
static const uint8_t numpy_p2[] =
	"\x80\x02\x63\x6e\x75\x6d\x70\x79\x2e\x63\x6f\x72\x65\x2e\x6d\x75\x6c\x74\x69\x61\x72\x72\x61\x79"
	"\x0a\x5f\x72\x65\x63\x6f\x6e\x73\x74\x72\x75\x63\x74\x0a\x71\x00\x63\x6e\x75\x6d\x70\x79\x0a\x6e"
	"\x64\x61\x72\x72\x61\x79\x0a\x71\x01\x4b\x00\x85\x71\x02\x63\x5f\x63\x6f\x64\x65\x63\x73\x0a\x65"
	"\x6e\x63\x6f\x64\x65\x0a\x71\x03\x58\x01\x00\x00\x00\x62\x71\x04\x58\x06\x00\x00\x00\x6c\x61\x74"
	"\x69\x6e\x31\x71\x05\x86\x71\x06\x52\x71\x07\x87\x71\x08\x52\x71\x09\x28\x4b\x01\x4b\x04\x85\x71"
	"\x0a\x63\x6e\x75\x6d\x70\x79\x0a\x64\x74\x79\x70\x65\x0a\x71\x0b\x58\x02\x00\x00\x00\x66\x34\x71"
	"\x0c\x89\x88\x87\x71\x0d\x52\x71\x0e\x28\x4b\x03\x58\x01\x00\x00\x00\x3c\x71\x0f\x4e\x4e\x4e\x4a"
	"\xff\xff\xff\xff\x4a\xff\xff\xff\xff\x4b\x00\x74\x71\x10\x62\x89\x68\x03\x58\x11\x00\x00\x00\x00"
	"\x00\x00\x00\x00\x00\xc2\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x71\x11\x68\x05\x86\x71\x12\x52"
	"\x71\x13\x74\x71\x14\x62\x2e";
static const uint8_t benign_p4[] =
	"\x80\x04\x95\x32\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x01\x61\x94\x5d\x94\x28\x4b\x01\x47"
	"\x40\x04\x00\x00\x00\x00\x00\x00\x8c\x01\x78\x94\x43\x01\x79\x94\x4b\x01\x4b\x02\x86\x94\x65\x8c"
	"\x01\x62\x94\x8f\x94\x28\x4b\x03\x4b\x04\x90\x75\x2e";

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const struct pickle_finding *find(const struct pickle_result *r, const char *mod,
					 const char *name)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (!strcmp(r->findings[i].module, mod) && !strcmp(r->findings[i].name, name))
			return &r->findings[i];
	return NULL;
}

static void test_os_system_global_p0(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(S("cos\nsystem\n(S'id'\ntR."), &pickle_profile_torch, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(r.nfindings == 1);
	CHECK((f = find(&r, "os", "system")) != NULL);
	if (f) {
		CHECK(f->offset == 0);
		CHECK(f->opcode == 'c');
		CHECK(f->called);
		CHECK(f->severity == PSEV_MALICIOUS);
		CHECK(f->depth == 0);
	}
	CHECK(r.nerrors == 0);
	CHECK(!r.trailing);
	pickle_result_free(&r);
}

/* Protocol 4: module and name MEMOIZEd, popped, fetched back with BINGET. */
static const char stack_global_p4[] = "\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00"
				      "\x8c\x02os\x94"
				      "0"
				      "\x8c\x06system\x94"
				      "0"
				      "h\x00h\x01\x93\x94\x8c\x02id\x94\x85\x94R\x94.";

static void test_os_system_stack_global_memo(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(S(stack_global_p4), &pickle_profile_torch, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK((f = find(&r, "os", "system")) != NULL);
	if (f) {
		CHECK(f->offset == 31);
		CHECK(f->opcode == 0x93);
		CHECK(f->kind == PIMP_STACK_GLOBAL);
		CHECK(f->called);
	}
	CHECK(r.nerrors == 0);
	pickle_result_free(&r);
}

static void test_builtins_exec(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(S("\x80\x02"
			    "cbuiltins\nexec\nq\x00X\x05\x00\x00\x00pass;q\x01\x85R."),
			  &pickle_profile_sklearn, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK((f = find(&r, "builtins", "exec")) != NULL && f->called);
	pickle_result_free(&r);
}

static void test_torch_state_dict_clean(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(torch_sd, sizeof(torch_sd) - 1, &pickle_profile_torch, &r) == 0);
	CHECK(r.verdict == PV_CLEAN);
	CHECK(r.nerrors == 0);
	CHECK(r.persids == 2);
	CHECK(find(&r, "torch._utils", "_rebuild_tensor_v2") != NULL);
	CHECK(find(&r, "collections", "OrderedDict") != NULL);
	pickle_result_free(&r);
	/* outside its profile the same file is not clean */
	CHECK(pickle_scan(torch_sd, sizeof(torch_sd) - 1, &pickle_profile_numpy, &r) == 0);
	CHECK(r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);
}

static void test_numpy_reconstruct_clean(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(numpy_p2, sizeof(numpy_p2) - 1, &pickle_profile_numpy, &r) == 0);
	CHECK(r.verdict == PV_CLEAN);
	CHECK((f = find(&r, "numpy.core.multiarray", "_reconstruct")) != NULL && f->called);
	CHECK(r.nerrors == 0);
	pickle_result_free(&r);
	CHECK(pickle_scan(numpy_p2, sizeof(numpy_p2) - 1, &pickle_profile_sklearn, &r) == 0);
	CHECK(r.verdict == PV_CLEAN);
	pickle_result_free(&r);
	CHECK(pickle_scan(numpy_p2, sizeof(numpy_p2) - 1, NULL, &r) == 0);
	CHECK(r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);
}

static void test_benign_p4_no_imports(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(benign_p4, sizeof(benign_p4) - 1, NULL, &r) == 0);
	CHECK(r.verdict == PV_CLEAN);
	CHECK(r.nfindings == 0 && r.nerrors == 0 && r.pickles == 1);
	pickle_result_free(&r);
}

/* pickle.loads(b"cos\nsystem\n(S'id'\ntR.") */
static const char nested[] = "\x80\x02"
			     "cpickle\nloads\n"
			     "C\x15"
			     "cos\nsystem\n(S'id'\ntR."
			     "\x85R.";

static void test_nested_loads(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(S(nested), &pickle_profile_torch, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(r.nested == 1);
	CHECK((f = find(&r, "pickle", "loads")) != NULL && f->loader && f->called &&
	      f->depth == 0 && f->severity == PSEV_SUSPICIOUS);
	CHECK((f = find(&r, "os", "system")) != NULL);
	if (f) {
		CHECK(f->depth == 1);
		CHECK(f->offset == 18); /* absolute: inside the C argument */
		CHECK(f->called);
	}
	pickle_result_free(&r);
}

/* torch.load(io.BytesIO(b"...")): the wrapper passes the bytes on. */
static void test_nested_bytesio(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	CHECK(pickle_scan(S("\x80\x02"
			    "ctorch\nload\ncio\nBytesIO\n"
			    "C\x11"
			    "cposix\nsystem\n)R."
			    "\x85R\x85R."),
			  &pickle_profile_torch, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK((f = find(&r, "posix", "system")) != NULL && f->depth == 1);
	pickle_result_free(&r);
}

static void test_depth_limit(void)
{
	struct pickle_result r;
	struct pickle_limits lim = pickle_default_limits;

	lim.max_depth = 0;
	CHECK(pickle_scan_opts(S(nested), &pickle_profile_torch, &lim, &r) == 0);
	CHECK(r.limits_hit & PLIM_DEPTH);
	CHECK(find(&r, "os", "system") == NULL);
	CHECK(r.verdict == PV_SUSPICIOUS); /* the loader itself */
	pickle_result_free(&r);
}

static void test_broken_after_payload(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(S("cos\nsystem\n(S'id'\ntR\xff\x01\x02"), NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(find(&r, "os", "system") != NULL);
	CHECK(r.nerrors == 1);
	CHECK(r.errors[0].kind == PERR_UNKNOWN_OPCODE);
	CHECK(r.errors[0].offset == 20);
	CHECK(r.errors[0].opcode == 0xff);
	pickle_result_free(&r);

	CHECK(pickle_scan(S("\x80\x02"
			    "cbuiltins\neval\nX\xff\x00\x00\x00"
			    "ab"),
			  NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_TRUNCATED && r.errors[0].offset == 17);
	pickle_result_free(&r);
}

static void test_only_errors(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(S("R."), NULL, &r) == 0);
	CHECK(r.verdict == PV_ERROR);
	CHECK(r.nerrors >= 1 && r.errors[0].kind == PERR_STACK_UNDERFLOW);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x02N"), NULL, &r) == 0);
	CHECK(r.verdict == PV_ERROR && r.nerrors == 1 && r.errors[0].kind == PERR_NO_STOP);
	pickle_result_free(&r);
	CHECK(pickle_scan(S(""), NULL, &r) == 0);
	CHECK(r.verdict == PV_ERROR);
	pickle_result_free(&r);
}

static void test_cprofile_pkgutil(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(S("ccProfile\nrun\n(S'x'\ntR."), &pickle_profile_sklearn, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x04\x8c\x07pkgutil\x8c\x0cresolve_name\x93"
			    "\x8c\x09os:system\x85R)R."),
			  &pickle_profile_sklearn, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(find(&r, "pkgutil", "resolve_name") != NULL);
	pickle_result_free(&r);
	/* cProfile itself is not denied wholesale, only its runners */
	CHECK(pickle_judge("cProfile", "Profile", NULL) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("operator", "methodcaller", &pickle_profile_sklearn) == PSEV_MALICIOUS);
}

static void test_ext1(void)
{
	struct pickle_result r;

	CHECK(pickle_scan(S("\x80\x02\x82\x05)R."), &pickle_profile_torch, &r) == 0);
	CHECK(r.nfindings == 1);
	if (r.nfindings == 1) {
		CHECK(r.findings[0].kind == PIMP_EXT);
		CHECK(r.findings[0].ext_code == 5);
		CHECK(r.findings[0].opcode == 0x82);
		CHECK(r.findings[0].called);
	}
	CHECK(r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x02\x84\x01\x02\x03\x04."), NULL, &r) == 0);
	CHECK(r.nfindings == 1 && r.findings[0].ext_code == 0x04030201 && !r.findings[0].called);
	pickle_result_free(&r);
}

static void test_called_flags(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	/* only referenced (in a list): still malicious, but not called */
	CHECK(pickle_scan(S("\x80\x02]cos\nsystem\na."), NULL, &r) == 0);
	CHECK((f = find(&r, "os", "system")) != NULL && !f->called);
	CHECK(r.verdict == PV_MALICIOUS);
	pickle_result_free(&r);
	/* INST is a call; OBJ and NEWOBJ too; BUILD is not */
	CHECK(pickle_scan(S("(S'id'\nios\nsystem\n."), NULL, &r) == 0);
	CHECK((f = find(&r, "os", "system")) != NULL && f->called && f->kind == PIMP_INST);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("(csubprocess\nPopen\nS'id'\no."), NULL, &r) == 0);
	CHECK((f = find(&r, "subprocess", "Popen")) != NULL && f->called);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x02"
			    "csklearn.linear_model._base\nLinearRegression\n)\x81}b."),
			  &pickle_profile_sklearn, &r) == 0);
	CHECK((f = find(&r, "sklearn.linear_model._base", "LinearRegression")) && f->called);
	CHECK(r.verdict == PV_CLEAN && r.nerrors == 0);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x04"
			    "cfoo\nBar\n)}\x92"
			    "cfoo\nState\nb."),
			  NULL, &r) == 0);
	CHECK((f = find(&r, "foo", "Bar")) && f->called);
	CHECK((f = find(&r, "foo", "State")) && !f->called);
	CHECK(r.nerrors == 0);
	pickle_result_free(&r);
}

/* Protocol 4 resolves dotted names by getattr: a glob must not allow them. */
static void test_dotted_name(void)
{
	CHECK(pickle_judge("sklearn.base", "os.system", &pickle_profile_sklearn) == PSEV_MALICIOUS);
	CHECK(pickle_judge("sklearn.base", "np.load", &pickle_profile_sklearn) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("sklearn.base", "__class__", &pickle_profile_sklearn) ==
	      PSEV_SUSPICIOUS);
	CHECK(pickle_judge("sklearn.base", "BaseEstimator", &pickle_profile_sklearn) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("torch", "FloatStorage", &pickle_profile_torch) == PSEV_ALLOWED);
	CHECK(pickle_judge("torch.storage", "_load_from_bytes", &pickle_profile_torch) ==
	      PSEV_SUSPICIOUS);
	CHECK(pickle_judge("os.path", "join", &pickle_profile_torch) == PSEV_MALICIOUS);
}

static void test_limits(void)
{
	struct pickle_result r;
	struct pickle_limits lim = pickle_default_limits;
	char big[400];

	lim.max_opcodes = 3;
	CHECK(pickle_scan_opts(S("NNNNN."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_OPCODES && r.opcodes == 3 && r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);

	lim = pickle_default_limits;
	lim.max_stack = 4;
	CHECK(pickle_scan_opts(S("NNNNN."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_STACK);
	pickle_result_free(&r);
	CHECK(pickle_scan_opts(S("(((((N."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_STACK);
	pickle_result_free(&r);

	lim = pickle_default_limits;
	lim.max_memo = 8;
	CHECK(pickle_scan_opts(S("\x80\x02Nq\x09."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_MEMO);
	pickle_result_free(&r);

	lim = pickle_default_limits;
	lim.max_findings = 1;
	CHECK(pickle_scan_opts(S("\x80\x02]cfoo\nbar\nacos\nsystem\na."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_FINDINGS && r.nfindings == 1 && r.findings_dropped == 1);
	CHECK(r.verdict == PV_MALICIOUS); /* the dropped one still counts */
	pickle_result_free(&r);

	lim = pickle_default_limits;
	lim.max_string = 4;
	CHECK(pickle_scan_opts(S("\x80\x02X\x05\x00\x00\x00hello."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_STRING);
	pickle_result_free(&r);
	memset(big, 'a', sizeof(big));
	memcpy(big, "c", 1);
	big[300] = '\n';
	memcpy(big + 301, "x\n.", 3);
	CHECK(pickle_scan((const uint8_t *)big, 304, NULL, &r) == 0);
	CHECK(r.limits_hit == PLIM_STRING && r.nfindings == 1);
	CHECK(r.nfindings == 1 && strlen(r.findings[0].module) == PICKLE_NAME_MAX);
	pickle_result_free(&r);

	lim = pickle_default_limits;
	lim.max_input = 4;
	CHECK(pickle_scan_opts(S("NNNNNNNN."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit & PLIM_INPUT);
	CHECK(r.opcodes == 4);
	pickle_result_free(&r);
}

/* pickle.loads of one memoized 512 KiB string, 87000 times: a minute of
 * walking for 1 MiB of pickle. */
static uint8_t *loads_bomb(size_t *len)
{
	static const char head[] = "\x80\x04"
				   "cpickle\nloads\n"
				   "q\x00"
				   "B\x00\x00\x08\x00"
				   "S'";
	size_t inner = (512u << 10) - 5, n = sizeof(head) - 1;
	uint8_t *p = malloc(1u << 20);

	if (!p)
		return NULL;
	memcpy(p, head, n);
	memset(p + n, 'a', inner);
	n += inner;
	memcpy(p + n, "'\n.\x85q\x01", 6);
	for (n += 6; n + 8 < 1u << 20; n += 6)
		memcpy(p + n, "h\x00h\x01R0", 6);
	memcpy(p + n, "N.", 2);
	*len = n + 2;
	return p;
}

/* The deadline of the budget the limits carry: read as each walk starts
 * (so a passed one stops it before the first opcode, and each nested walk
 * of a repeated string looks again), never cut a walk that has time. */
static void test_deadline(void)
{
	struct pickle_limits lim = pickle_default_limits;
	struct pickle_result r;
	struct budget b;
	struct timespec t0, t1;
	uint8_t *bomb;
	size_t n;

	budget_init(&b, 0, 0);
	b.deadline_ns = 1;
	lim.budget = &b;
	CHECK(pickle_scan_opts(S("cos\nsystem\n(S'id'\ntR."), NULL, &lim, &r) == 0);
	CHECK(r.limits_hit == PLIM_TIME && r.opcodes == 0 && r.verdict == PV_SUSPICIOUS);
	CHECK(b.spent == BUDGET_TIME);
	pickle_result_free(&r);

	budget_init(&b, 60000, 0);
	CHECK(pickle_scan_stream(S("cos\nsystem\n(S'id'\ntR."), NULL, &lim, &r) == 0);
	CHECK(!r.limits_hit && r.verdict == PV_MALICIOUS && !b.spent);
	pickle_result_free(&r);

	bomb = loads_bomb(&n);
	CHECK(bomb != NULL);
	if (!bomb)
		return;
	budget_init(&b, 200, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(pickle_scan_stream(bomb, n, &pickle_profile_torch, &lim, &r) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(r.limits_hit == PLIM_TIME && r.verdict == PV_SUSPICIOUS && r.nested > 0);
	CHECK(r.nfindings == 1 && !strcmp(r.findings[0].name, "loads"));
	CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	pickle_result_free(&r);
	free(bomb);
}

static void test_trailing_second_pickle(void)
{
	struct pickle_result r;
	static const char two[] = "\x80\x02K\x01."
				  "cos\nsystem\n(S'id'\ntR.";

	CHECK(pickle_scan(S(two), NULL, &r) == 0);
	CHECK(r.verdict == PV_CLEAN);
	CHECK(r.trailing && r.trailing_offset == 5 && r.pickles == 1);
	pickle_result_free(&r);
	CHECK(pickle_scan_stream(S(two), NULL, NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && r.pickles == 2);
	CHECK(find(&r, "os", "system") && find(&r, "os", "system")->offset == 5);
	CHECK(!r.trailing);
	pickle_result_free(&r);
	/* legacy torch: raw storage bytes after the last pickle are not errors */
	CHECK(pickle_scan_stream(S("\x80\x02K\x01.\x10\x00\x00\x00\x00\x00\x00\x00\xff\xee"), NULL,
				 NULL, &r) == 0);
	CHECK(r.verdict == PV_CLEAN && r.trailing_unparsed && r.nerrors == 0 && r.pickles == 1);
	pickle_result_free(&r);
}

static void test_json(void)
{
	struct pickle_result r;
	cJSON *j, *fs, *f0;
	char *txt;

	/* a GLOBAL line the unpickler cannot decode imports nothing: the
	 * load stops there (an error, not a finding) */
	CHECK(pickle_scan(S("\x80\x02"
			    "c\xff\xfeos\nsystem\n)R."),
			  NULL, &r) == 0);
	CHECK(r.nfindings == 0 && r.nerrors == 1 && r.errors[0].kind == PERR_BAD_GLOBAL &&
	      r.verdict == PV_ERROR);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("c\nsystem\n)R."), NULL, &r) == 0);
	CHECK(r.nfindings == 0 && r.errors[0].kind == PERR_BAD_GLOBAL);
	pickle_result_free(&r);
	/* strings from the stack are not UTF-8 checked here: kept, sanitized */
	CHECK(pickle_scan(S("\x80\x04\x8c\x04\xff\xfeos\x8c\x06system\x93)R\xfe"), NULL, &r) == 0);
	j = pickle_result_json(&r);
	CHECK(j != NULL);
	if (j) {
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "verdict")), "suspicious");
		fs = cJSON_GetObjectItem(j, "findings");
		f0 = cJSON_GetArrayItem(fs, 0);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "module")),
			  "\xef\xbf\xbd\xef\xbf\xbdos");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f0, "opcode")), "STACK_GLOBAL");
		CHECK(cJSON_IsTrue(cJSON_GetObjectItem(f0, "called")));
		CHECK_STR(cJSON_GetStringValue(
				  cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j,
											     "errors"),
									 0),
						      "kind")),
			  "unknown-opcode");
		txt = cJSON_PrintUnformatted(j);
		CHECK(txt && strstr(txt, "\"profile\":\"none\""));
		free(txt);
		cJSON_Delete(j);
	}
	pickle_result_free(&r);
	CHECK_STR(pickle_verdict_name(PV_ERROR), "error");
	CHECK_STR(pickle_limit_name(PLIM_DEPTH), "depth");
	CHECK_STR(pickle_opcode_name(0x93), "STACK_GLOBAL");
}

/* ---- files python3 writes at test time ------------------------------- */

static char gdir[] = "/tmp/mlwatch-pk-XXXXXX";
static bool have_dir;

/* Runs a python3 script (stdin) with the scratch dir as argv[1]. */
static bool py(const char *script)
{
	char cmd[128];
	FILE *p;

	if (!have_dir)
		return false;
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -W ignore - %s", gdir);
	if (!(p = popen(cmd, "w")))
		return false;
	fputs(script, p);
	return pclose(p) == 0;
}

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[256];
	uint8_t *b = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", gdir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)n + 1)) && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	*len = b ? (size_t)n : 0;
	fclose(f);
	return b;
}

static const char gen_script[] =
	"import sys, os, pickle, numpy as np, joblib\n"
	"from sklearn.linear_model import LogisticRegression\n"
	"from sklearn.ensemble import RandomForestClassifier\n"
	"d = sys.argv[1]\n"
	"X = np.array([[0., 1], [1, 0], [1, 1], [0, 0]]); y = np.array([0, 1, 1, 0])\n"
	"arrs = {'f8': np.arange(5.0), 'i4': np.arange(7, dtype=np.int32),\n"
	"  'b1': np.array([True, False, True]), 'c16': np.arange(3) * 1j,\n"
	"  'U': np.array(['ab', 'cde']), 'S': np.array([b'xy', b'z']),\n"
	"  'rec': np.zeros(3, dtype=[('a', '<i4'), ('b', 'f8'), ('s', 'S3')]),\n"
	"  'fort': np.asfortranarray(np.arange(12.).reshape(3, 4)), 'zero_d': np.array(3.5),\n"
	"  'empty': np.zeros((0, 3)), 'obj': np.array([1, 'x', None], dtype=object),\n"
	"  'dt': np.array(['2020-01-01'], dtype='M8[ns]'), 'big': np.arange(50000.0)}\n"
	"for p in (0, 2, 4):\n"
	"    joblib.dump(arrs, os.path.join(d, 'arrs%d.joblib' % p), compress=0, protocol=p)\n"
	"lr = LogisticRegression().fit(X, y)\n"
	"rf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)\n"
	"joblib.dump(lr, os.path.join(d, 'lr.joblib'), compress=0)\n"
	"joblib.dump(rf, os.path.join(d, 'rf.joblib'), compress=0)\n"
	"rs = RandomForestClassifier(n_estimators=2, random_state=np.random.RandomState(1)).fit(X, y)\n"
	"extra = [np.random.RandomState(3), np.random.default_rng(1), np.float64(1.5),\n"
	"         np.int32(3), np.dtype('f8'), type(np.dtype('f8')), np.float32]\n"
	"for p in (2, 5):\n"
	"    for n, o in (('lr', lr), ('rf', rs), ('np', extra)):\n"
	"        open(os.path.join(d, '%s_p%d.pkl' % (n, p)), 'wb').write(pickle.dumps(o, protocol=p))\n"
	"class Evil:\n"
	"    def __reduce__(self):\n"
	"        return (os.system, ('true',))\n"
	"joblib.dump({'a': np.arange(3.0), 'x': np.array([1, Evil()], dtype=object),\n"
	"             'b': np.arange(4)}, os.path.join(d, 'evil.joblib'), compress=0)\n"
	"class Nest:\n"
	"    def __reduce__(self):\n"
	"        return (pickle.loads, (pickle.dumps(Evil()),))\n"
	"for p in (0, 1):\n"
	"    open(os.path.join(d, 'nest_p%d.pkl' % p), 'wb').write(pickle.dumps(Nest(), protocol=p))\n";

static bool generated;

static void test_generate(void)
{
	have_dir = mkdtemp(gdir) != NULL;
	CHECK(have_dir);
	generated = py(gen_script);
	CHECK(generated);
}

static void test_joblib_arrays_clean(void)
{
	static const char *const names[] = { "arrs0.joblib", "arrs2.joblib", "arrs4.joblib" };
	struct pickle_result r;
	uint8_t *b;
	size_t n;

	for (size_t i = 0; i < 3; i++) {
		CHECK((b = slurp(names[i], &n)) != NULL);
		if (!b)
			continue;
		CHECK(pickle_scan_joblib(b, n, &pickle_profile_sklearn, NULL, &r) == 0);
		CHECK(r.verdict == PV_CLEAN);
		CHECK(r.nerrors == 0 && r.limits_hit == 0);
		CHECK(r.arrays == 13);
		CHECK(r.nested == 1); /* the object array's own pickle */
		CHECK(r.consumed == n && !r.trailing);
		CHECK(find(&r, "joblib.numpy_pickle", "NumpyArrayWrapper") != NULL);
		pickle_result_free(&r);
		/* a plain unpickler would choke on the inline data */
		CHECK(pickle_scan(b, n, &pickle_profile_sklearn, &r) == 0);
		CHECK(r.verdict != PV_CLEAN && r.arrays == 0);
		pickle_result_free(&r);
		free(b);
	}
}

static void test_joblib_sklearn_models(void)
{
	static const char *const names[] = { "lr.joblib", "rf.joblib" };
	struct pickle_result r;
	uint8_t *b;
	size_t n;

	for (size_t i = 0; i < 2; i++) {
		CHECK((b = slurp(names[i], &n)) != NULL);
		if (!b)
			continue;
		CHECK(pickle_scan_joblib(b, n, &pickle_profile_sklearn, NULL, &r) == 0);
		CHECK(r.verdict == PV_CLEAN);
		CHECK(r.nerrors == 0 && r.arrays > 0 && r.consumed == n);
		pickle_result_free(&r);
		CHECK(pickle_scan_joblib(b, n, &pickle_profile_ml, NULL, &r) == 0);
		CHECK(r.verdict == PV_CLEAN);
		pickle_result_free(&r);
		/* numpy alone does not know the estimator classes */
		CHECK(pickle_scan_joblib(b, n, &pickle_profile_numpy, NULL, &r) == 0);
		CHECK(r.verdict == PV_SUSPICIOUS && r.nerrors == 0);
		pickle_result_free(&r);
		free(b);
	}
}

static void test_joblib_object_array_payload(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;
	uint8_t *b;
	size_t n;

	CHECK((b = slurp("evil.joblib", &n)) != NULL);
	if (!b)
		return;
	CHECK(pickle_scan_joblib(b, n, &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK((f = find(&r, "posix", "system")) != NULL || (f = find(&r, "os", "system")) != NULL);
	if (f) {
		CHECK(f->depth == 1 && f->called);
		/* an offset into the outer buffer, at the nested GLOBAL */
		CHECK(f->offset < n && b[f->offset] == 'c');
	}
	/* the walk went on after the nested pickle to the last array */
	CHECK(r.arrays == 3 && r.nested == 1 && r.nerrors == 0 && r.consumed == n);
	pickle_result_free(&r);
	free(b);
}

static void test_plain_sklearn_numpy_pickles(void)
{
	static const char *const names[] = { "lr_p2.pkl", "lr_p5.pkl", "rf_p2.pkl",
					     "rf_p5.pkl", "np_p2.pkl", "np_p5.pkl" };
	struct pickle_result r;
	uint8_t *b;
	size_t n;

	for (size_t i = 0; i < 6; i++) {
		CHECK((b = slurp(names[i], &n)) != NULL);
		if (!b)
			continue;
		CHECK(pickle_scan(b, n, &pickle_profile_sklearn, &r) == 0);
		if (r.verdict != PV_CLEAN)
			printf("  %s: %s\n", names[i], pickle_verdict_name(r.verdict));
		CHECK(r.verdict == PV_CLEAN && r.nerrors == 0);
		pickle_result_free(&r);
		CHECK(pickle_scan(b, n, &pickle_profile_ml, &r) == 0);
		CHECK(r.verdict == PV_CLEAN);
		pickle_result_free(&r);
		free(b);
	}
	CHECK(pickle_judge("numpy.random._pickle", "__randomstate_ctor", &pickle_profile_sklearn) ==
	      PSEV_ALLOWED);
	/* torch checkpoints carry numpy RNG state: numpy is under torch */
	CHECK(pickle_judge("numpy.random._pickle", "__randomstate_ctor", &pickle_profile_torch) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("numpy.random._pickle", "__randomstate_ctor", &pickle_profile_data) ==
	      PSEV_SUSPICIOUS);
}

/* pickle.loads(_codecs.encode('<escaped pickle>', 'latin1')) */
static void test_protocol0_nested(void)
{
	static const char *const names[] = { "nest_p0.pkl", "nest_p1.pkl" };
	struct pickle_result r;
	const struct pickle_finding *f;
	uint8_t *b;
	size_t n;

	for (size_t i = 0; i < 2; i++) {
		CHECK((b = slurp(names[i], &n)) != NULL);
		if (!b)
			continue;
		CHECK(pickle_scan(b, n, &pickle_profile_ml, &r) == 0);
		CHECK(r.verdict == PV_MALICIOUS && r.nested == 1);
		CHECK((f = find(&r, "posix", "system")) != NULL ||
		      (f = find(&r, "os", "system")) != NULL);
		CHECK(f && f->depth == 1 && f->offset < n);
		CHECK((f = find(&r, "pickle", "loads")) != NULL && f->depth == 0);
		pickle_result_free(&r);
		free(b);
	}
}

/* ---- hand-built joblib headers ------------------------------------------ */

/* protocol 2 wrapper: shape (2,), dtype from DT, alignment 16, then BUILD */
#define JW(DT)                                             \
	"\x80\x02"                                         \
	"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(" \
	"U\x05shapeK\x02\x85"                              \
	"U\x05"                                            \
	"dtypecnumpy\ndtype\n" DT "U\x1bnumpy_array_alignment_bytesK\x10ub"

static void test_joblib_handmade(void)
{
	struct pickle_result r;
	/* 3 padding bytes, then 2 x f8 = 16 data bytes, then STOP */
	static const char ok[] = JW("U\x02"
				    "f8\x85R") "\x03\xff\xff\xff"
					       "0123456789abcdef"
					       ".";
	/* U3 = 12 bytes per item, but the state's elsize (8) is what numpy uses */
	static const char ustate[] =
		JW("U\x02U3\x85R(K\x03U\x01<NNNK\x08K\x04K\x08tb") "\x00"
								   "0123456789abcdef"
								   ".";
	/* a dtype whose state sets the object flag: joblib reads a pickle */
	static const char objflag[] = JW("U\x02"
					 "f8\x85R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ"
					 "\xff\xff\xff\xffK\x01tb") "cos\nsystem\n(S'id'\ntR."
								    ".";
	/* numpy.dtype('f'): a form this walker does not size */
	static const char unk[] = JW("U\x01"
				     "f\x85R") "\x00"
					       "01234567"
					       ".";
	static const char trunc[] = JW("U\x02"
				       "f8\x85R") "\x00"
						  "0123";
	/* the wrapper's BUILD inside a FRAME that goes on: data is not next */
	static const char framed[] =
		"\x80\x04\x95\x58\x00\x00\x00\x00\x00\x00\x00"
		"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(U\x05shapeK\x01\x85"
		"U\x05"
		"dtypecnumpy\ndtype\nU\x02"
		"f8\x85Rub"
		"NN."
		"01234567";

	CHECK(pickle_scan_joblib(S(ok), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.verdict == PV_CLEAN && r.nerrors == 0 && r.arrays == 1);
	CHECK(r.consumed == sizeof(ok) - 1 && !r.trailing);
	pickle_result_free(&r);

	CHECK(pickle_scan_joblib(S(ustate), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.verdict == PV_CLEAN && r.nerrors == 0 && r.consumed == sizeof(ustate) - 1);
	pickle_result_free(&r);

	CHECK(pickle_scan_joblib(S(objflag), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && r.nested == 1);
	CHECK(find(&r, "os", "system") && find(&r, "os", "system")->depth == 1);
	CHECK(r.nerrors == 0 && r.consumed == sizeof(objflag) - 1);
	pickle_result_free(&r);

	CHECK(pickle_scan_joblib(S(unk), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.verdict == PV_SUSPICIOUS);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_JOBLIB_ARRAY && r.errors[0].opcode == 'b');
	pickle_result_free(&r);

	CHECK(pickle_scan_joblib(S(trunc), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_TRUNCATED && r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);

	CHECK(pickle_scan_joblib(S(framed), &pickle_profile_sklearn, NULL, &r) == 0);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_JOBLIB_ARRAY);
	pickle_result_free(&r);
	CHECK_STR(pickle_err_name(PERR_JOBLIB_ARRAY), "joblib-array");
}

/* ---- protocol 0 strings ------------------------------------------------- */

static void test_escaped_names(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;

	/* 'o\x73' and 'sys\164em' are os / system once unescaped */
	CHECK(pickle_scan(S("S'o\\x73'\nS'sys\\164em'\n\x93(S'id'\ntR."), NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && r.nerrors == 0);
	CHECK((f = find(&r, "os", "system")) != NULL && f->called);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("V\\u006fs\nVsys\\U00000074em\n\x93."), NULL, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && find(&r, "os", "system"));
	pickle_result_free(&r);
	/* "\\\\u006f" is a backslash pair, then a literal "u006f" */
	CHECK(pickle_scan(S("V\\\\u006fs\nVsystem\n\x93."), NULL, &r) == 0);
	CHECK(find(&r, "\\\\u006fs", "system") != NULL && r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);
	/* escapes Python rejects */
	CHECK(pickle_scan(S("S'\\x4'\n."), NULL, &r) == 0);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_BAD_STRING);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("Vab\\u12\n."), NULL, &r) == 0);
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_BAD_STRING);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("Sabc\n."), NULL, &r) == 0); /* unquoted */
	CHECK(r.nerrors == 1 && r.errors[0].kind == PERR_BAD_STRING);
	pickle_result_free(&r);
}

/* Hand-built: loads(_codecs.encode(V..., 'latin1')) with \u escapes and a
 * raw latin-1 byte, and loads(S'...') with \x escapes. */
static void test_codecs_latin1_nested(void)
{
	struct pickle_result r;
	const struct pickle_finding *f;
	static const char enc[] = "cpickle\nloads\n(c_codecs\nencode\n("
				  "V\x80\x02\\u0063os\\u000asystem\\u000a)R.\nVlatin1\ntRtR.";
	static const char utf[] = "cpickle\nloads\n(c_codecs\nencode\n("
				  "Vcos\\u000asystem\\u000a)R.\nVutf-8\ntRtR.";
	static const char other[] = "cpickle\nloads\n(c_codecs\nencode\n("
				    "Vcos\\u000asystem\\u000a)R.\nVrot13\ntRtR.";
	static const char srepr[] = "cpickle\nloads\n(S'cos\\nsystem\\n)R.'\ntR.";

	CHECK(pickle_scan(S(enc), &pickle_profile_ml, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && r.nested == 1 && r.nerrors == 0);
	CHECK((f = find(&r, "os", "system")) != NULL && f->depth == 1);
	CHECK(f && f->offset == (size_t)(strstr(enc, "V\x80") - enc) + 1); /* the argument */
	pickle_result_free(&r);
	CHECK(pickle_scan(S(utf), &pickle_profile_ml, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && find(&r, "os", "system"));
	pickle_result_free(&r);
	/* an encoding this walker does not model: nothing nested to walk */
	CHECK(pickle_scan(S(other), &pickle_profile_ml, &r) == 0);
	CHECK(r.nested == 0 && !find(&r, "os", "system") && r.verdict == PV_SUSPICIOUS);
	pickle_result_free(&r);
	CHECK(pickle_scan(S(srepr), &pickle_profile_ml, &r) == 0);
	CHECK(r.verdict == PV_MALICIOUS && r.nested == 1);
	CHECK((f = find(&r, "os", "system")) != NULL && f->depth == 1);
	CHECK(f && f->offset == (size_t)(strchr(srepr, '\'') - srepr) + 1);
	pickle_result_free(&r);
}

static void test_consumed(void)
{
	struct pickle_result r;
	static const char two[] = "\x80\x02K\x01."
				  "\x80\x02K\x02."
				  "\x01\x02";

	CHECK(pickle_scan(S(two), NULL, &r) == 0);
	CHECK(r.consumed == 5 && r.trailing);
	pickle_result_free(&r);
	/* one at a time, as a caller stepping through stacked pickles */
	CHECK(pickle_scan((const uint8_t *)two + 5, sizeof(two) - 6, NULL, &r) == 0);
	CHECK(r.consumed == 5 && r.trailing_offset == 5);
	pickle_result_free(&r);
	CHECK(pickle_scan_stream(S(two), NULL, NULL, &r) == 0);
	CHECK(r.consumed == 10 && r.pickles == 2 && r.trailing_unparsed);
	pickle_result_free(&r);
	CHECK(pickle_scan(S("\x80\x02N"), NULL, &r) == 0); /* no STOP */
	CHECK(r.consumed == 3);
	pickle_result_free(&r);
}

static void test_ml_profile(void)
{
	CHECK_STR(pickle_profile_ml.name, "ml");
	CHECK(pickle_judge("torch._utils", "_rebuild_tensor_v2", &pickle_profile_ml) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("sklearn.tree._tree", "Tree", &pickle_profile_ml) == PSEV_ALLOWED);
	CHECK(pickle_judge("numpy.core.multiarray", "_reconstruct", &pickle_profile_ml) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("collections", "OrderedDict", &pickle_profile_ml) == PSEV_ALLOWED);
	CHECK(pickle_judge("joblib.numpy_pickle", "NumpyArrayWrapper", &pickle_profile_ml) ==
	      PSEV_ALLOWED);
	CHECK(pickle_judge("os", "system", &pickle_profile_ml) == PSEV_MALICIOUS);
	CHECK(pickle_judge("mypkg", "Thing", &pickle_profile_ml) == PSEV_SUSPICIOUS);
	CHECK(pickle_judge("torch._utils", "_rebuild_tensor_v2", &pickle_profile_sklearn) ==
	      PSEV_SUSPICIOUS);
	CHECK(pickle_profile_find("ml") == &pickle_profile_ml);
	CHECK(pickle_profile_find("sklearn") == &pickle_profile_sklearn);
}

/* Hundreds of thousands of memoized plain objects (a big list of dicts)
 * cost a bit each: the walk is not cut, and a string memoized after them
 * still resolves a STACK_GLOBAL through LONG_BINGET. */
static void test_memo_many_plain_objects(void)
{
	const size_t n = 600000;
	size_t len = 0, cap = n * 3 + 64;
	uint8_t *b = malloc(cap);
	struct pickle_result r;

	CHECK(b != NULL);
	if (!b)
		return;
	b[len++] = 0x80;
	b[len++] = 4;
	for (size_t i = 0; i < n; i++) {
		b[len++] = '}';  /* EMPTY_DICT */
		b[len++] = 0x94; /* MEMOIZE */
		b[len++] = '0';  /* POP */
	}
	memcpy(b + len, "\x8c\x02os\x94\x8c\x06system\x94", 14);
	len += 14;
	for (uint32_t k = (uint32_t)n; k <= (uint32_t)n + 1; k++) {
		b[len++] = 'j';         /* LONG_BINGET */
		memcpy(b + len, &k, 4); /* little-endian host, as the tests run */
		len += 4;
	}
	memcpy(b + len, "\x93)R.", 4); /* STACK_GLOBAL EMPTY_TUPLE REDUCE STOP */
	len += 4;
	CHECK(pickle_scan(b, len, &pickle_profile_ml, &r) == 0);
	CHECK(!(r.limits_hit & PLIM_MEMO));
	CHECK(r.verdict == PV_MALICIOUS);
	CHECK(r.nfindings == 1 && !strcmp(r.findings[0].module, "os") &&
	      !strcmp(r.findings[0].name, "system") && r.findings[0].called);
	pickle_result_free(&r);
	free(b);
}

int main(void)
{
	RUN(test_os_system_global_p0);
	RUN(test_os_system_stack_global_memo);
	RUN(test_builtins_exec);
	RUN(test_torch_state_dict_clean);
	RUN(test_numpy_reconstruct_clean);
	RUN(test_benign_p4_no_imports);
	RUN(test_nested_loads);
	RUN(test_nested_bytesio);
	RUN(test_depth_limit);
	RUN(test_broken_after_payload);
	RUN(test_only_errors);
	RUN(test_cprofile_pkgutil);
	RUN(test_ext1);
	RUN(test_called_flags);
	RUN(test_dotted_name);
	RUN(test_limits);
	RUN(test_deadline);
	RUN(test_trailing_second_pickle);
	RUN(test_json);
	RUN(test_generate);
	RUN(test_joblib_arrays_clean);
	RUN(test_joblib_sklearn_models);
	RUN(test_joblib_object_array_payload);
	RUN(test_plain_sklearn_numpy_pickles);
	RUN(test_memo_many_plain_objects);
	RUN(test_protocol0_nested);
	RUN(test_joblib_handmade);
	RUN(test_escaped_names);
	RUN(test_codecs_latin1_nested);
	RUN(test_consumed);
	RUN(test_ml_profile);
	if (have_dir) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", gdir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", gdir);
	}
	return CHECK_DONE();
}
