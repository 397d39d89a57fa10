/* Unit tests for volumes: names and options of the local driver, -v /
 * --mount / --volumes-from parsing of volumes, list and prune filters, and
 * the store itself on a scratch data root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/filters.h"
#include "lib/fsutil.h"
#include "node/localstore.h"
#include "runtime/container/mounts.h"
#include "runtime/volume/copy.h"
#include "runtime/volume/local.h"
#include "runtime/volume/volumes.h"

/* ---- names and options ------------------------------------------------------ */

static void test_names(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(rt_volume_check_name("ab", &e), 0);
    assert_int_equal(rt_volume_check_name("data.v-1_x", &e), 0);
    assert_int_equal(rt_volume_check_name("9lives", &e), 0);
    assert_int_equal(rt_volume_check_name("a", &e), -EINVAL);
    assert_string_equal(e.msg, "volume name is too short, names should be at least two alphanumeric characters");
    assert_int_equal(rt_volume_check_name("-ab", &e), -EINVAL);
    assert_string_equal(e.msg, "\"-ab\" includes invalid characters for a local volume name, only "
                               "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                               "directory, use absolute path");
    assert_int_equal(rt_volume_check_name("a/b", &e), -EINVAL);
    assert_int_equal(rt_volume_check_name("a b", &e), -EINVAL);
    assert_int_equal(rt_volume_check_name(".trash", &e), -EINVAL);
}

static int check_opts(const char *text, berr *e)
{
    json_t *o = json_loads(text, 0, NULL);
    int r = rt_volume_check_options(o, e);
    json_decref(o);
    return r;
}

static void test_options(void **state)
{
    (void)state;
    berr e = {0};
    assert_int_equal(check_opts("{}", &e), 0);
    assert_int_equal(check_opts("{\"type\":\"tmpfs\",\"device\":\"tmpfs\",\"o\":\"size=1m\"}", &e), 0);
    assert_int_equal(check_opts("{\"foo\":\"x\"}", &e), -EINVAL);
    assert_string_equal(e.msg, "invalid option: \"foo\"");
    assert_int_equal(check_opts("{\"type\":\"tmpfs\"}", &e), -EINVAL);
    assert_string_equal(e.msg, "missing required option: \"device\"");
    assert_int_equal(check_opts("{\"device\":\"/dev/x\"}", &e), -EINVAL);
    assert_string_equal(e.msg, "missing required option: \"type\"");
    assert_int_equal(check_opts("{\"o\":\"ro\"}", &e), -EINVAL);
    assert_string_equal(e.msg, "missing required option: \"device\"");
    assert_int_equal(check_opts("{\"size\":\"10m\"}", &e), -EINVAL);
    assert_string_equal(e.msg, "quota size requested but no quota support");
    assert_int_equal(check_opts("{\"size\":\"lots\"}", &e), -EINVAL);
    assert_int_equal(check_opts("{\"size\":\"0\"}", &e), 0);
}

static void test_sizes(void **state)
{
    (void)state;
    long long b;
    assert_int_equal(rt_volume_parse_size("10", &b), 0);
    assert_int_equal(b, 10);
    assert_int_equal(rt_volume_parse_size("64m", &b), 0);
    assert_int_equal(b, 64LL << 20);
    assert_int_equal(rt_volume_parse_size("1.5GiB", &b), 0);
    assert_int_equal(b, 3LL << 29);
    assert_int_equal(rt_volume_parse_size("2 kb", &b), 0);
    assert_int_equal(b, 2048);
    assert_int_equal(rt_volume_parse_size("7b", &b), 0);
    assert_int_equal(b, 7);
    assert_int_equal(rt_volume_parse_size("1x", &b), -EINVAL);
    assert_int_equal(rt_volume_parse_size("-1", &b), -EINVAL);
    assert_int_equal(rt_volume_parse_size("m", &b), -EINVAL);
    assert_int_equal(rt_volume_parse_size("1mbb", &b), -EINVAL);
}

static void test_mount_options(void **state)
{
    (void)state;
    unsigned long flags;
    char *data;
    rt_volume_mount_options("size=64m,uid=1000,ro,nosuid", &flags, &data);
    assert_int_equal(flags, MS_RDONLY | MS_NOSUID);
    assert_string_equal(data, "size=64m,uid=1000");
    free(data);
    rt_volume_mount_options("bind,ro,rw", &flags, &data);
    assert_int_equal(flags, MS_BIND);
    assert_string_equal(data, "");
    free(data);
    rt_volume_mount_options(NULL, &flags, &data);
    assert_int_equal(flags, 0);
    assert_string_equal(data, "");
    free(data);
}

/* ---- -v, --mount, --volumes-from ---------------------------------------------- */

static int parse(const char *hc_json, rt_mount_req **m, size_t *n, berr *e)
{
    json_t *hc = json_loads(hc_json, 0, NULL);
    assert_non_null(hc);
    int r = rt_mounts_parse(hc, m, n, e);
    json_decref(hc);
    return r;
}

static void test_volume_binds(void **state)
{
    (void)state;
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse("{\"Binds\":[\"v1:/data\",\"/anon/\",\"v2:/ro:ro,nocopy\",\"v3:/z:Z\"]}", &m, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_true(m[0].volume);
    assert_string_equal(m[0].name, "v1");
    assert_true(m[0].named);
    assert_true(m[0].copy_data);
    assert_false(m[0].readonly);
    assert_string_equal(m[0].mode, "");
    assert_true(m[1].volume);
    assert_null(m[1].name);
    assert_false(m[1].named);
    assert_string_equal(m[1].target, "/anon");
    assert_true(m[2].readonly);
    assert_false(m[2].copy_data);
    assert_string_equal(m[2].mode, "ro,nocopy");
    assert_string_equal(m[3].mode, "Z");
    rt_mounts_free(m, n);
}

static void expect_bind_error(const char *bind, int code, const char *msg)
{
    char hc[512];
    snprintf(hc, sizeof hc, "{\"Binds\":[\"%s\"]}", bind);
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse(hc, &m, &n, &e), code);
    if (strcmp(e.msg, msg)) {
        fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", bind, e.msg, msg);
        fail();
    }
}

static void test_volume_bind_errors(void **state)
{
    (void)state;
    expect_bind_error("/foo:rw", -EINVAL, "invalid volume specification: '/foo:rw'");
    expect_bind_error(":/x", -EINVAL, "invalid volume specification: ':/x'");
    expect_bind_error("a:/b:ro:d", -EINVAL, "invalid volume specification: 'a:/b:ro:d'");
    expect_bind_error("v:/x:ro,rw", -EINVAL, "invalid mode: ro,rw");
    expect_bind_error("v:/x:bogus", -EINVAL, "invalid mode: bogus");
    expect_bind_error("v:/x:rslave", -EINVAL,
                      "invalid volume specification: 'v:/x:rslave': invalid mount config for type \"volume\": "
                      "field BindOptions must not be specified");
    expect_bind_error("/h:/x:nocopy", -EINVAL,
                      "invalid volume specification: '/h:/x:nocopy': invalid mount config for type \"bind\": "
                      "field VolumeOptions must not be specified");
    expect_bind_error("v:rel", -EINVAL,
                      "invalid volume specification: 'v:rel': invalid mount config for type \"volume\": "
                      "invalid mount path: 'rel' mount path must be absolute");
    expect_bind_error("v:/", -EINVAL,
                      "invalid volume specification: 'v:/': invalid mount config for type \"volume\": "
                      "invalid specification: destination can't be '/'");
    /* an empty second part is an empty (valid) mode, as Go splits it */
    expect_bind_error("v:", -EINVAL, "invalid volume specification: 'v:'");
}

static void test_volume_mounts(void **state)
{
    (void)state;
    rt_mount_req *m;
    size_t n;
    berr e = {0};
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/t\",\"ReadOnly\":true,"
                           "\"VolumeOptions\":{\"NoCopy\":true,\"Labels\":{\"a\":\"b\"},"
                           "\"DriverConfig\":{\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\"}}}},"
                           "{\"Type\":\"volume\",\"Target\":\"/anon\"}]}",
                           &m, &n, &e),
                     0);
    assert_int_equal(n, 2);
    assert_true(m[0].volume);
    assert_true(m[0].readonly);
    assert_false(m[0].copy_data);
    assert_string_equal(m[0].driver, "local");
    assert_string_equal(json_string_value(json_object_get(m[0].volume_labels, "a")), "b");
    assert_string_equal(json_string_value(json_object_get(m[0].volume_opts, "type")), "tmpfs");
    assert_null(m[1].name);
    assert_true(m[1].copy_data);
    rt_mounts_free(m, n);

    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/t\","
                           "\"VolumeOptions\":{\"Subpath\":\"x\"}}]}", &m, &n, &e),
                     -ENOSYS);
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"npipe\",\"Source\":\"v\",\"Target\":\"/t\"}]}", &m, &n, &e),
                     -EINVAL);
    assert_string_equal(e.msg, "invalid mount config for type \"npipe\": mount type unknown");
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"v\",\"Target\":\"/t\"}]}", &m, &n, &e),
                     -EINVAL);
    assert_string_equal(e.msg, "invalid mount config for type \"tmpfs\": field Source must not be specified");
    assert_int_equal(parse("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/t\","
                           "\"VolumeOptions\":{}}]}", &m, &n, &e),
                     -EINVAL);
    assert_string_equal(e.msg, "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
    assert_int_equal(parse("{\"Binds\":[\"v:/t\"],\"Tmpfs\":{\"/t\":\"\"}}", &m, &n, &e), -EINVAL);
    assert_string_equal(e.msg, "Duplicate mount point: /t");
}

static void test_volumes_from(void **state)
{
    (void)state;
    char *id;
    bool rw;
    berr e = {0};
    assert_int_equal(rt_mounts_parse_volumes_from("data", &id, &rw, &e), 0);
    assert_string_equal(id, "data");
    assert_true(rw);
    free(id);
    assert_int_equal(rt_mounts_parse_volumes_from("data:ro", &id, &rw, &e), 0);
    assert_false(rw);
    free(id);
    assert_int_equal(rt_mounts_parse_volumes_from("data:rw,z", &id, &rw, &e), 0);
    assert_true(rw);
    free(id);
    assert_int_equal(rt_mounts_parse_volumes_from("data:nocopy", &id, &rw, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid mode: nocopy");
    assert_int_equal(rt_mounts_parse_volumes_from("data:rslave", &id, &rw, &e), -EINVAL);
    assert_int_equal(rt_mounts_parse_volumes_from("", &id, &rw, &e), -EINVAL);
    assert_string_equal(e.msg, "volumes-from specification cannot be an empty string");
}

static void clean_is(const char *in, const char *want)
{
    char out[256];
    rt_mounts_clean_path(in, out);
    assert_string_equal(out, want);
}

static void test_clean_path(void **state)
{
    (void)state;
    clean_is("/a/../b/", "/b");
    clean_is("/", "/");
    clean_is("//x//y/./z", "/x/y/z");
    clean_is("/..", "/");
    clean_is("a/./b", "a/b");
    clean_is("../x", "../x");
    clean_is("a/../..", "..");
    clean_is("", ".");
}

/* ---- filters ----------------------------------------------------------------------- */

static json_t *filters(const char *text)
{
    static const char *const allowed[] = {"dangling", "driver", "label", "label!", "name", "all", NULL};
    json_t *f;
    berr e = {0};
    assert_int_equal(filters_parse(text, allowed, &f, &e), 0);
    return f;
}

static void test_list_filters(void **state)
{
    (void)state;
    rt_volume v = {.name = "webdata", .driver = "local"};
    v.labels = json_pack("{s:s, s:s}", "env", "prod", "tier", "web");
    json_t *f;
#define MATCH(text, used, want)                                   \
    f = filters(text);                                            \
    assert_true(rt_volume_list_match(f, &v, used) == (want));     \
    json_decref(f)
    MATCH("", false, true);
    MATCH("{\"driver\":[\"local\"]}", false, true);
    MATCH("{\"driver\":[\"other\"]}", false, false);
    MATCH("{\"name\":[\"web\"]}", false, true);
    MATCH("{\"name\":[\"^data\"]}", false, false);
    MATCH("{\"name\":[\"^web.*a$\"]}", false, true);
    MATCH("{\"label\":[\"env=prod\"]}", false, true);
    MATCH("{\"label\":[\"env=dev\"]}", false, false);
    MATCH("{\"label\":[\"env\",\"tier=web\"]}", false, true);
    MATCH("{\"label!\":[\"env=prod\"]}", false, false);
    MATCH("{\"label!\":[\"env=dev\"]}", false, true);
    MATCH("{\"dangling\":[\"true\"]}", false, true);
    MATCH("{\"dangling\":[\"true\"]}", true, false);
    MATCH("{\"dangling\":[\"false\"]}", true, true);
    MATCH("{\"dangling\":[\"0\"]}", false, false);
#undef MATCH
    json_decref(v.labels);
}

static void test_prune_filters(void **state)
{
    (void)state;
    berr e = {0};
    json_t *anon = json_pack("{s:s}", RT_VOLUME_ANONYMOUS_LABEL, "");
    json_t *named = json_pack("{s:s}", "keep", "no");
    json_t *opts = json_pack("{s:s, s:s}", "type", "tmpfs", "device", "tmpfs");

    json_t *f = filters("");
    assert_int_equal(rt_volume_prune_filters(f, &e), 0);
    assert_true(rt_volume_prune_match(f, anon, NULL));
    assert_false(rt_volume_prune_match(f, named, NULL));
    assert_false(rt_volume_prune_match(f, NULL, NULL));
    assert_false(rt_volume_prune_match(f, anon, opts));
    json_decref(f);

    f = filters("{\"all\":[\"true\"]}");
    assert_int_equal(rt_volume_prune_filters(f, &e), 0);
    assert_true(rt_volume_prune_match(f, named, NULL));
    assert_true(rt_volume_prune_match(f, NULL, NULL));
    json_decref(f);

    f = filters("{\"all\":[\"1\"],\"label!\":[\"keep\"]}");
    assert_int_equal(rt_volume_prune_filters(f, &e), 0);
    assert_false(rt_volume_prune_match(f, named, NULL));
    assert_true(rt_volume_prune_match(f, anon, NULL));
    json_decref(f);

    f = filters("{\"all\":[\"false\"],\"label\":[\"keep=no\"]}");
    assert_int_equal(rt_volume_prune_filters(f, &e), 0);
    assert_false(rt_volume_prune_match(f, named, NULL));   /* named volumes need all */
    json_decref(f);

    f = filters("{\"all\":[\"maybe\"]}");
    assert_int_equal(rt_volume_prune_filters(f, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax");
    json_decref(f);
    f = filters("{\"all\":[\"true\",\"false\"]}");
    assert_int_equal(rt_volume_prune_filters(f, &e), -EINVAL);
    json_decref(f);

    json_decref(anon);
    json_decref(named);
    json_decref(opts);
}

/* ---- the store ------------------------------------------------------------------------ */

typedef struct fixture {
    char root[64];
    sqlite3 *db;
    rt_volumes *s;
    json_t *events;              /* "action name" strings */
    json_t *users;               /* volume name -> [container ids] */
} fixture;

static void record(void *ctx, const char *type, const char *action, const char *id, json_t *attrs)
{
    fixture *fx = ctx;
    assert_string_equal(type, "volume");
    char line[200];
    snprintf(line, sizeof line, "%s %s", action, id);
    json_array_append_new(fx->events, json_string(line));
    json_decref(attrs);
}

static void users(void *ctx, const char *name, json_t *ids)
{
    fixture *fx = ctx;
    json_array_extend(ids, json_object_get(fx->users, name));
}

static void open_store(fixture *fx)
{
    berr e = {0};
    assert_int_equal(rt_volumes_open(&fx->s, NULL, fx->db, fx->root, &e), 0);
    rt_volumes_set_events(fx->s, (rt_event_sink){record, fx});
    rt_volumes_set_users(fx->s, users, fx);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->root, sizeof fx->root, "/tmp/berth-test-volumes-XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    char db[128];
    snprintf(db, sizeof db, "%s/local.db", fx->root);
    berr e = {0};
    assert_int_equal(localstore_open(db, &fx->db, &e), 0);
    fx->events = json_array();
    fx->users = json_object();
    open_store(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    rt_volumes_close(fx->s);
    localstore_close(fx->db);
    fs_rm_rf(fx->root, NULL);
    json_decref(fx->events);
    json_decref(fx->users);
    free(fx);
    return 0;
}

static void test_store(void **state)
{
    fixture *fx = *state;
    berr e = {0};
    rt_volume *v, *again, *anon;
    json_t *labels = json_pack("{s:s}", "a", "b");
    assert_int_equal(rt_volume_create(fx->s, "data", NULL, NULL, labels, &v, &e), 0);
    json_decref(labels);
    assert_string_equal(v->driver, "local");
    struct stat sb;
    assert_int_equal(stat(v->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    /* the same name again is the same volume, labels as they were */
    assert_int_equal(rt_volume_create(fx->s, "data", "local", NULL, NULL, &again, &e), 0);
    assert_ptr_equal(v, again);
    assert_string_equal(json_string_value(json_object_get(v->labels, "a")), "b");
    assert_int_equal(rt_volume_create(fx->s, "data", "nfs", NULL, NULL, &again, &e), -ENOENT);
    assert_string_equal(e.msg, "create data: error looking up volume plugin nfs: plugin \"nfs\" not found");
    assert_int_equal(rt_volume_create(fx->s, "x", NULL, NULL, NULL, &again, &e), -EINVAL);
    assert_string_equal(e.msg, "create x: volume name is too short, names should be at least two alphanumeric characters");

    assert_int_equal(rt_volume_create(fx->s, NULL, NULL, NULL, NULL, &anon, &e), 0);
    assert_int_equal(strlen(anon->name), 64);
    assert_non_null(json_object_get(anon->labels, RT_VOLUME_ANONYMOUS_LABEL));
    char anon_name[65];
    snprintf(anon_name, sizeof anon_name, "%s", anon->name);

    json_t *o = rt_volume_json(v);
    assert_string_equal(json_string_value(json_object_get(o, "Scope")), "local");
    assert_true(json_is_null(json_object_get(o, "Options")));
    json_decref(o);

    /* in use: 409 with the users, also with force */
    json_object_set_new(fx->users, "data", json_pack("[s, s]", "c1", "c2"));
    assert_int_equal(rt_volume_remove(fx->s, "data", true, &e), -EBUSY);
    assert_string_equal(e.msg, "remove data: volume is in use - [c1, c2]");
    json_object_del(fx->users, "data");

    /* survives a reopen */
    rt_volumes_close(fx->s);
    open_store(fx);
    assert_non_null(rt_volume_find(fx->s, "data"));
    assert_non_null(rt_volume_find(fx->s, anon_name));

    assert_int_equal(rt_volume_get(fx->s, "nope", &v, &e), -ENOENT);
    assert_string_equal(e.msg, "get nope: no such volume");
    assert_int_equal(rt_volume_remove(fx->s, "nope", false, &e), -ENOENT);
    assert_int_equal(rt_volume_remove(fx->s, "nope", true, &e), 0);
    assert_int_equal(rt_volume_remove(fx->s, "data", false, &e), 0);
    assert_null(rt_volume_find(fx->s, "data"));
    char dir[200];
    snprintf(dir, sizeof dir, "%s/volumes/data", fx->root);
    assert_int_equal(access(dir, F_OK), -1);
    assert_string_equal(json_string_value(json_array_get(fx->events, 0)), "create data");
    assert_string_equal(json_string_value(json_array_get(fx->events, json_array_size(fx->events) - 1)), "destroy data");
}

static int prune_calls;
static void prune_done(void *arg, json_t *deleted, long long reclaimed)
{
    json_t **out = arg;
    *out = deleted;
    assert_true(reclaimed >= 5);
    prune_calls++;
}

static void test_prune_and_adopt(void **state)
{
    fixture *fx = *state;
    berr e = {0};
    rt_volume *named, *anon, *used;
    assert_int_equal(rt_volume_create(fx->s, "named", NULL, NULL, NULL, &named, &e), 0);
    assert_int_equal(rt_volume_create(fx->s, NULL, NULL, NULL, NULL, &anon, &e), 0);
    assert_int_equal(rt_volume_create(fx->s, NULL, NULL, NULL, NULL, &used, &e), 0);
    json_object_set_new(fx->users, used->name, json_pack("[s]", "c1"));
    char file[300];
    snprintf(file, sizeof file, "%s/f", anon->path);
    assert_int_equal(fs_write_file_replace(file, "hello", 5, 0644, &e), 0);
    char anon_name[65];
    snprintf(anon_name, sizeof anon_name, "%s", anon->name);

    json_t *f = filters("");
    assert_int_equal(rt_volume_prune_filters(f, &e), 0);
    json_t *deleted = NULL;
    assert_int_equal(rt_volumes_prune(fx->s, f, prune_done, &deleted, &e), 0);
    json_decref(f);
    assert_int_equal(prune_calls, 1);
    assert_int_equal(json_array_size(deleted), 1);
    assert_string_equal(json_string_value(json_array_get(deleted, 0)), anon_name);
    json_decref(deleted);
    assert_non_null(rt_volume_find(fx->s, "named"));
    assert_string_equal(json_string_value(json_array_get(fx->events, json_array_size(fx->events) - 1)), "prune ");

    /* a directory with _data but no row is a volume */
    char dir[200];
    snprintf(dir, sizeof dir, "%s/volumes/found/_data", fx->root);
    assert_int_equal(fs_mkdir_p(dir, 0755, &e), 0);
    rt_volumes_close(fx->s);
    open_store(fx);
    assert_non_null(rt_volume_find(fx->s, "found"));
}

static void test_copy_in(void **state)
{
    fixture *fx = *state;
    berr e = {0};
    char root[200], dst[200], path[300];
    snprintf(root, sizeof root, "%s/rootfs", fx->root);
    snprintf(dst, sizeof dst, "%s/vol", fx->root);
    snprintf(path, sizeof path, "%s/etc/sub", root);
    assert_int_equal(fs_mkdir_p(path, 0755, &e), 0);
    assert_int_equal(fs_mkdir_p(dst, 0755, &e), 0);
    snprintf(path, sizeof path, "%s/etc/passwd", root);
    assert_int_equal(fs_write_file_replace(path, "root:x:0:0\n", 11, 0600, &e), 0);
    assert_int_equal(chown(path, 12, 34), 0);
    char lnk[300];
    snprintf(lnk, sizeof lnk, "%s/etc/hard", root);
    assert_int_equal(link(path, lnk), 0);
    snprintf(lnk, sizeof lnk, "%s/etc/sym", root);
    assert_int_equal(symlink("/etc/passwd", lnk), 0);
    snprintf(path, sizeof path, "%s/etc", root);
    assert_int_equal(chmod(path, 0710), 0);
    /* a symlink to outside the root resolves inside it */
    snprintf(lnk, sizeof lnk, "%s/escape", root);
    assert_int_equal(symlink("/../../etc", lnk), 0);

    assert_int_equal(rt_volume_copy_in(root, "/etc", dst, &e), 0);
    struct stat sb, sb2;
    snprintf(path, sizeof path, "%s/passwd", dst);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_uid, 12);
    assert_int_equal(sb.st_gid, 34);
    assert_int_equal(sb.st_mode & 07777, 0600);
    snprintf(lnk, sizeof lnk, "%s/hard", dst);
    assert_int_equal(stat(lnk, &sb2), 0);
    assert_int_equal(sb.st_ino, sb2.st_ino);
    char target[64] = "";
    snprintf(lnk, sizeof lnk, "%s/sym", dst);
    assert_true(readlink(lnk, target, sizeof target - 1) > 0);
    assert_string_equal(target, "/etc/passwd");
    assert_int_equal(stat(dst, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0710);
    snprintf(path, sizeof path, "%s/sub", dst);
    assert_int_equal(access(path, F_OK), 0);

    /* not empty any more: left alone; missing source: nothing */
    assert_int_equal(rt_volume_copy_in(root, "/escape", dst, &e), 0);
    assert_int_equal(rt_volume_copy_in(root, "/nope", dst, &e), 0);
    assert_false(rt_volume_dir_empty(dst));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_mount_options),
        cmocka_unit_test(test_volume_binds),
        cmocka_unit_test(test_volume_bind_errors),
        cmocka_unit_test(test_volume_mounts),
        cmocka_unit_test(test_volumes_from),
        cmocka_unit_test(test_clean_path),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_prune_filters),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_and_adopt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_in, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
