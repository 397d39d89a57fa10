/* GET /distribution/{name}/json: what a name resolves to in its registry
 * (docker service create pins the digest with it). */
#include <string.h>

#include "api/handlers.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/registry/inspect.h"

static void inspect_done(void *ctx, int status, const berr *e, json_t *result)
{
    api_request *r = ctx;
    if (status < 0) {
        /* dockerd answers registry failures here as 401 ("Failed
         * authentication or no image found"), except its own 5xx. */
        if (status == -ENOENT || status == -EACCES)
            api_reply_json(r, 401, json_pack("{s:s}", "message", e->msg));
        else
            api_reply_berr(r, e);
        return;
    }
    api_reply_json(r, 200, json_incref(result));
}

void api_distribution_inspect(api_request *r)
{
    berr e = {0};
    image_ref ref;
    if (ref_parse(r->params[0], &ref, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    ref_default_tag(&ref);
    reg_options opts = registry_config_options(&r->d->cfg);
    reg_inspect_opts o = {.familiar = ref.name, .ref = ref.digest[0] ? ref.digest : ref.tag, .options = &opts};
    reg_creds_from_header(api_header(r, "X-Registry-Auth"), &o.creds);
    reg_inspect_start(r->d->registry, &o, inspect_done, r);
}
