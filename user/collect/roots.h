/*
 * ML control-plane roots (ShadowRay): processes watched with
 * their descendants whether or not they load a model. Most are known by
 * their name at exec (the kernel marks them itself); Python and Java
 * servers are known only by their argv, which user space reads from the
 * exec event the kernel sends for interpreters.
 */
#ifndef MLWATCH_ROOTS_H
#define MLWATCH_ROOTS_H
#include <stdbool.h>
#include <stddef.h>

#define ROOTS_MAX 64

struct roots {
	const char *comms[ROOTS_MAX];  /* marked at exec by name */
	bool comm_notebook[ROOTS_MAX]; /* ... an interactive one (Jupyter) */
	size_t n_comms;
	const char *interpreters[ROOTS_MAX]; /* execs sent up for an argv check */
	size_t n_interpreters;
	const char *argv_patterns[ROOTS_MAX]; /* fnmatch over the joined argv */
	bool argv_notebook[ROOTS_MAX];
	size_t n_argv_patterns;
	bool ray_workers; /* threads renamed "ray::..." (Ray workers) are roots */
};

/* The built-in set: raylet, gcs_server, tritonserver, ollama, vLLM, TGI,
 * Jupyter, TorchServe, Ray workers... */
void roots_defaults(struct roots *r);
/* Adds one entry; returns -1 when full or when the name cannot be a comm
 * (empty, or longer than the kernel's 15 characters). */
int roots_add_comm(struct roots *r, const char *comm);
int roots_add_argv(struct roots *r, const char *pattern);
/* The pattern argv (joined with spaces) matches, or NULL; *notebook (may
 * be NULL): whether it names an interactive root. */
const char *roots_argv_match(const struct roots *r, const char *const *argv, size_t argc,
			     bool *notebook);
#endif
