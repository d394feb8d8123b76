// SPDX-License-Identifier: GPL-2.0
/* The floor: empty programs on every hook mlwatch uses. What remains of
 * mlwatch's cost above this is its own work. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h> /* the USDT attach needs its maps */

#define EMPTY(sec, name)             \
	SEC(sec) int name(void *ctx) \
	{                            \
		return 0;            \
	}

EMPTY("tp/syscalls/sys_enter_openat", e_openat)
EMPTY("tp/syscalls/sys_exit_openat", x_openat)
EMPTY("tp/syscalls/sys_enter_open", e_open)
EMPTY("tp/syscalls/sys_exit_open", x_open)
EMPTY("tp/syscalls/sys_enter_openat2", e_openat2)
EMPTY("tp/syscalls/sys_exit_openat2", x_openat2)
EMPTY("tp/syscalls/sys_enter_creat", e_creat)
EMPTY("tp/syscalls/sys_exit_creat", x_creat)
EMPTY("tp/syscalls/sys_enter_connect", e_connect)
EMPTY("tp/syscalls/sys_exit_connect", x_connect)
EMPTY("tp/syscalls/sys_exit_dup", x_dup)
EMPTY("tp/syscalls/sys_exit_dup2", x_dup2)
EMPTY("tp/syscalls/sys_exit_dup3", x_dup3)
EMPTY("tp/syscalls/sys_exit_fcntl", x_fcntl)
EMPTY("tp/syscalls/sys_exit_socket", x_socket)
EMPTY("tp/syscalls/sys_exit_accept", x_accept)
EMPTY("tp/syscalls/sys_exit_accept4", x_accept4)
EMPTY("tp/syscalls/sys_exit_pidfd_getfd", x_pidfd_getfd)
EMPTY("tp/syscalls/sys_exit_rename", x_rename)
EMPTY("tp/syscalls/sys_exit_renameat", x_renameat)
EMPTY("tp/syscalls/sys_exit_renameat2", x_renameat2)
EMPTY("tp/syscalls/sys_exit_link", x_link)
EMPTY("tp/syscalls/sys_exit_linkat", x_linkat)
EMPTY("tp/syscalls/sys_exit_symlink", x_symlink)
EMPTY("tp/syscalls/sys_exit_symlinkat", x_symlinkat)
EMPTY("tp/syscalls/sys_enter_execve", e_execve)
EMPTY("tp/syscalls/sys_exit_execve", x_execve)
EMPTY("tp/syscalls/sys_enter_execveat", e_execveat)
EMPTY("tp/syscalls/sys_exit_execveat", x_execveat)
EMPTY("tp_btf/sched_process_exec", s_exec)
EMPTY("tp_btf/sched_process_fork", s_fork)
EMPTY("tp_btf/sched_process_exit", s_exit)
EMPTY("tp_btf/task_rename", s_rename)
EMPTY("tp_btf/io_uring_submit_req", u_submit)
EMPTY("tp_btf/io_uring_complete", u_complete)

/* the cgroup sock_addr hooks let everything through (1) */
#define PASS(sec, name)                              \
	SEC(sec) int name(struct bpf_sock_addr *ctx) \
	{                                            \
		return 1;                            \
	}
PASS("cgroup/connect4", c_connect4)
PASS("cgroup/connect6", c_connect6)
PASS("cgroup/sendmsg4", c_sendmsg4)
PASS("cgroup/sendmsg6", c_sendmsg6)

/* python:audit of the interpreter named on floor's command line */
EMPTY("usdt", p_audit)

char LICENSE[] SEC("license") = "GPL";
