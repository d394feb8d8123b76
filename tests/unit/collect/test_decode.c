#include <stdlib.h>
#include "check.h"
#include "collect/decode.h"

static struct event ev;

static size_t make_exec(unsigned char *buf, const char *file, const char *args, size_t args_len)
{
	struct mlw_exec *e = (struct mlw_exec *)buf;
	size_t fl = strlen(file) + 1;

	memset(e, 0, sizeof(*e));
	e->hdr.kind = MLW_EV_EXEC;
	e->hdr.tgid = 10;
	memcpy(e->hdr.comm, "sh", 3);
	e->filename_len = (u32)fl;
	e->args_len = (u32)args_len;
	memcpy(e->data, file, fl);
	memcpy(e->data + fl, args, args_len);
	return sizeof(*e) + fl + args_len;
}

static void test_exec_argv_split(void)
{
	static unsigned char buf[16384];
	const char args[] = "sh\0-c\0touch x";
	size_t n = make_exec(buf, "/bin/sh", args, sizeof(args));
	const char *why;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK(ev.kind == MLW_EV_EXEC);
	CHECK_STR(ev.path, "/bin/sh");
	CHECK(ev.argc == 3);
	CHECK_STR(ev.argv[2], "touch x");
	CHECK_STR(ev.comm, "sh");
}

static void test_exec_cut_last_arg_terminated(void)
{
	static unsigned char buf[16384];
	const char args[] = { 's', 'h', 0, 'a', 'b' }; /* no final NUL */
	size_t n = make_exec(buf, "/bin/sh", args, sizeof(args));
	const char *why;

	CHECK(event_decode(buf, n, &ev, &why) == 0);
	CHECK(ev.argc == 2);
	CHECK_STR(ev.argv[1], "ab");
}

static void test_lengths_past_record_rejected(void)
{
	static unsigned char buf[16384];
	size_t n = make_exec(buf, "/bin/sh", "sh", 3);
	const char *why = NULL;

	((struct mlw_exec *)buf)->args_len = 5000;
	CHECK(event_decode(buf, n, &ev, &why) == -1);
	CHECK(why != NULL);
	((struct mlw_exec *)buf)->args_len = 3;
	((struct mlw_exec *)buf)->filename_len = 0xffffffffu;
	CHECK(event_decode(buf, n, &ev, &why) == -1);
}

static void test_short_and_unknown_rejected(void)
{
	struct mlw_hdr h = { .kind = MLW_EV_CONNECT };
	const char *why;

	CHECK(event_decode(&h, sizeof(h) - 1, &ev, &why) == -1);
	CHECK(event_decode(&h, sizeof(h), &ev, &why) == -1); /* shorter than mlw_connect */
	h.kind = 99;
	CHECK(event_decode(&h, sizeof(h), &ev, &why) == -1);
	h.kind = 0;
	CHECK(event_decode(&h, sizeof(h), &ev, &why) == -1);
}

static void test_open_path_without_nul(void)
{
	static unsigned char buf[16384];
	struct mlw_open *o = (struct mlw_open *)buf;
	const char *why;

	memset(o, 0, sizeof(*o));
	o->hdr.kind = MLW_EV_OPEN;
	o->hdr.flags = MLW_F_PATH_TRUNC;
	o->path_len = 4;
	memcpy(o->data, "/etc", 4); /* no NUL inside the record */
	CHECK(event_decode(buf, sizeof(*o) + 4, &ev, &why) == 0);
	CHECK_STR(ev.path, "/etc");
	CHECK(ev.path_truncated);
}

/* A relative rename source and destination come with the directories the
 * kernel looked them up from: decoded, they are absolute. */
static void test_link_relative_names_joined(void)
{
	static unsigned char buf[16384];
	struct mlw_link *l = (struct mlw_link *)buf;
	const char *parts[] = { "../k.tmp", "authorized_keys", "/home/u/tmp", "/home/u/.ssh/" };
	size_t off = 0;
	const char *why;

	memset(l, 0, sizeof(*l));
	l->hdr.kind = MLW_EV_LINK;
	l->syscall = MLW_LINK_RENAME;
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(parts[i]) + 1;

		memcpy(l->data + off, parts[i], n);
		off += n;
	}
	l->old_len = 9;
	l->new_len = 16;
	l->olddir_len = 12;
	l->newdir_len = 14;
	CHECK(event_decode(buf, sizeof(*l) + off, &ev, &why) == 0);
	CHECK_STR(ev.path, "/home/u/k.tmp");
	CHECK_STR(ev.kpath, "/home/u/.ssh/authorized_keys");
	/* an absolute name keeps its own; lengths past the record are refused */
	memcpy(l->data + 9, "/etc/x\0", 7);
	CHECK(event_decode(buf, sizeof(*l) + off, &ev, &why) == 0);
	CHECK_STR(ev.kpath, "/etc/x");
	l->newdir_len = 15;
	CHECK(event_decode(buf, sizeof(*l) + off, &ev, &why) == -1);
}

/* Random records: whatever decodes must respect the limits (the fuzz
 * target runs this under ASan); both outcomes must occur. */
/* What another process did to mlwatch: its executable's path from the
 * kernel, a length past the record refused. */
static void test_self_record(void)
{
	static unsigned char buf[16384];
	struct mlw_self *x = (struct mlw_self *)buf;
	const char exe[] = "/usr/sbin/bpftool";
	const char *why = NULL;

	memset(x, 0, sizeof(*x));
	x->hdr.kind = MLW_EV_SELF;
	x->op = MLW_SELF_BPF;
	x->exe_len = sizeof(exe);
	memcpy(x->data, exe, sizeof(exe));
	CHECK(event_decode(buf, sizeof(*x) + sizeof(exe), &ev, &why) == 0);
	CHECK(ev.kind == MLW_EV_SELF && ev.u.self == x);
	CHECK_STR(ev.kpath, "/usr/sbin/bpftool");
	CHECK_STR(event_kind_name(MLW_EV_SELF), "self");
	x->exe_len = sizeof(exe) + 1;
	CHECK(event_decode(buf, sizeof(*x) + sizeof(exe), &ev, &why) == -1);
	CHECK(event_decode(buf, sizeof(*x) - 1, &ev, &why) == -1);
	x->exe_len = 0;
	CHECK(event_decode(buf, sizeof(*x), &ev, &why) == 0);
	CHECK(ev.kpath == NULL);
}

static void test_random_records(void)
{
	static unsigned char buf[20000];
	int accepted = 0, rejected = 0;
	const char *why;

	srand(1);
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)rand() % sizeof(buf);

		for (size_t j = 0; j < 64 && j < n; j++)
			buf[j] = (unsigned char)rand();
		if (n >= sizeof(struct mlw_hdr))
			((struct mlw_hdr *)buf)->kind = (u32)(rand() % 10);
		if (event_decode(buf, n, &ev, &why)) {
			rejected++;
			continue;
		}
		accepted++;
		CHECK(ev.kind > 0 && ev.kind < MLW_EV_KIND_MAX);
		CHECK(ev.argc <= DECODE_ARGV_MAX);
		CHECK(!ev.path || strlen(ev.path) <= MLW_PATH_MAX);
	}
	CHECK(accepted > 0 && rejected > 0);
}

int main(void)
{
	RUN(test_exec_argv_split);
	RUN(test_exec_cut_last_arg_terminated);
	RUN(test_lengths_past_record_rejected);
	RUN(test_short_and_unknown_rejected);
	RUN(test_link_relative_names_joined);
	RUN(test_open_path_without_nul);
	RUN(test_self_record);
	RUN(test_random_records);
	return CHECK_DONE();
}
