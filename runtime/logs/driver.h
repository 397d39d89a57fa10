/* Logging drivers by name: which exist and which options each takes, in
 * dockerd's words (daemon/logger's ValidateLogOpts), for the daemon's
 * --log-driver/--log-opt defaults and for each container's LogConfig. */
#ifndef BERTH_RUNTIME_LOGS_DRIVER_H
#define BERTH_RUNTIME_LOGS_DRIVER_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

/* Checks driver name and options (an object of strings, may be NULL). */
int rt_logdriver_validate(const char *driver, json_t *opts, berr *e);

/* Whether docker logs can read the driver's own store (json-file, local);
 * the others are read from the dual-logging cache unless cache-disabled. */
bool rt_logdriver_readable(const char *driver);
/* Go's strconv.ParseBool: 1 or 0, -1 if s is none of its spellings. */
int rt_log_parse_bool(const char *s);

#endif
