/* Mount specs: parsing -v, --mount and --volumes-from as dockerd's linux
 * parser does (runtime/container/mounts.h).  Resolving them into a
 * container's mount points and using those at start is in
 * runtime/container/volumes.c. */
#include "runtime/container/mounts.h"

#include <stdarg.h>
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

static bool is_propagation(const char *o)
{
    rt_mount_req m = {0};
    bool yes = propagation_of(o, &m) == 0;
    free(m.propagation_name);
    return yes;
}

/* ---- -v modes ----------------------------------------------------------------- */

enum { MODE_RW, MODE_LABEL, MODE_PROPAGATION, MODE_COPY, MODE_CONSISTENCY, MODE_KINDS };

static int mode_kind(const char *o)
{
    if (!strcmp(o, "rw") || !strcmp(o, "ro"))
        return MODE_RW;
    if (!strcmp(o, "z") || !strcmp(o, "Z"))
        return MODE_LABEL;
    if (is_propagation(o))
        return MODE_PROPAGATION;
    if (!strcmp(o, "nocopy"))
        return MODE_COPY;
    if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated"))
        return MODE_CONSISTENCY;
    return -1;
}

/* linuxValidMountMode: known options, at most one of each kind. */
static bool valid_mode(const char *mode)
{
    if (!*mode)
        return true;
    int count[MODE_KINDS] = {0};
    cleanup_free char *copy = xstrdup(mode);
    /* strtok would skip empty options ("ro,,z"), which Go's Split keeps */
    for (char *p = copy, *comma; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        int k = mode_kind(p);
        if (k < 0 || ++count[k] > 1)
            return false;
    }
    return true;
}

/* The first option of mode of the given kind, or NULL (into out). */
static const char *mode_find(const char *mode, int kind, char *out, size_t n)
{
    cleanup_free char *copy = xstrdup(mode);
    char *save = NULL;
    for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
        if (mode_kind(o) == kind) {
            snprintf(out, n, "%s", o);
            return out;
        }
    return NULL;
}

/* ---- paths ---------------------------------------------------------------------- */

void rt_mounts_clean_path(const char *path, char *out)
{
    /* Go's path.Clean, step for step */
    size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
    bool rooted = n && path[0] == '/';
    if (rooted) {
        out[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (path[r] == '/') {
            r++;
        } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
            r++;
        } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                out[w++] = '/';
            while (r < n && path[r] != '/')
                out[w++] = path[r++];
        }
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = 0;
}

static bool is_root(const char *p)
{
    char clean[PATH_MAX];
    if (strlen(p) >= sizeof clean - 2)
        return false;
    rt_mounts_clean_path(p, clean);
    return !strcmp(clean, "/");
}

/* ---- validation, dockerd's validateMountConfigImpl ---------------------------------- */

static int cfg_err(berr *e, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfg_err(berr *e, const char *type, const char *fmt, ...)
{
    char msg[BERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return berr_set(e, -EINVAL, "invalid mount config for type \"%s\": %s", type, msg);
}

typedef struct spec {
    const char *type, *source, *target;
    bool bind_opts, volume_opts, tmpfs_opts;
} spec;

static int validate(const spec *s, berr *e)
{
    if (s->bind_opts && strcmp(s->type, "bind"))
        return cfg_err(e, s->type, "field BindOptions must not be specified");
    if (s->volume_opts && strcmp(s->type, "volume"))
        return cfg_err(e, s->type, "field VolumeOptions must not be specified");
    if (s->tmpfs_opts && strcmp(s->type, "tmpfs"))
        return cfg_err(e, s->type, "field TmpfsOptions must not be specified");
    if (!s->target || !*s->target)
        return cfg_err(e, s->type, "field Target must not be empty");
    if (is_root(s->target))
        return cfg_err(e, s->type, "invalid specification: destination can't be '/'");
    if (s->target[0] != '/')
        return cfg_err(e, s->type, "invalid mount path: '%s' mount path must be absolute", s->target);
    if (!strcmp(s->type, "bind")) {
        if (!s->source || !*s->source)
            return cfg_err(e, s->type, "field Source must not be empty");
        if (s->source[0] != '/')
            return cfg_err(e, s->type, "invalid mount path: '%s' mount path must be absolute", s->source);
    } else if (!strcmp(s->type, "tmpfs")) {
        if (s->source && *s->source)
            return cfg_err(e, s->type, "field Source must not be specified");
    } else if (!strcmp(s->type, "image")) {
        return berr_set(e, -ENOSYS, "mounts of type image are not available in berthd yet");
    } else if (strcmp(s->type, "volume")) {
        return cfg_err(e, s->type, "mount type unknown");
    }
    return 0;
}

static char *clean_dup(const char *p)
{
    char *out = xmalloc(strlen(p) + 2);
    rt_mounts_clean_path(p, out);
    return out;
}

/* ---- -v ------------------------------------------------------------------------- */

/* "src:dst[:mode]", "/dst" or "name:dst[:mode]" (ParseMountRaw). */
static int parse_bind(const char *raw, rt_mount_req *m, berr *e)
{
    cleanup_free char *copy = xstrdup(raw);
    char *parts[4] = {NULL};
    int n = 0;
    for (char *p = copy; p && n < 4; n++) {
        parts[n] = p;
        char *colon = n < 3 ? strchr(p, ':') : NULL;
        if (colon)
            *colon = 0;
        p = colon ? colon + 1 : NULL;
    }
    if (!*parts[0] || n == 4)
        return berr_set(e, -EINVAL, "invalid volume specification: '%s'", raw);
    const char *source = "", *target = parts[0], *mode = "";
    if (n == 2) {
        if (valid_mode(parts[1]))   /* "/foo:rw": a mode without a source is not a volume */
            return berr_set(e, -EINVAL, "invalid volume specification: '%s'", raw);
        source = parts[0];
        target = parts[1];
    } else if (n == 3) {
        source = parts[0];
        target = parts[1];
        mode = parts[2];
    }
    if (!valid_mode(mode))
        return berr_set(e, -EINVAL, "invalid mode: %s", mode);
    char prop[16], copymode[16];
    bool volume = source[0] != '/';
    spec s = {volume ? "volume" : "bind", source, target, mode_find(mode, MODE_PROPAGATION, prop, sizeof prop) != NULL,
              mode_find(mode, MODE_COPY, copymode, sizeof copymode) != NULL, false};
    int r = validate(&s, e);
    if (r < 0)
        return berr_wrap(e, "invalid volume specification: '%s'", raw);
    char rw[8];
    *m = (rt_mount_req){.volume = volume, .target = clean_dup(target), .mode = xstrdup(mode)};
    m->readonly = mode_find(mode, MODE_RW, rw, sizeof rw) && !strcmp(rw, "ro");
    if (volume) {
        m->name = *source ? xstrdup(source) : NULL;
        m->named = *source != 0;
        m->copy_data = !mode_find(mode, MODE_COPY, copymode, sizeof copymode);
        m->propagation_name = xstrdup("");
        return 0;
    }
    m->source = clean_dup(source);
    m->create_source = true;
    propagation_of("rprivate", m);
    if (s.bind_opts)
        propagation_of(prop, m);
    return 0;
}

/* ---- --mount --------------------------------------------------------------------- */

static bool present(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v && !json_is_null(v);
}

static int parse_mount(json_t *o, rt_mount_req *m, berr *e)
{
    const char *type = json_string_value(json_object_get(o, "Type"));
    const char *src = json_string_value(json_object_get(o, "Source"));
    const char *dst = json_string_value(json_object_get(o, "Target"));
    spec s = {type ? type : "", src, dst, present(o, "BindOptions"), present(o, "VolumeOptions"),
              present(o, "TmpfsOptions")};
    int r = validate(&s, e);
    if (r < 0)
        return r;
    bool ro = json_is_true(json_object_get(o, "ReadOnly"));
    *m = (rt_mount_req){.target = clean_dup(dst), .readonly = ro, .mode = xstrdup("")};
    if (!strcmp(type, "bind")) {
        json_t *bo = json_object_get(o, "BindOptions");
        const char *prop = json_string_value(json_object_get(bo, "Propagation"));
        if (prop && *prop && !is_propagation(prop))
            return cfg_err(e, type, "invalid propagation mode: %s", prop);
        if (access(src, F_OK) < 0 && !json_is_true(json_object_get(bo, "CreateMountpoint")))
            return cfg_err(e, type, "bind source path does not exist: %s", src);
        m->source = clean_dup(src);
        m->create_source = json_is_true(json_object_get(bo, "CreateMountpoint"));
        propagation_of(prop && *prop ? prop : "rprivate", m);
        return 0;
    }
    if (!strcmp(type, "tmpfs")) {
        json_t *to = json_object_get(o, "TmpfsOptions");
        cleanup_buf buf data = BUF_INIT;
        json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
        json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
        if (size > 0)
            buf_printf(&data, "size=%lld", (long long)size);
        if (mode > 0)
            buf_printf(&data, "%smode=%llo", data.len ? "," : "", (long long)mode);
        m->tmpfs = true;
        m->tmpfs_data = data.len ? buf_steal(&data) : NULL;
        m->propagation_name = xstrdup("");
        return 0;
    }
    /* a volume */
    json_t *vo = json_object_get(o, "VolumeOptions");
    const char *subpath = json_string_value(json_object_get(vo, "Subpath"));
    if (subpath && *subpath)
        return berr_set(e, -ENOSYS, "volume subpaths are not available in berthd yet");
    json_t *dc = json_object_get(vo, "DriverConfig");
    const char *driver = json_string_value(json_object_get(dc, "Name"));
    json_t *opts = json_object_get(dc, "Options"), *labels = json_object_get(vo, "Labels");
    m->volume = true;
    m->name = src && *src ? xstrdup(src) : NULL;
    m->named = m->name != NULL;
    m->driver = driver && *driver ? xstrdup(driver) : NULL;
    m->copy_data = !json_is_true(json_object_get(vo, "NoCopy"));
    m->volume_opts = json_is_object(opts) ? json_deep_copy(opts) : NULL;
    m->volume_labels = json_is_object(labels) ? json_deep_copy(labels) : NULL;
    m->propagation_name = xstrdup("");
    return 0;
}

/* ---- --volumes-from ---------------------------------------------------------------- */

int rt_mounts_parse_volumes_from(const char *spec, char **id, bool *rw, berr *e)
{
    *id = NULL;
    if (!spec || !*spec)
        return berr_set(e, -EINVAL, "volumes-from specification cannot be an empty string");
    const char *colon = strchr(spec, ':');
    const char *mode = colon ? colon + 1 : "";
    char tmp[16];
    /* propagation and copy modes belong to the volumes, not to the import */
    if (*mode && (!valid_mode(mode) || mode_find(mode, MODE_PROPAGATION, tmp, sizeof tmp) ||
                  mode_find(mode, MODE_COPY, tmp, sizeof tmp)))
        return berr_set(e, -EINVAL, "invalid mode: %s", mode);
    *rw = !(mode_find(mode, MODE_RW, tmp, sizeof tmp) && !strcmp(tmp, "ro"));
    *id = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
    return 0;
}

/* ---- the lot -------------------------------------------------------------------------- */

static void push(rt_mount_req **out, size_t *n, rt_mount_req m)
{
    *out = xrealloc(*out, (*n + 1) * sizeof **out);
    (*out)[(*n)++] = m;
}

void rt_mount_req_clear(rt_mount_req *m)
{
    free(m->source);
    free(m->target);
    free(m->propagation_name);
    free(m->tmpfs_data);
    free(m->mode);
    free(m->name);
    free(m->driver);
    json_decref(m->volume_opts);
    json_decref(m->volume_labels);
    memset(m, 0, sizeof *m);
}

void rt_mounts_free(rt_mount_req *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_mount_req_clear(&m[i]);
    free(m);
}

int rt_mounts_parse(json_t *hc, rt_mount_req **out, size_t *n, berr *e)
{
    *out = NULL;
    *n = 0;
    size_t i;
    json_t *v;
    int r = 0;
    json_array_foreach(json_object_get(hc, "VolumesFrom"), i, v) {
        char *id;
        bool rw;
        if ((r = rt_mounts_parse_volumes_from(json_string_value(v), &id, &rw, e)) < 0)
            return r;
        free(id);
    }
    json_array_foreach(json_object_get(hc, "Binds"), i, v) {
        rt_mount_req m = {0};
        if (!json_is_string(v))
            r = berr_set(e, -EINVAL, "invalid volume specification");
        else if ((r = parse_bind(json_string_value(v), &m, e)) == 0)
            push(out, n, m);
        else
            rt_mount_req_clear(&m);
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
            rt_mount_req_clear(&m);
    }
    /* two mounts on one target is an error, as with dockerd, and so is a
     * mount where --tmpfs already puts one */
    json_t *tmpfs = json_object_get(hc, "Tmpfs");
    for (size_t a = 0; a < *n && r == 0; a++) {
        if (json_object_get(tmpfs, (*out)[a].target))
            r = berr_set(e, -EINVAL, "Duplicate mount point: %s", (*out)[a].target);
        for (size_t b = a + 1; b < *n && r == 0; b++)
            if (!strcmp((*out)[a].target, (*out)[b].target))
                r = berr_set(e, -EINVAL, "Duplicate mount point: %s", (*out)[a].target);
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
        else if (!m[i].volume)
            json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
                                                 m[i].source, "Destination", m[i].target, "Mode", m[i].mode, "RW",
                                                 !m[i].readonly, "Propagation", m[i].propagation_name));
    }
    rt_mounts_free(m, n);
    return out;
}
