/* A remapped container's root (`--userns-remap`): the same overlay as
 * rwlayer.c mounts, made of idmapped copies of the layer directories, so
 * the container's root sees the image's files as its own while the layers
 * on disk stay owned as the image has them (see runtime/linux/userns.h). */
#ifndef BERTH_RUNTIME_LAYER_REMAP_H
#define BERTH_RUNTIME_LAYER_REMAP_H

#include <stddef.h>

#include "lib/err.h"
#include "runtime/layer/graphdriver.h"
#include "runtime/linux/userns.h"

/* rt_rwlayer_mount with every directory idmapped through userns_fd (a user
 * namespace with map's mapping, borrowed).  The mount is made as the
 * remapped root (per-thread fsuid), so overlay's own work files are stored
 * as root too.  overlay2 only: -ENOTSUP for vfs. */
int rt_remap_mount_root(const rt_graphdriver *d, const char *id, char *const *lowers, size_t n, char *merged,
                        const rt_idmap *map, int userns_fd, berr *e);

#endif
