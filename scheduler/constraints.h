/* Placement constraints ("node.labels.zone==east", "node.role!=manager"),
 * parsed and matched as swarmkit's manager/constraint does.
 *
 * Keys (case-insensitive): node.id, node.hostname, node.role, node.ip (an
 * address or CIDR), node.platform.os, node.platform.arch,
 * node.labels.<label>, engine.labels.<label> (the label name itself is
 * case-sensitive).  Values compare case-insensitively and whole; a missing
 * attribute or label compares as "".  A key of the right shape that names
 * nothing above parses but matches no node, as in Docker. */
#ifndef BERTH_SCHEDULER_CONSTRAINTS_H
#define BERTH_SCHEDULER_CONSTRAINTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

typedef struct sched_constraint {
    char *key;
    bool eq;        /* "==" (else "!=") */
    char *value;
} sched_constraint;

typedef struct sched_constraints {
    sched_constraint *v;
    size_t n;
} sched_constraints;

/* Parses list (a JSON array of strings, or NULL: no constraints) into out
 * (free with sched_constraint_free, also after a failure).  -EINVAL with
 * swarmkit's message in e: "constraint expected one operator from ==, !=",
 * "key 'x y' is invalid", "value 'a=b' is invalid". */
int sched_constraint_parse(const json_t *list, sched_constraints *out, berr *e);
void sched_constraint_free(sched_constraints *c);

/* Validates TaskTemplate.Placement.Constraints for the API layer: -EINVAL
 * with the message dockerd returns for the failed gRPC call,
 * "rpc error: code = Unknown desc = constraint expected one operator from ==, !=". */
int sched_constraint_validate(const json_t *constraints, berr *e);

/* Whether the node document satisfies every constraint (true for none). */
bool sched_constraint_match(const sched_constraints *c, const json_t *node);

/* Shortcut: parses list and matches; a list that does not parse matches
 * every node (the API refused it already; swarmkit's filter then steps
 * aside). */
bool sched_constraint_match_list(const json_t *list, const json_t *node);

#endif
