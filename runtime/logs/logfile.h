/* The json-file log driver: one JSON object per line,
 *   {"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
 * as dockerd writes it to <container dir>/<id>-json.log, with max-size /
 * max-file rotation (<file>.1, <file>.2, ...). */
#ifndef BERTH_RUNTIME_LOGFILE_H
#define BERTH_RUNTIME_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

typedef enum rt_log_stream { RT_LOG_STDOUT = 1, RT_LOG_STDERR = 2 } rt_log_stream;

typedef struct rt_logfile rt_logfile;

/* Opens (appending) path.  max_size 0 = no rotation; max_file >= 1.
 * path NULL: no file, the lines only go to the forwarder (a remote driver
 * with cache-disabled). */
int rt_logfile_open(const char *path, int64_t max_size, int max_file, rt_logfile **out, berr *e);
/* Writes the local driver's records (logfile_local.h) instead of
 * json-file's; with compress, rotated files are gzipped.  Right after open. */
void rt_logfile_set_local(rt_logfile *l, bool compress);
/* Also hands every record (a line with its '\n', or a partial line
 * without) to fn: how remote drivers get the lines cut the same way. */
void rt_logfile_set_forward(rt_logfile *l,
                            void (*fn)(void *arg, rt_log_stream s, const char *line, size_t len, int64_t time_ns),
                            void *arg);
/* Writes one record per line of data: a chunk is split at '\n', each piece
 * keeping its newline; a trailing partial line is buffered until its
 * newline arrives, or flushed as-is after 16 KiB (as dockerd does), or by
 * rt_logfile_flush.  time_ns is the wall clock in ns. */
int rt_logfile_write(rt_logfile *l, rt_log_stream stream, const char *data, size_t len, int64_t time_ns, berr *e);
int rt_logfile_flush(rt_logfile *l, berr *e);
void rt_logfile_close(rt_logfile *l);

/* Parses "max-size" values like dockerd: "10m", "1g", "512k", "100". */
int rt_log_parse_size(const char *s, int64_t *out);

typedef struct rt_log_entry {
    rt_log_stream stream;
    int64_t time_ns;
    const char *line;      /* includes its trailing '\n' when it had one */
    size_t len;
} rt_log_entry;

typedef struct rt_log_query {
    bool stdout_;
    bool stderr_;
    int64_t since_ns;      /* 0 = from the beginning */
    int64_t until_ns;      /* 0 = no limit */
    int64_t tail;          /* -1 = all; otherwise the last N matching entries */
} rt_log_query;

/* Reads the rotated files oldest first, then path, calling fn for each
 * entry the query selects.  fn returns 0 to go on, non-zero to stop.
 * *offset (if not NULL) receives the byte offset in path where reading
 * ended, so a follower can continue from there. */
int rt_log_read(const char *path, int max_file, const rt_log_query *q,
                int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, int64_t *offset, berr *e);

/* Reads entries of path from offset on (for follow), advancing *offset
 * past the last complete line. */
int rt_log_read_from(const char *path, int64_t *offset, const rt_log_query *q,
                     int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, berr *e);

#endif
