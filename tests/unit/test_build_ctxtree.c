/* The build context's index: what the tar's headers say (ustar prefixes,
 * pax records, GNU long names, hard links, repeated names), what it
 * refuses, and COPY's hash from the index equal to the hash from the same
 * files on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "lib/fsutil.h"
#include "runtime/build/context.h"
#include "runtime/build/copy.h"
#include "runtime/build/ctxtree.h"

static char root[256];

typedef struct ent {
    const char *name;
    char type;            /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
    const char *data;     /* contents, or the link's target */
    mode_t perm;
} ent;

/* A tar of the entries, written by libarchive in format fmt. */
static void make_tar(const char *path, int fmt, const ent *v, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format(a, fmt);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, v[i].name);
        archive_entry_set_perm(en, v[i].perm ? v[i].perm : 0644);
        archive_entry_set_mtime(en, 1000 + (time_t)i, 0);
        archive_entry_set_uid(en, 1000);
        switch (v[i].type) {
        case 'f':
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_size(en, (la_int64_t)strlen(v[i].data));
            break;
        case 'd':
            archive_entry_set_filetype(en, AE_IFDIR);
            break;
        case 'l':
            archive_entry_set_filetype(en, AE_IFLNK);
            archive_entry_set_symlink(en, v[i].data);
            break;
        case 'h':
            archive_entry_set_filetype(en, AE_IFREG);
            archive_entry_set_hardlink(en, v[i].data);
            break;
        }
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        if (v[i].type == 'f')
            archive_write_data(a, v[i].data, strlen(v[i].data));
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static bc_tree *open_tar(const char *path)
{
    bc_tree *t = NULL;
    berr e = {0};
    int rc = bc_tree_open(path, &t, &e);
    if (rc < 0)
        fail_msg("open: %s", e.msg);
    return t;
}

static const char *text_of(bc_tree *t, const char *rel)
{
    static char out[256];
    const bc_node *n = bc_tree_lookup(t, rel);
    if (!n)
        return NULL;
    size_t len;
    const char *p = bc_node_data(t, n, &len);
    snprintf(out, sizeof out, "%.*s", (int)len, p);
    return out;
}

static void test_headers(void **state)
{
    (void)state;
    char longname[300];
    ent v[] = {
        {"a.txt", 'f', "first\n", 0600},
        {"dir/", 'd', NULL, 0750},
        {"dir/b.txt", 'f', "b\n", 0},
        {"dir/link", 'l', "../a.txt", 0777},
        {"dir/hard", 'h', "a.txt", 0},
        {longname, 'f', "long\n", 0},
        {"implied/x/y.txt", 'f', "y\n", 0},
        {"a.txt", 'f', "second\n", 0640},   /* a later entry replaces the earlier */
    };
    int fmts[] = {ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, ARCHIVE_FORMAT_TAR_GNUTAR, ARCHIVE_FORMAT_TAR_USTAR};
    for (size_t f = 0; f < 3; f++) {
        /* pax and GNU carry any length; ustar splits the name into its prefix */
        snprintf(longname, sizeof longname, "deep/%0*d/file.txt", f == 2 ? 140 : 200, 0);
        char tar[300];
        snprintf(tar, sizeof tar, "%s/h%zu.tar", root, f);
        make_tar(tar, fmts[f], v, sizeof v / sizeof *v);
        bc_tree *t = open_tar(tar);
        struct stat st;
        assert_string_equal(text_of(t, "a.txt"), "second\n");
        bc_node_stat(bc_tree_lookup(t, "a.txt"), &st);
        assert_int_equal(st.st_mode, S_IFREG | 0640);
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_mtime, 1007);
        bc_node_stat(bc_tree_lookup(t, "dir"), &st);
        assert_int_equal(st.st_mode, S_IFDIR | 0750);
        assert_string_equal(bc_node_link(bc_tree_lookup(t, "dir/link")), "../a.txt");
        /* the hard link was made when a.txt held "first" */
        assert_string_equal(text_of(t, "dir/hard"), "first\n");
        assert_string_equal(text_of(t, longname), "long\n");
        assert_string_equal(text_of(t, "./implied/x/y.txt"), "y\n");
        bc_node_stat(bc_tree_lookup(t, "implied/x"), &st);
        assert_int_equal(st.st_mode, S_IFDIR | 0755);
        /* nothing follows a symbolic link */
        assert_null(bc_tree_lookup(t, "dir/link/x"));
        const char **names;
        size_t n = bc_node_list(bc_tree_lookup(t, "dir"), &names);
        assert_int_equal(n, 3);
        assert_string_equal(names[0], "b.txt");
        assert_string_equal(names[1], "hard");
        assert_string_equal(names[2], "link");
        free(names);
        n = bc_node_list(bc_tree_lookup(t, ""), &names);
        assert_int_equal(n, 4);   /* a.txt once, deep, dir, implied */
        free(names);
        bc_tree_remove(t, "dir");
        assert_null(bc_tree_lookup(t, "dir/b.txt"));
        n = bc_node_list(bc_tree_lookup(t, "."), &names);
        assert_int_equal(n, 3);
        free(names);
        bc_tree_free(t);
    }
}

static void test_refused_and_truncated(void **state)
{
    (void)state;
    char tar[300];
    berr e = {0};
    bc_tree *t = NULL;
    snprintf(tar, sizeof tar, "%s/bad.tar", root);
    ent out[] = {{"ok", 'f', "x", 0}, {"../escape", 'f', "x", 0}};
    make_tar(tar, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, out, 2);
    assert_int_equal(bc_tree_open(tar, &t, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "../escape"));
    /* a damaged header */
    ent one[] = {{"f", 'f', "data", 0}};
    make_tar(tar, ARCHIVE_FORMAT_TAR_USTAR, one, 1);
    FILE *f = fopen(tar, "r+");
    fseek(f, 10, SEEK_SET);
    fputc('#', f);
    fclose(f);
    berr_clear(&e);
    assert_int_equal(bc_tree_open(tar, &t, &e), -EINVAL);
    /* the CLI's `-f -` context: ends right after the last entry's data */
    make_tar(tar, ARCHIVE_FORMAT_TAR_USTAR, one, 1);
    assert_int_equal(truncate(tar, 512 + 4), 0);
    t = open_tar(tar);
    assert_string_equal(text_of(t, "f"), "data");
    bc_tree_free(t);
    /* data cut short */
    assert_int_equal(truncate(tar, 512 + 2), 0);
    berr_clear(&e);
    assert_int_equal(bc_tree_open(tar, &t, &e), -EINVAL);
    /* an empty body is an empty context */
    assert_int_equal(truncate(tar, 0), 0);
    t = open_tar(tar);
    const char **names;
    assert_int_equal(bc_node_list(bc_tree_lookup(t, ""), &names), 0);
    free(names);
    bc_tree_free(t);
}

/* context.c on top: the Dockerfile read, .dockerignore applied with its
 * exceptions, a bare Dockerfile body, a gzip body. */
static void test_context_prepare(void **state)
{
    (void)state;
    char tar[300], dir[300];
    ent v[] = {
        {"Dockerfile", 'f', "FROM scratch\n", 0},
        {".dockerignore", 'f', "*.log\n!keep.log\nsecret\n", 0},
        {"a.log", 'f', "x", 0},
        {"keep.log", 'f', "y", 0},
        {"secret/key", 'f', "z", 0},
        {"src/main.c", 'f', "int main;", 0},
    };
    snprintf(tar, sizeof tar, "%s/ctx.tar", root);
    snprintf(dir, sizeof dir, "%s/build", root);
    fs_mkdir_p(dir, 0700, NULL);
    make_tar(tar, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, v, sizeof v / sizeof *v);
    bc_tree *t = NULL;
    char *text = NULL;
    size_t len = 0;
    berr e = {0};
    assert_int_equal(bc_context_prepare(tar, dir, NULL, &t, &text, &len, &e), 0);
    assert_string_equal(text, "FROM scratch\n");
    assert_null(bc_tree_lookup(t, "a.log"));
    assert_non_null(bc_tree_lookup(t, "keep.log"));
    assert_null(bc_tree_lookup(t, "secret/key"));
    assert_non_null(bc_tree_lookup(t, "src/main.c"));
    free(text);
    bc_tree_free(t);
    assert_int_equal(bc_context_prepare(tar, dir, "missing.Dockerfile", &t, &text, &len, &e), -EINVAL);
    assert_string_equal(e.msg, "Cannot locate specified Dockerfile: missing.Dockerfile");
    /* gzip */
    char gz[300], cmd[700];
    snprintf(gz, sizeof gz, "%s/ctx.tar.gz", root);
    snprintf(cmd, sizeof cmd, "gzip -c %s > %s", tar, gz);
    assert_int_equal(system(cmd), 0);
    berr_clear(&e);
    assert_int_equal(bc_context_prepare(gz, dir, NULL, &t, &text, &len, &e), 0);
    assert_string_equal(text, "FROM scratch\n");
    assert_non_null(bc_tree_lookup(t, "src/main.c"));
    free(text);
    bc_tree_free(t);
    /* a bare Dockerfile */
    char df[300];
    snprintf(df, sizeof df, "%s/bare", root);
    FILE *f = fopen(df, "w");
    fputs("FROM busybox\nRUN true\n", f);
    fclose(f);
    assert_int_equal(bc_context_prepare(df, dir, "ignored", &t, &text, &len, &e), 0);
    assert_string_equal(text, "FROM busybox\nRUN true\n");
    free(text);
    bc_tree_free(t);
}

static void put(const char *dir, const char *name, const char *text, mode_t mode)
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
    chmod(p, mode);
}

/* COPY's hash and layer from the index are those from the same files on
 * disk, so a cache made either way answers the other. */
static void test_copy_hash_matches_files(void **state)
{
    (void)state;
    char disk[300], tar[300], img[300];
    snprintf(disk, sizeof disk, "%s/disk", root);
    snprintf(img, sizeof img, "%s/img", root);
    snprintf(tar, sizeof tar, "%s/same.tar", root);
    fs_mkdir_p(img, 0755, NULL);
    put(disk, "files/a.txt", "a\n", 0644);
    put(disk, "files/sub/b.sh", "#!/bin/sh\n", 0755);
    char link[600];
    snprintf(link, sizeof link, "%s/files/l", disk);
    assert_int_equal(symlink("a.txt", link), 0);
    ent v[] = {
        {"files/", 'd', NULL, 0755},
        {"files/a.txt", 'f', "a\n", 0644},
        {"files/l", 'l', "a.txt", 0777},
        {"files/sub/", 'd', NULL, 0755},
        {"files/sub/b.sh", 'f', "#!/bin/sh\n", 0755},
    };
    make_tar(tar, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, v, sizeof v / sizeof *v);
    bc_tree *t = open_tar(tar);
    const char *patterns[] = {"files", "files/*.txt", "files/sub/b.sh", "."};
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        char *srcs[] = {(char *)patterns[i]};
        char *dirs[] = {disk};
        char *idirs[] = {img};
        bc_copy a = {.src = {dirs, 1, NULL}, .src_is_context = true, .dst = {idirs, 1, NULL}, .sources = srcs,
                     .n_sources = 1, .dest = "/app/", .uid = -1, .gid = -1};
        bc_copy b = a;
        b.src = (bc_view){NULL, 0, t};
        berr e = {0};
        char ta[600], tb[600];
        snprintf(ta, sizeof ta, "%s/la.tar", root);
        snprintf(tb, sizeof tb, "%s/lb.tar", root);
        assert_int_equal(bc_copy_run(&a, ta, &e), 0);
        assert_int_equal(bc_copy_run(&b, tb, &e), 0);
        assert_string_equal(a.hash, b.hash);
        assert_string_equal(a.kind, b.kind);
    }
    /* a source through a symbolic link is refused from the index too */
    char *srcs[] = {"files/l/x"};
    bc_copy c = {.src = {NULL, 0, t}, .src_is_context = true, .sources = srcs, .n_sources = 1, .dest = "/",
                 .uid = -1, .gid = -1};
    berr e = {0};
    assert_int_equal(bc_copy_run(&c, NULL, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "symbolic link"));
    bc_tree_free(t);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/berth-test-ctxtree-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_rm_rf(root, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_refused_and_truncated),
        cmocka_unit_test(test_context_prepare),
        cmocka_unit_test(test_copy_hash_matches_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
