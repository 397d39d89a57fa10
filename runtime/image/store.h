/* The image store: image and layer metadata in the local store (SQLite),
 * configs and uncompressed layer tars as content-addressed blobs under
 * <data-root>/image/blobs/sha256/, unpacked layers in the graph driver.
 *
 * Lookups and metadata changes run on the loop thread.  Load, import and
 * save do their file work in uv_queue_work and finish on the loop; while any
 * of them runs, removal of unreferenced layers and blobs waits, so a
 * transfer never loses a file it is reading or about to register. */
#ifndef BERTH_RUNTIME_IMAGE_STORE_H
#define BERTH_RUNTIME_IMAGE_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <uv.h>

#include "lib/buf.h"
#include "lib/digest.h"
#include "lib/err.h"
#include "lib/event_sink.h"
#include "runtime/layer/graphdriver.h"

typedef struct rt_image_store rt_image_store;

/* Opens the store.  db and driver stay owned by the caller and must
 * outlive the store. */
int rt_images_open(rt_image_store **out, uv_loop_t *loop, sqlite3 *db, const rt_graphdriver *driver,
                   const char *data_root, berr *e);
void rt_images_close(rt_image_store *s);

/* Where image events (load, import, tag, untag, delete, save, prune) go. */
void rt_images_set_events(rt_image_store *s, rt_event_sink sink);

/* An image as the API shows it. */
typedef struct rt_image {
    char id[DIGEST_BUF];
    char top_layer[DIGEST_BUF];   /* "" when the image has no layers */
    char parent[DIGEST_BUF];      /* "" when none */
    long long created;            /* unix seconds */
    long long size;
    char **tags;                  /* familiar "name:tag", n_tags of them, oldest first */
    size_t n_tags;
    char **digests;               /* familiar "name@sha256:..", the manifests it was pulled or pushed as */
    size_t n_digests;
    json_t *labels;               /* object, owned */
    char last_tag_time[40];
} rt_image;

void rt_image_free(rt_image *img);


/* Resolves what a user typed (ID, short ID, "sha256:..." or a reference)
 * the way dockerd does.  -ENOENT: "No such image: <name>". */
int rt_image_resolve(rt_image_store *s, const char *name, rt_image **out, berr *e);

/* If name (as the user typed it) is a reference to one of img's tags,
 * that tag (pointing into img), else NULL (e.g. name was an ID). */
const char *rt_image_named_tag(const rt_image *img, const char *name);

/* Likewise for img's digests: the one name@sha256:.. names, or NULL. */
const char *rt_image_named_digest(const rt_image *img, const char *name);

/* Every image (callers filter).  *imgs is an array of n owned images. */
int rt_images_list(rt_image_store *s, rt_image ***imgs, size_t *n, berr *e);
void rt_images_free(rt_image **imgs, size_t n);
long long rt_images_count(rt_image_store *s);

/* The image's config JSON (parsed), caller owns. */
int rt_image_config(rt_image_store *s, const char *id, json_t **config, berr *e);
/* Chain IDs of the image's layers, base first (n of them), and their sizes. */
int rt_image_layers(rt_image_store *s, const rt_image *img, char ***chains, long long **sizes, size_t *n, berr *e);
/* Path of a blob (config or uncompressed layer) by digest; out has PATH_MAX bytes. */
void rt_images_blob_path(rt_image_store *s, const char *digest, char *out);

/* Points ref (already normalized, familiar "name:tag") at image id.  If the
 * tag pointed elsewhere before, *moved_from gets that image ID ("" else). */
int rt_image_tag(rt_image_store *s, const char *id, const char *ref, char moved_from[DIGEST_BUF], berr *e);

/* Records ref (familiar "name@sha256:..", a manifest's digest) as a name
 * of image id, as dockerd's reference store keeps a pull's or push's
 * digest: a digest already recorded keeps its image.  No event. */
int rt_image_add_digest(rt_image_store *s, const char *id, const char *ref, berr *e);

/* Something that holds images (containers, later); answers whether image id
 * is in use, and by whom (container ID into who, running or not). */
typedef bool (*rt_image_user_fn)(void *ctx, const char *image_id, char *who, size_t who_len, bool *running);
void rt_images_set_user_check(rt_image_store *s, rt_image_user_fn fn, void *ctx);

/* DELETE /images/{name}: appends {"Untagged": ..} / {"Deleted": ..} objects
 * to report (a JSON array).  Errors are Docker's 404 and 409s. */
int rt_image_delete(rt_image_store *s, const char *name, bool force, bool noprune, json_t *report, berr *e);

/* POST /images/prune: removes dangling (or, with all, every unused) image
 * that keep() does not keep.  Fills report and *reclaimed. */
typedef bool (*rt_image_keep_fn)(void *ctx, const rt_image *img);
int rt_images_prune(rt_image_store *s, bool all, rt_image_keep_fn keep, void *ctx, json_t *report,
                    long long *reclaimed, berr *e);

/* Asynchronous transfers.  done() runs on the loop with the outcome; the
 * store keeps nothing of the caller's after it. */

/* Loads a docker-save or OCI archive.  On success *messages holds the lines
 * dockerd prints ("Loaded image: busybox:latest"), one per image or tag. */
typedef void (*rt_load_done)(void *arg, int status, const berr *e, char **messages, size_t n);
void rt_images_load(rt_image_store *s, const char *archive_path, rt_load_done done, void *arg);

/* Imports a rootfs tarball as a one-layer image.  config is the image's
 * "config" object (changes already applied; taken over), comment the
 * history comment; ref ("" for none) is tagged on success. */
typedef void (*rt_import_done)(void *arg, int status, const berr *e, const char *image_id);
void rt_images_import(rt_image_store *s, const char *tar_path, json_t *config, const char *comment,
                      const char *ref, rt_import_done done, void *arg);

/* Writes the named images (already resolved, with the tags to record) as
 * one archive into a temporary file; done() receives its fd (caller closes)
 * and length. */
typedef struct rt_save_item {
    rt_image *img;     /* owned by the caller until done() */
    char **tags;       /* tags to record for it, n_tags */
    size_t n_tags;
} rt_save_item;
typedef void (*rt_save_done)(void *arg, int status, const berr *e, int fd, long long len);
void rt_images_save(rt_image_store *s, rt_save_item *items, size_t n, rt_save_done done, void *arg);

/* Images from a registry (pulled.c): the pull hands over one downloaded
 * layer blob at a time, then the config.  hold/release bracket a pull so no
 * collection removes a layer unpacked for it before the image is recorded. */
void rt_images_hold(rt_image_store *s);
void rt_images_release(rt_image_store *s);
bool rt_images_layer_exists(rt_image_store *s, const char *chain_id);
/* Unpacks the (compressed or plain) layer blob at path on parent ("" for a
 * base) after checking its uncompressed digest is diff_id, and records the
 * layer; path is removed.  done(arg, status, e) on the loop. */
typedef void (*rt_unpack_done)(void *arg, int status, const berr *e);
void rt_images_unpack_pulled(rt_image_store *s, const char *path, const char *parent, const char *diff_id,
                             rt_unpack_done done, void *arg);
/* Records the image whose config bytes these are (its layers, base first,
 * already recorded), tags ref ("" for a pull by digest) and records
 * repo_digest ("name@sha256:..").  *newer: ref (or, by digest, repo_digest)
 * did not name this image before. */
int rt_images_commit_pulled(rt_image_store *s, const char *config, size_t len, const char *const *chains,
                            size_t n, const char *ref, const char *repo_digest, bool *newer, char id[DIGEST_BUF],
                            berr *e);
/* The "push" event for ref ("name:tag"), once its manifest is stored. */
void rt_images_emit_push(rt_image_store *s, const char *ref);

#endif
