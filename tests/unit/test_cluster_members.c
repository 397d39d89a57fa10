/* Several cluster stores in one process on loopback ports: a member added
 * as a voter (libraft's add, catch-up, assign) receives the log, writes on
 * the follower are forwarded to the leader and readable on the follower
 * when they complete, removal, and the node RPC transport's framing and
 * errors over TLS: who the handler sees, a propose without a manager's
 * certificate, a certificate the peer check refuses. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "lib/tls_ca.h"
#include "raft/cluster_store.h"

static char tmpdir[] = "/tmp/berth-test-cluster-members-XXXXXX";
static uv_loop_t loop;
/* One CA for every member of these tests, as a cluster has. */
static char *ca_cert, *ca_key;

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    berr e = {0};
    if (tls_ca_create(&ca_cert, &ca_key, &e) < 0)
        return -1;
    return uv_loop_init(&loop);
}

static int group_teardown(void **state)
{
    (void)state;
    uv_run(&loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&loop);
    fs_rm_rf(tmpdir, NULL);
    free(ca_cert);
    tls_free_secret(ca_key);
    cluster_store_reap();
    return rc;
}

/* A manager certificate of the test CA for cs. */
static void give_cert(cluster_store *cs)
{
    char *key = NULL, *csr = NULL, *cert = NULL;
    berr e = {0};
    assert_int_equal(tls_key_new(&key, &e), 0);
    assert_int_equal(tls_csr_new(key, &csr, &e), 0);
    assert_int_equal(tls_ca_sign(ca_cert, ca_key, csr, cluster_store_node_id(cs), TLS_ROLE_MANAGER,
                                 cluster_store_cluster_id(cs), 3600, &cert, &e),
                     0);
    assert_int_equal(cluster_store_set_tls(cs, ca_cert, cert, key, &e), 0);
    free(csr);
    free(cert);
    tls_free_secret(key);
}

static uint64_t now_ms(void) { return uv_hrtime() / 1000000; }

static void run_until(const bool *flag, unsigned timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    while (!*flag) {
        assert_true(now_ms() < deadline);
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

static void flag_cb(void *arg) { *(bool *)arg = true; }

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

static cluster_store *open_member(const char *name, const char *cluster, char addr[32])
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    snprintf(addr, 32, "127.0.0.1:%d", free_port());
    cs_options o = {.dir = dir, .raft_address = addr, .join_cluster_id = cluster};
    cluster_store *cs = NULL;
    berr e = {0};
    int rc = cluster_store_open(&loop, &o, &cs, &e);
    if (rc < 0)
        fprintf(stderr, "open: %s\n", e.msg);
    assert_int_equal(rc, 0);
    give_cert(cs);
    return cs;
}

static void close_member(cluster_store *cs)
{
    bool closed = false;
    cluster_store_close(cs, flag_cb, &closed);
    run_until(&closed, 10000);
}

static int put(cluster_store *cs, const char *id, const char *name, waiter *w)
{
    json_t *doc = json_pack("{s:s, s:{s:s}}", "ID", id, "Spec", "Name", name);
    cs_op op = {.type = CS_PUT, .kind = CS_SERVICE, .doc = doc, .if_version = 0};
    snprintf(op.id, sizeof op.id, "%s", id);
    berr e = {0};
    memset(w, 0, sizeof *w);
    int rc = cluster_store_propose(cs, &op, 1, done_cb, w, &e);
    json_decref(doc);
    return rc;
}

static void test_voter_added_and_writes_forwarded(void **state)
{
    (void)state;
    char a_addr[32], b_addr[32];
    cluster_store *a = open_member("a", NULL, a_addr);
    bool ready_a = false;
    cluster_store_on_ready(a, flag_cb, &ready_a);
    run_until(&ready_a, 10000);

    cluster_store *b = open_member("b", cluster_store_cluster_id(a), b_addr);
    assert_string_equal(cluster_store_cluster_id(b), cluster_store_cluster_id(a));
    assert_string_not_equal(cluster_store_node_id(b), cluster_store_node_id(a));
    bool ready_b = false;
    cluster_store_on_ready(b, flag_cb, &ready_b);

    waiter w;
    assert_int_equal(put(a, "svc1", "before-join", &w), 0);
    run_until(&w.done, 5000);
    assert_int_equal(w.status, 0);

    berr e = {0};
    memset(&w, 0, sizeof w);
    assert_int_equal(cluster_store_add_voter(a, cluster_store_raft_id(b), b_addr, done_cb, &w, &e), 0);
    run_until(&w.done, 10000);
    assert_int_equal(w.status, 0);
    run_until(&ready_b, 10000);

    /* The member has the log written before it joined. */
    json_t *doc = NULL;
    assert_int_equal(cs_get(b, CS_SERVICE, "svc1", &doc, &e), 0);
    json_decref(doc);

    cs_member m[4];
    assert_int_equal(cluster_store_members(a, m, 4), 2);
    assert_true(m[0].voter && m[1].voter);
    assert_int_equal(cluster_store_leader(a), cluster_store_raft_id(a));
    assert_int_equal(cluster_store_leader(b), cluster_store_raft_id(a));

    /* A write on the follower goes through the leader and is readable on
     * the follower when it completes. */
    assert_int_equal(put(b, "svc2", "through-b", &w), 0);
    run_until(&w.done, 5000);
    assert_int_equal(w.status, 0);
    assert_true(w.index > 0);
    assert_int_equal(cs_get(b, CS_SERVICE, "svc2", &doc, &e), 0);
    json_decref(doc);
    assert_int_equal(cs_get(a, CS_SERVICE, "svc2", &doc, &e), 0);
    json_decref(doc);

    /* The leader's refusal travels back to the follower's caller. */
    assert_int_equal(put(b, "svc2", "again", &w), 0);
    run_until(&w.done, 5000);
    assert_int_equal(w.status, -EEXIST);

    /* Removal: the configuration is back to one voter. */
    memset(&w, 0, sizeof w);
    assert_int_equal(cluster_store_remove_member(a, cluster_store_raft_id(b), done_cb, &w, &e), 0);
    run_until(&w.done, 5000);
    assert_int_equal(w.status, 0);
    assert_int_equal(cluster_store_members(a, m, 4), 1);

    close_member(b);
    close_member(a);
}

/* A follower with no leader: writes wait a bounded while, then get
 * Docker's no-leader error; reads still work. */
static void test_no_leader(void **state)
{
    (void)state;
    char a_addr[32], b_addr[32];
    cluster_store *a = open_member("c", NULL, a_addr);
    bool ready = false;
    cluster_store_on_ready(a, flag_cb, &ready);
    run_until(&ready, 10000);
    cluster_store *b = open_member("d", cluster_store_cluster_id(a), b_addr);
    waiter w;
    berr e = {0};
    memset(&w, 0, sizeof w);
    assert_int_equal(cluster_store_add_voter(a, cluster_store_raft_id(b), b_addr, done_cb, &w, &e), 0);
    run_until(&w.done, 10000);
    bool ready_b = false;
    cluster_store_on_ready(b, flag_cb, &ready_b);
    run_until(&ready_b, 10000);
    close_member(a);
    assert_int_equal(put(b, "svc3", "nobody", &w), 0);
    run_until(&w.done, 10000);
    assert_int_equal(w.status, -ENOTCONN);
    assert_non_null(strstr(w.msg, "The swarm does not have a leader"));
    json_t *l = cs_list(b, CS_SERVICE);
    json_decref(l);
    close_member(b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct pipe_state {
    unsigned done, failed;
} pipe_state;

static void pipe_done(void *arg, int status, uint64_t index, const berr *e)
{
    (void)index;
    (void)e;
    pipe_state *p = arg;
    p->done++;
    if (status != 0)
        p->failed++;
}

#define N_TLS_PROPOSALS 2000
#define TLS_WINDOW 64

/* Three voters, every raft message over TLS between them: proposals on
 * the leader commit on a majority.  Prints the figures bench/failover.py
 * keeps. */
static void test_three_voters_over_tls(void **state)
{
    (void)state;
    char addr[3][32];
    const char *names[3] = {"t1", "t2", "t3"};
    cluster_store *m[3];
    m[0] = open_member(names[0], NULL, addr[0]);
    bool ready = false;
    cluster_store_on_ready(m[0], flag_cb, &ready);
    run_until(&ready, 10000);
    for (int i = 1; i < 3; i++) {
        m[i] = open_member(names[i], cluster_store_cluster_id(m[0]), addr[i]);
        waiter w = {0};
        berr e = {0};
        assert_int_equal(cluster_store_add_voter(m[0], cluster_store_raft_id(m[i]), addr[i], done_cb, &w, &e), 0);
        run_until(&w.done, 10000);
        assert_int_equal(w.status, 0);
    }
    cs_member mem[4];
    assert_int_equal(cluster_store_members(m[0], mem, 4), 3);

    uint64_t *lat = malloc(N_TLS_PROPOSALS * sizeof *lat);
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < N_TLS_PROPOSALS; i++) {
        char id[32];
        snprintf(id, sizeof id, "svc-%03d", i % 100);
        json_t *doc = json_pack("{s:s, s:{s:s, s:i}}", "ID", id, "Spec", "Name", id, "Replicas", i);
        cs_op op = {.type = CS_PUT, .kind = CS_SERVICE, .doc = doc, .if_version = -1};
        snprintf(op.id, sizeof op.id, "%s", id);
        waiter w = {0};
        uint64_t s = uv_hrtime();
        assert_int_equal(cluster_store_propose(m[0], &op, 1, done_cb, &w, NULL), 0);
        json_decref(doc);
        run_until(&w.done, 5000);
        lat[i] = (uv_hrtime() - s) / 1000;
        assert_int_equal(w.status, 0);
    }
    double secs = (uv_hrtime() - t0) / 1e9;
    qsort(lat, N_TLS_PROPOSALS, sizeof *lat, cmp_u64);
    printf("three voters over TLS: %d sequential proposals in %.2f s: %.0f/s, commit p50 %.2f ms p99 %.2f ms\n",
           N_TLS_PROPOSALS, secs, N_TLS_PROPOSALS / secs, lat[N_TLS_PROPOSALS / 2] / 1000.0,
           lat[N_TLS_PROPOSALS * 99 / 100] / 1000.0);
    free(lat);

    pipe_state p = {0};
    unsigned sent = 0;
    t0 = uv_hrtime();
    while (p.done < N_TLS_PROPOSALS) {
        while (sent < N_TLS_PROPOSALS && sent - p.done < TLS_WINDOW) {
            char id[32];
            snprintf(id, sizeof id, "svc-%03u", sent % 100);
            json_t *doc = json_pack("{s:s, s:{s:s, s:i}}", "ID", id, "Spec", "Name", id, "Replicas", (int)sent);
            cs_op op = {.type = CS_PUT, .kind = CS_SERVICE, .doc = doc, .if_version = -1};
            snprintf(op.id, sizeof op.id, "%s", id);
            assert_int_equal(cluster_store_propose(m[0], &op, 1, pipe_done, &p, NULL), 0);
            json_decref(doc);
            sent++;
        }
        uv_run(&loop, UV_RUN_ONCE);
    }
    secs = (uv_hrtime() - t0) / 1e9;
    assert_int_equal(p.failed, 0);
    printf("three voters over TLS: %d proposals, %d in flight: %.2f s, %.0f/s\n", N_TLS_PROPOSALS, TLS_WINDOW, secs,
           N_TLS_PROPOSALS / secs);
    /* Every member has the last write. */
    for (int i = 0; i < 3; i++) {
        json_t *doc = NULL;
        uint64_t deadline = now_ms() + 5000;
        for (;;) {
            assert_true(cs_get(m[i], CS_SERVICE, "svc-099", &doc, NULL) == 0);
            if (json_integer_value(json_object_get(json_object_get(doc, "Spec"), "Replicas")) ==
                N_TLS_PROPOSALS - 1)
                break;
            json_decref(doc);
            doc = NULL;
            assert_true(now_ms() < deadline);
            uv_run(&loop, UV_RUN_ONCE);
        }
        json_decref(doc);
    }
    for (int i = 2; i >= 0; i--)
        close_member(m[i]);
}

typedef struct rpc_result {
    bool done;
    int status;
    json_t *resp;
    char msg[BERR_MSG_MAX];
} rpc_result;

static void rpc_cb(void *arg, int status, json_t *resp, const berr *e)
{
    rpc_result *r = arg;
    r->done = true;
    r->status = status;
    r->resp = resp ? json_incref(resp) : NULL;
    snprintf(r->msg, sizeof r->msg, "%s", e ? e->msg : "");
}

static void echo_handler(void *arg, json_t *req, cs_rpc_ctx *ctx)
{
    (void)arg;
    cs_rpc_reply(ctx, json_pack("{s:i, s:O, s:i, s:s}", "status", 0, "echo", json_object_get(req, "payload"), "role",
                                (int)cs_rpc_peer_role(ctx), "node", cs_rpc_peer_node(ctx)));
}

static const char *refused_node;

static bool refuse_one(void *arg, const tls_ident *peer, char *why, size_t n)
{
    (void)arg;
    if (refused_node && strcmp(peer->cn, refused_node) == 0) {
        snprintf(why, n, "removed");
        return false;
    }
    return true;
}

static void test_rpc(void **state)
{
    (void)state;
    char addr[32];
    cluster_store *a = open_member("e", NULL, addr);
    bool ready = false;
    cluster_store_on_ready(a, flag_cb, &ready);
    run_until(&ready, 10000);
    cluster_store_on_rpc(a, echo_handler, NULL);

    /* A large payload crosses in several reads. */
    char *big = malloc(300000);
    memset(big, 'x', 299999);
    big[299999] = 0;
    json_t *req = json_pack("{s:s, s:s}", "op", "echo", "payload", big);
    rpc_result r = {0};
    berr e = {0};
    assert_int_equal(cs_rpc_call(&loop, addr, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(r.status, 0);
    assert_string_equal(json_string_value(json_object_get(r.resp, "echo")), big);
    /* The handler knows the caller from its certificate. */
    assert_int_equal(json_integer_value(json_object_get(r.resp, "role")), CS_PEER_MANAGER);
    assert_string_equal(json_string_value(json_object_get(r.resp, "node")), cluster_store_node_id(a));
    json_decref(r.resp);
    json_decref(req);
    free(big);

    /* Without a certificate (a node bootstrapping), verifying the server
     * against the CA: the handler sees nobody. */
    req = json_pack("{s:s, s:s}", "op", "echo", "payload", "p");
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call_bootstrap(&loop, NULL, addr, ca_cert, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(r.status, 0);
    assert_int_equal(json_integer_value(json_object_get(r.resp, "role")), CS_PEER_NONE);
    assert_string_equal(json_string_value(json_object_get(r.resp, "node")), "");
    json_decref(r.resp);

    /* A server whose certificate is not of the CA the caller pinned. */
    char *other_cert = NULL, *other_key = NULL;
    assert_int_equal(tls_ca_create(&other_cert, &other_key, &e), 0);
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call_bootstrap(&loop, NULL, addr, other_cert, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(r.status, -EACCES);
    assert_non_null(strstr(r.msg, "TLS handshake"));
    free(other_cert);
    tls_free_secret(other_key);

    /* A proposal needs a manager's certificate. */
    json_decref(req);
    req = json_pack("{s:s, s:s, s:[]}", "op", "propose", "cluster", cluster_store_cluster_id(a), "ops");
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call_bootstrap(&loop, NULL, addr, ca_cert, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(json_integer_value(json_object_get(r.resp, "status")), -EPERM);
    json_decref(r.resp);
    json_decref(req);

    /* A certificate the peer check refuses (a removed node): closed. */
    cluster_store_set_peer_check(a, refuse_one, NULL);
    refused_node = cluster_store_node_id(a);
    req = json_pack("{s:s, s:s}", "op", "echo", "payload", "p");
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call(&loop, addr, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(r.status, -ECONNRESET);
    refused_node = NULL;
    json_decref(req);

    /* A forwarded proposal for another cluster is refused. */
    req = json_pack("{s:s, s:s, s:[]}", "op", "propose", "cluster", "0000000000000000000000000", "ops");
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call(&loop, addr, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(json_integer_value(json_object_get(r.resp, "status")), -EPERM);
    json_decref(r.resp);
    json_decref(req);

    /* Nobody listening: the error says where. */
    char dead[32];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", free_port());
    req = json_pack("{s:s}", "op", "hello");
    memset(&r, 0, sizeof r);
    assert_int_equal(cs_rpc_call(&loop, dead, req, 5000, rpc_cb, &r, &e), 0);
    run_until(&r.done, 5000);
    assert_int_equal(r.status, -ECONNREFUSED);
    assert_non_null(strstr(r.msg, dead));
    json_decref(req);
    assert_int_equal(cs_rpc_call(&loop, "not-an-address", req, 5000, rpc_cb, &r, &e), -EINVAL);
    close_member(a);
}

int main(void)
{
    /* A peer that went away: the daemon ignores SIGPIPE too. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voter_added_and_writes_forwarded),
        cmocka_unit_test(test_no_leader),
        cmocka_unit_test(test_rpc),
        cmocka_unit_test(test_three_voters_over_tls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
