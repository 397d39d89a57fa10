/* docker save / load archives: a round trip through image_archive_write and
 * image_archive_read, hand-made docker-save and OCI layouts, layer
 * decompression, and archives that try to point outside the staging dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/image/formats.h"

#if defined(__x86_64__)
#define ARCH "amd64"
#elif defined(__aarch64__)
#define ARCH "arm64"
#else
#define ARCH NULL
#endif

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/berth-archive-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fs_rm_rf(f->dir, NULL);
    free(f);
    return 0;
}

static char *path_in(const char *dir, const char *rel)
{
    return xasprintf("%s/%s", dir, rel);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    cleanup_free char *p = path_in(dir, rel);
    cleanup_free char *d = xstrdup(p);
    *strrchr(d, '/') = 0;
    assert_int_equal(fs_mkdir_p(d, 0755, NULL), 0);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *read_text(const char *dir, const char *rel)
{
    cleanup_free char *p = path_in(dir, rel);
    char *data = NULL;
    size_t len;
    assert_int_equal(fs_read_file(p, &data, &len, NULL), 0);
    return data;
}

/* a small layer tar with a directory and two files */
static void make_layer(const char *path, const char *content)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, "etc/");
    archive_entry_set_filetype(ent, AE_IFDIR);
    archive_entry_set_perm(ent, 0755);
    assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
    const char *names[] = {"etc/hello.txt", "etc/other.txt"};
    for (int i = 0; i < 2; i++) {
        archive_entry_clear(ent);
        archive_entry_set_pathname(ent, names[i]);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_size(ent, (la_int64_t)strlen(content));
        assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, content, strlen(content)), (la_ssize_t)strlen(content));
    }
    archive_entry_free(ent);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* compresses src byte for byte into dst (libarchive's raw writer) */
static int compress_file(const char *src, const char *dst, int (*filter)(struct archive *))
{
    struct archive *a = archive_write_new();
    if (filter(a) != ARCHIVE_OK) {
        archive_write_free(a);
        return -1;
    }
    archive_write_set_format_raw(a);
    assert_int_equal(archive_write_open_filename(a, dst), ARCHIVE_OK);
    cleanup_free char *data = NULL;
    size_t len;
    assert_int_equal(fs_read_file(src, &data, &len, NULL), 0);
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, "layer");
    archive_entry_set_filetype(ent, AE_IFREG);
    archive_entry_set_size(ent, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(ent);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return 0;
}

/* extracts tar into dir; returns the entry names in order, "\n"-joined */
static char *extract(const char *tar, const char *dir)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, tar, 65536), ARCHIVE_OK);
    struct archive *disk = archive_write_disk_new();
    archive_write_disk_set_options(disk, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                             ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                             ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
    cleanup_buf buf names = BUF_INIT;
    struct archive_entry *ent;
    while (archive_read_next_header(a, &ent) == ARCHIVE_OK) {
        buf_printf(&names, "%s %o %lld\n", archive_entry_pathname(ent),
                   (unsigned)archive_entry_perm(ent), (long long)archive_entry_mtime(ent));
        cleanup_free char *target = path_in(dir, archive_entry_pathname(ent));
        archive_entry_set_pathname(ent, target);
        assert_int_equal(archive_write_header(disk, ent), ARCHIVE_OK);
        const void *blk;
        size_t size;
        la_int64_t off;
        while (archive_read_data_block(a, &blk, &size, &off) == ARCHIVE_OK)
            assert_int_equal(archive_write_data_block(disk, blk, size, off), ARCHIVE_OK);
        assert_int_equal(archive_write_finish_entry(disk), ARCHIVE_OK);
    }
    archive_write_free(disk);
    archive_read_free(a);
    return buf_steal(&names);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void assert_blob(const char *path, const char *digest)
{
    char hex_suffix[80];
    snprintf(hex_suffix, sizeof hex_suffix, "/blobs/sha256/%s", digest_hex(digest));
    if (!ends_with(path, hex_suffix))
        fail_msg("%s is not the blob of %s", path, digest);
    char got[DIGEST_BUF];
    assert_int_equal(digest_file(path, got, NULL, NULL), 0);
    assert_string_equal(got, digest);
}

static void write_config(const char *dir, const char *name, const char *created, const char *diffs,
                         char digest[DIGEST_BUF])
{
    cleanup_free char *text = xasprintf(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"%s\",\"config\":{},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}",
        created, diffs);
    write_text(dir, name, text);
    digest_mem(text, strlen(text), digest);
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    cleanup_free char *l1 = path_in(f->dir, "l1.tar");
    cleanup_free char *l2 = path_in(f->dir, "l2.tar");
    make_layer(l1, "hello\n");
    make_layer(l2, "second layer\n");
    char d1[DIGEST_BUF], d2[DIGEST_BUF], c1[DIGEST_BUF], c2[DIGEST_BUF], c3[DIGEST_BUF];
    long long s1;
    assert_int_equal(digest_file(l1, d1, &s1, NULL), 0);
    assert_int_equal(digest_file(l2, d2, NULL, NULL), 0);
    cleanup_free char *q1 = xasprintf("\"%s\"", d1);
    cleanup_free char *q12 = xasprintf("\"%s\",\"%s\"", d1, d2);
    write_config(f->dir, "c1.json", "2024-01-02T03:04:05.123456789Z", q1, c1);
    write_config(f->dir, "c2.json", "2024-01-02T05:04:05+02:00", q1, c2);
    write_config(f->dir, "c3.json", "not a date", q12, c3);
    cleanup_free char *p1 = path_in(f->dir, "c1.json");
    cleanup_free char *p2 = path_in(f->dir, "c2.json");
    cleanup_free char *p3 = path_in(f->dir, "c3.json");

    const char *ids1[] = {d1}, *paths1[] = {l1};
    const char *ids3[] = {d1, d2}, *paths3[] = {l1, l2};
    const char *tags1[] = {"busybox", "docker.io/library/busybox:1.36"};
    const char *tags2[] = {"myorg/app:v1", "localhost:5000/x@sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    save_image imgs[] = {
        {c1, p1, ids1, paths1, 1, tags1, 2},
        {c2, p2, ids1, paths1, 1, tags2, 2},
        {c3, p3, ids3, paths3, 2, NULL, 0},
    };
    cleanup_free char *out = path_in(f->dir, "save.tar");
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    berr e = {0};
    if (image_archive_write(fd, imgs, 3, &e) != 0)
        fail_msg("write: %s", e.msg);
    close(fd);

    cleanup_free char *st = path_in(f->dir, "staging");
    assert_int_equal(mkdir(st, 0755), 0);
    cleanup_free char *names = extract(out, st);

    /* every blob once; dirs and files with the promised modes and mtimes */
    char line[200];
    snprintf(line, sizeof line, "blobs/sha256/%s 644 1704164645\n", digest_hex(d1));
    char *hit = strstr(names, line);
    assert_non_null(hit);
    assert_null(strstr(hit + 1, line + 0));
    assert_null(strstr(strstr(names, digest_hex(d1)) + 1, digest_hex(d1)));
    assert_true(strncmp(names, "blobs/ 755 0\nblobs/sha256/ 755 0\n", 33) == 0);
    snprintf(line, sizeof line, "blobs/sha256/%s 644 0\n", digest_hex(c3));
    assert_non_null(strstr(names, line));
    snprintf(line, sizeof line, "blobs/sha256/%s 644 1704164645\n", digest_hex(c2));
    assert_non_null(strstr(names, line));
    assert_non_null(strstr(names, "index.json 644 0\nmanifest.json 644 0\noci-layout 644 0\n"
                                  "repositories 644 0\n"));

    archive_manifest m;
    if (image_archive_read(st, &m, &e) != 0)
        fail_msg("read: %s", e.msg);
    assert_int_equal(m.n_images, 3);
    assert_blob(m.images[0].config_path, c1);
    assert_int_equal(m.images[0].n_layers, 1);
    assert_blob(m.images[0].layer_paths[0], d1);
    assert_int_equal(m.images[0].n_tags, 2);
    assert_string_equal(m.images[0].repo_tags[0], "busybox:latest");
    assert_string_equal(m.images[0].repo_tags[1], "busybox:1.36");
    assert_blob(m.images[1].config_path, c2);
    assert_string_equal(m.images[1].layer_paths[0], m.images[0].layer_paths[0]);
    assert_int_equal(m.images[1].n_tags, 1);   /* the digest reference is no tag */
    assert_string_equal(m.images[1].repo_tags[0], "myorg/app:v1");
    assert_blob(m.images[2].config_path, c3);
    assert_int_equal(m.images[2].n_layers, 2);
    assert_blob(m.images[2].layer_paths[1], d2);
    assert_int_equal(m.images[2].n_tags, 0);
    archive_manifest_free(&m);

    /* index.json: one entry per tag, annotated; one bare entry if untagged */
    cleanup_free char *idx_text = read_text(st, "index.json");
    json_t *idx = json_loads(idx_text, 0, NULL);
    assert_non_null(idx);
    assert_int_equal(json_integer_value(json_object_get(idx, "schemaVersion")), 2);
    assert_string_equal(json_string_value(json_object_get(idx, "mediaType")),
                        "application/vnd.oci.image.index.v1+json");
    json_t *ms = json_object_get(idx, "manifests");
    assert_int_equal(json_array_size(ms), 4);
    const char *want_names[] = {"docker.io/library/busybox:latest",
                                "docker.io/library/busybox:1.36", "docker.io/myorg/app:v1", NULL};
    const char *want_refs[] = {"latest", "1.36", "v1", NULL};
    for (size_t i = 0; i < 4; i++) {
        json_t *d = json_array_get(ms, i);
        json_t *ann = json_object_get(d, "annotations");
        assert_string_equal(json_string_value(json_object_get(d, "mediaType")),
                            "application/vnd.oci.image.manifest.v1+json");
        if (!want_names[i]) {
            assert_null(ann);
        } else {
            assert_string_equal(json_string_value(json_object_get(ann, "io.containerd.image.name")),
                                want_names[i]);
            assert_string_equal(
                json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name")),
                want_refs[i]);
        }
        /* the manifest blob is named by its digest and has the right size */
        const char *md = json_string_value(json_object_get(d, "digest"));
        cleanup_free char *mp = xasprintf("%s/blobs/sha256/%s", st, digest_hex(md));
        char got[DIGEST_BUF];
        long long size;
        assert_int_equal(digest_file(mp, got, &size, NULL), 0);
        assert_string_equal(got, md);
        assert_int_equal(size, json_integer_value(json_object_get(d, "size")));
        json_t *man = json_load_file(mp, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(man, "mediaType")),
                            "application/vnd.oci.image.manifest.v1+json");
        json_t *cfg = json_object_get(man, "config");
        assert_string_equal(json_string_value(json_object_get(cfg, "mediaType")),
                            "application/vnd.oci.image.config.v1+json");
        json_t *l0 = json_array_get(json_object_get(man, "layers"), 0);
        assert_string_equal(json_string_value(json_object_get(l0, "digest")), d1);
        assert_int_equal(json_integer_value(json_object_get(l0, "size")), s1);
        assert_string_equal(json_string_value(json_object_get(l0, "mediaType")),
                            "application/vnd.oci.image.layer.v1.tar");
        json_decref(man);
    }
    json_decref(idx);

    cleanup_free char *layout = read_text(st, "oci-layout");
    assert_string_equal(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
    cleanup_free char *repos_text = read_text(st, "repositories");
    cleanup_free char *want_repos = xasprintf(
        "{\"busybox\":{\"latest\":\"%s\",\"1.36\":\"%s\"},\"myorg/app\":{\"v1\":\"%s\"}}",
        digest_hex(c1), digest_hex(c1), digest_hex(c2));
    json_t *a = json_loads(repos_text, 0, NULL), *b = json_loads(want_repos, 0, NULL);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    cleanup_free char *mj_text = read_text(st, "manifest.json");
    json_t *mj = json_loads(mj_text, 0, NULL);
    assert_true(json_is_null(json_object_get(json_array_get(mj, 2), "RepoTags")));
    assert_null(json_object_get(json_array_get(mj, 0), "LayerSources"));
    json_decref(mj);

    /* without manifest.json the OCI side must say the same */
    cleanup_free char *mpath = path_in(st, "manifest.json");
    assert_int_equal(unlink(mpath), 0);
    if (image_archive_read(st, &m, &e) != 0)
        fail_msg("read OCI: %s", e.msg);
    assert_int_equal(m.n_images, 3);
    assert_blob(m.images[0].config_path, c1);
    assert_int_equal(m.images[0].n_tags, 2);
    assert_string_equal(m.images[0].repo_tags[0], "docker.io/library/busybox:latest");
    assert_string_equal(m.images[0].repo_tags[1], "docker.io/library/busybox:1.36");
    assert_blob(m.images[1].layer_paths[0], d1);
    assert_string_equal(m.images[1].repo_tags[0], "docker.io/myorg/app:v1");
    assert_int_equal(m.images[2].n_layers, 2);
    assert_int_equal(m.images[2].n_tags, 0);
    archive_manifest_free(&m);

    /* a config that is not what its digest says is refused */
    save_image bad = {c2, p1, ids1, paths1, 1, NULL, 0};
    fd = open(out, O_WRONLY | O_TRUNC);
    assert_int_equal(image_archive_write(fd, &bad, 1, &e), -EIO);
    close(fd);
    save_image bad_tag = {c1, p1, ids1, paths1, 1, (const char *[]){"Bad:tag"}, 1};
    fd = open(out, O_WRONLY | O_TRUNC);
    assert_int_equal(image_archive_write(fd, &bad_tag, 1, &e), -EINVAL);
    close(fd);
}

static void test_docker_save_layout(void **state)
{
    fixture *f = *state;
    write_text(f->dir, "abc.json", "{\"os\":\"linux\"}");
    cleanup_free char *l = path_in(f->dir, "abc");
    assert_int_equal(mkdir(l, 0755), 0);
    cleanup_free char *lt = path_in(f->dir, "abc/layer.tar");
    make_layer(lt, "x");
    write_text(f->dir, "manifest.json",
               "[{\"Config\":\"abc.json\",\"RepoTags\":[\"foo:1\",\"bar/baz:2\"],"
               "\"Layers\":[\"abc/layer.tar\",\"./abc//layer.tar\"]},"
               "{\"Config\":\"abc.json\",\"RepoTags\":null,\"Layers\":[]}]");
    archive_manifest m;
    berr e = {0};
    if (image_archive_read(f->dir, &m, &e) != 0)
        fail_msg("read: %s", e.msg);
    assert_int_equal(m.n_images, 2);
    assert_true(ends_with(m.images[0].config_path, "/abc.json"));
    assert_int_equal(m.images[0].config_path[0], '/');
    assert_int_equal(m.images[0].n_layers, 2);
    assert_true(ends_with(m.images[0].layer_paths[0], "/abc/layer.tar"));
    assert_string_equal(m.images[0].layer_paths[0], m.images[0].layer_paths[1]);
    assert_int_equal(m.images[0].n_tags, 2);
    assert_string_equal(m.images[0].repo_tags[1], "bar/baz:2");
    assert_int_equal(m.images[1].n_tags, 0);
    assert_int_equal(m.images[1].n_layers, 0);
    archive_manifest_free(&m);
}

static void expect_refused(const char *dir, const char *manifest, const char *msg_part)
{
    write_text(dir, "manifest.json", manifest);
    archive_manifest m;
    berr e = {0};
    assert_int_equal(image_archive_read(dir, &m, &e), -EINVAL);
    if (!strstr(e.msg, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg_part);
    assert_null(m.images);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    archive_manifest m;
    berr e = {0};
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid archive: no manifest.json or index.json");

    write_text(f->dir, "ok.json", "{}");
    cleanup_free char *lnk = path_in(f->dir, "link.json");
    assert_int_equal(symlink("/etc/passwd", lnk), 0);
    cleanup_free char *lnk2 = path_in(f->dir, "up.json");
    assert_int_equal(symlink("../../../../etc/passwd", lnk2), 0);
    expect_refused(f->dir, "[{\"Config\":\"../etc/passwd\",\"Layers\":[]}]", "outside");
    expect_refused(f->dir, "[{\"Config\":\"/etc/passwd\",\"Layers\":[]}]", "outside");
    expect_refused(f->dir, "[{\"Config\":\"ok.json\",\"Layers\":[\"a/../../x\"]}]", "outside");
    expect_refused(f->dir, "[{\"Config\":\"link.json\",\"Layers\":[]}]", "outside");
    expect_refused(f->dir, "[{\"Config\":\"up.json\",\"Layers\":[]}]", "outside");
    expect_refused(f->dir, "[{\"Config\":\"missing.json\",\"Layers\":[]}]", "missing.json");
    expect_refused(f->dir, "[{\"Config\":\".\",\"Layers\":[]}]", "not a regular file");
    expect_refused(f->dir, "[{\"Config\":\"ok.json\",\"Layers\":[1]}]", "not a string");
    expect_refused(f->dir, "[{\"Config\":\"ok.json\"}]", "malformed");
    expect_refused(f->dir, "[{\"Config\":\"ok.json\",\"Layers\":[],\"RepoTags\":\"x\"}]",
                   "malformed");
    expect_refused(f->dir, "{\"Config\":\"ok.json\"}", "not a JSON array");
    expect_refused(f->dir, "[{\"Config\": ", "cannot parse manifest.json");
    expect_refused(f->dir, "", "cannot parse manifest.json");

    /* manifest.json itself may not lead out either */
    cleanup_free char *mj = path_in(f->dir, "manifest.json");
    unlink(mj);
    assert_int_equal(symlink("/etc/hostname", mj), 0);
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);

    /* OCI digests are names under blobs/, not paths */
    unlink(mj);
    write_text(f->dir, "index.json",
               "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
               "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:../../x\"}]}");
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);
    write_text(f->dir, "index.json", "{\"schemaVersion\":2}");
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);
    write_text(f->dir, "index.json", "[");
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "index.json"));
}

static char *write_blob(const char *dir, const char *text, char digest[DIGEST_BUF])
{
    digest_mem(text, strlen(text), digest);
    cleanup_free char *rel = xasprintf("blobs/sha256/%s", digest_hex(digest));
    write_text(dir, rel, text);
    return path_in(dir, rel);
}

static void test_oci_layout_gzip(void **state)
{
    fixture *f = *state;
    cleanup_free char *plain = path_in(f->dir, "plain.tar");
    cleanup_free char *gz = path_in(f->dir, "layer.tar.gz");
    make_layer(plain, "compressed content\n");
    assert_int_equal(compress_file(plain, gz, archive_write_add_filter_gzip), 0);
    char diff[DIGEST_BUF], gzd[DIGEST_BUF], cfgd[DIGEST_BUF], mand[DIGEST_BUF], idxd[DIGEST_BUF];
    long long plain_size, gz_size;
    assert_int_equal(digest_file(plain, diff, &plain_size, NULL), 0);
    assert_int_equal(digest_file(gz, gzd, &gz_size, NULL), 0);
    assert_string_not_equal(diff, gzd);
    cleanup_free char *gzrel = xasprintf("blobs/sha256/%s", digest_hex(gzd));
    cleanup_free char *gzblob = path_in(f->dir, gzrel);
    cleanup_free char *blobdir = path_in(f->dir, "blobs/sha256");
    assert_int_equal(fs_mkdir_p(blobdir, 0755, NULL), 0);
    assert_int_equal(rename(gz, gzblob), 0);

    cleanup_free char *cfgtext = xasprintf(
        "{\"architecture\":\"" "amd64" "\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
        "\"diff_ids\":[\"%s\"]}}", diff);
    cleanup_free char *cfgp = write_blob(f->dir, cfgtext, cfgd);
    /* a Docker v2 manifest, as registries and older tools write them */
    cleanup_free char *mantext = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"%s\","
        "\"size\":%zu},\"layers\":[{\"mediaType\":"
        "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"%s\",\"size\":%lld}]}",
        cfgd, strlen(cfgtext), gzd, gz_size);
    cleanup_free char *manp = write_blob(f->dir, mantext, mand);
    /* a nested index: another platform first (its blob is not even there),
     * then ours, then an attestation */
    const char *arch = ARCH ? ARCH : "amd64";
    cleanup_free char *idxtext = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
        "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":1,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}},"
        "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"%s\","
        "\"size\":%zu,\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
        "\"size\":1,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}",
        strcmp(arch, "amd64") ? "amd64" : "s390x", mand, strlen(mantext), arch, mand);
    cleanup_free char *idxp = write_blob(f->dir, idxtext, idxd);
    write_text(f->dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    cleanup_free char *index = xasprintf(
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}},"
        "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/foo:2\"}},"
        "{\"mediaType\":\"application/vnd.in-toto+json\",\"digest\":\"%s\",\"size\":1},"
        "{\"digest\":\"%s\",\"size\":%zu,"
        "\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/foo:3\","
        "\"org.opencontainers.image.ref.name\":\"3\"}}]}",
        idxd, strlen(idxtext), mand, strlen(mantext), cfgd, mand, strlen(mantext));
    write_text(f->dir, "index.json", index);

    archive_manifest m;
    berr e = {0};
    if (image_archive_read(f->dir, &m, &e) != 0)
        fail_msg("read: %s", e.msg);
    /* the index entry (bare "latest": no repository) and the manifest entry,
     * which the last (mediaType-less) entry names once more */
    assert_int_equal(m.n_images, 2);
    assert_int_equal(m.images[0].n_tags, 0);
    assert_blob(m.images[0].config_path, cfgd);
    assert_int_equal(m.images[0].n_layers, 1);
    assert_string_equal(m.images[0].layer_paths[0], m.images[1].layer_paths[0]);
    assert_int_equal(m.images[1].n_tags, 2);
    assert_string_equal(m.images[1].repo_tags[0], "example.com/foo:2");
    assert_string_equal(m.images[1].repo_tags[1], "docker.io/library/foo:3");

    /* the gzip layer decompresses to the plain tar, byte for byte */
    cleanup_free char *outp = path_in(f->dir, "out.tar");
    char got[DIGEST_BUF];
    long long size = -1;
    if (layer_blob_decompress(m.images[0].layer_paths[0], outp, got, &size, &e) != 0)
        fail_msg("decompress: %s", e.msg);
    assert_string_equal(got, diff);
    assert_int_equal(size, plain_size);
    char again[DIGEST_BUF];
    assert_int_equal(digest_file(outp, again, NULL, NULL), 0);
    assert_string_equal(again, diff);
    archive_manifest_free(&m);
    (void)cfgp;
    (void)manp;
    (void)idxp;

    /* a nested index with nothing for this platform */
    cleanup_free char *noplat = xasprintf(
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
        "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":1,"
        "\"platform\":{\"os\":\"windows\",\"architecture\":\"%s\"}}]}", mand, arch);
    char npd[DIGEST_BUF];
    cleanup_free char *npp = write_blob(f->dir, noplat, npd);
    cleanup_free char *index2 = xasprintf(
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
        "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":1}]}", npd);
    write_text(f->dir, "index.json", index2);
    assert_int_equal(image_archive_read(f->dir, &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "no matching manifest for linux/"));
}

static void test_decompress_formats(void **state)
{
    fixture *f = *state;
    cleanup_free char *plain = path_in(f->dir, "plain.tar");
    make_layer(plain, "some bytes to compress, some bytes to compress\n");
    char want[DIGEST_BUF], got[DIGEST_BUF];
    long long want_size, size;
    assert_int_equal(digest_file(plain, want, &want_size, NULL), 0);
    cleanup_free char *outp = path_in(f->dir, "out.tar");
    berr e = {0};

    /* an uncompressed tar passes through the raw format unchanged */
    if (layer_blob_decompress(plain, outp, got, &size, &e) != 0)
        fail_msg("plain: %s", e.msg);
    assert_string_equal(got, want);
    assert_int_equal(size, want_size);

    int (*filters[])(struct archive *) = {archive_write_add_filter_gzip,
                                          archive_write_add_filter_zstd,
                                          archive_write_add_filter_xz,
                                          archive_write_add_filter_bzip2};
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) {
        cleanup_free char *c = xasprintf("%s/c%zu", f->dir, i);
        if (compress_file(plain, c, filters[i]) < 0) {
            print_message("filter %zu not available in this libarchive, skipped\n", i);
            continue;
        }
        if (layer_blob_decompress(c, outp, got, &size, &e) != 0)
            fail_msg("filter %zu: %s", i, e.msg);
        assert_string_equal(got, want);
        assert_int_equal(size, want_size);
    }

    /* an empty blob is an empty layer */
    cleanup_free char *empty = path_in(f->dir, "empty");
    write_text(f->dir, "empty", "");
    assert_int_equal(layer_blob_decompress(empty, outp, got, &size, &e), 0);
    assert_string_equal(got, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(size, 0);

    /* a corrupt gzip stream is bad input */
    write_text(f->dir, "bad.gz", "\x1f\x8b\x08\x01" "garbage that is not deflate data at all......");
    cleanup_free char *bad = path_in(f->dir, "bad.gz");
    assert_int_equal(layer_blob_decompress(bad, outp, got, &size, &e), -EINVAL);

    /* one cut short fails midway and leaves no half-written output */
    cleanup_free char *big = path_in(f->dir, "big.tar");
    cleanup_free char *bigz = path_in(f->dir, "big.tar.gz");
    size_t n = 600 * 1024;
    cleanup_free char *noise = xmalloc(n + 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (char)('!' + (x >> 16) % 90);
    }
    noise[n] = 0;
    make_layer(big, noise);
    assert_int_equal(compress_file(big, bigz, archive_write_add_filter_gzip), 0);
    struct stat st;
    assert_int_equal(stat(bigz, &st), 0);
    assert_int_equal(truncate(bigz, st.st_size / 2), 0);
    unlink(outp);
    assert_int_equal(layer_blob_decompress(bigz, outp, got, &size, &e), -EINVAL);
    assert_int_equal(access(outp, F_OK), -1);
    cleanup_free char *missing = path_in(f->dir, "missing");
    assert_true(layer_blob_decompress(missing, outp, got, &size, &e) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docker_save_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oci_layout_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decompress_formats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
