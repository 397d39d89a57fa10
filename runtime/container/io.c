#include "runtime/container/io.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "runtime/logs/driver.h"
#include "runtime/logs/logfile.h"
#include "runtime/logs/remote.h"

struct rt_io {
    uv_loop_t *loop;
    char name[16];             /* for log messages: short container or exec ID */
    rt_io **slot;              /* the owner's pointer, cleared at close */
    bool tty;
    bool open_stdin;           /* the tty's master also takes our stdin */
    int child[3];              /* the container's ends, closed once it runs */
    int in_fd;                 /* our end of stdin (pipe write end or pty master), -1 */
    int out_fd, err_fd;        /* our read ends (out_fd is the pty master with a TTY) */
    uv_poll_t out_poll, err_poll, in_poll;
    bool out_polling, err_polling, in_polling;
    buf in_pending;
    bool in_close_pending;     /* close stdin once in_pending is written */
    rt_logfile *log;
    struct rt_log_remote *remote; /* syslog, gelf, fluentd, journald: fed by log's line cutting */
    rt_io_sink *sinks;
    int handles_open;
    bool detaching;            /* live restore: the output stays in the pipes for the next daemon */
    void (*stdin_closed)(void *ctx);   /* live restore: the monitor lets go of its copy */
    void *stdin_closed_ctx;
};

void rt_io_log_path(rt_containers *m, const rt_container *c, char *out)
{
    const char *type = json_str(json_object_get(c->host_config, "LogConfig"), "Type");
    if (!strcmp(type, "local"))   /* dockerd's place for it */
        snprintf(out, PATH_MAX, "%s/%s/local-logs/container.log", m->containers_dir, c->id);
    else
        snprintf(out, PATH_MAX, "%s/%s/%s-json.log", m->containers_dir, c->id, c->id);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int parse_rotation(json_t *opts, const char *size_key, const char *file_key, int64_t dflt_size,
                          int dflt_file, int64_t *max_size, int *max_file, berr *e)
{
    *max_size = dflt_size;
    *max_file = dflt_file;
    const char *ms = json_string_value(json_object_get(opts, size_key));
    const char *mf = json_string_value(json_object_get(opts, file_key));
    if (ms && rt_log_parse_size(ms, max_size) < 0)
        return berr_set(e, -EINVAL, "invalid %s for log: %s", size_key, ms);
    if (mf) {
        char *end;
        long v = strtol(mf, &end, 10);
        if (*end || v < 1)
            return berr_set(e, -EINVAL, "%s cannot be less than 1", file_key);
        *max_file = (int)v;
    }
    return 0;
}

static void forward_line(void *arg, rt_log_stream s, const char *line, size_t len, int64_t time_ns)
{
    bool complete = len && line[len - 1] == '\n';
    rt_log_msg msg = {.stream = s, .line = line, .len = complete ? len - 1 : len, .time_ns = time_ns,
                      .partial = !complete};
    rt_log_remote_send(arg, &msg);
}

/* The container's command line for the drivers that report it. */
static char *command_line(const rt_container *c)
{
    buf b = BUF_INIT;
    buf_puts(&b, "");
    static const char *const keys[] = {"Entrypoint", "Cmd"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(c->config, keys[k]), i, v)
            buf_printf(&b, "%s%s", b.len ? " " : "", json_string_value(v) ? json_string_value(v) : "");
    }
    return b.data;
}

static int open_remote(rt_io *io, rt_container *c, const char *type, json_t *opts, berr *e)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cleanup_free char *cmd = command_line(c);
    rt_log_info info = {
        .id = c->id, .name = c->name, .image_id = c->image_id, .image_name = json_str(c->config, "Image"),
        .command = cmd, .created = c->created, .hostname = host, .daemon_name = "docker",
        .labels = json_object_get(c->config, "Labels"), .env = json_object_get(c->config, "Env"),
    };
    int r = rt_log_remote_open(type, opts, &info, &io->remote, e);
    if (r == 0)
        rt_logfile_set_forward(io->log, forward_line, io->remote);
    return r;
}

/* json-file and local write the file docker logs reads; the remote
 * drivers send each line and keep the same file as dockerd's dual-logging
 * cache (cache-max-size 20m, cache-max-file 5), unless cache-disabled. */
static int open_log(rt_io *io, rt_containers *m, rt_container *c, berr *e)
{
    json_t *lc = json_object_get(c->host_config, "LogConfig");
    const char *type = json_string_value(json_object_get(lc, "Type"));
    if (!type || !*type)
        type = "json-file";
    if (strcmp(type, "none") == 0)
        return 0;
    json_t *opts = json_object_get(lc, "Config");
    int r = rt_logdriver_validate(type, opts, e);
    if (r < 0)
        return r;
    int64_t max_size;
    int max_file;
    char path[PATH_MAX];
    rt_io_log_path(m, c, path);
    if (strcmp(type, "json-file") == 0)
        r = parse_rotation(opts, "max-size", "max-file", 0, 1, &max_size, &max_file, e);
    else if (strcmp(type, "local") == 0)
        r = parse_rotation(opts, "max-size", "max-file", 20 << 20, 5, &max_size, &max_file, e);
    else
        r = parse_rotation(opts, "cache-max-size", "cache-max-file", 20 << 20, 5, &max_size, &max_file, e);
    if (r < 0)
        return r;
    bool remote = !rt_logdriver_readable(type);
    const char *cd = json_string_value(json_object_get(opts, "cache-disabled"));
    bool no_cache = remote && cd && strcmp(cd, "true") == 0;
    bool local = strcmp(type, "local") == 0;
    if (local) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s/local-logs", m->containers_dir, c->id);
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
            return berr_sys(e, -errno, "mkdir %s", dir);
    }
    r = rt_logfile_open(no_cache ? NULL : path, max_size, max_file, &io->log, e);
    if (r == 0 && local) {
        /* the local driver compresses rotated files unless told not to */
        const char *cz = json_string_value(json_object_get(opts, "compress"));
        rt_logfile_set_local(io->log, !cz || rt_log_parse_bool(cz) != 0);
    }
    if (r == 0 && remote)
        r = open_remote(io, c, type, opts, e);
    return r;
}

/* The pty's master is our output and, with open stdin, our input too. */
static void take_master(rt_io *io, int master)
{
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    io->out_fd = master;
    if (io->open_stdin) {
        io->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
        if (io->in_fd < 0)
            log_warn("container %s: stdin: %s", io->name, strerror(errno));
    }
}

/* ptmx: the multiplexer to open.  An exec passes its container's
 * (/proc/<pid>/root/dev/pts/ptmx), so the terminal lives in the container's
 * devpts and `tty` finds it there.  The peer is taken with TIOCGPTPEER,
 * never by a path the container could swap. */
static int make_pty(rt_io *io, const char *ptmx, berr *e)
{
    int master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (master < 0)
        return berr_sys(e, -errno, "open pty %s", ptmx);
    struct stat st;
    if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
        /* the container controls that path: only a real ptmx will do */
        close(master);
        return berr_set(e, -EPERM, "%s is not a pty multiplexer", ptmx);
    }
    if (unlockpt(master) < 0) {
        int r = -errno;
        close(master);
        return berr_sys(e, r, "set up pty");
    }
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        int r = -errno;
        close(master);
        return berr_sys(e, r, "open the pty's peer");
    }
    take_master(io, master);
    io->child[0] = slave;
    io->child[1] = dup(slave);
    io->child[2] = dup(slave);
    return 0;
}

static int make_pipes(rt_io *io, bool open_stdin, berr *e)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return berr_sys(e, -errno, "pipe");
    if (pipe2(err, O_CLOEXEC) < 0) {
        int r = -errno;
        close(out[0]);
        close(out[1]);
        return berr_sys(e, r, "pipe");
    }
    io->out_fd = out[0];
    io->err_fd = err[0];
    io->child[1] = out[1];
    io->child[2] = err[1];
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    if (open_stdin) {
        int in[2];
        if (pipe2(in, O_CLOEXEC) < 0)
            return berr_sys(e, -errno, "pipe");
        io->child[0] = in[0];
        io->in_fd = in[1];
        fcntl(in[1], F_SETFL, O_NONBLOCK);
    } else {
        io->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    return 0;
}

static rt_io *io_new(uv_loop_t *loop, const char *id)
{
    rt_io *io = xcalloc(1, sizeof *io);
    io->loop = loop;
    snprintf(io->name, sizeof io->name, "%.12s", id);
    io->in_fd = io->out_fd = io->err_fd = -1;
    io->child[0] = io->child[1] = io->child[2] = -1;
    return io;
}

/* A container's own tty (no ptmx) comes later from rt_io_set_console. */
static int io_setup(rt_io *io, bool tty, const char *ptmx, bool open_stdin, int child[3], berr *e)
{
    io->tty = tty;
    io->open_stdin = open_stdin;
    int r = !tty ? make_pipes(io, open_stdin, e) : ptmx ? make_pty(io, ptmx, e) : 0;
    if (r < 0)
        return r;
    memcpy(child, io->child, sizeof io->child);
    return 0;
}

void rt_io_set_console(rt_io *io, int master)
{
    if (io->out_fd >= 0)
        close(io->out_fd);
    if (io->in_fd >= 0)
        close(io->in_fd);
    io->in_fd = -1;
    take_master(io, master);
}

static void io_discard(rt_io *io)
{
    for (int i = 0; i < 3; i++)
        if (io->child[i] >= 0)
            close(io->child[i]);
    if (io->in_fd >= 0)
        close(io->in_fd);
    if (io->out_fd >= 0)
        close(io->out_fd);
    if (io->err_fd >= 0)
        close(io->err_fd);
    rt_logfile_close(io->log);
    rt_log_remote_close(io->remote);
    free(io);
}

int rt_io_open(rt_containers *m, rt_container *c, int child[3], berr *e)
{
    rt_io *io = io_new(m->loop, c->id);
    int r = open_log(io, m, c, e);
    if (r == 0)
        r = io_setup(io, json_is_true(json_object_get(c->config, "Tty")), NULL,
                     json_is_true(json_object_get(c->config, "OpenStdin")), child, e);
    if (r < 0) {
        io_discard(io);
        return r;
    }
    io->slot = &c->io;
    c->io = io;
    /* clients that attached before the start see output from the first byte */
    while (c->pending_sinks) {
        rt_io_sink *s = c->pending_sinks;
        c->pending_sinks = s->next;
        rt_io_add_sink(io, s);
    }
    return 0;
}

int rt_io_adopt(rt_containers *m, rt_container *c, const int fds[3], berr *e)
{
    rt_io *io = io_new(m->loop, c->id);
    io->tty = json_is_true(json_object_get(c->config, "Tty"));
    io->open_stdin = json_is_true(json_object_get(c->config, "OpenStdin"));
    int r = open_log(io, m, c, e);
    if (r < 0) {
        io_discard(io);
        return r;
    }
    io->out_fd = fds[0];
    io->err_fd = fds[1];
    io->in_fd = fds[2];
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    io->slot = &c->io;
    c->io = io;
    rt_io_started(io);
    return 0;
}

void rt_io_monitor_fds(const rt_io *io, int fds[3])
{
    fds[0] = io->out_fd;
    fds[1] = io->err_fd;
    fds[2] = io->in_fd;
}

void rt_io_on_stdin_closed(rt_io *io, void (*fn)(void *ctx), void *ctx)
{
    io->stdin_closed = fn;
    io->stdin_closed_ctx = ctx;
}

void rt_io_detach(rt_io *io)
{
    io->detaching = true;
    rt_io_close(io);
}

int rt_io_open_plain(uv_loop_t *loop, const char *id, bool tty, const char *ptmx, bool open_stdin, int child[3],
                     rt_io **out, berr *e)
{
    rt_io *io = io_new(loop, id);
    int r = io_setup(io, tty, ptmx, open_stdin, child, e);
    if (r < 0) {
        io_discard(io);
        return r;
    }
    io->slot = out;
    *out = io;
    return 0;
}

/* ---- output ------------------------------------------------------------- */

static void deliver(rt_io *io, int stream, const char *data, size_t len)
{
    if (io->log) {
        berr e = {0};
        if (rt_logfile_write(io->log, stream == 2 ? RT_LOG_STDERR : RT_LOG_STDOUT, data, len, now_ns(), &e) < 0)
            log_warn("container %s: log: %s", io->name, e.msg);
    }
    for (rt_io_sink *s = io->sinks, *next; s; s = next) {
        next = s->next;   /* a sink may remove itself */
        if ((stream == 1 && s->want_stdout) || (stream == 2 && s->want_stderr))
            s->write(s->ctx, stream, data, len);
    }
}

/* Reads what is there, a bounded amount at a time: a container that writes
 * as fast as we read would otherwise keep the loop here for good, and every
 * other client would wait (seen with `while :; do echo spam; done`).  The
 * poll is level-triggered, so the rest is read on the next turn of the
 * loop.  At close the writers are gone and everything left is read
 * (max_blocks 0).  Returns false at EOF or error. */
#define DRAIN_BLOCKS 4

static bool drain(rt_io *io, int fd, int stream, int max_blocks)
{
    char block[32 * 1024];
    for (int blocks = 0; !max_blocks || blocks < max_blocks;) {
        ssize_t n = read(fd, block, sizeof block);
        if (n > 0) {
            deliver(io, stream, block, (size_t)n);
            blocks++;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN;
    }
    return true;
}

static void on_output(uv_poll_t *p, int status, int events)
{
    (void)events;
    rt_io *io = p->data;
    bool is_err = p == &io->err_poll;
    int fd = is_err ? io->err_fd : io->out_fd;
    if (status < 0 || !drain(io, fd, is_err ? 2 : 1, DRAIN_BLOCKS)) {
        uv_poll_stop(p);
        if (is_err)
            io->err_polling = false;
        else
            io->out_polling = false;
    }
}

/* ---- input -------------------------------------------------------------- */

static void stdin_close_now(rt_io *io)
{
    if (io->in_polling) {
        uv_poll_stop(&io->in_poll);
        io->in_polling = false;
    }
    if (io->in_fd >= 0 && !io->tty)
        close(io->in_fd);
    else if (io->in_fd >= 0 && io->tty) {
        /* A pty has no half-close: send EOF as the line discipline knows it. */
        char eot = 4;
        if (write(io->in_fd, &eot, 1) < 0)
            log_debug("%s: stdin EOF: %s", io->name, strerror(errno));
        close(io->in_fd);
    }
    io->in_fd = -1;
    buf_free(&io->in_pending);
    if (io->stdin_closed)
        io->stdin_closed(io->stdin_closed_ctx);
}

static void stdin_flush(rt_io *io);

static void on_stdin_writable(uv_poll_t *p, int status, int events)
{
    (void)events;
    rt_io *io = p->data;
    if (status < 0) {
        stdin_close_now(io);
        return;
    }
    stdin_flush(io);
}

static void stdin_flush(rt_io *io)
{
    size_t off = 0;
    while (off < io->in_pending.len) {
        ssize_t n = write(io->in_fd, io->in_pending.data + off, io->in_pending.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {   /* the container closed its stdin */
            stdin_close_now(io);
            return;
        }
        off += (size_t)n;
    }
    if (off) {
        memmove(io->in_pending.data, io->in_pending.data + off, io->in_pending.len - off);
        io->in_pending.len -= off;
    }
    if (io->in_pending.len == 0) {
        if (io->in_polling) {
            uv_poll_stop(&io->in_poll);
            io->in_polling = false;
        }
        if (io->in_close_pending)
            stdin_close_now(io);
        return;
    }
    if (!io->in_polling) {
        uv_poll_start(&io->in_poll, UV_WRITABLE, on_stdin_writable);
        io->in_polling = true;
    }
}

bool rt_io_has_stdin(const rt_io *io) { return io && io->in_fd >= 0; }

void rt_io_stdin_write(rt_io *io, const char *data, size_t len)
{
    if (!io || io->in_fd < 0 || io->in_close_pending)
        return;
    buf_append(&io->in_pending, data, len);
    stdin_flush(io);
}

void rt_io_stdin_close(rt_io *io)
{
    if (!io || io->in_fd < 0)
        return;
    io->in_close_pending = true;
    stdin_flush(io);
}

int rt_io_resize(rt_io *io, unsigned height, unsigned width, berr *e)
{
    if (!io || !io->tty)
        return berr_set(e, -EINVAL, "the container has no TTY");
    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
    if (ioctl(io->out_fd, TIOCSWINSZ, &ws) < 0)
        return berr_sys(e, -errno, "resize tty");
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

void rt_io_started(rt_io *io)
{
    for (int i = 0; i < 3; i++) {
        if (io->child[i] >= 0)
            close(io->child[i]);
        io->child[i] = -1;
    }
    uv_poll_init(io->loop, &io->out_poll, io->out_fd);
    io->out_poll.data = io;
    uv_poll_start(&io->out_poll, UV_READABLE, on_output);
    io->out_polling = true;
    io->handles_open = 1;
    if (io->err_fd >= 0) {
        uv_poll_init(io->loop, &io->err_poll, io->err_fd);
        io->err_poll.data = io;
        uv_poll_start(&io->err_poll, UV_READABLE, on_output);
        io->err_polling = true;
        io->handles_open++;
    }
    if (io->in_fd >= 0) {
        uv_poll_init(io->loop, &io->in_poll, io->in_fd);
        io->in_poll.data = io;
        io->handles_open++;
    }
}

static void on_closed(uv_handle_t *h)
{
    rt_io *io = h->data;
    if (--io->handles_open > 0)
        return;
    free(io);
}

void rt_io_add_sink(rt_io *io, rt_io_sink *s)
{
    s->next = io->sinks;
    io->sinks = s;
}

void rt_io_remove_sink(rt_io *io, rt_io_sink *s)
{
    for (rt_io_sink **p = &io->sinks; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

void rt_container_attach_sink(rt_container *c, rt_io_sink *s)
{
    if (c->io) {
        rt_io_add_sink(c->io, s);
        return;
    }
    s->next = c->pending_sinks;
    c->pending_sinks = s;
}

void rt_container_detach_sink(rt_container *c, rt_io_sink *s)
{
    if (c->io)
        rt_io_remove_sink(c->io, s);
    for (rt_io_sink **p = &c->pending_sinks; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

void rt_io_close(rt_io *io)
{
    /* What the container wrote before it died is still in the pipes; one
     * left running keeps writing, and the next daemon reads on. */
    if (io->out_fd >= 0 && !io->detaching)
        drain(io, io->out_fd, 1, 0);
    if (io->err_fd >= 0 && !io->detaching)
        drain(io, io->err_fd, 2, 0);
    if (io->log) {
        rt_logfile_flush(io->log, NULL);
        rt_logfile_close(io->log);
        io->log = NULL;
    }
    rt_log_remote_close(io->remote);
    io->remote = NULL;
    rt_io_sink *s = io->sinks;
    io->sinks = NULL;
    while (s) {
        rt_io_sink *next = s->next;
        if (s->ended)
            s->ended(s->ctx);
        s = next;
    }
    if (io->slot)
        *io->slot = NULL;
    bool started = io->handles_open > 0;
    for (int i = 0; i < 3; i++)
        if (io->child[i] >= 0)
            close(io->child[i]);
    if (io->in_fd >= 0) {
        if (io->in_polling)
            uv_poll_stop(&io->in_poll);
        close(io->in_fd);
    }
    buf_free(&io->in_pending);
    if (!started) {
        if (io->out_fd >= 0)
            close(io->out_fd);
        if (io->err_fd >= 0)
            close(io->err_fd);
        free(io);
        return;
    }
    uv_close((uv_handle_t *)&io->out_poll, on_closed);
    close(io->out_fd);
    if (io->err_fd >= 0) {
        uv_close((uv_handle_t *)&io->err_poll, on_closed);
        close(io->err_fd);
    }
    if (io->handles_open > (io->err_fd >= 0 ? 2 : 1))
        uv_close((uv_handle_t *)&io->in_poll, on_closed);
}
