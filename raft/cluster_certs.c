/* This member's TLS identity on disk: <dir>/certificates holds the
 * cluster's root CA certificate, this node's certificate and its private
 * key (swarm-root-ca.crt, swarm-node.crt, swarm-node.key, SwarmKit's
 * names; the key readable by root only, and with autolock sealed with the
 * store's data key as SwarmKit encrypts it then, so a locked node's disk
 * does not give its identity away).  They are loaded before raft starts, so a
 * restarting manager can reach the others before it has read its log,
 * and replaced whole when the node gets a new certificate (swarm/ca.c
 * issues and renews them). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/seal.h"
#include "raft/crypt_io.h"
#include "raft/keyring.h"
#include "raft/cluster_store_int.h"

#define CERTS_DIR "certificates"

static char *cert_path(cluster_store *cs, const char *name)
{
    return xasprintf("%s/%s/%s", cs->dir, CERTS_DIR, name);
}

/* Writes the key as the keyring calls for: sealed while autolocked. */
static int write_key(cluster_store *cs, const char *path, const char *key, berr *e)
{
    const uint8_t *dek = cs_crypt_io_dek(&cs->io);
    size_t n = strlen(key);
    if (!dek || !cs_keyring_is_locked(cs->dir))
        return fs_write_file_atomic(path, key, n, 0600, e);
    size_t sn = seal_size(n);
    uint8_t *sealed = xmalloc(sn);
    seal_bytes(dek, key, n, sealed);
    int rc = fs_write_file_atomic(path, sealed, sn, 0600, e);
    free(sealed);
    return rc;
}

/* The PEM key from the file's bytes, opened with the DEK when sealed. */
static char *read_key(cluster_store *cs, char *data, size_t len, berr *e)
{
    if (!seal_is_sealed(data, len))
        return xstrndup(data, len);
    const uint8_t *dek = cs_crypt_io_dek(&cs->io);
    long long n = seal_plain_len(data, len);
    if (!dek || n < 0) {
        berr_set(e, -EINVAL, "the node key is sealed and the store has no key to open it");
        return NULL;
    }
    char *key = xcalloc(1, (size_t)n + 1);
    if (seal_open(dek, data, len, key, e) < 0) {
        tls_free_secret(key);
        return NULL;
    }
    return key;
}

static void install(cluster_store *cs, tls_creds *creds)
{
    tls_creds_unref(cs->creds);
    cs->creds = creds;
    cs_transport_set_creds(&cs->transport, creds);
}

void cs_certs_load(cluster_store *cs)
{
    cleanup_free char *ca_path = cert_path(cs, "swarm-root-ca.crt");
    cleanup_free char *crt_path = cert_path(cs, "swarm-node.crt");
    cleanup_free char *key_path = cert_path(cs, "swarm-node.key");
    char *ca = NULL, *crt = NULL, *raw = NULL, *key = NULL;
    size_t len;
    berr e = {0};
    if (fs_read_file(ca_path, &ca, &len, &e) < 0 || fs_read_file(crt_path, &crt, &len, &e) < 0 ||
        fs_read_file(key_path, &raw, &len, &e) < 0 || !(key = read_key(cs, raw, len, &e))) {
        if (e.code != -ENOENT)
            log_warn("cluster store: %s", e.msg);
    } else {
        tls_creds *creds = tls_creds_new(ca, crt, key, &e);
        if (creds)
            install(cs, creds);
        else
            log_warn("cluster store: the node certificate in %s/%s cannot be used: %s", cs->dir, CERTS_DIR, e.msg);
    }
    free(ca);
    free(crt);
    if (raw)
        sodium_memzero(raw, len);
    free(raw);
    tls_free_secret(key);
}

int cs_certs_rewrite_key(cluster_store *cs, berr *e)
{
    const char *key = tls_creds_key(cs->creds);
    if (!key)
        return 0;
    cleanup_free char *key_path = cert_path(cs, "swarm-node.key");
    return write_key(cs, key_path, key, e);
}

int cluster_store_set_tls(cluster_store *cs, const char *ca, const char *cert, const char *key, berr *e)
{
    if (tls_cert_verify(ca, cert, NULL, e) < 0)
        return berr_wrap(e, "the node certificate is not one of the cluster's");
    tls_creds *creds = tls_creds_new(ca, cert, key, e);
    if (!creds)
        return -EINVAL;
    cleanup_free char *dir = xasprintf("%s/%s", cs->dir, CERTS_DIR);
    cleanup_free char *ca_path = cert_path(cs, "swarm-root-ca.crt");
    cleanup_free char *crt_path = cert_path(cs, "swarm-node.crt");
    cleanup_free char *key_path = cert_path(cs, "swarm-node.key");
    int rc = fs_mkdir_p(dir, 0700, e);
    /* The key first: a certificate on disk always has its key beside it. */
    if (rc == 0)
        rc = write_key(cs, key_path, key, e);
    if (rc == 0)
        rc = fs_write_file_atomic(crt_path, cert, strlen(cert), 0644, e);
    if (rc == 0)
        rc = fs_write_file_atomic(ca_path, ca, strlen(ca), 0644, e);
    if (rc < 0) {
        tls_creds_unref(creds);
        return rc;
    }
    install(cs, creds);
    return 0;
}

tls_creds *cluster_store_tls(cluster_store *cs) { return cs->creds; }

void cluster_store_set_peer_check(cluster_store *cs, cs_peer_check fn, void *arg)
{
    cs_transport_set_peer_check(&cs->transport, fn, arg);
}
