/* Live restore's monitor messages (runtime/linux/monitor_proto.h): records
 * with their fds by mask over a SOCK_SEQPACKET pair, records of another
 * size refused without leaking what they carried, EOF, and the exit codes
 * of wait statuses. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/linux/monitor_proto.h"

static void pair(int sv[2]) { assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0); }

static bool same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

static void test_fds_by_mask(void **state)
{
    (void)state;
    int sv[2], p[2];
    pair(sv);
    assert_int_equal(pipe(p), 0);
    /* stdout and stdin, no stderr (a tty container with open stdin) */
    int fds[3] = {p[0], -1, p[1]};
    rt_monitor_msg out = {.type = RT_MONITOR_STATE, .pid = 42, .exited = 1, .status = 7 << 8,
                          .fd_mask = 1u << RT_MONITOR_FD_OUT | 1u << RT_MONITOR_FD_IN};
    assert_int_equal(rt_monitor_send(sv[0], &out, fds), (ssize_t)sizeof out);
    rt_monitor_msg in;
    int got[3];
    assert_int_equal(rt_monitor_recv(sv[1], &in, got), (ssize_t)sizeof in);
    assert_int_equal(in.type, RT_MONITOR_STATE);
    assert_int_equal(in.pid, 42);
    assert_int_equal(rt_exit_code_of(in.status), 7);
    assert_true(got[RT_MONITOR_FD_OUT] >= 0 && same_file(got[RT_MONITOR_FD_OUT], p[0]));
    assert_int_equal(got[RT_MONITOR_FD_ERR], -1);
    assert_true(got[RT_MONITOR_FD_IN] >= 0 && same_file(got[RT_MONITOR_FD_IN], p[1]));
    assert_true(fcntl(got[RT_MONITOR_FD_OUT], F_GETFD) & FD_CLOEXEC);
    for (int i = 0; i < 3; i++)
        if (got[i] >= 0)
            close(got[i]);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_foreign_record_and_eof(void **state)
{
    (void)state;
    int before = open_fds();
    int sv[2];
    pair(sv);
    /* a short record carrying an fd: refused, and the fd is not kept */
    char junk[5] = "abcd";
    int fd = dup(0);
    struct iovec iov = {.iov_base = junk, .iov_len = sizeof junk};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof junk);
    close(fd);
    rt_monitor_msg in;
    int got[3];
    assert_int_equal(rt_monitor_recv(sv[1], &in, got), -EPROTO);
    for (int i = 0; i < 3; i++)
        assert_int_equal(got[i], -1);
    /* more fds than the mask announces: the extra one is closed */
    int fds[3] = {0, 1, 2};
    rt_monitor_msg three = {.type = RT_MONITOR_HOLD, .fd_mask = 7};
    assert_int_equal(rt_monitor_send(sv[0], &three, fds), (ssize_t)sizeof three);
    assert_int_equal(rt_monitor_recv(sv[1], &in, got), (ssize_t)sizeof in);
    assert_int_equal(in.type, RT_MONITOR_HOLD);
    for (int i = 0; i < 3; i++) {
        assert_true(got[i] >= 0);
        close(got[i]);
    }
    close(sv[0]);
    assert_int_equal(rt_monitor_recv(sv[1], &in, got), 0);
    close(sv[1]);
    assert_int_equal(open_fds(), before);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(rt_exit_code_of(0), 0);
    assert_int_equal(rt_exit_code_of(3 << 8), 3);
    assert_int_equal(rt_exit_code_of(9), 137);    /* SIGKILL */
    assert_int_equal(rt_exit_code_of(15), 143);   /* SIGTERM */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fds_by_mask),
        cmocka_unit_test(test_foreign_record_and_eof),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
