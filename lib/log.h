/* Daemon logging in dockerd's logfmt style on stderr:
 *   time="2026-01-02T03:04:05.123456789Z" level=info msg="API listen on /run/docker.sock"
 * The level is process-wide (it is the one piece of configuration every module
 * reads) and can change at runtime on SIGHUP. */
#ifndef BERTH_LIB_LOG_H
#define BERTH_LIB_LOG_H

#include <stdbool.h>

typedef enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
    LOG_FATAL,
} log_level;

/* Parses "debug", "info", "warn" (or "warning"), "error", "fatal". */
int log_level_parse(const char *s, log_level *out);
const char *log_level_name(log_level l);
void log_set_level(log_level l);
/* json: one JSON object a line ({"level", "msg", "time"}) as dockerd's
 * --log-format=json; otherwise logfmt text. */
void log_set_json(bool json);
log_level log_get_level(void);

void log_msg(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
