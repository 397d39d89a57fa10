/* COPY and ADD as files: the sources resolved in a root (the build context
 * index or an image's layers), a content hash of what would be copied (names,
 * modes, owners, sizes, contents; not mtimes) for the cache, and the new
 * layer as a tar.  Thread-safe; runs in uv_queue_work. */
#ifndef BERTH_RUNTIME_BUILD_COPY_H
#define BERTH_RUNTIME_BUILD_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/digest.h"
#include "lib/err.h"
#include "runtime/build/ctxtree.h"
#include "runtime/build/filehash.h"

/* A directory tree: the union of layer directories, top first (one for a
 * vfs layer), whose whiteouts (0:0 character devices) hide what is below
 * them; or, with tree set, the build context's index (no dirs). */
typedef struct bc_view {
    char **dirs;
    size_t n;
    const bc_tree *tree;
} bc_view;

typedef struct bc_copy {
    bc_view src;             /* where the sources are */
    bool src_is_context;     /* paths may not leave it; errors say "build context" */
    bc_view dst;             /* the current image, to see whether dest is a directory */
    char **sources;          /* as written (expanded), relative to src */
    size_t n_sources;
    char *dest;              /* absolute, as written (a trailing '/' kept) */
    long uid, gid;           /* owner of what is copied; -1: keep (0 from the context) */
    bool add;                /* unpack local archives */
    bc_view *fetched;        /* NULL, or per source: a URL's download's directory (n 0 for the others);
                              * such a source is its file's name there, never unpacked */
    bc_filehash *hashes;     /* the build's context file digests (with src_is_context), or NULL */
    /* results */
    char hash[DIGEST_BUF];   /* content hash of the sources and their placement */
    char kind[8];            /* "file", "dir" or "multi": the nop comment's prefix */
} bc_copy;

/* Resolves, hashes, and with tar_path writes the layer there. */
int bc_copy_run(bc_copy *c, const char *tar_path, berr *e);

/* WORKDIR: when path (absolute) is not a directory in dst, writes a layer
 * holding it (and its missing parents, root-owned 0755) at tar_path and
 * sets *made; else writes nothing. */
int bc_workdir_layer(const bc_view *dst, const char *path, const char *tar_path, bool *made, berr *e);

/* lstat of rel in a view of layers (topmost layer that has it); real gets
 * its path. */
int bc_view_lstat(const bc_view *v, const char *rel, char real[4096]);

#endif
