/* Model inventory: records built at load time, a cache of file hashes keyed
 * by file version, and the worker thread that hashes files off the hot
 * path. Records and alerts are rendered in inventory_render.c. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "lib/budget.h"
#include "lib/hostname.h"
#include "lib/textsan.h"
#include "scan/scan_render.h"

#define INV_MAX_QUEUE 65536u
#define INV_MAX_CACHE (1u << 22)
#define NS_PER_MS 1000000ull
#define NS_PER_SEC 1000000000ull
/* What the rate limit holds back is summed up a second after the first,
 * and raised as an alert at most once a minute (the summaries between
 * are records, and the next alert counts them). */
#define HELD_SUMMARY_NS NS_PER_SEC
#define HELD_ALERT_NS (60 * NS_PER_SEC)
/* Longest string kept from the caller (paths are at most PATH_MAX). */
#define INV_MAX_STR 65536u

/* A file version. ctime is in the key although the hub never sets it:
 * content can be swapped and mtime set back with utimensat, but ctime
 * cannot be set from user space, so the swap still gets a new hash. */
struct file_key {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct rec {
	struct inv_record r;
	char *strs;        /* comm, exe, path, resolved_path, one block */
	bool repo_noticed; /* the repo hit went out in an early notice */
	bool scan_noticed; /* the scan verdict went out in an early notice */
	int32_t win;       /* the window this record opened; -1: none */
	uint32_t win_gen;  /* ... while it has this generation */
	struct rec *next;
};

/* One identity's fold window: loads of one file version by one exe and
 * uid, after the record that opened it, until it closes (window_ms on,
 * once that record is settled). They become one record with a count. */
struct fold_win {
	struct file_key key;
	uint32_t uid;
	uint32_t gen; /* bumped at each close: a late opener finds it gone */
	char *exe;
	/* path-borne alerts: a load that would raise another one is no repeat */
	const struct bl_entry *repo_match;
	char name_sha256[65];
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	/* the opener's settled hash and scan */
	bool based;
	enum inv_hash_status hash;
	int hash_errno;
	char sha256[65];
	struct inv_scan scan;
	uint64_t repeats, since_ns;
	struct rec *last;   /* the latest repeat */
	int32_t hnext;      /* hash chain, or free list */
	int32_t prev, next; /* open order (= close order), oldest first */
};

enum ent_state { ENT_UNHASHED, ENT_PENDING, ENT_DONE };

struct entry {
	struct file_key key;
	enum ent_state state;
	char sha256[65];
	struct inv_scan scan; /* scan.done: this version was scanned */
	uint64_t first_seen, loads;
	uint32_t last_pid;
	int32_t hnext;      /* hash chain, or free list */
	int32_t prev, next; /* LRU list, most recent first */
	struct rec *wait_head, *wait_tail;
};

/* Handed to the worker: an fd opened on the main thread, so the file read
 * is the one that was loaded even if it is renamed or deleted meanwhile. */
struct job {
	struct entry *e; /* a tag only: the worker never touches it */
	int fd;
	struct file_key key;
	char *name;   /* the path, for the scanner's name hints; owned */
	bool no_hash; /* over max_hash_size: scanned only */
};

/* A FIFO of jobs, queue_len long, under inventory.mu. */
struct job_ring {
	struct job *j;
	unsigned head, count;
};

enum result_kind { RES_HASH = 0, RES_SCAN };

struct result {
	enum result_kind kind;
	struct inv_scan scan; /* RES_SCAN */
	struct entry *e;
	enum inv_hash_status status;
	int err;
	uint64_t bytes;
	char sha256[65];
};

struct inventory {
	struct inv_options opt;
	char host[256];
	struct inv_stats st;

	/* main thread only */
	struct entry *ents;
	int32_t *buckets;
	uint32_t nbuckets;
	int32_t lru_head, lru_tail, free_head;
	struct rec *ready_head, *ready_tail;
	size_t waiting;      /* records on entries' wait lists */
	unsigned inflight;   /* jobs submitted whose result is not polled yet */
	bool running;        /* the worker thread exists */
	bool stopped;        /* flushed: no more hashing */
	bool abandoned;      /* a thread was left stuck at exit: see inventory_free */
	bool results_closed; /* no more results are taken (a stuck thread's come late) */
	struct result *taken;

	/* fold windows (main thread only) */
	struct fold_win *wins;
	int32_t *wbuckets;
	uint32_t nwbuckets;
	uint32_t win_hwm; /* slots ever used; win_free: closed ones */
	int32_t win_free, win_head, win_tail;

	/* the rate limit (main thread only) */
	double tokens;
	uint64_t bucket_ns;
	struct inv_held_back gap;  /* held back since the last summary */
	struct inv_held_back agap; /* ... since the last alert */
	uint64_t gap_ns, alert_ns; /* CLOCK_MONOTONIC of the gap's start, the last alert */
	bool alerted;
	struct rec *held_last; /* the last record held back: who, for the alert */

	/* shared with the workers: rings under mu; inflight <= queue_len
	 * bounds the job rings, and a job makes at most two results (scan,
	 * hash), so the done ring holds 2 * queue_len */
	pthread_mutex_t mu;
	pthread_cond_t cv;     /* a job, or stop */
	struct job_ring scanq; /* to scan, then passed on to hashq */
	struct job_ring hashq; /* to hash */
	struct result *done;
	unsigned dhead, dcount;
	atomic_bool stop;
	pthread_t thread, sthread;
	bool srunning;

	/* the worker's own */
	unsigned char *buf;
	EVP_MD_CTX *md;
};

void inv_options_default(struct inv_options *o)
{
	memset(o, 0, sizeof(*o));
	o->queue_len = 256;
	o->cache_entries = 4096;
	o->max_waiting = 1024;
	o->nice = 19;
	o->window_ms = INV_WINDOW_MS;
	o->records_per_sec = INV_RECORDS_PER_SEC;
	o->max_hash_size = INV_MAX_HASH_SIZE;
}

const struct inv_stats *inventory_stats(const struct inventory *inv)
{
	return &inv->st;
}

size_t inventory_pending(const struct inventory *inv)
{
	return inv->waiting;
}

void inventory_queues(struct inventory *inv, struct inv_queues *q)
{
	pthread_mutex_lock(&inv->mu);
	q->scan = inv->scanq.count;
	q->hash = inv->hashq.count;
	pthread_mutex_unlock(&inv->mu);
	q->inflight = inv->inflight;
	q->waiting = inv->waiting;
	q->cap = inv->opt.queue_len;
}

static uint64_t clock_now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t realtime_now(void)
{
	return clock_now(CLOCK_REALTIME);
}

static void key_of(const struct stat *st, struct file_key *k)
{
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000ll + st->st_ctim.tv_nsec;
}

static bool key_eq(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* ---- worker ---------------------------------------------------------- */

/* Lowest CPU and I/O priority for this thread only (Linux applies both
 * per thread), so a 10 GiB checkpoint is hashed from idle time. */
static void be_polite(const struct inventory *inv)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (inv->opt.nice > 0)
		setpriority(PRIO_PROCESS, (id_t)tid, inv->opt.nice);
	/* IOPRIO_WHO_PROCESS, class best-effort (2), level 7 (lowest) */
	syscall(SYS_ioprio_set, 1, tid, (2 << 13) | 7);
}

/* Sleeps until bytes read since t0 fit the rate limit; false on stop. */
static bool throttle(struct inventory *inv, const struct timespec *t0, uint64_t bytes)
{
	double secs;
	struct timespec due, now;
	bool stop;

	if (!inv->opt.max_mib_per_s)
		return !atomic_load(&inv->stop);
	secs = (double)bytes / ((double)inv->opt.max_mib_per_s * 1048576.0);
	due.tv_sec = t0->tv_sec + (time_t)secs;
	due.tv_nsec = t0->tv_nsec + (long)((secs - (double)(time_t)secs) * 1e9);
	if (due.tv_nsec >= 1000000000l) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000l;
	}
	pthread_mutex_lock(&inv->mu);
	for (;;) {
		stop = atomic_load(&inv->stop);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (stop || now.tv_sec > due.tv_sec ||
		    (now.tv_sec == due.tv_sec && now.tv_nsec >= due.tv_nsec))
			break;
		pthread_cond_timedwait(&inv->cv, &inv->mu, &due);
	}
	pthread_mutex_unlock(&inv->mu);
	return !stop;
}

/* The whole file, in INV_CHUNK reads; then a fstat to make sure nothing
 * changed while it was read (the digest would match no real version). */
static void hash_file(struct inventory *inv, const struct job *j, struct result *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct file_key after;
	struct timespec t0;
	struct stat st;
	uint64_t total = 0;
	ssize_t (*rd)(int, void *, size_t) = inv->opt.read_fn ? inv->opt.read_fn : read;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	posix_fadvise(j->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (EVP_DigestInit_ex(inv->md, EVP_sha256(), NULL) != 1) {
		r->status = INV_HASH_UNREADABLE;
		r->err = ENOMEM;
		return;
	}
	for (;;) {
		ssize_t n = rd(j->fd, inv->buf, INV_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->status = INV_HASH_UNREADABLE;
			r->err = errno;
			return;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(inv->md, inv->buf, (size_t)n);
		total += (uint64_t)n;
		/* a file that keeps growing would keep us reading forever */
		if (total > j->key.size) {
			r->status = INV_HASH_CHANGED;
			return;
		}
		/* the stop flag, at every chunk */
		if (!throttle(inv, &t0, total)) {
			r->status = INV_HASH_SHUTDOWN;
			return;
		}
	}
	r->bytes = total;
	if (fstat(j->fd, &st) != 0) {
		r->status = INV_HASH_UNREADABLE;
		r->err = errno;
		return;
	}
	key_of(&st, &after);
	if (!key_eq(&after, &j->key) || total != j->key.size) {
		r->status = INV_HASH_CHANGED;
		return;
	}
	if (EVP_DigestFinal_ex(inv->md, md, &mdlen) != 1 || mdlen != 32) {
		r->status = INV_HASH_UNREADABLE;
		r->err = EIO;
		return;
	}
	to_hex(md, 32, r->sha256);
	r->status = INV_HASH_COMPUTED;
}

/* Ring operations; all with inv->mu held. */
static void ring_push(struct inventory *inv, struct job_ring *q, const struct job *j)
{
	q->j[(q->head + q->count) % inv->opt.queue_len] = *j;
	q->count++;
}

static struct job ring_pop(struct inventory *inv, struct job_ring *q)
{
	struct job j = q->j[q->head];

	q->head = (q->head + 1) % inv->opt.queue_len;
	q->count--;
	return j;
}

/* Waits for a job on q; false once the inventory is stopping. */
static bool wait_job(struct inventory *inv, struct job_ring *q, struct job *j)
{
	while (!atomic_load(&inv->stop) && q->count == 0)
		pthread_cond_wait(&inv->cv, &inv->mu);
	if (atomic_load(&inv->stop))
		return false;
	*j = ring_pop(inv, q);
	return true;
}

static void post_result(struct inventory *inv, const struct result *r)
{
	inv->done[(inv->dhead + inv->dcount) % (2 * inv->opt.queue_len)] = *r;
	inv->dcount++;
}

static void *worker_main(void *arg)
{
	struct inventory *inv = arg;
	struct result r;
	struct job j;

	be_polite(inv);
	pthread_mutex_lock(&inv->mu);
	while (wait_job(inv, &inv->hashq, &j)) {
		pthread_mutex_unlock(&inv->mu);

		memset(&r, 0, sizeof(r));
		r.e = j.e;
		hash_file(inv, &j, &r);
		close(j.fd);
		free(j.name);

		pthread_mutex_lock(&inv->mu);
		post_result(inv, &r);
	}
	pthread_mutex_unlock(&inv->mu);
	return NULL;
}

/* ---- scanner ---------------------------------------------------------- */

const struct scan_limits inv_scan_limits = {
	.max_member = 256ull << 20,
	.max_nesting = 3,
	.max_members = 100000,
	.max_findings = 256,
	/* one scanner thread for every load: a bomb spends its own few
	 * seconds, never the next model's */
	.max_inflate = 512ull << 20,
	.max_ms = 5000,
};

/* The worst findings first, as text lines. */
static void summarize(const struct scan_report *rep, struct inv_scan *s)
{
	unsigned kept = 0;

	s->done = true;
	s->verdict = rep->verdict;
	s->findings = (uint32_t)(rep->nfindings + rep->findings_dropped);
	s->bytes_read = rep->bytes_read;
	for (int sev = PSEV_MALICIOUS; sev >= PSEV_SUSPICIOUS && kept < INV_SCAN_TOP; sev--)
		for (size_t i = 0; i < rep->nfindings && kept < INV_SCAN_TOP; i++)
			if ((int)rep->findings[i].severity == sev)
				scan_finding_text(&rep->findings[i], s->top[kept++], INV_SCAN_LINE);
	if (rep->errors)
		snprintf(s->error, sizeof(s->error), "%s", rep->error);
}

static void scan_job(struct inventory *inv, const struct job *j, struct result *r)
{
	const struct scan_limits *lim = inv->opt.scan_limits ? inv->opt.scan_limits :
							       &inv_scan_limits;
	struct timespec t0, t1;
	struct scan_report rep;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (model_scan_fd(j->fd, j->name, lim, &rep) == -ENOMEM)
		snprintf(r->scan.error, sizeof(r->scan.error), "out of memory: scan incomplete");
	summarize(&rep, &r->scan);
	r->scan.cut = rep.cut;
	scan_report_free(&rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->scan.duration_us =
		(uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
}

/* Scans each job, posts the verdict at once (a malicious model is an
 * alert before its hash is known), then hands the job to the hasher:
 * a slow, rate-limited hash never delays the next file's verdict. */
static void *scanner_main(void *arg)
{
	struct inventory *inv = arg;
	struct result r;
	struct job j;

	be_polite(inv);
	pthread_mutex_lock(&inv->mu);
	while (wait_job(inv, &inv->scanq, &j)) {
		pthread_mutex_unlock(&inv->mu);

		memset(&r, 0, sizeof(r));
		r.kind = RES_SCAN;
		r.e = j.e;
		scan_job(inv, &j, &r);

		if (j.no_hash) {
			close(j.fd);
			free(j.name);
		}
		pthread_mutex_lock(&inv->mu);
		post_result(inv, &r);
		if (j.no_hash)
			post_result(inv,
				    &(struct result){ .e = j.e, .status = INV_HASH_TOO_LARGE });
		else
			ring_push(inv, &inv->hashq, &j);
		pthread_cond_broadcast(&inv->cv);
	}
	pthread_mutex_unlock(&inv->mu);
	return NULL;
}

/* ---- records --------------------------------------------------------- */

static void free_rec(struct rec *x)
{
	if (x) {
		free(x->strs);
		free(x);
	}
}

static struct rec *rec_with_strings(const char *const s[4])
{
	size_t n[4], total = 0, off = 0;
	struct rec *x = calloc(1, sizeof(*x));
	const char **dst[4];

	if (!x)
		return NULL;
	dst[0] = &x->r.comm;
	dst[1] = &x->r.exe;
	dst[2] = &x->r.path;
	dst[3] = &x->r.resolved_path;
	for (int i = 0; i < 4; i++) {
		n[i] = s[i] ? strnlen(s[i], INV_MAX_STR) : 0;
		total += n[i] + 1;
	}
	x->strs = malloc(total);
	if (!x->strs) {
		free(x);
		return NULL;
	}
	x->win = -1;
	for (int i = 0; i < 4; i++) {
		if (n[i])
			memcpy(x->strs + off, s[i], n[i]);
		x->strs[off + n[i]] = 0;
		*dst[i] = x->strs + off;
		off += n[i] + 1;
	}
	return x;
}

static struct rec *new_rec(struct inventory *inv, const struct inv_load *l, uint64_t now)
{
	const char *s[4] = { l->comm, l->exe, l->path, l->resolved_path };
	struct rec *x = rec_with_strings(s);
	const char *where;

	if (!x)
		return NULL;
	x->r.host = inv->host;
	x->r.pid = l->pid;
	x->r.uid = l->uid;
	x->r.format = l->format;
	if (l->open) {
		x->r.has_open = true;
		memcpy(&x->r.open, l->open, sizeof(x->r.open));
	}
	x->r.first_seen_ns = x->r.last_seen_ns = now;
	x->r.load_count = 1;
	where = x->r.resolved_path[0] ? x->r.resolved_path : x->r.path;
	/* a relative path would be looked up in our cwd, not the loader's */
	if (hfcache_parse(where, &x->r.origin) && where[0] == '/')
		hfcache_enrich(where, &x->r.origin);
	if (x->r.origin.repo[0])
		x->r.repo_match = blocklist_match_repo(inv->opt.blocklist, x->r.origin.repo);
	return x;
}

static struct rec *clone_rec(const struct rec *src)
{
	const char *s[4] = { src->r.comm, src->r.exe, src->r.path, src->r.resolved_path };
	struct rec *x = rec_with_strings(s);
	struct inv_record keep;

	if (!x)
		return NULL;
	keep = x->r;
	x->r = src->r;
	x->r.comm = keep.comm;
	x->r.exe = keep.exe;
	x->r.path = keep.path;
	x->r.resolved_path = keep.resolved_path;
	return x;
}

static void push_ready(struct inventory *inv, struct rec *x)
{
	x->next = NULL;
	if (inv->ready_tail)
		inv->ready_tail->next = x;
	else
		inv->ready_head = x;
	inv->ready_tail = x;
}

static unsigned scan_alert(struct inventory *inv, const struct inv_scan *s)
{
	if (s->verdict == SCAN_MALICIOUS) {
		inv->st.scan_malicious++;
		return INV_ALERT_SCAN_MALICIOUS;
	}
	inv->st.scan_suspicious++;
	return INV_ALERT_SCAN_SUSPICIOUS;
}

static void win_settle(struct inventory *inv, const struct rec *x);

/* The record's hash is settled: decide its alerts and make it ready. */
static void finish(struct inventory *inv, struct rec *x)
{
	struct inv_record *r = &x->r;

	r->complete = true;
	if (r->scan.done && r->scan.verdict >= SCAN_SUSPICIOUS && !x->scan_noticed)
		r->alerts |= scan_alert(inv, &r->scan);
	if (r->repo_match && !x->repo_noticed) {
		r->alerts |= INV_ALERT_BLOCKLIST_REPO;
		inv->st.blocklist_hits++;
	}
	if (r->sha256[0]) {
		size_t n = strlen(r->origin.name_sha256);

		r->sha256_match = blocklist_match_sha256(inv->opt.blocklist, r->sha256);
		if (r->sha256_match) {
			r->alerts |= INV_ALERT_BLOCKLIST_SHA256;
			inv->st.blocklist_hits++;
		}
		if (n && strncmp(r->origin.name_sha256, r->sha256, n) != 0) {
			r->digest_mismatch = true;
			inv->st.digest_mismatches++;
			/* a full digest in the name is a promise; a short
			 * torch hub prefix may be a version number */
			if (n == 64)
				r->alerts |= INV_ALERT_DIGEST_MISMATCH;
		}
	}
	if (x->win >= 0)
		win_settle(inv, x);
	push_ready(inv, x);
}

/* A repo hit needs no hash: say so now, the complete record follows. */
static void notice(struct inventory *inv, struct rec *x)
{
	struct rec *n = clone_rec(x);

	if (!n)
		return; /* the complete record will carry the alert */
	n->r.complete = false;
	n->r.hash = INV_HASH_PENDING;
	n->r.alerts = INV_ALERT_BLOCKLIST_REPO;
	x->repo_noticed = true;
	inv->st.notices++;
	inv->st.blocklist_hits++;
	push_ready(inv, n);
}

/* A bad scan verdict needs no hash: say so now, the complete record follows. */
static void scan_notice(struct inventory *inv, struct rec *x)
{
	struct rec *n;

	if (!x->r.scan.done || x->r.scan.verdict < SCAN_SUSPICIOUS || x->scan_noticed)
		return;
	if (!(n = clone_rec(x)))
		return; /* the complete record will carry the alert */
	n->r.complete = false;
	n->r.hash = INV_HASH_PENDING;
	n->r.alerts = scan_alert(inv, &x->r.scan);
	x->scan_noticed = true;
	inv->st.notices++;
	push_ready(inv, n);
}

static void wait_for(struct inventory *inv, struct entry *e, struct rec *x)
{
	if (inv->waiting >= inv->opt.max_waiting) {
		x->r.hash = INV_HASH_WAITING_FULL;
		inv->st.waiting_full++;
		finish(inv, x);
		return;
	}
	x->next = NULL;
	if (e->wait_tail)
		e->wait_tail->next = x;
	else
		e->wait_head = x;
	e->wait_tail = x;
	inv->waiting++;
	if (x->r.repo_match)
		notice(inv, x);
}

/* ---- cache ----------------------------------------------------------- */

static uint32_t key_bucket(const struct inventory *inv, const struct file_key *k)
{
	uint64_t h = k->dev * 0x9e3779b97f4a7c15ull;

	h ^= k->ino * 0xbf58476d1ce4e5b9ull;
	h ^= k->size * 0x94d049bb133111ebull;
	h ^= (uint64_t)k->mtime_ns * 0x2545f4914f6cdd1dull;
	h ^= (uint64_t)k->ctime_ns;
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return (uint32_t)(h & (inv->nbuckets - 1));
}

static void lru_unlink(struct inventory *inv, int32_t i)
{
	struct entry *e = &inv->ents[i];

	if (e->prev >= 0)
		inv->ents[e->prev].next = e->next;
	else
		inv->lru_head = e->next;
	if (e->next >= 0)
		inv->ents[e->next].prev = e->prev;
	else
		inv->lru_tail = e->prev;
	e->prev = e->next = -1;
}

static void lru_front(struct inventory *inv, int32_t i)
{
	struct entry *e = &inv->ents[i];

	e->prev = -1;
	e->next = inv->lru_head;
	if (inv->lru_head >= 0)
		inv->ents[inv->lru_head].prev = i;
	inv->lru_head = i;
	if (inv->lru_tail < 0)
		inv->lru_tail = i;
}

static struct entry *cache_find(struct inventory *inv, const struct file_key *k)
{
	for (int32_t i = inv->buckets[key_bucket(inv, k)]; i >= 0; i = inv->ents[i].hnext)
		if (key_eq(&inv->ents[i].key, k)) {
			lru_unlink(inv, i);
			lru_front(inv, i);
			return &inv->ents[i];
		}
	return NULL;
}

static void bucket_remove(struct inventory *inv, int32_t i)
{
	int32_t *p = &inv->buckets[key_bucket(inv, &inv->ents[i].key)];

	while (*p >= 0 && *p != i)
		p = &inv->ents[*p].hnext;
	if (*p == i)
		*p = inv->ents[i].hnext;
}

/* A free slot, or the least recently used entry no job is pending on.
 * cache_entries > queue_len >= pending entries, so one always exists. */
static struct entry *cache_add(struct inventory *inv, const struct file_key *k, uint64_t now)
{
	int32_t i = inv->free_head;
	uint32_t b;
	struct entry *e;

	if (i >= 0) {
		inv->free_head = inv->ents[i].hnext;
	} else {
		for (i = inv->lru_tail; i >= 0 && inv->ents[i].state == ENT_PENDING;
		     i = inv->ents[i].prev)
			;
		if (i < 0)
			return NULL;
		bucket_remove(inv, i);
		lru_unlink(inv, i);
		inv->st.cache_evictions++;
	}
	e = &inv->ents[i];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->first_seen = now;
	b = key_bucket(inv, k);
	e->hnext = inv->buckets[b];
	inv->buckets[b] = i;
	e->prev = e->next = -1;
	lru_front(inv, i);
	return e;
}

/* ---- fold windows ---------------------------------------------------- */

static uint32_t win_bucket(const struct inventory *inv, const struct file_key *k, uint32_t uid,
			   const char *exe)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)exe; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	h ^= k->dev * 0x9e3779b97f4a7c15ull;
	h ^= k->ino * 0xbf58476d1ce4e5b9ull;
	h ^= k->size * 0x94d049bb133111ebull;
	h ^= (uint64_t)k->mtime_ns * 0x2545f4914f6cdd1dull;
	h ^= (uint64_t)k->ctime_ns ^ ((uint64_t)uid << 32);
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 29;
	return (uint32_t)(h & (inv->nwbuckets - 1));
}

static int32_t win_find(const struct inventory *inv, const struct file_key *k, uint32_t uid,
			const char *exe)
{
	for (int32_t i = inv->wbuckets[win_bucket(inv, k, uid, exe)]; i >= 0;
	     i = inv->wins[i].hnext) {
		const struct fold_win *w = &inv->wins[i];

		if (w->uid == uid && key_eq(&w->key, k) && !strcmp(w->exe, exe))
			return i;
	}
	return -1;
}

/* x opens its identity's window. With every window taken, the identity
 * is not folded (counted): its records go to the rate limit. */
static void win_open(struct inventory *inv, struct rec *x, const struct file_key *k, uint64_t now)
{
	int32_t i = inv->win_free;
	struct fold_win *w;
	uint32_t b, gen;
	char *exe;

	if (i < 0 && inv->win_hwm >= inv->opt.max_windows) {
		inv->st.windows_full++;
		return;
	}
	exe = strdup(x->r.exe);
	if (!exe)
		return;
	if (i >= 0)
		inv->win_free = inv->wins[i].hnext;
	else
		i = (int32_t)inv->win_hwm++;
	w = &inv->wins[i];
	gen = w->gen;
	memset(w, 0, sizeof(*w));
	w->gen = gen;
	w->key = *k;
	w->uid = x->r.uid;
	w->exe = exe;
	w->repo_match = x->r.repo_match;
	memcpy(w->name_sha256, x->r.origin.name_sha256, sizeof(w->name_sha256));
	w->start_ns = now;
	b = win_bucket(inv, k, w->uid, exe);
	w->hnext = inv->wbuckets[b];
	inv->wbuckets[b] = i;
	w->next = -1;
	w->prev = inv->win_tail;
	if (inv->win_tail >= 0)
		inv->wins[inv->win_tail].next = i;
	else
		inv->win_head = i;
	inv->win_tail = i;
	x->win = i;
	x->win_gen = gen;
}

/* The opener's record is settled: its repeats will say the same. */
static void win_settle(struct inventory *inv, const struct rec *x)
{
	struct fold_win *w = &inv->wins[x->win];

	if (w->gen != x->win_gen || w->based)
		return;
	w->based = true;
	w->hash = x->r.hash;
	w->hash_errno = x->r.hash_errno;
	memcpy(w->sha256, x->r.sha256, sizeof(w->sha256));
	w->scan = x->r.scan;
}

/* A repeat: the same file version, exe and uid, and no other path-borne
 * alert (a repo hit, a promised digest) than the window's first record. */
static bool win_fold(struct inventory *inv, int32_t i, struct rec *x)
{
	struct fold_win *w = &inv->wins[i];

	if (w->repo_match != x->r.repo_match ||
	    strcmp(w->name_sha256, x->r.origin.name_sha256) != 0)
		return false;
	if (!w->repeats++)
		w->since_ns = x->r.last_seen_ns;
	free_rec(w->last);
	w->last = x;
	inv->st.repeats++;
	return true;
}

/* The latest repeat stands for them all, with the hash and the scan of
 * this file version (the alerts they raise are raised once more). */
static void win_record(struct inventory *inv, const struct fold_win *w, struct rec *x)
{
	struct entry *e = cache_find(inv, &w->key);

	x->r.repeats = w->repeats;
	x->r.repeats_since_ns = w->since_ns;
	if (e && e->state == ENT_DONE) {
		x->r.hash = INV_HASH_CACHED;
		memcpy(x->r.sha256, e->sha256, sizeof(x->r.sha256));
	} else {
		x->r.hash = !w->based                    ? INV_HASH_SHUTDOWN :
			    w->hash == INV_HASH_COMPUTED ? INV_HASH_CACHED :
							   w->hash;
		x->r.hash_errno = w->hash_errno;
		memcpy(x->r.sha256, w->sha256, sizeof(x->r.sha256));
	}
	x->r.scan = e && e->scan.done ? e->scan : w->scan;
	inv->st.repeat_records++;
	finish(inv, x);
}

static void win_close(struct inventory *inv, int32_t i)
{
	struct fold_win *w = &inv->wins[i];
	int32_t *p = &inv->wbuckets[win_bucket(inv, &w->key, w->uid, w->exe)];

	if (w->last)
		win_record(inv, w, w->last);
	while (*p >= 0 && *p != i)
		p = &inv->wins[*p].hnext;
	if (*p == i)
		*p = w->hnext;
	if (w->prev >= 0)
		inv->wins[w->prev].next = w->next;
	else
		inv->win_head = w->next;
	if (w->next >= 0)
		inv->wins[w->next].prev = w->prev;
	else
		inv->win_tail = w->prev;
	free(w->exe);
	w->exe = NULL;
	w->last = NULL;
	w->gen++;
	w->hnext = inv->win_free;
	inv->win_free = i;
}

/* Windows close in the order they opened, window_ms on, each once its
 * first record is settled (its record copies that hash); all: at exit. */
static void win_expire(struct inventory *inv, uint64_t now, bool all)
{
	uint64_t len = (uint64_t)inv->opt.window_ms * NS_PER_MS;
	int32_t next;

	for (int32_t i = inv->win_head; i >= 0; i = next) {
		next = inv->wins[i].next;
		if (!all && now - inv->wins[i].start_ns < len)
			break;
		if (all || inv->wins[i].based)
			win_close(inv, i);
	}
}

/* ---- submit ---------------------------------------------------------- */

/* Which file the load was: the loader's fd (/proc/PID/fd/N, which works
 * for a deleted file) while it is still the same dev+inode as the path,
 * since by now the loader may have closed it and reused the number;
 * otherwise the path. Sets *open_path to what to open. */
static int identify(const struct inv_load *l, const char *path, char *via, size_t vlen,
		    struct stat *st, const char **open_path)
{
	struct stat by_fd, by_path;
	bool have_fd = false, have_path = false;
	int err = ENOENT;

	if (l->fd >= 0 && l->pid) {
		snprintf(via, vlen, "/proc/%u/fd/%d", l->pid, l->fd);
		have_fd = stat(via, &by_fd) == 0;
		if (!have_fd)
			err = errno;
	}
	/* a relative path would be resolved against our cwd, not the loader's */
	if (path[0] == '/') {
		have_path = stat(path, &by_path) == 0;
		if (!have_path)
			err = errno;
	}
	if (have_fd &&
	    (!have_path || (by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino))) {
		*st = by_fd;
		*open_path = via;
		return 0;
	}
	if (have_path) {
		*st = by_path;
		*open_path = path;
		return 0;
	}
	return -err;
}

/* Opens what was stat'ed, non-blocking (a FIFO swapped in must not hang
 * the collector), and checks it is still that version of that file. */
static int open_same(const char *p, const struct file_key *k)
{
	struct file_key now;
	struct stat st;
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ESTALE;
	}
	key_of(&st, &now);
	if (!key_eq(&now, k)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static void enqueue(struct inventory *inv, struct entry *e, int fd, const struct file_key *k,
		    const char *name, bool no_hash)
{
	struct job j = { .e = e, .fd = fd, .key = *k, .no_hash = no_hash };
	bool scan = !inv->opt.no_scan && !e->scan.done;

	/* no name (ENOMEM): scanned without the name hints, never skipped */
	if (scan)
		j.name = strdup(name);
	pthread_mutex_lock(&inv->mu);
	ring_push(inv, scan ? &inv->scanq : &inv->hashq, &j);
	pthread_cond_broadcast(&inv->cv);
	pthread_mutex_unlock(&inv->mu);
	inv->inflight++;
	e->state = ENT_PENDING;
}

int inventory_submit(struct inventory *inv, const struct inv_load *l)
{
	uint64_t now = l->realtime_ns ? l->realtime_ns : realtime_now();
	struct rec *x = new_rec(inv, l, now);
	const char *open_path, *path;
	struct file_key key;
	struct entry *e;
	struct stat st;
	char via[64];
	int err, fd;
	bool big;

	if (!x)
		return -ENOMEM;
	memset(&st, 0, sizeof(st));
	inv->st.loads++;
	path = x->r.resolved_path[0] ? x->r.resolved_path : x->r.path;
	open_path = path;
	err = identify(l, path, via, sizeof(via), &st, &open_path);
	if (err) {
		x->r.hash = INV_HASH_UNREADABLE;
		x->r.hash_errno = -err;
		inv->st.read_errors++;
		finish(inv, x);
		return 0;
	}
	key_of(&st, &key);
	x->r.dev = key.dev;
	x->r.ino = key.ino;
	x->r.size = key.size;
	x->r.mtime_ns = (uint64_t)key.mtime_ns;
	if (!S_ISREG(st.st_mode)) {
		x->r.hash = INV_HASH_NOT_REGULAR;
		inv->st.not_regular++;
		finish(inv, x);
		return 0;
	}
	e = cache_find(inv, &key);
	if (e) {
		e->loads++;
		/* torch.load and from_pretrained may open a file more than
		 * once: one record per process and file version */
		if (e->last_pid == l->pid) {
			inv->st.folded++;
			free_rec(x);
			return 0;
		}
	} else {
		e = cache_add(inv, &key, now);
		if (!e) { /* cannot happen while cache_entries > queue_len */
			x->r.hash = INV_HASH_QUEUE_FULL;
			inv->st.queue_full++;
			finish(inv, x);
			return 0;
		}
		e->loads = 1;
	}
	e->last_pid = l->pid;
	x->r.first_seen_ns = e->first_seen;
	x->r.load_count = e->loads;
	x->r.scan = e->scan;
	/* a flood of loads is one record a window, not a SIEM flood */
	if (inv->opt.window_ms) {
		int32_t w = win_find(inv, &key, x->r.uid, x->r.exe);

		if (w < 0)
			win_open(inv, x, &key, clock_now(CLOCK_MONOTONIC));
		else if (win_fold(inv, w, x))
			return 0;
	}
	if (e->state == ENT_DONE) {
		x->r.hash = INV_HASH_CACHED;
		memcpy(x->r.sha256, e->sha256, sizeof(x->r.sha256));
		inv->st.cache_hits++;
		finish(inv, x);
		return 0;
	}
	if (e->state == ENT_PENDING) {
		scan_notice(inv, x);
		wait_for(inv, e, x);
		return 0;
	}
	/* a 16 TiB sparse file would keep the hasher busy for hours; the
	 * scan reads only the structure, so it still runs */
	big = inv->opt.max_hash_size && key.size > inv->opt.max_hash_size;
	if (big && (inv->opt.no_scan || e->scan.done || inv->stopped)) {
		x->r.hash = INV_HASH_TOO_LARGE;
		inv->st.too_large++;
		finish(inv, x);
		return 0;
	}
	if (inv->stopped || inv->inflight >= inv->opt.queue_len) {
		x->r.hash = inv->stopped ? INV_HASH_SHUTDOWN : INV_HASH_QUEUE_FULL;
		if (inv->stopped)
			inv->st.unhashed_at_exit++;
		else
			inv->st.queue_full++;
		finish(inv, x);
		return 0;
	}
	fd = open_same(open_path, &key);
	if (fd < 0) {
		x->r.hash = fd == -ESTALE ? INV_HASH_CHANGED : INV_HASH_UNREADABLE;
		x->r.hash_errno = fd == -ESTALE ? 0 : -fd;
		if (fd == -ESTALE)
			inv->st.changed++;
		else
			inv->st.read_errors++;
		finish(inv, x);
		return 0;
	}
	enqueue(inv, e, fd, &key, path, big);
	wait_for(inv, e, x);
	return 0;
}

/* ---- completion ------------------------------------------------------ */

/* The verdict reaches every record waiting for this file's hash. */
static void complete_scan(struct inventory *inv, const struct result *res)
{
	struct entry *e = res->e;

	e->scan = res->scan;
	inv->st.scanned++;
	inv->st.scan_cut_time += !!(res->scan.cut & BUDGET_TIME);
	inv->st.scan_cut_inflate += !!(res->scan.cut & BUDGET_INFLATE);
	for (struct rec *w = e->wait_head; w; w = w->next) {
		w->r.scan = e->scan;
		scan_notice(inv, w);
	}
}

static void complete_job(struct inventory *inv, const struct result *res)
{
	struct entry *e = res->e;
	struct rec *w = e->wait_head, *next;

	if (res->kind == RES_SCAN) {
		complete_scan(inv, res);
		return;
	}
	inv->inflight--;
	e->wait_head = e->wait_tail = NULL;
	e->state = ENT_UNHASHED; /* a failure is retried at the next load */
	switch (res->status) {
	case INV_HASH_COMPUTED:
		e->state = ENT_DONE;
		memcpy(e->sha256, res->sha256, sizeof(e->sha256));
		inv->st.hashed++;
		inv->st.bytes_hashed += res->bytes;
		break;
	case INV_HASH_UNREADABLE:
		inv->st.read_errors++;
		break;
	case INV_HASH_CHANGED:
		inv->st.changed++;
		break;
	default:
		break;
	}
	for (; w; w = next) {
		next = w->next;
		w->r.hash = res->status;
		w->r.hash_errno = res->err;
		if (res->status == INV_HASH_COMPUTED)
			memcpy(w->r.sha256, res->sha256, sizeof(w->r.sha256));
		if (res->status == INV_HASH_SHUTDOWN)
			inv->st.unhashed_at_exit++;
		if (res->status == INV_HASH_TOO_LARGE)
			inv->st.too_large++;
		inv->waiting--;
		finish(inv, w);
	}
}

/* The workers' results; last: no more after these (a stuck thread's
 * would come for records already written). */
static void take_results(struct inventory *inv, bool last)
{
	unsigned cap = inv->opt.queue_len, n = 0;

	pthread_mutex_lock(&inv->mu);
	while (!inv->results_closed && inv->dcount) {
		inv->taken[n++] = inv->done[inv->dhead];
		inv->dhead = (inv->dhead + 1) % (2 * cap);
		inv->dcount--;
	}
	if (last)
		inv->results_closed = true;
	pthread_mutex_unlock(&inv->mu);
	for (unsigned i = 0; i < n; i++)
		complete_job(inv, &inv->taken[i]);
}

static bool take_token(struct inventory *inv, uint64_t now)
{
	double rate = inv->opt.records_per_sec;

	if (!inv->opt.records_per_sec)
		return true;
	if (now > inv->bucket_ns) {
		inv->tokens += (double)(now - inv->bucket_ns) * rate / (double)NS_PER_SEC;
		if (inv->tokens > inv->opt.burst)
			inv->tokens = inv->opt.burst;
		inv->bucket_ns = now;
	}
	if (inv->tokens < 1.0)
		return false;
	inv->tokens -= 1.0;
	return true;
}

/* Counted for the next summary and the next alert, then dropped. */
static void hold_back(struct inventory *inv, struct rec *x, uint64_t now)
{
	uint64_t loads = x->r.repeats ? x->r.repeats : 1;
	struct inv_held_back *g[2] = { &inv->gap, &inv->agap };

	if (!inv->gap.records)
		inv->gap_ns = now;
	for (int i = 0; i < 2; i++) {
		if (!g[i]->records)
			g[i]->first_ns = x->r.last_seen_ns;
		g[i]->records++;
		g[i]->loads += loads;
		g[i]->last_ns = x->r.last_seen_ns;
	}
	inv->st.held_back++;
	inv->st.held_back_loads += loads;
	free_rec(inv->held_last);
	inv->held_last = x;
}

/* What was held back, as a record of its own (never held back itself),
 * and an alert at most once a minute: a flood can hide a load. */
static void emit_held_back(struct inventory *inv, inv_emit_fn emit, void *ctx, uint64_t now,
			   bool last)
{
	struct inv_held_back hb = inv->gap, ab = inv->agap;
	bool alert = last || !inv->alerted || now - inv->alert_ns >= HELD_ALERT_NS;
	const struct inv_record *who = &inv->held_last->r;
	struct inv_record r;

	hb.per_sec = ab.per_sec = inv->opt.records_per_sec;
	hb.burst = ab.burst = inv->opt.burst;
	memset(&r, 0, sizeof(r));
	r.complete = true;
	r.host = inv->host;
	r.pid = who->pid;
	r.uid = who->uid;
	r.comm = who->comm;
	r.exe = who->exe;
	r.path = who->path;
	r.resolved_path = who->resolved_path;
	r.format = who->format;
	r.first_seen_ns = hb.first_ns;
	r.last_seen_ns = hb.last_ns;
	r.held_back = &hb;
	r.held_back_alert = alert ? &ab : NULL;
	emit(&r, ctx);
	free_rec(inv->held_last);
	inv->held_last = NULL;
	inv->st.held_back_summaries++;
	memset(&inv->gap, 0, sizeof(inv->gap));
	if (alert) {
		memset(&inv->agap, 0, sizeof(inv->agap));
		inv->alerted = true;
		inv->alert_ns = now;
	}
}

/* force: at exit, every window closes and everything goes out. */
static size_t poll_records(struct inventory *inv, inv_emit_fn emit, void *ctx, bool force)
{
	uint64_t now = clock_now(CLOCK_MONOTONIC);
	size_t emitted = 0;

	take_results(inv, false);
	if (inv->wins)
		win_expire(inv, now, force);
	while (inv->ready_head) {
		struct rec *x = inv->ready_head;

		inv->ready_head = x->next;
		if (!inv->ready_head)
			inv->ready_tail = NULL;
		if (!emit) {
			inv->st.dropped_at_exit++;
			free_rec(x);
			continue;
		}
		/* an alert is never held back, nor the record of a load whose
		 * alert went out early: they are the news */
		if (!take_token(inv, now) && !force && x->r.complete && !x->r.alerts &&
		    !x->repo_noticed && !x->scan_noticed) {
			hold_back(inv, x, now);
			continue;
		}
		if (x->r.complete)
			inv->st.records++;
		emit(&x->r, ctx);
		emitted++;
		free_rec(x);
	}
	if (emit && inv->gap.records && (force || now - inv->gap_ns >= HELD_SUMMARY_NS)) {
		emit_held_back(inv, emit, ctx, now, force);
		emitted++;
	}
	return emitted;
}

size_t inventory_poll(struct inventory *inv, inv_emit_fn emit, void *ctx)
{
	return poll_records(inv, emit, ctx, false);
}

/* Jobs a worker never started come back as SHUTDOWN. */
static void drain_ring(struct inventory *inv, struct job_ring *q)
{
	while (q->count) {
		struct job j = ring_pop(inv, q);

		close(j.fd);
		free(j.name);
		post_result(inv, &(struct result){ .e = j.e, .status = INV_HASH_SHUTDOWN });
	}
}

/* By the deadline; a thread stuck in one read (a hung network or FUSE
 * file system) is left behind rather than hang the exit. */
static bool join_by(struct inventory *inv, pthread_t t, const struct timespec *deadline)
{
	if (pthread_timedjoin_np(t, NULL, deadline) == 0)
		return true;
	pthread_detach(t);
	inv->st.threads_abandoned++;
	return false;
}

static void stop_worker(struct inventory *inv)
{
	unsigned ms = inv->opt.stop_wait_ms;
	struct timespec dl;
	bool joined;

	inv->stopped = true;
	if (!inv->running)
		return;
	pthread_mutex_lock(&inv->mu);
	atomic_store(&inv->stop, true);
	pthread_cond_broadcast(&inv->cv);
	pthread_mutex_unlock(&inv->mu);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000l;
	if (dl.tv_nsec >= 1000000000l) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000l;
	}
	joined = join_by(inv, inv->thread, &dl);
	if (inv->srunning && !join_by(inv, inv->sthread, &dl))
		joined = false;
	inv->running = inv->srunning = false;
	pthread_mutex_lock(&inv->mu);
	drain_ring(inv, &inv->scanq);
	drain_ring(inv, &inv->hashq);
	pthread_mutex_unlock(&inv->mu);
	if (joined)
		return;
	inv->abandoned = true;
	take_results(inv, true);
	/* the stuck thread's file: its records come out unhashed */
	for (uint32_t i = 0; i < inv->opt.cache_entries; i++)
		if (inv->ents[i].state == ENT_PENDING)
			complete_job(inv, &(struct result){ .e = &inv->ents[i],
							    .status = INV_HASH_SHUTDOWN });
}

size_t inventory_flush(struct inventory *inv, inv_emit_fn emit, void *ctx)
{
	stop_worker(inv);
	return poll_records(inv, emit, ctx, true);
}

/* ---- life cycle ------------------------------------------------------ */

static int fail(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "inventory: %s", msg);
	return -1;
}

struct inventory *inventory_new(const struct inv_options *o, char *err, size_t errlen)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	pthread_condattr_t ca;
	sigset_t all, old;
	uint32_t n;
	int rc;

	if (!inv) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	if (o)
		inv->opt = *o;
	else
		inv_options_default(&inv->opt);
	if (!inv->opt.queue_len)
		inv->opt.queue_len = 256;
	if (inv->opt.queue_len > INV_MAX_QUEUE)
		inv->opt.queue_len = INV_MAX_QUEUE;
	if (!inv->opt.cache_entries)
		inv->opt.cache_entries = 4096;
	if (inv->opt.cache_entries > INV_MAX_CACHE)
		inv->opt.cache_entries = INV_MAX_CACHE;
	if (inv->opt.cache_entries <= inv->opt.queue_len)
		inv->opt.cache_entries = inv->opt.queue_len + 1;
	if (!inv->opt.max_waiting)
		inv->opt.max_waiting = 1024;
	if (inv->opt.nice < 0)
		inv->opt.nice = 0;
	if (inv->opt.nice > 19)
		inv->opt.nice = 19;
	if (!inv->opt.burst) {
		uint64_t b = (uint64_t)inv->opt.records_per_sec * INV_BURST_SECONDS;

		inv->opt.burst = b > 1000000000u ? 1000000000u : b ? (unsigned)b : 1;
	}
	if (!inv->opt.stop_wait_ms)
		inv->opt.stop_wait_ms = INV_STOP_WAIT_MS;
	if (!inv->opt.max_windows)
		inv->opt.max_windows = INV_MAX_WINDOWS;
	if (inv->opt.max_windows > INV_MAX_CACHE)
		inv->opt.max_windows = INV_MAX_CACHE;
	if (inv->opt.host)
		snprintf(inv->host, sizeof(inv->host), "%s", inv->opt.host);
	else
		node_host_name(inv->host, sizeof(inv->host));
	inv->opt.host = inv->host;

	for (inv->nbuckets = 16; inv->nbuckets < 2 * inv->opt.cache_entries; inv->nbuckets *= 2)
		;
	n = inv->opt.cache_entries;
	inv->ents = calloc(n, sizeof(*inv->ents));
	inv->buckets = malloc(inv->nbuckets * sizeof(*inv->buckets));
	inv->hashq.j = calloc(inv->opt.queue_len, sizeof(*inv->hashq.j));
	inv->scanq.j = calloc(inv->opt.queue_len, sizeof(*inv->scanq.j));
	inv->done = calloc(2 * (size_t)inv->opt.queue_len, sizeof(*inv->done));
	inv->taken = calloc(2 * (size_t)inv->opt.queue_len, sizeof(*inv->taken));
	inv->buf = malloc(INV_CHUNK);
	inv->md = EVP_MD_CTX_new();
	if (inv->opt.window_ms) {
		for (inv->nwbuckets = 16; inv->nwbuckets < 2 * inv->opt.max_windows;
		     inv->nwbuckets *= 2)
			;
		inv->wins = calloc(inv->opt.max_windows, sizeof(*inv->wins));
		inv->wbuckets = malloc(inv->nwbuckets * sizeof(*inv->wbuckets));
	}
	if (!inv->ents || !inv->buckets || !inv->hashq.j || !inv->scanq.j || !inv->done ||
	    !inv->taken || !inv->buf || !inv->md ||
	    (inv->opt.window_ms && (!inv->wins || !inv->wbuckets))) {
		fail(err, errlen, "out of memory");
		goto undo_alloc;
	}
	for (uint32_t b = 0; inv->wbuckets && b < inv->nwbuckets; b++)
		inv->wbuckets[b] = -1;
	inv->win_free = inv->win_head = inv->win_tail = -1;
	inv->tokens = inv->opt.burst;
	inv->bucket_ns = clock_now(CLOCK_MONOTONIC);
	for (uint32_t b = 0; b < inv->nbuckets; b++)
		inv->buckets[b] = -1;
	for (uint32_t i = 0; i < n; i++)
		inv->ents[i].hnext = i + 1 < n ? (int32_t)(i + 1) : -1;
	inv->free_head = 0;
	inv->lru_head = inv->lru_tail = -1;
	atomic_init(&inv->stop, false);

	pthread_mutex_init(&inv->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* throttle deadlines */
	pthread_cond_init(&inv->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals are for the main loop (its poll must see EINTR), so the
	 * worker starts with every signal blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&inv->thread, NULL, worker_main, inv);
	if (!rc && !inv->opt.no_scan) {
		rc = pthread_create(&inv->sthread, NULL, scanner_main, inv);
		if (rc) {
			atomic_store(&inv->stop, true);
			pthread_cond_broadcast(&inv->cv);
			pthread_join(inv->thread, NULL);
		}
		inv->srunning = !rc;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		char msg[128];

		snprintf(msg, sizeof(msg), "cannot start the hashing or scanning thread: %s",
			 strerror(rc));
		fail(err, errlen, msg);
		pthread_cond_destroy(&inv->cv);
		pthread_mutex_destroy(&inv->mu);
		goto undo_alloc;
	}
	inv->running = true;
	return inv;

undo_alloc:
	free(inv->wbuckets);
	free(inv->wins);
	EVP_MD_CTX_free(inv->md);
	free(inv->buf);
	free(inv->taken);
	free(inv->done);
	free(inv->scanq.j);
	free(inv->hashq.j);
	free(inv->buckets);
	free(inv->ents);
	free(inv);
	return NULL;
}

void inventory_free(struct inventory *inv)
{
	if (!inv)
		return;
	inventory_flush(inv, NULL, NULL);
	free_rec(inv->held_last);
	free(inv->wbuckets);
	free(inv->wins);
	free(inv->taken);
	free(inv->buckets);
	free(inv->ents);
	/* a thread left stuck in a read still uses the rest: at exit,
	 * leaking it is the price of not hanging */
	if (inv->abandoned)
		return;
	pthread_cond_destroy(&inv->cv);
	pthread_mutex_destroy(&inv->mu);
	EVP_MD_CTX_free(inv->md);
	free(inv->buf);
	free(inv->done);
	free(inv->scanq.j);
	free(inv->hashq.j);
	free(inv);
}

void inventory_report(const struct inventory *inv, FILE *f)
{
	const struct inv_stats *s = &inv->st;

	fprintf(f,
		"mlwatch: inventory loads=%llu records=%llu notices=%llu folded=%llu hashed=%llu "
		"(%llu MiB) cache_hits=%llu evictions=%llu queue_full=%llu waiting_full=%llu "
		"read_errors=%llu changed=%llu not_regular=%llu blocklist_hits=%llu "
		"digest_mismatches=%llu unhashed_at_exit=%llu scanned=%llu scan_malicious=%llu "
		"scan_suspicious=%llu scan_cut_time=%llu scan_cut_inflate=%llu\n",
		(unsigned long long)s->loads, (unsigned long long)s->records,
		(unsigned long long)s->notices, (unsigned long long)s->folded,
		(unsigned long long)s->hashed, (unsigned long long)(s->bytes_hashed >> 20),
		(unsigned long long)s->cache_hits, (unsigned long long)s->cache_evictions,
		(unsigned long long)s->queue_full, (unsigned long long)s->waiting_full,
		(unsigned long long)s->read_errors, (unsigned long long)s->changed,
		(unsigned long long)s->not_regular, (unsigned long long)s->blocklist_hits,
		(unsigned long long)s->digest_mismatches, (unsigned long long)s->unhashed_at_exit,
		(unsigned long long)s->scanned, (unsigned long long)s->scan_malicious,
		(unsigned long long)s->scan_suspicious, (unsigned long long)s->scan_cut_time,
		(unsigned long long)s->scan_cut_inflate);
	fprintf(f,
		"mlwatch: inventory volume repeats=%llu repeat_records=%llu windows_full=%llu "
		"held_back=%llu held_back_loads=%llu held_back_summaries=%llu too_large=%llu "
		"threads_abandoned=%llu\n",
		(unsigned long long)s->repeats, (unsigned long long)s->repeat_records,
		(unsigned long long)s->windows_full, (unsigned long long)s->held_back,
		(unsigned long long)s->held_back_loads, (unsigned long long)s->held_back_summaries,
		(unsigned long long)s->too_large, (unsigned long long)s->threads_abandoned);
}
