/* Live restore: the daemon's side of a container's monitor
 * (runtime/container/monitor.c) and the restore at daemon start and the
 * leaving at daemon stop (runtime/container/restore.c). */
#ifndef BERTH_RUNTIME_CONTAINER_MONITOR_H
#define BERTH_RUNTIME_CONTAINER_MONITOR_H

#include <stdbool.h>

#include "runtime/container/container.h"

/* Starts go under a monitor (live-restore on, berth-init found). */
bool rt_monitor_wanted(const rt_containers *m);
/* The listening socket rt_spawn gives the monitor (caller closes it after). */
int rt_monitor_listen(rt_containers *m, rt_container *c, int *listen_fd, berr *e);
/* After a successful spawn: connects, hands over c->io's ends, watches for the exit. */
int rt_monitor_attach(rt_containers *m, rt_container *c, berr *e);
/* At daemon start: connects to c's monitor and takes its state and the
 * ends it held (fds by RT_MONITOR_FD_*, -1 where none); the exit is
 * watched from rt_monitor_watch on. */
int rt_monitor_reconnect(rt_containers *m, rt_container *c, int *pid, bool *exited, int *code, int fds[3], berr *e);
void rt_monitor_watch(rt_container *c);
/* Closes the connection: the monitor waits for the next daemon. */
void rt_monitor_detach(rt_container *c);
/* The run is over and its exit saved (or it never started): the monitor
 * is told to go (DONE), the connection and the socket go. */
void rt_monitor_release(rt_containers *m, rt_container *c);
/* A monitor of c found at start that is not to be restored: killed. */
void rt_monitor_discard(rt_containers *m, rt_container *c);

/* restore.c: c was recorded running; true if its process was found under
 * its monitor and taken over (or its exit, if it came while we were down,
 * handled). */
bool rt_container_restore(rt_containers *m, rt_container *c);
/* At daemon stop with live-restore: c keeps running; the daemon lets go
 * of it without a state change. */
void rt_container_leave_running(rt_containers *m, rt_container *c);

#endif
