/* SPDX-License-Identifier: GPL-2.0 */
/* node_exporter textfile output: <dir>/memtide.prom, replaced atomically. */
#ifndef MEMTIDE_TEXTFILE_H
#define MEMTIDE_TEXTFILE_H

#include <stddef.h>

int textfile__write(const char *dir, const char *text, size_t len);

#endif
