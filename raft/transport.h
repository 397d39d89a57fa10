/* The cluster's transport on the swarm port (2377): libraft's raft traffic
 * and berth's node RPC on one listening socket.
 *
 * It is a raft_uv_transport of berth's own.  Outgoing raft connections go
 * through an inner raft_uv_tcp transport (which writes libraft's handshake
 * and retries), to the address this transport knows for the peer's raft ID
 * when it has one (cs_transport_set_peer) and to the address in the raft
 * configuration otherwise: a member's address can change (`swarm init
 * --advertise-addr` on the node that bootstrapped itself on 127.0.0.1)
 * while libraft's configuration cannot rename a member.
 *
 * Incoming connections start with 8 bytes that say what follows:
 *   - libraft's handshake protocol number (1, little-endian u64), then the
 *     peer's raft ID (u64), the length of its address (u64, padded to a
 *     multiple of 8 as raft_uv_tcp writes it) and the address: handed to
 *     libraft as raft_uv_tcp hands it;
 *   - "BERTHRPC": node RPC, a sequence of requests, each a 4-byte
 *     big-endian length and a JSON object, each answered the same way
 *     before the next is read.
 * Anything else is closed.
 *
 * Nothing on this transport is encrypted or authenticated yet (see
 * docs/operations.md): the swarm port must only be reachable from the
 * cluster's own hosts.
 *
 * Everything runs on the loop thread. */
#ifndef BERTH_RAFT_TRANSPORT_H
#define BERTH_RAFT_TRANSPORT_H

#include <jansson.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "lib/err.h"

#define CS_RPC_MAGIC "BERTHRPC"
/* Largest RPC frame accepted either way. */
#define CS_RPC_MAX_FRAME (16u << 20)

/* One request received: answer it with cs_rpc_reply (exactly once). */
typedef struct cs_rpc_ctx cs_rpc_ctx;
typedef void (*cs_rpc_handler)(void *arg, json_t *req, cs_rpc_ctx *ctx);

int cs_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, berr *e);
/* Frees what init allocated, once t->close's callback has run (or when
 * libraft never used t). */
void cs_transport_release(struct raft_uv_transport *t);

/* The address to listen on ("0.0.0.0:2377"); by default the member's own
 * raft address.  While listening, the listener moves there now. */
int cs_transport_set_bind(struct raft_uv_transport *t, const char *address, berr *e);
/* Where to reach the member with this raft ID (copied; NULL forgets it). */
void cs_transport_set_peer(struct raft_uv_transport *t, raft_id id, const char *address);
const char *cs_transport_peer(struct raft_uv_transport *t, raft_id id);
void cs_transport_on_rpc(struct raft_uv_transport *t, cs_rpc_handler fn, void *arg);

/* Answers a request (resp is stolen; the connection may be gone, then
 * only memory is freed). */
void cs_rpc_reply(cs_rpc_ctx *ctx, json_t *resp);

/* Calls the node RPC at address ("ip:port") with req (borrowed): done gets
 * status 0 and the response (borrowed for the call), or a negative errno
 * and a message naming what failed (connect, timeout, bad answer). */
typedef void (*cs_rpc_done)(void *arg, int status, json_t *resp, const berr *e);
int cs_rpc_call(uv_loop_t *loop, const char *address, json_t *req, unsigned timeout_ms, cs_rpc_done done, void *arg,
                berr *e);
/* The same, remembered under owner: cs_rpc_cancel(owner) ends every call
 * of that owner still under way (done gets -ECANCELED), so a shutdown does
 * not wait for their timeouts. */
int cs_rpc_call_owned(uv_loop_t *loop, void *owner, const char *address, json_t *req, unsigned timeout_ms,
                      cs_rpc_done done, void *arg, berr *e);
void cs_rpc_cancel(void *owner);

#endif
