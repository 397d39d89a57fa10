/* Exec instances: processes started inside a running container (docker
 * exec, and health checks).  The process joins the container's namespaces
 * and cgroup, with the container's capabilities and seccomp profile
 * (everything, with Privileged). */
#ifndef BERTH_RUNTIME_EXEC_H
#define BERTH_RUNTIME_EXEC_H

#include <jansson.h>
#include <stdbool.h>

#include "runtime/container/container.h"
#include "runtime/container/io.h"

typedef struct rt_exec {
    char id[DIGEST_HEX_LEN + 1];
    char container_id[DIGEST_HEX_LEN + 1];
    json_t *config;             /* {Cmd, Env, WorkingDir, User, Privileged, Tty, AttachStdin, ...}, owned */
    bool running;
    bool started;
    bool exited;
    int exit_code;
    int pid;
    rt_process proc;
    uv_poll_t *watch;
    struct rt_io *io;
    bool internal;              /* a health check: not listed, no events */
    /* Told once the process has exited and its output is drained. */
    void (*on_exit)(void *ctx, struct rt_exec *x);
    void *exit_ctx;
    struct rt_exec *next;
} rt_exec;

/* POST /containers/{id}/exec.  -EBUSY when the container is not running
 * ("container <id> is not running"), or paused. */
int rt_exec_create(rt_containers *m, rt_container *c, json_t *body, rt_exec **out, berr *e);
rt_exec *rt_exec_find(rt_containers *m, const char *id);
/* Starts it; sink (may be NULL) receives the output from the first byte. */
int rt_exec_start(rt_containers *m, rt_exec *x, rt_io_sink *sink, berr *e);
/* Drops one finished instance. */
void rt_exec_forget(rt_containers *m, rt_exec *x);
/* Drops the instances of a removed container. */
void rt_exec_forget_container(rt_containers *m, const char *container_id);

#endif
