/* POST /images/create?fromImage=: docker pull, wiring the registry
 * client's pull (runtime/registry/pull.h) to the image store and dockerd's
 * progress stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/progress.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/image/store.h"
#include "runtime/registry/pull.h"

typedef struct pull_ctx {
    api_request *r;
    api_progress prog;
    reg_pull *pull;
    rt_image_store *images;
    bool done;
} pull_ctx;

static bool st_layer_exists(void *ctx, const char *chain)
{
    pull_ctx *c = ctx;
    return rt_images_layer_exists(c->images, chain);
}

static void st_unpack(void *ctx, const char *path, const char *parent, const char *diff, reg_unpacked_fn done,
                      void *arg)
{
    pull_ctx *c = ctx;
    rt_images_unpack_pulled(c->images, path, parent, diff, done, arg);
}

static int st_commit(void *ctx, const char *config, size_t len, const char *const *chains, const char *const *diffs,
                     size_t n, const char *ref, const char *repo_digest, bool *newer, berr *e)
{
    (void)diffs;
    (void)repo_digest;
    pull_ctx *c = ctx;
    char id[DIGEST_BUF];
    return rt_images_commit_pulled(c->images, config, len, chains, n, ref, newer, id, e);
}

static void ev_progress(void *ctx, const char *id, const char *status, long long cur, long long total)
{
    pull_ctx *c = ctx;
    api_progress_msg(&c->prog, id, status, cur, total);
}

static void ev_done(void *ctx, int status, const berr *e)
{
    pull_ctx *c = ctx;
    c->done = true;
    rt_images_release(c->images);
    api_progress_end(&c->prog, status, e);
    free(c);
}

/* The client left mid-stream: stop the pull (its done() does not run). */
static void on_gone(void *ctx)
{
    pull_ctx *c = ctx;
    if (c->done)
        return;
    c->done = true;
    reg_pull_cancel(c->pull);
    rt_images_release(c->images);
    free(c);
}

void api_image_pull(api_request *r)
{
    const char *from = api_query(r, "fromImage"), *tag = api_query(r, "tag");
    berr e = {0};
    image_ref ref;
    if (ref_parse(from, &ref, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (tag && *tag) {
        /* dockerd: a tag that is a digest pulls by digest. */
        if (strncmp(tag, "sha256:", 7) == 0) {
            if (!digest_valid(tag)) {
                api_reply_error(r, -EINVAL, "invalid reference format");
                return;
            }
            snprintf(ref.digest, sizeof ref.digest, "%s", tag);
            ref.tag[0] = 0;
        } else if (!ref_tag_valid(tag)) {
            api_reply_error(r, -EINVAL, "invalid reference format");
            return;
        } else {
            snprintf(ref.tag, sizeof ref.tag, "%s", tag);
        }
    }
    if (!ref.tag[0] && !ref.digest[0]) {
        api_reply_error(r, -ENOSYS, "pulling every tag of a repository (docker pull -a) is not implemented by berthd yet");
        return;
    }
    reg_options opts = registry_config_options(&r->d->cfg);
    reg_pull_opts o = {.familiar = ref.name,
                       .tag = ref.digest[0] ? NULL : ref.tag,
                       .digest = ref.digest[0] ? ref.digest : NULL,
                       .tmp_dir = r->d->tmp_dir,
                       .options = &opts,
                       .max_concurrent = (int)r->d->cfg.max_concurrent_downloads,
                       .max_attempts = (int)r->d->cfg.max_download_attempts};
    if (reg_platform_parse(api_query(r, "platform"), &o.platform, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    reg_creds_from_header(api_header(r, "X-Registry-Auth"), &o.creds);
    pull_ctx *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->images = r->d->images;
    c->prog = (api_progress){.r = r, .on_gone = on_gone, .ctx = c};
    reg_pull_store st = {.ctx = c, .layer_exists = st_layer_exists, .unpack = st_unpack, .commit = st_commit};
    reg_pull_events ev = {.ctx = c, .progress = ev_progress, .done = ev_done};
    rt_images_hold(c->images);
    /* done() may run before start returns (a bad name); c is gone then. */
    reg_pull *p = reg_pull_start(r->d->registry, r->d->loop, &o, &st, &ev);
    if (p)
        c->pull = p;
}
