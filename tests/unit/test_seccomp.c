/* Seccomp profiles: compiled here, then installed in a forked child that
 * probes which system calls the filter lets through.  The child leaves with
 * _exit so nothing (stdio, the sanitizers' exit hooks) runs under the
 * filter.  Installing needs no privilege (no_new_privs); the "all caps"
 * checks that really unshare need root, which the test suite runs as. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/linux/seccomp.h"

#define BIT(c) (1ULL << (c))

/* Docker's default capability set. */
static const uint64_t default_caps =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
    BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
static const uint64_t all_caps = (1ULL << (CAP_LAST_CAP + 1)) - 1;

/* Child probes: each returns 0 when the filtered process behaved as
 * expected, else a small number saying which check failed. */
typedef int (*probe_fn)(void);

static int run_filtered(const struct sock_fprog *prog, probe_fn probe)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(100);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
            _exit(101);
        _exit(probe());
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st))
        return 200 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

static struct sock_fprog *compile_ok(const char *json, uint64_t caps)
{
    struct sock_fprog *prog = NULL;
    berr e = {0};
    int rc = rt_seccomp_compile(json, caps, &prog, &e);
    if (rc < 0)
        fail_msg("compile failed: %s", e.msg);
    assert_non_null(prog);
    assert_true(prog->len > 0);
    return prog;
}

static void expect_invalid(const char *json, const char *needle)
{
    struct sock_fprog *prog = NULL;
    berr e = {0};
    int rc = rt_seccomp_compile(json, 0, &prog, &e);
    if (rc != -EINVAL)
        fail_msg("expected -EINVAL for %s, got %d (%s)", json, rc, e.msg);
    assert_null(prog);
    if (!strstr(e.msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, needle);
}

static int probe_default_caps(void)
{
    if (getpid() <= 0)
        return 1;
    errno = 0;
    if (unshare(CLONE_NEWNS) == 0 || errno != EPERM)
        return 2;
    errno = 0;
    if (mount("none", "/", "tmpfs", 0, NULL) == 0 || errno != EPERM)
        return 3;
    /* The profile answers clone3 with ENOSYS so libc falls back to clone. */
    errno = 0;
    if (syscall(SYS_clone3, NULL, 0) == 0 || errno != ENOSYS)
        return 4;
    /* Unknown to the default profile: the default action, errno 1. */
    errno = 0;
    if (syscall(SYS_reboot, 0, 0, 0, NULL) == 0 || errno != EPERM)
        return 5;
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd))
        return 6;
    /* socket(AF_VSOCK=40) is refused by the args rules, AF_UNIX allowed. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 7;
    close(fd);
    errno = 0;
    if (socket(40, SOCK_STREAM, 0) >= 0 || errno != EPERM)
        return 8;
    /* Plain fork (clone without namespace flags) passes the masked rule. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid)
        return 9;
    return 0;
}

static int probe_all_caps(void)
{
    if (unshare(CLONE_NEWNS) < 0)
        return 1;
    if (getpid() <= 0)
        return 2;
    return 0;
}

static void test_default_profile_default_caps(void **state)
{
    (void)state;
    const char *json = rt_seccomp_default_profile();
    assert_non_null(strstr(json, "\"defaultAction\""));
    struct sock_fprog *prog = compile_ok(json, default_caps);
    assert_int_equal(run_filtered(prog, probe_default_caps), 0);
    rt_seccomp_free(prog);
}

static void test_default_profile_all_caps(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct sock_fprog *prog = compile_ok(rt_seccomp_default_profile(), all_caps);
    assert_int_equal(run_filtered(prog, probe_all_caps), 0);
    rt_seccomp_free(prog);
}

static int probe_getcwd_enosys(void)
{
    char cwd[256];
    errno = 0;
    if (syscall(SYS_getcwd, cwd, sizeof cwd) >= 0 || errno != ENOSYS)
        return 1;
    if (getpid() <= 0)
        return 2;
    return 0;
}

static void test_custom_errno(void **state)
{
    (void)state;
    struct sock_fprog *prog = compile_ok(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
        "\"errnoRet\":38}]}",
        0);
    assert_int_equal(run_filtered(prog, probe_getcwd_enosys), 0);
    rt_seccomp_free(prog);
}

static int probe_getcwd_works(void)
{
    char cwd[256];
    return getcwd(cwd, sizeof cwd) ? 0 : 1;
}

static int probe_getcwd_eperm(void)
{
    char cwd[256];
    errno = 0;
    return syscall(SYS_getcwd, cwd, sizeof cwd) < 0 && errno == EPERM ? 0 : 1;
}

/* includes/excludes decide whether a rule exists at all. */
static void test_includes_excludes(void **state)
{
    (void)state;
    struct sock_fprog *prog;

    /* Another architecture's rule does not apply here. */
    prog = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"getcwd\","
                      "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"arches\":[\"s390x\"]}}]}",
                      0);
    assert_int_equal(run_filtered(prog, probe_getcwd_works), 0);
    rt_seccomp_free(prog);

    /* This architecture's does, with EPERM when errnoRet is absent. */
    prog = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"getcwd\","
                      "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"arches\":[\"amd64\",\"arm64\"]}}]}",
                      0);
    assert_int_equal(run_filtered(prog, probe_getcwd_eperm), 0);
    rt_seccomp_free(prog);

    /* A rule excluded by a capability the container has. */
    const char *excl = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}]}";
    prog = compile_ok(excl, BIT(CAP_SYS_ADMIN));
    assert_int_equal(run_filtered(prog, probe_getcwd_works), 0);
    rt_seccomp_free(prog);
    prog = compile_ok(excl, default_caps);
    assert_int_equal(run_filtered(prog, probe_getcwd_eperm), 0);
    rt_seccomp_free(prog);

    /* includes.caps needs every listed capability. */
    const char *incl = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"caps\":[\"CAP_BPF\",\"CAP_PERFMON\"]}}]}";
    prog = compile_ok(incl, BIT(CAP_BPF));
    assert_int_equal(run_filtered(prog, probe_getcwd_works), 0);
    rt_seccomp_free(prog);
    prog = compile_ok(incl, BIT(CAP_BPF) | BIT(CAP_PERFMON));
    assert_int_equal(run_filtered(prog, probe_getcwd_eperm), 0);
    rt_seccomp_free(prog);

    /* A minimum kernel from the future excludes nothing and includes nothing. */
    prog = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
                      "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"minKernel\":\"999.0\"}}]}",
                      0);
    assert_int_equal(run_filtered(prog, probe_getcwd_works), 0);
    rt_seccomp_free(prog);
    prog = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
                      "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"minKernel\":\"3.10\"}}]}",
                      0);
    assert_int_equal(run_filtered(prog, probe_getcwd_eperm), 0);
    rt_seccomp_free(prog);
}

/* Two conditions on one argument mean "either" (separate rules); on
 * different arguments "both". */
static int probe_args(void)
{
    /* dup3(fd, newfd, flags): arg 1 == 50 or arg 1 == 51 is refused. */
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0)
        return 1;
    errno = 0;
    if (dup3(fd, 50, 0) >= 0 || errno != EPERM)
        return 2;
    errno = 0;
    if (dup3(fd, 51, 0) >= 0 || errno != EPERM)
        return 3;
    if (dup3(fd, 52, 0) != 52)
        return 4;
    /* dup3 with arg1 == 60 AND flags == O_CLOEXEC is refused, else allowed. */
    if (dup3(fd, 60, 0) != 60)
        return 5;
    errno = 0;
    if (dup3(fd, 60, O_CLOEXEC) >= 0 || errno != EPERM)
        return 6;
    return 0;
}

static void test_args(void **state)
{
    (void)state;
    struct sock_fprog *prog = compile_ok(
        "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
        "{\"names\":[\"dup3\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
        "{\"index\":1,\"value\":50,\"op\":\"SCMP_CMP_EQ\"},{\"index\":1,\"value\":51,\"op\":\"SCMP_CMP_EQ\"}]},"
        "{\"names\":[\"dup3\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
        "{\"index\":1,\"value\":60,\"op\":\"SCMP_CMP_EQ\"},"
        "{\"index\":2,\"value\":524288,\"valueTwo\":524288,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
        0);
    assert_int_equal(run_filtered(prog, probe_args), 0);
    rt_seccomp_free(prog);
}

/* Names libseccomp does not know are skipped; rules equal to the default
 * action are dropped; other arches' names (chown32) are fine. */
static void test_lenient(void **state)
{
    (void)state;
    struct sock_fprog *prog = compile_ok(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
        "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},"
        "{\"architecture\":\"SCMP_ARCH_LOONGARCH64\",\"subArchitectures\":null}],"
        "\"syscalls\":[{\"names\":[\"no_such_syscall_at_all\",\"chown32\",\"getcwd\"],\"action\":\"SCMP_ACT_ALLOW\","
        "\"comment\":\"x\"},{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}",
        0);
    rt_seccomp_free(prog);

    /* An empty profile means no filter, as with Docker. */
    struct sock_fprog *none = (void *)1;
    berr e = {0};
    assert_int_equal(rt_seccomp_compile("{}", 0, &none, &e), 0);
    assert_null(none);
    rt_seccomp_free(none);

    /* The old "architectures" form. */
    prog = compile_ok("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
                      "\"syscalls\":[{\"name\":\"getcwd\",\"action\":\"SCMP_ACT_LOG\"}]}",
                      0);
    assert_int_equal(run_filtered(prog, probe_getcwd_works), 0);
    rt_seccomp_free(prog);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_invalid("{\"defaultAction\":", "invalid JSON");
    expect_invalid("[]", "object");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_FOO\"}", "defaultAction");
    expect_invalid("{\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ALLOW\"}]}", "defaultAction");
    expect_invalid("{\"defaultAction\":5}", "defaultAction");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":\"x\"}", "defaultErrnoRet");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "syscalls");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"getcwd\",\"action\":\"SCMP_ACT_ERRNO\"}]}",
                   "syscalls[0].names");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"]}]}",
                   "syscalls[0].action");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                   "SCMP_ACT_NOTIFY");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"name\":\"getcwd\",\"names\":[\"getpid\"],"
                   "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                   "'name' and 'names'");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                   "\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                   "syscalls[0].args[0].index");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                   "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ALMOST\"}]}]}",
                   "syscalls[0].args[0].op");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                   "\"errnoRet\":-1}]}",
                   "syscalls[0].errnoRet");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                   "\"includes\":{\"minKernel\":\"four\"}}]}",
                   "syscalls[0].includes.minKernel");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_ERRNO\","
                   "\"excludes\":{\"caps\":[1]}}]}",
                   "syscalls[0].excludes.caps[0]");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86\"],"
                   "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[]}]}",
                   "'architectures' and 'archMap'");
    expect_invalid("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}", "architectures[0]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_profile_default_caps),
        cmocka_unit_test(test_default_profile_all_caps),
        cmocka_unit_test(test_custom_errno),
        cmocka_unit_test(test_includes_excludes),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
