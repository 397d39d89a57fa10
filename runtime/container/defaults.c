/* The daemon's defaults for new containers (--log-driver, --log-opt,
 * --default-ulimit, --default-shm-size, --dns*, --default-ipc-mode,
 * --default-cgroupns-mode, --init, --no-new-privileges, --seccomp-profile)
 * folded into a HostConfig at create, the way dockerd fills what the
 * request left out. */
#include <string.h>

#include "lib/jsonutil.h"
#include "runtime/container/container.h"

void rt_containers_set_defaults(rt_containers *m, json_t *defaults)
{
    json_decref(m->host_defaults);
    m->host_defaults = defaults;
}

static bool has_opt_prefix(json_t *list, const char *a, const char *b)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (s && (!strncmp(s, a, strlen(a)) || !strncmp(s, b, strlen(b))))
            return true;
    }
    return false;
}

/* dockerd's mergeAndVerifyLogConfig: an empty Type takes the daemon's, and
 * a container on the daemon's driver inherits the options it does not set. */
static void merge_log_config(json_t *hc, json_t *dflt)
{
    json_t *lc = json_object_get(hc, "LogConfig");
    if (!json_is_object(lc)) {
        lc = json_object();
        json_object_set_new(hc, "LogConfig", lc);
    }
    const char *dtype = json_str(dflt, "Type");
    if (!*json_str(lc, "Type"))
        json_object_set_new(lc, "Type", json_string(*dtype ? dtype : "json-file"));
    json_t *cfg = json_object_get(lc, "Config");
    if (!json_is_object(cfg)) {
        cfg = json_object();
        json_object_set_new(lc, "Config", cfg);
    }
    if (strcmp(json_str(lc, "Type"), dtype) == 0)
        json_object_update_missing(cfg, json_object_get(dflt, "Config"));
}

void rt_container_apply_defaults(const rt_containers *m, json_t *hc)
{
    json_t *d = m->host_defaults;
    merge_log_config(hc, json_object_get(d, "LogConfig"));
    if (!d)
        return;
    json_int_t shm = json_integer_value(json_object_get(hc, "ShmSize"));
    if (shm <= 0 && json_is_integer(json_object_get(d, "ShmSize")))
        json_object_set(hc, "ShmSize", json_object_get(d, "ShmSize"));
    /* Ulimits: the container's own win by name; the daemon's fill the rest. */
    json_t *dl = json_object_get(d, "Ulimits");
    if (json_array_size(dl)) {
        json_t *ul = json_object_get(hc, "Ulimits");
        if (!json_is_array(ul)) {
            ul = json_array();
            json_object_set_new(hc, "Ulimits", ul);
        }
        size_t i, j;
        json_t *u, *x;
        json_array_foreach(dl, i, u) {
            bool have = false;
            json_array_foreach(ul, j, x) have |= strcmp(json_str(x, "Name"), json_str(u, "Name")) == 0;
            if (!have)
                json_array_append(ul, u);
        }
    }
    static const char *const lists[] = {"Dns", "DnsOptions", "DnsSearch", NULL};
    for (const char *const *k = lists; *k; k++)
        if (!json_array_size(json_object_get(hc, *k)) && json_array_size(json_object_get(d, *k)))
            json_object_set_new(hc, *k, json_deep_copy(json_object_get(d, *k)));
    static const char *const modes[] = {"IpcMode", "CgroupnsMode", NULL};
    for (const char *const *k = modes; *k; k++)
        if (!*json_str(hc, *k) && *json_str(d, *k))
            json_object_set(hc, *k, json_object_get(d, *k));
    if (!json_is_boolean(json_object_get(hc, "Init")) && json_is_true(json_object_get(d, "Init")))
        json_object_set_new(hc, "Init", json_true());
    json_t *sec = json_object_get(hc, "SecurityOpt");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(d, "SecurityOpt"), i, v) {
        const char *opt = json_string_value(v);
        bool nnp = !strncmp(opt, "no-new-privileges", 17);
        if (nnp ? has_opt_prefix(sec, "no-new-privileges", "no-new-privileges")
                : has_opt_prefix(sec, "seccomp=", "seccomp:"))
            continue;
        if (!json_is_array(sec)) {
            sec = json_array();
            json_object_set_new(hc, "SecurityOpt", sec);
        }
        json_array_append(sec, v);
    }
}
