/* The cluster's certificates (see tls_ca.h). */
#include "lib/tls_ca.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <string.h>

#include "lib/buf.h"

static int tls_fail(berr *e, int rc, const char *what)
{
    return berr_set(e, -EINVAL, "%s: %s", what, gnutls_strerror(rc));
}

void tls_free_secret(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

/* A gnutls datum as a malloc'ed string (gnutls' own memory released). */
static char *datum_steal(gnutls_datum_t *d)
{
    char *s = xstrndup((const char *)d->data, d->size);
    sodium_memzero(d->data, d->size);
    gnutls_free(d->data);
    d->data = NULL;
    return s;
}

static gnutls_datum_t pem_datum(const char *pem)
{
    return (gnutls_datum_t){.data = (unsigned char *)pem, .size = pem ? (unsigned)strlen(pem) : 0};
}

static int import_crt(gnutls_x509_crt_t *crt, const char *pem, berr *e)
{
    int rc = gnutls_x509_crt_init(crt);
    if (rc < 0)
        return tls_fail(e, rc, "certificate");
    gnutls_datum_t d = pem_datum(pem);
    if ((rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_x509_crt_deinit(*crt);
        return tls_fail(e, rc, "certificate is not a PEM X.509 certificate");
    }
    return 0;
}

static int import_key(gnutls_x509_privkey_t *key, const char *pem, berr *e)
{
    int rc = gnutls_x509_privkey_init(key);
    if (rc < 0)
        return tls_fail(e, rc, "private key");
    gnutls_datum_t d = pem_datum(pem);
    if ((rc = gnutls_x509_privkey_import(*key, &d, GNUTLS_X509_FMT_PEM)) < 0) {
        gnutls_x509_privkey_deinit(*key);
        return tls_fail(e, rc, "private key is not a PEM private key");
    }
    return 0;
}

static int new_key(gnutls_x509_privkey_t *key, berr *e)
{
    int rc = gnutls_x509_privkey_init(key);
    if (rc == 0)
        rc = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                           NULL, 0);
    if (rc < 0) {
        gnutls_x509_privkey_deinit(*key);
        return tls_fail(e, rc, "could not generate an ECDSA P-256 key");
    }
    return 0;
}

static int export_key(gnutls_x509_privkey_t key, char **out, berr *e)
{
    gnutls_datum_t d = {0};
    int rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0)
        return tls_fail(e, rc, "could not export the key");
    *out = datum_steal(&d);
    return 0;
}

static int export_crt(gnutls_x509_crt_t crt, char **out, berr *e)
{
    gnutls_datum_t d = {0};
    int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0)
        return tls_fail(e, rc, "could not export the certificate");
    *out = datum_steal(&d);
    return 0;
}

/* Version, a random positive serial, validity from start for lifetime_s. */
static int set_basics(gnutls_x509_crt_t crt, time_t start, int64_t lifetime_s)
{
    unsigned char serial[16];
    randombytes_buf(serial, sizeof serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01; /* positive and exactly 16 bytes */
    int rc = gnutls_x509_crt_set_version(crt, 3);
    if (rc == 0)
        rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    if (rc == 0)
        rc = gnutls_x509_crt_set_activation_time(crt, start);
    if (rc == 0)
        rc = gnutls_x509_crt_set_expiration_time(crt, (time_t)(time(NULL) + lifetime_s));
    return rc;
}

int tls_ca_create(char **cert_pem, char **key_pem, berr *e)
{
    gnutls_x509_privkey_t key;
    if (new_key(&key, e) < 0)
        return -EINVAL;
    gnutls_x509_crt_t crt;
    int rc = gnutls_x509_crt_init(&crt);
    if (rc < 0) {
        gnutls_x509_privkey_deinit(key);
        return tls_fail(e, rc, "certificate");
    }
    unsigned char kid[64];
    size_t kid_len = sizeof kid;
    rc = set_basics(crt, time(NULL) - TLS_BACKDATE_S, TLS_CA_LIFETIME_S);
    if (rc == 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, TLS_CA_CN, strlen(TLS_CA_CN));
    if (rc == 0)
        rc = gnutls_x509_crt_set_key(crt, key);
    if (rc == 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 1);
    if (rc == 0)
        rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
                                                    GNUTLS_KEY_DIGITAL_SIGNATURE);
    if (rc == 0)
        rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, kid, &kid_len);
    if (rc == 0)
        rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
    if (rc == 0)
        rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    int r = rc < 0 ? tls_fail(e, rc, "could not make the root CA") : 0;
    if (r == 0 && (r = export_crt(crt, cert_pem, e)) == 0 && (r = export_key(key, key_pem, e)) < 0) {
        free(*cert_pem);
        *cert_pem = NULL;
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return r;
}

int tls_key_new(char **key_pem, berr *e)
{
    gnutls_x509_privkey_t key;
    if (new_key(&key, e) < 0)
        return -EINVAL;
    int r = export_key(key, key_pem, e);
    gnutls_x509_privkey_deinit(key);
    return r;
}

int tls_csr_new(const char *key_pem, char **csr_pem, berr *e)
{
    gnutls_x509_privkey_t key;
    if (import_key(&key, key_pem, e) < 0)
        return -EINVAL;
    gnutls_x509_crq_t crq;
    int rc = gnutls_x509_crq_init(&crq);
    if (rc == 0)
        rc = gnutls_x509_crq_set_version(crq, 1);
    if (rc == 0)
        rc = gnutls_x509_crq_set_key(crq, key);
    if (rc == 0)
        rc = gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0);
    gnutls_datum_t d = {0};
    if (rc == 0)
        rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &d);
    gnutls_x509_crq_deinit(crq);
    gnutls_x509_privkey_deinit(key);
    if (rc < 0)
        return tls_fail(e, rc, "could not make a certificate signing request");
    *csr_pem = datum_steal(&d);
    return 0;
}

int tls_ca_sign(const char *ca_cert, const char *ca_key, const char *csr_pem, const char *cn, const char *ou,
                const char *o, int64_t lifetime_s, char **cert_pem, berr *e)
{
    if (!cn || !*cn || !ou || !*ou || !o || !*o)
        return berr_set(e, -EINVAL, "a node certificate needs a node ID, a role and a cluster ID");
    if (lifetime_s <= 0)
        return berr_set(e, -EINVAL, "a node certificate needs a positive lifetime");
    gnutls_x509_crt_t ca;
    if (import_crt(&ca, ca_cert, e) < 0)
        return -EINVAL;
    gnutls_x509_privkey_t key;
    if (import_key(&key, ca_key, e) < 0) {
        gnutls_x509_crt_deinit(ca);
        return -EINVAL;
    }
    gnutls_x509_crq_t crq = NULL;
    gnutls_pubkey_t pub = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t d = pem_datum(csr_pem);
    int r = 0;
    int rc = gnutls_x509_crq_init(&crq);
    if (rc == 0 && (rc = gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_PEM)) < 0) {
        r = tls_fail(e, rc, "the certificate signing request is not a PEM request");
        goto out;
    }
    /* Proof that the requester holds the key it asks a certificate for. */
    if (rc == 0 && (rc = gnutls_x509_crq_verify(crq, 0)) < 0) {
        r = tls_fail(e, rc, "the certificate signing request's signature is not valid");
        goto out;
    }
    unsigned char kid[64];
    size_t kid_len = sizeof kid;
    if (rc == 0)
        rc = gnutls_pubkey_init(&pub);
    if (rc == 0)
        rc = gnutls_pubkey_import_x509_crq(pub, crq, 0);
    if (rc == 0)
        rc = gnutls_x509_crt_init(&crt);
    if (rc == 0)
        rc = set_basics(crt, time(NULL) - TLS_BACKDATE_S, lifetime_s);
    if (rc == 0)
        rc = gnutls_x509_crt_set_pubkey(crt, pub);
    if (rc == 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, o, strlen(o));
    if (rc == 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, ou, strlen(ou));
    if (rc == 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn));
    /* SwarmKit's names: the role and the node ID. */
    if (rc == 0)
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, ou, strlen(ou), GNUTLS_FSAN_APPEND);
    if (rc == 0)
        rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, cn, strlen(cn), GNUTLS_FSAN_APPEND);
    if (rc == 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
    if (rc == 0)
        rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
    if (rc == 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
    if (rc == 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
    if (rc == 0)
        rc = gnutls_x509_crt_get_subject_key_id(ca, kid, &kid_len, NULL);
    if (rc == 0)
        rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kid_len);
    if (rc == 0)
        rc = gnutls_x509_crt_sign2(crt, ca, key, GNUTLS_DIG_SHA256, 0);
    if (rc < 0)
        r = tls_fail(e, rc, "could not sign the node certificate");
    else
        r = export_crt(crt, cert_pem, e);
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (pub)
        gnutls_pubkey_deinit(pub);
    if (crq)
        gnutls_x509_crq_deinit(crq);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_crt_deinit(ca);
    return r;
}

static void dn_field(gnutls_x509_crt_t crt, const char *oid, char *out, size_t cap)
{
    size_t size = cap;
    if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, out, &size) < 0)
        out[0] = 0;
}

static void fill_ident(gnutls_x509_crt_t crt, tls_ident *out)
{
    memset(out, 0, sizeof *out);
    dn_field(crt, GNUTLS_OID_X520_COMMON_NAME, out->cn, sizeof out->cn);
    dn_field(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, out->ou, sizeof out->ou);
    dn_field(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, out->o, sizeof out->o);
    out->not_before = gnutls_x509_crt_get_activation_time(crt);
    out->not_after = gnutls_x509_crt_get_expiration_time(crt);
}

int tls_cert_ident(const char *cert_pem, tls_ident *out, berr *e)
{
    gnutls_x509_crt_t crt;
    if (import_crt(&crt, cert_pem, e) < 0)
        return -EINVAL;
    fill_ident(crt, out);
    gnutls_x509_crt_deinit(crt);
    return 0;
}

int tls_cert_verify(const char *ca_pem, const char *cert_pem, tls_ident *out, berr *e)
{
    gnutls_x509_crt_t ca, crt;
    if (import_crt(&ca, ca_pem, e) < 0)
        return -EINVAL;
    if (import_crt(&crt, cert_pem, e) < 0) {
        gnutls_x509_crt_deinit(ca);
        return -EINVAL;
    }
    unsigned status = 0;
    int rc = gnutls_x509_crt_verify(crt, &ca, 1, 0, &status);
    int r = 0;
    if (rc < 0) {
        r = tls_fail(e, rc, "could not verify the certificate");
    } else if (status != 0) {
        gnutls_datum_t why = {0};
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
        r = berr_set(e, -EACCES, "x509: certificate not accepted: %s", why.data ? (char *)why.data : "invalid");
        gnutls_free(why.data);
    } else if (out) {
        fill_ident(crt, out);
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_crt_deinit(ca);
    return r;
}

int tls_key_matches(const char *cert_pem, const char *key_pem, berr *e)
{
    gnutls_x509_crt_t crt;
    if (import_crt(&crt, cert_pem, e) < 0)
        return -EINVAL;
    gnutls_x509_privkey_t key;
    if (import_key(&key, key_pem, e) < 0) {
        gnutls_x509_crt_deinit(crt);
        return -EINVAL;
    }
    unsigned char a[64], b[64];
    size_t la = sizeof a, lb = sizeof b;
    int rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &la);
    if (rc == 0)
        rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &lb);
    gnutls_x509_privkey_deinit(key);
    gnutls_x509_crt_deinit(crt);
    if (rc < 0)
        return tls_fail(e, rc, "could not compare the key with the certificate");
    if (la != lb || memcmp(a, b, la) != 0)
        return berr_set(e, -EINVAL, "the private key does not match the certificate");
    return 0;
}

static char *base64_of(const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int tls_issuer_info(const char *ca_pem, const char *cert_pem, char **subject_b64, char **public_key_b64, berr *e)
{
    gnutls_x509_crt_t ca, crt;
    if (import_crt(&ca, ca_pem, e) < 0)
        return -EINVAL;
    if (import_crt(&crt, cert_pem, e) < 0) {
        gnutls_x509_crt_deinit(ca);
        return -EINVAL;
    }
    gnutls_datum_t dn = {0}, spki = {0};
    gnutls_pubkey_t pub = NULL;
    int rc = gnutls_x509_crt_get_raw_issuer_dn(crt, &dn);
    if (rc == 0)
        rc = gnutls_pubkey_init(&pub);
    if (rc == 0)
        rc = gnutls_pubkey_import_x509(pub, ca, 0);
    if (rc == 0)
        rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki);
    int r = 0;
    if (rc < 0) {
        r = tls_fail(e, rc, "could not read the certificate's issuer");
    } else {
        *subject_b64 = base64_of(dn.data, dn.size);
        *public_key_b64 = base64_of(spki.data, spki.size);
    }
    gnutls_free(dn.data);
    gnutls_free(spki.data);
    if (pub)
        gnutls_pubkey_deinit(pub);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_crt_deinit(ca);
    return r;
}
