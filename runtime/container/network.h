/* A container's networks, as the runtime sees them: which networks its
 * NetworkMode and NetworkingConfig name (checked at create and kept in the
 * container's document), its sandbox while it runs (netoverlay/sandbox.h),
 * connect and disconnect, and the NetworkSettings of inspect and ps. */
#ifndef BERTH_RUNTIME_CONTAINER_NETWORK_H
#define BERTH_RUNTIME_CONTAINER_NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"
#include "netoverlay/networks.h"
#include "runtime/container/container.h"

/* NetworkMode names a network (bridge or user-defined): the container gets
 * a sandbox of its own.  host, none and container:<id> do not. */
bool rt_network_mode_sandboxed(const char *mode);

/* At create: checks NetworkMode with NetworkingConfig (body of the create
 * request, may be NULL) and sets c->networks.  -ENOENT "network x not
 * found", -EINVAL as dockerd for misplaced options. */
int rt_container_networks_init(rt_containers *m, rt_container *c, json_t *networking_config, berr *e);

/* At start, before the spec is built / after the process has gone. */
int rt_container_net_up(rt_containers *m, rt_container *c, berr *e);
void rt_container_net_down(rt_containers *m, rt_container *c);
/* Live restore: the sandbox again around the namespace of pid, a process
 * that kept running while the daemon was down (runtime/container/restore.c). */
int rt_container_net_adopt(rt_containers *m, rt_container *c, int pid, berr *e);

/* docker network connect/disconnect; endpoint_config may be NULL. */
int rt_container_connect(rt_containers *m, rt_container *c, net_network *n, json_t *endpoint_config, berr *e);
int rt_container_disconnect(rt_containers *m, rt_container *c, net_network *n, bool force, berr *e);

/* NetworkSettings of docker inspect, and the Ports of docker ps. */
json_t *rt_container_network_settings(rt_containers *m, rt_container *c);
/* NetworkSettings.Networks alone (what GET /containers/json shows): a new
 * object of one endpoint document per network. */
json_t *rt_container_networks(const rt_container *c);
json_t *rt_container_ports_summary(rt_containers *m, rt_container *c);

#endif
