/* A push: each layer checked with HEAD (already there: "Layer already
 * exists"), else uploaded (POST for an upload, one monolithic PUT with the
 * digest), at most max_concurrent at a time; then the config blob and the
 * schema 2 manifest under the tag.  Layers go gzip-compressed (media type
 * ...rootfs.diff.tar.gzip), as dockerd pushes them: a layer whose gzip
 * blob is known (pulled or pushed before) is looked for by that digest
 * first, and compressed by the caller only when the registry lacks it. */
#ifndef BERTH_RUNTIME_REGISTRY_PUSH_H
#define BERTH_RUNTIME_REGISTRY_PUSH_H

#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"

typedef struct reg_push_layer {
    char diff_id[DIGEST_BUF];
    char blob[DIGEST_BUF];     /* its gzip blob's digest if known, else "" */
    long long blob_size;
} reg_push_layer;

/* The caller's compression of a layer: done(arg, ...) on the loop with a
 * temporary file holding the gzip blob (the push removes it), its digest
 * and size. */
typedef void (*reg_compressed_fn)(void *arg, int status, const berr *e, const char *path, const char *digest,
                                  long long size);
typedef void (*reg_compress_fn)(void *ctx, const char *diff_id, reg_compressed_fn done, void *arg);

typedef struct reg_push_opts {
    const char *familiar;      /* "127.0.0.1:5000/busybox" */
    const char *tag;
    const char *config;        /* config bytes (copied) */
    size_t config_len;
    const reg_push_layer *layers;   /* base first (copied) */
    size_t n_layers;
    reg_compress_fn compress;  /* with compress_ctx; must outlive the push */
    void *compress_ctx;
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
