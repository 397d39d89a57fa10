/* A push: each layer checked with HEAD (already there: "Layer already
 * exists"), else uploaded (POST for an upload, one monolithic PUT with the
 * digest), at most max_concurrent at a time; then the config blob and the
 * schema 2 manifest under the tag.  Layers go as the store keeps them
 * (uncompressed tars, media type ...rootfs.diff.tar), so their digests are
 * their diff IDs. */
#ifndef BERTH_RUNTIME_REGISTRY_PUSH_H
#define BERTH_RUNTIME_REGISTRY_PUSH_H

#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"

typedef struct reg_push_layer {
    char diff_id[DIGEST_BUF];
    char path[4096];           /* the uncompressed layer tar */
} reg_push_layer;

typedef struct reg_push_opts {
    const char *familiar;      /* "127.0.0.1:5000/busybox" */
    const char *tag;
    const char *config;        /* config bytes (copied) */
    size_t config_len;
    const reg_push_layer *layers;   /* base first (copied) */
    size_t n_layers;
    reg_creds creds;
    const reg_options *options;
    int max_concurrent;        /* 0: 5 */
} reg_push_opts;

typedef struct reg_push_events {
    void *ctx;
    void (*progress)(void *ctx, const char *id, const char *status, long long current, long long total);
    /* The manifest was stored: the final line and aux message. */
    void (*pushed)(void *ctx, const char *tag, const char *digest, long long size);
    void (*done)(void *ctx, int status, const berr *e);
} reg_push_events;

typedef struct reg_push reg_push;

/* Starts a push; a failure before anything is sent is returned (done()
 * does not run), later ones go to done(). */
int reg_push_start(reg_http *h, const reg_push_opts *o, const reg_push_events *ev, reg_push **out, berr *e);
void reg_push_cancel(reg_push *p);

#endif
