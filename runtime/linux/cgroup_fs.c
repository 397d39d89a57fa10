/* Works out what the container's /sys/fs/cgroup shows (see cgroup_fs.h).
 *
 * A v1 hierarchy is told from the cgroup2 one by its files, not by statfs,
 * so the unit tests can lay a plain directory out like a host: a v1 root
 * has cgroup.procs and no cgroup.controllers. */
#include "runtime/linux/cgroup_fs.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/linux/cgroup_internal.h"

/* hier equals the controller list field with each "name=" dropped. */
static bool same_hierarchy(const char *field, size_t flen, const char *hier)
{
    size_t hlen = strlen(hier), hi = 0;
    for (size_t i = 0; i < flen;) {
        if (flen - i >= 5 && !strncmp(field + i, "name=", 5))
            i += 5;
        while (i < flen && field[i] != ',') {
            if (hi >= hlen || hier[hi] != field[i])
                return false;
            hi++, i++;
        }
        if (i < flen) {   /* the comma */
            if (hi >= hlen || hier[hi] != ',')
                return false;
            hi++, i++;
        }
    }
    return hi == hlen && flen > 0;
}

bool rt_cgroup_fs_proc_path(const char *text, const char *hier, char *out, size_t cap)
{
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        /* "N:controllers:path"; the path may itself hold colons. */
        const char *c1 = memchr(line, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
        if (c2 && same_hierarchy(c1 + 1, (size_t)(c2 - c1 - 1), hier)) {
            size_t plen = len - (size_t)(c2 + 1 - line);
            if (plen == 0 || plen >= cap)
                return false;
            memcpy(out, c2 + 1, plen);
            out[plen] = 0;
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static bool is_v1_hierarchy(const char *root, const char *name)
{
    char dir[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir || lstat(dir, &st) < 0 ||
        !S_ISDIR(st.st_mode))
        return false;
    return rt_cg_exists(dir, "cgroup.procs") && !rt_cg_exists(dir, "cgroup.controllers");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const rt_cgroup_fs_dir *)a)->name, ((const rt_cgroup_fs_dir *)b)->name);
}

rt_cgroup_fs *rt_cgroup_fs_new(const rt_cgroups *cg, const char *id, bool writable, const char *self_cgroup)
{
    rt_cgroup_fs *fs = xcalloc(1, sizeof *fs);
    fs->writable = writable;
    if (cg->version == RT_CGROUP_V2) {
        fs->unified = true;
        return fs;
    }
    cleanup_free char *own = NULL;
    if (!self_cgroup) {
        if (fs_read_file("/proc/self/cgroup", &own, NULL, NULL) < 0)
            own = xstrdup("");
        self_cgroup = own;
    }
    cleanup_closedir DIR *d = opendir(cg->root);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        rt_cgroup_fs_dir dir = {0};
        char path[PATH_MAX], target[NAME_MAX + 1];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", cg->root, de->d_name) >= sizeof path)
            continue;
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            /* cpu -> cpu,cpuacct: kept when it names a hierarchy beside it. */
            target[n] = 0;
            if (strchr(target, '/') || !is_v1_hierarchy(cg->root, target))
                continue;
            dir.link = xstrdup(target);
        } else if (is_v1_hierarchy(cg->root, de->d_name)) {
            char rel[PATH_MAX];
            if (rt_cgv1_manages(de->d_name))
                snprintf(rel, sizeof rel, "/" RT_CG_PARENT "/%s", id);
            else if (!rt_cgroup_fs_proc_path(self_cgroup, de->d_name, rel, sizeof rel))
                continue;   /* not a hierarchy we are in: show nothing of it */
            dir.source = xasprintf("%s%s", path, strcmp(rel, "/") ? rel : "");
        } else {
            continue;
        }
        dir.name = xstrdup(de->d_name);
        fs->dirs = xrealloc(fs->dirs, (fs->n_dirs + 1) * sizeof *fs->dirs);
        fs->dirs[fs->n_dirs++] = dir;
    }
    if (fs->n_dirs)
        qsort(fs->dirs, fs->n_dirs, sizeof *fs->dirs, by_name);
    return fs;
}

void rt_cgroup_fs_free(rt_cgroup_fs *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n_dirs; i++) {
        free(fs->dirs[i].name);
        free(fs->dirs[i].source);
        free(fs->dirs[i].link);
    }
    free(fs->dirs);
    free(fs);
}
