// SPDX-License-Identifier: Apache-2.0
/* Test target: statically linked (built with -static), so it maps no libc.so
 * for uprobes to attach to. Sleeps until killed. */
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	void *volatile p = malloc(1024);

	(void)p;
	for (;;)
		pause();
}
