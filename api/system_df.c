/* GET /system/df (docker system df) and POST /build/prune.
 *
 * Image figures come from the store's layer sizes; the sizes of container
 * writable layers and of volumes need a walk of their trees, done in a
 * worker.  The reply is the legacy (API < 1.52) shape: LayersSize, Images,
 * Containers, Volumes, BuildCache, each present only when asked for with
 * `type` (API >= 1.42; all of them otherwise). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/versions.h"
#include "lib/jsonutil.h"
#include "lib/fsutil.h"
#include "node/daemon.h"
#include "runtime/container/links.h"
#include "runtime/image/store.h"
#include "runtime/layer/rwlayer.h"
#include "runtime/volume/volumes.h"

typedef struct df_job {
    uv_work_t work;
    api_request *r;
    json_t *out;
    /* measured in the worker */
    char **paths;                /* container upper dirs, then volume data dirs */
    long long *sizes;
    size_t n_containers, n;
    json_t *containers;          /* summaries to complete (borrowed from out) */
    long long *image_sizes;      /* per container: the size of its image */
    json_t *volumes;             /* volume objects to complete (borrowed from out) */
    long long *refs;             /* per volume */
} df_job;

/* ---- images ---------------------------------------------------------------- */

typedef struct layer_use {
    char *chain;
    long long size;
    int images;
} layer_use;

static layer_use *layer_find(layer_use *l, size_t n, const char *chain)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].chain, chain))
            return &l[i];
    return NULL;
}

static int image_containers(berth_daemon *d, const char *image_id)
{
    int count = 0;
    for (size_t i = 0; i < d->containers.n; i++)
        count += !strcmp(d->containers.list[i]->image_id, image_id);
    return count;
}

/* Images with their container counts and the bytes they share with other
 * images (layers used by more than one); *layers_size is every layer once. */
static int images_usage(api_request *r, json_t **out, long long *layers_size, berr *e)
{
    rt_image **imgs;
    size_t n;
    int rc = rt_images_list(r->d->images, &imgs, &n, e);
    if (rc < 0)
        return rc;
    layer_use *layers = NULL;
    size_t n_layers = 0;
    char ***chains = xcalloc(n ? n : 1, sizeof *chains);
    long long **sizes = xcalloc(n ? n : 1, sizeof *sizes);
    size_t *counts = xcalloc(n ? n : 1, sizeof *counts);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = rt_image_layers(r->d->images, imgs[i], &chains[i], &sizes[i], &counts[i], e);
        for (size_t k = 0; rc == 0 && k < counts[i]; k++) {
            layer_use *l = layer_find(layers, n_layers, chains[i][k]);
            if (!l) {
                layers = xrealloc(layers, (n_layers + 1) * sizeof *layers);
                layers[n_layers++] = (layer_use){chains[i][k], sizes[i][k], 0};
                l = &layers[n_layers - 1];
            }
            l->images++;
        }
    }
    *layers_size = 0;
    for (size_t k = 0; k < n_layers; k++)
        *layers_size += layers[k].size;
    *out = json_array();
    for (size_t i = 0; i < n && rc == 0; i++) {
        rt_image *img = imgs[i];
        long long shared = 0;
        for (size_t k = 0; k < counts[i]; k++)
            if (layer_find(layers, n_layers, chains[i][k])->images > 1)
                shared += sizes[i][k];
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:O, s:I}", "Id", img->id, "ParentId",
                              img->parent, "RepoTags", json_strings(img->tags, img->n_tags), "RepoDigests",
                              json_strings(img->digests, img->n_digests), "Created",
                              (json_int_t)img->created, "Size", (json_int_t)img->size, "SharedSize",
                              (json_int_t)shared, "Labels", img->labels, "Containers",
                              (json_int_t)image_containers(r->d, img->id));
        if (api_has(r, API_IMAGE_VIRTUAL_SIZE))
            json_object_set_new(o, "VirtualSize", json_integer(img->size));
        json_array_append_new(*out, o);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < counts[i]; k++)
            free(chains[i][k]);
        free(chains[i]);
        free(sizes[i]);
    }
    free(chains);
    free(sizes);
    free(counts);
    free(layers);
    rt_images_free(imgs, n);
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- containers and volumes (sizes in the worker) ----------------------------------- */

static void add_path(df_job *j, char *path)
{
    j->paths = xrealloc(j->paths, (j->n + 1) * sizeof *j->paths);
    j->paths[j->n++] = path;
}

static void containers_usage(df_job *j)
{
    api_request *r = j->r;
    rt_containers *m = &r->d->containers;
    j->containers = json_array();
    j->image_sizes = xcalloc(m->n ? m->n : 1, sizeof *j->image_sizes);
    json_t *links = rt_links_names_index(m);
    /* newest first, as GET /containers/json lists them */
    for (size_t k = m->n; k-- > 0;) {
        rt_container *c = m->list[k];
        json_array_append_new(j->containers, api_container_summary(r, c, false, links));
        char upper[PATH_MAX];
        rt_rwlayer_paths(&r->d->driver, c->id, upper, NULL, NULL);
        add_path(j, xstrdup(upper));
        rt_image *img = NULL;
        if (rt_image_resolve(r->d->images, c->image_id, &img, NULL) == 0) {
            j->image_sizes[j->n_containers] = img->size;
            rt_image_free(img);
        }
        j->n_containers++;
    }
    json_decref(links);
}

/* Local volumes without driver options: those with options are mounts of
 * something else, as dockerd counts them. */
static void volumes_usage(df_job *j)
{
    rt_volumes *s = j->r->d->volumes;
    j->volumes = json_array();
    j->refs = xcalloc(s->n ? s->n : 1, sizeof *j->refs);
    size_t nv = 0;
    for (size_t i = 0; i < s->n; i++) {
        rt_volume *v = s->list[i];
        if (strcmp(v->driver, RT_VOLUME_DRIVER_LOCAL) || json_object_size(v->options))
            continue;
        json_array_append_new(j->volumes, rt_volume_json(v));
        json_t *users = rt_volume_users(s, v->name);
        j->refs[nv++] = (long long)json_array_size(users);
        json_decref(users);
        add_path(j, xstrdup(v->path));
    }
}

static void df_work(uv_work_t *w)
{
    df_job *j = w->data;
    j->sizes = xcalloc(j->n ? j->n : 1, sizeof *j->sizes);
    for (size_t i = 0; i < j->n; i++)
        j->sizes[i] = access(j->paths[i], F_OK) == 0 ? fs_du(j->paths[i]) : -1;
}

static void df_after(uv_work_t *w, int status)
{
    (void)status;
    df_job *j = w->data;
    size_t i;
    json_t *o;
    json_array_foreach(j->containers, i, o) {
        long long rw = j->sizes[i] < 0 ? 0 : j->sizes[i];
        json_object_set_new(o, "SizeRw", json_integer(rw));
        json_object_set_new(o, "SizeRootFs", json_integer(rw + j->image_sizes[i]));
    }
    json_array_foreach(j->volumes, i, o) {
        json_object_set_new(o, "UsageData", json_pack("{s:I, s:I}", "Size", (json_int_t)j->sizes[j->n_containers + i],
                                                      "RefCount", (json_int_t)j->refs[i]));
    }
    api_reply_json(j->r, 200, j->out);
    for (size_t k = 0; k < j->n; k++)
        free(j->paths[k]);
    free(j->paths);
    free(j->sizes);
    free(j->image_sizes);
    free(j->refs);
    free(j);
}

void api_system_df(api_request *r)
{
    bool want_images = true, want_containers = true, want_volumes = true, want_cache = true;
    size_t n_types = 0;
    const char **types = api_query_all(r, "type", &n_types);
    if (api_has(r, API_SYSTEM_DF_TYPE) && n_types) {
        want_images = want_containers = want_volumes = want_cache = false;
        for (size_t i = 0; i < n_types; i++) {
            if (!strcmp(types[i], "container"))
                want_containers = true;
            else if (!strcmp(types[i], "image"))
                want_images = true;
            else if (!strcmp(types[i], "volume"))
                want_volumes = true;
            else if (!strcmp(types[i], "build-cache"))
                want_cache = true;
            else {
                char msg[300];
                snprintf(msg, sizeof msg, "unknown object type: %s", types[i]);
                free(types);
                api_reply_error(r, -EINVAL, msg);
                return;
            }
        }
    }
    free(types);
    df_job *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->out = json_object();
    if (want_images) {
        berr e = {0};
        json_t *images;
        long long layers_size;
        if (images_usage(r, &images, &layers_size, &e) < 0) {
            json_decref(j->out);
            free(j);
            api_reply_berr(r, &e);
            return;
        }
        if (layers_size)
            json_object_set_new(j->out, "LayersSize", json_integer(layers_size));
        json_object_set_new(j->out, "Images", images);
    }
    if (want_containers) {
        containers_usage(j);
        json_object_set(j->out, "Containers", j->containers);
        json_decref(j->containers);   /* out keeps it alive */
    }
    if (want_volumes) {
        volumes_usage(j);
        json_object_set(j->out, "Volumes", j->volumes);
        json_decref(j->volumes);
    }
    if (want_cache)   /* the classic builder's cache is its intermediate images, counted under Images */
        json_object_set_new(j->out, "BuildCache", json_array());
    j->work.data = j;
    if (uv_queue_work(r->d->loop, &j->work, df_work, df_after) < 0) {
        df_work(&j->work);
        df_after(&j->work, 0);
    }
}
