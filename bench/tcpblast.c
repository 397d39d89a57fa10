/* TCP throughput between two addresses, counted by the receiver: the
 * overlay bench (bench/overlay.py) runs it inside task containers and in
 * the lab hosts' own namespaces.  Static, so it runs in any image.
 *
 *   tcpblast serve PORT          accept one connection, read it to EOF,
 *                                print "BYTES SECONDS" (first byte to EOF)
 *   tcpblast send HOST PORT MIB  connect, write MIB MiB, close, wait for
 *                                the receiver to close too
 *
 * The receiver's count is the figure: what arrived, not what was written. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (128 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(int port)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0) {
        perror("tcpblast: listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
        perror("tcpblast: accept");
        return 1;
    }
    static char buf[CHUNK];
    unsigned long long total = 0;
    double start = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
        if (!total)
            start = now();
        total += (unsigned long long)n;
    }
    double secs = now() - start;
    close(c);
    close(ls);
    if (n < 0) {
        perror("tcpblast: read");
        return 1;
    }
    printf("%llu %.6f\n", total, secs);
    return 0;
}

static int send_to(const char *host, int port, long mib)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "tcpblast: %s is not an IPv4 address\n", host);
        return 2;
    }
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("tcpblast: connect");
        return 1;
    }
    static char buf[CHUNK];
    memset(buf, 'x', sizeof buf);
    unsigned long long left = (unsigned long long)mib << 20;
    while (left) {
        size_t want = left < sizeof buf ? left : sizeof buf;
        ssize_t n = write(s, buf, want);
        if (n <= 0) {
            perror("tcpblast: write");
            return 1;
        }
        left -= (unsigned long long)n;
    }
    shutdown(s, SHUT_WR);
    while (read(s, buf, sizeof buf) > 0)
        ;
    close(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "serve"))
        return serve(atoi(argv[2]));
    if (argc == 5 && !strcmp(argv[1], "send"))
        return send_to(argv[2], atoi(argv[3]), atol(argv[4]));
    fprintf(stderr, "usage: tcpblast serve PORT | tcpblast send HOST PORT MIB\n");
    return 2;
}
