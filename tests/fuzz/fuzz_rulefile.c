/* libFuzzer target: rules files. Whoever writes one is trusted to choose
 * the rules, not to crash the monitor: a bad file must come back as
 * messages. A file that loads is also matched against a few events,
 * printed, and must load again from its own JSON. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/rules_cmd.h"
#include "detect/rulefile.h"

static void exercise(const struct ruleset *rs)
{
	static struct event ev;
	static struct facts f;
	static struct mlw_open op = { .ret = 3, .flags = O_RDWR };
	static struct mlw_connect co = {
		.ret = -111,
		.addr = { .family = AF_INET6,
			  .port = 4444,
			  .addr = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 } }
	};
	static const char *argv[] = { "/tmp/x", "-c", "stratum+tcp://a [b] *c*", "" };
	const struct rule *hits[16];
	char line[4096];

	memset(&ev, 0, sizeof(ev));
	memset(&f, 0, sizeof(f));
	ev.hdr.mark.reason = MLW_MARK_ROOT;
	ev.hdr.mark.mark_ns = 1;
	ev.hdr.ts_ns = 5000000000ull;
	ev.kind = MLW_EV_EXEC;
	ev.path = "/tmp/x";
	memcpy(ev.argv, argv, sizeof(argv));
	ev.argc = 4;
	strcpy(f.resolved_path, "/tmp/x");
	f.exec_classes = ~0u;
	ruleset_match(rs, &ev, &f, NULL, hits, 16);
	ev.kind = MLW_EV_OPEN;
	ev.u.open = &op;
	f.credential = "ssh-key";
	f.open_write = true;
	ruleset_match(rs, &ev, &f, "/usr/bin/python3", hits, 16);
	ev.kind = MLW_EV_CONNECT;
	ev.u.connect = &co;
	f.dest = DEST_EXTERNAL;
	f.port = 4444;
	ruleset_match(rs, &ev, &f, "", hits, 16);
	for (size_t i = 0; i < rs->n_rules; i++)
		rule_filter_summary(&rs->rules[i].match, line, sizeof(line));
	for (size_t i = 0; i < rs->n_allow; i++)
		rule_filter_summary(&rs->allow[i], line, sizeof(line));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rule_errors errs;
	struct ruleset *rs = NULL, *again = NULL;
	/* exact-size heap copy, not NUL-terminated: ASan sees any read past it */
	char *text = malloc(size ? size : 1);
	cJSON *j;
	char *s;

	if (!text)
		return 0;
	memcpy(text, data, size);
	rule_errors_init(&errs);
	if (ruleset_parse(text, size, "fuzz.json", &rs, &errs) == 0) {
		if (errs.n)
			__builtin_trap(); /* loaded, yet complained */
		exercise(rs);
		j = ruleset_to_json(rs, false);
		s = j ? cJSON_PrintUnformatted(j) : NULL;
		if (s && ruleset_parse(s, strlen(s), "again.json", &again, &errs) != 0)
			__builtin_trap(); /* its own listing must load */
		ruleset_free(again);
		cJSON_free(s);
		cJSON_Delete(j);
		ruleset_free(rs);
	} else {
		if (rs || (!errs.n && !errs.dropped))
			__builtin_trap(); /* refused without a word */
		for (size_t i = 0; i < errs.n; i++)
			if (strchr(errs.msgs[i], '\n'))
				__builtin_trap(); /* a message must stay one line */
	}
	rule_errors_free(&errs);
	free(text);
	return 0;
}
