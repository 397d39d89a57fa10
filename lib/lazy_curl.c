/* libcurl (libcurl-gnutls.so.4, Debian's GnuTLS flavour that
 * libcurl4-gnutls-dev links), loaded on the first call of any of these. */

/* curl.h turns curl_easy_setopt and curl_easy_getinfo into type-checking
 * macros under gcc, which would rewrite the definitions below. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>

#include "lib/lazylib.h"

/* curl_global_init is not thread-safe in 7.88 and must come before any other
 * call: it runs here, once, under the loader's lock, before the first real
 * function is handed out, as it used to at the registry client's open. */
static int curl_setup(void *handle)
{
    CURLcode (*init)(long) = dlsym(handle, "curl_global_init");
    return init && init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

lazylib lazy_curl_lib = LAZYLIB_INIT("libcurl-gnutls.so.4", curl_setup);

#define L lazy_curl_lib

/* Without the library: the constructors answer NULL, as libcurl does when
 * it cannot make a handle; the easy calls CURLE_FAILED_INIT; the multi calls
 * CURLM_BAD_HANDLE, libcurl's own answer to the NULL handle there is; the
 * frees of NULL return before loading anything. */
LAZY_FN(L, CURL *, curl_easy_init, (void), (), NULL)
LAZY_FREE_VOID(L, curl_easy_cleanup, CURL *, curl)
LAZY_FN(L, CURLM *, curl_multi_init, (void), (), NULL)
LAZY_FREE(L, CURLMcode, curl_multi_cleanup, CURLM *, multi_handle, CURLM_BAD_HANDLE, CURLM_BAD_HANDLE)
LAZY_FN(L, CURLMcode, curl_multi_add_handle, (CURLM * multi_handle, CURL *curl_handle), (multi_handle, curl_handle),
        CURLM_BAD_HANDLE)
LAZY_FN(L, CURLMcode, curl_multi_remove_handle, (CURLM * multi_handle, CURL *curl_handle),
        (multi_handle, curl_handle), CURLM_BAD_HANDLE)
LAZY_FN(L, CURLMcode, curl_multi_assign, (CURLM * multi_handle, curl_socket_t sockfd, void *sockp),
        (multi_handle, sockfd, sockp), CURLM_BAD_HANDLE)
LAZY_FN(L, CURLMcode, curl_multi_socket_action,
        (CURLM * multi_handle, curl_socket_t s, int ev_bitmask, int *running_handles),
        (multi_handle, s, ev_bitmask, running_handles), CURLM_BAD_HANDLE)
LAZY_FN(L, CURLMsg *, curl_multi_info_read, (CURLM * multi_handle, int *msgs_in_queue), (multi_handle, msgs_in_queue),
        NULL)
LAZY_FN(L, struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *data), (list, data), NULL)
LAZY_FREE_VOID(L, curl_slist_free_all, struct curl_slist *, list)
LAZY_FN(L, char *, curl_easy_escape, (CURL * handle, const char *string, int length), (handle, string, length), NULL)
LAZY_FREE_VOID(L, curl_free, void *, p)
LAZY_FN(L, const char *, curl_easy_strerror, (CURLcode code), (code),
        "Failed initialization (libcurl-gnutls.so.4 could not be loaded)")

/* The option setters take one argument after the option, of the type the
 * option's number range names (curl.h's CURLOPTTYPE_*, the same ranges for
 * CURLoption and CURLMoption): a long below 10000; an object pointer (data,
 * string, slist, callback data) from 10000; a function pointer from 20000; a
 * curl_off_t from 30000; a struct curl_blob * from 40000.  A "..." cannot be
 * handed on, so the wrapper reads that one argument as the type curl's
 * va_arg will read it, and passes it as such: reading it as any other type
 * is undefined, and wrong wherever two of these are passed differently.
 * Function pointers travel as void (*)(void): curl reads its own callback
 * type back, and all function pointers are passed alike. */
typedef void (*curl_anyfn)(void);

#define FORWARD_OPT(fn, handle, option, ap)                                                                           \
    ((option) < CURLOPTTYPE_OBJECTPOINT     ? fn(handle, option, va_arg(ap, long))                                    \
     : (option) < CURLOPTTYPE_FUNCTIONPOINT ? fn(handle, option, va_arg(ap, void *))                                  \
     : (option) < CURLOPTTYPE_OFF_T         ? fn(handle, option, va_arg(ap, curl_anyfn))                              \
     : (option) < CURLOPTTYPE_BLOB          ? fn(handle, option, va_arg(ap, curl_off_t))                              \
                                            : fn(handle, option, va_arg(ap, struct curl_blob *)))

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    static void *slot;
    CURLcode (*fn)(CURL *, CURLoption, ...) = lazylib_sym(&L, "curl_easy_setopt", &slot);
    if (!fn)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc = FORWARD_OPT(fn, curl, option, ap);
    va_end(ap);
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
    static void *slot;
    CURLMcode (*fn)(CURLM *, CURLMoption, ...) = lazylib_sym(&L, "curl_multi_setopt", &slot);
    if (!fn)
        return CURLM_BAD_HANDLE;
    va_list ap;
    va_start(ap, option);
    CURLMcode rc = FORWARD_OPT(fn, multi_handle, option, ap);
    va_end(ap);
    return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes; its type mask
 * (CURLINFO_STRING, LONG, DOUBLE, SLIST/PTR, SOCKET, OFF_T) only names what
 * that pointer points to.  So the one argument is always an object pointer,
 * passed on as void *. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    static void *slot;
    CURLcode (*fn)(CURL *, CURLINFO, ...) = lazylib_sym(&L, "curl_easy_getinfo", &slot);
    if (!fn)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return fn(curl, info, out);
}
