/* docker top: the host's ps, run with the client's arguments and filtered
 * to the rows of a container's processes, as dockerd does it.
 *
 * ps runs in a worker thread (rt_top_run): spawning and reading it takes a
 * few milliseconds, and a wedged ps is killed after RT_TOP_TIMEOUT_MS, so
 * the loop never waits on it. */
#ifndef BERTH_RUNTIME_TOP_H
#define BERTH_RUNTIME_TOP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "lib/err.h"

#define RT_TOP_TIMEOUT_MS 10000
/* More ps output than this is refused rather than buffered. */
#define RT_TOP_MAX_OUTPUT (16u << 20)

/* Checks ps_args before they reach ps: only letters, digits, spaces and
 * "-,=%" (ps is exec'd without a shell, but nothing else is needed), and
 * dockerd's rule that no column but "pid" may be renamed to "PID..." (that
 * would fool the PID column lookup).  -EINVAL with dockerd's wording. */
int rt_top_check_args(const char *ps_args, berr *e);

/* ps's output -> {"Titles": [...], "Processes": [[...], ...]}: the header's
 * words are the titles; a row is kept when its PID is one of pids (a row
 * whose PID is "-", a thread line of `ps m`, follows the process before
 * it); words beyond the titles are joined into the last column.  *out is
 * owned by the caller.  -EINVAL "Couldn't find PID field in ps output" or
 * "Unexpected pid ...". */
int rt_top_parse(const char *output, const pid_t *pids, size_t n, json_t **out, berr *e);

/* Called on the loop with ps's standard output (owned by the callee), or
 * status < 0 and e (the first line ps wrote to stderr). */
typedef void (*rt_top_fn)(void *arg, int status, const berr *e, char *output);

/* Runs `ps <ps_args> -q<pids>` in a worker, and without -q again if ps
 * refuses that combination (forest listings), as dockerd does.  ps_args
 * must have passed rt_top_check_args; "" means "-ef".  pids is copied. */
void rt_top_run(uv_loop_t *loop, const char *ps_args, const pid_t *pids, size_t n, rt_top_fn done, void *arg);

#endif
