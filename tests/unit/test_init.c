/* berth-init, run as a program: exit statuses, signal forwarding, reaping.
 * The binary is built separately (static) by the Makefile; the tests find
 * it through $BERTH_INIT or build/berth-init and skip when it is missing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static const char *init_path(void)
{
    const char *p = getenv("BERTH_INIT");
    return p && *p ? p : "build/berth-init";
}

/* Starts `berth-init -- /bin/sh -c script` with stdin from /dev/null (so
 * that it never takes our terminal) and, if out is not NULL, stdout on a
 * pipe whose read end goes to *out.  Skips the test when there is no
 * binary. */
static pid_t start(const char *script, int *out)
{
    const char *bin = init_path();
    if (access(bin, X_OK) != 0)
        skip();
    int p[2] = {-1, -1};
    if (out)
        assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, STDIN_FILENO);
        if (out) {
            dup2(p[1], STDOUT_FILENO);
            close(p[0]);
            close(p[1]);
        }
        execl(bin, bin, "--", "/bin/sh", "-c", script, (char *)NULL);
        _exit(99);
    }
    if (out) {
        close(p[1]);
        *out = p[0];
    }
    return pid;
}

/* Waits (at most 10 s) and returns the exit status, or -1 on a timeout
 * (the process is then killed). */
static int wait_exit(pid_t pid)
{
    for (int i = 0; i < 1000; i++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static int run(const char *script)
{
    return wait_exit(start(script, NULL));
}

static void test_exit_code(void **state)
{
    (void)state;
    assert_int_equal(run("exit 3"), 3);
    assert_int_equal(run("true"), 0);
}

static void test_killed_by_signal(void **state)
{
    (void)state;
    assert_int_equal(run("kill -TERM $$"), 128 + SIGTERM);
    assert_int_equal(run("kill -KILL $$"), 128 + SIGKILL);
}

/* Waits for a line from the script so a signal is sent only once its trap
 * is in place. */
static void wait_ready(int fd)
{
    char buf[16] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "ready"));
}

static void test_forwards_signals(void **state)
{
    (void)state;
    int fd;
    pid_t pid = start("trap 'exit 7' TERM; trap 'exit 8' USR1; echo ready; while :; do sleep 0.05; done", &fd);
    wait_ready(fd);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 7);
    close(fd);

    pid = start("trap 'exit 8' USR1; echo ready; while :; do sleep 0.05; done", &fd);
    wait_ready(fd);
    kill(pid, SIGUSR1);
    assert_int_equal(wait_exit(pid), 8);
    close(fd);

    /* Without a trap the command dies of the signal init passed on.  Not
     * SIGINT: a shell waiting for a child that outlives a SIGINT takes it
     * as handled and goes on (wait-and-cooperative-exit). */
    pid = start("echo ready; while :; do sleep 0.05; done", &fd);
    wait_ready(fd);
    kill(pid, SIGHUP);
    assert_int_equal(wait_exit(pid), 128 + SIGHUP);
    close(fd);
}

/* Children of init in state Z (zombies), from /proc; -1 if /proc cannot
 * tell (no CONFIG_PROC_CHILDREN). */
static int zombies_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, child;
    while (fscanf(f, "%d", &child) == 1) {
        char sp[64], line[512];
        snprintf(sp, sizeof sp, "/proc/%d/stat", child);
        FILE *s = fopen(sp, "r");
        if (s && fgets(line, sizeof line, s)) {
            char *r = strrchr(line, ')');
            if (r && r[1] == ' ' && r[2] == 'Z')
                n++;
        }
        if (s)
            fclose(s);
    }
    fclose(f);
    return n;
}

/* An orphan comes to init (as PID 1, or here as subreaper) and is reaped
 * when it exits, while the command still runs. */
static void test_reaps_orphans(void **state)
{
    (void)state;
    int fd;
    pid_t pid = start("(sleep 0.1 &); echo ready; sleep 1", &fd);
    wait_ready(fd);
    struct timespec ts = {0, 500 * 1000 * 1000};
    nanosleep(&ts, NULL);
    int z = zombies_of(pid);
    if (z >= 0)
        assert_int_equal(z, 0);
    assert_int_equal(wait_exit(pid), 0);
    close(fd);
}

static void test_exec_failure(void **state)
{
    (void)state;
    const char *bin = init_path();
    if (access(bin, X_OK) != 0)
        skip();
    /* Exit codes as a shell's: 127 not found, 126 found but not runnable. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -- /nonexistent/berth-cmd 2>/dev/null", bin);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 127);
    snprintf(cmd, sizeof cmd, "%s /etc/passwd 2>/dev/null", bin);
    st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 126);
    /* The message names the command. */
    snprintf(cmd, sizeof cmd, "%s -- /nonexistent/berth-cmd 2>&1 | grep -q 'berth-init: exec /nonexistent/berth-cmd failed'", bin);
    assert_int_equal(system(cmd), 0);
    /* No command: usage. */
    snprintf(cmd, sizeof cmd, "%s -- 2>/dev/null", bin);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_killed_by_signal),
        cmocka_unit_test(test_forwards_signals),
        cmocka_unit_test(test_reaps_orphans),
        cmocka_unit_test(test_exec_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
