/* See fetch.h. */
#include "runtime/registry/fetch.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"

struct reg_fetch {
    reg_req *req;
    int fd;
    char *url;
    reg_fetch_done done;
    void *ctx;
    bool cancelled;
    bool starting;            /* inside reg_http_start: a failure there is start's own */
    berr early;
};

bool reg_is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

/* An RFC 7231 date ("Sun, 06 Nov 1994 08:49:37 GMT"), as Go's http.ParseTime
 * reads its first format; 0 otherwise. */
static time_t http_time(const char *v)
{
    struct tm tm = {0};
    const char *end = v ? strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    return end ? timegm(&tm) : 0;
}

static void fetched(void *arg, reg_resp *resp)
{
    reg_fetch *f = arg;
    close(f->fd);
    if (f->starting) {
        f->early = resp->e;
        return;
    }
    if (f->cancelled) {
        free(f->url);
        free(f);
        return;
    }
    berr e = {0};
    int status = resp->status;
    if (status < 0) {
        e = resp->e;
    } else if (resp->code >= 400) {
        /* the body, trimmed, as moby quotes it */
        const char *b = resp->body.data ? resp->body.data : "";
        size_t n = strlen(b);
        while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
            n--;
        while (n && (*b == ' ' || *b == '\n' || *b == '\r'))
            b++, n--;
        status = berr_set(&e, resp->code == 404 ? -ENOENT : -EIO, "failed to GET %s with status %s: %.*s", f->url,
                          resp->status_line ? resp->status_line : "unknown", (int)(n > 512 ? 512 : n), b);
    }
    time_t mtime = status == 0 ? http_time(resp->last_modified) : 0;
    reg_fetch_done done = f->done;
    void *ctx = f->ctx;
    free(f->url);
    free(f);
    done(ctx, status, status < 0 ? &e : NULL, mtime);
}

reg_fetch *reg_fetch_start(reg_http *h, const char *url, const char *path, reg_fetch_done done, void *ctx,
                           berr *e)
{
    if (!reg_is_url(url)) {
        berr_set(e, -EINVAL, "%s: only http:// and https:// URLs can be fetched", url);
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        berr_sys(e, -errno, "create %s", path);
        return NULL;
    }
    reg_fetch *f = xcalloc(1, sizeof *f);
    f->fd = fd;
    f->url = xstrdup(url);
    f->done = done;
    f->ctx = ctx;
    reg_req_opts o = {.method = "GET", .url = url, .upload_fd = -1, .out_fd = fd, .follow = true,
                      .max_body = 64 * 1024};
    f->starting = true;
    f->req = reg_http_start(h, &o, fetched, f);
    f->starting = false;
    if (!f->req) {
        *e = f->early;
        free(f->url);
        free(f);
        return NULL;
    }
    return f;
}

reg_fetch *reg_fetch_to_temp(reg_http *h, const char *url, const char *dir, const char *prefix, char *path,
                             size_t path_len, reg_fetch_done done, void *ctx, berr *e)
{
    snprintf(path, path_len, "%s/%sXXXXXX", dir, prefix);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        berr_sys(e, -errno, "create %s", path);
        return NULL;
    }
    close(fd);
    reg_fetch *f = reg_fetch_start(h, url, path, done, ctx, e);
    if (!f)
        unlink(path);
    return f;
}

void reg_fetch_cancel(reg_fetch *f)
{
    f->cancelled = true;
    reg_http_cancel(f->req);   /* fetched() runs now and frees f */
}

char *reg_url_file_name(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p += strcspn(p, "/?#");   /* past the host */
    size_t n = strcspn(p, "?#");
    while (n && p[n - 1] == '/')
        n--;
    const char *start = p + n;
    while (start > p && start[-1] != '/')
        start--;
    if (start == p + n)
        return NULL;
    return xstrndup(start, (size_t)(p + n - start));
}
