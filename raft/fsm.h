/* The cluster store's raft state machine: msgpack commands applied to an
 * in-memory SQLite database.
 *
 * It knows nothing of raft_uv, so the same code runs under the daemon's
 * libuv I/O and under libraft's deterministic fixture in the tests.
 *
 * The database has one table:
 *   objects(kind TEXT, id TEXT, seq INTEGER, doc TEXT, PRIMARY KEY(kind, id))
 * seq orders objects by creation: (raft index << 20) | position of the op in
 * its entry, so it is the same on every member and needs no counter row.
 *
 * A command is a msgpack map {"v": 1, "ops": [op, ...]}, each op a map
 * {"kind": "service", "id": "...", "type": "put"|"del", "if_version": n,
 * "doc": "<JSON text>"} ("doc" only for put).  Kinds and types travel as
 * names rather than enum values so the on-disk log does not depend on the
 * order of an enum.  Zero bytes pad the encoding to a multiple of 8, which
 * raft_uv requires of entry data.
 *
 * Apply runs one SQLite transaction per entry, all or nothing.  A failed
 * precondition is not a raft error: the entry is consumed on every member
 * alike and the status travels back to the proposer in the apply result.
 *
 * Which raft index is being applied: libraft 0.15 does not pass it to
 * fsm->apply, but replicationApply() sets r->last_applied only after the
 * apply of each entry (commands, barriers and configuration changes
 * alike), so during apply the entry's index is raft_last_applied(r) + 1.
 * That stays right across barriers, configuration entries and snapshot
 * installs, where counting our own applies would not.  The FSM therefore
 * needs the raft instance it serves: cs_fsm_attach(). */
#ifndef BERTH_RAFT_FSM_H
#define BERTH_RAFT_FSM_H

#include <raft.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "raft/cluster_store.h"

/* At most this many ops in one entry (seq keeps 20 bits for the position). */
#define CS_MAX_OPS (1u << 20)
#define CS_MAX_WATCHERS 16
/* Tasks by node: what every agent and every session asks for after each
 * change (cs_list_where on "$.NodeID" uses it; the expression must be
 * written the same way in the query). */
#define CS_NODE_EXPR "json_extract(doc, '$.NodeID')"
#define CS_NODE_INDEX_SQL "CREATE INDEX IF NOT EXISTS objects_node ON objects(kind, " CS_NODE_EXPR ", seq);"

typedef struct cs_fsm cs_fsm;

/* What apply hands to the proposer's raft_apply callback through libraft's
 * result pointer.  It lives inside the FSM and is overwritten by the next
 * apply: libraft calls the proposer's callback right after fsm->apply, and
 * never frees the result, so nothing may be allocated for it (a follower
 * applying the same entry has no request to hand it to). */
typedef struct cs_fsm_result {
    int status;          /* 0, -EAGAIN, -EEXIST, -ENOENT, -EINVAL */
    uint64_t index;      /* the raft index of the entry */
    char msg[256];       /* "" or the reason, e.g. "update out of sequence" */
} cs_fsm_result;

/* A new FSM with an empty in-memory database.  Free with cs_fsm_free. */
int cs_fsm_new(cs_fsm **out, berr *e);
void cs_fsm_free(cs_fsm *f);

/* The raft_fsm to pass to raft_init or raft_fixture_grow (owned by f). */
struct raft_fsm *cs_fsm_raft(cs_fsm *f);

/* The raft instance whose entries f applies (see the index note above).
 * Without one, f numbers entries itself from 1, which only suits tests that
 * call fsm->apply directly. */
void cs_fsm_attach(cs_fsm *f, struct raft *r);

/* The database, for reads (owned by f; replaced in place by a restore, so
 * do not keep prepared statements across entries). */
sqlite3 *cs_fsm_db(cs_fsm *f);

/* fn is called after each successful apply with the ops as stored (docs
 * with Version.Index set; borrowed for the call).  At most CS_MAX_WATCHERS;
 * returns -ENOSPC beyond. */
int cs_fsm_watch(cs_fsm *f, cs_watch_fn fn, void *arg);

/* Replaces the whole database with docs ({"task": [...], "service": [...],
 * ...}: kind names as cs_kind_name spells them, each document stored as
 * it is, Version included) and tells the watchers as a restore does (no
 * ops).  A worker's copy of its assignments (raft/cluster_mirror.c) is
 * loaded this way; nothing raft-driven calls it. */
int cs_fsm_load(cs_fsm *f, json_t *docs, berr *e);

/* How many snapshots were restored (tests check a follower was caught up by
 * InstallSnapshot rather than by the log). */
unsigned cs_fsm_restores(const cs_fsm *f);

/* The whole database as bytes (sqlite3_serialize; caller sqlite3_free()s). */
unsigned char *cs_fsm_serialize(cs_fsm *f, size_t *len);

/* ---- commands ------------------------------------------------------------ */

/* Checks one op as a proposer must build it: kind in range, id non-empty and
 * NUL-terminated, a JSON object for CS_PUT, if_version >= -1. */
int cs_op_validate(const cs_op *op, berr *e);

/* Encodes ops into out->base, allocated with raft_malloc as raft_apply wants
 * (on success ownership passes to the caller, who hands it to raft_apply or
 * raft_free()s it). */
int cs_command_encode(const cs_op *ops, size_t n, struct raft_buffer *out, berr *e);

/* Decodes a command.  *ops is a new array whose docs are new references;
 * free with cs_ops_free.  -EINVAL for anything malformed. */
int cs_command_decode(const void *data, size_t len, cs_op **ops, size_t *n, berr *e);
void cs_ops_free(cs_op *ops, size_t n);

#endif
