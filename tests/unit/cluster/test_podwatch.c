/* The API's settings from the environment: no cluster is no error, a
 * wrong setting is named. (The watch itself: tests/e2e/test_podid.py,
 * against an HTTPS stand-in of the API server.) */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "cluster/podwatch.h"

static char tok[64], ca[64];

static void clear(void)
{
	static const char *const vars[] = { "MLWATCH_K8S_API",         "KUBERNETES_SERVICE_HOST",
					    "KUBERNETES_SERVICE_PORT", "NODE_NAME",
					    "MLWATCH_K8S_TOKEN_FILE",  "MLWATCH_K8S_CA_FILE" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int conf(struct podwatch_conf *c, char *why, size_t len)
{
	why[0] = 0;
	return podwatch_conf_env(c, why, len);
}

static void test_no_cluster(void)
{
	struct podwatch_conf c;
	char why[512];

	clear();
	CHECK(conf(&c, why, sizeof(why)) == 0);
	CHECK(strstr(why, "not in a Kubernetes cluster") != NULL);
	/* in a pod whose token is not mounted: a choice, not an error */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	if (access(PODWATCH_SA_DIR "/token", R_OK)) {
		CHECK(conf(&c, why, sizeof(why)) == 0);
		CHECK(strstr(why, "cannot read the service account token") != NULL);
	}
}

static void test_in_cluster(void)
{
	struct podwatch_conf c;
	char why[512];

	clear();
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	setenv("MLWATCH_K8S_TOKEN_FILE", tok, 1);
	setenv("MLWATCH_K8S_CA_FILE", ca, 1);
	setenv("NODE_NAME", "gpu-node-7.example", 1);
	CHECK(conf(&c, why, sizeof(why)) == 1);
	CHECK_STR(c.api, "https://[fd00::1]:6443");
	CHECK_STR(c.node, "gpu-node-7.example");
	CHECK_STR(c.token_file, tok);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	unsetenv("KUBERNETES_SERVICE_PORT");
	CHECK(conf(&c, why, sizeof(why)) == 1);
	CHECK_STR(c.api, "https://10.96.0.1:443");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1/x?", 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "KUBERNETES_SERVICE_HOST") != NULL);
}

static void test_wrong_settings_named(void)
{
	struct podwatch_conf c;
	char why[512];

	clear();
	setenv("MLWATCH_K8S_API", "https://127.0.0.1:8443/", 1);
	setenv("MLWATCH_K8S_TOKEN_FILE", tok, 1);
	setenv("MLWATCH_K8S_CA_FILE", ca, 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "NODE_NAME is unset") != NULL);
	setenv("NODE_NAME", "Node_1", 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "NODE_NAME is not a node name") != NULL);
	setenv("NODE_NAME", "n1", 1);
	CHECK(conf(&c, why, sizeof(why)) == 1);
	CHECK_STR(c.api, "https://127.0.0.1:8443");
	setenv("MLWATCH_K8S_API", "http://127.0.0.1:8080", 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "https://") != NULL);
	setenv("MLWATCH_K8S_API", "https://127.0.0.1:8443", 1);
	setenv("MLWATCH_K8S_TOKEN_FILE", "/nonexistent/token", 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "/nonexistent/token") != NULL);
	setenv("MLWATCH_K8S_TOKEN_FILE", tok, 1);
	setenv("MLWATCH_K8S_CA_FILE", "/nonexistent/ca.crt", 1);
	CHECK(conf(&c, why, sizeof(why)) == -1);
	CHECK(strstr(why, "/nonexistent/ca.crt") != NULL);
}

int main(void)
{
	int fd;

	snprintf(tok, sizeof(tok), "/tmp/mlw-tok-XXXXXX");
	snprintf(ca, sizeof(ca), "/tmp/mlw-ca-XXXXXX");
	if ((fd = mkstemp(tok)) >= 0)
		close(fd);
	if ((fd = mkstemp(ca)) >= 0)
		close(fd);
	RUN(test_no_cluster);
	RUN(test_in_cluster);
	RUN(test_wrong_settings_named);
	unlink(tok);
	unlink(ca);
	return CHECK_DONE();
}
