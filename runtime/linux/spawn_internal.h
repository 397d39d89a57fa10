/* What the parent prepares for the spawned child (runtime/linux/spawn.c) and the
 * child's filesystem setup (runtime/linux/spawn_fs.c).  Everything here is read by
 * the child, a fork-like copy of a multithreaded daemon: it may only make
 * system calls and read this memory (no malloc, no stdio, no locks). */
#ifndef BERTH_RUNTIME_SPAWN_INTERNAL_H
#define BERTH_RUNTIME_SPAWN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sys/types.h>

#include "lib/err.h"
#include "runtime/linux/spawn.h"

typedef struct spawn_child {
    const rt_spawn_spec *spec;
    int go_fd;                       /* child's end of the "go" socket */
    int go_parent_fd;                /* parent's end: the child closes it */
    int err_fd;                      /* write end of the error pipe (close-on-exec) */
    int err_parent_fd;               /* read end: the child closes it */

    const char *exec_path;           /* argv[0] when it contains '/' */
    const char *path_cands;          /* else "dir/argv0\0dir2/argv0\0\0" from PATH */
    char *const *env;                /* never NULL */

    char **sysctl_paths;             /* "/proc/sys/net/ipv4/ip_forward", per spec->sysctls */
    const char *const *masked;       /* defaults applied; NULL when privileged */
    const char *const *readonly;     /* likewise */
    char shm_data[64];               /* tmpfs data for /dev/shm */
    char oom[16];                    /* oom_score_adj as text */
    char console[64];                /* host path of the tty's pty slave, "" if none */
    bool new_console;                /* spec->console_master: make the pty in the container */
    bool mqueue;                     /* the container has its own IPC namespace */
    bool new_cgroupns;               /* unshare it after the parent placed us */

    /* With spec->userns: the host ids of the remapped root (the child acts
     * on files as them until it enters its namespace), of the console's
     * owner, and devpts' options with the host gid of tty. */
    uid_t root_uid, console_uid;
    gid_t root_gid;
    char devpts_data[96];
    int userns_join;                 /* a CLONE_NEWUSER join's fd, or -1 */

    uint64_t caps;                   /* spec->caps limited to what we hold */
    int last_cap;
} spawn_child;

/* What the child writes to the error pipe before exiting; the parent turns
 * it into a berr.  Small enough for one atomic pipe write. */
typedef struct spawn_report {
    int err;                         /* positive errno */
    int step;                        /* SPAWN_STEP_* */
    char msg[256];                   /* "mount /proc", or the path for exec steps */
} spawn_report;

enum {
    SPAWN_STEP_SETUP = 1,            /* msg names the step: "<msg>: <strerror>" */
    SPAWN_STEP_NOT_FOUND,            /* no PATH entry has argv[0] */
    SPAWN_STEP_STAT,                 /* stat of a path with '/' failed */
    SPAWN_STEP_PERM,                 /* found but a directory or not executable */
    SPAWN_STEP_EXEC,                 /* execve itself failed; msg is the path */
};

/* Reports err (positive errno) for step with message "<what> <subject>"
 * (subject may be NULL) and exits the child. */
_Noreturn void spawn_fail(const spawn_child *c, int err, int step, const char *what, const char *subject);

/* Mounts the container's filesystems below spec->rootfs and pivots into it
 * (runtime/linux/spawn_fs.c).  Runs in the child; exits through spawn_fail.
 * With c->new_console it also opens a pty in the container's devpts and
 * binds its peer onto /dev/console: console[0] is the master, console[1]
 * the peer (both close-on-exec); otherwise both are -1. */
void spawn_fs_setup(const spawn_child *c, int console[2]);

/* The child's side of rt_spawn (spawn.c): waits for "go", sets up, execs. */
_Noreturn void spawn_child_main(spawn_child *c);

struct clone_args;
/* clone3(cargs) of the container under a monitor (spawn_monitor.c): returns
 * its pid with *pidfd opened on it and *monitor_pidfd on the monitor (whose
 * pid is *monitor_pid), or a negative errno. */
pid_t spawn_monitor_clone(spawn_child *c, struct clone_args *cargs, int pid_ns_fd, int *pidfd, int *monitor_pidfd,
                          pid_t *monitor_pid, berr *e);
/* A spawn under a monitor that failed: both are killed, monitor_pidfd closed. */
void spawn_monitor_abandon(int pidfd, int monitor_pidfd);

/* mkdir -p of path below the directory rootfd, symlinks resolved inside it.
 * Returns an O_PATH descriptor of the directory, or -1 with errno. */
int spawn_mkdirs_in(int rootfd, const char *path);

/* Helpers of runtime/linux/spawn_fs.c for the other child-side files:
 * open below rootfd with symlinks resolved inside it (openat2
 * RESOLVE_IN_ROOT); "/proc/self/fd/N" (out: 32 bytes); remount of the
 * mount at path with flags, keeping its nosuid/nodev/noexec. */
int spawn_root_open(int rootfd, const char *path, int flags, mode_t mode);
void spawn_fd_path(char *out, int fd);
int spawn_remount_bind(int rootfd, const char *path, unsigned long flags);

/* /sys/fs/cgroup per spec->cgroup_fs (runtime/linux/spawn_cgroupfs.c),
 * after /sys is mounted. */
void spawn_cgroupfs_setup(const spawn_child *c, int rootfd);

#endif
