/* Which behaviour belongs to which API version: one table
 * (api/versions.c) for every place a reply, a request field or a default
 * differs between /v1.24 and /v1.47, from the Engine API CHANGELOG and
 * dockerd's version checks.  Handlers ask api_has(r, API_...) instead of
 * comparing version numbers themselves. */
#ifndef BERTH_API_VERSIONS_H
#define BERTH_API_VERSIONS_H

#include <stdbool.h>

#include "api/api.h"

typedef enum api_behaviour {
    /* replies */
    API_IMAGE_VIRTUAL_SIZE,        /* images, image inspect, system df carry VirtualSize (< 1.44) */
    API_IMAGE_CONTAINER_CONFIG,    /* image inspect carries Container and ContainerConfig (< 1.45) */
    API_ALIASES_SHORT_ID,          /* endpoint Aliases include the short container ID (< 1.45) */
    API_ENDPOINT_DNS_NAMES,        /* endpoint settings carry DNSNames (>= 1.44) */
    API_MULTIPLEXED_MEDIA_TYPE,    /* framed attach/exec/logs streams say multiplexed-stream (>= 1.42) */
    API_WS_BINARY_FRAMES,          /* attach/ws sends binary frames, text before (>= 1.28) */
    /* requests */
    API_WS_STREAM_PARAMS,          /* attach/ws reads stdin, stdout, stderr; all attached before (>= 1.42) */
    API_PIDS_LIMIT_UPDATE,         /* container update understands PidsLimit (>= 1.40) */
    API_STATS_ONE_SHOT,            /* stats ?one-shot= (>= 1.41) */
    API_STOP_SIGNAL_PARAM,         /* stop and restart ?signal= (>= 1.42) */
    API_SYSTEM_DF_TYPE,            /* system df ?type= (>= 1.42) */
    API_CLUSTER_VOLUMES,           /* volume create looks at ClusterVolumeSpec (>= 1.42) */
    API_SWARM_ADDR_POOL,           /* swarm init DefaultAddrPool and SubnetSize (>= 1.39) */
    API_SWARM_DATA_PATH_PORT,      /* swarm init DataPathPort (>= 1.40) */
    /* defaults */
    API_VOLUME_PRUNE_ALL,          /* volume prune removes named volumes too (< 1.42) */
    API_IPC_DEFAULT_SHAREABLE,     /* an unset IpcMode is "shareable" (< 1.40) */
    API_CGROUPNS_DEFAULT_HOST,     /* an unset CgroupnsMode is "host" on cgroup v1 hosts (< 1.41) */
    API_BEHAVIOUR_N
} api_behaviour;

/* True if the request's API version (1.<r->api_minor>) has behaviour b. */
bool api_has(const api_request *r, api_behaviour b);
/* The Content-Type of an attach, exec start or logs stream, as dockerd
 * sends it: application/vnd.docker.multiplexed-stream for a framed
 * stream from 1.42 on, raw-stream otherwise.  A hijacked stream without
 * the Upgrade handshake (plain) always says raw-stream. */
const char *api_stream_media_type(const api_request *r, bool framed, bool plain_hijack);

/* The same for a version number: for tests and callers without a request. */
bool api_minor_has(int minor, api_behaviour b);

#endif
