/* The platform berthd was built for, in Go/OCI spelling, as image configs
 * and the API name it ("amd64", "arm64", ...). */
#ifndef BERTH_LIB_PLATFORM_H
#define BERTH_LIB_PLATFORM_H

static inline const char *platform_goarch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__arm__)
    return "arm";
#elif defined(__i386__)
    return "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

#endif
