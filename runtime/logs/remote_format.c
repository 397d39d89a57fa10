/* The wire formats of the remote logging drivers, one message at a time:
 * syslog (srslog's formats as dockerd picks them), GELF 1.1 with its UDP
 * chunking, fluentd's forward protocol in msgpack, journald's native
 * protocol.  Pure functions: remote.c sends what these make. */
#include <msgpack.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "lib/cleanup.h"
#include "runtime/logs/remote.h"

char *rt_log_tag(const char *tmpl, const char *dflt, const rt_log_info *info, berr *e)
{
    if (!tmpl || !*tmpl)
        tmpl = dflt;
    buf b = BUF_INIT;
    buf_puts(&b, "");
    for (const char *p = tmpl; *p;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        const char *close = strstr(open, "}}");
        if (!close) {
            buf_free(&b);
            berr_set(e, -EINVAL, "template: tag: unclosed action");
            return NULL;
        }
        char field[64];
        const char *s = open + 2;
        while (*s == ' ')
            s++;
        size_t n = (size_t)(close - s);
        while (n && s[n - 1] == ' ')
            n--;
        snprintf(field, sizeof field, "%.*s", (int)n, s);
        const char *v = NULL;
        char shortid[13];
        if (!strcmp(field, ".ID")) {
            snprintf(shortid, sizeof shortid, "%.12s", info->id);
            v = shortid;
        } else if (!strcmp(field, ".FullID"))
            v = info->id;
        else if (!strcmp(field, ".Name"))
            v = info->name;
        else if (!strcmp(field, ".ImageID")) {
            const char *id = info->image_id && !strncmp(info->image_id, "sha256:", 7) ? info->image_id + 7 : info->image_id;
            snprintf(shortid, sizeof shortid, "%.12s", id ? id : "");
            v = shortid;
        } else if (!strcmp(field, ".ImageFullID"))
            v = info->image_id;
        else if (!strcmp(field, ".ImageName"))
            v = info->image_name;
        else if (!strcmp(field, ".DaemonName"))
            v = info->daemon_name;
        else {
            buf_free(&b);
            berr_set(e, -EINVAL, "template: tag:1:2: executing \"tag\" at <%s>: can't evaluate field %s", field,
                     field[0] == '.' ? field + 1 : field);
            return NULL;
        }
        buf_puts(&b, v ? v : "");
        p = close + 2;
    }
    return b.data;
}

static void pick(json_t *out, json_t *opts, const char *names_key, const char *regex_key, json_t *src, bool is_env)
{
    const char *names = json_string_value(json_object_get(opts, names_key));
    const char *re = json_string_value(json_object_get(opts, regex_key));
    regex_t rx;
    bool have_rx = re && *re && regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0;
    if (is_env) {
        size_t i;
        json_t *v;
        json_array_foreach(src, i, v) {
            const char *kv = json_string_value(v);
            const char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq)
                continue;
            cleanup_free char *k = strndup(kv, (size_t)(eq - kv));
            bool want = have_rx && regexec(&rx, k, 0, NULL, 0) == 0;
            if (names && !want) {
                cleanup_free char *list = xstrdup(names);
                char *save = NULL;
                for (char *n = strtok_r(list, ",", &save); n && !want; n = strtok_r(NULL, ",", &save))
                    want = strcmp(n, k) == 0;
            }
            if (want)
                json_object_set_new(out, k, json_string(eq + 1));
        }
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v) {
            bool want = have_rx && regexec(&rx, k, 0, NULL, 0) == 0;
            if (names && !want) {
                cleanup_free char *list = xstrdup(names);
                char *save = NULL;
                for (char *n = strtok_r(list, ",", &save); n && !want; n = strtok_r(NULL, ",", &save))
                    want = strcmp(n, k) == 0;
            }
            if (want && json_is_string(v))
                json_object_set(out, k, v);
        }
    }
    if (have_rx)
        regfree(&rx);
}

json_t *rt_log_extra_attrs(json_t *opts, const rt_log_info *info)
{
    json_t *out = json_object();
    pick(out, opts, "labels", "labels-regex", info->labels, false);
    pick(out, opts, "env", "env-regex", info->env, true);
    return out;
}

/* ---- syslog ---- */

static void fmt_time(char *out, size_t n, int64_t ns, const char *fmt, int frac_digits)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[48];
    strftime(base, sizeof base, fmt, &tm);
    if (frac_digits == 6)
        snprintf(out, n, "%s.%06ldZ", base, (long)(ns % 1000000000 / 1000));
    else if (frac_digits == 0 && strchr(fmt, 'T'))
        snprintf(out, n, "%sZ", base);
    else
        snprintf(out, n, "%s", base);
}

void rt_syslog_encode(buf *out, rt_syslog_format f, int facility, const char *hostname, const char *tag, int pid,
                      const rt_log_msg *m)
{
    int pri = facility * 8 + (m->stream == RT_LOG_STDERR ? 3 : 6);
    char ts[64];
    switch (f) {
    case SYSLOG_UNIX: /* local sockets: no hostname (srslog's UnixFormatter) */
        fmt_time(ts, sizeof ts, m->time_ns, "%b %e %H:%M:%S", -1);
        buf_printf(out, "<%d>%s %s[%d]: ", pri, ts, tag, pid);
        break;
    case SYSLOG_RFC3164:
        fmt_time(ts, sizeof ts, m->time_ns, "%b %e %H:%M:%S", -1);
        buf_printf(out, "<%d>%s %s %s[%d]: ", pri, ts, hostname, tag, pid);
        break;
    case SYSLOG_RFC5424:
    case SYSLOG_RFC5424MICRO:
        fmt_time(ts, sizeof ts, m->time_ns, "%Y-%m-%dT%H:%M:%S", f == SYSLOG_RFC5424MICRO ? 6 : 0);
        /* dockerd puts the tag in APP-NAME and MSGID */
        buf_printf(out, "<%d>1 %s %s %s %d %s - ", pri, ts, hostname, tag, pid, tag);
        break;
    case SYSLOG_DEFAULT:
        fmt_time(ts, sizeof ts, m->time_ns, "%Y-%m-%dT%H:%M:%S", 0);
        buf_printf(out, "<%d> %s %s %s[%d]: ", pri, ts, hostname, tag, pid);
        break;
    }
    buf_append(out, m->line, m->len);
}

/* ---- GELF ---- */

char *rt_gelf_encode(const rt_log_info *info, const char *tag, json_t *extra, const rt_log_msg *m)
{
    json_t *o = json_pack("{s:s, s:s, s:s%, s:f, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "version", "1.1", "host",
                          info->hostname ? info->hostname : "", "short_message", m->line, m->len, "timestamp",
                          (double)m->time_ns / 1e9, "level", m->stream == RT_LOG_STDERR ? 3 : 6, "_container_id",
                          info->id, "_container_name", info->name ? info->name : "", "_image_id",
                          info->image_id ? info->image_id : "", "_image_name", info->image_name ? info->image_name : "",
                          "_command", info->command ? info->command : "", "_tag", tag, "_created",
                          info->created ? info->created : "");
    if (!o)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(extra, k, v) {
        if (!strcmp(k, "id")) /* GELF forbids "_id" */
            continue;
        cleanup_free char *name = xasprintf("_%s", k);
        json_object_set(o, name, v);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int rt_gelf_chunks(const unsigned char *data, size_t len, size_t chunk_size, const unsigned char id[8],
                   int (*fn)(void *arg, const unsigned char *d, size_t n), void *arg)
{
    if (len <= chunk_size)
        return fn(arg, data, len);
    size_t count = (len + chunk_size - 1) / chunk_size;
    if (count > 128)
        return -EMSGSIZE;
    unsigned char dgram[12 + 8192];
    if (chunk_size > 8192)
        return -EINVAL;
    for (size_t i = 0; i < count; i++) {
        size_t off = i * chunk_size, n = len - off < chunk_size ? len - off : chunk_size;
        dgram[0] = 0x1e;
        dgram[1] = 0x0f;
        memcpy(dgram + 2, id, 8);
        dgram[10] = (unsigned char)i;
        dgram[11] = (unsigned char)count;
        memcpy(dgram + 12, data + off, n);
        int r = fn(arg, dgram, 12 + n);
        if (r < 0)
            return r;
    }
    return 0;
}

int rt_log_compress(const char *data, size_t len, bool zlib_format, int level, buf *out)
{
    z_stream z = {0};
    if (deflateInit2(&z, level < -1 || level > 9 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED,
                     zlib_format ? 15 : 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *dst = xmalloc(cap);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(dst);
        return -EIO;
    }
    buf_append(out, (const char *)dst, n);
    free(dst);
    return 0;
}

/* ---- fluentd ---- */

static int pack_write(void *data, const char *b, size_t n)
{
    buf_append(data, b, n);
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void rt_fluentd_encode(buf *out, const char *tag, const rt_log_info *info, json_t *extra, bool subsecond,
                       const rt_log_msg *m)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pack_write);
    msgpack_pack_array(&pk, 3);
    pack_str(&pk, tag, strlen(tag));
    if (subsecond) {
        /* EventTime: ext type 0, 4-byte seconds and nanoseconds, big endian */
        uint32_t s = (uint32_t)(m->time_ns / 1000000000), ns = (uint32_t)(m->time_ns % 1000000000);
        unsigned char t[8] = {(unsigned char)(s >> 24), (unsigned char)(s >> 16), (unsigned char)(s >> 8), (unsigned char)s,
                              (unsigned char)(ns >> 24), (unsigned char)(ns >> 16), (unsigned char)(ns >> 8), (unsigned char)ns};
        msgpack_pack_ext(&pk, 8, 0);
        msgpack_pack_ext_body(&pk, t, 8);
    } else {
        msgpack_pack_int64(&pk, m->time_ns / 1000000000);
    }
    size_t n = 4 + json_object_size(extra) + (m->partial ? 1 : 0);
    msgpack_pack_map(&pk, n);
    pack_str(&pk, "container_id", 12);
    pack_str(&pk, info->id, strlen(info->id));
    pack_str(&pk, "container_name", 14);
    cleanup_free char *slashed = xasprintf("/%s", info->name ? info->name : "");
    pack_str(&pk, slashed, strlen(slashed));
    pack_str(&pk, "source", 6);
    pack_str(&pk, m->stream == RT_LOG_STDERR ? "stderr" : "stdout", 6);
    pack_str(&pk, "log", 3);
    pack_str(&pk, m->line, m->len);
    if (m->partial) {
        pack_str(&pk, "partial_message", 15);
        pack_str(&pk, "true", 4);
    }
    const char *k;
    json_t *v;
    json_object_foreach(extra, k, v) {
        pack_str(&pk, k, strlen(k));
        pack_str(&pk, json_string_value(v), json_string_length(v));
    }
}

/* ---- journald ---- */

static void journal_field(buf *out, const char *key, const char *v, size_t n)
{
    if (memchr(v, '\n', n)) {
        /* binary-safe form: KEY\n, 64-bit little-endian length, data, \n */
        buf_puts(out, key);
        buf_puts(out, "\n");
        unsigned char le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)((uint64_t)n >> (8 * i));
        buf_append(out, (const char *)le, 8);
        buf_append(out, v, n);
        buf_puts(out, "\n");
        return;
    }
    buf_printf(out, "%s=", key);
    buf_append(out, v, n);
    buf_puts(out, "\n");
}

static void journal_str(buf *out, const char *key, const char *v) { journal_field(out, key, v ? v : "", strlen(v ? v : "")); }

void rt_journald_encode(buf *out, const rt_log_info *info, const char *tag, json_t *extra, const rt_log_msg *m)
{
    journal_field(out, "MESSAGE", m->line, m->len);
    char shortid[13];
    snprintf(shortid, sizeof shortid, "%.12s", info->id);
    journal_str(out, "CONTAINER_ID", shortid);
    journal_str(out, "CONTAINER_ID_FULL", info->id);
    journal_str(out, "CONTAINER_NAME", info->name);
    journal_str(out, "CONTAINER_TAG", tag);
    journal_str(out, "IMAGE_NAME", info->image_name);
    journal_str(out, "SYSLOG_IDENTIFIER", tag);
    journal_str(out, "PRIORITY", m->stream == RT_LOG_STDERR ? "3" : "6");
    if (m->partial)
        journal_str(out, "CONTAINER_PARTIAL_MESSAGE", "true");
    const char *k;
    json_t *v;
    json_object_foreach(extra, k, v) {
        /* journald field names: upper case letters, digits, underscores */
        char name[128];
        size_t j = 0;
        for (const char *p = k; *p && j < sizeof name - 1; p++) {
            char ch = *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
            name[j++] = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '_';
        }
        name[j] = 0;
        while (name[0] == '_')
            memmove(name, name + 1, strlen(name));
        if (name[0])
            journal_str(out, name, json_string_value(v));
    }
}
