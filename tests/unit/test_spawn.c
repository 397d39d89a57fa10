/* rt_spawn against a real kernel (needs root): a busybox rootfs in a scratch
 * directory, containers in fresh namespaces, and their stdout read through a
 * pipe.  Every container is waited for; its mounts live in its own mount
 * namespace and vanish with it, which the group teardown verifies against
 * the host's mount table. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "runtime/linux/spawn.h"

#define NS_ALL (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET)

static char base[64];
static char rootfs[128];
static char **mounts_before;

/* ---- fixture -------------------------------------------------------------- */

static void xmkdir(const char *fmt, const char *arg)
{
    char p[256];
    snprintf(p, sizeof p, fmt, arg);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Mount points of the host, one string each, NULL-terminated. */
static char **mount_points(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    assert_non_null(f);
    size_t n = 0;
    char **v = xcalloc(1, sizeof *v);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char mp[2048];
        if (sscanf(line, "%*s %*s %*s %*s %2047s", mp) != 1)
            continue;
        v = xrealloc(v, (n + 2) * sizeof *v);
        v[n++] = xstrdup(mp);
        v[n] = NULL;
    }
    fclose(f);
    return v;
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int group_setup(void **state)
{
    (void)state;
    mounts_before = mount_points();
    snprintf(base, sizeof base, "/tmp/berth-spawn-XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(rootfs, sizeof rootfs, "%s/root", base);
    xmkdir("%s", rootfs);
    xmkdir("%s/bin", rootfs);
    xmkdir("%s/etc", rootfs);
    xmkdir("%s/tmp", rootfs);
    char p[256];
    snprintf(p, sizeof p, "%s/bin/busybox", rootfs);
    berr e = {0};
    assert_int_equal(fs_copy_file("/bin/busybox", p, 0755, &e), 0);
    static const char *const applets[] = {"sh", "cat", "ls", "id", "sleep", "echo", "mount", "hostname", "ps",
                                          "unshare", "touch", "grep", "wc", "mkdir", "pwd", "stat", "head", "tty"};
    for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++) {
        snprintf(p, sizeof p, "%s/bin/%s", rootfs, applets[i]);
        assert_int_equal(symlink("busybox", p), 0);
    }
    snprintf(p, sizeof p, "%s/etc/secret", rootfs);
    write_text(p, "top secret\n", 0644);
    snprintf(p, sizeof p, "%s/etc/plain", rootfs);
    write_text(p, "not a program\n", 0644);
    /* Host side of the bind-mount test. */
    snprintf(p, sizeof p, "%s/vol", base);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/vol/hello", base);
    write_text(p, "hello from the host\n", 0644);
    snprintf(p, sizeof p, "%s/file", base);
    write_text(p, "a single file\n", 0644);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(fs_rm_rf(base, &e), 0);
    /* Nothing the containers mounted may remain on the host.  Only new
     * mount points count: other test suites add /run/netns entries. */
    char **after = mount_points();
    for (char **a = after; *a; a++) {
        bool seen = false;
        for (char **b = mounts_before; *b && !seen; b++)
            seen = strcmp(*a, *b) == 0;
        if (!seen && strncmp(*a, "/run/netns/", 11) != 0)
            fail_msg("leftover mount on the host: %s", *a);
        assert_null(strstr(*a, "berth-spawn-"));
    }
    free_strv(after);
    free_strv(mounts_before);
    return 0;
}

/* ---- running containers --------------------------------------------------- */

typedef struct run_result {
    int rc;             /* rt_spawn's return */
    berr e;
    char out[16384];    /* stdout and stderr */
    int code;           /* exit status, or 128 + signal */
    pid_t pid;
} run_result;

static char *sh_argv[4] = {"sh", "-c", NULL, NULL};
static char *default_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/",
                              NULL};

static void base_spec(rt_spawn_spec *s, const char *script)
{
    memset(s, 0, sizeof *s);
    if (script) {
        sh_argv[2] = (char *)script;
        s->argv = sh_argv;
    }
    s->env = default_env;
    s->rootfs = rootfs;
    s->clone_flags = NS_ALL;
    s->pid_ns_fd = -1;
    s->hostname = "berth-test";
    s->caps = rt_caps_default();
    s->stdio[0] = s->stdio[1] = s->stdio[2] = -1;
}

static int wait_pidfd(int pidfd)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
        assert_int_equal(errno, EINTR);
    close(pidfd);
    return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* Runs the spec to completion with stdout and stderr into one pipe. */
static void run(rt_spawn_spec *s, run_result *r)
{
    memset(r, 0, sizeof *r);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    bool set_out = s->stdio[1] < 0;
    if (set_out)
        s->stdio[1] = s->stdio[2] = p[1];
    rt_process proc = {0};
    r->rc = rt_spawn(s, &proc, &r->e);
    close(p[1]);
    if (set_out)
        s->stdio[1] = s->stdio[2] = -1;
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], r->out + len, sizeof r->out - 1 - len)) > 0)
        len += (size_t)n;
    r->out[len] = 0;
    close(p[0]);
    if (r->rc == 0) {
        r->pid = proc.pid;
        r->code = wait_pidfd(proc.pidfd);
    }
}

static void run_ok(rt_spawn_spec *s, run_result *r)
{
    run(s, r);
    if (r->rc != 0)
        fail_msg("rt_spawn: %d %s", r->rc, r->e.msg);
    if (r->code != 0)
        fail_msg("exit %d, output: %s", r->code, r->out);
}

/* Every child was reaped: this process has none left. */
static void assert_no_children(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pid1_and_hostname(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "echo $$; hostname; cat /proc/sys/kernel/domainname");
    s.domainname = "example.org";
    s.clone_flags |= CLONE_NEWCGROUP;
    run_ok(&s, &r);
    assert_string_equal(r.out, "1\nberth-test\nexample.org\n");
    assert_true(r.pid > 1);
    assert_no_children();
}

static void test_isolated_root(void **state)
{
    (void)state;
    char marker[] = "/tmp/berth-marker-XXXXXX";
    int fd = mkstemp(marker);
    assert_true(fd >= 0);
    close(fd);
    char script[256];
    snprintf(script, sizeof script,
             "ls /proc/1/root/ | head -3; [ -e %s ] && echo visible || echo hidden; ls /proc/self/fd", marker);
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, script);
    run_ok(&s, &r);
    unlink(marker);
    /* The container's own root, no host marker, and nothing but stdio and
     * ls's directory descriptor open. */
    assert_string_equal(r.out, "bin\ndev\netc\nhidden\n0\n1\n2\n3\n");
}

static void test_dev(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "ls /dev; stat -c '%A %t,%T' /dev/null /dev/tty; grep -E ' /dev(/shm|/pts|/mqueue)? ' "
                  "/proc/mounts");
    run_ok(&s, &r);
    assert_string_equal(r.out,
                        "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n"
                        "crw-rw-rw- 1,3\ncrw-rw-rw- 5,0\n"
                        "tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n"
                        "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0\n"
                        "shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0\n"
                        "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime 0 0\n");

    base_spec(&s, "grep ' /dev/shm ' /proc/mounts");
    s.shm_size = 1 << 20;
    run_ok(&s, &r);
    assert_string_equal(r.out, "shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n");
}

static void test_devices(void **state)
{
    (void)state;
    rt_device dev = {.path = "/dev/net/tun", .type = 'c', .major = 10, .minor = 200, .mode = 0620, .uid = 0,
                     .gid = 5};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "stat -c '%A %t,%T %u:%g' /dev/net/tun");
    s.devices = &dev;
    s.n_devices = 1;
    run_ok(&s, &r);
    assert_string_equal(r.out, "crw--w---- a,c8 0:5\n");
}

static void test_masked_and_readonly(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    /* /proc/kcore is masked too but this kernel has none. */
    base_spec(&s, "wc -c < /proc/timer_list; ls /proc/acpi | wc -l; "
                  "{ echo hacked > /proc/sys/kernel/hostname; } 2>/dev/null && echo wrote || echo refused; hostname; "
                  "grep -c ' /sys sysfs ro,' /proc/mounts; grep ' /sys/fs/cgroup ' /proc/mounts");
    run_ok(&s, &r);
    assert_string_equal(r.out, "0\n0\nrefused\nberth-test\n1\n"
                               "tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,relatime,mode=755 0 0\n");

    /* Explicit lists replace the defaults; an empty list masks nothing. */
    const char *masked[] = {"/etc/secret", "/proc/acpi/../../etc/nonexistent", NULL};
    const char *none[] = {NULL};
    base_spec(&s, "cat /etc/secret; wc -c < /proc/timer_list | grep -vc '^0$'; "
                  "echo other > /proc/sys/kernel/hostname && hostname");
    s.masked_paths = masked;
    s.readonly_paths = none;
    s.caps = rt_caps_default() | (UINT64_C(1) << 21); /* SYS_ADMIN: hostname writes need it */
    run_ok(&s, &r);
    assert_string_equal(r.out, "1\nother\n");
}

static void cap_line(char *out, size_t cap, const char *name, uint64_t v)
{
    snprintf(out, cap, "%s:\t%016llx\n", name, (unsigned long long)v);
}

static void test_caps_root(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status");
    run_ok(&s, &r);
    assert_string_equal(r.out, "CapInh:\t0000000000000000\n"
                               "CapPrm:\t00000000a80425fb\n"
                               "CapEff:\t00000000a80425fb\n"
                               "CapBnd:\t00000000a80425fb\n"
                               "CapAmb:\t0000000000000000\n"
                               "NoNewPrivs:\t0\n"
                               "Seccomp:\t0\n");

    base_spec(&s, "grep NoNewPrivs /proc/self/status");
    s.no_new_privs = true;
    run_ok(&s, &r);
    assert_string_equal(r.out, "NoNewPrivs:\t1\n");
}

static void test_user(void **state)
{
    (void)state;
    gid_t groups[] = {1000, 10};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "id -u; id -g; grep -E '^(Groups|CapEff|CapBnd)' /proc/self/status; touch /etc/x 2>/dev/null "
                  "|| echo denied");
    s.uid = 1000;
    s.gid = 1000;
    s.groups = groups;
    s.n_groups = 2;
    run_ok(&s, &r);
    /* A non-root user keeps the bounding set but, as with Docker, loses the
     * rest at execve (no ambient capabilities). */
    char want[512];
    snprintf(want, sizeof want, "1000\n1000\nGroups:\t10 1000 \nCapEff:\t%016llx\nCapBnd:\t%016llx\ndenied\n", 0ULL,
             (unsigned long long)rt_caps_default());
    assert_string_equal(r.out, want);
}

static void test_cwd_env_rlimit(void **state)
{
    (void)state;
    char *env[] = {"PATH=/bin", "FOO=bar baz", NULL};
    rt_rlimit rl = {.resource = RLIMIT_NOFILE, .soft = 321, .hard = 654};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "pwd; echo \"$FOO\"; grep 'open files' /proc/self/limits; cat /proc/self/oom_score_adj");
    s.cwd = "/work/dir/sub";
    s.oom_score_adj = 500;
    s.env = env;
    s.rlimits = &rl;
    s.n_rlimits = 1;
    run_ok(&s, &r);
    assert_string_equal(r.out, "/work/dir/sub\nbar baz\n"
                               "Max open files            321                  654                  files     \n"
                               "500\n");
}

static void test_stdin_null(void **state)
{
    (void)state;
    char *argv[] = {"cat", NULL};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, NULL);
    s.argv = argv;
    run_ok(&s, &r);
    assert_string_equal(r.out, "");
}

/* stdio = {-1, 2, 1}: the sources are themselves among the targets. */
static void test_stdio_swap(void **state)
{
    (void)state;
    int a[2], b[2];
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    fflush(stdout);
    fflush(stderr);
    int saved1 = dup(1), saved2 = dup(2);
    dup2(a[1], 2);
    dup2(b[1], 1);
    close(a[1]);
    close(b[1]);
    rt_spawn_spec s;
    base_spec(&s, "echo out; echo err >&2");
    s.stdio[1] = 2;
    s.stdio[2] = 1;
    rt_process proc;
    berr e = {0};
    int rc = rt_spawn(&s, &proc, &e);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1);
    close(saved2);
    assert_int_equal(rc, 0);
    assert_int_equal(wait_pidfd(proc.pidfd), 0);
    char out[64] = "", err[64] = "";
    assert_true(read(a[0], out, sizeof out - 1) > 0);
    assert_true(read(b[0], err, sizeof err - 1) > 0);
    close(a[0]);
    close(b[0]);
    assert_string_equal(out, "out\n");
    assert_string_equal(err, "err\n");
}

static void test_signals_reset(void **state)
{
    (void)state;
    /* A daemon ignores SIGPIPE and blocks signals for its event loop; the
     * container must see neither. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    /* Not through sh: busybox sh ignores SIGQUIT in its children. */
    char *argv[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, NULL);
    s.argv = argv;
    run_ok(&s, &r);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    assert_string_equal(r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

static void expect_exec_error(const char *cmd, char **env, int code, const char *msg)
{
    char *argv[] = {(char *)cmd, NULL};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, NULL);
    s.argv = argv;
    if (env)
        s.env = env;
    run(&s, &r);
    assert_int_equal(r.rc, code);
    assert_string_equal(r.e.msg, msg);
    assert_string_equal(r.out, "");
    assert_no_children();
}

static void test_exec_errors(void **state)
{
    (void)state;
    expect_exec_error("nosuch", NULL, -ENOENT, "exec: \"nosuch\": executable file not found in $PATH");
    expect_exec_error("/x/y", NULL, -ENOENT, "exec: \"/x/y\": stat /x/y: no such file or directory");
    expect_exec_error("/etc", NULL, -EACCES, "exec: \"/etc\": permission denied");
    expect_exec_error("/etc/plain", NULL, -EACCES, "exec: \"/etc/plain\": permission denied");
    /* The container's PATH, not the daemon's. */
    char *env[] = {"PATH=/nowhere:/etc", NULL};
    expect_exec_error("sh", env, -ENOENT, "exec: \"sh\": executable file not found in $PATH");
}

static void test_setup_error(void **state)
{
    (void)state;
    rt_mount m = {.source = "none", .destination = "/weird", .type = "nosuchfs"};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "true");
    s.mounts = &m;
    s.n_mounts = 1;
    run(&s, &r);
    assert_int_equal(r.rc, -ENODEV);
    assert_string_equal(r.e.msg, "mount /weird: No such device");
    assert_no_children();
}

static void test_readonly_rootfs(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "touch /x 2>/dev/null && echo wrote || echo read-only; touch /dev/shm/x && echo shm-ok");
    s.readonly_rootfs = true;
    run_ok(&s, &r);
    assert_string_equal(r.out, "read-only\nshm-ok\n");
}

static void test_mounts(void **state)
{
    (void)state;
    char vol[128], file[128];
    snprintf(vol, sizeof vol, "%s/vol", base);
    snprintf(file, sizeof file, "%s/file", base);
    rt_mount m[] = {
        {.source = vol, .destination = "/data", .type = "bind", .flags = MS_BIND | MS_REC | MS_RDONLY},
        {.source = "tmpfs", .destination = "/scratch/deep", .type = "tmpfs", .flags = MS_NOSUID | MS_NODEV,
         .data = "size=1m,mode=1777"},
        {.source = file, .destination = "/etc/single", .type = "bind", .flags = MS_BIND},
        {.source = "tmpfs", .destination = "/dev/shm", .type = "tmpfs", .data = "size=2m"},
    };
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "cat /data/hello; touch /data/x 2>/dev/null && echo wrote || echo ro; "
                  "grep -E ' /(scratch/deep|dev/shm) ' /proc/mounts; cat /etc/single; echo changed > /etc/single");
    s.mounts = m;
    s.n_mounts = 4;
    run_ok(&s, &r);
    assert_string_equal(r.out, "hello from the host\nro\n"
                               "tmpfs /scratch/deep tmpfs rw,nosuid,nodev,relatime,size=1024k 0 0\n"
                               "tmpfs /dev/shm tmpfs rw,relatime,size=2048k 0 0\n"
                               "a single file\n");
    char *text = NULL;
    size_t len;
    berr e = {0};
    assert_int_equal(fs_read_file(file, &text, &len, &e), 0);
    assert_string_equal(text, "changed\n");
    free(text);
}

static void test_sysctl(void **state)
{
    (void)state;
    char *host = NULL;
    size_t len;
    berr e = {0};
    assert_int_equal(fs_read_file("/proc/sys/net/ipv4/ip_forward", &host, &len, &e), 0);
    rt_sysctl sc[] = {{"net.ipv4.ip_forward", "1"}, {"kernel.msgmax", "4321"}};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax");
    s.sysctls = sc;
    s.n_sysctls = 2;
    run_ok(&s, &r);
    assert_string_equal(r.out, "1\n4321\n");
    char *after = NULL;
    assert_int_equal(fs_read_file("/proc/sys/net/ipv4/ip_forward", &after, &len, &e), 0);
    assert_string_equal(host, after);
    free(host);
    free(after);
}

/* A filter that fails the given syscalls with EPERM and allows the rest. */
static struct sock_fprog *deny_filter(const int *nrs, size_t n)
{
    struct sock_filter *f = xcalloc(4 + 2 * n + 1, sizeof *f);
    size_t i = 0;
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t k = 0; k < n; k++) {
        f[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[k], 0, 1);
        f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    f[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog *p = xcalloc(1, sizeof *p);
    p->len = (unsigned short)i;
    p->filter = f;
    return p;
}

static void free_filter(struct sock_fprog *p)
{
    free(p->filter);
    free(p);
}

static void test_seccomp(void **state)
{
    (void)state;
    int nrs[] = {SYS_mkdir, SYS_mkdirat};
    struct sock_fprog *prog = deny_filter(nrs, 2);
    for (int nnp = 0; nnp < 2; nnp++) {
        rt_spawn_spec s;
        run_result r;
        base_spec(&s, "mkdir /tmp/d 2>/dev/null && echo made || echo denied; grep Seccomp: /proc/self/status");
        s.seccomp = prog;
        s.no_new_privs = nnp;
        s.uid = 1000; /* the filter must be in place before the switch to the user */
        run_ok(&s, &r);
        assert_string_equal(r.out, "denied\nSeccomp:\t2\n");
    }
    free_filter(prog);

    /* A filter that refuses execve fails the spawn itself. */
    int ex[] = {SYS_execve};
    prog = deny_filter(ex, 1);
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "true");
    s.seccomp = prog;
    run(&s, &r);
    assert_int_equal(r.rc, -EPERM);
    assert_string_equal(r.e.msg, "exec /bin/sh: operation not permitted");
    free_filter(prog);
    assert_no_children();
}

typedef struct hook_ctx {
    pid_t pid;
    bool fail;
} hook_ctx;

static int hook(pid_t pid, void *ctx, berr *e)
{
    hook_ctx *h = ctx;
    h->pid = pid;
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/pid", (int)pid);
    assert_int_equal(access(p, F_OK), 0);
    if (h->fail)
        return berr_set(e, -EBUSY, "cgroup: no room");
    return 0;
}

static void test_before_exec(void **state)
{
    (void)state;
    hook_ctx h = {0};
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "echo ran");
    s.before_exec = hook;
    s.ctx = &h;
    run_ok(&s, &r);
    assert_int_equal(h.pid, r.pid);
    assert_string_equal(r.out, "ran\n");

    h.fail = true;
    run(&s, &r);
    assert_int_equal(r.rc, -EBUSY);
    assert_string_equal(r.e.msg, "cgroup: no room");
    assert_string_equal(r.out, "");
    assert_no_children();
}

static void test_exec_into(void **state)
{
    (void)state;
    char *sleep_argv[] = {"sleep", "100", NULL};
    rt_spawn_spec s;
    base_spec(&s, NULL);
    s.argv = sleep_argv;
    s.hostname = "ctr-a";
    rt_process a;
    berr e = {0};
    assert_int_equal(rt_spawn(&s, &a, &e), 0);

    static const struct { const char *name; int type; } nss[] = {
        {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"mnt", CLONE_NEWNS},
    };
    rt_ns_join joins[4];
    char p[64];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)a.pid, nss[i].name);
        joins[i].fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(joins[i].fd >= 0);
        joins[i].nstype = nss[i].type;
    }
    snprintf(p, sizeof p, "/proc/%d/ns/pid", (int)a.pid);
    int pidns = open(p, O_RDONLY | O_CLOEXEC);
    assert_true(pidns >= 0);
    char own_before[64] = "", own_after[64] = "";
    assert_true(readlink("/proc/thread-self/ns/pid_for_children", own_before, sizeof own_before - 1) > 0);

    run_result r;
    base_spec(&s, "hostname; [ $$ -gt 1 ] && echo not-init; ps | grep -c '^ *1 .*sleep 100'; ls /proc/1/root/etc | grep -c secret");
    s.rootfs = NULL;
    s.clone_flags = 0;
    s.hostname = NULL;
    s.pid_ns_fd = pidns;
    s.joins = joins;
    s.n_joins = 4;
    run_ok(&s, &r);
    assert_string_equal(r.out, "ctr-a\nnot-init\n1\n1\n");
    assert_true(readlink("/proc/thread-self/ns/pid_for_children", own_after, sizeof own_after - 1) > 0);
    assert_string_equal(own_before, own_after);

    /* A new container sharing A's pid namespace (--pid container:A), the
     * namespace given as a join: its /proc shows A's processes. */
    rt_ns_join pid_join = {CLONE_NEWPID, pidns};
    base_spec(&s, "echo $$; ps | grep -c '^ *1 .*sleep 100'");
    s.clone_flags &= ~CLONE_NEWPID;
    s.joins = &pid_join;
    s.n_joins = 1;
    run_ok(&s, &r);
    assert_int_not_equal(atoi(r.out), 1);
    assert_non_null(strstr(r.out, "\n1\n"));

    for (int i = 0; i < 4; i++)
        close(joins[i].fd);
    close(pidns);
    assert_int_equal(pidfd_send_signal(a.pidfd, SIGKILL, NULL, 0), 0);
    assert_int_equal(wait_pidfd(a.pidfd), 128 + SIGKILL);
    assert_no_children();
}

static void test_tty(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(slave >= 0);
    rt_spawn_spec s;
    base_spec(&s, "[ -t 0 ] && echo tty; read a b c d e f g rest < /proc/self/stat; [ $f = 1 ] && echo leader; "
                  "[ $g != 0 ] && echo ctty; stat -c %F /dev/console");
    s.tty = true;
    s.stdio[0] = s.stdio[1] = s.stdio[2] = slave;
    rt_process proc;
    berr e = {0};
    int rc = rt_spawn(&s, &proc, &e);
    if (rc != 0)
        fail_msg("rt_spawn: %d %s", rc, e.msg);
    close(slave);
    char out[1024];
    size_t len = 0;
    ssize_t n;
    while ((n = read(master, out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
    close(master);
    assert_int_equal(wait_pidfd(proc.pidfd), 0);
    assert_string_equal(out, "tty\r\nleader\r\nctty\r\ncharacter special file\r\n");
}

/* Reads the pty master until the peer's last holder is gone (EIO). */
static void read_master(int master, char *out, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(master, out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = 0;
}

/* docker run -t: the terminal is made in the container's own devpts, as runc
 * does, so `tty` names /dev/pts/0; it is /dev/console too, the child's
 * controlling terminal, and the parent reads it through the master. */
static void test_console(void **state)
{
    (void)state;
    rt_spawn_spec s;
    base_spec(&s, "tty; stat -c %t,%T /dev/console; read a b c d e f g rest < /proc/self/stat; "
                  "[ $f = 1 ] && echo leader; [ $g != 0 ] && echo ctty; [ -t 2 ] && echo err-tty");
    s.tty = true;
    int master = -2;
    s.console_master = &master;
    rt_process proc;
    berr e = {0};
    int rc = rt_spawn(&s, &proc, &e);
    if (rc != 0)
        fail_msg("rt_spawn: %d %s", rc, e.msg);
    assert_true(master >= 0);
    assert_int_equal(fcntl(master, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    assert_int_equal(fcntl(master, F_GETFL) & O_NONBLOCK, 0);
    char out[1024];
    read_master(master, out, sizeof out);
    close(master);
    assert_int_equal(wait_pidfd(proc.pidfd), 0);
    /* 136 = 0x88 is the major of every pty slave. */
    assert_string_equal(out, "/dev/pts/0\r\n88,0\r\nleader\r\nctty\r\nerr-tty\r\n");

    /* Another user owns it, as with runc; stdin reaches the command. */
    base_spec(&s, "read line; echo got-$line; stat -c %u:%g:%a $(tty)");
    s.tty = true;
    s.uid = s.gid = 1000;
    s.console_master = &master;
    rc = rt_spawn(&s, &proc, &e);
    if (rc != 0)
        fail_msg("rt_spawn: %d %s", rc, e.msg);
    assert_int_equal(write(master, "hello\n", 6), 6);
    read_master(master, out, sizeof out);
    close(master);
    assert_int_equal(wait_pidfd(proc.pidfd), 0);
    assert_string_equal(out, "hello\r\ngot-hello\r\n1000:5:620\r\n");
    assert_no_children();
}

/* A spawn that fails with a console asked for neither hangs nor leaks it. */
static void test_console_errors(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    int master = -2;
    /* The console is sent before the exec fails: it is closed again. */
    char *argv[] = {"nosuch", NULL};
    base_spec(&s, NULL);
    s.argv = argv;
    s.tty = true;
    s.console_master = &master;
    run(&s, &r);
    assert_int_equal(r.rc, -ENOENT);
    assert_string_equal(r.e.msg, "exec: \"nosuch\": executable file not found in $PATH");
    assert_int_equal(master, -1);
    /* No devpts where the console would be made: the spawn fails before. */
    rt_mount m = {.source = "tmpfs", .destination = "/dev/pts", .type = "tmpfs"};
    base_spec(&s, "true");
    s.mounts = &m;
    s.n_mounts = 1;
    s.tty = true;
    master = -2;
    s.console_master = &master;
    run(&s, &r);
    assert_int_equal(r.rc, -ENOENT);
    assert_string_equal(r.e.msg, "open /dev/pts/ptmx: No such file or directory");
    assert_int_equal(master, -1);
    /* Only for a new container with a tty. */
    base_spec(&s, "true");
    master = -2;
    s.console_master = &master;
    run(&s, &r);
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(master, -1);
    assert_no_children();
    /* No master stayed open here. */
    char self[64], target[256];
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        snprintf(self, sizeof self, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(self, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        if (strstr(target, "ptmx"))
            fail_msg("a pty master stayed open: fd %s", de->d_name);
    }
    closedir(d);
}

/* Names in the host's /dev, sorted. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static char *dev_listing(void)
{
    DIR *d = opendir("/dev");
    assert_non_null(d);
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096)
        names[n++] = xstrdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "%s\n", names[i]);
        free(names[i]);
    }
    return buf_steal(&b);
}

static void test_privileged(void **state)
{
    (void)state;
    rt_spawn_spec s;
    run_result r;
    base_spec(&s, "[ -e /dev/kmsg ] && echo host-dev; wc -c < /proc/timer_list | grep -vc '^0$'; "
                  "grep -c ' /sys sysfs rw,' /proc/mounts; grep CapEff /proc/self/status");
    s.privileged = true;
    s.caps = rt_caps_all();
    /* Its /dev is the host's: nothing may be created there. */
    rt_device dev = {.path = "/dev/berth-test-node", .type = 'c', .major = 1, .minor = 3, .mode = 0666};
    s.devices = &dev;
    s.n_devices = 1;
    char *host_dev = dev_listing();
    run_ok(&s, &r);
    char *host_dev_after = dev_listing();
    assert_string_equal(host_dev, host_dev_after);
    free(host_dev);
    free(host_dev_after);
    /* All capabilities we hold ourselves (this machine's bounding set may
     * lack some). */
    FILE *f = fopen("/proc/self/status", "re");
    assert_non_null(f);
    char line[256];
    unsigned long long held = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CapPrm: %llx", &held) == 1)
            break;
    fclose(f);
    char want[256], cap[64];
    cap_line(cap, sizeof cap, "CapEff", rt_caps_all() & held);
    snprintf(want, sizeof want, "host-dev\n1\n1\n%s", cap);
    assert_string_equal(r.out, want);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_spawn needs root; skipped\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pid1_and_hostname),
        cmocka_unit_test(test_isolated_root),
        cmocka_unit_test(test_dev),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_masked_and_readonly),
        cmocka_unit_test(test_caps_root),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_cwd_env_rlimit),
        cmocka_unit_test(test_stdin_null),
        cmocka_unit_test(test_stdio_swap),
        cmocka_unit_test(test_signals_reset),
        cmocka_unit_test(test_exec_errors),
        cmocka_unit_test(test_setup_error),
        cmocka_unit_test(test_readonly_rootfs),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_sysctl),
        cmocka_unit_test(test_seccomp),
        cmocka_unit_test(test_before_exec),
        cmocka_unit_test(test_exec_into),
        cmocka_unit_test(test_tty),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_console_errors),
        cmocka_unit_test(test_privileged),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
