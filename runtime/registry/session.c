/* Ping, challenge, token and authorized requests (see session.h). */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/registry/session.h"

struct reg_session {
    reg_http *h;
    char host[REG_HOST_MAX];
    char repo[REG_REPO_MAX];
    char actions[32];
    char base[REG_HOST_MAX + 16];
    bool has_repo, insecure, verify, forced_scheme, tried_http;
    char tls_dir[1400];         /* <certs.d>/<host> */
    reg_creds creds;
    char *auth_header;          /* "Authorization: ..." or NULL */
    char *identity_token;
    reg_req *pending;           /* the open's request in flight */
    bool closing;               /* being freed: a canceled request's callback leaves s alone */
    reg_session_ready cb;
    void *ctx;
};

static void ping(reg_session *s);

static void fail(reg_session *s, int code, const berr *e)
{
    s->pending = NULL;
    reg_session_ready cb = s->cb;
    void *ctx = s->ctx;
    reg_session_free(s);
    cb(ctx, NULL, code, e);
}

static void succeed(reg_session *s)
{
    s->pending = NULL;
    s->cb(s->ctx, s, 0, NULL);
}

void reg_error_text(const reg_resp *resp, char *out, size_t n)
{
    out[0] = 0;
    json_t *o = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    json_t *errs = json_object_get(o, "errors");
    size_t i;
    json_t *v;
    size_t off = 0;
    json_array_foreach(errs, i, v) {
        const char *code = json_string_value(json_object_get(v, "code"));
        const char *msg = json_string_value(json_object_get(v, "message"));
        char lower[64] = "";
        for (size_t k = 0; code && code[k] && k + 1 < sizeof lower; k++)
            lower[k] = code[k] == '_' ? ' ' : (char)tolower((unsigned char)code[k]);
        /* errcode.Error's "<code in words>: <message>" (Docker's wording). */
        int w = snprintf(out + off, n - off, "%s%s: %s", i ? ", " : "", lower, msg ? msg : "");
        if (w < 0 || (size_t)w >= n - off)
            break;
        off += (size_t)w;
    }
    json_decref(o);
}

static void token_done(void *ctx, reg_resp *resp)
{
    reg_session *s = ctx;
    if (s->closing)
        return;
    berr e = {0};
    if (resp->status < 0) {
        fail(s, resp->status, &resp->e);
        return;
    }
    if (resp->code != 200) {
        char text[400];
        reg_error_text(resp, text, sizeof text);
        if (!text[0]) {
            json_t *o = json_loadb(resp->body.data, resp->body.len, 0, NULL);
            const char *d = json_string_value(json_object_get(o, "details"));
            snprintf(text, sizeof text, "%s", d ? d : "");
            json_decref(o);
        }
        int code = resp->code == 401 || resp->code == 403 ? -EACCES : -EIO;
        if (text[0])
            berr_set(&e, code, "%s", text);
        else
            berr_set(&e, code, "unexpected status from token server: %ld", resp->code);
        fail(s, code, &e);
        return;
    }
    char *token, *refresh;
    if (reg_token_parse(resp->body.data, resp->body.len, &token, &refresh, &e) < 0) {
        fail(s, -EIO, &e);
        return;
    }
    free(s->auth_header);
    s->auth_header = xasprintf("Authorization: Bearer %s", token);
    free(token);
    if (refresh) {
        free(s->identity_token);
        s->identity_token = refresh;
    }
    succeed(s);
}

static void get_token(reg_session *s, const reg_challenge *c)
{
    if (s->creds.registrytoken[0]) {
        s->auth_header = xasprintf("Authorization: Bearer %s", s->creds.registrytoken);
        succeed(s);
        return;
    }
    const char *repo = s->has_repo ? s->repo : NULL;
    cleanup_free char *url = reg_token_url(c, repo, s->actions);
    reg_req_opts o = {.method = "GET", .url = url, .upload_fd = -1, .out_fd = -1, .insecure = s->insecure,
                      .tls_dir = s->tls_dir};
    char basic[1024];
    const char *hdrs[2] = {NULL, NULL};
    cleanup_free char *form = NULL;
    if (s->creds.identitytoken[0]) {
        /* OAuth refresh: POST the form the distribution client sends. */
        buf b = BUF_INIT;
        char *rt = curl_easy_escape(NULL, s->creds.identitytoken, 0), *svc = curl_easy_escape(NULL, c->service, 0);
        buf_printf(&b, "grant_type=refresh_token&refresh_token=%s&service=%s&client_id=docker", rt, svc);
        if (repo) {
            cleanup_free char *scope = xasprintf("repository:%s:%s", repo, s->actions);
            char *sc = curl_easy_escape(NULL, scope, 0);
            buf_printf(&b, "&scope=%s", sc);
            curl_free(sc);
        }
        curl_free(rt);
        curl_free(svc);
        form = buf_steal(&b);
        free(url);
        url = xstrdup(c->realm);
        o.url = url;
        o.method = "POST";
        o.body = form;
        o.body_len = strlen(form);
        hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
    } else if (s->creds.username[0]) {
        reg_basic_header(&s->creds, basic, sizeof basic);
        hdrs[0] = basic;
    }
    o.headers = hdrs;
    s->pending = reg_http_start(s->h, &o, token_done, s);
}

static void verify_done(void *ctx, reg_resp *resp)
{
    reg_session *s = ctx;
    if (s->closing)
        return;
    berr e = {0};
    if (resp->status < 0) {
        fail(s, resp->status, &resp->e);
        return;
    }
    if (resp->code != 200) {
        berr_set(&e, -EACCES, "login attempt to %s/v2/ failed with status: %ld %s", s->base, resp->code,
                 resp->code == 401 ? "Unauthorized" : resp->code == 403 ? "Forbidden" : "");
        fail(s, -EACCES, &e);
        return;
    }
    succeed(s);
}

static void ping_done(void *ctx, reg_resp *resp)
{
    reg_session *s = ctx;
    if (s->closing)
        return;
    s->pending = NULL;
    berr e = {0};
    if (resp->status < 0) {
        if (s->insecure && !s->forced_scheme && !s->tried_http) {
            /* https failed at the transport level: an insecure registry may speak http. */
            s->tried_http = true;
            snprintf(s->base, sizeof s->base, "http://%s", s->host);
            ping(s);
            return;
        }
        berr_set(&e, resp->status, "Get \"%s/v2/\": %s", s->base, resp->e.msg);
        fail(s, resp->status, &e);
        return;
    }
    if (resp->code == 200 && !(s->verify && !reg_creds_empty(&s->creds))) {
        succeed(s);
        return;
    }
    reg_challenge c;
    if (resp->code == 200 || resp->code == 401) {
        if (resp->code == 401 && reg_challenge_parse(resp->www_authenticate, &c) == 0) {
            if (strcmp(c.scheme, "bearer") == 0 && c.realm[0]) {
                get_token(s, &c);
                return;
            }
            if (strcmp(c.scheme, "basic") == 0) {
                if (!s->creds.username[0]) {
                    berr_set(&e, -EACCES, "no basic auth credentials");
                    fail(s, -EACCES, &e);
                    return;
                }
                {
                    char basic[1024];
                    reg_basic_header(&s->creds, basic, sizeof basic);
                    s->auth_header = xstrdup(basic);
                }
                if (!s->verify) {
                    succeed(s);
                    return;
                }
                const char *hdrs[] = {s->auth_header, NULL};
                cleanup_free char *url = reg_url(s->base[4] == 's' ? "https" : "http", s->host, NULL, NULL, NULL);
                reg_req_opts o = {.url = url, .headers = s->auth_header ? hdrs : NULL, .upload_fd = -1,
                                  .out_fd = -1, .insecure = s->insecure, .tls_dir = s->tls_dir};
                s->pending = reg_http_start(s->h, &o, verify_done, s);
                return;
            }
        }
        if (resp->code == 200) { /* a registry without auth accepts any login */
            succeed(s);
            return;
        }
        berr_set(&e, -EACCES, "unauthorized: the registry's challenge is not supported: %s",
                 resp->www_authenticate ? resp->www_authenticate : "(none)");
        fail(s, -EACCES, &e);
        return;
    }
    berr_set(&e, -EIO, "unexpected status from GET request to %s/v2/: %ld", s->base, resp->code);
    fail(s, -EIO, &e);
}

static void ping(reg_session *s)
{
    cleanup_free char *url = xasprintf("%s/v2/", s->base);
    reg_req_opts o = {.url = url, .upload_fd = -1, .out_fd = -1, .insecure = s->insecure,
                      .tls_dir = s->tls_dir};
    s->pending = reg_http_start(s->h, &o, ping_done, s);
}

reg_session *reg_session_open(reg_http *h, const reg_session_opts *o, reg_session_ready ready, void *ctx)
{
    reg_session *s = xcalloc(1, sizeof *s);
    s->h = h;
    s->cb = ready;
    s->ctx = ctx;
    snprintf(s->host, sizeof s->host, "%s", o->host);
    if (o->repo) {
        snprintf(s->repo, sizeof s->repo, "%s", o->repo);
        s->has_repo = true;
    }
    snprintf(s->actions, sizeof s->actions, "%s", o->actions ? o->actions : "pull");
    if (o->creds)
        s->creds = *o->creds;
    s->insecure = o->insecure;
    snprintf(s->tls_dir, sizeof s->tls_dir, "%s/%s", reg_http_certs_dir(h), s->host);
    s->verify = o->verify;
    s->forced_scheme = o->scheme != NULL;
    snprintf(s->base, sizeof s->base, "%s://%s", o->scheme ? o->scheme : "https", s->host);
    ping(s);
    return s;
}

void reg_session_free(reg_session *s)
{
    if (!s)
        return;
    if (s->pending) {
        /* The canceled request's callback sees closing and leaves s alone. */
        s->closing = true;
        reg_req *p = s->pending;
        s->pending = NULL;
        reg_http_cancel(p);
    }
    free(s->auth_header);
    free(s->identity_token);
    free(s);
}

char *reg_session_url(const reg_session *s, const char *p)
{
    if (strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0)
        return xstrdup(p);
    return xasprintf("%s%s%s", s->base, p[0] == '/' ? "" : "/", p);
}

const char *reg_session_base(const reg_session *s) { return s->base; }
const char *reg_session_repo(const reg_session *s) { return s->repo; }
const char *reg_session_identity_token(const reg_session *s) { return s->identity_token; }

reg_req *reg_session_request(reg_session *s, const reg_req_opts *o, reg_http_done done, void *ctx)
{
    size_t n = 0;
    while (o->headers && o->headers[n])
        n++;
    const char **hdrs = xcalloc(n + 2, sizeof *hdrs);
    for (size_t i = 0; i < n; i++)
        hdrs[i] = o->headers[i];
    if (s->auth_header)
        hdrs[n++] = s->auth_header;
    cleanup_free char *url = reg_session_url(s, o->url);
    reg_req_opts copy = *o;
    copy.url = url;
    copy.headers = hdrs;
    copy.insecure = s->insecure;
    copy.tls_dir = s->tls_dir;
    reg_req *r = reg_http_start(s->h, &copy, done, ctx);
    free(hdrs);
    return r;
}
