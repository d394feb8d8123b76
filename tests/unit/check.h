/* Minimal unit-test harness: each test binary prints one line per failed
 * check and ends with "N passed, N failed"; tests/run.sh sums them. */
#ifndef MLWATCH_TEST_CHECK_H
#define MLWATCH_TEST_CHECK_H
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_cur_failed;
static const char *check_cur_name;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s: %s:%d: %s\n", check_cur_name, __FILE__, __LINE__, #cond); \
			check_cur_failed = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                        \
	do {                                                                                   \
		const char *_a = (a), *_b = (b);                                               \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                       \
			printf("FAIL %s: %s:%d: \"%s\" != \"%s\"\n", check_cur_name, __FILE__, \
			       __LINE__, _a ? _a : "(null)", _b ? _b : "(null)");              \
			check_cur_failed = 1;                                                  \
		}                                                                              \
	} while (0)

#define RUN(fn)                                 \
	do {                                    \
		check_cur_name = #fn;           \
		check_cur_failed = 0;           \
		fn();                           \
		if (check_cur_failed)           \
			check_failed++;         \
		else {                          \
			check_passed++;         \
			printf("ok %s\n", #fn); \
		}                               \
	} while (0)

#define CHECK_DONE() \
	(printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
