/* A running container's stdio: pipes (or a pty with Tty), the json-file
 * log, and the attached clients (sinks), all driven from the loop.
 *
 * Output is read as it comes (uv_poll on our ends), written to the log and
 * to every sink that wants that stream.  Input from attached clients goes
 * to the container's stdin (non-blocking, buffered).  When the container
 * exits the remaining output is drained, sinks are told, and everything is
 * closed. */
#ifndef BERTH_RUNTIME_CONTAINER_IO_H
#define BERTH_RUNTIME_CONTAINER_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/container/container.h"

typedef struct rt_io_sink {
    bool want_stdout, want_stderr;
    /* stream is 1 (stdout) or 2 (stderr); with a TTY everything is 1. */
    void (*write)(void *ctx, int stream, const char *data, size_t len);
    /* The container's output ended (it exited); the sink is dropped. */
    void (*ended)(void *ctx);
    void *ctx;
    struct rt_io_sink *next;
} rt_io_sink;

typedef struct rt_io rt_io;

/* Makes pipes and opens the log per HostConfig.LogConfig.
 * child[3] receives the fds the container gets as 0, 1, 2 (the caller
 * passes them to rt_spawn; rt_io closes them in rt_io_started).  With Tty
 * there is no pty yet: child[] is all -1, and the terminal rt_spawn makes
 * in the container (console_master) is handed over with rt_io_set_console
 * before rt_io_started. */
int rt_io_open(rt_containers *m, rt_container *c, int child[3], berr *e);
/* The pty master of a Tty container; io takes ownership of master. */
void rt_io_set_console(rt_io *io, int master);
/* The same without a log, for exec: *out is set, and cleared again when
 * the io is closed.  ptmx (with tty) is the pty multiplexer to use; NULL
 * means the master comes later, with rt_io_set_console, as for rt_io_open. */
int rt_io_open_plain(uv_loop_t *loop, const char *id, bool tty, const char *ptmx, bool open_stdin, int child[3],
                     struct rt_io **out, berr *e);
/* The container is running: close the child's ends, start reading. */
void rt_io_started(rt_io *io);
/* The container exited: drain, end sinks, close.  io is freed. */
void rt_io_close(rt_io *io);

/* Live restore (runtime/container/monitor.c).  The daemon's ends: stdout
 * (or the pty master), stderr, stdin; -1 where there is none. */
void rt_io_monitor_fds(const rt_io *io, int fds[3]);
/* fn(ctx) once the daemon has closed the container's stdin: the monitor's
 * copy of it must go too, or the container never reads EOF. */
void rt_io_on_stdin_closed(rt_io *io, void (*fn)(void *ctx), void *ctx);
/* Closes io of a container left running at a daemon stop: nothing is
 * drained (what is unread is the next daemon's), sinks are ended. */
void rt_io_detach(rt_io *io);
/* The io of a container found running at daemon start, on the ends its
 * monitor kept (fds as rt_io_monitor_fds gives them; io owns them): the
 * log is opened for appending and reading starts. */
int rt_io_adopt(rt_containers *m, rt_container *c, const int fds[3], berr *e);

/* Attaches s to c's output: now if it runs, else from its next start. */
void rt_container_attach_sink(rt_container *c, rt_io_sink *s);
void rt_container_detach_sink(rt_container *c, rt_io_sink *s);

void rt_io_add_sink(rt_io *io, rt_io_sink *s);
void rt_io_remove_sink(rt_io *io, rt_io_sink *s);

/* stdin: bytes from a client; EOF closes the container's stdin. */
void rt_io_stdin_write(rt_io *io, const char *data, size_t len);
void rt_io_stdin_close(rt_io *io);
bool rt_io_has_stdin(const rt_io *io);

/* TIOCSWINSZ on the pty; -EINVAL without a TTY. */
int rt_io_resize(rt_io *io, unsigned height, unsigned width, berr *e);

/* The log file path of c (<container dir>/<id>-json.log). */
void rt_io_log_path(rt_containers *m, const rt_container *c, char *out);

#endif
