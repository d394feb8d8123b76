/* UUIDv7 record ids: 48 bits of Unix milliseconds, then 74 bits that are a
 * per-run random seed plus a per-run counter, so two records of one run
 * never share an id even within a millisecond, and two runs share one only
 * if their 62-bit seeds collide. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "recid.h"

static uint64_t seed;
static uint64_t counter;

static uint64_t recid_seed(void)
{
	uint64_t s = __atomic_load_n(&seed, __ATOMIC_ACQUIRE);
	uint64_t r = 0;
	struct timespec ts;

	if (s)
		return s;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
		/* no entropy yet: time and pid still differ between runs */
		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 48);
	}
	r |= 1; /* never 0, which means "not drawn yet" */
	__atomic_compare_exchange_n(&seed, &s, r, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&seed, __ATOMIC_ACQUIRE);
}

void recid_new(char out[RECID_SIZE])
{
	uint64_t n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	uint64_t s = recid_seed();
	struct timespec ts;
	uint64_t ms, hi, lo;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* 48-bit time, version 7, 12 bits of the seed */
	hi = (ms & 0xffffffffffffull) << 16 | 0x7000 | (s >> 52 & 0xfff);
	/* variant 10, 62 bits: seed + counter (distinct for 2^62 records) */
	lo = 0x8000000000000000ull | ((s + n) & 0x3fffffffffffffffull);
	snprintf(out, RECID_SIZE, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)(hi >> 16 & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffull));
}
