/* What one job on untrusted bytes (the scan of one file, one inert check)
 * may spend, shared by every part of it: wall-clock time and bytes that
 * decompression produces. The loops that the input drives (archive
 * members, pickle opcodes, inflate steps, reads) check it, so one hostile
 * file costs at most its own budget, never the next file's; what ran out
 * stays recorded in spent. A NULL budget never runs out. */
#ifndef MLWATCH_BUDGET_H
#define MLWATCH_BUDGET_H
#include <stdbool.h>
#include <stdint.h>

enum budget_kind {
	BUDGET_TIME = 1 << 0,    /* the deadline passed */
	BUDGET_INFLATE = 1 << 1, /* decompression produced all it may */
};

struct budget {
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC; 0: none */
	uint64_t inflate_left; /* bytes decompression may still produce */
	uint64_t inflated;     /* bytes it produced so far */
	unsigned spent;        /* enum budget_kind bits: what ran out */
};

/* time_ms, inflate: 0 for no limit. */
void budget_init(struct budget *b, uint64_t time_ms, uint64_t inflate);
uint64_t budget_now_ns(void);
/* Reads the clock: true once the deadline has passed (and from then on). */
bool budget_time_up(struct budget *b);
/* How many of want bytes decompression may produce now. */
uint64_t budget_inflate_room(const struct budget *b, uint64_t want);
/* Counts n bytes decompressed; cut: output was stopped at the room the
 * budget gave, with more to come (marks BUDGET_INFLATE). */
void budget_charge_inflate(struct budget *b, uint64_t n, bool cut);
#endif
