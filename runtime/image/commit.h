/* `docker commit`: a container's filesystem changes become a new image on
 * top of the container's image.
 *
 * The loop validates, builds the new config and pauses the container; a
 * worker lists the changes and writes them as a layer tar; the loop
 * unpauses as soon as the tar is written; a second worker stores the blob,
 * unpacks the layer and writes the image config; the loop registers the
 * image and tags it.  The image store counts the commit as a transfer
 * throughout, so garbage collection cannot remove a layer it relies on. */
#ifndef BERTH_RUNTIME_COMMIT_H
#define BERTH_RUNTIME_COMMIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/digest.h"
#include "runtime/container/container.h"

typedef struct rt_commit_opts {
    const char *ref;              /* normalized "name:tag" to tag the image with; NULL or "" for none */
    const char *comment;          /* the history entry's comment */
    const char *author;
    bool pause;                   /* freeze a running container while its changes are read */
    const json_t *config;         /* Config to start from instead of the container's; NULL for it */
    const char *const *changes;   /* Dockerfile instructions (--change), applied to the config */
    size_t n_changes;
    const json_t *container_config;   /* recorded instead of the container's (its Cmd is the history's created_by) */
    bool no_merge;                /* the builder's commit: config is the whole new Config, not merged with the container's */
} rt_commit_opts;

typedef void (*rt_commit_done)(void *arg, int status, const berr *e, const char *image_id);

/* Starts the commit.  Returns 0 and calls done() later on the loop, or a
 * negative errno (done() is not called): -EBUSY for a container that is
 * dead or being removed, -EINVAL for a bad change line. */
int rt_container_commit(rt_containers *m, rt_container *c, const rt_commit_opts *o, rt_commit_done done, void *arg,
                        berr *e);

/* ---- the pure parts (unit-tested) ---- */

/* The diff ID of a layer with no entries: such a commit adds no layer. */
#define RT_EMPTY_LAYER_DIFF_ID "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* dockerd's merge(): fields the new config (user) leaves empty take the
 * container's (User, ExposedPorts, Env, Labels, Cmd and Entrypoint,
 * Healthcheck, WorkingDir, Volumes, StopSignal); ports, variables, labels
 * and volumes it has are kept and the container's others added. */
void rt_commit_merge_config(json_t *user, const json_t *container);

typedef struct rt_commit_image {
    const json_t *parent;         /* the parent image's config JSON */
    const char *parent_id;
    json_t *config;               /* the new Config (taken) */
    const json_t *container_config;   /* the container's Config as it ran */
    const char *container_id;
    const char *author, *comment;
    const char *created;          /* RFC 3339 */
    const char *diff_id;          /* the new layer, NULL when the commit adds none */
} rt_commit_image;

/* The new image's config JSON (caller owns): the parent's architecture, os,
 * rootfs and history, plus the new layer and history entry ("created_by"
 * is the container's command, as dockerd records it). */
json_t *rt_commit_image_config(const rt_commit_image *ci);

/* The builder's steps that run no container (ENV, LABEL, COPY...): a new
 * image on top of parent_id ("" for scratch) with config as its Config,
 * container_config recorded (its Cmd is the history's created_by) and,
 * when layer_tar is not NULL, that tar (moved into the store) as a new
 * layer; author (MAINTAINER) may be NULL.  done() runs on the loop with
 * the new image's ID. */
void rt_images_build_step(rt_image_store *s, const char *parent_id, json_t *config, json_t *container_config,
                          const char *layer_tar, const char *author, rt_commit_done done, void *arg);

#endif
