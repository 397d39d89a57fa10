/* Unit tests for runtime/linux/top.c: ps_args checks, reading ps's table, and one
 * real run of the host's ps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/linux/top.h"

static const char *cell(json_t *out, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(json_object_get(out, "Processes"), row), col));
}

static void test_check_args(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(rt_top_check_args("-ef", &e), 0);
    assert_int_equal(rt_top_check_args("aux", &e), 0);
    assert_int_equal(rt_top_check_args("-o pid,comm", &e), 0);
    assert_int_equal(rt_top_check_args("-o pid,%cpu,%mem", &e), 0);
    assert_int_equal(rt_top_check_args("-o pid=PID,comm=NAME", &e), 0);
    assert_int_equal(rt_top_check_args("", &e), 0);
    /* anything that could mean something to a shell or to ps's parser */
    const char *bad[] = {"-ef; rm -rf /", "-ef && id", "$(id)", "`id`", "-o pid|cat", "-ef\n", "a\tb", "-o '%cpu'",
                         "../x", "-ef>x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rt_top_check_args(bad[i], &e), -EINVAL);
        assert_non_null(strstr(e.msg, "invalid ps_args"));
    }
    /* dockerd: no column but pid may call itself PID */
    assert_int_equal(rt_top_check_args("-o user=PID", &e), -EINVAL);
    assert_string_equal(e.msg, "specifying \"user=PID\" is not allowed");
    assert_int_equal(rt_top_check_args("-o pid,user= PIDX", &e), -EINVAL);
    assert_string_equal(e.msg, "specifying \"pid,user=PIDX\" is not allowed");
    assert_int_equal(rt_top_check_args("-o comm=PPID", &e), 0);
}

static void test_parse_filters_rows(void **state)
{
    (void)state;
    const char *out = "UID        PID  PPID  C STIME TTY          TIME CMD\n"
                      "root         1     0  0 12:13 ?        00:00:10 /sbin/init splash\n"
                      "root       100     1  0 12:14 ?        00:00:00 sh -c sleep 1000 &  wait\n"
                      "root       101   100  0 12:14 ?        00:00:00 sleep 1000\n"
                      "\n";
    pid_t pids[] = {101, 100};
    json_t *o;
    berr e = {0};
    assert_int_equal(rt_top_parse(out, pids, 2, &o, &e), 0);
    json_t *titles = json_object_get(o, "Titles");
    assert_int_equal(json_array_size(titles), 8);
    assert_string_equal(json_string_value(json_array_get(titles, 1)), "PID");
    assert_string_equal(json_string_value(json_array_get(titles, 7)), "CMD");
    json_t *procs = json_object_get(o, "Processes");
    assert_int_equal(json_array_size(procs), 2);
    assert_int_equal(json_array_size(json_array_get(procs, 0)), 8);
    assert_string_equal(cell(o, 0, 1), "100");
    /* words past the last title make one column, single-spaced */
    assert_string_equal(cell(o, 0, 7), "sh -c sleep 1000 & wait");
    assert_string_equal(cell(o, 1, 1), "101");
    assert_string_equal(cell(o, 1, 7), "sleep 1000");
    json_decref(o);

    /* nothing of the container's: a header and no rows */
    assert_int_equal(rt_top_parse(out, NULL, 0, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "Processes")), 0);
    json_decref(o);
}

static void test_parse_threads_and_pid_column(void **state)
{
    (void)state;
    /* `ps -o pid,comm m`: thread lines carry "-" and follow their process */
    const char *out = "  PID COMMAND\n"
                      "    7 app\n"
                      "    - -\n"
                      "    - -\n"
                      "    8 other\n"
                      "    - -\n";
    pid_t pids[] = {7};
    json_t *o;
    berr e = {0};
    assert_int_equal(rt_top_parse(out, pids, 1, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "Processes")), 3);
    assert_string_equal(cell(o, 0, 1), "app");
    assert_string_equal(cell(o, 2, 0), "-");
    json_decref(o);

    /* the PID column may be anywhere; a missing one is dockerd's error */
    assert_int_equal(rt_top_parse("COMMAND PID\nsh 7\n", pids, 1, &o, &e), 0);
    assert_string_equal(cell(o, 0, 0), "sh");
    json_decref(o);
    assert_int_equal(rt_top_parse("USER COMMAND\nroot sh\n", pids, 1, &o, &e), -EINVAL);
    assert_string_equal(e.msg, "Couldn't find PID field in ps output");
    assert_null(o);
    assert_int_equal(rt_top_parse("", pids, 1, &o, &e), -EINVAL);
    assert_int_equal(rt_top_parse("PID CMD\nabc sh\n", pids, 1, &o, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "Unexpected pid 'abc'"));
    /* a short row still gets one cell per title */
    assert_int_equal(rt_top_parse("PID TTY CMD\n7\n", pids, 1, &o, &e), 0);
    assert_int_equal(json_array_size(json_array_get(json_object_get(o, "Processes"), 0)), 3);
    assert_string_equal(cell(o, 0, 2), "");
    json_decref(o);
}

typedef struct run_result {
    int status;
    char msg[BERR_MSG_MAX];
    char *output;
    int calls;
} run_result;

static void on_done(void *arg, int status, const berr *e, char *output)
{
    run_result *res = arg;
    res->calls++;
    res->status = status;
    if (e)
        snprintf(res->msg, sizeof res->msg, "%s", e->msg);
    res->output = output;
}

static void run_ps(const char *args, const pid_t *pids, size_t n, run_result *res)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    memset(res, 0, sizeof *res);
    rt_top_run(&loop, args, pids, n, on_done, res);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    assert_int_equal(res->calls, 1);
}

static void test_run_host_ps(void **state)
{
    (void)state;
    if (access("/bin/ps", X_OK) != 0 && access("/usr/bin/ps", X_OK) != 0)
        skip();
    pid_t me = getpid();
    run_result res;
    run_ps("-o pid,comm", &me, 1, &res);
    assert_int_equal(res.status, 0);
    json_t *o;
    berr e = {0};
    assert_int_equal(rt_top_parse(res.output, &me, 1, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "Processes")), 1);
    char mine[32];
    snprintf(mine, sizeof mine, "%d", (int)me);
    assert_string_equal(cell(o, 0, 0), mine);
    json_decref(o);
    free(res.output);

    /* forest listings refuse -q: the second try without it still works */
    run_ps("axf", &me, 1, &res);
    assert_int_equal(res.status, 0);
    assert_int_equal(rt_top_parse(res.output, &me, 1, &o, &e), 0);
    assert_int_equal(json_array_size(json_object_get(o, "Processes")), 1);
    json_decref(o);
    free(res.output);

    /* ps's own complaint is the error */
    run_ps("--no-such-option", &me, 1, &res);
    assert_true(res.status < 0);
    assert_non_null(strstr(res.msg, "ps: "));
    assert_null(res.output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_args),
        cmocka_unit_test(test_parse_filters_rows),
        cmocka_unit_test(test_parse_threads_and_pid_column),
        cmocka_unit_test(test_run_host_ps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
