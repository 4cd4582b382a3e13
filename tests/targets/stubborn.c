// SPDX-License-Identifier: Apache-2.0
/*
 * Test target: a hooked process (run with LD_PRELOAD of the control hook)
 * that never answers a trim. It blocks the hook's signal in its only thread
 * once the hook is set up (the hook's own thread blocks every signal), so
 * the handler stays installed (SigCgt shows it, memtide signals it) and the
 * signal stays pending forever; the hook's periodic reports go on.
 * Prints "ready", then waits for end of input.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	const char *env = getenv("MEMTIDE_HOOK_SIGNAL");
	int offset = env ? (int)strtol(env, NULL, 10) : 4;
	char c;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + offset);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return 1;
	if (write(STDOUT_FILENO, "ready\n", 6) != 6)
		return 1;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}
