/* The option table shared by node/config.c (parsing, checks, reload) and
 * node/config_opts.c (the table itself).  Private to those two files. */
#ifndef BERTH_NODE_CONFIG_INTERNAL_H
#define BERTH_NODE_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "node/config.h"

typedef enum opt_type {
    T_STR,     /* string */
    T_BOOL,    /* boolean; a bare flag means true */
    T_LIST,    /* -H: char ** with n_hosts */
    T_LEVEL,   /* log level */
    T_INT,     /* integer (negative values are checked per option) */
    T_POOLS,   /* default-address-pools */
    T_SLIST,   /* repeatable flag / array of strings: json_t array */
    T_MAP,     /* repeatable k=v flag / object of strings: json_t object */
    T_ULIMITS, /* name=soft[:hard] flag / {name: {Name, Soft, Hard}} */
    T_BYTES,   /* a size such as 64M (flag and file take the same text) */
    T_OBJ,     /* an object given only in the file (features, runtimes, builder...) */
    T_PROXIES, /* "proxies": {"http-proxy", "https-proxy", "no-proxy"} */
} opt_type;

/* off for options that have no field: their value goes to c->ignored. */
#define OPT_NO_FIELD SIZE_MAX

typedef struct opt_def {
    const char *flag;       /* long flag name without "--", or NULL for file-only keys */
    char shorthand;         /* one-letter flag or 0 */
    const char *key;        /* daemon.json key, or NULL for flag-only options */
    opt_type type;
    size_t off;             /* offset of the field in berth_config, or OPT_NO_FIELD */
    bool reloadable;        /* SIGHUP re-applies it from the file */
    const char *help;
    const char *ignored;    /* NULL: berthd acts on it; else why it is accepted and ignored */
} opt_def;

extern const opt_def config_opts[];
extern const size_t config_n_opts;

#define FIELD(c, o, type) ((type *)((char *)(c) + (o)->off))

/* node/config_check.c: the parsers of structured values and the checks
 * run on a loaded configuration, in dockerd's words. */
int config_parse_bytes(const char *s, long *out);
int config_parse_ulimit(const char *s, json_t **name_and_limit, berr *e);
int config_check_ulimits(json_t *v, berr *e);
/* Per-option checks that need no other option (also run on SIGHUP). */
int config_check_values(berth_config *c, berr *e);
/* Checks that combine options (listeners and TLS, roots, paths). */
int config_check_combined(berth_config *c, berr *e);

#endif
