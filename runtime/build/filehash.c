/* See filehash.h: a chained hash table of path -> digest, doubled when it
 * holds as many entries as buckets. */
#include "runtime/build/filehash.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/strhash.h"

typedef struct entry {
    struct entry *next;
    char digest[DIGEST_BUF];
    char path[];
} entry;

struct bc_filehash {
    pthread_mutex_t lock;
    entry **buckets;
    size_t n_buckets, n;
};

bc_filehash *bc_filehash_new(void)
{
    bc_filehash *h = xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->lock, NULL);
    h->n_buckets = 256;
    h->buckets = xcalloc(h->n_buckets, sizeof *h->buckets);
    return h;
}

void bc_filehash_free(bc_filehash *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_buckets; i++)
        for (entry *e = h->buckets[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    free(h->buckets);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static entry *find(bc_filehash *h, const char *path)
{
    for (entry *e = h->buckets[str_hash(path) % h->n_buckets]; e; e = e->next)
        if (!strcmp(e->path, path))
            return e;
    return NULL;
}

bool bc_filehash_get(bc_filehash *h, const char *path, char out[DIGEST_BUF])
{
    pthread_mutex_lock(&h->lock);
    entry *e = find(h, path);
    if (e)
        memcpy(out, e->digest, DIGEST_BUF);
    pthread_mutex_unlock(&h->lock);
    return e != NULL;
}

static void grow(bc_filehash *h)
{
    size_t nb = h->n_buckets * 2;
    entry **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < h->n_buckets; i++)
        for (entry *e = h->buckets[i], *n; e; e = n) {
            n = e->next;
            size_t k = str_hash(e->path) % nb;
            e->next = b[k];
            b[k] = e;
        }
    free(h->buckets);
    h->buckets = b;
    h->n_buckets = nb;
}

void bc_filehash_put(bc_filehash *h, const char *path, const char *digest)
{
    pthread_mutex_lock(&h->lock);
    if (!find(h, path)) {
        if (h->n >= h->n_buckets)
            grow(h);
        size_t len = strlen(path);
        entry *e = xmalloc(sizeof *e + len + 1);
        memcpy(e->path, path, len + 1);
        snprintf(e->digest, sizeof e->digest, "%s", digest);
        size_t k = str_hash(path) % h->n_buckets;
        e->next = h->buckets[k];
        h->buckets[k] = e;
        h->n++;
    }
    pthread_mutex_unlock(&h->lock);
}
