/*
 * opbench: ns per operation for the syscalls mlwatch hooks.
 *   opbench MODE ITERS [--mark MODEL_FILE]
 * MODE: open (openat+close of one file), connect (TCP connect to a
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
	const char *file = "/etc/hostname";
	struct sockaddr_in sa;
	double best = 0;
	long iters;

	if (argc < 3) {
		fprintf(stderr, "usage: opbench open|connect|forkexec ITERS [--mark MODEL_FILE]\n");
		return 2;
	}
	iters = atol(argv[2]);
	if (argc >= 5 && !strcmp(argv[3], "--mark")) {
		int fd = open(argv[4], O_RDONLY);

		if (fd < 0) {
			perror(argv[4]);
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
