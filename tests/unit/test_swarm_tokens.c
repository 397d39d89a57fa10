/* node/swarm_token.c: SwarmKit's join token format (SWMTKN-1-<50>-<25>),
 * base 36 as Go's big.Int.Text(36) writes it, the digest part derived from
 * the root CA certificate, parsing; and the token fields of the cluster
 * document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "node/swarm.h"
#include "node/swarm_token.h"

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void test_base36_small(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(swarm_base36(NULL, 0, 0, out), 1);
    assert_string_equal(out, "0");
    swarm_base36(NULL, 0, 5, out);
    assert_string_equal(out, "00000");
    unsigned char one = 1, thirty_six = 36, ff = 255;
    swarm_base36(&one, 1, 0, out);
    assert_string_equal(out, "1");
    swarm_base36(&thirty_six, 1, 0, out);
    assert_string_equal(out, "10");
    swarm_base36(&ff, 1, 0, out);
    assert_string_equal(out, "73"); /* 7*36 + 3 */
    /* Leading zero bytes do not add digits; width pads. */
    unsigned char lead[4] = {0, 0, 0, 1};
    assert_int_equal(swarm_base36(lead, 4, 25, out), 25);
    assert_string_equal(out, "0000000000000000000000001");
}

/* Vectors computed independently (Python int -> base 36), i.e. what Go's
 * big.Int.Text(36) gives. */
static void test_base36_big(void **state)
{
    (void)state;
    char out[80];
    unsigned char max128[16], max256[32];
    memset(max128, 0xff, sizeof max128);
    memset(max256, 0xff, sizeof max256);
    assert_int_equal(swarm_base36(max128, 16, SWARM_TOKEN_SECRET_LEN, out), 25);
    assert_string_equal(out, "f5lxx1zz5pnorynqglhzmsp33");
    assert_int_equal(swarm_base36(max256, 32, SWARM_TOKEN_DIGEST_LEN, out), 50);
    assert_string_equal(out, "6dp5qcb22im238nr3wvp0ic7q99w035jmy2iw7i6n43d37jtof");
    /* sha256("abc"), as SwarmKit turns the root CA digest into the token's
     * digest part. */
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)"abc", 3);
    swarm_base36(h, sizeof h, SWARM_TOKEN_DIGEST_LEN, out);
    assert_string_equal(out, "4nb7oofka9ml8nasnokxxc1unhmtpr1wxsuwhpd9km3vt5as31");
    /* A small secret is left-padded to SwarmKit's 25 digits. */
    unsigned char small[16] = {0, 1};
    swarm_base36(small, sizeof small, SWARM_TOKEN_SECRET_LEN, out);
    assert_string_equal(out, "000asfdhsvozt9q6jptrryn0g");
}

static bool all_base36(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

static const char *ca_a = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
static const char *ca_b = "-----BEGIN CERTIFICATE-----\nAAAB\n-----END CERTIFICATE-----\n";

static void test_token_format(void **state)
{
    (void)state;
    char a[SWARM_TOKEN_LEN + 1], b[SWARM_TOKEN_LEN + 1];
    assert_int_equal(swarm_token_new(ca_a, a, NULL), 0);
    assert_int_equal(swarm_token_new(ca_a, b, NULL), 0);
    assert_int_equal(strlen(a), 85);
    assert_memory_equal(a, "SWMTKN-1-", 9);
    assert_true(all_base36(a + 9, 50));
    assert_int_equal(a[59], '-');
    assert_true(all_base36(a + 60, 25));
    /* One cluster, one digest part; a fresh secret part every time. */
    assert_memory_equal(a, b, 60);
    assert_memory_not_equal(a + 60, b + 60, 25);
    berr e = {0};
    assert_int_equal(swarm_token_new(NULL, a, &e), -EINVAL);
    assert_int_equal(swarm_token_new("", a, &e), -EINVAL);
}

static void test_token_digest(void **state)
{
    (void)state;
    char d1[SWARM_TOKEN_DIGEST_LEN + 1], d2[SWARM_TOKEN_DIGEST_LEN + 1];
    swarm_token_digest(ca_a, d1);
    swarm_token_digest(ca_a, d2);
    assert_string_equal(d1, d2);
    /* The digest pins the CA: sha256 of its PEM text, as SwarmKit's
     * digest.FromBytes(rootCA.Certs). */
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)ca_a, strlen(ca_a));
    char want[64];
    swarm_base36(h, sizeof h, SWARM_TOKEN_DIGEST_LEN, want);
    assert_string_equal(d1, want);
    swarm_token_digest(ca_b, d2);
    assert_string_not_equal(d1, d2);
    /* "abc" as a certificate: the vector of test_base36_big. */
    swarm_token_digest("abc", d2);
    assert_string_equal(d2, "4nb7oofka9ml8nasnokxxc1unhmtpr1wxsuwhpd9km3vt5as31");

    char tok[SWARM_TOKEN_LEN + 1];
    assert_int_equal(swarm_token_new(ca_a, tok, NULL), 0);
    assert_memory_equal(tok + 9, d1, 50);
}

static void test_token_parse(void **state)
{
    (void)state;
    char d[SWARM_TOKEN_DIGEST_LEN + 1], s[SWARM_TOKEN_SECRET_LEN + 1];
    berr e = {0};
    const char *digest = "4nb7oofka9ml8nasnokxxc1unhmtpr1wxsuwhpd9km3vt5as31";
    const char *secret = "f5lxx1zz5pnorynqglhzmsp33";
    char tok[160];
    snprintf(tok, sizeof tok, "SWMTKN-1-%s-%s", digest, secret);
    assert_int_equal(swarm_token_parse(tok, d, s, &e), 0);
    assert_string_equal(d, digest);
    assert_string_equal(s, secret);
    /* SwarmKit's version 2 carries a FIPS flag. */
    snprintf(tok, sizeof tok, "SWMTKN-2-1-%s-%s", digest, secret);
    assert_int_equal(swarm_token_parse(tok, d, s, &e), 0);
    snprintf(tok, sizeof tok, "SWMTKN-2-0-%s-%s", digest, secret);
    assert_int_equal(swarm_token_parse(tok, d, s, &e), 0);

    const char *bad[] = {
        "", "SWMTKN", "SWMTKN-1", "SWMTKN-1-abc-def", "SWMTKN-3-%s-%s", "SWMTKN-2-2-%s-%s", "SWMTKN-2-%s-%s",
        "SWMTKN-1-1-%s-%s", "swmtkn-1-%s-%s", "XXXXXX-1-%s-%s", "SWMTKN-1-%s-%s-x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(tok, sizeof tok, bad[i], digest, secret);
        berr_clear(&e);
        assert_int_equal(swarm_token_parse(tok, d, s, &e), -EINVAL);
        assert_string_equal(e.msg, "invalid join token");
    }
    /* Upper case is not Go's base 36 output. */
    snprintf(tok, sizeof tok, "SWMTKN-1-%s-%s", "4NB7oofka9ml8nasnokxxc1unhmtpr1wxsuwhpd9km3vt5as31", secret);
    assert_int_equal(swarm_token_parse(tok, d, s, &e), -EINVAL);
    /* A generated token parses back into its parts. */
    char gen[SWARM_TOKEN_LEN + 1];
    assert_int_equal(swarm_token_new(ca_b, gen, NULL), 0);
    assert_int_equal(swarm_token_parse(gen, d, s, &e), 0);
    assert_memory_equal(gen + 9, d, 50);
    assert_memory_equal(gen + 60, s, 25);
}

static void test_rotate_tokens(void **state)
{
    (void)state;
    berr e = {0};
    json_t *c = json_pack("{s:{s:{s:s, s:s}}}", "Berth", "CA", "Cert", ca_a, "Key", "k");
    assert_int_equal(swarm_rotate_tokens(c, true, true, &e), 0);
    const char *w = json_string_value(json_object_get(json_object_get(c, "JoinTokens"), "Worker"));
    const char *m = json_string_value(json_object_get(json_object_get(c, "JoinTokens"), "Manager"));
    assert_non_null(w);
    assert_non_null(m);
    assert_memory_equal(w, m, 60);
    assert_string_not_equal(w, m);
    char keep_m[SWARM_TOKEN_LEN + 1], old_w[SWARM_TOKEN_LEN + 1];
    snprintf(keep_m, sizeof keep_m, "%s", m);
    snprintf(old_w, sizeof old_w, "%s", w);
    assert_int_equal(swarm_rotate_tokens(c, true, false, &e), 0);
    w = json_string_value(json_object_get(json_object_get(c, "JoinTokens"), "Worker"));
    m = json_string_value(json_object_get(json_object_get(c, "JoinTokens"), "Manager"));
    assert_string_equal(m, keep_m);
    assert_string_not_equal(w, old_w);
    assert_memory_equal(w, old_w, 60);
    json_decref(c);

    json_t *bad = json_object();
    assert_int_equal(swarm_rotate_tokens(bad, true, false, &e), -EINVAL);
    json_decref(bad);
}

static void test_default_spec(void **state)
{
    (void)state;
    json_t *s = swarm_default_spec();
    char *text = json_dumps(s, JSON_COMPACT);
    assert_string_equal(text,
                        "{\"Name\":\"default\",\"Labels\":{},\"Orchestration\":{\"TaskHistoryRetentionLimit\":5},"
                        "\"Raft\":{\"SnapshotInterval\":10000,\"KeepOldSnapshots\":0,\"LogEntriesForSlowFollowers\":500,"
                        "\"ElectionTick\":10,\"HeartbeatTick\":1},\"Dispatcher\":{\"HeartbeatPeriod\":5000000000},"
                        "\"CAConfig\":{\"NodeCertExpiry\":7776000000000000},\"TaskDefaults\":{},"
                        "\"EncryptionConfig\":{\"AutoLockManagers\":false}}");
    free(text);
    json_decref(s);
    char *hp = swarm_join_host_port("10.0.0.1", "2377");
    assert_string_equal(hp, "10.0.0.1:2377");
    free(hp);
    hp = swarm_join_host_port("fd00::1", "2377");
    assert_string_equal(hp, "[fd00::1]:2377");
    free(hp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base36_small), cmocka_unit_test(test_base36_big),
        cmocka_unit_test(test_token_format), cmocka_unit_test(test_token_digest),
        cmocka_unit_test(test_token_parse),
        cmocka_unit_test(test_rotate_tokens), cmocka_unit_test(test_default_spec),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
