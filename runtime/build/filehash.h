/* The build context's file contents hashed once per build: the first COPY
 * or ADD that reads a context file records its digest by path, every later
 * one (another stage's COPY of the same files, the second pass that writes
 * the layer after a cache miss) takes it from here instead of reading the
 * file again.  The context directory is the build's own and does not
 * change while it runs.  Thread-safe (COPY runs in a worker). */
#ifndef BERTH_RUNTIME_BUILD_FILEHASH_H
#define BERTH_RUNTIME_BUILD_FILEHASH_H

#include <stdbool.h>

#include "lib/digest.h"

typedef struct bc_filehash bc_filehash;

bc_filehash *bc_filehash_new(void);
void bc_filehash_free(bc_filehash *h);   /* NULL is fine */

/* The digest recorded for path: true and out filled, or false. */
bool bc_filehash_get(bc_filehash *h, const char *path, char out[DIGEST_BUF]);
/* Records path's digest (a second record of a path keeps the first). */
void bc_filehash_put(bc_filehash *h, const char *path, const char *digest);

#endif
