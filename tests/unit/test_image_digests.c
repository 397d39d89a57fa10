/* runtime/image: the digests a pull records (RepoDigests) as names of an
 * image: found by name@digest (and name:tag@digest), shown apart from the
 * tags, removed with their repository's last tag, and the image's only
 * name when pulled by digest; the rules of dockerd's reference store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <uv.h>

#include <cmocka.h>

#include "node/localstore.h"
#include "runtime/image/store.h"

#define DGST "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define DGST2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

typedef struct fixture {
    char dir[64];
    sqlite3 *db;
    rt_graphdriver driver;
    rt_image_store *s;
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/berth-test-digests-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/local.db", f->dir);
    berr e = {0};
    if (localstore_open(path, &f->db, &e) < 0 || rt_driver_init(&f->driver, f->dir, "vfs", &e) < 0 ||
        rt_images_open(&f->s, uv_default_loop(), f->db, &f->driver, f->dir, &e) < 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rt_images_close(f->s);
    sqlite3_close(f->db);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A layerless image (its config differs by marker) as a pull records it. */
static void pulled(fixture *f, const char *marker, const char *ref, const char *repo_digest, char id[DIGEST_BUF],
                   bool *newer)
{
    char config[256];
    snprintf(config, sizeof config, "{\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"Labels\":{\"m\":\"%s\"}}}",
             marker);
    berr e = {0};
    bool n = false;
    assert_int_equal(rt_images_commit_pulled(f->s, config, strlen(config), NULL, 0, ref, repo_digest, &n, id, &e), 0);
    if (newer)
        *newer = n;
}

static rt_image *resolve(fixture *f, const char *name)
{
    rt_image *img = NULL;
    berr e = {0};
    return rt_image_resolve(f->s, name, &img, &e) == 0 ? img : NULL;
}

static bool reported(json_t *report, const char *key, const char *value)
{
    size_t i;
    json_t *v;
    json_array_foreach(report, i, v) if (!strcmp(json_string_value(json_object_get(v, key)) ?: "", value)) return true;
    return false;
}

static void digest_is_a_name_apart_from_tags(void **state)
{
    fixture *f = *state;
    char id[DIGEST_BUF];
    bool newer;
    pulled(f, "a", "reg:5000/app:1", "reg:5000/app@" DGST, id, &newer);
    assert_true(newer);
    rt_image *img = resolve(f, "reg:5000/app@" DGST);
    assert_non_null(img);
    assert_string_equal(img->id, id);
    assert_int_equal(img->n_tags, 1);
    assert_string_equal(img->tags[0], "reg:5000/app:1");
    assert_int_equal(img->n_digests, 1);
    assert_string_equal(img->digests[0], "reg:5000/app@" DGST);
    /* name:tag@digest is looked up by its digest, whatever the tag */
    assert_string_equal(rt_image_named_digest(img, "reg:5000/app:other@" DGST), img->digests[0]);
    assert_null(rt_image_named_tag(img, "reg:5000/app@" DGST));
    assert_null(rt_image_named_digest(img, "reg:5000/app:1"));
    rt_image_free(img);
    rt_image *other = resolve(f, "reg:5000/app:zz@" DGST);
    assert_non_null(other);
    rt_image_free(other);
    assert_null(resolve(f, "reg:5000/app@" DGST2));
    /* docker.io names are kept familiar, so both spellings find it */
    pulled(f, "b", "", "busybox@" DGST2, id, &newer);
    assert_true(newer);
    img = resolve(f, "docker.io/library/busybox@" DGST2);
    assert_non_null(img);
    assert_int_equal(img->n_tags, 0);
    rt_image_free(img);
    /* the same digest again: up to date */
    pulled(f, "b", "", "busybox@" DGST2, id, &newer);
    assert_false(newer);
}

static void last_tag_of_repository_takes_its_digests(void **state)
{
    fixture *f = *state;
    char id[DIGEST_BUF];
    pulled(f, "c", "reg:5000/c:1", "reg:5000/c@" DGST, id, NULL);
    pulled(f, "c", "other:1", "other@" DGST2, id, NULL);
    json_t *report = json_array();
    berr e = {0};
    assert_int_equal(rt_image_delete(f->s, "reg:5000/c:1", false, false, report, &e), 0);
    assert_true(reported(report, "Untagged", "reg:5000/c:1"));
    assert_true(reported(report, "Untagged", "reg:5000/c@" DGST));
    /* the other repository still names it */
    assert_false(reported(report, "Deleted", id));
    rt_image *img = resolve(f, id);
    assert_non_null(img);
    assert_int_equal(img->n_tags, 1);
    assert_int_equal(img->n_digests, 1);
    assert_string_equal(img->digests[0], "other@" DGST2);
    rt_image_free(img);
    json_array_clear(report);
    /* by ID: every name goes, then the image */
    assert_int_equal(rt_image_delete(f->s, id, false, false, report, &e), 0);
    assert_true(reported(report, "Untagged", "other:1"));
    assert_true(reported(report, "Untagged", "other@" DGST2));
    assert_true(reported(report, "Deleted", id));
    json_decref(report);
}

static void digest_alone_is_the_last_name(void **state)
{
    fixture *f = *state;
    char id[DIGEST_BUF];
    pulled(f, "d", "", "reg:5000/d@" DGST, id, NULL);
    json_t *report = json_array();
    berr e = {0};
    assert_int_equal(rt_image_delete(f->s, "reg:5000/d@" DGST, false, false, report, &e), 0);
    assert_true(reported(report, "Untagged", "reg:5000/d@" DGST));
    assert_true(reported(report, "Deleted", id));
    json_decref(report);
    assert_null(resolve(f, id));
}

static void names_in_two_repositories_need_force_by_id(void **state)
{
    fixture *f = *state;
    char id[DIGEST_BUF];
    pulled(f, "e", "", "one@" DGST, id, NULL);
    pulled(f, "e", "", "two@" DGST, id, NULL);
    json_t *report = json_array();
    berr e = {0};
    assert_int_equal(rt_image_delete(f->s, id, false, false, report, &e), -EBUSY);
    assert_non_null(strstr(e.msg, "referenced in multiple repositories"));
    assert_int_equal(rt_image_delete(f->s, id, true, false, report, &e), 0);
    assert_true(reported(report, "Deleted", id));
    json_decref(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(digest_is_a_name_apart_from_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(last_tag_of_repository_takes_its_digests, setup, teardown),
        cmocka_unit_test_setup_teardown(digest_alone_is_the_last_name, setup, teardown),
        cmocka_unit_test_setup_teardown(names_in_two_repositories_need_force_by_id, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
