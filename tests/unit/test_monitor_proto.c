/* Live restore's monitor messages (runtime/linux/monitor_proto.h): records
 * with their fds by mask over a SOCK_SEQPACKET pair, records of another
 * size refused without leaking what they carried, EOF, and the exit codes
 * of wait statuses; and the monitor itself (build/berth-init --monitor):
 * it outlives a daemon that leaves after being told of the exit, and goes
 * only on DONE. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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

static int connect_seq(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void test_monitor_goes_only_on_done(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-monitor-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/m.sock", dir);
    int lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(lfd, 4), 0);
    int go[2];
    assert_int_equal(pipe(go), 0);
    /* mon becomes the monitor of its child, which exits 5 once told */
    pid_t mon = fork();
    assert_true(mon >= 0);
    if (mon == 0) {
        pid_t child = fork();
        if (child == 0) {
            char b;
            close(go[1]);
            _exit(read(go[0], &b, 1) == 1 ? 5 : 1);
        }
        dup2(lfd, 3);
        char pid[16];
        snprintf(pid, sizeof pid, "%d", (int)child);
        execl("build/berth-init", "berth-init", "--monitor", pid, dir, (char *)NULL);
        _exit(127);
    }
    close(go[0]);
    close(lfd);
    int fd = connect_seq(path);
    rt_monitor_msg msg;
    int fds[3];
    assert_int_equal(rt_monitor_recv(fd, &msg, fds), (ssize_t)sizeof msg);
    assert_int_equal(msg.type, RT_MONITOR_STATE);
    assert_int_equal(msg.exited, 0);
    /* it holds what it is given */
    int held[3] = {go[1], -1, -1};
    rt_monitor_msg hold = {.type = RT_MONITOR_HOLD, .fd_mask = 1};
    assert_int_equal(rt_monitor_send(fd, &hold, held), (ssize_t)sizeof hold);
    assert_int_equal(write(go[1], "x", 1), 1);
    assert_int_equal(rt_monitor_recv(fd, &msg, fds), (ssize_t)sizeof msg);
    assert_int_equal(msg.type, RT_MONITOR_EXIT);
    assert_int_equal(rt_exit_code_of(msg.status), 5);
    /* the daemon dies before recording it: the monitor stays */
    close(fd);
    usleep(200 * 1000);
    assert_int_equal(waitpid(mon, NULL, WNOHANG), 0);
    fd = connect_seq(path);
    assert_int_equal(rt_monitor_recv(fd, &msg, fds), (ssize_t)sizeof msg);
    assert_int_equal(msg.type, RT_MONITOR_STATE);
    assert_int_equal(msg.exited, 1);
    assert_int_equal(rt_exit_code_of(msg.status), 5);
    assert_int_equal(msg.fd_mask, 1u);
    assert_true(fds[0] >= 0 && same_file(fds[0], go[1]));
    close(fds[0]);
    rt_monitor_msg done = {.type = RT_MONITOR_DONE};
    int none[3] = {-1, -1, -1};
    assert_int_equal(rt_monitor_send(fd, &done, none), (ssize_t)sizeof done);
    int st;
    assert_int_equal(waitpid(mon, &st, 0), mon);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    close(go[1]);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fds_by_mask),
        cmocka_unit_test(test_foreign_record_and_eof),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_monitor_goes_only_on_done),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
