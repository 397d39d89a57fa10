#include "api/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "lib/buf.h"

/* Every endpoint of the v1.47 spec, in the order the spec lists them.  More
 * specific patterns come before greedy ones that could also match. */
static const api_route routes[] = {
    {"GET", "/containers/json", api_containers_list, API_BODY_NONE},
    {"POST", "/containers/create", api_container_create, API_BODY_JSON},
    {"GET", "/containers/{id}/json", api_container_inspect, API_BODY_NONE},
    {"GET", "/containers/{id}/top", api_container_top, API_BODY_NONE},
    {"GET", "/containers/{id}/logs", api_container_logs, API_BODY_NONE},
    {"GET", "/containers/{id}/changes", api_container_changes, API_BODY_NONE},
    {"GET", "/containers/{id}/export", api_container_export, API_BODY_NONE},
    {"GET", "/containers/{id}/stats", api_container_stats, API_BODY_NONE},
    {"POST", "/containers/{id}/resize", api_container_resize, API_BODY_NONE},
    {"POST", "/containers/{id}/start", api_container_start, API_BODY_NONE},
    {"POST", "/containers/{id}/stop", api_container_stop, API_BODY_NONE},
    {"POST", "/containers/{id}/restart", api_container_restart, API_BODY_NONE},
    {"POST", "/containers/{id}/kill", api_container_kill, API_BODY_NONE},
    {"POST", "/containers/{id}/update", api_container_update, API_BODY_JSON},
    {"POST", "/containers/{id}/rename", api_container_rename, API_BODY_NONE},
    {"POST", "/containers/{id}/pause", api_container_pause, API_BODY_NONE},
    {"POST", "/containers/{id}/unpause", api_container_unpause, API_BODY_NONE},
    {"POST", "/containers/{id}/attach", api_container_attach, API_BODY_NONE},
    {"GET", "/containers/{id}/attach/ws", api_container_attach_ws, API_BODY_NONE},
    {"POST", "/containers/{id}/wait", api_container_wait, API_BODY_NONE},
    {"DELETE", "/containers/{id*}", api_container_delete, API_BODY_NONE},   /* a link name: /parent/alias */
    {"HEAD", "/containers/{id}/archive", api_container_archive_head, API_BODY_NONE},
    {"GET", "/containers/{id}/archive", api_container_archive_get, API_BODY_NONE},
    {"PUT", "/containers/{id}/archive", api_container_archive_put, API_BODY_STREAM},
    {"POST", "/containers/prune", api_containers_prune, API_BODY_NONE},
    {"GET", "/images/json", api_images_list, API_BODY_NONE},
    {"POST", "/build", api_build, API_BODY_STREAM},
    {"POST", "/build/prune", api_build_prune, API_BODY_NONE},
    {"POST", "/build/cancel", api_build_cancel, API_BODY_NONE},
    {"POST", "/images/create", api_image_create, API_BODY_STREAM},
    {"GET", "/images/search", NULL, API_BODY_NONE},
    {"POST", "/images/prune", api_images_prune, API_BODY_NONE},
    {"POST", "/images/load", api_images_load, API_BODY_STREAM},
    {"GET", "/images/get", api_images_get, API_BODY_NONE},
    {"GET", "/images/{name*}/json", api_image_inspect, API_BODY_NONE},
    {"GET", "/images/{name*}/history", api_image_history, API_BODY_NONE},
    {"POST", "/images/{name*}/push", api_image_push, API_BODY_NONE},
    {"POST", "/images/{name*}/tag", api_image_tag, API_BODY_NONE},
    {"GET", "/images/{name*}/get", api_image_get, API_BODY_NONE},
    {"DELETE", "/images/{name*}", api_image_delete, API_BODY_NONE},
    {"POST", "/auth", api_auth, API_BODY_JSON},
    {"GET", "/info", api_info, API_BODY_NONE},
    {"GET", "/version", api_version, API_BODY_NONE},
    {"GET", "/_ping", api_ping, API_BODY_NONE},
    {"HEAD", "/_ping", api_ping, API_BODY_NONE},
    {"POST", "/commit", api_commit, API_BODY_JSON},
    {"GET", "/events", api_events, API_BODY_NONE},
    {"GET", "/system/df", api_system_df, API_BODY_NONE},
    {"POST", "/containers/{id}/exec", api_exec_create, API_BODY_JSON},
    {"POST", "/exec/{id}/start", api_exec_start, API_BODY_JSON},
    {"POST", "/exec/{id}/resize", api_exec_resize, API_BODY_NONE},
    {"GET", "/exec/{id}/json", api_exec_inspect, API_BODY_NONE},
    {"GET", "/volumes", api_volumes_list, API_BODY_NONE},
    {"POST", "/volumes/create", api_volume_create, API_BODY_JSON},
    {"POST", "/volumes/prune", api_volumes_prune, API_BODY_NONE},
    {"GET", "/volumes/{name}", api_volume_inspect, API_BODY_NONE},
    {"PUT", "/volumes/{name}", NULL, API_BODY_JSON},
    {"DELETE", "/volumes/{name}", api_volume_delete, API_BODY_NONE},
    {"GET", "/networks", api_networks_list, API_BODY_NONE},
    {"POST", "/networks/create", api_network_create, API_BODY_JSON},
    {"POST", "/networks/prune", api_networks_prune, API_BODY_NONE},
    {"GET", "/networks/{id}", api_network_inspect, API_BODY_NONE},
    {"DELETE", "/networks/{id}", api_network_delete, API_BODY_NONE},
    {"POST", "/networks/{id}/connect", api_network_connect, API_BODY_JSON},
    {"POST", "/networks/{id}/disconnect", api_network_disconnect, API_BODY_JSON},
    {"GET", "/plugins", NULL, API_BODY_NONE},
    {"GET", "/plugins/privileges", NULL, API_BODY_NONE},
    {"POST", "/plugins/pull", NULL, API_BODY_JSON},
    {"POST", "/plugins/create", NULL, API_BODY_STREAM},
    {"GET", "/plugins/{name*}/json", api_plugin_absent, API_BODY_NONE},
    {"POST", "/plugins/{name*}/enable", NULL, API_BODY_NONE},
    {"POST", "/plugins/{name*}/disable", NULL, API_BODY_NONE},
    {"POST", "/plugins/{name*}/upgrade", NULL, API_BODY_JSON},
    {"POST", "/plugins/{name*}/push", NULL, API_BODY_NONE},
    {"POST", "/plugins/{name*}/set", NULL, API_BODY_JSON},
    {"DELETE", "/plugins/{name*}", NULL, API_BODY_NONE},
    {"GET", "/nodes", api_nodes_list, API_BODY_NONE},
    {"GET", "/nodes/{id}", api_node_inspect, API_BODY_NONE},
    {"DELETE", "/nodes/{id}", api_node_delete, API_BODY_NONE},
    {"POST", "/nodes/{id}/update", api_node_update, API_BODY_JSON},
    {"GET", "/swarm", api_swarm_inspect, API_BODY_NONE},
    {"POST", "/swarm/init", api_swarm_init, API_BODY_JSON},
    {"POST", "/swarm/join", api_swarm_join, API_BODY_JSON},
    {"POST", "/swarm/leave", api_swarm_leave, API_BODY_NONE},
    {"POST", "/swarm/update", api_swarm_update, API_BODY_JSON},
    {"GET", "/swarm/unlockkey", api_swarm_unlockkey, API_BODY_NONE},
    {"POST", "/swarm/unlock", api_swarm_unlock, API_BODY_JSON},
    {"GET", "/services", api_services_list, API_BODY_NONE},
    {"POST", "/services/create", api_service_create, API_BODY_JSON},
    {"GET", "/services/{id}", api_service_inspect, API_BODY_NONE},
    {"DELETE", "/services/{id}", api_service_delete, API_BODY_NONE},
    {"POST", "/services/{id}/update", api_service_update, API_BODY_JSON},
    {"GET", "/services/{id}/logs", api_service_logs, API_BODY_NONE},
    {"GET", "/tasks", api_tasks_list, API_BODY_NONE},
    {"GET", "/tasks/{id}", api_task_inspect, API_BODY_NONE},
    {"GET", "/tasks/{id}/logs", api_task_logs, API_BODY_NONE},
    {"GET", "/secrets", api_secrets_list, API_BODY_NONE},
    {"POST", "/secrets/create", api_secret_create, API_BODY_JSON},
    {"GET", "/secrets/{id}", api_secret_inspect, API_BODY_NONE},
    {"DELETE", "/secrets/{id}", api_secret_delete, API_BODY_NONE},
    {"POST", "/secrets/{id}/update", api_secret_update, API_BODY_JSON},
    {"GET", "/configs", api_configs_list, API_BODY_NONE},
    {"POST", "/configs/create", api_config_create, API_BODY_JSON},
    {"GET", "/configs/{id}", api_config_inspect, API_BODY_NONE},
    {"DELETE", "/configs/{id}", api_config_delete, API_BODY_NONE},
    {"POST", "/configs/{id}/update", api_config_update, API_BODY_JSON},
    {"GET", "/distribution/{name*}/json", api_distribution_inspect, API_BODY_NONE},
    {"POST", "/session", NULL, API_BODY_NONE},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])
#define MAX_SEGS 64

/* Splits path into segments in place (path is a scratch copy). */
static int split(char *path, char *segs[MAX_SEGS])
{
    int n = 0;
    for (char *tok = strtok(path, "/"); tok; tok = strtok(NULL, "/")) {
        if (n == MAX_SEGS)
            return -1;
        segs[n++] = tok;
    }
    return n;
}

static void free_params(char *params[API_MAX_PARAMS])
{
    for (int i = 0; i < API_MAX_PARAMS; i++) {
        free(params[i]);
        params[i] = NULL;
    }
}

bool api_pattern_match(const char *pattern, const char *path, char *params[API_MAX_PARAMS])
{
    char pbuf[256], xbuf[4096];
    if (snprintf(pbuf, sizeof pbuf, "%s", pattern) >= (int)sizeof pbuf ||
        snprintf(xbuf, sizeof xbuf, "%s", path) >= (int)sizeof xbuf)
        return false;
    /* dockerd (gorilla/mux, StrictSlash off) answers 404 for a trailing
     * slash; strtok would hide it, so look before splitting. */
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        return false;
    char *ps[MAX_SEGS], *xs[MAX_SEGS];
    int np = split(pbuf, ps), nx = split(xbuf, xs);
    if (np < 0 || nx < 0)
        return false;
    int greedy = -1;
    for (int i = 0; i < np; i++)
        if (ps[i][0] == '{' && strstr(ps[i], "*}"))
            greedy = i;
    if (greedy < 0 ? nx != np : nx < np)
        return false;
    int nparam = 0;
    char *got[API_MAX_PARAMS] = {NULL};
    for (int i = 0, j = 0; i < np; i++, j++) {
        if (ps[i][0] != '{') {
            if (strcmp(ps[i], xs[j]) != 0)
                goto no;
            continue;
        }
        if (nparam == API_MAX_PARAMS)
            goto no;
        if (i == greedy) {
            int take = nx - np + 1; /* segments the greedy parameter swallows */
            buf b = BUF_INIT;
            for (int k = 0; k < take; k++)
                buf_printf(&b, "%s%s", k ? "/" : "", xs[j + k]);
            got[nparam++] = buf_steal(&b);
            j += take - 1;
        } else {
            got[nparam++] = xstrdup(xs[j]);
        }
    }
    for (int i = 0; i < API_MAX_PARAMS; i++)
        params[i] = got[i];
    return true;
no:
    free_params(got);
    return false;
}

api_match_result api_route_match(const char *method, const char *path, const api_route **out,
                                 char *params[API_MAX_PARAMS])
{
    bool path_known = false;
    for (size_t i = 0; i < N_ROUTES; i++) {
        char *got[API_MAX_PARAMS] = {NULL};
        if (!api_pattern_match(routes[i].pattern, path, got))
            continue;
        if (strcmp(routes[i].method, method) != 0) {
            /* A path that only a catch-all segment took ({id*}, for link
             * names) is no known path for other methods: 404, as dockerd. */
            path_known |= !strstr(routes[i].pattern, "*}");
            free_params(got);
            continue;
        }
        for (int k = 0; k < API_MAX_PARAMS; k++)
            params[k] = got[k];
        *out = &routes[i];
        return API_MATCH_OK;
    }
    return path_known ? API_MATCH_BAD_METHOD : API_MATCH_NO_ROUTE;
}

int api_version_split(const char *raw, int *minor, const char **rest, berr *e)
{
    *minor = API_VERSION_MAX_MINOR;
    *rest = raw;
    if (strncmp(raw, "/v", 2) != 0 || !(raw[2] >= '0' && raw[2] <= '9'))
        return 0;
    const char *p = raw + 2;
    const char *end = p + strspn(p, "0123456789.");
    if (*end != '/' && *end != 0)
        return 0; /* "/vfoo" is just a path */
    int major = 0, mnr = 0, n = 0;
    char ver[32];
    snprintf(ver, sizeof ver, "%.*s", (int)(end - p), p);
    if (sscanf(ver, "%d.%d%n", &major, &mnr, &n) != 2 || n != (int)strlen(ver))
        return berr_set(e, -ENOENT, "page not found");
    if (major > 1 || (major == 1 && mnr > API_VERSION_MAX_MINOR))
        return berr_set(e, -EINVAL, "client version %s is too new. Maximum supported API version is %s", ver, API_VERSION);
    if (major < 1 || mnr < API_VERSION_MIN_MINOR)
        return berr_set(e, -EINVAL, "client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version",
                        ver, API_MIN_VERSION);
    *minor = mnr;
    *rest = *end ? end : "/";
    return 0;
}
