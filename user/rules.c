/* Built-in rules (THREATS.md §4) and their evaluation. */
#include <errno.h>

#include "pathclass.h"
#include "rules.h"

#define DEST(c) (1u << (c))

const struct rule builtin_rules[] = {
	{
		.id = "model-loader-shell",
		.title = "Shell started by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.004" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_SHELL,
	},
	{
		.id = "model-loader-downloader",
		.title = "Downloader run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1105" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_DOWNLOADER,
	},
	{
		.id = "model-loader-inline-interpreter",
		.title = "Interpreter with inline code run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.006" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_INLINE_INTERP | EXEC_BASE64_DECODE,
	},
	{
		.id = "model-loader-network-tool",
		.title = "Netcat-like tool run by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0072", "T1059.004" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_NETTOOL,
	},
	{
		.id = "model-loader-miner",
		.title = "Cryptominer run by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0048.000", "AML.T0011.000", "T1496" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_MINER,
	},
	{
		.id = "model-loader-exec-from-temp",
		.title = "Program under /tmp, /var/tmp or /dev/shm run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0018.002", "T1105" },
		.kind = MLW_EV_EXEC,
		.exec_any = EXEC_FROM_TEMP,
	},
	{
		.id = "model-loader-external-connect",
		.title = "Outbound connection to an external address by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0025", "T1041" },
		.kind = MLW_EV_CONNECT,
		.dest_any = DEST(DEST_EXTERNAL),
		.failed_too = true, /* the attempt is the signal; the C2 may be down */
	},
	{
		.id = "model-loader-metadata-connect",
		.title = "Cloud metadata service contacted by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0055", "AML.T0011.000", "T1552.005" },
		.kind = MLW_EV_CONNECT,
		.dest_any = DEST(DEST_METADATA),
		.failed_too = true,
	},
	{
		.id = "model-loader-credential-read",
		.title = "Credential file read by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0055", "AML.T0011.000", "T1552.001" },
		.kind = MLW_EV_OPEN,
		.open_match = OPEN_MATCH_CREDENTIAL,
	},
	{
		.id = "model-loader-persistence-write",
		.title = "Persistence location written by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "T1053.003", "T1546.004" },
		.kind = MLW_EV_OPEN,
		.open_match = OPEN_MATCH_PERSISTENCE,
	},
	{
		.id = "model-loader-socket-stdio",
		.title = "Socket duplicated onto stdin/stdout/stderr by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0072", "AML.T0011.000", "T1059" },
		.kind = MLW_EV_DUP,
	},
};

const size_t n_builtin_rules = sizeof(builtin_rules) / sizeof(builtin_rules[0]);

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEV_LOW: return "low";
	case SEV_MEDIUM: return "medium";
	case SEV_HIGH: return "high";
	case SEV_CRITICAL: return "critical";
	}
	return "unknown";
}

static int event_result(const struct event *ev)
{
	switch (ev->kind) {
	case MLW_EV_OPEN: return ev->u.open->ret;
	case MLW_EV_CONNECT:
		/* non-blocking connects report EINPROGRESS: that is a connect */
		return ev->u.connect->ret == -EINPROGRESS ? 0 : ev->u.connect->ret;
	default: return 0;
	}
}

static bool rule_matches(const struct rule *r, const struct event *ev, const struct facts *f)
{
	if (r->kind != ev->kind)
		return false;
	if (!r->failed_too && event_result(ev) < 0)
		return false;
	if (r->exec_any && !(f->exec_classes & r->exec_any))
		return false;
	if (r->exec_none && (f->exec_classes & r->exec_none))
		return false;
	if (r->dest_any && !(DEST(f->dest) & r->dest_any))
		return false;
	switch (r->open_match) {
	case OPEN_MATCH_CREDENTIAL:
		return f->credential != NULL;
	case OPEN_MATCH_PERSISTENCE:
		return f->persistence != NULL;
	default:
		return true;
	}
}

size_t rules_match(const struct rule *rules, size_t n, const struct event *ev,
		   const struct facts *f, const struct rule **out, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < max; i++)
		if (rule_matches(&rules[i], ev, f))
			out[k++] = &rules[i];
	return k;
}
