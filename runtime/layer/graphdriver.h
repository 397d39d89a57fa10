/* Layer storage on disk: one directory per layer, named by the hex of its
 * chain ID, holding the layer's unpacked content.
 *
 *   overlay2: <data-root>/overlay2/<chain hex>/diff holds only this layer's
 *             changes (whiteouts as 0:0 char devices, opaque dirs as xattrs);
 *             a container's rootfs is an overlay mount of the diffs.
 *   vfs:      <data-root>/vfs/dir/<chain hex> holds the full tree (a copy of
 *             the parent's plus this layer's changes applied).
 *
 * A layer directory exists only when complete: it is unpacked into a
 * temporary name and renamed into place, so a crash never leaves a half
 * layer under a real chain ID, and two loads of the same layer race safely.
 * These functions touch only the filesystem (no database), are thread-safe,
 * and may run in uv_queue_work. */
#ifndef BERTH_RUNTIME_GRAPHDRIVER_H
#define BERTH_RUNTIME_GRAPHDRIVER_H

#include <limits.h>
#include <stdbool.h>

#include "lib/err.h"

typedef enum rt_driver_kind { RT_DRIVER_OVERLAY2, RT_DRIVER_VFS } rt_driver_kind;

typedef struct rt_graphdriver {
    rt_driver_kind kind;
    char root[PATH_MAX];   /* <data-root>/overlay2 or <data-root>/vfs */
} rt_graphdriver;

/* Chooses the driver: `forced` ("overlay2", "vfs" or NULL/"" for automatic)
 * and, when automatic, overlay2 if an overlay mount works under data_root
 * (tried once with a throwaway lower/upper/work), else vfs.  Creates the
 * driver's root directory and removes <root>/tmp-* left by a crash (only one
 * daemon owns a data root).  -EINVAL for an unknown name, -ENOTSUP when
 * overlay2 is forced but does not work here. */
int rt_driver_init(rt_graphdriver *d, const char *data_root, const char *forced, berr *e);

const char *rt_driver_name(const rt_graphdriver *d);  /* "overlay2" / "vfs" */

/* Creates layer chain_id on top of parent_chain (NULL for a base layer,
 * which must already exist otherwise) from the uncompressed layer tar at
 * tar_path.  If the layer already exists this is a no-op returning 0.
 * *size receives the bytes of regular files the layer adds (for a layer
 * that already existed: measured on disk, exact for overlay2, the
 * difference from the parent's tree for vfs).  Chain IDs are "sha256:<hex>"
 * or bare hex; anything else is -EINVAL. */
int rt_driver_create_layer(const rt_graphdriver *d, const char *chain_id,
                           const char *parent_chain, const char *tar_path,
                           long long *size, berr *e);

bool rt_driver_layer_exists(const rt_graphdriver *d, const char *chain_id);

/* Removes the layer's directory; a missing layer is success. */
int rt_driver_remove_layer(const rt_graphdriver *d, const char *chain_id, berr *e);

/* The directory that holds this layer's content (overlay2: .../diff,
 * vfs: the full tree).  out has PATH_MAX bytes; "" for a malformed chain ID. */
void rt_driver_layer_dir(const rt_graphdriver *d, const char *chain_id, char *out);

/* Copies the tree at src into the existing directory dst keeping owner,
 * mode, times, xattrs, devices and hard links (vfs layers and writable
 * layers are such copies). */
int rt_driver_copy_tree(const char *src, const char *dst, berr *e);

#endif
