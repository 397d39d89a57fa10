/* GET /v2/<name>/tags/list: the tags of a repository (docker pull -a). */
#ifndef BERTH_RUNTIME_REGISTRY_TAGS_H
#define BERTH_RUNTIME_REGISTRY_TAGS_H

#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"

/* done(ctx, status, e, tags, n): tags valid during the call only.  Runs
 * on the loop; before reg_tags_list returns only for a bad name. */
typedef void (*reg_tags_done)(void *ctx, int status, const berr *e, const char *const *tags, size_t n);
void reg_tags_list(reg_http *h, const char *familiar, const reg_creds *creds, const reg_options *options,
                   reg_tags_done done, void *ctx);

#endif
