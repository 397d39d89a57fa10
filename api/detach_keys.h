/* The detach key sequence of attach and exec (default ctrl-p,ctrl-q):
 * bytes from the client pass through except the sequence, which detaches.
 * A partial match is held back until it either completes or breaks. */
#ifndef BERTH_API_DETACH_KEYS_H
#define BERTH_API_DETACH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

typedef struct detach_keys {
    unsigned char seq[16];
    size_t len;
    size_t matched;      /* bytes of seq seen and held back */
} detach_keys;

/* "ctrl-p,ctrl-q", "a,b", "ctrl-@"...; "" disables detaching.  -EINVAL
 * with Docker's message for a bad key. */
int detach_keys_parse(detach_keys *k, const char *spec, berr *e);

/* Feeds client bytes; appends what should reach stdin to out.  Returns
 * true when the sequence completed (the rest of data is dropped). */
bool detach_keys_feed(detach_keys *k, const char *data, size_t len, buf *out);

#endif
