/* The HTTP server: libmicrohttpd driven by the daemon's libuv loop.
 *
 * MHD runs without threads of its own (MHD_USE_EPOLL): each listener's MHD
 * epoll fd is watched with uv_poll, MHD_run() is called when it is readable
 * and when MHD's own timeout expires.  Requests whose handler works
 * asynchronously are suspended and resumed when the reply is ready. */
#ifndef BERTH_API_SERVER_H
#define BERTH_API_SERVER_H

#include "lib/err.h"

struct berth_daemon;
typedef struct api_server api_server;

/* Opens every -H listener and starts serving.  *out is owned by the caller
 * and released by api_server_stop. */
int api_server_start(struct berth_daemon *d, api_server **out, berr *e);

/* Stops accepting at once, lets requests in flight finish (at most
 * grace_ms), then closes everything, frees s and calls done(arg). */
void api_server_stop(api_server *s, unsigned grace_ms, void (*done)(void *), void *arg);

#endif

/* For api/stream.c: run MHD soon (a parked connection was resumed), and
 * the list of open streams the server ends when it stops. */
struct api_stream;
void api_server_kick(api_server *s);
void api_server_add_stream(api_server *s, struct api_stream *st);
void api_server_remove_stream(api_server *s, struct api_stream *st);
/* Implemented by api/stream.c for the server. */
void api_stream_request_done(struct api_stream *st);
void api_stream_shutdown(struct api_stream *st);
struct api_stream *api_stream_next(struct api_stream *st);
void api_stream_set_next(struct api_stream *st, struct api_stream *next);

/* For api/hijack.c: the loop, and the list of hijacked connections the
 * server closes when it stops. */
struct api_hijack;
struct uv_loop_s *api_server_loop(api_server *s);
void api_server_add_hijack(api_server *s, struct api_hijack *h);
void api_server_remove_hijack(api_server *s, struct api_hijack *h);
void api_hijack_shutdown(struct api_hijack *h);
struct api_hijack *api_hijack_next(struct api_hijack *h);
void api_hijack_set_next(struct api_hijack *h, struct api_hijack *next);

/* For api/reply.c: a reply was stored in r->pending; if the request is
 * suspended, resume it so MHD sends the reply. */
struct api_request;
void api_server_reply_ready(struct api_request *r);
