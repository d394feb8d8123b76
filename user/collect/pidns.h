/*
 * Whether this process sees the PIDs the kernel reports. The sensors send
 * PIDs as the initial (host) PID namespace numbers them; everything read
 * from /proc by PID (exe, fds, maps, the walk at start) needs a /proc of
 * that namespace, seen from inside it. In a PID namespace of its own (a
 * container without hostPID) the numbers name other processes, or none.
 */
#ifndef MLWATCH_PIDNS_H
#define MLWATCH_PIDNS_H
#include <stddef.h>

/* The inode of the initial PID namespace's /proc/PID/ns/pid: a constant
 * of the kernel (PROC_PID_INIT_INO) since Linux 3.8. */
#define PIDNS_INIT_INO 0xEFFFFFFCu

/* How many PIDs the "NSpid:" line of a /proc/PID/status text lists (one
 * per namespace from /proc's own down to the process's); 0 when there is
 * no such line. */
int pidns_nspid_count(const char *status);
/* 0 when this process is in the initial PID namespace and /proc is that
 * namespace's; else -1 with why (a whole sentence saying what to do). */
int pidns_check(char *why, size_t len);
#endif
