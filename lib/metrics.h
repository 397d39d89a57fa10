/* Prometheus text exposition (version 0.0.4): family headers and samples
 * with escaped label values.  Callers collect the values themselves. */
#ifndef BERTH_LIB_METRICS_H
#define BERTH_LIB_METRICS_H

#include "lib/buf.h"

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_family(buf *out, const char *name, const char *type, const char *help);
/* name{k1="v1",...} value; labels: alternating keys and values, NULL-ended
 * (labels itself may be NULL). */
void metrics_sample(buf *out, const char *name, const char *const *labels, double value);

#endif
