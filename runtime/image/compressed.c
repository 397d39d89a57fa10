/* See compressed.h.  The gzip is adaptive, as pigz's and zstd's fast modes
 * are: each 256 KiB chunk that looks incompressible (its bytes spread
 * evenly, as in random or already compressed data) is stored, the others
 * deflated at level 1.  Deflate at dockerd's default level spends ~1 s per
 * 10 MB of random data on this machine for nothing; what it gains on tars
 * is a few per cent.  The choice depends on the bytes alone, so the same
 * tar gives the same blob again and a registry recognises it. */
#include "runtime/image/compressed.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/image/store_internal.h"

#define CHUNK (256 * 1024)

static void blobsum_path(rt_image_store *s, const char *diff_id, char out[PATH_MAX])
{
    /* blob_dir is <data-root>/image/blobs/sha256 */
    snprintf(out, PATH_MAX, "%s/../../blobsums/%s", s->blob_dir, digest_hex(diff_id));
}

int rt_images_blobsum(rt_image_store *s, const char *diff_id, char digest[DIGEST_BUF], long long *size)
{
    char path[PATH_MAX];
    blobsum_path(s, diff_id, path);
    cleanup_free char *text = NULL;
    size_t len;
    if (fs_read_file(path, &text, &len, NULL) < 0)
        return -ENOENT;
    char d[DIGEST_BUF + 1];
    if (sscanf(text, "%71s %lld", d, size) != 2 || !digest_valid(d) || *size < 0)
        return -ENOENT;
    snprintf(digest, DIGEST_BUF, "%s", d);
    return 0;
}

void rt_images_record_blobsum(rt_image_store *s, const char *diff_id, const char *digest, long long size)
{
    char path[PATH_MAX];
    blobsum_path(s, diff_id, path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    char text[DIGEST_BUF + 32];
    int n = snprintf(text, sizeof text, "%s %lld\n", digest, size);
    berr e = {0};
    /* A lost record costs a compression later, nothing more. */
    if (fs_mkdir_p(dir, 0700, &e) == 0)
        fs_write_file_atomic(path, text, (size_t)n, 0600, &e);
}

/* Whether a chunk looks incompressible: its byte entropy over 7.9 bits. */
static bool incompressible(const unsigned char *p, size_t n)
{
    if (n < 4096)
        return false;
    size_t count[256] = {0};
    for (size_t i = 0; i < n; i++)
        count[p[i]]++;
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (count[i]) {
            double q = (double)count[i] / (double)n;
            h -= q * log2(q);
        }
    return h > 7.9;
}

/* Where deflate's output goes: the file, its digest and length. */
typedef struct gz_out {
    int fd;
    digest_ctx dc;
    long long total;
    unsigned char *buf;
} gz_out;

static int put(gz_out *o, size_t n)
{
    digest_update(&o->dc, o->buf, n);
    o->total += (long long)n;
    for (const unsigned char *p = o->buf; n > 0;) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Runs deflate (or, with params, deflateParams to level) until it has
 * nothing more to give for what it was handed. */
static int pump(z_stream *z, gz_out *o, int flush, int level)
{
    int zr;
    do {
        z->next_out = o->buf;
        z->avail_out = CHUNK;
        zr = level >= 0 ? deflateParams(z, level, Z_DEFAULT_STRATEGY) : deflate(z, flush);
        int w = put(o, CHUNK - z->avail_out);
        if (w < 0)
            return w;
    } while (z->avail_out == 0);
    return zr == Z_STREAM_ERROR ? -EIO : 0;
}

int layer_gzip(const char *src, const char *dst, char digest[DIGEST_BUF], long long *size, berr *e)
{
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berr_sys(e, -errno, "open layer %s", src);
    cleanup_close int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_sys(e, -errno, "create %s", dst);
    z_stream z = {0};
    int level = 1;
    /* 16 + 15 window bits: a gzip wrapper (no name, no time: the bytes
     * depend on the tar alone). */
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return berr_set(e, -ENOMEM, "gzip: deflateInit2 failed");
    cleanup_free unsigned char *ibuf = xmalloc(CHUNK), *obuf = xmalloc(CHUNK);
    gz_out o = {.fd = fd, .buf = obuf};
    digest_init(&o.dc);
    int rc = 0;
    for (int flush = Z_NO_FLUSH; rc == 0 && flush != Z_FINISH;) {
        ssize_t r = read(in, ibuf, CHUNK);
        if (r < 0) {
            rc = berr_sys(e, -errno, "read layer %s", src);
            break;
        }
        flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
        int want = r > 0 && incompressible(ibuf, (size_t)r) ? 0 : 1;
        if (want != level && (rc = pump(&z, &o, Z_NO_FLUSH, want)) == 0)
            level = want;
        z.next_in = ibuf;
        z.avail_in = (uInt)r;
        if (rc == 0)
            rc = pump(&z, &o, flush, -1);
        if (rc < 0)
            berr_sys(e, rc, "gzip %s into %s", src, dst);
    }
    deflateEnd(&z);
    if (rc == 0 && close(steal_fd(&fd)) < 0)
        rc = berr_sys(e, -errno, "close %s", dst);
    if (rc < 0) {
        unlink(dst);
        return rc;
    }
    digest_final(&o.dc, digest);
    *size = o.total;
    return 0;
}

typedef struct gzip_job {
    uv_work_t work;
    rt_image_store *s;
    char diff_id[DIGEST_BUF];
    char src[PATH_MAX], dst[PATH_MAX];
    char digest[DIGEST_BUF];
    long long size;
    int status;
    berr e;
    rt_gzip_done done;
    void *arg;
} gzip_job;

static void gzip_run(uv_work_t *w)
{
    gzip_job *j = w->data;
    int fd = mkstemp(j->dst);
    if (fd < 0) {
        j->status = berr_sys(&j->e, -errno, "create temporary file in %s", j->s->tmp_dir);
        return;
    }
    close(fd);
    j->status = layer_gzip(j->src, j->dst, j->digest, &j->size, &j->e);
}

static void gzip_after(uv_work_t *w, int status)
{
    (void)status;
    gzip_job *j = w->data;
    if (j->status == 0)
        rt_images_record_blobsum(j->s, j->diff_id, j->digest, j->size);
    j->done(j->arg, j->status, &j->e, j->dst, j->digest, j->size);
    free(j);
}

void rt_images_gzip_layer(rt_image_store *s, const char *diff_id, rt_gzip_done done, void *arg)
{
    gzip_job *j = xcalloc(1, sizeof *j);
    j->work.data = j;
    j->s = s;
    snprintf(j->diff_id, sizeof j->diff_id, "%s", diff_id);
    rt_images_blob_path(s, diff_id, j->src);
    snprintf(j->dst, sizeof j->dst, "%s/push-XXXXXX", s->tmp_dir);
    j->done = done;
    j->arg = arg;
    uv_queue_work(s->loop, &j->work, gzip_run, gzip_after);
}
