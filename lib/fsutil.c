#include "lib/fsutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

int fs_mkdir_p(const char *path, mode_t mode, berr *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return berr_set(e, -ENAMETOOLONG, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return berr_sys(e, -errno, "mkdir %s", tmp);
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return berr_sys(e, -errno, "mkdir %s", tmp);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (r < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int fs_rm_rf(const char *path, berr *e)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : berr_sys(e, -errno, "stat %s", path);
    int r = nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (r < 0)
        return berr_sys(e, -errno, "remove %s", path);
    if (r > 0 || r < -1)
        return berr_sys(e, r, "remove %s", path);
    return 0;
}

int fs_read_file(const char *path, char **data, size_t *len, berr *e)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    cleanup_buf buf b = BUF_INIT;
    char block[8192];
    for (;;) {
        ssize_t n = read(fd, block, sizeof block);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(e, -errno, "read %s", path);
        }
        if (n == 0)
            break;
        buf_append(&b, block, (size_t)n);
    }
    if (len)
        *len = b.len;
    *data = buf_steal(&b);
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable, berr *e)
{
    cleanup_free char *tmp = xasprintf("%s.tmp-%d", path, getpid());
    cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return berr_sys(e, -errno, "create %s", tmp);
    int r = write_all(fd, data, len);
    if (r == 0 && durable && fsync(fd) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return berr_sys(e, r, "write %s", tmp);
    }
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
        return berr_sys(e, r, "rename %s", path);
    }
    return 0;
}

int fs_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, berr *e)
{
    return write_replace(path, data, len, mode, true, e);
}

int fs_write_file_replace(const char *path, const void *data, size_t len, mode_t mode, berr *e)
{
    return write_replace(path, data, len, mode, false, e);
}

int fs_copy_file(const char *src, const char *dst, mode_t mode, berr *e)
{
    cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return berr_sys(e, -errno, "open %s", src);
    cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0)
        return berr_sys(e, -errno, "create %s", dst);
    char block[1 << 16];
    for (;;) {
        ssize_t n = read(in, block, sizeof block);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return berr_sys(e, -errno, "read %s", src);
        }
        if (n == 0)
            break;
        int r = write_all(out, block, (size_t)n);
        if (r < 0)
            return berr_sys(e, r, "write %s", dst);
    }
    return 0;
}

static __thread long long du_total;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        du_total += st->st_size;
    return 0;
}

long long fs_du(const char *path)
{
    du_total = 0;
    nftw(path, du_one, 64, FTW_PHYS | FTW_MOUNT);
    return du_total;
}
