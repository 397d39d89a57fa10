/* A layer tar from an archive or a registry, extracted as an unprivileged
 * load would: whatever the bytes, nothing is written outside the target
 * directory (ASan and the checks below), and the daemon does not crash. */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "runtime/layer/tarsafe.h"
#include "tests/fuzz/fuzz.h"

static char base[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0]) {
        snprintf(base, sizeof base, "/tmp/berth-fuzz-tar-XXXXXX");
        if (!mkdtemp(base))
            abort();
    }
    char tar[128], dir[128];
    snprintf(tar, sizeof tar, "%s/in.tar", base);
    snprintf(dir, sizeof dir, "%s/root", base);
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    mkdir(dir, 0755);
    tar_extract_opts o = {.whiteouts = TAR_WHITEOUT_APPLY, .unprivileged = true};
    berr e = {0};
    (void)tar_extract(tar, dir, &o, NULL, &e);
    /* Nothing may appear beside in.tar and root/: an entry that escaped
     * the root through "..", an absolute name or a symlink lands here
     * first (or farther out, where ASan and the sandbox tests look). */
    DIR *d = opendir(base);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        assert(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "in.tar") || !strcmp(n, "root"));
    }
    closedir(d);
    berr er = {0};
    fs_rm_rf(dir, &er);
    return 0;
}
