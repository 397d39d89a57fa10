/* The cluster's transport on the swarm port (2377): libraft's raft traffic
 * and berth's node RPC on one listening socket, every connection TLS 1.3
 * (lib/tls_conn.h) with certificates from the cluster's root CA.
 *
 * It is a raft_uv_transport of berth's own.  Outgoing raft connections go
 * to the address this transport knows for the peer's raft ID when it has
 * one (cs_transport_set_peer) and to the address in the raft configuration
 * otherwise: a member's address can change (`swarm init --advertise-addr`
 * on the node that bootstrapped itself on 127.0.0.1) while libraft's
 * configuration cannot rename a member.  libraft reads and writes a
 * uv_stream_t of its own: each raft connection is bridged to libraft
 * through a socket pair, the TLS session staying on the TCP side.
 *
 * On a connection, after the TLS handshake, the first 8 plaintext bytes
 * say what follows:
 *   - libraft's handshake protocol number (1, little-endian u64), then the
 *     peer's raft ID (u64), the length of its address (u64, padded to a
 *     multiple of 8 as raft_uv_tcp writes it) and the address: handed to
 *     libraft as raft_uv_tcp hands it.  Only a manager's certificate may
 *     open one;
 *   - "BERTHRPC": node RPC, a sequence of requests, each a 4-byte
 *     big-endian length and a JSON object, each answered the same way
 *     before the next is read.  Handlers learn who asks from the
 *     certificate (cs_rpc_peer_role / cs_rpc_peer_node).
 * Anything else is closed.
 *
 * A client certificate, when sent, must chain to the CA and pass the peer
 * check (cs_transport_set_peer_check: a removed node is refused); a
 * client without one may only make the RPCs that bootstrap a node (fetch
 * the CA, check a token, ask for a first certificate): their handlers see
 * CS_PEER_NONE.  A node without a certificate accepts no connection.
 *
 * Everything runs on the loop thread. */
#ifndef BERTH_RAFT_TRANSPORT_H
#define BERTH_RAFT_TRANSPORT_H

#include <jansson.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "lib/err.h"
#include "lib/tls_conn.h"

#define CS_RPC_MAGIC "BERTHRPC"
/* Largest RPC frame accepted either way. */
#define CS_RPC_MAX_FRAME (16u << 20)

/* One request received: answer it with cs_rpc_reply (exactly once). */
typedef struct cs_rpc_ctx cs_rpc_ctx;
typedef void (*cs_rpc_handler)(void *arg, json_t *req, cs_rpc_ctx *ctx);

/* Who made the request, from its TLS client certificate (valid until the
 * reply): no certificate (a node bootstrapping), or one with OU
 * swarm-worker / swarm-manager.  The node ID is its CN ("" for none). */
typedef enum cs_peer_role { CS_PEER_NONE, CS_PEER_WORKER, CS_PEER_MANAGER } cs_peer_role;
cs_peer_role cs_rpc_peer_role(const cs_rpc_ctx *ctx);
const char *cs_rpc_peer_node(const cs_rpc_ctx *ctx);
cs_peer_role cs_peer_role_of(const tls_ident *id);

/* Called for every verified client certificate at the handshake: false
 * (with why filled) refuses the connection. */
typedef bool (*cs_peer_check)(void *arg, const tls_ident *peer, char *why, size_t why_len);

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
void cs_transport_set_peer_check(struct raft_uv_transport *t, cs_peer_check fn, void *arg);

/* This node's credentials (the CA, its certificate and key): what it
 * serves and connects with from now on (connections already open keep
 * theirs).  They also become the process's credentials for cs_rpc_call:
 * one node per process. */
void cs_transport_set_creds(struct raft_uv_transport *t, tls_creds *creds);

/* Answers a request (resp is stolen; the connection may be gone, then
 * only memory is freed). */
void cs_rpc_reply(cs_rpc_ctx *ctx, json_t *resp);

/* Calls the node RPC at address ("ip:port") with req (borrowed), over
 * TLS with this node's certificate, the server verified as a manager of
 * the cluster: done gets status 0 and the response (borrowed for the
 * call), or a negative errno and a message naming what failed (connect,
 * TLS, timeout, bad answer).  -ENOTCONN when this node has no
 * certificate yet. */
typedef void (*cs_rpc_done)(void *arg, int status, json_t *resp, const berr *e);
int cs_rpc_call(uv_loop_t *loop, const char *address, json_t *req, unsigned timeout_ms, cs_rpc_done done, void *arg,
                berr *e);
/* The same, remembered under owner: cs_rpc_cancel(owner) ends every call
 * of that owner still under way (done gets -ECANCELED), so a shutdown does
 * not wait for their timeouts. */
int cs_rpc_call_owned(uv_loop_t *loop, void *owner, const char *address, json_t *req, unsigned timeout_ms,
                      cs_rpc_done done, void *arg, berr *e);
void cs_rpc_cancel(void *owner);

/* A call by a node that has no certificate of the cluster yet (joining):
 * TLS without a client certificate; ca_pem NULL trusts any server (the
 * caller pins what it gets: the CA's digest in the join token), else the
 * server must be a manager with a certificate from that CA. */
int cs_rpc_call_bootstrap(uv_loop_t *loop, void *owner, const char *address, const char *ca_pem, json_t *req,
                          unsigned timeout_ms, cs_rpc_done done, void *arg, berr *e);

#endif
