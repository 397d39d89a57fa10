/* The build context (see context.h). */
#include "runtime/build/context.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/build/dockerignore.h"
#include "runtime/layer/tarsafe.h"

/* Removes what the patterns ignore below dir/rel. */
static int prune(const char *root, const char *rel, const di_patterns *p, berr *e)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    cleanup_closedir DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cleanup_free char *crel = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        char cpath[PATH_MAX];
        snprintf(cpath, sizeof cpath, "%s/%s", root, crel);
        struct stat st;
        if (lstat(cpath, &st) < 0)
            continue;
        if (di_ignored(p, crel)) {
            /* with exclusions a child may be re-included: look inside first */
            if (S_ISDIR(st.st_mode) && p->has_exclusions) {
                int r = prune(root, crel, p, e);
                if (r < 0)
                    return r;
                if (rmdir(cpath) == 0 || errno == ENOTEMPTY || errno == EEXIST)
                    continue;
                return berr_sys(e, -errno, "remove %s", crel);
            }
            int r = S_ISDIR(st.st_mode) ? fs_rm_rf(cpath, e) : (unlink(cpath) < 0 ? -errno : 0);
            if (r < 0)
                return berr_sys(e, r, "remove %s", crel);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int r = prune(root, crel, p, e);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* Whether the body is an archive (tar, or compressed) or, as `docker build
 * - < Dockerfile` sends it, a bare Dockerfile. */
static bool looks_like_archive(const char *path)
{
    unsigned char h[512];
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;   /* let the extraction report it */
    ssize_t n = read(fd, h, sizeof h);
    if (n < 6)
        return n <= 0;
    if ((h[0] == 0x1f && h[1] == 0x8b) || !memcmp(h, "BZh", 3) || !memcmp(h, "\xfd" "7zXZ", 6) ||
        (h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd))
        return true;
    return n == 512 && !memcmp(h + 257, "ustar", 5);
}

static bool is_plain_tar(const char *path)
{
    unsigned char h[512];
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd >= 0 && read(fd, h, sizeof h) == 512 && !memcmp(h + 257, "ustar", 5);
}

int bc_context_prepare(const char *tar_path, const char *dir, const char *dockerfile, char **text, size_t *len,
                       berr *e)
{
    if (mkdir(dir, 0700) < 0)
        return berr_sys(e, -errno, "create %s", dir);
    struct stat st;
    int r = 0;
    if (stat(tar_path, &st) == 0 && st.st_size > 0 && !looks_like_archive(tar_path)) {
        char dst[PATH_MAX];
        snprintf(dst, sizeof dst, "%s/Dockerfile", dir);
        r = fs_copy_file(tar_path, dst, 0600, e);
        if (r < 0)
            return r;
        dockerfile = NULL;
    } else if (stat(tar_path, &st) == 0 && st.st_size > 0) {
        /* The CLI's `-f -` context ends without the last entry's padding
         * and the end-of-archive blocks (Go's tar reader stops at EOF);
         * libarchive wants them, and zeros are what they hold. */
        if (st.st_size % 512 && is_plain_tar(tar_path) && truncate(tar_path, (st.st_size + 511) / 512 * 512 + 1024) < 0)
            return berr_sys(e, -errno, "read the build context");
        tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_NONE, .any_symlink_target = true};
        r = tar_extract(tar_path, dir, &o, NULL, e);
        if (r < 0)
            return berr_wrap(e, "the build context is not a valid tar archive");
    }
    cleanup_free char *name = di_clean_path(dockerfile && *dockerfile ? dockerfile : "Dockerfile");
    const char *rel = name;
    while (*rel == '/')
        rel++;
    if (!strncmp(rel, "../", 3) || !strcmp(rel, ".."))
        return berr_set(e, -EINVAL, "Cannot locate specified Dockerfile: %s", dockerfile);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
        /* dockerd also tries the lower-case name for the default */
        if (!dockerfile || !*dockerfile || !strcmp(dockerfile, "Dockerfile")) {
            snprintf(path, sizeof path, "%s/dockerfile", dir);
            if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
                goto found;
        }
        return berr_set(e, -EINVAL, "Cannot locate specified Dockerfile: %s",
                        dockerfile && *dockerfile ? dockerfile : "Dockerfile");
    }
found:
    r = fs_read_file(path, text, len, e);
    if (r < 0)
        return r;
    char ipath[PATH_MAX];
    snprintf(ipath, sizeof ipath, "%s/.dockerignore", dir);
    char *itext = NULL;
    size_t ilen = 0;
    if (lstat(ipath, &st) == 0 && S_ISREG(st.st_mode) && fs_read_file(ipath, &itext, &ilen, NULL) == 0) {
        di_patterns p;
        di_parse(itext, ilen, &p);
        free(itext);
        /* read already: an ignored Dockerfile or .dockerignore goes too, as moby removes them */
        r = prune(dir, "", &p, e);
        di_free(&p);
        if (r < 0) {
            free(*text);
            *text = NULL;
        }
    }
    return r;
}
