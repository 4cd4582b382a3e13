/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a record that another side (a BPF program) rewrites in place, under
 * a sequence count: the writer makes the count odd, writes, makes it even
 * again. A copy is whole when the count was even and the same before and
 * after it. Pure.
 */
#ifndef MEMTIDE_SEQCOUNT_H
#define MEMTIDE_SEQCOUNT_H

#include <stddef.h>
#include <linux/types.h>

/* Copies the @n bytes at @src into @dst, retrying while *@seq says a write
 * overlapped: 0 with a whole copy, -EAGAIN when there was none in @tries
 * attempts (@dst then holds a torn one, not to be used). */
int seqcount__read(const __u64 *seq, void *dst, const void *src, size_t n, unsigned int tries);

#endif
