/* The pull state machine (see pull.h).  Everything runs on the loop: curl
 * transfers through reg_http, unpacking in the store's workers. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/registry/pull_internal.h"
#include "runtime/registry/session.h"

#define CONFIG_MAX (8u << 20)

static void fetch_manifest(reg_pull *p, const char *ref);
static void pump(reg_pull *p);

static void timer_closed(uv_handle_t *h) { free(h); }

static void kicked(uv_timer_t *t)
{
    reg_pull *p = t->data;
    pump(p);
}

/* Pumps p on the loop's next turn: never from inside another pull's
 * callback, which could free p (or the caller) under its feet. */
void pull_kick(reg_pull *p)
{
    if (p->finished)
        return;
    if (!p->kick) {
        p->kick = xmalloc(sizeof *p->kick);
        uv_timer_init(p->loop, p->kick);
        p->kick->data = p;
    }
    uv_timer_start(p->kick, kicked, 0, 0);
}


static void layers_cleanup(reg_pull *p)
{
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer *l = &p->layers[i];
        if (l->retry) {
            uv_close((uv_handle_t *)l->retry, timer_closed);
            l->retry = NULL;
        }
        if (l->st == L_SHARED)
            share_leave(l);
        else
            share_release(l, false);
        if (l->req) {
            reg_req *r = l->req;
            l->req = NULL;
            reg_http_cancel(r);
        }
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
        if (l->path[0])
            unlink(l->path);
        l->path[0] = 0;
    }
}

static void pull_free(reg_pull *p)
{
    layers_cleanup(p);
    if (p->kick)
        uv_close((uv_handle_t *)p->kick, timer_closed);
    if (p->req) {
        reg_req *r = p->req;
        p->req = NULL;
        reg_http_cancel(r);
    }
    reg_session_free(p->sess);
    free(p->layers);
    free(p->config);
    free(p);
}

static void finish(reg_pull *p, int status, const berr *e)
{
    if (p->finished)
        return;
    p->finished = true;
    layers_cleanup(p);
    if (!p->canceled)
        p->ev.done(p->ev.ctx, status, e);
    if (!p->unpacking)
        pull_free(p);
}

static void fail(reg_pull *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(reg_pull *p, int code, const char *fmt, ...)
{
    berr e = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    e.code = code;
    finish(p, code, &e);
}

void pull_progress(reg_pull *p, const char *id, const char *status, long long cur, long long total)
{
    if (!p->canceled && p->ev.progress)
        p->ev.progress(p->ev.ctx, id, status, cur, total);
}

static const char *tag_or_digest(reg_pull *p) { return p->tag[0] ? p->tag : p->want_digest; }

/* "127.0.0.1:5000/busybox:latest" or "...@sha256:..", as dockerd names it in errors. */
static void ref_text(reg_pull *p, char *out, size_t n)
{
    snprintf(out, n, "%s%s%s", p->familiar, p->tag[0] ? ":" : "@", tag_or_digest(p));
}

/* An endpoint failed before anything was downloaded: try the next one. */
static bool next_endpoint(reg_pull *p, int code, const berr *e);

/* ---- commit ---------------------------------------------------------------- */

static void commit(reg_pull *p)
{
    const char **chains = xcalloc(p->n_layers + 1, sizeof *chains);
    const char **diffs = xcalloc(p->n_layers + 1, sizeof *diffs);
    reg_descriptor *blobs = xcalloc(p->n_layers + 1, sizeof *blobs);
    for (size_t i = 0; i < p->n_layers; i++) {
        chains[i] = p->layers[i].chain;
        diffs[i] = p->layers[i].diff;
        blobs[i] = p->layers[i].d;
    }
    char ref[REG_HOST_MAX + REG_REPO_MAX + (128 + 1) + 2] = "";
    if (p->tag[0])
        snprintf(ref, sizeof ref, "%s:%s", p->familiar, p->tag);
    char repo_digest[REG_HOST_MAX + REG_REPO_MAX + DIGEST_BUF + 2];
    snprintf(repo_digest, sizeof repo_digest, "%s@%s", p->familiar, p->manifest_digest);
    berr e = {0};
    bool newer = false;
    int r = p->store.commit(p->store.ctx, p->config, p->config_len, chains, diffs, blobs, p->n_layers, ref,
                            repo_digest, &newer, &e);
    free(chains);
    free(diffs);
    free(blobs);
    if (r < 0) {
        finish(p, r, &e);
        return;
    }
    char line[600], full[700];
    snprintf(line, sizeof line, "Digest: %s", p->manifest_digest);
    pull_progress(p, "", line, 0, 0);
    if (p->o.no_status) {
        if (!p->canceled && p->ev.committed)
            p->ev.committed(p->ev.ctx, newer);
    } else {
        ref_text(p, full, sizeof full);
        snprintf(line, sizeof line, "Status: %s for %s", newer ? "Downloaded newer image" : "Image is up to date",
                 full);
        pull_progress(p, "", line, 0, 0);
    }
    finish(p, 0, NULL);
}

/* ---- unpacking, in order --------------------------------------------------- */

static void unpacked(void *arg, int status, const berr *e)
{
    pull_layer *l = arg;
    reg_pull *p = l->p;
    p->unpacking = false;
    l->path[0] = 0; /* the store took (or removed) the file */
    share_release(l, status == 0);
    if (p->finished) {
        pull_free(p);
        return;
    }
    if (status < 0) {
        finish(p, status, e);
        return;
    }
    l->st = L_DONE;
    pull_progress(p, l->id, "Pull complete", 0, 0);
    p->next_unpack++;
    pump(p);
}

/* ---- downloads --------------------------------------------------------------- */

static void blob_progress(void *ctx, long long now, long long total)
{
    pull_layer *l = ctx;
    uint64_t t = uv_now(l->p->loop);
    if (t - l->last_progress < 100 && now != total)
        return;
    l->last_progress = t;
    pull_progress(l->p, l->id, "Downloading", now, total > 0 ? total : l->d.size);
}

static int start_download(pull_layer *l);

static void retry_fire(uv_timer_t *t)
{
    pull_layer *l = t->data;
    uv_close((uv_handle_t *)t, timer_closed);
    l->retry = NULL;
    l->p->active--;
    start_download(l);
}

/* A transport error or a short body: try again after 1 s, 2 s, 4 s ... from
 * the start of a fresh file, until max-download-attempts. */
static bool retry(pull_layer *l, const char *why)
{
    reg_pull *p = l->p;
    int max = p->o.max_attempts > 0 ? p->o.max_attempts : 5;
    if (++l->attempts >= max)
        return false;
    unsigned delay = 1u << (l->attempts - 1 < 5 ? l->attempts - 1 : 5);
    log_info("pull %s: layer %s: %s; retrying in %u s", p->familiar, l->d.digest, why, delay);
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->path[0])
        unlink(l->path);
    l->path[0] = 0;
    char msg[64];
    snprintf(msg, sizeof msg, "Retrying in %u second%s", delay, delay == 1 ? "" : "s");
    pull_progress(p, l->id, msg, 0, 0);
    l->retry = xmalloc(sizeof *l->retry);
    uv_timer_init(p->loop, l->retry);
    l->retry->data = l;
    uv_timer_start(l->retry, retry_fire, delay * 1000ull, 0);
    return true; /* the layer keeps its download slot while it waits */
}

static void blob_done(void *ctx, reg_resp *resp)
{
    pull_layer *l = ctx;
    reg_pull *p = l->p;
    l->req = NULL;
    if (resp->status == -ECANCELED) {
        p->active--;
        share_release(l, false);
        return;
    }
    bool short_body = resp->status == 0 && resp->code == 200 && l->d.size && resp->received < l->d.size;
    if ((short_body || (resp->status < 0 && resp->status != -EFBIG)) &&
        retry(l, short_body ? "short body" : resp->e.msg))
        return;
    p->active--;
    if (resp->status < 0 || resp->code != 200 || strcmp(resp->digest, l->d.digest) != 0)
        share_release(l, false);
    if (resp->status < 0) {
        fail(p, resp->status, "failed to download layer %s: %s", l->d.digest, resp->e.msg);
        return;
    }
    if (resp->code != 200) {
        char text[300];
        reg_error_text(resp, text, sizeof text);
        fail(p, resp->code == 404 ? -ENOENT : -EIO, "failed to download layer %s: %s", l->d.digest,
             text[0] ? text : "unexpected HTTP status");
        return;
    }
    pull_progress(p, l->id, "Verifying Checksum", 0, 0);
    if (strcmp(resp->digest, l->d.digest) != 0) {
        fail(p, -EIO, "filesystem layer verification failed for digest %s", l->d.digest);
        return;
    }
    if (l->d.size && resp->received != l->d.size) {
        fail(p, -EIO, "filesystem layer verification failed for digest %s: size %lld, expected %lld", l->d.digest,
             resp->received, l->d.size);
        return;
    }
    close(l->fd);
    l->fd = -1;
    l->st = L_DOWNLOADED;
    pull_progress(p, l->id, "Download complete", 0, 0);
    share_handoff(l);
    pump(p);
}

static int start_download(pull_layer *l)
{
    if (l->p->finished)
        return -1;
    reg_pull *p = l->p;
    snprintf(l->path, sizeof l->path, "%s/pull-%s-XXXXXX", p->tmp_dir, l->id);
    l->fd = mkostemp(l->path, O_CLOEXEC);
    if (l->fd < 0) {
        l->path[0] = 0;
        fail(p, -errno, "create a file for layer %s: %s", l->d.digest, strerror(errno));
        return -1;
    }
    cleanup_free char *url = reg_url("x", "x", p->name.repo, "blobs", l->d.digest);
    const char *path = strstr(url, "/v2/");
    reg_req_opts o = {.url = path, .upload_fd = -1, .out_fd = l->fd, .max_file = l->d.size, .follow = true,
                      .progress = blob_progress};
    l->st = L_DOWNLOADING;
    p->active++;
    l->req = reg_session_request(p->sess, &o, blob_done, l);
    return 0;
}

/* Starts what can start: downloads up to the limit, the next unpack, the commit. */
static void pump(reg_pull *p)
{
    if (p->finished)
        return;
    int max = p->o.max_concurrent > 0 ? p->o.max_concurrent : 3;
    for (size_t i = 0; i < p->n_layers && p->active < max; i++) {
        pull_layer *l = &p->layers[i];
        if (l->st != L_WAITING)
            continue;
        if (share_join(l)) {
            pull_progress(p, l->id, "Waiting", 0, 0);
            continue;
        }
        if (start_download(l) < 0)
            return;
    }
    while (!p->unpacking && p->next_unpack < p->n_layers) {
        pull_layer *l = &p->layers[p->next_unpack];
        if (l->st == L_EXISTS) {
            p->next_unpack++;
            continue;
        }
        if (l->st != L_DOWNLOADED)
            return;
        l->st = L_UNPACKING;
        p->unpacking = true;
        pull_progress(p, l->id, "Extracting", 0, 0);
        const char *parent = p->next_unpack ? p->layers[p->next_unpack - 1].chain : "";
        p->store.unpack(p->store.ctx, l->path, parent, l->diff, unpacked, l);
        return;
    }
    if (!p->unpacking && p->next_unpack == p->n_layers)
        commit(p);
}

/* ---- config ------------------------------------------------------------------ */

static void config_done(void *ctx, reg_resp *resp)
{
    reg_pull *p = ctx;
    p->req = NULL;
    if (resp->status == -ECANCELED)
        return;
    if (resp->status < 0) {
        fail(p, resp->status, "failed to fetch the image configuration: %s", resp->e.msg);
        return;
    }
    if (resp->code != 200) {
        char text[300];
        reg_error_text(resp, text, sizeof text);
        fail(p, resp->code == 404 ? -ENOENT : -EIO, "failed to fetch the image configuration: %s",
             text[0] ? text : "unexpected HTTP status");
        return;
    }
    json_t *cfg = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    json_t *diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    if (!json_is_array(diffs) || json_array_size(diffs) != p->n_layers) {
        json_decref(cfg);
        fail(p, -EINVAL, "layers from manifest don't match image configuration");
        return;
    }
    const char *parent = "";
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer *l = &p->layers[i];
        const char *d = json_string_value(json_array_get(diffs, i));
        if (!d || !digest_valid(d)) {
            json_decref(cfg);
            fail(p, -EINVAL, "invalid diff ID in image configuration");
            return;
        }
        snprintf(l->diff, sizeof l->diff, "%s", d);
        digest_chain_id(parent, d, l->chain);
        parent = l->chain;
    }
    json_decref(cfg);
    p->config = xmalloc(resp->body.len + 1);
    memcpy(p->config, resp->body.data, resp->body.len);
    p->config_len = resp->body.len;
    /* A layer is there when its whole chain is: the first missing one and
     * everything above it download. */
    bool all_below = true;
    for (size_t i = 0; i < p->n_layers; i++) {
        pull_layer *l = &p->layers[i];
        all_below = all_below && p->store.layer_exists(p->store.ctx, l->chain);
        l->st = all_below ? L_EXISTS : L_WAITING;
        pull_progress(p, l->id, all_below ? "Already exists" : "Pulling fs layer", 0, 0);
    }
    int max = p->o.max_concurrent > 0 ? p->o.max_concurrent : 3, queued = 0;
    for (size_t i = 0; i < p->n_layers; i++)
        if (p->layers[i].st == L_WAITING && ++queued > max)
            pull_progress(p, p->layers[i].id, "Waiting", 0, 0);
    pump(p);
}

static void check_config_digest(reg_pull *p, reg_resp *resp, const char *want)
{
    char got[DIGEST_BUF];
    digest_mem(resp->body.data, resp->body.len, got);
    if (strcmp(got, want) != 0) {
        fail(p, -EIO, "image config verification failed for digest %s", want);
        return;
    }
    config_done(p, resp);
}

static void config_reply(void *ctx, reg_resp *resp)
{
    reg_pull *p = ctx;
    if (resp->status == 0 && resp->code == 200) {
        p->req = NULL;
        check_config_digest(p, resp, p->want_sub);
        return;
    }
    config_done(ctx, resp);
}

/* ---- manifests --------------------------------------------------------------- */

static void use_image_manifest(reg_pull *p, reg_manifest *m)
{
    char line[700];
    snprintf(line, sizeof line, "Pulling from %s", p->name.repo);
    pull_progress(p, tag_or_digest(p), line, 0, -1);
    p->n_layers = m->n_layers;
    p->layers = xcalloc(m->n_layers + 1, sizeof *p->layers);
    for (size_t i = 0; i < m->n_layers; i++) {
        pull_layer *l = &p->layers[i];
        l->p = p;
        l->d = m->layers[i];
        l->fd = -1;
        snprintf(l->id, sizeof l->id, "%.12s", digest_hex(l->d.digest));
        if (strstr(l->d.media_type, "foreign") || strstr(l->d.media_type, "nondistributable")) {
            fail(p, -EINVAL, "layer %s has media type %s, which berthd does not download (foreign layers)",
                 l->d.digest, l->d.media_type);
            return;
        }
    }
    snprintf(p->want_sub, sizeof p->want_sub, "%s", m->config.digest);
    cleanup_free char *url = reg_url("x", "x", p->name.repo, "blobs", m->config.digest);
    reg_req_opts o = {.url = strstr(url, "/v2/"), .upload_fd = -1, .out_fd = -1, .follow = true,
                      .max_body = CONFIG_MAX};
    p->req = reg_session_request(p->sess, &o, config_reply, p);
}

static void manifest_done(void *ctx, reg_resp *resp)
{
    reg_pull *p = ctx;
    p->req = NULL;
    if (resp->status == -ECANCELED)
        return;
    char ref[700];
    ref_text(p, ref, sizeof ref);
    berr e = {0};
    if (resp->status < 0) {
        berr_set(&e, resp->status, "%s", resp->e.msg);
        if (!next_endpoint(p, resp->status, &e))
            finish(p, resp->status, &e);
        return;
    }
    if (resp->code != 200) {
        char text[300];
        reg_error_text(resp, text, sizeof text);
        int code;
        if (resp->code == 404) {
            code = -ENOENT;
            berr_set(&e, code, "manifest for %s not found: %s", ref, text[0] ? text : "manifest unknown");
        } else if (resp->code == 401 || resp->code == 403) {
            code = -ENOENT;
            berr_set(&e, code,
                     "pull access denied for %s, repository does not exist or may require 'docker login': %s",
                     p->familiar, text[0] ? text : "denied: requested access to the resource is denied");
        } else {
            code = -EIO;
            berr_set(&e, code, "error from registry: %s", text[0] ? text : "unexpected HTTP status");
        }
        if (!next_endpoint(p, code, &e))
            finish(p, code, &e);
        return;
    }
    char got[DIGEST_BUF];
    digest_mem(resp->body.data, resp->body.len, got);
    if (!p->top_done) {
        if (p->want_digest[0] && strcmp(got, p->want_digest) != 0) {
            fail(p, -EIO, "manifest verification failed for digest %s", p->want_digest);
            return;
        }
        snprintf(p->manifest_digest, sizeof p->manifest_digest, "%s", got);
    }
    reg_manifest m;
    if (reg_manifest_parse(resp->content_type, resp->body.data, resp->body.len, ref, &m, &e) < 0) {
        finish(p, e.code, &e);
        return;
    }
    if (m.is_index) {
        size_t idx;
        if (p->top_done) {
            reg_manifest_free(&m);
            fail(p, -EINVAL, "invalid manifest: an index names another index");
            return;
        }
        p->top_done = true;
        if (reg_manifest_select(&m, &p->o.platform, &idx, &e) < 0) {
            reg_manifest_free(&m);
            finish(p, e.code, &e);
            return;
        }
        char dg[DIGEST_BUF];
        snprintf(dg, sizeof dg, "%s", m.manifests[idx].digest);
        reg_manifest_free(&m);
        snprintf(p->want_sub, sizeof p->want_sub, "%s", dg);
        fetch_manifest(p, dg);
        return;
    }
    if (p->top_done && strcmp(got, p->want_sub) != 0) {
        reg_manifest_free(&m);
        fail(p, -EIO, "manifest verification failed for digest %s", p->want_sub);
        return;
    }
    p->top_done = true;
    use_image_manifest(p, &m);
    reg_manifest_free(&m);
}

static void fetch_manifest(reg_pull *p, const char *ref)
{
    cleanup_free char *url = reg_url("x", "x", p->name.repo, "manifests", ref);
    const char *hdrs[] = {REG_MANIFEST_ACCEPT, NULL};
    reg_req_opts o = {.url = strstr(url, "/v2/"), .headers = hdrs, .upload_fd = -1, .out_fd = -1,
                      .max_body = REG_MANIFEST_MAX};
    p->req = reg_session_request(p->sess, &o, manifest_done, p);
}

/* ---- endpoints --------------------------------------------------------------- */

static void session_ready(void *ctx, reg_session *s, int status, const berr *e)
{
    reg_pull *p = ctx;
    p->sess = s; /* NULL on failure: the session freed itself */
    if (status < 0) {
        if (!next_endpoint(p, status, e))
            finish(p, status, e);
        return;
    }
    fetch_manifest(p, tag_or_digest(p));
}

static void open_endpoint(reg_pull *p)
{
    pull_endpoint *ep = &p->eps[p->ep];
    reg_session_opts so = {.host = ep->host,
                           .scheme = ep->scheme[0] ? ep->scheme : NULL,
                           .repo = p->name.repo,
                           .actions = "pull",
                           .creds = ep->mirror ? NULL : &p->o.creds,
                           .insecure = ep->insecure};
    p->req = NULL;
    p->sess = reg_session_open(p->h, &so, session_ready, p);
}

static bool next_endpoint(reg_pull *p, int code, const berr *e)
{
    (void)code;
    if (p->ep + 1 >= p->n_eps || p->top_done)
        return false;
    log_info("pull %s from %s failed (%s); trying %s", p->familiar, p->eps[p->ep].host, e ? e->msg : "",
             p->eps[p->ep + 1].host);
    reg_session_free(p->sess);
    p->sess = NULL;
    p->ep++;
    open_endpoint(p);
    return true;
}

static void add_endpoint(reg_pull *p, const char *url_or_host, bool mirror)
{
    if (p->n_eps >= sizeof p->eps / sizeof p->eps[0])
        return;
    pull_endpoint *ep = &p->eps[p->n_eps++];
    const char *h = url_or_host;
    if (strncmp(h, "https://", 8) == 0) {
        snprintf(ep->scheme, sizeof ep->scheme, "https");
        h += 8;
    } else if (strncmp(h, "http://", 7) == 0) {
        snprintf(ep->scheme, sizeof ep->scheme, "http");
        h += 7;
    }
    snprintf(ep->host, sizeof ep->host, "%.*s", (int)strcspn(h, "/"), h);
    ep->insecure = reg_host_insecure(p->o.options, ep->host);
    ep->mirror = mirror;
}

reg_pull *reg_pull_start(reg_http *h, uv_loop_t *loop, const reg_pull_opts *o, const reg_pull_store *store,
                         const reg_pull_events *ev)
{
    reg_pull *p = xcalloc(1, sizeof *p);
    p->h = h;
    p->loop = loop;
    p->o = *o;
    p->store = *store;
    p->ev = *ev;
    snprintf(p->familiar, sizeof p->familiar, "%s", o->familiar);
    snprintf(p->tag, sizeof p->tag, "%s", o->tag ? o->tag : "");
    snprintf(p->want_digest, sizeof p->want_digest, "%s", o->digest ? o->digest : "");
    snprintf(p->tmp_dir, sizeof p->tmp_dir, "%s", o->tmp_dir);
    p->o.options = o->options;
    berr e = {0};
    if (reg_name_split(o->familiar, &p->name, &e) < 0) {
        finish(p, e.code, &e);
        return NULL;
    }
    if (p->name.hub && o->options)
        for (size_t i = 0; i < o->options->n_mirrors; i++)
            add_endpoint(p, o->options->mirrors[i], true);
    add_endpoint(p, p->name.host, false);
    p->o.options = NULL; /* read only here: a reload may replace it */
    open_endpoint(p);
    return p;
}

void reg_pull_cancel(reg_pull *p)
{
    if (!p || p->finished)
        return;
    p->canceled = true;
    berr e = {0};
    berr_set(&e, -ECANCELED, "canceled");
    finish(p, -ECANCELED, &e);
}
