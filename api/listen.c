#include "api/listen.h"

#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"

/* As Go's listeners: the kernel caps it at net.core.somaxconn (4096 since
 * Linux 5.4), so a burst of clients waits in the queue instead of being
 * refused with EAGAIN. */
#define BACKLOG 4096

static void push(api_socket **socks, size_t *n, int fd, bool tcp, const char *path, const char *desc)
{
    *socks = xrealloc(*socks, (*n + 1) * sizeof **socks);
    (*socks)[(*n)++] = (api_socket){fd, tcp, path ? xstrdup(path) : NULL, xstrdup(desc)};
}

/* A socket file that still accepts connections belongs to a live daemon;
 * one that refuses is stale and may be replaced. */
static bool unix_socket_alive(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool alive = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    close(fd);
    return alive;
}

static gid_t socket_group(const char *group)
{
    struct group *g = getgrnam(group);
    if (g)
        return g->gr_gid;
    if (strcmp(group, "docker") != 0)
        log_warn("group %s not found; the API socket stays owned by group root", group);
    return 0;
}

static int listen_unix(const char *path, const char *group, api_socket **socks, size_t *n, berr *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return berr_set(e, -EINVAL, "unix socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return berr_set(e, -EEXIST, "%s exists and is not a socket", path);
        if (unix_socket_alive(&sa))
            return berr_set(e, -EADDRINUSE, "another daemon is already listening on %s", path);
        log_info("removing stale socket %s", path);
        unlink(path);
    }
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0755);
    }
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return berr_sys(e, -errno, "socket");
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0)
        return berr_sys(e, -errno, "listen on %s", path);
    if (chown(path, 0, socket_group(group)) < 0 || chmod(path, 0660) < 0) {
        r = -errno;
        unlink(path);
        return berr_sys(e, r, "set owner and mode of %s", path);
    }
    if (listen(fd, BACKLOG) < 0) {
        r = -errno;
        unlink(path);
        return berr_sys(e, r, "listen on %s", path);
    }
    push(socks, n, steal_fd(&fd), false, path, path);
    return 0;
}

static int listen_tcp(const char *hostport, api_socket **socks, size_t *n, berr *e)
{
    cleanup_free char *host = xstrdup(hostport);
    char *colon = strrchr(host, ':');
    *colon = 0;
    const char *port = colon + 1;
    char *h = host;
    if (h[0] == '[') { /* [::1]:2375 */
        h++;
        char *close_br = strchr(h, ']');
        if (close_br)
            *close_br = 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(*h ? h : NULL, port, &hints, &res);
    if (g != 0)
        return berr_set(e, -EINVAL, "invalid address tcp://%s: %s", hostport, gai_strerror(g));
    int r = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
            r = -errno;
            close(fd);
            continue;
        }
        cleanup_free char *desc = xasprintf("tcp://%s", hostport);
        push(socks, n, fd, true, NULL, desc);
        r = 0;
        break;
    }
    freeaddrinfo(res);
    if (r < 0)
        return berr_sys(e, r, "listen on tcp://%s", hostport);
    return 0;
}

/* systemd passes sockets as fds 3.. with LISTEN_PID/LISTEN_FDS set. */
static int listen_fd(const char *spec, api_socket **socks, size_t *n, berr *e)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds || atoi(pid) != getpid())
        return berr_set(e, -EINVAL, "fd://%s: no sockets passed by systemd (LISTEN_FDS is not set for this process)", spec);
    int count = atoi(fds);
    if (count <= 0)
        return berr_set(e, -EINVAL, "fd://%s: systemd passed no sockets", spec);
    int want = -1;
    if (*spec) {
        char *end;
        want = (int)strtol(spec, &end, 10);
        if (*end || want < 3 || want >= 3 + count)
            return berr_set(e, -EINVAL, "fd://%s: not one of the sockets systemd passed (3..%d)", spec, 2 + count);
    }
    for (int fd = 3; fd < 3 + count; fd++) {
        if (want >= 0 && fd != want)
            continue;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        bool tcp = getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family != AF_UNIX;
        cleanup_free char *desc = xasprintf("fd://%d", fd);
        push(socks, n, fd, tcp, NULL, desc);
    }
    return 0;
}

int api_listen(const char *host, const char *group, api_socket **socks, size_t *n, berr *e)
{
    if (strncmp(host, "unix://", 7) == 0)
        return listen_unix(host + 7, group, socks, n, e);
    if (strncmp(host, "tcp://", 6) == 0)
        return listen_tcp(host + 6, socks, n, e);
    if (strncmp(host, "fd://", 5) == 0)
        return listen_fd(host + 5, socks, n, e);
    return berr_set(e, -EINVAL, "invalid host %s", host);
}

void api_socket_close(api_socket *s, bool remove_path)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (remove_path && s->unix_path)
        unlink(s->unix_path);
    free(s->unix_path);
    free(s->desc);
    s->unix_path = s->desc = NULL;
}
