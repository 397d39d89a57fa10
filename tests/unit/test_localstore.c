/* node/localstore.c: opening, migrating and refusing newer databases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <limits.h>

#include <cmocka.h>

#include "node/localstore.h"

static char tmpdir[] = "/tmp/berth-test-localstore-XXXXXX";

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int group_setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void db_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static int pragma_int(sqlite3 *db, const char *pragma)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, pragma, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *pragma_text(sqlite3 *db, const char *pragma, char *out, size_t n)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, pragma, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static bool table_exists(sqlite3 *db, const char *name)
{
    cleanup_stmt sqlite3_stmt *st = NULL;
    berr e = {0};
    assert_int_equal(sql_prepare(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                                        &st, &e),
                     0);
    assert_int_equal(sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    return sqlite3_column_int(st, 0) == 1;
}

static void test_schema_version(void **state)
{
    (void)state;
    assert_true(localstore_schema_version() >= 1);
}

static void test_open_new_migrates(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path, "new.db");
    assert_int_not_equal(access(path, F_OK), 0);

    sqlite3 *db = NULL;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_non_null(db);
    assert_int_equal(e.code, 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(pragma_int(db, "PRAGMA user_version"), localstore_schema_version());
    assert_true(table_exists(db, "images"));
    assert_true(table_exists(db, "layers"));
    assert_true(table_exists(db, "image_tags"));
    assert_false(table_exists(db, "containers_not_yet"));
    /* the connection settings the store relies on */
    assert_int_equal(pragma_int(db, "PRAGMA foreign_keys"), 1);
    char mode[32];
    assert_string_equal(pragma_text(db, "PRAGMA journal_mode", mode, sizeof mode), "wal");
    localstore_close(db);
}

static void test_reopen(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path, "reopen.db");
    sqlite3 *db = NULL;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_int_equal(sql_exec(db,
                                     "INSERT INTO layers (chain_id, diff_id, parent, size) VALUES ('c1', 'd1', NULL, 5);"
                                     "INSERT INTO images (id, top_layer, parent, created, size) VALUES ('i1', 'c1', '', 1, 5);"
                                     "INSERT INTO image_tags (ref, image_id, seq) VALUES ('busybox:latest', 'i1', 1);",
                                     &e),
                     0);
    localstore_close(db);

    /* a second open neither re-runs migrations nor loses data */
    db = NULL;
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_int_equal(pragma_int(db, "PRAGMA user_version"), localstore_schema_version());
    assert_int_equal(pragma_int(db, "SELECT count(*) FROM image_tags WHERE image_id = 'i1'"), 1);
    assert_int_equal(pragma_int(db, "SELECT size FROM layers WHERE chain_id = 'c1'"), 5);
    localstore_close(db);

    db = NULL;
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_int_equal(pragma_int(db, "SELECT count(*) FROM images"), 1);
    localstore_close(db);
}

static void test_foreign_keys_enforced(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path, "fk.db");
    sqlite3 *db = NULL;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_int_equal(sql_exec(db, "INSERT INTO image_tags (ref, image_id, seq) VALUES ('x:1', 'nope', 1)", &e),
                     -EIO);
    assert_int_equal(e.code, -EIO);
    assert_non_null(strstr(e.msg, "sqlite: "));
    assert_non_null(strstr(e.msg, "FOREIGN KEY"));

    /* deleting an image cascades to its tags */
    berr_clear(&e);
    assert_int_equal(sql_exec(db,
                                     "INSERT INTO images (id, top_layer, parent, created, size) VALUES ('i1', NULL, '', 1, 0);"
                                     "INSERT INTO image_tags (ref, image_id, seq) VALUES ('a:1', 'i1', 1);"
                                     "DELETE FROM images WHERE id = 'i1';",
                                     &e),
                     0);
    assert_int_equal(pragma_int(db, "SELECT count(*) FROM image_tags"), 0);
    localstore_close(db);
}

static void test_newer_refused(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path, "newer.db");
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", localstore_schema_version() + 1);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(raw), SQLITE_OK);

    sqlite3 *db = NULL;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), -EINVAL);
    assert_null(db);
    assert_int_equal(e.code, -EINVAL);
    assert_non_null(strstr(e.msg, "newer"));
    assert_non_null(strstr(e.msg, path));

    /* and it was left alone */
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(pragma_int(raw, "PRAGMA user_version"), localstore_schema_version() + 1);
    assert_int_equal(pragma_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 0);
    char mode[16];
    assert_string_equal(pragma_text(raw, "PRAGMA journal_mode", mode, sizeof mode), "delete");
    assert_int_equal(sqlite3_close(raw), SQLITE_OK);

    /* a much newer one too */
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 1000", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(raw), SQLITE_OK);
    berr_clear(&e);
    assert_int_equal(localstore_open(path, &db, &e), -EINVAL);
    assert_null(db);
    assert_non_null(strstr(e.msg, "newer"));
}

static void test_open_failures(void **state)
{
    (void)state;
    char path[PATH_MAX];
    sqlite3 *db = NULL;
    berr e = {0};
    db_path(path, sizeof path, "no/such/dir/local.db");
    assert_int_equal(localstore_open(path, &db, &e), -EIO);
    assert_null(db);
    assert_int_equal(e.code, -EIO);
    assert_non_null(strstr(e.msg, path));

    /* a file that is not a database */
    db_path(path, sizeof path, "garbage.db");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 64; i++)
        fputs("this is not an sqlite database at all\n", f);
    assert_int_equal(fclose(f), 0);
    berr_clear(&e);
    assert_true(localstore_open(path, &db, &e) < 0);
    assert_null(db);
    assert_true(e.msg[0] != 0);
}

static void test_exec_prepare_errors(void **state)
{
    (void)state;
    char path[PATH_MAX];
    db_path(path, sizeof path, "errors.db");
    sqlite3 *db = NULL;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), 0);

    assert_int_equal(sql_exec(db, "SELEKT 1", &e), -EIO);
    assert_int_equal(e.code, -EIO);
    assert_non_null(strstr(e.msg, "sqlite: "));

    sqlite3_stmt *st = NULL;
    berr_clear(&e);
    assert_int_equal(sql_prepare(db, "SELECT * FROM no_such_table", &st, &e), -EIO);
    assert_null(st);
    assert_non_null(strstr(e.msg, "no_such_table"));

    berr_clear(&e);
    assert_int_equal(sql_prepare(db, "SELECT count(*) FROM layers", &st, &e), 0);
    assert_non_null(st);
    sqlite3_finalize(st);
    localstore_close(db);
    localstore_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_version),
        cmocka_unit_test(test_open_new_migrates),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_foreign_keys_enforced),
        cmocka_unit_test(test_newer_refused),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_exec_prepare_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
