/* The table behind api/versions.h.  since/until are API minor versions
 * (1.<n>): a behaviour holds for since <= minor < until; 0 leaves a side
 * open.  The CHANGELOG entry each row comes from is named beside it. */
#include "api/versions.h"

static const struct {
    int since, until;
} table[API_BEHAVIOUR_N] = {
    [API_IMAGE_VIRTUAL_SIZE] = {0, 44},      /* v1.44: VirtualSize omitted */
    [API_IMAGE_CONTAINER_CONFIG] = {0, 45},  /* v1.45: Container, ContainerConfig gone */
    [API_ALIASES_SHORT_ID] = {0, 45},        /* v1.45: Aliases as submitted */
    [API_ENDPOINT_DNS_NAMES] = {44, 0},      /* v1.44: DNSNames added */
    [API_MULTIPLEXED_MEDIA_TYPE] = {42, 0},  /* v1.42: multiplexed-stream media type */
    [API_WS_BINARY_FRAMES] = {28, 0},        /* v1.28: attach/ws binary frames */
    [API_WS_STREAM_PARAMS] = {42, 0},        /* v1.42: attach/ws stdin/stdout/stderr */
    [API_PIDS_LIMIT_UPDATE] = {40, 0},       /* v1.40: update takes PidsLimit */
    [API_STATS_ONE_SHOT] = {41, 0},          /* v1.41: one-shot */
    [API_STOP_SIGNAL_PARAM] = {42, 0},       /* v1.42: stop/restart signal */
    [API_SYSTEM_DF_TYPE] = {42, 0},          /* v1.42: system df type */
    [API_CLUSTER_VOLUMES] = {42, 0},         /* v1.42: cluster volumes */
    [API_SWARM_ADDR_POOL] = {39, 0},         /* v1.39: DefaultAddrPool, SubnetSize */
    [API_SWARM_DATA_PATH_PORT] = {40, 0},    /* v1.40: DataPathPort */
    [API_VOLUME_PRUNE_ALL] = {0, 42},        /* v1.42: prune only anonymous volumes unless all=true */
    [API_IPC_DEFAULT_SHAREABLE] = {0, 40},   /* v1.40: default IpcMode private (dockerd's router) */
    [API_CGROUPNS_DEFAULT_HOST] = {0, 41},   /* v1.41: CgroupnsMode added, default per host */
};

bool api_minor_has(int minor, api_behaviour b)
{
    if ((unsigned)b >= API_BEHAVIOUR_N)
        return false;
    return (!table[b].since || minor >= table[b].since) && (!table[b].until || minor < table[b].until);
}

bool api_has(const api_request *r, api_behaviour b) { return api_minor_has(r->api_minor, b); }

const char *api_stream_media_type(const api_request *r, bool framed, bool plain_hijack)
{
    if (framed && !plain_hijack && api_has(r, API_MULTIPLEXED_MEDIA_TYPE))
        return "application/vnd.docker.multiplexed-stream";
    return "application/vnd.docker.raw-stream";
}
