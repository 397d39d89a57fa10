/* Hijacked connections, as dockerd does for attach and exec: the client
 * asks "Connection: Upgrade / Upgrade: tcp", gets "101 UPGRADED", and from
 * then on the socket carries raw bytes both ways — stdin from the client,
 * stdout/stderr (framed with stdcopy unless there is a TTY) to it.
 *
 * After MHD hands over the socket it is watched with uv_poll on the loop.
 * The hijack lives on its own: the HTTP request that made it is gone. */
#ifndef BERTH_API_HIJACK_H
#define BERTH_API_HIJACK_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

typedef struct api_hijack api_hijack;

typedef struct api_hijack_ops {
    /* Bytes from the client (may be NULL: input is then discarded). */
    void (*on_data)(void *ctx, api_hijack *h, const char *data, size_t len);
    /* The client closed its sending side (CloseWrite); output may go on. */
    void (*on_eof)(void *ctx, api_hijack *h);
    /* Ready: the socket is ours; the owner keeps h until on_close. */
    void (*on_open)(void *ctx, api_hijack *h);
    /* The connection is closed (by us or the client); h is freed after. */
    void (*on_close)(void *ctx, api_hijack *h);
} api_hijack_ops;

/* True if the request asked for an upgrade. */
bool api_wants_upgrade(api_request *r);

/* Replies 101 and hands the socket to ops.  ctx is the owner's.  The
 * hijack is usable at once: what is written (and a close) before the
 * client's side is upgraded is kept and goes out when it is (on_open). */
api_hijack *api_reply_hijack(api_request *r, const char *content_type, const api_hijack_ops *ops, void *ctx);

/* The same for a WebSocket handshake (RFC 6455): 101 with Upgrade:
 * websocket and the Sec-WebSocket-Accept value given. */
api_hijack *api_reply_hijack_ws(api_request *r, const char *accept, const api_hijack_ops *ops, void *ctx);

/* Queues bytes for the client. */
void api_hijack_write(api_hijack *h, const void *data, size_t len);
/* Bytes queued and not yet sent. */
size_t api_hijack_pending(const api_hijack *h);
/* Closes once everything queued has been sent (on_close follows). */
void api_hijack_close(api_hijack *h);

#endif
