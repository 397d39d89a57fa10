/* Error convention shared by every module.
 *
 * A function that can fail returns 0 or a negative errno-style code and, when
 * it fails, writes a human sentence into the berr its caller passed.  The API
 * layer maps the code to an HTTP status in one place (api/http.c), so modules
 * pick the errno that says what went wrong:
 *   -EINVAL  bad parameter (400)        -ENOENT  no such object (404)
 *   -EEXIST, -EBUSY  conflict (409)     -ENOSYS  not implemented (501)
 *   -EPERM   forbidden (403)            anything else: server error (500)
 */
#ifndef BERTH_LIB_ERR_H
#define BERTH_LIB_ERR_H

#include <errno.h>
#include <stddef.h>

#define BERR_MSG_MAX 512

typedef struct berr {
    int code;                 /* the negative errno last set, 0 if none */
    char msg[BERR_MSG_MAX];   /* NUL-terminated message, "" if none */
} berr;

/* Record code (negative errno) and a printf-style message in e (may be NULL).
 * Returns code so callers can write `return berr_set(e, -EINVAL, "...")`. */
int berr_set(berr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like berr_set, appending ": strerror(-code)" to the message. */
int berr_sys(berr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in e with "prefix: ", keeping the code.
 * Returns e->code. */
int berr_wrap(berr *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void berr_clear(berr *e) { if (e) { e->code = 0; e->msg[0] = 0; } }

#endif
