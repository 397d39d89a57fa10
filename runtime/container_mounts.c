#include "runtime/container_mounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

static const struct {
    const char *name;
    unsigned long flags;
} propagations[] = {
    {"rprivate", MS_PRIVATE | MS_REC}, {"private", MS_PRIVATE}, {"rshared", MS_SHARED | MS_REC},
    {"shared", MS_SHARED},             {"rslave", MS_SLAVE | MS_REC}, {"slave", MS_SLAVE},
};

static int propagation_of(const char *name, rt_mount_req *m)
{
    for (size_t i = 0; i < sizeof propagations / sizeof propagations[0]; i++)
        if (!strcmp(name, propagations[i].name)) {
            m->propagation = propagations[i].flags;
            free(m->propagation_name);
            m->propagation_name = xstrdup(name);
            return 0;
        }
    return -EINVAL;
}

static void push(rt_mount_req **out, size_t *n, rt_mount_req m)
{
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = m;
}

static int check_target(const char *t, berr *e)
{
    if (!t || t[0] != '/')
        return berr_set(e, -EINVAL, "invalid mount config: the mount target must be an absolute path: %s", t ? t : "");
    if (!strcmp(t, "/"))
        return berr_set(e, -EINVAL, "invalid specification: destination can't be '/'");
    return 0;
}

/* "src:dst[:opts]" as `-v` takes it. */
static int parse_bind(const char *spec, rt_mount_req *m, berr *e)
{
    cleanup_free char *copy = xstrdup(spec);
    char *parts[3] = {NULL, NULL, NULL};
    int n = 0;
    for (char *tok = strtok(copy, ":"); tok && n < 4; tok = strtok(NULL, ":"))
        if (n < 3)
            parts[n++] = tok;
        else
            return berr_set(e, -EINVAL, "invalid volume specification: '%s'", spec);
    if (n < 2)
        return berr_set(e, -ENOSYS, "anonymous volumes (%s) are not available in berthd yet", spec);
    if (parts[0][0] != '/')
        return berr_set(e, -ENOSYS, "named volumes (%s) are not available in berthd yet: bind a host path instead", parts[0]);
    int r = check_target(parts[1], e);
    if (r < 0)
        return r;
    *m = (rt_mount_req){false, xstrdup(parts[0]), xstrdup(parts[1]), false, true, MS_PRIVATE | MS_REC,
                        xstrdup("rprivate"), NULL};
    if (parts[2]) {
        cleanup_free char *opts = xstrdup(parts[2]);
        for (char *o = strtok(opts, ","); o; o = strtok(NULL, ",")) {
            if (!strcmp(o, "ro"))
                m->readonly = true;
            else if (!strcmp(o, "rw"))
                m->readonly = false;
            else if (!strcmp(o, "z") || !strcmp(o, "Z") || !strcmp(o, "nocopy"))
                continue;   /* SELinux relabeling and volume copy do not apply to host paths here */
            else if (propagation_of(o, m) < 0)
                return berr_set(e, -EINVAL, "invalid mode: %s", o);
        }
    }
    return 0;
}

static int parse_mount(json_t *o, rt_mount_req *m, berr *e)
{
    const char *type = json_string_value(json_object_get(o, "Type"));
    const char *src = json_string_value(json_object_get(o, "Source"));
    const char *dst = json_string_value(json_object_get(o, "Target"));
    int r = check_target(dst, e);
    if (r < 0)
        return r;
    bool ro = json_is_true(json_object_get(o, "ReadOnly"));
    if (type && !strcmp(type, "bind")) {
        if (!src || src[0] != '/')
            return berr_set(e, -EINVAL, "invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute",
                            src ? src : "");
        if (access(src, F_OK) < 0)
            return berr_set(e, -EINVAL, "invalid mount config for type \"bind\": bind source path does not exist: %s", src);
        *m = (rt_mount_req){false, xstrdup(src), xstrdup(dst), ro, false, MS_PRIVATE | MS_REC, xstrdup("rprivate"), NULL};
        const char *prop = json_string_value(json_object_get(json_object_get(o, "BindOptions"), "Propagation"));
        if (prop && *prop && propagation_of(prop, m) < 0)
            return berr_set(e, -EINVAL, "invalid propagation mode: %s", prop);
        return 0;
    }
    if (type && !strcmp(type, "tmpfs")) {
        json_t *to = json_object_get(o, "TmpfsOptions");
        cleanup_buf buf data = BUF_INIT;
        json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
        json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
        if (size > 0)
            buf_printf(&data, "size=%lld", (long long)size);
        if (mode > 0)
            buf_printf(&data, "%smode=%llo", data.len ? "," : "", (long long)mode);
        *m = (rt_mount_req){true, NULL, xstrdup(dst), ro, false, 0, NULL, data.len ? buf_steal(&data) : NULL};
        return 0;
    }
    if (type && (!strcmp(type, "volume") || !strcmp(type, "npipe") || !strcmp(type, "cluster")))
        return berr_set(e, -ENOSYS, "mounts of type %s are not available in berthd yet", type);
    return berr_set(e, -EINVAL, "invalid mount config: mount type unknown: %s", type ? type : "");
}

static void req_clear(rt_mount_req *m)
{
    free(m->source);
    free(m->target);
    free(m->propagation_name);
    free(m->tmpfs_data);
    memset(m, 0, sizeof *m);
}

void rt_mounts_free(rt_mount_req *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        req_clear(&m[i]);
    free(m);
}

int rt_mounts_parse(json_t *hc, rt_mount_req **out, size_t *n, berr *e)
{
    *out = NULL;
    *n = 0;
    if (json_array_size(json_object_get(hc, "VolumesFrom")))
        return berr_set(e, -ENOSYS, "--volumes-from is not available in berthd yet");
    size_t i;
    json_t *v;
    int r = 0;
    json_array_foreach(json_object_get(hc, "Binds"), i, v) {
        rt_mount_req m = {0};
        if (!json_is_string(v))
            r = berr_set(e, -EINVAL, "invalid volume specification");
        else if ((r = parse_bind(json_string_value(v), &m, e)) == 0)
            push(out, n, m);
        else
            req_clear(&m);
        if (r < 0)
            break;
    }
    json_array_foreach(json_object_get(hc, "Mounts"), i, v) {
        if (r < 0)
            break;
        rt_mount_req m = {0};
        if ((r = parse_mount(v, &m, e)) == 0)
            push(out, n, m);
        else
            req_clear(&m);
    }
    /* two mounts on one target is an error, as with dockerd */
    for (size_t a = 0; a < *n && r == 0; a++)
        for (size_t b = a + 1; b < *n; b++)
            if (!strcmp((*out)[a].target, (*out)[b].target)) {
                r = berr_set(e, -EINVAL, "Duplicate mount point: %s", (*out)[a].target);
                break;
            }
    if (r < 0) {
        rt_mounts_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return r;
}

json_t *rt_mounts_inspect(json_t *hc)
{
    rt_mount_req *m;
    size_t n;
    json_t *out = json_array();
    if (rt_mounts_parse(hc, &m, &n, NULL) < 0)
        return out;
    for (size_t i = 0; i < n; i++) {
        if (m[i].tmpfs)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source", "",
                                                 "Destination", m[i].target, "Mode", "", "RW", !m[i].readonly,
                                                 "Propagation", ""));
        else
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
                                                 m[i].source, "Destination", m[i].target, "Mode",
                                                 m[i].readonly ? "ro" : "", "RW", !m[i].readonly, "Propagation",
                                                 m[i].propagation_name));
    }
    rt_mounts_free(m, n);
    return out;
}
