/* The `filters` query parameter of list and prune endpoints: a JSON object
 * mapping a filter name to its values, either as an array (["a","b"]) or,
 * as older clients and the docker CLI still send, as a map
 * ({"a":true,"b":true}).  Both become an object of arrays of strings. */
#ifndef BERTH_LIB_FILTERS_H
#define BERTH_LIB_FILTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* Parses text (NULL or "" gives an empty set).  Names not in allowed
 * (NULL-terminated) are refused as dockerd does: "invalid filter 'x'".
 * Caller owns *out. */
int filters_parse(const char *text, const char *const *allowed, json_t **out, berr *e);

bool filters_has(json_t *f, const char *name);

/* dockerd's boolean filter values: "true"/"1" and "false"/"0"; anything
 * else is -EINVAL "invalid filter 'name=value'". *out untouched when absent. */
int filters_bool(json_t *f, const char *name, bool *out, berr *e);

/* Matches labels (a JSON object) against "label" style values: every
 * "key" must exist and every "key=value" must match. */
bool filters_match_labels(json_t *f, const char *name, json_t *labels);
/* True if any of the values matches (for "label!" exclusions). */
bool filters_match_any_label(json_t *f, const char *name, json_t *labels);

/* The "until" filter (a timestamp or a duration before now) as unix
 * seconds: 1 when given, 0 when absent, -EINVAL "invalid filter
 * 'until=...'" when unreadable. */
int filters_until(json_t *f, long long *out, berr *e);

#endif
