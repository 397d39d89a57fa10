/* Docker seccomp profiles compiled to BPF with libseccomp.
 *
 * The profile is filtered first, as moby's profiles/seccomp does: a rule
 * whose includes/excludes (capabilities, architectures, minimum kernel) do
 * not match this container and host is dropped.  What remains is added the
 * way runc's libcontainer/seccomp does: unknown syscall names are skipped
 * (profiles list syscalls of every architecture and kernel), a rule whose
 * action equals the default one is skipped (libseccomp refuses those), and
 * when two conditions of a rule test the same argument each condition
 * becomes a rule of its own (libseccomp ANDs conditions, and a profile that
 * repeats an index means "any of").
 *
 * The filter is exported as raw BPF through a memfd so the container child,
 * which must not allocate, only has to call seccomp(2).  no_new_privs is not
 * libseccomp's business here: spawn sets it itself, in its own order. */
#include "runtime/linux/seccomp.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/cleanup.h"

extern const char berth_seccomp_default_json[];   /* runtime/linux/seccomp_default.c */

const char *rt_seccomp_default_profile(void)
{
    return berth_seccomp_default_json;
}

/* Docker's names for the machine (Go's GOARCH as libseccomp spells it):
 * what "arches" in includes/excludes are compared with. */
#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE_ARCH "x32"
#elif defined(__x86_64__)
#define NATIVE_ARCH "amd64"
#elif defined(__i386__)
#define NATIVE_ARCH "x86"
#elif defined(__aarch64__)
#define NATIVE_ARCH "arm64"
#elif defined(__arm__)
#define NATIVE_ARCH "arm"
#elif defined(__s390x__)
#define NATIVE_ARCH "s390x"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_ARCH "ppc64le"
#elif defined(__powerpc64__)
#define NATIVE_ARCH "ppc64"
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH "riscv64"
#else
#define NATIVE_ARCH "unknown"
#endif

/* Capability names by number, so "CAP_SYS_ADMIN" in a profile can be tested
 * against the container's mask.  Kept here rather than shared with
 * runtime/linux/caps.c so this module stands alone; the numbers are kernel ABI. */
static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* Docker compares capability names as strings against the bounding set, so
 * a name it does not know simply never matches; so here. */
static bool has_cap(uint64_t caps, const char *name)
{
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (strcmp(cap_names[i], name) == 0)
            return (caps >> i) & 1;
    return false;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

/* ---- small JSON accessors that name the field on error ------------------ */

/* An optional array member: NULL or JSON null means absent. */
static int get_array(json_t *obj, const char *key, const char *where, json_t **out, berr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return berr_set(e, -EINVAL, "seccomp profile: %s%s must be an array", where, key);
    *out = v;
    return 0;
}

static int get_string(json_t *obj, const char *key, const char *where, const char **out, berr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return berr_set(e, -EINVAL, "seccomp profile: %s%s must be a string", where, key);
    *out = json_string_value(v);
    return 0;
}

/* Every element of an optional array must be a string. */
static int check_strings(json_t *arr, const char *where, const char *key, berr *e)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return berr_set(e, -EINVAL, "seccomp profile: %s%s[%zu] must be a string", where, key, i);
    }
    return 0;
}

static bool in_strings(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* ---- actions ------------------------------------------------------------ */

/* errno values travel in the low 16 bits of the action. */
static int get_errno(json_t *obj, const char *key, const char *where, int *out, bool *present, berr *e)
{
    json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffff)
        return berr_set(e, -EINVAL, "seccomp profile: %s%s must be an integer between 0 and 65535", where, key);
    *out = (int)json_integer_value(v);
    *present = true;
    return 0;
}

/* errno_ret is the rule's errnoRet (or the profile's defaultErrnoRet for the
 * default action); EPERM when neither says, as runc does. */
static int parse_action(const char *name, bool has_errno, int errno_ret, const char *field, uint32_t *out, berr *e)
{
    int ret = has_errno ? errno_ret : EPERM;
    if (!name || !*name)
        return berr_set(e, -EINVAL, "seccomp profile: %s is missing", field);
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO((uint32_t)ret);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE((uint32_t)ret);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
        /* Needs a listener fd handed to an agent; nothing would answer. */
        return berr_set(e, -EINVAL, "seccomp profile: %s: SCMP_ACT_NOTIFY is not supported", field);
    else
        return berr_set(e, -EINVAL, "seccomp profile: %s: unknown action %s", field, name);
    return 0;
}

/* ---- architectures and kernel versions ---------------------------------- */

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 if unknown. */
static uint32_t arch_token(const char *name)
{
    char low[32];
    size_t i;
    if (strncmp(name, "SCMP_ARCH_", 10) == 0)
        name += 10;
    for (i = 0; name[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    if (name[i])
        return 0;
    low[i] = 0;
    return seccomp_arch_resolve_name(low);
}

static int add_arch(scmp_filter_ctx ctx, json_t *name, const char *where, berr *e)
{
    if (!json_is_string(name))
        return berr_set(e, -EINVAL, "seccomp profile: %s must be a string", where);
    uint32_t tok = arch_token(json_string_value(name));
    if (!tok)
        return berr_set(e, -EINVAL, "seccomp profile: %s: unknown architecture %s", where, json_string_value(name));
    int rc = seccomp_arch_add(ctx, tok);
    if (rc < 0 && rc != -EEXIST)
        return berr_sys(e, rc, "seccomp profile: %s: adding architecture %s", where, json_string_value(name));
    return 0;
}

/* archMap: only the entry for this machine counts, and brings its
 * sub-architectures (x86 and x32 beside x86_64), as Docker does. */
static int add_arches(scmp_filter_ctx ctx, json_t *root, berr *e)
{
    json_t *list, *map, *v;
    size_t i, j;
    char where[64];
    int rc;

    if ((rc = get_array(root, "architectures", "", &list, e)) < 0 ||
        (rc = get_array(root, "archMap", "", &map, e)) < 0)
        return rc;
    if (list && json_array_size(list) && map && json_array_size(map))
        return berr_set(e, -EINVAL, "seccomp profile: 'architectures' and 'archMap' were both specified, use either");

    json_array_foreach(list, i, v) {
        snprintf(where, sizeof where, "architectures[%zu]", i);
        if ((rc = add_arch(ctx, v, where, e)) < 0)
            return rc;
    }

    uint32_t native = seccomp_arch_native();
    json_array_foreach(map, i, v) {
        const char *arch;
        json_t *subs, *s;
        snprintf(where, sizeof where, "archMap[%zu].", i);
        if (!json_is_object(v))
            return berr_set(e, -EINVAL, "seccomp profile: archMap[%zu] must be an object", i);
        if ((rc = get_string(v, "architecture", where, &arch, e)) < 0 ||
            (rc = get_array(v, "subArchitectures", where, &subs, e)) < 0)
            return rc;
        if (!arch)
            return berr_set(e, -EINVAL, "seccomp profile: archMap[%zu].architecture is missing", i);
        if (arch_token(arch) != native)
            continue;
        json_array_foreach(subs, j, s) {
            snprintf(where, sizeof where, "archMap[%zu].subArchitectures[%zu]", i, j);
            if ((rc = add_arch(ctx, s, where, e)) < 0)
                return rc;
        }
    }
    return 0;
}

/* "4.8", "5.10.3-foo" -> comparable triple; false if not a version. */
static bool parse_version(const char *s, int v[3])
{
    char *end;
    v[0] = v[1] = v[2] = 0;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s))
            return i >= 2;   /* major and minor are required */
        long n = strtol(s, &end, 10);
        if (n > INT_MAX)
            return false;
        v[i] = (int)n;
        s = end;
        if (*s != '.')
            return i >= 1;
        s++;
    }
    return true;
}

static int kernel_at_least(const char *min, const char *where, bool *out, berr *e)
{
    struct utsname u;
    int want[3], have[3];
    if (!parse_version(min, want))
        return berr_set(e, -EINVAL, "seccomp profile: %sminKernel: invalid kernel version %s", where, min);
    if (uname(&u) < 0)
        return berr_sys(e, -errno, "uname");
    if (!parse_version(u.release, have))
        return berr_set(e, -EIO, "cannot parse the kernel version %s", u.release);
    int cmp = 0;
    for (int i = 0; i < 3 && !cmp; i++)
        cmp = (have[i] > want[i]) - (have[i] < want[i]);
    *out = cmp >= 0;
    return 0;
}

/* ---- rules ---------------------------------------------------------------- */

/* Reads includes or excludes ({caps, arches, minKernel}) and says whether
 * every criterion it lists holds (includes) or any does (excludes). */
static int match_filter(json_t *call, const char *key, const char *where, uint64_t caps, bool *any, bool *all,
                        berr *e)
{
    char w[64];
    json_t *f = json_object_get(call, key), *capl, *archl;
    const char *mink;
    size_t i;
    json_t *v;
    int rc;

    *any = false;
    *all = true;
    if (!f || json_is_null(f))
        return 0;
    if (!json_is_object(f))
        return berr_set(e, -EINVAL, "seccomp profile: %s%s must be an object", where, key);
    snprintf(w, sizeof w, "%s%s.", where, key);
    if ((rc = get_array(f, "caps", w, &capl, e)) < 0 || (rc = get_array(f, "arches", w, &archl, e)) < 0 ||
        (rc = get_string(f, "minKernel", w, &mink, e)) < 0 || (rc = check_strings(capl, w, "caps", e)) < 0 ||
        (rc = check_strings(archl, w, "arches", e)) < 0)
        return rc;

    json_array_foreach(capl, i, v) {
        if (has_cap(caps, json_string_value(v)))
            *any = true;
        else
            *all = false;
    }
    if (archl && json_array_size(archl)) {
        if (in_strings(archl, NATIVE_ARCH))
            *any = true;
        else
            *all = false;
    }
    if (mink && *mink) {
        bool ok = false;
        if ((rc = kernel_at_least(mink, w, &ok, e)) < 0)
            return rc;
        if (ok)
            *any = true;
        else
            *all = false;
    }
    return 0;
}

static int parse_op(const char *op, enum scmp_compare *out)
{
    static const struct { const char *name; enum scmp_compare op; } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, op) == 0) {
            *out = ops[i].op;
            return 0;
        }
    return -1;
}

/* JSON integers are signed 64-bit; a profile meaning a large unsigned value
 * can only write it as its negative twin, which this cast restores. */
static int get_u64(json_t *obj, const char *key, const char *where, bool required, uint64_t *out, berr *e)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v || json_is_null(v))
        return required ? berr_set(e, -EINVAL, "seccomp profile: %s%s is missing", where, key) : 0;
    if (!json_is_integer(v))
        return berr_set(e, -EINVAL, "seccomp profile: %s%s must be an integer", where, key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

#define MAX_ARGS 6   /* syscall arguments */

static int parse_args(json_t *args, const char *where, struct scmp_arg_cmp *cmps, size_t *n, bool *repeated,
                      berr *e)
{
    unsigned count[MAX_ARGS] = {0};
    char w[80];
    size_t i;
    json_t *a;
    int rc;

    *n = 0;
    *repeated = false;
    json_array_foreach(args, i, a) {
        const char *op;
        uint64_t index, value, two;
        enum scmp_compare cmp;

        snprintf(w, sizeof w, "%sargs[%zu].", where, i);
        if (!json_is_object(a))
            return berr_set(e, -EINVAL, "seccomp profile: %sargs[%zu] must be an object", where, i);
        if ((rc = get_u64(a, "index", w, true, &index, e)) < 0 || (rc = get_u64(a, "value", w, false, &value, e)) < 0 ||
            (rc = get_u64(a, "valueTwo", w, false, &two, e)) < 0 || (rc = get_string(a, "op", w, &op, e)) < 0)
            return rc;
        if (index >= MAX_ARGS)
            return berr_set(e, -EINVAL, "seccomp profile: %sindex must be between 0 and %d", w, MAX_ARGS - 1);
        if (!op)
            return berr_set(e, -EINVAL, "seccomp profile: %sop is missing", w);
        if (parse_op(op, &cmp) < 0)
            return berr_set(e, -EINVAL, "seccomp profile: %sop: unknown operator %s", w, op);
        /* Six arguments with one condition each is all libseccomp can AND;
         * beyond that indexes necessarily repeat and rules are split. */
        if (*n >= MAX_ARGS * 4)
            return berr_set(e, -EINVAL, "seccomp profile: %sargs has too many conditions", where);
        if (++count[index] > 1)
            *repeated = true;
        cmps[(*n)++] = (struct scmp_arg_cmp){.arg = (unsigned)index, .op = cmp, .datum_a = value, .datum_b = two};
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t act, const char *name, const struct scmp_arg_cmp *cmps, size_t n,
                    bool repeated, const char *where, berr *e)
{
    int nr = seccomp_syscall_resolve_name(name);
    int rc;
    if (nr == __NR_SCMP_ERROR)
        return 0;   /* a syscall libseccomp does not know at all: skipped, as runc does */
    if (n == 0 || !repeated) {
        rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmps);
    } else {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmps[i]);
    }
    if (rc < 0)
        return berr_set(e, -EINVAL, "seccomp profile: %s: adding a rule for %s failed: %s", where, name,
                        strerror(-rc));
    return 0;
}

static int add_syscall_block(scmp_filter_ctx ctx, json_t *call, size_t idx, uint64_t caps, uint32_t def_act,
                             berr *e)
{
    char where[48];
    const char *name, *action;
    json_t *names, *args, *v;
    bool any, all, has_errno;
    int errno_ret = 0, rc;
    uint32_t act;
    struct scmp_arg_cmp cmps[MAX_ARGS * 4];
    size_t ncmp, i;
    bool repeated;

    snprintf(where, sizeof where, "syscalls[%zu].", idx);
    if (!json_is_object(call))
        return berr_set(e, -EINVAL, "seccomp profile: syscalls[%zu] must be an object", idx);
    if ((rc = get_string(call, "name", where, &name, e)) < 0 || (rc = get_array(call, "names", where, &names, e)) < 0 ||
        (rc = check_strings(names, where, "names", e)) < 0 || (rc = get_string(call, "action", where, &action, e)) < 0 ||
        (rc = get_errno(call, "errnoRet", where, &errno_ret, &has_errno, e)) < 0 ||
        (rc = get_array(call, "args", where, &args, e)) < 0)
        return rc;
    if (name && *name && names && json_array_size(names))
        return berr_set(e, -EINVAL, "seccomp profile: %s'name' and 'names' were both specified, use either", where);
    char field[64];
    snprintf(field, sizeof field, "%saction", where);
    if ((rc = parse_action(action, has_errno, errno_ret, field, &act, e)) < 0)
        return rc;
    if ((rc = parse_args(args, where, cmps, &ncmp, &repeated, e)) < 0)
        return rc;

    /* The rule exists unless an excludes criterion holds or an includes one
     * does not (moby's order; both are read so either can be reported). */
    bool excluded, included;
    if ((rc = match_filter(call, "excludes", where, caps, &excluded, &all, e)) < 0 ||
        (rc = match_filter(call, "includes", where, caps, &any, &included, e)) < 0)
        return rc;
    if (excluded || !included)
        return 0;

    /* libseccomp refuses rules that repeat the default action; they would
     * change nothing anyway. */
    if (act == def_act)
        return 0;

    if (name && *name)
        return add_rule(ctx, act, name, cmps, ncmp, repeated, where, e);
    json_array_foreach(names, i, v) {
        if ((rc = add_rule(ctx, act, json_string_value(v), cmps, ncmp, repeated, where, e)) < 0)
            return rc;
    }
    return 0;
}

/* ---- export ---------------------------------------------------------------- */

static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog **prog, berr *e)
{
    cleanup_close int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    struct stat st;
    int rc;

    if (fd < 0)
        return berr_sys(e, -errno, "memfd_create");
    if ((rc = seccomp_export_bpf(ctx, fd)) < 0)
        return berr_sys(e, rc, "exporting the seccomp filter");
    if (fstat(fd, &st) < 0)
        return berr_sys(e, -errno, "fstat on the seccomp memfd");
    size_t size = (size_t)st.st_size, len = size / sizeof(struct sock_filter);
    if (len == 0 || size % sizeof(struct sock_filter))
        return berr_set(e, -EIO, "libseccomp exported a malformed filter (%zu bytes)", size);
    /* The kernel's limit for one program; better refused here than at start. */
    if (len > BPF_MAXINSNS)
        return berr_set(e, -EINVAL, "seccomp profile compiles to %zu instructions, more than the kernel's %d", len,
                        BPF_MAXINSNS);

    /* One allocation, so rt_seccomp_free is a plain free. */
    struct sock_fprog *p = xmalloc(sizeof *p + size);
    p->len = (unsigned short)len;
    p->filter = (struct sock_filter *)(p + 1);
    size_t off = 0;
    while (off < size) {
        ssize_t r = pread(fd, (char *)p->filter + off, size - off, (off_t)off);
        if (r <= 0) {
            int err = r < 0 ? errno : EIO;
            free(p);
            return berr_sys(e, -err, "reading the seccomp filter back");
        }
        off += (size_t)r;
    }
    *prog = p;
    return 0;
}

int rt_seccomp_compile(const char *profile_json, uint64_t caps, struct sock_fprog **prog, berr *e)
{
    json_error_t jerr;
    json_t *syscalls, *call;
    const char *def_name;
    bool has_def_errno;
    int def_errno = 0, rc;
    uint32_t def_act;
    size_t i;

    *prog = NULL;
    json_auto_t *root = json_loads(profile_json, 0, &jerr);
    if (!root)
        return berr_set(e, -EINVAL, "seccomp profile: invalid JSON at line %d: %s", jerr.line, jerr.text);
    if (!json_is_object(root))
        return berr_set(e, -EINVAL, "seccomp profile: must be a JSON object");
    if ((rc = get_string(root, "defaultAction", "", &def_name, e)) < 0 ||
        (rc = get_errno(root, "defaultErrnoRet", "", &def_errno, &has_def_errno, e)) < 0 ||
        (rc = get_array(root, "syscalls", "", &syscalls, e)) < 0)
        return rc;

    /* Docker's reading of an empty profile ("{}"): no filter at all. */
    if ((!def_name || !*def_name) && json_array_size(syscalls) == 0)
        return 0;
    if ((rc = parse_action(def_name, has_def_errno, def_errno, "defaultAction", &def_act, e)) < 0)
        return rc;

    scmp_filter_ctx ctx __attribute__((cleanup(ctx_releasep))) = seccomp_init(def_act);
    if (!ctx)
        return berr_set(e, -ENOMEM, "seccomp_init failed");
    /* spawn sets no_new_privs itself, before installing the program. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
        return berr_sys(e, rc, "seccomp_attr_set(CTL_NNP)");
    if ((rc = add_arches(ctx, root, e)) < 0)
        return rc;
    json_array_foreach(syscalls, i, call) {
        if ((rc = add_syscall_block(ctx, call, i, caps, def_act, e)) < 0)
            return rc;
    }
    return export_bpf(ctx, prog, e);
}

void rt_seccomp_free(struct sock_fprog *prog)
{
    free(prog);
}
