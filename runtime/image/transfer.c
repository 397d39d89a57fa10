/* Moving images in and out: load (docker-save and OCI archives), import (a
 * rootfs tarball) and save.  The file work runs in uv_queue_work; recording
 * the result in the local store happens back on the loop. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/platform.h"
#include "lib/reference.h"
#include "lib/timefmt.h"
#include "runtime/image/formats.h"
#include "runtime/image/store_internal.h"
#include "runtime/layer/tarsafe.h"

/* ---- shared worker steps ----------------------------------------------- */

/* Puts the uncompressed layer at tmp into the blob store under its digest
 * (keeping an existing copy), and unpacks it on top of parent. */
int images_store_layer(rt_image_store *s, const char *tmp, const char *diff_id, const char *parent,
                       layer_rec *out, berr *e)
{
    char blob[PATH_MAX];
    rt_images_blob_path(s, diff_id, blob);
    if (access(blob, F_OK) == 0) {
        unlink(tmp);
    } else if (rename(tmp, blob) < 0) {
        int r = fs_copy_file(tmp, blob, 0600, e);
        unlink(tmp);
        if (r < 0)
            return r;
    }
    snprintf(out->diff_id, sizeof out->diff_id, "%s", diff_id);
    snprintf(out->parent, sizeof out->parent, "%s", parent);
    digest_chain_id(parent, diff_id, out->chain_id);
    return rt_driver_create_layer(s->driver, out->chain_id, parent[0] ? parent : NULL, blob, &out->size, e);
}

/* Writes config bytes into the blob store; its digest is the image ID. */
int images_store_config(rt_image_store *s, const char *bytes, size_t len, char id[DIGEST_BUF], berr *e)
{
    digest_mem(bytes, len, id);
    char path[PATH_MAX];
    rt_images_blob_path(s, id, path);
    if (access(path, F_OK) == 0)
        return 0;
    return fs_write_file_atomic(path, bytes, len, 0600, e);
}

/* ---- load ------------------------------------------------------------ */

typedef struct loaded_image {
    char id[DIGEST_BUF];
    json_t *config;
    layer_rec *layers;
    size_t n_layers;
    char **tags;
    size_t n_tags;
} loaded_image;

typedef struct load_job {
    uv_work_t work;
    rt_image_store *s;
    char *archive;
    int status;
    berr e;
    loaded_image *imgs;
    size_t n;
    rt_load_done done;
    void *arg;
} load_job;

static int load_one(load_job *j, const char *staging, const archive_image *ai, loaded_image *out)
{
    (void)staging;
    berr *e = &j->e;
    cleanup_free char *bytes = NULL;
    size_t len;
    int r = fs_read_file(ai->config_path, &bytes, &len, e);
    if (r < 0)
        return r;
    json_error_t je;
    out->config = json_loadb(bytes, len, 0, &je);
    if (!json_is_object(out->config))
        return berr_set(e, -EINVAL, "invalid image config: %s", je.text);
    json_t *diff_ids = json_object_get(json_object_get(out->config, "rootfs"), "diff_ids");
    if (!json_is_array(diff_ids) || json_array_size(diff_ids) != ai->n_layers)
        return berr_set(e, -EINVAL, "invalid manifest, layers length mismatch: expected %zu, got %zu",
                        json_is_array(diff_ids) ? json_array_size(diff_ids) : 0, ai->n_layers);
    out->layers = xcalloc(ai->n_layers ? ai->n_layers : 1, sizeof *out->layers);
    const char *parent = "";
    for (size_t i = 0; i < ai->n_layers; i++) {
        const char *want = json_string_value(json_array_get(diff_ids, i));
        char tmp[PATH_MAX], diff[DIGEST_BUF];
        snprintf(tmp, sizeof tmp, "%s/layer-%zu.tar", staging, i);
        long long usize;
        r = layer_blob_decompress(ai->layer_paths[i], tmp, diff, &usize, e);
        if (r < 0)
            return r;
        if (!want || strcmp(want, diff) != 0) {
            unlink(tmp);
            return berr_set(e, -EINVAL, "invalid diffID for layer %zu: expected \"%s\", got \"%s\"", i,
                            want ? want : "", diff);
        }
        r = images_store_layer(j->s, tmp, diff, parent, &out->layers[i], e);
        if (r < 0)
            return berr_wrap(e, "layer %s", diff);
        out->n_layers++;
        parent = out->layers[i].chain_id;
    }
    r = images_store_config(j->s, bytes, len, out->id, e);
    if (r < 0)
        return r;
    out->tags = xcalloc(ai->n_tags ? ai->n_tags : 1, sizeof *out->tags);
    for (size_t i = 0; i < ai->n_tags; i++)
        out->tags[out->n_tags++] = xstrdup(ai->repo_tags[i]);
    return 0;
}

static void load_run(uv_work_t *w)
{
    load_job *j = w->data;
    cleanup_free char *staging = xasprintf("%s/load-XXXXXX", j->s->tmp_dir);
    if (!mkdtemp(staging)) {
        j->status = berr_sys(&j->e, -errno, "create staging directory");
        return;
    }
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_NONE, .unprivileged = true};
    archive_manifest m = {0};
    j->status = tar_extract(j->archive, staging, &o, NULL, &j->e);
    if (j->status == 0)
        j->status = image_archive_read(staging, &m, &j->e);
    if (j->status == 0) {
        j->imgs = xcalloc(m.n_images ? m.n_images : 1, sizeof *j->imgs);
        for (size_t i = 0; i < m.n_images && j->status == 0; i++) {
            j->status = load_one(j, staging, &m.images[i], &j->imgs[i]);
            j->n = i + 1;
        }
    }
    archive_manifest_free(&m);
    fs_rm_rf(staging, NULL);
}

static void loaded_free(loaded_image *li)
{
    json_decref(li->config);
    free(li->layers);
    for (size_t i = 0; i < li->n_tags; i++)
        free(li->tags[i]);
    free(li->tags);
}

static void push_msg(char ***msgs, size_t *n, char *m)
{
    *msgs = xrealloc(*msgs, (*n + 1) * sizeof **msgs);
    (*msgs)[(*n)++] = m;
}

/* Records one loaded image and its tags; appends what dockerd prints. */
static int load_record(rt_image_store *s, loaded_image *li, char ***msgs, size_t *n, berr *e)
{
    int r = images_register(s, li->id, li->config, li->layers, li->n_layers, e);
    if (r < 0)
        return r;
    if (li->n_tags == 0)
        push_msg(msgs, n, xasprintf("Loaded image ID: %s", li->id));
    images_emit(s, "load", li->id, li->n_tags ? li->tags[0] : NULL);
    for (size_t t = 0; t < li->n_tags; t++) {
        image_ref ref;
        if (ref_parse(li->tags[t], &ref, e) < 0)
            return berr_wrap(e, "invalid tag in archive");
        ref_default_tag(&ref);
        char text[REF_NAME_MAX + REF_TAG_MAX + 2], old[DIGEST_BUF];
        ref_format(&ref, text, sizeof text);
        r = rt_image_tag(s, li->id, text, old, e);
        if (r < 0)
            return r;
        if (old[0])
            push_msg(msgs, n, xasprintf("The image %s already exists, renaming the old one with ID %s to empty string",
                                        text, old));
        push_msg(msgs, n, xasprintf("Loaded image: %s", text));
    }
    return 0;
}

static void load_after(uv_work_t *w, int status)
{
    (void)status;
    load_job *j = w->data;
    rt_image_store *s = j->s;
    char **msgs = NULL;
    size_t n_msgs = 0;
    for (size_t i = 0; i < j->n && j->status == 0; i++)
        j->status = load_record(s, &j->imgs[i], &msgs, &n_msgs, &j->e);
    for (size_t i = 0; i < j->n; i++)
        loaded_free(&j->imgs[i]);
    free(j->imgs);
    images_transfer_end(s);
    j->done(j->arg, j->status, &j->e, msgs, n_msgs);
    for (size_t i = 0; i < n_msgs; i++)
        free(msgs[i]);
    free(msgs);
    free(j->archive);
    free(j);
}

void rt_images_load(rt_image_store *s, const char *archive_path, rt_load_done done, void *arg)
{
    load_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->archive = xstrdup(archive_path);
    j->done = done;
    j->arg = arg;
    j->work.data = j;
    images_transfer_begin(s);
    images_queue_work(s, &j->work, load_run, load_after);
}

/* ---- import ---------------------------------------------------------- */

typedef struct import_job {
    uv_work_t work;
    rt_image_store *s;
    char *tar;
    json_t *config;       /* the whole image config once built */
    char *ref;
    int status;
    berr e;
    char id[DIGEST_BUF];
    layer_rec layer;
    rt_import_done done;
    void *arg;
} import_job;

static void import_run(uv_work_t *w)
{
    import_job *j = w->data;
    char tmp[PATH_MAX], diff[DIGEST_BUF];
    snprintf(tmp, sizeof tmp, "%s/import-XXXXXX", j->s->tmp_dir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        j->status = berr_sys(&j->e, -errno, "create temporary file");
        return;
    }
    close(fd);
    long long usize;
    j->status = layer_blob_decompress(j->tar, tmp, diff, &usize, &j->e);
    if (j->status == 0)
        j->status = images_store_layer(j->s, tmp, diff, "", &j->layer, &j->e);
    unlink(tmp);
    if (j->status < 0)
        return;
    json_object_set_new(j->config, "rootfs", json_pack("{s:s, s:[s]}", "type", "layers", "diff_ids", diff));
    cleanup_free char *bytes = json_dumps(j->config, JSON_COMPACT);
    j->status = images_store_config(j->s, bytes, strlen(bytes), j->id, &j->e);
}

static void import_after(uv_work_t *w, int status)
{
    (void)status;
    import_job *j = w->data;
    if (j->status == 0)
        j->status = images_register(j->s, j->id, j->config, &j->layer, 1, &j->e);
    if (j->status == 0 && j->ref[0]) {
        char old[DIGEST_BUF];
        j->status = rt_image_tag(j->s, j->id, j->ref, old, &j->e);
    }
    if (j->status == 0)
        images_emit(j->s, "import", j->id, j->ref[0] ? j->ref : NULL);
    images_transfer_end(j->s);
    j->done(j->arg, j->status, &j->e, j->id);
    json_decref(j->config);
    free(j->tar);
    free(j->ref);
    free(j);
}

void rt_images_import(rt_image_store *s, const char *tar_path, json_t *config, const char *comment,
                      const char *ref, rt_import_done done, void *arg)
{
    import_job *j = xcalloc(1, sizeof *j);
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    j->config = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[{s:s, s:s}]}", "architecture", platform_goarch(), "os",
                          "linux", "created", now, "comment", comment, "config", config, "history", "created", now,
                          "comment", comment);
    j->s = s;
    j->tar = xstrdup(tar_path);
    j->ref = xstrdup(ref ? ref : "");
    j->done = done;
    j->arg = arg;
    j->work.data = j;
    images_transfer_begin(s);
    images_queue_work(s, &j->work, import_run, import_after);
}

/* ---- save ------------------------------------------------------------ */

typedef struct save_job {
    uv_work_t work;
    rt_image_store *s;
    save_image *imgs;
    size_t n;
    json_t *keep;          /* owns the strings the save_images point into */
    int status;
    berr e;
    int fd;
    long long len;
    rt_save_done done;
    void *arg;
} save_job;

static void save_run(uv_work_t *w)
{
    save_job *j = w->data;
    j->fd = open(j->s->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        j->status = berr_sys(&j->e, -errno, "create temporary file");
        return;
    }
    j->status = image_archive_write(j->fd, j->imgs, j->n, &j->e);
    j->len = lseek(j->fd, 0, SEEK_END);
    lseek(j->fd, 0, SEEK_SET);
}

static void save_nothing(uv_work_t *w) { (void)w; }

static void save_after(uv_work_t *w, int status)
{
    (void)status;
    save_job *j = w->data;
    images_transfer_end(j->s);
    if (j->status < 0 && j->fd >= 0) {
        close(j->fd);
        j->fd = -1;
    }
    for (size_t i = 0; i < j->n && j->status == 0; i++)
        images_emit(j->s, "save", j->imgs[i].config_digest,
                    j->imgs[i].n_tags ? j->imgs[i].repo_tags[0] : NULL);
    j->done(j->arg, j->status, &j->e, j->fd, j->len);
    for (size_t i = 0; i < j->n; i++) {
        free((void *)j->imgs[i].layer_diff_ids);
        free((void *)j->imgs[i].layer_paths);
        free((void *)j->imgs[i].repo_tags);
    }
    free(j->imgs);
    json_decref(j->keep);
    free(j);
}

/* Strings handed to the worker live in a JSON array so one decref frees them. */
static const char *keep_str(json_t *keep, char *s)
{
    json_t *v = json_string(s);
    free(s);
    json_array_append_new(keep, v);
    return json_string_value(v);
}

void rt_images_save(rt_image_store *s, rt_save_item *items, size_t n, rt_save_done done, void *arg)
{
    save_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->done = done;
    j->arg = arg;
    j->fd = -1;
    j->keep = json_array();
    j->imgs = xcalloc(n ? n : 1, sizeof *j->imgs);
    j->n = n;
    j->work.data = j;
    for (size_t i = 0; i < n && j->status == 0; i++) {
        save_image *si = &j->imgs[i];
        json_t *config = NULL;
        j->status = rt_image_config(s, items[i].img->id, &config, &j->e);
        if (j->status < 0)
            break;
        json_t *diffs = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
        size_t nl = json_array_size(diffs);
        const char **ids = xcalloc(nl ? nl : 1, sizeof *ids), **paths = xcalloc(nl ? nl : 1, sizeof *paths);
        for (size_t l = 0; l < nl; l++) {
            char p[PATH_MAX];
            const char *d = json_string_value(json_array_get(diffs, l));
            ids[l] = keep_str(j->keep, xstrdup(d ? d : ""));
            rt_images_blob_path(s, ids[l], p);
            paths[l] = keep_str(j->keep, xstrdup(p));
        }
        json_decref(config);
        char cp[PATH_MAX];
        rt_images_blob_path(s, items[i].img->id, cp);
        si->config_digest = keep_str(j->keep, xstrdup(items[i].img->id));
        si->config_path = keep_str(j->keep, xstrdup(cp));
        si->layer_diff_ids = ids;
        si->layer_paths = paths;
        si->n_layers = nl;
        const char **tags = xcalloc(items[i].n_tags ? items[i].n_tags : 1, sizeof *tags);
        for (size_t t = 0; t < items[i].n_tags; t++)
            tags[t] = keep_str(j->keep, xstrdup(items[i].tags[t]));
        si->repo_tags = tags;
        si->n_tags = items[i].n_tags;
    }
    images_transfer_begin(s);
    if (j->status < 0) {
        /* Report on the loop's next turn, as every other outcome is. */
        uv_queue_work(s->loop, &j->work, save_nothing, save_after);
        return;
    }
    uv_queue_work(s->loop, &j->work, save_run, save_after);
}
