/* HTTP/1.1 load generator for a daemon's unix socket: N keep-alive
 * connections, one request in flight on each, for a fixed time; prints
 * "REQ_PER_S OK ERRORS P50_US P99_US".  wrk and ab cannot talk to AF_UNIX.
 *
 *   loadgen SOCKET PATH [CONNECTIONS=16] [SECONDS=5]
 *
 * One thread and epoll, so on a small machine the client takes as little
 * CPU from the daemon as a client can.  A reply is complete when its
 * headers and Content-Length body (or chunked body up to the 0 chunk) are
 * in; the server may answer either way. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF (1 << 20)
#define MAX_SAMPLES (1 << 22)

typedef struct conn {
    int fd;
    char *buf;
    size_t len;
    double sent;
} conn;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dial(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("loadgen: connect");
        exit(1);
    }
    return fd;
}

/* Length of the complete reply at the start of b, 0 while incomplete, -1
 * when it cannot be parsed; *status gets the HTTP status. */
static long reply_len(const char *b, size_t n, int *status)
{
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - b) + 4;
    if (sscanf(b, "HTTP/1.%*d %d", status) != 1)
        return -1;
    for (const char *l = b; l < end; l = (const char *)memchr(l, '\n', (size_t)(end - l)) + 1) {
        if (strncasecmp(l, "Content-Length:", 15) == 0) {
            size_t body = strtoul(l + 15, NULL, 10);
            return head + body <= n ? (long)(head + body) : 0;
        }
        if (strncasecmp(l, "Transfer-Encoding:", 18) == 0) {
            /* Chunked: walk the chunks to the terminating zero one. */
            size_t p = head;
            for (;;) {
                char *eol = memmem(b + p, n - p, "\r\n", 2);
                if (!eol)
                    return 0;
                size_t sz = strtoul(b + p, NULL, 16);
                p = (size_t)(eol - b) + 2 + sz + 2;
                if (p > n)
                    return 0;
                if (sz == 0)
                    return (long)p;
            }
        }
        if (!memchr(l, '\n', (size_t)(end - l)))
            break;
    }
    return (long)head; /* no body (e.g. 204) */
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: loadgen SOCKET PATH [CONNECTIONS] [SECONDS]\n");
        return 2;
    }
    int nc = argc > 3 ? atoi(argv[3]) : 16;
    double secs = argc > 4 ? atof(argv[4]) : 5;
    char req[2048];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: berth-loadgen\r\n\r\n", argv[2]);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn *cs = calloc((size_t)nc, sizeof *cs);
    float *lat = malloc(MAX_SAMPLES * sizeof *lat);
    size_t nlat = 0;
    long ok = 0, errs = 0;
    double t0 = now_us(), deadline = t0 + secs * 1e6;
    for (int i = 0; i < nc; i++) {
        cs[i].fd = dial(argv[1]);
        cs[i].buf = malloc(BUF);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        cs[i].sent = now_us();
        if (write(cs[i].fd, req, (size_t)rl) != rl) {
            perror("loadgen: write");
            return 1;
        }
    }
    int open = nc;
    while (open > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        if (n < 0 && errno != EINTR)
            break;
        for (int k = 0; k < n; k++) {
            conn *c = evs[k].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
            if (r <= 0) {
                fprintf(stderr, "loadgen: connection closed by the server\n");
                errs++;
                close(c->fd);
                open--;
                continue;
            }
            c->len += (size_t)r;
            int status = 0;
            long l = reply_len(c->buf, c->len, &status);
            if (l == 0)
                continue;
            if (l < 0 || (size_t)l != c->len) {
                fprintf(stderr, "loadgen: unparsable or pipelined reply\n");
                return 1;
            }
            double t = now_us();
            if (status == 200)
                ok++;
            else
                errs++;
            if (nlat < MAX_SAMPLES)
                lat[nlat++] = (float)(t - c->sent);
            c->len = 0;
            if (t >= deadline) {
                close(c->fd);
                open--;
                continue;
            }
            c->sent = t;
            if (write(c->fd, req, (size_t)rl) != rl) {
                perror("loadgen: write");
                return 1;
            }
        }
    }
    double el = (now_us() - t0) / 1e6;
    qsort(lat, nlat, sizeof *lat, cmp);
    printf("%.0f %ld %ld %.0f %.0f\n", ok / el, ok, errs, nlat ? lat[nlat / 2] : 0.0,
           nlat ? lat[(size_t)(nlat * 0.99)] : 0.0);
    return 0;
}
