/* Containers: the objects behind /containers/..., their state machine and
 * the manager that owns them.
 *
 * A container is kept in memory (the manager's list) and persisted in the
 * local store as the JSON documents Docker's inspect is made of (Config,
 * HostConfig, State), rewritten on every state change so that a daemon
 * restart shows the truth.  Everything here runs on the loop thread. */
#ifndef BERTH_RUNTIME_CONTAINER_H
#define BERTH_RUNTIME_CONTAINER_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/digest.h"
#include "lib/err.h"
#include "lib/timefmt.h"
#include "runtime/linux/cgroup.h"
#include "lib/event_sink.h"
#include "runtime/layer/graphdriver.h"
#include "runtime/image/store.h"
#include "runtime/linux/spawn.h"

typedef enum rt_state {
    RT_STATE_CREATED,
    RT_STATE_RUNNING,
    RT_STATE_PAUSED,
    RT_STATE_RESTARTING,
    RT_STATE_REMOVING,
    RT_STATE_EXITED,
    RT_STATE_DEAD,
} rt_state;

const char *rt_state_name(rt_state s);   /* "created", "running", ... */

struct rt_io;        /* runtime/container/io.c: pipes, pty, log, attachments */
struct rt_waiter;    /* a pending /wait */
struct rt_health;    /* runtime/container/health.c */
struct rt_exec;      /* runtime/container/exec.c */
struct rt_monitor;   /* runtime/container/monitor.c: live restore */

struct rt_containers;

typedef struct rt_container {
    struct rt_containers *manager;
    char id[DIGEST_HEX_LEN + 1];
    char name[256];              /* without the leading '/' */
    char created[TIME_RFC3339_BUF];
    char image_id[DIGEST_BUF];
    json_t *config;              /* Config (image defaults merged in), owned */
    json_t *host_config;         /* HostConfig, owned */

    /* State (persisted). */
    rt_state state;
    int pid;
    int exit_code;
    char error[512];
    char started_at[TIME_RFC3339_BUF];
    char finished_at[TIME_RFC3339_BUF];
    bool oom_killed;
    int restart_count;
    bool has_been_started;
    bool manual_stop;            /* stopped by the user: restart policies hold off */
    char health_status[16];      /* "" (none), "starting", "healthy", "unhealthy" */
    int health_failing_streak;
    json_t *health_log;          /* array of the last results, owned */
    json_t *networks;            /* NetworkSettings.Networks: name -> EndpointSettings, owned */
    json_t *mount_points;        /* resolved mounts (runtime/container/volumes.c), owned; NULL: from HostConfig */

    /* Runtime (not persisted). */
    rt_process proc;             /* pid/pidfd of PID 1 while running */
    uv_poll_t *exit_watch;
    uint64_t oom_before;         /* oom kill count when started */
    struct rt_io *io;
    struct rt_io_sink *pending_sinks;  /* attached before start: joined to io when it starts */
    struct rt_waiter *waiters;
    /* Waiters being called (a depth, since one may fire others): a waiter
     * may remove the container, whose memory must outlive the rest of the
     * round; finish_remove leaves it doomed and the round frees it. */
    int firing;
    bool doomed;
    struct rt_health *health;
    uv_timer_t *restart_timer;
    uv_timer_t *stop_timer;      /* SIGKILL after the stop timeout */
    uint64_t restart_delay_ms;   /* back-off for the next restart */
    uint64_t started_mono_ms;    /* loop time at the last start */
    char rootfs[4096];           /* mounted root while running */
    bool removing;               /* rm in progress: no restart */
    struct net_sandbox *sandbox; /* its network while it runs (bridge and user networks) */
    struct rt_monitor *monitor;  /* live restore: the connection to its monitor, NULL without */
} rt_container;


/* The addresses a swarm gave plain containers on its attachable overlay
 * networks (node/attachments.c gets them before a start or a connect);
 * ctx NULL: no swarm here. */
typedef struct rt_attachments {
    void *ctx;
    /* The address ("10.0.1.5") of container_id on network net_id; false
     * when the swarm holds none for it. */
    bool (*address)(void *ctx, const char *container_id, const char *net_id, char out[16]);
    /* Whether the node is a swarm's worker now: then a network it does not
     * know may be one of the swarm's it has not been told of yet (a
     * manager knows them all). */
    bool (*on_worker)(void *ctx);
} rt_attachments;

typedef struct rt_containers {
    uv_loop_t *loop;
    sqlite3 *db;
    const rt_graphdriver *driver;
    rt_image_store *images;
    rt_cgroups cgroups;
    char data_root[4096];
    char containers_dir[4096];   /* <data-root>/containers */
    char init_path[4096];        /* berth-init binary for --init, "" if none */
    rt_event_sink events;
    struct net_manager *net;     /* local networks; NULL: only none/host/container: modes */
    struct rt_volumes *volumes;  /* the volume store (borrowed); NULL: no volumes */
    rt_attachments attachments;  /* swarm overlays for plain containers */
    rt_container **list;
    size_t n;
    struct rt_exec *execs;       /* exec instances, all containers */
    struct {                     /* the default seccomp profile, compiled per capability set */
        uint64_t caps;
        struct sock_fprog *prog;
    } seccomp_cache[8];
    size_t seccomp_cached;
    json_t *host_defaults;       /* the daemon's HostConfig defaults (defaults.c), owned */
    const rt_idmap *remap;       /* --userns-remap (userns.c), borrowed; NULL: none */
    int remap_userns_fd;         /* a user namespace with that mapping, for idmapped roots; owned */
    bool shutting_down;          /* the daemon is stopping: no restarts */
    bool live_restore;           /* live-restore: starts go under a monitor, stops leave them running */
    char monitor_dir[4096];      /* <exec-root>/monitors, "" if not set */
    size_t stopping;             /* containers shutdown still waits for */
    void (*shutdown_done)(void *);
    void *shutdown_arg;
} rt_containers;

/* init_path: the --init binary, "" to look beside berthd and in PATH. */
int rt_containers_open(rt_containers *m, uv_loop_t *loop, sqlite3 *db, const rt_graphdriver *driver,
                       rt_image_store *images, const char *data_root, const char *init_path, berr *e);
/* Stops every running container (SIGTERM, then SIGKILL after its stop
 * timeout) and calls done when all have exited; with live-restore those
 * under a monitor are left running instead. */
void rt_containers_shutdown(rt_containers *m, void (*done)(void *), void *arg);
void rt_containers_close(rt_containers *m);
/* Live restore (runtime/container/monitor.c): where monitors' sockets go
 * and whether new starts use them.  Before rt_containers_open, which
 * restores what runs; again at each reload (exec_root NULL: unchanged). */
void rt_containers_set_live_restore(rt_containers *m, const char *exec_root, bool enabled);

/* The daemon's defaults for new containers, as a HostConfig fragment
 * (LogConfig, ShmSize, Ulimits, Dns*, IpcMode, CgroupnsMode, Init,
 * SecurityOpt); takes the reference.  Applied at each create. */
void rt_containers_set_defaults(rt_containers *m, json_t *defaults);
void rt_container_apply_defaults(const rt_containers *m, json_t *hc);

/* Docker's default seccomp profile compiled for caps: compiling takes
 * tens of milliseconds, so the manager keeps the programs.  The result is
 * borrowed (owned by the manager). */
int rt_containers_default_seccomp(rt_containers *m, uint64_t caps, const struct sock_fprog **prog, berr *e);

/* A name as Docker makes them ("focused_turing"; with_digit appends 0-9). */
void rt_name_random(char *out, size_t n, bool with_digit);

/* Lookup by full ID, unique ID prefix or name (with or without '/'), as
 * dockerd resolves them.  -ENOENT "No such container: x". */
int rt_container_find(rt_containers *m, const char *ref, rt_container **out, berr *e);

/* Persists c's documents and state. */
int rt_container_save(rt_containers *m, rt_container *c, berr *e);

/* The container's directory <data-root>/containers/<id> (PATH_MAX). */
void rt_container_dir(rt_containers *m, const rt_container *c, char *out);

void rt_container_emit(rt_containers *m, rt_container *c, const char *action, json_t *extra);


/* ---- operations (runtime/container/create.c, container_start.c, ...) ---- */

/* POST /containers/create: body is the request (Config fields at the top,
 * HostConfig, NetworkingConfig); name may be NULL.  Validates as dockerd
 * does, merges the image's config, makes the writable layer.  *out stays
 * owned by the manager. */
int rt_container_create(rt_containers *m, const char *name, json_t *body, rt_container **out, json_t *warnings,
                        berr *e);

/* Starts a created or exited container.  -EBUSY... as dockerd: starting a
 * running container is a no-op (304 is the API's business). */
int rt_container_start(rt_containers *m, rt_container *c, berr *e);
/* What a start that failed with r (and e) leaves: the exit code and error
 * inspect shows, and an --rm container removed.  For a start refused
 * before rt_container_start (a swarm attachment that failed). */
void rt_container_start_failed(rt_containers *m, rt_container *c, int r, const berr *e);

/* Completion of the asynchronous operations below: status 0 or -errno. */
typedef void (*rt_done_fn)(void *arg, int status, const berr *e);

/* Sends the stop signal, then SIGKILL after timeout seconds (-1: the
 * container's StopTimeout, default 10); done() once it has exited. */
int rt_container_stop(rt_containers *m, rt_container *c, int timeout, rt_done_fn done, void *arg, berr *e);
int rt_container_kill(rt_containers *m, rt_container *c, int sig, berr *e);
/* Sends sig; for SIGKILL done() only once the container has exited, as
 * dockerd answers `docker kill`. */
int rt_container_kill_wait(rt_containers *m, rt_container *c, int sig, rt_done_fn done, void *arg, berr *e);
int rt_container_restart(rt_containers *m, rt_container *c, int timeout, rt_done_fn done, void *arg, berr *e);
/* The two with sig (> 0) in place of the container's StopSignal (docker
 * stop/restart --signal); 0 keeps it. */
int rt_container_stop_with(rt_containers *m, rt_container *c, int timeout, int sig, rt_done_fn done, void *arg,
                           berr *e);
int rt_container_restart_with(rt_containers *m, rt_container *c, int timeout, int sig, rt_done_fn done, void *arg,
                              berr *e);
int rt_container_pause(rt_containers *m, rt_container *c, bool pause, berr *e);
/* Removes (with force: kills a running one first); done() when gone. */
int rt_container_remove(rt_containers *m, rt_container *c, bool force, bool volumes, rt_done_fn done, void *arg,
                        berr *e);
int rt_container_rename(rt_containers *m, rt_container *c, const char *name, berr *e);

typedef enum rt_wait_cond { RT_WAIT_NOT_RUNNING, RT_WAIT_NEXT_EXIT, RT_WAIT_REMOVED } rt_wait_cond;
/* Calls done(arg, exit code, error text or NULL) when cond holds; at once
 * if it already does.  Returns a handle to cancel (client gone). */
typedef void (*rt_wait_fn)(void *arg, int exit_code, const char *error);
struct rt_waiter *rt_container_wait(rt_containers *m, rt_container *c, rt_wait_cond cond, rt_wait_fn done, void *arg);
/* Cancels a waiter; false if it was already being fired (its callback will
 * still run). */
bool rt_container_wait_cancel(rt_containers *m, struct rt_waiter *w);

bool rt_container_running(const rt_container *c);  /* running, paused or restarting with a process */
/* Whether c is a swarm task's container (the agent labels them com.docker.swarm.task.id). */
bool rt_container_is_task(const rt_container *c);

#endif
