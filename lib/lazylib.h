/* Shared libraries loaded on first use instead of at exec.  libcurl and
 * libarchive drag in some forty libraries between them (krb5, ldap, ssh2,
 * nghttp2, xml2, ICU with libstdc++, ...), over 5 MB of an idle daemon's
 * resident memory, yet only a pull, a push, a URL fetch or a tar needs them.
 * lazy_curl.c and lazy_archive.c define, under the real names and with the
 * headers' prototypes, every function berth calls; each finds the real one
 * here on its first call, so call sites stay as they are. */
#ifndef BERTH_LIB_LAZYLIB_H
#define BERTH_LIB_LAZYLIB_H

#include <pthread.h>

typedef struct lazylib {
    const char *soname;
    /* Run once, right after dlopen and before any other function of the
     * library is handed out (curl_global_init); nonzero: the library is
     * unusable. */
    int (*setup)(void *handle);
    pthread_mutex_t lock;
    int state;                /* 0 not tried yet, 1 loaded, -1 failed: read with atomics */
    void *handle;
} lazylib;

#define LAZYLIB_INIT(name, setup_fn) {.soname = (name), .setup = (setup_fn), .lock = PTHREAD_MUTEX_INITIALIZER}

/* The two libraries.  A test may point .soname elsewhere before the first
 * call, to see the calls fail as the library's would. */
extern lazylib lazy_curl_lib, lazy_archive_lib;

/* What a wrapper's slot holds once its symbol is known to be missing. */
extern char lazylib_missing;

/* The real function `name` of l, loading l first if no call has yet; NULL
 * when the library or the symbol is not there (logged once).  Thread-safe;
 * errno is kept. */
void *lazylib_resolve(lazylib *l, const char *name, void **slot);

/* The fast path: after the first call, one atomic load of the wrapper's own
 * slot.  Acquire pairs with the release in lazylib_resolve, so a thread that
 * sees the pointer also sees the library's initialisation. */
static inline void *lazylib_sym(lazylib *l, const char *name, void **slot)
{
    void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn != NULL, 1))
        return fn == &lazylib_missing ? NULL : fn;
    return lazylib_resolve(l, name, slot);
}

/* Defines `ret name params` calling the real name with args, or returning
 * fail when it cannot be had.  params must match the library's header
 * exactly: that header is included, so the compiler checks. */
#define LAZY_FN(lib, ret, name, params, args, fail)                                                                   \
    ret name params                                                                                                   \
    {                                                                                                                 \
        static void *slot;                                                                                            \
        ret (*fn) params = lazylib_sym(&(lib), #name, &slot);                                                         \
        return fn ? fn args : (fail);                                                                                 \
    }

#define LAZY_VOID(lib, name, params, args)                                                                            \
    void name params                                                                                                  \
    {                                                                                                                 \
        static void *slot;                                                                                            \
        void (*fn) params = lazylib_sym(&(lib), #name, &slot);                                                        \
        if (fn)                                                                                                       \
            fn args;                                                                                                  \
    }

/* Release functions that do nothing with NULL in the library too: done
 * here without loading it, so the cleanup path of something never made (a
 * shutdown, an early error) does not map the library for nothing. */
#define LAZY_FREE_VOID(lib, name, type, arg)                                                                          \
    void name(type arg)                                                                                               \
    {                                                                                                                 \
        static void *slot;                                                                                            \
        if (!arg)                                                                                                     \
            return;                                                                                                   \
        void (*fn)(type) = lazylib_sym(&(lib), #name, &slot);                                                         \
        if (fn)                                                                                                       \
            fn(arg);                                                                                                  \
    }

#define LAZY_FREE(lib, ret, name, type, arg, null_ret, fail)                                                          \
    ret name(type arg)                                                                                                \
    {                                                                                                                 \
        static void *slot;                                                                                            \
        if (!arg)                                                                                                     \
            return null_ret;                                                                                          \
        ret (*fn)(type) = lazylib_sym(&(lib), #name, &slot);                                                          \
        return fn ? fn(arg) : (fail);                                                                                 \
    }

#endif
