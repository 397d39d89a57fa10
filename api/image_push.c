/* POST /images/{name}/push: docker push of one tag, or of every tag of
 * the repository when none is given, through runtime/registry/push.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/progress.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/image/compressed.h"
#include "runtime/registry/push.h"

typedef struct push_ctx {
    api_request *r;
    api_progress prog;
    reg_push *push;
    rt_image_store *images;
    char name[REF_NAME_MAX];
    char **tags;               /* what is left to push */
    size_t n_tags, next;
    reg_creds creds;
    char image_id[DIGEST_BUF]; /* the image of the tag being pushed */
    bool done;
} push_ctx;

static void ctx_free(push_ctx *c)
{
    for (size_t i = 0; i < c->n_tags; i++)
        free(c->tags[i]);
    free(c->tags);
    rt_images_release(c->images);
    free(c);
}

static void push_next(push_ctx *c);

static void ev_progress(void *ctx, const char *id, const char *status, long long cur, long long total)
{
    push_ctx *c = ctx;
    api_progress_msg(&c->prog, id, status, cur, total);
}

static void ev_pushed(void *ctx, const char *tag, const char *digest, long long size)
{
    push_ctx *c = ctx;
    char line[300];
    snprintf(line, sizeof line, "%s: digest: %s size: %lld", tag, digest, size);
    api_progress_msg(&c->prog, "", line, 0, 0);
    char ref[REF_NAME_MAX + 140];
    snprintf(ref, sizeof ref, "%s:%s", c->name, tag);
    /* dockerd records the manifest's digest as a name of the image pushed. */
    char dref[REF_NAME_MAX + DIGEST_BUF + 2];
    snprintf(dref, sizeof dref, "%s@%s", c->name, digest);
    berr e = {0};
    if (rt_image_add_digest(c->images, c->image_id, dref, &e) < 0)
        log_warn("push %s: %s", ref, e.msg);
    rt_images_emit_push(c->images, ref);
    api_progress_json(&c->prog, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag", tag,
                                          "Digest", digest, "Size", (json_int_t)size));
}

static void end(push_ctx *c, int status, const berr *e)
{
    c->done = true;
    api_progress_end(&c->prog, status, e);
    ctx_free(c);
}

static void ev_done(void *ctx, int status, const berr *e)
{
    push_ctx *c = ctx;
    c->push = NULL;
    if (status < 0 || c->next >= c->n_tags) {
        end(c, status, e);
        return;
    }
    push_next(c);
}

static void on_gone(void *ctx)
{
    push_ctx *c = ctx;
    if (c->done)
        return;
    c->done = true;
    reg_push_cancel(c->push);
    ctx_free(c);
}

/* The image's config bytes and layer files for the push of one tag. */
static int collect(push_ctx *c, const char *ref, char **config, size_t *len, reg_push_layer **layers, size_t *n,
                   berr *e)
{
    rt_image *img;
    int r = rt_image_resolve(c->images, ref, &img, e);
    if (r < 0)
        return r;
    char path[PATH_MAX];
    rt_images_blob_path(c->images, img->id, path);
    r = fs_read_file(path, config, len, e);
    snprintf(c->image_id, sizeof c->image_id, "%s", img->id);
    json_t *cfg = NULL;
    if (r == 0)
        r = rt_image_config(c->images, img->id, &cfg, e);
    rt_image_free(img);
    if (r < 0)
        return r;
    json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    *n = json_array_size(diffs);
    *layers = xcalloc(*n + 1, sizeof **layers);
    for (size_t i = 0; i < *n; i++) {
        const char *d = json_string_value(json_array_get(diffs, i));
        reg_push_layer *l = &(*layers)[i];
        snprintf(l->diff_id, sizeof l->diff_id, "%s", d ? d : "");
        /* The gzip blob it was pulled or pushed as, if any: looked for first. */
        if (rt_images_blobsum(c->images, l->diff_id, l->blob, &l->blob_size) < 0)
            l->blob[0] = 0;
    }
    json_decref(cfg);
    return 0;
}

static void compress(void *ctx, const char *diff_id, reg_compressed_fn done, void *arg)
{
    rt_images_gzip_layer(ctx, diff_id, done, arg);
}

static void push_next(push_ctx *c)
{
    const char *ref = c->tags[c->next++];
    const char *tag = strrchr(ref, ':') + 1;
    berr e = {0};
    cleanup_free char *config = NULL;
    size_t len = 0, n = 0;
    reg_push_layer *layers = NULL;
    if (collect(c, ref, &config, &len, &layers, &n, &e) < 0) {
        free(layers);
        end(c, e.code, &e);
        return;
    }
    reg_options opts = registry_config_options(&c->r->d->cfg);
    reg_push_opts o = {.familiar = c->name,
                       .tag = tag,
                       .config = config,
                       .config_len = len,
                       .layers = layers,
                       .n_layers = n,
                       .compress = compress,
                       .compress_ctx = c->images,
                       .creds = c->creds,
                       .options = &opts,
                       .max_concurrent = (int)c->r->d->cfg.max_uploads};
    reg_push_events ev = {.ctx = c, .progress = ev_progress, .pushed = ev_pushed, .done = ev_done};
    int rc = reg_push_start(c->r->d->registry, &o, &ev, &c->push, &e);
    free(layers);
    if (rc < 0)
        end(c, rc, &e);
}

void api_image_push(api_request *r)
{
    berr e = {0};
    image_ref ref;
    if (ref_parse(r->params[0], &ref, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    const char *tag = api_query(r, "tag");
    if (tag && *tag) {
        if (!ref_tag_valid(tag)) {
            api_reply_error(r, -EINVAL, "invalid tag format");
            return;
        }
        snprintf(ref.tag, sizeof ref.tag, "%s", tag);
    }
    if (ref.digest[0]) {
        api_reply_error(r, -EINVAL, "cannot push a digest reference");
        return;
    }
    push_ctx *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->images = r->d->images;
    rt_images_hold(c->images);
    c->prog = (api_progress){.r = r, .on_gone = on_gone, .ctx = c};
    snprintf(c->name, sizeof c->name, "%s", ref.name);
    reg_creds_from_header(api_header(r, "X-Registry-Auth"), &c->creds);
    /* No tag: every tag of the repository, as dockerd pushes them. */
    rt_image **imgs = NULL;
    size_t n = 0;
    if (ref.tag[0]) {
        c->tags = xcalloc(1, sizeof *c->tags);
        c->tags[c->n_tags++] = xasprintf("%s:%s", ref.name, ref.tag);
        rt_image *img;
        if (rt_image_resolve(c->images, c->tags[0], &img, NULL) < 0) {
            ctx_free(c);
            char msg[600];
            snprintf(msg, sizeof msg, "An image does not exist locally with the tag: %s", ref.name);
            api_reply_error(r, -ENOENT, msg);
            return;
        }
        rt_image_free(img);
    } else if (rt_images_list(c->images, &imgs, &n, &e) == 0) {
        size_t nl = strlen(ref.name);
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < imgs[i]->n_tags; t++) {
                const char *tg = imgs[i]->tags[t];
                if (strncmp(tg, ref.name, nl) == 0 && tg[nl] == ':') {
                    c->tags = xrealloc(c->tags, (c->n_tags + 1) * sizeof *c->tags);
                    c->tags[c->n_tags++] = xstrdup(tg);
                }
            }
        rt_images_free(imgs, n);
    }
    if (!c->n_tags) {
        ctx_free(c);
        char msg[600];
        snprintf(msg, sizeof msg, "An image does not exist locally with the tag: %s", ref.name);
        api_reply_error(r, -ENOENT, msg);
        return;
    }
    push_next(c);
}
