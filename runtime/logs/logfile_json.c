/* The json-file record format, byte-compatible with dockerd's jsonfilelog
 * so that tools reading <id>-json.log directly, and `docker logs`, see
 * what they would under dockerd. */
#include "runtime/logs/logfile_json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/utf8.h"

/* ---- encoding ---- */

/* Writes s as a JSON string body (no quotes) into out, which must have room
 * for 6 bytes per input byte.  Mirrors dockerd's ffjsonWriteJSONBytesAsString:
 * '"' '\\' '\n' '\r' get short escapes, every other control byte (tab
 * included) and < > & get \u00XX, U+2028/2029 are escaped for JavaScript,
 * invalid UTF-8 becomes \ufffd.  Returns bytes written. */
static size_t json_escape(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    char *o = out;
    size_t i = 0, start = 0;
    while (i < n) {
        unsigned char b = p[i];
        if (b < 0x80) {
            if (b >= 0x20 && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&') {
                i++;
                continue;
            }
            memcpy(o, s + start, i - start);
            o += i - start;
            *o++ = '\\';
            switch (b) {
            case '\\': case '"': *o++ = (char)b; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            default:
                memcpy(o, "u00", 3);
                o += 3;
                *o++ = hex[b >> 4];
                *o++ = hex[b & 0xf];
            }
            start = ++i;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len == 0 || cp == 0x2028 || cp == 0x2029) {
            memcpy(o, s + start, i - start);
            o += i - start;
            if (len == 0) {
                memcpy(o, "\\ufffd", 6);
                len = 1;
            } else {
                memcpy(o, "\\u202", 5);
                o[5] = hex[cp & 0xf];
            }
            o += 6;
            i += len;
            start = i;
            continue;
        }
        i += len;
    }
    memcpy(o, s + start, n - start);
    o += n - start;
    return (size_t)(o - out);
}

/* Go's time.RFC3339Nano in UTC: the fraction loses its trailing zeros and
 * disappears when zero.  Returns the length written (< 40). */
size_t rt_logrec_format_time(char *out, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) {
        char digits[10];
        snprintf(digits, sizeof digits, "%09lld", (long long)frac);
        int nd = 9;
        while (digits[nd - 1] == '0')
            nd--;
        out[n++] = '.';
        memcpy(out + n, digits, (size_t)nd);
        n += (size_t)nd;
    }
    out[n++] = 'Z';
    out[n] = 0;
    return n;
}

/* Builds the record by hand rather than through jansson: a chatty
 * container logs hundreds of thousands of lines a second, and a json_t per
 * line would dominate the cost. */
size_t rt_logrec_encode(char *out, rt_log_stream stream, const char *text, size_t len, int64_t time_ns)
{
    char *o = out;
    memcpy(o, "{\"log\":\"", 8);
    o += 8;
    o += json_escape(o, text, len);
    const char *mid = stream == RT_LOG_STDERR ? "\",\"stream\":\"stderr\",\"time\":\""
                                              : "\",\"stream\":\"stdout\",\"time\":\"";
    size_t ml = strlen(mid);
    memcpy(o, mid, ml);
    o += ml;
    o += rt_logrec_format_time(o, time_ns);
    memcpy(o, "\"}\n", 3);
    o += 3;
    return (size_t)(o - out);
}

/* ---- decoding ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = (*v << 4) | (uint32_t)d;
    }
    return 0;
}

static void put_utf8(buf *out, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp; n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    buf_append(out, u, n);
}

/* Parses a JSON string at c (on its opening quote), appending the decoded
 * bytes to out when out is not NULL.  Lone surrogates decode to U+FFFD as
 * in Go. */
static int parse_string(cursor *c, buf *out)
{
    if (c->p >= c->end || *c->p != '"')
        return -1;
    c->p++;
    const char *run = c->p;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            if (out)
                buf_append(out, run, (size_t)(c->p - run));
            c->p++;
            return 0;
        }
        if (ch < 0x20)
            return -1;
        if (ch != '\\') {
            c->p++;
            continue;
        }
        if (out)
            buf_append(out, run, (size_t)(c->p - run));
        if (c->end - c->p < 2)
            return -1;
        char esc = c->p[1];
        c->p += 2;
        char lit = 0;
        switch (esc) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (c->end - c->p < 4 || hex4(c->p, &cp) < 0)
                return -1;
            c->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
                c->p[1] == 'u' && hex4(c->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                c->p += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            if (out)
                put_utf8(out, cp);
            break;
        }
        default:
            return -1;
        }
        if (lit && out)
            buf_append(out, &lit, 1);
        run = c->p;
    }
    return -1;
}

/* Skips any JSON value (used for fields we do not read). */
static int skip_value(cursor *c, int depth)
{
    if (depth > 64)
        return -1;
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    char ch = *c->p;
    if (ch == '"')
        return parse_string(c, NULL);
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (ch == '{') {
                skip_ws(c);
                if (parse_string(c, NULL) < 0)
                    return -1;
                skip_ws(c);
                if (c->p >= c->end || *c->p != ':')
                    return -1;
                c->p++;
            }
            if (skip_value(c, depth + 1) < 0)
                return -1;
            skip_ws(c);
            if (c->p >= c->end)
                return -1;
            if (*c->p == close) {
                c->p++;
                return 0;
            }
            if (*c->p != ',')
                return -1;
            c->p++;
        }
    }
    /* numbers, true, false, null: anything up to a delimiter */
    const char *start = c->p;
    while (c->p < c->end && !strchr(",}] \t\r\n", *c->p))
        c->p++;
    return c->p > start ? 0 : -1;
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so parsing does not depend on the process's TZ. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC 3339 with up to nanosecond precision ("2026-01-02T03:04:05.1Z",
 * "...+01:00") to unix nanoseconds. */
int rt_logrec_parse_time(const char *s, size_t n, int64_t *out)
{
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 60)
        return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *out = secs * 1000000000 + frac;
    return 0;
}

/* Decodes one line of the file into r.  Returns -1 for a line that is not
 * a json-file record. */
int rt_logrec_decode(const char *line, size_t len, rt_logrec *r)
{
    cursor c = {line, line + len};
    bool have_stream = false, have_time = false;
    buf_reset(&r->text);
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return -1;
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto done;
    }
    for (;;) {
        skip_ws(&c);
        buf_reset(&r->scratch);
        if (parse_string(&c, &r->scratch) < 0)
            return -1;
        skip_ws(&c);
        if (c.p >= c.end || *c.p != ':')
            return -1;
        c.p++;
        skip_ws(&c);
        if (strcmp(r->scratch.data, "log") == 0) {
            if (parse_string(&c, &r->text) < 0)
                return -1;
        } else if (strcmp(r->scratch.data, "stream") == 0) {
            buf_reset(&r->scratch);
            if (parse_string(&c, &r->scratch) < 0)
                return -1;
            if (strcmp(r->scratch.data, "stdout") == 0)
                r->stream = RT_LOG_STDOUT;
            else if (strcmp(r->scratch.data, "stderr") == 0)
                r->stream = RT_LOG_STDERR;
            else
                return -1;
            have_stream = true;
        } else if (strcmp(r->scratch.data, "time") == 0) {
            buf_reset(&r->scratch);
            if (parse_string(&c, &r->scratch) < 0 ||
                rt_logrec_parse_time(r->scratch.data, r->scratch.len, &r->time_ns) < 0)
                return -1;
            have_time = true;
        } else if (skip_value(&c, 0) < 0) {
            return -1;
        }
        skip_ws(&c);
        if (c.p >= c.end)
            return -1;
        if (*c.p == '}') {
            c.p++;
            break;
        }
        if (*c.p != ',')
            return -1;
        c.p++;
    }
done:
    skip_ws(&c);
    if (c.p != c.end || !have_stream || !have_time)
        return -1;
    if (!r->text.data)
        buf_append(&r->text, "", 0);   /* entries always point at a string */
    return 0;
}

void rt_logrec_free(rt_logrec *r)
{
    buf_free(&r->text);
    buf_free(&r->scratch);
}

