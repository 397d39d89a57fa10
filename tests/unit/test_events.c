/* Unit tests for node/events.c: the ring, replay windows and filters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/filters.h"
#include "node/events.h"

static int replayed;
static void count(void *ctx, json_t *e)
{
    (void)ctx;
    (void)e;
    replayed++;
}

static bool seen_last;
static bool listener(void *ctx, json_t *e)
{
    (void)ctx;
    seen_last = !strcmp(json_string_value(json_object_get(e, "Action")), "die");
    return true;
}

static void test_ring_and_replay(void **state)
{
    (void)state;
    events ev = {0};
    for (int i = 0; i < EVENTS_RING + 10; i++)
        events_emit(&ev, "container", "start", "abc", json_pack("{s:s}", "name", "n"));
    assert_int_equal(ev.count, EVENTS_RING);
    replayed = 0;
    events_replay(&ev, 0, 0, count, NULL);
    assert_int_equal(replayed, EVENTS_RING);
    replayed = 0;
    events_replay(&ev, INT64_MAX, 0, count, NULL);
    assert_int_equal(replayed, 0);
    events_listener l = {listener, NULL, NULL};
    events_listen(&ev, &l);
    assert_int_equal(events_listeners(&ev), 1);
    events_emit(&ev, "container", "die", "abc", NULL);
    assert_true(seen_last);
    events_unlisten(&ev, &l);
    assert_int_equal(events_listeners(&ev), 0);
    events_free(&ev);
}

static bool matches(const char *filters, const char *type, const char *action, const char *id, json_t *attrs)
{
    static const char *const allowed[] = {"type", "event", "container", "image", "label", "scope", "network", "volume", NULL};
    json_t *f;
    assert_int_equal(filters_parse(filters, allowed, &f, NULL), 0);
    events ev = {0};
    events_emit(&ev, type, action, id, attrs);
    bool hit = events_match(f, ev.ring[0]);
    events_free(&ev);
    json_decref(f);
    return hit;
}

static void test_filters(void **state)
{
    (void)state;
    assert_true(matches("{\"type\":[\"container\"]}", "container", "start", "abcdef", NULL));
    assert_false(matches("{\"type\":[\"image\"]}", "container", "start", "abcdef", NULL));
    assert_true(matches("{\"event\":[\"health_status\"]}", "container", "health_status: healthy", "a", NULL));
    assert_false(matches("{\"event\":[\"die\"]}", "container", "start", "a", NULL));
    assert_true(matches("{\"container\":[\"web\"]}", "container", "start", "abcdef", json_pack("{s:s}", "name", "web")));
    assert_true(matches("{\"container\":[\"abc\"]}", "container", "start", "abcdef", json_pack("{s:s}", "name", "web")));
    assert_true(matches("{\"network\":[\"front\"]}", "network", "connect", "f00d", json_pack("{s:s}", "name", "front")));
    assert_true(matches("{\"network\":[\"f0\"]}", "network", "create", "f00d", json_pack("{s:s}", "name", "front")));
    assert_false(matches("{\"network\":[\"front\"]}", "container", "start", "f00d", json_pack("{s:s}", "name", "front")));
    assert_true(matches("{\"volume\":[\"data\"]}", "volume", "mount", "data", NULL));
    assert_false(matches("{\"volume\":[\"data\"]}", "volume", "mount", "other", NULL));
    assert_false(matches("{\"container\":[\"xyz\"]}", "container", "start", "abcdef", json_pack("{s:s}", "name", "web")));
    assert_true(matches("{\"label\":[\"team=blue\"]}", "container", "start", "a", json_pack("{s:s}", "team", "blue")));
    assert_false(matches("{\"label\":[\"team=red\"]}", "container", "start", "a", json_pack("{s:s}", "team", "blue")));
    assert_true(matches("{\"image\":[\"busybox\"]}", "container", "start", "a", json_pack("{s:s}", "image", "busybox")));
    assert_false(matches("{\"scope\":[\"swarm\"]}", "container", "start", "a", NULL));
}

static void test_legacy_fields(void **state)
{
    (void)state;
    events ev = {0};
    events_emit(&ev, "container", "start", "abc", json_pack("{s:s}", "image", "busybox"));
    json_t *e = ev.ring[0];
    assert_string_equal(json_string_value(json_object_get(e, "status")), "start");
    assert_string_equal(json_string_value(json_object_get(e, "id")), "abc");
    assert_string_equal(json_string_value(json_object_get(e, "from")), "busybox");
    assert_true(json_integer_value(json_object_get(e, "timeNano")) / 1000000000 ==
                json_integer_value(json_object_get(e, "time")));
    events_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_and_replay),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_legacy_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
