/* The build context: the request's body indexed as a tree (ctxtree.h;
 * compressed contexts decompressed first, a bare Dockerfile as a tree of
 * one file), the Dockerfile read from it, and what .dockerignore ignores
 * dropped, as moby's remotecontext does for archives.  Nothing is
 * unpacked.  Thread-safe; runs in uv_queue_work. */
#ifndef BERTH_RUNTIME_BUILD_CONTEXT_H
#define BERTH_RUNTIME_BUILD_CONTEXT_H

#include <stddef.h>

#include "lib/err.h"
#include "runtime/build/ctxtree.h"

/* dir is the build's own directory (a compressed context's tar goes
 * there).  dockerfile is the name inside the context ("Dockerfile" when
 * NULL or ""); the contents go to text and len, the tree to *tree. */
int bc_context_prepare(const char *body_path, const char *dir, const char *dockerfile, bc_tree **tree,
                       char **text, size_t *len, berr *e);

#endif
