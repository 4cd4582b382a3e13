// SPDX-License-Identifier: Apache-2.0
/*
 * Names itself with bytes no output may pass on raw: invalid UTF-8, a quote,
 * a backslash, braces, a newline and a multi-byte sequence cut short
 * (prctl(PR_SET_NAME); its command line holds what the test passed). Holds
 * 8 MiB so that usage alerts can fire, says "ready", and waits to be killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#define HOLD (8u << 20)

int main(void)
{
	static const char name[] = "h\xff\"\\{}\n\xe2\x82"; /* 9 bytes of comm's 15 */
	char *hold = malloc(HOLD);

	if (!hold || prctl(PR_SET_NAME, name, 0, 0, 0))
		return 1;
	memset(hold, 1, HOLD);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
