/* The remote logging drivers' sockets: where each driver sends (address
 * parsing with dockerd's defaults), connecting at container start, and
 * sending without ever blocking the loop. */
#include "runtime/logs/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "runtime/logs/remote_tls.h"

#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_BUFFER (1024 * 1024)
#define GELF_CHUNK 1420 /* fits an Ethernet MTU with IP and UDP headers, as dockerd's gelf does */

typedef enum kind { K_SYSLOG, K_GELF, K_FLUENTD, K_JOURNALD } kind;

struct rt_log_remote {
    kind kind;
    int fd;
    bool stream;            /* tcp or unix stream: frames go through pending */
    bool broken;            /* the peer went away: everything is dropped */
    rt_log_tls *tls;        /* syslog over tcp+tls */
    buf pending;            /* frames not yet taken by the socket */
    size_t max_buffer;
    uint64_t dropped;
    char *tag;
    json_t *extra;
    rt_log_info info;       /* strings owned */
    /* syslog */
    rt_syslog_format sformat;
    int facility;
    bool octet_framing;     /* rfc5424 over tcp: RFC 5425 "LEN MSG" */
    /* gelf */
    int compression;        /* 0 none, 1 gzip, 2 zlib */
    int level;
    /* fluentd */
    bool subsecond;
};

static const char *opt(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Splits "scheme://rest" (scheme NULL when absent). */
static void split_scheme(const char *addr, char *scheme, size_t n, const char **rest)
{
    const char *sep = strstr(addr, "://");
    if (!sep) {
        scheme[0] = 0;
        *rest = addr;
        return;
    }
    snprintf(scheme, n, "%.*s", (int)(sep - addr), addr);
    *rest = sep + 3;
}

static int wait_connected(int fd, const char *what, berr *e)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r = poll(&p, 1, CONNECT_TIMEOUT_MS);
    if (r == 0)
        return berr_set(e, -ETIMEDOUT, "dial %s: i/o timeout", what);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        return berr_set(e, -err, "dial %s: %s", what, strerror(err));
    return 0;
}

/* Connects a socket; stream sockets wait up to CONNECT_TIMEOUT_MS unless
 * async.  The socket is left non-blocking. */
static int connect_to(int family, int type, const struct sockaddr *sa, socklen_t salen, const char *what, bool async,
                      int *out, berr *e)
{
    int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return berr_sys(e, -errno, "socket for %s", what);
    if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
        int r = -errno;
        close(fd);
        return berr_set(e, r, "dial %s: %s", what, strerror(-r));
    }
    if (type == SOCK_STREAM && !async) {
        int r = wait_connected(fd, what, e);
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    *out = fd;
    return 0;
}

static int connect_unix(const char *path, int type, bool async, int *out, berr *e)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path)
        return berr_set(e, -ENAMETOOLONG, "socket path too long: %s", path);
    strcpy(sun.sun_path, path);
    cleanup_free char *what = xasprintf("unix %s", path);
    return connect_to(AF_UNIX, type, (struct sockaddr *)&sun, sizeof sun, what, async, out, e);
}

static int connect_inet(const char *hostport, const char *dflt_port, int type, bool async, int *out, berr *e)
{
    char host[256], port[16];
    const char *colon = strrchr(hostport, ':');
    if (hostport[0] == '[') {
        const char *end = strchr(hostport, ']');
        if (!end)
            return berr_set(e, -EINVAL, "address %s: missing ']'", hostport);
        snprintf(host, sizeof host, "%.*s", (int)(end - hostport - 1), hostport + 1);
        snprintf(port, sizeof port, "%s", end[1] == ':' ? end + 2 : dflt_port);
    } else if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", hostport);
        snprintf(port, sizeof port, "%s", dflt_port);
    }
    if (!port[0])
        return berr_set(e, -EINVAL, "address %s: missing port in address", hostport);
    struct addrinfo hints = {.ai_socktype = type}, *ai = NULL;
    int g = getaddrinfo(host[0] ? host : "localhost", port, &hints, &ai);
    if (g)
        return berr_set(e, -EHOSTUNREACH, "dial %s: lookup %s: %s", type == SOCK_STREAM ? "tcp" : "udp", host, gai_strerror(g));
    cleanup_free char *what = xasprintf("%s %s:%s", type == SOCK_STREAM ? "tcp" : "udp", host, port);
    int r = connect_to(ai->ai_family, type, ai->ai_addr, ai->ai_addrlen, what, async, out, e);
    freeaddrinfo(ai);
    return r;
}

static int open_syslog(rt_log_remote *r, json_t *opts, berr *e)
{
    const char *addr = opt(opts, "syslog-address");
    char scheme[16];
    const char *rest;
    split_scheme(addr && *addr ? addr : "unixgram:///dev/log", scheme, sizeof scheme, &rest);
    const char *fmt = opt(opts, "syslog-format");
    bool local = !strcmp(scheme, "unix") || !strcmp(scheme, "unixgram");
    r->sformat = !fmt || !*fmt                 ? (local ? SYSLOG_UNIX : SYSLOG_DEFAULT)
                 : !strcmp(fmt, "rfc3164")      ? SYSLOG_RFC3164
                 : !strcmp(fmt, "rfc5424micro") ? SYSLOG_RFC5424MICRO
                                                : SYSLOG_RFC5424;
    static const char *const fac[] = {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                      "uucp", "cron", "authpriv", "ftp", NULL};
    const char *f = opt(opts, "syslog-facility");
    r->facility = 3; /* daemon */
    if (f && *f) {
        bool named = false;
        for (int i = 0; fac[i]; i++)
            if (!strcmp(fac[i], f)) {
                r->facility = i;
                named = true;
            }
        if (!named && !strncmp(f, "local", 5))
            r->facility = 16 + atoi(f + 5);
        else if (!named)
            r->facility = atoi(f);
    }
    if (!strcmp(scheme, "udp"))
        return connect_inet(rest, "514", SOCK_DGRAM, false, &r->fd, e);
    if (!strcmp(scheme, "tcp")) {
        r->stream = true;
        r->octet_framing = r->sformat == SYSLOG_RFC5424 || r->sformat == SYSLOG_RFC5424MICRO;
        return connect_inet(rest, "514", SOCK_STREAM, false, &r->fd, e);
    }
    if (!strcmp(scheme, "tcp+tls")) {
        r->stream = true;
        r->octet_framing = r->sformat == SYSLOG_RFC5424 || r->sformat == SYSLOG_RFC5424MICRO;
        int rc = connect_inet(rest, "514", SOCK_STREAM, false, &r->fd, e);
        if (rc < 0)
            return rc;
        char host[256];
        const char *colon = strrchr(rest, ':');
        snprintf(host, sizeof host, "%.*s", colon && rest[0] != '[' ? (int)(colon - rest) : (int)strlen(rest), rest);
        if (host[0] == '[') {   /* [v6]:port: an address, not a name */
            char *end = strchr(host, ']');
            memmove(host, host + 1, strlen(host));
            if (end)
                *(end - 1) = 0;
        }
        return rt_log_tls_open(r->fd, host, opts, CONNECT_TIMEOUT_MS, &r->tls, e);
    }
    if (!strcmp(scheme, "unixgram"))
        return connect_unix(rest, SOCK_DGRAM, false, &r->fd, e);
    /* unix: a datagram socket first, then a stream, as Go's syslog dials */
    berr ignored = {0};
    if (connect_unix(rest, SOCK_DGRAM, false, &r->fd, &ignored) == 0)
        return 0;
    r->stream = true;
    return connect_unix(rest, SOCK_STREAM, false, &r->fd, e);
}

static int open_gelf(rt_log_remote *r, json_t *opts, berr *e)
{
    char scheme[16];
    const char *rest;
    split_scheme(opt(opts, "gelf-address"), scheme, sizeof scheme, &rest);
    const char *ct = opt(opts, "gelf-compression-type");
    r->compression = !ct || !strcmp(ct, "gzip") ? 1 : !strcmp(ct, "zlib") ? 2 : 0;
    const char *lv = opt(opts, "gelf-compression-level");
    r->level = lv ? atoi(lv) : 1; /* dockerd's default: gzip.BestSpeed */
    if (!strcmp(scheme, "tcp")) {
        r->stream = true;
        r->compression = 0; /* GELF over TCP is uncompressed, NUL-terminated */
        return connect_inet(rest, "12201", SOCK_STREAM, false, &r->fd, e);
    }
    return connect_inet(rest, "12201", SOCK_DGRAM, false, &r->fd, e);
}

static int open_fluentd(rt_log_remote *r, json_t *opts, berr *e)
{
    const char *addr = opt(opts, "fluentd-address");
    char scheme[16];
    const char *rest;
    split_scheme(addr && *addr ? addr : "localhost:24224", scheme, sizeof scheme, &rest);
    const char *a = opt(opts, "fluentd-async");
    const char *ac = opt(opts, "fluentd-async-connect");
    bool async = (a && !strcmp(a, "true")) || (ac && !strcmp(ac, "true"));
    const char *ss = opt(opts, "fluentd-sub-second-precision");
    r->subsecond = ss && !strcmp(ss, "true");
    r->stream = true;
    if (!strcmp(scheme, "unix"))
        return connect_unix(rest, SOCK_STREAM, async, &r->fd, e);
    return connect_inet(rest, "24224", SOCK_STREAM, async, &r->fd, e);
}

static int open_journald(rt_log_remote *r, berr *e)
{
    /* BERTH_JOURNALD_SOCKET: for tests and hosts whose journald listens elsewhere */
    const char *path = getenv("BERTH_JOURNALD_SOCKET");
    int rc = connect_unix(path && *path ? path : "/run/systemd/journal/socket", SOCK_DGRAM, false, &r->fd, e);
    return rc < 0 ? berr_wrap(e, "journald is not reachable") : 0;
}

static void info_copy(rt_log_info *to, const rt_log_info *from)
{
    to->id = xstrdup(from->id ? from->id : "");
    to->name = xstrdup(from->name ? from->name : "");
    to->image_id = xstrdup(from->image_id ? from->image_id : "");
    to->image_name = xstrdup(from->image_name ? from->image_name : "");
    to->command = xstrdup(from->command ? from->command : "");
    to->created = xstrdup(from->created ? from->created : "");
    to->hostname = xstrdup(from->hostname ? from->hostname : "");
    to->daemon_name = xstrdup(from->daemon_name ? from->daemon_name : "docker");
    to->labels = NULL;
    to->env = NULL;
}

static void info_free(rt_log_info *i)
{
    free((char *)i->id);
    free((char *)i->name);
    free((char *)i->image_id);
    free((char *)i->image_name);
    free((char *)i->command);
    free((char *)i->created);
    free((char *)i->hostname);
    free((char *)i->daemon_name);
}

int rt_log_remote_open(const char *driver, json_t *opts, const rt_log_info *info, rt_log_remote **out, berr *e)
{
    *out = NULL;
    rt_log_remote *r = xcalloc(1, sizeof *r);
    r->fd = -1;
    r->kind = !strcmp(driver, "syslog") ? K_SYSLOG : !strcmp(driver, "gelf") ? K_GELF
              : !strcmp(driver, "fluentd") ? K_FLUENTD : K_JOURNALD;
    r->max_buffer = DEFAULT_BUFFER;
    const char *mb = opt(opts, "max-buffer-size");
    int64_t n;
    if (mb && rt_log_parse_size(mb, &n) == 0 && n > 0)
        r->max_buffer = (size_t)n;
    info_copy(&r->info, info);
    r->tag = rt_log_tag(opt(opts, "tag"), r->kind == K_FLUENTD ? "docker.{{.ID}}" : "{{.ID}}", info, e);
    int rc = r->tag ? 0 : -EINVAL;
    r->extra = rt_log_extra_attrs(opts, info);
    if (rc == 0) {
        switch (r->kind) {
        case K_SYSLOG: rc = open_syslog(r, opts, e); break;
        case K_GELF: rc = open_gelf(r, opts, e); break;
        case K_FLUENTD: rc = open_fluentd(r, opts, e); break;
        case K_JOURNALD: rc = open_journald(r, e); break;
        }
    }
    if (rc < 0) {
        if (r->kind != K_JOURNALD)
            berr_wrap(e, "failed to initialize logging driver");
        rt_log_remote_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Writes what the socket takes now; keeps the rest. */
static void flush_pending(rt_log_remote *r)
{
    size_t off = 0;
    while (off < r->pending.len) {
        ssize_t w;
        if (r->tls) {
            w = rt_log_tls_send(r->tls, r->pending.data + off, r->pending.len - off);
            if (w == -EAGAIN)
                break;
            if (w < 0) {
                log_warn("log driver: tls: the session broke: dropping this container's log lines from now on");
                r->broken = true;
                break;
            }
            off += (size_t)w;
            continue;
        }
        w = send(r->fd, r->pending.data + off, r->pending.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) {
                log_warn("log driver: %s: dropping this container's log lines from now on", strerror(errno));
                r->broken = true;
            }
            break;
        }
        off += (size_t)w;
    }
    if (off) {
        memmove(r->pending.data, r->pending.data + off, r->pending.len - off);
        r->pending.len -= off;
    }
}

static void send_frame(rt_log_remote *r, const char *data, size_t len)
{
    if (r->broken) {
        r->dropped++;
        return;
    }
    if (!r->stream) {
        if (send(r->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            r->dropped++;
        return;
    }
    if (r->pending.len + len > r->max_buffer) {
        flush_pending(r);
        if (r->pending.len + len > r->max_buffer) {
            r->dropped++;
            return;
        }
    }
    buf_append(&r->pending, data, len);
    flush_pending(r);
}

static int send_chunk(void *arg, const unsigned char *d, size_t n)
{
    send_frame(arg, (const char *)d, n);
    return 0;
}

void rt_log_remote_send(rt_log_remote *r, const rt_log_msg *m)
{
    cleanup_buf buf b = BUF_INIT;
    switch (r->kind) {
    case K_SYSLOG: {
        rt_syslog_encode(&b, r->sformat, r->facility, r->info.hostname, r->tag, getpid(), m);
        if (r->octet_framing) {
            cleanup_buf buf framed = BUF_INIT;
            buf_printf(&framed, "%zu ", b.len);
            buf_append(&framed, b.data, b.len);
            send_frame(r, framed.data, framed.len);
            return;
        }
        if (r->stream)
            buf_puts(&b, "\n");
        break;
    }
    case K_GELF: {
        cleanup_free char *json = rt_gelf_encode(&r->info, r->tag, r->extra, m);
        if (!json)
            return;
        if (r->stream) {
            buf_append(&b, json, strlen(json) + 1); /* NUL-terminated frames */
            break;
        }
        if (r->compression == 0)
            buf_puts(&b, json);
        else if (rt_log_compress(json, strlen(json), r->compression == 2, r->level, &b) < 0)
            return;
        unsigned char id[8];
        randombytes_buf(id, sizeof id);
        if (rt_gelf_chunks((unsigned char *)b.data, b.len, GELF_CHUNK, id, send_chunk, r) < 0)
            r->dropped++;
        return;
    }
    case K_FLUENTD:
        rt_fluentd_encode(&b, r->tag, &r->info, r->extra, r->subsecond, m);
        break;
    case K_JOURNALD:
        rt_journald_encode(&b, &r->info, r->tag, r->extra, m);
        break;
    }
    send_frame(r, b.data, b.len);
}

uint64_t rt_log_remote_dropped(const rt_log_remote *r) { return r ? r->dropped : 0; }

void rt_log_remote_close(rt_log_remote *r)
{
    if (!r)
        return;
    if (r->fd >= 0 && r->pending.len && !r->broken)
        flush_pending(r); /* last chance, still without blocking */
    if (r->dropped)
        log_warn("log driver for container %.12s: %llu lines dropped (destination slow or gone)", r->info.id,
                 (unsigned long long)r->dropped);
    rt_log_tls_close(r->tls);
    if (r->fd >= 0)
        close(r->fd);
    buf_free(&r->pending);
    free(r->tag);
    json_decref(r->extra);
    info_free(&r->info);
    free(r);
}
