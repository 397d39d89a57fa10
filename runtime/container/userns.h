/* What --userns-remap means for a container: whether it runs in a
 * remapped user namespace (every container unless `--userns host`), the
 * options dockerd refuses with it, and the ids of its root. */
#ifndef BERTH_RUNTIME_CONTAINER_USERNS_H
#define BERTH_RUNTIME_CONTAINER_USERNS_H

#include <jansson.h>

#include "runtime/container/container.h"

/* The daemon's remapping for m's containers (map borrowed, userns_fd a user
 * namespace with that mapping for idmapped mounts, owned by m from now on);
 * NULL: no remapping. */
void rt_containers_set_remap(rt_containers *m, const rt_idmap *map, int userns_fd);

/* The map c runs with, or NULL (no remapping, or --userns host). */
const rt_idmap *rt_container_userns(const rt_containers *m, const rt_container *c);

/* Create-time checks of HostConfig: UsernsMode "" or "host", and with
 * remapping dockerd's refusals of --privileged, --network host and
 * --pid host unless --userns host. */
int rt_container_userns_validate(const rt_containers *m, json_t *hc, berr *e);

/* The host ids of c's root (0:0 without remapping): what the daemon gives
 * the files it makes for c (volumes it creates). */
void rt_container_root_ids(const rt_containers *m, const rt_container *c, uid_t *uid, gid_t *gid);

#endif
