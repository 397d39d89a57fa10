/* Small filesystem helpers used across modules. */
#ifndef BERTH_LIB_FSUTIL_H
#define BERTH_LIB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

/* mkdir -p with the given mode for directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode, berr *e);
/* rm -rf; missing path is success.  Does not cross into other mounts' roots
 * by following symlinks (symlinks are unlinked, not followed). */
int fs_rm_rf(const char *path, berr *e);
/* Reads a whole file; *data is NUL-terminated, caller frees. */
int fs_read_file(const char *path, char **data, size_t *len, berr *e);
/* Writes data to path via a temporary file, fsync and rename. */
int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, berr *e);
/* The same without fsync: for files rebuilt at every use (a container's
 * /etc/hosts), where a torn write after a power loss costs nothing. */
int fs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode, berr *e);
/* Copies a regular file's content (used when rename crosses filesystems). */
int fs_copy_file(const char *src, const char *dst, mode_t mode, berr *e);
/* Total bytes of regular files below path (st_size, hard links counted once
 * per inode only within the walk). */
long long fs_du(const char *path);

#endif
