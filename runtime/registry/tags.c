/* Listing a repository's tags (see tags.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/reference.h"
#include "runtime/registry/session.h"
#include "runtime/registry/tags.h"

typedef struct tags_job {
    reg_name name;
    char familiar[REG_HOST_MAX + REG_REPO_MAX];
    reg_creds creds;
    reg_session *sess;
    reg_tags_done done;
    void *ctx;
} tags_job;

static void finish(tags_job *j, int status, const berr *e, const char *const *tags, size_t n)
{
    j->done(j->ctx, status, e, tags, n);
    reg_session_free(j->sess);
    free(j);
}

static void list_done(void *ctx, reg_resp *resp)
{
    tags_job *j = ctx;
    berr e = {0};
    if (resp->status < 0) {
        finish(j, resp->status, &resp->e, NULL, 0);
        return;
    }
    if (resp->code != 200) {
        char text[300];
        reg_error_text(resp, text, sizeof text);
        int code = resp->code == 404 || resp->code == 401 || resp->code == 403 ? -ENOENT : -EIO;
        berr_set(&e, code, "%s", text[0] ? text : "unexpected HTTP status listing tags");
        if (code == -ENOENT)
            berr_set(&e, code, "pull access denied for %s, repository does not exist or may require 'docker login': %s",
                     j->familiar, text[0] ? text : "not found");
        finish(j, code, &e, NULL, 0);
        return;
    }
    json_t *o = json_loadb(resp->body.data, resp->body.len, 0, NULL);
    json_t *arr = json_object_get(o, "tags");
    size_t n = json_array_size(arr), k = 0;
    const char **tags = xcalloc(n + 1, sizeof *tags);
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_array_get(arr, i));
        if (t && ref_tag_valid(t))
            tags[k++] = t;
    }
    finish(j, 0, NULL, tags, k);
    free(tags);
    json_decref(o);
}

static void ready(void *ctx, reg_session *s, int status, const berr *e)
{
    tags_job *j = ctx;
    j->sess = s;
    if (status < 0) {
        finish(j, status, e, NULL, 0);
        return;
    }
    cleanup_free char *url = xasprintf("/v2/%s/tags/list?n=10000", j->name.repo);
    reg_req_opts o = {.url = url, .upload_fd = -1, .out_fd = -1, .max_body = 4u << 20};
    reg_session_request(s, &o, list_done, j);
}

void reg_tags_list(reg_http *h, const char *familiar, const reg_creds *creds, const reg_options *options,
                   reg_tags_done done, void *ctx)
{
    tags_job *j = xcalloc(1, sizeof *j);
    j->done = done;
    j->ctx = ctx;
    snprintf(j->familiar, sizeof j->familiar, "%s", familiar);
    if (creds)
        j->creds = *creds;
    berr e = {0};
    if (reg_name_split(familiar, &j->name, &e) < 0) {
        free(j);
        done(ctx, e.code, &e, NULL, 0);
        return;
    }
    reg_session_opts so = {.host = j->name.host,
                           .repo = j->name.repo,
                           .actions = "pull",
                           .creds = &j->creds,
                           .insecure = reg_host_insecure(options, j->name.host)};
    j->sess = reg_session_open(h, &so, ready, j);
}
