/* Route table and path matching.
 *
 * Paths are matched segment by segment; "{name}" matches one segment and
 * "{name*}" one or more (image and plugin names contain slashes, as in
 * "myorg/app:1.0"), with the literal segments after it matched from the end.
 * Routes the spec lists but berthd has not built yet have no handler and
 * answer 501. */
#ifndef BERTH_API_ROUTER_H
#define BERTH_API_ROUTER_H

#include <stdbool.h>

#include "api/api.h"

typedef enum api_body_kind {
    API_BODY_NONE,      /* no body expected; one sent is read and dropped */
    API_BODY_JSON,      /* kept in memory, at most API_JSON_BODY_MAX bytes */
    API_BODY_STREAM,    /* spooled to a temp file under <data-root>/tmp */
} api_body_kind;

#define API_JSON_BODY_MAX (4 << 20)

typedef void (*api_handler)(api_request *r);

typedef struct api_route {
    const char *method;
    const char *pattern;
    api_handler handler;     /* NULL: in the spec, not built yet (501) */
    api_body_kind body;
} api_route;

typedef enum api_match_result { API_MATCH_OK, API_MATCH_NO_ROUTE, API_MATCH_BAD_METHOD } api_match_result;

/* Finds the route for method and path (version prefix already removed),
 * filling params (owned by the caller, freed with free()). */
api_match_result api_route_match(const char *method, const char *path, const api_route **out,
                                 char *params[API_MAX_PARAMS]);

/* Splits "/v1.47/images/json" into minor=47 and "/images/json".  A path
 * without a version prefix gives minor=API_VERSION_MAX_MINOR.  Returns
 * -EINVAL with dockerd's message for versions outside the supported range,
 * -ENOENT for a malformed prefix. */
int api_version_split(const char *raw, int *minor, const char **rest, berr *e);

/* Match a single pattern (exposed for tests). */
bool api_pattern_match(const char *pattern, const char *path, char *params[API_MAX_PARAMS]);

#endif
