/* See ctxtree.h: the tar's headers read in place (ustar, GNU long names
 * and links, pax records), one node per name, a hash table from path to
 * node for lookups and each directory's entries for listings. */
#include "runtime/build/ctxtree.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/strhash.h"
#include "lib/cleanup.h"
#include "runtime/build/dockerignore.h"

struct bc_node {
    char *path;               /* cleaned, relative; "" for the root */
    const char *name;         /* the last element, inside path */
    mode_t mode;
    long uid, gid;
    long long size;
    time_t mtime;
    size_t off;               /* a regular file's data in the mapping */
    char *link;               /* a symbolic link's target */
    bc_node *parent;
    bc_node **kids;           /* a directory's entries, removed ones included */
    size_t n_kids, cap_kids;
    bool gone;                /* replaced or removed: in no lookup or listing */
    bc_node *hnext;
};

struct bc_tree {
    const unsigned char *map;
    size_t len;
    bc_node *root;
    bc_node **buckets;
    size_t n_buckets, n_live;
    bc_node **all;            /* every node made, for freeing */
    size_t n_all, cap_all;
    time_t now;               /* mtime of directories the archive implies */
};

static void hash_insert(bc_tree *t, bc_node *n)
{
    if (t->n_live >= t->n_buckets) {
        size_t nb = t->n_buckets ? t->n_buckets * 2 : 256;
        bc_node **b = xcalloc(nb, sizeof *b);
        for (size_t i = 0; i < t->n_buckets; i++)
            for (bc_node *x = t->buckets[i], *next; x; x = next) {
                next = x->hnext;
                size_t k = str_hash(x->path) % nb;
                x->hnext = b[k];
                b[k] = x;
            }
        free(t->buckets);
        t->buckets = b;
        t->n_buckets = nb;
    }
    size_t k = str_hash(n->path) % t->n_buckets;
    n->hnext = t->buckets[k];
    t->buckets[k] = n;
    t->n_live++;
}

static void hash_remove(bc_tree *t, bc_node *n)
{
    for (bc_node **p = &t->buckets[str_hash(n->path) % t->n_buckets]; *p; p = &(*p)->hnext)
        if (*p == n) {
            *p = n->hnext;
            t->n_live--;
            return;
        }
}

static bc_node *find(const bc_tree *t, const char *path)
{
    if (!t->n_buckets)
        return NULL;
    for (bc_node *n = t->buckets[str_hash(path) % t->n_buckets]; n; n = n->hnext)
        if (!strcmp(n->path, path))
            return n;
    return NULL;
}

static void drop(bc_tree *t, bc_node *n)
{
    if (n->gone)
        return;
    n->gone = true;
    hash_remove(t, n);
    for (size_t i = 0; i < n->n_kids; i++)
        drop(t, n->kids[i]);
}

static bc_node *node_new(bc_tree *t, bc_node *parent, const char *path, mode_t mode, time_t mtime)
{
    bc_node *n = xcalloc(1, sizeof *n);
    n->path = xstrdup(path);
    const char *slash = strrchr(n->path, '/');
    n->name = slash ? slash + 1 : n->path;
    n->mode = mode;
    n->mtime = mtime;
    n->parent = parent;
    if (t->n_all == t->cap_all) {
        t->cap_all = t->cap_all ? t->cap_all * 2 : 256;
        t->all = xrealloc(t->all, t->cap_all * sizeof *t->all);
    }
    t->all[t->n_all++] = n;
    if (parent) {
        if (parent->n_kids == parent->cap_kids) {
            parent->cap_kids = parent->cap_kids ? parent->cap_kids * 2 : 8;
            parent->kids = xrealloc(parent->kids, parent->cap_kids * sizeof *parent->kids);
        }
        parent->kids[parent->n_kids++] = n;
    }
    hash_insert(t, n);
    return n;
}

/* The directory at path, made (0755, as extraction makes missing
 * parents) with its own parents when the archive did not name it; a
 * non-directory in the way is replaced. */
static bc_node *dir_at(bc_tree *t, const char *path)
{
    if (!*path)
        return t->root;
    bc_node *n = find(t, path);
    if (n && S_ISDIR(n->mode))
        return n;
    if (n)
        drop(t, n);
    cleanup_free char *up = xstrdup(path);
    char *slash = strrchr(up, '/');
    bc_node *parent = dir_at(t, slash ? (*slash = 0, up) : "");
    return node_new(t, parent, path, S_IFDIR | 0755, t->now);
}

static bc_tree *tree_new(void)
{
    bc_tree *t = xcalloc(1, sizeof *t);
    t->now = time(NULL);
    t->root = node_new(t, NULL, "", S_IFDIR | 0755, t->now);
    return t;
}

static int map_file(bc_tree *t, const char *path, berr *e)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berr_sys(e, -errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return berr_sys(e, -errno, "stat %s", path);
    t->len = (size_t)st.st_size;
    if (!t->len)
        return 0;
    void *m = mmap(NULL, t->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        t->len = 0;
        return berr_sys(e, -errno, "map %s", path);
    }
    t->map = m;
    return 0;
}

/* ---- tar headers ---- */

/* A numeric field: octal text (blank or NUL padded) or, with the high bit
 * of its first byte set, GNU's base-256. */
static long long num(const unsigned char *f, size_t len)
{
    long long v = 0;
    if (f[0] & 0x80) {
        v = f[0] & 0x3f;
        for (size_t i = 1; i < len; i++)
            v = (v << 8) | f[i];
        return (f[0] & 0x40) ? -v : v;
    }
    size_t i = 0;
    while (i < len && (f[i] == ' ' || f[i] == 0))
        i++;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (f[i] - '0');
    return v;
}

static bool checksum_ok(const unsigned char *h)
{
    long long want = num(h + 148, 8);
    long long u = 0, s = 0;
    for (int i = 0; i < 512; i++) {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
        u += c;
        s += (signed char)c;
    }
    return want == u || want == s;   /* some old writers summed signed bytes */
}

static bool zero_block(const unsigned char *h)
{
    for (int i = 0; i < 512; i++)
        if (h[i])
            return false;
    return true;
}

static char *field(const unsigned char *f, size_t len)
{
    return xstrndup((const char *)f, strnlen((const char *)f, len));
}

/* What pax records (and GNU long names) say about the next entry. */
typedef struct overrides {
    char *path, *link;
    long long size, mtime, uid, gid;
    bool has_size, has_mtime, has_uid, has_gid;
} overrides;

static void overrides_clear(overrides *o)
{
    free(o->path);
    free(o->link);
    memset(o, 0, sizeof *o);
}

/* "LEN key=value\n" records. */
static int pax_parse(const char *p, size_t len, overrides *o, berr *e)
{
    while (len) {
        char *end;
        unsigned long long rl = strtoull(p, &end, 10);
        if (end == p || *end != ' ' || rl > len || rl < (size_t)(end - p) + 3 || p[rl - 1] != '\n')
            return berr_set(e, -EINVAL, "malformed pax record");
        const char *kv = end + 1, *rec_end = p + rl - 1;
        const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
        if (!eq)
            return berr_set(e, -EINVAL, "malformed pax record");
        size_t kl = (size_t)(eq - kv);
        cleanup_free char *val = xstrndup(eq + 1, (size_t)(rec_end - eq - 1));
        if (kl == 4 && !memcmp(kv, "path", 4)) {
            free(o->path);
            o->path = steal_ptr(&val);
        } else if (kl == 8 && !memcmp(kv, "linkpath", 8)) {
            free(o->link);
            o->link = steal_ptr(&val);
        } else if (kl == 4 && !memcmp(kv, "size", 4)) {
            o->size = strtoll(val, NULL, 10), o->has_size = true;
        } else if (kl == 5 && !memcmp(kv, "mtime", 5)) {
            o->mtime = strtoll(val, NULL, 10), o->has_mtime = true;   /* the fraction is dropped */
        } else if (kl == 3 && !memcmp(kv, "uid", 3)) {
            o->uid = strtoll(val, NULL, 10), o->has_uid = true;
        } else if (kl == 3 && !memcmp(kv, "gid", 3)) {
            o->gid = strtoll(val, NULL, 10), o->has_gid = true;
        }
        p += rl;
        len -= rl;
    }
    return 0;
}

/* The cleaned name (caller frees), or NULL when it leaves the root. */
static char *clean_name(const char *raw)
{
    char *c = di_clean_path(raw);
    const char *p = c;
    while (*p == '/')
        p++;
    if (!strcmp(p, ".."))
        p = NULL;
    else if (!strncmp(p, "../", 3))
        p = NULL;
    else if (!strcmp(p, "."))
        p = "";
    char *r = p ? xstrdup(p) : NULL;
    free(c);
    return r;
}

static int refuse(const char *raw, const char *why, berr *e)
{
    return berr_set(e, -EINVAL, "refusing to extract \"%s\": %s", raw, why);
}

/* One entry (not a pax or long-name header) into the tree. */
static int add_entry(bc_tree *t, const unsigned char *h, const overrides *o, size_t data, long long size,
                     berr *e)
{
    cleanup_free char *raw = NULL;
    if (o->path) {
        raw = xstrdup(o->path);
    } else {
        cleanup_free char *name = field(h, 100);
        /* POSIX ustar ("ustar\0") has a prefix; GNU's "ustar  " does not */
        if (!memcmp(h + 257, "ustar", 6) && h[345]) {
            cleanup_free char *prefix = field(h + 345, 155);
            raw = xasprintf("%s/%s", prefix, name);
        } else {
            raw = steal_ptr(&name);
        }
    }
    cleanup_free char *path = clean_name(raw);
    if (!path)
        return refuse(raw, "the name leaves the context", e);
    char type = (char)h[156];
    mode_t perm = (mode_t)(num(h + 100, 8) & 07777);
    long uid = o->has_uid ? (long)o->uid : (long)num(h + 108, 8);
    long gid = o->has_gid ? (long)o->gid : (long)num(h + 116, 8);
    time_t mtime = o->has_mtime ? (time_t)o->mtime : (time_t)num(h + 136, 12);
    cleanup_free char *link = o->link ? xstrdup(o->link) : field(h + 157, 100);
    mode_t kind;
    const bc_node *target = NULL;
    switch (type) {
    case '0': case 0: case '7':
        kind = S_IFREG;
        break;
    case '1': {
        cleanup_free char *tp = clean_name(link);
        target = tp ? find(t, tp) : NULL;
        if (!target || !S_ISREG(target->mode))
            return refuse(raw, "a hard link to a file not before it in the archive", e);
        kind = S_IFREG;
        break;
    }
    case '2': kind = S_IFLNK; break;
    case '5': kind = S_IFDIR; break;
    case '3': kind = S_IFCHR; break;
    case '4': kind = S_IFBLK; break;
    case '6': kind = S_IFIFO; break;
    default:
        return refuse(raw, "unsupported entry type", e);
    }
    if (!*path) {
        if (kind != S_IFDIR)
            return refuse(raw, "the root is not a directory", e);
        t->root->mode = S_IFDIR | perm;
        t->root->mtime = mtime;
        return 0;
    }
    bc_node *old = find(t, path);
    bc_node *n;
    if (old && kind == S_IFDIR && S_ISDIR(old->mode)) {
        n = old;   /* a directory named twice takes the later entry's metadata */
    } else {
        if (old)
            drop(t, old);
        cleanup_free char *up = xstrdup(path);
        char *slash = strrchr(up, '/');
        bc_node *parent = dir_at(t, slash ? (*slash = 0, up) : "");
        n = node_new(t, parent, path, kind, mtime);
    }
    n->mode = kind | perm;
    n->uid = uid;
    n->gid = gid;
    n->mtime = mtime;
    if (target) {   /* one inode: the target's data and metadata */
        n->mode = target->mode;
        n->uid = target->uid, n->gid = target->gid, n->mtime = target->mtime;
        n->off = target->off;
        n->size = target->size;
    } else if (kind == S_IFREG) {
        n->off = data;
        n->size = size;
    } else if (kind == S_IFLNK) {
        free(n->link);
        n->link = steal_ptr(&link);
    }
    return 0;
}

static int parse(bc_tree *t, berr *e)
{
    overrides o = {0};
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && off + 512 <= t->len) {
        const unsigned char *h = t->map + off;
        if (zero_block(h))
            break;
        if (!checksum_ok(h)) {
            rc = berr_set(e, -EINVAL, "invalid tar header at offset %zu", off);
            break;
        }
        long long size = o.has_size ? o.size : num(h + 124, 12);
        size_t data = off + 512;
        if (size < 0 || (unsigned long long)size > t->len - data) {
            rc = berr_set(e, -EINVAL, "unexpected end of the archive");
            break;
        }
        char type = (char)h[156];
        const char *d = (const char *)t->map + data;
        if (type == 'x') {
            overrides_clear(&o);   /* a fresh set for the next entry */
            rc = pax_parse(d, (size_t)size, &o, e);
        } else if (type == 'g') {
            /* global records: nothing they can say matters here */
        } else if (type == 'L') {
            free(o.path);
            o.path = xstrndup(d, strnlen(d, (size_t)size));
        } else if (type == 'K') {
            free(o.link);
            o.link = xstrndup(d, strnlen(d, (size_t)size));
        } else {
            rc = add_entry(t, h, &o, data, size, e);
            overrides_clear(&o);
        }
        off = data + (((size_t)size + 511) & ~(size_t)511);
    }
    overrides_clear(&o);
    return rc;
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp((*(bc_node *const *)a)->name, (*(bc_node *const *)b)->name);
}

static void sort_dirs(bc_tree *t)
{
    for (size_t i = 0; i < t->n_all; i++)
        if (t->all[i]->n_kids > 1)
            qsort(t->all[i]->kids, t->all[i]->n_kids, sizeof *t->all[i]->kids, cmp_node);
}

int bc_tree_open(const char *tar_path, bc_tree **out, berr *e)
{
    bc_tree *t = tree_new();
    int rc = map_file(t, tar_path, e);
    if (rc == 0)
        rc = parse(t, e);
    if (rc < 0) {
        bc_tree_free(t);
        return rc;
    }
    sort_dirs(t);
    *out = t;
    return 0;
}

int bc_tree_open_single(const char *path, const char *name, bc_tree **out, berr *e)
{
    bc_tree *t = tree_new();
    int rc = map_file(t, path, e);
    if (rc < 0) {
        bc_tree_free(t);
        return rc;
    }
    bc_node *n = node_new(t, t->root, name, S_IFREG | 0600, t->now);
    n->size = (long long)t->len;
    *out = t;
    return 0;
}

void bc_tree_free(bc_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_all; i++) {
        free(t->all[i]->path);
        free(t->all[i]->link);
        free(t->all[i]->kids);
        free(t->all[i]);
    }
    free(t->all);
    free(t->buckets);
    if (t->map)
        munmap((void *)t->map, t->len);
    free(t);
}

const bc_node *bc_tree_lookup(const bc_tree *t, const char *rel)
{
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if (!*rel || !strcmp(rel, "."))
        return t->root;
    return find(t, rel);
}

void bc_node_stat(const bc_node *n, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = n->mode;
    st->st_uid = (uid_t)n->uid;
    st->st_gid = (gid_t)n->gid;
    st->st_size = S_ISREG(n->mode) ? n->size : 0;
    st->st_mtime = n->mtime;
    st->st_nlink = 1;
}

const char *bc_node_link(const bc_node *n)
{
    return n->link ? n->link : "";
}

const void *bc_node_data(const bc_tree *t, const bc_node *n, size_t *len)
{
    *len = S_ISREG(n->mode) ? (size_t)n->size : 0;
    return *len ? (const void *)(t->map + n->off) : (const void *)"";
}

size_t bc_node_list(const bc_node *n, const char ***names)
{
    const char **v = xcalloc(n->n_kids ? n->n_kids : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n->n_kids; i++)
        if (!n->kids[i]->gone)
            v[k++] = n->kids[i]->name;
    *names = v;
    return k;
}

void bc_tree_remove(bc_tree *t, const char *rel)
{
    bc_node *n = *rel ? find(t, rel) : NULL;
    if (n)
        drop(t, n);
}

bool bc_node_empty(const bc_node *n)
{
    for (size_t i = 0; i < n->n_kids; i++)
        if (!n->kids[i]->gone)
            return false;
    return true;
}
