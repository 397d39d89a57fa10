/* rt_spawn: clone3 into the container's namespaces and exec the command.
 *
 * The parent prepares everything the child needs (PATH candidates, sysctl
 * paths, mount data strings) because the child, a copy of a multithreaded
 * daemon, must not allocate.  Two channels synchronise them:
 *   go   a socket pair: the child waits for one byte, sent once the parent
 *        has run before_exec (cgroup placement), so everything the child does
 *        is accounted to the container.  A socket, not a pipe, so a child
 *        killed early cannot raise SIGPIPE in the daemon (MSG_NOSIGNAL), and
 *        so the child can send back the pty master of a console it made in
 *        the container (SCM_RIGHTS), as runc does over its console socket.
 *        The parent then waits for that message; a child that fails first
 *        exits, the socket reads EOF and the err pipe has the report.
 *   err  a close-on-exec pipe: the child writes a spawn_report and exits on
 *        failure; EOF without a report means execve succeeded.
 * Filesystem setup lives in spawn_fs.c. */
#include "runtime/linux/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "runtime/linux/spawn_internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const default_masked[] = {
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap", NULL,
};
static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* ---- child ---------------------------------------------------------------- */

/* Bounded append; the child has no snprintf. */
static void msg_append(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    while (*s && n + 1 < cap)
        dst[n++] = *s++;
    dst[n] = 0;
}

_Noreturn void spawn_fail(const spawn_child *c, int err, int step, const char *what, const char *subject)
{
    spawn_report r;
    memset(&r, 0, sizeof r);
    r.err = err ? err : EIO;
    r.step = step;
    if (what)
        msg_append(r.msg, sizeof r.msg, what);
    if (subject) {
        /* "mknod /dev/" + "null" reads better without the space. */
        if (what && what[0] && what[strlen(what) - 1] != '/')
            msg_append(r.msg, sizeof r.msg, " ");
        msg_append(r.msg, sizeof r.msg, subject);
    }
    ssize_t w;
    do
        w = write(c->err_fd, &r, sizeof r);
    while (w < 0 && errno == EINTR);
    /* dockerd's exit codes for "not found" and "cannot execute". */
    _exit(step == SPAWN_STEP_SETUP ? 1 : r.err == ENOENT ? 127 : 126);
}

static const char *ns_name(int nstype)
{
    switch (nstype) {
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWUSER: return "user";
    default: return "namespace";
    }
}

static const char *rlimit_name(int res)
{
    static const char *const names[] = {
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
        "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    };
    return res >= 0 && (size_t)res < sizeof names / sizeof names[0] ? names[res] : "rlimit";
}

/* Writes s to an already-resolved file (oom_score_adj). */
static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(s);
    ssize_t w = write(fd, s, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return w == (ssize_t)len ? 0 : -1;
}

/* Moves fd to a descriptor >= 3 so dup2 onto 0..2 cannot clobber it. */
static int fd_high(const spawn_child *c, int fd, const char *what)
{
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (n < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, what, NULL);
    return n;
}

/* console: the peer of the pty made in the container, or -1 for spec->stdio. */
static void setup_stdio(const spawn_child *c, int console)
{
    const rt_spawn_spec *s = c->spec;
    int hi[3];
    int null_fd = -1;
    /* First lift every source above 2, then dup2 down: stdio = {1, 0, 2}
     * and friends come out right. */
    for (int i = 0; i < 3; i++) {
        int src = console >= 0 ? console : s->stdio[i];
        if (src >= 0) {
            hi[i] = fd_high(c, src, "duplicate stdio");
        } else {
            if (null_fd < 0) {
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (fd < 0)
                    spawn_fail(c, errno, SPAWN_STEP_SETUP, "open", "/dev/null");
                null_fd = fd >= 3 ? fd : fd_high(c, fd, "duplicate /dev/null");
            }
            hi[i] = null_fd;
        }
    }
    for (int i = 0; i < 3; i++)
        if (dup2(hi[i], i) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "dup2 stdio", NULL);
    /* A session of its own: the daemon's terminal signals stay out. */
    if (setsid() < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "setsid", NULL);
    if (s->tty && ioctl(0, TIOCSCTTY, 0) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "set controlling terminal", NULL);
}

/* Hands the console's pty master to the parent on the go socket. */
static void send_console(const spawn_child *c, int master)
{
    char byte = 'c';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof master);
    ssize_t n;
    do
        n = sendmsg(c->go_fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        spawn_fail(c, n < 0 ? errno : EIO, SPAWN_STEP_SETUP, "send the console to the daemon", NULL);
}

static void set_cwd(const spawn_child *c, bool after_setuid)
{
    const rt_spawn_spec *s = c->spec;
    const char *cwd = s->cwd && s->cwd[0] ? s->cwd : "/";
    if (chdir(cwd) == 0)
        return;
    /* A root without access (root-squashed NFS) may still work as the user. */
    if (!after_setuid && (errno == EACCES || errno == EPERM))
        return;
    spawn_fail(c, errno, SPAWN_STEP_SETUP, "chdir to cwd", cwd);
}

static void load_seccomp(const spawn_child *c)
{
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->spec->seccomp) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "load seccomp filter", NULL);
}

static void set_identity(const spawn_child *c)
{
    const rt_spawn_spec *s = c->spec;
    /* Without no_new_privs only CAP_SYS_ADMIN allows loading a filter, so
     * (as runc) load it while we still have it; Docker's profile allows the
     * setuid/capset calls that follow. */
    if (s->seccomp && !s->no_new_privs)
        load_seccomp(c);

    for (int cap = 0; cap <= c->last_cap; cap++)
        if (!(c->caps & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0 &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "drop capability from bounding set", NULL);
    /* Keep the permitted set across setuid so capset can raise the
     * effective set for non-root users too. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "prctl PR_SET_KEEPCAPS", NULL);
    /* Raw system calls: glibc's wrappers would try to signal the daemon's
     * other threads (setxid broadcast), which do not exist in this copy. */
    if (syscall(SYS_setgroups, s->n_groups, s->n_groups ? s->groups : NULL) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "setgroups", NULL);
    if (syscall(SYS_setresgid, s->gid, s->gid, s->gid) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "setgid", NULL);
    if (syscall(SYS_setresuid, s->uid, s->uid, s->uid) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "setuid", NULL);

    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = (uint32_t)c->caps;
    data[1].effective = data[1].permitted = (uint32_t)(c->caps >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "capset", NULL);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "clear ambient capabilities", NULL);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "prctl PR_SET_KEEPCAPS", NULL);

    if (s->no_new_privs) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "set no_new_privs", NULL);
        /* As late as possible: the filter then sees little but execve. */
        if (s->seccomp)
            load_seccomp(c);
    }
}

/* Go's exec.LookPath test, which is what gives dockerd its messages. */
static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);
}

static _Noreturn void do_exec(const spawn_child *c)
{
    char *const *argv = c->spec->argv;
    if (c->exec_path) {
        struct stat st;
        if (stat(c->exec_path, &st) < 0)
            spawn_fail(c, errno, SPAWN_STEP_STAT, c->exec_path, NULL);
        if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
            spawn_fail(c, EACCES, SPAWN_STEP_PERM, c->exec_path, NULL);
        execve(c->exec_path, argv, c->env);
        spawn_fail(c, errno, SPAWN_STEP_EXEC, c->exec_path, NULL);
    }
    for (const char *p = c->path_cands; *p; p += strlen(p) + 1) {
        if (!is_executable(p))
            continue;
        execve(p, argv, c->env);
        spawn_fail(c, errno, SPAWN_STEP_EXEC, p, NULL);
    }
    spawn_fail(c, ENOENT, SPAWN_STEP_NOT_FOUND, argv[0], NULL);
}

/* Until it has its own user namespace, a remapped child creates files as
 * the remapped root (through the idmapped root they are stored as root)
 * while it keeps host root's capabilities for its mounts. */
static void act_as_remapped_root(const spawn_child *c)
{
    syscall(SYS_setfsgid, c->root_gid);
    syscall(SYS_setfsuid, c->root_uid);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "capget", NULL);
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "capset", NULL);
}

/* The user namespace comes last: every mount, sysctl and device above was
 * made as host root, and the namespaces joined or created are owned by the
 * host's user namespace, so the container's root has no privilege over
 * them.  A new one is mapped by the parent (it holds the host ids): we say
 * 'u' once it exists and wait for its 'm'. */
static void enter_userns(const spawn_child *c)
{
    if (c->userns_join >= 0) {
        if (setns(c->userns_join, CLONE_NEWUSER) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "join namespace", "user");
        return;
    }
    if (!c->spec->userns)
        return;
    if (unshare(CLONE_NEWUSER) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "unshare user namespace", NULL);
    char b = 'u';
    ssize_t n;
    do
        n = send(c->go_fd, &b, 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        spawn_fail(c, n < 0 ? errno : EIO, SPAWN_STEP_SETUP, "ask for the user namespace's maps", NULL);
    do
        n = read(c->go_fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        _exit(1);   /* the parent could not write them; it reports why */
}

_Noreturn void spawn_child_main(spawn_child *c)
{
    const rt_spawn_spec *s = c->spec;

    /* The daemon's handlers must not run here (they would write to the
     * daemon's own descriptors); all signals stay blocked until execve. */
    /* The raw system call: glibc's sigaction refuses the two signals it
     * keeps for itself (32, 33), which the daemon may have inherited as
     * ignored and the container must not. */
    struct kernel_sigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        unsigned long mask;
    } dfl = {SIG_DFL, 0, NULL, 0};
    for (int sig = 1; sig < _NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    umask(0);

    close(c->go_parent_fd);
    close(c->err_parent_fd);
    if (c->err_fd < 3)
        c->err_fd = fd_high(c, c->err_fd, "duplicate error pipe");

    char go;
    ssize_t n;
    do
        n = read(c->go_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        _exit(1);   /* the parent gave up on us; it reports the reason */

    /* After the parent put us into the container's cgroups, so that they
     * become the root of the new cgroup namespace. */
    if (c->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "unshare cgroup namespace", NULL);
    for (size_t i = 0; i < s->n_joins; i++)
        if (s->joins[i].nstype != CLONE_NEWPID && s->joins[i].nstype != CLONE_NEWUSER &&
            setns(s->joins[i].fd, s->joins[i].nstype) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "join namespace", ns_name(s->joins[i].nstype));

    if (s->userns)
        act_as_remapped_root(c);

    if (write_file("/proc/self/oom_score_adj", c->oom) < 0)
        spawn_fail(c, errno, SPAWN_STEP_SETUP, "write", "/proc/self/oom_score_adj");
    for (size_t i = 0; i < s->n_rlimits; i++) {
        struct rlimit rl = {.rlim_cur = s->rlimits[i].soft, .rlim_max = s->rlimits[i].hard};
        if (prlimit(0, s->rlimits[i].resource, &rl, NULL) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "setrlimit", rlimit_name(s->rlimits[i].resource));
    }

    int console[2] = {-1, -1};
    if (s->rootfs) {
        spawn_fs_setup(c, console);
    } else {
        for (size_t i = 0; i < s->n_sysctls; i++)
            if (write_file(c->sysctl_paths[i], s->sysctls[i].value) < 0)
                spawn_fail(c, errno, SPAWN_STEP_SETUP, "write sysctl", s->sysctls[i].key);
    }

    if (s->clone_flags & CLONE_NEWUTS) {
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "sethostname", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
            spawn_fail(c, errno, SPAWN_STEP_SETUP, "setdomainname", s->domainname);
    }

    if (console[0] >= 0) {
        send_console(c, console[0]);
        close(console[0]);
    }
    enter_userns(c);
    close(c->go_fd);
    setup_stdio(c, console[1]);

    /* Docker creates a missing WORKDIR in the container; exec into a running
     * container (no rootfs) only changes into it. */
    if (s->rootfs && s->cwd && s->cwd[0]) {
        int fd = spawn_mkdirs_in(AT_FDCWD, s->cwd);
        if (fd >= 0)
            close(fd);
    }
    set_cwd(c, false);
    set_identity(c);
    set_cwd(c, true);

    /* Everything but 0..2 (and the error pipe until execve succeeds) goes. */
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    umask(022);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    do_exec(c);
}

/* ---- parent --------------------------------------------------------------- */

static const char *env_get(char *const *env, const char *key)
{
    size_t n = strlen(key);
    for (; env && *env; env++)
        if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* "dir/name\0" for each PATH entry, then a final "\0". */
static char *path_candidates(const char *name, const char *path)
{
    buf b = BUF_INIT;
    const char *p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            buf_puts(&b, ".");
        else
            buf_append(&b, p, len);
        buf_puts(&b, "/");
        buf_puts(&b, name);
        buf_append(&b, "", 1);
        if (!end)
            break;
        p = end + 1;
    }
    buf_append(&b, "", 1);
    return buf_steal(&b);
}

/* Go spells errors in lower case: "no such file or directory". */
static const char *go_strerror(int err, char *out, size_t cap)
{
    snprintf(out, cap, "%s", strerror(err));
    if (out[0] >= 'A' && out[0] <= 'Z')
        out[0] = (char)(out[0] - 'A' + 'a');
    return out;
}

static int report_error(const rt_spawn_spec *s, const spawn_report *r, berr *e)
{
    char es[128];
    const char *name = s->argv[0];
    switch (r->step) {
    case SPAWN_STEP_NOT_FOUND:
        return berr_set(e, -ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
    case SPAWN_STEP_STAT:
        return berr_set(e, -r->err, "exec: \"%s\": stat %s: %s", name, r->msg, go_strerror(r->err, es, sizeof es));
    case SPAWN_STEP_PERM:
        return berr_set(e, -EACCES, "exec: \"%s\": permission denied", name);
    case SPAWN_STEP_EXEC:
        return berr_set(e, -r->err, "exec %s: %s", r->msg, go_strerror(r->err, es, sizeof es));
    default:
        return berr_set(e, -r->err, "%s: %s", r->msg, strerror(r->err));
    }
}

/* The console's pty master from the child (see send_console): the fd, or
 * -EPIPE when the child went away without sending one (it failed: the err
 * pipe says why), or another negative errno. */
static int recv_console(int sock)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if ((msg.msg_flags & MSG_CTRUNC) || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/* Reaps a child that failed or that we abandon. */
static void reap(int pidfd, bool kill_it)
{
    if (kill_it)
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    siginfo_t si;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
    close(pidfd);
}

/* The child's 'u' (it made its user namespace): write the maps, say 'm'.
 * EOF means the child failed first: 0, and the err pipe says why. */
static int map_userns(const rt_spawn_spec *s, pid_t pid, int sock, berr *e)
{
    char b;
    ssize_t n;
    do
        n = read(sock, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n < 0 || b != 'u')
        return berr_sys(e, n < 0 ? -errno : -EPROTO, "wait for the container's user namespace");
    int r = rt_idmap_write(s->userns, pid, e);
    if (r < 0)
        return r;
    if (send(sock, "m", 1, MSG_NOSIGNAL) != 1)
        return berr_sys(e, -errno, "start container process");
    return 0;
}

static void free_strv(char ***v)
{
    if (*v)
        for (char **p = *v; *p; p++)
            free(*p);
    free(*v);
}

/* A child that failed or that we abandon; under a monitor both go. */
static void abandon(int pidfd, int monitor_pidfd, bool kill_it)
{
    if (monitor_pidfd >= 0) {
        spawn_monitor_abandon(pidfd, monitor_pidfd);
        close(pidfd);
        return;
    }
    reap(pidfd, kill_it);
}

static int spawn_finish(const rt_spawn_spec *s, spawn_child *cp, pid_t pid, int pidfd, int monitor_pidfd,
                        int go_parent, int err_parent, rt_process *out, berr *e);

int rt_spawn(const rt_spawn_spec *s, rt_process *out, berr *e)
{
    if (s && s->console_master)
        *s->console_master = -1;
    if (!s || !out || !s->argv || !s->argv[0] || !s->argv[0][0])
        return berr_set(e, -EINVAL, "no command specified");
    out->monitor_pid = 0;
    if (s->rootfs && !(s->clone_flags & CLONE_NEWNS))
        return berr_set(e, -EINVAL, "a rootfs needs a new mount namespace");
    if (s->console_master && !(s->tty && s->rootfs))
        return berr_set(e, -EINVAL, "a console needs a tty and a rootfs");

    spawn_child c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    static char *const no_env[] = {NULL};
    c.env = s->env ? s->env : no_env;

    cleanup_free char *cands = NULL;
    if (strchr(s->argv[0], '/')) {
        c.exec_path = s->argv[0];
    } else {
        const char *path = env_get(s->env, "PATH");
        cands = path_candidates(s->argv[0], path ? path : DEFAULT_PATH);
        c.path_cands = cands;
    }

    __attribute__((cleanup(free_strv))) char **sysctl_paths = xcalloc(s->n_sysctls + 1, sizeof(char *));
    for (size_t i = 0; i < s->n_sysctls; i++) {
        char *p = xasprintf("/proc/sys/%s", s->sysctls[i].key);
        for (char *q = p + strlen("/proc/sys/"); *q; q++)
            if (*q == '.')
                *q = '/';
        sysctl_paths[i] = p;
    }
    c.sysctl_paths = sysctl_paths;

    if (!s->privileged) {
        c.masked = s->masked_paths ? s->masked_paths : default_masked;
        c.readonly = s->readonly_paths ? s->readonly_paths : default_readonly;
    }
    if (s->shm_size)
        snprintf(c.shm_data, sizeof c.shm_data, "mode=1777,size=%llu", (unsigned long long)s->shm_size);
    else
        snprintf(c.shm_data, sizeof c.shm_data, "mode=1777,size=65536k");
    snprintf(c.oom, sizeof c.oom, "%d", s->oom_score_adj);
    c.new_console = s->console_master != NULL;
    if (s->tty && s->rootfs && !c.new_console && s->stdio[0] >= 0) {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", s->stdio[0]);
        ssize_t n = readlink(link, c.console, sizeof c.console - 1);
        c.console[n > 0 ? n : 0] = 0;
        /* Only a pty of the daemon's /dev/pts can be found by that name. */
        if (strncmp(c.console, "/dev/pts/", 9) != 0)
            c.console[0] = 0;
    }
    c.mqueue = s->clone_flags & CLONE_NEWIPC;
    for (size_t i = 0; i < s->n_joins; i++)
        if (s->joins[i].nstype == CLONE_NEWIPC)
            c.mqueue = true;
    c.new_cgroupns = s->clone_flags & CLONE_NEWCGROUP;
    c.userns_join = -1;
    for (size_t i = 0; i < s->n_joins; i++)
        if (s->joins[i].nstype == CLONE_NEWUSER)
            c.userns_join = s->joins[i].fd;
    if (s->userns) {
        gid_t tty;
        if (rt_idmap_uid(s->userns, 0, &c.root_uid) < 0 || rt_idmap_gid(s->userns, 0, &c.root_gid) < 0 ||
            rt_idmap_uid(s->userns, s->uid, &c.console_uid) < 0 || rt_idmap_gid(s->userns, 5, &tty) < 0)
            return berr_set(e, -EINVAL, "user %u:%u has no id in the remapped range", (unsigned)s->uid,
                            (unsigned)s->gid);
        snprintf(c.devpts_data, sizeof c.devpts_data, "newinstance,ptmxmode=0666,mode=0620,gid=%u", (unsigned)tty);
    } else {
        c.console_uid = s->uid;
        snprintf(c.devpts_data, sizeof c.devpts_data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    /* A capability we do not hold cannot be given (capset would fail): in a
     * restricted environment "all" means all we have. */
    uint64_t all = rt_caps_all();
    c.last_cap = 63 - __builtin_clzll(all);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) < 0)
        return berr_sys(e, -errno, "capget");
    uint64_t held = data[0].permitted | (uint64_t)data[1].permitted << 32;
    c.caps = s->caps & all & held;

    int go[2], errp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0)
        return berr_sys(e, -errno, "socketpair");
    cleanup_close int go_parent = go[0], go_child = go[1];
    if (pipe2(errp, O_CLOEXEC) < 0)
        return berr_sys(e, -errno, "pipe");
    cleanup_close int err_parent = errp[0], err_child = errp[1];
    c.go_fd = go_child;
    c.go_parent_fd = go_parent;
    c.err_fd = err_child;
    c.err_parent_fd = err_parent;

    /* setns(CLONE_NEWPID) only changes where this thread's next child is
     * born; it is undone right after clone3.  A pid namespace among the
     * joins (--pid container:X) can only be entered that way too: in the
     * child it would apply to the child's children alone. */
    int pid_ns_fd = s->pid_ns_fd;
    for (size_t i = 0; i < s->n_joins && pid_ns_fd < 0; i++)
        if (s->joins[i].nstype == CLONE_NEWPID)
            pid_ns_fd = s->joins[i].fd;
    cleanup_close int own_pidns = -1;
    if (pid_ns_fd >= 0 && !s->monitor_path) {   /* a monitor enters it itself */
        own_pidns = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own_pidns < 0)
            return berr_sys(e, -errno, "open /proc/thread-self/ns/pid");
        if (setns(pid_ns_fd, CLONE_NEWPID) < 0)
            return berr_sys(e, -errno, "join pid namespace");
    }

    sigset_t all_sigs, old_sigs;
    sigfillset(&all_sigs);
    pthread_sigmask(SIG_SETMASK, &all_sigs, &old_sigs);
    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_PIDFD | ((uint64_t)(unsigned)s->clone_flags & ~(uint64_t)CLONE_NEWCGROUP);
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    int monitor_pidfd = -1;
    if (s->monitor_path) {
        pid_t mpid = spawn_monitor_clone(&c, &args, pid_ns_fd, &pidfd, &monitor_pidfd, &out->monitor_pid, e);
        pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
        if (mpid < 0)
            return mpid;
        close(steal_fd(&go_child));
        close(steal_fd(&err_child));
        return spawn_finish(s, &c, mpid, pidfd, monitor_pidfd, go_parent, err_parent, out, e);
    }
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        spawn_child_main(&c);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
    if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0) {
        /* Cannot happen for our own namespace; if it did, later children of
         * this thread would land in the container. */
        int r = berr_sys(e, -errno, "return to own pid namespace");
        if (pid > 0)
            reap(pidfd, true);
        return r;
    }
    if (pid < 0)
        return berr_sys(e, -clone_errno, "clone3");

    close(steal_fd(&go_child));
    close(steal_fd(&err_child));
    return spawn_finish(s, &c, pid, pidfd, -1, go_parent, err_parent, out, e);
}

/* After the clone: cgroups, "go", the console, the exec report.  The
 * caller's go_child and err_child are closed already. */
static int spawn_finish(const rt_spawn_spec *s, spawn_child *cp, pid_t pid, int pidfd, int monitor_pidfd,
                        int go_parent, int err_parent, rt_process *out, berr *e)
{
    const spawn_child *c = cp;
    if (s->before_exec) {
        int r = s->before_exec(pid, s->ctx, e);
        if (r < 0) {
            abandon(pidfd, monitor_pidfd, true);
            return r;
        }
    }
    if (send(go_parent, "x", 1, MSG_NOSIGNAL) != 1) {
        int r = berr_sys(e, -errno, "start container process");
        abandon(pidfd, monitor_pidfd, true);
        return r;
    }

    /* Before the err pipe: the child sends the console before it execs. */
    cleanup_close int master = c->new_console ? recv_console(go_parent) : -1;
    if (s->userns && (!c->new_console || master >= 0)) {
        int r = map_userns(s, pid, go_parent, e);
        if (r < 0) {
            abandon(pidfd, monitor_pidfd, true);
            return r;
        }
    }

    spawn_report rep;
    size_t got = 0;
    while (got < sizeof rep) {
        ssize_t n = read(err_parent, (char *)&rep + got, sizeof rep - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 0 && c->new_console && master < 0) {
        abandon(pidfd, monitor_pidfd, true);
        return berr_sys(e, master, "receive the container's console");
    }
    if (got == 0) {
        if (c->new_console)
            *s->console_master = steal_fd(&master);
        out->pid = pid;
        out->pidfd = pidfd;
        if (monitor_pidfd >= 0)
            close(monitor_pidfd);   /* not our child: nothing to reap */
        return 0;
    }
    abandon(pidfd, monitor_pidfd, got != sizeof rep);
    if (got != sizeof rep)
        return berr_set(e, -EIO, "container process setup: short error report");
    rep.msg[sizeof rep.msg - 1] = 0;
    return report_error(s, &rep, e);
}
