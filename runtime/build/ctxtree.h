/* The build context as an index of its tar, not as files on disk.
 *
 * Extracting a context is one file creation per context file (on this
 * machine's ext4 0.05-0.3 ms each), and a build whose steps all come from
 * the cache reads nothing but names, modes, sizes and contents.  So the
 * request's tar is mapped read-only and its headers indexed: COPY and ADD
 * hash and copy straight from the mapping, and nothing is ever unpacked.
 *
 * The tree holds what extraction would have left: a later entry replaces
 * an earlier one of the same name, hard links share their target's data,
 * parents missing from the archive are directories 0755, and names are
 * cleaned (a leading '/' dropped; a name that leaves the root refuses the
 * whole archive).  Nothing follows symbolic links: a path through one is
 * not found.  Read-only once built, so any thread may use it. */
#ifndef BERTH_RUNTIME_BUILD_CTXTREE_H
#define BERTH_RUNTIME_BUILD_CTXTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "lib/err.h"

typedef struct bc_tree bc_tree;
typedef struct bc_node bc_node;

/* Indexes an uncompressed tar file (which may end without the last
 * entry's padding or the end-of-archive blocks, as the CLI's `-f -`
 * context does).  An empty file is an empty tree. */
int bc_tree_open(const char *tar_path, bc_tree **out, berr *e);
/* A tree of one regular file, name, holding the whole file at path (the
 * body of `docker build - < Dockerfile`). */
int bc_tree_open_single(const char *path, const char *name, bc_tree **out, berr *e);
void bc_tree_free(bc_tree *t);   /* NULL is fine */

/* The node at rel ("" or "." is the root), or NULL. */
const bc_node *bc_tree_lookup(const bc_tree *t, const char *rel);
/* st_mode (type and permissions), st_uid, st_gid, st_size and st_mtime
 * from the archive; the rest zero. */
void bc_node_stat(const bc_node *n, struct stat *st);
/* A symbolic link's target ("" for other nodes). */
const char *bc_node_link(const bc_node *n);
/* A regular file's contents (inside the mapping; valid while t lives). */
const void *bc_node_data(const bc_tree *t, const bc_node *n, size_t *len);
/* A directory's entries, sorted as strcmp sorts (the names are the
 * tree's: free only the array). */
size_t bc_node_list(const bc_node *n, const char ***names);

/* Drops rel and everything below it (what .dockerignore ignores).  Only
 * while the tree is being prepared, before it is shared. */
void bc_tree_remove(bc_tree *t, const char *rel);
/* Whether a directory node has any entry left. */
bool bc_node_empty(const bc_node *n);

#endif
