#include "lib/timefmt.h"

#include <limits.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void time_format_rfc3339(long long ns, char out[TIME_RFC3339_BUF])
{
    time_t secs = (time_t)(ns / 1000000000LL);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, TIME_RFC3339_BUF, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, TIME_RFC3339_BUF - n, ".%09lldZ", ns % 1000000000LL);
}

void time_now_rfc3339(char out[TIME_RFC3339_BUF])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_format_rfc3339((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, out);
}

long long time_parse_rfc3339(const char *s)
{
    if (!s)
        return 0;
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return 0;
    long long t = (long long)timegm(&tm);
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    int hh, mm;
    if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%d:%d", &hh, &mm) == 2)
        t += (*rest == '+' ? -1 : 1) * (hh * 3600LL + mm * 60LL); /* UTC = local - offset */
    else if (*rest != 'Z' && *rest != 0)
        return 0;
    return t;
}

int time_parse_duration(const char *s, long long *ns)
{
    static const struct { const char *unit; long long ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"µs", 1000}, {"ms", 1000000}, {"s", 1000000000LL},
        {"m", 60 * 1000000000LL}, {"h", 3600 * 1000000000LL},
    };
    if (!s || !*s)
        return -EINVAL;
    const char *p = s;
    int sign = 1;
    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    if (strcmp(p, "0") == 0) {
        *ns = 0;
        return 0;
    }
    long double total = 0;
    while (*p) {
        char *end;
        long double v = strtold(p, &end);
        if (end == p)
            return -EINVAL;
        p = end;
        size_t best = 0;
        long long mult = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, n) == 0 && n > best) {
                best = n;
                mult = units[i].ns;
            }
        }
        if (!best)
            return -EINVAL;
        p += best;
        total += v * mult;
    }
    /* Go's ParseDuration refuses what int64 nanoseconds cannot hold (about
     * 292 years); strtold's inf and nan fail this test too. */
    if (!(total >= 0 && total <= (long double)LLONG_MAX))
        return -EINVAL;
    *ns = (long long)(sign * total);
    return 0;
}

int time_parse_filter(const char *s, long long now, long long *out)
{
    if (!s || !*s)
        return -EINVAL;
    long long ns;
    /* "0" is the epoch, not a zero duration (as dockerd's GetTimestamp) */
    if (strcmp(s, "0") != 0 && time_parse_duration(s, &ns) == 0) {
        *out = now - ns / 1000000000LL;
        return 0;
    }
    char *end;
    double secs = strtod(s, &end);
    if (end != s && *end == 0 && secs >= (double)LLONG_MIN && secs <= (double)LLONG_MAX) {
        *out = (long long)secs;
        return 0;
    }
    long long t = time_parse_rfc3339(s);
    if (t == 0) {
        struct tm tm = {0};
        const char *rest = strptime(s, "%Y-%m-%d", &tm);
        if (rest && *rest == 0)
            t = (long long)timegm(&tm);
    }
    if (t == 0)
        return -EINVAL;
    *out = t;
    return 0;
}
