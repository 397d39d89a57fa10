/* The cluster's root CA and this node's certificate (see swarm.h, "Trust").
 *
 * The CA is made with the cluster object, in the cluster's first moment,
 * and lives in it: Berth.CA {Cert, Key} (PEM), replicated to every manager
 * with the log and sealed at rest with it (raft/crypt_io.c), so every
 * manager can sign.  Docker's TLSInfo beside it shows the certificate.
 * Berth.RemovedNodes lists the nodes `docker node rm` removed: their
 * certificates are refused at the TLS handshake.
 *
 * A manager signs its own certificate with the CA it holds: at every start
 * when it has none of this CA, of another node ID or role, or one past its
 * renewal point; and again at a random point between 50% and 80% of its
 * life (SwarmKit's window), with a fresh key each time.  Other nodes get
 * theirs from a manager over node RPC ("issue"): with a join token the
 * first time, with their current certificate afterwards. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/tls_ca.h"
#include "node/swarm_int.h"

/* SwarmKit's bounds of CAConfig.NodeCertExpiry. */
#define MIN_CERT_LIFETIME_S 3600LL
#define DEFAULT_CERT_LIFETIME_S (90LL * 24 * 3600)
/* A manager that could not renew (no store yet) tries again after this. */
#define RENEW_RETRY_MS 60000

static json_t *berth_of(json_t *cluster)
{
    return json_object_get(cluster, "Berth");
}

const char *swarm_ca_cert(json_t *cluster)
{
    return json_string_value(json_object_get(json_object_get(berth_of(cluster), "CA"), "Cert"));
}

static const char *ca_key(json_t *cluster)
{
    return json_string_value(json_object_get(json_object_get(berth_of(cluster), "CA"), "Key"));
}

json_t *swarm_tls_info(const char *ca_pem, const char *cert_pem)
{
    char *subject = NULL, *pub = NULL;
    berr e = {0};
    if (!ca_pem || tls_issuer_info(ca_pem, cert_pem ? cert_pem : ca_pem, &subject, &pub, &e) < 0)
        return NULL;
    json_t *info = json_pack("{s:s, s:s, s:s}", "TrustRoot", ca_pem, "CertIssuerSubject", subject,
                             "CertIssuerPublicKey", pub);
    free(subject);
    free(pub);
    return info;
}

int swarm_ca_new(json_t *cluster, berr *e)
{
    char *cert = NULL, *key = NULL;
    if (tls_ca_create(&cert, &key, e) < 0)
        return berr_wrap(e, "could not make the cluster's root CA");
    json_t *berth = berth_of(cluster);
    if (!json_is_object(berth)) {
        berth = json_object();
        json_object_set_new(cluster, "Berth", berth);
    }
    json_object_set_new(berth, "CA", json_pack("{s:s, s:s}", "Cert", cert, "Key", key));
    json_t *info = swarm_tls_info(cert, NULL);
    json_object_set_new(cluster, "TLSInfo", info ? info : json_object());
    free(cert);
    tls_free_secret(key);
    return 0;
}

bool swarm_node_removed(json_t *cluster, const char *node_id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(berth_of(cluster), "RemovedNodes"), i, v) {
        if (strcmp(json_string_value(v) ?: "", node_id) == 0)
            return true;
    }
    return false;
}

json_t *swarm_cluster_with_removed(json_t *cluster, const char *node_id)
{
    json_t *doc = json_deep_copy(cluster);
    json_t *berth = berth_of(doc);
    if (!json_is_object(berth)) {
        berth = json_object();
        json_object_set_new(doc, "Berth", berth);
    }
    json_t *list = json_object_get(berth, "RemovedNodes");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(berth, "RemovedNodes", list);
    }
    if (!swarm_node_removed(doc, node_id))
        json_array_append_new(list, json_string(node_id));
    return doc;
}

static int64_t cert_lifetime_s(json_t *cluster)
{
    json_int_t ns = json_integer_value(
        json_object_get(json_object_get(json_object_get(cluster, "Spec"), "CAConfig"), "NodeCertExpiry"));
    int64_t s = (int64_t)(ns / 1000000000LL);
    return s >= MIN_CERT_LIFETIME_S ? s : DEFAULT_CERT_LIFETIME_S;
}

int swarm_ca_issue(swarm *s, json_t *cluster, const char *csr, const char *node_id, const char *role, char **cert,
                   berr *e)
{
    const char *ca = swarm_ca_cert(cluster), *key = ca_key(cluster);
    if (!ca || !key)
        return berr_set(e, -EAGAIN, "the cluster has no root CA yet");
    return tls_ca_sign(ca, key, csr, node_id, role, s->cluster_id, cert_lifetime_s(cluster), cert, e);
}

int64_t swarm_cert_renew_at(time_t not_before, time_t not_after, double fraction)
{
    if (fraction < 0.5)
        fraction = 0.5;
    if (fraction > 0.8)
        fraction = 0.8;
    return (int64_t)not_before + (int64_t)((double)(not_after - not_before) * fraction);
}

static double renew_fraction(void)
{
    return 0.5 + 0.3 * ((double)randombytes_uniform(1000001) / 1000000.0);
}

static const char *node_role(swarm *s)
{
    json_t *node = NULL;
    const char *role = TLS_ROLE_MANAGER;
    if (s->cs && cs_get(s->cs, CS_NODE, s->node_id, &node, NULL) == 0 &&
        strcmp(json_string_value(json_object_get(json_object_get(node, "Spec"), "Role")) ?: "manager", "worker") == 0)
        role = TLS_ROLE_WORKER;
    json_decref(node);
    return role;
}

/* Whether this node's certificate is of this CA, names it in this role
 * and is before its renewal point. */
static bool cert_current(swarm *s, const char *ca, const char *role)
{
    tls_creds *creds = s->cs ? cluster_store_tls(s->cs) : NULL;
    const tls_ident *id = tls_creds_ident(creds);
    if (!id || !tls_creds_ca(creds) || strcmp(tls_creds_ca(creds), ca) != 0)
        return false;
    tls_ident checked;
    berr e = {0};
    if (tls_cert_verify(ca, tls_creds_cert(creds), &checked, &e) < 0)
        return false;
    if (strcmp(checked.cn, s->node_id) != 0 || strcmp(checked.ou, role) != 0 || strcmp(checked.o, s->cluster_id) != 0)
        return false;
    /* The renewal point is drawn when the timer is set; at a start, 80%
     * (the end of the window) says whether it is already due. */
    return time(NULL) < swarm_cert_renew_at(checked.not_before, checked.not_after, 0.8);
}

/* A fresh key and a certificate for it, installed in the store. */
static int sign_new(swarm *s, json_t *cluster, berr *e)
{
    const char *ca = swarm_ca_cert(cluster);
    const char *role = node_role(s);
    char *key = NULL, *csr = NULL, *cert = NULL;
    int rc = tls_key_new(&key, e);
    if (rc == 0)
        rc = tls_csr_new(key, &csr, e);
    if (rc == 0)
        rc = swarm_ca_issue(s, cluster, csr, s->node_id, role, &cert, e);
    if (rc == 0)
        rc = cluster_store_set_tls(s->cs, ca, cert, key, e);
    if (rc == 0)
        log_info("swarm: node certificate issued for %s (%s)", s->node_id, role);
    free(csr);
    free(cert);
    tls_free_secret(key);
    return rc;
}

int swarm_ca_sign_self(swarm *s, json_t *cluster, berr *e)
{
    const char *ca = swarm_ca_cert(cluster);
    if (!ca)
        return berr_set(e, -EAGAIN, "the cluster has no root CA yet");
    if (cert_current(s, ca, node_role(s)))
        return 0;
    return sign_new(s, cluster, e);
}

static void on_renew(uv_timer_t *t)
{
    swarm *s = t->data;
    if (s->closing || !s->cs)
        return;
    json_t *cluster = NULL;
    berr e = {0};
    int rc = cs_get(s->cs, CS_CLUSTER, s->cluster_id, &cluster, &e);
    if (rc == 0)
        rc = ca_key(cluster) ? sign_new(s, cluster, &e) : berr_set(&e, -EAGAIN, "the cluster has no root CA");
    json_decref(cluster);
    if (rc < 0) {
        log_warn("swarm: could not renew the node certificate: %s; retrying", e.msg);
        uv_timer_start(&s->renew_timer, on_renew, RENEW_RETRY_MS, 0);
        return;
    }
    swarm_ca_schedule(s);
}

void swarm_ca_schedule(swarm *s)
{
    uv_timer_stop(&s->renew_timer);
    const tls_ident *id = s->cs ? tls_creds_ident(cluster_store_tls(s->cs)) : NULL;
    if (!id)
        return;
    int64_t at = swarm_cert_renew_at(id->not_before, id->not_after, renew_fraction());
    int64_t now = (int64_t)time(NULL);
    uint64_t delay_ms = at > now ? (uint64_t)(at - now) * 1000 : 0;
    uv_timer_start(&s->renew_timer, on_renew, delay_ms, 0);
}

/* ---- the transport's questions ------------------------------------------------------ */

bool swarm_peer_check(void *arg, const tls_ident *peer, char *why, size_t why_len)
{
    swarm *s = arg;
    if (strcmp(peer->o, s->cluster_id) != 0) {
        snprintf(why, why_len, "certificate of another cluster (%s)", peer->o);
        return false;
    }
    json_t *cluster = NULL;
    if (!s->cs || cs_get(s->cs, CS_CLUSTER, s->cluster_id, &cluster, NULL) < 0)
        return true; /* a member that has not received the log yet knows no removals */
    bool removed = swarm_node_removed(cluster, peer->cn);
    json_decref(cluster);
    if (removed) {
        snprintf(why, why_len, "node %s was removed from the swarm", peer->cn);
        return false;
    }
    return true;
}
