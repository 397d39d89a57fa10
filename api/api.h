/* The API layer: one request's view for the handlers, and the replies they
 * can give.  Handlers run on the loop thread.  A handler either replies
 * before it returns, or starts asynchronous work and replies later from the
 * loop (the connection is suspended meanwhile); either way it replies
 * exactly once. */
#ifndef BERTH_API_API_H
#define BERTH_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

struct berth_daemon;
struct api_route;
struct MHD_Connection;
struct MHD_Response;

#define API_VERSION_MAX_MINOR 47
#define API_VERSION_MIN_MINOR 24
#define API_VERSION "1.47"
#define API_MIN_VERSION "1.24"

#define API_MAX_PARAMS 3

typedef struct api_request {
    struct berth_daemon *d;
    struct api_server *srv;
    struct MHD_Connection *conn;
    const struct api_route *route;
    char method[8];
    char *path;                      /* without the version prefix; owned */
    int api_minor;                   /* requested API version 1.<minor> */
    char *params[API_MAX_PARAMS];    /* path parameters, URL-decoded; owned */

    buf body;                        /* JSON bodies (bounded) */
    int body_fd;                     /* streamed bodies: temp file, -1 if none */
    char *body_path;                 /* its path (removed when the request ends) */
    long long body_len;
    bool body_too_large;
    bool body_failed;
    int body_errno;            /* why spooling failed (ENOSPC, EIO...) */

    struct MHD_Response *pending;    /* reply waiting for the connection to resume */
    unsigned pending_status;
    bool replied;
    bool suspended;
    bool handled;                    /* the handler has been called */
    struct api_stream *stream;       /* a streamed reply (api/stream.h), owned */
    struct api_request *next_suspended;
} api_request;

/* A query parameter's value, or NULL.  Valid for the request's lifetime. */
const char *api_query(api_request *r, const char *name);
/* Docker's boolean query parameters: "1", "true", "True" are true; absent
 * means dflt; anything else ("0", "false", "") is false. */
bool api_query_bool(api_request *r, const char *name, bool dflt);
/* Every value of a repeated query parameter, in order; caller frees the
 * array (not the strings).  *n receives the count. */
const char **api_query_all(api_request *r, const char *name, size_t *n);
/* A request header's value, or NULL. */
const char *api_header(api_request *r, const char *name);

/* Parses the JSON body.  An empty body gives NULL with 0; malformed JSON is
 * -EINVAL with Docker's wording.  Caller owns *out. */
int api_body_json(api_request *r, json_t **out, berr *e);

/* Replies.  Each takes ownership of what it is given. */
void api_reply_json(api_request *r, unsigned status, json_t *body);
void api_reply_text(api_request *r, unsigned status, const char *content_type, char *data, size_t len);
void api_reply_empty(api_request *r, unsigned status);
/* Replies with an error: status from code (see lib/err.h), body
 * {"message": msg}. */
void api_reply_error(api_request *r, int code, const char *msg);
void api_reply_berr(api_request *r, const berr *e);
/* Streams len bytes of fd (from offset 0) as the body; fd is closed after. */
void api_reply_fd(api_request *r, unsigned status, const char *content_type, int fd, long long len);

/* Replies with a response the handler built (custom headers). */
void api_reply_response(api_request *r, unsigned status, struct MHD_Response *resp);

/* Maps a negative errno to the HTTP status Docker would use. */
unsigned api_status_for(int code);

/* Adds the headers dockerd puts on every response. */
void api_add_common_headers(struct MHD_Response *resp);

#endif
