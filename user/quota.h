/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Heap-tier slots per user. Probe slots are shared and bounded
 * (HEAP_MAX_PROCESSES), and any local user can start processes a `hooked: true`
 * rule selects: each user but root gets at most QUOTA_PER_USER of them, so
 * nobody can take root's. Pure.
 */
#ifndef MEMTIDE_QUOTA_H
#define MEMTIDE_QUOTA_H

#include <stdbool.h>
#include <sys/types.h>

#define QUOTA_PER_USER 64
#define QUOTA_USERS 1024 /* distinct users counted; beyond, new users get none */

struct quota {
	struct quota_user {
		uid_t uid;
		unsigned int used;
		bool set;
	} users[QUOTA_USERS];
};

void quota__reset(struct quota *q);
/* Counts one slot for @uid; false (nothing counted) when @uid has no more. */
bool quota__take(struct quota *q, uid_t uid);

#endif
