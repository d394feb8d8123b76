/* Built-in rules and allowlist, and their evaluation.
 * Threat model: docs/threat-model.md §3 (one row per rule).
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pathclass.h"
#include "rules.h"
#include "collect/pyevents.h"

#define KIND(k) (1u << (k))
#define DEST(c) (1u << (c))
#define NS_PER_S 1000000000ull

/* A static list of globs; ruleset copies compile them, these use fnmatch. */
#define PATTERNS(...)                                                                            \
	{                                                                                        \
		(const struct pattern[]){ __VA_ARGS__ },                                         \
			sizeof((const struct pattern[]){ __VA_ARGS__ }) / sizeof(struct pattern) \
	}
#define P(s)                \
	{                   \
		.text = (s) \
	}

#define MODEL_AND_NOTEBOOK (RULE_SCOPE_MODEL | RULE_SCOPE_NOTEBOOK)

const struct rule builtin_rules[] = {
	{
		.id = "model-loader-shell",
		.title = "Shell started by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.004" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_SHELL },
	},
	{
		.id = "model-loader-downloader",
		.title = "Downloader run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1105" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_DOWNLOADER },
	},
	{
		.id = "model-loader-inline-interpreter",
		.title = "Interpreter with inline code run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.006" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exec_any = EXEC_INLINE_INTERP | EXEC_BASE64_DECODE },
	},
	{
		.id = "model-loader-network-tool",
		.title = "Netcat-like tool run by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0072", "T1059.004" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_NETTOOL },
	},
	{
		.id = "model-loader-miner",
		.title = "Cryptominer run by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0048.000", "AML.T0011.000", "T1496" },
		.scope = MODEL_AND_NOTEBOOK,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_MINER },
	},
	{
		.id = "model-loader-exec-from-temp",
		.title =
			"Program under /tmp, /var/tmp or /dev/shm run by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0018.002", "T1105" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_FROM_TEMP },
	},
	{
		.id = "model-loader-exec-fileless",
		.title =
			"Program with no file on disk (memfd or deleted) run by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0018.002", "T1620", "T1059" },
		.scope = MODEL_AND_NOTEBOOK,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_FILELESS },
	},
	{
		.id = "model-loader-external-connect",
		.title =
			"Outbound connection to an external address while a model was being loaded",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0025", "T1041" },
		.scope = RULE_SCOPE_MODEL,
		.failed_too = true, /* the attempt is the signal; the C2 may be down */
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND),
			   .dest_any = DEST(DEST_EXTERNAL),
			   .load = RULE_LOAD_DURING },
	},
	{
		/* a job's own traffic once its model is loaded (tracking, hub,
		 * object storage): a step for the chains, not an alert */
		.id = "model-loader-egress-after-load",
		.title = "Outbound connection to an external address after a model load",
		.severity = SEV_LOW,
		.tags = { "AML.T0025", "T1041" },
		.scope = RULE_SCOPE_MODEL,
		.action = RULE_ACTION_RECORD,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND),
			   .dest_any = DEST(DEST_EXTERNAL),
			   .load = RULE_LOAD_AFTER },
	},
	{
		.id = "model-loader-metadata-connect",
		.title = "Cloud metadata service contacted while a model was being loaded",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0055", "AML.T0011.000", "T1552.005" },
		.scope = RULE_SCOPE_MODEL,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND),
			   .dest_any = DEST(DEST_METADATA),
			   .load = RULE_LOAD_DURING },
	},
	{
		/* cloud SDKs read their instance credentials there */
		.id = "model-loader-metadata-after-load",
		.title = "Cloud metadata service contacted after a model load",
		.severity = SEV_LOW,
		.tags = { "AML.T0055", "T1552.005" },
		.scope = RULE_SCOPE_MODEL,
		.action = RULE_ACTION_RECORD,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND),
			   .dest_any = DEST(DEST_METADATA),
			   .load = RULE_LOAD_AFTER },
	},
	{
		.id = "model-loader-runtime-socket",
		.title =
			"Container runtime or kubelet API contacted by a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1610", "T1611" },
		.scope = MODEL_AND_NOTEBOOK,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND), .runtime = true },
	},
	{
		.id = "model-loader-credential-read",
		.title = "Credential file read by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0055", "AML.T0011.000", "T1552.001" },
		.scope = MODEL_AND_NOTEBOOK,
		.match = { .kinds = KIND(MLW_EV_OPEN) | KIND(MLW_EV_LINK),
			   .path_class = RULE_PATH_CREDENTIAL },
	},
	{
		.id = "model-loader-persistence-write",
		.title = "Persistence location written by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "T1053.003", "T1546.004" },
		.scope = RULE_SCOPE_MODEL,
		.match = { .kinds = KIND(MLW_EV_OPEN) | KIND(MLW_EV_LINK),
			   .path_class = RULE_PATH_PERSISTENCE },
	},
	{
		.id = "model-loader-socket-stdio",
		.title = "Socket made stdin/stdout/stderr of a process that loaded a model",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0072", "AML.T0011.000", "T1059" },
		.scope = MODEL_AND_NOTEBOOK,
		.match = { .kinds = KIND(MLW_EV_DUP) },
	},
	{
		.id = "model-loader-raw-socket",
		.title = "Raw or packet socket opened by a process that loaded a model",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0025", "T1095", "T1040" },
		.scope = RULE_SCOPE_MODEL,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_SOCKET) },
	},
	{
		.id = "model-loader-exec-dropped",
		.title =
			"Program or script written moments earlier by the same model-loading lineage, now run",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0018.002", "T1105", "T1204.002" },
		.scope = MODEL_AND_NOTEBOOK,
		.match = { .kinds = KIND(MLW_EV_EXEC), .dropped = true },
	},

	/*
	 * ML control-plane roots (ShadowRay, AML.T0049): the lineage runs jobs,
	 * so a shell or python alone is normal; these are what a hijacked job
	 * does that a legitimate one does not.
	 */
	{
		.id = "root-download-pipe-shell",
		.title = "Control-plane job pipes a download into a shell",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "T1190", "T1105", "T1059.004" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exec_any = EXEC_SHELL,
			   .argv = PATTERNS(P("*curl *|*sh*"), P("*wget *|*sh*"),
					    P("*curl *|*python*"), P("*wget *|*python*"),
					    P("*sh*<(curl*"), P("*sh*<(wget*")) },
	},
	{
		.id = "root-base64-shell",
		.title = "Control-plane job decodes base64 into a shell",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "T1140", "T1059.004" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exec_any = EXEC_SHELL,
			   .argv = PATTERNS(P("*base64 -d*|*sh*"), P("*base64 --decode*|*sh*"),
					    P("*base64 -d*|*python*")) },
	},
	{
		.id = "root-miner",
		.title = "Cryptominer run by a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "AML.T0048.000", "T1496" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_MINER },
	},
	{
		.id = "root-reverse-shell",
		.title = "Reverse shell from a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "AML.T0072", "T1059.004" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exec_any = EXEC_NETTOOL | EXEC_SHELL,
			   .argv_contains = PATTERNS(P("/dev/tcp/"), P("/dev/udp/"), P(" -e /bin/"),
						     P(" -e sh"), P("exec:"), P("pty.spawn")) },
	},
	{
		.id = "root-socket-stdio",
		.title = "Socket made stdin/stdout/stderr in a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "AML.T0072", "T1059" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_DUP) },
	},
	{
		.id = "root-credential-read",
		.title = "Credential file read by a control-plane job",
		.severity = SEV_HIGH,
		.tags = { "AML.T0049", "AML.T0055", "T1552.001" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_OPEN) | KIND(MLW_EV_LINK),
			   .open = RULE_OPEN_READ,
			   .path_class = RULE_PATH_CREDENTIAL },
	},
	{
		.id = "root-metadata-connect",
		.title = "Cloud metadata service contacted by a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "AML.T0055", "T1552.005" },
		.scope = RULE_SCOPE_ROOT,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND),
			   .dest_any = DEST(DEST_METADATA) },
	},
	{
		.id = "root-runtime-socket",
		.title = "Container runtime or kubelet API contacted by a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "T1610", "T1611" },
		.scope = RULE_SCOPE_ROOT,
		.failed_too = true,
		.match = { .kinds = KIND(MLW_EV_CONNECT) | KIND(MLW_EV_SEND), .runtime = true },
	},
	{
		.id = "root-persistence-write",
		.title = "Persistence location written by a control-plane job",
		.severity = SEV_HIGH,
		.tags = { "AML.T0049", "T1053.003", "T1546.004", "T1098.004" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_OPEN) | KIND(MLW_EV_LINK),
			   .open = RULE_OPEN_WRITE,
			   .path_class = RULE_PATH_PERSISTENCE },
	},
	{
		.id = "root-firewall-edit",
		.title = "Firewall rules changed by a control-plane job",
		.severity = SEV_HIGH,
		.tags = { "AML.T0049", "T1562.004" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exe = PATTERNS(P("iptables"), P("ip6tables"), P("iptables-restore"),
					   P("ip6tables-restore"), P("iptables-legacy"),
					   P("iptables-nft"), P("nft"), P("ufw")) },
	},
	{
		.id = "root-data-upload",
		.title = "Control-plane job uploads data with a downloader",
		.severity = SEV_HIGH,
		.tags = { "AML.T0049", "AML.T0025", "T1041" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC),
			   .exec_any = EXEC_DOWNLOADER,
			   .argv_contains = PATTERNS(P(" --data"), P(" -d "), P(" -d@"), P(" -F "),
						     P(" --form"), P(" -T "), P(" --upload-file"),
						     P(" --post-file"), P(" --post-data")) },
	},
	{
		.id = "root-exec-dropped",
		.title =
			"Program or script written moments earlier by the same control-plane job, now run",
		.severity = SEV_HIGH,
		.tags = { "AML.T0049", "T1105", "T1204.002" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC), .dropped = true },
	},
	{
		.id = "root-exec-fileless",
		.title =
			"Program with no file on disk (memfd or deleted) run by a control-plane job",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0049", "T1620", "T1059" },
		.scope = RULE_SCOPE_ROOT,
		.match = { .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_FILELESS },
	},

	/*
	 * In-process actions of a lineage that unpickled a global outside the
	 * allowlist (scope python), as the interpreter raised them: the
	 * Python-level evidence next to the syscall-level steps.
	 */
	{
		.id = "python-os-system",
		.title = "os.system called by a process that unpickled an unsafe global",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.004" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON), .audit = PATTERNS(P("os.system")) },
	},
	{
		.id = "python-subprocess",
		.title = "Program started from Python by a process that unpickled an unsafe global",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059", "T1106" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON),
			   .audit = PATTERNS(P("subprocess.Popen"), P("os.exec"),
					     P("os.posix_spawn"), P("os.spawn")) },
	},
	{
		.id = "python-exec-compile",
		.title =
			"Code compiled or run from data by a process that unpickled an unsafe global",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "T1059.006", "T1027" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON),
			   .audit = PATTERNS(P("exec"), P("compile"), P("code.__new__")) },
	},
	{
		.id = "python-socket-connect",
		.title =
			"Socket connected from Python by a process that unpickled an unsafe global",
		.severity = SEV_MEDIUM,
		.tags = { "AML.T0011.000", "T1071", "T1095" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON),
			   .audit = PATTERNS(P("socket.connect"), P("socket.sendto")) },
		/* the external one below says it, one step higher */
		.except = (const struct rule_filter[]){ { .dest_any = DEST(DEST_EXTERNAL) |
								      DEST(DEST_METADATA) } },
		.n_except = 1,
	},
	{
		.id = "python-socket-connect-external",
		.title =
			"Socket connected from Python to an external address by a process that unpickled an unsafe global",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0025", "T1041", "T1071" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON),
			   .audit = PATTERNS(P("socket.connect"), P("socket.sendto")),
			   .dest_any = DEST(DEST_EXTERNAL) | DEST(DEST_METADATA) },
	},
	{
		.id = "python-ctypes",
		.title =
			"Native library or function reached through ctypes by a process that unpickled an unsafe global",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "T1106", "T1620" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON),
			   .audit = PATTERNS(P("ctypes.dlopen"), P("ctypes.dlsym"),
					     P("ctypes.call_function")) },
	},
	{
		.id = "python-marshal-loads",
		.title = "Code object unmarshalled by a process that unpickled an unsafe global",
		.severity = SEV_MEDIUM,
		.tags = { "AML.T0011.000", "T1027", "T1059.006" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON), .audit = PATTERNS(P("marshal.loads")) },
	},
	{
		.id = "python-urllib",
		.title = "URL requested with urllib by a process that unpickled an unsafe global",
		.severity = SEV_MEDIUM,
		.tags = { "AML.T0011.000", "T1105", "T1071.001" },
		.scope = RULE_SCOPE_PYTHON,
		.match = { .kinds = KIND(MLW_EV_PYTHON), .audit = PATTERNS(P("urllib.Request")) },
	},
};

const size_t n_builtin_rules = sizeof(builtin_rules) / sizeof(builtin_rules[0]);

const struct rule python_rules[PYRULE_N] = {
	[PYRULE_IMPORT_UNSAFE] = {
		.id = "python-pickle-unsafe-import",
		.title = "Python unpickled a global outside the allowlist profiles",
		.severity = SEV_HIGH,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.006" },
		.scope = RULE_SCOPE_ANY,
	},
	[PYRULE_IMPORT_DENIED] = {
		.id = "python-pickle-unsafe-import",
		.title = "Python unpickled a global on the deny list (code execution)",
		.severity = SEV_CRITICAL,
		.tags = { "AML.T0011.000", "AML.T0010.003", "T1059.006" },
		.scope = RULE_SCOPE_ANY,
	},
};

/* Whoever does these is named, marked or not; T1562.001: Impair Defenses,
 * Disable or Modify Tools. */
const struct rule selfprot_rules[SELFPROT_N] = {
	[SELFPROT_TAMPERED] = {
		.id = "mlwatch-tampered",
		.title = "Another process changed, detached or re-attached mlwatch's BPF programs, maps or links",
		.severity = SEV_CRITICAL,
		.tags = { "T1562.001" },
	},
	[SELFPROT_TRACED] = {
		.id = "mlwatch-traced",
		.title = "Another process traced mlwatch, opened its memory or took its file descriptors",
		.severity = SEV_HIGH,
		.tags = { "T1562.001", "T1055.008" },
	},
	[SELFPROT_SIGNALED] = {
		.id = "mlwatch-signaled",
		.title = "Another process sent mlwatch a signal that kills or freezes it",
		.severity = SEV_HIGH,
		.tags = { "T1562.001" },
	},
	[SELFPROT_STOP] = {
		.id = "mlwatch-stop-requested",
		.title = "Another process told mlwatch to stop (SIGTERM or SIGINT)",
		.severity = SEV_MEDIUM,
		.tags = { "T1562.001" },
	},
	[SELFPROT_RELOAD] = {
		.id = "mlwatch-reload-requested",
		.title = "Another process told mlwatch to reload its rules (SIGHUP)",
		.severity = SEV_LOW,
		.tags = { "T1562.001" },
	},
	[SELFPROT_INSPECTED] = {
		.id = "mlwatch-inspected",
		.title = "Another process opened mlwatch's BPF programs, maps or links by id (as bpftool does)",
		.severity = SEV_LOW,
		.tags = { "T1562.001" },
	},
};

/*
 * A name is easy to borrow (copy xmrig to ~/gcc): no allowlist entry below
 * hides an exec that a class the built-in rules alert on also flags, so a
 * renamed miner keeps its stratum URL and a gcc dropped in /tmp is still
 * from-temp. The entries matter for user rules that match more broadly.
 */
#define ALERTING_EXEC                                                                           \
	(EXEC_SHELL | EXEC_SHELL_INLINE | EXEC_DOWNLOADER | EXEC_INLINE_INTERP | EXEC_NETTOOL | \
	 EXEC_MINER | EXEC_FROM_TEMP | EXEC_BASE64_DECODE | EXEC_FILELESS | EXEC_VIA_LOADER)

const struct rule_filter builtin_allow[] = {
	/* What pathclass.c already calls benign-ml (multiprocessing and loky
	 * bootstrap one-liners, git's read-only subcommands, toolchains with a
	 * triplet or version in their name). */
	{ .kinds = KIND(MLW_EV_EXEC), .exec_any = EXEC_BENIGN_ML, .exec_none = ALERTING_EXEC },
	/* torch.compile / Triton / inductor toolchains and nvidia tooling */
	{ .kinds = KIND(MLW_EV_EXEC),
	  .exec_none = ALERTING_EXEC,
	  .exe = PATTERNS(P("gcc"), P("gcc-[0-9]*"), P("cc"), P("c++"), P("g++"), P("g++-[0-9]*"),
			  P("clang"), P("clang-[0-9]*"), P("clang++"), P("cc1"), P("cc1plus"),
			  P("collect2"), P("ld"), P("ld.bfd"), P("ld.gold"), P("ld.lld"), P("as"),
			  P("nvcc"), P("ptxas"), P("cicc"), P("fatbinary"), P("nvlink"),
			  P("nvidia-smi")) },
	/* ctypes.util.find_library */
	{ .kinds = KIND(MLW_EV_EXEC),
	  .exec_none = ALERTING_EXEC,
	  .exe = PATTERNS(P("ldconfig"), P("ldconfig.real")),
	  .argv = PATTERNS(P("ldconfig -p"), P("/sbin/ldconfig -p"), P("/usr/sbin/ldconfig -p"),
			   P("/sbin/ldconfig.real -p")) },
	/* platform.processor(), platform.machine() */
	{ .kinds = KIND(MLW_EV_EXEC),
	  .exec_none = ALERTING_EXEC,
	  .exe = PATTERNS(P("uname")),
	  .argv = PATTERNS(P("uname -[mp]"), P("/bin/uname -[mp]"), P("/usr/bin/uname -[mp]")) },
	/* experiment trackers (wandb, mlflow) record the commit */
	{ .kinds = KIND(MLW_EV_EXEC),
	  .exec_none = ALERTING_EXEC,
	  .exe = PATTERNS(P("git")),
	  .argv = PATTERNS(P("git rev-parse*")) },
};

const size_t n_builtin_allow = sizeof(builtin_allow) / sizeof(builtin_allow[0]);

const char *severity_name(enum severity s)
{
	switch (s) {
	case SEV_LOW:
		return "low";
	case SEV_MEDIUM:
		return "medium";
	case SEV_HIGH:
		return "high";
	case SEV_CRITICAL:
		return "critical";
	}
	return "unknown";
}

const char *rule_action_name(enum rule_action a)
{
	switch (a) {
	case RULE_ACTION_KILL:
		return "kill";
	case RULE_ACTION_RECORD:
		return "record";
	case RULE_ACTION_ALERT:
		break;
	}
	return "alert";
}

const char *rule_scope_name(unsigned scope, char *buf, size_t len)
{
	static const char *const names[] = { "model", "root", "notebook", "python" };
	size_t o = 0;

	scope &= RULE_SCOPE_ANY;
	if (!scope)
		scope = RULE_SCOPE_MODEL;
	if (scope == RULE_SCOPE_ANY) {
		snprintf(buf, len, "any");
		return buf;
	}
	buf[0] = 0;
	for (unsigned i = 0; i < 4 && o < len; i++)
		if (scope & (1u << i))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "+" : "", names[i]);
	return buf;
}

/* ---- patterns ------------------------------------------------------- */

static bool has_glob_meta(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
			return true;
	return false;
}

void pattern_compile(struct pattern *p)
{
	const char *t = p->text;
	size_t n = strlen(t);

	p->kind = PAT_GLOB;
	p->lit = t;
	p->lit_len = n;
	if (!has_glob_meta(t, n)) {
		p->kind = PAT_EXACT;
	} else if (n >= 2 && t[0] == '*' && t[n - 1] == '*' && !has_glob_meta(t + 1, n - 2)) {
		p->kind = PAT_CONTAINS;
		p->lit = t + 1;
		p->lit_len = n - 2;
	} else if (t[0] == '*' && !has_glob_meta(t + 1, n - 1)) {
		p->kind = PAT_SUFFIX;
		p->lit = t + 1;
		p->lit_len = n - 1;
	} else if (n >= 1 && t[n - 1] == '*' && !has_glob_meta(t, n - 1)) {
		p->kind = PAT_PREFIX;
		p->lit_len = n - 1;
	}
}

bool pattern_match(const struct pattern *p, const char *s, size_t len)
{
	switch (p->kind) {
	case PAT_EXACT:
		return len == p->lit_len && memcmp(s, p->lit, len) == 0;
	case PAT_PREFIX:
		return len >= p->lit_len && memcmp(s, p->lit, p->lit_len) == 0;
	case PAT_SUFFIX:
		return len >= p->lit_len && memcmp(s + len - p->lit_len, p->lit, p->lit_len) == 0;
	case PAT_CONTAINS:
		return memmem(s, len, p->lit, p->lit_len) != NULL;
	case PAT_GLOB:
		break;
	}
	/* no FNM_PATHNAME: '*' crosses '/', so a directory's glob covers its subtree */
	return fnmatch(p->text, s, 0) == 0;
}

static bool any_pattern(const struct pattern_list *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++)
		if (pattern_match(&l->v[i], s, len))
			return true;
	return false;
}

/* argv_contains entries are substrings whatever their kind says. */
static bool any_substring(const struct pattern_list *l, const char *s, size_t len)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct pattern *p = &l->v[i];
		size_t n = p->kind == PAT_CONTAINS ? p->lit_len : strlen(p->text);
		const char *lit = p->kind == PAT_CONTAINS ? p->lit : p->text;

		if (memmem(s, len, lit, n))
			return true;
	}
	return false;
}

/* ---- one event ------------------------------------------------------ */

/* What conditions look at, worked out at most once per event. */
struct match_ctx {
	const struct event *ev;
	const struct facts *f;
	const char *actor_exe;
	unsigned scope; /* RULE_SCOPE_* bits of the event's mark */
	int result;     /* the syscall's result */
	bool names_done, argv_done;
	bool suppressing;       /* an exception or the allowlist is being checked */
	const char *path, *exe; /* NULL when the event has none */
	size_t path_len, exe_len;
	const char *rpath, *rexe; /* the real file's (kernel), when known and different */
	size_t rpath_len, rexe_len;
	size_t argv_len;
	char argv[MLW_ARGS_MAX + 1];
};

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void ctx_names(struct match_ctx *c)
{
	const struct event *ev = c->ev;
	const char *file = c->f->resolved_path[0] ? c->f->resolved_path : ev->path;

	if (c->names_done)
		return;
	c->names_done = true;
	switch (ev->kind) {
	case MLW_EV_EXEC:
		c->path = file;
		c->exe = file ? base_of(file) : NULL;
		break;
	case MLW_EV_OPEN:
	case MLW_EV_MODEL_OPEN:
	case MLW_EV_LINK:
		c->path = file;
		c->exe = c->actor_exe ? base_of(c->actor_exe) : NULL;
		break;
	default:
		c->exe = c->actor_exe ? base_of(c->actor_exe) : NULL;
		break;
	}
	if (c->exe && !*c->exe)
		c->exe = NULL;
	c->path_len = c->path ? strlen(c->path) : 0;
	c->exe_len = c->exe ? strlen(c->exe) : 0;
	c->rpath = c->rexe = NULL;
	if ((ev->kind == MLW_EV_EXEC || ev->kind == MLW_EV_OPEN || ev->kind == MLW_EV_MODEL_OPEN) &&
	    c->f->real_path[0] && (!c->path || strcmp(c->f->real_path, c->path) != 0)) {
		c->rpath = c->f->real_path;
		c->rpath_len = strlen(c->rpath);
		if (ev->kind == MLW_EV_EXEC) {
			c->rexe = base_of(c->rpath);
			c->rexe_len = strlen(c->rexe);
		}
	}
}

/* A path or program condition. Matching raises: any name the file goes by
 * will do. Suppressing (an exception, the allowlist) must not be borrowed:
 * only what really runs or was really opened counts when it is known. */
static bool names_hold(const struct pattern_list *l, const struct match_ctx *c, bool exe)
{
	const char *given = exe ? c->exe : c->path, *real = exe ? c->rexe : c->rpath;
	size_t gl = exe ? c->exe_len : c->path_len, rl = exe ? c->rexe_len : c->rpath_len;

	if (real && c->suppressing)
		return any_pattern(l, real, rl);
	return (given && any_pattern(l, given, gl)) || (real && any_pattern(l, real, rl));
}

/* argv joined with single spaces, as `ps` shows it (cut at the buffer). */
static void ctx_argv(struct match_ctx *c)
{
	size_t n = 0;

	if (c->argv_done)
		return;
	c->argv_done = true;
	for (size_t i = 0; i < c->ev->argc && c->ev->argv[i]; i++) {
		size_t l = strlen(c->ev->argv[i]);

		if (i && n < sizeof(c->argv) - 1)
			c->argv[n++] = ' ';
		if (l > sizeof(c->argv) - 1 - n)
			l = sizeof(c->argv) - 1 - n;
		memcpy(c->argv + n, c->ev->argv[i], l);
		n += l;
	}
	c->argv[n] = 0;
	c->argv_len = n;
}

static int event_result(const struct event *ev)
{
	switch (ev->kind) {
	case MLW_EV_OPEN:
		return ev->u.open->ret;
	case MLW_EV_CONNECT:
	case MLW_EV_SEND:
		/* non-blocking connects report EINPROGRESS: that is a connect */
		return ev->u.connect->ret == -EINPROGRESS ? 0 : ev->u.connect->ret;
	case MLW_EV_LINK:
		return ev->u.link->ret;
	case MLW_EV_SOCKET:
		return ev->u.socket->ret;
	default:
		return 0;
	}
}

static unsigned event_scope(const struct event *ev, const struct facts *f)
{
	unsigned r = ev->hdr.mark.reason, s = 0;

	/* a notebook that loaded a model: only the notebook-scoped model
	 * rules, since its shells and downloads are the user's */
	if (r & MLW_MARK_MODEL)
		s |= (r & MLW_MARK_NOTEBOOK) ? RULE_SCOPE_NOTEBOOK : RULE_SCOPE_MODEL;
	if (r & MLW_MARK_ROOT)
		s |= RULE_SCOPE_ROOT;
	/* it unpickled an unsafe global: a loader, and its in-process
	 * events are the python rules' */
	if (r & MLW_MARK_PYTHON)
		s |= (f && f->py_custom_lineage ? 0 : RULE_SCOPE_PYTHON) |
		     ((r & MLW_MARK_NOTEBOOK) ? RULE_SCOPE_NOTEBOOK : RULE_SCOPE_MODEL);
	/* Sensors from before control-plane roots set no reason: every
	 * mark was then a model's. */
	return s ? s : RULE_SCOPE_MODEL;
}

static void ctx_init(struct match_ctx *c, const struct event *ev, const struct facts *f,
		     const char *actor_exe)
{
	c->ev = ev;
	c->f = f;
	c->actor_exe = actor_exe && *actor_exe ? actor_exe : NULL;
	c->scope = event_scope(ev, f);
	c->result = event_result(ev);
	c->names_done = c->argv_done = c->suppressing = false;
}

static bool is_sendlike(const struct event *ev)
{
	return ev->kind == MLW_EV_CONNECT || ev->kind == MLW_EV_SEND;
}

static bool is_net(const struct match_ctx *c)
{
	return (is_sendlike(c->ev) || c->ev->kind == MLW_EV_DUP ||
		(c->ev->kind == MLW_EV_PYTHON && c->f->py_addr)) &&
	       (c->f->dest != DEST_UNIX && c->f->dest != DEST_OTHER);
}

/* python: the event's name, and any one argument (a list: its items
 * joined with spaces, as argv is for exec) */
static bool py_holds(const struct rule_filter *m, const struct match_ctx *c)
{
	const struct py_args *a = &c->ev->py;
	const struct pyevent_def *d;

	if (c->ev->kind != MLW_EV_PYTHON)
		return false;
	if (m->audit.n) {
		d = pyevent_by_id(a->event);
		if (!d || !any_pattern(&m->audit, d->name, strlen(d->name)))
			return false;
	}
	if (!m->args.n)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (any_pattern(&m->args, a->arg[i], strlen(a->arg[i])))
			return true;
	return false;
}

static bool addr_in(const struct rule_filter *m, const struct match_ctx *c)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const struct mlw_sockaddr *sa = is_sendlike(c->ev) ? &c->ev->u.connect->addr :
							     &c->ev->u.dup->peer;
	int family = sa->family;
	const uint8_t *addr = sa->addr;

	/* ::ffff:a.b.c.d is the IPv4 host, as for the destination class */
	if (family == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
		family = AF_INET;
		addr += sizeof(v4mapped);
	}
	for (size_t i = 0; i < m->n_cidrs; i++)
		if (cidr_contains(&m->cidrs[i], family, addr))
			return true;
	return false;
}

static bool port_in(const struct rule_filter *m, unsigned port)
{
	for (size_t i = 0; i < m->n_ports; i++)
		if (port >= m->ports[i].lo && port <= m->ports[i].hi)
			return true;
	return false;
}

static bool open_as(enum rule_open want, const struct match_ctx *c)
{
	/* a link reads its source and writes its destination: the path
	 * class says which of the two was matched */
	if (c->ev->kind == MLW_EV_LINK)
		return true;
	if (c->ev->kind != MLW_EV_OPEN && c->ev->kind != MLW_EV_MODEL_OPEN)
		return false;
	if (want == RULE_OPEN_WRITE)
		return c->f->open_write;
	return (c->ev->u.open->flags & O_ACCMODE) != O_WRONLY;
}

/* Cheap bit tests first; strings only when those hold. */
static bool filter_holds(const struct rule_filter *m, struct match_ctx *c)
{
	const struct event *ev = c->ev;
	const struct facts *f = c->f;

	if (m->kinds && !(m->kinds & KIND(ev->kind)))
		return false;
	if (m->exec_any && (ev->kind != MLW_EV_EXEC || !(f->exec_classes & m->exec_any)))
		return false;
	if (m->exec_none && ev->kind == MLW_EV_EXEC && (f->exec_classes & m->exec_none))
		return false;
	if (m->dest_any && !(is_net(c) && (DEST(f->dest) & m->dest_any)))
		return false;
	if (m->n_ports && !(is_net(c) && port_in(m, f->port)))
		return false;
	if (m->n_cidrs && !(is_net(c) && addr_in(m, c)))
		return false;
	if (m->runtime && !(is_sendlike(ev) && f->runtime))
		return false;
	if (m->load != RULE_LOAD_ANY && !(is_sendlike(ev) && !!(ev->hdr.flags & MLW_F_IN_LOAD) ==
								     (m->load == RULE_LOAD_DURING)))
		return false;
	if (m->open != RULE_OPEN_ANY && !open_as(m->open, c))
		return false;
	if (m->path_class && !(((m->path_class & RULE_PATH_CREDENTIAL) && f->credential) ||
			       ((m->path_class & RULE_PATH_PERSISTENCE) && f->persistence)))
		return false;
	if (m->dropped && !(ev->kind == MLW_EV_EXEC && f->exec_dropped))
		return false;
	if ((m->audit.n || m->args.n) && !py_holds(m, c))
		return false;
	if (m->path.n || m->exe.n)
		ctx_names(c);
	if (m->path.n && !names_hold(&m->path, c, false))
		return false;
	if (m->exe.n && !names_hold(&m->exe, c, true))
		return false;
	if (m->argv.n || m->argv_contains.n) {
		if (ev->kind != MLW_EV_EXEC)
			return false;
		ctx_argv(c);
		if (m->argv.n && !any_pattern(&m->argv, c->argv, c->argv_len))
			return false;
		if (m->argv_contains.n && !any_substring(&m->argv_contains, c->argv, c->argv_len))
			return false;
	}
	return true;
}

static bool rule_fires(const struct rule *r, struct match_ctx *c)
{
	const struct mlw_hdr *h = &c->ev->hdr;
	unsigned scope = r->scope ? r->scope : RULE_SCOPE_MODEL;

	if (r->match.kinds && !(r->match.kinds & KIND(c->ev->kind)))
		return false; /* the common case: most rules are for another kind */
	if (!(scope & c->scope))
		return false;
	if (r->window_s && h->ts_ns > h->mark.mark_ns &&
	    h->ts_ns - h->mark.mark_ns > (uint64_t)r->window_s * NS_PER_S)
		return false;
	if (!r->failed_too && c->result < 0)
		return false;
	if (!filter_holds(&r->match, c))
		return false;
	c->suppressing = true;
	for (size_t i = 0; i < r->n_except; i++)
		if (filter_holds(&r->except[i], c)) {
			c->suppressing = false;
			return false;
		}
	c->suppressing = false;
	return true;
}

bool rule_filter_match(const struct rule_filter *m, const struct event *ev, const struct facts *f,
		       const char *actor_exe)
{
	struct match_ctx c;

	ctx_init(&c, ev, f, actor_exe);
	return filter_holds(m, &c);
}

size_t rules_match(const struct rule *rules, size_t n, const struct event *ev,
		   const struct facts *f, const struct rule **out, size_t max)
{
	struct match_ctx c;
	size_t k = 0;

	ctx_init(&c, ev, f, NULL);
	for (size_t i = 0; i < n && k < max; i++)
		if (rule_fires(&rules[i], &c))
			out[k++] = &rules[i];
	return k;
}

size_t ruleset_match(const struct ruleset *rs, const struct event *ev, const struct facts *f,
		     const char *actor_exe, const struct rule **out, size_t max)
{
	struct match_ctx c;
	size_t k = 0;

	if (!rs || ev->kind <= 0 || ev->kind >= MLW_EV_KIND_MAX)
		return 0;
	ctx_init(&c, ev, f, actor_exe);
	for (size_t i = 0; i < rs->n_by_kind[ev->kind] && k < max; i++) {
		const struct rule *r = &rs->rules[rs->by_kind[ev->kind][i]];

		if (rule_fires(r, &c))
			out[k++] = r;
	}
	/* Most events fire nothing: the allowlist is only read for the rest. */
	c.suppressing = true;
	for (size_t i = 0; k && i < rs->n_allow; i++)
		if (filter_holds(&rs->allow[i], &c))
			return 0;
	return k;
}
