/* docker save / docker load archives (see the header for the layouts).
 *
 * Everything read here comes from an untrusted tarball, already extracted by
 * tarsafe into a staging dir; every path the archive names is checked twice:
 * lexically (relative, no "..") and after resolving symlinks (still below the
 * staging dir), the same guarantee dockerd's safePath gives. */
#include "runtime/image/formats.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/reference.h"

#define CHUNK (64 * 1024)
#define MAX_INDEX_DEPTH 4

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANN_IMAGE_NAME "io.containerd.image.name"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"

/* The architecture a nested index is resolved for: this daemon's own. */
#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#else
#define HOST_ARCH "amd64"
#endif

/* jansson's own scope-bound reference (json_auto_t) */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* ------------------------------------------------------------------ read */

static bool rel_path_safe(const char *p)
{
    if (!*p || p[0] == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n;
        while (*s == '/')
            s++;
    }
    return true;
}

/* root is the staging dir's realpath; *out gets the resolved absolute path
 * of the regular file rel names inside it. */
static int resolve_in(const char *root, const char *rel, char **out, berr *e)
{
    if (!rel_path_safe(rel))
        return berr_set(e, -EINVAL, "invalid archive: path %s is outside of the archive", rel);
    cleanup_free char *joined = xasprintf("%s/%s", root, rel);
    cleanup_free char *real = realpath(joined, NULL);
    if (!real)
        return berr_set(e, -EINVAL, "invalid archive: open %s: %s", rel, strerror(errno));
    size_t rl = strlen(root);
    if (strcmp(real, root) == 0)
        return berr_set(e, -EINVAL, "invalid archive: %s is not a regular file", rel);
    if (strncmp(real, root, rl) != 0 || real[rl] != '/')
        return berr_set(e, -EINVAL, "invalid archive: path %s is outside of the archive", rel);
    struct stat st;
    if (stat(real, &st) < 0)
        return berr_set(e, -EINVAL, "invalid archive: stat %s: %s", rel, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return berr_set(e, -EINVAL, "invalid archive: %s is not a regular file", rel);
    *out = steal_ptr(&real);
    return 0;
}

static int load_json(const char *path, const char *what, json_t **out, berr *e)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return berr_set(e, -EINVAL, "invalid archive: cannot parse %s: %s (line %d)", what,
                        je.text, je.line);
    *out = j;
    return 0;
}

static void image_free(archive_image *im)
{
    free(im->config_path);
    for (size_t i = 0; i < im->n_layers; i++)
        free(im->layer_paths[i]);
    free(im->layer_paths);
    for (size_t i = 0; i < im->n_tags; i++)
        free(im->repo_tags[i]);
    free(im->repo_tags);
    memset(im, 0, sizeof *im);
}

void archive_manifest_free(archive_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_images; i++)
        image_free(&m->images[i]);
    free(m->images);
    m->images = NULL;
    m->n_images = 0;
}

static void push_str(char ***v, size_t *n, char *owned)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = owned;
}

static archive_image *push_image(archive_manifest *m)
{
    m->images = xrealloc(m->images, (m->n_images + 1) * sizeof *m->images);
    archive_image *im = &m->images[m->n_images++];
    memset(im, 0, sizeof *im);
    return im;
}

/* manifest.json of docker save: [{"Config","RepoTags","Layers"}, ...] */
static int read_docker_save(const char *root, json_t *doc, archive_manifest *m, berr *e)
{
    if (!json_is_array(doc))
        return berr_set(e, -EINVAL, "invalid archive: manifest.json is not a JSON array");
    size_t i;
    json_t *item;
    json_array_foreach(doc, i, item) {
        const char *cfg = json_string_value(json_object_get(item, "Config"));
        json_t *tags = json_object_get(item, "RepoTags");
        json_t *layers = json_object_get(item, "Layers");
        if (!json_is_object(item) || !cfg || !json_is_array(layers) ||
            (tags && !json_is_null(tags) && !json_is_array(tags)))
            return berr_set(e, -EINVAL, "invalid archive: manifest.json entry %zu is malformed", i);
        archive_image *im = push_image(m);
        int rc = resolve_in(root, cfg, &im->config_path, e);
        if (rc < 0)
            return rc;
        size_t j;
        json_t *v;
        json_array_foreach(layers, j, v) {
            char *p = NULL;
            if (!json_is_string(v))
                return berr_set(e, -EINVAL, "invalid archive: manifest.json layer is not a string");
            if ((rc = resolve_in(root, json_string_value(v), &p, e)) < 0)
                return rc;
            push_str(&im->layer_paths, &im->n_layers, p);
        }
        json_array_foreach(tags, j, v) {
            if (!json_is_string(v))
                return berr_set(e, -EINVAL, "invalid archive: manifest.json tag is not a string");
            push_str(&im->repo_tags, &im->n_tags, xstrdup(json_string_value(v)));
        }
    }
    return 0;
}

/* blobs/<alg>/<hex> for a descriptor's digest, which must not smuggle in
 * path separators */
static int blob_path(const char *root, json_t *desc, char **out, char **digest_out, berr *e)
{
    const char *d = json_string_value(json_object_get(desc, "digest"));
    const char *colon = d ? strchr(d, ':') : NULL;
    if (!colon || colon == d || !colon[1])
        return berr_set(e, -EINVAL, "invalid archive: descriptor without a valid digest");
    for (const char *p = d; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  (p < colon && strchr("+._-", *p)) || p == colon;
        if (!ok || (p > colon && !((*p >= 'a' && *p <= 'f') || (*p >= '0' && *p <= '9'))))
            return berr_set(e, -EINVAL, "invalid archive: invalid digest %s", d);
    }
    cleanup_free char *rel = xasprintf("blobs/%.*s/%s", (int)(colon - d), d, colon + 1);
    int rc = resolve_in(root, rel, out, e);
    if (rc == 0 && digest_out)
        *digest_out = xstrdup(d);
    return rc;
}

static bool is_index(const char *mt, json_t *doc)
{
    if (mt)
        return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
    return json_is_array(json_object_get(doc, "manifests"));
}

static bool is_manifest(const char *mt, json_t *doc)
{
    if (mt)
        return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
    return json_is_object(json_object_get(doc, "config"));
}

/* In a nested index: the entry for linux/<this arch>, or else the first
 * entry that names no platform at all. */
static json_t *pick_platform(json_t *manifests, berr *e)
{
    size_t i;
    json_t *d, *unplatformed = NULL;
    json_array_foreach(manifests, i, d) {
        json_t *pf = json_object_get(d, "platform");
        if (!json_is_object(pf)) {
            if (!unplatformed)
                unplatformed = d;
            continue;
        }
        const char *os = json_string_value(json_object_get(pf, "os"));
        const char *arch = json_string_value(json_object_get(pf, "architecture"));
        if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, HOST_ARCH) == 0)
            return d;
    }
    if (!unplatformed)
        berr_set(e, -EINVAL, "no matching manifest for linux/%s in the manifest list entries",
                 HOST_ARCH);
    return unplatformed;
}

/* Follows desc (through nested indexes) to an image manifest and fills im.
 * Returns 1 when desc is something else (attestations, unknown types). */
static int load_descriptor(const char *root, json_t *desc, int depth, archive_image *im, berr *e)
{
    if (depth > MAX_INDEX_DEPTH)
        return berr_set(e, -EINVAL, "invalid archive: indexes nested too deeply");
    const char *mt = json_string_value(json_object_get(desc, "mediaType"));
    cleanup_free char *path = NULL;
    int rc = blob_path(root, desc, &path, NULL, e);
    if (rc < 0)
        return rc;
    cleanup_json json_t *doc = NULL;
    if ((rc = load_json(path, json_string_value(json_object_get(desc, "digest")), &doc, e)) < 0)
        return rc;
    if (!json_is_object(doc))
        return berr_set(e, -EINVAL, "invalid archive: blob %s is not a JSON object", path);
    if (!mt)
        mt = json_string_value(json_object_get(doc, "mediaType"));
    if (is_index(mt, doc)) {
        json_t *ms = json_object_get(doc, "manifests");
        if (!json_is_array(ms))
            return berr_set(e, -EINVAL, "invalid archive: index without manifests");
        json_t *child = pick_platform(ms, e);
        return child ? load_descriptor(root, child, depth + 1, im, e) : -EINVAL;
    }
    if (!is_manifest(mt, doc))
        return 1;
    json_t *cfg = json_object_get(doc, "config");
    json_t *layers = json_object_get(doc, "layers");
    if (!json_is_object(cfg) || !json_is_array(layers))
        return berr_set(e, -EINVAL, "invalid archive: image manifest without config or layers");
    if ((rc = blob_path(root, cfg, &im->config_path, NULL, e)) < 0)
        return rc;
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        char *p = NULL;
        if ((rc = blob_path(root, l, &p, NULL, e)) < 0)
            return rc;
        push_str(&im->layer_paths, &im->n_layers, p);
    }
    return 0;
}

/* A tag from the annotations: the containerd name as written, or a
 * ref.name that is a whole reference; a bare ref.name ("latest") names no
 * repository, and dockerd does not make one up either. */
static const char *descriptor_tag(json_t *desc)
{
    json_t *ann = json_object_get(desc, "annotations");
    const char *name = json_string_value(json_object_get(ann, ANN_IMAGE_NAME));
    if (name && *name)
        return name;
    name = json_string_value(json_object_get(ann, ANN_REF_NAME));
    if (name && strpbrk(name, ":/@"))
        return name;
    return NULL;
}

static int read_oci(const char *root, json_t *index, archive_manifest *m, berr *e)
{
    json_t *ms = json_object_get(index, "manifests");
    if (!json_is_object(index) || !json_is_array(ms))
        return berr_set(e, -EINVAL, "invalid archive: index.json has no manifests array");
    /* one index entry per tag: entries naming the same manifest are one image */
    char **seen = xcalloc(json_array_size(ms) + 1, sizeof *seen);
    size_t n_seen = 0;
    int rc = 0;
    size_t i;
    json_t *desc;
    json_array_foreach(ms, i, desc) {
        const char *dg = json_string_value(json_object_get(desc, "digest"));
        const char *tag = descriptor_tag(desc);
        size_t k;
        for (k = 0; k < n_seen && dg; k++)
            if (seen[k] && strcmp(seen[k], dg) == 0)
                break;
        if (dg && k < n_seen) {
            if (seen[k] && tag)
                push_str(&m->images[k].repo_tags, &m->images[k].n_tags, xstrdup(tag));
            continue;
        }
        archive_image *im = push_image(m);
        rc = load_descriptor(root, desc, 0, im, e);
        if (rc < 0)
            break;
        if (rc == 1) {   /* not an image (an attestation, say): skip it */
            image_free(im);
            m->n_images--;
            rc = 0;
            continue;
        }
        seen[n_seen++] = dg ? xstrdup(dg) : NULL;
        if (tag)
            push_str(&im->repo_tags, &im->n_tags, xstrdup(tag));
    }
    for (size_t k = 0; k < n_seen; k++)
        free(seen[k]);
    free(seen);
    return rc;
}

static bool lexists(const char *root, const char *name)
{
    cleanup_free char *p = xasprintf("%s/%s", root, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

int image_archive_read(const char *staging_dir, archive_manifest *m, berr *e)
{
    memset(m, 0, sizeof *m);
    cleanup_free char *root = realpath(staging_dir, NULL);
    if (!root)
        return berr_sys(e, -errno, "open %s", staging_dir);
    const char *file = lexists(root, "manifest.json") ? "manifest.json"
                       : lexists(root, "index.json")  ? "index.json"
                                                      : NULL;
    if (!file)
        return berr_set(e, -EINVAL, "invalid archive: no manifest.json or index.json");
    cleanup_free char *path = NULL;
    cleanup_json json_t *doc = NULL;
    int rc = resolve_in(root, file, &path, e);
    if (rc == 0)
        rc = load_json(path, file, &doc, e);
    if (rc == 0)
        rc = strcmp(file, "manifest.json") == 0 ? read_docker_save(root, doc, m, e)
                                                : read_oci(root, doc, m, e);
    if (rc < 0)
        archive_manifest_free(m);
    return rc;
}

/* ------------------------------------------------------------ decompress */

static int write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void archive_freep(struct archive **a) { if (*a) archive_read_free(*a); }

static int decompress_into(struct archive *a, const char *src, int fd, digest_ctx *dc,
                           long long *total, berr *e)
{
    struct archive_entry *ent;
    int r = archive_read_next_header(a, &ent);
    if (r == ARCHIVE_EOF)   /* an empty blob is an empty layer */
        return 0;
    if (r < ARCHIVE_WARN)
        return berr_set(e, -EINVAL, "invalid layer %s: %s", src, archive_error_string(a));
    cleanup_free char *chunk = xmalloc(CHUNK);
    for (;;) {
        la_ssize_t n = archive_read_data(a, chunk, CHUNK);
        if (n < 0)
            return berr_set(e, -EINVAL, "invalid layer %s: %s", src, archive_error_string(a));
        if (n == 0)
            return 0;
        digest_update(dc, chunk, (size_t)n);
        int rc = write_all(fd, chunk, (size_t)n);
        if (rc < 0)
            return berr_sys(e, rc, "write layer");
        *total += n;
    }
}

int layer_blob_decompress(const char *src, const char *dst, char diff_id[DIGEST_BUF],
                          long long *size, berr *e)
{
    __attribute__((cleanup(archive_freep))) struct archive *a = archive_read_new();
    if (!a)
        return berr_set(e, -ENOMEM, "archive_read_new failed");
    /* The compressions Docker accepts for layers, each with a built-in
     * decoder; filter_all would also let uuencode/rpm/lrzip bidders (some
     * via external programs) reinterpret a plain tar.  The raw format hands
     * over the decompressed stream itself, tar or not. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    archive_read_support_format_empty(a);
    /* opened here so that a missing file is told apart from bad data */
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berr_sys(e, -errno, "open layer %s", src);
    if (archive_read_open_fd(a, in, CHUNK) != ARCHIVE_OK)
        return berr_set(e, -EINVAL, "invalid layer %s: %s", src, archive_error_string(a));
    cleanup_close int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return berr_sys(e, -errno, "create %s", dst);
    digest_ctx dc;
    digest_init(&dc);
    long long total = 0;
    int rc = decompress_into(a, src, fd, &dc, &total, e);
    if (rc == 0 && close(steal_fd(&fd)) < 0)
        rc = berr_sys(e, -errno, "close %s", dst);
    if (rc < 0) {
        unlink(dst);
        return rc;
    }
    digest_final(&dc, diff_id);
    if (size)
        *size = total;
    return 0;
}

/* ----------------------------------------------------------------- write */

typedef struct writer {
    struct archive *a;
    char **written;   /* digests of blobs already in the archive */
    size_t n_written;
} writer;

static int archive_fail(writer *w, const char *what, berr *e)
{
    int err = archive_errno(w->a);
    return berr_set(e, err > 0 ? -err : -EIO, "write %s: %s", what, archive_error_string(w->a));
}

static int write_header(writer *w, const char *name, mode_t type, long long size, time_t mtime,
                        berr *e)
{
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, name);
    archive_entry_set_filetype(ent, type);
    archive_entry_set_perm(ent, type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(ent, type == AE_IFDIR ? 0 : size);
    archive_entry_set_mtime(ent, mtime, 0);
    int r = archive_write_header(w->a, ent);
    archive_entry_free(ent);
    return r < ARCHIVE_OK ? archive_fail(w, name, e) : 0;
}

static int write_mem(writer *w, const char *name, const void *data, size_t len, time_t mtime,
                     berr *e)
{
    int rc = write_header(w, name, AE_IFREG, (long long)len, mtime, e);
    if (rc < 0)
        return rc;
    if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
        return archive_fail(w, name, e);
    return 0;
}

static bool already_written(writer *w, const char *digest)
{
    for (size_t i = 0; i < w->n_written; i++)
        if (strcmp(w->written[i], digest) == 0)
            return true;
    push_str(&w->written, &w->n_written, xstrdup(digest));
    return false;
}

/* Streams a layer file; its size goes into the header before the data, so
 * a file that changes size underneath is an error, not a corrupt tar. */
static int write_layer(writer *w, const char *digest, const char *path, time_t mtime,
                       long long *size, berr *e)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return berr_sys(e, -errno, "open layer %s", path);
    *size = st.st_size;
    if (already_written(w, digest))
        return 0;
    cleanup_free char *name = xasprintf("blobs/sha256/%s", digest_hex(digest));
    int rc = write_header(w, name, AE_IFREG, st.st_size, mtime, e);
    if (rc < 0)
        return rc;
    cleanup_free char *chunk = xmalloc(CHUNK);
    long long left = st.st_size;
    while (left > 0) {
        ssize_t n = read(fd, chunk, left < CHUNK ? (size_t)left : CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berr_sys(e, -errno, "read layer %s", path);
        if (n == 0)
            return berr_set(e, -EIO, "layer %s shrank while being saved", path);
        if (archive_write_data(w->a, chunk, (size_t)n) != n)
            return archive_fail(w, name, e);
        left -= n;
    }
    return 0;
}

/* RFC 3339 "created" of an image config, 0 if absent or unreadable */
static time_t config_created(json_t *cfg)
{
    const char *s = json_string_value(json_object_get(cfg, "created"));
    struct tm tm = {0};
    int off = 0;
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return 0;
    if (*p == '.')
        p += 1 + strspn(p + 1, "0123456789");
    int hh, mm;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
        off = (*p == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    time_t t = timegm(&tm) - off;
    return t > 0 ? t : 0;
}

static json_t *descriptor(const char *mt, const char *digest, long long size)
{
    return json_pack("{sssssI}", "mediaType", mt, "digest", digest, "size", (json_int_t)size);
}

static int write_json(writer *w, const char *name, json_t *doc, berr *e)
{
    cleanup_free char *s = json_dumps(doc, JSON_COMPACT);
    if (!s)
        return berr_set(e, -ENOMEM, "encode %s", name);
    return write_mem(w, name, s, strlen(s), 0, e);
}

/* The refs an image is saved under: familiar "name:tag" and the full name
 * for the OCI annotation; digest-only references are not tags. */
static int image_refs(const save_image *im, image_ref **refs, size_t *n, berr *e)
{
    *refs = xcalloc(im->n_tags + 1, sizeof **refs);
    *n = 0;
    for (size_t i = 0; i < im->n_tags; i++) {
        image_ref r;
        int rc = ref_parse(im->repo_tags[i], &r, e);
        if (rc < 0) {
            free(*refs);
            *refs = NULL;
            return berr_wrap(e, "save %s", im->repo_tags[i]);
        }
        if (r.digest[0] && !r.tag[0])
            continue;
        r.digest[0] = 0;
        ref_default_tag(&r);
        (*refs)[(*n)++] = r;
    }
    return 0;
}

static int save_one(writer *w, const save_image *im, json_t *index, json_t *mjson, json_t *repos,
                    berr *e)
{
    cleanup_free image_ref *refs = NULL;
    size_t n_refs;
    int rc = image_refs(im, &refs, &n_refs, e);
    if (rc < 0)
        return rc;

    /* the config first: its digest is the image ID, check it is this file */
    cleanup_free char *cfg = NULL;
    size_t cfg_len;
    if ((rc = fs_read_file(im->config_path, &cfg, &cfg_len, e)) < 0)
        return rc;
    char got[DIGEST_BUF];
    digest_mem(cfg, cfg_len, got);
    if (strcmp(got, im->config_digest) != 0)
        return berr_set(e, -EIO, "config of image %s does not match its digest", im->config_digest);
    cleanup_json json_t *cfg_doc = json_loadb(cfg, cfg_len, 0, NULL);
    time_t mtime = config_created(cfg_doc);

    cleanup_json json_t *layers = json_array();
    cleanup_json json_t *layer_names = json_array();
    for (size_t i = 0; i < im->n_layers; i++) {
        long long size = 0;
        if ((rc = write_layer(w, im->layer_diff_ids[i], im->layer_paths[i], mtime, &size, e)) < 0)
            return rc;
        json_array_append_new(layers, descriptor(MT_OCI_LAYER, im->layer_diff_ids[i], size));
        json_array_append_new(layer_names,
                              json_sprintf("blobs/sha256/%s", digest_hex(im->layer_diff_ids[i])));
    }
    cleanup_free char *cfg_name = xasprintf("blobs/sha256/%s", digest_hex(im->config_digest));
    if (!already_written(w, im->config_digest) &&
        (rc = write_mem(w, cfg_name, cfg, cfg_len, mtime, e)) < 0)
        return rc;

    cleanup_json json_t *manifest = json_pack(
        "{sisssosO}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST, "config",
        descriptor(MT_OCI_CONFIG, im->config_digest, (long long)cfg_len), "layers", layers);
    cleanup_free char *mbytes = json_dumps(manifest, JSON_COMPACT);
    char mdigest[DIGEST_BUF];
    digest_mem(mbytes, strlen(mbytes), mdigest);
    cleanup_free char *mname = xasprintf("blobs/sha256/%s", digest_hex(mdigest));
    if (!already_written(w, mdigest) &&
        (rc = write_mem(w, mname, mbytes, strlen(mbytes), mtime, e)) < 0)
        return rc;

    json_t *ms = json_object_get(index, "manifests");
    json_t *tags = n_refs ? json_array() : json_null();
    for (size_t i = 0; i < n_refs; i++) {
        char familiar[REF_NAME_MAX + REF_TAG_MAX + 2], full[REF_NAME_MAX * 2 + REF_TAG_MAX];
        ref_format(&refs[i], familiar, sizeof familiar);
        ref_format_full(&refs[i], full, sizeof full);
        json_t *d = descriptor(MT_OCI_MANIFEST, mdigest, (long long)strlen(mbytes));
        json_object_set_new(d, "annotations", json_pack("{ssss}", ANN_IMAGE_NAME, full,
                                                        ANN_REF_NAME, refs[i].tag));
        json_array_append_new(ms, d);
        json_array_append_new(tags, json_string(familiar));
        json_t *repo = json_object_get(repos, refs[i].name);
        if (!repo) {
            repo = json_object();
            json_object_set_new(repos, refs[i].name, repo);
        }
        json_object_set_new(repo, refs[i].tag, json_string(digest_hex(im->config_digest)));
    }
    if (!n_refs)
        json_array_append_new(ms, descriptor(MT_OCI_MANIFEST, mdigest, (long long)strlen(mbytes)));
    json_array_append_new(mjson, json_pack("{sssosO}", "Config", cfg_name, "RepoTags", tags,
                                           "Layers", layer_names));
    return 0;
}

static int validate_images(const save_image *imgs, size_t n, berr *e)
{
    for (size_t i = 0; i < n; i++) {
        if (!digest_valid(imgs[i].config_digest) || !imgs[i].config_path)
            return berr_set(e, -EINVAL, "save: invalid image ID %s",
                            imgs[i].config_digest ? imgs[i].config_digest : "(null)");
        for (size_t j = 0; j < imgs[i].n_layers; j++)
            if (!digest_valid(imgs[i].layer_diff_ids[j]) || !imgs[i].layer_paths[j])
                return berr_set(e, -EINVAL, "save: invalid layer of image %s",
                                imgs[i].config_digest);
    }
    return 0;
}

int image_archive_write(int out_fd, const save_image *imgs, size_t n, berr *e)
{
    int rc = validate_images(imgs, n, e);
    if (rc < 0)
        return rc;
    writer w = {.a = archive_write_new()};
    if (!w.a)
        return berr_set(e, -ENOMEM, "archive_write_new failed");
    /* plain ustar headers unless a name needs pax; what docker load reads */
    archive_write_set_format_pax_restricted(w.a);
    if (archive_write_open_fd(w.a, out_fd) != ARCHIVE_OK) {
        rc = archive_fail(&w, "archive", e);
        archive_write_free(w.a);
        return rc;
    }
    json_t *index = json_pack("{sisss[]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
                              "manifests");
    json_t *mjson = json_array();
    json_t *repos = json_object();
    rc = write_header(&w, "blobs/", AE_IFDIR, 0, 0, e);
    if (rc == 0)
        rc = write_header(&w, "blobs/sha256/", AE_IFDIR, 0, 0, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = save_one(&w, &imgs[i], index, mjson, repos, e);
    if (rc == 0)
        rc = write_json(&w, "index.json", index, e);
    if (rc == 0)
        rc = write_json(&w, "manifest.json", mjson, e);
    if (rc == 0) {
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        rc = write_mem(&w, "oci-layout", layout, sizeof layout - 1, 0, e);
    }
    if (rc == 0)
        rc = write_json(&w, "repositories", repos, e);
    if (rc == 0 && archive_write_close(w.a) != ARCHIVE_OK)
        rc = archive_fail(&w, "archive", e);
    archive_write_free(w.a);
    json_decref(index);
    json_decref(mjson);
    json_decref(repos);
    for (size_t i = 0; i < w.n_written; i++)
        free(w.written[i]);
    free(w.written);
    return rc;
}
