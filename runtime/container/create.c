/* Creating containers: validation as dockerd does it, merging the image's
 * config, the writable layer and the container's directory. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/timefmt.h"
#include "netoverlay/ports.h"
#include "runtime/container/internal.h"
#include "runtime/container/mounts.h"
#include "runtime/container/links.h"
#include "runtime/container/network.h"
#include "runtime/container/spec.h"
#include "runtime/container/validate.h"
#include "runtime/logs/driver.h"
#include "runtime/layer/rwlayer.h"
#include "runtime/container/userns.h"
#include "runtime/linux/signals.h"

/* Keys of the create body that belong to Config. */
static const char *const config_keys[] = {
    "Hostname", "Domainname", "User",    "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts",
    "Tty",      "OpenStdin",  "StdinOnce", "Env",       "Cmd",          "Healthcheck",  "ArgsEscaped",
    "Image",    "Volumes",    "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild",
    "Labels",   "StopSignal", "StopTimeout", "Shell",   NULL,
};

static bool valid_name(const char *n)
{
    if (n[0] == '/')
        n++;
    if (!isalnum((unsigned char)n[0]) || strlen(n) < 2)
        return false;
    for (const char *p = n + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return false;
    return true;
}

static bool empty_array(json_t *a) { return !json_is_array(a) || json_array_size(a) == 0; }

/* Env: the image's, then the container's; a key set twice keeps the last. */
static json_t *merge_env(json_t *image_env, json_t *user_env)
{
    json_t *out = json_array();
    json_t *lists[2] = {image_env, user_env};
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *v;
        json_array_foreach(lists[l], i, v) {
            const char *kv = json_string_value(v);
            if (!kv)
                continue;
            size_t klen = strcspn(kv, "=");
            size_t j;
            json_t *w;
            bool replaced = false;
            json_array_foreach(out, j, w) {
                const char *have = json_string_value(w);
                if (strncmp(have, kv, klen) == 0 && (have[klen] == '=' || have[klen] == 0)) {
                    json_array_set_new(out, j, json_string(kv));
                    replaced = true;
                    break;
                }
            }
            if (!replaced)
                json_array_append_new(out, json_string(kv));
        }
    }
    return out;
}

static void merge_object(json_t *cfg, json_t *image_cfg, const char *key)
{
    json_t *img = json_object_get(image_cfg, key);
    if (!json_is_object(img))
        return;
    json_t *mine = json_object_get(cfg, key);
    json_t *merged = json_deep_copy(img);
    if (json_is_object(mine))
        json_object_update(merged, mine);
    json_object_set_new(cfg, key, merged);
}

/* The image's config fills what the user left unset (moby's merge()). */
static void merge_image_config(json_t *cfg, json_t *image_cfg)
{
    if (!json_is_object(image_cfg))
        return;
    const char *user = json_string_value(json_object_get(cfg, "User"));
    if ((!user || !*user) && json_is_string(json_object_get(image_cfg, "User")))
        json_object_set(cfg, "User", json_object_get(image_cfg, "User"));
    json_object_set_new(cfg, "Env", merge_env(json_object_get(image_cfg, "Env"), json_object_get(cfg, "Env")));
    if (empty_array(json_object_get(cfg, "Entrypoint"))) {
        if (empty_array(json_object_get(cfg, "Cmd")) && json_is_array(json_object_get(image_cfg, "Cmd")))
            json_object_set(cfg, "Cmd", json_object_get(image_cfg, "Cmd"));
        if (!json_is_array(json_object_get(cfg, "Entrypoint")) || json_is_null(json_object_get(cfg, "Entrypoint")))
            json_object_set(cfg, "Entrypoint", json_object_get(image_cfg, "Entrypoint")
                                                   ? json_object_get(image_cfg, "Entrypoint")
                                                   : json_null());
    }
    const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
    if ((!wd || !*wd) && json_is_string(json_object_get(image_cfg, "WorkingDir")))
        json_object_set(cfg, "WorkingDir", json_object_get(image_cfg, "WorkingDir"));
    merge_object(cfg, image_cfg, "ExposedPorts");
    merge_object(cfg, image_cfg, "Volumes");
    merge_object(cfg, image_cfg, "Labels");
    const char *ss = json_string_value(json_object_get(cfg, "StopSignal"));
    if ((!ss || !*ss) && json_is_string(json_object_get(image_cfg, "StopSignal")))
        json_object_set(cfg, "StopSignal", json_object_get(image_cfg, "StopSignal"));
    json_t *hc = json_object_get(cfg, "Healthcheck"), *ihc = json_object_get(image_cfg, "Healthcheck");
    if (json_is_object(ihc)) {
        if (!json_is_object(hc) || empty_array(json_object_get(hc, "Test"))) {
            json_t *merged = json_deep_copy(ihc);
            if (json_is_object(hc)) {
                const char *k;
                json_t *v;
                json_object_foreach(hc, k, v) if (strcmp(k, "Test") && json_integer_value(v))
                    json_object_set(merged, k, v);
            }
            json_object_set_new(cfg, "Healthcheck", merged);
        }
    }
    if (!json_is_array(json_object_get(cfg, "OnBuild")) && json_is_array(json_object_get(image_cfg, "OnBuild")))
        json_object_set(cfg, "OnBuild", json_object_get(image_cfg, "OnBuild"));
}

static int64_t int_of(json_t *o, const char *key) { return json_integer_value(json_object_get(o, key)); }
int rt_container_validate_runtime(json_t *hc, berr *e)
{
    json_t *v = json_object_get(hc, "Runtime");
    if (v && !json_is_null(v) && !json_is_string(v))
        return berr_set(e, -EINVAL, "invalid Runtime: must be a string");
    const char *name = json_string_value(v);
    if (!name || !*name) {
        json_object_set_new(hc, "Runtime", json_string(RT_RUNTIME_NAME));
        return 0;
    }
    if (strcmp(name, RT_RUNTIME_NAME))
        return berr_set(e, -EINVAL, "unknown or invalid runtime name: %s", name);
    return 0;
}

int rt_container_validate_restart(json_t *hc, berr *e)
{
    json_t *rp = json_object_get(hc, "RestartPolicy");
    const char *name = json_str(rp, "Name");
    int64_t max = int_of(rp, "MaximumRetryCount");
    if (*name && strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "unless-stopped") &&
        strcmp(name, "on-failure"))
        return berr_set(e, -EINVAL, "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
                        name);
    if (max < 0)
        return berr_set(e, -EINVAL, "invalid restart policy: maximum retry count cannot be negative");
    if (max > 0 && strcmp(name, "on-failure"))
        return berr_set(e, -EINVAL, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
    if (json_is_true(json_object_get(hc, "AutoRemove")) && *name && strcmp(name, "no"))
        return berr_set(e, -EINVAL, "conflicting options: cannot specify both --restart and --rm");
    return 0;
}

int rt_container_validate_resources(json_t *hc, bool update, json_t *warnings, berr *e)
{
    (void)warnings;
    int64_t mem = int_of(hc, "Memory"), swap = int_of(hc, "MemorySwap");
    if (mem > 0 && mem < 6 * 1024 * 1024)
        return berr_set(e, -EINVAL, "Minimum memory limit allowed is 6MB");
    if (swap > 0 && mem == 0 && !update)
        return berr_set(e, -EINVAL, "You should always set the Memory limit when using Memoryswap limit, see usage");
    if (swap > 0 && swap < mem)
        return berr_set(e, -EINVAL, "Minimum memoryswap limit should be larger than memory limit, see usage");
    int64_t nano = int_of(hc, "NanoCpus");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (nano && (int_of(hc, "CpuQuota") || int_of(hc, "CpuPeriod")))
        return berr_set(e, -EINVAL, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (nano < 0 || nano > ncpu * 1000000000LL)
        return berr_set(e, -EINVAL, "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available", ncpu,
                        ncpu);
    if (int_of(hc, "CpuShares") < 0)
        return berr_set(e, -EINVAL, "invalid CPU shares: must be positive");
    const char *cpus = json_str(hc, "CpusetCpus");
    if (*cpus) {
        /* every listed CPU must exist */
        cleanup_free char *copy = xstrdup(cpus);
        for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
            char *dash = strchr(tok, '-'), *end;
            long a = strtol(tok, &end, 10), b = a;
            if (dash)
                b = strtol(dash + 1, &end, 10);
            if (*end || a < 0 || b < a || b >= ncpu)
                return berr_set(e, -EINVAL, "Requested CPUs are not available - requested %s, available: 0-%ld", cpus,
                                ncpu - 1);
        }
    }
    return 0;
}

static int validate_modes(rt_containers *m, json_t *hc, berr *e)
{
    const char *net = json_str(hc, "NetworkMode");
    if (strncmp(net, "container:", 10) == 0) {
        rt_container *other;
        if (rt_container_find(m, net + 10, &other, e) < 0)
            return berr_wrap(e, "cannot join network of a non running container");
        if (json_array_size(json_object_get(hc, "Dns")) || json_array_size(json_object_get(hc, "ExtraHosts")))
            return berr_set(e, -EINVAL, "conflicting options: dns and the network mode");
    }
    if (!rt_network_mode_sandboxed(net) && json_object_size(json_object_get(hc, "PortBindings")) &&
        strcmp(net, "host"))
        return berr_set(e, -EINVAL, "conflicting options: port publishing and the container type network mode");
    net_port_binding *ports = NULL;
    size_t n_ports = 0;
    int r = net_ports_parse(json_object_get(hc, "PortBindings"), NULL, false, "", &ports, &n_ports, e);
    net_ports_free(ports, n_ports);
    if (r < 0)
        return r;
    const char *pid = json_str(hc, "PidMode");
    if (*pid && strcmp(pid, "host") && strncmp(pid, "container:", 10))
        return berr_set(e, -EINVAL, "invalid PID mode: %s", pid);
    const char *ipc = json_str(hc, "IpcMode");
    if (*ipc && strcmp(ipc, "host") && strcmp(ipc, "private") && strcmp(ipc, "shareable") && strcmp(ipc, "none") &&
        strncmp(ipc, "container:", 10))
        return berr_set(e, -EINVAL, "invalid IPC mode: %s", ipc);
    const char *cgns = json_str(hc, "CgroupnsMode");
    if (*cgns && strcmp(cgns, "host") && strcmp(cgns, "private"))
        return berr_set(e, -EINVAL, "invalid cgroup namespace mode: %s", cgns);
    const char *uts = json_str(hc, "UTSMode");
    if (*uts && strcmp(uts, "host"))
        return berr_set(e, -EINVAL, "invalid UTS mode: %s", uts);
    if (!strcmp(uts, "host") && *json_str(hc, "Hostname"))
        return berr_set(e, -EINVAL, "conflicting options: hostname and the UTS mode");
    return 0;
}

static int validate_caps(json_t *hc, berr *e)
{
    uint64_t caps;
    return rt_spec_caps(hc, false, &caps, e);
}

static int validate_misc(json_t *cfg, json_t *hc, berr *e)
{
    const char *sig = json_str(cfg, "StopSignal");
    if (*sig && rt_signal_parse(sig) < 0)
        return berr_set(e, -EINVAL, "Invalid signal: %s", sig);
    json_t *sec = json_object_get(hc, "SecurityOpt");
    size_t i;
    json_t *v;
    json_array_foreach(sec, i, v) {
        const char *opt = json_string_value(v);
        if (!opt)
            continue;
        if (!strcmp(opt, "no-new-privileges") || !strncmp(opt, "no-new-privileges=", 18) ||
            !strncmp(opt, "no-new-privileges:", 18) || !strncmp(opt, "seccomp=", 8) ||
            !strncmp(opt, "seccomp:", 8) || !strncmp(opt, "apparmor=", 9) || !strncmp(opt, "label=", 6) ||
            !strncmp(opt, "label:", 6))
            continue;
        return berr_set(e, -EINVAL, "invalid --security-opt: %s", opt);
    }
    rt_mount_req *mounts;
    size_t n_mounts;
    int r = rt_mounts_parse(hc, &mounts, &n_mounts, e);
    rt_mounts_free(mounts, n_mounts);
    return r;
}

/* Splits the create body into Config and HostConfig. */
static void split_body(json_t *body, json_t **cfg, json_t **hc)
{
    *cfg = json_object();
    for (const char *const *k = config_keys; *k; k++) {
        json_t *v = json_object_get(body, *k);
        if (v && !json_is_null(v))
            json_object_set(*cfg, *k, v);
    }
    json_t *h = json_object_get(body, "HostConfig");
    *hc = json_is_object(h) ? json_deep_copy(h) : json_object();
}

static void fill_defaults(const rt_containers *m, json_t *cfg, json_t *hc, const char *id)
{
    if (!*json_str(cfg, "Hostname") && strcmp(json_str(hc, "UTSMode"), "host"))
        json_object_set_new(cfg, "Hostname", json_stringn(id, 12));
    static const char *const bools[] = {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
                                        "StdinOnce", NULL};
    for (const char *const *b = bools; *b; b++)
        if (!json_is_boolean(json_object_get(cfg, *b)))
            json_object_set_new(cfg, *b, json_false());
    if (!json_is_string(json_object_get(cfg, "Domainname")))
        json_object_set_new(cfg, "Domainname", json_string(""));
    if (!json_is_string(json_object_get(cfg, "User")))
        json_object_set_new(cfg, "User", json_string(""));
    if (!json_is_string(json_object_get(cfg, "WorkingDir")))
        json_object_set_new(cfg, "WorkingDir", json_string(""));
    if (!json_is_object(json_object_get(cfg, "Labels")))
        json_object_set_new(cfg, "Labels", json_object());
    if (!json_is_string(json_object_get(hc, "NetworkMode")) || !*json_str(hc, "NetworkMode"))
        json_object_set_new(hc, "NetworkMode", json_string("bridge"));
    if (!json_is_object(json_object_get(hc, "RestartPolicy")))
        json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
    else if (!*json_str(json_object_get(hc, "RestartPolicy"), "Name"))
        json_object_set_new(json_object_get(hc, "RestartPolicy"), "Name", json_string("no"));
    rt_container_apply_defaults(m, hc);  /* the daemon's defaults (defaults.c) */
    if (!int_of(hc, "ShmSize"))
        json_object_set_new(hc, "ShmSize", json_integer(64 * 1024 * 1024));
}

int rt_container_create(rt_containers *m, const char *name, json_t *body, rt_container **out, json_t *warnings,
                        berr *e)
{
    *out = NULL;
    if (!json_is_object(body))
        return berr_set(e, -EINVAL, "config cannot be empty in order to create a container");
    json_t *cfg, *hc;
    split_body(body, &cfg, &hc);
    rt_container *c = xcalloc(1, sizeof *c);
    c->config = cfg;
    c->host_config = hc;
    c->proc.pidfd = -1;
    int r = 0;

    if (name && *name) {
        if (!valid_name(name)) {
            r = berr_set(e, -EINVAL, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
            goto fail;
        }
        rt_container *other = rt_container_by_name(m, name);
        if (other) {
            r = berr_set(e, -EEXIST,
                         "Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.",
                         name[0] == '/' ? name + 1 : name, other->id);
            goto fail;
        }
        snprintf(c->name, sizeof c->name, "%s", name[0] == '/' ? name + 1 : name);
    } else {
        rt_name_generate(m, c->name, sizeof c->name);
    }

    const char *image = json_str(cfg, "Image");
    if (!*image) {
        r = berr_set(e, -EINVAL, "no image specified");
        goto fail;
    }
    rt_image *img = NULL;
    if ((r = rt_image_resolve(m->images, image, &img, e)) < 0)
        goto fail;
    snprintf(c->image_id, sizeof c->image_id, "%s", img->id);
    char top[DIGEST_BUF];
    snprintf(top, sizeof top, "%s", img->top_layer);
    rt_image_free(img);
    json_t *image_config = NULL;
    if ((r = rt_image_config(m->images, c->image_id, &image_config, e)) < 0)
        goto fail;
    merge_image_config(cfg, json_object_get(image_config, "config"));
    json_decref(image_config);

    if (empty_array(json_object_get(cfg, "Cmd")) && empty_array(json_object_get(cfg, "Entrypoint"))) {
        r = berr_set(e, -EINVAL, "no command specified");
        goto fail;
    }
    if ((r = rt_container_validate_runtime(hc, e)) < 0 || (r = rt_container_validate_restart(hc, e)) < 0 ||
        (r = rt_container_validate_resources(hc, false, warnings, e)) < 0 || (r = validate_modes(m, hc, e)) < 0 ||
        (r = rt_container_userns_validate(m, hc, e)) < 0 || (r = validate_caps(hc, e)) < 0 || (r = validate_misc(cfg, hc, e)) < 0)
        goto fail;

    digest_random_id(c->id);
    time_now_rfc3339(c->created);
    snprintf(c->started_at, sizeof c->started_at, "0001-01-01T00:00:00Z");
    snprintf(c->finished_at, sizeof c->finished_at, "0001-01-01T00:00:00Z");
    fill_defaults(m, cfg, hc, c->id);
    json_t *lc = json_object_get(hc, "LogConfig");
    if ((r = rt_logdriver_validate(json_str(lc, "Type"), json_object_get(lc, "Config"), e)) < 0)
        goto fail;
    if ((r = rt_container_networks_init(m, c, json_object_get(body, "NetworkingConfig"), e)) < 0)
        goto fail;
    if ((r = rt_links_register(m, c, e)) < 0)
        goto fail;
    if ((r = rt_mounts_resolve(m, c, e)) < 0)
        goto fail;
    c->state = RT_STATE_CREATED;

    char dir[PATH_MAX];
    rt_container_dir(m, c, dir);
    if ((r = fs_mkdir_p(dir, 0710, e)) < 0)
        goto fail;
    if ((r = rt_rwlayer_create(m->driver, c->id, top, e)) < 0) {
        fs_rm_rf(dir, NULL);
        goto fail;
    }
    if ((r = rt_container_save(m, c, e)) < 0) {
        rt_rwlayer_remove(m->driver, c->id, NULL);
        fs_rm_rf(dir, NULL);
        goto fail;
    }
    rt_containers_add(m, c);
    rt_container_emit(m, c, "create", NULL);
    *out = c;
    return 0;
fail:
    rt_mounts_remove_anonymous(m, c);
    rt_container_free(c);
    return r;
}
