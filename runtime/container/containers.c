/* The container manager: loading and saving containers, lookups, names. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/sql.h"
#include "runtime/container/exec.h"
#include "runtime/container/container.h"
#include "runtime/container/internal.h"
#include "runtime/container/validate.h"
#include "runtime/linux/seccomp.h"

static const char *const state_names[] = {"created", "running", "paused", "restarting", "removing", "exited", "dead"};

const char *rt_state_name(rt_state s) { return state_names[s]; }

static int state_parse(const char *s, rt_state *out)
{
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++)
        if (s && strcmp(s, state_names[i]) == 0) {
            *out = (rt_state)i;
            return 0;
        }
    return -EINVAL;
}

void rt_container_dir(rt_containers *m, const rt_container *c, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s", m->containers_dir, c->id);
}

void rt_container_free(rt_container *c)
{
    if (!c)
        return;
    json_decref(c->config);
    json_decref(c->host_config);
    json_decref(c->health_log);
    json_decref(c->networks);
    json_decref(c->mount_points);
    free(c);
}

/* ---- persistence ---------------------------------------------------------- */

static json_t *state_json(const rt_container *c)
{
    return json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:b, s:i, s:b, s:b, s:s, s:i, s:O}", "Status",
                     rt_state_name(c->state), "Pid", c->pid, "Error", c->error, "ExitCode", c->exit_code,
                     "StartedAt", c->started_at, "FinishedAt", c->finished_at, "OOMKilled", c->oom_killed,
                     "RestartCount", c->restart_count, "HasBeenStarted", c->has_been_started, "ManualStop",
                     c->manual_stop, "Health", c->health_status, "FailingStreak", c->health_failing_streak,
                     "HealthLog", c->health_log ? c->health_log : json_null());
}

int rt_container_save(rt_containers *m, rt_container *c, berr *e)
{
    json_t *doc = json_pack("{s:O, s:O, s:o, s:{s:o}}", "Config", c->config, "HostConfig", c->host_config, "State",
                            state_json(c), "NetworkSettings", "Networks",
                            c->networks ? json_incref(c->networks) : json_object());
    if (c->mount_points)
        json_object_set(doc, "MountPoints", c->mount_points);
    cleanup_free char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(m->db,
                               "INSERT INTO containers(id, name, image_id, created, doc) VALUES(?1, ?2, ?3, ?4, ?5) "
                               "ON CONFLICT(id) DO UPDATE SET name = ?2, doc = ?5",
                               &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->image_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->created, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "save container %s: %s", c->id, sqlite3_errmsg(m->db));
    return 0;
}

int rt_container_delete_row(rt_containers *m, rt_container *c, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(m->db, "DELETE FROM containers WHERE id = ?", &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "delete container %s: %s", c->id, sqlite3_errmsg(m->db));
    return 0;
}

static void copy_str(char *dst, size_t n, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", v ? v : "");
}

static rt_container *container_from_row(sqlite3_stmt *st)
{
    json_t *doc = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    rt_container *c = xcalloc(1, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(c->name, sizeof c->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(c->image_id, sizeof c->image_id, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(c->created, sizeof c->created, "%s", (const char *)sqlite3_column_text(st, 3));
    c->config = json_incref(json_object_get(doc, "Config"));
    c->host_config = json_incref(json_object_get(doc, "HostConfig"));
    /* containers created before HostConfig.Runtime was recorded ran the same runtime */
    if (json_is_object(c->host_config) && !json_is_string(json_object_get(c->host_config, "Runtime")))
        json_object_set_new(c->host_config, "Runtime", json_string(RT_RUNTIME_NAME));
    json_t *s = json_object_get(doc, "State");
    if (state_parse(json_string_value(json_object_get(s, "Status")), &c->state) < 0)
        c->state = RT_STATE_DEAD;
    c->pid = (int)json_integer_value(json_object_get(s, "Pid"));
    c->exit_code = (int)json_integer_value(json_object_get(s, "ExitCode"));
    copy_str(c->error, sizeof c->error, s, "Error");
    copy_str(c->started_at, sizeof c->started_at, s, "StartedAt");
    copy_str(c->finished_at, sizeof c->finished_at, s, "FinishedAt");
    copy_str(c->health_status, sizeof c->health_status, s, "Health");
    c->oom_killed = json_is_true(json_object_get(s, "OOMKilled"));
    c->restart_count = (int)json_integer_value(json_object_get(s, "RestartCount"));
    c->has_been_started = json_is_true(json_object_get(s, "HasBeenStarted"));
    c->manual_stop = json_is_true(json_object_get(s, "ManualStop"));
    c->health_failing_streak = (int)json_integer_value(json_object_get(s, "FailingStreak"));
    json_t *nets = json_object_get(json_object_get(doc, "NetworkSettings"), "Networks");
    c->networks = json_is_object(nets) ? json_incref(nets) : json_object();
    json_t *mps = json_object_get(doc, "MountPoints");
    c->mount_points = json_is_array(mps) ? json_incref(mps) : NULL;
    json_t *hl = json_object_get(s, "HealthLog");
    c->health_log = json_is_array(hl) ? json_incref(hl) : NULL;
    c->proc.pidfd = -1;
    json_decref(doc);
    if (!json_is_object(c->config) || !json_is_object(c->host_config)) {
        rt_container_free(c);
        return NULL;
    }
    return c;
}

void rt_containers_add(rt_containers *m, rt_container *c)
{
    c->manager = m;
    m->list = xrealloc(m->list, (m->n + 1) * sizeof *m->list);
    m->list[m->n++] = c;
}

void rt_containers_forget(rt_containers *m, rt_container *c)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->list[i] == c) {
            memmove(&m->list[i], &m->list[i + 1], (m->n - i - 1) * sizeof *m->list);
            m->n--;
            return;
        }
    }
}

static int load_all(rt_containers *m, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(m->db, "SELECT id, name, image_id, created, doc FROM containers ORDER BY created", &st,
                               e);
    if (r < 0)
        return r;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rt_container *c = container_from_row(st);
        if (!c) {
            log_error("container %s: unreadable record, skipped", (const char *)sqlite3_column_text(st, 0));
            continue;
        }
        rt_containers_add(m, c);
    }
    return 0;
}

/* ---- lookups ------------------------------------------------------------- */

rt_container *rt_container_by_name(rt_containers *m, const char *name)
{
    if (name[0] == '/')
        name++;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->list[i]->name, name) == 0)
            return m->list[i];
    return NULL;
}

int rt_container_find(rt_containers *m, const char *ref, rt_container **out, berr *e)
{
    *out = NULL;
    if (!ref || !*ref)
        return berr_set(e, -ENOENT, "No such container: %s", ref ? ref : "");
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->list[i]->id, ref) == 0) {
            *out = m->list[i];
            return 0;
        }
    rt_container *c = rt_container_by_name(m, ref);
    if (c) {
        *out = c;
        return 0;
    }
    size_t len = strlen(ref);
    for (size_t i = 0; i < m->n; i++) {
        if (strncmp(m->list[i]->id, ref, len) != 0)
            continue;
        if (c)
            return berr_set(e, -EINVAL, "multiple IDs found with provided prefix: %s", ref);
        c = m->list[i];
    }
    if (!c)
        return berr_set(e, -ENOENT, "No such container: %s", ref);
    *out = c;
    return 0;
}

/* ---- events -------------------------------------------------------------- */

void rt_container_emit(rt_containers *m, rt_container *c, const char *action, json_t *extra)
{
    if (!m->events.emit) {
        json_decref(extra);
        return;
    }
    json_t *attrs = json_object();
    json_t *labels = json_object_get(c->config, "Labels");
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) json_object_set(attrs, k, v);
    json_object_set_new(attrs, "image", json_string(json_string_value(json_object_get(c->config, "Image"))
                                                       ? json_string_value(json_object_get(c->config, "Image"))
                                                       : c->image_id));
    json_object_set_new(attrs, "name", json_string(c->name));
    if (extra)
        json_object_update(attrs, extra);
    json_decref(extra);
    m->events.emit(m->events.ctx, "container", action, c->id, attrs);
}

/* ---- open / close ---------------------------------------------------------- */

static void find_init(rt_containers *m)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    m->init_path[0] = 0;
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(m->init_path, sizeof m->init_path, "%s/berth-init", self);
            if (access(m->init_path, X_OK) == 0)
                return;
        }
    }
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/usr/local/libexec/berth", NULL};
    for (const char *const *d = dirs; *d; d++) {
        snprintf(m->init_path, sizeof m->init_path, "%s/berth-init", *d);
        if (access(m->init_path, X_OK) == 0)
            return;
    }
    m->init_path[0] = 0;
}

int rt_containers_open(rt_containers *m, uv_loop_t *loop, sqlite3 *db, const rt_graphdriver *driver,
                       rt_image_store *images, const char *data_root, const char *init_path, berr *e)
{
    m->loop = loop;
    m->db = db;
    m->driver = driver;
    m->images = images;
    snprintf(m->data_root, sizeof m->data_root, "%s", data_root);
    snprintf(m->containers_dir, sizeof m->containers_dir, "%s/containers", data_root);
    int r = fs_mkdir_p(m->containers_dir, 0710, e);
    if (r == 0)
        r = rt_cgroups_init(&m->cgroups, "/sys/fs/cgroup", e);
    if (r == 0)
        r = load_all(m, e);
    if (r < 0)
        return r;
    if (init_path && *init_path)
        snprintf(m->init_path, sizeof m->init_path, "%s", init_path);
    else
        find_init(m);
    rt_images_set_user_check(images, rt_containers_image_in_use, m);
    rt_containers_recover(m);
    return 0;
}

int rt_containers_default_seccomp(rt_containers *m, uint64_t caps, const struct sock_fprog **prog, berr *e)
{
    size_t n = sizeof m->seccomp_cache / sizeof m->seccomp_cache[0];
    for (size_t i = 0; i < m->seccomp_cached; i++)
        if (m->seccomp_cache[i].caps == caps) {
            *prog = m->seccomp_cache[i].prog;
            return 0;
        }
    struct sock_fprog *p = NULL;
    int r = rt_seccomp_compile(rt_seccomp_default_profile(), caps, &p, e);
    if (r < 0)
        return r;
    if (m->seccomp_cached == n) {   /* full: the oldest goes */
        rt_seccomp_free(m->seccomp_cache[0].prog);
        memmove(&m->seccomp_cache[0], &m->seccomp_cache[1], (n - 1) * sizeof m->seccomp_cache[0]);
        m->seccomp_cached--;
    }
    m->seccomp_cache[m->seccomp_cached].caps = caps;
    m->seccomp_cache[m->seccomp_cached].prog = p;
    m->seccomp_cached++;
    *prog = p;
    return 0;
}

void rt_containers_close(rt_containers *m)
{
    json_decref(m->host_defaults);
    m->host_defaults = NULL;
    for (size_t i = 0; i < m->seccomp_cached; i++)
        if (m->seccomp_cache[i].prog)
            rt_seccomp_free(m->seccomp_cache[i].prog);
    m->seccomp_cached = 0;
    /* The finished execs of containers that stay (stopped, not removed)
     * are kept for exec inspect until their container goes; at close they
     * go with it (LeakSanitizer found them after a daemon stop). */
    for (size_t i = 0; i < m->n; i++)
        rt_exec_forget_container(m, m->list[i]->id);
    for (size_t i = 0; i < m->n; i++)
        rt_container_free(m->list[i]);
    free(m->list);
    m->list = NULL;
    m->n = 0;
}

bool rt_containers_image_in_use(void *ctx, const char *image_id, char *who, size_t who_len, bool *running)
{
    rt_containers *m = ctx;
    bool found = false;
    for (size_t i = 0; i < m->n; i++) {
        rt_container *c = m->list[i];
        if (strcmp(c->image_id, image_id) != 0)
            continue;
        bool run = c->state == RT_STATE_RUNNING || c->state == RT_STATE_PAUSED || c->state == RT_STATE_RESTARTING;
        if (!found || run) {
            snprintf(who, who_len, "%.12s", c->id);
            *running = run;
        }
        found = true;
        if (run)
            break;
    }
    return found;
}
