/* A container's mounts: `-v` (Binds), `--mount` (Mounts), `--volumes-from`
 * and the image's VOLUMEs, as dockerd's registerMountPoints resolves them.
 *
 * At create the specs are resolved once into the container's mount points
 * (rt_container.mount_points, persisted with it): named volumes are created
 * on demand, every anonymous volume gets its name, --volumes-from copies
 * the other container's mount points.  Start uses the mount points only,
 * so a container keeps its anonymous volumes across runs.  Containers made
 * before mount points existed fall back to their HostConfig (binds and
 * tmpfs only, all they could have).
 *
 * Parsing is runtime/container/mounts.c; the mount points (resolve, start,
 * release, removal, inspect) are runtime/container/volumes.c. */
#ifndef BERTH_RUNTIME_CONTAINER_MOUNTS_H
#define BERTH_RUNTIME_CONTAINER_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

struct rt_containers;
struct rt_container;

typedef struct rt_mount_req {
    bool tmpfs;                 /* a tmpfs */
    bool volume;                /* a volume; neither: a bind */
    char *source;               /* host path (bind); the volume's directory once resolved */
    char *target;               /* absolute, cleaned path in the container */
    bool readonly;
    bool create_source;         /* -v creates a missing host directory, --mount does not */
    unsigned long propagation;  /* MS_PRIVATE|MS_REC, MS_SLAVE, ... */
    char *propagation_name;     /* "rprivate", ... as inspect shows it ("" for volumes, tmpfs) */
    char *tmpfs_data;           /* "size=...,mode=..." or NULL */
    char *mode;                 /* Mode as inspect shows it: the -v options, "z" for a volume without */
    /* volumes */
    char *name;                 /* volume name; NULL for an anonymous one not created yet */
    char *driver;               /* the driver asked for, NULL for the default */
    bool named;                 /* the user named it: `rm -v` keeps it */
    bool copy_data;             /* fill it from the image on first use (not nocopy) */
    json_t *volume_opts;        /* --mount volume-opt: driver options, owned, or NULL */
    json_t *volume_labels;      /* --mount volume-label, owned, or NULL */
} rt_mount_req;

/* Parses and checks Binds and Mounts of host_config, and the syntax of
 * VolumesFrom, with dockerd's wording (-EINVAL).  Volumes are not created
 * here.  *out owned by the caller (rt_mounts_free).  Pure but for the
 * existence check of --mount bind sources. */
int rt_mounts_parse(json_t *host_config, rt_mount_req **out, size_t *n, berr *e);
void rt_mounts_free(rt_mount_req *m, size_t n);
/* Frees what one request holds (not the request itself). */
void rt_mount_req_clear(rt_mount_req *m);

/* "CONTAINER[:ro|rw]" of --volumes-from: *id owned by the caller. */
int rt_mounts_parse_volumes_from(const char *spec, char **id, bool *rw, berr *e);

/* path.Clean for container paths: out has at least strlen(path)+2 bytes. */
void rt_mounts_clean_path(const char *path, char *out);

/* At create: resolves c's specs (and Config.Volumes) into c->mount_points,
 * creating the volumes it needs.  On failure, anonymous volumes it made
 * are removed again. */
int rt_mounts_resolve(struct rt_containers *m, struct rt_container *c, berr *e);

/* c's mounts for the spawn, sources resolved, parents before children. */
int rt_mounts_list(struct rt_containers *m, const struct rt_container *c, rt_mount_req **out, size_t *n, berr *e);

/* At start, with c's root mounted at rootfs: mounts c's volumes (a device
 * for the first user), fills fresh ones from the image, emits "mount".
 * On failure what it did is undone. */
int rt_mounts_setup(struct rt_containers *m, struct rt_container *c, const char *rootfs, berr *e);
/* When the run ends: unmounts c's volumes, emits "unmount".  Idempotent. */
void rt_mounts_release(struct rt_containers *m, struct rt_container *c);

/* After c left the manager's list (removal, or a create that failed):
 * removes its anonymous volumes that no other container uses. */
void rt_mounts_remove_anonymous(struct rt_containers *m, struct rt_container *c);

/* The volume store's users callback (runtime/volume/volumes.h): ctx is the
 * container manager. */
void rt_mounts_volume_users(void *ctx, const char *name, json_t *ids);

/* The Mounts array of docker inspect and docker ps. */
json_t *rt_mounts_inspect_container(const struct rt_container *c);
/* The same from a HostConfig alone (binds and tmpfs). */
json_t *rt_mounts_inspect(json_t *host_config);

#endif
