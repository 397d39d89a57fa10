/* See gitctx.h. */
#include "runtime/build/gitctx.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/build/dockerignore.h"

extern char **environ;

bool bc_is_git_url(const char *s)
{
    if (!strncmp(s, "git://", 6) || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11))
        return true;
    if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
        return false;
    size_t n = strcspn(s, "#");
    return n > 4 && !strncmp(s + n - 4, ".git", 4);
}

/* Runs git with args; its stderr, trimmed, into e on failure. */
static int run_git(const char *const *args, const char *err_path, berr *e)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* never ask for a password on a terminal the daemon does not have; no
     * protocol a user must allow (file://, fd::, ext::) from a repository's
     * submodules either */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + 3, sizeof *env);
    memcpy(env, environ, n * sizeof *env);
    env[n] = "GIT_TERMINAL_PROMPT=0";
    env[n + 1] = "GIT_PROTOCOL_FROM_USER=0";
    pid_t pid;
    int r = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)args, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (r != 0)
        return berr_set(e, -r, "unable to prepare context: cannot run git: %s", strerror(r));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return berr_sys(e, -errno, "wait for git");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *out = NULL;
    size_t len = 0;
    fs_read_file(err_path, &out, &len, NULL);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = 0;
    berr_set(e, -EINVAL, "unable to prepare context: unable to 'git clone' to temporary context directory: %s",
             out && *out ? out : "git failed");
    free(out);
    return e->code;
}

/* dir's tree, .git left out, as a tar at out. */
static int tar_dir(const char *dir, const char *out, berr *e)
{
    struct archive *disk = archive_read_disk_new();
    struct archive *w = archive_write_new();
    archive_read_disk_set_standard_lookup(disk);
    archive_read_disk_set_symlink_physical(disk);
    archive_write_set_format_pax_restricted(w);
    int rc = 0;
    if (archive_write_open_filename(w, out) != ARCHIVE_OK || archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
        rc = berr_set(e, -EIO, "write the git context: %s", archive_error_string(w));
        goto done;
    }
    size_t dl = strlen(dir);
    for (;;) {
        struct archive_entry *en = archive_entry_new();
        int r = archive_read_next_header2(disk, en);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(en);
            break;
        }
        if (r != ARCHIVE_OK) {
            rc = berr_set(e, -EIO, "read the git checkout: %s", archive_error_string(disk));
            archive_entry_free(en);
            break;
        }
        const char *path = archive_entry_sourcepath(en);
        const char *rel = path + (strncmp(path, dir, dl) ? 0 : dl);
        while (*rel == '/')
            rel++;
        if (!strcmp(rel, ".git") || !strncmp(rel, ".git/", 5)) {
            archive_entry_free(en);
            continue;
        }
        if (archive_read_disk_can_descend(disk))
            archive_read_disk_descend(disk);
        if (!*rel) {   /* the root itself */
            archive_entry_free(en);
            continue;
        }
        archive_entry_set_pathname(en, rel);
        archive_entry_set_uid(en, 0);
        archive_entry_set_gid(en, 0);
        archive_entry_set_uname(en, "");
        archive_entry_set_gname(en, "");
        if (archive_write_header(w, en) != ARCHIVE_OK) {
            rc = berr_set(e, -EIO, "write the git context: %s", archive_error_string(w));
            archive_entry_free(en);
            break;
        }
        if (archive_entry_filetype(en) == AE_IFREG && archive_entry_size(en) > 0) {
            cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            char b[65536];
            ssize_t n;
            while (rc == 0 && fd >= 0 && (n = read(fd, b, sizeof b)) > 0)
                if (archive_write_data(w, b, (size_t)n) != n)
                    rc = berr_set(e, -EIO, "write the git context: %s", archive_error_string(w));
            if (fd < 0)
                rc = berr_sys(e, -errno, "read %s", path);
        }
        archive_entry_free(en);
        if (rc < 0)
            break;
    }
    if (rc == 0 && archive_write_close(w) != ARCHIVE_OK)
        rc = berr_set(e, -EIO, "write the git context: %s", archive_error_string(w));
done:
    archive_read_free(disk);
    archive_write_free(w);
    return rc;
}

int bc_git_context(const char *url, const char *work_dir, const char *out_tar, berr *e)
{
    cleanup_free char *repo = !strncmp(url, "github.com/", 11) ? xasprintf("https://%s", url) : xstrdup(url);
    char *frag = strchr(repo, '#');
    const char *ref = NULL, *sub = "";
    if (frag) {
        *frag++ = 0;
        char *colon = strchr(frag, ':');
        if (colon) {
            *colon = 0;
            sub = colon + 1;
        }
        ref = *frag ? frag : NULL;
    }
    cleanup_free char *subdir = di_clean_path(*sub ? sub : ".");
    const char *s = subdir;
    while (*s == '/')
        s++;
    if (!strcmp(s, "..") || !strncmp(s, "../", 3))
        return berr_set(e, -EINVAL, "unable to prepare context: subdirectory %s leaves the repository", sub);
    char checkout[PATH_MAX], err_path[PATH_MAX];
    snprintf(checkout, sizeof checkout, "%s/checkout", work_dir);
    snprintf(err_path, sizeof err_path, "%s/git.err", work_dir);
    const char *args[12];
    size_t n = 0;
    args[n++] = "git";
    args[n++] = "clone";
    args[n++] = "--quiet";
    args[n++] = "--depth=1";
    args[n++] = "--recurse-submodules";
    if (ref) {
        args[n++] = "--branch";
        args[n++] = ref;
    }
    args[n++] = "--";
    args[n++] = repo;
    args[n++] = checkout;
    args[n] = NULL;
    int r = run_git(args, err_path, e);
    if (r < 0 && strstr(e->msg, "shallow")) {
        /* a dumb HTTP server cannot serve a shallow clone: a full one then,
         * as moby clones when the remote is not smart HTTP */
        fs_rm_rf(checkout, NULL);
        berr_clear(e);
        memmove(&args[3], &args[4], (n - 3) * sizeof *args);
        r = run_git(args, err_path, e);
    }
    if (r < 0)
        return r;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", checkout, s);
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return berr_set(e, -ENOENT, "unable to prepare context: path %s not found in the repository", sub);
    return tar_dir(dir, out_tar, e);
}
