/* File operations on a container's filesystem (see container_fs.h): the
 * loop takes hold of the root, a worker does the file work, the loop lets
 * go of the root and reports. */
#include "runtime/container/fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/image/store_internal.h"
#include "runtime/layer/rwlayer.h"
#include "runtime/container/userns.h"
#include "runtime/layer/remap.h"

/* ---- the root ------------------------------------------------------------- */

void rt_chains_free(char **chains, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(chains[i]);
    free(chains);
}

int rt_container_image_chains(rt_containers *m, const rt_container *c, char ***chains, size_t *n, berr *e)
{
    *chains = NULL;
    *n = 0;
    rt_image *img = NULL;
    int r = rt_image_resolve(m->images, c->image_id, &img, e);
    if (r < 0)
        return r;
    long long *sizes = NULL;
    r = rt_image_layers(m->images, img, chains, &sizes, n, e);
    rt_image_free(img);
    free(sizes);
    if (r < 0)
        return r;
    for (size_t i = 0; i < *n / 2; i++) {
        char *t = (*chains)[i];
        (*chains)[i] = (*chains)[*n - 1 - i];
        (*chains)[*n - 1 - i] = t;
    }
    return 0;
}

int rt_container_mount_root(rt_containers *m, const rt_container *c, char *merged, berr *e)
{
    char **chains;
    size_t n;
    int r = rt_container_image_chains(m, c, &chains, &n, e);
    if (r < 0)
        return r;
    const rt_idmap *map = rt_container_userns(m, c);
    r = map ? rt_remap_mount_root(m->driver, c->id, chains, n, merged, map, m->remap_userns_fd, e)
            : rt_rwlayer_mount(m->driver, c->id, chains, n, merged, e);
    rt_chains_free(chains, n);
    return r;
}

/* ---- changes ---------------------------------------------------------------- */

void rt_changes_hide_bind_targets(rt_change *c, size_t *n)
{
    static const char *const targets[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
    size_t out = 0;
    bool hid = false;
    for (size_t i = 0; i < *n; i++) {
        bool target = false;
        for (size_t t = 0; t < sizeof targets / sizeof *targets && c[i].kind == RT_CHANGE_ADDED; t++)
            target |= strcmp(c[i].path, targets[t]) == 0;
        if (target) {
            free(c[i].path);
            hid = true;
            continue;
        }
        c[out++] = c[i];
    }
    *n = out;
    if (!hid)
        return;
    /* /etc was only changed by the targets if nothing else below it was. */
    size_t etc = out;
    for (size_t i = 0; i < out; i++) {
        if (strcmp(c[i].path, "/etc") == 0 && c[i].kind != RT_CHANGE_DELETED)
            etc = i;
        else if (strncmp(c[i].path, "/etc/", 5) == 0)
            return;
    }
    if (etc == out)
        return;
    free(c[etc].path);
    memmove(&c[etc], &c[etc + 1], (out - etc - 1) * sizeof *c);
    *n = out - 1;
}

/* ---- jobs ------------------------------------------------------------------ */

typedef enum fs_op { OP_STAT, OP_GET, OP_PUT, OP_EXPORT, OP_CHANGES } fs_op;

/* The files a started container has bind-mounted from its directory. */
#define N_BINDS 3
static const struct {
    const char *container_path, *file;
} bind_files[N_BINDS] = {
    {"/etc/hostname", "hostname"},
    {"/etc/hosts", "hosts"},
    {"/etc/resolv.conf", "resolv.conf"},
};

typedef struct fs_job {
    uv_work_t work;
    rt_containers *m;
    fs_op op;
    char id[DIGEST_HEX_LEN + 1];
    char *who, *path, *tar_path;   /* owned */
    rt_extract_opts xo;
    const rt_idmap *idmap;         /* the container is remapped (its root is idmapped) */
    char *chown_user;              /* owned; xo.chown_user points here */
    int rootfd;
    bool mounted;                  /* the root was mounted for this job */
    bool transfer;                 /* images_transfer_begin was called */
    char tmp_dir[PATH_MAX];
    char *bind_paths[N_BINDS];     /* owned */
    rt_archive_bind binds[N_BINDS];
    char upper[PATH_MAX];
    char **lower_dirs;             /* owned, top first */
    size_t n_lowers;
    rt_fs_result res;
    rt_fs_done done;
    void *arg;
} fs_job;

static fs_job *job_new(rt_containers *m, rt_container *c, fs_op op, rt_fs_done done, void *arg)
{
    fs_job *j = xcalloc(1, sizeof *j);
    j->m = m;
    j->op = op;
    snprintf(j->id, sizeof j->id, "%s", c->id);
    j->rootfd = -1;
    j->res.fd = -1;
    j->done = done;
    j->arg = arg;
    j->work.data = j;
    snprintf(j->tmp_dir, sizeof j->tmp_dir, "%s/tmp", m->data_root);
    return j;
}

static void job_free(fs_job *j)
{
    if (j->rootfd >= 0)
        close(j->rootfd);
    if (j->res.fd >= 0)
        close(j->res.fd);
    rt_path_stat_free(&j->res.stat);
    rt_changes_free(j->res.changes, j->res.n_changes);
    free(j->who);
    free(j->path);
    free(j->tar_path);
    free(j->chown_user);
    for (size_t i = 0; i < N_BINDS; i++)
        free(j->bind_paths[i]);
    rt_chains_free(j->lower_dirs, j->n_lowers);
    free(j);
}

/* Lets go of the root: a mount made for this job goes unless the container
 * runs on it now (it was started meanwhile). */
static void release_root(fs_job *j, rt_container *c)
{
    if (j->rootfd >= 0)
        close(j->rootfd);
    j->rootfd = -1;
    if (!j->mounted || !c || rt_container_running(c))
        return;
    berr e = {0};
    if (rt_rwlayer_unmount(j->m->driver, j->id, &e) < 0)
        log_warn("container %.12s: %s", j->id, e.msg);
}

/* Reports and frees; c is the container if it still exists. */
static void finish(fs_job *j, rt_container *c)
{
    release_root(j, c);
    if (j->transfer)
        images_transfer_end(j->m->images);
    static const char *const actions[OP_CHANGES + 1] = {
        [OP_GET] = "archive-path", [OP_PUT] = "extract-to-dir", [OP_EXPORT] = "export"};
    if (j->res.status == 0 && c && actions[j->op])
        rt_container_emit(j->m, c, actions[j->op], NULL);
    j->done(j->arg, &j->res);
    job_free(j);
}

/* An unnamed file in <data-root>/tmp; returns its fd or -errno. */
static int tmp_file(fs_job *j)
{
    int fd = open(j->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(&j->res.e, -errno, "create temporary file in %s", j->tmp_dir);
    return fd;
}

/* A tar written by the worker is handed over from its start. */
static void tar_done(fs_job *j)
{
    j->res.len = lseek(j->res.fd, 0, SEEK_END);
    lseek(j->res.fd, 0, SEEK_SET);
}

static void run_changes(fs_job *j)
{
    rt_fs_result *res = &j->res;
    if (j->m->driver->kind == RT_DRIVER_VFS && j->n_lowers > 0)
        res->status = rt_changes_vfs(j->upper, j->lower_dirs[0], &res->changes, &res->n_changes, &res->e);
    else
        res->status = rt_changes_overlay(j->upper, (const char *const *)j->lower_dirs, j->n_lowers, &res->changes,
                                         &res->n_changes, &res->e);
    if (res->status == 0)
        rt_changes_hide_bind_targets(res->changes, &res->n_changes);
}

static void fs_run(uv_work_t *w)
{
    fs_job *j = w->data;
    rt_fs_result *res = &j->res;
    switch (j->op) {
    case OP_STAT:
        res->status = rt_archive_stat(j->rootfd, j->path, j->binds, N_BINDS, &res->stat, &res->e);
        break;
    case OP_GET:
    case OP_EXPORT:
        if ((res->status = tmp_file(j)) < 0)
            break;
        res->fd = res->status;
        res->status = j->op == OP_GET
                          ? rt_archive_get(j->rootfd, j->path, j->binds, N_BINDS, res->fd, &res->stat, j->idmap, &res->e)
                          : rt_archive_export(j->rootfd, res->fd, j->idmap, &res->e);
        if (res->status == 0)
            tar_done(j);
        break;
    case OP_PUT: {
        /* Through an idmapped root host root has no id: this worker thread
         * writes as the remapped root, and the archive's owners are mapped. */
        rt_fscreds saved = {0};
        j->xo.idmap = j->idmap;
        if (j->idmap && (res->status = rt_fscreds_enter(j->idmap, &saved, &res->e)) < 0)
            break;
        res->status = rt_archive_extract(j->rootfd, j->path, j->tar_path, &j->xo, &res->e);
        rt_fscreds_leave(&saved);
        break;
    }
    case OP_CHANGES:
        run_changes(j);
        break;
    }
    /* The path (not the container or its image) is what is missing. */
    if (res->status == -ENOENT && (j->op == OP_STAT || j->op == OP_GET || j->op == OP_PUT))
        berr_set(&res->e, -ENOENT, "Could not find the file %s in container %s", j->path, j->who);
    if (res->status < 0 && res->fd >= 0) {
        close(res->fd);
        res->fd = -1;
    }
}

static void fs_after(uv_work_t *w, int status)
{
    (void)status;
    fs_job *j = w->data;
    rt_container *c = NULL;
    rt_container_find(j->m, j->id, &c, NULL);
    finish(j, c);
}

/* Takes hold of c's root on the loop: the mounted root of a running
 * container, else a mount made now. */
static int hold_root(fs_job *j, rt_container *c, berr *e)
{
    char merged[PATH_MAX];
    if (rt_container_running(c) && c->rootfs[0]) {
        snprintf(merged, sizeof merged, "%s", c->rootfs);
    } else {
        int r = rt_container_mount_root(j->m, c, merged, e);
        if (r < 0)
            return r;
        j->mounted = j->m->driver->kind == RT_DRIVER_OVERLAY2;
    }
    j->idmap = rt_container_userns(j->m, c);
    j->rootfd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (j->rootfd < 0)
        return berr_sys(e, -errno, "open container root %s", merged);
    char dir[PATH_MAX];
    rt_container_dir(j->m, c, dir);
    for (size_t i = 0; i < N_BINDS; i++) {
        j->bind_paths[i] = xasprintf("%s/%s", dir, bind_files[i].file);
        j->binds[i] = (rt_archive_bind){bind_files[i].container_path, j->bind_paths[i]};
    }
    return 0;
}

static void start(fs_job *j, rt_container *c)
{
    if (j->op != OP_CHANGES) {
        j->res.status = hold_root(j, c, &j->res.e);
        if (j->res.status < 0) {
            finish(j, c);
            return;
        }
    }
    uv_queue_work(j->m->loop, &j->work, fs_run, fs_after);
}

void rt_container_stat_path(rt_containers *m, rt_container *c, const char *who, const char *path,
                            rt_fs_done done, void *arg)
{
    fs_job *j = job_new(m, c, OP_STAT, done, arg);
    j->who = xstrdup(who);
    j->path = xstrdup(path ? path : "");
    start(j, c);
}

void rt_container_archive_get(rt_containers *m, rt_container *c, const char *who, const char *path,
                              rt_fs_done done, void *arg)
{
    fs_job *j = job_new(m, c, OP_GET, done, arg);
    j->who = xstrdup(who);
    j->path = xstrdup(path ? path : "");
    start(j, c);
}

void rt_container_archive_put(rt_containers *m, rt_container *c, const char *who, const char *path,
                              const char *tar_path, bool no_overwrite_dir_nondir, bool copy_uidgid,
                              rt_fs_done done, void *arg)
{
    fs_job *j = job_new(m, c, OP_PUT, done, arg);
    j->who = xstrdup(who);
    j->path = xstrdup(path ? path : "");
    j->tar_path = xstrdup(tar_path);
    j->xo.no_overwrite_dir_nondir = no_overwrite_dir_nondir;
    j->xo.readonly_root = json_is_true(json_object_get(c->host_config, "ReadonlyRootfs"));
    if (copy_uidgid) {
        const char *user = json_string_value(json_object_get(c->config, "User"));
        j->chown_user = xstrdup(user ? user : "");
        j->xo.chown_user = j->chown_user;
    }
    start(j, c);
}

void rt_container_export(rt_containers *m, rt_container *c, rt_fs_done done, void *arg)
{
    start(job_new(m, c, OP_EXPORT, done, arg), c);
}

void rt_container_changes(rt_containers *m, rt_container *c, rt_fs_done done, void *arg)
{
    fs_job *j = job_new(m, c, OP_CHANGES, done, arg);
    rt_rwlayer_paths(m->driver, c->id, j->upper, NULL, NULL);
    char **chains;
    size_t n;
    j->res.status = rt_container_image_chains(m, c, &chains, &n, &j->res.e);
    if (j->res.status < 0) {
        finish(j, c);
        return;
    }
    j->lower_dirs = xcalloc(n ? n : 1, sizeof *j->lower_dirs);
    for (size_t i = 0; i < n; i++) {
        char dir[PATH_MAX];
        rt_driver_layer_dir(m->driver, chains[i], dir);
        j->lower_dirs[j->n_lowers++] = xstrdup(dir);
    }
    rt_chains_free(chains, n);
    /* The image's layers are read: no collection may remove one meanwhile. */
    images_transfer_begin(m->images);
    j->transfer = true;
    start(j, c);
}
