/* What the swarm and node handlers share (api/swarm.c, api/swarm_init.c,
 * api/swarm_spec.c, api/swarm_addr.c, api/nodes.c); the rest of the API
 * layer sees only api/handlers.h.
 *
 * SwarmKit's gRPC errors reach Docker clients as "rpc error: code = <Code>
 * desc = <message>" (dockerd passes err.Error() through), with the status
 * dockerd derives from the code: InvalidArgument and FailedPrecondition
 * 400, NotFound 404, Unknown 500.  The messages here keep that form. */
#ifndef BERTH_API_SWARM_API_H
#define BERTH_API_SWARM_API_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api.h"
#include "raft/cluster_store.h"

/* SwarmKit's ErrSequenceConflict as a client sees it (500). */
#define API_SWARM_OUT_OF_SEQUENCE "rpc error: code = Unknown desc = update out of sequence"
/* dockerd's errSwarmExists (503). */
#define API_SWARM_EXISTS \
    "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."

/* Proposes ops as one entry and replies to r once it is applied: reply
 * (owned; NULL for an empty body) with 200, or Docker's error for the
 * failure.  Replies at once if the proposal cannot start.  A client's
 * version 0 must be refused before (API_SWARM_OUT_OF_SEQUENCE): to the
 * store if_version 0 means "must not exist yet". */
void api_swarm_propose(api_request *r, const cs_op *ops, size_t n, json_t *reply);

/* A version query parameter as dockerd parses it (strconv.ParseUint), with
 * its message on failure: "invalid <what> version '<raw>': ...". */
int api_swarm_version(api_request *r, const char *what, uint64_t *out, berr *e);

/* Version.Index of a stored document. */
uint64_t api_swarm_doc_version(json_t *doc);

/* ---- api/swarm_spec.c: the cluster spec ----------------------------------- */

/* Applies a request's Spec (the Engine API's SwarmSpec) to spec, a stored
 * spec edited in place.  full (swarm update) replaces every field, zero
 * for what the request leaves out, as SwarmSpecToGRPC does; otherwise
 * (swarm init) only non-zero request fields override, as
 * MergeSwarmSpecToGRPC does.  Then validates as SwarmKit's
 * validateClusterSpec.  -EINVAL (400) or -ENOSYS (501: external CAs,
 * signing certificates, autolock) with Docker's words. */
int api_swarm_spec_apply(json_t *spec, json_t *req, bool full, berr *e);

/* The stored spec as the Engine API shows it (a new object): Docker's
 * field order, its omitempty rules, TaskDefaults always {}. */
json_t *api_swarm_spec_json(json_t *spec);

/* The cluster object as the Engine API's Swarm (with JoinTokens) or
 * ClusterInfo (without) shows it.  A new object. */
json_t *api_swarm_cluster_json(json_t *cluster, bool with_tokens);

/* ---- api/swarm_addr.c: addresses for swarm init ---------------------------- */

/* dockerd's validateAddr + resolveListenAddr: "0.0.0.0:2377" style, an
 * interface name allowed for the host.  host and port are new strings. */
int api_swarm_listen_addr(const char *addr, char **host, char **port, berr *e);
/* dockerd's resolveAdvertiseAddr: addr may be an IP or interface, with or
 * without port (then listen_port); "" means autodetect the system's one
 * address. */
int api_swarm_advertise_addr(const char *addr, const char *listen_port, char **host, char **port, berr *e);
/* dockerd's resolveDataPathAddr: "" stays "". */
int api_swarm_data_path_addr(const char *addr, char **out, berr *e);
/* Whether ip is one of this system's addresses (dockerd's listSystemIPs). */
bool api_swarm_is_system_ip(const char *ip);
/* dockerd's resolveSystemAddr: the one global unicast address of the
 * system outside berth's bridges. */
int api_swarm_system_addr(char **out, berr *e);

#endif
