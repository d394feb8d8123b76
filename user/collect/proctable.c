/* Process table: chained hash on pid, a list per eviction class, lineages
 * with live counts; bounded in entries and string bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proctable.h"

/* A lineage: its members, and how many are live (an incident closes at 0). */
struct proc_lineage {
	uint32_t loader;
	uint64_t mark_ns;
	size_t members, live;
	struct proc *first;
	struct proc_lineage *hnext;
};

/* exe and args are shared between a parent and the children it forked:
 * the string sits behind a reference count. */
struct pt_str {
	uint32_t refs;
	uint32_t size; /* bytes allocated, header included */
	char s[];
};

static size_t pow2_at_least(size_t n)
{
	size_t p = 1024;

	while (p < n)
		p <<= 1;
	return p;
}

int proctable_init(struct proctable *pt, size_t max_procs)
{
	memset(pt, 0, sizeof(*pt));
	if (!max_procs)
		max_procs = PROCTABLE_DEF_MAX;
	if (max_procs < PROCTABLE_MIN_MAX)
		max_procs = PROCTABLE_MIN_MAX;
	if (max_procs > PROCTABLE_MAX_MAX)
		max_procs = PROCTABLE_MAX_MAX;
	pt->max = max_procs;
	pt->str_budget = max_procs * PROCTABLE_STR_PER_PROC;
	/* one bucket per entry at the limit: chains stay short */
	pt->nbuckets = pow2_at_least(max_procs);
	pt->buckets = calloc(pt->nbuckets, sizeof(*pt->buckets));
	pt->lbuckets = calloc(pt->nbuckets, sizeof(*pt->lbuckets));
	/* untouched pages cost nothing: the pool grows in memory as used */
	pt->lpool = calloc(pt->max, sizeof(*pt->lpool));
	if (!pt->buckets || !pt->lbuckets || !pt->lpool) {
		free(pt->buckets);
		free(pt->lbuckets);
		free(pt->lpool);
		memset(pt, 0, sizeof(*pt));
		return -ENOMEM;
	}
	pt->st.peak_bytes = proctable_bytes(pt);
	return 0;
}

size_t proctable_bytes(const struct proctable *pt)
{
	return pt->nbuckets * (sizeof(*pt->buckets) + sizeof(*pt->lbuckets)) +
	       pt->count * sizeof(struct proc) + pt->lineages * sizeof(struct proc_lineage) +
	       pt->str_bytes;
}

size_t proctable_max_bytes(const struct proctable *pt)
{
	return pt->nbuckets * (sizeof(*pt->buckets) + sizeof(*pt->lbuckets)) +
	       pt->max * (sizeof(struct proc) + sizeof(struct proc_lineage)) + pt->str_budget;
}

static void note_peak(struct proctable *pt)
{
	size_t b = proctable_bytes(pt);

	if (pt->count > pt->st.peak)
		pt->st.peak = pt->count;
	if (b > pt->st.peak_bytes)
		pt->st.peak_bytes = b;
}

/* ---- strings: accounted against the budget, shared on fork */

static struct pt_str *str_of(const char *s)
{
	return (struct pt_str *)(void *)(s - offsetof(struct pt_str, s));
}

static void str_put(struct proctable *pt, char *s)
{
	struct pt_str *h;

	if (!s)
		return;
	h = str_of(s);
	if (--h->refs)
		return;
	pt->str_bytes -= h->size;
	free(h);
}

static char *str_get(const char *s)
{
	if (s)
		str_of(s)->refs++;
	return (char *)s;
}

enum clip_end { KEEP_START, KEEP_END };

/* A copy of s[0..*len) plus a NUL, clipped (*len shrinks) or refused once
 * the budget is spent. */
static char *str_new(struct proctable *pt, const char *s, size_t *len_io, enum clip_end keep,
		     bool *clipped)
{
	size_t len = *len_io;
	size_t want = sizeof(struct pt_str) + len + 1;
	struct pt_str *h;

	*clipped = false;
	if (pt->str_bytes + want > pt->str_budget && len >= PROCTABLE_CLIP) {
		if (keep == KEEP_END)
			s += len - (PROCTABLE_CLIP - 1);
		len = PROCTABLE_CLIP - 1;
		want = sizeof(struct pt_str) + len + 1;
		*clipped = true;
	}
	if (pt->str_bytes + want > pt->str_budget) {
		pt->st.strings_dropped++;
		*clipped = true;
		return NULL;
	}
	h = malloc(want);
	if (!h) {
		pt->st.alloc_failed++;
		return NULL;
	}
	if (*clipped)
		pt->st.strings_clipped++;
	h->refs = 1;
	h->size = (uint32_t)want;
	memcpy(h->s, s, len);
	h->s[len] = 0;
	*len_io = len;
	pt->str_bytes += want;
	note_peak(pt);
	return h->s;
}

static char *str_path(struct proctable *pt, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	bool clipped;

	return s ? str_new(pt, s, &len, KEEP_END, &clipped) : NULL;
}

static void free_strings(struct proctable *pt, struct proc *p)
{
	str_put(pt, p->exe);
	str_put(pt, p->args);
	str_put(pt, p->model.path);
	str_put(pt, p->model.resolved_path);
	p->exe = p->args = p->model.path = p->model.resolved_path = NULL;
}

/* ---- class lists */

static enum proc_class class_of(const struct proc *p)
{
	return p->exited ? PROC_EXITED : p->loader ? PROC_MARKED : PROC_UNMARKED;
}

static void list_del(struct proctable *pt, struct proc *p)
{
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		pt->cls[p->cls].head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		pt->cls[p->cls].tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
	pt->cls[p->cls].n--;
}

static void list_add_tail(struct proctable *pt, struct proc *p)
{
	p->cls = class_of(p);
	p->lru_next = NULL;
	p->lru_prev = pt->cls[p->cls].tail;
	if (p->lru_prev)
		p->lru_prev->lru_next = p;
	else
		pt->cls[p->cls].head = p;
	pt->cls[p->cls].tail = p;
	pt->cls[p->cls].n++;
}

/* ---- lineages */

static size_t lbucket(const struct proctable *pt, uint32_t loader, uint64_t mark_ns)
{
	uint64_t x = mark_ns ^ ((uint64_t)loader * 0x9e3779b97f4a7c15ull);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (size_t)x & (pt->nbuckets - 1);
}

static struct proc_lineage *lineage_find(struct proctable *pt, uint32_t loader, uint64_t mark_ns)
{
	struct proc_lineage *l = pt->lbuckets[lbucket(pt, loader, mark_ns)];

	for (; l; l = l->hnext) {
		pt->st.steps++;
		if (l->loader == loader && l->mark_ns == mark_ns)
			return l;
	}
	return NULL;
}

static void lineage_join(struct proctable *pt, struct proc *p)
{
	struct proc_lineage *l;

	if (!p->loader)
		return;
	l = lineage_find(pt, p->loader, p->mark_ns);
	if (!l) {
		size_t b = lbucket(pt, p->loader, p->mark_ns);

		/* at most one lineage per entry, and entries <= max: the
		 * pool cannot run out */
		if (pt->lfree) {
			l = pt->lfree;
			pt->lfree = l->hnext;
		} else {
			l = &pt->lpool[pt->lused++];
		}
		memset(l, 0, sizeof(*l));
		l->loader = p->loader;
		l->mark_ns = p->mark_ns;
		l->hnext = pt->lbuckets[b];
		pt->lbuckets[b] = l;
		pt->lineages++;
	}
	p->lin = l;
	p->lin_prev = NULL;
	p->lin_next = l->first;
	if (l->first)
		l->first->lin_prev = p;
	l->first = p;
	l->members++;
	if (!p->exited)
		l->live++;
}

static void lineage_leave(struct proctable *pt, struct proc *p)
{
	struct proc_lineage *l = p->lin, **lp;

	if (!l)
		return;
	if (p->lin_prev)
		p->lin_prev->lin_next = p->lin_next;
	else
		l->first = p->lin_next;
	if (p->lin_next)
		p->lin_next->lin_prev = p->lin_prev;
	p->lin = NULL;
	p->lin_prev = p->lin_next = NULL;
	if (!p->exited)
		l->live--;
	if (--l->members)
		return;
	for (lp = &pt->lbuckets[lbucket(pt, l->loader, l->mark_ns)]; *lp != l; lp = &(*lp)->hnext)
		;
	*lp = l->hnext;
	l->hnext = pt->lfree;
	pt->lfree = l;
	pt->lineages--;
}

/* ---- entries */

static size_t bucket(const struct proctable *pt, uint32_t pid)
{
	return (pid * 2654435761u) & (pt->nbuckets - 1);
}

static void drop(struct proctable *pt, struct proc *p)
{
	lineage_leave(pt, p);
	list_del(pt, p);
	*p->pprev = p->next;
	if (p->next)
		p->next->pprev = p->pprev;
	free_strings(pt, p);
	free(p);
	pt->count--;
}

void proctable_free(struct proctable *pt)
{
	for (int c = 0; c < PROC_CLASS_MAX; c++)
		while (pt->cls[c].head)
			drop(pt, pt->cls[c].head);
	free(pt->buckets);
	free(pt->lbuckets);
	free(pt->lpool);
	memset(pt, 0, sizeof(*pt));
}

struct proc *proctable_get(struct proctable *pt, uint32_t pid)
{
	struct proc *p = pt->buckets[bucket(pt, pid)];

	while (p && p->pid != pid)
		p = p->next;
	return p;
}

void proctable_reset(struct proctable *pt, struct proc *p)
{
	lineage_leave(pt, p);
	list_del(pt, p);
	free_strings(pt, p);
	p->parent = 0;
	p->loader = 0;
	p->mark_ns = 0;
	memset(p->comm, 0, sizeof(p->comm));
	p->args_len = 0;
	p->args_truncated = false;
	p->exited = false;
	p->exit_ns = 0;
	p->model_state = MODEL_NONE;
	memset(&p->model, 0, sizeof(p->model));
	p->n_models = 0;
	p->inert_upto = 0;
	p->forked_at = 0;
	p->cgroup_id = 0;
	list_add_tail(pt, p);
}

void proctable_set_lineage(struct proctable *pt, struct proc *p, uint32_t loader, uint64_t mark_ns)
{
	if (p->lin && p->loader == loader && p->mark_ns == mark_ns)
		return;
	lineage_leave(pt, p);
	list_del(pt, p);
	p->loader = loader;
	p->mark_ns = mark_ns;
	lineage_join(pt, p);
	list_add_tail(pt, p);
}

void proctable_set_exited(struct proctable *pt, struct proc *p, uint64_t ts_ns)
{
	if (p->lin && !p->exited)
		p->lin->live--;
	list_del(pt, p);
	p->exited = true;
	p->exit_ns = ts_ns;
	list_add_tail(pt, p);
}

/* Makes room: the first exited, else the least recently seen unmarked
 * live process. Marked live processes are never chosen. */
static bool evict_one(struct proctable *pt)
{
	struct proc *victim = pt->cls[PROC_EXITED].head;

	pt->st.steps++;
	if (victim) {
		pt->st.evicted_exited++;
	} else if ((victim = pt->cls[PROC_UNMARKED].head)) {
		pt->st.evicted_unmarked++;
	} else {
		pt->st.refused++;
		return false;
	}
	drop(pt, victim);
	return true;
}

struct proc *proctable_add(struct proctable *pt, uint32_t pid, bool *created)
{
	struct proc *p = proctable_get(pt, pid);
	size_t b;

	*created = false;
	if (p) {
		if (p->cls != PROC_EXITED) {
			/* seen again: the last an unmarked one to be evicted */
			list_del(pt, p);
			list_add_tail(pt, p);
		}
		return p;
	}
	if (pt->count >= pt->max && !evict_one(pt))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p) {
		pt->st.alloc_failed++;
		return NULL;
	}
	p->pid = pid;
	b = bucket(pt, pid);
	p->next = pt->buckets[b];
	if (p->next)
		p->next->pprev = &p->next;
	p->pprev = &pt->buckets[b];
	pt->buckets[b] = p;
	list_add_tail(pt, p);
	pt->count++;
	note_peak(pt);
	*created = true;
	return p;
}

void proctable_set_exe(struct proctable *pt, struct proc *p, const char *exe)
{
	str_put(pt, p->exe);
	p->exe = str_path(pt, exe);
}

void proctable_set_args(struct proctable *pt, struct proc *p, const char *args, size_t len,
			bool truncated)
{
	bool clipped;

	str_put(pt, p->args);
	p->args = str_new(pt, args, &len, KEEP_START, &clipped);
	p->args_len = p->args ? len : 0;
	p->args_truncated = truncated || clipped;
}

void proctable_inherit(struct proctable *pt, struct proc *child, const struct proc *parent)
{
	str_put(pt, child->exe);
	str_put(pt, child->args);
	child->exe = str_get(parent->exe);
	child->args = str_get(parent->args);
	child->args_len = parent->args_len;
	child->args_truncated = parent->args_truncated;
}

void proctable_set_model(struct proctable *pt, struct proc *p, const char *path,
			 const char *resolved, enum model_format f, uint64_t ts)
{
	p->n_models++;
	if (p->model.path)
		return; /* the first model stays the one the lineage is named by */
	p->model.path = str_path(pt, path);
	p->model.resolved_path = str_path(pt, resolved);
	p->model.format = f;
	p->model.ts_ns = ts;
}

void proctable_expire(struct proctable *pt, uint64_t now_ns)
{
	struct proc *p;

	/* exits arrive in time order, nearly: the oldest are at the head */
	while ((p = pt->cls[PROC_EXITED].head) && now_ns > p->exit_ns &&
	       now_ns - p->exit_ns > PROCTABLE_LINGER_NS) {
		pt->st.steps++;
		drop(pt, p);
	}
}

size_t proctable_lineage_live(struct proctable *pt, uint32_t loader, uint64_t mark_ns)
{
	struct proc_lineage *l = loader ? lineage_find(pt, loader, mark_ns) : NULL;

	return l ? l->live : 0;
}

size_t proctable_ancestry(struct proctable *pt, uint32_t pid, uint32_t stop_at, uint32_t *out,
			  size_t max)
{
	size_t n = 0;

	while (pid && n < max && n < PROCTABLE_MAX_DEPTH) {
		struct proc *p;

		out[n++] = pid;
		if (pid == stop_at)
			break;
		p = proctable_get(pt, pid);
		if (!p || p->parent == pid)
			break;
		pid = p->parent;
	}
	return n;
}

void proctable_for_lineage(struct proctable *pt, uint32_t loader, uint64_t mark_ns,
			   void (*fn)(struct proc *p, void *ctx), void *ctx)
{
	struct proc_lineage *l = loader ? lineage_find(pt, loader, mark_ns) : NULL;

	for (struct proc *p = l ? l->first : NULL, *n; p; p = n) {
		n = p->lin_next;
		pt->st.steps++;
		fn(p, ctx);
	}
}
