/* One download per blob at a time, across every pull of the daemon: the
 * table hangs on the registry client (reg_http_shared). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/buf.h"
#include "runtime/registry/pull_internal.h"

static blob_share **share_head(reg_pull *p) { return (blob_share **)reg_http_shared(p->h, REG_SLOT_DOWNLOADS); }

static void share_unlink(reg_pull *p, blob_share *sh)
{
    for (blob_share **pp = share_head(p); *pp; pp = &(*pp)->next)
        if (*pp == sh) {
            *pp = sh->next;
            break;
        }
}

/* The owner's download is complete: each waiter gets a link to its file
 * and counts as downloaded.  The entry stays while the owner unpacks, so a
 * pull arriving meanwhile waits for the layer instead of fetching it. */
void share_handoff(pull_layer *owner)
{
    blob_share *sh = owner->share;
    if (!sh)
        return;
    sh->unpacking = true;
    for (size_t i = 0; i < sh->n_waiters; i++) {
        pull_layer *w = sh->waiters[i];
        reg_pull *wp = w->p;
        w->share = NULL;
        w->st = L_WAITING;
        snprintf(w->path, sizeof w->path, "%s/pull-%s-shared-XXXXXX", wp->tmp_dir, w->id);
        int fd = mkostemp(w->path, O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            unlink(w->path);
        }
        if (fd >= 0 && link(owner->path, w->path) == 0) {
            w->st = L_DOWNLOADED;
            pull_progress(wp, w->id, "Download complete", 0, 0);
        } else {
            w->path[0] = 0;
        }
        if (wp != owner->p)
            pull_kick(wp);
    }
    sh->n_waiters = 0;
}

/* The owner is done with the blob (unpacked with ok, or failed): layers
 * that joined while it unpacked find their layer there when their chain is
 * the owner's; the others (and all on failure) download it themselves. */
void share_release(pull_layer *owner, bool ok)
{
    blob_share *sh = owner->share;
    if (!sh)
        return;
    owner->share = NULL;
    share_unlink(owner->p, sh);
    for (size_t i = 0; i < sh->n_waiters; i++) {
        pull_layer *w = sh->waiters[i];
        reg_pull *wp = w->p;
        w->share = NULL;
        w->st = L_WAITING;
        if (ok && sh->unpacking && wp->store.layer_exists(wp->store.ctx, w->chain)) {
            w->st = L_EXISTS;
            pull_progress(wp, w->id, "Already exists", 0, 0);
        }
        pull_kick(wp); /* on the next turn: not from inside a callback of ours */
    }
    free(sh->waiters);
    free(sh);
}

/* Removes a waiting layer from the download it waits for. */
void share_leave(pull_layer *w)
{
    blob_share *sh = w->share;
    if (!sh)
        return;
    w->share = NULL;
    for (size_t i = 0; i < sh->n_waiters; i++)
        if (sh->waiters[i] == w) {
            sh->waiters[i] = sh->waiters[--sh->n_waiters];
            break;
        }
}

/* Joins a download of l's blob in flight; false when there is none (l
 * then owns the one it starts). */
bool share_join(pull_layer *l)
{
    for (blob_share *sh = *share_head(l->p); sh; sh = sh->next)
        if (strcmp(sh->digest, l->d.digest) == 0) {
            sh->waiters = xrealloc(sh->waiters, (sh->n_waiters + 1) * sizeof *sh->waiters);
            sh->waiters[sh->n_waiters++] = l;
            l->share = sh;
            l->st = L_SHARED;
            return true;
        }
    blob_share *sh = xcalloc(1, sizeof *sh);
    snprintf(sh->digest, sizeof sh->digest, "%s", l->d.digest);
    sh->owner = l;
    sh->next = *share_head(l->p);
    *share_head(l->p) = sh;
    l->share = sh;
    return false;
}

