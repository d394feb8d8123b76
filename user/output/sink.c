/* Sinks: text and JSON-lines output to stdout or a file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert_render.h"
#include "sink.h"
#include "detect/pathclass.h"
#include "inventory/inventory.h"
#include "lib/safeopen.h"
#include "lib/textsan.h"
#include "lib/timefmt.h"

int sink_open(struct sink *s, const char *path, bool json)
{
	char why[1024];
	int fd;

	memset(s, 0, sizeof(*s));
	s->json = json;
	if (!path) {
		s->f = stdout;
		return 0;
	}
	/* root appending where others may plant a link or a file first */
	fd = safeopen_output(path, why, sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "mlwatch: output file %s\n", why);
		return fd;
	}
	s->f = fdopen(fd, "a");
	if (!s->f) {
		int err = errno;

		close(fd);
		fprintf(stderr, "mlwatch: output file %s: %s\n", why, strerror(err));
		return -err;
	}
	s->owned = true;
	return 0;
}

void sink_close(struct sink *s)
{
	if (s->owned && s->f)
		fclose(s->f);
	s->f = NULL;
}

void sink_alert(struct sink *s, const struct alert *a)
{
	int rc;

	if (s->json) {
		cJSON *j = alert_to_json(a);
		char *line = j ? cJSON_PrintUnformatted(j) : NULL;

		rc = line ? fprintf(s->f, "%s\n", line) : -1;
		free(line);
		cJSON_Delete(j);
	} else {
		char *buf = malloc(64 * 1024);

		rc = buf ? (alert_to_text(a, buf, 64 * 1024), fputs(buf, s->f)) : -1;
		free(buf);
	}
	if (rc < 0 || fflush(s->f) != 0)
		s->failed++;
	else
		s->written++;
}

void sink_line(struct sink *s, const char *line)
{
	if (fprintf(s->f, "%s\n", line) < 0 || fflush(s->f) != 0)
		s->failed++;
	else
		s->written++;
}
