/* lib/digest.c: sha256 in Docker's "sha256:<hex>" form, validation and the
 * OCI chain ID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/digest.h"

#define SHA_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* sha256 of 1,000,000 times 'a' (FIPS 180-2 test vector) */
#define SHA_MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
/* sha256("sha256:e3b0...b855 sha256:ba78...15ad"), computed independently */
#define CHAIN_EMPTY_ABC "sha256:a893da35bd22286079f2f3931516d3423eb9b4945f2379e0f8a501ec3d665dd6"
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmpdir[] = "/tmp/berth-test-digest-XXXXXX";

static int group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char p[256];
    static const char *const files[] = {"abc", "empty", "big"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, files[i]);
        unlink(p);
    }
    return rmdir(tmpdir);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_known_vectors(void **state)
{
    (void)state;
    char out[DIGEST_BUF];
    digest_mem("", 0, out);
    assert_string_equal(out, SHA_EMPTY);
    assert_int_equal(strlen(out), DIGEST_STR_LEN);
    digest_mem("abc", 3, out);
    assert_string_equal(out, SHA_ABC);

    digest_ctx c;
    digest_init(&c);
    digest_final(&c, out);
    assert_string_equal(out, SHA_EMPTY);
}

static void test_streaming_equals_oneshot(void **state)
{
    (void)state;
    char a[DIGEST_BUF], b[DIGEST_BUF];
    digest_ctx c;
    digest_init(&c);
    digest_update(&c, "a", 1);
    digest_update(&c, "", 0);
    digest_update(&c, "b", 1);
    digest_update(&c, "c", 1);
    digest_final(&c, a);
    assert_string_equal(a, SHA_ABC);

    /* a large buffer fed in uneven pieces */
    size_t n = 1000000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    digest_mem(big, n, b);
    assert_string_equal(b, SHA_MILLION_A);
    digest_init(&c);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t k = step < n - off ? step : n - off;
        digest_update(&c, big + off, k);
        off += k;
        step = step * 3 + 7;
    }
    digest_final(&c, a);
    assert_string_equal(a, b);
    free(big);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(digest_valid(SHA_EMPTY));
    assert_true(digest_valid("sha256:" HEX64));
    assert_true(digest_hex_valid(HEX64));
    assert_true(digest_hex_valid(SHA_ABC + 7));

    /* uppercase refused */
    assert_false(digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(digest_hex_valid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(digest_valid("SHA256:" HEX64));
    /* short and long refused */
    assert_false(digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
    assert_false(digest_hex_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
    assert_false(digest_valid("sha256:" HEX64 "0"));
    assert_false(digest_hex_valid(HEX64 "0"));
    assert_false(digest_valid("sha256:"));
    assert_false(digest_hex_valid(""));
    /* non-hex, wrong algorithm, missing or doubled prefix */
    assert_false(digest_hex_valid("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(digest_valid("sha512:" HEX64));
    assert_false(digest_valid(HEX64));
    assert_false(digest_hex_valid("sha256:" HEX64));
    assert_false(digest_valid("sha256:sha256:" HEX64));
    assert_false(digest_valid(" sha256:" HEX64));
    assert_false(digest_valid("sha256:" HEX64 "\n"));
    assert_false(digest_valid(""));
    /* NULL refused */
    assert_false(digest_valid(NULL));
    assert_false(digest_hex_valid(NULL));
}

static void test_hex(void **state)
{
    (void)state;
    const char *d = "sha256:" HEX64;
    assert_ptr_equal(digest_hex(d), d + 7);
    assert_string_equal(digest_hex(d), HEX64);
    const char *h = HEX64;
    assert_ptr_equal(digest_hex(h), h);
}

static void test_chain_id(void **state)
{
    (void)state;
    char out[DIGEST_BUF];
    /* the base layer's chain ID is its diff ID */
    digest_chain_id(NULL, SHA_ABC, out);
    assert_string_equal(out, SHA_ABC);
    digest_chain_id("", SHA_ABC, out);
    assert_string_equal(out, SHA_ABC);

    /* a child: sha256("<parent> <diff>") */
    digest_chain_id(SHA_EMPTY, SHA_ABC, out);
    assert_string_equal(out, CHAIN_EMPTY_ABC);
    char want[DIGEST_BUF];
    const char *joined = SHA_EMPTY " " SHA_ABC;
    digest_mem(joined, strlen(joined), want);
    assert_string_equal(out, want);

    /* order matters */
    char rev[DIGEST_BUF];
    digest_chain_id(SHA_ABC, SHA_EMPTY, rev);
    assert_string_not_equal(rev, out);

    /* three layers chain through the middle one's chain ID */
    char c1[DIGEST_BUF], c2[DIGEST_BUF], c3[DIGEST_BUF];
    digest_chain_id(NULL, SHA_EMPTY, c1);
    digest_chain_id(c1, SHA_ABC, c2);
    digest_chain_id(c2, "sha256:" HEX64, c3);
    assert_string_equal(c2, CHAIN_EMPTY_ABC);
    char j3[2 * DIGEST_BUF + 2];
    snprintf(j3, sizeof j3, "%s %s", c2, "sha256:" HEX64);
    digest_mem(j3, strlen(j3), want);
    assert_string_equal(c3, want);
    assert_true(digest_valid(c3));
}

static void test_file(void **state)
{
    (void)state;
    char path[256], out[DIGEST_BUF];
    long long size = -1;
    berr e = {0};

    snprintf(path, sizeof path, "%s/abc", tmpdir);
    write_bytes(path, "abc", 3);
    assert_int_equal(digest_file(path, out, &size, &e), 0);
    assert_string_equal(out, SHA_ABC);
    assert_int_equal(size, 3);
    /* size is optional */
    memset(out, 0, sizeof out);
    assert_int_equal(digest_file(path, out, NULL, &e), 0);
    assert_string_equal(out, SHA_ABC);

    snprintf(path, sizeof path, "%s/empty", tmpdir);
    write_bytes(path, "", 0);
    size = -1;
    assert_int_equal(digest_file(path, out, &size, &e), 0);
    assert_string_equal(out, SHA_EMPTY);
    assert_int_equal(size, 0);

    /* larger than the read block */
    size_t n = 1000000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    snprintf(path, sizeof path, "%s/big", tmpdir);
    write_bytes(path, big, n);
    free(big);
    assert_int_equal(digest_file(path, out, &size, &e), 0);
    assert_string_equal(out, SHA_MILLION_A);
    assert_int_equal(size, (long long)n);
    assert_int_equal(e.code, 0);
}

static void test_file_missing(void **state)
{
    (void)state;
    char path[256], out[DIGEST_BUF];
    long long size = 1234;
    berr e = {0};
    snprintf(path, sizeof path, "%s/missing", tmpdir);
    assert_int_equal(digest_file(path, out, &size, &e), -ENOENT);
    assert_int_equal(e.code, -ENOENT);
    assert_non_null(strstr(e.msg, path));
    assert_int_equal(size, 1234);

    /* a directory opens but cannot be read */
    berr_clear(&e);
    assert_int_equal(digest_file(tmpdir, out, &size, &e), -EISDIR);
    assert_non_null(strstr(e.msg, "read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_streaming_equals_oneshot),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_chain_id),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_file_missing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
