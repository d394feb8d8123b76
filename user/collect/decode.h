/* Decode stage: a raw ring-buffer record -> a checked, typed event. */
#ifndef MLWATCH_DECODE_H
#define MLWATCH_DECODE_H
#include <stdbool.h>
#include <stddef.h>
#include <mlwatch/events.h>
#include "pyargs.h"

/* More argv entries than this are cut and flagged; 4 KiB of argv cannot
 * hold more than 2048 non-empty ones anyway. */
#define DECODE_ARGV_MAX 2048

struct event {
	enum mlw_event_kind kind;
	struct mlw_hdr hdr;
	char comm[MLW_COMM_LEN + 1];
	/* exec: filename; open/model_open/exec_fail: path as asked; link: the
	 * source (symlink: its target text) (NUL-terminated). */
	const char *path;
	/* exec/open/model_open: the real path of the file, from the kernel's
	 * struct file, or NULL; link: the destination; self: the actor's
	 * executable. */
	const char *kpath;
	/* exec only: argv split at NULs, pointing into argbuf. */
	const char *argv[DECODE_ARGV_MAX];
	size_t argc;
	bool args_truncated; /* kernel cut argv, or more than DECODE_ARGV_MAX */
	bool path_truncated;
	union {
		const struct mlw_exec *exec;
		const struct mlw_exec_fail *exec_fail;
		const struct mlw_fork *fork;
		const struct mlw_exit *exit;
		const struct mlw_open *open;
		const struct mlw_connect *connect;
		const struct mlw_dup *dup;
		const struct mlw_link *link;
		const struct mlw_socket *socket;
		const struct mlw_self *self;
		const struct mlw_python *python;
	} u;
	/* owned copies the pointers above point into */
	char pathbuf[MLW_PATH_MAX + 1];
	char kpathbuf[MLW_PATH_MAX + 1];
	char argbuf[MLW_ARGS_MAX + 1];
	/* python: the arguments as text (u.python has them as sent) */
	struct py_args py;
};

/* Returns 0, or -1 with a static reason in *why (the record is dropped and
 * counted by the caller). `ev->u` points into data: valid while it is. */
int event_decode(const void *data, size_t size, struct event *ev, const char **why);
const char *event_kind_name(enum mlw_event_kind k);
/* "dup2", "fcntl", "socket", ... (enum mlw_dup_syscall) */
const char *dup_syscall_name(unsigned sys);
/* "rename", "link", "symlink" (enum mlw_link_syscall) */
const char *link_syscall_name(unsigned sys);
#endif
