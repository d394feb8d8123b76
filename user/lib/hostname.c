#include "hostname.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int host_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, label = 0;

	if (!n || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.') {
			/* no empty label, none ending in '-' */
			if (!label || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return s[n - 1] != '-';
}

int node_host_name(char *out, size_t len)
{
	const char *node = getenv("NODE_NAME");

	if (!len)
		return 0;
	if (host_name_valid(node)) {
		snprintf(out, len, "%s", node);
		return 1;
	}
	memset(out, 0, len);
	if (len < 2 || gethostname(out, len - 1))
		snprintf(out, len, "unknown");
	return 0;
}
