/* Model origin from cache paths: Hugging Face, torch hub, Ollama; hostile
 * and almost-right paths give no origin. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "collect/hfcache.h"

#define REV "0123456789abcdef0123456789abcdef01234567"
#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void test_snapshot_path(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/root/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/" REV
			    "/onnx/decoder_model.onnx",
			    &o));
	CHECK(o.source == MSRC_HUGGINGFACE);
	CHECK(o.repo_type == HF_REPO_MODEL);
	CHECK_STR(o.repo, "openai-community/gpt2");
	CHECK_STR(o.revision, REV);
	CHECK(o.revision_from == HF_REV_SNAPSHOT);
	CHECK_STR(o.file, "onnx/decoder_model.onnx");
	CHECK_STR(o.name_sha256, "");
	CHECK_STR(model_source_name(o.source), "huggingface");
	CHECK_STR(hf_repo_type_name(o.repo_type), "model");
	/* where refs/ lives */
	CHECK(o.repo_dir_len ==
	      strlen("/root/.cache/huggingface/hub/models--openai-community--gpt2"));
}

static void test_legacy_and_dashed_names(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/c/models--gpt2/snapshots/" REV "/pytorch_model.bin", &o));
	CHECK_STR(o.repo, "gpt2");
	CHECK(hfcache_parse("/c/models--my-org--my-model.v2-1_x/snapshots/" REV "/m.pt", &o));
	CHECK_STR(o.repo, "my-org/my-model.v2-1_x");
	CHECK(hfcache_parse("/c/models--EleuterAI--gpt-j-6B/snapshots/" REV "/a/b/c.bin", &o));
	CHECK_STR(o.repo, "EleuterAI/gpt-j-6B");
	CHECK_STR(o.file, "a/b/c.bin");
}

static void test_blob_paths(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/h/hub/models--org--name/blobs/" SHA, &o));
	CHECK(o.source == MSRC_HUGGINGFACE);
	CHECK_STR(o.repo, "org/name");
	CHECK_STR(o.revision, "");
	CHECK(o.revision_from == HF_REV_NONE);
	CHECK_STR(o.name_sha256, SHA);
	/* a plain git file is stored under its git sha1: no sha256 promise */
	CHECK(hfcache_parse("/h/hub/models--org--name/blobs/" REV, &o));
	CHECK_STR(o.repo, "org/name");
	CHECK_STR(o.name_sha256, "");
}

static void test_repo_types(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/h/datasets--org--data/snapshots/" REV "/x.pkl", &o));
	CHECK(o.repo_type == HF_REPO_DATASET);
	CHECK_STR(o.repo, "org/data");
	CHECK(hfcache_parse("/h/spaces--org--app/blobs/" SHA, &o));
	CHECK(o.repo_type == HF_REPO_SPACE);
	CHECK_STR(hf_repo_type_name(o.repo_type), "space");
	CHECK(!hfcache_parse("/h/widgets--org--x/snapshots/" REV "/x.pkl", &o));
}

/* Near misses: each must give no origin (and leave o zeroed). */
static void test_negatives(void)
{
	static const char *const bad[] = {
		"/h/models--a--b--c/snapshots/" REV "/f.bin",    /* "--" inside a part */
		"/h/models--org---name/snapshots/" REV "/f.bin", /* part starts with '-' */
		"/h/models--org-/snapshots/" REV "/f.bin",       /* part ends with '-' */
		"/h/models----name/snapshots/" REV "/f.bin",     /* empty namespace */
		"/h/models--org--/snapshots/" REV "/f.bin",      /* empty name */
		"/h/models--/snapshots/" REV "/f.bin",
		"/h/models--org--na..me/snapshots/" REV "/f.bin", /* ".." */
		"/h/models--org--name.git/snapshots/" REV "/f.bin",
		"/h/models--org--na me/snapshots/" REV "/f.bin", /* space */
		"/h/models--org--name/snapshots/0123456789ABCDEF0123456789abcdef01234567/f.bin",
		"/h/models--org--name/snapshots/0123456789abcdef0123456789abcdef0123456/f.bin",
		"/h/models--org--name/snapshots/" REV, /* the revision directory */
		"/h/models--org--name/snapshots/" REV "/",
		"/h/models--org--name/snapshots/" REV "/sub/",
		"/h/models--org--name/snapshots/" REV "/../../../etc/passwd",
		"/h/models--org--name/snapshots/" REV "/./f.bin",
		"/h/models--org--name/snapshots",
		"/h/models--org--name/blobs/" SHA "/x",
		"/h/models--org--name/blobs/" SHA "/",
		"/h/models--org--name/blobs/" SHA "0",
		"/h/models--org--name/blobs/zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"/h/models--org--name/refs/main",
		"/h/models--org--name/f.bin",
		"/h/blobs/" SHA, /* no repo folder */
		"models--org--name",
		"",
		"/",
		"////",
		"--",
		"models--",
		"/root/.cache/torch/hub/checkpoints/", /* directory */
		"/root/.cache/torch/checkpoints/r.pth",
		"/root/.ollama/models/blobs/sha256-"
		"9F86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"/root/.ollama/models/blobs/sha256:" SHA,
		"/root/.ollama/models/blobs/sha256-" SHA "0",
		"/root/.ollama/models/manifests/sha256-" SHA,
	};
	struct model_origin o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&o, 0x55, sizeof(o));
		if (hfcache_parse(bad[i], &o) || o.source != MSRC_NONE || o.repo[0]) {
			printf("  parsed: \"%s\" -> %s %s\n", bad[i], model_source_name(o.source),
			       o.repo);
			CHECK(!"near miss parsed");
		}
	}
	CHECK(!hfcache_parse(NULL, &o));
}

static void test_part_length_limit(void)
{
	char name[200], path[400];
	struct model_origin o;

	memset(name, 'a', 96);
	name[96] = 0;
	snprintf(path, sizeof(path), "/h/models--org--%s/snapshots/" REV "/f.bin", name);
	CHECK(hfcache_parse(path, &o));
	CHECK(strlen(o.repo) == 4 + 96);
	memset(name, 'a', 97);
	name[97] = 0;
	snprintf(path, sizeof(path), "/h/models--org--%s/snapshots/" REV "/f.bin", name);
	CHECK(!hfcache_parse(path, &o));
	snprintf(path, sizeof(path), "/h/models--%s--x/snapshots/" REV "/f.bin", name);
	CHECK(!hfcache_parse(path, &o));
}

/* The innermost repo folder wins; an outer one is just a directory. */
static void test_nested_caches(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/data/models--x--y/snapshots/" REV "/hub/models--a--b/snapshots/"
			    "1111111111111111111111111111111111111111/f.bin",
			    &o));
	CHECK_STR(o.repo, "a/b");
	CHECK_STR(o.revision, "1111111111111111111111111111111111111111");
	/* a file whose own name looks like a repo folder stays inside the outer one */
	CHECK(hfcache_parse("/h/models--a--b/snapshots/" REV "/models--c--d", &o));
	CHECK_STR(o.repo, "a/b");
	CHECK_STR(o.file, "models--c--d");
}

static void test_hostile_bytes(void)
{
	static char big[16384];
	struct model_origin o;
	size_t n = 0;

	/* invalid UTF-8, control characters: no origin, no crash */
	CHECK(!hfcache_parse("/h/models--\xff\xfe--x/snapshots/" REV "/f.bin", &o));
	CHECK(!hfcache_parse("/h/models--o\n--x/snapshots/" REV "/f.bin", &o));
	/* a file name with hostile bytes inside a valid snapshot is kept as is */
	CHECK(hfcache_parse("/h/models--o--x/snapshots/" REV "/\xff\n.bin", &o));
	CHECK_STR(o.file, "\xff\n.bin");
	/* thousands of candidate folders, and a file part too long to keep */
	while (n + 40 < sizeof(big) / 2) {
		memcpy(big + n, "/models--a--b/snapshots", 23);
		n += 23;
	}
	memcpy(big + n, "/" REV "/", 42);
	n += 42;
	memset(big + n, 'f', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(hfcache_parse(big, &o));
	CHECK_STR(o.repo, "a/b");
	CHECK_STR(o.file, ""); /* longer than HF_FILE_MAX: not kept */
	/* only repo folders, no layout after them */
	for (size_t i = 0; i + 1 < sizeof(big); i++)
		big[i] = "/models--a--b"[i % 13];
	big[sizeof(big) - 1] = 0;
	CHECK(!hfcache_parse(big, &o));
}

static void test_torch_hub(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/root/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth", &o));
	CHECK(o.source == MSRC_TORCH_HUB);
	CHECK_STR(model_source_name(o.source), "torch-hub");
	CHECK_STR(o.file, "resnet18-f37072fd.pth");
	CHECK_STR(o.name_sha256, "f37072fd");
	CHECK_STR(o.repo, "");
	/* torch's rule: the first '-' followed by hex digits and a '.' */
	CHECK(hfcache_parse("/t/hub/checkpoints/vit-b-16-abcdef0123.pth", &o));
	CHECK_STR(o.name_sha256, "abcdef0123");
	/* short or absent: no promise */
	CHECK(hfcache_parse("/t/hub/checkpoints/model-1.pth", &o));
	CHECK_STR(o.name_sha256, "");
	CHECK(hfcache_parse("/t/hub/checkpoints/ViT-B-32.pt", &o));
	CHECK_STR(o.name_sha256, "");
}

static void test_ollama(void)
{
	struct model_origin o;

	CHECK(hfcache_parse("/usr/share/ollama/.ollama/models/blobs/sha256-" SHA, &o));
	CHECK(o.source == MSRC_OLLAMA);
	CHECK_STR(o.name_sha256, SHA);
	CHECK_STR(model_source_name(o.source), "ollama");
}

static void test_repo_id_valid(void)
{
	static const char *const good[] = { "gpt2", "org/name", "Foo-BAR_foo.bar123",
					    "a/b",  "_x/y_",    "123/456" };
	static const char *const bad[] = { "",        "/",    "a/",   "/b", "a/b/c", "a--b",
					   "a/b--c",  "a..b", ".a",   "a.", "-a",    "a-",
					   "a/b.git", "a b",  "a/b*", "é/x" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!hf_repo_id_valid(good[i], strlen(good[i]))) {
			printf("  rejected \"%s\"\n", good[i]);
			CHECK(!"valid repo id rejected");
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (hf_repo_id_valid(bad[i], strlen(bad[i]))) {
			printf("  accepted \"%s\"\n", bad[i]);
			CHECK(!"invalid repo id accepted");
		}
	/* the length is honoured: no read past it */
	CHECK(hf_repo_id_valid("org/namexyz", 8));
}

static char dir[] = "/tmp/mlwatch-hf-XXXXXX";

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

/* A real cache layout: snapshot symlink -> blob, refs/main. */
static void test_enrich(void)
{
	char repo[128], p[1024], snap[1024], blob[1024];
	struct model_origin o;

	snprintf(repo, sizeof(repo), "%s/hub/models--org--name", dir);
	snprintf(p, sizeof(p), "mkdir -p %s/blobs %s/refs %s/snapshots/" REV, repo, repo, repo);
	CHECK(system(p) == 0);
	snprintf(blob, sizeof(blob), "%s/blobs/" SHA, repo);
	put_file(blob, "test");
	snprintf(snap, sizeof(snap), "%s/snapshots/" REV "/model.bin", repo);
	CHECK(symlink("../../blobs/" SHA, snap) == 0);
	snprintf(p, sizeof(p), "%s/refs/main", repo);
	put_file(p, "2222222222222222222222222222222222222222");

	CHECK(hfcache_parse(snap, &o));
	CHECK_STR(o.name_sha256, "");
	hfcache_enrich(snap, &o);
	CHECK_STR(o.name_sha256, SHA); /* from the symlink */
	CHECK_STR(o.revision, REV);    /* the snapshot's, not refs/main's */

	CHECK(hfcache_parse(blob, &o));
	hfcache_enrich(blob, &o);
	CHECK_STR(o.revision, "2222222222222222222222222222222222222222");
	CHECK(o.revision_from == HF_REV_REFS_MAIN);
	CHECK_STR(hf_rev_from_name(o.revision_from), "refs/main");

	/* refs/main that is not 40 hex digits: ignored */
	put_file(p, "main\n");
	CHECK(hfcache_parse(blob, &o));
	hfcache_enrich(blob, &o);
	CHECK_STR(o.revision, "");

	/* a FIFO must not hang us, a symlink is not followed */
	unlink(p);
	CHECK(mkfifo(p, 0600) == 0);
	CHECK(hfcache_parse(blob, &o));
	hfcache_enrich(blob, &o);
	CHECK_STR(o.revision, "");
	unlink(p);
	snprintf(snap, sizeof(snap), "%s/elsewhere", dir);
	put_file(snap, "3333333333333333333333333333333333333333");
	CHECK(symlink(snap, p) == 0);
	hfcache_enrich(blob, &o);
	CHECK_STR(o.revision, "");
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_snapshot_path);
	RUN(test_legacy_and_dashed_names);
	RUN(test_blob_paths);
	RUN(test_repo_types);
	RUN(test_negatives);
	RUN(test_part_length_limit);
	RUN(test_nested_caches);
	RUN(test_hostile_bytes);
	RUN(test_torch_hub);
	RUN(test_ollama);
	RUN(test_repo_id_valid);
	RUN(test_enrich);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_DONE();
}
