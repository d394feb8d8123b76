/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The context of the model-path matcher's test program, shared by
 * bpf/tests/model_match_test.bpf.c and its user-space test: one path in,
 * the matcher's verdict out (BPF_PROG_TEST_RUN copies the context back).
 */
#ifndef MLWATCH_MODEL_MATCH_TEST_H
#define MLWATCH_MODEL_MATCH_TEST_H

#include <mlwatch/events.h>

/* mlw_match_path()'s verdicts for user space; the test program checks
 * they are MLW_MATCH_* of bpf/model_match.bpf.h. */
#define MLW_TEST_NONE 0
#define MLW_TEST_MODEL 1
#define MLW_TEST_QUIET 2

struct mlw_match_test {
	char path[MLW_PATH_MAX]; /* NUL-terminated */
	u32 len;                 /* for mlw_match_path(), as is: strlen + 1 as
				   * the sensors pass it, or a bad one */
	u32 want_quiet;
	s32 result; /* MLW_MATCH_*, or -1 if not run */
};

#endif
