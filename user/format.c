// SPDX-License-Identifier: Apache-2.0
/* Numbers as text, one way for the exposition and the JSON documents. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "format.h"

const char *format__double(char out[FORMAT_DOUBLE_LEN], double v)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, FORMAT_DOUBLE_LEN, "%.0f", v);
		return out;
	}
	/* 17 significant digits always read back the same double; fewer often do. */
	for (int digits = 15; digits < 17; digits++) {
		snprintf(out, FORMAT_DOUBLE_LEN, "%.*g", digits, v);
		if (strtod(out, NULL) == v)
			return out;
	}
	snprintf(out, FORMAT_DOUBLE_LEN, "%.17g", v);
	return out;
}
