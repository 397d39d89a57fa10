/* docker top: argument checks, running ps, and reading its table. */
#include "runtime/linux/top.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

extern char **environ;

/* ---- arguments ------------------------------------------------------------ */

static bool arg_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == ',' || c == '=' || c == '%' || c == ' ';
}

int rt_top_check_args(const char *ps_args, berr *e)
{
    for (const char *p = ps_args; *p; p++)
        if (!arg_char_ok(*p))
            return berr_set(e, -EINVAL,
                            "invalid ps_args \"%s\": only letters, digits, spaces and '-', ',', '=', '%%' are allowed",
                            ps_args);
    /* dockerd refuses `\s+(\S*)=\s*(PID\S*)` unless the key is "pid": a
     * column renamed to PID would be taken for the PID column. */
    for (const char *p = ps_args; *p;) {
        if (*p != ' ') {
            p++;
            continue;
        }
        while (*p == ' ')
            p++;
        const char *tok = p;
        size_t len = strcspn(tok, " ");
        /* the last '=' in the word, as the greedy \S* takes it */
        const char *eq = NULL;
        for (const char *q = tok; q < tok + len; q++)
            if (*q == '=')
                eq = q;
        if (eq) {
            const char *val = eq + 1;
            while (*val == ' ')
                val++;
            if (strncmp(val, "PID", 3) == 0) {
                size_t klen = (size_t)(eq - tok);
                size_t vlen = strcspn(val, " ");
                if (klen != 3 || strncmp(tok, "pid", 3) != 0)
                    return berr_set(e, -EINVAL, "specifying \"%.*s=%.*s\" is not allowed", (int)klen, tok, (int)vlen,
                                    val);
            }
        }
        p = tok + len;
    }
    return 0;
}

/* ---- parsing ps's table ----------------------------------------------------- */

static bool ascii_space(char c) { return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '; }

/* Go's strings.FieldsFunc on ASCII whitespace (dockerd's fieldsASCII). */
static json_t *fields(const char *line, size_t len)
{
    json_t *out = json_array();
    size_t i = 0;
    while (i < len) {
        while (i < len && ascii_space(line[i]))
            i++;
        size_t start = i;
        while (i < len && !ascii_space(line[i]))
            i++;
        if (i > start)
            json_array_append_new(out, json_stringn(line + start, i - start));
    }
    return out;
}

/* A row as dockerd's appendProcess2ProcList shapes it: one column per title,
 * words beyond the last title joined with spaces into the last column. */
static json_t *row(json_t *f, size_t ntitles)
{
    json_t *out = json_array();
    size_t nf = json_array_size(f);
    for (size_t i = 0; i + 1 < ntitles; i++)
        json_array_append_new(out, json_string(i < nf ? json_string_value(json_array_get(f, i)) : ""));
    buf last = BUF_INIT;
    for (size_t i = ntitles - 1; i < nf; i++)
        buf_printf(&last, "%s%s", i > ntitles - 1 ? " " : "", json_string_value(json_array_get(f, i)));
    json_array_append_new(out, json_string(last.data ? last.data : ""));
    buf_free(&last);
    return out;
}

static bool has_pid(const pid_t *pids, size_t n, long p)
{
    for (size_t i = 0; i < n; i++)
        if ((long)pids[i] == p)
            return true;
    return false;
}

int rt_top_parse(const char *output, const pid_t *pids, size_t n, json_t **out, berr *e)
{
    *out = NULL;
    const char *nl = strchr(output, '\n');
    size_t hlen = nl ? (size_t)(nl - output) : strlen(output);
    json_t *titles = fields(output, hlen);
    size_t ntitles = json_array_size(titles);
    size_t pid_index = SIZE_MAX;
    for (size_t i = 0; i < ntitles; i++)
        if (strcmp(json_string_value(json_array_get(titles, i)), "PID") == 0) {
            pid_index = i;
            break;
        }
    if (pid_index == SIZE_MAX) {
        json_decref(titles);
        return berr_set(e, -EINVAL, "Couldn't find PID field in ps output");
    }
    json_t *procs = json_array();
    bool prev_contained = false;
    for (const char *line = nl ? nl + 1 : NULL; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        json_t *f = fields(line, len);
        line = end ? end + 1 : NULL;
        if (json_array_size(f) <= pid_index) {
            json_decref(f);
            continue;   /* a blank line, or one too short to have a PID */
        }
        const char *pid_s = json_string_value(json_array_get(f, pid_index));
        if (strcmp(pid_s, "-") == 0) {
            /* a thread line (`ps m`) belongs to the process above it */
            if (prev_contained)
                json_array_append_new(procs, row(f, ntitles));
            json_decref(f);
            continue;
        }
        char *endp;
        errno = 0;
        long p = strtol(pid_s, &endp, 10);
        if (!*pid_s || *endp || errno) {
            berr_set(e, -EINVAL, "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax", pid_s, pid_s);
            json_decref(f);
            json_decref(titles);
            json_decref(procs);
            return -EINVAL;
        }
        prev_contained = has_pid(pids, n, p);
        if (prev_contained)
            json_array_append_new(procs, row(f, ntitles));
        json_decref(f);
    }
    *out = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
    return 0;
}

/* ---- running ps --------------------------------------------------------------- */

typedef struct top_job {
    uv_work_t work;
    char **argv;         /* "ps", the client's words, "-q<pids>", NULL */
    size_t argc;         /* without the -q word */
    rt_top_fn done;
    void *arg;
    int status;
    berr e;
    buf out;
} top_job;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs argv, collecting stdout into out and stderr into err; *exit_status
 * is waitpid's status.  Runs in a worker thread. */
static int run_capture(char *const *argv, buf *out, buf *err, int *exit_status, berr *e)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int rc = berr_sys(e, -errno, "ps: pipe");
        for (int i = 0; i < 2; i++) {
            if (po[i] >= 0)
                close(po[i]);
            if (pe[i] >= 0)
                close(pe[i]);
        }
        return rc;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    /* A worker thread's mask and the daemon's ignored SIGPIPE would be
     * inherited: ps gets the defaults a shell would give it. */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        return berr_sys(e, -rc, "ps: exec: \"%s\"", argv[0]);
    }
    struct pollfd fds[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    buf *sinks[2] = {out, err};
    uint64_t deadline = now_ms() + RT_TOP_TIMEOUT_MS;
    int result = 0;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            result = berr_set(e, -ETIMEDOUT, "ps: no answer after %d ms", RT_TOP_TIMEOUT_MS);
            break;
        }
        int n = poll(fds, 2, (int)(deadline - now));
        if (n < 0 && errno != EINTR) {
            result = berr_sys(e, -errno, "ps: poll");
            break;
        }
        for (int i = 0; i < 2 && n > 0; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char block[8192];
            ssize_t got = read(fds[i].fd, block, sizeof block);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                continue;
            }
            buf_append(sinks[i], block, (size_t)got);
        }
        if (out->len > RT_TOP_MAX_OUTPUT) {
            result = berr_set(e, -EFBIG, "ps: more than %u bytes of output", RT_TOP_MAX_OUTPUT);
            break;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    if (result < 0)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *exit_status = st;
    return result;
}

static void top_work(uv_work_t *w)
{
    top_job *j = w->data;
    for (int attempt = 0; attempt < 2; attempt++) {
        /* The second attempt drops -q: some listings (forest) refuse it. */
        if (attempt == 1) {
            if (!j->argv[j->argc])
                break;
            free(j->argv[j->argc]);
            j->argv[j->argc] = NULL;
        }
        cleanup_buf buf err = BUF_INIT;
        buf_reset(&j->out);
        int st;
        berr_clear(&j->e);
        j->status = run_capture(j->argv, &j->out, &err, &st, &j->e);
        if (j->status < 0)
            return;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            return;
        /* dockerd reports the first line ps wrote to stderr */
        const char *msg = err.data ? err.data : "";
        size_t mlen = strcspn(msg, "\n");
        if (mlen)
            j->status = berr_set(&j->e, -EIO, "ps: %.*s", (int)mlen, msg);
        else if (WIFEXITED(st))
            j->status = berr_set(&j->e, -EIO, "ps: exit status %d", WEXITSTATUS(st));
        else
            j->status = berr_set(&j->e, -EIO, "ps: signal: %s", strsignal(WTERMSIG(st)));
    }
}

static void top_after(uv_work_t *w, int status)
{
    top_job *j = w->data;
    if (status < 0 && j->status == 0)
        j->status = berr_set(&j->e, status, "ps: %s", uv_strerror(status));
    if (j->status < 0)
        j->done(j->arg, j->status, &j->e, NULL);
    else
        j->done(j->arg, 0, NULL, buf_steal(&j->out));
    for (size_t i = 0; i < j->argc; i++)
        free(j->argv[i]);
    free(j->argv[j->argc]);  /* the -q word, unless dropped or never made */
    free(j->argv);
    buf_free(&j->out);
    free(j);
}

void rt_top_run(uv_loop_t *loop, const char *ps_args, const pid_t *pids, size_t n, rt_top_fn done, void *arg)
{
    top_job *j = xcalloc(1, sizeof *j);
    j->done = done;
    j->arg = arg;
    j->work.data = j;
    if (!ps_args || !*ps_args)
        ps_args = "-ef";
    /* dockerd splits on single spaces; empty words would only make ps
     * complain, so runs of spaces count as one. */
    size_t words = 1;
    for (const char *p = ps_args; *p; p++)
        words += *p == ' ';
    j->argv = xcalloc(words + 3, sizeof *j->argv);
    j->argv[j->argc++] = xstrdup("ps");
    cleanup_free char *copy = xstrdup(ps_args);
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        j->argv[j->argc++] = xstrdup(tok);
    buf q = BUF_INIT;
    buf_puts(&q, "-q");
    for (size_t i = 0; i < n; i++)
        buf_printf(&q, "%s%d", i ? "," : "", (int)pids[i]);
    /* An empty cgroup would make "-q" alone an error; asking without it
     * still gives the header the reply needs. */
    if (n)
        j->argv[j->argc] = buf_steal(&q);
    buf_free(&q);
    uv_queue_work(loop, &j->work, top_work, top_after);
}
