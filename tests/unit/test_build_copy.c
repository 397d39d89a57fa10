/* COPY's content hash (the cache key's part for COPY/ADD) and its layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "runtime/build/copy.h"

static char root[256], ctx[300], img[300];

static void put(const char *dir, const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *slash = strrchr(p, '/');
    *slash = 0;
    fs_mkdir_p(p, 0755, NULL);
    *slash = '/';
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static bc_filehash *hashes;   /* the build's, when a test sets it */

static void hash_of(const char *src, const char *dest, long uid, const char *tar, char out[DIGEST_BUF])
{
    char *srcs[] = {(char *)src};
    char *dirs[] = {ctx};
    char *idirs[] = {img};
    bc_copy c = {.src = {dirs, 1}, .src_is_context = true, .dst = {idirs, 1}, .sources = srcs, .n_sources = 1,
                 .dest = (char *)dest, .uid = uid, .gid = uid, .hashes = hashes};
    berr e = {0};
    int rc = bc_copy_run(&c, tar, &e);
    if (rc != 0)
        fail_msg("copy: %s", e.msg);
    memcpy(out, c.hash, DIGEST_BUF);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/berth-test-copy-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(ctx, sizeof ctx, "%s/ctx", root);
    snprintf(img, sizeof img, "%s/img", root);
    put(ctx, "dir/a.txt", "a\n");
    put(ctx, "dir/sub/b.txt", "b\n");
    put(img, "etc/existing", "x");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_rm_rf(root, NULL);
    return 0;
}

static void test_hash_rules(void **state)
{
    (void)state;
    char h1[DIGEST_BUF], h2[DIGEST_BUF];
    hash_of("dir", "/app/", -1, NULL, h1);
    /* mtimes do not count */
    char p[600];
    snprintf(p, sizeof p, "%s/dir/a.txt", ctx);
    struct timeval tv[2] = {{1000, 0}, {1000, 0}};
    utimes(p, tv);
    hash_of("dir", "/app/", -1, NULL, h2);
    assert_string_equal(h1, h2);
    /* contents, modes, owners and the destination do */
    put(ctx, "dir/a.txt", "changed\n");
    hash_of("dir", "/app/", -1, NULL, h2);
    assert_string_not_equal(h1, h2);
    memcpy(h1, h2, DIGEST_BUF);
    chmod(p, 0600);
    hash_of("dir", "/app/", -1, NULL, h2);
    assert_string_not_equal(h1, h2);
    memcpy(h1, h2, DIGEST_BUF);
    hash_of("dir", "/app/", 5, NULL, h2);
    assert_string_not_equal(h1, h2);
    hash_of("dir", "/other/", -1, NULL, h2);
    assert_string_not_equal(h1, h2);
}

static void test_layer_entries(void **state)
{
    (void)state;
    char tar[600], h[DIGEST_BUF];
    snprintf(tar, sizeof tar, "%s/layer.tar", root);
    hash_of("dir/sub/b.txt", "/etc", -1, tar, h);   /* /etc is a directory in the image: b.txt goes inside */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, tar, 4096), ARCHIVE_OK);
    struct archive_entry *en;
    char names[512] = "";
    while (archive_read_next_header(a, &en) == ARCHIVE_OK) {
        strcat(names, archive_entry_pathname(en));
        strcat(names, " ");
        assert_int_equal(archive_entry_uid(en), 0);
    }
    archive_read_free(a);
    assert_string_equal(names, "etc/ etc/b.txt ");
    /* a source outside the context is refused */
    char *srcs[] = {"../x"};
    char *dirs[] = {ctx};
    bc_copy c = {.src = {dirs, 1}, .src_is_context = true, .sources = srcs, .n_sources = 1, .dest = "/", .uid = -1,
                 .gid = -1};
    berr e = {0};
    assert_int_equal(bc_copy_run(&c, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "outside the build context"));
}

/* Within a build the context is read once: a second COPY of the same
 * files takes their digests from the build's table (the file is not read:
 * changing it behind the build's back does not show), and gives the hash
 * a fresh read gives. */
static void test_context_hashed_once(void **state)
{
    (void)state;
    char fresh[DIGEST_BUF], first[DIGEST_BUF], again[DIGEST_BUF], tarred[DIGEST_BUF];
    put(ctx, "once/x.txt", "x\n");
    put(ctx, "once/y/z.txt", "z\n");
    hash_of("once", "/o/", -1, NULL, fresh);
    hashes = bc_filehash_new();
    hash_of("once", "/o/", -1, NULL, first);
    assert_string_equal(first, fresh);
    char p[600];
    snprintf(p, sizeof p, "%s/once/x.txt", ctx);
    char tar[600];
    snprintf(tar, sizeof tar, "%s/once.tar", root);
    /* same length, other bytes: only a read would see it */
    put(ctx, "once/x.txt", "y\n");
    hash_of("once", "/o/", -1, NULL, again);
    assert_string_equal(again, first);
    /* the pass that writes the layer reads the file, as it must */
    hash_of("once", "/o/", -1, tar, tarred);
    assert_string_not_equal(tarred, first);
    char d[DIGEST_BUF];
    assert_true(bc_filehash_get(hashes, p, d));
    assert_false(bc_filehash_get(hashes, "/nowhere", d));
    bc_filehash_free(hashes);
    hashes = NULL;
    /* many paths: the table grows */
    bc_filehash *h = bc_filehash_new();
    for (int i = 0; i < 5000; i++) {
        char path[32], dg[DIGEST_BUF];
        snprintf(path, sizeof path, "/f%d", i);
        digest_mem(path, strlen(path), dg);
        bc_filehash_put(h, path, dg);
    }
    for (int i = 0; i < 5000; i++) {
        char path[32], want[DIGEST_BUF];
        snprintf(path, sizeof path, "/f%d", i);
        digest_mem(path, strlen(path), want);
        assert_true(bc_filehash_get(h, path, d));
        assert_string_equal(d, want);
    }
    bc_filehash_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_rules),
        cmocka_unit_test(test_layer_entries),
        cmocka_unit_test(test_context_hashed_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
