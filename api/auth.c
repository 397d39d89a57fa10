/* POST /auth: docker login.  The credentials are checked against the
 * registry as dockerd does (ping, then the challenge answered with them);
 * nothing is stored here: the CLI keeps them in its own credential store. */
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/registry/session.h"

static void login_done(void *ctx, reg_session *s, int status, const berr *e)
{
    api_request *r = ctx;
    if (status < 0) {
        /* dockerd answers a refused login as errdefs.Unauthorized: 401. */
        if (status == -EACCES)
            api_reply_json(r, 401, json_pack("{s:s}", "message", e->msg));
        else
            api_reply_berr(r, e);
        return;
    }
    const char *token = reg_session_identity_token(s);
    api_reply_json(r, 200, json_pack("{s:s, s:s}", "IdentityToken", token ? token : "", "Status", "Login Succeeded"));
    reg_session_free(s);
}

void api_auth(api_request *r)
{
    berr e = {0};
    reg_creds creds;
    if (reg_creds_from_json(r->body.data, r->body.len, &creds, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    char index[REG_HOST_MAX], host[REG_HOST_MAX];
    reg_server_split(creds.serveraddress, index, host);
    reg_options opts = registry_config_options(&r->d->cfg);
    reg_session_opts so = {.host = host,
                           .actions = "pull",
                           .creds = &creds,
                           .insecure = reg_host_insecure(&opts, host),
                           .verify = true};
    reg_session_open(r->d->registry, &so, login_done, r);
}
