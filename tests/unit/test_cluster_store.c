/* raft/cluster_store.c with the real raft_uv on a temporary directory and
 * a loopback port: bootstrap, readiness, writes and reads, reopening from
 * the log and snapshots, and 10 000 proposals with flat disk and memory.
 * Prints the figures bench/ keeps: time to ready, proposals per second and
 * latency percentiles, raft directory size and RSS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "raft/cluster_store.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static char tmpdir[] = "/tmp/berth-test-cluster-store-XXXXXX";
static uv_loop_t loop;

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    return uv_loop_init(&loop);
}

static int group_teardown(void **state)
{
    (void)state;
    /* Everything was closed by the tests; let libuv finish its closes. */
    uv_run(&loop, UV_RUN_DEFAULT);
    cluster_store_reap();
    int rc = uv_loop_close(&loop);
    fs_rm_rf(tmpdir, NULL);
    return rc;
}

/* ---- helpers ----------------------------------------------------------------- */

static uint64_t now_us(void)
{
    return uv_hrtime() / 1000;
}

static void run_until(const bool *flag, unsigned timeout_ms)
{
    uint64_t deadline = now_us() + timeout_ms * 1000ull;
    while (!*flag) {
        assert_true(now_us() < deadline);
        uv_run(&loop, UV_RUN_ONCE);
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void flag_cb(void *arg)
{
    *(bool *)arg = true;
}

typedef struct opened {
    cluster_store *cs;
    double open_ms;    /* cluster_store_open's own time (bootstrap, load, raft_start) */
    double ready_ms;   /* from calling open to on_ready */
} opened;

static opened open_store(const char *dir, unsigned threshold)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    cs_options o = {.dir = dir, .raft_address = addr, .snapshot_threshold = threshold};
    opened r = {0};
    bool ready = false;
    berr e = {0};
    uint64_t t0 = now_us();
    int rc = cluster_store_open(&loop, &o, &r.cs, &e);
    r.open_ms = (double)(now_us() - t0) / 1000.0;
    if (rc < 0)
        fprintf(stderr, "open: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_false(cluster_store_ready(r.cs));
    cluster_store_on_ready(r.cs, flag_cb, &ready);
    run_until(&ready, 10000);
    r.ready_ms = (double)(now_us() - t0) / 1000.0;
    assert_true(cluster_store_ready(r.cs));
    return r;
}

static void close_store(cluster_store *cs)
{
    bool closed = false;
    cluster_store_close(cs, flag_cb, &closed);
    run_until(&closed, 10000);
}

typedef struct waiter {
    bool done;
    int status;
    uint64_t index;
    char msg[BERR_MSG_MAX];
} waiter;

static void done_cb(void *arg, int status, uint64_t index, const berr *e)
{
    waiter *w = arg;
    w->done = true;
    w->status = status;
    w->index = index;
    snprintf(w->msg, sizeof w->msg, "%s", e ? e->msg : "");
}

static waiter propose(cluster_store *cs, const cs_op *ops, size_t n)
{
    waiter w = {0};
    berr e = {0};
    int rc = cluster_store_propose(cs, ops, n, done_cb, &w, &e);
    if (rc < 0)
        fprintf(stderr, "propose: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_false(w.done); /* never before propose returns */
    run_until(&w.done, 10000);
    return w;
}

static cs_op op_put(cs_kind kind, const char *id, int64_t if_version, json_t *doc)
{
    cs_op op = {.type = CS_PUT, .kind = kind, .doc = doc, .if_version = if_version};
    snprintf(op.id, sizeof op.id, "%s", id);
    return op;
}

static waiter put_doc(cluster_store *cs, cs_kind kind, const char *id, int64_t if_version, json_t *doc)
{
    cs_op op = op_put(kind, id, if_version, doc);
    waiter w = propose(cs, &op, 1);
    json_decref(doc);
    return w;
}

static int64_t version_of(cluster_store *cs, cs_kind kind, const char *id)
{
    json_t *doc = NULL;
    if (cs_get(cs, kind, id, &doc, NULL) < 0)
        return -1;
    int64_t v = json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index"));
    json_decref(doc);
    return v;
}

static unsigned watched;
static void on_apply(void *arg, uint64_t index, const cs_op *ops, size_t n)
{
    (void)arg;
    (void)ops;
    if (n && index)
        watched++;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void dir_figures(const char *dir, long long *bytes, int *files)
{
    *bytes = fs_du(dir);
    *files = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            (*files)++;
    closedir(d);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_ids(void **state)
{
    (void)state;
    char a[26], b[26];
    cs_new_id(a);
    cs_new_id(b);
    assert_int_equal(strlen(a), 25);
    assert_int_equal(strspn(a, "0123456789abcdefghijklmnopqrstuvwxyz"), 25);
    assert_string_not_equal(a, b);
}

/* Every repeating timer on the loop, and the shortest period among them. */
static void shortest_repeat(uv_handle_t *h, void *arg)
{
    uint64_t *min = arg;
    if (h->type == UV_TIMER && uv_is_active(h) && uv_timer_get_repeat((uv_timer_t *)h) &&
        uv_timer_get_repeat((uv_timer_t *)h) < *min)
        *min = uv_timer_get_repeat((uv_timer_t *)h);
}

/* A cluster of one has nobody to send heartbeats to: the store ticks raft
 * once a second (cluster_tick.c), not every 50 ms, and still commits. */
static void test_lone_leader_sleeps(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/lone", tmpdir);
    opened o = open_store(dir, 0);
    uint64_t min = UINT64_MAX;
    uv_walk(&loop, shortest_repeat, &min);
    assert_int_equal(min, 1000);
    waiter w = put_doc(o.cs, CS_SERVICE, "s1", 0, json_pack("{s:s, s:{s:s}}", "ID", "s1", "Spec", "Name", "web"));
    assert_int_equal(w.status, 0);
    min = UINT64_MAX;
    uv_walk(&loop, shortest_repeat, &min);
    assert_int_equal(min, 1000);
    close_store(o.cs);
}

static void test_lifecycle(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/swarm", tmpdir);

    opened o = open_store(dir, 0);
    cluster_store *cs = o.cs;
    printf("cluster store: open to ready (bootstrap) %.1f ms (open call %.1f ms)\n", o.ready_ms, o.open_ms);
    char node_id[26], cluster_id[26];
    snprintf(node_id, sizeof node_id, "%s", cluster_store_node_id(cs));
    snprintf(cluster_id, sizeof cluster_id, "%s", cluster_store_cluster_id(cs));
    assert_int_equal(strlen(node_id), 25);
    assert_int_equal(strlen(cluster_id), 25);
    assert_string_not_equal(node_id, cluster_id);
    cluster_store_watch(cs, on_apply, NULL);
    watched = 0;

    /* Create, read back with the raft index as version. */
    waiter w = put_doc(cs, CS_SERVICE, "s1", 0,
                       json_pack("{s:s, s:s, s:{s:s}}", "ID", "s1", "CreatedAt", "2024-01-01T00:00:00Z", "Spec",
                                 "Name", "web"));
    assert_int_equal(w.status, 0);
    assert_true(w.index > 0);
    uint64_t s1_version = w.index;
    json_t *doc = NULL;
    assert_int_equal(cs_get(cs, CS_SERVICE, "s1", &doc, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "Spec"), "Name")), "web");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "Version"), "Index")), w.index);
    json_decref(doc);
    berr e = {0};
    assert_int_equal(cs_get(cs, CS_SERVICE, "nope", &doc, &e), -ENOENT);
    assert_int_equal(cs_get(cs, CS_TASK, "s1", &doc, &e), -ENOENT);

    /* Lists keep creation order; list_where filters on a JSON path. */
    const char *tasks[][2] = {{"t3", "s1"}, {"t1", "s2"}, {"t2", "s1"}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            put_doc(cs, CS_TASK, tasks[i][0], 0, json_pack("{s:s, s:s}", "ID", tasks[i][0], "ServiceID", tasks[i][1]))
                .status,
            0);
    json_t *all = cs_list(cs, CS_TASK);
    assert_int_equal(json_array_size(all), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(all, i), "ID")), tasks[i][0]);
    json_decref(all);
    json_t *some = cs_list_where(cs, CS_TASK, "$.ServiceID", "s1");
    assert_int_equal(json_array_size(some), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(some, 0), "ID")), "t3");
    assert_string_equal(json_string_value(json_object_get(json_array_get(some, 1), "ID")), "t2");
    json_decref(some);
    some = cs_list_where(cs, CS_TASK, "$.ServiceID", "zz");
    assert_int_equal(json_array_size(some), 0);
    json_decref(some);
    json_t *none = cs_list(cs, CS_SECRET);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);

    /* Preconditions come back through done with Docker's words. */
    w = put_doc(cs, CS_SERVICE, "s1", (int64_t)s1_version + 5, json_pack("{s:s}", "ID", "s1"));
    assert_int_equal(w.status, -EAGAIN);
    assert_string_equal(w.msg, "update out of sequence");
    w = put_doc(cs, CS_SERVICE, "s1", 0, json_pack("{s:s}", "ID", "s1"));
    assert_int_equal(w.status, -EEXIST);
    cs_op d = {.type = CS_DEL, .kind = CS_TASK, .id = "missing", .if_version = -1};
    w = propose(cs, &d, 1);
    assert_int_equal(w.status, -ENOENT);

    /* An update at the right version keeps CreatedAt; a delete removes. */
    w = put_doc(cs, CS_SERVICE, "s1", (int64_t)s1_version,
                json_pack("{s:s, s:s, s:{s:s}}", "ID", "s1", "CreatedAt", "2099-01-01T00:00:00Z", "Spec", "Name",
                          "web2"));
    assert_int_equal(w.status, 0);
    s1_version = w.index;
    assert_int_equal(cs_get(cs, CS_SERVICE, "s1", &doc, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "CreatedAt")), "2024-01-01T00:00:00Z");
    json_decref(doc);
    d = (cs_op){.type = CS_DEL, .kind = CS_TASK, .id = "t1", .if_version = -1};
    assert_int_equal(propose(cs, &d, 1).status, 0);
    assert_int_equal(version_of(cs, CS_TASK, "t1"), -1);
    assert_int_equal(watched, 6);

    /* Bad ops are refused at once, without a callback. */
    cs_op bad = op_put(CS_SERVICE, "x", -1, NULL);
    waiter never = {0};
    assert_int_equal(cluster_store_propose(cs, &bad, 1, done_cb, &never, &e), -EINVAL);

    cs_stats st;
    cluster_store_stats(cs, &st);
    assert_true(st.leader);
    assert_true(st.applied >= s1_version);

    /* Closing with a proposal in flight: it lands first (libraft 0.15 must
     * not be closed under a disk write), then the store closes. */
    waiter inflight = {0};
    cs_op late = op_put(CS_CONFIG, "late", -1, json_pack("{s:s}", "ID", "late"));
    assert_int_equal(cluster_store_propose(cs, &late, 1, done_cb, &inflight, &e), 0);
    json_decref(late.doc);
    bool closed = false;
    cluster_store_close(cs, flag_cb, &closed);
    assert_int_equal(cluster_store_propose(cs, &late, 1, done_cb, &never, &e), -ENOTCONN);
    run_until(&closed, 10000);
    assert_true(inflight.done);
    assert_int_equal(inflight.status, 0);

    /* Reopened: same identity, the data replayed from the log. */
    o = open_store(dir, 0);
    cs = o.cs;
    printf("cluster store: reopen to ready (log replay) %.1f ms (open call %.1f ms)\n", o.ready_ms, o.open_ms);
    assert_string_equal(cluster_store_node_id(cs), node_id);
    assert_string_equal(cluster_store_cluster_id(cs), cluster_id);
    assert_int_equal(version_of(cs, CS_SERVICE, "s1"), s1_version);
    assert_int_equal(version_of(cs, CS_TASK, "t1"), -1);
    all = cs_list(cs, CS_TASK);
    assert_int_equal(json_array_size(all), 2);
    json_decref(all);
    /* Writes go on after the replay, with later indexes. */
    w = put_doc(cs, CS_SERVICE, "s1", (int64_t)s1_version, json_pack("{s:s}", "ID", "s1"));
    assert_int_equal(w.status, 0);
    assert_true(w.index > s1_version);
    close_store(cs);

    /* Wiped: a fresh identity and an empty store. */
    assert_int_equal(cluster_store_wipe(dir, NULL), 0);
    assert_int_equal(access(dir, F_OK), -1);
    o = open_store(dir, 0);
    cs = o.cs;
    assert_string_not_equal(cluster_store_node_id(cs), node_id);
    assert_int_equal(version_of(cs, CS_SERVICE, "s1"), -1);
    close_store(cs);
}

/* Another store already holds the port: open fails and cleans up. */
static void test_port_in_use(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/busy", tmpdir);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    cs_options o = {.dir = dir, .raft_address = addr};
    cluster_store *cs = NULL;
    berr e = {0};
    assert_true(cluster_store_open(&loop, &o, &cs, &e) < 0);
    assert_true(e.msg[0] != 0);
    close(fd);
    /* Its handles close on the loop. */
    uv_run(&loop, UV_RUN_NOWAIT);
    cs_options none = {.dir = NULL};
    assert_int_equal(cluster_store_open(&loop, &none, &cs, &e), -EINVAL);
}

#define N_PROPOSALS 10000
#define N_KEYS 200
#define WINDOW 64

typedef struct pipe_state {
    unsigned done, failed;
} pipe_state;

static void pipe_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    (void)e;
    pipe_state *p = arg;
    p->done++;
    if (status)
        p->failed++;
}

static void test_many_proposals(void **state)
{
    (void)state;
    char dir[256], raft_dir[300];
    snprintf(dir, sizeof dir, "%s/many", tmpdir);
    snprintf(raft_dir, sizeof raft_dir, "%s/raft", dir);
    opened o = open_store(dir, 1024);
    cluster_store *cs = o.cs;

    uint64_t *lat = malloc(N_PROPOSALS * sizeof *lat);
    /* Touched now, so its pages do not show up as growth in the RSS below. */
    memset(lat, 0xff, N_PROPOSALS * sizeof *lat);
    long long bytes, max_bytes = 0;
    int files, max_files = 0;
    long rss_start = 0, rss_end = 0, rss_series[N_PROPOSALS / 1000] = {0};
    char pad[257];
    memset(pad, 'x', 256);
    pad[256] = 0;

    uint64_t t0 = now_us();
    for (int i = 0; i < N_PROPOSALS; i++) {
        char id[32];
        snprintf(id, sizeof id, "svc-%03d", i % N_KEYS);
        json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:i, s:s}}", "ID", id, "UpdatedAt", "2024-01-01T00:00:00Z",
                                "Spec", "Name", id, "Replicas", i, "Labels", pad);
        uint64_t s = now_us();
        waiter w = put_doc(cs, CS_SERVICE, id, -1, doc);
        lat[i] = now_us() - s;
        assert_int_equal(w.status, 0);
        if (i % 1000 == 999) {
            dir_figures(raft_dir, &bytes, &files);
            if (bytes > max_bytes)
                max_bytes = bytes;
            if (files > max_files)
                max_files = files;
            rss_series[i / 1000] = rss_kb();
            if (i == 1999)
                rss_start = rss_series[i / 1000];
        }
    }
    uint64_t total = now_us() - t0;
    rss_end = rss_kb();
    qsort(lat, N_PROPOSALS, sizeof *lat, cmp_u64);
    cs_stats st;
    cluster_store_stats(cs, &st);
    dir_figures(raft_dir, &bytes, &files);
    printf("cluster store: %d sequential proposals in %.2f s: %.0f/s, latency p50 %.2f ms p99 %.2f ms max %.2f ms\n",
           N_PROPOSALS, total / 1e6, N_PROPOSALS / (total / 1e6), lat[N_PROPOSALS / 2] / 1000.0,
           lat[N_PROPOSALS * 99 / 100] / 1000.0, lat[N_PROPOSALS - 1] / 1000.0);
    printf("cluster store: raft dir max %.2f MiB / %d files (end %.2f MiB / %d files); "
           "in-memory log %llu entries, snapshot at %llu of %llu\n",
           max_bytes / 1048576.0, max_files, bytes / 1048576.0, files, (unsigned long long)st.log_entries,
           (unsigned long long)st.snapshot_index, (unsigned long long)st.applied);
    printf("cluster store: RSS after 2000 proposals %ld KiB, after %d %ld KiB (%+ld KiB)%s\n", rss_start, N_PROPOSALS,
           rss_end, rss_end - rss_start, UNDER_ASAN ? " [ASan: not meaningful]" : "");
    printf("cluster store: RSS KiB every 1000 proposals:");
    for (int i = 0; i < N_PROPOSALS / 1000; i++)
        printf(" %ld", rss_series[i]);
    printf("\n");
    /* Flat: snapshots trim the log on disk and in memory. */
    assert_true(st.snapshot_index > 0);
    assert_true(st.log_entries <= 1024 + 128 + WINDOW);
    assert_true(max_bytes < 8ll * 1024 * 1024);
    assert_true(max_files < 16);
    if (!UNDER_ASAN)
        assert_true(rss_end - rss_start < 4 * 1024);

    /* The same with WINDOW proposals in flight: raft batches them. */
    pipe_state p = {0};
    unsigned sent = 0;
    t0 = now_us();
    while (p.done < N_PROPOSALS) {
        while (sent < N_PROPOSALS && sent - p.done < WINDOW) {
            char id[32];
            snprintf(id, sizeof id, "svc-%03u", sent % N_KEYS);
            json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:i, s:s}}", "ID", id, "UpdatedAt", "2024-01-01T00:00:00Z",
                                    "Spec", "Name", id, "Replicas", (int)sent, "Labels", pad);
            cs_op op = op_put(CS_SERVICE, id, -1, doc);
            assert_int_equal(cluster_store_propose(cs, &op, 1, pipe_done, &p, NULL), 0);
            json_decref(doc);
            sent++;
        }
        uv_run(&loop, UV_RUN_ONCE);
    }
    total = now_us() - t0;
    assert_int_equal(p.failed, 0);
    dir_figures(raft_dir, &bytes, &files);
    printf("cluster store: %d proposals, %d in flight: %.2f s, %.0f/s; raft dir %.2f MiB / %d files\n", N_PROPOSALS,
           WINDOW, total / 1e6, N_PROPOSALS / (total / 1e6), bytes / 1048576.0, files);
    assert_true(bytes < 8ll * 1024 * 1024);

    /* Remember the state, reopen from snapshot + log, compare. */
    json_t *before = cs_list(cs, CS_SERVICE);
    assert_int_equal(json_array_size(before), N_KEYS);
    close_store(cs);
    o = open_store(dir, 1024);
    cs = o.cs;
    printf("cluster store: reopen to ready (snapshot + log) %.1f ms (open call %.1f ms)\n", o.ready_ms, o.open_ms);
    json_t *after = cs_list(cs, CS_SERVICE);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    close_store(cs);
    free(lat);
}

/* Closing right after writes: raft_uv finalizes the open segment while it
 * closes, which is where libraft 0.15 can fire its close callback a second
 * time, after the first had let the store go (a crash seen in CI when a
 * daemon stopped right after start; not reproduced on demand).  Quick
 * cycles exercise that path and the graveyard under ASan. */
static void test_close_right_after_writes(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    for (int cycle = 0; cycle < 40; cycle++) {
        snprintf(dir, sizeof dir, "%s/quick-%d", tmpdir, cycle);
        opened o = open_store(dir, 1024);
        waiter w[8] = {0};
        for (int i = 0; i < 8; i++) {
            char id[16];
            snprintf(id, sizeof id, "q%d", i);
            json_t *doc = json_pack("{s:s, s:s, s:{s:s}}", "ID", id, "UpdatedAt", "2024-01-01T00:00:00Z", "Spec",
                                    "Name", id);
            cs_op op = op_put(CS_SERVICE, id, -1, doc);
            assert_int_equal(cluster_store_propose(o.cs, &op, 1, done_cb, &w[i], NULL), 0);
            json_decref(doc);
        }
        close_store(o.cs);
        /* The graveyard keeps what libraft may still touch; let it. */
        for (int i = 0; i < 20; i++)
            uv_run(&loop, UV_RUN_NOWAIT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_lone_leader_sleeps),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_many_proposals),
        cmocka_unit_test(test_close_right_after_writes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
