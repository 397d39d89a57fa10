/* --user and --group-add resolved against the container's own files.
 *
 * The rules are runc's user.GetExecUser and GetAdditionalGroups, which is
 * what Docker users rely on:
 *   - "" is uid 0 and whatever passwd says about uid 0 (gid, home, groups);
 *   - a number is a uid even when passwd has no entry for it (gid 0 then);
 *     a name must be in passwd;
 *   - ":group" (name or number) replaces the primary gid, and then the
 *     user's memberships in /etc/group are not added: supplementary groups
 *     come from /etc/group only in the implicit form;
 *   - --group-add entries are group names or numbers; a name must exist.
 * Lines are parsed as runc does, leniently: short lines fill what they can
 * and a field that is not a number reads as 0.
 *
 * The files are opened with openat2(RESOLVE_IN_ROOT) below the rootfs, so
 * an image whose /etc/passwd is a symlink to "/etc/shadow" or "../../x"
 * gets the rootfs's file (or none), never the host's.  Only regular files
 * are read: a FIFO or device planted there must not block or act. */
#include "runtime/linux/user.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

#define ID_MAX 2147483647L          /* runc's bound, for 32-bit compatibility */
#define FILE_MAX (64L << 20)        /* larger "passwd" files are not read */

/* ---- reading files inside the rootfs ------------------------------------ */

/* Reads <rootfs>/<rel> resolving every symlink inside rootfs.  *data is NULL
 * (and 0 returned) when the file does not exist or is not a regular file:
 * runc treats an unreadable passwd like an absent one. */
static int read_in_root(int root_fd, const char *rel, char **data, berr *e)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    struct stat st;
    char proc[64];

    *data = NULL;
    cleanup_close int pfd = (int)syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    if (pfd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return 0;
        return berr_sys(e, -errno, "opening %s in the container", rel);
    }
    if (fstat(pfd, &st) < 0)
        return berr_sys(e, -errno, "stat %s in the container", rel);
    if (!S_ISREG(st.st_mode))
        return 0;
    if (st.st_size > FILE_MAX)
        return berr_set(e, -EINVAL, "%s in the container is too large (%lld bytes)", rel, (long long)st.st_size);

    /* Reopen the very inode we checked: no second path walk to race. */
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    cleanup_close int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return berr_sys(e, -errno, "reading %s in the container", rel);

    buf b = BUF_INIT;
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            buf_free(&b);
            return berr_sys(e, -err, "reading %s in the container", rel);
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > (size_t)FILE_MAX) {
            buf_free(&b);
            return berr_set(e, -EINVAL, "%s in the container is too large", rel);
        }
        buf_append(&b, chunk, (size_t)n);
    }
    *data = buf_steal(&b);
    return 0;
}

/* ---- parsing -------------------------------------------------------------- */

/* Cuts the next line off *p (NUL-terminating it in place); NULL at the end. */
static char *next_line(char **p)
{
    char *s = *p, *nl;
    if (!s || !*s)
        return NULL;
    nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    /* bufio.Scanner drops a trailing \r; TrimSpace does the rest for passwd. */
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    return s;
}

/* Splits line on ':' into at most max fields; missing ones are "". */
static void split_fields(char *line, char **f, size_t max)
{
    size_t i = 0;
    for (; i < max; i++) {
        f[i] = line;
        char *c = strchr(line, ':');
        if (!c) {
            line += strlen(line);
            i++;
            break;
        }
        *c = 0;
        line = c + 1;
    }
    for (; i < max; i++)
        f[i] = line;   /* points at the terminating NUL: "" */
}

/* An integer as Go's strconv.Atoi sees one: optional sign, then digits. */
static bool parse_int(const char *s, long long *out)
{
    const char *p = s;
    bool neg = false;
    long long v = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!*p)
        return false;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = neg ? -v : v;
    return true;
}

/* A numeric field of a passwd/group line: junk reads as 0, like runc. */
static long long field_int(const char *s)
{
    long long v;
    return parse_int(s, &v) ? v : 0;
}

typedef struct pw_ent {
    char *name;
    long long uid, gid;
    char *home;
} pw_ent;

typedef struct gr_ent {
    char *name;
    long long gid;
    char *members;   /* comma-separated, as in the file */
} gr_ent;

static bool next_passwd(char **p, pw_ent *pw)
{
    char *line, *f[7];
    while ((line = next_line(p))) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line)
            continue;
        split_fields(line, f, 7);   /* name:password:uid:gid:gecos:home:shell */
        pw->name = f[0];
        pw->uid = field_int(f[2]);
        pw->gid = field_int(f[3]);
        pw->home = f[5];
        return true;
    }
    return false;
}

static bool next_group(char **p, gr_ent *gr)
{
    char *line, *f[4];
    while ((line = next_line(p))) {
        if (!*line)
            continue;
        split_fields(line, f, 4);   /* name:password:gid:members */
        gr->name = f[0];
        gr->gid = field_int(f[2]);
        gr->members = f[3];
        return true;
    }
    return false;
}

static bool has_member(const char *members, const char *name)
{
    size_t n = strlen(name);
    for (const char *m = members; *m;) {
        const char *c = strchr(m, ',');
        size_t len = c ? (size_t)(c - m) : strlen(m);
        if (len == n && memcmp(m, name, n) == 0)
            return true;
        if (!c)
            break;
        m = c + 1;
    }
    return false;
}

/* ---- resolution ------------------------------------------------------------ */

static void add_group(rt_user *u, size_t *cap, gid_t g)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups[i] == g)
            return;
    if (u->n_groups == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        u->groups = xrealloc(u->groups, *cap * sizeof *u->groups);
    }
    u->groups[u->n_groups++] = g;
}

static int range_error(berr *e)
{
    return berr_set(e, -EINVAL, "uids and gids must be in range 0-%ld", ID_MAX);
}

/* Text is consumed (split in place), so each scan gets a fresh copy. */
static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static int resolve(const char *passwd, const char *group, const char *spec, const char *const *group_add,
                   size_t n_group_add, rt_user *out, berr *e)
{
    cleanup_free char *spec_copy = xstrdup(spec ? spec : "");
    char *sf[2];
    size_t cap = 0;

    split_fields(spec_copy, sf, 2);
    const char *user_arg = sf[0], *group_arg = sf[1];
    long long uid_arg = 0, gid_arg = 0;
    bool uid_num = parse_int(user_arg, &uid_arg), gid_num = parse_int(group_arg, &gid_arg);

    out->uid = 0;
    out->gid = 0;
    snprintf(out->home, sizeof out->home, "/");

    /* The user: first matching passwd line wins. */
    cleanup_free char *pw_text = dup_or_null(passwd);
    char *p = pw_text;
    pw_ent pw;
    const char *matched = NULL;
    while (p && next_passwd(&p, &pw)) {
        bool hit = !*user_arg ? pw.uid == 0 : uid_num ? pw.uid == uid_arg : strcmp(pw.name, user_arg) == 0;
        if (!hit)
            continue;
        matched = pw.name;
        out->uid = (uid_t)pw.uid;
        out->gid = (gid_t)pw.gid;
        /* A home that does not fit is worse than none: keep "/". */
        if (*pw.home && strlen(pw.home) < sizeof out->home)
            snprintf(out->home, sizeof out->home, "%s", pw.home);
        break;
    }
    if (!matched && *user_arg) {
        if (!uid_num)
            return berr_set(e, -EINVAL, "unable to find user %s: no matching entries in passwd file", user_arg);
        if (uid_arg < 0 || uid_arg > ID_MAX)
            return range_error(e);
        out->uid = (uid_t)uid_arg;
    }

    /* The primary group if given, else the user's memberships. */
    if (*group_arg || (matched && *matched)) {
        cleanup_free char *gr_text = dup_or_null(group);
        char *q = gr_text;
        gr_ent gr;
        bool found = false;
        while (q && next_group(&q, &gr)) {
            if (*group_arg) {
                if (gid_num ? gr.gid == gid_arg : strcmp(gr.name, group_arg) == 0) {
                    out->gid = (gid_t)gr.gid;
                    found = true;
                    break;
                }
            } else if (has_member(gr.members, matched)) {
                add_group(out, &cap, (gid_t)gr.gid);
            }
        }
        if (*group_arg && !found) {
            if (!gid_num)
                return berr_set(e, -EINVAL, "unable to find group %s: no matching entries in group file", group_arg);
            if (gid_arg < 0 || gid_arg > ID_MAX)
                return range_error(e);
            out->gid = (gid_t)gid_arg;
        }
    }

    /* --group-add: by name or by gid as written in the file, else a number. */
    for (size_t i = 0; i < n_group_add; i++) {
        const char *ag = group_add[i];
        cleanup_free char *gr_text = dup_or_null(group);
        char *q = gr_text;
        gr_ent gr;
        bool found = false;
        while (q && next_group(&q, &gr)) {
            char num[24];
            snprintf(num, sizeof num, "%lld", gr.gid);
            if (strcmp(gr.name, ag) == 0 || strcmp(num, ag) == 0) {
                add_group(out, &cap, (gid_t)gr.gid);
                found = true;
                break;
            }
        }
        if (found)
            continue;
        long long g;
        if (!parse_int(ag, &g))
            return berr_set(e, -EINVAL, "unable to find group %s: no matching entries in group file", ag);
        if (g < 0 || g > ID_MAX)
            return range_error(e);
        add_group(out, &cap, (gid_t)g);
    }
    return 0;
}

int rt_user_resolve(const char *rootfs, const char *user, const char *const *group_add, size_t n_group_add,
                    rt_user *out, berr *e)
{
    cleanup_free char *passwd = NULL;
    cleanup_free char *group = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    cleanup_close int root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return berr_sys(e, -errno, "opening the container root %s", rootfs);
    if ((rc = read_in_root(root_fd, "etc/passwd", &passwd, e)) < 0 ||
        (rc = read_in_root(root_fd, "etc/group", &group, e)) < 0)
        return rc;
    if ((rc = resolve(passwd, group, user, group_add, n_group_add, out, e)) < 0) {
        rt_user_free(out);
        return rc;
    }
    return 0;
}

void rt_user_free(rt_user *u)
{
    if (!u)
        return;
    free(u->groups);
    u->groups = NULL;
    u->n_groups = 0;
}
