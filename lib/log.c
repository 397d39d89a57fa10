#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_level current_level = LOG_INFO;
static bool json_format;

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
void log_set_json(bool json) { json_format = json; }
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

    /* Quote the message as logfmt (and JSON) do: escape quotes,
     * backslashes, control characters. */
    char quoted[8200];
    size_t q = 0;
    for (const char *p = msg; *p && q < sizeof quoted - 7; p++) {
        if (*p == '"' || *p == '\\') {
            quoted[q++] = '\\';
            quoted[q++] = *p;
        } else if (*p == '\n') {
            quoted[q++] = '\\';
            quoted[q++] = 'n';
        } else if ((unsigned char)*p < 0x20) {
            q += (size_t)snprintf(quoted + q, 7, "\\u%04x", (unsigned char)*p);
        } else {
            quoted[q++] = *p;
        }
    }
    quoted[q] = 0;
    if (json_format) {
        fprintf(stderr, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n", names[l], quoted, when, ts.tv_nsec);
        return;
    }
    fprintf(stderr, "time=\"%s.%09ldZ\" level=%s msg=\"%s\"\n", when, ts.tv_nsec, names[l], quoted);
}
