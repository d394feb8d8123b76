// SPDX-License-Identifier: GPL-2.0
/*
 * Runs mlw_match_path() on a path from user space (BPF_PROG_TEST_RUN), so
 * tests/unit/sense/test_model_match_bpf.c can check the kernel matcher
 * against the extension lists user space pushes. Linked with the product's
 * model_match.bpf.o, not a copy of it.
 */
#include "model_match.bpf.h"
#include "model_match_test.h"

_Static_assert(MLW_TEST_NONE == MLW_MATCH_NONE && MLW_TEST_MODEL == MLW_MATCH_MODEL &&
		       MLW_TEST_QUIET == MLW_MATCH_QUIET,
	       "verdicts differ from model_match.bpf.h");

SEC("syscall")
int model_match_test(struct mlw_match_test *ctx)
{
	struct mlw_pathbuf *pb = pathbuf_get();

	ctx->result = -1;
	if (!pb)
		return 1;
	/* as the sensors read a path: the bytes after its NUL are left as
	 * the previous path left them */
	if (bpf_probe_read_kernel_str(pb->path, sizeof(pb->path), ctx->path) < 0)
		return 2;
	ctx->result = mlw_match_path(ctx->len, ctx->want_quiet);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
