// SPDX-License-Identifier: Apache-2.0
/* Which capabilities the agent lacks: a container without privileged gets
 * only those its manifest adds, and the log must say which one is missing. */
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "caps.h"

static int has(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

const char *caps__lacking_bpf(void)
{
	static char out[64];
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int bpf, perfmon;

	if (syscall(SYS_capget, &h, d))
		return "";
	bpf = has(d, CAP_BPF);
	perfmon = has(d, CAP_PERFMON);
	if (bpf && perfmon)
		return "";
	snprintf(out, sizeof(out), " (this process lacks %s%s%s)", bpf ? "" : "CAP_BPF",
		 !bpf && !perfmon ? ", " : "", perfmon ? "" : "CAP_PERFMON");
	return out;
}
