/* Scope-bound release of resources, in the style of crun: a variable declared
 * with one of these attributes is released when it leaves scope, so error
 * paths can simply `return`.  Transfer ownership out by setting the variable
 * to NULL (or -1 for descriptors) before returning, e.g. with steal_ptr(). */
#ifndef BERTH_LIB_CLEANUP_H
#define BERTH_LIB_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void cleanup_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void cleanup_closedirp(DIR **d) { if (*d) closedir(*d); }

#define cleanup_free __attribute__((cleanup(cleanup_freep)))
#define cleanup_close __attribute__((cleanup(cleanup_closep)))
#define cleanup_fclose __attribute__((cleanup(cleanup_fclosep)))
#define cleanup_closedir __attribute__((cleanup(cleanup_closedirp)))

/* Return *pp and set it to NULL: hands ownership to the caller. */
#define steal_ptr(pp) ({ __typeof__(*(pp)) _v = *(pp); *(pp) = NULL; _v; })
/* Return *fdp and set it to -1. */
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

#endif
