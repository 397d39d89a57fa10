/* The classic builder (see builder.h): stages, steps, cache and output. */
#include "runtime/build/builder_internal.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "runtime/build/context.h"
#include "runtime/build/copy.h"
#include "runtime/build/instr.h"
#include "runtime/build/parser.h"
#include "runtime/container/io.h"
#include "runtime/image/commit.h"



/* ---- output ---- */

void bb_out(rt_build *b, const char *fmt, ...)
{
    if (b->gone)
        return;
    va_list ap;
    va_start(ap, fmt);
    buf t = BUF_INIT;
    buf_vprintf(&t, fmt, ap);
    va_end(ap);
    bb_emit(b, 's', t.data);
    buf_free(&t);
}

const char *bb_short_id(const char *id)
{
    static char s[13];
    const char *h = strchr(id, ':') ? strchr(id, ':') + 1 : id;
    snprintf(s, sizeof s, "%.12s", h);
    return s;
}

/* A lane's stage once its FROM has run; NULL before (and in the build). */
stage *bb_cur(rt_build *b)
{
    return b->root && b->stages[b->si].config ? &b->stages[b->si] : NULL;
}

/* ---- the cache ---- */

void rt_build_cache_key(const char *parent, const json_t *probe, char out[DIGEST_BUF])
{
    json_t *k = json_pack("{s:s, s:O}", "parent", parent, "config", probe);
    char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
    digest_mem(text, strlen(text), out);
    free(text);
    json_decref(k);
}

static void cache_path(const char *data_root, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/builder/cache.json", data_root);
}

static json_t *cache_load(const char *path)
{
    json_t *c = json_load_file(path, 0, NULL);
    if (!json_is_object(c)) {
        json_decref(c);
        c = json_object();
    }
    return c;
}

static void cache_save(rt_build *b)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/builder", b->m->data_root);
    berr e = {0};
    char *text = json_dumps(b->cache, JSON_COMPACT);
    if (fs_mkdir_p(dir, 0700, &e) < 0 || fs_write_file_atomic(b->cache_path, text, strlen(text), 0600, &e) < 0)
        log_warn("build cache: %s", e.msg);
    free(text);
}

int rt_build_cache_prune(const char *data_root, rt_image_store *images, rt_build_cache_match match, void *ctx,
                         json_t *deleted, berr *e)
{
    char path[PATH_MAX];
    cache_path(data_root, path);
    json_t *c = cache_load(path);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(c, tmp, k, v) {
        rt_image *img = NULL;
        bool gone = rt_image_resolve(images, json_string_value(v) ? json_string_value(v) : "", &img, NULL) < 0;
        if (gone || match(ctx, digest_hex(k), img)) {
            json_array_append_new(deleted, json_string(digest_hex(k)));
            json_object_del(c, k);
        }
        rt_image_free(img);
    }
    char *text = json_dumps(c, JSON_COMPACT);
    int r = 0;
    if (json_array_size(deleted))
        r = json_object_size(c) ? fs_write_file_atomic(path, text, strlen(text), 0600, e)
                                : (unlink(path) < 0 && errno != ENOENT ? berr_sys(e, -errno, "remove %s", path) : 0);
    free(text);
    json_decref(c);
    return r;
}

/* Looks the probe up for the current stage; on a hit the stage moves on. */
bool bb_cache_hit(rt_build *b, json_t *probe)
{
    stage *s = bb_cur(b);
    rt_build_cache_key(s->image, probe, b->key);
    if (b->o.no_cache || s->busted)
        return false;
    const char *id = json_string_value(json_object_get(b->cache, b->key));
    rt_image *img = NULL;
    if (!id || rt_image_resolve(b->m->images, id, &img, NULL) < 0) {
        s->busted = true;
        return false;
    }
    rt_image_free(img);
    snprintf(s->image, sizeof s->image, "%s", id);
    bb_out(b, " ---> Using cache\n ---> %s\n", bb_short_id(id));
    return true;
}

const char *bb_cache_record(rt_build *b, const char *id)
{
    /* re-read first: builds running side by side each add their records */
    json_t *now = cache_load(b->cache_path);
    json_object_update_missing(b->cache, now);
    json_decref(now);
    /* Two lanes (or builds) that made the same step at once: the first
     * record stands and the later lane takes its image, as a sequential
     * build would have found it in the cache; its own copy goes. */
    const char *had = json_string_value(json_object_get(b->cache, b->key));
    rt_image *img = NULL;
    if (!b->o.no_cache && had && strcmp(had, id) && rt_image_resolve(b->m->images, had, &img, NULL) == 0) {
        rt_image_free(img);
        json_t *report = json_array();
        berr e = {0};
        if (rt_image_delete(b->m->images, id, false, true, report, &e) < 0)
            log_warn("build: removing the duplicate image %.19s: %s", id, e.msg);
        json_decref(report);
        bb_cur(b)->busted = false;
        return had;
    }
    json_object_set_new(b->cache, b->key, json_string(id));
    cache_save(b);
    return json_string_value(json_object_get(b->cache, b->key));
}

/* ---- ending ---- */

static void rm_work(uv_work_t *w)
{
    rt_build *b = w->data;
    if (b->dir[0])
        fs_rm_rf(b->dir, NULL);
}

static void build_free(uv_work_t *w, int status)
{
    (void)status;
    rt_build *b = w->data;
    for (size_t i = 0; i < b->n_stages; i++) {
        free(b->stages[i].name);
        free(b->stages[i].author);
        json_decref(b->stages[i].config);
        json_decref(b->stages[i].args);
    }
    free(b->stages);
    bb_lanes_free(b);
    for (size_t i = 0; i < b->n_triggers; i++)
        bf_instr_clear(&b->triggers[i]);
    free(b->triggers);
    bf_file_clear(&b->df);
    free(b->df_text);
    json_decref(b->meta_args);
    json_decref(b->used_args);
    json_decref(b->cache);
    json_decref(b->probe);
    json_decref(b->o.build_args);
    json_decref(b->o.labels);
    json_decref(b->o.host_config);
    for (size_t i = 0; i < b->o.n_tags; i++)
        free(b->tags[i]);
    free(b->tags);
    free((char *)b->o.dockerfile);
    free((char *)b->o.target);
    free((char *)b->o.context_tar);
    free(b->run_cmd);
    bc_filehash_free(b->hashes);
    bc_tree_free(b->tree);
    json_decref(b->pulled);
    free(b);
}

static void finish(rt_build *b, int status, const berr *e)
{
    if (b->root) {
        bb_lane_end(b, status, e);
        return;
    }
    const char *id = status == 0 && b->n_stages ? b->stages[b->n_stages - 1].image : NULL;
    if (status == 0 && !b->gone) {
        /* build args nobody declared */
        buf unused = BUF_INIT;
        const char *k;
        json_t *v;
        json_object_foreach(b->o.build_args, k, v) {
            static const char *const proxy[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                                "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
                                                "ALL_PROXY", "all_proxy", NULL};
            bool predefined = false;
            for (const char *const *p = proxy; *p; p++)
                predefined |= !strcmp(*p, k);
            if (!predefined && !json_object_get(b->used_args, k))
                buf_printf(&unused, "%s%s", unused.len ? " " : "", k);
        }
        if (unused.len)
            bb_out(b, "[Warning] One or more build-args [%s] were not consumed\n", unused.data);
        buf_free(&unused);
        b->cb.aux(b->cb.ctx, id);
        bb_out(b, "Successfully built %s\n", bb_short_id(id));
        for (size_t i = 0; i < b->o.n_tags; i++) {
            char old[DIGEST_BUF];
            berr te = {0};
            if (rt_image_tag(b->m->images, id, b->tags[i], old, &te) < 0) {
                status = te.code;
                b->cb.done(b->cb.ctx, status, &te, NULL);
                goto cleanup;
            }
            bb_out(b, "Successfully tagged %s\n", b->tags[i]);
        }
    }
    if (!b->gone)
        b->cb.done(b->cb.ctx, status, e, id);
cleanup:
    b->gone = true;
    b->work.data = b;
    uv_queue_work(b->m->loop, &b->work, rm_work, build_free);
}

void bb_fail(rt_build *b, const berr *e)
{
    finish(b, e->code ? e->code : -EINVAL, e);
}

void bb_failf(rt_build *b, int code, const char *fmt, ...)
{
    berr e = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    bb_fail(b, &e);
}

/* ---- expansion environment ---- */

/* The stage's Env plus its ARGs (ENV wins), as "K=V" strings. */
json_t *bb_stage_env(rt_build *b, bool with_args)
{
    stage *s = bb_cur(b);
    json_t *env = json_array();
    json_array_extend(env, json_object_get(s->config, "Env"));
    if (!with_args)
        return env;
    const char *k;
    json_t *v;
    json_object_foreach(s->args, k, v) {
        if (!json_is_string(v))
            continue;
        size_t kl = strlen(k), i;
        json_t *x;
        bool in_env = false;
        json_array_foreach(env, i, x) {
            const char *kv = json_string_value(x);
            in_env |= kv && !strncmp(kv, k, kl) && kv[kl] == '=';
        }
        if (!in_env) {
            cleanup_free char *kv = xasprintf("%s=%s", k, json_string_value(v));
            json_array_append_new(env, json_string(kv));
        }
    }
    return env;
}


/* ---- the sequence ---- */

void bb_next(rt_build *b)
{
    if (b->m->shutting_down && !b->gone) {
        berr e = {.code = -ECANCELED};
        snprintf(e.msg, sizeof e.msg, "the build was cancelled: the daemon is stopping");
        finish(b, -ECANCELED, &e);
        return;
    }
    if (b->gone) {
        berr e = {.code = -ECANCELED};
        snprintf(e.msg, sizeof e.msg, "the build was cancelled");
        finish(b, -ECANCELED, &e);
        return;
    }
    if (b->stopped) {
        /* between steps dockerd says so on the stream, then fails */
        bb_out(b, "Build cancelled\n");
        bb_failf(b, -ECANCELED, "Build cancelled");
        return;
    }
    if (b->trig_idx < b->n_triggers) {
        bb_dispatch(b, &b->triggers[b->trig_idx++]);
        return;
    }
    stage *s = bb_cur(b);
    bool from = b->idx < b->last && !strcmp(b->df.v[b->idx].cmd, "from");
    if (s && (from || b->idx >= b->last)) {
        if (!*s->image) {
            bb_failf(b, -EINVAL, "No image was generated. Is your Dockerfile empty?");
            return;
        }
        /* a stage's image, as the next FROM of a sequential build shows it
         * (the build's own image comes with its end) */
        if (b->si + 1 < b->n_stages && !b->gone)
            bb_emit(b, 'a', s->image);
    }
    if (b->idx >= b->last || !b->root) {
        finish(b, 0, NULL);
        return;
    }
    const bf_instr *in = &b->df.v[b->idx++];
    b->step++;
    bb_out(b, "Step %zu/%zu : %s\n", b->step, b->total, in->original);
    if (from)
        bb_from(b, in);
    else
        bb_dispatch(b, in);
}

static void ctx_work(uv_work_t *w)
{
    rt_build *b = w->data;
    if (!mkdtemp(b->dir)) {
        b->wstatus = berr_sys(&b->we, -errno, "create %s", b->dir);
        b->dir[0] = 0;
        return;
    }
    b->wstatus = bc_context_prepare(b->o.context_tar, b->dir, b->o.dockerfile, &b->tree, &b->df_text, &b->df_len,
                                    &b->we);
}

/* After the context is in place: parse, the ARGs before FROM, the target. */
static int plan(rt_build *b, berr *e)
{
    int r = bf_parse(b->df_text, b->df_len, &b->df, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < b->df.n_warnings; i++)
        bb_out(b, "%s\n", b->df.warnings[i]);
    size_t first = 0;
    for (; first < b->df.n && strcmp(b->df.v[first].cmd, "from"); first++) {
        if (strcmp(b->df.v[first].cmd, "arg"))
            return berr_set(e, -EINVAL, "dockerfile parse error on line %d: %s before the first FROM: only ARG may "
                            "come first", b->df.v[first].line, b->df.v[first].cmd);
        json_t *env = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(b->meta_args, k, v) if (json_is_string(v)) bi_env_set(env, k, json_string_value(v));
        r = bb_arg(b, &b->df.v[first], b->meta_args, env, NULL, e);
        json_decref(env);
        if (r < 0)
            return r;
    }
    if (first == b->df.n)
        return berr_set(e, -EINVAL, b->df.n ? "No build stage in current context"
                                            : "the Dockerfile (%s) cannot be empty",
                        b->o.dockerfile ? b->o.dockerfile : "Dockerfile");
    b->idx = first;
    b->last = b->df.n;
    if (b->o.target && *b->o.target) {
        bool found = false;
        for (size_t i = first; i < b->df.n; i++) {
            if (strcmp(b->df.v[i].cmd, "from"))
                continue;
            if (found) {
                b->last = i;
                break;
            }
            found = b->df.v[i].n_args == 3 && !strcasecmp(b->df.v[i].args[2], b->o.target);
        }
        if (!found)
            return berr_set(e, -EINVAL, "failed to reach build target %s in Dockerfile", b->o.target);
    }
    /* --label: a LABEL step at the end, as dockerd appends one */
    if (json_object_size(b->o.labels)) {
        buf line = BUF_INIT;
        buf_puts(&line, "LABEL");
        const char *k;
        json_t *v;
        json_object_foreach(b->o.labels, k, v) {
            json_t *qk = json_string(k), *qv = json_string(json_string_value(v) ? json_string_value(v) : "");
            char *sk = json_dumps(qk, JSON_ENCODE_ANY), *sv = json_dumps(qv, JSON_ENCODE_ANY);
            buf_printf(&line, " %s=%s", sk, sv);
            free(sk), free(sv);
            json_decref(qk), json_decref(qv);
        }
        bf_instr li;
        r = bf_parse_line(line.data, '\\', &li, e);
        buf_free(&line);
        if (r < 0)
            return r;
        b->df.v = xrealloc(b->df.v, (b->df.n + 1) * sizeof *b->df.v);
        memmove(&b->df.v[b->last + 1], &b->df.v[b->last], (b->df.n - b->last) * sizeof *b->df.v);
        b->df.v[b->last] = li;
        b->df.n++;
        b->last++;
    }
    b->total = b->last - first;
    return 0;
}

static void ctx_after(uv_work_t *w, int status)
{
    (void)status;
    rt_build *b = w->data;
    berr e = {0};
    if (b->wstatus < 0) {
        bb_fail(b, &b->we);
        return;
    }
    if (b->gone) {
        bb_next(b);
        return;
    }
    if (plan(b, &e) < 0) {
        bb_fail(b, &e);
        return;
    }
    bb_lanes_start(b);
}

static json_t *copy_or(json_t *v, json_t *(*make)(void))
{
    return v ? json_deep_copy(v) : make();
}

rt_build *rt_build_start(rt_containers *m, const rt_build_opts *o, rt_build_cb cb)
{
    rt_build *b = xcalloc(1, sizeof *b);
    b->m = m;
    b->cb = cb;
    b->o = *o;
    b->o.context_tar = xstrdup(o->context_tar ? o->context_tar : "");
    b->o.dockerfile = o->dockerfile && *o->dockerfile ? xstrdup(o->dockerfile) : NULL;
    b->o.target = o->target && *o->target ? xstrdup(o->target) : NULL;
    b->o.build_args = copy_or(o->build_args, json_object);
    b->o.labels = copy_or(o->labels, json_object);
    b->o.host_config = copy_or(o->host_config, json_object);
    b->tags = xcalloc(o->n_tags + 1, sizeof *b->tags);
    for (size_t i = 0; i < o->n_tags; i++)
        b->tags[i] = xstrdup(o->tags[i]);
    b->o.tags = NULL;
    b->hashes = bc_filehash_new();
    b->pulled = json_object();
    b->meta_args = json_object();
    b->used_args = json_object();
    cache_path(m->data_root, b->cache_path);
    b->cache = cache_load(b->cache_path);
    b->work.data = b;
    snprintf(b->dir, sizeof b->dir, "%s/build-XXXXXX", o->tmp_dir);
    uv_queue_work(m->loop, &b->work, ctx_work, ctx_after);
    return b;
}

static void nothing(uv_work_t *w) { (void)w; }
static void after_stopped_pull(uv_work_t *w, int status)
{
    (void)status;
    bb_next(w->data);   /* ends the build: gone or stopped */
}

/* A FROM's pull in flight is stopped; the lane then ends as the pull's
 * done() would have ended it, from the loop (the caller expects no
 * callback before it returns).  No step is in flight: b->work is free. */
static void stop_pull(rt_build *b)
{
    if (!b->pulling)
        return;
    b->o.puller.cancel(b->o.puller.ctx, b->pulling);
    b->pulling = NULL;
    b->work.data = b;
    uv_queue_work(b->m->loop, &b->work, nothing, after_stopped_pull);
}

/* An ADD's download in flight is stopped; the lane ends from the loop as
 * stop_pull's does. */
static void stop_fetch(rt_build *b)
{
    if (!b->fetching)
        return;
    bb_copy_cancel_fetch(b);
    b->work.data = b;
    uv_queue_work(b->m->loop, &b->work, nothing, after_stopped_pull);
}

void bb_interrupt(rt_build *b)
{
    bb_kill_run(b);
    stop_pull(b);
    stop_fetch(b);
}

void rt_build_cancel(rt_build *b)
{
    b->gone = true;
    bb_lanes_cancel(b, false);
}

void rt_build_stop(rt_build *b)
{
    if (b->gone || b->stopped)
        return;
    b->stopped = true;
    bb_lanes_cancel(b, true);
}

int rt_build_exit_code(const rt_build *b)
{
    return b->exit_code;
}
