/* HTTP for the registry client: libcurl's multi interface driven by the
 * daemon's libuv loop (curl's sockets under uv_poll, its timeout under a
 * uv_timer), so any number of transfers run concurrently and none blocks the
 * loop.  Bodies go to memory (bounded) or, for blobs, to a file descriptor
 * while their sha256 is computed on the way through. */
#ifndef BERTH_RUNTIME_REGISTRY_HTTP_H
#define BERTH_RUNTIME_REGISTRY_HTTP_H

#include <stdbool.h>
#include <uv.h>

#include "lib/buf.h"
#include "lib/digest.h"
#include "lib/err.h"

typedef struct reg_http reg_http;
typedef struct reg_req reg_req;

/* Makes no curl handle yet: the first request does, and only then is
 * libcurl loaded (lib/lazy_curl.c), so an idle daemon never maps it. */
int reg_http_open(reg_http **out, uv_loop_t *loop, berr *e);
/* Where per-registry certificates live (dockerd's /etc/docker/certs.d:
 * <dir>/<host:port>/ca.crt, client.cert, client.key).  Copied. */
void reg_http_set_certs_dir(reg_http *h, const char *dir);
const char *reg_http_certs_dir(const reg_http *h);
/* Cancels what is in flight (their done() runs with -ECANCELED) and frees
 * the client once curl's handles are closed. */
void reg_http_close(reg_http *h);

typedef struct reg_resp {
    int status;               /* 0 transfer ok (any HTTP status), <0 transport error (message in e) */
    long code;                /* HTTP status */
    buf body;                 /* the body when it did not go to a file (always NUL-terminated) */
    char *www_authenticate;   /* response headers of the last response, NULL when absent */
    char *location;
    char *content_digest;     /* Docker-Content-Digest */
    char *content_type;
    char *last_modified;      /* Last-Modified */
    char *status_line;        /* "404 Not Found": the status line after the version */
    long long received;       /* body bytes received */
    char digest[DIGEST_BUF];  /* sha256 of what went to out_fd */
    berr e;
} reg_resp;

typedef struct reg_req_opts {
    const char *method;       /* "GET", "HEAD", "PUT", "POST", "PATCH" */
    const char *url;
    const char *const *headers;   /* "Name: value" strings, NULL-terminated (copied) */
    const void *body;         /* request body from memory (copied), body_len bytes */
    size_t body_len;
    int upload_fd;            /* or from a file, upload_len bytes from its start (-1: none) */
    long long upload_len;
    int out_fd;               /* a 2xx body goes here (-1: to memory) */
    long long max_file;       /* bound on what goes to out_fd (0: none): no blob exceeds its descriptor */
    size_t max_body;          /* bound on a body kept in memory (0: 1 MiB) */
    bool insecure;            /* TLS without certificate verification */
    const char *tls_dir;      /* the host's certs.d directory: ca.crt, client.cert + client.key if there (may be NULL) */
    bool follow;              /* follow redirects (blobs) */
    /* Called as bytes move (download or upload); may be NULL. */
    void (*progress)(void *ctx, long long now, long long total);
} reg_req_opts;

typedef void (*reg_http_done)(void *ctx, reg_resp *resp);

/* Pointers the client's users hang on it, shared by every pull and push of
 * the daemon: the table of blob downloads in flight (share.c; empty again
 * before the client closes) and the blobs pushed so far (push.c, freed at
 * close with the function given). */
enum { REG_SLOT_DOWNLOADS, REG_SLOT_PUSHED, REG_SLOTS };
void **reg_http_shared(reg_http *h, int slot);
void reg_http_slot_free(reg_http *h, int slot, void (*free_fn)(void *));

/* Starts a request; done(ctx, resp) runs on the loop exactly once (resp is
 * freed after it returns).  Returns the request for reg_http_cancel. */
reg_req *reg_http_start(reg_http *h, const reg_req_opts *o, reg_http_done done, void *ctx);
/* Aborts a request; its done() runs (synchronously) with -ECANCELED. */
void reg_http_cancel(reg_req *r);

#endif
