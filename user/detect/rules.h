/*
 * Rules as data: what a rule matches (struct rule_filter), when it applies
 * (scope, window), what suppresses it (its exceptions and the global
 * allowlist) and what it asks for (action). The built-ins below are
 * compiled in; rulefile.h loads a JSON file that extends or overrides them
 * into a struct ruleset.
 */
#ifndef MLWATCH_RULES_H
#define MLWATCH_RULES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "classify.h"

enum severity { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

/* Longest rule id, without its NUL (ids from a rules file are checked). */
#define RULE_ID_MAX 64

/* Tags per rule: ATLAS first, then ATT&CK. A full array has no NULL end. */
#define RULE_MAX_TAGS 8

/* Which marks a rule looks at (bits of rule.scope). */
#define RULE_SCOPE_MODEL (1u << 0) /* MLW_MARK_MODEL: it or an ancestor loaded a model */
#define RULE_SCOPE_ROOT (1u << 1)  /* MLW_MARK_ROOT: an ML control-plane process or child */
/* A notebook (an interactive root) that loaded a model: the user's own
 * shells and downloads are normal there, so only rules for what no user
 * does by hand carry this scope. */
#define RULE_SCOPE_NOTEBOOK (1u << 2)
/* MLW_MARK_PYTHON: it or an ancestor unpickled a global outside the
 * allowlist, as the interpreter itself said (pickle.find_class). Such a
 * lineage is a model loader too; the in-process rules (kind python) are
 * for it alone: a loader of a .pt file compiles and imports all day. */
#define RULE_SCOPE_PYTHON (1u << 3)
#define RULE_SCOPE_ANY \
	(RULE_SCOPE_MODEL | RULE_SCOPE_ROOT | RULE_SCOPE_NOTEBOOK | RULE_SCOPE_PYTHON)

/*
 * What happens when the rule fires. alert: an alert line and an incident
 * step; kill: that, and the kernel kills the actor where it can decide
 * alone (enforce.h); record: a step of the lineage's incident only, no
 * alert line, and no incident of its own (context that can complete a
 * chain together with an alert, such as egress after a load).
 */
enum rule_action { RULE_ACTION_ALERT, RULE_ACTION_KILL, RULE_ACTION_RECORD };

/* How an open was asked for (rule_filter.open). */
enum rule_open { RULE_OPEN_ANY, RULE_OPEN_READ, RULE_OPEN_WRITE };

/* When a connect or send happened relative to a model load (rule_filter.load):
 * during it (the model still being read, or from a thread or process the
 * load started: MLW_F_IN_LOAD), or after it. */
enum rule_load { RULE_LOAD_ANY, RULE_LOAD_DURING, RULE_LOAD_AFTER };

/* rule_filter.path_class bits: facts->credential / facts->persistence set. */
#define RULE_PATH_CREDENTIAL (1u << 0)
#define RULE_PATH_PERSISTENCE (1u << 1)

/* A glob, reduced at load time to the cheapest test that is equivalent. */
enum pattern_kind {
	PAT_GLOB = 0, /* fnmatch(text) (the default: static data is not compiled) */
	PAT_EXACT,    /* strcmp(text) */
	PAT_PREFIX,   /* "lit*" */
	PAT_SUFFIX,   /* "*lit" */
	PAT_CONTAINS, /* "*lit*", and every argv_contains substring */
};

struct pattern {
	const char *text; /* as written in the rules file */
	enum pattern_kind kind;
	const char *lit; /* the literal part, for every kind but PAT_GLOB */
	size_t lit_len;
};

struct pattern_list {
	const struct pattern *v;
	size_t n; /* 0: no condition */
};

struct port_range {
	uint16_t lo, hi; /* inclusive */
};

/*
 * One condition set: a rule's match, a rule exception, or a global allowlist
 * entry. Every condition that is set must hold; within one list any entry
 * may hit. A condition that does not apply to the event's kind fails, but
 * for exec_none, which only excludes execs.
 */
struct rule_filter {
	unsigned kinds;           /* bits (1u << enum mlw_event_kind); 0: any kind */
	unsigned exec_any;        /* exec: any of these exec_class bits */
	unsigned exec_none;       /* exec: and none of these */
	unsigned dest_any;        /* connect/send/dup: bits (1u << enum dest_class) */
	bool runtime;             /* connect/send: a container runtime or kubelet API */
	enum rule_load load;      /* connect/send: during or after a model load */
	const struct cidr *cidrs; /* connect/dup: the address (peer) is in one */
	size_t n_cidrs;
	const struct port_range *ports; /* connect/dup: the port is in one */
	size_t n_ports;
	enum rule_open open;      /* open: read (not O_WRONLY) or write (facts) */
	unsigned path_class;      /* open: any of RULE_PATH_* */
	struct pattern_list path; /* exec: the program; open: the file; link: the destination */
	struct pattern_list exe;  /* basename: exec: the program; else the actor's exe */
	struct pattern_list argv; /* exec: globs over argv joined with spaces */
	struct pattern_list argv_contains; /* exec: substrings of that string */
	bool dropped;                      /* exec: the program was written by the same
	                           * lineage moments earlier (facts->exec_dropped) */
	struct pattern_list audit;         /* python: the audit event's name */
	struct pattern_list args; /* python: any argument (a list's items joined by spaces) */
};

enum rule_origin { RULE_BUILTIN, RULE_OVERRIDE, RULE_ADDED };

struct rule {
	const char *id;
	const char *title;
	enum severity severity;
	const char *tags[RULE_MAX_TAGS];
	unsigned scope;    /* RULE_SCOPE_* bits; 0 means RULE_SCOPE_MODEL */
	uint32_t window_s; /* seconds after the mark; 0: no limit */
	enum rule_action action;
	bool failed_too; /* also match a failed syscall (ret < 0) */
	struct rule_filter match;
	const struct rule_filter *except; /* any that matches suppresses the rule */
	size_t n_except;
	enum rule_origin origin; /* for `mlwatch rules list` */
};

/*
 * A complete, self-contained rule set (built-ins merged with a file): owns
 * every string and array it points to, so a new one can replace the old
 * one in a single pointer store and the old one be freed. Built by
 * rulefile.h; read-only once built.
 */
struct ruleset {
	const struct rule *rules;
	size_t n_rules;
	const struct rule_filter *allow; /* global allowlist: any hit suppresses all */
	size_t n_allow;
	size_t n_builtin_allow; /* the first entries of allow are built in */
	/* per event kind, the indexes (ascending) of the rules that can match
	 * it: an event only visits its own kind's rules */
	const uint32_t *by_kind[MLW_EV_KIND_MAX];
	size_t n_by_kind[MLW_EV_KIND_MAX];
	void *mem; /* the arena all of the above lives in */
};

extern const struct rule builtin_rules[];
extern const size_t n_builtin_rules;

/* Self-protection: what another process did to mlwatch itself (event kind
 * MLW_EV_SELF, from any process, marked or not). Fixed: a rules file
 * neither changes nor silences them; detect/selfprot.h picks one per
 * event. */
enum selfprot_rule {
	SELFPROT_TAMPERED,  /* bpf() changed, detached or attached mlwatch's programs or maps */
	SELFPROT_TRACED,    /* ptrace, process_vm_*, pidfd_getfd, /proc/PID/mem */
	SELFPROT_SIGNALED,  /* a signal that kills or freezes it */
	SELFPROT_STOP,      /* SIGTERM, SIGINT: it stops in order */
	SELFPROT_RELOAD,    /* SIGHUP: it reloads its rules */
	SELFPROT_INSPECTED, /* its objects opened by id, or mapped read-only */
	SELFPROT_N,
};
extern const struct rule selfprot_rules[SELFPROT_N];
/* pickle.find_class of a global outside the allowlist profiles (the
 * event that marks a process MLW_MARK_PYTHON): one rule id, critical when
 * the deny list names the global. Fixed like the self-protection rules:
 * a global is allowed by a profile (--scan-profiles), which the kernel's
 * patterns are built from too, not by a rules file. */
enum python_rule {
	PYRULE_IMPORT_UNSAFE, /* outside the allowlist */
	PYRULE_IMPORT_DENIED, /* on the deny list */
	PYRULE_N,
};
extern const struct rule python_rules[PYRULE_N];
/* Benign things ML processes run after a load (compilers, nvidia-smi, ...). */
extern const struct rule_filter builtin_allow[];
extern const size_t n_builtin_allow;

/*
 * The rules of rs that fire for (ev, f): up to max into out, in rule
 * order; returns how many. actor_exe: the acting process's executable
 * (absolute path) or NULL when unknown, for `exe` conditions on non-exec
 * events. The caller passes only events of marked processes.
 */
size_t ruleset_match(const struct ruleset *rs, const struct event *ev, const struct facts *f,
		     const char *actor_exe, const struct rule **out, size_t max);
/* The same over a bare array of rules, without a global allowlist. */
size_t rules_match(const struct rule *rules, size_t n, const struct event *ev,
		   const struct facts *f, const struct rule **out, size_t max);
/* Does one filter hold for the event (tests)? As a rule's match: a path or
 * program condition holds for any name the file goes by. */
bool rule_filter_match(const struct rule_filter *m, const struct event *ev, const struct facts *f,
		       const char *actor_exe);

/* Sets p's kind and literal from p->text (globs that are a plain string,
 * a prefix, a suffix or a substring are compared without fnmatch). */
void pattern_compile(struct pattern *p);
bool pattern_match(const struct pattern *p, const char *s, size_t len);

const char *severity_name(enum severity s);
const char *rule_action_name(enum rule_action a);
/* "model", "root", "notebook", "any", or a "+" list ("model+notebook"),
 * into buf (at least 32 bytes). */
const char *rule_scope_name(unsigned scope, char *buf, size_t len);
#endif
