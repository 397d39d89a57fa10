/* Starting a container process: berth's own runtime, no runc.
 *
 * rt_spawn() clones (clone3 with CLONE_PIDFD) into the namespaces the spec
 * asks for.  The child then sets up the container as Docker does — mounts
 * (/proc, /dev as tmpfs with the default device nodes, /dev/pts, /dev/shm,
 * /dev/mqueue, /sys read-only, masked and read-only /proc and /sys paths,
 * the spec's own mounts), pivot_root into the rootfs, hostname, sysctls,
 * rlimits, groups/gid/uid, capabilities, no_new_privs, the seccomp filter —
 * and execve()s the command.  The parent learns whether the exec succeeded
 * through a close-on-exec error pipe, so a missing executable is an error of
 * rt_spawn itself, as with dockerd.
 *
 * The child is a copy of a multithreaded daemon: it only makes system calls
 * and touches memory prepared by the parent (no malloc, no stdio, no
 * libseccomp: the filter arrives compiled).
 *
 * rt_spawn runs on the loop thread and returns once the child has exec'd
 * (or failed to): a millisecond or two. */
#ifndef BERTH_RUNTIME_SPAWN_H
#define BERTH_RUNTIME_SPAWN_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"
#include "runtime/linux/userns.h"

typedef struct rt_mount {
    const char *source;       /* host path for binds; fs name for others ("tmpfs") */
    const char *destination;  /* absolute path inside the container; created if missing */
    const char *type;         /* "bind", "tmpfs", "proc", ... */
    unsigned long flags;      /* MS_* flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC) */
    const char *data;         /* mount data ("size=65536k,mode=1777"), or NULL */
    unsigned long propagation;/* MS_PRIVATE/MS_SLAVE/MS_SHARED (| MS_REC), 0 for rprivate */
} rt_mount;

typedef struct rt_device {
    const char *path;         /* inside the container, e.g. "/dev/fuse" */
    char type;                /* 'c' or 'b' */
    unsigned major, minor;
    mode_t mode;              /* file mode bits, e.g. 0666 */
    uid_t uid;
    gid_t gid;
} rt_device;

typedef struct rt_rlimit {
    int resource;             /* RLIMIT_NOFILE, ... */
    uint64_t soft, hard;
} rt_rlimit;

typedef struct rt_sysctl {
    const char *key;          /* "net.ipv4.ip_forward" */
    const char *value;
} rt_sysctl;

/* A namespace to join instead of creating one: nstype is CLONE_NEWNET,
 * CLONE_NEWIPC, ... and fd an open /proc/<pid>/ns/<name> (not closed).
 * A CLONE_NEWPID join is entered before clone, as pid_ns_fd is. */
typedef struct rt_ns_join {
    int nstype;
    int fd;
} rt_ns_join;

/* What /sys/fs/cgroup shows in the container, as runc mounts Docker's
 * "cgroup" mount (built by rt_cgroup_fs_new, runtime/linux/cgroup_fs.h;
 * mounted by runtime/linux/spawn_cgroupfs.c). */
typedef struct rt_cgroup_fs_dir {
    char *name;               /* entry below /sys/fs/cgroup: "memory", "cpu,cpuacct", "systemd" */
    char *source;             /* host directory of the container's cgroup in that hierarchy, bound
                               * onto the entry; NULL: the entry is a symlink to link */
    char *link;               /* "cpu,cpuacct" for the symlink "cpu" */
} rt_cgroup_fs_dir;

typedef struct rt_cgroup_fs {
    bool unified;             /* cgroup v2: a cgroup2 mount at /sys/fs/cgroup, no dirs */
    bool writable;            /* read-write (--privileged, as dockerd clears "ro"); else read-only */
    size_t n_dirs;            /* v1: a tmpfs with one bind (or symlink) per hierarchy */
    rt_cgroup_fs_dir *dirs;
} rt_cgroup_fs;

typedef struct rt_spawn_spec {
    /* What to run.  argv[0] is resolved in the container: a name without '/'
     * is searched in the PATH of env (default PATH if env has none). */
    char *const *argv;
    char *const *env;           /* "K=V" strings, NULL-terminated */
    const char *cwd;            /* inside the container; created if missing; NULL = "/" */

    /* Filesystem.  rootfs == NULL means: stay in the namespaces' existing
     * root (exec into a running container joins its mount namespace). */
    const char *rootfs;         /* the merged root, already mounted by the caller */
    bool readonly_rootfs;
    const rt_mount *mounts;     /* applied after the defaults, in order */
    size_t n_mounts;
    const rt_device *devices;   /* extra device nodes (--device) */
    size_t n_devices;
    const char *const *masked_paths;   /* NULL-terminated; NULL = Docker's defaults, empty list = none */
    const char *const *readonly_paths; /* likewise */
    bool privileged;            /* host /dev bound in, /sys rw, nothing masked */
    uint64_t shm_size;          /* bytes for /dev/shm; 0 = 64 MiB */
    const rt_cgroup_fs *cgroup_fs; /* /sys/fs/cgroup; NULL: an empty read-only tmpfs */

    /* Namespaces: CLONE_NEW* flags to create (CLONE_NEWNS|CLONE_NEWPID|...),
     * and namespaces to join (e.g. net of another container). */
    int clone_flags;
    const rt_ns_join *joins;
    size_t n_joins;
    int pid_ns_fd;              /* >= 0: create the child in this pid namespace (exec) */
    /* --userns-remap: a user namespace of its own with this mapping
     * (borrowed), made by the child once its mounts are done (they are made
     * as host root acting on files as the remapped root) and mapped by the
     * parent, as runc's parent writes the maps.  uid, gid, groups, device
     * owners are ids inside.  A CLONE_NEWUSER among the joins (exec) is
     * entered at the same point, after every other namespace. */
    const rt_idmap *userns;

    const char *hostname;       /* with CLONE_NEWUTS */
    const char *domainname;
    const rt_sysctl *sysctls;
    size_t n_sysctls;

    /* Identity and privileges. */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t n_groups;
    uint64_t caps;              /* bounding = permitted = effective set (bit i = capability i) */
    bool no_new_privs;
    const struct sock_fprog *seccomp;   /* compiled filter or NULL (unconfined) */
    const rt_rlimit *rlimits;
    size_t n_rlimits;
    int oom_score_adj;

    /* stdio: fds the child gets as 0, 1, 2 (not closed by rt_spawn; -1 means
     * /dev/null).  With
     * tty, stdio[0] is the pty slave: the child makes it its controlling
     * terminal (setsid + TIOCSCTTY). */
    int stdio[3];
    bool tty;
    /* With tty and a rootfs: the terminal is allocated as runc does, in the
     * container's own devpts (so `tty` says /dev/pts/0), its peer owned by
     * uid, bound onto /dev/console and made the child's 0, 1, 2 and
     * controlling terminal;
     * stdio is then unused.  On success *console_master is the pty master
     * (close-on-exec, blocking, owned by the caller); else -1.  NULL: no
     * such terminal (stdio is used as above). */
    int *console_master;

    /* Called in the parent after clone and before the child continues:
     * put the pid into cgroups, etc.  A negative return aborts the spawn
     * (the child is killed) with that error. */
    int (*before_exec)(pid_t pid, void *ctx, berr *e);
    void *ctx;

    /* Live restore: with monitor_path, the process is the child of a
     * monitor (`monitor_path --monitor <pid> <monitor_dir>`, runtime/linux/spawn_monitor.c)
     * that outlives the daemon, given monitor_listen_fd (a listening unix
     * socket, not closed here) as its fd 3; out->pidfd is then a pidfd of a
     * process that is not the caller's child (signals and poll work, waitid
     * does not: the monitor reports the exit).  NULL: the caller's child. */
    const char *monitor_path;
    int monitor_listen_fd;
    const char *monitor_dir;    /* the monitor's working directory (its socket's), so it can be told whose it is */
} rt_spawn_spec;

typedef struct rt_process {
    pid_t pid;
    int pidfd;                  /* owned by the caller */
    pid_t monitor_pid;          /* with spec->monitor_path: the monitor's (not our child); else 0 */
} rt_process;

/* Spawns per spec.  On exec failure returns -ENOENT ("exec: \"x\":
 * executable file not found in $PATH") or -EACCES ("... permission denied")
 * with dockerd's wording, so the CLI maps them to exit codes 127 and 126;
 * other setup failures give their errno and the step that failed. */
int rt_spawn(const rt_spawn_spec *spec, rt_process *out, berr *e);

/* Docker's default capability set as a bitmask. */
uint64_t rt_caps_default(void);
/* Every capability this kernel knows. */
uint64_t rt_caps_all(void);
/* Applies --cap-add/--cap-drop ("NET_ADMIN", "CAP_NET_ADMIN", "ALL",
 * case-insensitive) to base.  -EINVAL with "unknown capability: X". */
int rt_caps_adjust(uint64_t base, const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
                   uint64_t *out, berr *e);
/* Names of the capabilities in mask ("CAP_CHOWN", ...), NULL-terminated,
 * caller frees the array (not the strings). */
const char **rt_caps_names(uint64_t mask);

#endif
