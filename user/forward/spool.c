/* Segment files <seq>.seg of records framed as
 *   "MW" kind version(1) len(u32 LE) crc32(u32 LE, of the data) data
 * and a file "cursor" ("seq off idx"), replaced by rename after each
 * acknowledged batch. Delivery is at least once: a crash between a send and
 * the cursor's rename sends those records again, with their ids. The cursor
 * is not fsync'ed: a process crash keeps the page cache, a power cut may
 * replay a little more. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"

#define HDR 12
#define REC_MAX (16u << 20) /* a record larger than this is damage, not data */
#define MAX_SEGS 4096

struct seg {
	uint64_t seq, bytes, records;
};

struct spool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int dirfd;
	char dir[4096];
	uint64_t max_bytes, seg_max;
	struct seg *segs; /* oldest first; the last is the one written */
	size_t nsegs;
	int wfd; /* the last segment, for appends */
	struct spool_pos cur;
	int rfd; /* the reader's segment */
	uint64_t rfd_seq;
	uint64_t total_bytes;
	uint64_t dropped, damaged, recovered;
	bool woken;
	/* the stats as of the last change, read without the lock: the
	 * collector's health check must never wait on the spool's disk */
	uint64_t pub_records, pub_bytes, pub_dropped, pub_damaged, pub_recovered;
};

static void drop_passed(struct spool *s);
static void publish(struct spool *s);
static struct seg *find_seg(struct spool *s, uint64_t seq);

static void seg_name(char *buf, size_t n, uint64_t seq)
{
	snprintf(buf, n, "%016" PRIx64 ".seg", seq);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int mkdirs(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path) || dir[0] != '/') {
		snprintf(err, errlen, "spool folder \"%s\" is not an absolute path", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create spool folder %s: %s", path,
				 strerror(errno));
			return -1;
		}
		path[i] = i == n ? '\0' : '/';
	}
	return 0;
}

/* Root writes here what it later sends: a folder someone else owns or can
 * write, or a link planted in its place, would let them feed the SIEM. */
static int open_dir(struct spool *s, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdirs(dir, err, errlen))
		return -1;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errlen, "cannot open spool folder %s: %s", dir,
			 errno == ELOOP || errno == ENOTDIR ? "not a folder (a link?)" :
							      strerror(errno));
		return -1;
	}
	if (fstat(s->dirfd, &st) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, errlen,
			 "spool folder %s must be owned by uid %u and reachable by nobody else "
			 "(it is uid %u, mode %04o)",
			 dir, (unsigned)geteuid(), (unsigned)st.st_uid,
			 (unsigned)st.st_mode & 07777);
		return -1;
	}
	/* two mlwatch on one spool would delete each other's segments */
	if (flock(s->dirfd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "spool folder %s is in use by another mlwatch", dir);
		return -1;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Counts a segment's whole records; a torn or damaged tail is cut off. */
static void scan_seg(struct spool *s, struct seg *g)
{
	char name[64];
	unsigned char h[HDR];
	uint64_t off = 0, n = 0;
	char *buf = NULL;
	int fd;
	struct stat st;

	seg_name(name, sizeof(name), g->seq);
	fd = openat(s->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		g->bytes = g->records = 0;
		return;
	}
	for (;;) {
		uint32_t len;

		if (pread(fd, h, HDR, (off_t)off) != HDR)
			break;
		len = get32(h + 4);
		if (h[0] != 'M' || h[1] != 'W' || h[3] != 1 || len > REC_MAX)
			break;
		free(buf);
		buf = malloc(len ? len : 1);
		if (!buf || pread(fd, buf, len, (off_t)(off + HDR)) != (ssize_t)len ||
		    crc32(0, (const Bytef *)buf, len) != get32(h + 8))
			break;
		off += HDR + len;
		n++;
	}
	free(buf);
	if (off < (uint64_t)st.st_size) {
		s->damaged++;
		if (ftruncate(fd, (off_t)off))
			s->damaged++;
	}
	close(fd);
	g->bytes = off;
	g->records = n;
}

static void read_cursor(struct spool *s)
{
	char buf[128];
	int fd = openat(s->dirfd, "cursor", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	uint64_t seq, off, idx;

	memset(&s->cur, 0, sizeof(s->cur));
	if (s->nsegs)
		s->cur.seq = s->segs[0].seq;
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%" SCNu64 " %" SCNu64 " %" SCNu64, &seq, &off, &idx) != 3)
		return;
	for (size_t i = 0; i < s->nsegs; i++) {
		if (s->segs[i].seq != seq)
			continue;
		/* a cursor past what survived: replay the segment (ids dedupe) */
		if (off <= s->segs[i].bytes && idx <= s->segs[i].records)
			s->cur = (struct spool_pos){ seq, off, idx };
		return;
	}
	/* its segment is gone: everything left is after it */
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].seq > seq) {
			s->cur = (struct spool_pos){ s->segs[i].seq, 0, 0 };
			return;
		}
}

static int write_cursor(struct spool *s)
{
	char buf[128];
	int fd, n;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s->cur.seq,
		     s->cur.off, s->cur.idx);
	fd = openat(s->dirfd, "cursor.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return renameat(s->dirfd, "cursor.tmp", s->dirfd, "cursor") ? -errno : 0;
}

/* Starts a new segment for appends (also at open: never append to a file
 * whose tail a crash may have torn). Called with mu held or before threads. */
static int new_seg(struct spool *s)
{
	char name[64];
	uint64_t seq = s->nsegs ? s->segs[s->nsegs - 1].seq + 1 : 1;
	struct seg *g;
	int fd;

	if (s->nsegs >= MAX_SEGS)
		return -ENOSPC;
	seg_name(name, sizeof(name), seq);
	fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	g = realloc(s->segs, (s->nsegs + 1) * sizeof(*g));
	if (!g) {
		close(fd);
		unlinkat(s->dirfd, name, 0);
		return -ENOMEM;
	}
	s->segs = g;
	s->segs[s->nsegs++] = (struct seg){ .seq = seq };
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = fd;
	return 0;
}

static int load(struct spool *s, char *err, size_t errlen)
{
	DIR *d = fdopendir(dup(s->dirfd));
	struct dirent *e;
	int rc;

	if (!d) {
		snprintf(err, errlen, "cannot list spool folder %s: %s", s->dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		uint64_t seq;
		char tail[8];
		struct seg *g;

		if (sscanf(e->d_name, "%16" SCNx64 ".se%1s", &seq, tail) != 2 ||
		    strlen(e->d_name) != 20)
			continue;
		if (s->nsegs >= MAX_SEGS) {
			s->damaged++; /* a segment past the bound: counted, not read */
			continue;
		}
		g = realloc(s->segs, (s->nsegs + 1) * sizeof(*g));
		if (!g)
			break;
		s->segs = g;
		s->segs[s->nsegs++] = (struct seg){ .seq = seq };
	}
	closedir(d);
	qsort(s->segs, s->nsegs, sizeof(*s->segs), cmp_seg);
	for (size_t i = 0; i < s->nsegs; i++) {
		scan_seg(s, &s->segs[i]);
		s->total_bytes += s->segs[i].bytes;
	}
	read_cursor(s);
	/* empty segments (a run that wrote nothing) would pile up over restarts */
	for (size_t i = 0; i < s->nsegs;) {
		char name[64];

		if (s->segs[i].records || s->segs[i].bytes) {
			i++;
			continue;
		}
		seg_name(name, sizeof(name), s->segs[i].seq);
		unlinkat(s->dirfd, name, 0);
		if (s->cur.seq == s->segs[i].seq)
			s->cur = (struct spool_pos){ i + 1 < s->nsegs ? s->segs[i + 1].seq : 0, 0,
						     0 };
		memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof(*s->segs));
		s->nsegs--;
	}
	if (s->nsegs && !find_seg(s, s->cur.seq)) {
		/* its segment went: everything left is after it */
		size_t i = 0;

		while (i < s->nsegs && s->segs[i].seq < s->cur.seq)
			i++;
		s->cur = (struct spool_pos){ i < s->nsegs ? s->segs[i].seq : s->segs[0].seq, 0, 0 };
	}
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].seq >= s->cur.seq)
			s->recovered += s->segs[i].records -
					(s->segs[i].seq == s->cur.seq ? s->cur.idx : 0);
	rc = new_seg(s);
	if (rc) {
		snprintf(err, errlen, "cannot create a segment in spool folder %s: %s", s->dir,
			 strerror(-rc));
		return -1;
	}
	/* nothing waiting: start at the new segment and clear out the old */
	if (!s->recovered)
		s->cur = (struct spool_pos){ s->segs[s->nsegs - 1].seq, 0, 0 };
	drop_passed(s);
	write_cursor(s);
	publish(s);
	return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct spool *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wfd = s->rfd = s->dirfd = -1;
	s->max_bytes = max_bytes;
	/* eight or more segments per spool, so dropping one frees an eighth */
	s->seg_max = max_bytes / 8;
	if (s->seg_max < (64u << 10))
		s->seg_max = 64u << 10;
	/* at most 16 MiB, unless that would take more segments than MAX_SEGS */
	if (s->seg_max > (16u << 20) && s->seg_max > max_bytes / (MAX_SEGS / 2))
		s->seg_max = max_bytes / (MAX_SEGS / 2) > (16u << 20) ? max_bytes / (MAX_SEGS / 2) :
									16u << 20;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (open_dir(s, dir, err, errlen) || load(s, err, errlen)) {
		spool_close(s);
		return NULL;
	}
	return s;
}

static struct seg *find_seg(struct spool *s, uint64_t seq)
{
	for (size_t i = 0; i < s->nsegs; i++)
		if (s->segs[i].seq == seq)
			return &s->segs[i];
	return NULL;
}

/* Removes segments the cursor has passed (mu held). */
static void drop_passed(struct spool *s)
{
	char name[64];

	while (s->nsegs > 1 && s->segs[0].seq < s->cur.seq) {
		seg_name(name, sizeof(name), s->segs[0].seq);
		unlinkat(s->dirfd, name, 0);
		s->total_bytes -= s->segs[0].bytes;
		memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(*s->segs));
		s->nsegs--;
	}
}

/* Full: the oldest segment goes, unsent records and all (mu held). */
static void drop_oldest(struct spool *s)
{
	struct seg *g = &s->segs[0];
	uint64_t lost = g->records;

	if (s->cur.seq == g->seq)
		lost -= s->cur.idx;
	else if (s->cur.seq > g->seq)
		lost = 0;
	s->dropped += lost;
	if (s->cur.seq <= g->seq)
		s->cur = (struct spool_pos){ s->segs[1].seq, 0, 0 };
	drop_passed(s);
	write_cursor(s);
}

int spool_append(struct spool *s, unsigned kind, const char *data, size_t len)
{
	unsigned char h[HDR];
	ssize_t w;
	int rc = 0;

	if (len > REC_MAX || HDR + len > s->max_bytes)
		return -EMSGSIZE;
	pthread_mutex_lock(&s->mu);
	if (s->segs[s->nsegs - 1].bytes + HDR + len > s->seg_max && s->segs[s->nsegs - 1].bytes)
		rc = new_seg(s);
	while (!rc && s->total_bytes + HDR + len > s->max_bytes) {
		uint64_t before = s->total_bytes;

		if (s->nsegs < 2)
			rc = new_seg(s);
		if (!rc)
			drop_oldest(s);
		if (!rc && s->total_bytes >= before)
			rc = -ENOSPC; /* nothing left to drop: never spin */
	}
	if (s->dropped != s->pub_dropped)
		publish(s);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	h[0] = 'M';
	h[1] = 'W';
	h[2] = (unsigned char)kind;
	h[3] = 1;
	put32(h + 4, (uint32_t)len);
	put32(h + 8, (uint32_t)crc32(0, (const Bytef *)data, (uInt)len));
	{
		char *rec = malloc(HDR + len);

		if (!rec)
			return -ENOMEM;
		memcpy(rec, h, HDR);
		memcpy(rec + HDR, data, len);
		/* one write: a crash leaves a whole record or a torn tail */
		w = write(s->wfd, rec, HDR + len);
		free(rec);
	}
	if (w != (ssize_t)(HDR + len)) {
		int e = w < 0 ? errno : ENOSPC; /* a short write: the disk is full */

		/* cut what was written, so the segment stays readable */
		if (w > 0 && ftruncate(s->wfd, (off_t)s->segs[s->nsegs - 1].bytes))
			e = EIO;
		return -e;
	}
	pthread_mutex_lock(&s->mu);
	s->segs[s->nsegs - 1].bytes += HDR + len;
	s->segs[s->nsegs - 1].records++;
	s->total_bytes += HDR + len;
	publish(s);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static uint64_t pending_locked(struct spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->nsegs; i++) {
		if (s->segs[i].seq > s->cur.seq)
			n += s->segs[i].records;
		else if (s->segs[i].seq == s->cur.seq)
			n += s->segs[i].records - s->cur.idx;
	}
	return n;
}

/* false (data freed): out of memory; the record stays for the next read */
static bool add_rec(struct spool_batch *b, unsigned kind, char *data, size_t len,
		    struct spool_pos next)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct spool_rec *v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			free(data);
			return false;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct spool_rec){ kind, data, len, next };
	return true;
}

size_t spool_read(struct spool *s, struct spool_batch *b, size_t max, size_t max_bytes,
		  unsigned wait_ms)
{
	struct spool_pos p;
	size_t taken = 0;
	struct timespec ts;

	spool_batch_clear(b);
	pthread_mutex_lock(&s->mu);
	if (!pending_locked(s) && wait_ms && !s->woken) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!pending_locked(s) && !s->woken)
			if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
				break;
	}
	p = s->cur;
	while (b->n < max && (b->n == 0 || taken < max_bytes)) {
		struct seg *g = find_seg(s, p.seq);
		unsigned char h[HDR];
		uint32_t len;
		char *data;

		if (!g)
			break;
		if (p.off >= g->bytes) {
			/* the segment is done: the next, if there is one */
			if (g == &s->segs[s->nsegs - 1])
				break;
			p = (struct spool_pos){ g[1].seq, 0, 0 };
			continue;
		}
		if (s->rfd < 0 || s->rfd_seq != p.seq) {
			char name[64];

			if (s->rfd >= 0)
				close(s->rfd);
			seg_name(name, sizeof(name), p.seq);
			s->rfd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			s->rfd_seq = p.seq;
			if (s->rfd < 0)
				break;
		}
		if (pread(s->rfd, h, HDR, (off_t)p.off) != HDR)
			break; /* an I/O error: try again on the next read */
		len = get32(h + 4);
		if (h[0] == 'M' && h[1] == 'W' && h[3] == 1 && len <= REC_MAX &&
		    p.off + HDR + len <= g->bytes) {
			struct spool_pos next = { p.seq, p.off + HDR + len, p.idx + 1 };
			ssize_t got;

			data = malloc(len + 1);
			if (!data)
				break; /* out of memory: not damage, try again later */
			got = pread(s->rfd, data, len, (off_t)(p.off + HDR));
			if (got != (ssize_t)len) {
				free(data);
				break;
			}
			if (crc32(0, (const Bytef *)data, len) == get32(h + 8)) {
				data[len] = '\0';
				if (!add_rec(b, h[2], data, len, next))
					break;
				p = next;
				taken += len;
				continue;
			}
			free(data);
		}
		/* damaged on disk after it was written: what is left of the
		 * segment cannot be framed. Deliver what came before; then skip
		 * to the segment's end (new records are appended there). */
		if (b->n)
			break;
		s->damaged += g->records - p.idx;
		p = (struct spool_pos){ g->seq, g->bytes, g->records };
		s->cur = p;
		write_cursor(s);
		publish(s);
	}
	pthread_mutex_unlock(&s->mu);
	return b->n;
}

void spool_commit(struct spool *s, const struct spool_batch *b, size_t n)
{
	struct spool_pos p;

	if (!n || n > b->n)
		return;
	p = b->v[n - 1].next;
	pthread_mutex_lock(&s->mu);
	/* a full spool may have dropped the batch's segment meanwhile */
	if (p.seq > s->cur.seq || (p.seq == s->cur.seq && p.off > s->cur.off)) {
		s->cur = p;
		/* past a finished segment: point at the next one */
		if (find_seg(s, p.seq) && p.off >= find_seg(s, p.seq)->bytes &&
		    p.seq != s->segs[s->nsegs - 1].seq) {
			struct seg *g = find_seg(s, p.seq);

			s->cur = (struct spool_pos){ g[1].seq, 0, 0 };
		}
		drop_passed(s);
		write_cursor(s);
		publish(s);
	}
	pthread_mutex_unlock(&s->mu);
}

void spool_batch_clear(struct spool_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].data);
	b->n = 0;
}

void spool_batch_free(struct spool_batch *b)
{
	spool_batch_clear(b);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* mu held: the stats for readers that take no lock */
static void publish(struct spool *s)
{
	__atomic_store_n(&s->pub_records, pending_locked(s), __ATOMIC_RELAXED);
	__atomic_store_n(&s->pub_bytes, s->total_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pub_dropped, s->dropped, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pub_damaged, s->damaged, __ATOMIC_RELAXED);
	__atomic_store_n(&s->pub_recovered, s->recovered, __ATOMIC_RELAXED);
}

void spool_get_stats(struct spool *s, struct spool_stats *st)
{
	st->records = __atomic_load_n(&s->pub_records, __ATOMIC_RELAXED);
	st->bytes = __atomic_load_n(&s->pub_bytes, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&s->pub_dropped, __ATOMIC_RELAXED);
	st->damaged = __atomic_load_n(&s->pub_damaged, __ATOMIC_RELAXED);
	st->recovered = __atomic_load_n(&s->pub_recovered, __ATOMIC_RELAXED);
}

uint64_t spool_pending(struct spool *s)
{
	return __atomic_load_n(&s->pub_records, __ATOMIC_RELAXED);
}

void spool_wake(struct spool *s)
{
	pthread_mutex_lock(&s->mu);
	s->woken = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->segs);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
