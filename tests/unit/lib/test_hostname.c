/* Unit tests for user/lib/hostname.c: NODE_NAME names the node when it is a
 * valid DNS name; anything else falls back to gethostname(). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/hostname.h"

static void test_valid(void)
{
	char l63[64], l64[65], long254[255];

	CHECK(host_name_valid("gpu-node-7"));
	CHECK(host_name_valid("ip-10-0-1-2.ec2.internal"));
	CHECK(host_name_valid("a"));
	CHECK(!host_name_valid(NULL));
	CHECK(!host_name_valid(""));
	CHECK(!host_name_valid("-lead"));
	CHECK(!host_name_valid("trail-"));
	CHECK(!host_name_valid("a..b"));
	CHECK(!host_name_valid(".a"));
	CHECK(!host_name_valid("a-.b"));
	CHECK(!host_name_valid("node\nforged=1"));
	CHECK(!host_name_valid("node 1"));
	CHECK(!host_name_valid("n\xc3\xa9"));
	memset(l63, 'a', 63), l63[63] = 0;
	memset(l64, 'a', 64), l64[64] = 0;
	CHECK(host_name_valid(l63));
	CHECK(!host_name_valid(l64));
	memset(long254, 'a', 254), long254[254] = 0;
	for (int i = 60; i < 254; i += 61)
		long254[i] = '.';
	CHECK(!host_name_valid(long254));
	long254[253] = 0;
	CHECK(host_name_valid(long254));
}

static void test_node_name(void)
{
	char got[256], want[256] = "";

	setenv("NODE_NAME", "gpu-node-7", 1);
	CHECK(node_host_name(got, sizeof(got)) == 1 && !strcmp(got, "gpu-node-7"));
	/* a short buffer truncates, never overruns */
	CHECK(node_host_name(got, 4) == 1 && !strcmp(got, "gpu"));

	gethostname(want, sizeof(want) - 1);
	setenv("NODE_NAME", "bad\nname", 1);
	CHECK(node_host_name(got, sizeof(got)) == 0 && !strcmp(got, want));
	unsetenv("NODE_NAME");
	CHECK(node_host_name(got, sizeof(got)) == 0 && !strcmp(got, want));
}

int main(void)
{
	RUN(test_valid);
	RUN(test_node_name);
	return CHECK_DONE();
}
