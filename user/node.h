/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's name, one answer for every output that names the node: the
 * Alertmanager sender's instance label, the Pushgateway group and
 * memtide_node_info, from which the shipped rules take their instance label.
 */
#ifndef MEMTIDE_NODE_H
#define MEMTIDE_NODE_H

#include <stddef.h>

#define NODE_NAME_LEN 256 /* a Kubernetes node name is at most 253 bytes */

/* $NODE_NAME (the DaemonSet sets it from spec.nodeName), else the host name,
 * else "unknown"; always NUL-terminated. */
void node__name(char *out, size_t len);
/* The instance label a sender gives: @configured, or else the node's name;
 * allocated, NULL when out of memory. */
char *node__instance(const char *configured);

#endif
