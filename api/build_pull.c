/* See build_pull.h.  A FROM pull is an ordinary pull (as POST
 * /images/create does it) whose progress goes into the build's stream, as
 * dockerd's classic builder relays its pull's. */
#include "api/build_pull.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/progress.h"
#include "lib/reference.h"
#include "node/daemon.h"
#include "node/registry_config.h"
#include "runtime/image/pulled.h"
#include "runtime/registry/pull.h"

typedef struct from_pull {
    build_puller *bp;
    reg_pull *pull;
    rt_build_pulled_fn done;
    void *arg;
    bool starting;             /* reg_pull_start has not returned yet */
    bool failed_early;         /* done() ran inside it */
    berr early;
} from_pull;

static void ev_progress(void *ctx, const char *id, const char *status, long long cur, long long total)
{
    from_pull *f = ctx;
    json_t *msg = NULL;
    api_progress_format(id, status, cur, total, &msg);
    f->bp->emit(f->bp->emit_ctx, msg);
}

static void ev_done(void *ctx, int status, const berr *e)
{
    from_pull *f = ctx;
    rt_images_release(f->bp->r->d->images);
    f->pull = NULL;
    if (f->starting) {
        f->failed_early = status < 0;
        if (status < 0)
            f->early = *e;
        return;
    }
    rt_build_pulled_fn done = f->done;
    void *arg = f->arg;
    free(f);
    done(arg, status, e);
}

static int start(void *ctx, const char *name, rt_build_pulled_fn done, void *arg, void **handle, berr *e)
{
    build_puller *bp = ctx;
    image_ref ref;
    int r = ref_parse(name, &ref, e);
    if (r < 0)
        return r;
    ref_default_tag(&ref);
    reg_name rn;
    if ((r = reg_name_split(ref.name, &rn, e)) < 0)
        return r;
    from_pull *f = xcalloc(1, sizeof *f);
    f->bp = bp;
    f->done = done;
    f->arg = arg;
    reg_options opts = registry_config_options(&bp->r->d->cfg);
    reg_pull_opts o = {.familiar = ref.name,
                       .tag = ref.digest[0] ? NULL : ref.tag,
                       .digest = ref.digest[0] ? ref.digest : NULL,
                       .tmp_dir = bp->r->d->tmp_dir,
                       .options = &opts,
                       .max_concurrent = (int)bp->r->d->cfg.max_downloads,
                       .max_attempts = (int)bp->r->d->cfg.max_attempts};
    reg_platform_host(&o.platform);
    /* the CLI sends every login it has; the one for this registry counts */
    reg_creds_from_config_header(api_header(bp->r, "X-Registry-Config"), rn.index, &o.creds);
    reg_pull_store st = rt_images_pull_store(bp->r->d->images);
    reg_pull_events ev = {.ctx = f, .progress = ev_progress, .done = ev_done};
    rt_images_hold(bp->r->d->images);
    f->starting = true;
    reg_pull *p = reg_pull_start(bp->r->d->registry, bp->r->d->loop, &o, &st, &ev);
    f->starting = false;
    if (!p || f->failed_early) {
        *e = f->early;
        if (!e->code)
            berr_set(e, -EIO, "pull of %s failed", name);
        free(f);
        return e->code;
    }
    f->pull = p;
    *handle = f;
    return 0;
}

static void cancel(void *ctx, void *handle)
{
    (void)ctx;
    from_pull *f = handle;
    reg_pull_cancel(f->pull);   /* no done() after this */
    rt_images_release(f->bp->r->d->images);
    free(f);
}

rt_build_puller build_puller_for(build_puller *bp)
{
    return (rt_build_puller){.start = start, .cancel = cancel, .ctx = bp};
}
