/* ECS documents: categorization per record and event kind, process, file,
 * destination, threat from ATT&CK tags, and the original record kept. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "records.h"

static cJSON *ecs(const char *json)
{
	char *s = render(OUT_ELASTICSEARCH, FMT_ECS, json);
	cJSON *j = s ? cJSON_Parse(s) : NULL;

	CHECK(one_line_utf8(s));
	free(s);
	return j;
}

static const char *first(const cJSON *j, const char *path)
{
	return cJSON_GetStringValue(cJSON_GetArrayItem(jpath(j, path), 0));
}

static void test_alert(void)
{
	cJSON *j = ecs(J_SHELL), *rec = cJSON_Parse(J_SHELL);

	CHECK_STR(jstr(j, "@timestamp"), "2026-12-06T20:22:17.974Z");
	CHECK_STR(jstr(j, "ecs.version"), "8.11.0");
	CHECK_STR(jstr(j, "event.kind"), "alert");
	CHECK_STR(first(j, "event.category"), "process");
	CHECK_STR(first(j, "event.type"), "start");
	CHECK_STR(jstr(j, "event.id"), "6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04");
	CHECK(jnum(j, "event.severity") == 4);
	CHECK(jnum(j, "event.risk_score") == 99);
	CHECK_STR(jstr(j, "event.module"), "mlwatch");
	CHECK_STR(jstr(j, "event.dataset"), "mlwatch.alert");
	CHECK(jnum(j, "process.pid") == 11369);
	CHECK(jnum(j, "process.parent.pid") == 11367);
	CHECK_STR(jstr(j, "process.parent.executable"), "/usr/bin/python3.11");
	CHECK_STR(jstr(j, "process.executable"), "/bin/sh");
	CHECK_STR(jstr(j, "process.name"), "sh");
	CHECK(jnum(j, "process.args_count") == 3);
	CHECK_STR(jstr(j, "process.command_line"), "sh -c touch /tmp/m/MARKER");
	CHECK_STR(jstr(j, "process.user.id"), "0");
	CHECK_STR(jstr(j, "file.path"), "/tmp/m/model.pkl");
	CHECK_STR(jstr(j, "host.hostname"), "vm");
	CHECK_STR(jstr(j, "rule.id"), "model-loader-shell");
	CHECK_STR(jstr(j, "rule.description"), "Shell started by a process that loaded a model");
	CHECK_STR(jstr(j, "threat.framework"), "MITRE ATT&CK");
	CHECK_STR(first(j, "threat.technique.id"), "T1059");
	CHECK_STR(first(j, "threat.technique.name"), "Command and Scripting Interpreter");
	CHECK_STR(first(j, "threat.technique.subtechnique.id"), "T1059.004");
	CHECK_STR(first(j, "threat.technique.subtechnique.name"), "Unix Shell");
	CHECK_STR(first(j, "threat.technique.subtechnique.reference"),
		  "https://attack.mitre.org/techniques/T1059/004/");
	/* ATLAS ids stay in tags */
	CHECK(cJSON_GetArraySize(jpath(j, "tags")) == 3);
	CHECK_STR(first(j, "tags"), "AML.T0011.000");
	CHECK_STR(jstr(j, "message"),
		  "Shell started by a process that loaded a model: exec sh -c touch /tmp/m/MARKER");
	/* nothing lost */
	CHECK(cJSON_Compare(jpath(j, "mlwatch"), rec, true));
	cJSON_Delete(j);
	cJSON_Delete(rec);
}

static void test_categories(void)
{
	static const struct {
		const char *json, *cat, *type;
	} t[] = {
		{ J_CONNECT, "network", "connection" },
		{ J_DUP, "process", "change" },
		{ J_SCAN, "file", "access" },
		{ J_BLOCKLISTED, "file", "info" },
		{ J_HEALTH, "intrusion_detection", "info" },
		{ J_INCIDENT_CLOSED, "intrusion_detection", "info" },
		{ J_INVENTORY, "file", "access" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"event\":{\"kind\":"
		  "\"open\",\"path\":\"/etc/cron.d/x\",\"flags\":[\"O_WRONLY\",\"O_CREAT\"]}}",
		  "file", "change" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"event\":{\"kind\":"
		  "\"link\",\"path\":\"/etc/x\"}}",
		  "file", "change" },
		{ "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"event\":{\"kind\":"
		  "\"socket\"}}",
		  "network", "info" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *j = ecs(t[i].json);

		CHECK_STR(first(j, "event.category"), t[i].cat);
		CHECK_STR(first(j, "event.type"), t[i].type);
		cJSON_Delete(j);
	}
}

static void test_kinds(void)
{
	cJSON *j = ecs(J_INVENTORY);

	CHECK_STR(jstr(j, "event.kind"), "event");
	CHECK_STR(jstr(j, "event.dataset"), "mlwatch.inventory");
	CHECK(jnum(j, "event.severity") == 0);
	CHECK(jpath(j, "event.risk_score") == NULL);
	CHECK(jnum(j, "file.size") == 549);
	CHECK_STR(jstr(j, "file.hash.sha256"),
		  "eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c25c70354703");
	cJSON_Delete(j);
	j = ecs(J_BLOCKLISTED);
	CHECK_STR(jstr(j, "file.hash.sha256"),
		  "eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c25c70354703");
	cJSON_Delete(j);
	j = ecs(J_INCIDENT_CLOSED);
	CHECK_STR(jstr(j, "event.kind"), "alert");
	CHECK_STR(jstr(j, "event.dataset"), "mlwatch.incident");
	CHECK_STR(jstr(j, "event.start"), "2026-12-06T20:22:17.948Z");
	CHECK_STR(jstr(j, "event.end"), "2026-12-06T20:22:17.974Z");
	CHECK(jnum(j, "process.pid") == 11367);
	CHECK(jpath(j, "rule") == NULL);
	cJSON_Delete(j);
	j = ecs(J_HEALTH);
	CHECK_STR(jstr(j, "event.dataset"), "mlwatch.health");
	CHECK_STR(first(j, "threat.technique.subtechnique.id"), "T1562.006");
	cJSON_Delete(j);
}

static void test_event_file_and_destination(void)
{
	cJSON *j = ecs(
		"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"loader\":{\"model\":"
		"{\"path\":\"/m.pkl\"}},\"event\":{\"kind\":\"open\",\"path\":\"~/.ssh/id_rsa\","
		"\"resolved_path\":\"/root/.ssh/id_rsa\",\"result\":-13}}");

	/* the file the event touched, not the model */
	CHECK_STR(jstr(j, "file.path"), "/root/.ssh/id_rsa");
	CHECK_STR(jstr(j, "file.name"), "id_rsa");
	CHECK_STR(jstr(j, "event.outcome"), "failure");
	cJSON_Delete(j);
	j = ecs(J_CONNECT);
	CHECK_STR(jstr(j, "destination.ip"), "127.0.0.1");
	CHECK(jnum(j, "destination.port") == 36525);
	CHECK_STR(jstr(j, "event.outcome"), "success");
	cJSON_Delete(j);
	j = ecs("{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"event\":{\"kind\":"
		"\"connect\",\"address\":\"169.254.169.254\",\"port\":80,\"enforcement\":"
		"\"refused\"}}");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(jpath(j, "event.type"), 1)), "denied");
	cJSON_Delete(j);
}

/* a process in a pod (README.md, "Containers and pods") */
#define J_POD                                                                                       \
	"{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"high\",\"rule\":{"  \
	"\"id\":\"model-loader-shell\",\"title\":\"t\"},\"process\":{\"pid\":5,\"tid\":5,"          \
	"\"ppid\":4,\"uid\":0,\"comm\":\"sh\",\"exe\":\"/bin/sh\",\"args\":[\"sh\"]},"              \
	"\"container\":{\"id\":\"abc\",\"runtime\":\"containerd\"},\"k8s\":{\"pod_uid\":\"u-1\","   \
	"\"pod\":\"trainer-0\",\"namespace\":\"ml\",\"labels\":{\"app\":\"trainer\",\"v\":\"2\"}}," \
	"\"event\":{\"kind\":\"exec\"}}"

static void test_container_and_pod(void)
{
	cJSON *j = ecs(J_POD);

	CHECK_STR(jstr(j, "container.id"), "abc");
	CHECK_STR(jstr(j, "container.runtime"), "containerd");
	CHECK_STR(jstr(j, "orchestrator.type"), "kubernetes");
	CHECK_STR(jstr(j, "orchestrator.namespace"), "ml");
	CHECK_STR(jstr(j, "orchestrator.resource.type"), "pod");
	CHECK_STR(jstr(j, "orchestrator.resource.id"), "u-1");
	CHECK_STR(jstr(j, "orchestrator.resource.name"), "trainer-0");
	CHECK(cJSON_GetArraySize(jpath(j, "orchestrator.resource.label")) == 2);
	CHECK_STR(first(j, "orchestrator.resource.label"), "app:trainer");
	cJSON_Delete(j);
	j = ecs(J_SHELL);
	CHECK(jpath(j, "orchestrator") == NULL && jpath(j, "container") == NULL);
	cJSON_Delete(j);
}

static void test_threat_dedup(void)
{
	cJSON *j = ecs("{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"tags\":"
		       "[\"T1059.004\",\"T1059\",\"T1059.006\",\"TA0002\",\"T9999\",\"M1038\","
		       "\"AML.T0011.000\",\"T1059.4\"]}");

	/* T1059 once; T9999 has no name; TA0002 a tactic; the rest tags only */
	CHECK(cJSON_GetArraySize(jpath(j, "threat.technique.id")) == 2);
	CHECK(cJSON_GetArraySize(jpath(j, "threat.technique.name")) == 1);
	CHECK(cJSON_GetArraySize(jpath(j, "threat.technique.subtechnique.id")) == 2);
	CHECK_STR(first(j, "threat.tactic.id"), "TA0002");
	CHECK(cJSON_GetArraySize(jpath(j, "tags")) == 8);
	cJSON_Delete(j);
	j = ecs("{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"tags\":[\"AML.T0011\"]}");
	CHECK(jpath(j, "threat") == NULL);
	cJSON_Delete(j);
}

int main(void)
{
	RUN(test_alert);
	RUN(test_categories);
	RUN(test_kinds);
	RUN(test_event_file_and_destination);
	RUN(test_threat_dedup);
	RUN(test_container_and_pod);
	return CHECK_DONE();
}
