/* A container's own mounts from HostConfig: `-v /host:/ctr[:opts]` (Binds)
 * and `--mount type=bind|tmpfs` (Mounts).  Named and anonymous volumes and
 * --volumes-from are refused until the volume store exists. */
#ifndef BERTH_RUNTIME_CONTAINER_MOUNTS_H
#define BERTH_RUNTIME_CONTAINER_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct rt_mount_req {
    bool tmpfs;                 /* else a bind */
    char *source;               /* host path (bind) */
    char *target;               /* absolute path in the container */
    bool readonly;
    bool create_source;         /* -v creates a missing host directory, --mount does not */
    unsigned long propagation;  /* MS_PRIVATE|MS_REC, MS_SLAVE, ... */
    char *propagation_name;     /* "rprivate", ... (for inspect) */
    char *tmpfs_data;           /* "size=...,mode=..." or NULL */
} rt_mount_req;

/* Parses and checks Binds and Mounts of host_config.  -EINVAL with
 * dockerd's wording for malformed specs, -ENOSYS for volumes.  *out owned
 * by the caller (rt_mounts_free). */
int rt_mounts_parse(json_t *host_config, rt_mount_req **out, size_t *n, berr *e);
void rt_mounts_free(rt_mount_req *m, size_t n);

/* The Mounts array of docker inspect. */
json_t *rt_mounts_inspect(json_t *host_config);

#endif
