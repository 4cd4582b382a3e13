// SPDX-License-Identifier: Apache-2.0
/* symtarget's shared library: one exported function, one static one. */
#include <stdint.h>

__attribute__((noinline)) static int symlib_local(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int symlib_exported(int x)
{
	return symlib_local(x) + 2;
}

/* The static function's address, for the test to resolve. */
uintptr_t symlib_local_addr(void)
{
	return (uintptr_t)symlib_local;
}
