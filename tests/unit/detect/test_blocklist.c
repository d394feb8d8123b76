/* Blocklist files: what they accept, the exact messages for what they do
 * not, and matching (hash exact, repo exact or org wildcard, any case). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "detect/blocklist.h"

#define H1 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H2 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H3 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int parse(struct blocklist *bl, const char *text, char *err, size_t len)
{
	return blocklist_parse(bl, "bl.json", text, strlen(text), err, len);
}

static void test_valid_file(void)
{
	static const char text[] =
		"{\"version\": 1, \"comment\": \"advisory 2026-01\",\n"
		" \"sha256\": [\"" H1 "\",\n"
		"            {\"sha256\": \"sha256:" H2
		"\", \"reason\": \"PoisonGPT\", \"comment\": \"x\"}],\n"
		" \"repos\": [\"EleuterAI/gpt-j-6B\", {\"repo\": \"bad-org/*\", \"reason\": \"org confusion\"},\n"
		"           \"gpt2-evil\"]}\n";
	struct blocklist bl;
	const struct bl_entry *e;
	char err[512] = "";

	blocklist_init(&bl);
	CHECK(parse(&bl, text, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	CHECK(blocklist_count(&bl) == 5);
	e = blocklist_match_sha256(&bl, H1);
	CHECK(e && e->kind == BL_SHA256 && !e->reason && e->index == 0);
	e = blocklist_match_sha256(&bl, H2);
	CHECK(e && e->reason && strcmp(e->reason, "PoisonGPT") == 0 && e->index == 1);
	CHECK(e && strcmp(e->text, H2) == 0); /* prefix dropped */
	CHECK(!blocklist_match_sha256(&bl, H3));
	e = blocklist_match_repo(&bl, "bad-org/anything");
	CHECK(e && e->kind == BL_ORG && strcmp(e->text, "bad-org/*") == 0);
	CHECK(e && e->reason && strcmp(e->reason, "org confusion") == 0);
	e = blocklist_match_repo(&bl, "gpt2-evil");
	CHECK(e && e->kind == BL_REPO && e->index == 2);
	blocklist_free(&bl);
	CHECK(blocklist_count(&bl) == 0);
	CHECK(!blocklist_match_sha256(&bl, H1));
}

static void test_hash_matching(void)
{
	struct blocklist bl;
	char err[512];

	blocklist_init(&bl);
	CHECK(parse(&bl,
		    "{\"sha256\": [\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"]}",
		    err, sizeof(err)) == 0);
	CHECK(blocklist_match_sha256(&bl, H1) != NULL); /* stored lower-case */
	CHECK(blocklist_match_sha256(&bl,
				     "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"));
	CHECK(!blocklist_match_sha256(&bl,
				      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0"));
	CHECK(!blocklist_match_sha256(&bl, H1 "0"));
	CHECK(!blocklist_match_sha256(&bl, ""));
	CHECK(!blocklist_match_sha256(&bl, NULL));
	CHECK(!blocklist_match_sha256(NULL, H1));
	blocklist_free(&bl);
}

static void test_repo_matching(void)
{
	struct blocklist bl;
	char err[512];

	blocklist_init(&bl);
	CHECK(parse(&bl, "{\"repos\": [\"EleuterAI/*\", \"Meta-Llama/Llama-2-7b\", \"gpt2\"]}", err,
		    sizeof(err)) == 0);
	/* org wildcard, any case */
	CHECK(blocklist_match_repo(&bl, "EleuterAI/gpt-j-6B"));
	CHECK(blocklist_match_repo(&bl, "eleuterai/GPT-J-6B"));
	CHECK(!blocklist_match_repo(&bl, "EleutherAI/gpt-j-6B")); /* the real org */
	CHECK(!blocklist_match_repo(&bl, "EleuterAI2/x"));
	CHECK(!blocklist_match_repo(&bl, "EleuterAI")); /* a legacy name, not the org */
	/* exact, any case, no prefix match */
	CHECK(blocklist_match_repo(&bl, "meta-llama/llama-2-7B"));
	CHECK(!blocklist_match_repo(&bl, "meta-llama/llama-2-7b-chat"));
	CHECK(!blocklist_match_repo(&bl, "meta-llama/llama-2-7"));
	CHECK(!blocklist_match_repo(&bl, "meta-llama/other"));
	CHECK(blocklist_match_repo(&bl, "GPT2"));
	CHECK(!blocklist_match_repo(&bl, "gpt2/x"));
	CHECK(!blocklist_match_repo(&bl, ""));
	CHECK(!blocklist_match_repo(&bl, NULL));
	blocklist_free(&bl);
}

/* Each bad file: its exact message, and an empty blocklist after. */
static void test_error_messages(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "{\"sha256\": [\"abc\"]}",
		  "bl.json: sha256[0]: expected 64 hex digits, got 3 characters (\"abc\")" },
		{ "{\"sha256\": [\"" H1 "\", \"" H2
		  "\", \"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"]}",
		  "bl.json: sha256[2]: character 1 is not a hex digit (\"zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\")" },
		{ "{\"sha256\": [\"" H1 "\", 7]}",
		  "bl.json: sha256[1]: expected a string or an object, got a number" },
		{ "{\"sha256\": [{\"reason\": \"x\"}]}",
		  "bl.json: sha256[0]: object without \"sha256\"" },
		{ "{\"sha256\": [{\"sha256\": \"" H1 "\", \"reason\": 5}]}",
		  "bl.json: sha256[0]: \"reason\" is a number, expected a string" },
		{ "{\"sha256\": [{\"sha256\": \"" H1 "\", \"sha256\": \"" H2 "\"}]}",
		  "bl.json: sha256[0]: duplicate key \"sha256\"" },
		{ "{\"sha\": []}",
		  "bl.json: unknown key \"sha\" (expected sha256, repos, comment, version)" },
		{ "{\"repos\": [{\"repo\": \"a/b\", \"why\": \"x\"}]}",
		  "bl.json: repos[0]: unknown key \"why\" (expected repo, reason, comment)" },
		{ "{\"repos\": [{\"sha256\": \"" H1 "\"}]}",
		  "bl.json: repos[0]: unknown key \"sha256\" (expected repo, reason, comment)" },
		{ "{\"repos\": [\"ok/fine\", \"a/b/c\"]}",
		  "bl.json: repos[1]: \"a/b/c\" is not a Hugging Face repo id (expected \"org/name\", \"name\" or \"org/*\")" },
		{ "{\"repos\": [\"org/na*\"]}",
		  "bl.json: repos[0]: \"org/na*\": only a whole namespace can be matched, as \"org/*\"" },
		{ "{\"repos\": [\"*/name\"]}",
		  "bl.json: repos[0]: \"*/name\": only a whole namespace can be matched, as \"org/*\"" },
		{ "{\"repos\": [\"bad--org/*\"]}",
		  "bl.json: repos[0]: \"bad--org/*\" is not a Hugging Face repo id (expected \"org/name\", \"name\" or \"org/*\")" },
		{ "{\"repos\": \"a/b\"}", "bl.json: \"repos\" is a string, expected an array" },
		{ "{\"repos\": [], \"repos\": []}", "bl.json: duplicate key \"repos\"" },
		{ "{\"version\": 2}", "bl.json: \"version\" must be 1" },
		{ "{\"comment\": 1}", "bl.json: \"comment\" is a number, expected a string" },
		{ "[\"" H1 "\"]", "bl.json: expected a JSON object at the top, got an array" },
		{ "{\"sha256\": [\n  \"" H1 "\",\n  }\n",
		  "bl.json: line 3, column 3: not valid JSON" },
		{ "{} {}", "bl.json: line 1, column 4: unexpected data after the JSON object" },
		{ "", "bl.json: line 1, column 1: not valid JSON" },
		{ "{\"repos\": [\"a\\n\\u0001b/c\"]}",
		  "bl.json: repos[0]: \"a\\n\\x01b/c\" is not a Hugging Face repo id (expected \"org/name\", \"name\" or \"org/*\")" },
	};
	struct blocklist bl;
	char err[512];

	blocklist_init(&bl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(err, "untouched");
		CHECK(parse(&bl, cases[i].text, err, sizeof(err)) < 0);
		CHECK_STR(err, cases[i].msg);
		CHECK(blocklist_count(&bl) == 0);
	}
}

static void test_reason_too_long(void)
{
	size_t n = BLOCKLIST_MAX_REASON + 200;
	char *text = malloc(n + 200), err[512];
	struct blocklist bl;
	size_t o;

	o = (size_t)sprintf(text, "{\"repos\": [{\"repo\": \"a/b\", \"reason\": \"");
	memset(text + o, 'r', BLOCKLIST_MAX_REASON + 1);
	o += BLOCKLIST_MAX_REASON + 1;
	strcpy(text + o, "\"}]}");
	blocklist_init(&bl);
	CHECK(parse(&bl, text, err, sizeof(err)) < 0);
	CHECK_STR(err, "bl.json: repos[0]: reason longer than 1024 bytes");
	free(text);
}

static void test_nul_byte(void)
{
	static const char text[] = "{\"repos\": []}\0junk";
	struct blocklist bl;
	char err[512];

	blocklist_init(&bl);
	CHECK(blocklist_parse(&bl, "bl.json", text, sizeof(text) - 1, err, sizeof(err)) < 0);
	CHECK_STR(err, "bl.json: line 1, column 14: NUL byte in the file");
}

static void test_duplicates_and_many(void)
{
	size_t n = 20000, cap = n * 70 + 64, o = 0;
	char *text = malloc(cap), err[512], hex[65];
	struct blocklist bl;
	bool all = true;

	o += (size_t)snprintf(text + o, cap - o, "{\"sha256\": [");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, cap - o, "%s\"%064zx\"", i ? "," : "", i * 7919);
	o += (size_t)snprintf(text + o, cap - o, ",\"%064x\"], \"repos\": [\"a/b\", \"A/B\"]}", 0);
	blocklist_init(&bl);
	CHECK(parse(&bl, text, err, sizeof(err)) == 0);
	CHECK(blocklist_count(&bl) == n + 1);
	CHECK(bl.duplicates == 2); /* the zero hash and A/B */
	for (size_t i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "%064zx", i * 7919);
		all &= blocklist_match_sha256(&bl, hex) != NULL;
	}
	CHECK(all);
	snprintf(hex, sizeof(hex), "%064x", 7918);
	CHECK(!blocklist_match_sha256(&bl, hex));
	blocklist_free(&bl);
	free(text);
}

static void test_load_file(void)
{
	char path[] = "/tmp/mlwatch-bl-XXXXXX", err[512], want[600];
	static const char text[] = "{\"repos\": [\"org/*\"]}";
	struct blocklist bl;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	blocklist_init(&bl);
	CHECK(blocklist_load(&bl, path, err, sizeof(err)) == 0);
	CHECK(blocklist_match_repo(&bl, "ORG/x") != NULL);
	/* a failed load leaves nothing behind */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "{\"repos\": [1]}", 14) == 14);
	close(fd);
	CHECK(blocklist_load(&bl, path, err, sizeof(err)) == -EINVAL);
	snprintf(want, sizeof(want), "%s: repos[0]: expected a string or an object, got a number",
		 path);
	CHECK_STR(err, want);
	CHECK(blocklist_count(&bl) == 0);
	/* whoever can write it can clear it */
	chmod(path, 0620);
	CHECK(blocklist_load(&bl, path, err, sizeof(err)) == -EPERM);
	snprintf(want, sizeof(want), "%s: writable by group/others (mode 0620); refusing", path);
	CHECK_STR(err, want);
	unlink(path);
	CHECK(blocklist_load(&bl, path, err, sizeof(err)) == -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	CHECK_STR(err, want);
	CHECK(blocklist_load(&bl, "/tmp", err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "/tmp: not a regular file (a directory); refusing");
	blocklist_free(&bl);
}

int main(void)
{
	RUN(test_valid_file);
	RUN(test_hash_matching);
	RUN(test_repo_matching);
	RUN(test_error_messages);
	RUN(test_reason_too_long);
	RUN(test_nul_byte);
	RUN(test_duplicates_and_many);
	RUN(test_load_file);
	return CHECK_DONE();
}
