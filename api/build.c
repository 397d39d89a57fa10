/* POST /build (the classic builder's API: a tar context in, a JSON-lines
 * stream out), POST /build/cancel and POST /build/prune. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/build_pull.h"
#include "api/handlers.h"
#include "api/stream.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/fsutil.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "runtime/build/builder.h"
#include "runtime/build/gitctx.h"
#include "runtime/registry/fetch.h"

typedef struct build_req {
    api_request *r;
    api_stream *s;               /* started with the first line */
    rt_build *b;
    bool quiet;
    bool gone;
    char aux_id[DIGEST_BUF];
    char *build_id;              /* the buildid parameter, or NULL */
    char fetched[PATH_MAX];      /* remote='s download, removed with the request ("" for the body) */
    build_puller puller;         /* FROM images it pulls */
    struct build_req *next;      /* in `running` when build_id is set */
} build_req;

/* The builds that gave a buildid, for POST /build/cancel.  One daemon per
 * process, all on the loop: a plain list is enough. */
static build_req *running;

static void unregister(build_req *q)
{
    for (build_req **p = &running; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    free(q->build_id);
}

static void req_free(build_req *q)
{
    unregister(q);
    if (q->fetched[0])
        unlink(q->fetched);
    free(q);
}

static void on_gone(void *ctx)
{
    build_req *q = ctx;
    q->gone = true;
    q->s = NULL;
    if (q->b)
        rt_build_cancel(q->b);   /* no callbacks after this */
    req_free(q);
}

static void ensure_stream(build_req *q)
{
    if (!q->s)
        q->s = api_reply_stream(q->r, 200, "application/json", on_gone, q);
}

static void out_cb(void *ctx, const char *text)
{
    build_req *q = ctx;
    if (q->quiet)
        return;
    ensure_stream(q);
    api_stream_json(q->s, json_pack("{s:s}", "stream", text));
}

/* A FROM pull's progress message; -q shows none, as dockerd. */
static void pull_msg(void *ctx, json_t *msg)
{
    build_req *q = ctx;
    if (q->quiet) {
        json_decref(msg);
        return;
    }
    ensure_stream(q);
    api_stream_json(q->s, msg);
}

static void aux_cb(void *ctx, const char *id)
{
    build_req *q = ctx;
    snprintf(q->aux_id, sizeof q->aux_id, "%s", id);
    if (q->quiet)
        return;
    ensure_stream(q);
    api_stream_json(q->s, json_pack("{s:{s:s}}", "aux", "ID", id));
}

static void done_cb(void *ctx, int status, const berr *e, const char *id)
{
    build_req *q = ctx;
    if (status < 0 && !q->s) {
        /* nothing sent yet: a plain error reply, as dockerd gives before its stream starts */
        api_reply_berr(q->r, e);
        req_free(q);
        return;
    }
    ensure_stream(q);
    if (status < 0) {
        int code = rt_build_exit_code(q->b);
        json_t *detail = json_pack("{s:s}", "message", e->msg);
        if (code)
            json_object_set_new(detail, "code", json_integer(code));
        api_stream_json(q->s, json_pack("{s:o, s:s}", "errorDetail", detail, "error", e->msg));
    } else if (q->quiet) {
        char line[DIGEST_BUF + 2];
        snprintf(line, sizeof line, "%s\n", id);
        api_stream_json(q->s, json_pack("{s:{s:s}}", "aux", "ID", id));
        api_stream_json(q->s, json_pack("{s:s}", "stream", line));
    }
    api_stream_end(q->s);
    req_free(q);
}

/* A JSON object query parameter (buildargs, labels): absent is NULL. */
static int query_object(api_request *r, const char *name, json_t **out, berr *e)
{
    *out = NULL;
    const char *v = api_query(r, name);
    if (!v || !*v)
        return 0;
    json_error_t je;
    json_t *o = json_loads(v, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return berr_set(e, -EINVAL, "invalid %s parameter: %s", name, v);
    }
    *out = o;
    return 0;
}

/* The RUN containers' HostConfig from the query. */
static int host_config(api_request *r, json_t **out, berr *e)
{
    json_t *hc = json_object();
    const char *nm = api_query(r, "networkmode");
    if (nm && *nm && strcmp(nm, "default"))
        json_object_set_new(hc, "NetworkMode", json_string(nm));
    static const char *const ints[][2] = {{"shmsize", "ShmSize"}, {"memory", "Memory"},
                                          {"memswap", "MemorySwap"}, {"cpushares", "CpuShares"},
                                          {"cpuperiod", "CpuPeriod"}, {"cpuquota", "CpuQuota"}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        const char *v = api_query(r, ints[i][0]);
        if (!v || !*v)
            continue;
        char *end;
        long long n = strtoll(v, &end, 10);
        if (*end) {
            json_decref(hc);
            return berr_set(e, -EINVAL, "invalid %s: %s", ints[i][0], v);
        }
        if (n)
            json_object_set_new(hc, ints[i][1], json_integer(n));
    }
    const char *cpus = api_query(r, "cpusetcpus");
    if (cpus && *cpus)
        json_object_set_new(hc, "CpusetCpus", json_string(cpus));
    size_t n = 0;
    const char **hosts = api_query_all(r, "extrahosts", &n);
    if (n) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_string(hosts[i]));
        json_object_set_new(hc, "ExtraHosts", a);
    }
    free(hosts);
    const char *ul = api_query(r, "ulimits");
    if (ul && *ul) {
        json_t *a = json_loads(ul, 0, NULL);
        if (!json_is_array(a)) {
            json_decref(a);
            json_decref(hc);
            return berr_set(e, -EINVAL, "invalid ulimits parameter: %s", ul);
        }
        if (json_array_size(a))
            json_object_set_new(hc, "Ulimits", a);
        else
            json_decref(a);
    }
    *out = hc;
    return 0;
}

/* Starts the build of the context at context_path (the body, or the
 * download of remote=; fetched: remove it when the build ends). */
static void build_begin(api_request *r, const char *context_path, bool fetched)
{
    berr e = {0};
    size_t n_tags = 0;
    const char **tags = api_query_all(r, "t", &n_tags);
    char **norm = xcalloc(n_tags + 1, sizeof *norm);
    int rc = 0;
    for (size_t i = 0; i < n_tags && rc == 0; i++) {
        image_ref ref;
        rc = ref_parse(tags[i], &ref, &e);
        if (rc == 0 && ref.digest[0])
            rc = berr_set(&e, -EINVAL, "invalid reference format: a build tag cannot have a digest");
        if (rc == 0) {
            ref_default_tag(&ref);
            char out[REF_NAME_MAX + REF_TAG_MAX + 2];
            ref_format(&ref, out, sizeof out);
            norm[i] = xstrdup(out);
        }
    }
    free(tags);
    json_t *buildargs = NULL, *labels = NULL, *hc = NULL;
    if (rc == 0)
        rc = query_object(r, "buildargs", &buildargs, &e);
    if (rc == 0)
        rc = query_object(r, "labels", &labels, &e);
    if (rc == 0)
        rc = host_config(r, &hc, &e);
    if (rc == 0) {
        build_req *q = xcalloc(1, sizeof *q);
        q->r = r;
        if (fetched)
            snprintf(q->fetched, sizeof q->fetched, "%s", context_path);
        q->quiet = api_query_bool(r, "q", false);
        q->puller = (build_puller){.r = r, .emit = pull_msg, .emit_ctx = q};
        rt_build_opts o = {
            .context_tar = context_path,
            .dockerfile = api_query(r, "dockerfile"),
            .target = api_query(r, "target"),
            .build_args = buildargs,
            .labels = labels,
            .tags = (const char *const *)norm,
            .n_tags = n_tags,
            .no_cache = api_query_bool(r, "nocache", false),
            .rm = api_query_bool(r, "rm", true),
            .force_rm = api_query_bool(r, "forcerm", false),
            .host_config = hc,
            .tmp_dir = r->d->tmp_dir,
            .pull = api_query_bool(r, "pull", false),
            .puller = build_puller_for(&q->puller),
            .http = r->d->registry,
        };
        rt_build_cb cb = {.out = out_cb, .aux = aux_cb, .done = done_cb, .ctx = q};
        q->b = rt_build_start(&r->d->containers, &o, cb);   /* callbacks come later, from the loop */
        const char *bid = api_query(r, "buildid");
        if (bid && *bid) {
            q->build_id = xstrdup(bid);
            q->next = running;
            running = q;
        }
    } else {
        if (fetched)
            unlink(context_path);
        api_reply_berr(r, &e);
    }
    for (size_t i = 0; i < n_tags; i++)
        free(norm[i]);
    free(norm);
    json_decref(buildargs);
    json_decref(labels);
    json_decref(hc);
}

typedef struct remote_fetch {
    uv_work_t work;              /* a git clone's */
    api_request *r;
    char path[PATH_MAX];         /* the context: the download, or the clone's tar */
    char dir[PATH_MAX];          /* the clone's working directory */
    char *url;
    int status;
    berr e;
} remote_fetch;

static void git_work(uv_work_t *w)
{
    remote_fetch *f = w->data;
    if (!mkdtemp(f->dir)) {
        f->status = berr_sys(&f->e, -errno, "create %s", f->dir);
        f->dir[0] = 0;
        return;
    }
    snprintf(f->path, sizeof f->path, "%s/context.tar", f->dir);
    f->status = bc_git_context(f->url, f->dir, f->path, &f->e);
    if (f->status == 0) {
        /* the tar alone stays, beside the directory, until the build ends */
        char tar[PATH_MAX];
        snprintf(tar, sizeof tar, "%s.tar", f->dir);
        if (rename(f->path, tar) < 0)
            f->status = berr_sys(&f->e, -errno, "rename %s", f->path);
        snprintf(f->path, sizeof f->path, "%s", tar);
    }
    fs_rm_rf(f->dir, NULL);
}

static void git_done(uv_work_t *w, int status)
{
    (void)status;
    remote_fetch *f = w->data;
    api_request *r = f->r;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", f->path);
    int st = f->status;
    berr e = f->e;
    free(f->url);
    free(f);
    if (st < 0) {
        unlink(path);
        api_reply_berr(r, &e);
        return;
    }
    build_begin(r, path, true);
}

static void remote_fetched(void *arg, int status, const berr *e, time_t mtime)
{
    (void)mtime;
    remote_fetch *f = arg;
    api_request *r = f->r;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", f->path);
    free(f);
    if (status < 0) {
        unlink(path);
        api_reply_berr(r, e);
        return;
    }
    build_begin(r, path, true);
}

void api_build(api_request *r)
{
    const char *version = api_query(r, "version");
    if (version && !strcmp(version, "2")) {
        api_reply_error(r, -ENOSYS, "BuildKit (version=2) is not supported by berthd; use the classic builder");
        return;
    }
    const char *remote = api_query(r, "remote");
    if (!remote || !*remote) {
        build_begin(r, r->body_path ? r->body_path : "", false);
        return;
    }
    /* remote=: a tar or a Dockerfile at a URL, fetched first (as the CLI's
     * `docker build http://...` asks) */
    berr e = {0};
    if (bc_is_git_url(remote)) {
        /* cloned with the host's git, in a worker */
        remote_fetch *f = xcalloc(1, sizeof *f);
        f->r = r;
        f->url = xstrdup(remote);
        snprintf(f->dir, sizeof f->dir, "%s/git-XXXXXX", r->d->tmp_dir);
        f->work.data = f;
        uv_queue_work(r->d->loop, &f->work, git_work, git_done);
        return;
    }
    if (!reg_is_url(remote)) {
        berr_set(&e, -EINVAL, "unable to prepare context: remote %s is neither an http(s) URL nor a git repository",
                 remote);
        api_reply_berr(r, &e);
        return;
    }
    remote_fetch *f = xcalloc(1, sizeof *f);
    f->r = r;
    if (!reg_fetch_to_temp(r->d->registry, remote, r->d->tmp_dir, "remote-", f->path, sizeof f->path,
                           remote_fetched, f, &e)) {
        free(f);
        api_reply_berr(r, &e);
    }
}

/* Cancels the builds started with buildid=<id>: they end as when their
 * client leaves, and their stream ends with the error.  An id no build
 * has answers 200 too, as dockerd's (BuildKit's) Cancel does. */
void api_build_cancel(api_request *r)
{
    const char *id = api_query(r, "id");
    if (!id || !*id) {
        api_reply_error(r, -EINVAL, "build ID not provided");
        return;
    }
    for (build_req *q = running; q; q = q->next)
        if (!strcmp(q->build_id, id))
            rt_build_stop(q->b);   /* done() comes later, from the loop */
    api_reply_empty(r, 200);
}

/* docker builder prune / system prune: the classic builder's cache records
 * go (the intermediate images stay until image prune, as on dockerd).  They
 * hold no space of their own, hence SpaceReclaimed 0, and keep-storage (the
 * bytes of cache to keep) keeps them all.  BuildKit's record filters read
 * as they apply to these records: each is a "regular" record, private to
 * this daemon, not shared and not in use between builds; its parent is the
 * step's parent image and its description the step's history line. */
typedef struct prune_filters {
    json_t *f;
    long long until;
    bool inuse, shared, priv;
    rt_image_store *images;
} prune_filters;

static bool any_prefix(json_t *vals, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
        const char *p = json_string_value(v);
        if (!strncmp(p, "sha256:", 7))
            p += 7;
        if (*p && !strncmp(s, p, strlen(p)))
            return true;
    }
    return false;
}

/* The step's history line: the image's last history entry's created_by. */
static bool description_matches(prune_filters *pf, json_t *vals, const rt_image *img)
{
    json_t *cfg = NULL;
    if (rt_image_config(pf->images, img->id, &cfg, NULL) < 0)
        return false;
    json_t *h = json_object_get(cfg, "history");
    const char *by = json_string_value(json_object_get(json_array_get(h, json_array_size(h) - 1), "created_by"));
    bool ok = false;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) ok |= by && strstr(by, json_string_value(v)) != NULL;
    json_decref(cfg);
    return ok;
}

static bool prune_match(void *ctx, const char *id, const rt_image *img)
{
    prune_filters *pf = ctx;
    json_t *f = pf->f, *vals;
    if (pf->until && img->created >= pf->until)
        return false;
    if ((vals = json_object_get(f, "id")) && !any_prefix(vals, id))
        return false;
    const char *parent = strchr(img->parent, ':') ? strchr(img->parent, ':') + 1 : img->parent;
    if ((vals = json_object_get(f, "parent")) && !any_prefix(vals, parent))
        return false;
    if ((vals = json_object_get(f, "type"))) {
        bool regular = false;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v) regular |= !strcmp(json_string_value(v), "regular");
        if (!regular)
            return false;
    }
    if ((vals = json_object_get(f, "description")) && !description_matches(pf, vals, img))
        return false;
    /* inuse=true and shared=true match none of them, private=false none */
    return !(filters_has(f, "inuse") && pf->inuse) && !(filters_has(f, "shared") && pf->shared) &&
           !(filters_has(f, "private") && !pf->priv);
}

void api_build_prune(api_request *r)
{
    static const char *const allowed[] = {"until", "id", "parent", "type", "description", "inuse", "shared",
                                          "private", NULL};
    berr e = {0};
    prune_filters pf = {.images = r->d->images};
    if (filters_parse(api_query(r, "filters"), allowed, &pf.f, &e) < 0) {
        api_reply_berr(r, &e);
        return;
    }
    const char *ks = api_query(r, "keep-storage");
    char *end = NULL;
    long long keep = ks && *ks ? strtoll(ks, &end, 10) : 0;
    int rc = 0;
    if (ks && *ks && (*end || keep < 0))
        rc = berr_set(&e, -EINVAL, "invalid keep-storage value: %s", ks);
    if (rc == 0)
        rc = filters_bool(pf.f, "inuse", &pf.inuse, &e);
    if (rc == 0)
        rc = filters_bool(pf.f, "shared", &pf.shared, &e);
    if (rc == 0)
        rc = filters_bool(pf.f, "private", &pf.priv, &e);
    if (rc == 0 && filters_until(pf.f, &pf.until, &e) < 0)
        rc = -EINVAL;
    json_t *deleted = json_array();
    /* records hold no bytes: any storage to keep keeps them all */
    if (rc == 0 && keep == 0)
        rc = rt_build_cache_prune(r->d->cfg.data_root, r->d->images, prune_match, &pf, deleted, &e);
    json_decref(pf.f);
    if (rc < 0) {
        json_decref(deleted);
        api_reply_berr(r, &e);
        return;
    }
    api_reply_json(r, 200, json_pack("{s:o, s:I}", "CachesDeleted", deleted, "SpaceReclaimed", (json_int_t)0));
}
