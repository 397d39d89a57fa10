/* The json-file and local log drivers' writing side: lines cut as
 * dockerd's copier cuts them, one record per write(), max-size/max-file
 * rotation.  The record formats are in logfile_json.c and logfile_local.c,
 * reading in logfile_read.c (and logfile_local.c). */
#include "runtime/logs/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/logs/logfile_json.h"
#include "runtime/logs/logfile_local.h"

/* dockerd's copier buffers 16 KiB per stream; a line that fills the buffer
 * without a newline is logged as a partial record of exactly that size. */
#define LOG_LINE_MAX (16 * 1024)

struct rt_logfile {
    char *path;
    int fd;
    int64_t max_size;
    int max_file;
    int64_t size;          /* bytes in the current file */
    buf pending[2];        /* unfinished line per stream (stdout, stderr) */
    char *enc;             /* encoding scratch, reused across records */
    void (*forward)(void *arg, rt_log_stream s, const char *line, size_t len, int64_t time_ns);
    void *forward_arg;
    size_t enc_cap;
    bool local;            /* the local driver's records (logfile_local.h), else json-file's */
    bool compress;         /* rotated files are gzipped (<file>.N.gz) */
};

static int open_append(const char *path, bool truncate, int *fd_out, int64_t *size, berr *e)
{
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    int fd = open(path, flags, 0640);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int r = -errno;
        close(fd);
        return berr_sys(e, r, "stat %s", path);
    }
    *fd_out = fd;
    *size = st.st_size;
    return 0;
}

int rt_logfile_open(const char *path, int64_t max_size, int max_file, rt_logfile **out, berr *e)
{
    if (max_size < 0)
        return berr_set(e, -EINVAL, "invalid max-size %lld", (long long)max_size);
    if (max_file < 1)
        return berr_set(e, -EINVAL, "invalid max-file %d: must be at least 1", max_file);
    rt_logfile *l = xcalloc(1, sizeof *l);
    l->fd = -1;
    if (!path) {
        *out = l;
        return 0;
    }
    int r = open_append(path, false, &l->fd, &l->size, e);
    if (r < 0) {
        free(l);
        return r;
    }
    l->path = xstrdup(path);
    l->max_size = max_size;
    l->max_file = max_file;
    *out = l;
    return 0;
}

/* ---- rotation and output ---- */

static int rotate(rt_logfile *l, berr *e)
{
    if (l->max_file == 1) {
        /* dockerd with max-file=1 keeps one file and empties it; the fd is
         * O_APPEND, so the next write lands at offset 0. */
        if (ftruncate(l->fd, 0) < 0)
            return berr_sys(e, -errno, "truncate %s", l->path);
        l->size = 0;
        return 0;
    }
    const char *ext = l->compress ? ".gz" : "";
    for (int i = l->max_file - 1; i >= 1; i--) {
        cleanup_free char *from = i == 1 ? xstrdup(l->path) : xasprintf("%s.%d%s", l->path, i - 1, ext);
        cleanup_free char *to = xasprintf("%s.%d%s", l->path, i, i == 1 ? "" : ext);
        if (rename(from, to) < 0 && errno != ENOENT)
            return berr_sys(e, -errno, "rotate %s to %s", from, to);
    }
    if (l->compress) {
        cleanup_free char *first = xasprintf("%s.1", l->path);
        berr ce = {0};
        if (rt_local_compress(first, &ce) < 0)
            log_warn("log rotation: %s", ce.msg);
    }
    int fd;
    int64_t size;
    int r = open_append(l->path, true, &fd, &size, e);
    if (r < 0)
        return r;
    close(l->fd);
    l->fd = fd;
    l->size = size;
    return 0;
}

void rt_logfile_set_local(rt_logfile *l, bool compress)
{
    l->local = true;
    l->compress = compress && l->max_file > 1;
}

void rt_logfile_set_forward(rt_logfile *l,
                            void (*fn)(void *arg, rt_log_stream s, const char *line, size_t len, int64_t time_ns),
                            void *arg)
{
    l->forward = fn;
    l->forward_arg = arg;
}

static int emit(rt_logfile *l, rt_log_stream stream, const char *data, size_t len, int64_t time_ns, berr *e)
{
    if (l->forward)
        l->forward(l->forward_arg, stream, data, len, time_ns);
    if (l->fd < 0)
        return 0;
    size_t need = l->local ? RT_LOCALREC_MAX(len) : RT_LOGREC_MAX(len);
    if (need > l->enc_cap) {
        l->enc_cap = need;
        l->enc = xrealloc(l->enc, l->enc_cap);
    }
    size_t n = l->local ? rt_localrec_encode(l->enc, stream, data, len, time_ns)
                        : rt_logrec_encode(l->enc, stream, data, len, time_ns);
    /* Rotate before a record that would push the file past max-size, but
     * never leave an empty file behind for a record bigger than max-size. */
    if (l->max_size > 0 && l->size > 0 && l->size + (int64_t)n > l->max_size) {
        int r = rotate(l, e);
        if (r < 0)
            return r;
    }
    /* One write() per record: with O_APPEND a reader never sees half a
     * record unless the disk fills, and then the loop finishes it. */
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(l->fd, l->enc + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(e, -errno, "write %s", l->path);
        }
        off += (size_t)w;
        l->size += w;
    }
    return 0;
}

int rt_logfile_write(rt_logfile *l, rt_log_stream stream, const char *data, size_t len, int64_t time_ns, berr *e)
{
    if (stream != RT_LOG_STDOUT && stream != RT_LOG_STDERR)
        return berr_set(e, -EINVAL, "invalid log stream %d", (int)stream);
    buf *pend = &l->pending[stream - 1];
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t room = LOG_LINE_MAX - pend->len;   /* > 0: pend is flushed when full */
        size_t content = nl ? (size_t)(nl - data) : len;
        size_t take;
        bool full;
        if (content >= room) {
            take = room;          /* the line fills dockerd's buffer: partial record */
            full = true;
        } else if (nl) {
            take = content + 1;   /* a complete line, newline included */
            full = true;
        } else {
            take = len;           /* wait for the rest of the line */
            full = false;
        }
        if (!full) {
            buf_append(pend, data, take);
        } else if (pend->len == 0) {
            int r = emit(l, stream, data, take, time_ns, e);
            if (r < 0)
                return r;
        } else {
            buf_append(pend, data, take);
            int r = emit(l, stream, pend->data, pend->len, time_ns, e);
            buf_reset(pend);
            if (r < 0)
                return r;
        }
        data += take;
        len -= take;
    }
    return 0;
}

static int flush_at(rt_logfile *l, int64_t time_ns, berr *e)
{
    int ret = 0;
    for (int s = 0; s < 2; s++) {
        buf *pend = &l->pending[s];
        if (pend->len == 0)
            continue;
        int r = emit(l, (rt_log_stream)(s + 1), pend->data, pend->len, time_ns, e);
        buf_reset(pend);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int rt_logfile_flush(rt_logfile *l, berr *e)
{
    return flush_at(l, now_ns(), e);
}

void rt_logfile_close(rt_logfile *l)
{
    if (!l)
        return;
    /* Like dockerd's copier at EOF: an unfinished last line is still logged. */
    berr e;
    berr_clear(&e);
    if (flush_at(l, now_ns(), &e) < 0)
        log_warn("log %s: %s", l->path ? l->path : "(no file)", e.msg);
    if (l->fd >= 0)
        close(l->fd);
    buf_free(&l->pending[0]);
    buf_free(&l->pending[1]);
    free(l->enc);
    free(l->path);
    free(l);
}

/* ---- sizes ---- */

/* Like go-units' RAMInBytes: a decimal number, an optional space, then an
 * optional case-insensitive suffix b, k, kb, kib, m, ... p (all binary). */
int rt_log_parse_size(const char *s, int64_t *out)
{
    if (!s)
        return -EINVAL;
    size_t i = 0, digits = 0, dots = 0;
    for (; s[i] == '.' || (s[i] >= '0' && s[i] <= '9'); i++) {
        if (s[i] == '.')
            dots++;
        else
            digits++;
    }
    if (digits == 0 || dots > 1)
        return -EINVAL;
    cleanup_free char *num = xstrndup(s, i);
    double v = strtod(num, NULL);
    const char *sfx = s + i;
    if (*sfx == ' ')
        sfx++;
    double mul = 1;
    size_t sl = strlen(sfx);
    if (sl > 3)
        return -EINVAL;
    if (sl > 0) {
        char lc[4] = {0};
        for (size_t k = 0; k < sl; k++)
            lc[k] = (char)(sfx[k] >= 'A' && sfx[k] <= 'Z' ? sfx[k] - 'A' + 'a' : sfx[k]);
        if (lc[0] == 'b') {
            if (sl > 1)
                return -EINVAL;
        } else {
            const char *units = "kmgtp";
            const char *u = strchr(units, lc[0]);
            if (!u || !lc[0])
                return -EINVAL;
            mul = (double)(1LL << (10 * (u - units + 1)));
            if ((sl == 2 && lc[1] != 'b') || (sl == 3 && strcmp(lc + 1, "ib") != 0))
                return -EINVAL;
        }
    }
    v *= mul;
    if (!(v < 9223372036854775807.0))
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}
