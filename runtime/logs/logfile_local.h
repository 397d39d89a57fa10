/* The local log driver's format: berth's own compact binary records, in
 * the manner of dockerd's local driver (which frames protobuf entries the
 * same way).  Each record, integers big-endian:
 *
 *   u32 n | u8 stream (1 stdout, 2 stderr) | u8 0 | i64 time (unix ns) | text | u32 n
 *
 * where n = 10 + the text's length (the text keeps its '\n' when it had
 * one).  The length at both ends lets a reader walk either way and tell a
 * torn record from a whole one.  The file is
 * <container dir>/local-logs/container.log, rotated at max-size (default
 * 20m) to container.log.1 ... max-file - 1 (default 5 files in all), the
 * rotated files gzip-compressed (container.log.1.gz, ...) unless
 * compress=false. */
#ifndef BERTH_RUNTIME_LOGFILE_LOCAL_H
#define BERTH_RUNTIME_LOGFILE_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/logs/logfile.h"

#define RT_LOCALREC_OVERHEAD 18
#define RT_LOCALREC_MAX(len) ((len) + RT_LOCALREC_OVERHEAD)
/* A record's body is at most this (16 KiB of text and more, for records
 * cut by other means); a bigger length means a corrupt file. */
#define RT_LOCALREC_BODY_MAX (1u << 20)

/* Writes one record into out (RT_LOCALREC_MAX(len) bytes); returns its size. */
size_t rt_localrec_encode(char *out, rt_log_stream stream, const char *text, size_t len, int64_t time_ns);

/* Decodes the record at the start of data[0..avail): 1 with *ent (text
 * pointing into data) and *used set, 0 if the record is not all there yet,
 * -1 if this is not a record. */
int rt_localrec_decode(const char *data, size_t avail, rt_log_entry *ent, size_t *used);

/* Whether path is a local driver log (its name is local-logs/container.log). */
bool rt_log_path_is_local(const char *path);

/* rt_log_read and rt_log_read_from for local files: the same contract
 * (runtime/logs/logfile.h), over the rotated files compressed or not. */
int rt_local_read(const char *path, int max_file, const rt_log_query *q,
                  int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, int64_t *offset, berr *e);
int rt_local_read_from(const char *path, int64_t *offset, const rt_log_query *q,
                       int (*fn)(void *ctx, const rt_log_entry *ent), void *ctx, berr *e);

/* Compresses path into path.gz (written aside, then renamed) and removes
 * path: what rotation does to a rotated local file. */
int rt_local_compress(const char *path, berr *e);

#endif
