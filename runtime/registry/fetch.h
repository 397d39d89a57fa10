/* A plain URL fetched into a file (not a registry): `docker import URL`,
 * `docker build URL` and ADD <url>.  GET with redirects followed, as moby's
 * remotecontext.GetWithStatusError: a status of 400 or more is the error
 * "failed to GET <url> with status <status>: <body>".  On the loop, through
 * the registry client's HTTP (http.h), so proxies and TLS are the same. */
#ifndef BERTH_RUNTIME_REGISTRY_FETCH_H
#define BERTH_RUNTIME_REGISTRY_FETCH_H

#include <time.h>

#include "lib/err.h"
#include "runtime/registry/http.h"

/* mtime: the response's Last-Modified, 0 when it has none (or it does not
 * parse).  status < 0: e says why; the file may hold part of a body. */
typedef void (*reg_fetch_done)(void *ctx, int status, const berr *e, time_t mtime);
typedef struct reg_fetch reg_fetch;

/* Starts fetching url (a scheme of http or https) into path (created or
 * truncated, 0600); done() runs later, on the loop, unless cancelled. */
reg_fetch *reg_fetch_start(reg_http *h, const char *url, const char *path, reg_fetch_done done, void *ctx,
                           berr *e);
/* The same into a new file dir/<prefix>XXXXXX (its name into path, which
 * the caller removes once done() has run; nothing is left on failure). */
reg_fetch *reg_fetch_to_temp(reg_http *h, const char *url, const char *dir, const char *prefix, char *path,
                             size_t path_len, reg_fetch_done done, void *ctx, berr *e);
/* Stops a fetch in flight; its done() never runs. */
void reg_fetch_cancel(reg_fetch *f);

/* Whether s is an http:// or https:// URL (moby's urlutil.IsURL). */
bool reg_is_url(const char *s);
/* The name a URL's download takes (ADD <url>): the last element of its
 * path, without query or fragment; NULL when the path has none. */
char *reg_url_file_name(const char *url);

#endif
