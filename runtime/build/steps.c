/* One function per kind of instruction (see builder_internal.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/build/builder_internal.h"
#include "runtime/build/instr.h"
#include "runtime/image/commit.h"

#define BUILDKIT_ONLY "requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled"

/* ---- steps without a container ---- */

static void nop_done(void *arg, int status, const berr *e, const char *id)
{
    rt_build *b = arg;
    if (status < 0) {
        bb_fail(b, e);
        return;
    }
    id = bb_cache_record(b, id);
    snprintf(bb_cur(b)->image, sizeof bb_cur(b)->image, "%s", id);
    bb_out(b, " ---> %s\n", bb_short_id(id));
    bb_next(b);
}

/* The config with Cmd as the history shows a step: shell, "#(nop) ", text. */
json_t *bb_nop_probe(const json_t *config, const char *text)
{
    json_t *p = json_deep_copy(config);
    json_t *cmd = bi_shell_cmd(config, "#(nop) ");
    json_array_append_new(cmd, json_string(text));
    json_object_set_new(p, "Cmd", cmd);
    return p;
}

/* Commits the stage's config as a new image (layer_tar: with that layer). */
void bb_commit_step(rt_build *b, json_t *probe, const char *layer_tar, bool probed)
{
    stage *s = bb_cur(b);
    if (!probed && bb_cache_hit(b, probe)) {
        json_decref(probe);
        bb_next(b);
        return;
    }
    rt_images_build_step(b->m->images, s->image, json_deep_copy(s->config), probe, layer_tar, s->author, nop_done,
                         b);
}

static void meta_args_env(rt_build *b, json_t *env)
{
    const char *k;
    json_t *v;
    json_object_foreach(b->meta_args, k, v) if (json_is_string(v)) bi_env_set(env, k, json_string_value(v));
}

/* ARG name[=default] ...: the value is the build arg, the default, or (for
 * a name declared before FROM) the global value. */
int bb_arg(rt_build *b, const bf_instr *in, json_t *into, json_t *env, buf *text, berr *e)
{
    if (in->n_args == 0)
        return berr_set(e, -EINVAL, "ARG requires exactly one argument");
    for (size_t i = 0; i < in->n_args; i++) {
        cleanup_free char *w = NULL;
        int r = bi_expand(in->args[i], env, &w, e);
        if (r < 0)
            return r;
        char *eq = strchr(w, '=');
        if (eq)
            *eq = 0;
        if (!*w)
            return berr_set(e, -EINVAL, "ARG names can not be blank");
        json_t *ba = json_object_get(b->o.build_args, w);
        json_t *val = NULL;
        if (ba) {
            json_object_set_new(b->used_args, w, json_true());
            val = json_is_string(ba) ? json_incref(ba) : NULL;
        }
        if (!val && eq)
            val = json_string(eq + 1);
        if (!val && into != b->meta_args && json_is_string(json_object_get(b->meta_args, w)))
            val = json_incref(json_object_get(b->meta_args, w));
        if (text)
            buf_printf(text, " %s%s%s", w, val ? "=" : "", val ? json_string_value(val) : "");
        json_object_set_new(into, w, val ? val : json_null());
        if (val && env)
            bi_env_set(env, w, json_string_value(val));
    }
    return 0;
}

/* ---- FROM ---- */

static int stage_from_image(rt_build *b, stage *s, const char *name, berr *e)
{
    rt_image *img = NULL;
    int r = rt_image_resolve(b->m->images, name, &img, e);
    if (r < 0) {
        if (r == -ENOENT && !b->o.puller.start)
            berr_set(e, -ENOENT, "pull access denied for %s: berthd's builder uses local images only and no "
                     "image %s is here (pull or load it first)", name, name);
        return r;
    }
    snprintf(s->image, sizeof s->image, "%s", img->id);
    rt_image_free(img);
    json_t *cfg = NULL;
    r = rt_image_config(b->m->images, s->image, &cfg, e);
    if (r < 0)
        return r;
    json_t *c = json_object_get(cfg, "config");
    s->config = json_is_object(c) ? json_deep_copy(c) : json_object();
    json_decref(cfg);
    return 0;
}

static void from_pulled(void *arg, int status, const berr *e)
{
    rt_build *b = arg;
    b->pulling = NULL;
    if (status < 0 && !b->gone && !b->stopped) {
        bb_fail(b, e);
        return;
    }
    if (b->gone || b->stopped) {   /* bb_next ends the build */
        bb_next(b);
        return;
    }
    bb_from(b, b->pull_from);
}

/* Whether FROM name needs a pull first: missing here, or pull=1 (once per
 * name and build, as dockerd's classic builder pulls each base once). */
static bool wants_pull(rt_build *b, const char *name)
{
    if (!b->o.puller.start)
        return false;
    rt_image *img = NULL;
    bool here = rt_image_resolve(b->m->images, name, &img, NULL) == 0;
    rt_image_free(img);
    /* pulled by this build already: here, unless an earlier lane's pull
     * failed or is still going (then this lane waits to be the head) */
    if (json_object_get(b->pulled, name))
        return !here && !bb_lane_is_head(b);
    return b->o.pull || !here;
}

void bb_from(rt_build *b, const bf_instr *in)
{
    static const char *const flags[] = {"platform", NULL};
    berr e = {0};
    if (bf_check_flags(in, flags, &e) < 0) {
        bb_fail(b, &e);
        return;
    }
    if (!(in->n_args == 1 || (in->n_args == 3 && !strcasecmp(in->args[1], "as")))) {
        bb_failf(b, -EINVAL, "FROM requires either one or three arguments");
        return;
    }
    json_t *env = json_array();
    meta_args_env(b, env);
    cleanup_free char *name = NULL;
    int r = bi_expand(in->args[0], env, &name, &e);
    json_decref(env);
    if (r < 0) {
        bb_fail(b, &e);
        return;
    }
    const char *as = b->stages[b->si].name;
    for (size_t i = 0; as && i < b->si; i++)
        if (b->stages[i].name && !strcmp(b->stages[i].name, as)) {
            bb_failf(b, -EINVAL, "duplicate name %s", as);
            return;
        }
    /* an earlier stage by name: once that lane is done */
    long ref = bb_stage_ref(b, name, false);
    if (ref >= 0 && !b->stages[ref].done) {
        bb_park(b, in, ref);
        return;
    }
    stage *prev = ref >= 0 ? &b->stages[ref] : NULL;
    if (!prev && strcasecmp(name, "scratch") && wants_pull(b, name)) {
        /* a pull shows its progress on the stream: the head's alone */
        if (!bb_lane_is_head(b)) {
            bb_park(b, in, -1);
            return;
        }
        /* this FROM runs again once the image is here */
        json_object_set_new(b->pulled, name, json_true());
        b->pull_from = in;
        if (b->o.puller.start(b->o.puller.ctx, name, from_pulled, b, &b->pulling, &e) < 0)
            bb_fail(b, &e);
        return;
    }
    stage *s = &b->stages[b->si];
    s->args = json_object();
    if (prev) {
        memcpy(s->image, prev->image, sizeof s->image);   /* an earlier stage: never s itself */
        s->config = json_deep_copy(prev->config);
    } else if (!strcasecmp(name, "scratch")) {
        s->config = json_object();
    } else if (stage_from_image(b, s, name, &e) < 0) {
        s->config = json_object();
        bb_fail(b, &e);
        return;
    }
    if (*s->image)
        bb_out(b, " ---> %s\n", bb_short_id(s->image));
    /* ONBUILD triggers of the base run now, in order */
    json_t *ob = json_object_get(s->config, "OnBuild");
    for (size_t i = 0; i < b->n_triggers; i++)
        bf_instr_clear(&b->triggers[i]);
    b->n_triggers = b->trig_idx = 0;
    if (json_array_size(ob)) {
        b->triggers = xrealloc(b->triggers, json_array_size(ob) * sizeof *b->triggers);
        size_t i;
        json_t *t;
        json_array_foreach(ob, i, t) {
            if (bf_parse_line(json_string_value(t) ? json_string_value(t) : "", '\\', &b->triggers[i], &e) < 0) {
                bb_fail(b, &e);
                return;
            }
            b->n_triggers++;
        }
        bb_out(b, "# Executing %zu build trigger%s\n", b->n_triggers, b->n_triggers == 1 ? "" : "s");
    }
    json_object_del(s->config, "OnBuild");
    bb_next(b);
}

/* ---- RUN ---- */

static void rm_done(void *arg, int status, const berr *e)
{
    (void)arg;
    if (status < 0)
        log_warn("build: removing an intermediate container: %s", e ? e->msg : "");
}

static void remove_container(rt_build *b, bool say)
{
    rt_container *c = NULL;
    berr e = {0};
    if (!b->run_id[0] || rt_container_find(b->m, b->run_id, &c, NULL) < 0)
        return;
    if (say)
        bb_out(b, "Removing intermediate container %s\n", bb_short_id(b->run_id));
    if (rt_container_remove(b->m, c, true, true, rm_done, NULL, &e) < 0)
        log_warn("build: removing %.12s: %s", b->run_id, e.msg);
    b->run_id[0] = 0;
}

static void run_committed(void *arg, int status, const berr *e, const char *id)
{
    rt_build *b = arg;
    if (status < 0) {
        remove_container(b, false);
        bb_fail(b, e);
        return;
    }
    id = bb_cache_record(b, id);
    snprintf(bb_cur(b)->image, sizeof bb_cur(b)->image, "%s", id);
    if (b->o.rm || b->o.force_rm)
        remove_container(b, true);
    bb_out(b, " ---> %s\n", bb_short_id(id));
    bb_next(b);
}

static void run_exited(void *arg, int code, const char *error)
{
    rt_build *b = arg;
    b->waiter = NULL;
    rt_container *c = NULL;
    if (b->gone || rt_container_find(b->m, b->run_id, &c, NULL) < 0) {
        remove_container(b, false);
        bb_next(b);   /* ends the build */
        return;
    }
    if (b->stopped) {
        /* killed by POST /build/cancel: dockerd's error for a RUN it stopped */
        remove_container(b, false);
        bb_failf(b, -ECANCELED, "build cancelled");
        return;
    }
    if (code != 0 || (error && *error)) {
        b->exit_code = code;
        if (b->o.force_rm)
            remove_container(b, true);
        if (error && *error && code == 0)
            bb_failf(b, -EIO, "%s", error);
        else
            bb_failf(b, -EIO, "The command '%s' returned a non-zero code: %d", b->run_cmd, code);
        return;
    }
    rt_commit_opts o = {.config = bb_cur(b)->config,
                        .container_config = b->probe,
                        .no_merge = true,
                        .comment = "",
                        .author = bb_cur(b)->author};
    berr e = {0};
    if (rt_container_commit(b->m, c, &o, run_committed, b, &e) < 0) {
        remove_container(b, false);
        bb_fail(b, &e);
    }
}

static void run_write(void *ctx, int stream, const char *data, size_t len)
{
    (void)stream;
    rt_build *b = ctx;
    cleanup_free char *t = xstrndup(data, len);
    bb_out(b, "%s", t);
}

static void run_ended(void *ctx)
{
    (void)ctx;
}

static void run_step(rt_build *b, const bf_instr *in)
{
    stage *s = bb_cur(b);
    for (size_t i = 0; i < in->n_flags; i++) {
        const char *f = in->flags[i].name;
        if (!strcmp(f, "mount") || !strcmp(f, "network") || !strcmp(f, "security"))
            bb_failf(b, -EINVAL, "the --%s option " BUILDKIT_ONLY, f);
        else
            bb_failf(b, -EINVAL, "Unknown flag: %s", f);
        return;
    }
    if (!*s->image) {
        bb_failf(b, -EINVAL, "RUN needs an image to run in: this stage has no files yet (FROM scratch)");
        return;
    }
    json_t *cmd;
    if (in->json) {
        cmd = json_array();
        for (size_t i = 0; i < in->n_args; i++)
            json_array_append_new(cmd, json_string(in->args[i]));
    } else {
        cmd = bi_shell_cmd(s->config, in->rest);
    }
    /* the build args the command sees are part of the cache key, as the
     * classic builder's "|N k=v" prefix */
    json_t *env = bb_stage_env(b, true);
    /* the predefined proxy args reach RUN without an ARG, and stay out of
     * the cache key and the history, as on dockerd */
    static const char *const proxy[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                        "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL};
    for (const char *const *p = proxy; *p; p++) {
        json_t *pv = json_object_get(b->o.build_args, *p);
        if (json_is_string(pv) && !json_object_get(s->args, *p))
            bi_env_set(env, *p, json_string_value(pv));
    }
    json_t *probe = json_deep_copy(s->config);
    json_t *pcmd = json_array();
    const char *k;
    json_t *v;
    size_t n_args = 0;
    json_object_foreach(s->args, k, v) n_args += json_is_string(v);
    if (n_args) {
        char cnt[24];
        snprintf(cnt, sizeof cnt, "|%zu", n_args);
        json_array_append_new(pcmd, json_string(cnt));
        json_object_foreach(s->args, k, v) if (json_is_string(v))
        {
            cleanup_free char *kv = xasprintf("%s=%s", k, json_string_value(v));
            json_array_append_new(pcmd, json_string(kv));
        }
    }
    json_array_extend(pcmd, cmd);
    json_object_set_new(probe, "Cmd", pcmd);
    if (bb_cache_hit(b, probe)) {
        json_decref(probe);
        json_decref(cmd);
        json_decref(env);
        bb_next(b);
        return;
    }
    json_decref(b->probe);
    b->probe = probe;   /* the history's record of the step, as dockerd keeps it */
    buf joined = BUF_INIT;
    size_t i;
    json_array_foreach(cmd, i, v) buf_printf(&joined, "%s%s", i ? " " : "", json_string_value(v));
    free(b->run_cmd);
    b->run_cmd = buf_steal(&joined);

    json_t *body = json_deep_copy(s->config);
    json_object_set_new(body, "Image", json_string(s->image));
    json_object_set_new(body, "Cmd", cmd);
    json_object_set_new(body, "Entrypoint", json_array());
    json_object_set_new(body, "Env", env);
    json_object_set_new(body, "AttachStdout", json_true());
    json_object_set_new(body, "AttachStderr", json_true());
    json_object_set_new(body, "Tty", json_false());
    json_object_set_new(body, "OpenStdin", json_false());
    json_object_del(body, "Healthcheck");
    json_object_del(body, "Shell");
    json_object_set_new(body, "HostConfig", json_deep_copy(b->o.host_config));
    berr e = {0};
    rt_container *c = NULL;
    json_t *warnings = json_array();
    int r = rt_container_create(b->m, NULL, body, &c, warnings, &e);
    json_decref(warnings);
    json_decref(body);
    if (r < 0) {
        bb_fail(b, &e);
        return;
    }
    snprintf(b->run_id, sizeof b->run_id, "%s", c->id);
    bb_out(b, " ---> Running in %s\n", bb_short_id(c->id));
    b->sink = (rt_io_sink){.want_stdout = true, .want_stderr = true, .write = run_write, .ended = run_ended,
                           .ctx = b};
    rt_container_attach_sink(c, &b->sink);
    b->waiter = rt_container_wait(b->m, c, RT_WAIT_NEXT_EXIT, run_exited, b);
    if (rt_container_start(b->m, c, &e) < 0) {
        if (b->waiter)
            rt_container_wait_cancel(b->m, b->waiter);
        b->waiter = NULL;
        rt_container_detach_sink(c, &b->sink);
        remove_container(b, false);
        bb_fail(b, &e);
    }
}

void bb_kill_run(rt_build *b)
{
    rt_container *c = NULL;
    if (b->run_id[0] && b->waiter && rt_container_find(b->m, b->run_id, &c, NULL) == 0 && rt_container_running(c))
        rt_container_kill(b->m, c, SIGKILL, NULL);
}

/* ---- the dispatcher ---- */

void bb_dispatch(rt_build *b, const bf_instr *in)
{
    stage *s = bb_cur(b);
    berr e = {0};
    if (!strcmp(in->cmd, "run")) {
        run_step(b, in);
        return;
    }
    if (!strcmp(in->cmd, "copy") || !strcmp(in->cmd, "add")) {
        bb_copy_step(b, in);
        return;
    }
    if (!strcmp(in->cmd, "from")) {
        bb_failf(b, -EINVAL, "FROM isn't allowed as an ONBUILD trigger");
        return;
    }
    json_t *env = bb_stage_env(b, true);
    buf text = BUF_INIT;
    int r;
    if (!strcmp(in->cmd, "maintainer")) {
        /* the author of this step's image and the stage's next ones */
        cleanup_free char *who = NULL;
        r = bi_expand(in->rest, env, &who, &e);
        if (r == 0) {
            free(s->author);
            s->author = steal_ptr(&who);
        }
        buf_puts(&text, in->original);
    } else if (!strcmp(in->cmd, "arg")) {
        buf_puts(&text, "ARG");
        r = in->n_flags ? berr_set(&e, -EINVAL, "Unknown flag: %s", in->flags[0].name)
                        : bb_arg(b, in, s->args, env, &text, &e);
    } else {
        r = bi_apply(s->config, in, env, &s->cmd_set, &e);
        buf_puts(&text, in->original);
    }
    json_decref(env);
    if (r < 0) {
        buf_free(&text);
        bb_fail(b, &e);
        return;
    }
    json_t *probe = bb_nop_probe(s->config, text.data);
    buf_free(&text);
    if (!strcmp(in->cmd, "workdir")) {
        if (bb_cache_hit(b, probe)) {
            json_decref(probe);
            bb_next(b);
        } else {
            bb_workdir_step(b, probe);
        }
        return;
    }
    bb_commit_step(b, probe, NULL, false);
}
