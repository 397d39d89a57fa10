/* The container's filesystem, set up in the spawned child as runc does for
 * Docker: the rootfs bound onto itself, /proc, a tmpfs /dev with the default
 * nodes, /dev/pts, /dev/shm, /dev/mqueue, /sys read-only, extra devices, the
 * spec's mounts, sysctls, masked and read-only paths, then pivot_root.
 *
 * Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT), so
 * a symlink in the image ("/proc -> /") cannot send a mount onto the host;
 * mounts then target the resolved object through /proc/self/fd/N.  After a
 * mount, the same path is resolved again to reach the new mount's root
 * (needed for remounts).  With a console asked for, the pty is opened in the
 * container's devpts here too.  Child context: system calls only, no
 * allocation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/linux/spawn_internal.h"

#define MS_NSE (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* "/proc/self/fd/N" into out (at least 32 bytes). */
static void fd_path(char *out, int fd)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, prefix, sizeof prefix - 1);
    char *p = out + sizeof prefix - 1;
    while (n)
        *p++ = digits[--n];
    *p = 0;
}

static int root_open(int rootfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_IN_ROOT,
    };
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

int spawn_mkdirs_in(int rootfd, const char *path)
{
    int fd = root_open(rootfd, path, O_PATH | O_DIRECTORY, 0);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    int dfd = root_open(rootfd, "/", O_PATH | O_DIRECTORY, 0);
    if (dfd < 0)
        return -1;
    /* One component at a time: mkdirat in the already-resolved parent never
     * follows a symlink, and the prefix is resolved again inside the root. */
    char *p = buf;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        char *end = p;
        while (*end && *end != '/')
            end++;
        char saved = *end;
        *end = 0;
        int nfd = root_open(rootfd, buf, O_PATH | O_DIRECTORY, 0);
        if (nfd < 0 && errno == ENOENT) {
            if (mkdirat(dfd, p, 0755) < 0 && errno != EEXIST) {
                close_keep_errno(dfd);
                return -1;
            }
            nfd = root_open(rootfd, buf, O_PATH | O_DIRECTORY, 0);
        }
        if (nfd < 0) {
            close_keep_errno(dfd);
            return -1;
        }
        close(dfd);
        dfd = nfd;
        *end = saved;
        p = end;
    }
    return dfd;
}

/* Like spawn_mkdirs_in for an empty regular file (file bind mounts). */
static int root_mkfile(int rootfd, const char *path)
{
    int fd = root_open(rootfd, path, O_PATH, 0);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    char dir[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, len + 1);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        base = path + (slash - dir) + 1;
        *slash = 0;
    } else {
        dir[0] = 0;
    }
    int dfd = spawn_mkdirs_in(rootfd, dir[0] ? dir : "/");
    if (dfd < 0)
        return -1;
    int f = openat(dfd, base, O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (f < 0 && errno != EEXIST) {
        close_keep_errno(dfd);
        return -1;
    }
    if (f >= 0)
        close(f);
    close(dfd);
    return root_open(rootfd, path, O_PATH, 0);
}

static int mount_on(const char *src, int fd, const char *type, unsigned long flags, const char *data)
{
    char target[32];
    fd_path(target, fd);
    return mount(src, target, type, flags, data);
}

/* Remounts the bind mount now at path with flags, keeping nosuid/nodev/
 * noexec it already has (clearing them would loosen the source's rules).
 * statfs's ST_NOSUID/ST_NODEV/ST_NOEXEC have the values of the MS_ flags. */
static int remount_bind(int rootfd, const char *path, unsigned long flags)
{
    int fd = root_open(rootfd, path, O_PATH, 0);
    if (fd < 0)
        return -1;
    char target[32];
    fd_path(target, fd);
    struct statfs st;
    unsigned long keep = 0;
    if (statfs(target, &st) == 0)
        keep = (unsigned long)st.f_flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
    int r = mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags | keep, NULL);
    close_keep_errno(fd);
    return r;
}

/* The spec mounts something at dst itself: Docker then drops its default. */
static bool user_mounts(const rt_spawn_spec *s, const char *dst)
{
    size_t n = strlen(dst);
    for (size_t i = 0; i < s->n_mounts; i++) {
        const char *d = s->mounts[i].destination;
        size_t m = strlen(d);
        while (m > 1 && d[m - 1] == '/')
            m--;
        if (m == n && memcmp(d, dst, n) == 0)
            return true;
    }
    return false;
}

/* mkdir -p dst in the root and mount there, or fail the spawn. */
static void mount_dir(const spawn_child *c, int rootfd, const char *dst, const char *src, const char *type,
                      unsigned long flags, const char *data)
{
    int fd = spawn_mkdirs_in(rootfd, dst);
    if (fd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "create mount point", dst);
    if (mount_on(src, fd, type, flags, data) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", dst);
    close(fd);
}

/* mount_dir for the directories below /dev (see setup_dev). */
static void dev_mount(const spawn_child *c, int rootfd, const char *dst, const char *src, const char *type,
                      unsigned long flags, const char *data)
{
    if (c->spec->privileged && !user_mounts(c->spec, "/dev")) {
        int fd = root_open(rootfd, dst, O_PATH | O_DIRECTORY, 0);
        if (fd < 0 && errno == ENOENT)
            return;
        if (fd < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", dst);
        if (mount_on(src, fd, type, flags, data) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", dst);
        close(fd);
        return;
    }
    mount_dir(c, rootfd, dst, src, type, flags, data);
}

static void setup_dev(const spawn_child *c, int rootfd)
{
    const rt_spawn_spec *s = c->spec;
    if (!user_mounts(s, "/dev")) {
        if (s->privileged) {
            mount_dir(c, rootfd, "/dev", "/dev", NULL, MS_BIND | MS_REC, NULL);
        } else {
            mount_dir(c, rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
            int devfd = root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
            if (devfd < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", "/dev");
            static const struct { const char *name; unsigned major, minor; } nodes[] = {
                {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
            };
            for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
                if (mknodat(devfd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0)
                    spawn_fail(c, errno, SPAWN_STEP_SETUP, "mknod /dev/", nodes[i].name);
            static const struct { const char *name, *target; } links[] = {
                {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
            };
            for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
                if (symlinkat(links[i].target, devfd, links[i].name) < 0)
                    spawn_fail(c, errno, SPAWN_STEP_SETUP, "symlink /dev/", links[i].name);
            close(devfd);
        }
    }
    /* A privileged container still gets its own pty, shm and mqueue
     * instances, stacked over the host's inside its mount namespace, but
     * only where the host has the directory: its /dev is the host's own
     * devtmpfs, which we must not write to. */
    if (!user_mounts(s, "/dev/pts"))
        dev_mount(c, rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, c->devpts_data);
    if (!user_mounts(s, "/dev/shm"))
        dev_mount(c, rootfd, "/dev/shm", "shm", "tmpfs", MS_NSE, c->shm_data);
    if (c->mqueue && !user_mounts(s, "/dev/mqueue"))
        dev_mount(c, rootfd, "/dev/mqueue", "mqueue", "mqueue", MS_NSE, NULL);
}

static void setup_sys(const spawn_child *c, int rootfd)
{
    const rt_spawn_spec *s = c->spec;
    unsigned long ro = s->privileged ? 0 : MS_RDONLY;
    if (!user_mounts(s, "/sys")) {
        int fd = spawn_mkdirs_in(rootfd, "/sys");
        if (fd < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "create mount point", "/sys");
        if (mount_on("sysfs", fd, "sysfs", MS_NSE | ro, NULL) < 0) {
            /* sysfs refuses a mount for a network namespace we do not own
             * (the host's, with --network host): show the host's instead. */
            if (errno != EPERM || mount_on("/sys", fd, NULL, MS_BIND | MS_REC, NULL) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", "/sys");
            if (ro && remount_bind(rootfd, "/sys", MS_RDONLY | MS_NSE) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "remount read-only", "/sys");
        }
        close(fd);
    }
    if (!user_mounts(s, "/sys/fs/cgroup"))
        spawn_cgroupfs_setup(c, rootfd);
}

static void make_devices(const spawn_child *c, int rootfd)
{
    const rt_spawn_spec *s = c->spec;
    /* A privileged container's /dev is the host's, which has the host's
     * devices already; creating nodes there would change the host. */
    bool host_dev = s->privileged && !user_mounts(s, "/dev");
    for (size_t i = 0; i < s->n_devices; i++) {
        const rt_device *d = &s->devices[i];
        if (host_dev && strncmp(d->path, "/dev/", 5) == 0)
            continue;
        char dir[PATH_MAX];
        size_t len = strlen(d->path);
        const char *slash = strrchr(d->path, '/');
        if (len >= sizeof dir || !slash || !slash[1])
            spawn_fail(c, EINVAL, SPAWN_STEP_SETUP, "device path", d->path);
        memcpy(dir, d->path, (size_t)(slash - d->path));
        dir[slash - d->path] = 0;
        int dfd = spawn_mkdirs_in(rootfd, dir[0] ? dir : "/");
        if (dfd < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "create directory for device", d->path);
        mode_t type = d->type == 'b' ? S_IFBLK : S_IFCHR;
        /* An existing node (a privileged container's host /dev) is kept as is. */
        uid_t uid = d->uid;
        gid_t gid = d->gid;
        if (s->userns && (rt_idmap_uid(s->userns, d->uid, &uid) < 0 || rt_idmap_gid(s->userns, d->gid, &gid) < 0))
            spawn_fail(c, ERANGE, SPAWN_STEP_SETUP, "device owner outside the remapped range:", d->path);
        if (mknodat(dfd, slash + 1, type | (d->mode & 07777), makedev(d->major, d->minor)) == 0) {
            if (fchownat(dfd, slash + 1, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "chown device", d->path);
        } else if (errno != EEXIST) {
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "mknod", d->path);
        }
        close(dfd);
    }
}

static void spec_mounts(const spawn_child *c, int rootfd)
{
    const rt_spawn_spec *s = c->spec;
    for (size_t i = 0; i < s->n_mounts; i++) {
        const rt_mount *m = &s->mounts[i];
        bool bind = (m->type && strcmp(m->type, "bind") == 0) || (m->flags & MS_BIND);
        int fd;
        if (bind) {
            struct stat st;
            if (stat(m->source, &st) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "bind source", m->source);
            fd = S_ISDIR(st.st_mode) ? spawn_mkdirs_in(rootfd, m->destination)
                                     : root_mkfile(rootfd, m->destination);
            if (fd < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "create mount point", m->destination);
            if (mount_on(m->source, fd, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", m->destination);
            /* MS_RDONLY and friends are ignored on a new bind: remount. */
            unsigned long rest = m->flags & ~(unsigned long)(MS_BIND | MS_REC);
            if (rest && remount_bind(rootfd, m->destination, rest) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "remount", m->destination);
        } else {
            fd = spawn_mkdirs_in(rootfd, m->destination);
            if (fd < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "create mount point", m->destination);
            if (mount_on(m->source ? m->source : m->type, fd, m->type, m->flags, m->data) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", m->destination);
        }
        close(fd);
        if (m->propagation) {
            fd = root_open(rootfd, m->destination, O_PATH, 0);
            if (fd < 0 || mount_on(NULL, fd, NULL, m->propagation, NULL) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "set propagation of", m->destination);
            close(fd);
        }
    }
}

static void write_sysctls(const spawn_child *c, int rootfd)
{
    const rt_spawn_spec *s = c->spec;
    for (size_t i = 0; i < s->n_sysctls; i++) {
        int fd = root_open(rootfd, c->sysctl_paths[i], O_WRONLY | O_TRUNC, 0);
        size_t len = strlen(s->sysctls[i].value);
        if (fd < 0 || write(fd, s->sysctls[i].value, len) != (ssize_t)len)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "write sysctl", s->sysctls[i].key);
        close(fd);
    }
}

static void mask_paths(const spawn_child *c, int rootfd)
{
    for (const char *const *p = c->masked; p && *p; p++) {
        int fd = root_open(rootfd, *p, O_PATH, 0);
        if (fd < 0 && errno == ENOENT)
            continue;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "mask", *p);
        int r = S_ISDIR(st.st_mode) ? mount_on("tmpfs", fd, "tmpfs", MS_RDONLY, NULL)
                                    : mount_on("/dev/null", fd, NULL, MS_BIND, NULL);
        if (r < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "mask", *p);
        close(fd);
    }
}

static void readonly_paths(const spawn_child *c, int rootfd)
{
    for (const char *const *p = c->readonly; p && *p; p++) {
        int fd = root_open(rootfd, *p, O_PATH, 0);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "make read-only", *p);
        char self[32];
        fd_path(self, fd);
        if (mount(self, self, NULL, MS_BIND | MS_REC, NULL) < 0 || remount_bind(rootfd, *p, MS_RDONLY) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "make read-only", *p);
        close(fd);
    }
}

/* runc's console: a pty of the container's own devpts, so `tty` in the
 * container names /dev/pts/N.  A /dev/pts the spec mounted itself could hold
 * anything under that name: O_NONBLOCK so a FIFO cannot stall us, and only
 * a real multiplexer (5:2) will do.  The peer comes from TIOCGPTPEER, never
 * by a path. */
static void open_console(const spawn_child *c, int rootfd, int console[2])
{
    int m = root_open(rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK, 0);
    struct stat st;
    if (m < 0 || fstat(m, &st) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", "/dev/pts/ptmx");
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2)
        spawn_fail(c, ENOTTY, SPAWN_STEP_SETUP, "not a pty multiplexer:", "/dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "unlock the console pty", NULL);
    if (fcntl(m, F_SETFL, O_RDWR) < 0)   /* the master leaves blocking, as any new descriptor */
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "set console flags", NULL);
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open the console's peer", NULL);
    /* The user's terminal, as runc's fixStdioPermissions makes it (the
     * group stays tty). */
    if (fchown(peer, c->console_uid, (gid_t)-1) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "chown the console", NULL);
    console[0] = m;
    console[1] = peer;
}

/* With a tty, /dev/console is the container's terminal, as with runc.  Our
 * own pty's peer is bound through its descriptor; a slave the caller gave
 * by its host path: that descriptor's mount belongs to the daemon's mount
 * namespace, and a bind across namespaces is refused. */
static void bind_console(const spawn_child *c, int rootfd, int peer)
{
    if ((peer < 0 && !c->console[0]) || user_mounts(c->spec, "/dev"))
        return;
    char src[32];
    if (peer >= 0)
        fd_path(src, peer);
    int fd = c->spec->privileged ? root_open(rootfd, "/dev/console", O_PATH, 0)
                                 : root_mkfile(rootfd, "/dev/console");
    if (fd < 0 && errno == ENOENT && c->spec->privileged)
        return;
    if (fd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "create", "/dev/console");
    if (mount_on(peer >= 0 ? src : c->console, fd, NULL, MS_BIND, NULL) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", "/dev/console");
    close(fd);
}

void spawn_fs_setup(const spawn_child *c, int console[2])
{
    const rt_spawn_spec *s = c->spec;
    /* Nothing we mount may propagate back to the host, and pivot_root
     * refuses shared mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "make / private", NULL);
    /* pivot_root needs the new root to be a mount point. */
    if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "bind rootfs", s->rootfs);
    int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open rootfs", s->rootfs);

    if (!user_mounts(s, "/proc"))
        mount_dir(c, rootfd, "/proc", "proc", "proc", MS_NSE, NULL);
    setup_dev(c, rootfd);
    setup_sys(c, rootfd);
    make_devices(c, rootfd);
    spec_mounts(c, rootfd);
    /* After the spec's mounts: a /dev/pts of its own is where the pty goes. */
    console[0] = console[1] = -1;
    if (c->new_console)
        open_console(c, rootfd, console);
    bind_console(c, rootfd, console[1]);
    /* Before /proc/sys turns read-only. */
    write_sysctls(c, rootfd);
    mask_paths(c, rootfd);
    readonly_paths(c, rootfd);

    /* pivot_root(".", ".") stacks the old root on the new one; detaching
     * "." then drops the host's tree from the namespace. */
    if (fchdir(rootfd) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "chdir", s->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "pivot_root", s->rootfs);
    if (umount2(".", MNT_DETACH) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "detach old root", NULL);
    if (chdir("/") < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "chdir", "/");
    close(rootfd);

    if (s->readonly_rootfs) {
        struct statfs st;
        unsigned long keep = 0;
        if (statfs("/", &st) == 0)
            keep = (unsigned long)st.f_flags & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
        if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "remount read-only", "/");
    }
}

/* For runtime/linux/spawn_cgroupfs.c. */
int spawn_root_open(int rootfd, const char *path, int flags, mode_t mode)
{
    return root_open(rootfd, path, flags, mode);
}

void spawn_fd_path(char *out, int fd) { fd_path(out, fd); }

int spawn_remount_bind(int rootfd, const char *path, unsigned long flags)
{
    return remount_bind(rootfd, path, flags);
}
