/* What an opened path or an executed program means. */
#ifndef MLWATCH_PATHCLASS_H
#define MLWATCH_PATHCLASS_H
#include <stdbool.h>
#include <stddef.h>

/* Absolute, normalised path of a read: returns a short name of the secret
 * matched ("ssh-key", "aws-credentials", "k8s-serviceaccount-token", ...) or
 * NULL. Home directories are matched anywhere (any "/.aws/credentials"). */
const char *credential_path_match(const char *path);
/* Absolute path opened for writing: "cron", "systemd-unit", "shell-rc",
 * "ld-preload", "python-pth", "hosts", "authorized-keys", ... or NULL. */
const char *persistence_path_match(const char *path);

enum exec_class {
	EXEC_SHELL = 1u << 0,          /* sh bash dash zsh ksh ash busybox sh */
	EXEC_SHELL_INLINE = 1u << 1,   /* shell with -c or -i, or /dev/tcp/ in argv */
	EXEC_DOWNLOADER = 1u << 2,     /* curl wget tftp scp rsync, git clone */
	EXEC_INLINE_INTERP = 1u << 3,  /* python -c, perl -e, ruby -e, node -e, php -r */
	EXEC_NETTOOL = 1u << 4,        /* nc ncat netcat socat telnet */
	EXEC_MINER = 1u << 5,          /* xmrig minerd cpuminer ..., stratum+tcp in argv */
	EXEC_RECON = 1u << 6,          /* id whoami uname hostname ps env ... */
	EXEC_PERSIST_TOOL = 1u << 7,   /* crontab systemctl iptables useradd ... */
	EXEC_PKG_INSTALL = 1u << 8,    /* pip install, python -m pip install */
	EXEC_FROM_TEMP = 1u << 9,      /* the program lives under /tmp, /var/tmp, /dev/shm */
	EXEC_BASE64_DECODE = 1u << 10, /* base64 -d / --decode */
	EXEC_BENIGN_ML =
		1u
		<< 11, /* gcc cc ld nvcc ptxas nvidia-smi, ldconfig -p, uname -p, git rev-parse */
	EXEC_FILELESS = 1u << 12,   /* a memfd or a deleted file (set by the caller) */
	EXEC_VIA_LOADER = 1u << 13, /* run through the dynamic loader (ld.so PROGRAM) */
};

/* The program names (basenames) behind a name-based class (EXEC_SHELL,
 * EXEC_DOWNLOADER, EXEC_NETTOOL, EXEC_MINER), NULL-terminated; NULL for
 * other classes. What --enforce gives the kernel to kill at exec. */
const char *const *exec_class_programs(unsigned cls);

/* The names worth knowing by identity (exeid.h): every program a class
 * above names, and the dynamic loaders. NULL-terminated. */
extern const char *const exec_known_programs[];
/* The dynamic loaders' names (ld-linux-x86-64.so.2 ...), NULL-terminated. */
extern const char *const exec_loader_names[];

/*
 * What an exec runs. path: the program as named (absolute when known);
 * real: the file that really runs, from the kernel (NULL if unknown); known:
 * its name by identity (exeid, or NULL); argv: argc strings. A shell behind
 * a symlink or a hard link under a harmless name is a shell; the dynamic
 * loader run as a program (ld.so /bin/sh) is classified by the program it
 * loads, plus EXEC_VIA_LOADER. *loaded (may be NULL) gets the index in argv
 * of that program, or 0.
 */
unsigned exec_classify(const char *path, const char *real, const char *known,
		       const char *const *argv, size_t argc, size_t *loaded);
/* An interpreter given a script (python x.py, sh x.sh, perl x.pl, ...): the
 * index of the script in argv, or 0 when there is none (inline code, a
 * module, stdin, or not an interpreter). prog: the program's basename. */
size_t exec_script_index(const char *prog, const char *const *argv, size_t argc);
/* "shell,inline-shell" style list of the set bits, into buf. */
const char *exec_class_names(unsigned classes, char *buf, size_t len);
#endif
