/* Paths inside a container's root filesystem, for the archive endpoints
 * (`docker cp` both ways, HEAD .../archive) and `docker export`.
 *
 * Everything here works from an fd on the root (the mounted overlay, or the
 * vfs tree) and resolves container paths with openat2(RESOLVE_IN_ROOT), so
 * a symlink planted by the container resolves inside its root and never on
 * the host.  Paths are interpreted as dockerd does (daemon/archive*.go):
 * the last component is not followed unless the path ends in "/" or "/.";
 * every earlier symlink is.
 *
 * All functions except rt_cpath_parse and rt_go_filemode touch files and
 * are meant for uv_queue_work; they are thread-safe. */
#ifndef BERTH_RUNTIME_ARCHIVE_H
#define BERTH_RUNTIME_ARCHIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "lib/err.h"
#include "runtime/linux/userns.h"

/* A path as the API received it, split the way dockerd splits it.  All
 * strings owned (rt_cpath_free). */
typedef struct rt_cpath {
    char *abs;      /* "/" + the cleaned path, a trailing "/" or "/." kept */
    char *clean;    /* abs fully cleaned ("/etc/." -> "/etc") */
    char *dir;      /* the part resolved with every symlink followed ("/etc") */
    char *base;     /* the last component, "" when follow */
    char *name;     /* Go's filepath.Base(abs): the stat name and archive name */
    bool follow;    /* the last component is followed too (trailing "/" or "/.", or the root) */
} rt_cpath;

/* Parses what the user typed ("etc/hosts", "/etc/", "/etc/.", "/").  An
 * empty path is -EINVAL "path is required". */
int rt_cpath_parse(const char *path, rt_cpath *out, berr *e);
void rt_cpath_free(rt_cpath *p);

/* Go's os.FileMode for a st_mode: the permission bits plus ModeDir (1<<31),
 * ModeSymlink (1<<27), ModeDevice, ModeCharDevice, ModeNamedPipe,
 * ModeSocket, ModeSetuid, ModeSetgid and ModeSticky. */
uint32_t rt_go_filemode(mode_t m);

/* What the X-Docker-Container-Path-Stat header carries. */
typedef struct rt_path_stat {
    char *name;           /* owned */
    long long size;
    uint32_t mode;        /* Go os.FileMode bits */
    struct timespec mtime;
    char *link_target;    /* owned; "" unless the path is a symlink */
} rt_path_stat;

void rt_path_stat_free(rt_path_stat *st);
/* {"name","size","mode","mtime","linkTarget"} as Go marshals
 * types.ContainerPathStat (mtime in RFC 3339 with nanoseconds, UTC). */
json_t *rt_path_stat_json(const rt_path_stat *st);

/* dockerd's symlink.FollowSymlinkInScope: every symlink along path (an
 * absolute container path) is replaced by its target, absolute targets
 * restarting at the root, ".." never climbing above it; the missing
 * remainder of a path is kept as it is.  *out (owned) is a clean absolute
 * container path.  -ELOOP after 255 links. */
int rt_archive_resolve(int rootfd, const char *path, char **out, berr *e);

/* A file the container sees in place of what its root holds at that path
 * (the bind-mounted /etc/hosts, /etc/hostname and /etc/resolv.conf), as
 * dockerd shows them by mounting them for the copy. */
typedef struct rt_archive_bind {
    const char *container_path;   /* "/etc/hosts" */
    const char *host_path;        /* the file that is mounted there */
} rt_archive_bind;

/* Stats path in the root.  A missing path is -ENOENT (the message is the
 * caller's business: it names the container as the user did). */
int rt_archive_stat(int rootfd, const char *path, const rt_archive_bind *binds, size_t n_binds,
                    rt_path_stat *st, berr *e);

/* Stats path and writes a tar of it to out_fd, entries named as dockerd
 * names them: "hosts" for /etc/hosts, "etc/..." for /etc, "./..." for
 * /etc/. and "/./..." for the root (dockerd writes "/..."; both extract the
 * same once cleaned, which the docker CLI does). */
int rt_archive_get(int rootfd, const char *path, const rt_archive_bind *binds, size_t n_binds, int out_fd,
                   rt_path_stat *st, const rt_idmap *idmap, berr *e);

typedef struct rt_extract_opts {
    bool no_overwrite_dir_nondir;   /* refuse to replace a directory by a file or the reverse */
    bool readonly_root;             /* the container's root is read-only: refuse */
    const char *chown_user;         /* copyUIDGID: the container's Config.User ("" or NULL: keep the archive's owners) */
    const rt_idmap *idmap;          /* a remapped container: the archive's owners are ids inside it */
} rt_extract_opts;

/* Extracts the tar at tar_path into the directory path of the root
 * (symlinks followed inside the root, the last one too).  -ENOENT when path
 * does not exist, -EINVAL "extraction point is not a directory",
 * -EINVAL "container rootfs is marked read-only". */
int rt_archive_extract(int rootfd, const char *path, const char *tar_path, const rt_extract_opts *o, berr *e);

/* The whole root as a tar (docker export): entries "bin/", "bin/sh"...
 * idmap (may be NULL): the root is a remapped container's, whose owners the
 * tar gives as the container sees them (as rt_archive_get). */
int rt_archive_export(int rootfd, int out_fd, const rt_idmap *idmap, berr *e);

#endif
