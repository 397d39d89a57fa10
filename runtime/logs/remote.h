/* Logging drivers that send each line elsewhere: syslog, gelf, fluentd,
 * journald.  The encoders (remote_format.c) are pure functions over one
 * message; remote.c holds the sockets.  Sending never blocks the loop: the
 * sockets are non-blocking, what cannot be sent now waits in a buffer of
 * max-buffer-size (default 1 MiB) and what does not fit there is dropped
 * and counted, as dockerd's mode=non-blocking does. */
#ifndef BERTH_RUNTIME_LOGS_REMOTE_H
#define BERTH_RUNTIME_LOGS_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "runtime/logs/logfile.h"

/* What a driver may say about the container (dockerd's logger.Info). */
typedef struct rt_log_info {
    const char *id;          /* full container ID */
    const char *name;        /* without the leading '/' */
    const char *image_id;    /* sha256:... */
    const char *image_name;  /* as given to create */
    const char *command;     /* the command line, space separated */
    const char *created;     /* RFC 3339 */
    const char *hostname;    /* the daemon host's name */
    const char *daemon_name; /* "docker" in dockerd */
    json_t *labels;          /* Config.Labels */
    json_t *env;             /* Config.Env */
} rt_log_info;

/* One message as an encoder sees it: the line without its newline. */
typedef struct rt_log_msg {
    rt_log_stream stream;
    const char *line;
    size_t len;
    int64_t time_ns;
    bool partial;            /* the line was cut at 16 KiB (no newline) */
} rt_log_msg;

/* The tag template ({{.ID}}, {{.FullID}}, {{.Name}}, {{.ImageID}},
 * {{.ImageFullID}}, {{.ImageName}}, {{.DaemonName}}); NULL or "" gives
 * dflt.  Returns a new string, or NULL with e set for an unknown field. */
char *rt_log_tag(const char *tmpl, const char *dflt, const rt_log_info *info, berr *e);

/* Extra attributes picked by the labels/env options (and their -regex
 * forms): an object of strings. */
json_t *rt_log_extra_attrs(json_t *opts, const rt_log_info *info);

typedef enum rt_syslog_format { SYSLOG_DEFAULT, SYSLOG_UNIX, SYSLOG_RFC3164, SYSLOG_RFC5424, SYSLOG_RFC5424MICRO } rt_syslog_format;

/* facility: 0..23.  pid: the daemon's. */
void rt_syslog_encode(buf *out, rt_syslog_format f, int facility, const char *hostname, const char *tag, int pid,
                      const rt_log_msg *m);
/* A GELF 1.1 message as JSON (uncompressed). */
char *rt_gelf_encode(const rt_log_info *info, const char *tag, json_t *extra, const rt_log_msg *m);
/* Splits a compressed GELF payload into chunks for UDP (max 128 of
 * chunk_size bytes of data each); calls fn for each datagram. */
int rt_gelf_chunks(const unsigned char *data, size_t len, size_t chunk_size, const unsigned char id[8],
                   int (*fn)(void *arg, const unsigned char *d, size_t n), void *arg);
/* zlib (zlib=true) or gzip compression of data at level (-1: default). */
int rt_log_compress(const char *data, size_t len, bool zlib_format, int level, buf *out);
/* A fluentd forward-protocol Message: [tag, EventTime|int, record]. */
void rt_fluentd_encode(buf *out, const char *tag, const rt_log_info *info, json_t *extra, bool subsecond,
                       const rt_log_msg *m);
/* A journald native-protocol datagram. */
void rt_journald_encode(buf *out, const rt_log_info *info, const char *tag, json_t *extra, const rt_log_msg *m);

/* A running driver for one container. */
typedef struct rt_log_remote rt_log_remote;

/* Connects (tcp and unix streams with a 5 s timeout: a destination that is
 * down fails the start, as with dockerd, unless fluentd-async). */
int rt_log_remote_open(const char *driver, json_t *opts, const rt_log_info *info, rt_log_remote **out, berr *e);
void rt_log_remote_send(rt_log_remote *r, const rt_log_msg *m);
/* Lines dropped because the destination could not take them. */
uint64_t rt_log_remote_dropped(const rt_log_remote *r);
void rt_log_remote_close(rt_log_remote *r);

#endif
