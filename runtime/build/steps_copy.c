/* COPY and ADD steps: sources hashed in a worker, the cache asked, the
 * layer written in a second pass only on a miss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/build/builder_internal.h"
#include "runtime/build/instr.h"
#include "runtime/registry/fetch.h"

#define BUILDKIT_ONLY "requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled"

static void view_free(bc_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->dirs[i]);
    free(v->dirs);
    memset(v, 0, sizeof *v);
}

static void copy_clear(bc_copy *c)
{
    view_free(&c->src);
    view_free(&c->dst);
    for (size_t i = 0; c->fetched && i < c->n_sources; i++)
        view_free(&c->fetched[i]);
    free(c->fetched);
    for (size_t i = 0; i < c->n_sources; i++)
        free(c->sources[i]);
    free(c->sources);
    free(c->dest);
    memset(c, 0, sizeof *c);
}

/* An image's layer directories, top first (vfs: the top holds it all). */
static int image_view(rt_build *b, const char *id, bc_view *v, berr *e)
{
    memset(v, 0, sizeof *v);
    if (!*id)
        return 0;
    rt_image *img = NULL;
    int r = rt_image_resolve(b->m->images, id, &img, e);
    if (r < 0)
        return r;
    char **chains = NULL;
    long long *sizes = NULL;
    size_t n = 0;
    r = rt_image_layers(b->m->images, img, &chains, &sizes, &n, e);
    rt_image_free(img);
    if (r < 0)
        return r;
    bool vfs = b->m->driver->kind == RT_DRIVER_VFS;
    v->dirs = xcalloc(n ? n : 1, sizeof *v->dirs);
    for (size_t i = 0; i < n; i++) {
        if (!vfs || i == 0) {
            char dir[PATH_MAX];
            rt_driver_layer_dir(b->m->driver, chains[n - 1 - i], dir);
            v->dirs[v->n++] = xstrdup(dir);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(chains[i]);
    free(chains);
    free(sizes);
    return 0;
}

/* A name's ID in the image's /etc/passwd (field 2) or /etc/group; the
 * primary group of a user in *primary.  -ENOENT when absent. */
static int lookup_id(const bc_view *v, const char *file, const char *name, long *id, long *primary)
{
    char real[PATH_MAX];
    if (bc_view_lstat(v, file, real) < 0)
        return -ENOENT;
    cleanup_fclose FILE *f = fopen(real, "re");
    if (!f)
        return -ENOENT;
    char line[1024];
    size_t nl = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, nl) || line[nl] != ':')
            continue;
        char *p = strchr(line + nl + 1, ':');   /* past the password */
        if (!p)
            continue;
        *id = strtol(p + 1, &p, 10);
        if (primary && *p == ':')
            *primary = strtol(p + 1, NULL, 10);
        return 0;
    }
    return -ENOENT;
}

static bool numeric(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* --chown=user[:group], names looked up in the image, as the classic
 * builder does (a lone user also names the group). */
static int parse_chown(const bc_view *dst, const char *s, long *uid, long *gid, berr *e)
{
    cleanup_free char *u = xstrdup(s);
    char *g = strchr(u, ':');
    if (g)
        *g++ = 0;
    long primary = -1;
    if (numeric(u))
        *uid = strtol(u, NULL, 10);
    else if (lookup_id(dst, "etc/passwd", u, uid, &primary) < 0)
        return berr_set(e, -EINVAL, "unable to convert uid/gid chown string to host mapping: can't find uid for user "
                        "%s: no such user: %s", u, u);
    const char *gname = g ? g : u;
    if (numeric(gname))
        *gid = strtol(gname, NULL, 10);
    else if (lookup_id(dst, "etc/group", gname, gid, NULL) < 0) {
        if (g || primary < 0)
            return berr_set(e, -EINVAL, "unable to convert uid/gid chown string to host mapping: can't find gid for "
                            "group %s: no such group: %s", gname, gname);
        *gid = primary;
    }
    return 0;
}

static json_t *copy_probe(rt_build *b, const bf_instr *in)
{
    char text[512];
    snprintf(text, sizeof text, "%s %s:%s in %s ", !strcmp(in->cmd, "add") ? "ADD" : "COPY", b->copy.kind,
             b->copy.hash + strlen("sha256:"), b->copy.dest);
    return bb_nop_probe(bb_cur(b)->config, text);
}

static void copy_work(uv_work_t *w)
{
    rt_build *b = w->data;
    berr_clear(&b->we);
    b->wstatus = bc_copy_run(&b->copy, b->copy_tar ? b->tar : NULL, &b->we);
}

static void copy_after(uv_work_t *w, int status)
{
    (void)status;
    rt_build *b = w->data;
    if (b->gone || b->stopped) {   /* bb_next ends the build */
        copy_clear(&b->copy);
        bb_next(b);
        return;
    }
    if (b->wstatus < 0) {
        copy_clear(&b->copy);
        bb_fail(b, &b->we);
        return;
    }
    const bf_instr *in = b->copy_in;
    json_t *probe = copy_probe(b, in);
    if (!b->copy_tar) {
        if (bb_cache_hit(b, probe)) {
            json_decref(probe);
            copy_clear(&b->copy);
            bb_next(b);
            return;
        }
        json_decref(probe);
        b->copy_tar = true;
        uv_queue_work(b->m->loop, &b->work, copy_work, copy_after);
        return;
    }
    stage *s = bb_cur(b);
    rt_build_cache_key(s->image, probe, b->key);
    copy_clear(&b->copy);
    bb_commit_step(b, probe, b->tar, true);
}

/* ---- ADD <url>: each URL fetched into a directory of its own first ---- */

static void fetch_next(rt_build *b);

void bb_copy_cancel_fetch(rt_build *b)
{
    reg_fetch_cancel(b->fetching);
    b->fetching = NULL;
    copy_clear(&b->copy);
}

static void url_fetched(void *arg, int status, const berr *e, time_t mtime)
{
    rt_build *b = arg;
    b->fetching = NULL;
    bc_copy *c = &b->copy;
    if (b->gone || b->stopped) {   /* bb_next ends the build */
        copy_clear(c);
        bb_next(b);
        return;
    }
    if (status < 0) {
        copy_clear(c);
        bb_fail(b, e);
        return;
    }
    /* moby's download: 0600, its Last-Modified (or the epoch) as its time */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->fetched[b->fetch_idx].dirs[0], c->sources[b->fetch_idx]);
    struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    if (chmod(path, 0600) < 0 || utimensat(AT_FDCWD, path, ts, 0) < 0) {
        berr fe = {0};
        berr_sys(&fe, -errno, "ADD: %s", path);
        copy_clear(c);
        bb_fail(b, &fe);
        return;
    }
    b->fetch_idx++;
    fetch_next(b);
}

/* Fetches the next URL source (its name becomes the file's), or, with
 * none left, hashes the sources in a worker. */
static void fetch_next(rt_build *b)
{
    bc_copy *c = &b->copy;
    for (; b->fetch_idx < c->n_sources; b->fetch_idx++) {
        size_t i = b->fetch_idx;
        if (!reg_is_url(c->sources[i]))
            continue;
        berr e = {0};
        cleanup_free char *name = reg_url_file_name(c->sources[i]);
        if (!name) {
            berr_set(&e, -EINVAL, "cannot determine filename from url: %s", c->sources[i]);
            copy_clear(c);
            bb_fail(b, &e);
            return;
        }
        if (!c->fetched)
            c->fetched = xcalloc(c->n_sources, sizeof *c->fetched);
        char dir[PATH_MAX], path[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/add-%zu-%zu", b->dir, b->step, i);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            berr_sys(&e, -errno, "create %s", dir);
            copy_clear(c);
            bb_fail(b, &e);
            return;
        }
        if (!b->o.http) {
            berr_set(&e, -ENOSYS, "ADD %s: this daemon cannot fetch URLs", c->sources[i]);
            copy_clear(c);
            bb_fail(b, &e);
            return;
        }
        b->fetching = reg_fetch_start(b->o.http, c->sources[i], path, url_fetched, b, &e);
        if (!b->fetching) {
            copy_clear(c);
            bb_fail(b, &e);
            return;
        }
        c->fetched[i].dirs = xcalloc(1, sizeof *c->fetched[i].dirs);
        c->fetched[i].dirs[c->fetched[i].n++] = xstrdup(dir);
        free(c->sources[i]);
        c->sources[i] = steal_ptr(&name);
        return;   /* url_fetched goes on */
    }
    b->work.data = b;
    uv_queue_work(b->m->loop, &b->work, copy_work, copy_after);
}

void bb_copy_step(rt_build *b, const bf_instr *in)
{
    bool add = !strcmp(in->cmd, "add");
    static const char *const copy_flags[] = {"from", "chown", "chmod", "link", NULL};
    static const char *const add_flags[] = {"chown", "chmod", "link", "checksum", "keep-git-dir", NULL};
    berr e = {0};
    stage *s = bb_cur(b);
    /* --from an earlier stage: once that lane is done */
    const char *from = bf_flag_get(in, "from");
    long ref = from && !add ? bb_stage_ref(b, from, true) : -1;
    if (ref >= 0 && !b->stages[ref].done) {
        bb_park(b, in, ref);
        return;
    }
    if (bf_check_flags(in, add ? add_flags : copy_flags, &e) < 0) {
        bb_fail(b, &e);
        return;
    }
    static const char *const bk[] = {"chmod", "link", "checksum", "keep-git-dir", NULL};
    for (const char *const *f = bk; *f; f++)
        if (bf_flag_get(in, *f)) {
            bb_failf(b, -EINVAL, "the --%s option " BUILDKIT_ONLY, *f);
            return;
        }
    if (in->n_args < 2) {
        bb_failf(b, -EINVAL, "%s requires at least two arguments, but only one was provided. Destination could "
                 "not be determined.", add ? "ADD" : "COPY");
        return;
    }
    bc_copy *c = &b->copy;
    memset(c, 0, sizeof *c);
    c->uid = c->gid = -1;
    c->add = add;
    json_t *env = bb_stage_env(b, true);
    c->sources = xcalloc(in->n_args, sizeof *c->sources);
    int r = 0;
    for (size_t i = 0; i + 1 < in->n_args && r == 0; i++) {
        r = in->json ? (c->sources[i] = xstrdup(in->args[i]), 0) : bi_expand(in->args[i], env, &c->sources[i], &e);
        if (r == 0)
            c->n_sources++;
        if (r == 0 && reg_is_url(c->sources[i]) && !add)
            r = berr_set(&e, -EINVAL, "source can't be a URL for COPY");
    }
    cleanup_free char *dest = NULL;
    if (r == 0)
        r = in->json ? (dest = xstrdup(in->args[in->n_args - 1]), 0)
                     : bi_expand(in->args[in->n_args - 1], env, &dest, &e);
    json_decref(env);
    if (r == 0) {
        const char *wd = json_string_value(json_object_get(s->config, "WorkingDir"));
        c->dest = dest[0] == '/' ? xstrdup(dest) : xasprintf("%s/%s", wd && *wd ? wd : "", dest);
    }
    if (r == 0 && from) {
        /* a stage by name or index (done: see bb_copy_step's start), else an image */
        long ref = bb_stage_ref(b, from, true);
        const char *id = ref >= 0 ? b->stages[ref].image : NULL;
        rt_image *img = NULL;
        if (!id && (r = rt_image_resolve(b->m->images, from, &img, &e)) == 0) {
            r = image_view(b, img->id, &c->src, &e);
            rt_image_free(img);
        } else if (id) {
            r = image_view(b, id, &c->src, &e);
        } else if (r == -ENOENT) {
            berr_set(&e, -ENOENT, "invalid from flag value %s: no stage or local image by that name", from);
        }
    } else if (r == 0) {
        c->src.tree = b->tree;
        c->src_is_context = true;
        c->hashes = b->hashes;
    }
    if (r == 0)
        r = image_view(b, s->image, &c->dst, &e);
    const char *chown = bf_flag_get(in, "chown");
    if (r == 0 && chown && *chown)
        r = parse_chown(&c->dst, chown, &c->uid, &c->gid, &e);
    if (r < 0) {
        copy_clear(c);
        bb_fail(b, &e);
        return;
    }
    b->copy_in = in;
    snprintf(b->tar, sizeof b->tar, "%s/layer-%zu.tar", b->dir, b->step);
    b->copy_tar = b->o.no_cache || s->busted;   /* no cache to ask: write at once */
    b->fetch_idx = 0;
    fetch_next(b);
}

/* ---- WORKDIR: the directory as a layer when the image lacks it ---- */

static void workdir_work(uv_work_t *w)
{
    rt_build *b = w->data;
    berr_clear(&b->we);
    bool made = false;
    const char *wd = json_string_value(json_object_get(bb_cur(b)->config, "WorkingDir"));
    b->wstatus = bc_workdir_layer(&b->copy.dst, wd ? wd : "/", b->tar, &made, &b->we);
    b->copy_tar = made;
}

static void workdir_after(uv_work_t *w, int status)
{
    (void)status;
    rt_build *b = w->data;
    copy_clear(&b->copy);
    json_t *probe = b->probe;
    b->probe = NULL;
    if (b->gone || b->stopped) {   /* bb_next ends the build */
        json_decref(probe);
        bb_next(b);
        return;
    }
    if (b->wstatus < 0) {
        json_decref(probe);
        bb_fail(b, &b->we);
        return;
    }
    bb_commit_step(b, probe, b->copy_tar ? b->tar : NULL, true);
}

void bb_workdir_step(rt_build *b, json_t *probe)
{
    berr e = {0};
    memset(&b->copy, 0, sizeof b->copy);
    if (image_view(b, bb_cur(b)->image, &b->copy.dst, &e) < 0) {
        json_decref(probe);
        bb_fail(b, &e);
        return;
    }
    json_decref(b->probe);
    b->probe = probe;
    snprintf(b->tar, sizeof b->tar, "%s/layer-%zu.tar", b->dir, b->step);
    b->work.data = b;
    uv_queue_work(b->m->loop, &b->work, workdir_work, workdir_after);
}
