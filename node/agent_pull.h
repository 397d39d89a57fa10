/* The agent's pulls: before a task's container is made its image must be
 * here; when it is not, the agent pulls it (by the digest the service
 * pinned, with the service's --with-registry-auth credentials) and the
 * task waits in "preparing" (node/agent_pull.c).  One pull per image, for
 * every task that waits on it. */
#ifndef BERTH_NODE_AGENT_PULL_H
#define BERTH_NODE_AGENT_PULL_H

#include <jansson.h>
#include <stddef.h>

struct agent;

typedef enum agent_image {
    AGENT_IMAGE_HERE,     /* create the container */
    AGENT_IMAGE_PULLING,  /* wait: the agent rescans when the pull ends */
    AGENT_IMAGE_FAILED,   /* reject the task with err */
} agent_image;

/* Where task's image stands, starting its pull when it is missing and no
 * pull of it runs.  err (len bytes) gets the registry's error for FAILED. */
agent_image agent_image_for_task(struct agent *a, json_t *task, char *err, size_t len);

/* After a scan: failed pulls have been seen by the tasks waiting on them;
 * forget them, so a new task tries again. */
void agent_pulls_sweep(struct agent *a);

/* Stops every pull (daemon stop, swarm leave). */
void agent_pulls_stop(struct agent *a);

#endif
