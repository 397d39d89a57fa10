/* The builder's FROM pulls (runtime/build/builder.h's rt_build_puller)
 * through the registry client, with X-Registry-Config's credentials and
 * dockerd's progress messages on the build's stream (api/build_pull.c). */
#ifndef BERTH_API_BUILD_PULL_H
#define BERTH_API_BUILD_PULL_H

#include <jansson.h>

#include "api/api.h"
#include "runtime/build/builder.h"

typedef struct build_puller {
    api_request *r;                            /* the build's request: daemon, headers */
    void (*emit)(void *ctx, json_t *msg);      /* a progress message for the stream (takes it) */
    void *emit_ctx;
} build_puller;

/* The puller for a build; bp must outlive the build. */
rt_build_puller build_puller_for(build_puller *bp);

#endif
