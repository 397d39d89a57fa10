/* The cluster store's state machine (see fsm.h for the command format and
 * how the entry's raft index is found). */
#include "raft/fsm.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/msgpack_check.h"

static const char *const kind_names[CS_KIND_N] = {
    [CS_CLUSTER] = "cluster", [CS_NODE] = "node",       [CS_SERVICE] = "service",
    [CS_TASK] = "task",       [CS_NETWORK] = "network", [CS_SECRET] = "secret",
    [CS_CONFIG] = "config",
};

const char *cs_kind_name(cs_kind k)
{
    return (unsigned)k < CS_KIND_N ? kind_names[k] : "unknown";
}

static int kind_from_name(const char *s, size_t len, cs_kind *out)
{
    for (int k = 0; k < CS_KIND_N; k++)
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], s, len) == 0) {
            *out = (cs_kind)k;
            return 0;
        }
    return -EINVAL;
}

/* Statements prepared once and reused for every entry; a restore replaces
 * the database under them, so they are finalized then and prepared again
 * on first use. */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_LOOKUP,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE,
    ST_N,
};

static const char *const stmt_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* json_extract spares parsing the whole stored document just to check a
     * version and carry CreatedAt over. */
    [ST_LOOKUP] = "SELECT json_extract(doc, '$.Version.Index'), json_extract(doc, '$.CreatedAt') "
                  "FROM objects WHERE kind = ?1 AND id = ?2",
    [ST_INSERT] = "INSERT INTO objects(kind, id, seq, doc) VALUES (?1, ?2, ?3, ?4)",
    [ST_UPDATE] = "UPDATE objects SET doc = ?3 WHERE kind = ?1 AND id = ?2",
    [ST_DELETE] = "DELETE FROM objects WHERE kind = ?1 AND id = ?2",
};

static const char schema_sql[] =
    "CREATE TABLE objects (kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, "
    "doc TEXT NOT NULL, PRIMARY KEY (kind, id));"
    "CREATE INDEX objects_seq ON objects(kind, seq);"
    CS_NODE_INDEX_SQL;

typedef struct watcher {
    cs_watch_fn fn;
    void *arg;
} watcher;

struct cs_fsm {
    struct raft_fsm raft_fsm;
    sqlite3 *db;
    struct raft *raft;
    uint64_t own_index;           /* only without an attached raft */
    sqlite3_stmt *st[ST_N];
    cs_fsm_result result;
    watcher watchers[CS_MAX_WATCHERS];
    unsigned n_watchers;
    unsigned restores;
};

static void finalize_stmts(cs_fsm *f)
{
    for (int i = 0; i < ST_N; i++) {
        sqlite3_finalize(f->st[i]);
        f->st[i] = NULL;
    }
}

static sqlite3_stmt *stmt(cs_fsm *f, int which)
{
    if (!f->st[which] && sqlite3_prepare_v3(f->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                            &f->st[which], NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(f->st[which]);
    sqlite3_clear_bindings(f->st[which]);
    return f->st[which];
}

/* Runs a statement that returns no rows (BEGIN, COMMIT, ...). */
static int exec_stmt(cs_fsm *f, int which)
{
    sqlite3_stmt *s = stmt(f, which);
    if (!s)
        return sqlite3_errcode(f->db);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- commands ------------------------------------------------------------ */

int cs_op_validate(const cs_op *op, berr *e)
{
    if ((unsigned)op->kind >= CS_KIND_N)
        return berr_set(e, -EINVAL, "invalid object kind %d", (int)op->kind);
    size_t idlen = strnlen(op->id, sizeof op->id);
    if (idlen == 0 || idlen == sizeof op->id)
        return berr_set(e, -EINVAL, "invalid %s ID", cs_kind_name(op->kind));
    if (op->type != CS_PUT && op->type != CS_DEL)
        return berr_set(e, -EINVAL, "invalid operation type %d", (int)op->type);
    if (op->type == CS_PUT && !json_is_object(op->doc))
        return berr_set(e, -EINVAL, "%s %s: the document must be a JSON object", cs_kind_name(op->kind),
                        op->id);
    if (op->if_version < -1)
        return berr_set(e, -EINVAL, "invalid version %lld", (long long)op->if_version);
    return 0;
}

/* msgpack writes through this straight into raft_malloc'd memory, so the
 * encoded entry needs no second copy for raft_apply. */
typedef struct rbuf {
    char *data;
    size_t len, cap;
    bool oom;
} rbuf;

static int rbuf_write(void *data, const char *p, size_t n)
{
    rbuf *b = data;
    if (b->oom)
        return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *nd = raft_realloc(b->data, cap);
        if (!nd) {
            b->oom = true;
            return -1;
        }
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int cs_command_encode(const cs_op *ops, size_t n, struct raft_buffer *out, berr *e)
{
    if (n == 0 || n > CS_MAX_OPS)
        return berr_set(e, -EINVAL, "a proposal needs 1 to %u operations", CS_MAX_OPS);
    for (size_t i = 0; i < n; i++) {
        int rc = cs_op_validate(&ops[i], e);
        if (rc < 0)
            return rc;
    }

    rbuf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, rbuf_write);
    msgpack_pack_map(&pk, 2);
    pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_cstr(&pk, "ops");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        const cs_op *op = &ops[i];
        msgpack_pack_map(&pk, op->type == CS_PUT ? 5 : 4);
        pack_cstr(&pk, "kind");
        pack_cstr(&pk, cs_kind_name(op->kind));
        pack_cstr(&pk, "id");
        pack_cstr(&pk, op->id);
        pack_cstr(&pk, "type");
        pack_cstr(&pk, op->type == CS_PUT ? "put" : "del");
        pack_cstr(&pk, "if_version");
        msgpack_pack_int64(&pk, op->if_version);
        if (op->type == CS_PUT) {
            char *text = json_dumps(op->doc, JSON_COMPACT);
            if (!text) {
                raft_free(b.data);
                return berr_set(e, -EINVAL, "%s %s: cannot encode the document", cs_kind_name(op->kind),
                                op->id);
            }
            pack_cstr(&pk, "doc");
            pack_cstr(&pk, text);
            free(text);
        }
    }
    /* raft_uv stores each entry's length but lays its data out padded to 8
     * bytes, and reads it back by the stored length: an entry whose length
     * is not a multiple of 8 corrupts the segment for the next load
     * (canonical/raft issues #189, #304).  Zeros after the msgpack object
     * make the length right; decode accepts them. */
    static const char zeros[8];
    if (b.len % 8)
        rbuf_write(&b, zeros, 8 - b.len % 8);
    if (b.oom) {
        raft_free(b.data);
        return berr_set(e, -ENOMEM, "out of memory encoding a proposal");
    }
    out->base = b.data;
    out->len = b.len;
    return 0;
}

static bool key_is(const msgpack_object_kv *kv, const char *name)
{
    return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(name) &&
           memcmp(kv->key.via.str.ptr, name, kv->key.via.str.size) == 0;
}

static bool get_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

static int decode_op(const msgpack_object *o, cs_op *op, berr *e)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return berr_set(e, -EINVAL, "malformed command: an operation is not a map");
    bool have_kind = false, have_id = false, have_type = false, have_ver = false;
    const msgpack_object *doc = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        const msgpack_object *v = &kv->val;
        if (key_is(kv, "kind")) {
            if (v->type != MSGPACK_OBJECT_STR || kind_from_name(v->via.str.ptr, v->via.str.size, &op->kind) < 0)
                return berr_set(e, -EINVAL, "malformed command: bad kind");
            have_kind = true;
        } else if (key_is(kv, "id")) {
            if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || v->via.str.size >= sizeof op->id ||
                memchr(v->via.str.ptr, 0, v->via.str.size))
                return berr_set(e, -EINVAL, "malformed command: bad id");
            memcpy(op->id, v->via.str.ptr, v->via.str.size);
            op->id[v->via.str.size] = 0;
            have_id = true;
        } else if (key_is(kv, "type")) {
            if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 3 && !memcmp(v->via.str.ptr, "put", 3))
                op->type = CS_PUT;
            else if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 3 && !memcmp(v->via.str.ptr, "del", 3))
                op->type = CS_DEL;
            else
                return berr_set(e, -EINVAL, "malformed command: bad type");
            have_type = true;
        } else if (key_is(kv, "if_version")) {
            if (!get_int(v, &op->if_version) || op->if_version < -1)
                return berr_set(e, -EINVAL, "malformed command: bad if_version");
            have_ver = true;
        } else if (key_is(kv, "doc")) {
            if (v->type != MSGPACK_OBJECT_STR)
                return berr_set(e, -EINVAL, "malformed command: bad doc");
            doc = v;
        }
        /* Unknown keys are ignored: a newer proposer may add fields. */
    }
    if (!have_kind || !have_id || !have_type || !have_ver)
        return berr_set(e, -EINVAL, "malformed command: an operation lacks a field");
    if (op->type == CS_PUT) {
        if (!doc)
            return berr_set(e, -EINVAL, "malformed command: put without doc");
        json_error_t je;
        op->doc = json_loadb(doc->via.str.ptr, doc->via.str.size, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(op->doc)) {
            json_decref(op->doc);
            op->doc = NULL;
            return berr_set(e, -EINVAL, "malformed command: doc is not a JSON object");
        }
    }
    return 0;
}

/* What may follow the msgpack object: the zeros padding it to 8 bytes. */
static bool only_padding(const void *data, size_t off, size_t len)
{
    if (len - off >= 8)
        return false;
    for (size_t i = off; i < len; i++)
        if (((const unsigned char *)data)[i])
            return false;
    return true;
}

int cs_command_decode(const void *data, size_t len, cs_op **out, size_t *n_out, berr *e)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    cs_op *ops = NULL;
    size_t n = 0;
    int rc = -EINVAL;

    /* The bytes may come from another node: check every count before
     * msgpack-c allocates for it. */
    if (!mp_well_formed(data, len, NULL) ||
        msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS || !only_padding(data, off, len) ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        berr_set(e, -EINVAL, "malformed command");
        goto out;
    }
    int64_t version = 0;
    const msgpack_object *list = NULL;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (key_is(kv, "v") && !get_int(&kv->val, &version))
            version = 0;
        else if (key_is(kv, "ops") && kv->val.type == MSGPACK_OBJECT_ARRAY)
            list = &kv->val;
    }
    if (version != 1) {
        berr_set(e, -EINVAL, "unsupported command version %lld", (long long)version);
        goto out;
    }
    if (!list || list->via.array.size == 0 || list->via.array.size > CS_MAX_OPS) {
        berr_set(e, -EINVAL, "malformed command: no operations");
        goto out;
    }
    ops = xcalloc(list->via.array.size, sizeof *ops);
    for (n = 0; n < list->via.array.size; n++) {
        ops[n].if_version = -1;
        if (decode_op(&list->via.array.ptr[n], &ops[n], e) < 0)
            goto out;
    }
    *out = ops;
    *n_out = n;
    ops = NULL;
    rc = 0;
out:
    if (ops)
        cs_ops_free(ops, n);
    msgpack_unpacked_destroy(&u);
    return rc;
}

void cs_ops_free(cs_op *ops, size_t n)
{
    if (!ops)
        return;
    for (size_t i = 0; i < n; i++)
        json_decref(ops[i].doc);
    free(ops);
}

/* ---- apply ----------------------------------------------------------------- */

static int fail(cs_fsm_result *res, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cs_fsm_result *res, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
    res->status = status;
    return status;
}

/* Applies one op inside the entry's transaction.  Returns 0, a negative
 * errno for a failed precondition (res filled), or a positive SQLite code
 * for a database failure. */
static int apply_op(cs_fsm *f, uint64_t index, size_t pos, cs_op *op, cs_fsm_result *res)
{
    const char *kind = cs_kind_name(op->kind);
    sqlite3_stmt *s = stmt(f, ST_LOOKUP);
    if (!s)
        return sqlite3_errcode(f->db);
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, op->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    bool exists = rc == SQLITE_ROW;
    if (!exists && rc != SQLITE_DONE)
        return rc;
    int64_t cur_version = exists ? sqlite3_column_int64(s, 0) : 0;
    const unsigned char *created = exists ? sqlite3_column_text(s, 1) : NULL;
    char *created_at = created ? xstrdup((const char *)created) : NULL;
    sqlite3_reset(s);

    int status = 0;
    if (op->if_version == 0 && exists)
        status = fail(res, -EEXIST, "%s %s already exists", kind, op->id);
    else if (!exists && (op->type == CS_DEL || op->if_version > 0))
        status = fail(res, -ENOENT, "%s %s not found", kind, op->id);
    else if (op->if_version > 0 && cur_version != op->if_version)
        /* Docker's own words for an update against a stale version. */
        status = fail(res, -EAGAIN, "update out of sequence");
    if (status) {
        free(created_at);
        return status;
    }

    if (op->type == CS_DEL) {
        free(created_at);
        s = stmt(f, ST_DELETE);
        if (!s)
            return sqlite3_errcode(f->db);
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, op->id, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : rc;
    }

    /* Every member edits the proposer's bytes the same way, so the stored
     * documents are identical everywhere. */
    json_t *ver = json_object_get(op->doc, "Version");
    if (json_is_object(ver))
        json_object_set_new(ver, "Index", json_integer((json_int_t)index));
    else
        json_object_set_new(op->doc, "Version", json_pack("{s:I}", "Index", (json_int_t)index));
    if (created_at)
        json_object_set_new(op->doc, "CreatedAt", json_string(created_at));
    free(created_at);
    char *text = json_dumps(op->doc, JSON_COMPACT);
    if (!text)
        return SQLITE_NOMEM;

    s = stmt(f, exists ? ST_UPDATE : ST_INSERT);
    if (!s) {
        free(text);
        return sqlite3_errcode(f->db);
    }
    sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, op->id, -1, SQLITE_STATIC);
    if (exists) {
        sqlite3_bind_text(s, 3, text, -1, free);
    } else {
        sqlite3_bind_int64(s, 3, (sqlite3_int64)((index << 20) | pos));
        sqlite3_bind_text(s, 4, text, -1, free);
    }
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : rc;
}

static int fsm_apply(struct raft_fsm *rf, const struct raft_buffer *buf, void **result)
{
    cs_fsm *f = rf->data;
    cs_fsm_result *res = &f->result;
    uint64_t index = f->raft ? raft_last_applied(f->raft) + 1 : ++f->own_index;
    memset(res, 0, sizeof *res);
    res->index = index;
    *result = res;

    /* A malformed entry is consumed alike on every member: the status goes
     * to the proposer and the database is untouched. */
    cs_op *ops = NULL;
    size_t n = 0;
    berr e = {0};
    if (cs_command_decode(buf->base, buf->len, &ops, &n, &e) < 0) {
        fail(res, -EINVAL, "%s", e.msg);
        return 0;
    }

    int rc = exec_stmt(f, ST_BEGIN);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
        rc = apply_op(f, index, i, &ops[i], res);
    if (rc == SQLITE_OK)
        rc = exec_stmt(f, ST_COMMIT);
    if (rc != SQLITE_OK) {
        exec_stmt(f, ST_ROLLBACK);
        cs_ops_free(ops, n);
        if (rc < 0)
            return 0; /* a precondition failed: all or nothing, nothing it is */
        /* The database itself failed (in memory: out of memory).  Telling
         * raft keeps the entry unapplied here rather than letting this
         * member diverge from the others. */
        if (!f->raft)
            f->own_index--;
        return rc == SQLITE_NOMEM ? RAFT_NOMEM : RAFT_IOERR;
    }

    for (unsigned w = 0; w < f->n_watchers; w++)
        f->watchers[w].fn(f->watchers[w].arg, index, ops, n);
    cs_ops_free(ops, n);
    return 0;
}

/* ---- snapshots ------------------------------------------------------------- */

unsigned char *cs_fsm_serialize(cs_fsm *f, size_t *len)
{
    sqlite3_int64 size = 0;
    unsigned char *data = sqlite3_serialize(f->db, "main", &size, 0);
    *len = data ? (size_t)size : 0;
    return data;
}

/* The whole database in one buffer; libraft frees it with raft_free. */
static int fsm_snapshot(struct raft_fsm *rf, struct raft_buffer *bufs[], unsigned *n_bufs)
{
    cs_fsm *f = rf->data;
    size_t len;
    unsigned char *data = cs_fsm_serialize(f, &len);
    if (!data)
        return RAFT_NOMEM;
    struct raft_buffer *b = raft_malloc(sizeof *b);
    void *copy = raft_malloc(len);
    if (!b || !copy) {
        raft_free(b);
        raft_free(copy);
        sqlite3_free(data);
        return RAFT_NOMEM;
    }
    memcpy(copy, data, len);
    sqlite3_free(data);
    b->base = copy;
    b->len = len;
    *bufs = b;
    *n_bufs = 1;
    return 0;
}

static int make_schema(sqlite3 *db)
{
    return sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
}

/* Replaces the database with a snapshot.  On success libraft hands us
 * buf->base, so it is freed here; on failure it stays libraft's. */
static int fsm_restore(struct raft_fsm *rf, struct raft_buffer *buf)
{
    cs_fsm *f = rf->data;
    static const char magic[16] = "SQLite format 3";
    if (buf->len < 512 || memcmp(buf->base, magic, sizeof magic) != 0)
        return RAFT_CORRUPT;
    unsigned char *copy = sqlite3_malloc64(buf->len);
    if (!copy)
        return RAFT_NOMEM;
    memcpy(copy, buf->base, buf->len);

    finalize_stmts(f);
    /* FREEONCLOSE: SQLite owns copy from here, even if this fails. */
    int rc = sqlite3_deserialize(f->db, "main", copy, (sqlite3_int64)buf->len, (sqlite3_int64)buf->len,
                                 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(f->db, "SELECT count(*) FROM objects", NULL, NULL, NULL);
    /* A snapshot of an older berthd has no index of tasks by node yet. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(f->db, CS_NODE_INDEX_SQL, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        /* Leave an empty, usable database rather than a broken one. */
        sqlite3_deserialize(f->db, "main", NULL, 0, 0, 0);
        make_schema(f->db);
        return rc == SQLITE_NOMEM ? RAFT_NOMEM : RAFT_CORRUPT;
    }
    raft_free(buf->base);
    f->restores++;
    /* The whole state changed at once: watchers hear it as an entry with no
     * ops, which level-triggered reconcilers take as "resync". */
    for (unsigned w = 0; w < f->n_watchers; w++)
        f->watchers[w].fn(f->watchers[w].arg, 0, NULL, 0);
    return 0;
}

int cs_fsm_load(cs_fsm *f, json_t *docs, berr *e)
{
    int rc = exec_stmt(f, ST_BEGIN);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(f->db, "DELETE FROM objects", NULL, NULL, NULL);
    uint64_t seq = 0;
    for (int k = 0; rc == SQLITE_OK && k < CS_KIND_N; k++) {
        size_t i;
        json_t *doc;
        json_array_foreach(json_object_get(docs, cs_kind_name((cs_kind)k)), i, doc) {
            const char *id = json_string_value(json_object_get(doc, "ID"));
            sqlite3_stmt *s = id && *id ? stmt(f, ST_INSERT) : NULL;
            if (!s)
                continue;
            sqlite3_bind_text(s, 1, cs_kind_name((cs_kind)k), -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(s, 3, (sqlite3_int64)++seq);
            sqlite3_bind_text(s, 4, json_dumps(doc, JSON_COMPACT), -1, free);
            int st = sqlite3_step(s);
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            /* A duplicate ID is the sender's mistake: the first one stays. */
            if (st != SQLITE_DONE && st != SQLITE_CONSTRAINT)
                rc = st;
        }
    }
    if (rc == SQLITE_OK)
        rc = exec_stmt(f, ST_COMMIT);
    if (rc != SQLITE_OK) {
        exec_stmt(f, ST_ROLLBACK);
        return berr_set(e, -EIO, "cluster store database: %s", sqlite3_errmsg(f->db));
    }
    for (unsigned w = 0; w < f->n_watchers; w++)
        f->watchers[w].fn(f->watchers[w].arg, 0, NULL, 0);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------- */

int cs_fsm_new(cs_fsm **out, berr *e)
{
    cs_fsm *f = xcalloc(1, sizeof *f);
    /* A private in-memory database (the raft log is the durable record) on
     * SQLite's memdb VFS, the same backend a restored snapshot runs on: a
     * plain ":memory:" database leaves the header's change counter and
     * version fields alone while memdb writes them, so members that
     * restored a snapshot would otherwise differ byte for byte from members
     * that applied the log.  A name without a leading '/' keeps it private
     * to this connection. */
    int rc = sqlite3_open_v2("file:cluster-store?vfs=memdb", &f->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL);
    if (rc == SQLITE_OK)
        rc = make_schema(f->db);
    if (rc != SQLITE_OK) {
        berr_set(e, -EIO, "cluster store database: %s", f->db ? sqlite3_errmsg(f->db) : sqlite3_errstr(rc));
        sqlite3_close(f->db);
        free(f);
        return -EIO;
    }
    f->raft_fsm.version = 1;
    f->raft_fsm.data = f;
    f->raft_fsm.apply = fsm_apply;
    f->raft_fsm.snapshot = fsm_snapshot;
    f->raft_fsm.restore = fsm_restore;
    *out = f;
    return 0;
}

void cs_fsm_free(cs_fsm *f)
{
    if (!f)
        return;
    finalize_stmts(f);
    sqlite3_close(f->db);
    free(f);
}

struct raft_fsm *cs_fsm_raft(cs_fsm *f) { return &f->raft_fsm; }
void cs_fsm_attach(cs_fsm *f, struct raft *r) { f->raft = r; }
sqlite3 *cs_fsm_db(cs_fsm *f) { return f->db; }
unsigned cs_fsm_restores(const cs_fsm *f) { return f->restores; }

int cs_fsm_watch(cs_fsm *f, cs_watch_fn fn, void *arg)
{
    if (f->n_watchers >= CS_MAX_WATCHERS)
        return -ENOSPC;
    f->watchers[f->n_watchers++] = (watcher){fn, arg};
    return 0;
}
