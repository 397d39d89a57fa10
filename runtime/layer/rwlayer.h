/* A container's writable layer and its mounted root filesystem.
 *
 *   overlay2: <driver root>/<container id>/{diff,work,merged}; the root is
 *             an overlay of the image's layer diffs (lower) and diff (upper).
 *   vfs:      <driver root>/dir/<container id> is a full copy of the image's
 *             top layer and is itself the root: nothing is mounted.
 *
 * The rootfs is mounted in the daemon's mount namespace while the container
 * runs (the container's namespace gets a copy), and unmounted when it stops. */
#ifndef BERTH_RUNTIME_RWLAYER_H
#define BERTH_RUNTIME_RWLAYER_H

#include <limits.h>
#include <stddef.h>

#include <stdbool.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "runtime/layer/graphdriver.h"

/* Creates the writable layer of container id (64 hex) on the image whose
 * top layer is top_chain ("" for an image without layers). */
int rt_rwlayer_create(const rt_graphdriver *d, const char *id, const char *top_chain, berr *e);

/* Mounts the root: lowers are the image's chain IDs, top first.  merged
 * receives the path of the root (PATH_MAX bytes).  Mounting an already
 * mounted root is a no-op. */
int rt_rwlayer_mount(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n, char *merged,
                     berr *e);
/* The overlay mount options of container id's root; each directory is
 * named through name(arg, dir, out PATH_MAX, e) (NULL: its own path), which
 * is how remap.c passes idmapped copies.  Upper and work share one name. */
typedef int (*rt_rwlayer_dir_fn)(void *arg, const char *dir, char *out, berr *e);
int rt_rwlayer_overlay_opts(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n,
                            rt_rwlayer_dir_fn name, void *arg, buf *opts, berr *e);
/* merged is a mount point (the root is mounted). */
bool rt_rwlayer_mounted(const char *merged);
int rt_rwlayer_unmount(const rt_graphdriver *d, const char *id, berr *e);

/* Unmounts if needed and removes the layer; a missing layer is success. */
int rt_rwlayer_remove(const rt_graphdriver *d, const char *id, berr *e);

/* Paths: upper (overlay2 diff / vfs tree), merged (the root), work. */
void rt_rwlayer_paths(const rt_graphdriver *d, const char *id, char *upper, char *merged, char *work);

#endif
