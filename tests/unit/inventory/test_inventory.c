/* The model inventory with real files and the real worker thread: known
 * digests, the cache (hit, rehash on change, eviction), the bounded queue,
 * blocklist alerts, shutdown, and the JSON/text records. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "lib/budget.h"
#include "schema_check.h"
#include "output/inventory_render.h"

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define REV "0123456789abcdef0123456789abcdef01234567"

static char dir[] = "/tmp/mlwatch-inv-XXXXXX";

/* What a test keeps of each emitted record (the record itself is freed
 * when emit returns). */
struct got {
	bool complete;
	unsigned alerts;
	enum inv_hash_status hash;
	int hash_errno;
	char sha256[65];
	uint32_t pid, uid;
	uint64_t load_count, first_seen, last_seen, size;
	uint64_t repeats, repeats_since;
	struct inv_held_back held, held_alert; /* held.records: a held-back summary */
	char repo_match[80], sha_match[80];
	bool digest_mismatch;
	struct inv_scan scan;
	char *json, *text, *alert_json, *alert_text;
};

static struct got got[64];
static size_t ngot;

static void collect(const struct inv_record *r, void *ctx)
{
	struct got *g = &got[ngot < 64 ? ngot : 63];
	cJSON *j = inv_record_to_json(r);
	char text[8192];

	(void)ctx;
	memset(g, 0, sizeof(*g));
	g->complete = r->complete;
	g->alerts = r->alerts;
	g->hash = r->hash;
	g->hash_errno = r->hash_errno;
	memcpy(g->sha256, r->sha256, sizeof(g->sha256));
	g->pid = r->pid;
	g->uid = r->uid;
	g->repeats = r->repeats;
	g->repeats_since = r->repeats_since_ns;
	if (r->held_back)
		g->held = *r->held_back;
	if (r->held_back_alert)
		g->held_alert = *r->held_back_alert;
	g->load_count = r->load_count;
	g->first_seen = r->first_seen_ns;
	g->last_seen = r->last_seen_ns;
	g->size = r->size;
	g->digest_mismatch = r->digest_mismatch;
	g->scan = r->scan;
	if (r->repo_match)
		snprintf(g->repo_match, sizeof(g->repo_match), "%s", r->repo_match->text);
	if (r->sha256_match)
		snprintf(g->sha_match, sizeof(g->sha_match), "%s", r->sha256_match->text);
	g->json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	inv_record_to_text(r, text, sizeof(text));
	g->text = strdup(text);
	if (r->alerts) {
		unsigned bit = r->alerts & -r->alerts;

		j = inv_alert_to_json(r, bit);
		g->alert_json = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	if (r->held_back_alert) {
		j = inv_held_back_alert_to_json(r);
		g->alert_json = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		inv_held_back_alert_to_text(r, text, sizeof(text));
		g->alert_text = strdup(text);
	}
	ngot++;
}

static void reset(void)
{
	for (size_t i = 0; i < ngot && i < 64; i++) {
		free(got[i].json);
		free(got[i].text);
		free(got[i].alert_json);
		free(got[i].alert_text);
	}
	memset(got, 0, sizeof(got));
	ngot = 0;
}

/* Polls until nothing waits on the worker (10 s at most). */
static void drain(struct inventory *inv)
{
	for (int i = 0; i < 10000 && inventory_pending(inv); i++) {
		inventory_poll(inv, collect, NULL);
		usleep(1000);
	}
	inventory_poll(inv, collect, NULL);
}

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		perror(path);
	if (fd >= 0)
		close(fd);
}

static struct inv_load load(uint32_t pid, const char *path)
{
	struct inv_load l = { .pid = pid,
			      .uid = 1000,
			      .fd = -1,
			      .comm = "python3",
			      .exe = "/usr/bin/python3.11",
			      .path = path,
			      .resolved_path = path,
			      .format = MF_PICKLE };

	return l;
}

static struct inventory *new_inv(const struct blocklist *bl, unsigned queue, unsigned cache)
{
	struct inv_options o;
	char err[256];
	struct inventory *inv;

	inv_options_default(&o);
	o.host = "node-1";
	o.blocklist = bl;
	o.window_ms = 0; /* a record per load: the folding has tests of its own */
	if (queue)
		o.queue_len = queue;
	if (cache)
		o.cache_entries = cache;
	inv = inventory_new(&o, err, sizeof(err));
	if (!inv)
		printf("inventory_new: %s\n", err);
	return inv;
}

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Threads once those exiting are gone: a joined thread may still be
 * listed in /proc/self/task for a moment. */
static int base_threads;

static int threads_settled(void)
{
	int n = threads();

	for (int i = 0; i < 2000 && n > base_threads; i++) {
		usleep(1000);
		n = threads();
	}
	return n;
}

static void sha256_hex(const void *data, size_t n, char *out)
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static void test_known_digests(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	char p1[256], p2[256];

	path_of(p1, sizeof(p1), "abc.pkl");
	path_of(p2, sizeof(p2), "empty.pkl");
	write_file(p1, "abc", 3);
	write_file(p2, "", 0);
	reset();
	CHECK(inventory_submit(inv, &(struct inv_load){ .pid = 10,
							.fd = -1,
							.path = p1,
							.resolved_path = p1,
							.format = MF_PICKLE }) == 0);
	CHECK(inventory_submit(inv,
			       &(struct inv_load){
				       .pid = 10, .fd = -1, .path = p2, .resolved_path = p2 }) ==
	      0);
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[0].complete && got[0].hash == INV_HASH_COMPUTED && got[0].alerts == 0);
	CHECK_STR(got[0].sha256, SHA_ABC);
	CHECK(got[0].size == 3 && got[0].load_count == 1);
	CHECK_STR(got[1].sha256, SHA_EMPTY);
	CHECK(inventory_stats(inv)->hashed == 2);
	CHECK(inventory_stats(inv)->bytes_hashed == 3);
	CHECK(inventory_stats(inv)->records == 2);
	inventory_free(inv);
	CHECK(threads_settled() == base_threads); /* the worker was joined */
}

/* Several chunks, a short last one: the same digest as one EVP call. */
static void test_multichunk(void)
{
	size_t n = 2 * INV_CHUNK + 12345;
	unsigned char *data = malloc(n);
	struct inventory *inv = new_inv(NULL, 0, 0);
	char p[256], want[65];

	for (size_t i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 13));
	path_of(p, sizeof(p), "big.pt");
	write_file(p, data, n);
	sha256_hex(data, n, want);
	reset();
	inventory_submit(inv,
			 &(struct inv_load){ .pid = 11, .fd = -1, .path = p, .resolved_path = p });
	drain(inv);
	CHECK(ngot == 1);
	CHECK_STR(got[0].sha256, want);
	CHECK(got[0].size == n);
	CHECK(inventory_stats(inv)->bytes_hashed == n);
	inventory_free(inv);
	free(data);
}

static void test_cache_hit_and_fold(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	struct inv_load l;
	char p[256];

	path_of(p, sizeof(p), "cached.pkl");
	write_file(p, "abc", 3);
	reset();
	l = load(20, p);
	l.realtime_ns = 1000000000000ull;
	inventory_submit(inv, &l);
	drain(inv);
	l.pid = 21;
	l.realtime_ns = 2000000000000ull;
	inventory_submit(inv, &l);
	/* no worker round trip: ready at the first poll */
	CHECK(inventory_pending(inv) == 0);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 2);
	CHECK(got[1].hash == INV_HASH_CACHED);
	CHECK_STR(got[1].sha256, SHA_ABC);
	CHECK(got[1].load_count == 2);
	CHECK(got[1].first_seen == 1000000000000ull && got[1].last_seen == 2000000000000ull);
	/* the same process again: counted, not a new record */
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 2);
	CHECK(inventory_stats(inv)->folded == 1);
	l.pid = 22;
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 3 && got[2].load_count == 4);
	CHECK(inventory_stats(inv)->hashed == 1);
	CHECK(inventory_stats(inv)->cache_hits == 2);
	inventory_free(inv);
}

/* Wait for the next coarse timestamp tick, so ctime/mtime can differ. */
static void tick(void)
{
	usleep(20000);
}

static void test_rehash_on_change(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	struct timespec keep[2];
	struct inv_load l;
	struct stat st;
	char p[256], want[65];

	path_of(p, sizeof(p), "changing.pkl");
	write_file(p, "abc", 3);
	reset();
	l = load(30, p);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK_STR(got[0].sha256, SHA_ABC);

	/* size changes */
	tick();
	write_file(p, "abcd", 4);
	l.pid = 31;
	inventory_submit(inv, &l);
	drain(inv);
	sha256_hex("abcd", 4, want);
	CHECK(ngot == 2 && got[1].hash == INV_HASH_COMPUTED);
	CHECK_STR(got[1].sha256, want);
	CHECK(got[1].load_count == 1); /* a new file version */

	/* only mtime changes: read again, same digest */
	stat(p, &st);
	keep[0] = st.st_atim;
	keep[1] = st.st_mtim;
	keep[1].tv_sec -= 3600;
	CHECK(utimensat(AT_FDCWD, p, keep, 0) == 0);
	l.pid = 32;
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 3 && got[2].hash == INV_HASH_COMPUTED);
	CHECK_STR(got[2].sha256, want);

	/* same size, mtime set back: ctime still tells */
	stat(p, &st);
	keep[0] = st.st_atim;
	keep[1] = st.st_mtim;
	tick();
	write_file(p, "abce", 4);
	CHECK(utimensat(AT_FDCWD, p, keep, 0) == 0);
	l.pid = 33;
	inventory_submit(inv, &l);
	drain(inv);
	sha256_hex("abce", 4, want);
	CHECK(ngot == 4 && got[3].hash == INV_HASH_COMPUTED);
	CHECK_STR(got[3].sha256, want);
	CHECK(inventory_stats(inv)->hashed == 4);
	CHECK(inventory_stats(inv)->cache_hits == 0);
	inventory_free(inv);
}

/* Deleted after the open: read through the loader's fd. */
static void test_via_fd(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	struct inv_load l;
	char p[256], other[256];
	int fd;

	path_of(p, sizeof(p), "deleted.pkl");
	write_file(p, "abc", 3);
	fd = open(p, O_RDONLY);
	unlink(p);
	reset();
	l = load((uint32_t)getpid(), p);
	l.fd = fd;
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1 && got[0].hash == INV_HASH_COMPUTED);
	CHECK_STR(got[0].sha256, SHA_ABC);
	close(fd);

	/* the fd number now names another file: the path wins */
	path_of(other, sizeof(other), "other.bin");
	write_file(other, "abcd", 4);
	write_file(p, "", 0);
	fd = open(other, O_RDONLY);
	l.fd = fd;
	l.pid = (uint32_t)getpid();
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 2);
	CHECK_STR(got[1].sha256, SHA_EMPTY);
	close(fd);
	inventory_free(inv);
}

static void test_unreadable_and_special(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	struct inv_load l;
	char p[256];

	reset();
	path_of(p, sizeof(p), "missing.pkl");
	l = load(40, p);
	inventory_submit(inv, &l);
	/* a relative path is never looked up in our own cwd */
	l = load(41, "abc.pkl");
	inventory_submit(inv, &l);
	path_of(p, sizeof(p), "fifo.pkl");
	CHECK(mkfifo(p, 0600) == 0);
	l = load(42, p);
	inventory_submit(inv, &l); /* must not block */
	drain(inv);
	CHECK(ngot == 3);
	CHECK(got[0].complete && got[0].hash == INV_HASH_UNREADABLE && got[0].hash_errno == ENOENT);
	CHECK(strstr(got[0].json, "\"hash\":\"unreadable (No such file or directory)\"") != NULL);
	CHECK(strstr(got[0].json, "\"sha256\":null") != NULL);
	CHECK(got[1].hash == INV_HASH_UNREADABLE);
	CHECK(got[2].hash == INV_HASH_NOT_REGULAR);
	CHECK(inventory_stats(inv)->read_errors == 2);
	CHECK(inventory_stats(inv)->not_regular == 1);
	inventory_free(inv);
}

/* queue_len hashes outstanding at most; the next load is recorded
 * without a hash, never dropped. */
static void test_queue_full(void)
{
	struct inventory *inv = new_inv(NULL, 1, 0);
	char a[256], b[256];
	struct inv_load l;

	path_of(a, sizeof(a), "qa.pkl");
	path_of(b, sizeof(b), "qb.pkl");
	write_file(a, "abc", 3);
	write_file(b, "abcd", 4);
	reset();
	l = load(50, a);
	inventory_submit(inv, &l);
	l = load(50, b);
	inventory_submit(inv, &l);
	CHECK(inventory_stats(inv)->queue_full == 1);
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[0].hash == INV_HASH_QUEUE_FULL && got[0].complete);
	CHECK(strstr(got[0].json, "\"hash\":\"skipped (queue full)\"") != NULL);
	CHECK(got[1].hash == INV_HASH_COMPUTED);
	CHECK_STR(got[1].sha256, SHA_ABC);
	/* room again: the skipped file is hashed at its next load */
	l = load(51, b);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 3 && got[2].hash == INV_HASH_COMPUTED);
	inventory_free(inv);
}

static void test_waiting_full(void)
{
	struct inv_options o;
	struct inventory *inv;
	struct inv_load l;
	char p[256];

	inv_options_default(&o);
	o.max_waiting = 1;
	o.window_ms = 0;
	inv = inventory_new(&o, NULL, 0);
	path_of(p, sizeof(p), "wait.pkl");
	write_file(p, "abc", 3);
	reset();
	l = load(60, p);
	inventory_submit(inv, &l);
	l.pid = 61; /* the hash is pending until the next poll */
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[0].hash == INV_HASH_WAITING_FULL);
	CHECK(got[1].hash == INV_HASH_COMPUTED);
	CHECK(inventory_stats(inv)->waiting_full == 1);
	inventory_free(inv);
}

static void test_eviction(void)
{
	struct inventory *inv = new_inv(NULL, 1, 2);
	char p[3][256];
	struct inv_load l;

	reset();
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "ev%d.pkl", i);
		path_of(p[i], sizeof(p[i]), name);
		write_file(p[i], name, strlen(name));
		l = load(70, p[i]);
		inventory_submit(inv, &l);
		drain(inv);
	}
	CHECK(inventory_stats(inv)->cache_evictions == 1);
	l = load(71, p[2]); /* still cached */
	inventory_submit(inv, &l);
	l = load(71, p[0]); /* evicted: read again */
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 5);
	CHECK(got[3].hash == INV_HASH_CACHED);
	CHECK(got[4].hash == INV_HASH_COMPUTED && got[4].load_count == 1);
	CHECK(inventory_stats(inv)->hashed == 4);
	inventory_free(inv);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct inventory *slow_inv(unsigned mib_per_s)
{
	struct inv_options o;

	inv_options_default(&o);
	o.max_mib_per_s = mib_per_s;
	o.window_ms = 0;
	return inventory_new(&o, NULL, 0);
}

static void test_rate_limit(void)
{
	struct inventory *inv = slow_inv(8);
	size_t n = 2 * INV_CHUNK;
	char *data = calloc(1, n), p[256];
	double t0;

	path_of(p, sizeof(p), "paced.pt");
	write_file(p, data, n);
	reset();
	t0 = now_s();
	inventory_submit(inv,
			 &(struct inv_load){ .pid = 80, .fd = -1, .path = p, .resolved_path = p });
	drain(inv);
	CHECK(ngot == 1 && got[0].hash == INV_HASH_COMPUTED);
	CHECK(now_s() - t0 >= 0.2); /* 2 MiB at 8 MiB/s */
	inventory_free(inv);
	free(data);
}

/* At exit a long read is abandoned promptly and its record still comes
 * out; so does one for a job the worker never started. */
static void test_flush_at_shutdown(void)
{
	struct inventory *inv = slow_inv(1);
	size_t n = 8 * INV_CHUNK;
	char *data = calloc(1, n), p[256], q[256];
	struct inv_load l;
	double t0;

	path_of(p, sizeof(p), "huge.pt");
	path_of(q, sizeof(q), "queued.pt");
	write_file(p, data, n);
	write_file(q, "abc", 3);
	reset();
	l = load(90, p);
	inventory_submit(inv, &l);
	l = load(90, q);
	inventory_submit(inv, &l);
	usleep(50000);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 0);
	t0 = now_s();
	CHECK(inventory_flush(inv, collect, NULL) == 2);
	CHECK(now_s() - t0 < 2.0);
	CHECK(ngot == 2);
	CHECK(got[0].hash == INV_HASH_SHUTDOWN && got[0].complete);
	CHECK(got[1].hash == INV_HASH_SHUTDOWN);
	CHECK(strstr(got[0].json, "\"hash\":\"skipped (shutdown)\"") != NULL);
	CHECK(inventory_stats(inv)->unhashed_at_exit == 2);
	CHECK(threads_settled() == base_threads);
	/* after the flush a load is still recorded */
	l = load(91, q);
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 3 && got[2].hash == INV_HASH_SHUTDOWN);
	inventory_free(inv);

	/* free without a flush joins the worker too */
	inv = slow_inv(1);
	l = load(92, p);
	inventory_submit(inv, &l);
	t0 = now_s();
	inventory_free(inv);
	CHECK(now_s() - t0 < 2.0);
	CHECK(threads_settled() == base_threads);
	free(data);
}

static void mkdirs(const char *path)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	if (system(cmd) != 0)
		printf("mkdir failed: %s\n", path);
}

/* A repo hit is known at load time: an early notice, then the complete
 * record without a second alert. A cached load by another process alerts
 * again (a new load). */
static void test_blocklist_repo(void)
{
	static const char text[] =
		"{\"repos\": [{\"repo\": \"EleuterAI/*\", \"reason\": \"typosquat\"}]}";
	struct blocklist bl;
	struct inventory *inv;
	char d[512], p[700], err[256];
	struct inv_load l;
	cJSON *j;

	blocklist_init(&bl);
	CHECK(blocklist_parse(&bl, "t", text, strlen(text), err, sizeof(err)) == 0);
	inv = new_inv(&bl, 0, 0);
	snprintf(d, sizeof(d), "%s/hub/models--EleuterAI--gpt-j-6B/snapshots/" REV, dir);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/pytorch_model.bin", d);
	write_file(p, "abc", 3);
	reset();
	l = load(100, p);
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot >= 1);
	CHECK(!got[0].complete && got[0].alerts == INV_ALERT_BLOCKLIST_REPO);
	CHECK(got[0].hash == INV_HASH_PENDING);
	CHECK_STR(got[0].repo_match, "EleuterAI/*");
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[1].complete && got[1].alerts == 0);
	CHECK_STR(got[1].repo_match, "EleuterAI/*");
	CHECK_STR(got[1].sha256, SHA_ABC);
	j = cJSON_Parse(got[1].json);
	CHECK(j && cJSON_GetObjectItem(j, "source"));
	if (j) {
		cJSON *s = cJSON_GetObjectItem(j, "source"),
		      *b = cJSON_GetObjectItem(j, "blocklist");

		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s, "kind")), "huggingface");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s, "repo")),
			  "EleuterAI/gpt-j-6B");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s, "revision")), REV);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s, "file")),
			  "pytorch_model.bin");
		CHECK_STR(cJSON_GetStringValue(
				  cJSON_GetObjectItem(cJSON_GetObjectItem(b, "repo"), "reason")),
			  "typosquat");
	}
	cJSON_Delete(j);
	/* the alert for the notice */
	j = cJSON_Parse(got[0].alert_json ? got[0].alert_json : "");
	CHECK(j != NULL);
	if (j) {
		cJSON *rule = cJSON_GetObjectItem(j, "rule"),
		      *tags = cJSON_GetObjectItem(j, "tags");

		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(rule, "id")),
			  "model-blocklisted");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "severity")), "critical");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(tags, 0)), "AML.T0010.003");
		CHECK_STR(cJSON_GetStringValue(
				  cJSON_GetObjectItem(cJSON_GetObjectItem(j, "match"), "by")),
			  "repo");
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"),
							       "pid")) == 100);
	}
	cJSON_Delete(j);
	l.pid = 101;
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 3 && got[2].complete && got[2].hash == INV_HASH_CACHED);
	CHECK(got[2].alerts == INV_ALERT_BLOCKLIST_REPO);
	CHECK(inventory_stats(inv)->blocklist_hits == 2);
	CHECK(inventory_stats(inv)->notices == 1);
	inventory_free(inv);
	blocklist_free(&bl);
}

static void test_blocklist_sha256(void)
{
	static const char text[] = "{\"sha256\": [{\"sha256\": \"" SHA_ABC
				   "\", \"reason\": \"advisory 7\"}]}";
	struct blocklist bl;
	struct inventory *inv;
	struct inv_load l;
	char p[256], err[256];

	blocklist_init(&bl);
	CHECK(blocklist_parse(&bl, "t", text, strlen(text), err, sizeof(err)) == 0);
	inv = new_inv(&bl, 0, 0);
	path_of(p, sizeof(p), "bad.pkl");
	write_file(p, "abc", 3);
	reset();
	l = load(110, p);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1 && got[0].complete);
	CHECK(got[0].alerts == INV_ALERT_BLOCKLIST_SHA256);
	CHECK_STR(got[0].sha_match, SHA_ABC);
	CHECK(got[0].alert_json && strstr(got[0].alert_json, "\"by\":\"sha256\""));
	CHECK(strstr(got[0].text, "BLOCKLISTED sha256=" SHA_ABC " (advisory 7)") != NULL);
	CHECK(inventory_stats(inv)->blocklist_hits == 1);
	inventory_free(inv);
	blocklist_free(&bl);
}

/* Cache files named by their digest: a file that does not match its name
 * was altered after download. */
static void test_digest_mismatch(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	char d[512], p[700], q[700];
	struct inv_load l;

	snprintf(d, sizeof(d), "%s/hub/models--org--name/blobs", dir);
	mkdirs(d);
	snprintf(p, sizeof(p), "%s/" SHA_ABC, d);
	snprintf(q, sizeof(q), "%s/" SHA_EMPTY, d);
	write_file(p, "abc", 3);
	write_file(q, "abc", 3); /* promises the empty file's digest */
	reset();
	l = load(120, p);
	inventory_submit(inv, &l);
	l = load(120, q);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[0].alerts == 0 && !got[0].digest_mismatch);
	CHECK(strstr(got[0].json, "\"name_sha256_match\":true") != NULL);
	CHECK(got[1].alerts == INV_ALERT_DIGEST_MISMATCH && got[1].digest_mismatch);
	CHECK(strstr(got[1].json, "\"name_sha256_match\":false") != NULL);
	CHECK(got[1].alert_json &&
	      strstr(got[1].alert_json, "\"id\":\"model-cache-digest-mismatch\""));
	CHECK(inventory_stats(inv)->digest_mismatches == 1);
	inventory_free(inv);
}

/* Hostile names stay valid UTF-8 in JSON and one line in text. */
static void test_record_rendering(void)
{
	struct inventory *inv = new_inv(NULL, 0, 0);
	char p[512];
	struct inv_load l;
	cJSON *j, *m, *pr;

	snprintf(p, sizeof(p), "%s/ev\"il\n{\"x\":1}\xff\xfe.pkl", dir);
	write_file(p, "abc", 3);
	reset();
	l = load(130, p);
	l.comm = "py\tthon\xc3";
	l.realtime_ns = 1763773323123456789ull;
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1);
	CHECK(strchr(got[0].json, '\n') == NULL);
	j = cJSON_Parse(got[0].json);
	CHECK(j != NULL);
	if (j) {
		m = cJSON_GetObjectItem(j, "model");
		pr = cJSON_GetObjectItem(j, "process");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "record")), "inventory");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "host")), "node-1");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "time")),
			  "2025-11-22T01:02:03.123Z");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "first_seen")),
			  "2025-11-22T01:02:03.123Z");
		CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "complete")));
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "load_count")) == 1);
		CHECK(cJSON_GetObjectItem(j, "blocklist") == NULL);
		CHECK(cJSON_GetObjectItem(j, "source") == NULL);
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(pr, "pid")) == 130);
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(pr, "uid")) == 1000);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(pr, "comm")),
			  "py\tthon\xef\xbf\xbd");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "sha256")), SHA_ABC);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "hash")), "computed");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "format")), "pickle");
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "size")) == 3);
		CHECK(cJSON_GetObjectItem(m, "inode") && cJSON_GetObjectItem(m, "dev"));
		CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(m, "path")),
			     "ev\"il\n{\"x\":1}\xef\xbf\xbd\xef\xbf\xbd.pkl") != NULL);
	}
	cJSON_Delete(j);
	/* text: one line, the newline and bad bytes escaped */
	CHECK(strchr(got[0].text, '\n') == got[0].text + strlen(got[0].text) - 1);
	CHECK(strstr(got[0].text, "ev\"il\\n{\"x\":1}\\xff\\xfe.pkl") != NULL);
	CHECK(strstr(got[0].text, "sha256=" SHA_ABC " hash=computed") != NULL);
	CHECK(strncmp(got[0].text, "2025-11-22T01:02:03.123Z inventory host=node-1 pid=130", 54) ==
	      0);
	inventory_free(inv);
}

/* Text into a small buffer: cut, terminated, snprintf-like length. */
static void test_text_truncation(void)
{
	struct inv_record r;
	char small[40], big[4096];
	int n;

	memset(&r, 0, sizeof(r));
	r.complete = true;
	r.host = "h";
	r.comm = r.exe = "x";
	r.path = r.resolved_path = "/m.pkl";
	n = inv_record_to_text(&r, big, sizeof(big));
	CHECK(n > 40 && (size_t)n == strlen(big));
	memset(small, 'Z', sizeof(small));
	inv_record_to_text(&r, small, sizeof(small));
	CHECK(memchr(small, 0, sizeof(small)) != NULL);
	CHECK(strncmp(small, big, sizeof(small) - 1) == 0);
}

/* The record and each of its alerts carry the version after "record";
 * the record inside an alert is part of the alert and does not. */
static void test_json_schema_version(void)
{
	struct bl_entry repo = { .text = (char *)"acme/*" }, sha = { .text = (char *)SHA_ABC };
	struct inv_record r;
	cJSON *j;

	memset(&r, 0, sizeof(r));
	r.complete = true;
	r.host = "h";
	r.comm = r.exe = "x";
	r.path = r.resolved_path = "/m.pkl";
	r.alerts = INV_ALERT_LAST * 2 - 1;
	r.repo_match = &repo;
	r.sha256_match = &sha;
	r.scan.done = true;
	r.scan.verdict = SCAN_MALICIOUS;
	j = inv_record_to_json(&r);
	CHECK(j && j->child && !strcmp(j->child->string, "record"));
	CHECK(schema_version_index(j) == 1);
	CHECK(schema_version_nested(j) == 0);
	cJSON_Delete(j);
	for (unsigned bit = 1; bit <= INV_ALERT_LAST; bit <<= 1) {
		j = inv_alert_to_json(&r, bit);
		CHECK(j && j->child && !strcmp(j->child->string, "record"));
		CHECK(schema_version_index(j) == 1);
		CHECK(schema_version_nested(j) == 0);
		CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "inventory")));
		cJSON_Delete(j);
	}
}

/* The scanner thread judges each file once per version, before its hash:
 * a malicious pickle is an early notice with the scan alert, then a
 * complete record carrying the verdict; a clean file raises nothing; the
 * second load of the same version reuses the verdict without a rescan. */
static void test_scan_verdicts(void)
{
	static const uint8_t evil[] = "cposix\nsystem\n(S'true'\ntR.";
	static const uint8_t good[] = "\x80\x04}\x94.";
	struct inventory *inv = new_inv(NULL, 0, 0);
	struct inv_load l;
	char pe[256], pg[256];
	size_t notices = 0, complete_mal = 0;

	path_of(pe, sizeof(pe), "evil.pkl");
	path_of(pg, sizeof(pg), "good.pkl");
	write_file(pe, evil, sizeof(evil) - 1);
	write_file(pg, good, sizeof(good) - 1);
	reset();
	l = load(40, pe);
	inventory_submit(inv, &l);
	l = load(41, pg);
	inventory_submit(inv, &l);
	drain(inv);
	for (size_t i = 0; i < ngot; i++) {
		if (got[i].pid == 40 && !got[i].complete)
			notices += got[i].alerts == INV_ALERT_SCAN_MALICIOUS;
		if (got[i].pid == 40 && got[i].complete) {
			complete_mal += got[i].scan.done && got[i].scan.verdict == SCAN_MALICIOUS;
			CHECK(strstr(got[i].scan.top[0], "posix.system") != NULL);
			CHECK(strstr(got[i].json, "\"scan\":{\"verdict\":\"malicious\"") != NULL);
			CHECK(strstr(got[i].text, "scan=malicious") != NULL);
		}
		if (got[i].pid == 41) {
			CHECK(!(got[i].alerts &
				(INV_ALERT_SCAN_MALICIOUS | INV_ALERT_SCAN_SUSPICIOUS)));
			CHECK(!got[i].complete ||
			      (got[i].scan.done && got[i].scan.verdict == SCAN_CLEAN));
		}
	}
	/* the alert went out once, as the early notice; the complete record carries only the verdict */
	CHECK(notices + complete_mal >= 2);
	CHECK(notices == 1);
	CHECK(inventory_stats(inv)->scanned == 2);
	/* the same file again, another process: cached verdict, alert again, no rescan */
	reset();
	l = load(42, pe);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1 && got[0].scan.done && got[0].scan.verdict == SCAN_MALICIOUS);
	CHECK(ngot == 1 && (got[0].alerts & INV_ALERT_SCAN_MALICIOUS));
	CHECK(inventory_stats(inv)->scanned == 2);
	CHECK(inventory_stats(inv)->scan_malicious == 2);
	inventory_free(inv);
}

/* ---- volume: folding, the rate limit, the hash cap, a stuck reader ---- */

static struct inventory *vol_inv(const struct blocklist *bl, unsigned window_ms, unsigned per_sec,
				 unsigned burst)
{
	struct inv_options o;
	char err[256];
	struct inventory *inv;

	inv_options_default(&o);
	o.host = "node-1";
	o.blocklist = bl;
	o.window_ms = window_ms;
	o.records_per_sec = per_sec;
	o.burst = burst;
	inv = inventory_new(&o, err, sizeof(err));
	if (!inv)
		printf("inventory_new: %s\n", err);
	return inv;
}

/* strstr that takes a record the test never got */
static bool has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

static size_t count_pid(uint32_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < ngot; i++)
		n += got[i].pid == pid && got[i].complete && !got[i].held.records;
	return n;
}

/* Repeats of one identity (file version, exe, uid) within the window are
 * one record with a count when it closes; another uid, exe or inode is an
 * identity of its own, with its record at once. */
static void test_fold_window(void)
{
	struct inventory *inv = vol_inv(NULL, 1000, 0, 0);
	char p[256], q[256];
	struct inv_load l;
	cJSON *j;

	path_of(p, sizeof(p), "fold.pkl");
	path_of(q, sizeof(q), "fold2.pkl");
	write_file(p, "abc", 3);
	write_file(q, "abc", 3); /* same bytes, another inode */
	reset();
	l = load(200, p);
	l.realtime_ns = 1000000000000ull;
	inventory_submit(inv, &l);
	for (uint32_t pid = 201; pid <= 210; pid++) {
		l.pid = pid;
		l.realtime_ns = 1000000000000ull + pid * 1000000ull;
		inventory_submit(inv, &l);
	}
	l = load(211, p);
	l.uid = 1001;
	inventory_submit(inv, &l);
	l = load(212, p);
	l.exe = "/usr/bin/python3.12";
	inventory_submit(inv, &l);
	l = load(213, q);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 4);
	CHECK(count_pid(200) == 1 && count_pid(211) == 1 && count_pid(212) == 1 &&
	      count_pid(213) == 1);
	for (size_t i = 0; i < ngot; i++)
		CHECK(got[i].repeats == 0 && !has(got[i].json, "\"repeats\""));
	CHECK(inventory_stats(inv)->repeats == 10);
	usleep(1200000); /* the window closes */
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 5);
	CHECK(got[4].pid == 210 && got[4].complete && got[4].repeats == 10);
	CHECK(got[4].repeats_since == 1000000000000ull + 201 * 1000000ull);
	CHECK(got[4].last_seen == 1000000000000ull + 210 * 1000000ull);
	CHECK(got[4].first_seen == 1000000000000ull);
	CHECK(got[4].load_count == 11);
	CHECK(got[4].hash == INV_HASH_CACHED);
	CHECK_STR(got[4].sha256, SHA_ABC);
	CHECK(has(got[4].text, " repeats=10 since="));
	j = cJSON_Parse(got[4].json);
	CHECK(j && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "repeats")) == 10);
	CHECK(j && cJSON_IsString(cJSON_GetObjectItem(j, "repeats_since")));
	CHECK(j && schema_version_index(j) == 1);
	cJSON_Delete(j);
	CHECK(inventory_stats(inv)->repeat_records == 1);
	/* the window is over: the next load is a record at once */
	l = load(214, p);
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 6 && got[5].pid == 214 && got[5].repeats == 0);
	/* and opens a new window: its repeat comes out at exit */
	l.pid = 215;
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 6);
	inventory_flush(inv, collect, NULL);
	CHECK(ngot == 7 && got[6].pid == 215 && got[6].repeats == 1);
	inventory_free(inv);
}

/* An alert for a new identity always goes out at once, whatever the rate
 * limit: a blocklisted hash, a malicious scan, the same file by another
 * user, and a load whose path adds a repo hit (a hard link into a
 * blocklisted repo is no repeat of the plain path's load). A repeat of an
 * alerting identity folds, and its record alerts again at the close. */
static void test_fold_never_hides_alerts(void)
{
	static const char text[] = "{\"sha256\": [\"" SHA_ABC "\"], \"repos\": [\"evil/*\"]}";
	static const uint8_t evil[] = "cposix\nsystem\n(S'true'\ntR.";
	struct blocklist bl;
	struct inventory *inv;
	char p[256], pe[256], d[512], hub[700], plain[256], err[256];
	size_t n_bl = 0, n_scan = 0, n_repo = 0;
	struct inv_load l;

	blocklist_init(&bl);
	CHECK(blocklist_parse(&bl, "t", text, strlen(text), err, sizeof(err)) == 0);
	inv = vol_inv(&bl, 60000, 1, 1);
	path_of(p, sizeof(p), "listed.pkl");
	path_of(pe, sizeof(pe), "evil2.pkl");
	path_of(plain, sizeof(plain), "plain.bin");
	write_file(p, "abc", 3);
	write_file(pe, evil, sizeof(evil) - 1);
	write_file(plain, "xyz", 3);
	snprintf(d, sizeof(d), "%s/hub/models--evil--m/snapshots/" REV, dir);
	mkdirs(d);
	snprintf(hub, sizeof(hub), "%s/model.bin", d);
	CHECK(link(plain, hub) == 0);
	reset();
	/* use up the one token */
	l = load(300, plain);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1);
	l = load(301, p);
	inventory_submit(inv, &l);
	l = load(302, p);
	l.uid = 0;
	inventory_submit(inv, &l);
	l = load(303, pe);
	inventory_submit(inv, &l);
	l = load(304, hub); /* the same inode as pid 300's load */
	inventory_submit(inv, &l);
	l = load(305, p); /* a repeat of pid 301's identity */
	inventory_submit(inv, &l);
	drain(inv);
	for (size_t i = 0; i < ngot; i++) {
		n_bl += (got[i].alerts & INV_ALERT_BLOCKLIST_SHA256) != 0;
		n_scan += (got[i].alerts & INV_ALERT_SCAN_MALICIOUS) != 0;
		n_repo += (got[i].alerts & INV_ALERT_BLOCKLIST_REPO) != 0;
	}
	CHECK(n_bl == 2);   /* pids 301 and 302 */
	CHECK(n_scan == 1); /* pid 303 */
	CHECK(n_repo == 1); /* pid 304 */
	CHECK(count_pid(301) == 1 && count_pid(302) == 1 && count_pid(303) == 1 &&
	      count_pid(304) == 1);
	CHECK(count_pid(305) == 0);
	CHECK(inventory_stats(inv)->held_back == 0);
	inventory_flush(inv, collect, NULL);
	CHECK(count_pid(305) == 1);
	CHECK(got[ngot - 1].pid == 305 && got[ngot - 1].repeats == 1);
	CHECK(got[ngot - 1].alerts == INV_ALERT_BLOCKLIST_SHA256);
	inventory_free(inv);
	blocklist_free(&bl);
}

/* Past the rate limit a record without an alert is held back, counted,
 * and summed up a second later in a record of its own; the first summary
 * is also an alert, the next ones within a minute are not, and at exit
 * what is left is summed up (with an alert) at once. */
static void test_rate_limit_held_back(void)
{
	struct inventory *inv = vol_inv(NULL, 0, 5, 5);
	struct inv_load l;
	size_t n1, n2;
	char p[256];
	cJSON *j;

	path_of(p, sizeof(p), "rated.pkl");
	write_file(p, "abc", 3);
	reset();
	for (uint32_t pid = 400; pid < 420; pid++) {
		l = load(pid, p);
		inventory_submit(inv, &l);
	}
	drain(inv);
	/* the burst, and what the bucket refilled meanwhile (5 a second) */
	n1 = ngot;
	CHECK(n1 >= 5 && n1 <= 7);
	CHECK(inventory_stats(inv)->records == n1);
	CHECK(inventory_stats(inv)->held_back == 20 - n1);
	CHECK(inventory_stats(inv)->held_back_loads == 20 - n1);
	usleep(1100000);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == n1 + 1);
	CHECK(got[n1].held.records == 20 - n1 && got[n1].held.loads == 20 - n1);
	CHECK(got[n1].held.per_sec == 5 && got[n1].held.burst == 5);
	CHECK(got[n1].held_alert.records == 20 - n1);
	j = cJSON_Parse(got[n1].json ? got[n1].json : "");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "record")), "inventory-held-back");
	CHECK(j && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "records")) == 20 - n1);
	CHECK(j && schema_version_index(j) == 1);
	cJSON_Delete(j);
	CHECK(has(got[n1].text, "inventory-held-back host=node-1 records="));
	j = cJSON_Parse(got[n1].alert_json ? got[n1].alert_json : "");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rule"), "id")),
		  "inventory-held-back");
	CHECK(j && cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "held_back"),
							    "loads")) == 20 - n1);
	/* shaped like the other inventory alerts: the last load held back */
	CHECK(j && cJSON_GetNumberValue(
			   cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "pid")) == 419);
	CHECK_STR(cJSON_GetStringValue(
			  cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "loader"),
								  "model"),
					      "path")),
		  p);
	CHECK(j && schema_version_index(j) == 1);
	cJSON_Delete(j);
	CHECK(has(got[n1].alert_text, " medium inventory-held-back: "));
	CHECK(has(got[n1].alert_text, "\n  last     pid=419 uid=1000 comm=python3"));
	/* the bucket refilled: some out, the rest held; summed up a
	 * second later, without a second alert within the minute */
	for (uint32_t pid = 420; pid < 440; pid++) {
		l = load(pid, p);
		inventory_submit(inv, &l);
	}
	drain(inv);
	n2 = ngot - (n1 + 1);
	CHECK(n2 >= 5 && n2 <= 7);
	usleep(1100000);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == n1 + 1 + n2 + 1);
	CHECK(got[ngot - 1].held.records == 20 - n2 && got[ngot - 1].held_alert.records == 0);
	CHECK(inventory_stats(inv)->held_back_summaries == 2);
	/* at exit what is left is summed up at once, and alerted with
	 * everything since the last alert */
	for (uint32_t pid = 440; pid < 450; pid++) {
		l = load(pid, p);
		inventory_submit(inv, &l);
	}
	drain(inv);
	inventory_flush(inv, collect, NULL);
	CHECK(got[ngot - 1].held.records > 0);
	CHECK(got[ngot - 1].held_alert.records == 20 - n2 + got[ngot - 1].held.records);
	CHECK(inventory_stats(inv)->held_back_summaries == 3);
	CHECK(inventory_stats(inv)->held_back ==
	      inventory_stats(inv)->held_back_loads); /* nothing folded here */
	inventory_free(inv);
}

/* A 1 TiB sparse file is never read: the record says so at once, and
 * the scan still runs (it reads only the structure). */
static void test_hash_too_large(void)
{
	struct inventory *inv = vol_inv(NULL, 0, 0, 0);
	struct inv_options o;
	char p[256], q[256];
	struct inv_load l;
	double t0 = now_s();
	int fd;

	path_of(p, sizeof(p), "huge.safetensors");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 1ll << 40) == 0);
	close(fd);
	reset();
	l = load(500, p);
	l.format = MF_SAFETENSORS;
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1 && got[0].complete && got[0].hash == INV_HASH_TOO_LARGE);
	CHECK(got[0].size == 1ull << 40 && got[0].sha256[0] == 0);
	CHECK(has(got[0].json, "\"hash\":\"skipped (too large)\""));
	CHECK(got[0].scan.done);
	/* again: the verdict is cached, no job at all */
	l.pid = 501;
	inventory_submit(inv, &l);
	inventory_poll(inv, collect, NULL);
	CHECK(ngot == 2 && got[1].hash == INV_HASH_TOO_LARGE);
	CHECK(inventory_stats(inv)->too_large == 2);
	CHECK(inventory_stats(inv)->bytes_hashed == 0);
	CHECK(now_s() - t0 < 5.0);
	inventory_free(inv);

	/* the cap is inclusive: 4 bytes are hashed, 5 are not */
	inv_options_default(&o);
	o.window_ms = 0;
	o.no_scan = true;
	o.max_hash_size = 4;
	inv = inventory_new(&o, NULL, 0);
	path_of(q, sizeof(q), "four.pkl");
	write_file(q, "abcd", 4);
	path_of(p, sizeof(p), "five.pkl");
	write_file(p, "abcde", 5);
	reset();
	l = load(502, q);
	inventory_submit(inv, &l);
	l = load(502, p);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 2);
	CHECK(got[0].hash == INV_HASH_TOO_LARGE && got[0].size == 5);
	CHECK(got[1].hash == INV_HASH_COMPUTED && got[1].size == 4);
	inventory_free(inv);
}

static atomic_int reader_in, reader_release;

/* A hung file system: the read never returns until the test says so. */
static ssize_t hung_read(int fd, void *buf, size_t n)
{
	(void)fd;
	(void)buf;
	(void)n;
	atomic_store(&reader_in, 1);
	for (int i = 0; i < 20000 && !atomic_load(&reader_release); i++)
		usleep(1000);
	return 0;
}

/* A file that never ends (it grows as fast as it is read). */
static ssize_t endless_read(int fd, void *buf, size_t n)
{
	(void)fd;
	memset(buf, 'x', n);
	return (ssize_t)n;
}

/* Exit waits for a thread stuck in a read at most stop_wait_ms: the
 * record comes out unhashed, the thread is left behind and counted. */
static void test_stuck_reader_bounded_exit(void)
{
	struct inv_options o;
	struct inventory *inv;
	struct inv_load l;
	char p[256];
	double t0;

	inv_options_default(&o);
	o.window_ms = 0;
	o.no_scan = true;
	o.stop_wait_ms = 300;
	o.read_fn = hung_read;
	inv = inventory_new(&o, NULL, 0);
	path_of(p, sizeof(p), "hung.pkl");
	write_file(p, "abc", 3);
	reset();
	atomic_store(&reader_in, 0);
	atomic_store(&reader_release, 0);
	l = load(600, p);
	inventory_submit(inv, &l);
	for (int i = 0; i < 5000 && !atomic_load(&reader_in); i++)
		usleep(1000);
	CHECK(atomic_load(&reader_in));
	t0 = now_s();
	inventory_flush(inv, collect, NULL);
	CHECK(now_s() - t0 < 1.5);
	CHECK(ngot == 1 && got[0].hash == INV_HASH_SHUTDOWN && got[0].complete);
	CHECK(inventory_stats(inv)->threads_abandoned == 1);
	CHECK(inventory_stats(inv)->unhashed_at_exit == 1);
	inventory_free(inv); /* leaves what the stuck thread uses */
	atomic_store(&reader_release, 1);
	CHECK(threads_settled() == base_threads);

	/* a file that keeps growing is given up, not read forever */
	o.read_fn = endless_read;
	o.stop_wait_ms = 0;
	inv = inventory_new(&o, NULL, 0);
	reset();
	l = load(601, p);
	inventory_submit(inv, &l);
	drain(inv);
	CHECK(ngot == 1 && got[0].hash == INV_HASH_CHANGED);
	CHECK(inventory_stats(inv)->threads_abandoned == 0);
	inventory_free(inv);
}

/* A pickle that unpickles one memoized 512 KiB string again and again:
 * about a minute of walking unbounded. */
static void write_loads_bomb(const char *path)
{
	static const uint8_t head[] = "\x80\x04"
				      "cpickle\nloads\n"
				      "q\x00"
				      "B\x00\x00\x08\x00"
				      "S'";
	size_t inner = (512u << 10) - 5, n = 0;
	uint8_t *p = malloc(1u << 20);

	if (!p)
		return;
	memcpy(p, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	memset(p + n, 'a', inner);
	n += inner;
	memcpy(p + n, "'\n.\x85q\x01", 6);
	n += 6;
	while (n + 8 < 1u << 20) {
		memcpy(p + n, "h\x00h\x01R0", 6);
		n += 6;
	}
	memcpy(p + n, "N.", 2);
	write_file(path, p, n + 2);
	free(p);
}

/* A bomb costs its own verdict, never the next model's: the scanner
 * thread stops it at the deadline (suspicious, counted, in the exit
 * report), and the file queued behind it is judged in its own time. */
static void test_scan_bomb_bounded(void)
{
	static const uint8_t good[] = "\x80\x04}\x94.";
	struct scan_limits lim = inv_scan_limits;
	struct inv_options o;
	struct inventory *inv;
	struct inv_load l;
	char pb[256], pg[256], err[256], *rep = NULL;
	const struct got *bomb = NULL, *next = NULL;
	size_t rlen = 0;
	FILE *f;

	lim.max_ms = 300; /* the runtime's limits, a shorter deadline: a fast test */
	inv_options_default(&o);
	o.host = "node-1";
	o.scan_limits = &lim;
	inv = inventory_new(&o, err, sizeof(err));
	CHECK(inv != NULL);
	if (!inv)
		return;
	path_of(pb, sizeof(pb), "bomb.pkl");
	path_of(pg, sizeof(pg), "after.pkl");
	write_loads_bomb(pb);
	write_file(pg, good, sizeof(good) - 1);
	reset();
	l = load(50, pb);
	inventory_submit(inv, &l);
	l = load(51, pg);
	inventory_submit(inv, &l);
	drain(inv);
	for (size_t i = 0; i < ngot; i++) {
		if (got[i].complete && got[i].pid == 50)
			bomb = &got[i];
		if (got[i].complete && got[i].pid == 51)
			next = &got[i];
	}
	CHECK(bomb && bomb->scan.done && bomb->scan.verdict == SCAN_SUSPICIOUS);
	CHECK(bomb && bomb->scan.cut == BUDGET_TIME);
	CHECK(bomb && bomb->scan.duration_us >= lim.max_ms * 1000u);
	CHECK(next && next->scan.done && next->scan.verdict == SCAN_CLEAN && !next->scan.cut);
	CHECK(next && next->scan.duration_us < lim.max_ms * 1000u / 2);
	CHECK(inventory_stats(inv)->scan_cut_time == 1);
	CHECK(inventory_stats(inv)->scan_cut_inflate == 0);
	CHECK(inventory_stats(inv)->scan_suspicious == 1);
	f = open_memstream(&rep, &rlen);
	CHECK(f != NULL);
	if (f) {
		inventory_report(inv, f);
		fclose(f);
		CHECK(rep && strstr(rep, " scan_cut_time=1 scan_cut_inflate=0") != NULL);
		free(rep);
	}
	inventory_free(inv);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	/* one inventory first: a sanitizer may start its own thread then */
	inventory_free(new_inv(NULL, 0, 0));
	base_threads = 1;
	base_threads = threads_settled();
	RUN(test_known_digests);
	RUN(test_multichunk);
	RUN(test_cache_hit_and_fold);
	RUN(test_scan_verdicts);
	RUN(test_rehash_on_change);
	RUN(test_via_fd);
	RUN(test_unreadable_and_special);
	RUN(test_queue_full);
	RUN(test_waiting_full);
	RUN(test_eviction);
	RUN(test_rate_limit);
	RUN(test_flush_at_shutdown);
	RUN(test_blocklist_repo);
	RUN(test_blocklist_sha256);
	RUN(test_digest_mismatch);
	RUN(test_record_rendering);
	RUN(test_text_truncation);
	RUN(test_json_schema_version);
	RUN(test_fold_window);
	RUN(test_fold_never_hides_alerts);
	RUN(test_rate_limit_held_back);
	RUN(test_hash_too_large);
	RUN(test_stuck_reader_bounded_exit);
	RUN(test_scan_bomb_bounded);
	reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_DONE();
}
