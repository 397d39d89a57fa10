/* Network namespaces held as fds, entered by the loop thread for the few
 * calls that must be made from inside (netlink and ordinary sockets,
 * /proc/sys/net).  setns() switches only the calling thread, so the rest
 * of the daemon never notices; what matters is that every entry is paired
 * with a return to where the thread was, on every path. */
#include "netoverlay/netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

/* /proc/thread-self, not /proc/self: after setns the thread and the
 * process (its main thread) may be in different namespaces. */
#define NETNS_SELF "/proc/thread-self/ns/net"

static int open_current(int *fd, berr *e)
{
    *fd = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return berr_sys(e, -errno, "open %s", NETNS_SELF);
    return 0;
}

/* Going back must not fail: a loop thread left inside a container's
 * namespace would create bridges, rules and sockets there.  setns on an
 * fd we opened ourselves only fails when the process has lost
 * CAP_SYS_ADMIN, which nothing in the daemon does; stop rather than go on
 * in the wrong place. */
static void return_to(int saved)
{
    if (setns(saved, CLONE_NEWNET) < 0) {
        log_error("cannot return to the daemon's network namespace: %s", strerror(errno));
        abort();
    }
}

int netns_create(int *fd, berr *e)
{
    int saved;
    int r = open_current(&saved, e);
    if (r < 0)
        return r;
    if (unshare(CLONE_NEWNET) < 0) {
        r = berr_sys(e, -errno, "unshare(CLONE_NEWNET)");
        close(saved);
        return r;
    }
    int nfd = open(NETNS_SELF, O_RDONLY | O_CLOEXEC);
    int err = errno;
    return_to(saved);
    close(saved);
    if (nfd < 0)
        return berr_sys(e, -err, "open %s in the new namespace", NETNS_SELF);
    *fd = nfd;
    return 0;
}

int netns_enter(int ns_fd, int *saved, berr *e)
{
    *saved = -1;
    /* -1 is "the daemon's own", as in the other calls: nothing to do, and
     * netns_leave(-1) is a no-op. */
    if (ns_fd < 0)
        return 0;
    int fd;
    int r = open_current(&fd, e);
    if (r < 0)
        return r;
    if (setns(ns_fd, CLONE_NEWNET) < 0) {
        r = berr_sys(e, -errno, "setns(network namespace)");
        close(fd);
        return r;
    }
    *saved = fd;
    return 0;
}

void netns_leave(int saved)
{
    if (saved < 0)
        return;
    return_to(saved);
    close(saved);
}

/* "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward".  A key that
 * already has slashes is a path, as sysctl(8) takes it: the only way to
 * name an interface with a dot in it ("net/ipv4/conf/br.x/forwarding"). */
static int sysctl_path(const char *key, char *path, size_t size, berr *e)
{
    if (!key || !*key || key[0] == '/' || key[0] == '.' || strstr(key, ".."))
        return berr_set(e, -EINVAL, "invalid sysctl key \"%s\"", key ? key : "");
    int n = snprintf(path, size, "/proc/sys/%s", key);
    if (n < 0 || (size_t)n >= size)
        return berr_set(e, -EINVAL, "sysctl key too long: %s", key);
    if (!strchr(key, '/'))
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
            if (*p == '.')
                *p = '/';
    return 0;
}

int netns_sysctl(int ns_fd, const char *key, const char *value, berr *e)
{
    char path[256];
    int r = sysctl_path(key, path, sizeof path, e);
    if (r < 0)
        return r;
    int saved;
    if ((r = netns_enter(ns_fd, &saved, e)) < 0)
        return r;
    /* The file is bound to the opener's namespace; writing can wait until
     * we are back, but there is no reason to. */
    cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
    int err = errno;
    netns_leave(saved);
    if (fd < 0)
        return berr_sys(e, -err, "open %s", path);
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    if (n < 0)
        return berr_sys(e, -errno, "write %s=%s", path, value);
    if ((size_t)n != len)
        return berr_set(e, -EIO, "short write to %s", path);
    return 0;
}

int netns_bound_socket(int ns_fd, int type, const char *addr, int port, int *fd, berr *e)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;
    socklen_t salen;
    memset(&sa, 0, sizeof sa);
    if (port < 0 || port > 65535)
        return berr_set(e, -EINVAL, "invalid port %d", port);
    if (inet_pton(AF_INET, addr, &sa.in4.sin_addr) == 1) {
        sa.in4.sin_family = AF_INET;
        sa.in4.sin_port = htons((uint16_t)port);
        salen = sizeof sa.in4;
    } else if (inet_pton(AF_INET6, addr, &sa.in6.sin6_addr) == 1) {
        sa.in6.sin6_family = AF_INET6;
        sa.in6.sin6_port = htons((uint16_t)port);
        salen = sizeof sa.in6;
    } else {
        return berr_set(e, -EINVAL, "invalid address \"%s\"", addr);
    }

    int saved;
    int r = netns_enter(ns_fd, &saved, e);
    if (r < 0)
        return r;
    cleanup_close int s = socket(sa.sa.sa_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) {
        r = berr_sys(e, -errno, "socket");
        goto out;
    }
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        r = berr_sys(e, -errno, "setsockopt(SO_REUSEADDR)");
        goto out;
    }
    if (bind(s, &sa.sa, salen) < 0) {
        r = berr_sys(e, -errno, "bind %s:%d", addr, port);
        goto out;
    }
    if ((type & 0xf) == SOCK_STREAM && listen(s, SOMAXCONN) < 0) {
        r = berr_sys(e, -errno, "listen %s:%d", addr, port);
        goto out;
    }
    *fd = steal_fd(&s);
out:
    netns_leave(saved);
    return r;
}
