/* A session with one repository of one registry: the scheme found by the
 * ping (https; for insecure registries https without verification, then
 * http), the challenge answered (Bearer token for the scope, or Basic), and
 * requests sent with that Authorization. */
#ifndef BERTH_RUNTIME_REGISTRY_SESSION_H
#define BERTH_RUNTIME_REGISTRY_SESSION_H

#include "runtime/registry/auth.h"
#include "runtime/registry/endpoint.h"
#include "runtime/registry/http.h"

typedef struct reg_session reg_session;

/* ready(ctx, s, status, e) runs once; on success s is the caller's (free it
 * with reg_session_free), on failure s is NULL.  repo NULL: a login (no
 * scope); verify: the credentials must be accepted by GET /v2/ (login). */
typedef void (*reg_session_ready)(void *ctx, reg_session *s, int status, const berr *e);
typedef struct reg_session_opts {
    const char *host;          /* "127.0.0.1:5000" */
    const char *scheme;        /* "https" or "http" to force one (mirrors); NULL to probe */
    const char *repo;          /* "library/busybox" or NULL */
    const char *actions;       /* "pull" or "pull,push" */
    const reg_creds *creds;    /* may be NULL */
    bool insecure;
    bool verify;
} reg_session_opts;

/* Starts opening; the handle may be given to reg_session_free before ready
 * runs (the open stops, ready never runs). */
reg_session *reg_session_open(reg_http *h, const reg_session_opts *o, reg_session_ready ready, void *ctx);
/* Stops an open in progress (ready does not run) or frees an open session. */
void reg_session_free(reg_session *s);

/* An absolute URL for path ("/v2/...") or a Location value (absolute or relative). */
char *reg_session_url(const reg_session *s, const char *path_or_url);
const char *reg_session_base(const reg_session *s);   /* "https://host" */
const char *reg_session_repo(const reg_session *s);
/* An identity token (refresh token) the token server gave, or NULL. */
const char *reg_session_identity_token(const reg_session *s);

/* Sends a request (o->url may be a path) with the session's auth. */
reg_req *reg_session_request(reg_session *s, const reg_req_opts *o, reg_http_done done, void *ctx);

/* The registry's error reply ({"errors":[{"code","message","detail"}]}) in
 * the distribution client's words ("manifest unknown: manifest unknown"),
 * or "" when the body carries none.  out has n bytes. */
void reg_error_text(const reg_resp *resp, char *out, size_t n);

#endif
