/* Container endpoints: create, list, inspect and the lifecycle. */
#include <limits.h>
#include <microhttpd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "api/stream.h"
#include "api/versions.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/jsonutil.h"
#include "lib/fsutil.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "runtime/container/io.h"
#include "runtime/container/links.h"
#include "runtime/container/mounts.h"
#include "runtime/container/network.h"
#include "runtime/container/exec.h"
#include "runtime/layer/rwlayer.h"
#include "runtime/linux/cgroup.h"
#include "runtime/linux/signals.h"

static rt_containers *mgr(api_request *r) { return &r->d->containers; }

rt_container *api_container_target(api_request *r)
{
    rt_container *c;
    berr e = {0};
    if (rt_container_find(mgr(r), r->params[0], &c, &e) < 0) {
        api_reply_berr(r, &e);
        return NULL;
    }
    return c;
}

static rt_container *target(api_request *r) { return api_container_target(r); }

/* ---- create ---------------------------------------------------------------- */

/* The defaults older clients expect (dockerd's create route): IpcMode
 * shareable before 1.40; CgroupnsMode host before 1.41 on cgroup v1. */
static void create_defaults_for_version(api_request *r, json_t *body)
{
    json_t *hc = json_object_get(body, "HostConfig");
    if (!json_is_object(hc))
        return;
    if (api_has(r, API_IPC_DEFAULT_SHAREABLE) && !*json_str(hc, "IpcMode"))
        json_object_set_new(hc, "IpcMode", json_string("shareable"));
    if (api_has(r, API_CGROUPNS_DEFAULT_HOST) && !*json_str(hc, "CgroupnsMode") &&
        !rt_cgroup_host_unified("/sys/fs/cgroup"))
        json_object_set_new(hc, "CgroupnsMode", json_string("host"));
}

void api_container_create(api_request *r)
{
    berr e = {0};
    json_t *body;
    if (api_body_json(r, &body, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    create_defaults_for_version(r, body);
    json_t *warnings = json_array();
    rt_container *c;
    int rc = rt_container_create(mgr(r), api_query(r, "name"), body, &c, warnings, &e);
    json_decref(body);
    if (rc < 0) {
        json_decref(warnings);
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s, s:o}", "Id", c->id, "Warnings", warnings));
}

/* ---- shared views ------------------------------------------------------------ */

/* The command as Path + Args (the user's, not the init's). */
static void command_parts(const rt_container *c, const char **path, json_t **args)
{
    json_t *all = json_array();
    json_t *ep = json_object_get(c->config, "Entrypoint"), *cmd = json_object_get(c->config, "Cmd");
    bool ep_reset = json_array_size(ep) == 1 && !strcmp(json_string_value(json_array_get(ep, 0)) ?: "x", "");
    if (!ep_reset && json_is_array(ep))
        json_array_extend(all, ep);
    if (json_is_array(cmd))
        json_array_extend(all, cmd);
    *path = json_string_value(json_array_get(all, 0));
    if (!*path)
        *path = "";
    *args = json_array();
    for (size_t i = 1; i < json_array_size(all); i++)
        json_array_append(*args, json_array_get(all, i));
    static __thread char keep[4096];
    snprintf(keep, sizeof keep, "%s", *path);
    *path = keep;
    json_decref(all);
}

static long long created_unix(const rt_container *c) { return time_parse_rfc3339(c->created); }

/* Go's units.HumanDuration, which `docker ps` shows. */
static void human_duration(long long secs, char *out, size_t n)
{
    if (secs < 1)
        snprintf(out, n, "Less than a second");
    else if (secs == 1)
        snprintf(out, n, "1 second");
    else if (secs < 60)
        snprintf(out, n, "%lld seconds", secs);
    else if (secs / 60 == 1)
        snprintf(out, n, "About a minute");
    else if (secs < 3600)
        snprintf(out, n, "%lld minutes", secs / 60);
    else if ((secs + 1800) / 3600 == 1)
        snprintf(out, n, "About an hour");
    else if (secs < 48 * 3600)
        snprintf(out, n, "%lld hours", (secs + 1800) / 3600);
    else if (secs < 7 * 24 * 3600 * 2)
        snprintf(out, n, "%lld days", secs / (24 * 3600));
    else if (secs < 30 * 24 * 3600 * 3)
        snprintf(out, n, "%lld weeks", secs / (7 * 24 * 3600));
    else if (secs < 365 * 24 * 3600 * 2)
        snprintf(out, n, "%lld months", secs / (30 * 24 * 3600));
    else
        snprintf(out, n, "%lld years", secs / (365 * 24 * 3600));
}

static void status_text(const rt_container *c, char *out, size_t n)
{
    long long now = (long long)time(NULL);
    char d[64];
    switch (c->state) {
    case RT_STATE_RUNNING:
    case RT_STATE_PAUSED: {
        human_duration(now - time_parse_rfc3339(c->started_at), d, sizeof d);
        const char *health = c->health_status[0] ? c->health_status : NULL;
        if (health && !strcmp(health, "starting"))
            health = "health: starting";
        snprintf(out, n, "Up %s%s%s%s%s", d, c->state == RT_STATE_PAUSED ? " (Paused)" : "", health ? " (" : "",
                 health ? health : "", health ? ")" : "");
        return;
    }
    case RT_STATE_RESTARTING:
        human_duration(now - time_parse_rfc3339(c->finished_at), d, sizeof d);
        snprintf(out, n, "Restarting (%d) %s ago", c->exit_code, d);
        return;
    case RT_STATE_EXITED:
        if (!c->has_been_started) {
            snprintf(out, n, "Created");
            return;
        }
        human_duration(now - time_parse_rfc3339(c->finished_at), d, sizeof d);
        snprintf(out, n, "Exited (%d) %s ago", c->exit_code, d);
        return;
    case RT_STATE_CREATED:
        snprintf(out, n, "Created");
        return;
    case RT_STATE_REMOVING:
        snprintf(out, n, "Removal In Progress");
        return;
    case RT_STATE_DEAD:
        snprintf(out, n, "Dead");
        return;
    }
}

static const char *image_name(const rt_container *c)
{
    const char *img = json_string_value(json_object_get(c->config, "Image"));
    return img ? img : c->image_id;
}

static void sizes(api_request *r, const rt_container *c, long long *rw, long long *rootfs)
{
    char upper[PATH_MAX];
    rt_rwlayer_paths(&r->d->driver, c->id, upper, NULL, NULL);
    *rw = fs_du(upper);
    rt_image *img = NULL;
    *rootfs = *rw;
    if (rt_image_resolve(r->d->images, c->image_id, &img, NULL) == 0) {
        *rootfs += img->size;
        rt_image_free(img);
    }
}

/* ---- GET /containers/json ----------------------------------------------------- */

static bool match_any(json_t *vals, bool (*pred)(const rt_container *, const char *), const rt_container *c)
{
    if (!json_array_size(vals))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) if (pred(c, json_string_value(v))) return true;
    return false;
}

static bool by_status(const rt_container *c, const char *s)
{
    const char *st = rt_state_name(c->state);
    if (c->state == RT_STATE_EXITED && !c->has_been_started)
        st = "created";
    return !strcmp(st, s);
}

static bool by_name(const rt_container *c, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    char slashed[260];
    snprintf(slashed, sizeof slashed, "/%s", c->name);
    bool hit = regexec(&re, slashed, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

static bool by_id(const rt_container *c, const char *p) { return !strncmp(c->id, p, strlen(p)); }

static bool by_exited(const rt_container *c, const char *code)
{
    return c->state == RT_STATE_EXITED && c->has_been_started && atoi(code) == c->exit_code;
}

/* volume=NAME or volume=/destination (a bind by its host path) */
static bool by_volume(const rt_container *c, const char *want)
{
    json_t *list = rt_mounts_inspect_container(c);
    bool hit = false;
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        const char *name = json_string_value(json_object_get(m, "Name"));
        const char *key = name ? name : json_string_value(json_object_get(m, "Source"));
        hit |= !strcmp(key ? key : "", want) || !strcmp(json_string_value(json_object_get(m, "Destination")), want);
    }
    json_decref(list);
    return hit;
}

static bool by_network(const rt_container *c, const char *want)
{
    const char *name;
    json_t *ep;
    json_object_foreach(c->networks, name, ep) {
        const char *id = json_string_value(json_object_get(ep, "NetworkID"));
        if (!strcmp(name, want) || (id && *want && !strncmp(id, want, strlen(want))))
            return true;
    }
    return false;
}

/* "80" means "80/tcp", as the keys of ExposedPorts and PortBindings. */
static bool has_port_key(json_t *obj, const char *want)
{
    char key[32];
    snprintf(key, sizeof key, "%s%s", want, strchr(want, '/') ? "" : "/tcp");
    return json_object_get(obj, key) != NULL;
}

static bool by_publish(const rt_container *c, const char *want)
{
    return has_port_key(json_object_get(c->host_config, "PortBindings"), want);
}

static bool by_expose(const rt_container *c, const char *want)
{
    return has_port_key(json_object_get(c->config, "ExposedPorts"), want) || by_publish(c, want);
}

static bool by_health(const rt_container *c, const char *h)
{
    return !strcmp(h, c->health_status[0] ? c->health_status : "none");
}

static bool by_ancestor_ctx(api_request *r, const rt_container *c, json_t *vals)
{
    if (!json_array_size(vals))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *want = json_string_value(v);
        rt_image *img = NULL;
        if (!strcmp(image_name(c), want))
            return true;
        if (rt_image_resolve(r->d->images, want, &img, NULL) == 0) {
            bool hit = !strcmp(img->id, c->image_id);
            rt_image_free(img);
            if (hit)
                return true;
        }
    }
    return false;
}

/* before= / since= name a container; returns 1 and sets *out when given. */
static int filter_container(api_request *r, json_t *f, const char *key, rt_container **out, berr *e)
{
    *out = NULL;
    json_t *v = json_array_get(json_object_get(f, key), 0);
    if (!v)
        return 0;
    int rc = rt_container_find(mgr(r), json_string_value(v), out, e);
    return rc < 0 ? rc : 1;
}

json_t *api_container_summary(api_request *r, rt_container *c, bool size, json_t *links)
{
    const char *path;
    json_t *args;
    command_parts(c, &path, &args);
    cleanup_buf buf cmd = BUF_INIT;
    buf_puts(&cmd, path);
    size_t i;
    json_t *v;
    json_array_foreach(args, i, v) buf_printf(&cmd, " %s", json_string_value(v));
    json_decref(args);
    char status[128];
    status_text(c, status, sizeof status);
    const char *state = rt_state_name(c->state);
    if (c->state == RT_STATE_EXITED && !c->has_been_started)
        state = "created";
    json_t *o = json_pack("{s:s, s:[s+], s:s, s:s, s:s, s:I, s:o, s:O, s:s, s:s, s:{s:s}, s:{s:o}, s:o}", "Id",
                          c->id, "Names", "/", c->name, "Image", image_name(c), "ImageID", c->image_id, "Command",
                          cmd.data ? cmd.data : "", "Created", (json_int_t)created_unix(c), "Ports",
                          rt_container_ports_summary(mgr(r), c), "Labels", json_object_get(c->config, "Labels"),
                          "State", state, "Status", status, "HostConfig", "NetworkMode",
                          json_string_value(json_object_get(c->host_config, "NetworkMode")), "NetworkSettings",
                          "Networks", rt_container_networks(c), "Mounts", rt_mounts_inspect_container(c));
    if (links) {
        json_array_extend(json_object_get(o, "Names"), json_object_get(links, c->name));
    } else {
        json_t *link_names = rt_links_names_of(mgr(r), c);
        json_array_extend(json_object_get(o, "Names"), link_names);
        json_decref(link_names);
    }
    if (size) {
        long long rw, rootfs;
        sizes(r, c, &rw, &rootfs);
        json_object_set_new(o, "SizeRw", json_integer(rw));
        json_object_set_new(o, "SizeRootFs", json_integer(rootfs));
    }
    return o;
}

void api_containers_list(api_request *r)
{
    static const char *const allowed[] = {"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                                          "is-task", "label", "name", "network", "publish", "since", "status",
                                          "volume", NULL};
    berr e = {0};
    json_t *f, *links = NULL;   /* the link names' index, made at the first container listed */
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    static const char *const statuses[] = {"created", "restarting", "running", "removing", "paused", "exited", "dead", NULL};
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(f, "status"), i, v) {
        bool ok = false;
        for (const char *const *s = statuses; *s; s++)
            ok |= !strcmp(*s, json_string_value(v));
        if (!ok) {
            json_decref(f);
            api_reply_error(r, -EINVAL, "invalid filter 'status'");
            return;
        }
    }
    rt_container *before, *since;
    if (filter_container(r, f, "before", &before, &e) < 0 || filter_container(r, f, "since", &since, &e) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    bool all = api_query_bool(r, "all", false) || filters_has(f, "status") || filters_has(f, "exited");
    const char *limit_s = api_query(r, "limit");
    long limit = limit_s ? strtol(limit_s, NULL, 10) : -1;
    if (limit > 0)
        all = true;
    bool size = api_query_bool(r, "size", false);
    rt_containers *m = mgr(r);
    json_t *out = json_array();
    /* newest first: skip down to `before`, stop at `since` (both excluded) */
    bool past_before = before == NULL;
    for (size_t k = m->n; k-- > 0;) {
        rt_container *c = m->list[k];
        if (c == since)
            break;
        if (!past_before) {
            past_before = c == before;
            continue;
        }
        if (!all && !rt_container_running(c) && c->state != RT_STATE_RESTARTING)
            continue;
        if (!match_any(json_object_get(f, "status"), by_status, c) || !match_any(json_object_get(f, "name"), by_name, c) ||
            !match_any(json_object_get(f, "id"), by_id, c) || !match_any(json_object_get(f, "exited"), by_exited, c) ||
            !match_any(json_object_get(f, "health"), by_health, c) ||
            !match_any(json_object_get(f, "volume"), by_volume, c) ||
            !match_any(json_object_get(f, "network"), by_network, c) ||
            !match_any(json_object_get(f, "publish"), by_publish, c) ||
            !match_any(json_object_get(f, "expose"), by_expose, c) ||
            !filters_match_labels(f, "label", json_object_get(c->config, "Labels")) ||
            !by_ancestor_ctx(r, c, json_object_get(f, "ancestor")))
            continue;
        if (limit > 0 && (long)json_array_size(out) >= limit)
            break;
        if (!links)
            links = rt_links_names_index(mgr(r));
        json_array_append_new(out, api_container_summary(r, c, size, links));
    }
    json_decref(links);
    json_decref(f);
    api_reply_json(r, 200, out);
}

/* ---- GET /containers/{id}/json -------------------------------------------------- */

static json_t *state_json(const rt_container *c)
{
    const char *status = rt_state_name(c->state);
    if (c->state == RT_STATE_EXITED && !c->has_been_started)
        status = "created";
    json_t *s = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", status, "Running",
                          c->state == RT_STATE_RUNNING || c->state == RT_STATE_PAUSED, "Paused",
                          c->state == RT_STATE_PAUSED, "Restarting", c->state == RT_STATE_RESTARTING, "OOMKilled",
                          c->oom_killed, "Dead", c->state == RT_STATE_DEAD, "Pid", c->pid, "ExitCode", c->exit_code,
                          "Error", c->error, "StartedAt", c->started_at, "FinishedAt", c->finished_at);
    if (c->health_status[0])
        json_object_set_new(s, "Health", json_pack("{s:s, s:i, s:o}", "Status", c->health_status, "FailingStreak",
                                                   c->health_failing_streak, "Log",
                                                   c->health_log ? json_incref(c->health_log) : json_array()));
    return s;
}

/* NetworkSettings.Networks as older clients had them: before 1.44 no
 * DNSNames, before 1.45 the short ID among a user network's Aliases. */
static void networks_for_version(api_request *r, const rt_container *c, json_t *nets)
{
    const char *name;
    json_t *ep;
    json_object_foreach(nets, name, ep) {
        if (!api_has(r, API_ENDPOINT_DNS_NAMES))
            json_object_set_new(ep, "DNSNames", json_null());
        if (!api_has(r, API_ALIASES_SHORT_ID) || !strcmp(name, "bridge") || !strcmp(name, "host") ||
            !strcmp(name, "none"))
            continue;
        json_t *aliases = json_object_get(ep, "Aliases");
        if (!json_is_array(aliases)) {
            aliases = json_array();
            json_object_set_new(ep, "Aliases", aliases);
        }
        bool have = false;
        size_t i;
        json_t *v;
        json_array_foreach(aliases, i, v) have |= !strncmp(json_string_value(v) ?: "", c->id, 12) &&
                                                  strlen(json_string_value(v)) == 12;
        if (!have)
            json_array_append_new(aliases, json_stringn(c->id, 12));
    }
}

void api_container_inspect(api_request *r)
{
    rt_container *c = target(r);
    if (!c)
        return;
    rt_containers *m = mgr(r);
    char dir[PATH_MAX], logpath[PATH_MAX], upper[PATH_MAX], merged[PATH_MAX], work[PATH_MAX];
    rt_container_dir(m, c, dir);
    rt_io_log_path(m, c, logpath);
    rt_rwlayer_paths(&r->d->driver, c->id, upper, merged, work);
    const char *path;
    json_t *args;
    command_parts(c, &path, &args);
    json_t *execs = json_array();
    for (rt_exec *x = m->execs; x; x = x->next)
        if (!x->internal && !strcmp(x->container_id, c->id))
            json_array_append_new(execs, json_string(x->id));
    char name[260];
    snprintf(name, sizeof name, "/%s", c->name);
    json_t *gd = json_pack("{s:s, s:n}", "Name", rt_driver_name(&r->d->driver), "Data");
    if (r->d->driver.kind == RT_DRIVER_OVERLAY2)
        json_object_set_new(gd, "Data", json_pack("{s:s, s:s, s:s}", "UpperDir", upper, "MergedDir", merged, "WorkDir", work));
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(c->id));
    json_object_set_new(o, "Created", json_string(c->created));
    json_object_set_new(o, "Path", json_string(path));
    json_object_set_new(o, "Args", args);
    json_object_set_new(o, "State", state_json(c));
    json_object_set_new(o, "Image", json_string(c->image_id));
    json_object_set_new(o, "ResolvConfPath", json_sprintf("%s/resolv.conf", dir));
    json_object_set_new(o, "HostnamePath", json_sprintf("%s/hostname", dir));
    json_object_set_new(o, "HostsPath", json_sprintf("%s/hosts", dir));
    json_object_set_new(o, "LogPath", json_string(logpath));
    json_object_set_new(o, "Name", json_string(name));
    json_object_set_new(o, "RestartCount", json_integer(c->restart_count));
    json_object_set_new(o, "Driver", json_string(rt_driver_name(&r->d->driver)));
    json_object_set_new(o, "Platform", json_string("linux"));
    json_object_set_new(o, "MountLabel", json_string(""));
    json_object_set_new(o, "ProcessLabel", json_string(""));
    json_object_set_new(o, "AppArmorProfile", json_string(""));
    json_object_set_new(o, "ExecIDs", json_array_size(execs) ? execs : json_null());
    if (!json_array_size(execs))
        json_decref(execs);
    json_object_set(o, "HostConfig", c->host_config);
    json_object_set_new(o, "GraphDriver", gd);
    if (api_query_bool(r, "size", false)) {
        long long rw, rootfs;
        sizes(r, c, &rw, &rootfs);
        json_object_set_new(o, "SizeRw", json_integer(rw));
        json_object_set_new(o, "SizeRootFs", json_integer(rootfs));
    }
    json_object_set_new(o, "Mounts", rt_mounts_inspect_container(c));
    json_object_set(o, "Config", c->config);
    json_t *settings = rt_container_network_settings(mgr(r), c);
    networks_for_version(r, c, json_object_get(settings, "Networks"));
    json_object_set_new(o, "NetworkSettings", settings);
    api_reply_json(r, 200, o);
}

/* ---- prune ------------------------------------------------------------------------ */

void api_containers_prune(api_request *r)
{
    static const char *const allowed[] = {"until", "label", "label!", NULL};
    berr e = {0};
    json_t *f;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    long long until = 0;
    if (filters_until(f, &until, &e) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    rt_containers *m = mgr(r);
    json_t *deleted = json_array();
    long long reclaimed = 0;
    size_t n = m->n;
    rt_container **all = xmalloc((n ? n : 1) * sizeof *all);
    memcpy(all, m->list, n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        rt_container *c = all[i];
        if (rt_container_running(c) || c->state == RT_STATE_RESTARTING || c->removing)
            continue;
        json_t *labels = json_object_get(c->config, "Labels");
        if (!filters_match_labels(f, "label", labels) || (until && created_unix(c) >= until))
            continue;
        if (filters_match_any_label(f, "label!", labels))
            continue;
        long long rw, rootfs;
        sizes(r, c, &rw, &rootfs);
        char id[DIGEST_HEX_LEN + 1];
        snprintf(id, sizeof id, "%s", c->id);
        if (rt_container_remove(m, c, false, false, NULL, NULL, &e) == 0) {
            json_array_append_new(deleted, json_string(id));
            reclaimed += rw;
        }
    }
    free(all);
    json_decref(f);
    api_reply_json(r, 200, json_pack("{s:o, s:I}", "ContainersDeleted",
                                     json_array_size(deleted) ? deleted : (json_decref(deleted), json_null()),
                                     "SpaceReclaimed", (json_int_t)reclaimed));
}
