/* A container's stats sample: runtime/linux/cgroup.h's figures, the cgroup files
 * only the stats endpoint wants, and the host's figures. */
#include "runtime/container/stats.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/linux/cgroup_internal.h"

/* ---- parsers ----------------------------------------------------------------- */

static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl ? nl + 1 : NULL;
}

int rt_stats_parse_proc_stat(const char *text, long clk_tck, uint64_t *ns)
{
    for (const char *line = text; line && *line; line = next_line(line)) {
        if (strncmp(line, "cpu ", 4) != 0)
            continue;
        unsigned long long v[7];
        if (sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6]) != 7)
            break;
        uint64_t ticks = 0;
        for (int i = 0; i < 7; i++)
            ticks += v[i];
        if (clk_tck <= 0)
            clk_tck = 100;
        /* ticks * 1e9 overflows uint64 after ~584 years of CPU time at
         * 100 Hz; split to keep the precision without the overflow. */
        uint64_t hz = (uint64_t)clk_tck;
        *ns = (ticks / hz) * 1000000000ull + (ticks % hz) * 1000000000ull / hz;
        return 0;
    }
    return -EINVAL;
}

json_t *rt_stats_parse_flat(const char *text)
{
    json_t *out = json_object();
    for (const char *line = text; line && *line; line = next_line(line)) {
        char key[128];
        unsigned long long v;
        int used = 0;
        if (sscanf(line, "%127s %llu%n", key, &v, &used) == 2 && (line[used] == '\n' || line[used] == 0))
            json_object_set_new(out, key, json_integer((json_int_t)v));
    }
    return out;
}

static json_t *entry(unsigned major, unsigned minor, const char *op, unsigned long long value)
{
    return json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)major, "minor", (json_int_t)minor, "op", op,
                     "value", (json_int_t)value);
}

json_t *rt_stats_parse_blkio_v1(const char *text)
{
    json_t *out = json_array();
    for (const char *line = text; line && *line; line = next_line(line)) {
        unsigned major, minor;
        char op[32];
        unsigned long long v;
        if (sscanf(line, "%u:%u %31s %llu", &major, &minor, op, &v) == 4)
            json_array_append_new(out, entry(major, minor, op, v));
    }
    return out;
}

json_t *rt_stats_parse_io_stat(const char *text)
{
    json_t *out = json_array();
    for (const char *line = text; line && *line; line = next_line(line)) {
        unsigned major, minor;
        int used = 0;
        if (sscanf(line, "%u:%u%n", &major, &minor, &used) != 2)
            continue;
        unsigned long long rd = 0, wr = 0;
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        cleanup_free char *copy = xstrndup(line + used, len - (size_t)used);
        char *save = NULL;
        for (char *kv = strtok_r(copy, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
            if (strncmp(kv, "rbytes=", 7) == 0)
                rd = strtoull(kv + 7, NULL, 10);
            else if (strncmp(kv, "wbytes=", 7) == 0)
                wr = strtoull(kv + 7, NULL, 10);
        }
        json_array_append_new(out, entry(major, minor, "read", rd));
        json_array_append_new(out, entry(major, minor, "write", wr));
    }
    return out;
}

json_t *rt_stats_parse_percpu(const char *text)
{
    json_t *out = json_array();
    for (const char *p = text; *p;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        json_array_append_new(out, json_integer((json_int_t)v));
        p = end;
    }
    return out;
}

/* ---- cgroup directories ---------------------------------------------------------- */

/* The v1 hierarchy holding controller name: <root>/<name>, or a comma-joined
 * directory naming it (runtime/linux/cgroup_v1.c finds them the same way). */
static bool v1_mount(const char *root, const char *name, char *out, size_t cap)
{
    struct stat st;
    if ((size_t)snprintf(out, cap, "%s/%s", root, name) < cap && stat(out, &st) == 0 && S_ISDIR(st.st_mode))
        return true;
    cleanup_closedir DIR *d = opendir(root);
    if (!d)
        return false;
    size_t nlen = strlen(name);
    for (struct dirent *de; (de = readdir(d));) {
        if (!strchr(de->d_name, ','))
            continue;
        for (const char *p = de->d_name; p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            if (len == nlen && strncmp(p, name, len) == 0)
                return (size_t)snprintf(out, cap, "%s/%s", root, de->d_name) < cap;
            p = comma ? comma + 1 : NULL;
        }
    }
    return false;
}

/* The container's directory in controller ctrl (v2: the one directory). */
static bool ctrl_dir(const rt_cgroups *cg, const char *ctrl, const char *id, char out[PATH_MAX])
{
    if (cg->version == RT_CGROUP_V2)
        return (size_t)snprintf(out, PATH_MAX, "%s/" RT_CG_PARENT "/%s", cg->root, id) < PATH_MAX;
    char mount[PATH_MAX];
    if (!v1_mount(cg->root, ctrl, mount, sizeof mount))
        return false;
    return (size_t)snprintf(out, PATH_MAX, "%s/" RT_CG_PARENT "/%s", mount, id) < PATH_MAX;
}

static char *read_in(const char *dir, const char *file)
{
    char path[PATH_MAX];
    char *text = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path ||
        fs_read_file(path, &text, NULL, NULL) < 0)
        return NULL;
    return text;
}

static void read_cpu_extras(const rt_cgroups *cg, const char *id, rt_stats_sample *s)
{
    char dir[PATH_MAX];
    if (ctrl_dir(cg, "cpu", id, dir)) {
        cleanup_free char *text = read_in(dir, "cpu.stat");
        if (text) {
            uint64_t v;
            if (rt_cg_keyed_u64(text, "nr_periods", &v))
                s->throttle_periods = v;
            if (rt_cg_keyed_u64(text, "nr_throttled", &v))
                s->throttled_periods = v;
            if (rt_cg_keyed_u64(text, "throttled_time", &v))       /* v1: ns */
                s->throttled_time_ns = v;
            else if (rt_cg_keyed_u64(text, "throttled_usec", &v))  /* v2: us */
                s->throttled_time_ns = v * 1000;
        }
    }
    if (cg->version == RT_CGROUP_V1 && ctrl_dir(cg, "cpuacct", id, dir)) {
        cleanup_free char *text = read_in(dir, "cpuacct.usage_percpu");
        if (text)
            s->percpu = rt_stats_parse_percpu(text);
    }
}

static void read_memory_extras(const rt_cgroups *cg, const char *id, rt_stats_sample *s)
{
    char dir[PATH_MAX];
    if (!ctrl_dir(cg, "memory", id, dir))
        return;
    cleanup_free char *stat = read_in(dir, "memory.stat");
    if (stat) {
        json_decref(s->memory_stat);
        s->memory_stat = rt_stats_parse_flat(stat);
    }
    if (cg->version == RT_CGROUP_V1) {
        cleanup_free char *fc = read_in(dir, "memory.failcnt");
        if (fc)
            s->memory_failcnt = strtoull(fc, NULL, 10);
    } else {
        /* dockerd reports memory.events' "oom" as the v2 failcnt */
        cleanup_free char *ev = read_in(dir, "memory.events");
        uint64_t v;
        if (ev && rt_cg_keyed_u64(ev, "oom", &v))
            s->memory_failcnt = v;
    }
}

static void read_blkio_extras(const rt_cgroups *cg, const char *id, rt_stats_sample *s)
{
    char dir[PATH_MAX];
    if (cg->version == RT_CGROUP_V2) {
        if (!ctrl_dir(cg, "io", id, dir))
            return;
        cleanup_free char *text = read_in(dir, "io.stat");
        if (text) {
            json_decref(s->blkio_bytes);
            s->blkio_bytes = rt_stats_parse_io_stat(text);
        }
        return;
    }
    if (!ctrl_dir(cg, "blkio", id, dir))
        return;
    /* CFQ's files first, as containerd reads them; on kernels without CFQ
     * (or when it keeps nothing) the throttle layer's counts are the ones
     * that move. */
    static const char *const bytes_files[] = {"blkio.io_service_bytes_recursive",
                                              "blkio.throttle.io_service_bytes_recursive"};
    static const char *const ios_files[] = {"blkio.io_serviced_recursive", "blkio.throttle.io_serviced_recursive"};
    for (int i = 0; i < 2; i++) {
        cleanup_free char *bytes = read_in(dir, bytes_files[i]);
        if (!bytes)
            continue;
        json_t *b = rt_stats_parse_blkio_v1(bytes);
        if (!json_array_size(b) && i == 0) {
            json_decref(b);
            continue;
        }
        json_decref(s->blkio_bytes);
        s->blkio_bytes = b;
        cleanup_free char *ios = read_in(dir, ios_files[i]);
        if (ios) {
            json_decref(s->blkio_ios);
            s->blkio_ios = rt_stats_parse_blkio_v1(ios);
        }
        break;
    }
}

static void read_host(rt_stats_sample *s)
{
    cleanup_free char *stat = NULL;
    if (fs_read_file("/proc/stat", &stat, NULL, NULL) == 0)
        rt_stats_parse_proc_stat(stat, sysconf(_SC_CLK_TCK), &s->system_cpu_ns);
    /* dockerd counts the CPUs the daemon may run on */
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        s->online_cpus = (uint32_t)CPU_COUNT(&set);
    else
        s->online_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        s->host_memory = (uint64_t)si.totalram * si.mem_unit;
}

int rt_stats_read(const rt_cgroups *cg, const char *id, rt_stats_sample *s, berr *e)
{
    memset(s, 0, sizeof *s);
    s->memory_stat = json_object();
    s->blkio_bytes = json_array();
    s->blkio_ios = json_array();
    time_now_rfc3339(s->read);
    int rc = rt_cgroup_stats_read(cg, id, &s->cg, e);
    if (rc < 0) {
        rt_stats_sample_free(s);
        return rc;
    }
    read_cpu_extras(cg, id, s);
    read_memory_extras(cg, id, s);
    read_blkio_extras(cg, id, s);
    read_host(s);
    return 0;
}

void rt_stats_sample_free(rt_stats_sample *s)
{
    json_decref(s->percpu);
    json_decref(s->memory_stat);
    json_decref(s->blkio_bytes);
    json_decref(s->blkio_ios);
    s->percpu = s->memory_stat = s->blkio_bytes = s->blkio_ios = NULL;
}
