#include "raft/crypt_io.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/seal.h"

typedef struct crypt_io {
    struct raft_io *io;
    struct crypt_io *next;
    cs_keyring keys;
    int (*load)(struct raft_io *io, raft_term *term, raft_id *voted_for, struct raft_snapshot **snapshot,
                raft_index *start_index, struct raft_entry *entries[], size_t *n_entries);
    int (*append)(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[], unsigned n,
                  raft_io_append_cb cb);
    int (*snapshot_put)(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                        const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb);
    int (*snapshot_get)(struct raft_io *io, struct raft_io_snapshot_get *req, raft_io_snapshot_get_cb cb);
} crypt_io;

/* Every wrapped io (loop thread only): raft_uv's impl and data members are
 * its own, so the keys are found by the io's address. */
static crypt_io *wrapped;

static crypt_io *find(struct raft_io *io)
{
    for (crypt_io *c = wrapped; c; c = c->next)
        if (c->io == io)
            return c;
    return NULL;
}

/* A new raft_malloc'd envelope of buf. */
static int seal_buf(crypt_io *c, const struct raft_buffer *in, struct raft_buffer *out)
{
    size_t n = seal_size(in->len);
    void *p = raft_malloc(n);
    if (!p)
        return RAFT_NOMEM;
    seal_bytes(c->keys.dek, in->base, in->len, p);
    out->base = p;
    out->len = n;
    return 0;
}

/* Opens in (or copies it, when plaintext is allowed) into a new buffer. */
static int open_buf(crypt_io *c, const struct raft_buffer *in, struct raft_buffer *out, const char *what,
                    unsigned long long index)
{
    if (!seal_is_sealed(in->base, in->len)) {
        if (!c->keys.plaintext_ok) {
            snprintf(c->io->errmsg, sizeof c->io->errmsg,
                     "cluster store: %s %llu is not encrypted: the raft files were altered", what, index);
            return RAFT_CORRUPT;
        }
        void *p = raft_malloc(in->len ? in->len : 1);
        if (!p)
            return RAFT_NOMEM;
        memcpy(p, in->base, in->len);
        out->base = p;
        out->len = in->len;
        return 0;
    }
    long long l = seal_plain_len(in->base, in->len);
    void *p = l >= 0 ? raft_malloc((size_t)l ? (size_t)l : 1) : NULL;
    berr e = {0};
    if (l < 0 || !p || seal_open(c->keys.dek, in->base, in->len, p, &e) < 0) {
        raft_free(p);
        snprintf(c->io->errmsg, sizeof c->io->errmsg, "cluster store: %s %llu cannot be decrypted: %s", what, index,
                 l < 0 ? "truncated or malformed" : e.msg);
        return l >= 0 && !p ? RAFT_NOMEM : RAFT_CORRUPT;
    }
    out->base = p;
    out->len = (size_t)l;
    return 0;
}

/* ---- append ------------------------------------------------------------------- */

typedef struct append_req {
    struct raft_io_append req;
    struct raft_io_append *orig;
    raft_io_append_cb cb;
    struct raft_entry *entries;
    unsigned n;
} append_req;

static void append_free(append_req *a)
{
    for (unsigned i = 0; i < a->n; i++)
        if (a->entries[i].type == RAFT_COMMAND)
            raft_free(a->entries[i].buf.base);
    free(a->entries);
    free(a);
}

static void append_done(struct raft_io_append *req, int status)
{
    append_req *a = req->data;
    struct raft_io_append *orig = a->orig;
    raft_io_append_cb cb = a->cb;
    append_free(a);
    cb(orig, status);
}

static int crypt_append(struct raft_io *io, struct raft_io_append *req, const struct raft_entry entries[],
                        unsigned n, raft_io_append_cb cb)
{
    crypt_io *c = find(io);
    append_req *a = calloc(1, sizeof *a);
    struct raft_entry *copy = calloc(n ? n : 1, sizeof *copy);
    if (!c || !a || !copy) {
        free(a);
        free(copy);
        return RAFT_NOMEM;
    }
    a->orig = req;
    a->cb = cb;
    a->entries = copy;
    for (unsigned i = 0; i < n; i++) {
        copy[i] = entries[i];
        copy[i].batch = NULL;
        if (entries[i].type != RAFT_COMMAND)
            continue;
        if (seal_buf(c, &entries[i].buf, &copy[i].buf) != 0) {
            for (unsigned k = 0; k < i; k++)
                if (copy[k].type == RAFT_COMMAND)
                    raft_free(copy[k].buf.base);
            free(copy);
            free(a);
            return RAFT_NOMEM;
        }
    }
    a->n = n;
    req->cb = cb;
    a->req.data = a;
    int rv = c->append(io, &a->req, copy, n, append_done);
    if (rv != 0)
        append_free(a);
    return rv;
}

/* ---- snapshots ------------------------------------------------------------------ */

typedef struct put_req {
    struct raft_io_snapshot_put req;
    struct raft_io_snapshot_put *orig;
    raft_io_snapshot_put_cb cb;
    struct raft_snapshot snap;
    struct raft_buffer buf;
} put_req;

static void put_done(struct raft_io_snapshot_put *req, int status)
{
    put_req *p = req->data;
    struct raft_io_snapshot_put *orig = p->orig;
    raft_io_snapshot_put_cb cb = p->cb;
    raft_free(p->buf.base);
    free(p);
    cb(orig, status);
}

static int crypt_snapshot_put(struct raft_io *io, unsigned trailing, struct raft_io_snapshot_put *req,
                              const struct raft_snapshot *snapshot, raft_io_snapshot_put_cb cb)
{
    crypt_io *c = find(io);
    put_req *p = calloc(1, sizeof *p);
    if (!c || !p) {
        free(p);
        return RAFT_NOMEM;
    }
    /* One plaintext buffer (the FSM makes one; concatenate if not). */
    struct raft_buffer whole = {0};
    bool joined = snapshot->n_bufs != 1;
    if (joined) {
        for (unsigned i = 0; i < snapshot->n_bufs; i++)
            whole.len += snapshot->bufs[i].len;
        whole.base = malloc(whole.len ? whole.len : 1);
        if (!whole.base) {
            free(p);
            return RAFT_NOMEM;
        }
        size_t off = 0;
        for (unsigned i = 0; i < snapshot->n_bufs; i++) {
            memcpy((char *)whole.base + off, snapshot->bufs[i].base, snapshot->bufs[i].len);
            off += snapshot->bufs[i].len;
        }
    } else {
        whole = snapshot->bufs[0];
    }
    int rv = seal_buf(c, &whole, &p->buf);
    if (joined) {
        sodium_memzero(whole.base, whole.len);
        free(whole.base);
    }
    if (rv != 0) {
        free(p);
        return rv;
    }
    p->snap = *snapshot;
    p->snap.bufs = &p->buf;
    p->snap.n_bufs = 1;
    p->orig = req;
    p->cb = cb;
    req->cb = cb;
    p->req.data = p;
    rv = c->snapshot_put(io, trailing, &p->req, &p->snap, put_done);
    if (rv != 0) {
        raft_free(p->buf.base);
        free(p);
    }
    return rv;
}

/* Replaces the snapshot's buffers by one opened buffer. */
static int open_snapshot(crypt_io *c, struct raft_snapshot *s)
{
    if (!s || s->n_bufs != 1)
        return s && s->n_bufs > 1 ? RAFT_CORRUPT : 0;
    struct raft_buffer plain;
    int rv = open_buf(c, &s->bufs[0], &plain, "snapshot", (unsigned long long)s->index);
    if (rv != 0)
        return rv;
    raft_free(s->bufs[0].base);
    s->bufs[0] = plain;
    return 0;
}

typedef struct get_req {
    struct raft_io_snapshot_get req;
    struct raft_io_snapshot_get *orig;
    raft_io_snapshot_get_cb cb;
    struct raft_io *io;   /* looked up again: the store may have closed meanwhile */
} get_req;

static void free_snapshot(struct raft_snapshot *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n_bufs; i++)
        raft_free(s->bufs[i].base);
    raft_free(s->bufs);
    raft_configuration_close(&s->configuration);
    raft_free(s);
}

static void get_done(struct raft_io_snapshot_get *req, struct raft_snapshot *snapshot, int status)
{
    get_req *g = req->data;
    struct raft_io_snapshot_get *orig = g->orig;
    raft_io_snapshot_get_cb cb = g->cb;
    crypt_io *c = find(g->io);
    free(g);
    if (status == 0 && snapshot && (!c || (status = open_snapshot(c, snapshot)) != 0)) {
        if (!status)
            status = RAFT_CANCELED;
        free_snapshot(snapshot);
        snapshot = NULL;
    }
    cb(orig, snapshot, status);
}

static int crypt_snapshot_get(struct raft_io *io, struct raft_io_snapshot_get *req, raft_io_snapshot_get_cb cb)
{
    crypt_io *c = find(io);
    get_req *g = calloc(1, sizeof *g);
    if (!c || !g) {
        free(g);
        return RAFT_NOMEM;
    }
    g->orig = req;
    g->cb = cb;
    g->io = io;
    req->cb = cb;
    g->req.data = g;
    int rv = c->snapshot_get(io, &g->req, get_done);
    if (rv != 0)
        free(g);
    return rv;
}

/* ---- load ------------------------------------------------------------------------ */

static int crypt_load(struct raft_io *io, raft_term *term, raft_id *voted_for, struct raft_snapshot **snapshot,
                      raft_index *start_index, struct raft_entry *entries[], size_t *n_entries)
{
    crypt_io *c = find(io);
    if (!c)
        return RAFT_NOMEM;
    int rv = c->load(io, term, voted_for, snapshot, start_index, entries, n_entries);
    if (rv != 0)
        return rv;
    struct raft_entry *es = *entries;
    size_t n = *n_entries;
    /* Each entry gets a buffer of its own (its own batch); the segments'
     * batches go once everything is opened. */
    void **batches = calloc(n ? n : 1, sizeof *batches);
    struct raft_buffer *plain = calloc(n ? n : 1, sizeof *plain);
    size_t nb = 0, done = 0;
    if (!batches || !plain)
        rv = RAFT_NOMEM;
    else
        rv = open_snapshot(c, *snapshot);
    for (size_t i = 0; rv == 0 && i < n; i++, done++) {
        if (es[i].type == RAFT_COMMAND) {
            rv = open_buf(c, &es[i].buf, &plain[i], "raft log entry", (unsigned long long)(*start_index + i));
        } else {
            plain[i].base = raft_malloc(es[i].buf.len ? es[i].buf.len : 1);
            plain[i].len = es[i].buf.len;
            if (!plain[i].base)
                rv = RAFT_NOMEM;
            else
                memcpy(plain[i].base, es[i].buf.base, es[i].buf.len);
        }
        if (rv != 0)
            break;
    }
    /* The loaded batches are released either way. */
    for (size_t i = 0; batches && i < n; i++) {
        void *b = es[i].batch ? es[i].batch : es[i].buf.base;
        bool seen = false;
        for (size_t k = 0; k < nb && !seen; k++)
            seen = batches[k] == b;
        if (!seen)
            batches[nb++] = b;
    }
    for (size_t i = 0; i < n; i++) {
        if (rv == 0) {
            es[i].buf = plain[i];
            es[i].batch = plain[i].base;
        } else if (plain && i < done) {
            raft_free(plain[i].base);
        }
    }
    for (size_t k = 0; k < nb; k++)
        raft_free(batches[k]);
    free(batches);
    free(plain);
    if (rv != 0) {
        raft_free(es);
        *entries = NULL;
        *n_entries = 0;
        free_snapshot(*snapshot);
        *snapshot = NULL;
    }
    return rv;
}

int cs_crypt_io_wrap(struct raft_io *io, const cs_keyring *k, berr *e)
{
    crypt_io *c = calloc(1, sizeof *c);
    if (!c)
        return berr_set(e, -ENOMEM, "out of memory");
    c->io = io;
    c->keys = *k;
    c->load = io->load;
    c->append = io->append;
    c->snapshot_put = io->snapshot_put;
    c->snapshot_get = io->snapshot_get;
    io->load = crypt_load;
    io->append = crypt_append;
    io->snapshot_put = crypt_snapshot_put;
    io->snapshot_get = crypt_snapshot_get;
    c->next = wrapped;
    wrapped = c;
    return 0;
}

const uint8_t *cs_crypt_io_dek(struct raft_io *io)
{
    crypt_io *c = find(io);
    return c ? c->keys.dek : NULL;
}

void cs_crypt_io_unwrap(struct raft_io *io)
{
    for (crypt_io **p = &wrapped; *p;) {
        crypt_io *c = *p;
        if (c->io == io) {
            *p = c->next;
            cs_keyring_clear(&c->keys);
            free(c);
        } else {
            p = &c->next;
        }
    }
}

int cs_crypt_io_open(struct raft_io *io, const char *dir, bool had_data, const char *unlock_key, berr *e)
{
    cs_keyring k;
    int rc = cs_keyring_load(dir, had_data, unlock_key, &k, e);
    if (rc == 0)
        rc = cs_crypt_io_wrap(io, &k, e);
    cs_keyring_clear(&k);
    return rc;
}

int cs_crypt_io_rewrap(struct raft_io *io, const char *dir, const char *unlock_key, berr *e)
{
    crypt_io *c = find(io);
    if (!c)
        return berr_set(e, -ENOENT, "cluster store: no keys");
    return cs_keyring_rewrap(dir, &c->keys, unlock_key, e);
}
