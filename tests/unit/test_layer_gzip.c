/* runtime/image/compressed.c: a layer's gzip blob (the bytes gunzip back
 * to the tar, the same tar gives the same digest again, the digest and
 * size are the file's) and the blobsum records a push looks up first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "node/localstore.h"
#include "runtime/image/compressed.h"

static char dir[] = "/tmp/berth-test-gzip-XXXXXX";

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void file_digest(const char *path, char out[DIGEST_BUF], size_t *len)
{
    char *data = NULL;
    berr e = {0};
    assert_int_equal(fs_read_file(path, &data, len, &e), 0);
    digest_mem(data, *len, out);
    free(data);
}

static void gzip_round_trip_is_deterministic(void **state)
{
    (void)state;
    char src[128], a[128], b[128];
    snprintf(src, sizeof src, "%s/layer.tar", dir);
    snprintf(a, sizeof a, "%s/a.gz", dir);
    snprintf(b, sizeof b, "%s/b.gz", dir);
    /* 3 MiB, half of it compressible: several deflate chunks */
    size_t n = 3 << 20;
    unsigned char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = i < n / 2 ? (unsigned char)(i % 7) : (unsigned char)(rand() & 0xff);
    berr e = {0};
    assert_int_equal(fs_write_file_atomic(src, data, n, 0600, &e), 0);
    char da[DIGEST_BUF], db[DIGEST_BUF], df[DIGEST_BUF];
    long long sa, sb;
    assert_int_equal(layer_gzip(src, a, da, &sa, &e), 0);
    assert_int_equal(layer_gzip(src, b, db, &sb, &e), 0);
    assert_string_equal(da, db);
    assert_int_equal(sa, sb);
    size_t flen;
    file_digest(a, df, &flen);
    assert_string_equal(df, da);
    assert_int_equal((long long)flen, sa);
    assert_true(sa < (long long)n);
    /* gunzip gives the tar back */
    gzFile g = gzopen(a, "rb");
    assert_non_null(g);
    unsigned char *back = malloc(n + 1);
    assert_int_equal(gzread(g, back, (unsigned)n + 1), (int)n);
    gzclose(g);
    assert_memory_equal(back, data, n);
    free(back);
    free(data);
    /* a missing layer is an error, and leaves no output */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/none.tar", dir);
    unlink(a);
    assert_int_not_equal(layer_gzip(missing, a, da, &sa, &e), 0);
    assert_int_not_equal(access(a, F_OK), 0);
}

static void blobsums_are_remembered(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/local.db", dir);
    sqlite3 *db;
    rt_graphdriver driver;
    rt_image_store *s;
    berr e = {0};
    assert_int_equal(localstore_open(path, &db, &e), 0);
    assert_int_equal(rt_driver_init(&driver, dir, "vfs", &e), 0);
    assert_int_equal(rt_images_open(&s, uv_default_loop(), db, &driver, dir, &e), 0);
    const char *diff = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *blob = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    char got[DIGEST_BUF];
    long long size;
    assert_int_equal(rt_images_blobsum(s, diff, got, &size), -ENOENT);
    rt_images_record_blobsum(s, diff, blob, 1234);
    assert_int_equal(rt_images_blobsum(s, diff, got, &size), 0);
    assert_string_equal(got, blob);
    assert_int_equal(size, 1234);
    /* a later blob replaces it */
    rt_images_record_blobsum(s, diff, diff, 99);
    assert_int_equal(rt_images_blobsum(s, diff, got, &size), 0);
    assert_string_equal(got, diff);
    rt_images_close(s);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gzip_round_trip_is_deterministic),
        cmocka_unit_test(blobsums_are_remembered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
