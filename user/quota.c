// SPDX-License-Identifier: Apache-2.0
/* Heap-tier slots per user, so no user can take the probe slots from root. */
#include <string.h>
#include "quota.h"

void quota__reset(struct quota *q, unsigned int limit)
{
	memset(q, 0, sizeof(*q));
	q->limit = limit;
}

bool quota__take(struct quota *q, uid_t uid)
{
	size_t start = (size_t)uid * 2654435761u % QUOTA_USERS;

	if (uid == 0)
		return true;
	for (size_t k = 0; k < QUOTA_USERS; k++) {
		struct quota_user *u = &q->users[(start + k) % QUOTA_USERS];

		if (!u->set)
			*u = (struct quota_user){ .uid = uid, .set = true };
		if (u->uid != uid)
			continue;
		if (u->used >= q->limit)
			return false;
		u->used++;
		return true;
	}
	return false;
}
