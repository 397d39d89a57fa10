/* This member's TLS identity on disk: <dir>/certificates holds the
 * cluster's root CA certificate, this node's certificate and its private
 * key (swarm-root-ca.crt, swarm-node.crt, swarm-node.key, SwarmKit's
 * names; the key readable by root only, as SwarmKit keeps it when the
 * swarm is not autolocked).  They are loaded before raft starts, so a
 * restarting manager can reach the others before it has read its log,
 * and replaced whole when the node gets a new certificate (swarm/ca.c
 * issues and renews them). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "raft/cluster_store_int.h"

#define CERTS_DIR "certificates"

static char *cert_path(cluster_store *cs, const char *name)
{
    return xasprintf("%s/%s/%s", cs->dir, CERTS_DIR, name);
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
    char *ca = NULL, *crt = NULL, *key = NULL;
    size_t len;
    berr e = {0};
    if (fs_read_file(ca_path, &ca, &len, &e) < 0 || fs_read_file(crt_path, &crt, &len, &e) < 0 ||
        fs_read_file(key_path, &key, &len, &e) < 0) {
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
    tls_free_secret(key);
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
        rc = fs_write_file_atomic(key_path, key, strlen(key), 0600, e);
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
