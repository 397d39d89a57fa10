/* The `local` volume driver's mounts: a volume created with the options
 * type, device and o is that device mounted on its _data directory while
 * containers use it, as dockerd's local driver does (mount(8) semantics:
 * `o` mixes flags such as ro or nosuid with filesystem data such as
 * size=64m). */
#ifndef BERTH_RUNTIME_VOLUME_LOCAL_H
#define BERTH_RUNTIME_VOLUME_LOCAL_H

#include "lib/err.h"
#include "runtime/volume/volumes.h"

/* go-units RAMInBytes: "10", "64m", "1.5GiB", "2 kb".  -EINVAL if not one. */
int rt_volume_parse_size(const char *s, long long *bytes);

/* Splits an `o` option string into MS_* flags and the rest (filesystem
 * data, comma-separated, caller frees; "" when none), as moby's
 * mount.Mount does. */
void rt_volume_mount_options(const char *o, unsigned long *flags, char **data);

/* Mounts v's device on v->path. */
int rt_volume_local_mount(const rt_volume *v, berr *e);

#endif
