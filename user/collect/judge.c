/* Judging a model a loader opened (see judge.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileid.h"
#include "judge.h"
#include "lib/budget.h"
#include "lib/bytesrc.h"

void judge_init(struct judge *j)
{
	memset(j, 0, sizeof(*j));
	j->budget_ns = JUDGE_BUDGET_MAX_NS;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct judge_entry *slot(struct judge *j, const struct mlw_file *id)
{
	uint64_t h = id->ino * 0x9e3779b97f4a7c15ull ^ id->dev ^ (uint64_t)id->mnt_id << 32;

	return &j->cache[(h ^ h >> 29) % JUDGE_CACHE];
}

/* Same file in the same state: same mount and inode (the in-memory one
 * too: btrfs subvolumes share device and inode numbers), size and ctime. */
static bool same_state(const struct mlw_file *a, const struct mlw_file *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->mnt_id == b->mnt_id &&
	       a->inode == b->inode && a->size == b->size && a->ctime_ns == b->ctime_ns;
}

static void refill(struct judge *j, uint64_t now_ns)
{
	uint64_t gained;

	if (!j->refilled_ns || now_ns < j->refilled_ns) {
		j->refilled_ns = now_ns;
		return;
	}
	gained = (now_ns - j->refilled_ns) / 1000 * (JUDGE_BUDGET_NS_PER_S / 1000000);
	j->refilled_ns = now_ns;
	j->budget_ns = j->budget_ns + gained > JUDGE_BUDGET_MAX_NS ? JUDGE_BUDGET_MAX_NS :
								     j->budget_ns + gained;
}

/* Reads fd as the bytes o->file described and judges them, under a read
 * lease. Returns true when the verdict is the bytes' own (to keep). */
static bool read_and_judge(struct judge *j, int fd, const struct stat *st, const struct mlw_open *o,
			   const char *path, struct inert_verdict *v)
{
	struct byte_src src;
	struct budget b;
	int err;

	if ((err = fileid_hold(fd)) != 0) {
		if (err == -EAGAIN)
			j->st.writers++;
		snprintf(v->why, sizeof(v->why), "it could not be held against writers (%s)",
			 err == -EAGAIN ? "someone has it open for writing" : strerror(-err));
		return false;
	}
	bsrc_from_fd(&src, fd, (uint64_t)st->st_size);
	/* no reading outlasts the time left to judge: this is the
	 * collector's only thread */
	budget_init(&b, 0, 0);
	b.deadline_ns = budget_now_ns() + j->budget_ns;
	src.budget = &b;
	model_inert_check(&src, path, v);
	j->st.judged++;
	if (b.spent & BUDGET_TIME) {
		/* the clock's verdict, not the bytes': not kept */
		j->st.timed_out++;
		fileid_release(fd);
		return false;
	}
	if (!fileid_release(fd) || !fileid_unchanged(fd, &o->file)) {
		/* written to while read: what was judged is not what was loaded */
		j->st.writers++;
		v->inert = false;
		v->kind = NULL;
		snprintf(v->why, sizeof(v->why), "it was opened for writing while it was read");
		return false;
	}
	return true;
}

void judge_model(struct judge *j, pid_t pid, const struct mlw_open *o, const char *path,
		 uint64_t now_ns, struct inert_verdict *v)
{
	struct judge_entry *e = slot(j, &o->file);
	enum fileid_how how;
	struct stat st;
	const char *fs;
	uint64_t t0;
	int err, fd;

	memset(v, 0, sizeof(*v));
	/* before any syscall on the file: one that a FUSE server answers can
	 * take forever, and this is the collector's only thread */
	if (!fileid_local_fs(&o->file, &fs)) {
		j->st.not_local++;
		snprintf(v->why, sizeof(v->why),
			 "it is on %s, where its bytes can differ for another reader", fs);
		return;
	}
	refill(j, now_ns);
	if (!j->budget_ns) {
		j->st.over_budget++;
		snprintf(v->why, sizeof(v->why),
			 "not judged: too many models opened at once to read them all");
		return;
	}
	t0 = mono_ns();
	fd = fileid_open(pid, o->ret, &o->file, path, &st, &how, &err);
	if (fd < 0) {
		j->st.unreadable++;
		snprintf(v->why, sizeof(v->why),
			 "the loader's file could not be read as opened (%s%s%s)",
			 fileid_how_name(how), err ? ": " : "", err ? strerror(err) : "");
	} else if (e->used && same_state(&e->id, &o->file)) {
		/* a verdict on these very bytes, from an earlier reading */
		j->st.cached++;
		v->inert = e->inert;
		v->format = e->format;
		v->kind = e->kind;
		memcpy(v->why, e->why, sizeof(v->why));
	} else if (read_and_judge(j, fd, &st, o, path, v)) {
		e->used = true;
		e->id = o->file;
		e->inert = v->inert;
		e->format = v->format;
		e->kind = v->kind;
		memcpy(e->why, v->why, sizeof(e->why));
	}
	if (v->inert && how == FILEID_PATH) {
		/* the loader holds it no more: named, not judged */
		v->inert = false;
		snprintf(v->why, sizeof(v->why), "the loader no longer holds it");
	}
	if (fd >= 0)
		close(fd);
	/* every reading counts, the ones that failed too (a maps walk) */
	t0 = mono_ns() - t0;
	j->budget_ns = t0 >= j->budget_ns ? 0 : j->budget_ns - t0;
}
