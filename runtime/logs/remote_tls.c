/* TLS for the syslog driver's tcp+tls (GnuTLS), as dockerd's syslog
 * driver does it: the server's certificate checked against
 * syslog-tls-ca-cert (else the system's roots) and the host name of the
 * address, unless syslog-tls-skip-verify; a client certificate from
 * syslog-tls-cert and syslog-tls-key when given.  The handshake happens at
 * container start, bounded like the connect; records are then sent on the
 * non-blocking socket without ever waiting. */
#include "runtime/logs/remote_tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"

struct rt_log_tls {
    gnutls_session_t session;
    gnutls_certificate_credentials_t cred;
    size_t inflight;   /* bytes of a send GnuTLS took and must finish (E_AGAIN) */
};

static const char *opt(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void rt_log_tls_close(rt_log_tls *t)
{
    if (!t)
        return;
    if (t->session) {
        gnutls_bye(t->session, GNUTLS_SHUT_WR);   /* non-blocking: best effort */
        gnutls_deinit(t->session);
    }
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    free(t);
}

static int load_credentials(rt_log_tls *t, json_t *opts, berr *e)
{
    if (gnutls_certificate_allocate_credentials(&t->cred) < 0)
        return berr_set(e, -ENOMEM, "tls: cannot allocate credentials");
    const char *ca = opt(opts, "syslog-tls-ca-cert");
    int g = ca && *ca ? gnutls_certificate_set_x509_trust_file(t->cred, ca, GNUTLS_X509_FMT_PEM)
                      : gnutls_certificate_set_x509_system_trust(t->cred);
    if (g < 0 && ca && *ca)
        return berr_set(e, -EINVAL, "tls: could not read CA certificate %s: %s", ca, gnutls_strerror(g));
    const char *cert = opt(opts, "syslog-tls-cert"), *key = opt(opts, "syslog-tls-key");
    if ((cert && *cert) != (key && *key))
        return berr_set(e, -EINVAL, "tls: syslog-tls-cert and syslog-tls-key go together");
    if (cert && *cert && (g = gnutls_certificate_set_x509_key_file(t->cred, cert, key, GNUTLS_X509_FMT_PEM)) < 0)
        return berr_set(e, -EINVAL, "tls: could not load client key pair %s, %s: %s", cert, key, gnutls_strerror(g));
    return 0;
}

int rt_log_tls_open(int fd, const char *host, json_t *opts, int timeout_ms, rt_log_tls **out, berr *e)
{
    *out = NULL;
    rt_log_tls *t = calloc(1, sizeof *t);
    if (!t)
        return berr_set(e, -ENOMEM, "tls: out of memory");
    int r = load_credentials(t, opts, e);
    if (r == 0 && gnutls_init(&t->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
        r = berr_set(e, -ENOMEM, "tls: cannot start a session");
    if (r < 0) {
        rt_log_tls_close(t);
        return r;
    }
    gnutls_set_default_priority(t->session);
    gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->cred);
    if (host && *host)
        gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, host, strlen(host));
    const char *skip = opt(opts, "syslog-tls-skip-verify");
    if (!(skip && !strcmp(skip, "true")))
        gnutls_session_set_verify_cert(t->session, host && *host ? host : NULL, 0);
    gnutls_transport_set_int(t->session, fd);
    int64_t deadline = now_ms() + timeout_ms;
    int g;
    while ((g = gnutls_handshake(t->session)) < 0) {
        if (gnutls_error_is_fatal(g)) {
            if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
                gnutls_datum_t why = {0};
                gnutls_certificate_verification_status_print(gnutls_session_get_verify_cert_status(t->session),
                                                             GNUTLS_CRT_X509, &why, 0);
                r = berr_set(e, -EPERM, "tls: failed to verify certificate: %s", why.data ? (char *)why.data : "");
                gnutls_free(why.data);
            } else {
                r = berr_set(e, -ECONNREFUSED, "tls handshake: %s", gnutls_strerror(g));
            }
            rt_log_tls_close(t);
            return r;
        }
        int left = (int)(deadline - now_ms());
        struct pollfd p = {.fd = fd, .events = gnutls_record_get_direction(t->session) ? POLLOUT : POLLIN};
        if (left <= 0 || poll(&p, 1, left) == 0) {
            rt_log_tls_close(t);
            return berr_set(e, -ETIMEDOUT, "tls handshake: i/o timeout");
        }
    }
    *out = t;
    return 0;
}

ssize_t rt_log_tls_send(rt_log_tls *t, const char *data, size_t len)
{
    ssize_t w;
    if (t->inflight) {
        /* GnuTLS holds a record it has started: it is finished first, and
         * counts as those bytes of pending taken */
        w = gnutls_record_send(t->session, NULL, 0);
        if (w >= 0) {
            w = w > 0 ? w : (ssize_t)t->inflight;
            t->inflight = 0;
        }
    } else {
        w = gnutls_record_send(t->session, data, len);
    }
    if (w >= 0)
        return w;
    if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
        size_t rec = gnutls_record_get_max_size(t->session);
        if (!t->inflight)
            t->inflight = len > rec ? rec : len;   /* one record's worth of what was offered */
        return -EAGAIN;
    }
    return -EPIPE;
}
