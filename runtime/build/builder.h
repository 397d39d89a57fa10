/* The classic builder: a Dockerfile and its context become images, one
 * step per instruction, each step an image whose parent is the last.
 *
 * Everything runs on the loop: file work (unpacking the context, hashing
 * and writing COPY layers) in uv_queue_work, RUN in a real container made,
 * started, waited for and committed through runtime/container.  A step is
 * taken from the cache when an earlier build made an image from the same
 * parent with the same config probe (for COPY/ADD: the content hash of the
 * sources); the first miss ends caching for the rest of the stage. */
#ifndef BERTH_RUNTIME_BUILD_BUILDER_H
#define BERTH_RUNTIME_BUILD_BUILDER_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "runtime/container/container.h"

/* How the builder gets a FROM image it lacks (or, with pull, every FROM
 * image once per build): the caller's registry client, which also shows
 * the pull's progress on the build's stream.  start() returns 0 and calls
 * done(arg, ...) later on the loop (never before it returns), or returns
 * the error (e filled) and never calls done; cancel() stops a started pull
 * with no done(). */
typedef void (*rt_build_pulled_fn)(void *arg, int status, const berr *e);
typedef struct rt_build_puller {
    int (*start)(void *ctx, const char *ref, rt_build_pulled_fn done, void *arg, void **handle, berr *e);
    void (*cancel)(void *ctx, void *handle);
    void *ctx;
} rt_build_puller;

typedef struct rt_build_opts {
    const char *context_tar;     /* the request body: a tar, maybe compressed; may be empty */
    const char *dockerfile;      /* inside the context; NULL: "Dockerfile" */
    const char *target;          /* stage to stop after; NULL: the last */
    json_t *build_args;          /* object: name -> string or null (borrowed) */
    json_t *labels;              /* object set on the final image (borrowed) */
    const char *const *tags;     /* normalized references */
    size_t n_tags;
    bool no_cache, rm, force_rm;
    json_t *host_config;         /* for RUN containers: NetworkMode, ExtraHosts, ShmSize, limits (borrowed) */
    const char *tmp_dir;         /* where the build's files go */
    bool pull;                   /* pull=1: every FROM image pulled, even if here */
    rt_build_puller puller;      /* NULL start: local images only */
    struct reg_http *http;       /* ADD <url> fetches through it (NULL: ADD of URLs fails) */
} rt_build_opts;

typedef struct rt_build_cb {
    void (*out)(void *ctx, const char *text);             /* a "stream" line */
    void (*aux)(void *ctx, const char *image_id);         /* a stage's image */
    void (*done)(void *ctx, int status, const berr *e, const char *image_id);
    void *ctx;
} rt_build_cb;

typedef struct rt_build rt_build;

/* Starts a build; callbacks run on the loop, done() exactly once unless
 * rt_build_cancel() was called first. */
rt_build *rt_build_start(rt_containers *m, const rt_build_opts *o, rt_build_cb cb);

/* The client left: no more callbacks; a RUN container is killed, the build
 * stops at the next step and cleans up. */
void rt_build_cancel(rt_build *b);
/* A failed RUN's exit code (valid in done()), 0 otherwise. */
int rt_build_exit_code(const rt_build *b);
/* POST /build/cancel: the build stops as when its client leaves (a RUN
 * container is killed and removed, the build directory goes), but the
 * client is still there: done() comes with dockerd's "build cancelled"
 * error.  Idempotent; a no-op once done() ran. */
void rt_build_stop(rt_build *b);

/* The cache: keys of (parent, probe) -> image IDs, in <data-root>/builder. */
void rt_build_cache_key(const char *parent, const json_t *probe, char out[DIGEST_BUF]);
/* Whether a cache record goes (the caller's filters): its ID (the key's
 * hex) and the image it names. */
typedef bool (*rt_build_cache_match)(void *ctx, const char *record_id, const rt_image *img);
/* Removes the records match accepts, and those whose image is gone; their
 * IDs go into deleted (an array). */
int rt_build_cache_prune(const char *data_root, rt_image_store *images, rt_build_cache_match match, void *ctx,
                         json_t *deleted, berr *e);

#endif
