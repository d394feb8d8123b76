/* Times model_scan_path on one file: N scans, prints the median and the
 * fastest in ms, what one scan read, and the verdict. The file stays in the
 * page cache after the first scan, so this measures the parser and the
 * reads' count, not the disk. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "scan/scan_render.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 9;
	double *ms;
	struct scan_report r = { 0 };

	if (argc < 2 || n < 1 || n > 1000) {
		fprintf(stderr, "usage: scanbench FILE [N]\n");
		return 2;
	}
	ms = calloc((size_t)n, sizeof(*ms));
	if (!ms)
		return 2;
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (model_scan_path(argv[1], NULL, &r)) {
			fprintf(stderr, "scanbench: out of memory\n");
			return 2;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (i + 1 < n)
			scan_report_free(&r);
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp);
	printf("%s median_ms=%.3f min_ms=%.3f size=%llu bytes_read=%llu pickles=%zu verdict=%s "
	       "pickle_mb_per_s=%.1f\n",
	       argv[1], ms[n / 2], ms[0], (unsigned long long)r.size,
	       (unsigned long long)r.bytes_read, r.pickles, scan_verdict_name(r.verdict),
	       (double)r.bytes_read / 1048576.0 / (ms[n / 2] / 1e3));
	scan_report_free(&r);
	free(ms);
	return 0;
}
