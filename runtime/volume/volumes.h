/* Volumes: the `local` driver and the store behind /volumes/...
 *
 * A volume is a directory <data-root>/volumes/<name>/_data; its metadata
 * (driver, labels, options, creation time) is a row of the `volumes` table
 * in the local store.  As with dockerd's local driver, a volume created
 * with the options type/device/o is a mount: the device is mounted on
 * _data when the first container using it starts and unmounted when the
 * last one stops.
 *
 * Who uses a volume is not recorded here: it is derived from the
 * containers' mount points through the users callback, so a volume is "in
 * use" exactly while some container (running or not) mounts it.
 *
 * Everything runs on the loop thread; removing a volume's directory tree
 * happens in uv_queue_work after the volume is gone from the store. */
#ifndef BERTH_RUNTIME_VOLUMES_H
#define BERTH_RUNTIME_VOLUMES_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <uv.h>

#include "lib/err.h"
#include "lib/event_sink.h"

#define RT_VOLUME_DRIVER_LOCAL "local"
#define RT_VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

typedef struct rt_volume {
    char *name;
    char driver[16];             /* always "local" */
    long long created;           /* unix seconds */
    json_t *labels;              /* object, or NULL when none were given; owned */
    json_t *options;             /* driver options (type, device, o), or NULL; owned */
    char *path;                  /* <data-root>/volumes/<name>/_data */

    /* Runtime (not persisted). */
    char **active;               /* containers that have it mounted now */
    size_t n_active;
    bool mounted;                /* its device is mounted on path */
} rt_volume;

/* Appends to ids (a JSON array of strings) the IDs of the containers that
 * reference volume name. */
typedef void (*rt_volume_users_fn)(void *ctx, const char *name, json_t *ids);

typedef struct rt_volumes {
    uv_loop_t *loop;
    sqlite3 *db;
    char root[4096];             /* <data-root>/volumes */
    rt_event_sink events;
    rt_volume_users_fn users;
    void *users_ctx;
    rt_volume **list;            /* by creation */
    size_t n;
    bool pruning;                /* a prune is in flight */
    uid_t data_uid;              /* owner of a new volume's _data: the remapped root, or 0 */
    gid_t data_gid;
} rt_volumes;

/* Opens the store: loads the rows, adopts volume directories that have no
 * row (as the local driver finds them on disk) and clears removals a
 * previous run left unfinished.  db must outlive the store; *out is owned
 * by the caller (rt_volumes_close). */
int rt_volumes_open(rt_volumes **out, uv_loop_t *loop, sqlite3 *db, const char *data_root, berr *e);
void rt_volumes_close(rt_volumes *s);

void rt_volumes_set_events(rt_volumes *s, rt_event_sink sink);
void rt_volumes_set_users(rt_volumes *s, rt_volume_users_fn fn, void *ctx);
/* With --userns-remap a new volume's _data belongs to the remapped root, so
 * a container's root can write there, as dockerd's volumes are. */
void rt_volumes_set_owner(rt_volumes *s, uid_t uid, gid_t gid);

/* dockerd's checks, without the "create NAME: " prefix (pure):
 * "[a-zA-Z0-9][a-zA-Z0-9_.-]" names of at least two characters, and the
 * local driver's options (type, device, o, size) with their dependencies. */
int rt_volume_check_name(const char *name, berr *e);
int rt_volume_check_options(json_t *opts, berr *e);

/* Creates a volume, or returns the existing one of that name (its labels
 * and options stay as they were), as dockerd does.  name NULL or "" makes
 * an anonymous volume: 64 random hex digits and the label
 * com.docker.volume.anonymous="".  driver NULL or "" means local.  opts and
 * labels are objects or NULL (borrowed).  Emits "create" for a new volume.
 * *out stays owned by the store. */
int rt_volume_create(rt_volumes *s, const char *name, const char *driver, json_t *opts, json_t *labels,
                     rt_volume **out, berr *e);

/* NULL if there is none. */
rt_volume *rt_volume_find(rt_volumes *s, const char *name);
/* -ENOENT "get NAME: no such volume". */
int rt_volume_get(rt_volumes *s, const char *name, rt_volume **out, berr *e);

/* Container IDs using the volume, as a new JSON array. */
json_t *rt_volume_users(rt_volumes *s, const char *name);

/* Removes a volume nobody uses: -EBUSY "remove NAME: volume is in use -
 * [IDs]" otherwise.  A missing volume is -ENOENT, or success with force.
 * Emits "destroy".  The directory goes in a worker afterwards. */
int rt_volume_remove(rt_volumes *s, const char *name, bool force, berr *e);

/* The volume as the API shows it (no UsageData). */
json_t *rt_volume_json(const rt_volume *v);

/* GET /volumes filters (dangling, driver, label, name) against v; in_use
 * says whether a container references it.  Pure. */
bool rt_volume_list_match(json_t *filters, const rt_volume *v, bool in_use);

/* POST /volumes/prune: checks the `all` filter and, unless it is true,
 * restricts the filters to anonymous volumes (API >= 1.42 behaviour; older
 * clients get all=true added by the caller).  Pure; filters is changed. */
int rt_volume_prune_filters(json_t *filters, berr *e);
/* Whether prune would take a volume with these labels and options, given
 * the filters from rt_volume_prune_filters (label, label!).  Pure. */
bool rt_volume_prune_match(json_t *filters, json_t *labels, json_t *options);

/* Removes the unused local volumes (without driver options) that match;
 * sizes are measured and trees removed in a worker, then done() runs on
 * the loop with the names removed (a JSON array it takes) and the bytes
 * reclaimed.  Emits "destroy" for each and "prune" at the end.  -EBUSY if
 * a prune is already running. */
typedef void (*rt_volumes_prune_done)(void *arg, json_t *deleted, long long reclaimed);
int rt_volumes_prune(rt_volumes *s, json_t *filters, rt_volumes_prune_done done, void *arg, berr *e);

/* A container (ref, its ID) starts using the volume: a volume with a
 * device is mounted for the first user.  Mounting twice for one ref is a
 * no-op. */
int rt_volume_mount(rt_volumes *s, rt_volume *v, const char *ref, berr *e);
/* The ref stops using it; the device is unmounted after the last user.
 * Returns false if ref had not mounted it (nothing done). */
bool rt_volume_unmount(rt_volumes *s, rt_volume *v, const char *ref);

/* A volume's options ask for a mount (type or device set). */
bool rt_volume_needs_mount(const rt_volume *v);

/* Emits a volume event with the driver and extra attributes (taken). */
void rt_volume_emit(rt_volumes *s, const rt_volume *v, const char *action, json_t *extra);

#endif
