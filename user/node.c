// SPDX-License-Identifier: Apache-2.0
/* The node's name, one answer for every output that names the node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "node.h"

void node__name(char *out, size_t len)
{
	const char *env = getenv("NODE_NAME");

	if (!len)
		return;
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	/* gethostname() need not terminate a truncated name. */
	if (gethostname(out, len) || !out[0])
		snprintf(out, len, "unknown");
	out[len - 1] = '\0';
}

char *node__instance(const char *configured)
{
	char node[NODE_NAME_LEN];

	if (configured)
		return strdup(configured);
	node__name(node, sizeof(node));
	return strdup(node);
}
