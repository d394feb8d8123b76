// SPDX-License-Identifier: GPL-2.0
/* The floor: empty programs on every hook mlwatch uses. What remains of
 * mlwatch's cost above this is its own work. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(sec, name) SEC(sec) int name(void *ctx) { return 0; }

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
EMPTY("tp/syscalls/sys_enter_dup2", e_dup2)
EMPTY("tp/syscalls/sys_enter_dup3", e_dup3)
EMPTY("tp/syscalls/sys_enter_execve", e_execve)
EMPTY("tp/syscalls/sys_exit_execve", x_execve)
EMPTY("tp/syscalls/sys_enter_execveat", e_execveat)
EMPTY("tp/syscalls/sys_exit_execveat", x_execveat)
EMPTY("tp_btf/sched_process_exec", s_exec)
EMPTY("tp_btf/sched_process_fork", s_fork)
EMPTY("tp_btf/sched_process_exit", s_exit)

char LICENSE[] SEC("license") = "GPL";
