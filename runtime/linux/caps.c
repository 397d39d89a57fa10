/* Capability sets as Docker computes them: the default set, "all", and the
 * --cap-add/--cap-drop arithmetic of moby's caps.TweakCapabilities.  Pure
 * bit arithmetic over a uint64_t (bit i = capability i), so the spawner can
 * hand the mask to the child without allocating. */
#include "runtime/linux/spawn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",            "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",           "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",          "CAP_LINUX_IMMUTABLE","CAP_NET_BIND_SERVICE","CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",        "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",       "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",        "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",     "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",            "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",     "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",    "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define N_CAP_NAMES ((int)(sizeof cap_names / sizeof cap_names[0]))

#define BIT(n) (UINT64_C(1) << (n))

uint64_t rt_caps_default(void)
{
    /* moby oci/caps/defaults.go */
    return BIT(0) /* CHOWN */ | BIT(1) /* DAC_OVERRIDE */ | BIT(4) /* FSETID */ | BIT(3) /* FOWNER */ |
           BIT(27) /* MKNOD */ | BIT(13) /* NET_RAW */ | BIT(6) /* SETGID */ | BIT(7) /* SETUID */ |
           BIT(31) /* SETFCAP */ | BIT(8) /* SETPCAP */ | BIT(10) /* NET_BIND_SERVICE */ |
           BIT(18) /* SYS_CHROOT */ | BIT(5) /* KILL */ | BIT(29) /* AUDIT_WRITE */;
}

/* The highest capability the running kernel knows; what we can name if the
 * file is unreadable (no /proc in some test sandboxes). */
static int last_cap(void)
{
    int last = N_CAP_NAMES - 1;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        int v;
        if (fscanf(f, "%d", &v) == 1 && v >= 0 && v < 64)
            last = v;
        fclose(f);
    }
    return last;
}

uint64_t rt_caps_all(void)
{
    int last = last_cap();
    return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

/* Docker's NormalizeLegacyCapabilities for one name: upper case, "CAP_"
 * prefix, must be a capability this kernel knows.  Returns the bit number,
 * 64 for "ALL", or -EINVAL. */
static int cap_parse(const char *name, berr *e)
{
    char norm[64];
    size_t n = 0;
    bool has_prefix = strncasecmp(name, "CAP_", 4) == 0;
    if (strcasecmp(name, "ALL") == 0)
        return 64;
    if (!has_prefix) {
        memcpy(norm, "CAP_", 4);
        n = 4;
    }
    for (const char *p = name; *p && n < sizeof norm - 1; p++)
        norm[n++] = (char)toupper((unsigned char)*p);
    norm[n] = 0;
    int last = last_cap();
    for (int i = 0; i < N_CAP_NAMES && i <= last; i++)
        if (strcmp(norm, cap_names[i]) == 0)
            return i;
    return berr_set(e, -EINVAL, "unknown capability: \"%s\"", norm);
}

/* Parses a list into a mask; *all says whether "ALL" was among them. */
static int cap_list(const char *const *names, size_t n, uint64_t *mask, bool *all, berr *e)
{
    *mask = 0;
    *all = false;
    for (size_t i = 0; i < n; i++) {
        int c = cap_parse(names[i], e);
        if (c < 0)
            return c;
        if (c == 64)
            *all = true;
        else
            *mask |= BIT(c);
    }
    return 0;
}

int rt_caps_adjust(uint64_t base, const char *const *add, size_t n_add, const char *const *drop, size_t n_drop,
                   uint64_t *out, berr *e)
{
    uint64_t add_mask, drop_mask;
    bool add_all, drop_all;
    int r = cap_list(drop, n_drop, &drop_mask, &drop_all, e);
    if (r < 0)
        return r;
    r = cap_list(add, n_add, &add_mask, &add_all, e);
    if (r < 0)
        return r;

    /* The three cases of TweakCapabilities, in its order: "ALL" added wins
     * over "ALL" dropped, but explicit drops still apply to it. */
    if (add_all)
        *out = rt_caps_all() & ~drop_mask;
    else if (drop_all)
        *out = add_mask;
    else
        *out = (base & ~drop_mask) | add_mask;
    return 0;
}

const char **rt_caps_names(uint64_t mask)
{
    size_t n = 0;
    for (int i = 0; i < N_CAP_NAMES; i++)
        if (mask & BIT(i))
            n++;
    const char **v = xcalloc(n + 1, sizeof *v);
    n = 0;
    for (int i = 0; i < N_CAP_NAMES; i++)
        if (mask & BIT(i))
            v[n++] = cap_names[i];
    return v;
}
