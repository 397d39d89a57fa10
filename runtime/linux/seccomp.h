/* Seccomp profiles in Docker's JSON format, compiled with libseccomp.
 *
 * The default profile is Docker's own (shared/spec/seccomp-default-profile.json,
 * embedded in the binary).  Compilation happens in the parent (libseccomp
 * allocates); the child only installs the resulting BPF program. */
#ifndef BERTH_RUNTIME_SECCOMP_H
#define BERTH_RUNTIME_SECCOMP_H

#include <linux/filter.h>
#include <stdint.h>

#include "lib/err.h"

/* The embedded default profile as JSON text (static storage). */
const char *rt_seccomp_default_profile(void);

/* Compiles a Docker seccomp profile for this architecture.  caps is the
 * container's capability set: rules with "includes"/"excludes" on
 * capabilities (and arches, minKernel) are evaluated against it as Docker
 * does.  *prog is owned by the caller, free with rt_seccomp_free.
 * A profile with neither defaultAction nor syscalls ("{}") means no filter,
 * as with Docker: 0 with *prog = NULL.
 * -EINVAL with a message naming what is wrong in the profile. */
int rt_seccomp_compile(const char *profile_json, uint64_t caps, struct sock_fprog **prog, berr *e);
void rt_seccomp_free(struct sock_fprog *prog);

#endif
