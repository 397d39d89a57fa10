/* State shared by the image store's files (image_store.c: metadata and
 * lookups; image_delete.c: removal, prune and garbage collection;
 * image_transfer.c: load, import and save).  Not for other modules. */
#ifndef BERTH_RUNTIME_IMAGE_STORE_INTERNAL_H
#define BERTH_RUNTIME_IMAGE_STORE_INTERNAL_H

#include <limits.h>

#include "runtime/image/store.h"

struct rt_image_store {
    uv_loop_t *loop;
    sqlite3 *db;
    sqlite3_stmt *tags_st;       /* load_tags's query, prepared once: it runs per image listed */
    const rt_graphdriver *driver;
    char blob_dir[PATH_MAX];     /* <data-root>/image/blobs/sha256 */
    char tmp_dir[PATH_MAX];      /* <data-root>/tmp */
    int transfers;               /* loads, imports and saves in flight */
    bool gc_pending;             /* a collection was deferred until they end */
    int removing;                /* collections whose files are still being deleted */
    struct deferred_work *deferred;  /* transfers waiting for them (images_queue_work) */
    bool closed;                 /* rt_images_close ran while removals were in flight: the last frees s */
    rt_image_user_fn user_fn;
    void *user_ctx;
    rt_event_sink events;
};

/* Emits an image event with {"name": name} (name may be NULL). */
void images_emit(rt_image_store *s, const char *action, const char *id, const char *name);

/* A layer to record: what a load or import unpacked. */
typedef struct layer_rec {
    char chain_id[DIGEST_BUF];
    char diff_id[DIGEST_BUF];
    char parent[DIGEST_BUF];     /* "" for a base layer */
    long long size;
} layer_rec;

/* Records an image whose layers and blobs are in place: its layers (those
 * not yet known), the image row (if new) — all in one transaction.  config
 * is the config JSON; id its digest. */
int images_register(rt_image_store *s, const char *id, json_t *config, const layer_rec *layers, size_t n,
                    berr *e);

/* Removes layers and blobs no image references.  Deferred while transfers
 * run.  Appends {"Deleted": chain} for removed layers to report if given;
 * returns the bytes the removed layers held. */
long long images_gc(rt_image_store *s, json_t *report);

/* Worker steps shared by load, import and pull (transfer.c): put the
 * uncompressed layer tar at tmp into the blob store and unpack it on parent;
 * write config bytes as a blob (its digest, the image ID, into id). */
int images_store_layer(rt_image_store *s, const char *tmp, const char *diff_id, const char *parent,
                       layer_rec *out, berr *e);
int images_store_config(rt_image_store *s, const char *bytes, size_t len, char id[DIGEST_BUF], berr *e);

/* Records one layer row (kept if present); on the loop. */
int images_insert_layer(rt_image_store *s, const layer_rec *l, berr *e);

/* Queues file work that creates layers or blobs (load, import, pull):
 * at once, or once the collections deleting files in their workers are
 * done, so a new layer is never the one a pending removal deletes. */
void images_queue_work(rt_image_store *s, uv_work_t *w, uv_work_cb run, uv_after_work_cb after);

/* Transfer bookkeeping: begin before queuing work, end when it is done. */
void images_transfer_begin(rt_image_store *s);
void images_transfer_end(rt_image_store *s);


#endif
