// SPDX-License-Identifier: Apache-2.0
/* The reader's side of a sequence count (see seqcount.h). */
#include <errno.h>
#include <string.h>
#include "seqcount.h"

int seqcount__read(const __u64 *seq, void *dst, const void *src, size_t n, unsigned int tries)
{
	while (tries--) {
		__u64 before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);

		if (before & 1)
			continue; /* a write in progress */
		memcpy(dst, src, n);
		/* The copy's loads complete before the count is read again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(seq, __ATOMIC_RELAXED) == before)
			return 0;
	}
	return -EAGAIN;
}
