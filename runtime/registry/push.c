/* The push state machine (see push.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/registry/manifest.h"
#include "runtime/registry/push.h"
#include "runtime/registry/session.h"

typedef enum { U_WAITING, U_COMPRESS, U_HEAD, U_START, U_PUT, U_DONE } upload_state;

typedef struct upload {
    reg_push *p;
    char digest[DIGEST_BUF];   /* the blob's: a layer's gzip blob once known */
    char diff_id[DIGEST_BUF];  /* a layer's; "" for the config */
    char id[13];
    long long size;
    bool compressed;           /* fd holds the gzip blob made for this push */
    int fd;                    /* that blob; -1 before and for the config (from memory) */
    upload_state st;
    reg_req *req;
    uint64_t last_progress;
    char mount_from[REG_REPO_MAX];  /* a repository of the same registry that has it, "" if none known */
} upload;

/* Blobs this daemon pushed, by registry, repository and digest, newest
 * first: the sources of cross-repository mounts (kept for the daemon's
 * life, at most KNOWN_MAX). */
#define KNOWN_MAX 4096
typedef struct known_blob {
    struct known_blob *next;
    char host[REG_HOST_MAX];
    char repo[REG_REPO_MAX];
    char digest[DIGEST_BUF];
} known_blob;

static void known_free(void *head)
{
    for (known_blob *k = head, *n; k; k = n) {
        n = k->next;
        free(k);
    }
}

struct reg_push {
    reg_http *h;
    reg_push_opts o;
    char familiar[REG_HOST_MAX + REG_REPO_MAX];
    char tag[130];
    char *config;
    reg_name name;
    reg_push_events ev;
    reg_session *sess;
    upload *ups;               /* layers, then the config last */
    size_t n_ups;
    int active;
    bool config_started;
    int compressing;           /* layers in the caller's compression: p lives until they report */
    reg_req *req;              /* the manifest PUT */
    char *manifest;
    bool finished, canceled;
};

static void pump(reg_push *p);
static void step(upload *u);

static known_blob **known_head(reg_push *p)
{
    reg_http_slot_free(p->h, REG_SLOT_PUSHED, known_free);
    return (known_blob **)reg_http_shared(p->h, REG_SLOT_PUSHED);
}

static void known_add(reg_push *p, const char *digest)
{
    known_blob **head = known_head(p);
    size_t n = 0;
    for (known_blob **kp = head; *kp;) {
        known_blob *k = *kp;
        bool same = strcmp(k->digest, digest) == 0 && strcmp(k->host, p->name.host) == 0 &&
                    strcmp(k->repo, p->name.repo) == 0;
        if (same || ++n >= KNOWN_MAX) {
            *kp = k->next;
            free(k);
            continue;
        }
        kp = &k->next;
    }
    known_blob *k = xcalloc(1, sizeof *k);
    snprintf(k->host, sizeof k->host, "%s", p->name.host);
    snprintf(k->repo, sizeof k->repo, "%s", p->name.repo);
    snprintf(k->digest, sizeof k->digest, "%s", digest);
    k->next = *head;
    *head = k;
}

static const char *known_source(reg_push *p, const char *digest)
{
    for (known_blob *k = *known_head(p); k; k = k->next)
        if (strcmp(k->digest, digest) == 0 && strcmp(k->host, p->name.host) == 0 &&
            strcmp(k->repo, p->name.repo) != 0)
            return k->repo;
    return NULL;
}

static void push_free(reg_push *p)
{
    for (size_t i = 0; i < p->n_ups; i++) {
        upload *u = &p->ups[i];
        if (u->req) {
            reg_req *r = u->req;
            u->req = NULL;
            reg_http_cancel(r);
        }
        if (u->fd >= 0)
            close(u->fd);
    }
    if (p->req) {
        reg_req *r = p->req;
        p->req = NULL;
        reg_http_cancel(r);
    }
    reg_session_free(p->sess);
    free(p->ups);
    free(p->config);
    free(p->manifest);
    free(p);
}

static void finish(reg_push *p, int status, const berr *e)
{
    if (p->finished)
        return;
    p->finished = true;
    if (!p->canceled)
        p->ev.done(p->ev.ctx, status, e);
    if (!p->compressing)
        push_free(p);
}

static void fail(reg_push *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(reg_push *p, int code, const char *fmt, ...)
{
    berr e = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    e.code = code;
    finish(p, code, &e);
}

static void progress(reg_push *p, const char *id, const char *status, long long cur, long long total)
{
    if (!p->canceled && p->ev.progress)
        p->ev.progress(p->ev.ctx, id, status, cur, total);
}

static bool is_config(const upload *u) { return !u->diff_id[0]; }

/* The registry refused: its words, as the distribution client gives them. */
static void refused(reg_push *p, reg_resp *resp, const char *what)
{
    char text[300];
    reg_error_text(resp, text, sizeof text);
    if (resp->code == 401 || resp->code == 403) {
        fail(p, -EACCES, "%s", text[0] ? text : "denied: requested access to the resource is denied");
        return;
    }
    fail(p, -EIO, "%s: %s", what, text[0] ? text : "unexpected HTTP status");
}

/* ---- manifest ------------------------------------------------------------------ */

static void manifest_done(void *ctx, reg_resp *resp)
{
    reg_push *p = ctx;
    p->req = NULL;
    if (resp->status == -ECANCELED)
        return;
    if (resp->status < 0) {
        fail(p, resp->status, "failed to store the manifest: %s", resp->e.msg);
        return;
    }
    if (resp->code != 201 && resp->code != 200 && resp->code != 202) {
        refused(p, resp, "failed to store the manifest");
        return;
    }
    char digest[DIGEST_BUF];
    size_t len = strlen(p->manifest);
    digest_mem(p->manifest, len, digest);
    if (resp->content_digest && strcmp(resp->content_digest, digest) != 0) {
        fail(p, -EIO, "the registry stored the manifest as %s, expected %s", resp->content_digest, digest);
        return;
    }
    if (!p->canceled && p->ev.pushed)
        p->ev.pushed(p->ev.ctx, p->tag, digest, (long long)len);
    finish(p, 0, NULL);
}

static void put_manifest(reg_push *p)
{
    size_t n = p->n_ups - 1;
    reg_descriptor *ls = xcalloc(n + 1, sizeof *ls);
    for (size_t i = 0; i < n; i++) {
        snprintf(ls[i].media_type, sizeof ls[i].media_type, "%s", REG_MT_DOCKER_LAYER_GZIP);
        snprintf(ls[i].digest, sizeof ls[i].digest, "%s", p->ups[i].digest);
        ls[i].size = p->ups[i].size;
    }
    reg_descriptor cfg = {.size = p->ups[n].size};
    snprintf(cfg.media_type, sizeof cfg.media_type, "%s", REG_MT_DOCKER_CONFIG);
    snprintf(cfg.digest, sizeof cfg.digest, "%s", p->ups[n].digest);
    p->manifest = reg_manifest_build(&cfg, ls, n);
    free(ls);
    cleanup_free char *url = reg_url("x", "x", p->name.repo, "manifests", p->tag);
    const char *hdrs[] = {"Content-Type: " REG_MT_DOCKER_MANIFEST, NULL};
    reg_req_opts o = {.method = "PUT", .url = strstr(url, "/v2/"), .headers = hdrs, .body = p->manifest,
                      .body_len = strlen(p->manifest), .upload_fd = -1, .out_fd = -1};
    p->req = reg_session_request(p->sess, &o, manifest_done, p);
}

/* ---- blobs ----------------------------------------------------------------------- */

static void upload_progress(void *ctx, long long now, long long total)
{
    upload *u = ctx;
    (void)total;
    if (is_config(u))
        return;
    if (now - u->last_progress < (1 << 19) && now != u->size)
        return;
    u->last_progress = (uint64_t)now;
    progress(u->p, u->id, "Pushing", now, u->size);
}

static void step_done(void *ctx, reg_resp *resp)
{
    upload *u = ctx;
    reg_push *p = u->p;
    u->req = NULL;
    if (resp->status == -ECANCELED)
        return;
    if (resp->status < 0) {
        fail(p, resp->status, "failed to push blob %s: %s", u->digest, resp->e.msg);
        return;
    }
    switch (u->st) {
    case U_HEAD:
        if (resp->code == 200) {
            u->st = U_DONE;
            if (!is_config(u))
                progress(p, u->id, "Layer already exists", 0, 0);
            break;
        }
        if (resp->code != 404) {
            refused(p, resp, "failed to check blob");
            return;
        }
        /* Not there: the known blob digest was another registry's; compress. */
        u->st = is_config(u) || u->compressed ? U_START : U_COMPRESS;
        step(u);
        return;
    case U_START:
        if (resp->code == 201) { /* mounted from another repository */
            u->st = U_DONE;
            if (!is_config(u) && u->mount_from[0]) {
                char msg[REG_REPO_MAX + 16];
                snprintf(msg, sizeof msg, "Mounted from %s", u->mount_from);
                progress(p, u->id, msg, 0, 0);
            }
            break;
        }
        if (resp->code != 202 || !resp->location) {
            refused(p, resp, "failed to start the upload");
            return;
        }
        {
            /* PUT <location>&digest=: one monolithic upload. */
            cleanup_free char *loc = reg_session_url(p->sess, resp->location);
            cleanup_free char *url = xasprintf("%s%cdigest=sha256%%3A%s", loc, strchr(loc, '?') ? '&' : '?',
                                               digest_hex(u->digest));
            const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
            reg_req_opts o = {.method = "PUT", .url = url, .headers = hdrs, .upload_fd = u->fd,
                              .upload_len = u->size, .out_fd = -1, .progress = upload_progress};
            if (is_config(u)) {
                o.body = p->config;
                o.body_len = p->o.config_len;
                o.upload_fd = -1;
            }
            u->st = U_PUT;
            u->req = reg_session_request(p->sess, &o, step_done, u);
        }
        return;
    case U_PUT:
        if (resp->code != 201) {
            refused(p, resp, "failed to upload blob");
            return;
        }
        u->st = U_DONE;
        if (!is_config(u))
            progress(p, u->id, "Pushed", 0, 0);
        break;
    default:
        return;
    }
    known_add(p, u->digest);
    p->active--;
    pump(p);
}

static void compressed(void *arg, int status, const berr *e, const char *path, const char *digest, long long size)
{
    upload *u = arg;
    reg_push *p = u->p;
    p->compressing--;
    if (p->finished) {
        if (status == 0)
            unlink(path);
        if (!p->compressing)
            push_free(p);
        return;
    }
    if (status < 0) {
        finish(p, status, e);
        return;
    }
    /* The open file is the upload's; its name is needed no more. */
    u->fd = open(path, O_RDONLY | O_CLOEXEC);
    int err = errno;
    unlink(path);
    if (u->fd < 0) {
        fail(p, -err, "layer %s: open %s: %s", u->diff_id, path, strerror(err));
        return;
    }
    snprintf(u->digest, sizeof u->digest, "%s", digest);
    u->size = size;
    u->compressed = true;
    u->st = U_HEAD;   /* the registry may have this very blob */
    step(u);
}

static void step(upload *u)
{
    reg_push *p = u->p;
    if (u->st == U_COMPRESS) {
        p->compressing++;
        p->o.compress(p->o.compress_ctx, u->diff_id, compressed, u);
        return;
    }
    if (u->st == U_HEAD) {
        cleanup_free char *url = reg_url("x", "x", p->name.repo, "blobs", u->digest);
        reg_req_opts o = {.method = "HEAD", .url = strstr(url, "/v2/"), .upload_fd = -1, .out_fd = -1};
        u->req = reg_session_request(p->sess, &o, step_done, u);
    } else if (u->st == U_START) {
        const char *from = known_source(p, u->digest);
        snprintf(u->mount_from, sizeof u->mount_from, "%s", from ? from : "");
        /* A registry that cannot mount answers 202 and an upload, as for a plain POST. */
        cleanup_free char *url = from ? xasprintf("/v2/%s/blobs/uploads/?mount=sha256%%3A%s&from=%s", p->name.repo,
                                                  digest_hex(u->digest), from)
                                      : xasprintf("/v2/%s/blobs/uploads/", p->name.repo);
        reg_req_opts o = {.method = "POST", .url = url, .upload_fd = -1, .out_fd = -1};
        u->req = reg_session_request(p->sess, &o, step_done, u);
    }
}

static void pump(reg_push *p)
{
    if (p->finished)
        return;
    int max = p->o.max_concurrent > 0 ? p->o.max_concurrent : 5;
    size_t n_layers = p->n_ups - 1;
    bool layers_done = true;
    for (size_t i = 0; i < n_layers; i++) {
        upload *u = &p->ups[i];
        if (u->st == U_WAITING && p->active < max) {
            u->st = u->digest[0] ? U_HEAD : U_COMPRESS;
            p->active++;
            step(u);
        }
        layers_done = layers_done && u->st == U_DONE;
    }
    upload *cfg = &p->ups[n_layers];
    if (layers_done && cfg->st == U_WAITING) {
        cfg->st = U_HEAD;
        p->active++;
        step(cfg);
        return;
    }
    if (layers_done && cfg->st == U_DONE && !p->manifest)
        put_manifest(p);
}

static void session_ready(void *ctx, reg_session *s, int status, const berr *e)
{
    reg_push *p = ctx;
    p->sess = s;
    if (status < 0) {
        finish(p, status, e);
        return;
    }
    pump(p);
}

int reg_push_start(reg_http *h, const reg_push_opts *o, const reg_push_events *ev, reg_push **out, berr *err)
{
    if (!o->compress)
        return berr_set(err, -EINVAL, "push of %s: no layer compression given", o->familiar);
    reg_push *p = xcalloc(1, sizeof *p);
    p->h = h;
    p->o = *o;
    p->ev = *ev;
    snprintf(p->familiar, sizeof p->familiar, "%s", o->familiar);
    snprintf(p->tag, sizeof p->tag, "%s", o->tag);
    p->config = xmalloc(o->config_len + 1);
    memcpy(p->config, o->config, o->config_len);
    p->n_ups = o->n_layers + 1;
    p->ups = xcalloc(p->n_ups, sizeof *p->ups);
    for (size_t i = 0; i < p->n_ups; i++)
        p->ups[i].fd = -1;
    *out = NULL;
    /* Failures here are returned, not reported through done(). */
    p->canceled = true;
    if (reg_name_split(o->familiar, &p->name, err) < 0) {
        finish(p, err->code, err);
        return err->code;
    }
    char line[700];
    snprintf(line, sizeof line, "The push refers to repository [%s/%s]", p->name.index, p->name.repo);
    for (size_t i = 0; i < o->n_layers; i++) {
        upload *u = &p->ups[i];
        u->p = p;
        snprintf(u->diff_id, sizeof u->diff_id, "%s", o->layers[i].diff_id);
        snprintf(u->id, sizeof u->id, "%.12s", digest_hex(u->diff_id));
        snprintf(u->digest, sizeof u->digest, "%s", o->layers[i].blob);
        u->size = o->layers[i].blob_size;
    }
    upload *cfg = &p->ups[o->n_layers];
    cfg->p = p;
    digest_mem(o->config, o->config_len, cfg->digest);
    cfg->size = (long long)o->config_len;
    p->canceled = false;
    progress(p, "", line, 0, 0);
    /* dockerd lists the layers top first. */
    int max = o->max_concurrent > 0 ? o->max_concurrent : 5;
    for (size_t i = o->n_layers; i-- > 0;)
        progress(p, p->ups[i].id, "Preparing", 0, 0);
    for (size_t i = 0; i < o->n_layers; i++)
        if ((int)i >= max)
            progress(p, p->ups[i].id, "Waiting", 0, 0);
    reg_session_opts so = {.host = p->name.host,
                           .repo = p->name.repo,
                           .actions = "pull,push",
                           .creds = &p->o.creds,
                           .insecure = reg_host_insecure(o->options, p->name.host)};
    p->o.options = NULL;
    p->o.layers = NULL;
    p->o.config = NULL;
    p->sess = reg_session_open(h, &so, session_ready, p);
    *out = p;
    return 0;
}

void reg_push_cancel(reg_push *p)
{
    if (!p || p->finished)
        return;
    p->canceled = true;
    finish(p, -ECANCELED, NULL);
}
