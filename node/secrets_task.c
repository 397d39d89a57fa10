/* A task's secrets and configs as files: a tmpfs of the task's own under
 * <exec-root>/secrets/<task id> (memory only, so a value never reaches the
 * node's disk), filled before the container is created and bound into it
 * read-only, as dockerd puts secrets on a tmpfs under the container's
 * directory.  Layout inside the tmpfs:
 *   secrets/<target>   relative secret targets, bound at /run/secrets
 *   files/<n>          configs and absolute secret targets, each bound
 *                      at its own path
 * The tmpfs goes when the task's container is no longer running (the
 * agent sweeps after every scan), and at the next start after a crash. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "node/secrets.h"
#include "node/secrets_template.h"

static int task_dir(const char *exec_root, const char *task_id, char *out, size_t n)
{
    if (!*task_id || strchr(task_id, '/') || !strcmp(task_id, ".") || !strcmp(task_id, ".."))
        return -EINVAL;
    int w = snprintf(out, n, "%s/secrets/%s", exec_root, task_id);
    return w > 0 && (size_t)w < n ? 0 : -ENAMETOOLONG;
}

/* "0", "1000": the File's UID and GID travel as decimal strings. */
static int parse_id(const char *s, unsigned *out)
{
    if (!*s) {
        *out = 0;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT_MAX - 1 || s[0] == '-')
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

/* mkdir -p for the directories of rel below base (all inside the tmpfs). */
static int mkdirs_for(const char *base, const char *rel, berr *e)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", base, rel);
    char *slash = strrchr(path, '/');
    if (!slash || slash <= path + strlen(base))
        return 0;
    *slash = 0;
    return fs_mkdir_p(path, 0755, e);
}

/* Writes data as path with the reference's owner and mode.  O_EXCL and
 * O_NOFOLLOW: the tmpfs is new, so anything already there is an error. */
static int write_ref_file(const char *path, const unsigned char *data, size_t len, json_t *ref,
                          const rt_idmap *idmap, berr *e)
{
    json_t *file = json_object_get(ref, "File");
    unsigned uid = 0, gid = 0;
    if (parse_id(json_str(file, "UID"), &uid) < 0 || parse_id(json_str(file, "GID"), &gid) < 0)
        return berr_set(e, -EINVAL, "invalid owner %s:%s for %s", json_str(file, "UID"), json_str(file, "GID"),
                        json_str(file, "Name"));
    /* With --userns-remap the owner given is an id inside the container. */
    uid_t huid = uid;
    gid_t hgid = gid;
    if (idmap && (rt_idmap_uid(idmap, uid, &huid) < 0 || rt_idmap_gid(idmap, gid, &hgid) < 0))
        return berr_set(e, -EINVAL, "Container ID %u cannot be mapped to a host ID", uid);
    uid = huid;
    gid = hgid;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return berr_set(e, -errno, "create %s: %s", json_str(file, "Name"), strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = errno ? errno : EIO;
            close(fd);
            return berr_set(e, -err, "write %s: %s", json_str(file, "Name"), strerror(err));
        }
        off += (size_t)w;
    }
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, secrets_ref_mode(ref)) < 0) {
        int err = errno;
        close(fd);
        return berr_set(e, -err, "set owner and mode of %s: %s", json_str(file, "Name"), strerror(err));
    }
    close(fd);
    return 0;
}

static int add_bind(json_t *mounts, const char *source, const char *target)
{
    json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source", source, "Target",
                                            target, "ReadOnly", 1));
    return 0;
}

/* The template context of a task: its service, node and task, its env. */
typedef struct task_env {
    cluster_store *cs;
    json_t *task;
} task_env;

static int lookup_ref(void *arg, const char *kind, const char *target, unsigned char **data, size_t *len, berr *e)
{
    task_env *te = arg;
    cs_kind k = !strcmp(kind, "secret") ? CS_SECRET : CS_CONFIG;
    json_t *cspec = json_object_get(json_object_get(te->task, "Spec"), "ContainerSpec");
    json_t *refs = json_object_get(cspec, k == CS_SECRET ? "Secrets" : "Configs");
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref) {
        if (strcmp(json_str(json_object_get(ref, "File"), "Name"), target))
            continue;
        json_t *doc = NULL;
        if (cs_get(te->cs, k, json_str(ref, k == CS_SECRET ? "SecretID" : "ConfigID"), &doc, NULL) < 0)
            return -ENOENT;
        int r = secrets_decode_data(k, json_object_get(json_object_get(doc, "Spec"), "Data"), data, len, e);
        json_decref(doc);
        return r;
    }
    return -ENOENT;
}

static int render(task_env *te, json_t *doc, unsigned char **data, size_t *len, berr *e)
{
    json_t *task = te->task, *svc = NULL, *node = NULL;
    cs_get(te->cs, CS_SERVICE, json_str(task, "ServiceID"), &svc, NULL);
    cs_get(te->cs, CS_NODE, json_str(task, "NodeID"), &node, NULL);
    json_t *sspec = json_object_get(svc, "Spec");
    json_t *desc = json_object_get(node, "Description");
    json_t *plat = json_object_get(desc, "Platform");
    char tname[512];
    long long slot = json_integer_value(json_object_get(task, "Slot"));
    if (slot > 0)
        snprintf(tname, sizeof tname, "%s.%lld.%s", json_str(sspec, "Name"), slot, json_str(task, "ID"));
    else
        snprintf(tname, sizeof tname, "%s.%s.%s", json_str(sspec, "Name"), json_str(task, "NodeID"), json_str(task, "ID"));
    json_t *labels = json_object_get(sspec, "Labels");
    json_t *fields = json_pack("{s:{s:s, s:s, s:O}, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:s, s:I}}",
                               "Service", "ID", json_str(task, "ServiceID"), "Name", json_str(sspec, "Name"), "Labels",
                               json_is_object(labels) ? labels : json_object(), "Node", "ID", json_str(task, "NodeID"),
                               "Hostname", json_str(desc, "Hostname"), "Platform", "OS", json_str(plat, "OS"),
                               "Architecture", json_str(plat, "Architecture"), "Task", "ID", json_str(task, "ID"),
                               "Name", tname, "Slot", (json_int_t)slot);
    json_t *env = json_object();
    size_t i;
    json_t *kv;
    json_array_foreach(json_object_get(json_object_get(json_object_get(task, "Spec"), "ContainerSpec"), "Env"), i, kv) {
        const char *s = json_string_value(kv);
        const char *eq = s ? strchr(s, '=') : NULL;
        if (eq) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(eq - s), s);
            json_object_set_new(env, name, json_string(eq + 1));
        }
    }
    json_decref(svc);
    json_decref(node);
    tmpl_ctx ctx = {.fields = fields, .env = env, .lookup = lookup_ref, .arg = te};
    unsigned char *out = NULL;
    size_t olen = 0;
    int r = tmpl_render((const char *)*data, *len, &ctx, &out, &olen, e);
    json_decref(fields);
    json_decref(env);
    if (r < 0) {
        berr_wrap(e, "rendering %s", json_str(json_object_get(doc, "Spec"), "Name"));
        return r;
    }
    sodium_memzero(*data, *len);
    free(*data);
    *data = out;
    *len = olen;
    return 0;
}

/* One kind's references of the task: the object's data from the store,
 * written under dir, the bind appended. */
static int materialize(const char *dir, cluster_store *cs, json_t *task, json_t *refs, cs_kind kind,
                       unsigned *nfile, bool *any_rel, json_t *mounts, const rt_idmap *idmap, berr *e)
{
    task_env te = {.cs = cs, .task = task};
    const char *idkey = kind == CS_SECRET ? "SecretID" : "ConfigID";
    size_t i;
    json_t *ref;
    json_array_foreach(refs, i, ref) {
        const char *target = json_str(json_object_get(ref, "File"), "Name");
        json_t *doc = NULL;
        if (cs_get(cs, kind, json_str(ref, idkey), &doc, NULL) < 0)
            return berr_set(e, -ENOENT, "%s %s not found", secrets_what(kind), json_str(ref, idkey));
        unsigned char *data = NULL;
        size_t len = 0;
        int r = secrets_decode_data(kind, json_object_get(json_object_get(doc, "Spec"), "Data"), &data, &len, e);
        if (r == 0 && !strcmp(json_str(json_object_get(json_object_get(doc, "Spec"), "Templating"), "Name"), "golang"))
            r = render(&te, doc, &data, &len, e);
        json_decref(doc);
        if (r < 0) {
            if (data)
                sodium_memzero(data, len);
            free(data);
            return r;
        }
        char path[PATH_MAX], ctarget[PATH_MAX];
        bool rel = kind == CS_SECRET && target[0] != '/';
        if (rel) {
            char base[PATH_MAX];
            snprintf(base, sizeof base, "%s/secrets", dir);
            snprintf(path, sizeof path, "%s/%s", base, target);
            r = mkdirs_for(base, target, e);
            *any_rel = true;
        } else {
            snprintf(path, sizeof path, "%s/files/%u", dir, (*nfile)++);
            /* Relative config targets are relative to the container's root. */
            snprintf(ctarget, sizeof ctarget, "%s%s", target[0] == '/' ? "" : "/", target);
        }
        if (r == 0)
            r = write_ref_file(path, data, len, ref, idmap, e);
        if (kind == CS_SECRET)
            sodium_memzero(data, len);
        free(data);
        if (r < 0)
            return r;
        if (!rel)
            add_bind(mounts, path, ctarget);
    }
    return 0;
}

int secrets_task_prepare(const char *exec_root, cluster_store *cs, json_t *task, json_t *mounts, const rt_idmap *idmap,
                         berr *e)
{
    json_t *cspec = json_object_get(json_object_get(task, "Spec"), "ContainerSpec");
    json_t *secrets = json_object_get(cspec, "Secrets"), *configs = json_object_get(cspec, "Configs");
    if (!json_array_size(secrets) && !json_array_size(configs))
        return 0;
    char dir[PATH_MAX], root[PATH_MAX];
    if (task_dir(exec_root, json_str(task, "ID"), dir, sizeof dir) < 0)
        return berr_set(e, -EINVAL, "bad task ID");
    snprintf(root, sizeof root, "%s/secrets", exec_root);
    int r = fs_mkdir_p(root, 0700, e);
    if (r < 0)
        return r;
    chmod(root, 0700);   /* no one but root looks at other tasks' files */
    secrets_task_release(exec_root, json_str(task, "ID"));   /* a leftover of an earlier attempt */
    if (mkdir(dir, 0700) < 0)
        return berr_set(e, -errno, "create %s: %s", dir, strerror(errno));
    /* Sized for what SwarmKit allows a task to carry, no more. */
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64m") < 0) {
        int err = errno;
        rmdir(dir);
        return berr_set(e, -err, "mount a tmpfs for the task's secrets: %s", strerror(err));
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/secrets", dir);
    r = mkdir(sub, 0755) < 0 ? berr_set(e, -errno, "create %s: %s", sub, strerror(errno)) : 0;
    snprintf(sub, sizeof sub, "%s/files", dir);
    if (r == 0 && mkdir(sub, 0700) < 0)
        r = berr_set(e, -errno, "create %s: %s", sub, strerror(errno));
    unsigned nfile = 0;
    bool any_rel = false;
    json_t *binds = json_array();
    if (r == 0)
        r = materialize(dir, cs, task, secrets, CS_SECRET, &nfile, &any_rel, binds, idmap, e);
    if (r == 0)
        r = materialize(dir, cs, task, configs, CS_CONFIG, &nfile, &any_rel, binds, idmap, e);
    if (r < 0) {
        json_decref(binds);
        secrets_task_release(exec_root, json_str(task, "ID"));
        return r;
    }
    if (any_rel) {
        snprintf(sub, sizeof sub, "%s/secrets", dir);
        add_bind(mounts, sub, "/run/secrets");
    }
    json_array_extend(mounts, binds);
    json_decref(binds);
    return 0;
}

void secrets_task_release(const char *exec_root, const char *task_id)
{
    char dir[PATH_MAX];
    if (task_dir(exec_root, task_id, dir, sizeof dir) < 0)
        return;
    struct stat st;
    if (lstat(dir, &st) < 0)
        return;
    /* Lazy: a container still holding a bind keeps its own view; the
     * files vanish with the last user, and the tmpfs pages with them. */
    if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        log_warn("secrets: unmount %s: %s", dir, strerror(errno));
    berr e = {0};
    if (fs_rm_rf(dir, &e) < 0)
        log_warn("secrets: remove %s: %s", dir, e.msg);
}

void secrets_task_sweep(const char *exec_root, bool (*keep)(void *arg, const char *task_id), void *arg)
{
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s/secrets", exec_root);
    DIR *dh = opendir(root);
    if (!dh)
        return;
    struct dirent *de;
    char **gone = NULL;
    size_t n = 0;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.' || keep(arg, de->d_name))
            continue;
        char **g = realloc(gone, (n + 1) * sizeof *gone);
        if (!g)
            break;
        gone = g;
        gone[n++] = strdup(de->d_name);
    }
    closedir(dh);
    for (size_t i = 0; i < n; i++) {
        if (gone[i])
            secrets_task_release(exec_root, gone[i]);
        free(gone[i]);
    }
    free(gone);
}
