/* A pull: the manifest resolved (a list or index narrowed to a platform),
 * the config fetched, the layers not already present downloaded
 * concurrently into temporary files with their digests verified while they
 * stream, each handed to the store for unpacking in order as soon as it and
 * those below it are in, then the image committed.  Progress goes out as
 * dockerd's messages ("Pulling fs layer", "Downloading", ...). */
#ifndef BERTH_RUNTIME_REGISTRY_PULL_H
#define BERTH_RUNTIME_REGISTRY_PULL_H

#include "lib/digest.h"
#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"
#include "runtime/registry/manifest.h"

/* What a pull needs from the image store (the caller wires it). */
typedef void (*reg_unpacked_fn)(void *arg, int status, const berr *e);
typedef struct reg_pull_store {
    void *ctx;
    /* Whether the layer with this chain ID is present. */
    bool (*layer_exists)(void *ctx, const char *chain_id);
    /* Unpacks the blob at path (compressed as it came) as chain's layer on
     * parent ("" for a base), checking its uncompressed digest is diff_id;
     * the blob file is the store's afterwards.  done(arg, ...) on the loop. */
    void (*unpack)(void *ctx, const char *path, const char *parent, const char *diff_id, reg_unpacked_fn done,
                   void *arg);
    /* Records the image (config bytes; its layers' chain IDs, diff IDs and
     * the blobs they came as, base first) and tags ref ("" for a pull by
     * digest); repo_digest is "name@sha256:..".  *newer: the image or tag
     * changed. */
    int (*commit)(void *ctx, const char *config, size_t len, const char *const *chains, const char *const *diffs,
                  const reg_descriptor *blobs, size_t n, const char *ref, const char *repo_digest, bool *newer,
                  berr *e);
} reg_pull_store;

typedef struct reg_pull_opts {
    const char *familiar;       /* "127.0.0.1:5000/busybox" */
    const char *tag;            /* or */
    const char *digest;         /* (one of them) */
    const char *tmp_dir;        /* where downloads go */
    reg_platform platform;
    reg_creds creds;
    const reg_options *options; /* mirrors, insecure registries (may be NULL) */
    int max_concurrent;         /* 0: 3 */
    int max_attempts;           /* 0: 5 */
    bool no_status;             /* one tag of pull -a: no "Status:" line, committed() says it */
} reg_pull_opts;

typedef struct reg_pull reg_pull;

typedef struct reg_pull_events {
    void *ctx;
    /* One progress message: id ("" none), status, and current/total when
     * total > 0 (Downloading); total < 0 marks a message that is no layer's
     * update ("Pulling from"). */
    void (*progress)(void *ctx, const char *id, const char *status, long long current, long long total);
    /* With no_status: whether the image or tag changed (before done). */
    void (*committed)(void *ctx, bool newer);
    /* The end: status 0 or the error. */
    void (*done)(void *ctx, int status, const berr *e);
} reg_pull_events;

reg_pull *reg_pull_start(reg_http *h, uv_loop_t *loop, const reg_pull_opts *o, const reg_pull_store *store,
                         const reg_pull_events *ev);
/* Stops a pull (the client left): no more events; its files go. */
void reg_pull_cancel(reg_pull *p);

#endif
