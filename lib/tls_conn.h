/* TLS 1.3 (GnuTLS) over a libuv TCP connection, driven by the loop: the
 * handshake, plaintext in and out, and a bridge that hands the plaintext
 * side to code that wants a uv_stream_t of its own (libraft).
 *
 * Credentials (tls_creds) are a CA to verify peers against (optional on a
 * client that has none yet: it verifies nothing) and this end's
 * certificate and key (optional on a client: a node without a
 * certificate). A server asks the client for a certificate but accepts a
 * connection without one: what such a peer may do is its owner's
 * decision (tls_conn_peer() is NULL).  A certificate that is sent is
 * always verified against the CA; one that fails closes the connection.
 *
 * Everything runs on the loop thread. */
#ifndef BERTH_LIB_TLS_CONN_H
#define BERTH_LIB_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "lib/err.h"
#include "lib/tls_ca.h"

typedef struct tls_creds tls_creds;

/* ca_pem: the CA to trust (NULL: none, client only); cert_pem/key_pem:
 * this end's identity (both NULL: none, client only).  Reference counted:
 * connections keep the credentials they started with. */
tls_creds *tls_creds_new(const char *ca_pem, const char *cert_pem, const char *key_pem, berr *e);
tls_creds *tls_creds_ref(tls_creds *c);
void tls_creds_unref(tls_creds *c);
/* The PEM texts given (NULL where none), and who the certificate names. */
const char *tls_creds_ca(const tls_creds *c);
const char *tls_creds_cert(const tls_creds *c);
const char *tls_creds_key(const tls_creds *c);
const tls_ident *tls_creds_ident(const tls_creds *c);

typedef struct tls_conn tls_conn;

typedef struct tls_conn_ops {
    /* Optional, clients only: the TCP connection is up and the handshake
     * starts (a peer that got this far is reachable). */
    void (*connected)(void *arg);
    /* The handshake finished (status 0; the peer is verified) or the
     * connection failed before that (negative errno, why says what). */
    void (*ready)(void *arg, int status, const char *why);
    /* Plaintext from the peer (not called once bridged). */
    void (*data)(void *arg, const char *p, size_t n);
    /* The peer closed or the connection broke after ready: the
     * connection is closing itself; do not use it any more. */
    void (*gone)(void *arg, int status);
} tls_conn_ops;

/* Accepts a connection from server (a listening uv_tcp_t) as the TLS
 * server with creds (which must hold a certificate). */
int tls_conn_accept(uv_stream_t *server, tls_creds *creds, const tls_conn_ops *ops, void *arg, tls_conn **out,
                    berr *e);
/* Connects to addr as the TLS client.  ready comes once verified, or with
 * the failure. */
int tls_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, tls_creds *creds, const tls_conn_ops *ops,
                     void *arg, tls_conn **out, berr *e);

/* The verified peer's identity, NULL when it sent no certificate. */
const tls_ident *tls_conn_peer(const tls_conn *c);

/* Sends plaintext (copied). */
int tls_conn_write(tls_conn *c, const void *p, size_t n);

/* Hands the plaintext side to theirs (an uninitialised uv_pipe_t the
 * caller owns and will close): bytes written there are sent, bytes
 * received are written there, in order, starting with pending (bytes
 * already read that belong to theirs).  When either side closes the other
 * follows; the connection then closes and frees itself, calling no
 * callback.  The owner forgets c after this call.  theirs is initialised
 * even when this fails (then the caller closes both). */
int tls_conn_bridge(tls_conn *c, uv_pipe_t *theirs, const void *pending, size_t n, berr *e);

/* Closes now; no callback is called after this. */
void tls_conn_close(tls_conn *c);

/* An owner that keeps its pointer to c beyond the callbacks (the node RPC
 * server's connections, which answers may reach long after a close) holds
 * it: c's memory then stays until the owner releases it, closed or not,
 * and every call on a closed c is a harmless failure or no-op. */
void tls_conn_hold(tls_conn *c);
void tls_conn_release(tls_conn *c);

/* Whether the negotiated protocol is TLS 1.3 (for tests and logs). */
const char *tls_conn_protocol(const tls_conn *c);

#endif
