/* The json-file log driver's reading side (`docker logs`).
 *
 * Log files can be hundreds of megabytes, so nothing here holds a whole
 * file: a full read streams lines through a bounded buffer, and a tail read
 * scans backwards from the end of the newest file, remembering only where
 * the selected records are, and decodes them again in order once it knows
 * which they are.  All files are opened before reading starts, so a
 * rotation while we read renames files under us without confusing which
 * is which. */
#include "runtime/logs/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/logs/logfile_json.h"
#include "runtime/logs/logfile_local.h"

#define READ_CHUNK (64 * 1024)
/* A record is at most 16 KiB of text escaped six-fold plus its keys; a
 * longer "line" is not one of ours and is skipped rather than buffered. */
#define RECORD_MAX (1024 * 1024)

/* ---- selection ---- */

enum { SKIP, TAKE, BEFORE, AFTER };

/* BEFORE: older than since; AFTER: newer than until. */
static int classify(const rt_log_query *q, const rt_logrec *r)
{
    if (q->since_ns && r->time_ns < q->since_ns)
        return BEFORE;
    if (q->until_ns && r->time_ns > q->until_ns)
        return AFTER;
    if (r->stream == RT_LOG_STDOUT ? !q->stdout_ : !q->stderr_)
        return SKIP;
    return TAKE;
}

/* ---- forward line reader ---- */

typedef struct fwd {
    int fd;
    char *buf;
    size_t cap, start, end;
    int64_t pos;         /* file offset of buf[0] */
    bool eof;
    bool overlong;       /* discarding the rest of a line past RECORD_MAX */
} fwd;

static void fwd_init(fwd *r, int fd, int64_t from)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->pos = from;
    r->cap = READ_CHUNK;
    r->buf = xmalloc(r->cap);
}

/* 1: a complete line (newline included) at *off; 2: an overlong line was
 * skipped; 0: no more complete lines; <0: read error. */
static int fwd_next(fwd *r, const char **line, size_t *len, int64_t *off)
{
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start)) + 1;
            *line = r->buf + r->start;
            *len = n;
            *off = r->pos + (int64_t)r->start;
            r->start += n;
            if (r->overlong) {
                r->overlong = false;
                return 2;
            }
            return 1;
        }
        if (r->eof)
            return 0;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->pos += (int64_t)r->start;
            r->end -= r->start;
            r->start = 0;
        }
        if (r->end == r->cap) {
            if (r->cap >= RECORD_MAX) {
                r->pos += (int64_t)r->end;
                r->end = 0;
                r->overlong = true;
            } else {
                r->cap *= 2;
                r->buf = xrealloc(r->buf, r->cap);
            }
        }
        ssize_t n = pread(r->fd, r->buf + r->end, r->cap - r->end, r->pos + (int64_t)r->end);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
    }
}

/* ---- backward line scanner ---- */

typedef struct bwd {
    int fd;
    char *buf;           /* holds file bytes [wstart, wend) */
    size_t cap;
    int64_t wstart, wend;
    int64_t le;          /* lines not yet returned lie in [0, le) */
} bwd;

/* Finds the last '\n' in [0, before), pulling earlier chunks into the
 * window as needed; the window keeps [wstart, keep) so a line ending at
 * keep stays whole.  Returns its offset, or -1 if there is none (or on a
 * read error, which goes to *err). */
static int64_t bwd_find_nl(bwd *b, int64_t before, int64_t keep, bool *overlong, int *err)
{
    if (b->wend > keep)
        b->wend = keep;
    for (;;) {
        size_t have = (size_t)(b->wend - b->wstart);
        size_t look = before > b->wstart ? (size_t)(before - b->wstart) : 0;
        if (look > have)
            look = have;   /* after an overlong line was dropped */
        char *nl = look ? memrchr(b->buf, '\n', look) : NULL;
        if (nl)
            return b->wstart + (nl - b->buf);
        if (b->wstart == 0)
            return -1;
        if (have + READ_CHUNK > RECORD_MAX) {
            /* not a record of ours: forget it, keep looking for its start */
            b->wend = b->wstart;
            have = 0;
            *overlong = true;
        }
        size_t chunk = b->wstart < READ_CHUNK ? (size_t)b->wstart : READ_CHUNK;
        if (have + chunk > b->cap) {
            b->cap = have + chunk;
            b->buf = xrealloc(b->buf, b->cap);
        }
        memmove(b->buf + chunk, b->buf, have);
        size_t got = 0;
        while (got < chunk) {
            ssize_t n = pread(b->fd, b->buf + got, chunk - got, b->wstart - (int64_t)chunk + (int64_t)got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                *err = n < 0 ? -errno : -EIO;   /* the file shrank under us */
                return -1;
            }
            got += (size_t)n;
        }
        b->wstart -= (int64_t)chunk;
    }
}

/* Sets up a backward scan of the complete lines among the first size
 * bytes of fd. */
static int bwd_init(bwd *b, int fd, int64_t size)
{
    memset(b, 0, sizeof *b);
    b->fd = fd;
    b->wstart = b->wend = size;
    bool overlong = false;
    int err = 0;
    int64_t nl = bwd_find_nl(b, size, size, &overlong, &err);
    if (err)
        return err;
    b->le = nl + 1;   /* a trailing partial line is still being written */
    return 0;
}

/* Like fwd_next, backwards: 1 a line, 2 an overlong line skipped, 0 the
 * start of the file, <0 error. */
static int bwd_prev(bwd *b, const char **line, size_t *len, int64_t *off)
{
    if (b->le == 0)
        return 0;
    bool overlong = false;
    int err = 0;
    int64_t nl = bwd_find_nl(b, b->le - 1, b->le, &overlong, &err);
    if (err)
        return err;
    int64_t start = nl + 1;
    *off = start;
    *len = (size_t)(b->le - start);
    *line = b->buf + (start - b->wstart);
    b->le = start;
    return overlong ? 2 : 1;
}

/* ---- the files ---- */

typedef struct logset {
    int n;
    int *fds;
    int64_t *sizes;      /* at open: what was there when reading started */
    char **names;        /* oldest first; the last is path itself when present */
    bool has_path;
} logset;

static void logset_close(logset *s)
{
    for (int i = 0; i < s->n; i++) {
        close(s->fds[i]);
        free(s->names[i]);
    }
    free(s->fds);
    free(s->sizes);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static int logset_add(logset *s, char *name, berr *e)
{
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        if (r == -ENOENT) {
            free(name);
            return 0;
        }
        berr_sys(e, r, "open %s", name);
        free(name);
        return r;
    }
    s->fds[s->n] = fd;
    s->sizes[s->n] = st.st_size;
    s->names[s->n] = name;
    s->n++;
    return 1;
}

static int logset_open(logset *s, const char *path, int max_file, berr *e)
{
    memset(s, 0, sizeof *s);
    s->fds = xcalloc((size_t)max_file, sizeof *s->fds);
    s->sizes = xcalloc((size_t)max_file, sizeof *s->sizes);
    s->names = xcalloc((size_t)max_file, sizeof *s->names);
    for (int i = max_file - 1; i >= 1; i--) {
        int r = logset_add(s, xasprintf("%s.%d", path, i), e);
        if (r < 0) {
            logset_close(s);
            return r;
        }
    }
    int r = logset_add(s, xstrdup(path), e);
    if (r < 0) {
        logset_close(s);
        return r;
    }
    s->has_path = r == 1;
    return 0;
}

static void note_corrupt(const char *name, int64_t off, const char *why)
{
    log_debug("log %s: skipping %s at offset %lld", name, why, (long long)off);
}

/* ---- reading ---- */

/* Streams lines of one file from `from`.  *stop is set when until passed
 * or fn asked to stop; *end receives where reading ended. */
static int read_forward(const char *name, int fd, int64_t from, const rt_log_query *q, rt_logrec *rec,
                        int (*fn)(void *, const rt_log_entry *), void *ctx, bool *stop, int64_t *end,
                        berr *e)
{
    fwd r;
    fwd_init(&r, fd, from);
    int ret = 0;
    *end = from;
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        int64_t off = 0;
        int k = fwd_next(&r, &line, &len, &off);
        if (k < 0) {
            ret = berr_sys(e, k, "read %s", name);
            break;
        }
        if (k == 0)
            break;
        if (k == 2) {
            note_corrupt(name, off, "an overlong line");
            *end = off + (int64_t)len;
            continue;
        }
        if (rt_logrec_decode(line, len, rec) < 0) {
            note_corrupt(name, off, "a line that is not a log record");
            *end = off + (int64_t)len;
            continue;
        }
        int cls = classify(q, rec);
        if (cls == AFTER) {
            *stop = true;
            break;
        }
        *end = off + (int64_t)len;
        if (cls != TAKE)
            continue;
        rt_log_entry ent = {rec->stream, rec->time_ns, rec->text.data, rec->text.len};
        if (fn(ctx, &ent) != 0) {
            *stop = true;
            break;
        }
    }
    free(r.buf);
    return ret;
}

typedef struct ref {
    int file;
    int64_t off;
    size_t len;
} ref;

/* The last q->tail selected records: found scanning backwards, newest file
 * first, then decoded again oldest first. */
static int read_tail(logset *s, const rt_log_query *q, rt_logrec *rec,
                     int (*fn)(void *, const rt_log_entry *), void *ctx, int64_t *offset, berr *e)
{
    ref *refs = NULL;
    size_t nrefs = 0, cap = 0;
    int ret = 0;
    bool done = q->tail == 0;
    for (int f = s->n - 1; f >= 0 && !done; f--) {
        bwd b;
        int r = bwd_init(&b, s->fds[f], s->sizes[f]);
        while (r == 0 && !done) {
            const char *line = NULL;
            size_t len = 0;
            int64_t off = 0;
            int k = bwd_prev(&b, &line, &len, &off);
            if (k <= 0) {
                r = k;
                break;
            }
            if (k == 2) {
                note_corrupt(s->names[f], off, "an overlong line");
                continue;
            }
            if (rt_logrec_decode(line, len, rec) < 0) {
                note_corrupt(s->names[f], off, "a line that is not a log record");
                continue;
            }
            int cls = classify(q, rec);
            if (cls == BEFORE) {
                done = true;   /* records are in time order: the rest are older still */
                break;
            }
            if (cls != TAKE)
                continue;
            if (nrefs == cap) {
                cap = cap ? cap * 2 : 64;
                refs = xrealloc(refs, cap * sizeof *refs);
            }
            refs[nrefs++] = (ref){f, off, len};
            if ((int64_t)nrefs >= q->tail)
                done = true;
        }
        free(b.buf);
        if (r < 0) {
            ret = berr_sys(e, r, "read %s", s->names[f]);
            break;
        }
    }

    char *line = NULL;
    size_t line_cap = 0;
    int last_file = -1;
    int64_t last_end = 0;
    for (size_t i = nrefs; i-- > 0 && ret == 0;) {
        ref *rf = &refs[i];
        if (rf->len > line_cap) {
            line_cap = rf->len;
            line = xrealloc(line, line_cap);
        }
        ssize_t n = pread(s->fds[rf->file], line, rf->len, rf->off);
        last_file = rf->file;
        last_end = rf->off + (int64_t)rf->len;
        if (n != (ssize_t)rf->len || rt_logrec_decode(line, rf->len, rec) < 0) {
            note_corrupt(s->names[rf->file], rf->off, "a record that changed while reading");
            continue;
        }
        rt_log_entry ent = {rec->stream, rec->time_ns, rec->text.data, rec->text.len};
        if (fn(ctx, &ent) != 0) {
            /* the caller stops here: a follower would go on after this line */
            *offset = s->has_path && last_file == s->n - 1 ? last_end : 0;
            goto out;
        }
    }
    if (s->has_path) {
        /* Everything in path up to its last complete line has been covered. */
        bwd b;
        if (bwd_init(&b, s->fds[s->n - 1], s->sizes[s->n - 1]) == 0)
            *offset = b.le;
        free(b.buf);
    }
out:
    free(line);
    free(refs);
    return ret;
}

int rt_log_read(const char *path, int max_file, const rt_log_query *q,
                int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, int64_t *offset, berr *e)
{
    rt_log_query all = {.stdout_ = true, .stderr_ = true, .tail = -1};
    if (!q)
        q = &all;
    if (max_file < 1)
        max_file = 1;
    if (rt_log_path_is_local(path))
        return rt_local_read(path, max_file, q, fn, ctx, offset, e);
    int64_t off_dummy;
    if (!offset)
        offset = &off_dummy;
    *offset = 0;
    logset s;
    int r = logset_open(&s, path, max_file, e);
    if (r < 0)
        return r;
    rt_logrec rec = {0};
    if (q->tail >= 0) {
        r = read_tail(&s, q, &rec, fn, ctx, offset, e);
    } else {
        bool stop = false;
        for (int f = 0; f < s.n && !stop && r == 0; f++) {
            int64_t end;
            r = read_forward(s.names[f], s.fds[f], 0, q, &rec, fn, ctx, &stop, &end, e);
            if (s.has_path && f == s.n - 1)
                *offset = end;
        }
    }
    rt_logrec_free(&rec);
    logset_close(&s);
    return r;
}

/* Whether offset can be where an earlier read of fd stopped: inside the
 * file and just after a newline.  A file rotated since then is shorter, or
 * has grown past the offset, where the byte before it would end a line
 * only by chance. */
static bool offset_fits(int fd, int64_t size, int64_t offset)
{
    if (offset < 0 || offset > size)
        return false;
    char c;
    return offset == 0 || (pread(fd, &c, 1, offset - 1) == 1 && c == '\n');
}

int rt_log_read_from(const char *path, int64_t *offset, const rt_log_query *q,
                     int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, berr *e)
{
    rt_log_query all = {.stdout_ = true, .stderr_ = true, .tail = -1};
    if (!q)
        q = &all;
    if (rt_log_path_is_local(path))
        return rt_local_read_from(path, offset, q, fn, ctx, e);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berr_sys(e, -errno, "stat %s", path);
    int64_t from = *offset;
    rt_logrec rec = {0};
    bool stop = false;
    int64_t end = 0;
    int r = 0;
    if (!offset_fits(fd, st.st_size, from)) {
        /* Rotated since the last read.  The records written between that
         * read and the rotation are at the end of path.1: pass them on
         * before starting over with the new file. */
        cleanup_free char *older = xasprintf("%s.1", path);
        cleanup_close int ofd = open(older, O_RDONLY | O_CLOEXEC);
        struct stat ost;
        if (ofd >= 0 && fstat(ofd, &ost) == 0 && from > 0 && offset_fits(ofd, ost.st_size, from))
            r = read_forward(older, ofd, from, q, &rec, fn, ctx, &stop, &end, e);
        from = 0;
        end = 0;   /* if that stopped us, a later read starts path over */
    }
    if (r == 0 && !stop)
        r = read_forward(path, fd, from, q, &rec, fn, ctx, &stop, &end, e);
    rt_logrec_free(&rec);
    *offset = end;
    return r;
}
