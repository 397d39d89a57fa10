/* A build context from a git repository (POST /build?remote=<git URL>, as
 * docker-py sends `path="git://..."`): cloned with the host's git, shallow,
 * submodules included, then written as the tar a client would have sent.
 * The URL's fragment picks what is built, as dockerd reads it:
 * `#<branch or tag>[:<directory>]`.  Blocking; runs in uv_queue_work. */
#ifndef BERTH_RUNTIME_BUILD_GITCTX_H
#define BERTH_RUNTIME_BUILD_GITCTX_H

#include <stdbool.h>

#include "lib/err.h"

/* moby's urlutil.IsGitURL: git://, git@, github.com/, or an http(s) URL
 * whose path ends in .git. */
bool bc_is_git_url(const char *s);

/* Clones url into work_dir (which must exist) and writes the chosen
 * directory, without .git, as a tar at out_tar. */
int bc_git_context(const char *url, const char *work_dir, const char *out_tar, berr *e);

#endif
