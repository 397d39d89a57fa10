/* The version table (api/versions.c): each side of every boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "api/versions.h"

static void test_boundaries(void **state)
{
    (void)state;
    static const struct {
        api_behaviour b;
        int without;                    /* a version without it, next to the boundary */
        int first_with_low, last_with_high;
    } rows[] = {
        {API_IMAGE_VIRTUAL_SIZE, 44, 24, 43},
        {API_IMAGE_CONTAINER_CONFIG, 45, 24, 44},
        {API_ALIASES_SHORT_ID, 45, 24, 44},
        {API_VOLUME_PRUNE_ALL, 42, 24, 41},
        {API_IPC_DEFAULT_SHAREABLE, 40, 24, 39},
        {API_CGROUPNS_DEFAULT_HOST, 41, 24, 40},
        {API_ENDPOINT_DNS_NAMES, 43, 44, 47},
        {API_MULTIPLEXED_MEDIA_TYPE, 41, 42, 47},
        {API_WS_BINARY_FRAMES, 27, 28, 47},
        {API_WS_STREAM_PARAMS, 41, 42, 47},
        {API_PIDS_LIMIT_UPDATE, 39, 40, 47},
        {API_STATS_ONE_SHOT, 40, 41, 47},
        {API_STOP_SIGNAL_PARAM, 41, 42, 47},
        {API_SYSTEM_DF_TYPE, 41, 42, 47},
        {API_CLUSTER_VOLUMES, 41, 42, 47},
        {API_SWARM_ADDR_POOL, 38, 39, 47},
        {API_SWARM_DATA_PATH_PORT, 39, 40, 47},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_false(api_minor_has(rows[i].without, rows[i].b));
        assert_true(api_minor_has(rows[i].first_with_low, rows[i].b));
        assert_true(api_minor_has(rows[i].last_with_high, rows[i].b));
    }
    assert_false(api_minor_has(47, API_BEHAVIOUR_N));
}

static void test_media_type(void **state)
{
    (void)state;
    api_request r = {.api_minor = 47};
    assert_string_equal(api_stream_media_type(&r, true, false), "application/vnd.docker.multiplexed-stream");
    assert_string_equal(api_stream_media_type(&r, false, false), "application/vnd.docker.raw-stream");
    assert_string_equal(api_stream_media_type(&r, true, true), "application/vnd.docker.raw-stream");
    r.api_minor = 41;
    assert_string_equal(api_stream_media_type(&r, true, false), "application/vnd.docker.raw-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_boundaries), cmocka_unit_test(test_media_type)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
