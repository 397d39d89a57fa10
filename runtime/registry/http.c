/* libcurl's multi interface on the libuv loop: curl tells us which sockets
 * to watch (socket callback) and when to call it back (timer callback); we
 * answer with curl_multi_socket_action and collect finished transfers. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "runtime/registry/http.h"

struct reg_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    reg_req *reqs;            /* in flight, doubly linked */
    char certs_dir[1024];
    void *shared[REG_SLOTS];
    void (*shared_free[REG_SLOTS])(void *);
};

void reg_http_set_certs_dir(reg_http *h, const char *dir) { snprintf(h->certs_dir, sizeof h->certs_dir, "%s", dir); }
const char *reg_http_certs_dir(const reg_http *h) { return h->certs_dir; }

void **reg_http_shared(reg_http *h, int slot) { return &h->shared[slot]; }
void reg_http_slot_free(reg_http *h, int slot, void (*free_fn)(void *)) { h->shared_free[slot] = free_fn; }

struct reg_req {
    reg_http *h;
    reg_req *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *body;               /* copy of a memory body */
    size_t body_len, body_off;
    int upload_fd;
    long long upload_len, upload_off;
    int out_fd;
    long long max_file;
    size_t max_body;
    digest_ctx dg;
    char errbuf[CURL_ERROR_SIZE];
    reg_resp resp;
    reg_http_done done;
    void (*progress)(void *ctx, long long now, long long total);
    void *ctx;
};

typedef struct sock_ctx {
    uv_poll_t poll;
    reg_http *h;
    curl_socket_t fd;
} sock_ctx;

static void check_done(reg_http *h);

static void poll_closed(uv_handle_t *handle) { free(handle->data); }

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx *sc = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    reg_http *h = sc->h;
    curl_multi_socket_action(h->multi, sc->fd, flags, &running);
    check_done(h);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    reg_http *h = userp;
    sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) {
            uv_poll_stop(&sc->poll);
            uv_close((uv_handle_t *)&sc->poll, poll_closed);
            curl_multi_assign(h->multi, s, NULL);
        }
        return 0;
    }
    if (!sc) {
        sc = xcalloc(1, sizeof *sc);
        sc->h = h;
        sc->fd = s;
        if (uv_poll_init_socket(h->loop, &sc->poll, s) < 0) {
            free(sc);
            return -1;
        }
        sc->poll.data = sc;
        curl_multi_assign(h->multi, s, sc);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&sc->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    reg_http *h = t->data;
    int running;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    reg_http *h = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int reg_http_open(reg_http **out, uv_loop_t *loop, berr *e)
{
    (void)e;
    reg_http *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    reg_http_set_certs_dir(h, "/etc/docker/certs.d");
    *out = h;
    return 0;
}

/* The multi handle is made by the first request, not at open: making it
 * would load libcurl (lib/lazy_curl.c, which also runs curl_global_init)
 * in a daemon that may never pull. */
static CURLM *multi_handle(reg_http *h)
{
    if (h->multi)
        return h->multi;
    h->multi = curl_multi_init();
    if (!h->multi)
        return NULL;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h->multi;
}

static void req_free(reg_req *r)
{
    curl_slist_free_all(r->headers);
    free(r->body);
    buf_free(&r->resp.body);
    free(r->resp.www_authenticate);
    free(r->resp.location);
    free(r->resp.content_digest);
    free(r->resp.content_type);
    free(r->resp.last_modified);
    free(r->resp.status_line);
    free(r);
}

/* Unlinks r from its client, reports it and frees it. */
static void req_finish(reg_req *r)
{
    reg_http *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    curl_multi_remove_handle(h->multi, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    if (r->out_fd >= 0 && r->resp.status == 0 && r->resp.code >= 200 && r->resp.code < 300)
        digest_final(&r->dg, r->resp.digest);
    if (!r->resp.body.data)
        buf_append(&r->resp.body, "", 0);
    buf_append(&r->resp.body, "", 1);
    r->resp.body.len--;
    r->done(r->ctx, &r->resp);
    req_free(r);
}

static void check_done(reg_http *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        reg_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->resp.code);
        CURLcode rc = m->data.result;
        if (rc != CURLE_OK && r->resp.status == 0)
            r->resp.status = berr_set(&r->resp.e, rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "%s",
                                      r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
        req_finish(r);
    }
}

static char **header_slot(reg_resp *resp, const char *line, size_t n, size_t *vlen, const char **val)
{
    static const struct {
        const char *name;
        size_t off;
    } known[] = {
        {"www-authenticate", offsetof(reg_resp, www_authenticate)},
        {"location", offsetof(reg_resp, location)},
        {"docker-content-digest", offsetof(reg_resp, content_digest)},
        {"content-type", offsetof(reg_resp, content_type)},
        {"last-modified", offsetof(reg_resp, last_modified)},
    };
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return NULL;
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strlen(known[i].name) != nlen || strncasecmp(line, known[i].name, nlen) != 0)
            continue;
        const char *v = colon + 1, *end = line + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        *val = v;
        *vlen = (size_t)(end - v);
        return (char **)((char *)resp + known[i].off);
    }
    return NULL;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    reg_req *r = userp;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100-continue): forget the last one's. */
        char **slots[] = {&r->resp.www_authenticate, &r->resp.location, &r->resp.content_digest,
                          &r->resp.content_type, &r->resp.last_modified, &r->resp.status_line};
        for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
            free(*slots[i]);
            *slots[i] = NULL;
        }
        const char *sp = memchr(data, ' ', n), *end = data + n;
        if (sp) {
            while (end > sp && (end[-1] == '\r' || end[-1] == '\n'))
                end--;
            r->resp.status_line = xstrndup(sp + 1, (size_t)(end - sp - 1));
        }
        return n;
    }
    const char *val;
    size_t vlen;
    char **slot = header_slot(&r->resp, data, n, &vlen, &val);
    if (slot) {
        free(*slot);
        *slot = xstrndup(val, vlen);
    }
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    reg_req *r = userp;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (r->out_fd >= 0 && code >= 200 && code < 300) {
        if (r->max_file > 0 && r->resp.received + (long long)n > r->max_file) {
            r->resp.status = berr_set(&r->resp.e, -EFBIG, "the registry sent more than the %lld bytes expected",
                                      r->max_file);
            return 0;
        }
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(r->out_fd, data + off, n - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                r->resp.status = berr_sys(&r->resp.e, -errno, "write blob");
                return 0;
            }
            off += (size_t)w;
        }
        digest_update(&r->dg, data, n);
    } else {
        if (r->resp.body.len + n > r->max_body) {
            r->resp.status = berr_set(&r->resp.e, -EFBIG, "registry response over %zu bytes", r->max_body);
            return 0;
        }
        buf_append(&r->resp.body, data, n);
    }
    r->resp.received += (long long)n;
    return n;
}

static size_t on_read(char *data, size_t size, size_t nmemb, void *userp)
{
    reg_req *r = userp;
    size_t n = size * nmemb;
    if (r->body) {
        size_t left = r->body_len - r->body_off;
        if (n > left)
            n = left;
        memcpy(data, r->body + r->body_off, n);
        r->body_off += n;
        return n;
    }
    long long left = r->upload_len - r->upload_off;
    if ((long long)n > left)
        n = (size_t)left;
    if (n == 0)
        return 0;
    ssize_t got = pread(r->upload_fd, data, n, r->upload_off);
    if (got <= 0) {
        r->resp.status = berr_sys(&r->resp.e, got < 0 ? -errno : -EIO, "read upload");
        return CURL_READFUNC_ABORT;
    }
    r->upload_off += got;
    return (size_t)got;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    reg_req *r = userp;
    if (r->progress) {
        if (ultotal > 0)
            r->progress(r->ctx, ulnow, ultotal);
        else if (dlnow > 0)
            r->progress(r->ctx, dlnow, dltotal);
    }
    return 0;
}

reg_req *reg_http_start(reg_http *h, const reg_req_opts *o, reg_http_done done, void *ctx)
{
    reg_req *r = xcalloc(1, sizeof *r);
    r->h = h;
    r->done = done;
    r->ctx = ctx;
    r->progress = o->progress;
    r->out_fd = o->out_fd;
    r->max_file = o->max_file;
    r->upload_fd = o->upload_fd;
    r->upload_len = o->upload_len;
    r->max_body = o->max_body ? o->max_body : (1u << 20);
    digest_init(&r->dg);
    r->easy = curl_easy_init();
    CURL *c = r->easy;
    curl_easy_setopt(c, CURLOPT_PRIVATE, r);
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "docker/28.2.0 berthd/" BERTH_VERSION);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled transfer (under 1 byte/s for a minute) fails instead of hanging the pull. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (o->follow) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    }
    if (o->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->tls_dir && *o->tls_dir) {
        /* dockerd's certs.d: a CA for this registry, a client certificate for it. */
        char ca[1100], cert[1100], key[1100];
        snprintf(ca, sizeof ca, "%s/ca.crt", o->tls_dir);
        snprintf(cert, sizeof cert, "%s/client.cert", o->tls_dir);
        snprintf(key, sizeof key, "%s/client.key", o->tls_dir);
        if (access(ca, R_OK) == 0)
            curl_easy_setopt(c, CURLOPT_CAINFO, ca);
        if (access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
            curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
            curl_easy_setopt(c, CURLOPT_SSLKEY, key);
        }
    }
    r->headers = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; o->headers && o->headers[i]; i++)
        r->headers = curl_slist_append(r->headers, o->headers[i]);
    const char *m = o->method ? o->method : "GET";
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "GET") != 0) {
        if (o->body || o->upload_fd >= 0) {
            if (o->body) {
                r->body = xmalloc(o->body_len ? o->body_len : 1);
                memcpy(r->body, o->body, o->body_len);
                r->body_len = o->body_len;
            } else {
                r->upload_fd = o->upload_fd;
            }
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, r);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)(o->body ? (long long)o->body_len : o->upload_len));
        } else {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    CURLM *multi = multi_handle(h);
    if (!multi || curl_multi_add_handle(multi, c) != CURLM_OK) {
        r->resp.status = berr_set(&r->resp.e, -EIO, multi ? "libcurl refused the request"
                                                          : "libcurl is not available (the daemon's log says why)");
        req_finish(r);
        return NULL;
    }
    return r;
}

void reg_http_cancel(reg_req *r)
{
    if (!r)
        return;
    if (r->resp.status == 0)
        r->resp.status = berr_set(&r->resp.e, -ECANCELED, "canceled");
    req_finish(r);
}

static void timer_closed(uv_handle_t *handle) { free(handle->data); }

void reg_http_close(reg_http *h)
{
    if (!h)
        return;
    while (h->reqs)
        reg_http_cancel(h->reqs);
    for (int i = 0; i < REG_SLOTS; i++)
        if (h->shared[i] && h->shared_free[i])
            h->shared_free[i](h->shared[i]);
    curl_multi_cleanup(h->multi);
    uv_close((uv_handle_t *)&h->timer, timer_closed);
}
