// SPDX-License-Identifier: Apache-2.0
/*
 * Runs its arguments as a child held at its exec (ptrace): the kernel has
 * mapped the program and ld.so, and ld.so has not run yet, so nothing else is
 * mapped. Prints "held PID" on stderr, lets the child go on SIGUSR1, then
 * waits for it and exits with its status. Tests what an agent does between
 * a process's exec and ld.so's work, without depending on timing.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;
	int status;
	pid_t pid;

	if (argc < 2)
		return 2;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[1], argv + 1); /* stops with SIGTRAP once exec'd */
		perror("execvp");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return 1;
	fprintf(stderr, "held %d\n", (int)pid);
	while (!go)
		sigsuspend(&old);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
