/* A growable byte buffer, always NUL-terminated so text can be used as a C
 * string.  Allocation failure aborts: the daemon cannot do anything useful
 * without memory, and every caller checking would hide the real logic. */
#ifndef BERTH_LIB_BUF_H
#define BERTH_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;    /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}

void buf_append(buf *b, const void *data, size_t len);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
void buf_reset(buf *b);             /* len = 0, keeps the allocation */
void buf_free(buf *b);              /* releases the allocation */
/* Hands the (NUL-terminated) data to the caller, who frees it; b is emptied.
 * Never returns NULL. */
char *buf_steal(buf *b);

static inline void cleanup_bufp(buf *b) { buf_free(b); }
#define cleanup_buf __attribute__((cleanup(cleanup_bufp)))

/* Allocation helpers that abort on failure (see above). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
