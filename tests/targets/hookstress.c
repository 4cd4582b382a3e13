// SPDX-License-Identifier: Apache-2.0
/*
 * Test target for the control hook's robustness; run it with the hook
 * preloaded. 16 threads allocate and free for SECONDS while trims may arrive
 * (the test signals the process); halfway, a forked child checks that it got
 * a control thread of its own and survives its own trim signals; at the end
 * the process execs PROGRAM (the hook loads again there). Exit status 0 means
 * no crash and no deadlock on the way.
 * Usage: hookstress SECONDS [PROGRAM ARGS...]
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_bool stop;

static void *churn(void *arg)
{
	unsigned int seed = (unsigned int)(long)arg;
	void *keep[256] = { 0 };

	while (!atomic_load(&stop)) {
		int i = rand_r(&seed) % 256;

		free(keep[i]);
		keep[i] = malloc((size_t)(rand_r(&seed) % 8192) + 1);
		if (keep[i])
			memset(keep[i], 1, 16);
	}
	for (int i = 0; i < 256; i++)
		free(keep[i]);
	return NULL;
}

static int threads_of_self(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2; /* . and .. */
}

/* The child: its own control thread, and its own trims survive. */
static int child(void)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	void *p = malloc(1 << 20);

	nanosleep(&pause, NULL); /* let the hook's thread start */
	if (threads_of_self() < 2) {
		fprintf(stderr, "child: no control thread after fork\n");
		return 3;
	}
	free(p);
	for (int i = 0; i < 5; i++) {
		raise(SIGRTMIN + 4);
		nanosleep(&pause, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t[16];
	int seconds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2, status;
	pid_t pid;

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (long i = 0; i < 16; i++)
		pthread_create(&t[i], NULL, churn, (void *)i);
	sleep((unsigned int)(seconds / 2));
	pid = fork();
	if (pid == 0)
		_exit(child());
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "fork: the child failed\n");
		return 4;
	}
	sleep((unsigned int)(seconds - seconds / 2));
	atomic_store(&stop, true);
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	if (argc > 2) {
		execvp(argv[2], argv + 2);
		perror("exec");
		return 5;
	}
	return 0;
}
