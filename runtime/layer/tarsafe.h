/* Safe extraction of tar archives into a directory.
 *
 * Everything an image brings in passes through here, so nothing in an archive
 * may create, change or read a file outside the target directory: entries with
 * ".." components or absolute paths, hard links whose target is outside,
 * relative symlinks whose target resolves outside the directory (as dockerd's
 * breakout check), and (when unprivileged) device nodes are refused with a
 * message naming the entry.  All file creation goes through openat2() with
 * RESOLVE_BENEATH from the target's directory fd, so a symlink planted by an
 * earlier entry cannot redirect a later one either.
 *
 * All functions here are thread-safe and are meant to run in uv_queue_work. */
#ifndef BERTH_RUNTIME_TARSAFE_H
#define BERTH_RUNTIME_TARSAFE_H

#include <stdbool.h>

#include "lib/err.h"
#include "runtime/linux/userns.h"

typedef enum tar_whiteout_mode {
    /* overlay2: ".wh.NAME" becomes a 0:0 character device NAME and
     * ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory. */
    TAR_WHITEOUT_OVERLAY,
    /* vfs: the directory already holds a copy of the parent layer; ".wh.NAME"
     * removes NAME, ".wh..wh..opq" empties its directory of what the parent
     * had (entries of this same layer stay). */
    TAR_WHITEOUT_APPLY,
    /* plain archive (e.g. a docker-save tarball): ".wh." names are ordinary */
    TAR_WHITEOUT_NONE,
} tar_whiteout_mode;

typedef struct tar_extract_opts {
    tar_whiteout_mode whiteouts;
    bool unprivileged;   /* refuse device nodes; do not chown */
    /* write symlinks whatever their target: for trees whose reader never
     * follows links (a build context); entries still cannot pass through them */
    bool any_symlink_target;
    /* the entries' owners are ids inside a remapped container: chown to
     * their host ids (an id outside the map is refused) */
    const rt_idmap *idmap;
} tar_extract_opts;

/* Extracts the tar at tar_path (plain or gzip/xz/bzip2/zstd compressed) into
 * the existing directory dir.  On success *size (if not NULL) is the sum of the
 * sizes of the regular files written.  On a refused entry returns -EINVAL with
 * e naming the entry; what was written before stays inside dir (the caller
 * removes dir).  A corrupt or non-tar input is -EINVAL ("invalid tar header
 * in ..."), a missing tar_path -ENOENT.
 *
 * o NULL means TAR_WHITEOUT_NONE, privileged.  Details worth knowing:
 *  - an entry whose path crosses an absolute symlink (e.g. "a" -> "/etc",
 *    then "a/passwd") is refused rather than redirected into dir;
 *  - the entry for dir itself ("./") is skipped: dir's own metadata is the
 *    caller's;
 *  - trusted.overlay.* xattrs in the archive are dropped (a layer must not
 *    forge overlayfs metadata); ENOTSUP/EPERM on other xattrs are ignored;
 *  - xattrs are set on regular files and directories only;
 *  - directory modes and times are applied after the last entry. */
int tar_extract(const char *tar_path, const char *dir, const tar_extract_opts *o,
                long long *size, berr *e);

#endif
