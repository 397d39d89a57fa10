/* Image archives: what `docker save` writes and `docker load` reads.
 *
 * Reading understands both layouts Docker produces or accepts: the classic
 * docker-save layout (manifest.json listing Config, RepoTags and Layers) and
 * an OCI image layout (oci-layout + index.json, manifests and configs under
 * blobs/, possibly nested indexes; tags from the
 * "io.containerd.image.name" or "org.opencontainers.image.ref.name"
 * annotations).  When both are present (Docker >= 25 writes both)
 * manifest.json wins, as it does in dockerd.
 *
 * Writing produces the Docker >= 25 layout: OCI layout (oci-layout,
 * index.json, blobs/sha256/...) plus manifest.json and repositories, which
 * both old and new Docker load.
 *
 * These functions only touch files; they are thread-safe. */
#ifndef BERTH_RUNTIME_IMAGE_ARCHIVE_H
#define BERTH_RUNTIME_IMAGE_ARCHIVE_H

#include <stddef.h>

#include "lib/digest.h"
#include "lib/err.h"

typedef struct archive_image {
    char *config_path;     /* absolute path of the config JSON inside the staging dir */
    char **layer_paths;    /* absolute paths of the layer blobs, base first; may be compressed */
    size_t n_layers;
    char **repo_tags;      /* references exactly as the archive names them ("busybox:latest") */
    size_t n_tags;
} archive_image;

typedef struct archive_manifest {
    archive_image *images;
    size_t n_images;
} archive_manifest;

/* Reads the archive already extracted (safely) into staging_dir.  Paths in the
 * archive that would leave staging_dir are refused (-EINVAL).  A staging dir
 * with neither manifest.json nor index.json is -EINVAL with Docker's message
 * "open manifest.json: no such file or directory"-like wording.  m is filled;
 * free it with archive_manifest_free. */
int image_archive_read(const char *staging_dir, archive_manifest *m, berr *e);
void archive_manifest_free(archive_manifest *m);

/* Copies the layer blob at src (plain tar, or gzip/zstd/xz/bzip2 compressed
 * tar) to dst as an uncompressed tar, computing its diff ID (sha256 of the
 * uncompressed bytes) into diff_id and its uncompressed size into *size. */
int layer_blob_decompress(const char *src, const char *dst, char diff_id[DIGEST_BUF],
                          long long *size, berr *e);

typedef struct save_image {
    const char *config_digest;       /* "sha256:..." = image ID */
    const char *config_path;         /* file holding the config JSON */
    const char *const *layer_diff_ids;  /* n_layers, base first */
    const char *const *layer_paths;     /* uncompressed layer tars, n_layers */
    size_t n_layers;
    const char *const *repo_tags;    /* familiar "name:tag" strings, n_tags */
    size_t n_tags;
} save_image;

/* Writes an uncompressed tar of the images to out_fd (not closed).  A layer
 * shared by several images is written once. */
int image_archive_write(int out_fd, const save_image *imgs, size_t n, berr *e);

#endif
