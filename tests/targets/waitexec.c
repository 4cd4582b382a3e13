// SPDX-License-Identifier: Apache-2.0
/*
 * Stops itself, and once continued (SIGCONT) execs its arguments: an agent
 * can attach to the process before the program it becomes runs a single
 * instruction, so counts can cover the program's whole life.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	raise(SIGSTOP);
	execvp(argv[1], argv + 1);
	perror("execvp");
	return 127;
}
