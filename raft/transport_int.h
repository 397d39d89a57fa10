/* What the swarm port's server side (raft/transport.c) and its RPC client
 * (raft/transport_rpc.c) share.  Nothing outside raft/transport*.c
 * includes this. */
#ifndef BERTH_RAFT_TRANSPORT_INT_H
#define BERTH_RAFT_TRANSPORT_INT_H

#include <netinet/in.h>

#include "lib/buf.h"
#include "raft/transport.h"

/* "ip:port" (IPv4) into sa. */
int cs_parse_addr(const char *address, struct sockaddr_in *sa);

/* The credentials the latest transport was given (NULL: none yet). */
tls_creds *cs_process_creds(void);

/* A 4-byte big-endian length and msg's compact JSON, appended to out. */
int cs_frame_append(buf *out, json_t *msg);

/* Room for at least want more bytes after b->len. */
void cs_buf_room(buf *b, size_t want);

#endif
