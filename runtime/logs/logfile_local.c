/* The local log driver's records (logfile_local.h): encoding, decoding,
 * reading the rotated set (gzip or plain: zlib reads both), and the
 * compression of a rotated file. */
#include "runtime/logs/logfile_local.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"

#define LOCAL_NAME "/local-logs/container.log"
#define READ_CHUNK (64 * 1024)

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t rt_localrec_encode(char *out, rt_log_stream stream, const char *text, size_t len, int64_t time_ns)
{
    unsigned char *p = (unsigned char *)out;
    uint32_t n = (uint32_t)(len + 10);
    put32(p, n);
    p[4] = (unsigned char)stream;
    p[5] = 0;
    uint64_t t = (uint64_t)time_ns;
    for (int i = 0; i < 8; i++)
        p[6 + i] = (unsigned char)(t >> (56 - 8 * i));
    memcpy(p + 14, text, len);
    put32(p + 14 + len, n);
    return len + RT_LOCALREC_OVERHEAD;
}

int rt_localrec_decode(const char *data, size_t avail, rt_log_entry *ent, size_t *used)
{
    const unsigned char *p = (const unsigned char *)data;
    if (avail < 4)
        return 0;
    uint32_t n = get32(p);
    if (n < 10 || n > RT_LOCALREC_BODY_MAX)
        return -1;
    if (avail < (size_t)n + 8)
        return 0;
    if (get32(p + 4 + n) != n || (p[4] != RT_LOG_STDOUT && p[4] != RT_LOG_STDERR) || p[5] != 0)
        return -1;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | p[6 + i];
    ent->stream = (rt_log_stream)p[4];
    ent->time_ns = (int64_t)t;
    ent->line = data + 14;
    ent->len = n - 10;
    *used = (size_t)n + 8;
    return 1;
}

bool rt_log_path_is_local(const char *path)
{
    size_t n = strlen(path), k = strlen(LOCAL_NAME);
    return n >= k && strcmp(path + n - k, LOCAL_NAME) == 0;
}

/* ---- reading ---- */

typedef struct scan {
    gzFile gz;
    const char *name;
    char *data;            /* read ahead: data[pos..len) not yet decoded */
    size_t len, cap;
    size_t pos;
    bool eof;
    int64_t consumed;      /* bytes of whole records read */
} scan;

static int scan_open(scan *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    s->gz = gzdopen(fd, "rb");
    if (!s->gz) {
        close(fd);
        return -ENOMEM;
    }
    return 0;
}

static void scan_close(scan *s)
{
    if (s->gz)
        gzclose(s->gz);
    free(s->data);
    s->data = NULL;
    s->gz = NULL;
}

/* 1: a record; 0: no more (a torn record at the end is left for later);
 * -1: the rest of the file is not records (logged, skipped). */
static int scan_next(scan *s, rt_log_entry *ent)
{
    for (;;) {
        size_t used;
        int r = rt_localrec_decode(s->data ? s->data + s->pos : "", s->len - s->pos, ent, &used);
        if (r == 1) {
            s->pos += used;
            s->consumed += (int64_t)used;
            return 1;
        }
        if (r < 0) {
            log_warn("log %s: not a local log record at offset %lld; the rest is skipped", s->name,
                     (long long)s->consumed);
            return -1;
        }
        if (s->eof)
            return 0;
        if (s->pos) {
            memmove(s->data, s->data + s->pos, s->len - s->pos);
            s->len -= s->pos;
            s->pos = 0;
        }
        if (s->cap - s->len < READ_CHUNK) {
            s->cap = s->len + READ_CHUNK;
            s->data = xrealloc(s->data, s->cap);
        }
        int n = gzread(s->gz, s->data + s->len, READ_CHUNK);
        if (n <= 0)
            s->eof = true;
        else
            s->len += (size_t)n;
    }
}

static bool selected(const rt_log_query *q, const rt_log_entry *ent)
{
    if ((ent->stream == RT_LOG_STDOUT && !q->stdout_) || (ent->stream == RT_LOG_STDERR && !q->stderr_))
        return false;
    return !q->since_ns || ent->time_ns >= q->since_ns;
}

static bool past_until(const rt_log_query *q, const rt_log_entry *ent)
{
    return q->until_ns && ent->time_ns > q->until_ns;
}

/* The set, oldest first: container.log.N[.gz] ... .1[.gz], container.log. */
static size_t set_names(const char *path, int max_file, char **names)
{
    size_t n = 0;
    for (int i = max_file - 1; i >= 1; i--) {
        char *gz = xasprintf("%s.%d.gz", path, i), *plain = xasprintf("%s.%d", path, i);
        if (access(gz, F_OK) == 0) {
            names[n++] = gz;
            free(plain);
        } else if (access(plain, F_OK) == 0) {
            names[n++] = plain;
            free(gz);
        } else {
            free(gz);
            free(plain);
        }
    }
    names[n++] = xstrdup(path);
    return n;
}

/* One pass over the set: counts the selected records (emit false) or
 * calls fn for those after the first skip of them. */
static int pass(char **names, size_t n, const rt_log_query *q, bool emit, int64_t skip, int64_t *count,
                int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, int64_t *offset, bool *any)
{
    int64_t seen = 0;
    bool stop = false;
    for (size_t i = 0; i < n && !stop; i++) {
        scan s;
        if (scan_open(&s, names[i]) < 0)
            continue;
        *any = true;
        rt_log_entry ent;
        while (!stop && scan_next(&s, &ent) == 1) {
            if (past_until(q, &ent)) {
                stop = true;
                break;
            }
            if (!selected(q, &ent))
                continue;
            if (emit && seen >= skip && fn(ctx, &ent) != 0)
                stop = true;
            seen++;
        }
        if (offset && i == n - 1)
            *offset = s.consumed;
        scan_close(&s);
    }
    *count = seen;
    return 0;
}

int rt_local_read(const char *path, int max_file, const rt_log_query *q,
                  int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, int64_t *offset, berr *e)
{
    if (max_file < 1)
        max_file = 1;
    char **names = xcalloc((size_t)max_file + 1, sizeof *names);
    size_t n = set_names(path, max_file, names);
    int64_t total = 0, skip = 0;
    bool any = false;
    if (offset)
        *offset = 0;
    if (q->tail >= 0) {
        pass(names, n, q, false, 0, &total, NULL, NULL, NULL, &any);
        skip = total > q->tail ? total - q->tail : 0;
    }
    if (q->tail != 0)
        pass(names, n, q, true, skip, &total, fn, ctx, offset, &any);
    else if (offset) {
        struct stat st;
        *offset = stat(path, &st) == 0 ? st.st_size : 0;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!any && access(path, F_OK) < 0)
        return berr_sys(e, -ENOENT, "open %s", path);
    return 0;
}

int rt_local_read_from(const char *path, int64_t *offset, const rt_log_query *q,
                       int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, berr *e)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return berr_sys(e, -errno, "stat %s", path);
    if (st.st_size < *offset)
        *offset = 0;   /* rotated: the new file from its start */
    scan s;
    int r = scan_open(&s, path);
    if (r < 0)
        return berr_sys(e, r, "open %s", path);
    if (gzseek(s.gz, (z_off_t)*offset, SEEK_SET) < 0) {
        scan_close(&s);
        return berr_set(e, -EIO, "seek %s", path);
    }
    rt_log_entry ent;
    bool stop = false;
    while (!stop && scan_next(&s, &ent) == 1) {
        if (past_until(q, &ent))
            break;
        if (selected(q, &ent) && fn(ctx, &ent) != 0)
            stop = true;
    }
    *offset += s.consumed;
    scan_close(&s);
    return 0;
}

/* ---- compression of rotated files ---- */

int rt_local_compress(const char *path, berr *e)
{
    cleanup_free char *gzpath = xasprintf("%s.gz", path), *tmp = xasprintf("%s.gz.tmp", path);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berr_sys(e, -errno, "open %s", path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (out < 0) {
        int r = -errno;
        close(in);
        return berr_sys(e, r, "create %s", tmp);
    }
    /* level 1: rotation runs on the daemon's loop, so speed over size */
    gzFile gz = gzdopen(out, "wb1");
    int r = gz ? 0 : -ENOMEM;
    char chunk[READ_CHUNK];
    ssize_t n;
    while (r == 0 && (n = read(in, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = -errno;
        else if (gzwrite(gz, chunk, (unsigned)n) != (int)n)
            r = -EIO;
    }
    close(in);
    if (gz && gzclose(gz) != Z_OK && r == 0)
        r = -EIO;
    else if (!gz)
        close(out);
    if (r == 0 && rename(tmp, gzpath) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return berr_sys(e, r, "compress %s", path);
    }
    unlink(path);
    return 0;
}
