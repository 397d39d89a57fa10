/* Node RPC framing (raft/rpc_frame.c): partial frames wait, a frame is
 * taken whole, a non-object is skipped, a length over the limit stops. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "raft/rpc_frame.h"

static size_t frame(char *out, const char *json)
{
    uint32_t be = htonl((uint32_t)strlen(json));
    memcpy(out, &be, 4);
    memcpy(out + 4, json, strlen(json));
    return 4 + strlen(json);
}

static void test_frames(void **state)
{
    (void)state;
    char b[256];
    size_t n = frame(b, "{\"op\":\"members\"}");
    n += frame(b + n, "[1]");
    size_t used;
    json_t *m;
    for (size_t cut = 0; cut < 20; cut++)
        assert_int_equal(cs_frame_take(b, cut, 1024, &used, &m), CS_FRAME_MORE);
    assert_int_equal(cs_frame_take(b, n, 1024, &used, &m), CS_FRAME_OK);
    assert_int_equal(used, 20);
    assert_string_equal(json_string_value(json_object_get(m, "op")), "members");
    json_decref(m);
    assert_int_equal(cs_frame_take(b + used, n - used, 1024, &used, &m), CS_FRAME_MALFORMED);
    assert_int_equal(used, 7);
    assert_null(m);
    uint32_t huge = htonl(1025);
    memcpy(b, &huge, 4);
    assert_int_equal(cs_frame_take(b, 4, 1024, &used, &m), -E2BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_frames)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
