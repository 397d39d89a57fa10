/* Accepting images from a registry: downloaded layer blobs are unpacked in
 * workers one at a time as the pull hands them over, recorded as layers on
 * the loop, and the image is recorded last, so an interrupted pull leaves
 * only unreferenced layers that the next collection removes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/sql.h"
#include "runtime/image/compressed.h"
#include "runtime/image/formats.h"
#include "runtime/image/pulled.h"
#include "runtime/image/store_internal.h"

void rt_images_hold(rt_image_store *s) { images_transfer_begin(s); }
void rt_images_release(rt_image_store *s) { images_transfer_end(s); }

static int layer_row(rt_image_store *s, const char *chain, layer_rec *out)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    if (sql_prepare(s->db, "SELECT diff_id, COALESCE(parent, ''), size FROM layers WHERE chain_id = ?", &st, NULL) < 0)
        return -EIO;
    sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -ENOENT;
    if (out) {
        snprintf(out->chain_id, sizeof out->chain_id, "%s", chain);
        snprintf(out->diff_id, sizeof out->diff_id, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(out->parent, sizeof out->parent, "%s", (const char *)sqlite3_column_text(st, 1));
        out->size = sqlite3_column_int64(st, 2);
    }
    return 0;
}

bool rt_images_layer_exists(rt_image_store *s, const char *chain_id)
{
    return layer_row(s, chain_id, NULL) == 0 && rt_driver_layer_exists(s->driver, chain_id);
}

typedef struct unpack_job {
    uv_work_t work;
    rt_image_store *s;
    char *path;
    char parent[DIGEST_BUF];
    char diff[DIGEST_BUF];
    layer_rec layer;
    int status;
    berr e;
    rt_unpack_done done;
    void *arg;
} unpack_job;

static void unpack_run(uv_work_t *w)
{
    unpack_job *j = w->data;
    cleanup_free char *tmp = xasprintf("%s/layer-XXXXXX", j->s->tmp_dir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        j->status = berr_sys(&j->e, -errno, "create temporary file");
        unlink(j->path);
        return;
    }
    close(fd);
    char got[DIGEST_BUF];
    long long usize;
    j->status = layer_blob_decompress(j->path, tmp, got, &usize, &j->e);
    unlink(j->path);
    if (j->status == 0 && strcmp(got, j->diff) != 0)
        j->status = berr_set(&j->e, -EINVAL, "layer verification failed: diff ID %s, expected %s", got, j->diff);
    if (j->status == 0)
        j->status = images_store_layer(j->s, tmp, got, j->parent, &j->layer, &j->e);
    unlink(tmp);
}

static void unpack_after(uv_work_t *w, int status)
{
    (void)status;
    unpack_job *j = w->data;
    if (j->status == 0)
        j->status = images_insert_layer(j->s, &j->layer, &j->e);
    images_transfer_end(j->s);
    j->done(j->arg, j->status, &j->e);
    free(j->path);
    free(j);
}

void rt_images_unpack_pulled(rt_image_store *s, const char *path, const char *parent, const char *diff_id,
                             rt_unpack_done done, void *arg)
{
    unpack_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->path = xstrdup(path);
    snprintf(j->parent, sizeof j->parent, "%s", parent);
    snprintf(j->diff, sizeof j->diff, "%s", diff_id);
    j->done = done;
    j->arg = arg;
    j->work.data = j;
    images_transfer_begin(s);
    images_queue_work(s, &j->work, unpack_run, unpack_after);
}

int rt_images_commit_pulled(rt_image_store *s, const char *config, size_t len, const char *const *chains,
                            size_t n, const char *ref, const char *repo_digest, bool *newer, char id[DIGEST_BUF],
                            berr *e)
{
    json_error_t je;
    json_t *cfg = json_loadb(config, len, 0, &je);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return berr_set(e, -EINVAL, "invalid image config: %s", je.text);
    }
    layer_rec *recs = xcalloc(n + 1, sizeof *recs);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        if (layer_row(s, chains[i], &recs[i]) < 0)
            r = berr_set(e, -EAGAIN, "layer %s was removed while the image was being pulled; try again", chains[i]);
    /* The config blob is small: written here, on the loop, like a tag. */
    if (r == 0)
        r = images_store_config(s, config, len, id, e);
    /* What the pull asked for: the tag, or by digest the digest. */
    const char *named = ref[0] ? ref : repo_digest;
    rt_image *before = NULL;
    bool existed = r == 0 && rt_image_resolve(s, id, &before, NULL) == 0;
    bool had = existed && (ref[0] ? rt_image_named_tag(before, ref) : rt_image_named_digest(before, repo_digest));
    rt_image_free(before);
    if (r == 0)
        r = images_register(s, id, cfg, recs, n, e);
    if (r == 0)
        r = rt_image_add_digest(s, id, repo_digest, e);
    if (r == 0 && ref[0]) {
        char old[DIGEST_BUF];
        r = rt_image_tag(s, id, ref, old, e);
    }
    /* dockerd's pull event names the reference, as its actor ID too. */
    if (r == 0)
        images_emit(s, "pull", named, named);
    *newer = !had;
    free(recs);
    json_decref(cfg);
    return r;
}

void rt_images_emit_push(rt_image_store *s, const char *ref) { images_emit(s, "push", ref, ref); }

static bool ps_layer_exists(void *ctx, const char *chain) { return rt_images_layer_exists(ctx, chain); }

static void ps_unpack(void *ctx, const char *path, const char *parent, const char *diff, reg_unpacked_fn done,
                      void *arg)
{
    rt_images_unpack_pulled(ctx, path, parent, diff, done, arg);
}

static int ps_commit(void *ctx, const char *config, size_t len, const char *const *chains, const char *const *diffs,
                     const reg_descriptor *blobs, size_t n, const char *ref, const char *repo_digest, bool *newer,
                     berr *e)
{
    char id[DIGEST_BUF];
    int r = rt_images_commit_pulled(ctx, config, len, chains, n, ref, repo_digest, newer, id, e);
    /* A push of these layers looks for the same gzip blobs first (OCI's
     * gzip layers are the same bytes as Docker's). */
    for (size_t i = 0; i < n && r == 0; i++)
        if (strstr(blobs[i].media_type, "gzip"))
            rt_images_record_blobsum(ctx, diffs[i], blobs[i].digest, blobs[i].size);
    return r;
}

reg_pull_store rt_images_pull_store(rt_image_store *s)
{
    return (reg_pull_store){.ctx = s, .layer_exists = ps_layer_exists, .unpack = ps_unpack, .commit = ps_commit};
}
