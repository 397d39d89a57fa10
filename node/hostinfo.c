#include "node/hostinfo.h"

#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static void os_release(hostinfo *h)
{
    FILE *f = fopen("/etc/os-release", "r");
    if (!f)
        f = fopen("/usr/lib/os-release", "r");
    snprintf(h->os_name, sizeof h->os_name, "Linux");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *v = strchr(line, '=');
        if (!v)
            continue;
        *v++ = 0;
        v[strcspn(v, "\n")] = 0;
        if (*v == '"') {
            v++;
            v[strcspn(v, "\"")] = 0;
        }
        if (strcmp(line, "PRETTY_NAME") == 0)
            snprintf(h->os_name, sizeof h->os_name, "%s", v);
        else if (strcmp(line, "VERSION_ID") == 0)
            snprintf(h->os_version, sizeof h->os_version, "%s", v);
    }
    fclose(f);
}

void hostinfo_read(hostinfo *h)
{
    memset(h, 0, sizeof *h);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(h->kernel, sizeof h->kernel, "%s", u.release);
        snprintf(h->arch, sizeof h->arch, "%s", u.machine);
    }
    static const char *const map[][2] = {{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"armv7l", "arm"},
                                         {"i686", "386"}, {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
                                         {"riscv64", "riscv64"}};
    snprintf(h->goarch, sizeof h->goarch, "%s", h->arch);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(h->arch, map[i][0]) == 0)
            snprintf(h->goarch, sizeof h->goarch, "%s", map[i][1]);
    gethostname(h->hostname, sizeof h->hostname - 1);
    h->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        h->mem_total = (long long)si.totalram * si.mem_unit;
    struct statfs fs;
    h->cgroup_version = (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) ? 2 : 1;
    os_release(h);
}
