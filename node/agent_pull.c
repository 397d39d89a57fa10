/* Pulling a task's image on the node that runs it, as swarmkit's
 * container adapter does in its Prepare step; unlike dockerd, an image
 * already here by that reference is used as it is (dockerd pulls a tag
 * again, which only its DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 skips): the
 * CLI pins a service's image by digest, and a digest cannot move. */
#include "node/agent_pull.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/reference.h"
#include "node/agent.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/image/pulled.h"
#include "runtime/registry/pull.h"

struct agent_pull {
    struct agent_pull *next;
    agent *a;
    char image[REF_NAME_MAX + REF_TAG_MAX + DIGEST_BUF + 2];  /* as the task names it */
    reg_pull *pull;       /* NULL once it ended */
    bool failed;
    berr err;
};

static struct agent_pull *find(agent *a, const char *image)
{
    for (struct agent_pull *p = a->pulls; p; p = p->next)
        if (!strcmp(p->image, image))
            return p;
    return NULL;
}

static void unlink_pull(agent *a, struct agent_pull *p)
{
    for (struct agent_pull **pp = &a->pulls; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void ev_progress(void *ctx, const char *id, const char *status, long long cur, long long total)
{
    (void)ctx, (void)id, (void)status, (void)cur, (void)total;
}

static void ev_done(void *ctx, int status, const berr *e)
{
    struct agent_pull *p = ctx;
    agent *a = p->a;
    p->pull = NULL;
    rt_images_release(a->d->images);
    if (status < 0) {
        p->failed = true;
        p->err = *e;
        log_warn("agent: pulling %s for a task: %s", p->image, e->msg);
    } else {
        unlink_pull(a, p);
        free(p);
    }
    agent_rescan(a);
}

static void start_pull(agent *a, const char *image, const char *auth)
{
    struct agent_pull *p = xcalloc(1, sizeof *p);
    p->a = a;
    snprintf(p->image, sizeof p->image, "%s", image);
    p->next = a->pulls;
    a->pulls = p;
    image_ref ref;
    if (ref_parse(image, &ref, &p->err) < 0) {
        p->failed = true;
        return;
    }
    ref_default_tag(&ref);
    reg_options opts = registry_config_options(&a->d->cfg);
    reg_pull_opts o = {.familiar = ref.name,
                       .tag = ref.digest[0] ? NULL : ref.tag,
                       .digest = ref.digest[0] ? ref.digest : NULL,
                       .tmp_dir = a->d->tmp_dir,
                       .options = &opts,
                       .max_concurrent = (int)a->d->cfg.max_downloads,
                       .max_attempts = (int)a->d->cfg.max_attempts};
    reg_platform_host(&o.platform);
    reg_creds_from_header(auth, &o.creds);
    reg_pull_store st = rt_images_pull_store(a->d->images);
    reg_pull_events ev = {.ctx = p, .progress = ev_progress, .done = ev_done};
    rt_images_hold(a->d->images);
    /* done() may run before start returns (a bad name): p is failed then. */
    reg_pull *rp = reg_pull_start(a->d->registry, a->d->loop, &o, &st, &ev);
    if (rp && !p->failed)
        p->pull = rp;
}

agent_image agent_image_for_task(agent *a, json_t *task, char *err, size_t len)
{
    json_t *cs = json_object_get(json_object_get(task, "Spec"), "ContainerSpec");
    const char *image = json_str(cs, "Image");
    rt_image *img = NULL;
    if (rt_image_resolve(a->d->images, image, &img, NULL) == 0) {
        rt_image_free(img);
        return AGENT_IMAGE_HERE;
    }
    struct agent_pull *p = find(a, image);
    if (!p) {
        start_pull(a, image, json_str(json_object_get(cs, "PullOptions"), "RegistryAuth"));
        p = find(a, image);
    }
    if (!p->failed)
        return AGENT_IMAGE_PULLING;
    snprintf(err, len, "%s", p->err.msg);
    return AGENT_IMAGE_FAILED;
}

void agent_pulls_sweep(agent *a)
{
    for (struct agent_pull **pp = &a->pulls; *pp;) {
        struct agent_pull *p = *pp;
        if (p->failed) {
            *pp = p->next;
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

void agent_pulls_stop(agent *a)
{
    while (a->pulls) {
        struct agent_pull *p = a->pulls;
        a->pulls = p->next;
        if (p->pull) {
            reg_pull_cancel(p->pull);
            rt_images_release(a->d->images);
        }
        free(p);
    }
}
