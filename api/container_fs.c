/* A container's filesystem over the API: the archive endpoints behind
 * `docker cp` (HEAD, GET, PUT /containers/{id}/archive), export, changes
 * (`docker diff`) and POST /commit. */
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "lib/cleanup.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "runtime/image/commit.h"
#include "runtime/container/fs.h"

static rt_containers *mgr(api_request *r) { return &r->d->containers; }

static rt_container *target(api_request *r) { return api_container_target(r); }

/* The path query parameter, or a 400 reply (dockerd checks it before it
 * looks the container up). */
static const char *archive_path(api_request *r)
{
    const char *path = api_query(r, "path");
    if (!path || !*path) {
        api_reply_error(r, -EINVAL, "path is required");
        return NULL;
    }
    return path;
}

/* X-Docker-Container-Path-Stat: base64 of the stat's JSON. */
static void add_stat_header(struct MHD_Response *resp, const rt_path_stat *st)
{
    json_t *j = rt_path_stat_json(st);
    cleanup_free char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t len = strlen(text);
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    cleanup_free char *b64 = xmalloc(n);
    sodium_bin2base64(b64, n, (const unsigned char *)text, len, sodium_base64_VARIANT_ORIGINAL);
    MHD_add_response_header(resp, "X-Docker-Container-Path-Stat", b64);
}

/* ---- HEAD /containers/{id}/archive ----------------------------------------- */

static void stat_done(void *arg, rt_fs_result *res)
{
    api_request *r = arg;
    if (res->status < 0) {
        api_reply_berr(r, &res->e);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    add_stat_header(resp, &res->stat);
    api_reply_response(r, 200, resp);
}

void api_container_archive_head(api_request *r)
{
    const char *path = archive_path(r);
    rt_container *c = path ? target(r) : NULL;
    if (c)
        rt_container_stat_path(mgr(r), c, r->params[0], path, stat_done, r);
}

/* ---- GET /containers/{id}/archive ------------------------------------------ */

static void get_done(void *arg, rt_fs_result *res)
{
    api_request *r = arg;
    if (res->status < 0) {
        api_reply_berr(r, &res->e);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)res->len, res->fd);
    if (!resp) {
        api_reply_error(r, -EIO, "could not send the response");
        return;
    }
    res->fd = -1;   /* the response closes it */
    MHD_add_response_header(resp, "Content-Type", "application/x-tar");
    add_stat_header(resp, &res->stat);
    api_reply_response(r, 200, resp);
}

void api_container_archive_get(api_request *r)
{
    const char *path = archive_path(r);
    rt_container *c = path ? target(r) : NULL;
    if (c)
        rt_container_archive_get(mgr(r), c, r->params[0], path, get_done, r);
}

/* ---- PUT /containers/{id}/archive ------------------------------------------ */

static void put_done(void *arg, rt_fs_result *res)
{
    api_request *r = arg;
    if (res->status < 0)
        api_reply_berr(r, &res->e);
    else
        api_reply_empty(r, 200);
}

void api_container_archive_put(api_request *r)
{
    const char *path = archive_path(r);
    rt_container *c = path ? target(r) : NULL;
    if (!c)
        return;
    if (!r->body_path) {
        api_reply_error(r, -EINVAL, "the request carried no archive");
        return;
    }
    /* The request (and its spooled body) lives until the reply. */
    rt_container_archive_put(mgr(r), c, r->params[0], path, r->body_path,
                             api_query_bool(r, "noOverwriteDirNonDir", false), api_query_bool(r, "copyUIDGID", false),
                             put_done, r);
}

/* ---- GET /containers/{id}/export ------------------------------------------- */

static void export_done(void *arg, rt_fs_result *res)
{
    api_request *r = arg;
    if (res->status < 0) {
        api_reply_berr(r, &res->e);
        return;
    }
    api_reply_fd(r, 200, "application/octet-stream", res->fd, res->len);
    res->fd = -1;
}

void api_container_export(api_request *r)
{
    rt_container *c = target(r);
    if (c)
        rt_container_export(mgr(r), c, export_done, r);
}

/* ---- GET /containers/{id}/changes ------------------------------------------ */

static void changes_done(void *arg, rt_fs_result *res)
{
    api_request *r = arg;
    if (res->status < 0) {
        api_reply_berr(r, &res->e);
        return;
    }
    /* dockerd sends null, not [], when nothing changed. */
    json_t *out = res->n_changes ? json_array() : json_null();
    for (size_t i = 0; i < res->n_changes; i++)
        json_array_append_new(out, json_pack("{s:s, s:i}", "Path", res->changes[i].path, "Kind",
                                             (int)res->changes[i].kind));
    api_reply_json(r, 200, out);
}

void api_container_changes(api_request *r)
{
    rt_container *c = target(r);
    if (c)
        rt_container_changes(mgr(r), c, changes_done, r);
}

/* ---- POST /commit ---------------------------------------------------------- */

static void commit_done(void *arg, int status, const berr *e, const char *image_id)
{
    api_request *r = arg;
    if (status < 0)
        api_reply_berr(r, e);
    else
        api_reply_json(r, 201, json_pack("{s:s}", "Id", image_id));
}

/* repo and tag as dockerd's RepoTagReference reads them; *out "" for none. */
static int commit_ref(api_request *r, char *out, size_t n, berr *e)
{
    const char *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
    out[0] = 0;
    if (!repo || !*repo)
        return 0;
    image_ref ref;
    int rc = ref_parse(repo, &ref, e);
    if (rc < 0)
        return rc;
    if (ref.digest[0])
        return berr_set(e, -EINVAL, "cannot commit to digest reference");
    if (tag && *tag) {
        if (!ref_tag_valid(tag))
            return berr_set(e, -EINVAL, "invalid tag format");
        snprintf(ref.tag, sizeof ref.tag, "%s", tag);
    }
    ref_default_tag(&ref);
    ref_format(&ref, out, n);
    return 0;
}

void api_commit(api_request *r)
{
    berr e = {0};
    json_t *body = NULL;
    rt_container *c;
    char ref[REF_NAME_MAX + REF_TAG_MAX + 2];
    const char *name = api_query(r, "container");
    if (api_body_json(r, &body, &e) < 0 || commit_ref(r, ref, sizeof ref, &e) < 0 ||
        rt_container_find(mgr(r), name ? name : "", &c, &e) < 0) {
        json_decref(body);
        api_reply_berr(r, &e);
        return;
    }
    if (body && !json_is_object(body) && !json_is_null(body)) {
        json_decref(body);
        api_reply_error(r, -EINVAL, "invalid JSON: the body must be a container config object");
        return;
    }
    size_t n;
    const char **changes = api_query_all(r, "changes", &n);
    rt_commit_opts o = {
        .ref = ref,
        .comment = api_query(r, "comment"),
        .author = api_query(r, "author"),
        .pause = api_query_bool(r, "pause", true),
        .config = json_is_object(body) ? body : NULL,
        .changes = changes,
        .n_changes = n,
    };
    int rc = rt_container_commit(mgr(r), c, &o, commit_done, r, &e);
    free(changes);
    json_decref(body);
    if (rc < 0)
        api_reply_berr(r, &e);
}
