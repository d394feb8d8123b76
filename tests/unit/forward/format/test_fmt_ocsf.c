/* OCSF 1.1.0 Detection Findings: classification, activities of an
 * incident, severity, finding_info, evidences, the record kept. */
#include <stdio.h>

#include "check.h"
#include "fmt_test.h"
#include "records.h"

static cJSON *ocsf(const char *json)
{
	char *s = render(OUT_HTTP, FMT_OCSF, json);
	cJSON *j = s ? cJSON_Parse(s) : NULL;

	CHECK(one_line_utf8(s));
	free(s);
	return j;
}

static void test_alert(void)
{
	cJSON *j = ocsf(J_SHELL), *rec = cJSON_Parse(J_SHELL);
	const cJSON *att, *ev;

	CHECK(jnum(j, "class_uid") == 2004);
	CHECK(jnum(j, "category_uid") == 2);
	CHECK(jnum(j, "activity_id") == 1);
	CHECK(jnum(j, "type_uid") == 200401);
	CHECK(jnum(j, "severity_id") == 5);
	CHECK_STR(jstr(j, "severity"), "Critical");
	CHECK(jnum(j, "time") == 1796588537974.0);
	CHECK(jnum(j, "status_id") == 1);
	CHECK_STR(jstr(j, "metadata.version"), "1.1.0");
	CHECK_STR(jstr(j, "metadata.product.name"), "mlwatch");
	CHECK_STR(jstr(j, "metadata.product.vendor_name"), "mlwatch");
	CHECK_STR(jstr(j, "metadata.product.version"), "0.1.0");
	CHECK_STR(jstr(j, "metadata.uid"), "6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04");
	CHECK_STR(jstr(j, "metadata.correlation_uid"), "mlw-73f0335019668dee");
	CHECK_STR(jstr(j, "finding_info.uid"), "6f1c1a52-6a8e-4c55-9a0e-0d1d2b3c4d04");
	CHECK_STR(jstr(j, "finding_info.title"), "Shell started by a process that loaded a model");
	CHECK_STR(jstr(j, "finding_info.analytic.uid"), "model-loader-shell");
	CHECK(jnum(j, "finding_info.analytic.type_id") == 1);
	att = cJSON_GetArrayItem(jpath(j, "finding_info.attacks"), 0);
	CHECK_STR(jstr(att, "technique.uid"), "T1059");
	CHECK_STR(jstr(att, "sub_technique.uid"), "T1059.004");
	CHECK_STR(jstr(att, "sub_technique.name"), "Unix Shell");
	CHECK(cJSON_GetArraySize(jpath(j, "finding_info.attacks")) == 1);
	ev = cJSON_GetArrayItem(jpath(j, "evidences"), 0);
	CHECK(jnum(ev, "process.pid") == 11369);
	CHECK_STR(jstr(ev, "process.cmd_line"), "sh -c touch /tmp/m/MARKER");
	CHECK_STR(jstr(ev, "process.file.path"), "/bin/sh");
	CHECK_STR(jstr(ev, "process.file.name"), "sh");
	CHECK(jnum(ev, "process.file.type_id") == 1);
	CHECK(jnum(ev, "process.parent_process.pid") == 11367);
	CHECK_STR(jstr(ev, "process.user.uid"), "0");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(jpath(ev, "process.lineage"), 0)),
		  "/usr/bin/python3.11");
	CHECK_STR(jstr(cJSON_GetArrayItem(jpath(j, "resources"), 0), "name"), "/tmp/m/model.pkl");
	CHECK_STR(jstr(j, "device.hostname"), "vm");
	CHECK(cJSON_Compare(jpath(j, "unmapped"), rec, true));
	cJSON_Delete(j);
	cJSON_Delete(rec);
}

static void test_incident_activities(void)
{
	static const struct {
		const char *status;
		int activity, status_id;
	} t[] = { { "new", 1, 1 }, { "update", 2, 2 }, { "closed", 3, 99 } };
	char json[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cJSON *j;

		snprintf(json, sizeof(json),
			 "{\"record\":\"incident\",\"status\":\"%s\",\"incident\":\"mlw-1\","
			 "\"id\":\"u%zu\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"high\"}",
			 t[i].status, i);
		j = ocsf(json);
		CHECK(jnum(j, "activity_id") == t[i].activity);
		CHECK(jnum(j, "type_uid") == 200400 + t[i].activity);
		CHECK(jnum(j, "status_id") == t[i].status_id);
		/* one finding across the incident's records */
		CHECK_STR(jstr(j, "finding_info.uid"), "mlw-1");
		CHECK(jnum(j, "severity_id") == 4);
		cJSON_Delete(j);
	}
}

static void test_incident(void)
{
	cJSON *j = ocsf(J_INCIDENT_CLOSED);
	const cJSON *rel = cJSON_GetArrayItem(jpath(j, "finding_info.related_analytics"), 0);

	CHECK_STR(jstr(rel, "uid"), "chain-reverse-shell");
	CHECK(jnum(j, "finding_info.first_seen_time") == 1796588537948.0);
	CHECK(jnum(j, "finding_info.last_seen_time") == 1796588537974.0);
	CHECK(jpath(j, "finding_info.analytic") == NULL);
	CHECK(cJSON_GetArraySize(jpath(j, "finding_info.attacks")) == 5);
	cJSON_Delete(j);
}

static void test_severities(void)
{
	static const struct {
		const char *sev;
		int id;
	} t[] = { { "low", 2 }, { "medium", 3 }, { "high", 4 }, { "critical", 5 } };
	char json[160];
	cJSON *j;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(json, sizeof(json),
			 "{\"record\":\"alert\",\"time\":\"2026-01-01T00:00:00Z\",\"severity\":\"%s\"}",
			 t[i].sev);
		j = ocsf(json);
		CHECK(jnum(j, "severity_id") == t[i].id);
		cJSON_Delete(j);
	}
	j = ocsf(J_INVENTORY);
	CHECK(jnum(j, "severity_id") == 1);
	CHECK_STR(jstr(j, "severity"), "Informational");
	CHECK_STR(jstr(cJSON_GetArrayItem(jpath(j, "resources"), 0), "uid"),
		  "eb5e352b07869a471f2865dd98af53a12a86038fb7a0837df510c25c70354703");
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
	cJSON *j = ocsf(J_POD);
	const cJSON *p = jpath(cJSON_GetArrayItem(jpath(j, "evidences"), 0), "process");

	CHECK_STR(jstr(p, "container.uid"), "abc");
	CHECK_STR(jstr(p, "container.runtime"), "containerd");
	CHECK_STR(jstr(p, "container.pod_uuid"), "u-1");
	CHECK_STR(jstr(p, "container.orchestrator"), "Kubernetes");
	cJSON_Delete(j);
}

static void test_connect_evidence(void)
{
	cJSON *j = ocsf(J_CONNECT);
	const cJSON *ev = cJSON_GetArrayItem(jpath(j, "evidences"), 0);

	CHECK_STR(jstr(ev, "dst_endpoint.ip"), "127.0.0.1");
	CHECK(jnum(ev, "dst_endpoint.port") == 36525);
	cJSON_Delete(j);
	j = ocsf(J_HEALTH);
	/* no process, no file, no destination: no evidence */
	CHECK(jpath(j, "evidences") == NULL);
	cJSON_Delete(j);
}

int main(void)
{
	RUN(test_alert);
	RUN(test_incident_activities);
	RUN(test_incident);
	RUN(test_severities);
	RUN(test_connect_evidence);
	RUN(test_container_and_pod);
	return CHECK_DONE();
}
