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
#include "runtime/image/pulled.h"
#include "runtime/registry/pull.h"
#include "runtime/registry/tags.h"

typedef struct pull_ctx {
    api_request *r;
    api_progress prog;
    reg_pull *pull;
    rt_image_store *images;
    bool done;
    /* docker pull -a: the tags left, pulled one after the other. */
    char name[REF_NAME_MAX];
    char **tags;
    size_t n_tags, next;
    bool all, newer;
    reg_platform platform;
    reg_creds creds;
} pull_ctx;

static void ctx_free(pull_ctx *c)
{
    for (size_t i = 0; i < c->n_tags; i++)
        free(c->tags[i]);
    free(c->tags);
    rt_images_release(c->images);
    free(c);
}

static void pull_next(pull_ctx *c);

static void ev_progress(void *ctx, const char *id, const char *status, long long cur, long long total)
{
    pull_ctx *c = ctx;
    api_progress_msg(&c->prog, id, status, cur, total);
}

static void ev_committed(void *ctx, bool newer)
{
    pull_ctx *c = ctx;
    c->newer = c->newer || newer;
}

static void end(pull_ctx *c, int status, const berr *e)
{
    c->done = true;
    api_progress_end(&c->prog, status, e);
    ctx_free(c);
}

static void ev_done(void *ctx, int status, const berr *e)
{
    pull_ctx *c = ctx;
    c->pull = NULL;
    if (status == 0 && c->next < c->n_tags) {
        pull_next(c);
        return;
    }
    if (status == 0 && c->all) {
        char line[REF_NAME_MAX + 64];
        snprintf(line, sizeof line, "Status: %s for %s", c->newer ? "Downloaded newer image" : "Image is up to date",
                 c->name);
        api_progress_msg(&c->prog, "", line, 0, 0);
    }
    end(c, status, e);
}

/* The client left mid-stream: stop the pull (its done() does not run). */
static void on_gone(void *ctx)
{
    pull_ctx *c = ctx;
    if (c->done)
        return;
    c->done = true;
    reg_pull_cancel(c->pull);
    ctx_free(c);
}

/* Starts the pull of the next tag (or the one digest, stored as a tag). */
static void pull_next(pull_ctx *c)
{
    const char *t = c->tags[c->next++];
    bool by_digest = strncmp(t, "sha256:", 7) == 0;
    reg_options opts = registry_config_options(&c->r->d->cfg);
    reg_pull_opts o = {.familiar = c->name,
                       .tag = by_digest ? NULL : t,
                       .digest = by_digest ? t : NULL,
                       .tmp_dir = c->r->d->tmp_dir,
                       .options = &opts,
                       .platform = c->platform,
                       .creds = c->creds,
                       .max_concurrent = (int)c->r->d->cfg.max_downloads,
                       .max_attempts = (int)c->r->d->cfg.max_attempts,
                       .no_status = c->all};
    reg_pull_store st = rt_images_pull_store(c->images);
    reg_pull_events ev = {.ctx = c, .progress = ev_progress, .committed = ev_committed, .done = ev_done};
    /* done() may run before start returns (a bad name); c may be gone then. */
    reg_pull *p = reg_pull_start(c->r->d->registry, c->r->d->loop, &o, &st, &ev);
    if (p)
        c->pull = p;
}

static void tags_done(void *ctx, int status, const berr *e, const char *const *tags, size_t n)
{
    pull_ctx *c = ctx;
    if (status < 0) {
        end(c, status, e);
        return;
    }
    if (n == 0) {
        berr none = {0};
        berr_set(&none, -ENOENT, "no tags available for %s", c->name);
        end(c, -ENOENT, &none);
        return;
    }
    c->tags = xcalloc(n, sizeof *c->tags);
    for (size_t i = 0; i < n; i++)
        c->tags[c->n_tags++] = xstrdup(tags[i]);
    pull_next(c);
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
    pull_ctx *c = xcalloc(1, sizeof *c);
    if (reg_platform_parse(api_query(r, "platform"), &c->platform, &e) < 0) {
        free(c);
        api_reply_berr(r, &e);
        return;
    }
    c->r = r;
    c->images = r->d->images;
    c->prog = (api_progress){.r = r, .on_gone = on_gone, .ctx = c};
    snprintf(c->name, sizeof c->name, "%s", ref.name);
    reg_creds_from_header(api_header(r, "X-Registry-Auth"), &c->creds);
    rt_images_hold(c->images);
    if (!ref.tag[0] && !ref.digest[0]) {
        /* No tag and no digest: docker pull -a, every tag the registry lists. */
        c->all = true;
        reg_options opts = registry_config_options(&r->d->cfg);
        reg_tags_list(r->d->registry, c->name, &c->creds, &opts, tags_done, c);
        return;
    }
    c->tags = xcalloc(1, sizeof *c->tags);
    c->tags[c->n_tags++] = xstrdup(ref.digest[0] ? ref.digest : ref.tag);
    pull_next(c);
}
