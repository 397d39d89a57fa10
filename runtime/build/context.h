/* The build context: the request's tar unpacked into a directory (safely,
 * with tarsafe), the Dockerfile read from it, and what
 * .dockerignore ignores removed, as moby's remotecontext does for archives.
 * Thread-safe; runs in uv_queue_work. */
#ifndef BERTH_RUNTIME_BUILD_CONTEXT_H
#define BERTH_RUNTIME_BUILD_CONTEXT_H

#include <stddef.h>

#include "lib/err.h"

/* dir must not exist yet.  dockerfile is the name inside the context
 * ("Dockerfile" when NULL or ""); the contents go to text and len. */
int bc_context_prepare(const char *tar_path, const char *dir, const char *dockerfile, char **text, size_t *len,
                       berr *e);

#endif
