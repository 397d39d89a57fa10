/* The cluster's certificates (GnuTLS, ECDSA P-256): the root CA every
 * cluster makes at its first start, node keys and certificate signing
 * requests, node certificates signed by the CA, and reading a
 * certificate back (who it names, whether the CA signed it, until when).
 *
 * A node certificate names the node as SwarmKit's do: CN the node ID, OU
 * its role ("swarm-manager" or "swarm-worker"), O the cluster ID; it may
 * be used for both ends of a TLS connection.
 *
 * Every certificate, key and request is PEM text (NUL-terminated); every
 * string returned is malloc'ed and the caller frees it (keys with
 * tls_free_secret, which wipes them first).  Pure functions: no files, no
 * loop. */
#ifndef BERTH_LIB_TLS_CA_H
#define BERTH_LIB_TLS_CA_H

#include <stdint.h>
#include <time.h>

#include "lib/err.h"

#define TLS_ROLE_MANAGER "swarm-manager"
#define TLS_ROLE_WORKER "swarm-worker"
/* SwarmKit's root CA lives 20 years; its CN is "swarm-ca". */
#define TLS_CA_CN "swarm-ca"
#define TLS_CA_LIFETIME_S (20LL * 365 * 24 * 3600)
/* Node certificates start an hour in the past, as SwarmKit's do, so a
 * clock a little behind the CA's still accepts them. */
#define TLS_BACKDATE_S 3600

typedef struct tls_ident {
    char cn[65];        /* the node ID */
    char ou[32];        /* the role */
    char o[65];         /* the cluster ID */
    time_t not_before;
    time_t not_after;
} tls_ident;

/* A new root CA: a fresh P-256 key and a self-signed certificate. */
int tls_ca_create(char **cert_pem, char **key_pem, berr *e);

/* A fresh P-256 private key, and a signing request for it. */
int tls_key_new(char **key_pem, berr *e);
int tls_csr_new(const char *key_pem, char **csr_pem, berr *e);

/* Signs the request's public key (after checking the request's own
 * signature) as cn/ou/o for lifetime_s seconds from now. */
int tls_ca_sign(const char *ca_cert, const char *ca_key, const char *csr_pem, const char *cn, const char *ou,
                const char *o, int64_t lifetime_s, char **cert_pem, berr *e);

/* Who cert names (no trust implied). */
int tls_cert_ident(const char *cert_pem, tls_ident *out, berr *e);

/* Whether ca signed cert and cert is valid now; fills out when given.
 * -EACCES with the reason otherwise. */
int tls_cert_verify(const char *ca_pem, const char *cert_pem, tls_ident *out, berr *e);

/* Whether key_pem is the private key of cert_pem's public key. */
int tls_key_matches(const char *cert_pem, const char *key_pem, berr *e);

/* Docker's TLSInfo of a node certificate: the DER of its issuer's subject
 * and the DER of the CA's public key (SubjectPublicKeyInfo), base64. */
int tls_issuer_info(const char *ca_pem, const char *cert_pem, char **subject_b64, char **public_key_b64, berr *e);

void tls_free_secret(char *s);

#endif
