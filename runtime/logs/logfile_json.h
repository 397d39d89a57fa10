/* One json-file log record, encoded and decoded: shared by the writer
 * (runtime/logs/logfile.c) and the reader (runtime/logs/logfile_read.c).  Internal to
 * the json-file driver. */
#ifndef BERTH_RUNTIME_LOGFILE_JSON_H
#define BERTH_RUNTIME_LOGFILE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "runtime/logs/logfile.h"

/* Room rt_logrec_encode needs for len bytes of text. */
#define RT_LOGREC_MAX(len) ((len) * 6 + 96)

/* Writes {"log":...,"stream":...,"time":...}\n into out (which has
 * RT_LOGREC_MAX(len) bytes) exactly as dockerd does.  Returns its length. */
size_t rt_logrec_encode(char *out, rt_log_stream stream, const char *text, size_t len, int64_t time_ns);

/* Go's time.RFC3339Nano in UTC ("2026-01-02T03:04:05.1Z"); out needs 40
 * bytes.  Returns the length. */
size_t rt_logrec_format_time(char *out, int64_t ns);
/* RFC 3339 with up to 9 fraction digits and Z or an offset, to unix ns.
 * -1 if it is not one. */
int rt_logrec_parse_time(const char *s, size_t n, int64_t *ns);

/* A decoded record; the bufs are reused from line to line and owned by
 * the struct (rt_logrec_free). */
typedef struct rt_logrec {
    rt_log_stream stream;
    int64_t time_ns;
    buf text;       /* decoded "log", NUL-terminated */
    buf scratch;
} rt_logrec;

/* Decodes one line of a log file (other fields such as "attrs" are
 * skipped).  -1 if it is not a json-file record. */
int rt_logrec_decode(const char *line, size_t len, rt_logrec *r);
void rt_logrec_free(rt_logrec *r);

#endif
