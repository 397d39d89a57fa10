/* A container's mount points: resolved at create, used at start, dropped
 * at removal (runtime/container/mounts.h).
 *
 * A mount point is persisted as a JSON object in rt_container.mount_points:
 *   {"Type": "bind"|"volume"|"tmpfs", "Source", "Destination", "RW", "Mode",
 *    "Propagation", and for volumes "Name", "Driver", "Named", "CopyData";
 *    "CreateSource" for -v binds; "TmpfsData" for tmpfs}
 * "CopyData" stays true until the first start has filled the volume from
 * the image (or found it not empty). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "runtime/container/container.h"
#include "runtime/container/mounts.h"
#include "runtime/volume/copy.h"
#include "runtime/volume/volumes.h"

static bool is_volume(json_t *mp) { return !strcmp(json_str(mp, "Type"), "volume"); }

/* ---- mount point <-> request ---------------------------------------------------- */

static json_t *req_to_json(const rt_mount_req *m)
{
    const char *type = m->volume ? "volume" : m->tmpfs ? "tmpfs" : "bind";
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "Type", type, "Source", m->source ? m->source : "",
                          "Destination", m->target, "RW", !m->readonly, "Mode", m->mode ? m->mode : "", "Propagation",
                          m->propagation_name ? m->propagation_name : "");
    if (m->volume)
        json_object_update_new(o, json_pack("{s:s, s:s, s:b, s:b}", "Name", m->name, "Driver",
                                            m->driver ? m->driver : RT_VOLUME_DRIVER_LOCAL, "Named", m->named,
                                            "CopyData", m->copy_data));
    if (m->create_source)
        json_object_set_new(o, "CreateSource", json_true());
    if (m->tmpfs_data)
        json_object_set_new(o, "TmpfsData", json_string(m->tmpfs_data));
    return o;
}

static void req_from_json(json_t *o, rt_mount_req *m)
{
    const char *type = json_str(o, "Type");
    *m = (rt_mount_req){.tmpfs = !strcmp(type, "tmpfs"), .volume = !strcmp(type, "volume")};
    m->source = xstrdup(json_str(o, "Source"));
    m->target = xstrdup(json_str(o, "Destination"));
    m->readonly = !json_is_true(json_object_get(o, "RW"));
    m->create_source = json_is_true(json_object_get(o, "CreateSource"));
    m->mode = xstrdup(json_str(o, "Mode"));
    m->propagation_name = xstrdup(json_str(o, "Propagation"));
    m->propagation = MS_PRIVATE | MS_REC;
    static const struct { const char *name; unsigned long flags; } props[] = {
        {"private", MS_PRIVATE}, {"rshared", MS_SHARED | MS_REC}, {"shared", MS_SHARED},
        {"rslave", MS_SLAVE | MS_REC}, {"slave", MS_SLAVE},
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (!strcmp(m->propagation_name, props[i].name))
            m->propagation = props[i].flags;
    if (*json_str(o, "TmpfsData"))
        m->tmpfs_data = xstrdup(json_str(o, "TmpfsData"));
    if (m->volume) {
        m->name = xstrdup(json_str(o, "Name"));
        m->driver = xstrdup(json_str(o, "Driver"));
        m->named = json_is_true(json_object_get(o, "Named"));
        m->copy_data = json_is_true(json_object_get(o, "CopyData"));
    }
}

static rt_mount_req req_dup(const rt_mount_req *m)
{
    json_t *o = req_to_json(m);
    rt_mount_req copy;
    req_from_json(o, &copy);
    json_decref(o);
    return copy;
}

/* Puts m in the list, replacing (and freeing) a mount on the same target,
 * as a later source overrides an earlier one in dockerd. */
static void put(rt_mount_req **list, size_t *n, rt_mount_req m)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i].target, m.target)) {
            rt_mount_req_clear(&(*list)[i]);
            (*list)[i] = m;
            return;
        }
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = m;
}

static bool has_target(const rt_mount_req *list, size_t n, const char *target)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i].target, target))
            return true;
    return false;
}

/* ---- create ------------------------------------------------------------------------ */

static int no_store(berr *e) { return berr_set(e, -ENOSYS, "volumes are not available: no volume store"); }

/* Creates (or finds) the volume of m and fills in its name and source. */
static int make_volume(rt_containers *mgr, rt_mount_req *m, const char *default_driver, json_t *made, berr *e)
{
    if (!mgr->volumes)
        return no_store(e);
    rt_volume *v;
    const char *driver = m->driver && *m->driver ? m->driver : default_driver;
    int r = rt_volume_create(mgr->volumes, m->name, driver, m->volume_opts, m->volume_labels, &v, e);
    if (r < 0)
        return r;
    if (!m->name)
        json_array_append_new(made, json_string(v->name));
    free(m->name);
    m->name = xstrdup(v->name);
    free(m->source);
    m->source = xstrdup(v->path);
    free(m->driver);
    m->driver = xstrdup(v->driver);
    if (!m->mode || !*m->mode) {   /* dockerd's setBindModeIfNull for local volumes */
        free(m->mode);
        m->mode = xstrdup("z");
    }
    return 0;
}

static int from_container(rt_containers *mgr, const char *spec, rt_mount_req **list, size_t *n, berr *e)
{
    char *id;
    bool rw;
    int r = rt_mounts_parse_volumes_from(spec, &id, &rw, e);
    if (r < 0)
        return r;
    rt_container *src;
    r = rt_container_find(mgr, id, &src, e);
    free(id);
    if (r == -ENOENT) {   /* dockerd: an invalid parameter, not a missing object */
        if (e)
            e->code = -EINVAL;
        return -EINVAL;
    }
    if (r < 0)
        return r;
    rt_mount_req *theirs;
    size_t k;
    if ((r = rt_mounts_list(mgr, src, &theirs, &k, e)) < 0)
        return r;
    for (size_t i = 0; i < k && r == 0; i++) {
        rt_mount_req m = req_dup(&theirs[i]);
        m.readonly = m.readonly || !rw;
        m.copy_data = false;
        free(m.mode);
        m.mode = xstrdup("");
        rt_volume *v;
        if (m.volume && (!mgr->volumes || (r = rt_volume_get(mgr->volumes, m.name, &v, e)) < 0)) {
            if (!mgr->volumes)
                r = no_store(e);
            rt_mount_req_clear(&m);
            break;
        }
        put(list, n, m);
    }
    rt_mounts_free(theirs, k);
    return r;
}

int rt_mounts_resolve(rt_containers *mgr, rt_container *c, berr *e)
{
    json_t *hc = c->host_config;
    const char *vdriver = json_str(hc, "VolumeDriver");
    rt_mount_req *list = NULL;
    size_t n = 0;
    json_t *made = json_array();
    int r = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(hc, "VolumesFrom"), i, v) {
        if ((r = from_container(mgr, json_string_value(v), &list, &n, e)) < 0)
            break;
    }
    rt_mount_req *own = NULL;
    size_t n_own = 0;
    if (r == 0)
        r = rt_mounts_parse(hc, &own, &n_own, e);
    for (size_t k = 0; k < n_own; k++) {
        if (r == 0 && own[k].volume)
            r = make_volume(mgr, &own[k], vdriver, made, e);
        put(&list, &n, own[k]);
    }
    free(own);   /* the requests moved into list */
    /* the image's VOLUMEs (and `-v /path`, which the CLI sends as Config.Volumes) */
    const char *path;
    json_object_foreach(json_object_get(c->config, "Volumes"), path, v) {
        if (r < 0)
            break;
        cleanup_free char *dest = xmalloc(strlen(path) + 2);
        rt_mounts_clean_path(path, dest);
        if (dest[0] != '/') {
            r = berr_set(e, -EINVAL, "invalid mount config for type \"volume\": invalid mount path: '%s' mount path must be absolute",
                         path);
            break;
        }
        if (!strcmp(dest, "/")) {
            r = berr_set(e, -EINVAL, "invalid mount config for type \"volume\": invalid specification: destination can't be '/'");
            break;
        }
        if (has_target(list, n, dest) || json_object_get(json_object_get(hc, "Tmpfs"), dest))
            continue;
        rt_mount_req m = {.volume = true, .target = xstrdup(dest), .copy_data = true, .mode = xstrdup(""),
                          .propagation_name = xstrdup("")};
        r = make_volume(mgr, &m, vdriver, made, e);
        /* an anonymous volume from Config.Volumes has no mode (AddMountPointWithVolume) */
        free(m.mode);
        m.mode = xstrdup("");
        put(&list, &n, m);
    }
    if (r == 0) {
        json_t *mps = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(mps, req_to_json(&list[k]));
        json_decref(c->mount_points);
        c->mount_points = mps;
    } else {
        json_array_foreach(made, i, v) rt_volume_remove(mgr->volumes, json_string_value(v), true, NULL);
    }
    rt_mounts_free(list, n);
    json_decref(made);
    return r;
}

/* ---- start ------------------------------------------------------------------------------ */

static int depth(const char *p)
{
    int d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

int rt_mounts_list(rt_containers *mgr, const rt_container *c, rt_mount_req **out, size_t *n, berr *e)
{
    if (!c->mount_points) {
        int r = rt_mounts_parse(c->host_config, out, n, e);
        if (r < 0)
            return r;
    } else {
        *n = json_array_size(c->mount_points);
        *out = xcalloc(*n ? *n : 1, sizeof **out);
        size_t i;
        json_t *mp;
        json_array_foreach(c->mount_points, i, mp) {
            req_from_json(mp, &(*out)[i]);
            rt_volume *v = mgr->volumes && is_volume(mp) ? rt_volume_find(mgr->volumes, json_str(mp, "Name")) : NULL;
            if (v) {
                free((*out)[i].source);
                (*out)[i].source = xstrdup(v->path);
            }
        }
    }
    /* parents before children (/a before /a/b), otherwise in order */
    for (size_t i = 1; i < *n; i++) {
        rt_mount_req t = (*out)[i];
        size_t j = i;
        for (; j > 0 && depth((*out)[j - 1].target) > depth(t.target); j--)
            (*out)[j] = (*out)[j - 1];
        (*out)[j] = t;
    }
    return 0;
}

int rt_mounts_setup(rt_containers *mgr, rt_container *c, const char *rootfs, berr *e)
{
    if (!c->mount_points || !mgr->volumes)
        return 0;
    size_t i;
    json_t *mp;
    int r = 0;
    json_array_foreach(c->mount_points, i, mp) {
        if (!is_volume(mp))
            continue;
        rt_volume *v;
        if ((r = rt_volume_get(mgr->volumes, json_str(mp, "Name"), &v, e)) < 0)
            break;
        if ((r = rt_volume_mount(mgr->volumes, v, c->id, e)) < 0) {
            berr_wrap(e, "error while mounting volume '%s'", v->path);
            break;
        }
        if (json_is_true(json_object_get(mp, "CopyData"))) {
            if ((r = rt_volume_copy_in(rootfs, json_str(mp, "Destination"), v->path, e)) < 0)
                break;
            json_object_set_new(mp, "CopyData", json_false());
        }
        rt_volume_emit(mgr->volumes, v, "mount",
                       json_pack("{s:s, s:s, s:s, s:s}", "container", c->id, "destination", json_str(mp, "Destination"),
                                 "read/write", json_is_true(json_object_get(mp, "RW")) ? "true" : "false",
                                 "propagation", ""));
    }
    if (r < 0)
        rt_mounts_release(mgr, c);
    return r;
}

void rt_mounts_release(rt_containers *mgr, rt_container *c)
{
    if (!c->mount_points || !mgr->volumes)
        return;
    size_t i;
    json_t *mp;
    json_array_foreach(c->mount_points, i, mp) {
        rt_volume *v = is_volume(mp) ? rt_volume_find(mgr->volumes, json_str(mp, "Name")) : NULL;
        if (v && rt_volume_unmount(mgr->volumes, v, c->id))
            rt_volume_emit(mgr->volumes, v, "unmount", json_pack("{s:s}", "container", c->id));
    }
}

/* ---- removal ------------------------------------------------------------------------------ */

void rt_mounts_remove_anonymous(rt_containers *mgr, rt_container *c)
{
    if (!c->mount_points || !mgr->volumes)
        return;
    size_t i;
    json_t *mp;
    json_array_foreach(c->mount_points, i, mp) {
        if (!is_volume(mp) || json_is_true(json_object_get(mp, "Named")))
            continue;
        berr e = {0};
        /* still used by another container (--volumes-from): not an error */
        int r = rt_volume_remove(mgr->volumes, json_str(mp, "Name"), true, &e);
        if (r < 0 && r != -EBUSY)
            log_warn("container %.12s: %s", c->id, e.msg);
    }
}

void rt_mounts_volume_users(void *ctx, const char *name, json_t *ids)
{
    rt_containers *mgr = ctx;
    for (size_t k = 0; k < mgr->n; k++) {
        rt_container *c = mgr->list[k];
        size_t i;
        json_t *mp;
        json_array_foreach(c->mount_points, i, mp) {
            if (is_volume(mp) && !strcmp(json_str(mp, "Name"), name)) {
                json_array_append_new(ids, json_string(c->id));
                break;
            }
        }
    }
}

/* ---- inspect ---------------------------------------------------------------------------------- */

json_t *rt_mounts_inspect_container(const rt_container *c)
{
    if (!c->mount_points)
        return rt_mounts_inspect(c->host_config);
    json_t *out = json_array();
    size_t i;
    json_t *mp;
    json_array_foreach(c->mount_points, i, mp) {
        const char *type = json_str(mp, "Type");
        json_t *o = json_pack("{s:s}", "Type", type);
        if (is_volume(mp))
            json_object_set(o, "Name", json_object_get(mp, "Name"));
        json_object_set_new(o, "Source", json_string(json_str(mp, "Source")));
        json_object_set_new(o, "Destination", json_string(json_str(mp, "Destination")));
        if (is_volume(mp))
            json_object_set(o, "Driver", json_object_get(mp, "Driver"));
        json_object_set_new(o, "Mode", json_string(json_str(mp, "Mode")));
        json_object_set_new(o, "RW", json_boolean(json_is_true(json_object_get(mp, "RW"))));
        json_object_set_new(o, "Propagation", json_string(json_str(mp, "Propagation")));
        json_array_append_new(out, o);
    }
    return out;
}
