/* The container's /sys/fs/cgroup, mounted in the spawned child from what
 * runtime/linux/cgroup_fs.c prepared, as runc mounts Docker's "cgroup"
 * mount (nosuid, nodev, noexec, read-only unless privileged):
 *
 * - cgroup v2: cgroup2 itself; in a private cgroup namespace (entered
 *   before the mounts) its root is the container's cgroup.
 * - cgroup v1: a tmpfs (mode 755), then each hierarchy's directory of the
 *   container's cgroup bound onto <name> below it, the symlinks of
 *   co-mounted controllers (cpu -> cpu,cpuacct), and the tmpfs made
 *   read-only last.  A bind rather than a new cgroup mount: it shows the
 *   same directory in either cgroup namespace mode.
 *
 * Child context: system calls only, no allocation. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/linux/spawn_internal.h"

#define MS_NSE (MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define CGROUP_DIR "/sys/fs/cgroup"

static void mount_at(const spawn_child *c, int fd, const char *src, const char *type, unsigned long flags,
                     const char *data, const char *what)
{
    char target[32];
    spawn_fd_path(target, fd);
    if (mount(src, target, type, flags, data) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "mount", what);
}

static void bind_hierarchy(const spawn_child *c, int rootfd, int dirfd, const rt_cgroup_fs_dir *d, bool ro)
{
    if (mkdirat(dirfd, d->name, 0755) < 0 && errno != EEXIST)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "create mount point " CGROUP_DIR "/", d->name);
    int fd = openat(dirfd, d->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open " CGROUP_DIR "/", d->name);
    mount_at(c, fd, d->source, NULL, MS_BIND | MS_REC, NULL, d->source);
    close(fd);
    if (ro) {
        char path[sizeof CGROUP_DIR + 256];
        size_t n = strlen(d->name);
        if (n >= sizeof path - sizeof CGROUP_DIR - 1)
            spawn_fail(c, ENAMETOOLONG, SPAWN_STEP_SETUP, "remount read-only", d->name);
        memcpy(path, CGROUP_DIR "/", sizeof CGROUP_DIR);
        memcpy(path + sizeof CGROUP_DIR, d->name, n + 1);
        if (spawn_remount_bind(rootfd, path, MS_RDONLY | MS_NSE) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "remount read-only", path);
    }
}

void spawn_cgroupfs_setup(const spawn_child *c, int rootfd)
{
    const rt_cgroup_fs *fs = c->spec->cgroup_fs;
    bool ro = !fs || !fs->writable;
    int fd = spawn_root_open(rootfd, CGROUP_DIR, O_PATH | O_DIRECTORY, 0);
    if (fd < 0 && errno == ENOENT)
        return;   /* a /sys without it (bound from elsewhere): nothing to show it in */
    if (fd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", CGROUP_DIR);
    if (fs && fs->unified) {
        mount_at(c, fd, "cgroup2", "cgroup2", MS_NSE | (ro ? MS_RDONLY : 0), NULL, CGROUP_DIR);
        close(fd);
        return;
    }
    /* Without a view (nothing prepared): an empty tmpfs, so nothing of the
     * host's tree shows through a bound /sys. */
    mount_at(c, fd, "tmpfs", "tmpfs", MS_NSE | (fs ? 0 : MS_RDONLY), "mode=755", CGROUP_DIR);
    close(fd);
    if (!fs)
        return;
    int dirfd = spawn_root_open(rootfd, CGROUP_DIR, O_PATH | O_DIRECTORY, 0);
    if (dirfd < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", CGROUP_DIR);
    for (size_t i = 0; i < fs->n_dirs; i++) {
        const rt_cgroup_fs_dir *d = &fs->dirs[i];
        if (d->source)
            bind_hierarchy(c, rootfd, dirfd, d, ro);
        else if (symlinkat(d->link, dirfd, d->name) < 0 && errno != EEXIST)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "symlink " CGROUP_DIR "/", d->name);
    }
    close(dirfd);
    if (ro && spawn_remount_bind(rootfd, CGROUP_DIR, MS_RDONLY | MS_NSE) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "remount read-only", CGROUP_DIR);
}
