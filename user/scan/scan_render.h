/* A scan report as JSON and text: names of verdicts and findings. */
#ifndef MLWATCH_SCAN_RENDER_H
#define MLWATCH_SCAN_RENDER_H
#include "model_scan.h"

const char *scan_verdict_name(enum scan_verdict v);           /* "clean", "malicious", ... */
const char *scan_finding_kind_name(enum scan_finding_kind k); /* "import", ... */
/* The report as a JSON object (strings valid UTF-8); NULL on ENOMEM. */
struct cJSON *scan_report_json(const struct scan_report *r);
/* One line per finding, hostile bytes escaped: "member @ offset: what". */
size_t scan_finding_text(const struct scan_finding *f, char *out, size_t len);
#endif
