/* GET /distribution/{name}/json's question to the registry: the
 * descriptor of what a tag (or digest) names and the platforms it serves
 * (a list's entries, or an image's config). */
#ifndef BERTH_RUNTIME_REGISTRY_INSPECT_H
#define BERTH_RUNTIME_REGISTRY_INSPECT_H

#include <jansson.h>

#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"

typedef struct reg_inspect_opts {
    const char *familiar;
    const char *ref;           /* tag or digest */
    reg_creds creds;
    const reg_options *options;
} reg_inspect_opts;

/* done(ctx, status, e, result): result is {"Descriptor":{..},"Platforms":[..]}
 * (the callee keeps ownership), NULL on failure.  Runs on the loop; before
 * reg_inspect_start returns only for a name that cannot be split. */
typedef void (*reg_inspect_done)(void *ctx, int status, const berr *e, json_t *result);
void reg_inspect_start(reg_http *h, const reg_inspect_opts *o, reg_inspect_done done, void *ctx);

#endif
