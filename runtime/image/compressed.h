/* Layers as gzip blobs, the form registries get them in: the blob a layer
 * was pulled as or last compressed to, remembered by diff ID (its digest
 * and size, files under <data-root>/image/blobsums/), and the compression
 * itself, in a worker (runtime/image/compressed.c). */
#ifndef BERTH_RUNTIME_IMAGE_COMPRESSED_H
#define BERTH_RUNTIME_IMAGE_COMPRESSED_H

#include "runtime/image/store.h"

/* The gzip blob known for diff_id: 0, or -ENOENT. */
int rt_images_blobsum(rt_image_store *s, const char *diff_id, char digest[DIGEST_BUF], long long *size);
/* Remembers that blob digest (size bytes, gzip) holds layer diff_id. */
void rt_images_record_blobsum(rt_image_store *s, const char *diff_id, const char *digest, long long size);

/* Compresses layer diff_id's tar into a temporary file (the caller's
 * afterwards: it removes it) and remembers its digest; done(arg, status,
 * e, path, digest, size) on the loop.  The caller holds the store
 * (rt_images_hold) so the layer's blob stays. */
typedef void (*rt_gzip_done)(void *arg, int status, const berr *e, const char *path, const char *digest,
                             long long size);
void rt_images_gzip_layer(rt_image_store *s, const char *diff_id, rt_gzip_done done, void *arg);

/* gzip of src into dst (any thread), its sha256 and size. */
int layer_gzip(const char *src, const char *dst, char digest[DIGEST_BUF], long long *size, berr *e);

#endif
