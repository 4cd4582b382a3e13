/* SPDX-License-Identifier: Apache-2.0 */
/* Which capabilities the agent lacks, for the log lines of what fails without them. */
#ifndef MEMTIDE_CAPS_H
#define MEMTIDE_CAPS_H

/* "" when the process has CAP_BPF and CAP_PERFMON in its effective set, else
 * " (this process lacks CAP_BPF, CAP_PERFMON)" naming those it lacks. */
const char *caps__lacking_bpf(void);

#endif
