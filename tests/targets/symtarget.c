// SPDX-License-Identifier: Apache-2.0
/*
 * Symbolization test target (tests/integration/test_symbolize.sh): prints
 * "NAME 0xADDR" for a static function of the executable and two functions of
 * its shared library (exported and static), each address a few bytes into the
 * function, then "ready" and sleeps until killed.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int symlib_exported(int x);
uintptr_t symlib_local_addr(void);

/* Inside the function, past its first instruction. */
#define INTO 4

__attribute__((noinline)) static int symtarget_static(int x)
{
	return symlib_exported(x) * 2;
}

int main(void)
{
	printf("symtarget_static 0x%lx\n", (unsigned long)((uintptr_t)symtarget_static + INTO));
	printf("symlib_exported 0x%lx\n", (unsigned long)((uintptr_t)symlib_exported + INTO));
	printf("symlib_local 0x%lx\n", (unsigned long)(symlib_local_addr() + INTO));
	printf("ready %d\n", symtarget_static(1));
	fflush(stdout);
	for (;;)
		pause();
}
