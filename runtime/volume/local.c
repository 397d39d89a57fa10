/* The local driver's device mounts (runtime/volume/local.h). */
#include "runtime/volume/local.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

int rt_volume_parse_size(const char *s, long long *bytes)
{
    if (!s)
        return -EINVAL;
    /* the number ends at the last digit, dot or space */
    const char *sep = NULL;
    for (const char *p = s; *p; p++)
        if (isdigit((unsigned char)*p) || *p == '.' || *p == ' ')
            sep = p;
    if (!sep)
        return -EINVAL;
    size_t numlen = (size_t)(sep - s) + (*sep == ' ' ? 0 : 1);
    char num[64];
    if (numlen == 0 || numlen >= sizeof num)
        return -EINVAL;
    memcpy(num, s, numlen);
    num[numlen] = 0;
    char *end;
    double size = strtod(num, &end);
    if (*end || size < 0)
        return -EINVAL;
    const char *sfx = sep + 1;
    size_t n = strlen(sfx);
    if (n > 3)
        return -EINVAL;
    if (n > 0) {
        char c = (char)tolower((unsigned char)sfx[0]);
        if (c == 'b') {
            if (n > 1)
                return -EINVAL;
        } else {
            static const char units[] = "kmgtp";
            const char *u = strchr(units, c);
            if (!u || !c)
                return -EINVAL;
            for (long i = 0; i <= u - units; i++)
                size *= 1024;
            if ((n == 2 && tolower((unsigned char)sfx[1]) != 'b') ||
                (n == 3 && (tolower((unsigned char)sfx[1]) != 'i' || tolower((unsigned char)sfx[2]) != 'b')))
                return -EINVAL;
        }
    }
    *bytes = (long long)size;
    return 0;
}

static const struct {
    const char *name;
    bool clear;
    unsigned long flag;
} flag_names[] = {
    {"async", true, MS_SYNCHRONOUS},    {"atime", true, MS_NOATIME},      {"bind", false, MS_BIND},
    {"defaults", false, 0},             {"dev", true, MS_NODEV},          {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},     {"exec", true, MS_NOEXEC},        {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},     {"nodev", false, MS_NODEV},       {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},       {"nomand", true, MS_MANDLOCK},    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"nosuid", false, MS_NOSUID}, {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},   {"remount", false, MS_REMOUNT},   {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},            {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

void rt_volume_mount_options(const char *o, unsigned long *flags, char **data)
{
    *flags = 0;
    buf d = BUF_INIT;
    cleanup_free char *copy = xstrdup(o ? o : "");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
            if (!strcmp(tok, flag_names[i].name)) {
                known = true;
                if (flag_names[i].clear)
                    *flags &= ~flag_names[i].flag;
                else
                    *flags |= flag_names[i].flag;
            }
        if (!known)
            buf_printf(&d, "%s%s", d.len ? "," : "", tok);
    }
    *data = d.len ? buf_steal(&d) : (buf_free(&d), xstrdup(""));
}

static int mount_error(berr *e, const char *dev, const char *target, unsigned long flags, const char *data)
{
    int err = -errno;
    cleanup_buf buf msg = BUF_INIT;
    buf_printf(&msg, "mount %s:%s", dev, target);
    if (flags)
        buf_printf(&msg, ", flags: 0x%lx", flags);
    if (*data)
        buf_printf(&msg, ", data: %s", data);
    return berr_sys(e, err, "failed to mount local volume: %s", msg.data);
}

int rt_volume_local_mount(const rt_volume *v, berr *e)
{
    const char *type = json_string_value(json_object_get(v->options, "type"));
    const char *dev = json_string_value(json_object_get(v->options, "device"));
    const char *o = json_string_value(json_object_get(v->options, "o"));
    if (!dev || !*dev)
        return berr_set(e, -EINVAL, "missing device in volume options");
    unsigned long flags;
    cleanup_free char *data = NULL;
    rt_volume_mount_options(o, &flags, &data);
    if (mount(dev, v->path, type && *type ? type : NULL, flags, data) < 0)
        return mount_error(e, dev, v->path, flags, data);
    /* a bind ignores MS_RDONLY on the first call */
    if ((flags & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY) &&
        mount("", v->path, NULL, flags | MS_REMOUNT, NULL) < 0) {
        int r = mount_error(e, "", v->path, flags | MS_REMOUNT, "");
        umount2(v->path, MNT_DETACH);
        return r;
    }
    return 0;
}
