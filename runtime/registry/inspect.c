/* Distribution inspect (see inspect.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "runtime/registry/inspect.h"
#include "runtime/registry/manifest.h"
#include "runtime/registry/session.h"

typedef struct inspect {
    reg_name name;
    char ref[DIGEST_BUF + 8];
    char text[REG_HOST_MAX + REG_REPO_MAX + DIGEST_BUF];  /* for errors */
    reg_creds creds;
    reg_session *sess;
    json_t *result;
    reg_inspect_done done;
    void *ctx;
} inspect;

static void finish(inspect *in, int status, const berr *e)
{
    in->done(in->ctx, status, e, status == 0 ? in->result : NULL);
    json_decref(in->result);
    reg_session_free(in->sess);
    free(in);
}

static void failf(inspect *in, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void failf(inspect *in, int code, const char *fmt, ...)
{
    berr e = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    e.code = code;
    finish(in, code, &e);
}

static json_t *platform_json(const char *os, const char *arch, const char *variant)
{
    json_t *p = json_pack("{s:s, s:s}", "architecture", arch ? arch : "", "os", os ? os : "");
    if (variant && *variant)
        json_object_set_new(p, "variant", json_string(variant));
    return p;
}

static bool http_failed(inspect *in, reg_resp *resp, const char *what)
{
    if (resp->status < 0) {
        failf(in, resp->status, "%s", resp->e.msg);
        return true;
    }
    if (resp->code == 200)
        return false;
    char text[300];
    reg_error_text(resp, text, sizeof text);
    if (resp->code == 404)
        failf(in, -ENOENT, "%s for %s not found: %s", what, in->text, text[0] ? text : "not found");
    else
        failf(in, resp->code == 401 || resp->code == 403 ? -EACCES : -EIO, "%s",
              text[0] ? text : "unexpected HTTP status");
    return true;
}

static void config_done(void *ctx, reg_resp *resp)
{
    inspect *in = ctx;
    if (http_failed(in, resp, "image config"))
        return;
    json_t *cfg = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    json_array_append_new(json_object_get(in->result, "Platforms"),
                          platform_json(json_string_value(json_object_get(cfg, "os")),
                                        json_string_value(json_object_get(cfg, "architecture")),
                                        json_string_value(json_object_get(cfg, "variant"))));
    json_decref(cfg);
    finish(in, 0, NULL);
}

static void manifest_done(void *ctx, reg_resp *resp)
{
    inspect *in = ctx;
    if (http_failed(in, resp, "manifest"))
        return;
    berr e = {0};
    reg_manifest m;
    if (reg_manifest_parse(resp->content_type, resp->body.data, resp->body.len, in->text, &m, &e) < 0) {
        finish(in, e.code, &e);
        return;
    }
    char digest[DIGEST_BUF];
    digest_mem(resp->body.data, resp->body.len, digest);
    json_t *platforms = json_array();
    in->result = json_pack("{s:{s:s, s:s, s:I}, s:o}", "Descriptor", "mediaType", m.media_type, "digest", digest,
                           "size", (json_int_t)resp->body.len, "Platforms", platforms);
    if (m.is_index) {
        for (size_t i = 0; i < m.n_manifests; i++)
            json_array_append_new(platforms, platform_json(m.manifests[i].platform.os, m.manifests[i].platform.arch,
                                                           m.manifests[i].platform.variant));
        reg_manifest_free(&m);
        finish(in, 0, NULL);
        return;
    }
    cleanup_free char *url = reg_url("x", "x", in->name.repo, "blobs", m.config.digest);
    reg_manifest_free(&m);
    reg_req_opts o = {.url = strstr(url, "/v2/"), .upload_fd = -1, .out_fd = -1, .follow = true,
                      .max_body = 8u << 20};
    reg_session_request(in->sess, &o, config_done, in);
}

static void ready(void *ctx, reg_session *s, int status, const berr *e)
{
    inspect *in = ctx;
    in->sess = s;
    if (status < 0) {
        finish(in, status, e);
        return;
    }
    cleanup_free char *url = reg_url("x", "x", in->name.repo, "manifests", in->ref);
    const char *hdrs[] = {REG_MANIFEST_ACCEPT, NULL};
    reg_req_opts o = {.url = strstr(url, "/v2/"), .headers = hdrs, .upload_fd = -1, .out_fd = -1,
                      .max_body = REG_MANIFEST_MAX};
    reg_session_request(s, &o, manifest_done, in);
}

void reg_inspect_start(reg_http *h, const reg_inspect_opts *o, reg_inspect_done done, void *ctx)
{
    inspect *in = xcalloc(1, sizeof *in);
    in->done = done;
    in->ctx = ctx;
    in->creds = o->creds;
    snprintf(in->ref, sizeof in->ref, "%s", o->ref);
    snprintf(in->text, sizeof in->text, "%s%s%s", o->familiar, strncmp(o->ref, "sha256:", 7) == 0 ? "@" : ":", o->ref);
    berr e = {0};
    if (reg_name_split(o->familiar, &in->name, &e) < 0) {
        free(in);
        done(ctx, e.code, &e, NULL);
        return;
    }
    reg_session_opts so = {.host = in->name.host,
                           .repo = in->name.repo,
                           .actions = "pull",
                           .creds = &in->creds,
                           .insecure = reg_host_insecure(o->options, in->name.host)};
    in->sess = reg_session_open(h, &so, ready, in);
}
