/* Lookups of objects berthd cannot have yet (plugins).
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
