/* What a container changed in its filesystem, read from its writable
 * layer: `docker diff`, `docker commit` and (with the lower layers)
 * `docker export`.
 *
 * overlay2: the writable layer is the overlay upper directory; a 0:0 char
 * device is a deletion, trusted.overlay.opaque=y a directory whose lower
 * content is hidden.  vfs: the container has a full copy; changes are
 * found by comparing it with the image's top layer tree. */
#ifndef BERTH_RUNTIME_CHANGES_H
#define BERTH_RUNTIME_CHANGES_H

#include <stddef.h>

#include "lib/digest.h"
#include "lib/err.h"
#include "runtime/linux/userns.h"

typedef enum rt_change_kind { RT_CHANGE_MODIFIED = 0, RT_CHANGE_ADDED = 1, RT_CHANGE_DELETED = 2 } rt_change_kind;

typedef struct rt_change {
    char *path;               /* absolute, "/etc/hosts" */
    rt_change_kind kind;
} rt_change;

/* overlay2: upper is the container's upper dir, lowers the image layer
 * dirs (top first) used to tell "added" from "modified".
 * vfs: upper is the container's tree, lowers[0] the image's top tree.
 * Output sorted by path, as dockerd returns it. */
int rt_changes_overlay(const char *upper, const char *const *lowers, size_t n_lowers, rt_change **out, size_t *n,
                       berr *e);
int rt_changes_vfs(const char *container_tree, const char *image_tree, rt_change **out, size_t *n, berr *e);
void rt_changes_free(rt_change *c, size_t n);

/* Writes the changes as a layer tar (uncompressed) to out_fd: added and
 * modified entries with their content and metadata, deletions as
 * ".wh.<name>" files, opaque directories as ".wh..wh..opq", so that any
 * Docker can apply it.  root is where the content is read (overlay: the
 * upper dir; vfs: the container tree).  *diff_id and *size describe the
 * written tar. */
int rt_changes_write_tar(const char *root, const rt_change *c, size_t n, int out_fd, char diff_id[DIGEST_BUF],
                         long long *size, berr *e);

/* Tars the tree at dir (a mounted rootfs, for export, or a path for `docker
 * cp`) to out_fd.  name_prefix (e.g. "hosts" for a single file, "" for
 * export) is the name the top entry gets in the archive.  Special
 * filesystems are not descended into when one_fs. */
int rt_tar_path(const char *path, const char *name_prefix, int out_fd, berr *e);
/* rt_tar_path of files seen through a remapped container's root: owners
 * are written as the container sees them (idmap may be NULL). */
int rt_tar_path_mapped(const char *path, const char *name_prefix, const rt_idmap *idmap, int out_fd, berr *e);

#endif
