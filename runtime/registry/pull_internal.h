/* The pull's state, shared by pull.c (the state machine) and share.c (one
 * download per blob across pulls).  Private to runtime/registry/. */
#ifndef BERTH_RUNTIME_REGISTRY_PULL_INTERNAL_H
#define BERTH_RUNTIME_REGISTRY_PULL_INTERNAL_H

#include <limits.h>

#include "runtime/registry/pull.h"
#include "runtime/registry/session.h"

/* L_SHARED: another download of the same blob (this pull's or another's)
 * is under way; its file is linked to this layer when it completes. */
/* L_PREPARING: downloaded, being decompressed and verified; L_PREPARED:
 * path is the verified tar, waiting for the layers below to be unpacked. */
typedef enum {
    L_EXISTS, L_WAITING, L_SHARED, L_DOWNLOADING, L_DOWNLOADED, L_PREPARING, L_PREPARED, L_UNPACKING, L_DONE
} layer_state;

typedef struct blob_share blob_share;

typedef struct pull_layer {
    reg_pull *p;
    reg_descriptor d;
    char diff[DIGEST_BUF];
    char chain[DIGEST_BUF];
    char id[13];
    layer_state st;
    char path[PATH_MAX];
    int fd;
    reg_req *req;
    uint64_t last_progress;
    int attempts;              /* downloads tried */
    uv_timer_t *retry;         /* the wait before the next try, NULL when none */
    blob_share *share;         /* the download this layer owns or waits for */
} pull_layer;

/* A blob being downloaded, and the layers (of any pull) waiting for it:
 * never two downloads of one blob at a time. */
struct blob_share {
    blob_share *next;
    char digest[DIGEST_BUF];
    pull_layer *owner;
    pull_layer **waiters;
    size_t n_waiters;
    bool unpacking;            /* downloaded; the owner is unpacking it */
};

/* Where to look: mirrors first for Docker Hub names, then the registry. */
typedef struct pull_endpoint {
    char scheme[8];            /* "" to probe */
    char host[REG_HOST_MAX];
    bool insecure;
    bool mirror;
} pull_endpoint;

struct reg_pull {
    reg_http *h;
    uv_loop_t *loop;
    reg_pull_opts o;
    char familiar[REG_HOST_MAX + REG_REPO_MAX];
    char tag[129];
    char want_digest[DIGEST_BUF];
    char tmp_dir[PATH_MAX];
    reg_name name;
    reg_pull_store store;
    reg_pull_events ev;
    pull_endpoint eps[8];
    size_t n_eps, ep;
    reg_session *sess;
    reg_req *req;               /* manifest or config request */
    char manifest_digest[DIGEST_BUF];   /* the top manifest's (Digest: line) */
    char want_sub[DIGEST_BUF];  /* the platform's manifest, then the config: what the next reply must hash to */
    bool top_done;
    char *config;
    size_t config_len;
    pull_layer *layers;
    size_t n_layers;
    int active;                 /* downloads in flight */
    size_t next_unpack;
    bool unpacking;
    int preparing;              /* layers in the store's prepare: p lives until they report */
    bool canceled, finished;
    uv_timer_t *kick;           /* a shared download ended: pump on the next turn */
    berr err;                   /* the first endpoint error (reported if all fail) */
};

/* A progress message of p's (nothing once it is canceled). */
void pull_progress(reg_pull *p, const char *id, const char *status, long long cur, long long total);
/* Pumps p on the loop's next turn. */
void pull_kick(reg_pull *p);

/* share.c: l joins a download of its blob in flight (true; l waits) or
 * becomes the owner of the one it starts (false). */
bool share_join(pull_layer *l);
/* The owner's download completed: waiters get links to its file. */
void share_handoff(pull_layer *owner);
/* The owner is done (unpacked with ok, or failed): the rest of the waiters
 * find the layer there or download it themselves. */
void share_release(pull_layer *owner, bool ok);
/* A waiting layer's pull ends: it leaves the download it waited for. */
void share_leave(pull_layer *w);

#endif
