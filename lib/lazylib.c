#include "lib/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "lib/log.h"

char lazylib_missing;

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Once per library, under its lock: whoever comes first loads it (and runs
 * its setup) while the others wait, and the outcome, loaded or not, stays.
 * Not retried: a library missing once is reported once, not per call. */
static void *lazylib_open(lazylib *l)
{
    int st = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    if (st == 0) {
        pthread_mutex_lock(&l->lock);
        if (l->state == 0) {
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            /* RTLD_LOCAL: its symbols stay out of the global scope, so they
             * can never be confused with the wrappers of the same names. */
            void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
            if (!h) {
                log_error("cannot load %s: %s; what needs it will fail", l->soname, dlerror());
            } else if (l->setup && l->setup(h) != 0) {
                log_error("%s failed to initialize; what needs it will fail", l->soname);
                h = NULL;
            } else {
                log_debug("loaded %s on first use in %.2f ms", l->soname, ms_since(&t0));
            }
            l->handle = h;
            __atomic_store_n(&l->state, h ? 1 : -1, __ATOMIC_RELEASE);
        }
        st = l->state;
        pthread_mutex_unlock(&l->lock);
    }
    return st > 0 ? l->handle : NULL;
}

void *lazylib_resolve(lazylib *l, const char *name, void **slot)
{
    int saved = errno;
    void *h = lazylib_open(l);
    void *fn = h ? dlsym(h, name) : NULL;
    /* Racing threads find the same pointer; the one that stores it first
     * logs a missing symbol, so that is said once too. */
    void *expected = NULL;
    if (__atomic_compare_exchange_n(slot, &expected, fn ? fn : &lazylib_missing, false, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED) &&
        h && !fn)
        log_error("%s has no %s; calls to it fail", l->soname, name);
    errno = saved;
    return fn;
}
