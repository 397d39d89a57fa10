/* Lookups of objects berthd cannot have yet (plugins, swarm secrets and
 * configs).
 *
 * Their endpoints are not built, but a lookup by name has a true answer
 * today: there is no such object.  `docker inspect NAME` tries containers,
 * images, networks and volumes in turn and stops at the first error that
 * is not "not found", so answering 501 here would break it for containers
 * and images too. */
#include <stdio.h>

#include "api/handlers.h"

static void absent(api_request *r, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "No such %s: %s", what, r->params[0]);
    api_reply_error(r, -ENOENT, msg);
}

void api_plugin_absent(api_request *r) { absent(r, "plugin"); }

/* SwarmKit's words, as dockerd's getSecret/getConfig pass them on. */
static void swarm_absent(api_request *r, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s %s not found", what, r->params[0]);
    api_reply_error(r, -ENOENT, msg);
}

void api_secret_absent(api_request *r) { swarm_absent(r, "secret"); }
void api_config_absent(api_request *r) { swarm_absent(r, "config"); }
