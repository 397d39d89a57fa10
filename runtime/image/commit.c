/* docker commit (see commit.h). */
#include "runtime/image/commit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/platform.h"
#include "lib/timefmt.h"
#include "runtime/layer/changes.h"
#include "runtime/container/fs.h"
#include "runtime/image/config.h"
#include "runtime/image/store_internal.h"
#include "runtime/layer/rwlayer.h"

/* ---- the new config ------------------------------------------------------ */

static bool empty(const json_t *v)
{
    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v))
        return !*json_string_value(v);
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    if (json_is_integer(v))
        return json_integer_value(v) == 0;
    return false;
}

/* Sets key from the container's value when user's is empty. */
static void take_if_empty(json_t *user, const json_t *container, const char *key)
{
    json_t *theirs = json_object_get(container, key);
    if (empty(json_object_get(user, key)) && !empty(theirs))
        json_object_set_new(user, key, json_deep_copy(theirs));
}

/* Adds the container's keys user lacks (ExposedPorts, Labels, Volumes). */
static void add_keys(json_t *user, const json_t *container, const char *key, bool always)
{
    json_t *mine = json_object_get(user, key), *theirs = json_object_get(container, key);
    if (!json_is_object(mine)) {
        if (!json_is_object(theirs) && !always)
            return;
        mine = json_object();
        json_object_set_new(user, key, mine);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)theirs, k, v) if (!json_object_get(mine, k)) json_object_set(mine, k, v);
}

static size_t env_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

static void merge_env(json_t *user, const json_t *container)
{
    json_t *mine = json_object_get(user, "Env"), *theirs = json_object_get(container, "Env");
    if (empty(mine)) {
        take_if_empty(user, container, "Env");
        return;
    }
    size_t i, k;
    json_t *tv, *mv;
    json_array_foreach(theirs, i, tv) {
        const char *t = json_string_value(tv);
        if (!t)
            continue;
        bool found = false;
        json_array_foreach(mine, k, mv) {
            const char *u = json_string_value(mv);
            if (u && env_key_len(u) == env_key_len(t) && strncmp(u, t, env_key_len(t)) == 0)
                found = true;
        }
        if (!found)
            json_array_append(mine, tv);
    }
}

static void merge_healthcheck(json_t *user, const json_t *container)
{
    json_t *theirs = json_object_get(container, "Healthcheck");
    if (!json_is_object(theirs))
        return;
    json_t *mine = json_object_get(user, "Healthcheck");
    if (!json_is_object(mine)) {
        json_object_set_new(user, "Healthcheck", json_deep_copy(theirs));
        return;
    }
    static const char *const fields[] = {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        take_if_empty(mine, theirs, fields[i]);
}

void rt_commit_merge_config(json_t *user, const json_t *container)
{
    take_if_empty(user, container, "User");
    add_keys(user, container, "ExposedPorts", false);
    merge_env(user, container);
    add_keys(user, container, "Labels", true);
    if (empty(json_object_get(user, "Entrypoint"))) {
        take_if_empty(user, container, "Cmd");
        /* Only an absent Entrypoint is inherited; [] deliberately clears it. */
        json_t *ep = json_object_get(user, "Entrypoint");
        if (!ep || json_is_null(ep))
            json_object_set_new(user, "Entrypoint", json_deep_copy(json_object_get(container, "Entrypoint")));
    }
    merge_healthcheck(user, container);
    take_if_empty(user, container, "WorkingDir");
    add_keys(user, container, "Volumes", false);
    take_if_empty(user, container, "StopSignal");
}

static char *join_cmd(const json_t *cmd)
{
    buf b = BUF_INIT;
    buf_puts(&b, "");
    size_t i;
    json_t *v;
    json_array_foreach(cmd, i, v) buf_printf(&b, "%s%s", i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
    return buf_steal(&b);
}

/* Copies key from the parent when it has one. */
static void inherit(json_t *img, const json_t *parent, const char *key, const char *dflt)
{
    json_t *v = json_object_get(parent, key);
    if (v && !empty(v))
        json_object_set(img, key, v);
    else if (dflt)
        json_object_set_new(img, key, json_string(dflt));
}

json_t *rt_commit_image_config(const rt_commit_image *ci)
{
    json_t *img = json_object();
    json_object_set_new(img, "parent", json_string(ci->parent_id));
    json_object_set_new(img, "created", json_string(ci->created));
    json_object_set_new(img, "container", json_string(ci->container_id));
    json_object_set_new(img, "container_config", json_deep_copy(ci->container_config));
    if (ci->author && *ci->author)
        json_object_set_new(img, "author", json_string(ci->author));
    json_object_set_new(img, "config", ci->config);
    inherit(img, ci->parent, "architecture", platform_goarch());
    inherit(img, ci->parent, "variant", NULL);
    inherit(img, ci->parent, "os", "linux");

    json_t *diff_ids = json_array();
    json_array_extend(diff_ids, json_object_get(json_object_get(ci->parent, "rootfs"), "diff_ids"));
    if (ci->diff_id)
        json_array_append_new(diff_ids, json_string(ci->diff_id));
    json_object_set_new(img, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", diff_ids));

    json_t *history = json_array();
    json_array_extend(history, json_object_get(ci->parent, "history"));
    json_t *h = json_pack("{s:s}", "created", ci->created);
    if (ci->author && *ci->author)
        json_object_set_new(h, "author", json_string(ci->author));
    cleanup_free char *by = join_cmd(json_object_get(ci->container_config, "Cmd"));
    if (*by)
        json_object_set_new(h, "created_by", json_string(by));
    if (ci->comment && *ci->comment)
        json_object_set_new(h, "comment", json_string(ci->comment));
    if (!ci->diff_id)
        json_object_set_new(h, "empty_layer", json_true());
    json_array_append_new(history, h);
    json_object_set_new(img, "history", history);
    inherit(img, ci->parent, "os.version", NULL);
    inherit(img, ci->parent, "os.features", NULL);
    return img;
}

/* ---- the job ---------------------------------------------------------------- */

typedef struct commit_job {
    uv_work_t work;
    rt_containers *m;
    rt_image_store *s;
    char id[DIGEST_HEX_LEN + 1];
    char *ref, *comment;           /* owned */
    bool paused;                   /* we froze the container */
    int status;
    berr e;

    /* read by the first worker */
    char upper[PATH_MAX];
    char **lower_dirs;             /* owned, top first */
    size_t n_lowers;
    bool vfs;
    char tar[PATH_MAX];            /* the layer tar written, "" once moved or removed */

    /* the image */
    rt_commit_image ci;            /* config, parent and container_config owned through the fields below */
    json_t *parent_config, *container_config, *new_config;
    char *author, *created;
    char parent_id[DIGEST_BUF];
    layer_rec *layers;             /* the parent's layers, then the new one */
    size_t n_layers;
    char diff_id[DIGEST_BUF];
    char image_id[DIGEST_BUF];

    rt_commit_done done;
    void *arg;
} commit_job;

static void job_free(commit_job *j)
{
    if (j->tar[0])
        unlink(j->tar);
    rt_chains_free(j->lower_dirs, j->n_lowers);
    json_decref(j->parent_config);
    json_decref(j->container_config);
    json_decref(j->new_config);
    free(j->ref);
    free(j->comment);
    free(j->author);
    free(j->created);
    free(j->layers);
    free(j);
}

/* Worker 1: the changes as a layer tar in the store's tmp directory. */
static void diff_run(uv_work_t *w)
{
    commit_job *j = w->data;
    rt_change *ch = NULL;
    size_t n = 0;
    if (j->vfs && j->n_lowers)
        j->status = rt_changes_vfs(j->upper, j->lower_dirs[0], &ch, &n, &j->e);
    else
        j->status = rt_changes_overlay(j->upper, (const char *const *)j->lower_dirs, j->n_lowers, &ch, &n, &j->e);
    if (j->status < 0)
        return;
    rt_changes_hide_bind_targets(ch, &n);
    snprintf(j->tar, sizeof j->tar, "%s/commit-XXXXXX", j->s->tmp_dir);
    int fd = mkostemp(j->tar, O_CLOEXEC);
    if (fd < 0) {
        j->tar[0] = 0;
        j->status = berr_sys(&j->e, -errno, "create temporary file in %s", j->s->tmp_dir);
    } else {
        long long size;
        j->status = rt_changes_write_tar(j->upper, ch, n, fd, j->diff_id, &size, &j->e);
        if (j->status == 0 && fsync(fd) < 0)
            j->status = berr_sys(&j->e, -errno, "write %s", j->tar);
        close(fd);
        if (n == 0)
            snprintf(j->diff_id, sizeof j->diff_id, "%s", RT_EMPTY_LAYER_DIFF_ID);
    }
    rt_changes_free(ch, n);
}

/* Worker 2: the layer into the store, then the image config. */
static void store_run(uv_work_t *w)
{
    commit_job *j = w->data;
    bool has_layer = strcmp(j->diff_id, RT_EMPTY_LAYER_DIFF_ID) != 0;
    if (has_layer) {
        char blob[PATH_MAX];
        rt_images_blob_path(j->s, j->diff_id, blob);
        if (access(blob, F_OK) == 0)
            unlink(j->tar);
        else if (rename(j->tar, blob) < 0) {
            j->status = berr_sys(&j->e, -errno, "store layer %s", j->diff_id);
            return;
        }
        j->tar[0] = 0;
        layer_rec *l = &j->layers[j->n_layers];
        const char *parent = j->n_layers ? j->layers[j->n_layers - 1].chain_id : "";
        snprintf(l->diff_id, sizeof l->diff_id, "%s", j->diff_id);
        snprintf(l->parent, sizeof l->parent, "%s", parent);
        digest_chain_id(parent, j->diff_id, l->chain_id);
        j->status = rt_driver_create_layer(j->s->driver, l->chain_id, *parent ? parent : NULL, blob, &l->size, &j->e);
        if (j->status < 0)
            return;
        j->n_layers++;
    }
    j->ci.diff_id = has_layer ? j->diff_id : NULL;
    j->ci.config = j->new_config;
    j->new_config = NULL;
    json_t *img = rt_commit_image_config(&j->ci);
    cleanup_free char *bytes = json_dumps(img, JSON_COMPACT);
    j->new_config = img;   /* kept for images_register */
    digest_mem(bytes, strlen(bytes), j->image_id);
    char path[PATH_MAX];
    rt_images_blob_path(j->s, j->image_id, path);
    if (access(path, F_OK) != 0)
        j->status = fs_write_file_atomic(path, bytes, strlen(bytes), 0600, &j->e);
}

static void finish(commit_job *j)
{
    rt_container *c = NULL;
    rt_container_find(j->m, j->id, &c, NULL);
    if (j->status == 0 && c) {
        json_t *attrs = json_pack("{s:s, s:s, s:s}", "comment", j->comment, "imageID", j->image_id, "imageRef",
                                  j->ref ? j->ref : "");
        rt_container_emit(j->m, c, "commit", attrs);
    }
    images_transfer_end(j->s);
    j->done(j->arg, j->status, &j->e, j->status == 0 ? j->image_id : NULL);
    job_free(j);
}

static void store_after(uv_work_t *w, int status)
{
    (void)status;
    commit_job *j = w->data;
    if (j->status == 0)
        j->status = images_register(j->s, j->image_id, j->new_config, j->layers, j->n_layers, &j->e);
    if (j->status == 0 && j->ref) {
        char old[DIGEST_BUF];
        j->status = rt_image_tag(j->s, j->image_id, j->ref, old, &j->e);
    }
    finish(j);
}

static void diff_after(uv_work_t *w, int status)
{
    (void)status;
    commit_job *j = w->data;
    rt_container *c = NULL;
    if (j->paused && rt_container_find(j->m, j->id, &c, NULL) == 0 && c->state == RT_STATE_PAUSED) {
        berr e = {0};
        if (rt_container_pause(j->m, c, false, &e) < 0)
            log_warn("commit of %.12s: %s", j->id, e.msg);
    }
    if (j->status < 0) {
        finish(j);
        return;
    }
    uv_queue_work(j->m->loop, &j->work, store_run, store_after);
}

/* The new Config: the given one or the container's, changes applied, then
 * merged with the container's as dockerd does. */
static int build_config(const rt_container *c, const rt_commit_opts *o, json_t **out, berr *e)
{
    json_t *cfg = json_deep_copy(json_is_object(o->config) ? o->config : c->config);
    if (!cfg)
        cfg = json_object();
    int r = o->n_changes ? image_config_apply_changes(cfg, o->changes, o->n_changes, e) : 0;
    if (r < 0) {
        json_decref(cfg);
        return r;
    }
    if (!o->no_merge)
        rt_commit_merge_config(cfg, c->config);
    *out = cfg;
    return 0;
}

/* The parent image: its config and its layers as records (base first). */
static int load_parent(commit_job *j, const rt_container *c, berr *e)
{
    rt_image *img = NULL;
    int r = rt_image_resolve(j->s, c->image_id, &img, e);
    if (r < 0)
        return r;
    snprintf(j->parent_id, sizeof j->parent_id, "%s", img->id);
    char **chains = NULL;
    long long *sizes = NULL;
    size_t n = 0;
    r = rt_image_config(j->s, img->id, &j->parent_config, e);
    if (r == 0)
        r = rt_image_layers(j->s, img, &chains, &sizes, &n, e);
    rt_image_free(img);
    if (r < 0)
        return r;
    json_t *diffs = json_object_get(json_object_get(j->parent_config, "rootfs"), "diff_ids");
    if (json_array_size(diffs) != n)
        r = berr_set(e, -EIO, "image %s: %zu layers recorded, its config lists %zu", j->parent_id, n,
                     json_array_size(diffs));
    j->layers = xcalloc(n + 1, sizeof *j->layers);
    j->lower_dirs = xcalloc(n ? n : 1, sizeof *j->lower_dirs);
    for (size_t i = 0; i < n && r == 0; i++) {
        layer_rec *l = &j->layers[i];
        snprintf(l->chain_id, sizeof l->chain_id, "%s", chains[i]);
        snprintf(l->diff_id, sizeof l->diff_id, "%s", json_string_value(json_array_get(diffs, i)));
        snprintf(l->parent, sizeof l->parent, "%s", i ? chains[i - 1] : "");
        l->size = sizes[i];
        char dir[PATH_MAX];
        rt_driver_layer_dir(j->s->driver, chains[n - 1 - i], dir);
        j->lower_dirs[i] = xstrdup(dir);
        j->n_lowers++;
        j->n_layers++;
    }
    rt_chains_free(chains, n);
    free(sizes);
    return r;
}

int rt_container_commit(rt_containers *m, rt_container *c, const rt_commit_opts *o, rt_commit_done done, void *arg,
                        berr *e)
{
    if (c->state == RT_STATE_DEAD)
        return berr_set(e, -EBUSY, "You cannot commit container %s which is Dead", c->id);
    if (c->removing || c->state == RT_STATE_REMOVING)
        return berr_set(e, -EBUSY, "You cannot commit container %s which is being removed", c->id);
    commit_job *j = xcalloc(1, sizeof *j);
    j->m = m;
    j->s = m->images;
    j->work.data = j;
    j->done = done;
    j->arg = arg;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    j->ref = o->ref && *o->ref ? xstrdup(o->ref) : NULL;
    j->comment = xstrdup(o->comment ? o->comment : "");
    j->author = xstrdup(o->author ? o->author : "");
    j->vfs = m->driver->kind == RT_DRIVER_VFS;
    rt_rwlayer_paths(m->driver, c->id, j->upper, NULL, NULL);
    int r = build_config(c, o, &j->new_config, e);
    if (r == 0)
        r = load_parent(j, c, e);
    if (r == 0 && o->pause && rt_container_running(c) && c->state != RT_STATE_PAUSED) {
        r = rt_container_pause(m, c, true, e);
        j->paused = r == 0;
    }
    if (r < 0) {
        job_free(j);
        return r;
    }
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    j->created = xstrdup(now);
    j->container_config = json_deep_copy(o->container_config ? o->container_config : c->config);
    j->ci = (rt_commit_image){.parent = j->parent_config,
                              .parent_id = j->parent_id,
                              .container_config = j->container_config,
                              .container_id = j->id,
                              .author = j->author,
                              .comment = j->comment,
                              .created = j->created};
    images_transfer_begin(j->s);
    uv_queue_work(m->loop, &j->work, diff_run, diff_after);
    return 0;
}
