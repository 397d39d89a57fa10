/* /proc/<pid>/net/dev -> the "networks" member of Docker's stats JSON. */
#include "runtime/container/netstats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"

/* Devices a new network namespace gets from the kernel itself (when their
 * modules are loaded): not the container's interfaces. */
static bool kernel_device(const char *name)
{
    static const char *const names[] = {"lo",      "tunl0",   "gre0",     "gretap0", "erspan0", "ip_vti0",
                                        "ip6_vti0", "sit0",   "ip6tnl0",  "ip6gre0", NULL};
    for (const char *const *n = names; *n; n++)
        if (!strcmp(name, *n))
            return true;
    return false;
}

/* One "  eth0: 1 2 3 ..." line; false for the two header lines and
 * anything else not of that shape. */
static bool parse_line(const char *line, size_t len, json_t *out)
{
    char buf[512];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, line, len);
    buf[len] = '\0';
    /* Big counters run into the name ("eth0:123"): split at the colon. */
    char *colon = strchr(buf, ':');
    if (!colon)
        return false;
    *colon = '\0';
    char *name = buf + strspn(buf, " \t");
    size_t nlen = strcspn(name, " \t");
    if (nlen == 0 || name[nlen] != '\0' || nlen > 15)
        return false;
    /* rx: bytes packets errs drop fifo frame compressed multicast;
     * tx: bytes packets errs drop fifo colls carrier compressed */
    uint64_t v[16];
    char *p = colon + 1;
    for (int i = 0; i < 16; i++) {
        char *end;
        p += strspn(p, " \t");
        if (*p < '0' || *p > '9')
            return false;
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (errno || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
            return false;
        p = end;
    }
    if (kernel_device(name))
        return true;
    json_object_set_new(out, name,
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_bytes", (json_int_t)v[0],
                                  "rx_packets", (json_int_t)v[1], "rx_errors", (json_int_t)v[2], "rx_dropped",
                                  (json_int_t)v[3], "tx_bytes", (json_int_t)v[8], "tx_packets", (json_int_t)v[9],
                                  "tx_errors", (json_int_t)v[10], "tx_dropped", (json_int_t)v[11]));
    return true;
}

json_t *rt_netstats_parse(const char *text)
{
    json_t *out = json_object();
    for (const char *p = text ? text : ""; *p;) {
        size_t len = strcspn(p, "\n");
        parse_line(p, len, out);
        p += len;
        if (*p == '\n')
            p++;
    }
    return out;
}

int rt_netstats_read(pid_t pid, json_t **out, berr *e)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/dev", (int)pid);
    char *text = NULL;
    size_t len = 0;
    int r = fs_read_file(path, &text, &len, e);
    if (r < 0)
        return r;
    *out = rt_netstats_parse(text);
    free(text);
    return 0;
}
