/* lib/tls_ca.c: the root CA, node keys and requests, node certificates
 * (names, lifetime, chain), what is refused (another CA, a tampered
 * request, a key that is not the certificate's), Docker's TLSInfo fields;
 * and when node/swarm_ca.c renews a certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "lib/tls_ca.h"
#include "node/swarm.h"

static char *ca, *ca_key;

static int group_setup(void **state)
{
    (void)state;
    berr e = {0};
    if (sodium_init() < 0 || tls_ca_create(&ca, &ca_key, &e) < 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(ca);
    tls_free_secret(ca_key);
    return 0;
}

static char *node_cert(const char *issuer, const char *issuer_key, char **key_out, int64_t life)
{
    char *key = NULL, *csr = NULL, *cert = NULL;
    berr e = {0};
    assert_int_equal(tls_key_new(&key, &e), 0);
    assert_int_equal(tls_csr_new(key, &csr, &e), 0);
    assert_int_equal(tls_ca_sign(issuer, issuer_key, csr, "node1node1node1node1node1", TLS_ROLE_MANAGER,
                                 "clus1clus1clus1clus1clus1", life, &cert, &e),
                     0);
    free(csr);
    *key_out = key;
    return cert;
}

static void test_ca(void **state)
{
    (void)state;
    assert_non_null(strstr(ca, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(ca_key, "PRIVATE KEY-----"));
    tls_ident id;
    berr e = {0};
    assert_int_equal(tls_cert_ident(ca, &id, &e), 0);
    assert_string_equal(id.cn, "swarm-ca");
    assert_true(id.not_after - id.not_before >= TLS_CA_LIFETIME_S);
    /* Self-signed: it verifies against itself. */
    assert_int_equal(tls_cert_verify(ca, ca, NULL, &e), 0);
    assert_int_equal(tls_key_matches(ca, ca_key, &e), 0);
}

static void test_node_certificate(void **state)
{
    (void)state;
    char *key = NULL;
    char *cert = node_cert(ca, ca_key, &key, 90LL * 24 * 3600);
    tls_ident id;
    berr e = {0};
    assert_int_equal(tls_cert_verify(ca, cert, &id, &e), 0);
    assert_string_equal(id.cn, "node1node1node1node1node1");
    assert_string_equal(id.ou, TLS_ROLE_MANAGER);
    assert_string_equal(id.o, "clus1clus1clus1clus1clus1");
    /* 90 days from now, started an hour back. */
    time_t now = time(NULL);
    assert_true(id.not_before <= now - TLS_BACKDATE_S + 5 && id.not_before >= now - TLS_BACKDATE_S - 5);
    assert_true(id.not_after >= now + 90LL * 24 * 3600 - 5 && id.not_after <= now + 90LL * 24 * 3600 + 5);
    assert_int_equal(tls_key_matches(cert, key, &e), 0);
    assert_int_equal(tls_key_matches(cert, ca_key, &e), -EINVAL);

    /* Docker's TLSInfo: the issuer's subject and key are the CA's. */
    char *subj = NULL, *pub = NULL, *ca_subj = NULL, *ca_pub = NULL;
    assert_int_equal(tls_issuer_info(ca, cert, &subj, &pub, &e), 0);
    assert_int_equal(tls_issuer_info(ca, ca, &ca_subj, &ca_pub, &e), 0);
    assert_string_equal(subj, ca_subj);
    assert_string_equal(pub, ca_pub);
    /* DER of "CN=swarm-ca", base64. */
    assert_string_equal(subj, "MBMxETAPBgNVBAMTCHN3YXJtLWNh");
    free(subj);
    free(pub);
    free(ca_subj);
    free(ca_pub);
    free(cert);
    tls_free_secret(key);
}

static void test_refusals(void **state)
{
    (void)state;
    berr e = {0};
    /* A certificate of another CA (a forged one, self-signed with the
     * right names, is one) does not verify. */
    char *other = NULL, *other_key = NULL;
    assert_int_equal(tls_ca_create(&other, &other_key, &e), 0);
    char *key = NULL;
    char *cert = node_cert(other, other_key, &key, 3600);
    tls_ident id;
    assert_int_equal(tls_cert_verify(ca, cert, &id, &e), -EACCES);
    assert_non_null(strstr(e.msg, "certificate"));
    assert_int_equal(tls_cert_verify(ca, other, NULL, &e), -EACCES);
    free(cert);
    tls_free_secret(key);

    /* A request whose signature does not hold. */
    char *csr = NULL;
    assert_int_equal(tls_key_new(&key, &e), 0);
    assert_int_equal(tls_csr_new(key, &csr, &e), 0);
    char *body = strstr(csr, "\n") + 1;
    size_t n = strlen(body);
    body[n / 2] = body[n / 2] == 'A' ? 'B' : 'A';
    berr_clear(&e);
    assert_true(tls_ca_sign(ca, ca_key, csr, "n", "r", "o", 3600, &cert, &e) < 0);
    free(csr);
    /* Missing names, lifetime, garbage. */
    assert_int_equal(tls_csr_new(key, &csr, &e), 0);
    assert_int_equal(tls_ca_sign(ca, ca_key, csr, "", TLS_ROLE_WORKER, "o", 3600, &cert, &e), -EINVAL);
    assert_int_equal(tls_ca_sign(ca, ca_key, csr, "n", TLS_ROLE_WORKER, "o", 0, &cert, &e), -EINVAL);
    assert_int_equal(tls_ca_sign(ca, ca_key, "not a request", "n", TLS_ROLE_WORKER, "o", 60, &cert, &e), -EINVAL);
    assert_int_equal(tls_ca_sign(ca, other_key, csr, "n", TLS_ROLE_WORKER, "o", 60, &cert, &e), 0);
    /* Signed with a key that is not the CA's: it does not verify. */
    assert_int_equal(tls_cert_verify(ca, cert, NULL, &e), -EACCES);
    free(cert);
    assert_int_equal(tls_cert_ident("garbage", &id, &e), -EINVAL);
    free(csr);
    tls_free_secret(key);
    free(other);
    tls_free_secret(other_key);
}

static void test_renewal_point(void **state)
{
    (void)state;
    time_t nb = 1000000, na = nb + 1000;
    assert_int_equal(swarm_cert_renew_at(nb, na, 0.5), nb + 500);
    assert_int_equal(swarm_cert_renew_at(nb, na, 0.8), nb + 800);
    assert_int_equal(swarm_cert_renew_at(nb, na, 0.65), nb + 650);
    /* Outside SwarmKit's window is clamped into it. */
    assert_int_equal(swarm_cert_renew_at(nb, na, 0.1), nb + 500);
    assert_int_equal(swarm_cert_renew_at(nb, na, 1.0), nb + 800);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca),
        cmocka_unit_test(test_node_certificate),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_renewal_point),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
