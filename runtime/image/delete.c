/* Removing images: DELETE /images/{name}, prune, and the collection of
 * layers and blobs that no image needs any more. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/reference.h"
#include "lib/sql.h"
#include "runtime/image/store_internal.h"

static const char *short_id(const char *id, char out[13])
{
    snprintf(out, 13, "%s", digest_hex(id));
    return out;
}

static void report_add(json_t *report, const char *key, const char *value)
{
    if (report)
        json_array_append_new(report, json_pack("{s:s}", key, value));
}

/* ---- garbage collection -------------------------------------------------- */

typedef struct deferred_work {
    struct deferred_work *next;
    uv_work_t *w;
    uv_work_cb run;
    uv_after_work_cb after;
} deferred_work;

void images_queue_work(rt_image_store *s, uv_work_t *w, uv_work_cb run, uv_after_work_cb after)
{
    if (s->removing == 0) {
        uv_queue_work(s->loop, w, run, after);
        return;
    }
    deferred_work *d = xcalloc(1, sizeof *d);
    *d = (deferred_work){NULL, w, run, after};
    deferred_work **tail = &s->deferred;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
}

static void run_deferred(rt_image_store *s)
{
    if (s->closed) {
        /* The store is gone for everyone else: nothing more starts. */
        while (s->deferred) {
            deferred_work *d = s->deferred;
            s->deferred = d->next;
            free(d);
        }
        if (s->removing == 0)
            free(s);
        return;
    }
    while (s->removing == 0 && s->deferred) {
        deferred_work *d = s->deferred;
        s->deferred = d->next;
        uv_queue_work(s->loop, d->w, d->run, d->after);
        free(d);
    }
}

typedef struct removal {
    uv_work_t work;
    rt_image_store *s;          /* NULL when nothing was queued */
    const rt_graphdriver *driver;
    char **chains;
    size_t n_chains;
    char **blobs;        /* paths */
    size_t n_blobs;
} removal;

static void removal_run(uv_work_t *w)
{
    removal *rm = w->data;
    for (size_t i = 0; i < rm->n_chains; i++) {
        berr e = {0};
        if (rt_driver_remove_layer(rm->driver, rm->chains[i], &e) < 0)
            log_warn("removing layer %s: %s", rm->chains[i], e.msg);
    }
    for (size_t i = 0; i < rm->n_blobs; i++)
        unlink(rm->blobs[i]);
}

static void removal_done(uv_work_t *w, int status)
{
    (void)status;
    removal *rm = w->data;
    if (rm->s) {
        rm->s->removing--;
        run_deferred(rm->s);
    }
    for (size_t i = 0; i < rm->n_chains; i++)
        free(rm->chains[i]);
    for (size_t i = 0; i < rm->n_blobs; i++)
        free(rm->blobs[i]);
    free(rm->chains);
    free(rm->blobs);
    free(rm);
}

static void push(char ***list, size_t *n, const char *v)
{
    *list = xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = xstrdup(v);
}

/* Blobs are configs of images or layer tars of layers; anything else in the
 * blob directory is unreferenced. */
static void collect_blobs(rt_image_store *s, removal *rm)
{
    cleanup_closedir DIR *dir = opendir(s->blob_dir);
    if (!dir)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM images WHERE id = 'sha256:' || ?1 "
                           "UNION ALL SELECT 1 FROM layers WHERE diff_id = 'sha256:' || ?1 LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, de->d_name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", s->blob_dir, de->d_name);
        push(&rm->blobs, &rm->n_blobs, path);
    }
    sqlite3_finalize(st);
}

long long images_gc(rt_image_store *s, json_t *report)
{
    if (s->transfers > 0) {
        s->gc_pending = true;
        return 0;
    }
    s->gc_pending = false;
    removal *rm = xcalloc(1, sizeof *rm);
    rm->driver = s->driver;
    rm->work.data = rm;
    long long reclaimed = 0;
    static const char *const dead_sql =
        "WITH RECURSIVE live(c) AS ("
        "  SELECT top_layer FROM images WHERE top_layer IS NOT NULL"
        "  UNION SELECT l.parent FROM layers l JOIN live ON l.chain_id = live.c WHERE l.parent IS NOT NULL)"
        "SELECT chain_id, size FROM layers WHERE chain_id NOT IN (SELECT c FROM live) ORDER BY rowid DESC";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, dead_sql, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *chain = (const char *)sqlite3_column_text(st, 0);
            reclaimed += sqlite3_column_int64(st, 1);
            push(&rm->chains, &rm->n_chains, chain);
            report_add(report, "Deleted", chain);
        }
        sqlite3_finalize(st);
    }
    if (rm->n_chains) {
        sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
        if (sqlite3_prepare_v2(s->db, "DELETE FROM layers WHERE chain_id = ?", -1, &st, NULL) == SQLITE_OK) {
            /* Children were listed first (higher rowid), so parents go last. */
            for (size_t i = 0; i < rm->n_chains; i++) {
                sqlite3_reset(st);
                sqlite3_bind_text(st, 1, rm->chains[i], -1, SQLITE_STATIC);
                sqlite3_step(st);
            }
            sqlite3_finalize(st);
        }
        if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            log_error("collecting layers: %s", sqlite3_errmsg(s->db));
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    collect_blobs(s, rm);
    if (!rm->n_chains && !rm->n_blobs) {
        removal_done(&rm->work, 0);
        return reclaimed;
    }
    rm->s = s;
    s->removing++;
    uv_queue_work(s->loop, &rm->work, removal_run, removal_done);
    return reclaimed;
}

/* ---- removing one image --------------------------------------------------- */

static int exec_bound(rt_image_store *s, const char *sql, const char *a, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, sql, &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "local store: %s", sqlite3_errmsg(s->db));
    return 0;
}

static int count_bound(rt_image_store *s, const char *sql, const char *a)
{
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int has_children(rt_image_store *s, const char *id)
{
    return count_bound(s, "SELECT count(*) FROM images WHERE parent = ?", id);
}

static int untag(rt_image_store *s, const char *ref, json_t *report, berr *e)
{
    int r = exec_bound(s, "DELETE FROM image_tags WHERE ref = ?", ref, e);
    if (r == 0)
        report_add(report, "Untagged", ref);
    return r;
}

/* Checks containers using the image; force only overrides stopped ones. */
static int check_users(rt_image_store *s, const rt_image *img, bool force, berr *e)
{
    if (!s->user_fn)
        return 0;
    char who[80], sid[13];
    bool running = false;
    if (!s->user_fn(s->user_ctx, img->id, who, sizeof who, &running))
        return 0;
    if (running)
        return berr_set(e, -EBUSY, "conflict: unable to delete %s (cannot be forced) - image is being used by running container %s",
                        short_id(img->id, sid), who);
    if (!force)
        return berr_set(e, -EBUSY, "conflict: unable to delete %s (must be forced) - image is being used by stopped container %s",
                        short_id(img->id, sid), who);
    return 0;
}

/* Deletes the image row and, unless noprune, its untagged parents that
 * nothing else needs. */
static int remove_image(rt_image_store *s, const rt_image *img, bool noprune, json_t *report, berr *e)
{
    int r = exec_bound(s, "DELETE FROM images WHERE id = ?", img->id, e);
    if (r < 0)
        return r;
    report_add(report, "Deleted", img->id);
    if (noprune || !img->parent[0])
        return 0;
    rt_image *parent = NULL;
    berr ignore = {0};
    if (rt_image_resolve(s, img->parent, &parent, &ignore) < 0)
        return 0;
    if (parent->n_tags == 0 && parent->n_digests == 0 && !has_children(s, parent->id) && check_users(s, parent, false, &ignore) == 0)
        r = remove_image(s, parent, noprune, report, e);
    rt_image_free(parent);
    return r;
}

/* Stored names are "name:tag" or "name@sha256:..": the repository ends
 * at the '@' or else at the last ':'. */
static size_t repo_len(const char *ref)
{
    const char *c = strchr(ref, '@');
    if (!c)
        c = strrchr(ref, ':');
    return c ? (size_t)(c - ref) : strlen(ref);
}

static bool same_repo(const char *a, const char *b)
{
    size_t la = repo_len(a), lb = repo_len(b);
    return la == lb && strncmp(a, b, la) == 0;
}

/* Whether the image's names (tags and digests) span more than one repository. */
static bool several_repos(const rt_image *img)
{
    const char *first = img->n_tags ? img->tags[0] : img->n_digests ? img->digests[0] : NULL;
    for (size_t i = 0; i < img->n_tags; i++)
        if (!same_repo(first, img->tags[i]))
            return true;
    for (size_t i = 0; i < img->n_digests; i++)
        if (!same_repo(first, img->digests[i]))
            return true;
    return false;
}

/* Removes every name of img (tags, then digests). */
static int untag_all(rt_image_store *s, const rt_image *img, json_t *report, berr *e)
{
    int r = 0;
    for (size_t i = 0; i < img->n_tags && r == 0; i++)
        r = untag(s, img->tags[i], report, e);
    for (size_t i = 0; i < img->n_digests && r == 0; i++)
        r = untag(s, img->digests[i], report, e);
    return r;
}

/* Removes the one name the user gave.  As dockerd: when that was the last
 * tag of its repository, the repository's digests go with it.  *left: the
 * names the image still has. */
static int untag_named(rt_image_store *s, const rt_image *img, const char *ref, bool is_tag, json_t *report,
                       size_t *left, berr *e)
{
    int r = untag(s, ref, report, e);
    size_t n = img->n_tags + img->n_digests - 1;
    bool repo_tagged = false;
    for (size_t i = 0; i < img->n_tags; i++)
        if (img->tags[i] != ref && same_repo(img->tags[i], ref))
            repo_tagged = true;
    for (size_t i = 0; i < img->n_digests && r == 0 && is_tag && !repo_tagged; i++)
        if (same_repo(img->digests[i], ref)) {
            r = untag(s, img->digests[i], report, e);
            n--;
        }
    *left = n;
    return r;
}

static int delete_locked(rt_image_store *s, rt_image *img, const char *name, bool force, bool noprune,
                         json_t *report, berr *e)
{
    char sid[13];
    const char *tag = rt_image_named_tag(img, name);
    const char *digest = tag ? NULL : rt_image_named_digest(img, name);
    if (tag || digest) {
        size_t left;
        int r = untag_named(s, img, tag ? tag : digest, tag != NULL, report, &left, e);
        if (r < 0 || left > 0)
            return r;
        /* That was its last name: the image goes too, unless a container
         * still uses it (then it stays, dangling, as with dockerd). */
        berr ignore = {0};
        if (check_users(s, img, false, &ignore) < 0 || has_children(s, img->id))
            return 0;
        return remove_image(s, img, noprune, report, e);
    }
    if (!force && several_repos(img))
        return berr_set(e, -EBUSY, "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories",
                        short_id(img->id, sid));
    if (has_children(s, img->id))
        return berr_set(e, -EBUSY, "conflict: unable to delete %s (cannot be forced) - image has dependent child images",
                        short_id(img->id, sid));
    int r = check_users(s, img, force, e);
    if (r == 0)
        r = untag_all(s, img, report, e);
    if (r == 0)
        r = remove_image(s, img, noprune, report, e);
    return r;
}

/* untag/delete events for what a removal reported (layers are not images) */
static void emit_report(rt_image_store *s, const char *id, json_t *report)
{
    size_t i;
    json_t *v;
    json_array_foreach(report, i, v) {
        const char *untagged = json_string_value(json_object_get(v, "Untagged"));
        const char *deleted = json_string_value(json_object_get(v, "Deleted"));
        if (untagged)
            images_emit(s, "untag", id, untagged);
        else if (deleted)
            images_emit(s, "delete", deleted, NULL);
    }
}

int rt_image_delete(rt_image_store *s, const char *name, bool force, bool noprune, json_t *report, berr *e)
{
    rt_image *img = NULL;
    int r = rt_image_resolve(s, name, &img, e);
    if (r < 0)
        return r;
    r = sql_exec(s->db, "BEGIN IMMEDIATE", e);
    if (r == 0)
        r = delete_locked(s, img, name, force, noprune, report, e);
    if (r == 0)
        r = sql_exec(s->db, "COMMIT", e);
    if (r < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* What the report claims did not happen. */
        json_array_clear(report);
    }
    if (r == 0)
        emit_report(s, img->id, report);
    rt_image_free(img);
    if (r == 0)
        images_gc(s, report);
    return r;
}

int rt_images_prune(rt_image_store *s, bool all, rt_image_keep_fn keep, void *ctx, json_t *report,
                    long long *reclaimed, berr *e)
{
    *reclaimed = 0;
    rt_image **imgs;
    size_t n;
    int r = rt_images_list(s, &imgs, &n, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        rt_image *img = imgs[i];
        berr ignore = {0};
        if ((!all && img->n_tags > 0) || has_children(s, img->id) || check_users(s, img, false, &ignore) < 0)
            continue;
        if (keep && keep(ctx, img))
            continue;
        size_t before = json_array_size(report);
        r = sql_exec(s->db, "BEGIN IMMEDIATE", e);
        if (r == 0)
            r = untag_all(s, img, report, e);
        if (r == 0)
            r = remove_image(s, img, false, report, e);
        if (r == 0)
            r = sql_exec(s->db, "COMMIT", e);
        else
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (r == 0) {
            json_t *mine = json_array();
            for (size_t k = before; k < json_array_size(report); k++)
                json_array_append(mine, json_array_get(report, k));
            emit_report(s, img->id, mine);
            json_decref(mine);
        }
    }
    rt_images_free(imgs, n);
    *reclaimed = images_gc(s, report);
    if (s->events.emit) {
        char bytes[32];
        snprintf(bytes, sizeof bytes, "%lld", *reclaimed);
        s->events.emit(s->events.ctx, "image", "prune", "", json_pack("{s:s}", "reclaimed", bytes));
    }
    return r;
}
