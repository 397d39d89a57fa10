#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_level current_level = LOG_INFO;

static const char *const names[] = {"debug", "info", "warning", "error", "fatal"};

int log_level_parse(const char *s, log_level *out)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i <= LOG_FATAL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warn") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(log_level l) { return names[l]; }
void log_set_level(log_level l) { current_level = l; }
log_level log_get_level(void) { return current_level; }

void log_msg(log_level l, const char *fmt, ...)
{
    if (l < current_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Quote the message as logfmt does: escape quotes, backslashes, newlines. */
    char quoted[4200];
    size_t q = 0;
    for (const char *p = msg; *p && q < sizeof quoted - 3; p++) {
        if (*p == '"' || *p == '\\') {
            quoted[q++] = '\\';
            quoted[q++] = *p;
        } else if (*p == '\n') {
            quoted[q++] = '\\';
            quoted[q++] = 'n';
        } else {
            quoted[q++] = *p;
        }
    }
    quoted[q] = 0;
    fprintf(stderr, "time=\"%s.%09ldZ\" level=%s msg=\"%s\"\n", when, ts.tv_nsec, names[l], quoted);
}
