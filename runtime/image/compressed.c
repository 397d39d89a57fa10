/* See compressed.h.  gzip at zlib's default level, as dockerd compresses
 * what it pushes; the same tar gives the same bytes again, so a layer
 * compressed once is recognised by the registry the next time. */
#include "runtime/image/compressed.h"

#include <fcntl.h>
#include <limits.h>
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

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int layer_gzip(const char *src, const char *dst, char digest[DIGEST_BUF], long long *size, berr *e)
{
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berr_sys(e, -errno, "open layer %s", src);
    cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return berr_sys(e, -errno, "create %s", dst);
    z_stream z = {0};
    /* 16 + 15 window bits: a gzip wrapper (no name, no time: the bytes
     * depend on the tar alone). */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return berr_set(e, -ENOMEM, "gzip: deflateInit2 failed");
    cleanup_free unsigned char *ibuf = xmalloc(CHUNK), *obuf = xmalloc(CHUNK);
    digest_ctx dc;
    digest_init(&dc);
    long long total = 0;
    int rc = 0, flush = Z_NO_FLUSH;
    while (rc == 0 && flush != Z_FINISH) {
        ssize_t r = read(in, ibuf, CHUNK);
        if (r < 0) {
            rc = berr_sys(e, -errno, "read layer %s", src);
            break;
        }
        flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = ibuf;
        z.avail_in = (uInt)r;
        do {
            z.next_out = obuf;
            z.avail_out = CHUNK;
            deflate(&z, flush);
            size_t have = CHUNK - z.avail_out;
            digest_update(&dc, obuf, have);
            total += (long long)have;
            int w = write_all(out, obuf, have);
            if (w < 0) {
                rc = berr_sys(e, w, "write %s", dst);
                break;
            }
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    if (rc == 0 && close(steal_fd(&out)) < 0)
        rc = berr_sys(e, -errno, "close %s", dst);
    if (rc < 0) {
        unlink(dst);
        return rc;
    }
    digest_final(&dc, digest);
    *size = total;
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
