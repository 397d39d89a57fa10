/* Times as the Docker API writes and reads them. */
#ifndef BERTH_LIB_TIMEFMT_H
#define BERTH_LIB_TIMEFMT_H

#include "lib/err.h"

#define TIME_RFC3339_BUF 40

/* The current time as RFC 3339 with nanoseconds, UTC:
 * "2026-01-02T03:04:05.123456789Z". */
void time_now_rfc3339(char out[TIME_RFC3339_BUF]);
/* ns since the epoch as "2006-01-02T15:04:05.999999999Z" (9 digits). */
void time_format_rfc3339(long long ns, char out[TIME_RFC3339_BUF]);

/* Parses an RFC 3339 time ("2024-01-01T00:00:00Z", fractions and
 * "+01:00" offsets allowed) to unix seconds; 0 if it is not one. */
long long time_parse_rfc3339(const char *s);

/* Parses a Go duration ("90s", "1h30m", "1.5h", "100ms") into
 * nanoseconds.  -EINVAL if it is not one. */
int time_parse_duration(const char *s, long long *ns);

/* Parses a time as the `since`, `until` and `before` filters take it, like
 * dockerd: an RFC 3339 time or date, a unix time with optional fraction
 * ("1700000000.5"), or a duration counted back from now ("10m").  *out is
 * unix seconds.  -EINVAL otherwise. */
int time_parse_filter(const char *s, long long now, long long *out);

#endif
