/* Filling a fresh volume with what the image has at its mount point, as
 * dockerd does for volumes without nocopy: owners, modes, times, symlinks,
 * hard links, device nodes and extended attributes (where the target
 * filesystem takes them) are kept.  The source is reached through the
 * container's root with openat2(RESOLVE_IN_ROOT), so symlinks in the image
 * cannot lead outside it. */
#ifndef BERTH_RUNTIME_VOLUME_COPY_H
#define BERTH_RUNTIME_VOLUME_COPY_H

#include <stdbool.h>

#include "lib/err.h"

/* Whether the directory dir has no entries (a missing one counts as empty). */
bool rt_volume_dir_empty(const char *dir);

/* Copies the contents of `path` inside the root `rootfs` into the empty
 * directory dst, and gives dst the owner, mode and times of `path`.
 * Nothing is done (0) when path does not exist in the root, is not a
 * directory, or dst is not empty. */
int rt_volume_copy_in(const char *rootfs, const char *path, const char *dst, berr *e);

#endif
