/* Facts about the host that /info and /version report. */
#ifndef BERTH_NODE_HOSTINFO_H
#define BERTH_NODE_HOSTINFO_H

#include <stddef.h>

typedef struct hostinfo {
    char kernel[128];          /* uname release */
    char os_name[128];         /* PRETTY_NAME from os-release */
    char os_version[64];       /* VERSION_ID */
    char arch[32];             /* Docker's spelling: x86_64 -> "x86_64" for Info, "amd64" for Version */
    char goarch[16];           /* "amd64", "arm64", ... */
    char hostname[256];
    int ncpu;
    long long mem_total;
    int cgroup_version;        /* 1 or 2: which hierarchy /sys/fs/cgroup is */
} hostinfo;

void hostinfo_read(hostinfo *h);

#endif
