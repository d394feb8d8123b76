/* What an opened path or an executed program means.
 *
 * Paths and argv come from the monitored process: any byte may appear, any
 * length up to the sensor's limits. Everything here works on NUL-terminated
 *
 * Threat model: docs/threat-model.md §1.3, §3.1.
 * input in place, copies nothing into fixed buffers and allocates nothing. */
#include "pathclass.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- string helpers -------------------------------------------------- */

/* A view into a caller's string: program names are compared in place. */
struct slice {
	const char *p;
	size_t n;
};

static bool str_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool str_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool slice_eq(struct slice s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool slice_in(struct slice s, const char *const *list)
{
	for (; *list; list++)
		if (slice_eq(s, *list))
			return true;
	return false;
}

static bool slice_prefix(struct slice s, const char *prefix)
{
	size_t m = strlen(prefix);

	return s.n >= m && memcmp(s.p, prefix, m) == 0;
}

/* "python", "python3", "python3.11": base followed by digits and dots only. */
static bool slice_versioned(struct slice s, const char *base)
{
	if (!slice_prefix(s, base))
		return false;
	for (size_t i = strlen(base); i < s.n; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.'))
			return false;
	return true;
}

/* ---- credential paths ------------------------------------------------ */

enum match_kind {
	M_EXACT,    /* the whole path */
	M_PREFIX,   /* absolute locations: /etc/..., /var/spool/... */
	M_SUFFIX,   /* home-relative files, matched under any home */
	M_CONTAINS, /* home-relative directories, matched under any home */
	M_BASENAME, /* files that are secrets wherever they are */
};

struct path_rule {
	enum match_kind kind;
	const char *pat;
	const char *name;
};

static bool rule_matches(const struct path_rule *r, const char *path, const char *base)
{
	switch (r->kind) {
	case M_EXACT:
		return strcmp(path, r->pat) == 0;
	case M_PREFIX:
		return str_prefix(path, r->pat);
	case M_SUFFIX:
		return str_suffix(path, r->pat);
	case M_CONTAINS:
		return strstr(path, r->pat) != NULL;
	case M_BASENAME:
		return strcmp(base, r->pat) == 0;
	}
	return false;
}

static const char *match_rules(const struct path_rule *rules, size_t n, const char *path)
{
	const char *base = basename_of(path);

	for (size_t i = 0; i < n; i++)
		if (rule_matches(&rules[i], path, base))
			return rules[i].name;
	return NULL;
}

static const struct path_rule credential_rules[] = {
	{ M_SUFFIX, "/.aws/credentials", "aws-credentials" },
	{ M_SUFFIX, "/.aws/config", "aws-config" },
	{ M_CONTAINS, "/.aws/sso/cache/", "aws-sso-cache" },
	{ M_CONTAINS, "/.aws/cli/cache/", "aws-cli-cache" },
	{ M_BASENAME, "credentials.db", "gcloud-credentials" },
	{ M_BASENAME, "access_tokens.db", "gcloud-credentials" },
	{ M_BASENAME, "application_default_credentials.json", "gcloud-credentials" },
	{ M_CONTAINS, "/.config/gcloud/legacy_credentials/", "gcloud-credentials" },
	{ M_CONTAINS, "/.azure/", "azure-credentials" },
	{ M_SUFFIX, "/.kube/config", "kube-config" },
	{ M_EXACT, "/etc/shadow", "shadow" },
	{ M_EXACT, "/etc/shadow-", "shadow" },
	{ M_EXACT, "/etc/gshadow", "shadow" },
	{ M_EXACT, "/etc/gshadow-", "shadow" },
	{ M_PREFIX, "/etc/sudoers", "sudoers" },
	{ M_BASENAME, ".netrc", "netrc" },
	{ M_BASENAME, ".git-credentials", "git-credentials" },
	{ M_SUFFIX, "/.config/git/credentials", "git-credentials" },
	{ M_SUFFIX, "/.docker/config.json", "docker-config" },
	{ M_BASENAME, ".pypirc", "pypirc" },
	{ M_BASENAME, ".npmrc", "npmrc" },
	{ M_SUFFIX, "/.kaggle/kaggle.json", "kaggle-token" },
	{ M_BASENAME, ".databrickscfg", "databricks-config" },
	{ M_BASENAME, ".pgpass", "pgpass" },
	{ M_BASENAME, ".my.cnf", "mysql-config" },
	{ M_BASENAME, ".vault-token", "vault-token" },
	{ M_BASENAME, ".bash_history", "shell-history" },
	{ M_BASENAME, ".zsh_history", "shell-history" },
	{ M_BASENAME, ".sh_history", "shell-history" },
	{ M_BASENAME, ".ash_history", "shell-history" },
	{ M_BASENAME, ".python_history", "python-history" },
	{ M_BASENAME, "Login Data", "browser-store" },
	{ M_BASENAME, "Login Data For Account", "browser-store" },
	{ M_BASENAME, "Cookies", "browser-store" },
	{ M_BASENAME, "cookies.sqlite", "browser-store" },
	{ M_BASENAME, "logins.json", "browser-store" },
	{ M_BASENAME, "key4.db", "browser-store" },
};

/* ~/.ssh: private keys (id_*, identity, *.pem and any other non-public file)
 * and config are secrets; public keys, known_hosts and authorized_keys are
 * read by every ssh and git invocation and tell an attacker little. */
static const char *ssh_match(const char *path)
{
	const char *dir = strstr(path, "/.ssh/");
	const char *base = basename_of(path);

	if (str_prefix(path, "/etc/ssh/ssh_host_") && str_suffix(path, "_key"))
		return "ssh-host-key";
	if (!dir || !*base)
		return NULL;
	if (str_suffix(base, ".pub") || str_prefix(base, "known_hosts") ||
	    str_prefix(base, "authorized_keys"))
		return NULL;
	if (strcmp(base, "config") == 0)
		return "ssh-config";
	return "ssh-key";
}

/* Service-account tokens mounted into pods (/var/run is /run on Debian, but
 * the path a process asks for may use either). Other files under
 * /run/secrets are Docker/Compose secrets. */
static const char *container_secret_match(const char *path)
{
	static const char *const roots[] = { "/var/run/secrets/", "/run/secrets/" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (!str_prefix(path, roots[i]))
			continue;
		const char *rest = path + strlen(roots[i]);
		bool token = strcmp(basename_of(rest), "token") == 0;

		if (str_prefix(rest, "kubernetes.io/"))
			return token ? "k8s-serviceaccount-token" : NULL;
		if (str_prefix(rest, "eks.amazonaws.com/"))
			return token ? "eks-serviceaccount-token" : NULL;
		return *basename_of(rest) ? "container-secret" : NULL;
	}
	return NULL;
}

/* /proc/<pid>/environ, /proc/self/environ, /proc/<pid>/task/<tid>/environ. */
static bool proc_environ(const char *path)
{
	return str_prefix(path, "/proc/") && str_suffix(path, "/environ");
}

/* Hugging Face tokens live in <HF_HOME>/token (default ~/.cache/huggingface)
 * or the legacy ~/.huggingface/token; HF_HOME can be anywhere, so match the
 * file name under any directory called huggingface. */
static bool hf_token(const char *path)
{
	const char *base = basename_of(path);

	if (strcmp(base, "token") != 0 && strcmp(base, "stored_tokens") != 0)
		return false;
	size_t dlen = (size_t)(base - path);
	return (dlen >= 13 && memcmp(base - 13, "/huggingface/", 13) == 0) ||
	       (dlen >= 14 && memcmp(base - 14, "/.huggingface/", 14) == 0);
}

/* .env and .env.<stage>; templates committed to repositories hold no
 * secrets and are read by tooling all the time. */
static bool dotenv(const char *path)
{
	static const char *const templates[] = {
		".env.example",
		".env.sample",
		".env.template",
		".env.dist",
	};
	const char *base = basename_of(path);

	if (strcmp(base, ".env") == 0)
		return true;
	if (!str_prefix(base, ".env."))
		return false;
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (strcmp(base, templates[i]) == 0)
			return false;
	return true;
}

const char *credential_path_match(const char *path)
{
	const char *name;

	if (!path || !*path)
		return NULL;
	if ((name = ssh_match(path)) || (name = container_secret_match(path)))
		return name;
	if (proc_environ(path))
		return "proc-environ";
	if (hf_token(path))
		return "hf-token";
	if (dotenv(path))
		return "dotenv";
	return match_rules(credential_rules, sizeof(credential_rules) / sizeof(credential_rules[0]),
			   path);
}

/* ---- persistence paths ----------------------------------------------- */

static const struct path_rule persistence_rules[] = {
	{ M_PREFIX, "/etc/cron", "cron" }, /* crontab, cron.d, cron.hourly, ... */
	{ M_PREFIX, "/var/spool/cron/", "cron" },
	{ M_EXACT, "/etc/anacrontab", "cron" },
	{ M_PREFIX, "/etc/systemd/system/", "systemd-unit" },
	{ M_PREFIX, "/etc/systemd/user/", "systemd-unit" },
	{ M_PREFIX, "/lib/systemd/system/", "systemd-unit" },
	{ M_PREFIX, "/usr/lib/systemd/system/", "systemd-unit" },
	{ M_PREFIX, "/usr/lib/systemd/user/", "systemd-unit" },
	{ M_CONTAINS, "/.config/systemd/user/", "systemd-unit" },
	{ M_CONTAINS, "/.local/share/systemd/user/", "systemd-unit" },
	{ M_SUFFIX, "/.bashrc", "shell-rc" },
	{ M_SUFFIX, "/.bash_profile", "shell-rc" },
	{ M_SUFFIX, "/.bash_login", "shell-rc" },
	{ M_SUFFIX, "/.bash_logout", "shell-rc" },
	{ M_SUFFIX, "/.profile", "shell-rc" },
	{ M_SUFFIX, "/.zshrc", "shell-rc" },
	{ M_SUFFIX, "/.zshenv", "shell-rc" },
	{ M_SUFFIX, "/.zprofile", "shell-rc" },
	{ M_SUFFIX, "/.zlogin", "shell-rc" },
	{ M_EXACT, "/etc/profile", "shell-rc" },
	{ M_PREFIX, "/etc/profile.d/", "shell-rc" },
	{ M_EXACT, "/etc/bash.bashrc", "shell-rc" },
	{ M_PREFIX, "/etc/zsh/", "shell-rc" },
	{ M_EXACT, "/etc/ld.so.preload", "ld-preload" },
	{ M_EXACT, "/etc/ld.so.conf", "ld-config" },
	{ M_PREFIX, "/etc/ld.so.conf.d/", "ld-config" },
	{ M_EXACT, "/etc/hosts", "hosts" },
	{ M_SUFFIX, "/.ssh/authorized_keys", "authorized-keys" },
	{ M_SUFFIX, "/.ssh/authorized_keys2", "authorized-keys" },
	{ M_EXACT, "/etc/rc.local", "rc-local" },
	{ M_PREFIX, "/etc/init.d/", "init-script" },
	{ M_PREFIX, "/etc/sudoers", "sudoers" },
	{ M_EXACT, "/etc/passwd", "account-db" },
	{ M_EXACT, "/etc/shadow", "account-db" },
	{ M_EXACT, "/etc/group", "account-db" },
	{ M_EXACT, "/etc/gshadow", "account-db" },
	{ M_PREFIX, "/etc/xdg/autostart/", "autostart" },
	{ M_CONTAINS, "/.config/autostart/", "autostart" },
};

/* A .pth file directly in site-packages/dist-packages runs its "import"
 * lines at every interpreter start; so do sitecustomize/usercustomize. */
static const char *python_startup_match(const char *path)
{
	static const char *const site_dirs[] = { "/site-packages/", "/dist-packages/" };
	const char *base = basename_of(path);

	for (size_t i = 0; i < sizeof(site_dirs) / sizeof(site_dirs[0]); i++) {
		size_t dl = strlen(site_dirs[i]);

		/* The site directory must be the file's parent. */
		if ((size_t)(base - path) < dl || memcmp(base - dl, site_dirs[i], dl) != 0)
			continue;
		if (str_suffix(base, ".pth") && strlen(base) > 4)
			return "python-pth";
		if (strcmp(base, "sitecustomize.py") == 0 || strcmp(base, "usercustomize.py") == 0)
			return "python-startup";
	}
	return NULL;
}

const char *persistence_path_match(const char *path)
{
	const char *name;

	if (!path || !*path)
		return NULL;
	if ((name = python_startup_match(path)))
		return name;
	return match_rules(persistence_rules,
			   sizeof(persistence_rules) / sizeof(persistence_rules[0]), path);
}

/* ---- exec classification --------------------------------------------- */

/* The program and its arguments (argv[1..]); entries may be NULL. */
struct exec_view {
	struct slice prog;
	const char *const *args;
	size_t nargs;
};

static const char *arg_at(const struct exec_view *v, size_t i)
{
	return i < v->nargs ? v->args[i] : NULL;
}

/* First argument that is not an option: a subcommand (pip install, git clone). */
static const char *first_operand(const struct exec_view *v, size_t from)
{
	for (size_t i = from; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (a && a[0] != '-')
			return a;
	}
	return NULL;
}

static bool any_arg_contains(const struct exec_view *v, const char *needle, bool nocase)
{
	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (a && (nocase ? strcasestr(a, needle) : strstr(a, needle)))
			return true;
	}
	return false;
}

/* A cluster of short options ("-lc", "-xec") all drawn from letters, with
 * one of want among them before any letter in stop (options whose value is
 * glued to them, like perl -MIO::Socket). */
static bool short_cluster_has(const char *a, const char *letters, const char *want,
			      const char *stop)
{
	if (!a || a[0] != '-' || a[1] == '-' || !a[1])
		return false;
	for (const char *p = a + 1; *p; p++) {
		if (strchr(want, *p))
			return true;
		if (stop && strchr(stop, *p))
			return false;
		if (letters && !strchr(letters, *p))
			return false;
	}
	return false;
}

static const char *const shells[] = {
	"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "rbash", "csh", "tcsh", "fish", NULL,
};
/* Short options bash/dash/zsh accept; a cluster of these holding c or i
 * runs a command string or an interactive shell. */
#define SHELL_SHORT_OPTS "abcefhiklmnprstuvxBCDEHOPT"

static unsigned classify_shell(const struct exec_view *v)
{
	unsigned c = EXEC_SHELL;

	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (short_cluster_has(a, SHELL_SHORT_OPTS, "ci", NULL) || strstr(a, "/dev/tcp/") ||
		    strstr(a, "/dev/udp/"))
			c |= EXEC_SHELL_INLINE;
	}
	return c;
}

/* `pip install`, `pip3.11 install`, `uv pip install`. */
static bool pip_install_from(const struct exec_view *v, size_t from)
{
	const char *sub = first_operand(v, from);

	return sub && strcmp(sub, "install") == 0;
}

/*
 * The fixed one-liners CPython's multiprocessing (spawn, forkserver, the
 * resource tracker: what torch.multiprocessing.spawn / DDP and DataLoader
 * workers run) and joblib's loky backend hand to a fresh interpreter:
 *   from <module> import <fn>; <fn>(<arguments>)
 * Benign only in exactly that shape, with no call, statement or line break
 * in the arguments, so a payload cannot hide behind the prefix.
 */
static bool python_worker_bootstrap(const char *code)
{
	static const struct {
		const char *from;
		const char *fn;
	} known[] = {
		{ "from multiprocessing.spawn import spawn_main", "spawn_main" },
		{ "from multiprocessing.resource_tracker import main", "main" },
		{ "from multiprocessing.semaphore_tracker import main", "main" },
		{ "from multiprocessing.forkserver import main", "main" },
		{ "from joblib.externals.loky.backend.resource_tracker import main", "main" },
		{ "from loky.backend.resource_tracker import main", "main" },
	};

	for (size_t k = 0; code && k < sizeof(known) / sizeof(known[0]); k++) {
		size_t n = strlen(known[k].from), f = strlen(known[k].fn);
		const char *p = code;

		if (strncmp(p, known[k].from, n) != 0)
			continue;
		p += n;
		while (*p == ' ')
			p++;
		if (*p++ != ';')
			return false;
		while (*p == ' ')
			p++;
		if (strncmp(p, known[k].fn, f) != 0 || p[f] != '(')
			return false;
		for (p += f + 1; *p && *p != ')'; p++)
			if (*p == '(' || *p == ';' || *p == '\n' || *p == '\r' || *p == '\\')
				return false;
		if (*p != ')')
			return false;
		for (p++; *p == ' '; p++)
			;
		return *p == 0;
	}
	return false;
}

/* python [options] (-c code | -m module ...): options stop at the first
 * operand (the script), -c and -m may end a cluster (-Bc, -um), -W and -X
 * take a value. */
static unsigned classify_python(const struct exec_view *v)
{
	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (a[0] != '-' || !a[1])
			return 0; /* the script, or "-" for stdin */
		if (a[1] == '-') {
			if (strcmp(a, "--check-hash-based-pycs") == 0)
				i++;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'c') {
				const char *code = p[1] ? p + 1 : arg_at(v, i + 1);

				return python_worker_bootstrap(code) ? EXEC_BENIGN_ML :
								       EXEC_INLINE_INTERP;
			}
			if (*p == 'm') {
				const char *mod = p[1] ? p + 1 : arg_at(v, i + 1);
				size_t next = p[1] ? i + 1 : i + 2;

				if (mod && strcmp(mod, "pip") == 0 && pip_install_from(v, next))
					return EXEC_PKG_INSTALL;
				return 0;
			}
			if (*p == 'W' || *p == 'X') {
				if (!p[1])
					i++;
				break;
			}
		}
	}
	return 0;
}

static unsigned classify_interp(const struct exec_view *v)
{
	struct slice p = v->prog;

	if (slice_versioned(p, "python") || slice_versioned(p, "pypy"))
		return classify_python(v);
	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (strcmp(a, "--") == 0)
			break;
		/* perl -e/-E (also -ne, -lpe); value-taking letters end a cluster. */
		if (slice_versioned(p, "perl") && short_cluster_has(a, NULL, "eE", "MmIiCdDxF"))
			return EXEC_INLINE_INTERP;
		/* ruby -e; ruby's -E is --encoding, not code. */
		if (slice_versioned(p, "ruby") && short_cluster_has(a, NULL, "e", "IrCEFKTWx"))
			return EXEC_INLINE_INTERP;
		if ((slice_eq(p, "node") || slice_eq(p, "nodejs")) &&
		    (strcmp(a, "-e") == 0 || strcmp(a, "-p") == 0 || strcmp(a, "-pe") == 0 ||
		     strcmp(a, "--eval") == 0 || strcmp(a, "--print") == 0 ||
		     str_prefix(a, "--eval=")))
			return EXEC_INLINE_INTERP;
		/* php -r code, and -B/-R/-E which run code around each input line. */
		if (slice_versioned(p, "php") &&
		    (strcmp(a, "-r") == 0 || strcmp(a, "--run") == 0 || strcmp(a, "-R") == 0 ||
		     strcmp(a, "-B") == 0 || strcmp(a, "-E") == 0))
			return EXEC_INLINE_INTERP;
		if (slice_versioned(p, "lua") && str_prefix(a, "-e")) /* -e stat, or -estat */
			return EXEC_INLINE_INTERP;
	}
	return 0;
}

/* git's global options that take a separate value, before the subcommand. */
static const char *git_subcommand(const struct exec_view *v)
{
	static const char *const valued[] = {
		"-C",          "-c",           "--git-dir",   "--work-tree",
		"--namespace", "--config-env", "--exec-path", NULL,
	};

	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (a[0] != '-')
			return a;
		for (const char *const *o = valued; *o; o++)
			if (strcmp(a, *o) == 0) {
				i++;
				break;
			}
	}
	return NULL;
}

/* Without a command, env prints the environment (recon); with one, it is a
 * launcher and the command shows up as its own exec. */
static bool env_has_command(const struct exec_view *v)
{
	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (strcmp(a, "-u") == 0 || strcmp(a, "-C") == 0 || strcmp(a, "--unset") == 0 ||
		    strcmp(a, "--chdir") == 0) {
			i++;
			continue;
		}
		if (strcmp(a, "-S") == 0 || str_prefix(a, "--split-string"))
			return true;
		if (a[0] == '-' || strchr(a, '='))
			continue;
		return true;
	}
	return false;
}

/* base64 -d, -D (BSD), --decode and its unambiguous abbreviations, -di. */
static bool base64_decodes(const struct exec_view *v)
{
	for (size_t i = 0; i < v->nargs; i++) {
		const char *a = v->args[i];

		if (!a)
			continue;
		if (short_cluster_has(a, "diw0123456789", "dD", NULL) || strcmp(a, "-D") == 0)
			return true;
		size_t n = strlen(a);
		if (n >= 3 && n <= 8 && strncmp(a, "--decode", n) == 0)
			return true;
	}
	return false;
}

/* Toolchain names come with a target triplet and a version
 * (x86_64-linux-gnu-gcc-12, clang-14): compare the bare tool name. */
static struct slice toolchain_name(struct slice s)
{
	static const char triplet_tail[] = "-linux-gnu-";
	const char *t = memmem(s.p, s.n, triplet_tail, sizeof(triplet_tail) - 1);

	if (t) {
		size_t skip = (size_t)(t - s.p) + sizeof(triplet_tail) - 1;
		s.p += skip;
		s.n -= skip;
	}
	size_t n = s.n;
	while (n > 0 && ((s.p[n - 1] >= '0' && s.p[n - 1] <= '9') || s.p[n - 1] == '.'))
		n--;
	if (n > 0 && n < s.n && s.p[n - 1] == '-')
		s.n = n - 1;
	return s;
}

static const char *const downloaders[] = {
	"curl", "wget", "tftp", "scp", "sftp", "rsync", "ftp", "lftp", "aria2c", NULL,
};
static const char *const nettools[] = {
	"nc", "ncat", "netcat", "socat", "telnet", "nc.openbsd", "nc.traditional", NULL,
};
/* Compared case-insensitively (lolMiner, SRBMiner-MULTI); prefixes catch
 * builds like xmrig-notls and xmr-stak-rx. */
static const char *const miner_prefixes[] = {
	"xmrig", "minerd",   "cpuminer",     "xmr-stak", "ccminer",      "ethminer", "nbminer",
	"t-rex", "lolminer", "teamredminer", "srbminer", "phoenixminer", NULL,
};
static const char *const miner_urls[] = {
	"stratum+tcp://", "stratum+ssl://", "stratum+tls://", "stratum2+tcp", NULL,
};
static const char *const recon_tools[] = {
	"id", "whoami",  "uname", "hostname", "ps",  "env",  "printenv", "ifconfig",
	"ip", "netstat", "ss",    "w",        "who", "last", NULL,
};
static const char *const persist_tools[] = {
	"crontab", "systemctl", "iptables", "ip6tables",   "nft",      "useradd",
	"usermod", "adduser",   "chattr",   "update-rc.d", "chpasswd", NULL,
};
/* What torch.compile/Triton/inductor, ctypes.util and nvidia tooling run
 * after a load; cc1/cc1plus/collect2 are gcc's own children. */
static const char *const benign_ml_tools[] = {
	"gcc",     "cc",        "c++",    "g++",        "clang",   "clang++",  "ld",   "ld.bfd",
	"ld.gold", "ld.lld",    "as",     "cc1",        "cc1plus", "collect2", "nvcc", "ptxas",
	"cicc",    "fatbinary", "nvlink", "nvidia-smi", "objdump", NULL,
};
static const char *const temp_dirs[] = { "/tmp/", "/var/tmp/", "/dev/shm/", NULL };

const char *const exec_known_programs[] = {
	"sh",
	"bash",
	"dash",
	"zsh",
	"ksh",
	"ash",
	"mksh",
	"rbash",
	"csh",
	"tcsh",
	"fish",
	"busybox",
	"curl",
	"wget",
	"tftp",
	"scp",
	"sftp",
	"rsync",
	"ftp",
	"lftp",
	"aria2c",
	"nc",
	"ncat",
	"netcat",
	"socat",
	"telnet",
	"nc.openbsd",
	"nc.traditional",
	"ld-linux-x86-64.so.2",
	"ld-linux-aarch64.so.1",
	"ld.so",
	"ld-musl-x86_64.so.1",
	"ld-musl-aarch64.so.1",
	"perl",
	"ruby",
	"node",
	"php",
	"base64",
	NULL,
};

static bool is_miner_name(struct slice p)
{
	for (const char *const *m = miner_prefixes; *m; m++) {
		size_t n = strlen(*m);

		if (p.n >= n && strncasecmp(p.p, *m, n) == 0)
			return true;
	}
	return false;
}

static unsigned classify_program(const struct exec_view *v)
{
	struct slice p = v->prog;
	unsigned c = 0;

	if (slice_in(p, shells))
		c |= classify_shell(v);
	if (slice_in(p, downloaders))
		c |= EXEC_DOWNLOADER;
	if (slice_eq(p, "git")) {
		const char *sub = git_subcommand(v);

		if (sub && strcmp(sub, "clone") == 0)
			c |= EXEC_DOWNLOADER;
		if (sub && (strcmp(sub, "rev-parse") == 0 || strcmp(sub, "describe") == 0 ||
			    strcmp(sub, "status") == 0))
			c |= EXEC_BENIGN_ML;
	}
	c |= classify_interp(v);
	if (slice_in(p, nettools))
		c |= EXEC_NETTOOL;
	if (is_miner_name(p))
		c |= EXEC_MINER;
	for (const char *const *u = miner_urls; *u; u++)
		if (any_arg_contains(v, *u, true))
			c |= EXEC_MINER;
	if (slice_in(p, recon_tools)) {
		const char *a0 = arg_at(v, 0);

		if (slice_eq(p, "uname") && v->nargs == 1 && a0 && strcmp(a0, "-p") == 0)
			c |= EXEC_BENIGN_ML; /* platform.processor() */
		else if (!(slice_eq(p, "env") && env_has_command(v)))
			c |= EXEC_RECON;
	}
	if (slice_in(p, persist_tools) || slice_prefix(p, "iptables-") ||
	    slice_prefix(p, "ip6tables-"))
		c |= EXEC_PERSIST_TOOL;
	if (slice_versioned(p, "pip") && pip_install_from(v, 0))
		c |= EXEC_PKG_INSTALL;
	if (slice_eq(p, "uv") && arg_at(v, 0) && strcmp(arg_at(v, 0), "pip") == 0 &&
	    pip_install_from(v, 1))
		c |= EXEC_PKG_INSTALL;
	if (slice_eq(p, "base64") && base64_decodes(v))
		c |= EXEC_BASE64_DECODE;
	if (slice_in(toolchain_name(p), benign_ml_tools))
		c |= EXEC_BENIGN_ML;
	if ((slice_eq(p, "ldconfig") || slice_eq(p, "ldconfig.real")) && v->nargs >= 1 &&
	    arg_at(v, 0) && strcmp(arg_at(v, 0), "-p") == 0)
		c |= EXEC_BENIGN_ML; /* ctypes.util.find_library */
	return c;
}

static struct slice slice_of(const char *s)
{
	struct slice r = { s, strlen(s) };
	return r;
}

/* glibc's and musl's: ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld.so ... */
const char *const exec_loader_names[] = {
	"ld-linux-x86-64.so.2",
	"ld-linux-aarch64.so.1",
	"ld-linux.so.2",
	"ld-linux.so.3",
	"ld-linux-armhf.so.3",
	"ld64.so.1",
	"ld64.so.2",
	"ld.so",
	"ld-musl-x86_64.so.1",
	"ld-musl-aarch64.so.1",
	NULL,
};

static bool is_loader(struct slice p)
{
	return slice_in(p, exec_loader_names) ||
	       (slice_prefix(p, "ld-") && memmem(p.p, p.n, ".so", 3));
}

/* ld.so [OPTIONS] PROGRAM [ARGS]: the index of PROGRAM in argv, or 0. */
static size_t loader_program(const char *const *argv, size_t argc)
{
	static const char *const valued[] = {
		"--library-path",
		"--preload",
		"--audit",
		"--argv0",
		"--inhibit-rpath",
		"--glibc-hwcaps-prepend",
		"--glibc-hwcaps-mask",
		NULL,
	};

	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!a)
			continue;
		if (a[0] != '-')
			return i;
		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : 0;
		for (const char *const *v = valued; *v; v++)
			if (strcmp(a, *v) == 0) {
				i++;
				break;
			}
	}
	return 0;
}

/* One reading of the exec: program `where` with argv[1..] as arguments. */
static unsigned classify_as(const char *where, const char *const *argv, size_t argc)
{
	const char *argv0 = argv && argc > 0 ? argv[0] : NULL;
	struct exec_view v = { { "", 0 }, NULL, 0 };
	unsigned c = 0;

	if (!argv)
		argc = 0;
	if (where) {
		for (const char *const *t = temp_dirs; *t; t++)
			if (str_prefix(where, *t))
				c |= EXEC_FROM_TEMP;
		v.prog = slice_of(basename_of(where));
	}
	if (v.prog.n == 0 && argv0)
		v.prog = slice_of(basename_of(argv0));
	v.args = argc > 1 ? argv + 1 : NULL;
	v.nargs = argc > 1 ? argc - 1 : 0;

	/* busybox runs the applet named by argv[0], or by argv[1] when argv[0]
	 * is busybox itself. */
	if (slice_eq(v.prog, "busybox")) {
		struct slice a0 = argv0 ? slice_of(basename_of(argv0)) : v.prog;

		if (!slice_eq(a0, "busybox") && a0.n) {
			v.prog = a0;
		} else if (v.nargs > 0 && v.args[0]) {
			v.prog = slice_of(basename_of(v.args[0]));
			v.args++;
			v.nargs--;
		} else {
			return c;
		}
	}
	if (v.prog.n == 0)
		return c;
	return c | classify_program(&v);
}

unsigned exec_classify(const char *path, const char *real, const char *known,
		       const char *const *argv, size_t argc, size_t *loaded)
{
	const char *where = path && *path ? path : argv && argc > 0 ? argv[0] : NULL;
	unsigned c = classify_as(where, argv, argc);
	size_t prog;

	if (loaded)
		*loaded = 0;
	/* what really runs counts too: the name as given can be anything */
	if (real && *real && (!where || strcmp(real, where) != 0))
		c |= classify_as(real, argv, argc);
	if (known && *known)
		c |= classify_as(known, argv, argc);
	if ((real && is_loader(slice_of(basename_of(real)))) ||
	    (where && is_loader(slice_of(basename_of(where)))) ||
	    (known && is_loader(slice_of(known)))) {
		prog = loader_program(argv, argc);
		if (prog) {
			c |= EXEC_VIA_LOADER | classify_as(argv[prog], argv + prog, argc - prog);
			if (loaded)
				*loaded = prog;
		}
	}
	return c;
}

/* The first operand after options; value-taking options skip their value
 * (in `valued`, each letter takes one when it ends a cluster). */
static size_t first_operand_index(const char *const *argv, size_t argc, const char *valued,
				  const char *inline_code)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n;

		if (!a)
			continue;
		if (a[0] != '-' && a[0] != '+')
			return i;
		if (strcmp(a, "-") == 0)
			return 0; /* stdin */
		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : 0;
		if (a[1] == '-')
			continue; /* long options: flags, near enough */
		n = strlen(a);
		for (size_t k = 1; k < n; k++)
			if (strchr(inline_code, a[k]))
				return 0; /* -c CODE, -e CODE, -m MODULE: no script */
		if (strchr(valued, a[n - 1]))
			i++;
	}
	return 0;
}

size_t exec_script_index(const char *prog, const char *const *argv, size_t argc)
{
	struct slice p = slice_of(prog ? prog : "");

	if (!argv || argc < 2)
		return 0;
	if (slice_versioned(p, "python") || slice_versioned(p, "pypy"))
		return first_operand_index(argv, argc, "WXQ", "cm");
	if (slice_in(p, shells))
		return first_operand_index(argv, argc, "oO", "cs");
	if (slice_versioned(p, "perl"))
		return first_operand_index(argv, argc, "", "eE");
	if (slice_versioned(p, "ruby"))
		return first_operand_index(argv, argc, "", "e");
	if (slice_eq(p, "node") || slice_eq(p, "nodejs"))
		return first_operand_index(argv, argc, "r", "ep");
	if (slice_versioned(p, "php"))
		return first_operand_index(argv, argc, "cdz", "rBRE");
	if (slice_versioned(p, "lua"))
		return first_operand_index(argv, argc, "l", "e");
	return 0;
}

static const char *const class_names[] = {
	"shell",         "shell-inline", "downloader",   "inline-interp", "nettool",
	"miner",         "recon",        "persist-tool", "pkg-install",   "from-temp",
	"base64-decode", "benign-ml",    "fileless",     "via-loader",
};
/* Every name and a comma each: the longest possible list. */
#define EXEC_NAMES_MAX 192
#define TRUNC_MARK "..."

const char *exec_class_names(unsigned classes, char *buf, size_t len)
{
	char full[EXEC_NAMES_MAX];
	size_t n = 0;

	if (!buf || len == 0)
		return buf;
	full[0] = '\0';
	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
		if (!(classes & (1u << i)))
			continue;
		size_t m = strlen(class_names[i]);

		if (n + (n ? 1 : 0) + m >= sizeof(full))
			break; /* cannot happen: EXEC_NAMES_MAX covers all names */
		if (n)
			full[n++] = ',';
		memcpy(full + n, class_names[i], m);
		n += m;
		full[n] = '\0';
	}
	if (n < len) {
		memcpy(buf, full, n + 1);
		return buf;
	}
	/* Too small: keep what fits and say so with a trailing "...". */
	size_t mark = strlen(TRUNC_MARK);
	if (len > mark) {
		memcpy(buf, full, len - 1 - mark);
		memcpy(buf + len - 1 - mark, TRUNC_MARK, mark + 1);
	} else {
		memcpy(buf, full, len - 1);
		buf[len - 1] = '\0';
	}
	return buf;
}

const char *const *exec_class_programs(unsigned cls)
{
	switch (cls) {
	case EXEC_SHELL:
		return shells;
	case EXEC_DOWNLOADER:
		return downloaders;
	case EXEC_NETTOOL:
		return nettools;
	case EXEC_MINER:
		return miner_prefixes;
	default:
		return NULL;
	}
}
