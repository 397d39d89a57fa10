/* syslog's tcp+tls options (runtime/logs/remote_tls.c) that are refused
 * before any byte is sent: a certificate without its key, files that do
 * not load; and a handshake that gets no answer times out. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/logs/remote_tls.h"

static void expect_error(json_t *opts, int fd, const char *msg)
{
    rt_log_tls *t = (rt_log_tls *)1;
    berr e = {0};
    assert_true(rt_log_tls_open(fd, "127.0.0.1", opts, 200, &t, &e) < 0);
    assert_null(t);
    if (!strstr(e.msg, msg))
        fail_msg("got \"%s\", want \"%s\"", e.msg, msg);
    json_decref(opts);
}

static void test_refused_options(void **state)
{
    (void)state;
    expect_error(json_pack("{s:s}", "syslog-tls-cert", "/etc/hostname"), -1, "syslog-tls-cert and syslog-tls-key go together");
    expect_error(json_pack("{s:s}", "syslog-tls-ca-cert", "/nonexistent/ca.pem"), -1,
                 "could not read CA certificate /nonexistent/ca.pem");
    expect_error(json_pack("{s:s, s:s}", "syslog-tls-cert", "/nonexistent/c.pem", "syslog-tls-key", "/nonexistent/c.key"),
                 -1, "could not load client key pair /nonexistent/c.pem, /nonexistent/c.key");
}

static void test_silent_peer_times_out(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    /* the peer never answers the ClientHello */
    expect_error(json_pack("{s:s}", "syslog-tls-skip-verify", "true"), sv[0], "tls handshake: i/o timeout");
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_options),
        cmocka_unit_test(test_silent_peer_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
