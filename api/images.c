/* Image endpoints that read or change metadata: list, inspect, history,
 * tag, delete, prune, and import (POST /images/create?fromSrc=- or a URL). */
#include <fnmatch.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/handlers.h"
#include "api/versions.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/jsonutil.h"
#include "lib/reference.h"
#include "lib/timefmt.h"
#include "node/daemon.h"
#include "runtime/image/config.h"
#include "runtime/image/store.h"
#include "runtime/registry/fetch.h"

static json_t *tags_json(const rt_image *img) { return json_strings(img->tags, img->n_tags); }
static json_t *digests_json(const rt_image *img) { return json_strings(img->digests, img->n_digests); }

/* ---- GET /images/json --------------------------------------------------- */

/* reference=PATTERN matches a name ("name:tag" or "name@digest") when it
 * matches the whole of it or its repository, with path.Match semantics
 * ('*' does not cross '/'), as moby's reference.FamiliarMatch. */
static bool reference_matches(json_t *pats, const char *ref)
{
    char name[REF_NAME_MAX + REF_TAG_MAX + 80];
    snprintf(name, sizeof name, "%s", ref);
    char *cut = strchr(name, '@');
    if (!cut) {
        cut = strrchr(name, ':');
        if (cut && strchr(cut, '/'))
            cut = NULL; /* a registry's port, not a tag */
    }
    size_t i;
    json_t *p;
    json_array_foreach(pats, i, p) {
        if (fnmatch(json_string_value(p), name, FNM_PATHNAME) == 0)
            return true;
        if (cut) {
            char c = *cut;
            *cut = 0;
            bool hit = fnmatch(json_string_value(p), name, FNM_PATHNAME) == 0;
            *cut = c;
            if (hit)
                return true;
        }
    }
    return false;
}

/* The names of img that the reference filter keeps: all of them without
 * one; with one, only those it matches (dockerd lists an image found by
 * one of its names with just the names that matched). */
static json_t *matching_names(json_t *pats, char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (!json_array_size(pats) || reference_matches(pats, names[i]))
            json_array_append_new(a, json_string(names[i]));
    return a;
}

/* before= / since= name an image: compare creation times. */
static int image_time_bound(api_request *r, json_t *f, const char *key, long long *out, berr *e)
{
    json_t *v = json_array_get(json_object_get(f, key), 0);
    if (!v)
        return 0;
    rt_image *img;
    int rc = rt_image_resolve(r->d->images, json_string_value(v), &img, e);
    if (rc < 0)
        return rc;
    *out = img->created;
    rt_image_free(img);
    return 1;
}

/* until= is a time, as dockerd takes it (timestamp, date or duration ago). */
static json_t *image_summary(api_request *r, const rt_image *img, json_t *tags, json_t *digests)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:O, s:I}", "Id", img->id, "ParentId", img->parent,
                          "RepoTags", tags, "RepoDigests", digests, "Created", (json_int_t)img->created, "Size",
                          (json_int_t)img->size, "SharedSize", (json_int_t)-1, "Labels", img->labels, "Containers",
                          (json_int_t)-1);
    if (api_has(r, API_IMAGE_VIRTUAL_SIZE))
        json_object_set_new(o, "VirtualSize", json_integer(img->size));
    return o;
}

void api_images_list(api_request *r)
{
    static const char *const allowed[] = {"dangling", "label", "reference", "before", "since", "until", NULL};
    berr e = {0};
    json_t *f = NULL;
    if (filters_parse(api_query(r, "filters"), allowed, &f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool dangling = false, want_dangling = filters_has(f, "dangling");
    long long before = 0, since = 0, until = 0;
    int hb = 0, hs = 0, hu = 0;
    if (filters_bool(f, "dangling", &dangling, &e) < 0 || (hb = image_time_bound(r, f, "before", &before, &e)) < 0 ||
        (hs = image_time_bound(r, f, "since", &since, &e)) < 0 || (hu = filters_until(f, &until, &e)) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    rt_image **imgs;
    size_t n;
    if (rt_images_list(r->d->images, &imgs, &n, &e) < 0) {
        json_decref(f);
        api_reply_berr(r, &e);
        return;
    }
    json_t *out = json_array();
    bool all = api_query_bool(r, "all", false);
    for (size_t i = 0; i < n; i++) {
        rt_image *img = imgs[i];
        if (want_dangling && (img->n_tags == 0) != dangling)
            continue;
        /* an image with no name and children is a build's intermediate: only with all=1, as dockerd */
        bool parent = false;
        for (size_t k = 0; k < n && !all && !img->n_tags && !img->n_digests && !parent; k++)
            parent = !strcmp(imgs[k]->parent, img->id);
        if (parent)
            continue;
        if (!filters_match_labels(f, "label", img->labels))
            continue;
        if ((hb && img->created >= before) || (hs && img->created <= since) || (hu && img->created >= until))
            continue;
        json_t *pats = json_object_get(f, "reference");
        json_t *tags = matching_names(pats, img->tags, img->n_tags);
        json_t *digests = matching_names(pats, img->digests, img->n_digests);
        if (json_array_size(pats) && !json_array_size(tags) && !json_array_size(digests)) {
            json_decref(tags);
            json_decref(digests);
            continue;
        }
        json_array_append_new(out, image_summary(r, img, tags, digests));
    }
    rt_images_free(imgs, n);
    json_decref(f);
    api_reply_json(r, 200, out);
}

/* ---- GET /images/{name}/json -------------------------------------------- */

static json_t *graph_driver(api_request *r, const rt_image *img)
{
    const rt_graphdriver *d = &r->d->driver;
    json_t *gd = json_pack("{s:s, s:n}", "Name", rt_driver_name(d), "Data");
    char **chains;
    long long *sizes;
    size_t n;
    berr e = {0};
    if (d->kind != RT_DRIVER_OVERLAY2 || rt_image_layers(r->d->images, img, &chains, &sizes, &n, &e) < 0 || !n)
        return gd;
    char top[PATH_MAX];
    rt_driver_layer_dir(d, chains[n - 1], top);
    buf lower = BUF_INIT;
    for (size_t i = n - 1; i-- > 0;) {
        char dir[PATH_MAX];
        rt_driver_layer_dir(d, chains[i], dir);
        buf_printf(&lower, "%s%s", lower.len ? ":" : "", dir);
    }
    json_t *data = json_pack("{s:s, s:s}", "UpperDir", top, "MergedDir", "");
    char *slash = strrchr(top, '/');
    if (slash) {
        strcpy(slash, "/merged");
        json_object_set_new(data, "MergedDir", json_string(top));
        strcpy(slash, "/work");
        json_object_set_new(data, "WorkDir", json_string(top));
    }
    if (lower.len)
        json_object_set_new(data, "LowerDir", json_string(lower.data));
    buf_free(&lower);
    json_object_set_new(gd, "Data", data);
    for (size_t i = 0; i < n; i++)
        free(chains[i]);
    free(chains);
    free(sizes);
    return gd;
}

static json_t *str_or_empty(json_t *config, const char *key)
{
    json_t *v = json_object_get(config, key);
    return json_is_string(v) ? json_incref(v) : json_string("");
}

void api_image_inspect(api_request *r)
{
    berr e = {0};
    rt_image *img;
    json_t *config;
    if (rt_image_resolve(r->d->images, r->params[0], &img, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (rt_image_config(r->d->images, img->id, &config, &e) < 0) {
        rt_image_free(img);
        api_reply_berr(r, &e);
        return;
    }
    json_t *cfg = json_object_get(config, "config");
    json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
    json_t *o = json_object();
    json_object_set_new(o, "Id", json_string(img->id));
    json_object_set_new(o, "RepoTags", tags_json(img));
    json_object_set_new(o, "RepoDigests", digests_json(img));
    json_object_set_new(o, "Parent", json_string(img->parent));
    json_object_set_new(o, "Comment", str_or_empty(config, "comment"));
    json_object_set_new(o, "Created", str_or_empty(config, "created"));
    if (api_has(r, API_IMAGE_CONTAINER_CONFIG)) {
        /* What the legacy builder and commit record: the container the
         * image was made from and its config (null when none was). */
        json_t *cc = json_object_get(config, "container_config");
        json_object_set_new(o, "Container", str_or_empty(config, "container"));
        json_object_set_new(o, "ContainerConfig", json_is_object(cc) ? json_incref(cc) : json_null());
    }
    json_object_set_new(o, "DockerVersion", str_or_empty(config, "docker_version"));
    json_object_set_new(o, "Author", str_or_empty(config, "author"));
    json_object_set_new(o, "Config", json_is_object(cfg) ? json_incref(cfg) : json_object());
    json_object_set_new(o, "Architecture", str_or_empty(config, "architecture"));
    if (json_is_string(json_object_get(config, "variant")))
        json_object_set(o, "Variant", json_object_get(config, "variant"));
    json_object_set_new(o, "Os", str_or_empty(config, "os"));
    json_object_set_new(o, "Size", json_integer(img->size));
    if (api_has(r, API_IMAGE_VIRTUAL_SIZE))
        json_object_set_new(o, "VirtualSize", json_integer(img->size));
    json_object_set_new(o, "GraphDriver", graph_driver(r, img));
    json_object_set_new(o, "RootFS", json_pack("{s:s, s:O}", "Type", "layers", "Layers",
                                               json_is_array(diff_ids) ? diff_ids : json_array()));
    json_object_set_new(o, "Metadata", json_pack("{s:s}", "LastTagTime",
                                                 img->last_tag_time[0] ? img->last_tag_time : "0001-01-01T00:00:00Z"));
    json_decref(config);
    rt_image_free(img);
    api_reply_json(r, 200, o);
}

/* ---- GET /images/{name}/history ----------------------------------------- */

void api_image_history(api_request *r)
{
    berr e = {0};
    rt_image *img;
    json_t *config;
    if (rt_image_resolve(r->d->images, r->params[0], &img, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    char **chains = NULL;
    long long *sizes = NULL;
    size_t n = 0;
    if (rt_image_config(r->d->images, img->id, &config, &e) < 0 ||
        rt_image_layers(r->d->images, img, &chains, &sizes, &n, &e) < 0) {
        rt_image_free(img);
        api_reply_berr(r, &e);
        return;
    }
    json_t *hist = json_object_get(config, "history");
    json_t *out = json_array();
    size_t layer = 0;
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h) {
        bool empty = json_is_true(json_object_get(h, "empty_layer"));
        long long size = (!empty && layer < n) ? sizes[layer++] : 0;
        const char *created = json_string_value(json_object_get(h, "created"));
        const char *by = json_string_value(json_object_get(h, "created_by"));
        const char *comment = json_string_value(json_object_get(h, "comment"));
        json_array_insert_new(out, 0, json_pack("{s:s, s:I, s:s, s:[], s:I, s:s}", "Id", "<missing>", "Created",
                                                (json_int_t)(created ? time_parse_rfc3339(created) : 0), "CreatedBy",
                                                by ? by : "", "Tags", "Size", (json_int_t)size, "Comment",
                                                comment ? comment : ""));
    }
    /* The newest entry is the image itself. */
    json_t *top = json_array_get(out, 0);
    if (top) {
        json_object_set_new(top, "Id", json_string(img->id));
        json_object_set_new(top, "Tags", tags_json(img));
    }
    for (size_t k = 0; k < n; k++)
        free(chains[k]);
    free(chains);
    free(sizes);
    json_decref(config);
    rt_image_free(img);
    api_reply_json(r, 200, out);
}

/* ---- POST /images/{name}/tag -------------------------------------------- */

void api_image_tag(api_request *r)
{
    berr e = {0};
    const char *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
    image_ref ref;
    if (!repo || !*repo) {
        api_reply_error(r, -EINVAL, "repository name must have at least one component");
        return;
    }
    if (ref_parse_name(repo, &ref, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    if (tag && *tag) {
        if (!ref_tag_valid(tag)) {
            char msg[300];
            snprintf(msg, sizeof msg, "invalid tag format");
            api_reply_error(r, -EINVAL, msg);
            return;
        }
        snprintf(ref.tag, sizeof ref.tag, "%s", tag);
    }
    ref_default_tag(&ref);
    rt_image *img;
    if (rt_image_resolve(r->d->images, r->params[0], &img, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    char text[REF_NAME_MAX + REF_TAG_MAX + 2], old[DIGEST_BUF];
    ref_format(&ref, text, sizeof text);
    int rc = rt_image_tag(r->d->images, img->id, text, old, &e);
    rt_image_free(img);
    if (rc < 0)
        api_reply_berr(r, &e);
    else
        api_reply_empty(r, 201);
}

/* ---- DELETE /images/{name} and POST /images/prune ------------------------ */

void api_image_delete(api_request *r)
{
    berr e = {0};
    json_t *report = json_array();
    if (rt_image_delete(r->d->images, r->params[0], api_query_bool(r, "force", false),
                        api_query_bool(r, "noprune", false), report, &e) < 0) {
        json_decref(report);
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, report);
}

typedef struct prune_filter {
    json_t *f;
    long long until;
} prune_filter;

/* Prune keeps what the filters exclude: label, label!, until. */
static bool prune_keep(void *ctx, const rt_image *img)
{
    prune_filter *pf = ctx;
    if (!filters_match_labels(pf->f, "label", img->labels))
        return true;
    if (filters_match_any_label(pf->f, "label!", img->labels))
        return true;
    return pf->until && img->created >= pf->until;
}

void api_images_prune(api_request *r)
{
    static const char *const allowed[] = {"dangling", "label", "label!", "until", NULL};
    berr e = {0};
    prune_filter pf = {0};
    if (filters_parse(api_query(r, "filters"), allowed, &pf.f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    bool dangling = true;
    int rc = filters_bool(pf.f, "dangling", &dangling, &e);
    if (rc == 0)
        rc = filters_until(pf.f, &pf.until, &e) < 0 ? -EINVAL : 0;
    json_t *report = json_array();
    long long reclaimed = 0;
    if (rc == 0)
        rc = rt_images_prune(r->d->images, !dangling, prune_keep, &pf, report, &reclaimed, &e);
    json_decref(pf.f);
    if (rc < 0) {
        json_decref(report);
        api_reply_berr(r, &e);
        return;
    }
    json_t *o = json_pack("{s:o, s:I}", "ImagesDeleted", json_array_size(report) ? report : json_null(),
                          "SpaceReclaimed", (json_int_t)reclaimed);
    if (!json_array_size(report))
        json_decref(report);
    api_reply_json(r, 200, o);
}

/* ---- POST /images/create (import) ----------------------------------------- */

/* An import: the archive (the body, or a file fetched from fromSrc's URL)
 * and what the image is made with. */
typedef struct import_job {
    api_request *r;
    char fetched[PATH_MAX];      /* the URL's download, removed at the end ("" for the body) */
    json_t *config;
    char *comment;
    char ref[REF_NAME_MAX + REF_TAG_MAX + 2];
} import_job;

static void import_done(void *arg, int status, const berr *e, const char *image_id)
{
    import_job *j = arg;
    api_request *r = j->r;
    if (j->fetched[0])
        unlink(j->fetched);
    free(j->comment);
    free(j);
    if (status < 0) {
        api_reply_berr(r, e);
        return;
    }
    char *line = xasprintf("{\"status\":\"%s\"}\r\n", image_id);
    api_reply_text(r, 200, "application/json", line, strlen(line));
}

static void import_start(import_job *j, const char *tar_path)
{
    rt_images_import(j->r->d->images, tar_path, j->config, j->comment, j->ref, import_done, j);
}

static void import_fetched(void *arg, int status, const berr *e, time_t mtime)
{
    (void)mtime;
    import_job *j = arg;
    if (status < 0) {
        json_decref(j->config);
        unlink(j->fetched);
        j->fetched[0] = 0;
        import_done(j, status, e, NULL);
        return;
    }
    import_start(j, j->fetched);
}

void api_image_create(api_request *r)
{
    const char *from_image = api_query(r, "fromImage"), *from_src = api_query(r, "fromSrc");
    if (from_image && *from_image) {
        api_image_pull(r);
        return;
    }
    if (!from_src || !*from_src) {
        api_reply_error(r, -EINVAL, "fromImage or fromSrc is required");
        return;
    }
    berr e = {0};
    char text[REF_NAME_MAX + REF_TAG_MAX + 2] = "";
    const char *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
    if (repo && *repo) {
        image_ref ref;
        if (ref_parse(repo, &ref, &e) < 0) {
            api_reply_berr(r, &e);
            return;
        }
        if (tag && *tag) {
            if (!ref_tag_valid(tag)) {
                api_reply_error(r, -EINVAL, "invalid tag format");
                return;
            }
            snprintf(ref.tag, sizeof ref.tag, "%s", tag);
        }
        ref_default_tag(&ref);
        ref_format(&ref, text, sizeof text);
    }
    size_t n;
    const char **changes = api_query_all(r, "changes", &n);
    json_t *config = json_object();
    int rc = image_config_apply_changes(config, changes, n, &e);
    free(changes);
    if (rc < 0) {
        json_decref(config);
        api_reply_berr(r, &e);
        return;
    }
    const char *message = api_query(r, "message");
    import_job *j = xcalloc(1, sizeof *j);
    j->r = r;
    j->config = config;
    snprintf(j->ref, sizeof j->ref, "%s", text);
    if (!strcmp(from_src, "-")) {
        j->comment = (message && *message) ? xstrdup(message) : xstrdup("Imported from -");
        import_start(j, r->body_path);
        return;
    }
    /* a URL, http:// when it names no scheme, as dockerd reads it */
    cleanup_free char *url = strstr(from_src, "://") ? xstrdup(from_src) : xasprintf("http://%s", from_src);
    j->comment = (message && *message) ? xstrdup(message) : xasprintf("Imported from %s", url);
    if (!reg_fetch_to_temp(r->d->registry, url, r->d->tmp_dir, "import-", j->fetched, sizeof j->fetched,
                           import_fetched, j, &e)) {
        json_decref(config);
        free(j->comment);
        free(j);
        api_reply_berr(r, &e);
    }
}
