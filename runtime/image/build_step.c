/* Images the builder makes without a container (see commit.h,
 * rt_images_build_step): the parent's layers, optionally one more from a
 * tar the builder wrote, and a config. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/timefmt.h"
#include "runtime/image/commit.h"
#include "runtime/image/store_internal.h"

typedef struct step_job {
    uv_work_t work;
    rt_image_store *s;
    char parent_id[DIGEST_BUF];
    json_t *parent_config, *config, *container_config, *image;
    char *author;
    char tar[PATH_MAX];           /* "" without a layer */
    layer_rec *layers;
    size_t n_layers;
    char diff_id[DIGEST_BUF];
    char image_id[DIGEST_BUF];
    int status;
    berr e;
    rt_commit_done done;
    void *arg;
} step_job;

static void step_run(uv_work_t *w)
{
    step_job *j = w->data;
    bool has_layer = false;
    if (j->tar[0]) {
        long long size;
        j->status = digest_file(j->tar, j->diff_id, &size, &j->e);
        if (j->status < 0)
            return;
        has_layer = true;
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
        if (!rt_driver_layer_exists(j->s->driver, l->chain_id)) {
            j->status = rt_driver_create_layer(j->s->driver, l->chain_id, *parent ? parent : NULL, blob, &l->size,
                                               &j->e);
            if (j->status < 0)
                return;
        } else {
            l->size = fs_du(blob);
        }
        j->n_layers++;
    }
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    rt_commit_image ci = {.parent = j->parent_config,
                          .parent_id = j->parent_id,
                          .config = j->config,
                          .container_config = j->container_config,
                          .container_id = "",
                          .author = j->author,
                          .created = now,
                          .diff_id = has_layer ? j->diff_id : NULL};
    j->config = NULL;
    j->image = rt_commit_image_config(&ci);
    if (!*j->parent_id)
        json_object_del(j->image, "parent");
    cleanup_free char *bytes = json_dumps(j->image, JSON_COMPACT);
    digest_mem(bytes, strlen(bytes), j->image_id);
    char path[PATH_MAX];
    rt_images_blob_path(j->s, j->image_id, path);
    if (access(path, F_OK) != 0)
        j->status = fs_write_file_atomic(path, bytes, strlen(bytes), 0600, &j->e);
}

static void step_free(step_job *j)
{
    if (j->tar[0])
        unlink(j->tar);
    json_decref(j->parent_config);
    json_decref(j->config);
    json_decref(j->container_config);
    json_decref(j->image);
    free(j->author);
    free(j->layers);
    free(j);
}

static void step_after(uv_work_t *w, int status)
{
    (void)status;
    step_job *j = w->data;
    if (j->status == 0)
        j->status = images_register(j->s, j->image_id, j->image, j->layers, j->n_layers, &j->e);
    images_transfer_end(j->s);
    j->done(j->arg, j->status, &j->e, j->status == 0 ? j->image_id : NULL);
    step_free(j);
}

/* The parent's config and layer records, base first. */
static int load_parent(step_job *j, berr *e)
{
    rt_image *img = NULL;
    int r = rt_image_resolve(j->s, j->parent_id, &img, e);
    if (r < 0)
        return r;
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
    j->layers = xcalloc(n + 1, sizeof *j->layers);
    for (size_t i = 0; i < n; i++) {
        layer_rec *l = &j->layers[i];
        snprintf(l->chain_id, sizeof l->chain_id, "%s", chains[i]);
        snprintf(l->diff_id, sizeof l->diff_id, "%s", json_string_value(json_array_get(diffs, i)));
        snprintf(l->parent, sizeof l->parent, "%s", i ? chains[i - 1] : "");
        l->size = sizes[i];
        j->n_layers++;
    }
    for (size_t i = 0; i < n; i++)
        free(chains[i]);
    free(chains);
    free(sizes);
    return 0;
}

void rt_images_build_step(rt_image_store *s, const char *parent_id, json_t *config, json_t *container_config,
                          const char *layer_tar, const char *author, rt_commit_done done, void *arg)
{
    step_job *j = xcalloc(1, sizeof *j);
    j->s = s;
    j->work.data = j;
    j->done = done;
    j->arg = arg;
    snprintf(j->parent_id, sizeof j->parent_id, "%s", parent_id ? parent_id : "");
    j->config = config;
    j->container_config = container_config;
    j->author = author && *author ? xstrdup(author) : NULL;
    if (layer_tar)
        snprintf(j->tar, sizeof j->tar, "%s", layer_tar);
    berr e = {0};
    int r = 0;
    if (*j->parent_id)
        r = load_parent(j, &e);
    else {
        j->parent_config = json_object();
        j->layers = xcalloc(1, sizeof *j->layers);
    }
    if (r < 0) {
        done(arg, r, &e, NULL);
        step_free(j);
        return;
    }
    images_transfer_begin(s);
    uv_queue_work(s->loop, &j->work, step_run, step_after);
}
