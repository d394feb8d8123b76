/*
 * opbench: ns per operation for the syscalls mlwatch hooks.
 *   opbench MODE ITERS [--mark MODEL_FILE] [--dir DIR]
 * MODE: open (openat+close of one file), openmany (openat+close of a file
 * never opened before: ITERS per round, made in DIR first), connect (TCP connect to a
 * 127.0.0.1 listener + close), forkexec (fork, exec /bin/true, wait).
 * --mark opens MODEL_FILE first, so mlwatch marks this process.
 * Prints the best of ROUNDS batches, in ns per op.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int listener_fd;

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listener_fd, NULL, NULL);

		if (c < 0)
			return NULL;
		close(c);
	}
}

static int start_listener(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	pthread_t t;

	listener_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener_fd, (struct sockaddr *)sa, sizeof(*sa)) || listen(listener_fd, 4096) ||
	    getsockname(listener_fd, (struct sockaddr *)sa, &len))
		return -1;
	return pthread_create(&t, NULL, acceptor, NULL);
}

static void op_open(long n, const char *file)
{
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, file, O_RDONLY);

		if (fd >= 0)
			close(fd);
	}
}

/* Round r opens files r*n .. r*n+n-1: none of them opened before, so a
 * marked process sends every one. */
static void op_openmany(long n, const char *dir, int r)
{
	char p[4096];

	for (long i = (long)r * n; i < (long)(r + 1) * n; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/f%06ld", dir, i);
		fd = openat(AT_FDCWD, p, O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
}

static int make_many(long n, const char *dir)
{
	char p[4096];

	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/f%06ld", dir, i);
		fd = open(p, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static void op_connect(long n, const struct sockaddr_in *sa)
{
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		connect(s, (const struct sockaddr *)sa, sizeof(*sa));
		close(s);
	}
}

static void op_forkexec(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();

		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	}
}

int main(int argc, char **argv)
{
	const char *file = "/etc/hostname", *dir = NULL, *mark = NULL;
	struct sockaddr_in sa;
	double best = 0;
	long iters;

	if (argc < 3) {
		fprintf(stderr, "usage: opbench open|openmany|connect|forkexec ITERS "
				"[--mark MODEL_FILE] [--dir DIR]\n");
		return 2;
	}
	iters = atol(argv[2]);
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mark"))
			mark = argv[i + 1];
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
	}
	if (!strcmp(argv[1], "openmany") && (!dir || make_many(iters * ROUNDS, dir))) {
		fprintf(stderr, "opbench: openmany needs --dir DIR to make %ld files in\n",
			iters * ROUNDS);
		return 1;
	}
	if (mark) {
		int fd = open(mark, O_RDONLY);

		if (fd < 0) {
			perror(mark);
			return 1;
		}
		close(fd);
		usleep(100000); /* let mlwatch confirm the model by its bytes */
	}
	if (!strcmp(argv[1], "connect") && start_listener(&sa)) {
		perror("listener");
		return 1;
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();
		double per;

		if (!strcmp(argv[1], "open"))
			op_open(iters, file);
		else if (!strcmp(argv[1], "openmany"))
			op_openmany(iters, dir, r);
		else if (!strcmp(argv[1], "connect"))
			op_connect(iters, &sa);
		else
			op_forkexec(iters);
		per = (double)(now_ns() - t0) / (double)iters;
		if (r == 0 || per < best)
			best = per;
	}
	printf("%.1f\n", best);
	return 0;
}
