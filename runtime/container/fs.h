/* File operations on a container's filesystem: the archive endpoints
 * (HEAD/GET/PUT /containers/{id}/archive), export and changes.
 *
 * Each operation takes hold of the container's root on the loop (the
 * running container's mounted root, or a mount made for the operation),
 * does its file work in uv_queue_work through an fd on that root, and
 * reports on the loop.  A root mounted for the operation is unmounted
 * afterwards unless the container was started meanwhile (it then uses that
 * very mount).  An unmount is lazy (MNT_DETACH), so another operation still
 * working through its own fd on that root keeps a working view. */
#ifndef BERTH_RUNTIME_CONTAINER_FS_H
#define BERTH_RUNTIME_CONTAINER_FS_H

#include <limits.h>
#include <stdbool.h>

#include "runtime/layer/archive.h"
#include "runtime/layer/changes.h"
#include "runtime/container/container.h"

/* Mounts c's root (its writable layer over the image's layers) and puts
 * its path in merged (PATH_MAX bytes); a root already mounted is reused.
 * vfs mounts nothing: merged is the container's tree. */
int rt_container_mount_root(rt_containers *m, const rt_container *c, char *merged, berr *e);

/* The chain IDs of c's image, top first (as overlay lists lower layers):
 * *chains is an owned array of n owned strings. */
int rt_container_image_chains(rt_containers *m, const rt_container *c, char ***chains, size_t *n, berr *e);
void rt_chains_free(char **chains, size_t n);

/* Drops from a change list the mount targets the runtime creates in the
 * writable layer for its bind mounts (/etc/hostname, /etc/hosts,
 * /etc/resolv.conf, when added), and /etc itself if nothing else below it
 * changed.  dockerd keeps these in an init layer under the container's, so
 * neither `docker diff` nor `docker commit` shows them.  *n is updated;
 * dropped paths are freed. */
void rt_changes_hide_bind_targets(rt_change *c, size_t *n);

/* The outcome of an operation, lent to done(); done may take fd (setting it
 * to -1) and changes (setting it to NULL), the rest is freed after. */
typedef struct rt_fs_result {
    int status;            /* 0 or -errno */
    berr e;
    rt_path_stat stat;     /* stat, archive */
    int fd;                /* archive, export: the tar in a temporary file at offset 0, or -1 */
    long long len;         /* its length */
    rt_change *changes;    /* changes */
    size_t n_changes;
} rt_fs_result;

typedef void (*rt_fs_done)(void *arg, rt_fs_result *res);

/* `who` is the container as the user named it: a missing path is -ENOENT
 * "Could not find the file <path> in container <who>", as dockerd says it.
 * The container must exist when called; done() always runs, on the loop. */
void rt_container_stat_path(rt_containers *m, rt_container *c, const char *who, const char *path,
                            rt_fs_done done, void *arg);
void rt_container_archive_get(rt_containers *m, rt_container *c, const char *who, const char *path,
                              rt_fs_done done, void *arg);
/* Extracts the tar at tar_path (which must stay until done) into path. */
void rt_container_archive_put(rt_containers *m, rt_container *c, const char *who, const char *path,
                              const char *tar_path, bool no_overwrite_dir_nondir, bool copy_uidgid,
                              rt_fs_done done, void *arg);
void rt_container_export(rt_containers *m, rt_container *c, rt_fs_done done, void *arg);
void rt_container_changes(rt_containers *m, rt_container *c, rt_fs_done done, void *arg);

#endif
