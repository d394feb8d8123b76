/* Timestamps as every output writes them. */
#include <stdio.h>
#include <time.h>

#include "timefmt.h"

void format_rfc3339(uint64_t realtime_ns, char *out, size_t len)
{
	time_t sec = (time_t)(realtime_ns / 1000000000ull);
	unsigned ms = (unsigned)(realtime_ns / 1000000ull % 1000);
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03uZ", base, ms);
}
