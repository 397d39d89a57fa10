/* raft/fsm.c on libraft's deterministic fixture: three members apply the
 * same entries and end with byte-identical SQLite databases, through leader
 * changes and a snapshot install; preconditions fail all or nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "raft/fsm.h"

#define N 3

typedef struct cluster {
    struct raft_fixture f;
    cs_fsm *fsm[N];
    unsigned watched[N];   /* entries each member's watcher saw */
    unsigned resyncs[N];   /* snapshot restores each watcher heard of */
} cluster;

typedef struct watch_arg {
    cluster *c;
    unsigned i;
} watch_arg;
static watch_arg watch_args[N];

static void on_apply(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    watch_arg *w = arg;
    if (n == 0) {
        w->c->resyncs[w->i]++;
        return;
    }
    assert_true(index > 0);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].type == CS_PUT)
            assert_int_equal(json_integer_value(json_object_get(json_object_get(ops[i].doc, "Version"), "Index")),
                             index);
        else
            assert_null(ops[i].doc);
    }
    w->c->watched[w->i]++;
}

static int setup(void **state)
{
    cluster *c = calloc(1, sizeof *c);
    assert_int_equal(raft_fixture_initialize(&c->f), 0);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(cs_fsm_new(&c->fsm[i], NULL), 0);
        assert_int_equal(raft_fixture_grow(&c->f, cs_fsm_raft(c->fsm[i])), 0);
        watch_args[i] = (watch_arg){c, i};
        assert_int_equal(cs_fsm_watch(c->fsm[i], on_apply, &watch_args[i]), 0);
    }
    /* Attach only after growing: the fixture keeps its servers in place. */
    for (unsigned i = 0; i < N; i++)
        cs_fsm_attach(c->fsm[i], raft_fixture_get(&c->f, i));
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(&c->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(&c->f, &conf), 0);
    raft_configuration_close(&conf);
    assert_int_equal(raft_fixture_start(&c->f), 0);
    raft_fixture_elect(&c->f, 0);
    assert_int_equal(raft_fixture_leader_index(&c->f), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    cluster *c = *state;
    raft_fixture_close(&c->f);
    for (unsigned i = 0; i < N; i++)
        cs_fsm_free(c->fsm[i]);
    free(c);
    return 0;
}

/* ---- helpers ----------------------------------------------------------------- */

typedef struct outcome {
    bool done;
    int raft_status;
    int status;
    uint64_t index;
    char msg[256];
} outcome;

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    outcome *o = req->data;
    o->done = true;
    o->raft_status = status;
    if (status == 0) {
        const cs_fsm_result *r = result;
        o->status = r->status;
        o->index = r->index;
        snprintf(o->msg, sizeof o->msg, "%s", r->msg);
    }
}

#define ALL ((1u << N) - 1)

/* Appends buf on the leader and steps until the leader and the members in
 * the bitmask `wait` applied it. */
static outcome apply_raw(cluster *c, struct raft_buffer buf, unsigned wait)
{
    unsigned l = raft_fixture_leader_index(&c->f);
    assert_true(l < N);
    struct raft_apply req = {0};
    outcome o = {0};
    req.data = &o;
    assert_int_equal(raft_apply(raft_fixture_get(&c->f, l), &req, &buf, 1, apply_cb), 0);
    bool ok = raft_fixture_step_until_applied(&c->f, l, req.index, 10000);
    if (!ok)
        fprintf(stderr, "leader %u index %llu: applied %llu %llu %llu states %d %d %d\n", l, req.index,
                raft_last_applied(raft_fixture_get(&c->f, 0)), raft_last_applied(raft_fixture_get(&c->f, 1)),
                raft_last_applied(raft_fixture_get(&c->f, 2)), raft_state(raft_fixture_get(&c->f, 0)),
                raft_state(raft_fixture_get(&c->f, 1)), raft_state(raft_fixture_get(&c->f, 2)));
    assert_true(ok);
    assert_true(o.done);
    assert_int_equal(o.raft_status, 0);
    assert_int_equal(o.index, req.index);
    for (unsigned i = 0; i < N; i++)
        if (wait & (1u << i))
            assert_true(raft_fixture_step_until_applied(&c->f, i, req.index, 10000));
    return o;
}

static outcome propose(cluster *c, const cs_op *ops, size_t n)
{
    struct raft_buffer buf;
    assert_int_equal(cs_command_encode(ops, n, &buf, NULL), 0);
    return apply_raw(c, buf, ALL);
}

static cs_op put(cs_kind kind, const char *id, int64_t if_version, json_t *doc)
{
    cs_op op = {.type = CS_PUT, .kind = kind, .doc = doc, .if_version = if_version};
    snprintf(op.id, sizeof op.id, "%s", id);
    return op;
}

static cs_op del(cs_kind kind, const char *id, int64_t if_version)
{
    cs_op op = {.type = CS_DEL, .kind = kind, .if_version = if_version};
    snprintf(op.id, sizeof op.id, "%s", id);
    return op;
}

static outcome put1(cluster *c, cs_kind kind, const char *id, int64_t if_version, const char *name)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:s}}", "ID", id, "CreatedAt", "2024-01-01T00:00:00Z", "UpdatedAt",
                            "2024-01-02T00:00:00Z", "Spec", "Name", name);
    cs_op op = put(kind, id, if_version, doc);
    outcome o = propose(c, &op, 1);
    json_decref(doc);
    return o;
}

static char *dump(cs_fsm *f)
{
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(cs_fsm_db(f), "SELECT kind, id, seq, doc FROM objects ORDER BY kind, id", -1, &st, NULL),
        SQLITE_OK);
    size_t cap = 1024, len = 0;
    char *out = calloc(1, cap);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char line[4096];
        int n = snprintf(line, sizeof line, "%s|%s|%lld|%s\n", sqlite3_column_text(st, 0),
                         sqlite3_column_text(st, 1), (long long)sqlite3_column_int64(st, 2),
                         sqlite3_column_text(st, 3));
        while (len + (size_t)n + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, line, (size_t)n + 1);
        len += (size_t)n;
    }
    sqlite3_finalize(st);
    return out;
}

static json_t *get(cs_fsm *f, const char *kind, const char *id)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(cs_fsm_db(f), "SELECT doc FROM objects WHERE kind = ? AND id = ?", -1, &st,
                                        NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    json_t *doc = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_finalize(st);
    return doc;
}

static int64_t version_of(cs_fsm *f, const char *kind, const char *id)
{
    json_t *doc = get(f, kind, id);
    if (!doc)
        return -1;
    int64_t v = json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
    json_decref(doc);
    return v;
}

/* The members in `which` (a bitmask) hold the same rows and the same bytes. */
static void assert_identical(cluster *c, unsigned which)
{
    char *ref_dump = NULL;
    unsigned char *ref = NULL;
    size_t ref_len = 0;
    for (unsigned i = 0; i < N; i++) {
        if (!(which & (1u << i)))
            continue;
        size_t len;
        unsigned char *bytes = cs_fsm_serialize(c->fsm[i], &len);
        char *d = dump(c->fsm[i]);
        assert_non_null(bytes);
        if (!ref) {
            ref = bytes;
            ref_len = len;
            ref_dump = d;
            continue;
        }
        assert_string_equal(d, ref_dump);
        assert_int_equal(len, ref_len);
        assert_memory_equal(bytes, ref, len);
        sqlite3_free(bytes);
        free(d);
    }
    sqlite3_free(ref);
    free(ref_dump);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_codec(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:s, s:{s:i}}", "ID", "abc", "Spec", "Replicas", 3);
    cs_op ops[2] = {put(CS_SERVICE, "abc", 7, doc), del(CS_TASK, "t1", -1)};
    struct raft_buffer buf;
    assert_int_equal(cs_command_encode(ops, 2, &buf, NULL), 0);
    assert_int_equal(buf.len % 8, 0); /* raft_uv's requirement */
    cs_op *back;
    size_t n;
    assert_int_equal(cs_command_decode(buf.base, buf.len, &back, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(back[0].type, CS_PUT);
    assert_int_equal(back[0].kind, CS_SERVICE);
    assert_string_equal(back[0].id, "abc");
    assert_int_equal(back[0].if_version, 7);
    assert_true(json_equal(back[0].doc, doc));
    assert_int_equal(back[1].type, CS_DEL);
    assert_int_equal(back[1].kind, CS_TASK);
    assert_int_equal(back[1].if_version, -1);
    assert_null(back[1].doc);
    cs_ops_free(back, n);

    /* Truncated and trailing bytes are refused, never half-read; zeros up
     * to the next multiple of 8 are padding. */
    berr e = {0};
    assert_int_equal(cs_command_decode(buf.base, buf.len - 8, &back, &n, &e), -EINVAL);
    char *longer = calloc(1, buf.len + 8);
    memcpy(longer, buf.base, buf.len);
    assert_int_equal(cs_command_decode(longer, buf.len + 8, &back, &n, &e), -EINVAL);
    longer[buf.len] = 1;
    assert_int_equal(cs_command_decode(longer, buf.len + 1, &back, &n, &e), -EINVAL);
    free(longer);
    raft_free(buf.base);
    assert_int_equal(cs_command_decode("\x80", 1, &back, &n, &e), -EINVAL);

    /* Bad ops are refused at encode time. */
    cs_op bad = put(CS_SERVICE, "", -1, doc);
    assert_int_equal(cs_command_encode(&bad, 1, &buf, &e), -EINVAL);
    bad = put(CS_SERVICE, "x", -1, NULL);
    assert_int_equal(cs_command_encode(&bad, 1, &buf, &e), -EINVAL);
    bad = put(CS_SERVICE, "x", -2, doc);
    assert_int_equal(cs_command_encode(&bad, 1, &buf, &e), -EINVAL);
    bad = put((cs_kind)CS_KIND_N, "x", -1, doc);
    assert_int_equal(cs_command_encode(&bad, 1, &buf, &e), -EINVAL);
    assert_int_equal(cs_command_encode(ops, 0, &buf, &e), -EINVAL);
    json_decref(doc);
    assert_string_equal(cs_kind_name(CS_CONFIG), "config");
}

static void test_replicate(void **state)
{
    cluster *c = *state;
    outcome a = put1(c, CS_SERVICE, "svc1", 0, "web");
    assert_int_equal(a.status, 0);
    outcome b = put1(c, CS_SERVICE, "svc2", 0, "db");
    assert_int_equal(b.status, 0);
    assert_true(b.index > a.index);
    assert_identical(c, ALL);

    /* Version.Index is the entry's raft index on every member. */
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(version_of(c->fsm[i], "service", "svc1"), a.index);

    /* An update at the right version; CreatedAt stays the first one's. */
    json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:s}}", "ID", "svc1", "CreatedAt", "2030-01-01T00:00:00Z",
                            "UpdatedAt", "2030-01-01T00:00:00Z", "Spec", "Name", "web2");
    cs_op op = put(CS_SERVICE, "svc1", (int64_t)a.index, doc);
    outcome u = propose(c, &op, 1);
    json_decref(doc);
    assert_int_equal(u.status, 0);
    for (unsigned i = 0; i < N; i++) {
        json_t *d = get(c->fsm[i], "service", "svc1");
        assert_string_equal(json_string_value(json_object_get(d, "CreatedAt")), "2024-01-01T00:00:00Z");
        assert_string_equal(json_string_value(json_object_get(d, "UpdatedAt")), "2030-01-01T00:00:00Z");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "Version"), "Index")), u.index);
        json_decref(d);
    }

    /* Several ops in one entry, then a delete. */
    json_t *t1 = json_pack("{s:s, s:s}", "ID", "t1", "ServiceID", "svc1");
    json_t *t2 = json_pack("{s:s, s:s}", "ID", "t2", "ServiceID", "svc1");
    cs_op ops[2] = {put(CS_TASK, "t1", 0, t1), put(CS_TASK, "t2", 0, t2)};
    assert_int_equal(propose(c, ops, 2).status, 0);
    json_decref(t1);
    json_decref(t2);
    cs_op d = del(CS_SERVICE, "svc2", (int64_t)b.index);
    assert_int_equal(propose(c, &d, 1).status, 0);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(version_of(c->fsm[i], "service", "svc2"), -1);
        assert_true(version_of(c->fsm[i], "task", "t2") > 0);
        assert_int_equal(c->watched[i], 5);
    }
    assert_identical(c, ALL);
}

static void test_preconditions(void **state)
{
    cluster *c = *state;
    outcome a = put1(c, CS_NODE, "n1", 0, "node-1");
    assert_int_equal(a.status, 0);

    /* if_version 0 on an existing object. */
    outcome o = put1(c, CS_NODE, "n1", 0, "again");
    assert_int_equal(o.status, -EEXIST);

    /* A stale version: Docker's words. */
    o = put1(c, CS_NODE, "n1", (int64_t)a.index + 100, "stale");
    assert_int_equal(o.status, -EAGAIN);
    assert_string_equal(o.msg, "update out of sequence");

    /* Missing objects. */
    cs_op d = del(CS_NODE, "nope", -1);
    assert_int_equal(propose(c, &d, 1).status, -ENOENT);
    o = put1(c, CS_NODE, "nope", 3, "x");
    assert_int_equal(o.status, -ENOENT);
    d = del(CS_NODE, "n1", (int64_t)a.index + 1);
    assert_int_equal(propose(c, &d, 1).status, -EAGAIN);

    /* All or nothing: the second op fails, so the first is not applied. */
    json_t *x = json_pack("{s:s}", "ID", "fresh");
    json_t *y = json_pack("{s:s}", "ID", "n1");
    cs_op ops[2] = {put(CS_NODE, "fresh", -1, x), put(CS_NODE, "n1", 0, y)};
    o = propose(c, ops, 2);
    assert_int_equal(o.status, -EEXIST);
    /* Within one entry later ops see earlier ones: delete then re-create works. */
    cs_op ok[2] = {del(CS_NODE, "n1", (int64_t)a.index), put(CS_NODE, "n1", 0, y)};
    outcome r = propose(c, ok, 2);
    assert_int_equal(r.status, 0);
    json_decref(x);
    json_decref(y);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(version_of(c->fsm[i], "node", "fresh"), -1);
        assert_int_equal(version_of(c->fsm[i], "node", "n1"), r.index);
        /* Only the two successful entries reached the watchers. */
        assert_int_equal(c->watched[i], 2);
    }

    /* Garbage in the log is consumed alike everywhere and changes nothing. */
    struct raft_buffer junk = {raft_malloc(8), 8};
    memcpy(junk.base, "junk!!!!", 8);
    o = apply_raw(c, junk, ALL);
    assert_int_equal(o.status, -EINVAL);
    assert_identical(c, ALL);
}

static void test_leader_change(void **state)
{
    cluster *c = *state;
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(put1(c, CS_SERVICE, id, 0, id).status, 0);
    }
    assert_identical(c, ALL);

    /* Depose the leader and elect member 1; writes go on through it. */
    raft_fixture_depose(&c->f);
    raft_fixture_elect(&c->f, 1);
    assert_int_equal(raft_fixture_leader_index(&c->f), 1);
    for (int i = 5; i < 10; i++) {
        snprintf(id, sizeof id, "s%d", i);
        assert_int_equal(put1(c, CS_SERVICE, id, 0, id).status, 0);
    }
    assert_identical(c, ALL);

    /* Kill the new leader: the two left elect one and write on. */
    unsigned dead = raft_fixture_leader_index(&c->f);
    raft_fixture_kill(&c->f, dead);
    /* The fixture notices a dead leader only on its next step. */
    assert_true(raft_fixture_step_until_has_no_leader(&c->f, 20000));
    assert_true(raft_fixture_step_until_has_leader(&c->f, 20000));
    assert_int_not_equal(raft_fixture_leader_index(&c->f), dead);
    unsigned alive = ALL & ~(1u << dead);
    outcome last = {0};
    for (int i = 10; i < 15; i++) {
        snprintf(id, sizeof id, "s%d", i);
        json_t *doc = json_pack("{s:s}", "ID", id);
        cs_op op = put(CS_SERVICE, id, 0, doc);
        struct raft_buffer buf;
        assert_int_equal(cs_command_encode(&op, 1, &buf, NULL), 0);
        last = apply_raw(c, buf, alive);
        assert_int_equal(last.status, 0);
        json_decref(doc);
    }
    assert_identical(c, alive);

    /* Back from the dead, it catches up from the log. */
    raft_fixture_revive(&c->f, dead);
    assert_true(raft_fixture_step_until_applied(&c->f, dead, last.index, 30000));
    assert_identical(c, ALL);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(c->watched[i], 15);
}

static void test_snapshot_install(void **state)
{
    cluster *c = *state;
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(raft_fixture_get(&c->f, i), 8);
        raft_set_snapshot_trailing(raft_fixture_get(&c->f, i), 2);
    }
    char id[16];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "c%d", i);
        assert_int_equal(put1(c, CS_CONFIG, id, 0, id).status, 0);
    }

    /* Member 2 drops off the network while the others write well past a
     * snapshot and trim their logs. */
    for (unsigned i = 0; i < 2; i++) {
        raft_fixture_saturate(&c->f, i, 2);
        raft_fixture_saturate(&c->f, 2, i);
    }
    outcome last = {0};
    for (int i = 3; i < 40; i++) {
        snprintf(id, sizeof id, "c%d", i);
        json_t *doc = json_pack("{s:s}", "ID", id);
        cs_op op = put(CS_CONFIG, id, -1, doc);
        struct raft_buffer buf;
        assert_int_equal(cs_command_encode(&op, 1, &buf, NULL), 0);
        last = apply_raw(c, buf, 3);
        assert_int_equal(last.status, 0);
        json_decref(doc);
    }
    /* Updates and deletes too, so the snapshot is not just appends. */
    cs_op d = del(CS_CONFIG, "c1", -1);
    struct raft_buffer buf;
    assert_int_equal(cs_command_encode(&d, 1, &buf, NULL), 0);
    last = apply_raw(c, buf, 3);
    assert_int_equal(last.status, 0);

    struct raft *leader = raft_fixture_get(&c->f, raft_fixture_leader_index(&c->f));
    assert_true(leader->log.snapshot.last_index > 3);
    assert_identical(c, 3);
    assert_int_equal(cs_fsm_restores(c->fsm[2]), 0);

    /* Reconnected, it is behind the leader's trimmed log: only a snapshot
     * can catch it up. */
    for (unsigned i = 0; i < 2; i++) {
        raft_fixture_desaturate(&c->f, i, 2);
        raft_fixture_desaturate(&c->f, 2, i);
    }
    assert_true(raft_fixture_step_until_applied(&c->f, 2, last.index, 60000));
    assert_true(cs_fsm_restores(c->fsm[2]) >= 1);
    assert_true(c->resyncs[2] >= 1);
    assert_identical(c, ALL);

    /* And it keeps applying normally after the restore. */
    assert_int_equal(put1(c, CS_CONFIG, "after", 0, "after").status, 0);
    assert_identical(c, ALL);
    assert_int_equal(version_of(c->fsm[2], "config", "c1"), -1);
    assert_true(version_of(c->fsm[2], "config", "c39") > 0);
}

/* A restore from another member's snapshot, driven directly. */
static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    cs_fsm *a, *b;
    assert_int_equal(cs_fsm_new(&a, NULL), 0);
    assert_int_equal(cs_fsm_new(&b, NULL), 0);
    json_t *doc = json_pack("{s:s}", "ID", "x");
    cs_op op = put(CS_SECRET, "x", 0, doc);
    struct raft_buffer cmd;
    assert_int_equal(cs_command_encode(&op, 1, &cmd, NULL), 0);
    void *result;
    assert_int_equal(cs_fsm_raft(a)->apply(cs_fsm_raft(a), &cmd, &result), 0);
    assert_int_equal(((cs_fsm_result *)result)->status, 0);
    assert_int_equal(((cs_fsm_result *)result)->index, 1);
    raft_free(cmd.base);
    json_decref(doc);

    struct raft_buffer *bufs;
    unsigned n;
    assert_int_equal(cs_fsm_raft(a)->snapshot(cs_fsm_raft(a), &bufs, &n), 0);
    assert_int_equal(n, 1);
    /* Not a database: refused, and b stays usable. */
    struct raft_buffer junk = {raft_calloc(1, 1024), 1024};
    assert_int_not_equal(cs_fsm_raft(b)->restore(cs_fsm_raft(b), &junk), 0);
    raft_free(junk.base);
    assert_int_equal(cs_fsm_raft(b)->restore(cs_fsm_raft(b), &bufs[0]), 0); /* takes bufs[0].base */
    raft_free(bufs);
    assert_int_equal(version_of(b, "secret", "x"), 1);
    assert_int_equal(cs_fsm_restores(b), 1);
    char *da = dump(a), *db = dump(b);
    assert_string_equal(da, db);
    free(da);
    free(db);
    cs_fsm_free(a);
    cs_fsm_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test_setup_teardown(test_replicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_install, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
