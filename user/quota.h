/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots per user. Probe slots are shared and bounded (HEAP_MAX_PROCESSES for
 * the heap tiers, SITES_MAX_PROCESSES for sampled sites), and any local user
 * can start processes a rule selects: each user but root gets at most the
 * quota's limit of them, so nobody can take root's. Pure.
 */
#ifndef MEMTIDE_QUOTA_H
#define MEMTIDE_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

#define QUOTA_PER_USER 64 /* heap-tier processes */
#define QUOTA_USERS 1024 /* distinct users counted; beyond, new users get none */

struct quota {
	unsigned int limit; /* per user but root */
	struct quota_user {
		uid_t uid;
		unsigned int used;
		bool set;
	} users[QUOTA_USERS];
};

void quota__reset(struct quota *q, unsigned int limit);
/* Counts one slot for @uid; false (nothing counted) when @uid has no more. */
bool quota__take(struct quota *q, uid_t uid);

#endif
