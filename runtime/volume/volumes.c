/* The volume store and the `local` driver (see runtime/volume/volumes.h). */
#include "runtime/volume/volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/sql.h"
#include "runtime/volume/local.h"

/* ---- names and options ------------------------------------------------------ */

int rt_volume_check_name(const char *name, berr *e)
{
    size_t len = strlen(name);
    if (len == 1)
        return berr_set(e, -EINVAL, "volume name is too short, names should be at least two alphanumeric characters");
    bool ok = len > 0 && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
                          (name[0] >= '0' && name[0] <= '9'));
    for (const char *p = name + 1; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_.-", *p);
    if (!ok)
        return berr_set(e, -EINVAL,
                        "\"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                        name);
    return 0;
}

int rt_volume_check_options(json_t *opts, berr *e)
{
    if (!json_object_size(opts))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v) {
        if (strcmp(k, "type") && strcmp(k, "device") && strcmp(k, "o") && strcmp(k, "size"))
            return berr_set(e, -EINVAL, "invalid option: \"%s\"", k);
        if (!json_is_string(v))
            return berr_set(e, -EINVAL, "invalid option: \"%s\": not a string", k);
    }
    json_t *size = json_object_get(opts, "size");
    if (size) {
        long long bytes;
        if (rt_volume_parse_size(json_string_value(size), &bytes) < 0)
            return berr_set(e, -EINVAL, "invalid size: '%s'", json_string_value(size));
        if (bytes > 0)   /* dockerd needs project quotas (xfs) for this; berthd has none */
            return berr_set(e, -EINVAL, "quota size requested but no quota support");
    }
    /* each option and the ones it needs, in dockerd's table */
    static const struct { const char *opt, *needs[2]; } mandatory[] = {
        {"device", {"type", NULL}}, {"type", {"device", NULL}}, {"o", {"device", "type"}},
    };
    for (size_t i = 0; i < sizeof mandatory / sizeof mandatory[0]; i++) {
        if (!json_object_get(opts, mandatory[i].opt))
            continue;
        for (int n = 0; n < 2 && mandatory[i].needs[n]; n++)
            if (!json_object_get(opts, mandatory[i].needs[n]))
                return berr_set(e, -EINVAL, "missing required option: \"%s\"", mandatory[i].needs[n]);
    }
    return 0;
}

bool rt_volume_needs_mount(const rt_volume *v)
{
    const char *type = json_string_value(json_object_get(v->options, "type"));
    const char *dev = json_string_value(json_object_get(v->options, "device"));
    return (type && *type) || (dev && *dev);
}

/* ---- the list ------------------------------------------------------------- */

static void volume_free(rt_volume *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->path);
    json_decref(v->labels);
    json_decref(v->options);
    for (size_t i = 0; i < v->n_active; i++)
        free(v->active[i]);
    free(v->active);
    free(v);
}

static rt_volume *volume_new(rt_volumes *s, const char *name, long long created, json_t *labels, json_t *options)
{
    rt_volume *v = xcalloc(1, sizeof *v);
    v->name = xstrdup(name);
    snprintf(v->driver, sizeof v->driver, "%s", RT_VOLUME_DRIVER_LOCAL);
    v->created = created;
    v->labels = labels;
    v->options = options;
    v->path = xasprintf("%s/%s/_data", s->root, name);
    return v;
}

static void list_add(rt_volumes *s, rt_volume *v)
{
    s->list = xrealloc(s->list, (s->n + 1) * sizeof *s->list);
    s->list[s->n++] = v;
}

static void list_forget(rt_volumes *s, rt_volume *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->list[i] == v) {
            memmove(&s->list[i], &s->list[i + 1], (s->n - i - 1) * sizeof *s->list);
            s->n--;
            return;
        }
}

rt_volume *rt_volume_find(rt_volumes *s, const char *name)
{
    for (size_t i = 0; name && i < s->n; i++)
        if (!strcmp(s->list[i]->name, name))
            return s->list[i];
    return NULL;
}

int rt_volume_get(rt_volumes *s, const char *name, rt_volume **out, berr *e)
{
    *out = rt_volume_find(s, name);
    if (!*out)
        return berr_set(e, -ENOENT, "get %s: no such volume", name ? name : "");
    return 0;
}

json_t *rt_volume_users(rt_volumes *s, const char *name)
{
    json_t *ids = json_array();
    if (s->users)
        s->users(s->users_ctx, name, ids);
    return ids;
}

static bool in_use(rt_volumes *s, const rt_volume *v)
{
    json_t *ids = rt_volume_users(s, v->name);
    bool used = json_array_size(ids) > 0;
    json_decref(ids);
    return used;
}

void rt_volume_emit(rt_volumes *s, const rt_volume *v, const char *action, json_t *extra)
{
    if (!s->events.emit) {
        json_decref(extra);
        return;
    }
    json_t *attrs = json_pack("{s:s}", "driver", v->driver);
    if (extra)
        json_object_update(attrs, extra);
    json_decref(extra);
    s->events.emit(s->events.ctx, "volume", action, v->name, attrs);
}

/* ---- persistence ------------------------------------------------------------ */

static char *json_text_or_null(json_t *o) { return o ? json_dumps(o, JSON_COMPACT) : NULL; }

static int save_row(rt_volumes *s, const rt_volume *v, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db,
                               "INSERT INTO volumes(name, driver, created, labels, options) VALUES(?1, ?2, ?3, ?4, ?5)",
                               &st, e);
    if (r < 0)
        return r;
    cleanup_free char *labels = json_text_or_null(v->labels);
    cleanup_free char *options = json_text_or_null(v->options);
    sqlite3_bind_text(st, 1, v->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, v->driver, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, v->created);
    if (labels)
        sqlite3_bind_text(st, 4, labels, -1, SQLITE_STATIC);
    if (options)
        sqlite3_bind_text(st, 5, options, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "save volume %s: %s", v->name, sqlite3_errmsg(s->db));
    return 0;
}

static int delete_row(rt_volumes *s, const char *name, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "DELETE FROM volumes WHERE name = ?", &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "remove volume %s: %s", name, sqlite3_errmsg(s->db));
    return 0;
}

static json_t *column_json(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static bool is_mountpoint(const char *path)
{
    struct statx stx;
    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) == 0 &&
           (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int load_rows(rt_volumes *s, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "SELECT name, created, labels, options FROM volumes ORDER BY created, rowid",
                               &st, e);
    if (r < 0)
        return r;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rt_volume *v = volume_new(s, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                                  column_json(st, 2), column_json(st, 3));
        /* A device left mounted by a daemon that died counts as mounted
         * (dockerd's restoreIfMounted); the next last user unmounts it. */
        v->mounted = rt_volume_needs_mount(v) && is_mountpoint(v->path);
        list_add(s, v);
    }
    return 0;
}

/* Directories that look like volumes but have no row (made by an older
 * daemon, or restored by hand) are volumes, as the local driver lists
 * what it finds on disk. */
static void adopt_dirs(rt_volumes *s)
{
    cleanup_closedir DIR *d = opendir(s->root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (rt_volume_check_name(de->d_name, NULL) < 0 || rt_volume_find(s, de->d_name))
            continue;
        cleanup_free char *data = xasprintf("%s/%s/_data", s->root, de->d_name);
        struct stat sb;
        if (stat(data, &sb) < 0 || !S_ISDIR(sb.st_mode))
            continue;
        rt_volume *v = volume_new(s, de->d_name, (long long)sb.st_ctime, NULL, NULL);
        berr e = {0};
        if (save_row(s, v, &e) < 0) {
            log_warn("volume %s: %s", v->name, e.msg);
            volume_free(v);
            continue;
        }
        list_add(s, v);
    }
}

/* ---- removal of trees, in a worker ------------------------------------------- */

typedef struct reap {
    uv_work_t work;
    rt_volumes *s;               /* only for a prune */
    char **paths;
    size_t n;
    bool measure;
    long long total;
    json_t *names;
    rt_volumes_prune_done done;
    void *arg;
} reap;

static void reap_work(uv_work_t *w)
{
    reap *rp = w->data;
    for (size_t i = 0; i < rp->n; i++) {
        if (rp->measure)
            rp->total += fs_du(rp->paths[i]);
        berr e = {0};
        if (fs_rm_rf(rp->paths[i], &e) < 0)
            log_warn("removing volume data: %s", e.msg);
    }
}

static void reap_after(uv_work_t *w, int status)
{
    (void)status;
    reap *rp = w->data;
    if (rp->s) {
        rp->s->pruning = false;
        if (rp->s->events.emit) {
            char n[32];
            snprintf(n, sizeof n, "%lld", rp->total);
            rp->s->events.emit(rp->s->events.ctx, "volume", "prune", "", json_pack("{s:s}", "reclaimed", n));
        }
    }
    if (rp->done)
        rp->done(rp->arg, rp->names, rp->total);
    else
        json_decref(rp->names);
    for (size_t i = 0; i < rp->n; i++)
        free(rp->paths[i]);
    free(rp->paths);
    free(rp);
}

static void reap_start(rt_volumes *s, reap *rp)
{
    rp->work.data = rp;
    if (s->loop && uv_queue_work(s->loop, &rp->work, reap_work, reap_after) == 0)
        return;
    reap_work(&rp->work);
    reap_after(&rp->work, 0);
}

/* <root>/.trash holds trees on their way out: a name no volume can have. */
static char *trash_path(rt_volumes *s, const char *name)
{
    unsigned char raw[8];
    char hex[17];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    return xasprintf("%s/.trash/%s.%s", s->root, name, hex);
}

/* Takes v out of the store: device unmounted, directory moved aside (its
 * new path appended to rp), row deleted, "destroy" emitted, v freed. */
static int take_out(rt_volumes *s, rt_volume *v, reap *rp, berr *e)
{
    if (v->mounted && umount2(v->path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return berr_sys(e, -errno, "remove %s: unmount %s", v->name, v->path);
    v->mounted = false;
    cleanup_free char *dir = xasprintf("%s/%s", s->root, v->name);
    cleanup_free char *trash_dir = xasprintf("%s/.trash", s->root);
    char *trash = trash_path(s, v->name);
    bool moved = false;
    if (mkdir(trash_dir, 0700) < 0 && errno != EEXIST) {
        free(trash);
        return berr_sys(e, -errno, "remove %s: mkdir %s", v->name, trash_dir);
    }
    if (rename(dir, trash) == 0) {
        moved = true;
    } else if (errno != ENOENT) {
        int r = berr_sys(e, -errno, "remove %s: error removing volume path '%s'", v->name, dir);
        free(trash);
        return r;
    }
    int r = delete_row(s, v->name, e);
    if (r < 0) {
        if (moved)
            rename(trash, dir);
        free(trash);
        return r;
    }
    if (moved) {
        rp->paths = xrealloc(rp->paths, (rp->n + 1) * sizeof *rp->paths);
        rp->paths[rp->n++] = trash;
    } else {
        free(trash);
    }
    json_array_append_new(rp->names, json_string(v->name));
    rt_volume_emit(s, v, "destroy", NULL);
    list_forget(s, v);
    volume_free(v);
    return 0;
}

/* ---- open / close ------------------------------------------------------------ */

int rt_volumes_open(rt_volumes **out, uv_loop_t *loop, sqlite3 *db, const char *data_root, berr *e)
{
    rt_volumes *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->db = db;
    snprintf(s->root, sizeof s->root, "%s/volumes", data_root);
    int r = fs_mkdir_p(s->root, 0701, e);
    if (r == 0)
        r = load_rows(s, e);
    if (r < 0) {
        rt_volumes_close(s);
        return r;
    }
    adopt_dirs(s);
    cleanup_free char *trash = xasprintf("%s/.trash", s->root);
    if (access(trash, F_OK) == 0) {
        /* removals the last run did not finish: move the lot aside once more
         * so that new removals do not race with this one */
        reap *rp = xcalloc(1, sizeof *rp);
        char *old = trash_path(s, "old");
        if (rename(trash, old) == 0) {
            rp->paths = xmalloc(sizeof *rp->paths);
            rp->paths[rp->n++] = old;
        } else {
            free(old);
        }
        reap_start(s, rp);
    }
    *out = s;
    return 0;
}

void rt_volumes_close(rt_volumes *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        volume_free(s->list[i]);
    free(s->list);
    free(s);
}

void rt_volumes_set_events(rt_volumes *s, rt_event_sink sink) { s->events = sink; }

void rt_volumes_set_users(rt_volumes *s, rt_volume_users_fn fn, void *ctx)
{
    s->users = fn;
    s->users_ctx = ctx;
}

void rt_volumes_set_owner(rt_volumes *s, uid_t uid, gid_t gid)
{
    s->data_uid = uid;
    s->data_gid = gid;
}

/* ---- create / remove ------------------------------------------------------------ */

int rt_volume_create(rt_volumes *s, const char *name, const char *driver, json_t *opts, json_t *labels,
                     rt_volume **out, berr *e)
{
    *out = NULL;
    char generated[65];
    bool anonymous = !name || !*name;
    if (anonymous) {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(generated, sizeof generated, raw, sizeof raw);
        name = generated;
    }
    if (driver && *driver && strcmp(driver, RT_VOLUME_DRIVER_LOCAL))
        return berr_set(e, -ENOENT, "create %s: error looking up volume plugin %s: plugin \"%s\" not found", name,
                        driver, driver);
    rt_volume *v = rt_volume_find(s, name);
    if (v) {
        *out = v;
        return 0;
    }
    int r = rt_volume_check_name(name, e);
    if (r == 0)
        r = rt_volume_check_options(opts, e);
    if (r < 0)
        return berr_wrap(e, "create %s", name);
    json_t *lab = labels ? json_deep_copy(labels) : NULL;
    if (anonymous) {
        if (!lab)
            lab = json_object();
        json_object_set_new(lab, RT_VOLUME_ANONYMOUS_LABEL, json_string(""));
    }
    v = volume_new(s, name, (long long)time(NULL), lab, opts ? json_deep_copy(opts) : NULL);
    /* the volume's root is the daemon's; _data is for the containers */
    cleanup_free char *dir = xasprintf("%s/%s", s->root, name);
    if (mkdir(dir, 0701) < 0 && errno != EEXIST) {
        r = berr_sys(e, -errno, "create %s: error while creating volume root path '%s'", name, dir);
    } else if (mkdir(v->path, 0755) < 0 && errno != EEXIST) {
        r = berr_sys(e, -errno, "create %s: error while creating volume data path '%s'", name, v->path);
    } else if ((s->data_uid || s->data_gid) && chown(v->path, s->data_uid, s->data_gid) < 0) {
        r = berr_sys(e, -errno, "create %s: chown %s", name, v->path);
    } else if ((r = save_row(s, v, e)) < 0) {
        berr_wrap(e, "create %s", name);
    }
    if (r < 0) {
        fs_rm_rf(dir, NULL);
        volume_free(v);
        return r;
    }
    list_add(s, v);
    rt_volume_emit(s, v, "create", NULL);
    *out = v;
    return 0;
}

int rt_volume_remove(rt_volumes *s, const char *name, bool force, berr *e)
{
    rt_volume *v = rt_volume_find(s, name);
    if (!v)
        return force ? 0 : berr_set(e, -ENOENT, "get %s: no such volume", name);
    json_t *ids = rt_volume_users(s, name);
    if (json_array_size(ids)) {
        cleanup_buf buf list = BUF_INIT;
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id) buf_printf(&list, "%s%s", i ? ", " : "", json_string_value(id));
        json_decref(ids);
        return berr_set(e, -EBUSY, "remove %s: volume is in use - [%s]", name, list.data);
    }
    json_decref(ids);
    if (v->n_active)   /* mounted by a container that no longer references it: cannot happen, but never yank it */
        return berr_set(e, -EBUSY, "remove %s: volume has active mounts", name);
    reap *rp = xcalloc(1, sizeof *rp);
    rp->names = json_array();
    int r = take_out(s, v, rp, e);
    reap_start(s, rp);
    return r;
}

/* ---- views and filters ---------------------------------------------------------- */

static void format_created(long long secs, char out[40])
{
    time_t t = (time_t)secs;
    struct tm tm;
    localtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff;
    if (off == 0)
        snprintf(out + n, 40 - n, "Z");
    else
        snprintf(out + n, 40 - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
}

json_t *rt_volume_json(const rt_volume *v)
{
    char created[40];
    format_created(v->created, created);
    return json_pack("{s:s, s:s, s:O?, s:s, s:s, s:O?, s:s}", "CreatedAt", created, "Driver", v->driver, "Labels",
                     v->labels, "Mountpoint", v->path, "Name", v->name, "Options", v->options, "Scope", "local");
}

/* filters.Match: an exact value, or a regular expression found in s. */
static bool match_name(json_t *vals, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *want = json_string_value(v);
        if (!strcmp(want, s))
            return true;
        regex_t re;
        if (regcomp(&re, want, REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        bool hit = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit)
            return true;
    }
    return false;
}

static bool any_equal(json_t *vals, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) if (!strcmp(json_string_value(v), s)) return true;
    return false;
}

/* label (every one must match) and label! (excluded when every one matches:
 * filters.MatchKVList). */
static bool match_labels(json_t *f, json_t *labels)
{
    if (!filters_match_labels(f, "label", labels))
        return false;
    return !(filters_has(f, "label!") && filters_match_labels(f, "label!", labels));
}

bool rt_volume_list_match(json_t *f, const rt_volume *v, bool used)
{
    if (filters_has(f, "driver") && !any_equal(json_object_get(f, "driver"), v->driver))
        return false;
    if (filters_has(f, "name") && !match_name(json_object_get(f, "name"), v->name))
        return false;
    if (!match_labels(f, v->labels))
        return false;
    if (filters_has(f, "dangling")) {
        bool dangling = false;
        if (filters_bool(f, "dangling", &dangling, NULL) < 0)
            return false;
        if (dangling == used)
            return false;
    }
    return true;
}

/* strconv.ParseBool */
static int parse_go_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};
    for (int i = 0; yes[i]; i++)
        if (!strcmp(s, yes[i]))
            return *out = true, 0;
    for (int i = 0; no[i]; i++)
        if (!strcmp(s, no[i]))
            return *out = false, 0;
    return -EINVAL;
}

int rt_volume_prune_filters(json_t *f, berr *e)
{
    json_t *all = json_object_get(f, "all");
    bool want_all = false;
    if (json_array_size(all) > 1) {
        cleanup_buf buf list = BUF_INIT;
        size_t i;
        json_t *v;
        json_array_foreach(all, i, v) buf_printf(&list, "%s%s", i ? " " : "", json_string_value(v));
        return berr_set(e, -EINVAL, "invalid filter 'all=[%s]': only one value is expected", list.data);
    }
    if (json_array_size(all) == 1) {
        const char *s = json_string_value(json_array_get(all, 0));
        if (parse_go_bool(s, &want_all) < 0)
            return berr_set(e, -EINVAL, "invalid filter 'all': strconv.ParseBool: parsing \"%s\": invalid syntax", s);
    }
    if (!want_all) {
        json_t *label = json_object_get(f, "label");
        if (!label) {
            label = json_array();
            json_object_set_new(f, "label", label);
        }
        json_array_append_new(label, json_string(RT_VOLUME_ANONYMOUS_LABEL));
    }
    return 0;
}

bool rt_volume_prune_match(json_t *f, json_t *labels, json_t *options)
{
    /* volumes with options are mounts of something else: nothing to reclaim */
    return json_object_size(options) == 0 && match_labels(f, labels);
}

int rt_volumes_prune(rt_volumes *s, json_t *f, rt_volumes_prune_done done, void *arg, berr *e)
{
    if (s->pruning)
        return berr_set(e, -EBUSY, "a prune operation is already running");
    reap *rp = xcalloc(1, sizeof *rp);
    rp->s = s;
    rp->measure = true;
    rp->names = json_array();
    rp->done = done;
    rp->arg = arg;
    /* over a copy: take_out changes the list */
    size_t n = s->n;
    rt_volume **all = xmalloc((n ? n : 1) * sizeof *all);
    if (n)
        memcpy(all, s->list, n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        rt_volume *v = all[i];
        if (strcmp(v->driver, RT_VOLUME_DRIVER_LOCAL) || !rt_volume_prune_match(f, v->labels, v->options) ||
            in_use(s, v) || v->n_active)
            continue;
        berr err = {0};
        if (take_out(s, v, rp, &err) < 0)
            log_warn("Could not remove volume: %s", err.msg);
    }
    free(all);
    s->pruning = true;
    reap_start(s, rp);
    return 0;
}

/* ---- mounts ------------------------------------------------------------------- */

int rt_volume_mount(rt_volumes *s, rt_volume *v, const char *ref, berr *e)
{
    (void)s;
    for (size_t i = 0; i < v->n_active; i++)
        if (!strcmp(v->active[i], ref))
            return 0;
    if (rt_volume_needs_mount(v) && !v->mounted) {
        int r = rt_volume_local_mount(v, e);
        if (r < 0)
            return r;
        v->mounted = true;
    }
    v->active = xrealloc(v->active, (v->n_active + 1) * sizeof *v->active);
    v->active[v->n_active++] = xstrdup(ref);
    return 0;
}

bool rt_volume_unmount(rt_volumes *s, rt_volume *v, const char *ref)
{
    (void)s;
    size_t i = 0;
    while (i < v->n_active && strcmp(v->active[i], ref))
        i++;
    if (i == v->n_active)
        return false;
    free(v->active[i]);
    memmove(&v->active[i], &v->active[i + 1], (v->n_active - i - 1) * sizeof *v->active);
    v->n_active--;
    if (v->n_active == 0 && v->mounted) {
        if (umount2(v->path, MNT_DETACH) < 0 && errno != EINVAL)
            log_warn("volume %s: unmount %s: %s", v->name, v->path, strerror(errno));
        v->mounted = false;
    }
    return true;
}
