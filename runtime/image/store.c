#include "runtime/image/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/reference.h"
#include "lib/timefmt.h"
#include "lib/sql.h"

int rt_images_open(rt_image_store **out, uv_loop_t *loop, sqlite3 *db, const rt_graphdriver *driver,
                   const char *data_root, berr *e)
{
    rt_image_store *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->db = db;
    s->driver = driver;
    snprintf(s->blob_dir, sizeof s->blob_dir, "%s/image/blobs/sha256", data_root);
    snprintf(s->tmp_dir, sizeof s->tmp_dir, "%s/tmp", data_root);
    int r = fs_mkdir_p(s->blob_dir, 0700, e);
    if (r < 0) {
        free(s);
        return r;
    }
    *out = s;
    /* A crash between unpacking and recording leaves unreferenced layers
     * and blobs; collect them now. */
    images_gc(s, NULL);
    return 0;
}

void rt_images_close(rt_image_store *s)
{
    /* A removal's worker reports back to s: the last one frees it. */
    if (s->removing > 0) {
        s->closed = true;
        return;
    }
    free(s);
}

void rt_images_set_events(rt_image_store *s, rt_event_sink sink) { s->events = sink; }

void images_emit(rt_image_store *s, const char *action, const char *id, const char *name)
{
    if (s->events.emit)
        s->events.emit(s->events.ctx, "image", action, id, name ? json_pack("{s:s}", "name", name) : json_object());
}

void rt_images_set_user_check(rt_image_store *s, rt_image_user_fn fn, void *ctx)
{
    s->user_fn = fn;
    s->user_ctx = ctx;
}

void rt_images_blob_path(rt_image_store *s, const char *digest, char *out)
{
    snprintf(out, PATH_MAX, "%s/%s", s->blob_dir, digest_hex(digest));
}

void rt_image_free(rt_image *img)
{
    if (!img)
        return;
    for (size_t i = 0; i < img->n_tags; i++)
        free(img->tags[i]);
    free(img->tags);
    for (size_t i = 0; i < img->n_digests; i++)
        free(img->digests[i]);
    free(img->digests);
    json_decref(img->labels);
    free(img);
}

void rt_images_free(rt_image **imgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rt_image_free(imgs[i]);
    free(imgs);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

#define IMAGE_COLS "id, top_layer, parent, created, size, labels, last_tag_time"

/* image_tags holds both kinds of name, as dockerd's reference store does:
 * "name:tag" and "name@sha256:..". */
static int load_tags(rt_image_store *s, rt_image *img, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "SELECT ref FROM image_tags WHERE image_id = ? ORDER BY seq", &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *ref = col_text(st, 0);
        char ***list = strchr(ref, '@') ? &img->digests : &img->tags;
        size_t *n = strchr(ref, '@') ? &img->n_digests : &img->n_tags;
        *list = xrealloc(*list, (*n + 1) * sizeof **list);
        (*list)[(*n)++] = xstrdup(ref);
    }
    return 0;
}

static rt_image *image_from_row(rt_image_store *s, sqlite3_stmt *st, berr *e)
{
    rt_image *img = xcalloc(1, sizeof *img);
    snprintf(img->id, sizeof img->id, "%s", col_text(st, 0));
    snprintf(img->top_layer, sizeof img->top_layer, "%s", col_text(st, 1));
    snprintf(img->parent, sizeof img->parent, "%s", col_text(st, 2));
    img->created = sqlite3_column_int64(st, 3);
    img->size = sqlite3_column_int64(st, 4);
    img->labels = json_loads(col_text(st, 5), 0, NULL);
    if (!json_is_object(img->labels)) {
        json_decref(img->labels);
        img->labels = json_object();
    }
    snprintf(img->last_tag_time, sizeof img->last_tag_time, "%s", col_text(st, 6));
    if (load_tags(s, img, e) < 0) {
        rt_image_free(img);
        return NULL;
    }
    return img;
}

/* Finds an image by exact ID (like = false) or by ID prefix (like = true). */
static int find_by_id(rt_image_store *s, const char *hex, bool prefix, rt_image **out, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    const char *sql = prefix ? "SELECT " IMAGE_COLS " FROM images WHERE substr(id, 8, ?2) = ?1 LIMIT 2"
                             : "SELECT " IMAGE_COLS " FROM images WHERE id = 'sha256:' || ?1";
    int r = sql_prepare(s->db, sql, &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    if (prefix)
        sqlite3_bind_int(st, 2, (int)strlen(hex));
    if (sqlite3_step(st) != SQLITE_ROW)
        return -ENOENT;
    rt_image *img = image_from_row(s, st, e);
    if (!img)
        return -EIO;
    if (prefix && sqlite3_step(st) == SQLITE_ROW) {
        rt_image_free(img);
        return berr_set(e, -EINVAL, "multiple IDs found with provided prefix: %s", hex);
    }
    *out = img;
    return 0;
}

static int find_by_ref(rt_image_store *s, const char *ref, rt_image **out, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "SELECT image_id FROM image_tags WHERE ref = ?", &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        return -ENOENT;
    return find_by_id(s, digest_hex(col_text(st, 0)), false, out, e);
}

static bool is_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

int rt_image_resolve(rt_image_store *s, const char *name, rt_image **out, berr *e)
{
    *out = NULL;
    const char *hex = strncmp(name, "sha256:", 7) == 0 ? name + 7 : NULL;
    int r = -ENOENT;
    if (hex) {
        if (is_hex(hex) && strlen(hex) <= DIGEST_HEX_LEN)
            r = find_by_id(s, hex, strlen(hex) < DIGEST_HEX_LEN, out, e);
    } else if (digest_hex_valid(name)) {
        r = find_by_id(s, name, false, out, e);
    } else {
        image_ref ref;
        if (ref_parse(name, &ref, NULL) == 0) {
            /* name:tag@digest is looked up as name@digest, as dockerd does */
            if (ref.digest[0])
                ref.tag[0] = 0;
            ref_default_tag(&ref);
            char text[REF_NAME_MAX + REF_TAG_MAX + DIGEST_BUF + 2];
            ref_format(&ref, text, sizeof text);
            r = find_by_ref(s, text, out, e);
        }
        if (r == -ENOENT && is_hex(name))
            r = find_by_id(s, name, true, out, e);
    }
    if (r == -ENOENT)
        return berr_set(e, -ENOENT, "No such image: %s", name);
    return r;
}

int rt_images_list(rt_image_store *s, rt_image ***imgs, size_t *n, berr *e)
{
    *imgs = NULL;
    *n = 0;
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "SELECT " IMAGE_COLS " FROM images ORDER BY created DESC, id", &st, e);
    if (r < 0)
        return r;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rt_image *img = image_from_row(s, st, e);
        if (!img) {
            rt_images_free(*imgs, *n);
            *imgs = NULL;
            *n = 0;
            return -EIO;
        }
        *imgs = xrealloc(*imgs, (*n + 1) * sizeof **imgs);
        (*imgs)[(*n)++] = img;
    }
    return 0;
}

long long rt_images_count(rt_image_store *s)
{
    sqlite3_stmt *st;
    long long n = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM images", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return n;
}

int rt_image_config(rt_image_store *s, const char *id, json_t **config, berr *e)
{
    char path[PATH_MAX];
    rt_images_blob_path(s, id, path);
    json_error_t je;
    *config = json_load_file(path, 0, &je);
    if (!*config)
        return berr_set(e, -EIO, "image %s: config unreadable: %s", id, je.text);
    return 0;
}

int rt_image_layers(rt_image_store *s, const rt_image *img, char ***chains, long long **sizes, size_t *n, berr *e)
{
    *chains = NULL;
    *sizes = NULL;
    *n = 0;
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db, "SELECT parent, size FROM layers WHERE chain_id = ?", &st, e);
    if (r < 0)
        return r;
    char cur[DIGEST_BUF];
    snprintf(cur, sizeof cur, "%s", img->top_layer);
    /* Walk from the top to the base, then reverse. */
    while (cur[0]) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_ROW) {
            for (size_t i = 0; i < *n; i++)
                free((*chains)[i]);
            free(*chains);
            free(*sizes);
            *chains = NULL;
            *sizes = NULL;
            *n = 0;
            return berr_set(e, -EIO, "image %s: layer %s is missing from the store", img->id, cur);
        }
        *chains = xrealloc(*chains, (*n + 1) * sizeof **chains);
        *sizes = xrealloc(*sizes, (*n + 1) * sizeof **sizes);
        (*chains)[*n] = xstrdup(cur);
        (*sizes)[*n] = sqlite3_column_int64(st, 1);
        (*n)++;
        snprintf(cur, sizeof cur, "%s", col_text(st, 0));
    }
    for (size_t i = 0; i < *n / 2; i++) {
        char *c = (*chains)[i];
        (*chains)[i] = (*chains)[*n - 1 - i];
        (*chains)[*n - 1 - i] = c;
        long long z = (*sizes)[i];
        (*sizes)[i] = (*sizes)[*n - 1 - i];
        (*sizes)[*n - 1 - i] = z;
    }
    return 0;
}

/* Points the name ref at image id; a name already there moves with move,
 * else stays. */
static int insert_ref(rt_image_store *s, const char *id, const char *ref, bool move, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db,
                        move ? "INSERT INTO image_tags(ref, image_id, seq) VALUES(?1, ?2, "
                               " (SELECT coalesce(max(seq), 0) + 1 FROM image_tags)) "
                               "ON CONFLICT(ref) DO UPDATE SET image_id = ?2, seq = excluded.seq"
                             : "INSERT OR IGNORE INTO image_tags(ref, image_id, seq) VALUES(?1, ?2, "
                               " (SELECT coalesce(max(seq), 0) + 1 FROM image_tags))",
                        &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "tag %s: %s", ref, sqlite3_errmsg(s->db));
    return 0;
}

int rt_image_tag(rt_image_store *s, const char *id, const char *ref, char moved_from[DIGEST_BUF], berr *e)
{
    moved_from[0] = 0;
    cleanup_stmt sqlite3_stmt *q = NULL, *tt = NULL;
    int r = sql_prepare(s->db, "SELECT image_id FROM image_tags WHERE ref = ?", &q, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(q, 1, ref, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW) {
        if (strcmp(col_text(q, 0), id) == 0)
            return 0;
        snprintf(moved_from, DIGEST_BUF, "%s", col_text(q, 0));
    }
    r = insert_ref(s, id, ref, true, e);
    if (r < 0)
        return r;
    char now[TIME_RFC3339_BUF];
    time_now_rfc3339(now);
    r = sql_prepare(s->db, "UPDATE images SET last_tag_time = ? WHERE id = ?", &tt, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(tt, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(tt, 2, id, -1, SQLITE_STATIC);
    sqlite3_step(tt);
    images_emit(s, "tag", id, ref);
    return 0;
}

int rt_image_add_digest(rt_image_store *s, const char *id, const char *ref, berr *e)
{
    return insert_ref(s, id, ref, false, e);
}

int images_insert_layer(rt_image_store *s, const layer_rec *l, berr *e)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db,
                               "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size) VALUES(?, ?, NULLIF(?, ''), ?)",
                               &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, l->chain_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l->diff_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, l->parent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, l->size);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "record layer %s: %s", l->chain_id, sqlite3_errmsg(s->db));
    return 0;
}

static int insert_image(rt_image_store *s, const char *id, json_t *config, const layer_rec *layers, size_t n,
                        berr *e)
{
    long long size = 0;
    for (size_t i = 0; i < n; i++)
        size += layers[i].size;
    json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
    cleanup_free char *labels_text = json_is_object(labels) ? json_dumps(labels, JSON_COMPACT) : xstrdup("{}");
    const char *parent = json_string_value(json_object_get(config, "parent"));
    cleanup_stmt sqlite3_stmt *st = NULL;
    int r = sql_prepare(s->db,
                               "INSERT OR IGNORE INTO images(id, top_layer, parent, created, size, labels) "
                               "VALUES(?, NULLIF(?, ''), ?, ?, ?, ?)",
                               &st, e);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n ? layers[n - 1].chain_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, parent ? parent : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, time_parse_rfc3339(json_string_value(json_object_get(config, "created"))));
    sqlite3_bind_int64(st, 5, size);
    sqlite3_bind_text(st, 6, labels_text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return berr_set(e, -EIO, "record image %s: %s", id, sqlite3_errmsg(s->db));
    return 0;
}

int images_register(rt_image_store *s, const char *id, json_t *config, const layer_rec *layers, size_t n,
                    berr *e)
{
    for (size_t i = 0; i < n; i++)
        if (!rt_driver_layer_exists(s->driver, layers[i].chain_id))
            return berr_set(e, -EAGAIN, "layer %s was removed while the image was being stored; try again",
                            layers[i].chain_id);
    int r = sql_exec(s->db, "BEGIN IMMEDIATE", e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++)
        r = images_insert_layer(s, &layers[i], e);
    if (r == 0)
        r = insert_image(s, id, config, layers, n, e);
    if (r == 0)
        r = sql_exec(s->db, "COMMIT", e);
    if (r < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

void images_transfer_begin(rt_image_store *s) { s->transfers++; }

void images_transfer_end(rt_image_store *s)
{
    if (--s->transfers == 0 && s->gc_pending)
        images_gc(s, NULL);
}

/* The name of img that name (as the user typed it) refers to: one of its
 * tags (digest = false) or of its digests, or NULL. */
static const char *named_ref(const rt_image *img, const char *name, bool digest)
{
    image_ref ref;
    if (ref_parse(name, &ref, NULL) < 0 || !ref.digest[0] != !digest)
        return NULL;
    if (digest)
        ref.tag[0] = 0;   /* name:tag@digest is stored as name@digest */
    ref_default_tag(&ref);
    char text[REF_NAME_MAX + REF_TAG_MAX + DIGEST_BUF + 2];
    ref_format(&ref, text, sizeof text);
    char *const *list = digest ? img->digests : img->tags;
    size_t n = digest ? img->n_digests : img->n_tags;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], text) == 0)
            return list[i];
    return NULL;
}

const char *rt_image_named_tag(const rt_image *img, const char *name) { return named_ref(img, name, false); }
const char *rt_image_named_digest(const rt_image *img, const char *name) { return named_ref(img, name, true); }
