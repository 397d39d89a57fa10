/* Secrets and configs: the swarm's data objects (node/secrets.c), and
 * their files in a task's container (node/secrets_task.c).
 *
 * Both are cluster store documents shaped as the Engine API shows them
 * ({ID, Version, CreatedAt, UpdatedAt, Spec: {Name, Labels, Data, ...}}).
 * A secret's Spec.Data is kept in the store but never leaves the daemon
 * through the API; a config's is shown.  Validation follows SwarmKit's
 * controlapi, in its words (the "rpc error: code = ... desc = ..." form
 * dockerd passes on). */
#ifndef BERTH_NODE_SECRETS_H
#define BERTH_NODE_SECRETS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"
#include "raft/cluster_store.h"
#include "runtime/linux/userns.h"

/* SwarmKit's MaxSecretSize and MaxConfigSize: the payload must be shorter. */
#define SECRETS_MAX_SECRET_SIZE (500 * 1024)
#define SECRETS_MAX_CONFIG_SIZE (1000 * 1024)

/* "secret" or "config" (kind must be CS_SECRET or CS_CONFIG). */
const char *secrets_what(cs_kind kind);

/* SwarmKit's validateConfigOrSecretAnnotations: 1-64 characters of
 * [a-zA-Z0-9-_.], starting and ending with [a-zA-Z0-9]. */
int secrets_validate_name(const char *name, berr *e);

/* Spec.Data (base64, as Go encodes []byte) decoded and checked against the
 * kind's size limit.  *out is a new buffer the caller frees (after
 * sodium_memzero for a secret); *len its length. */
int secrets_decode_data(cs_kind kind, json_t *data, unsigned char **out, size_t *len, berr *e);

/* Checks a create request's spec in place and keeps only what the store
 * holds: Name, Labels, Data (checked), Templating; Driver is refused (501,
 * berthd has no secret plugins). */
int secrets_check_spec(cs_kind kind, json_t *spec, berr *e);

/* The services whose task template references object id of kind, by name
 * (a new array of strings, in store order). */
json_t *secrets_users(cluster_store *cs, cs_kind kind, const char *id);

/* SwarmKit's refusal of removing an object in use:
 * "secret 'x' is in use by the following service: web". */
int secrets_in_use_error(cs_kind kind, const char *name, json_t *users, berr *e);

/* SwarmKit's checks of a service spec's Secrets and Configs references
 * (TaskTemplate.ContainerSpec): each well formed (a File target), no two
 * with the same target, and each naming an existing object by ID with its
 * name (checkSecretExistence / checkConfigExistence). */
int secrets_check_refs(cluster_store *cs, json_t *service_spec, berr *e);

/* The file mode of a reference (File.Mode, 0444 when absent). */
unsigned secrets_ref_mode(json_t *ref);

/* ---- node/secrets_task.c ---------------------------------------------------- */

/* Writes the secrets and configs task references onto a tmpfs of the
 * task's own at <exec_root>/secrets/<task id> (never on disk) and appends
 * to mounts (HostConfig.Mounts entries) the read-only binds that put them
 * in the container: secrets under /run/secrets/<target> (or an absolute
 * target), configs at their target path (relative ones under /).  idmap
 * (may be NULL): the daemon's --userns-remap, whose host ids the files'
 * owners become. */
int secrets_task_prepare(const char *exec_root, cluster_store *cs, json_t *task, json_t *mounts, const rt_idmap *idmap,
                         berr *e);

/* Unmounts and removes the task's tmpfs (nothing when it has none). */
void secrets_task_release(const char *exec_root, const char *task_id);

/* Releases the tmpfs of every task for which keep(arg, task_id) is false
 * (the agent keeps those whose container runs). */
void secrets_task_sweep(const char *exec_root, bool (*keep)(void *arg, const char *task_id), void *arg);

#endif
