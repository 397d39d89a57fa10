/* The local log driver (runtime/logs/logfile_local.c): the record
 * encoding byte for byte, decoding of whole, torn and foreign records,
 * rotation with gzip-compressed rotated files, and reading the set back
 * with since/until/tail and from an offset (follow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "runtime/logs/logfile.h"
#include "runtime/logs/logfile_local.h"

#define T0 (1767323045LL * 1000000000LL)
#define SEC 1000000000LL

typedef struct fixture {
    char dir[64];
    char path[160];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/berth-loglocal-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/local-logs", f->dir);
    mkdir(sub, 0750);
    snprintf(f->path, sizeof f->path, "%s/container.log", sub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fs_rm_rf(f->dir, NULL);
    free(f);
    return 0;
}

typedef struct got {
    size_t n;
    char text[64][64];
    int64_t time[64];
    rt_log_stream stream[64];
} got;

static int collect(void *ctx, const rt_log_entry *ent)
{
    got *g = ctx;
    if (g->n < 64) {
        snprintf(g->text[g->n], sizeof g->text[0], "%.*s", (int)ent->len, ent->line);
        g->time[g->n] = ent->time_ns;
        g->stream[g->n] = ent->stream;
    }
    g->n++;
    return 0;
}

static void test_encoding(void **state)
{
    (void)state;
    char out[RT_LOCALREC_MAX(3)];
    size_t n = rt_localrec_encode(out, RT_LOG_STDERR, "hi\n", 3, 0x0102030405060708LL);
    static const unsigned char want[] = {0, 0, 0, 13, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 'h', 'i', '\n', 0, 0, 0, 13};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);

    rt_log_entry ent;
    size_t used;
    assert_int_equal(rt_localrec_decode(out, n, &ent, &used), 1);
    assert_int_equal(used, n);
    assert_int_equal(ent.stream, RT_LOG_STDERR);
    assert_true(ent.time_ns == 0x0102030405060708LL);
    assert_int_equal(ent.len, 3);
    assert_memory_equal(ent.line, "hi\n", 3);
    /* torn: every prefix is "not yet", never a record or an error */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(rt_localrec_decode(out, k, &ent, &used), 0);
    /* foreign: a json-file line, a bad trailer, a bad stream */
    assert_int_equal(rt_localrec_decode("{\"log\":\"x\"}\n", 12, &ent, &used), -1);
    char bad[sizeof want];
    memcpy(bad, want, sizeof want);
    bad[sizeof want - 1] = 14;
    assert_int_equal(rt_localrec_decode(bad, sizeof bad, &ent, &used), -1);
    memcpy(bad, want, sizeof want);
    bad[4] = 3;
    assert_int_equal(rt_localrec_decode(bad, sizeof bad, &ent, &used), -1);
    assert_true(rt_log_path_is_local("/x/containers/abc/local-logs/container.log"));
    assert_false(rt_log_path_is_local("/x/containers/abc/abc-json.log"));
}

/* 30 lines into 3 files of ~100 bytes: the oldest rotated away, the
 * rotated one gzipped, and reading gives the rest in order. */
static void test_rotation_compressed(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 100, 3, &l, &e), 0);
    rt_logfile_set_local(l, true);
    for (int i = 0; i < 30; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %02d\n", i);   /* 8 bytes: 26-byte records */
        assert_int_equal(rt_logfile_write(l, i % 3 ? RT_LOG_STDOUT : RT_LOG_STDERR, line, strlen(line),
                                          T0 + i * SEC, &e), 0);
    }
    rt_logfile_close(l);
    char p1[200], p2[200], plain1[200];
    snprintf(p1, sizeof p1, "%s.1.gz", f->path);
    snprintf(p2, sizeof p2, "%s.2.gz", f->path);
    snprintf(plain1, sizeof plain1, "%s.1", f->path);
    assert_int_equal(access(p1, F_OK), 0);
    assert_int_equal(access(p2, F_OK), 0);
    assert_int_not_equal(access(plain1, F_OK), 0);
    /* gzip's magic, not records */
    FILE *fp = fopen(p1, "rb");
    unsigned char magic[2] = {0, 0};
    assert_int_equal(fread(magic, 1, 2, fp), 2);
    fclose(fp);
    assert_true(magic[0] == 0x1f && magic[1] == 0x8b);

    got g = {0};
    rt_log_query all = {.stdout_ = true, .stderr_ = true, .tail = -1};
    int64_t off = -1;
    assert_int_equal(rt_log_read(f->path, 3, &all, collect, &g, &off, &e), 0);
    /* 3 records per file (78 bytes; a 4th would pass 100): the last 9 lines */
    assert_int_equal(g.n, 9);
    for (size_t i = 0; i < g.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "line %02zu\n", 21 + i);
        assert_string_equal(g.text[i], want);
        assert_true(g.time[i] == T0 + (int64_t)(21 + i) * SEC);
    }
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(off, st.st_size);

    /* tail across files, stderr only, since and until */
    memset(&g, 0, sizeof g);
    rt_log_query q = {.stdout_ = true, .stderr_ = true, .tail = 4};
    assert_int_equal(rt_log_read(f->path, 3, &q, collect, &g, NULL, &e), 0);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.text[0], "line 26\n");
    memset(&g, 0, sizeof g);
    q = (rt_log_query){.stderr_ = true, .tail = -1};
    assert_int_equal(rt_log_read(f->path, 3, &q, collect, &g, NULL, &e), 0);
    assert_int_equal(g.n, 3);   /* 21, 24, 27 */
    assert_string_equal(g.text[2], "line 27\n");
    memset(&g, 0, sizeof g);
    q = (rt_log_query){.stdout_ = true, .stderr_ = true, .since_ns = T0 + 23 * SEC, .until_ns = T0 + 25 * SEC,
                       .tail = -1};
    assert_int_equal(rt_log_read(f->path, 3, &q, collect, &g, NULL, &e), 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "line 23\n");
    assert_string_equal(g.text[2], "line 25\n");
}

/* Follow: what is appended after an offset, a torn record waits. */
static void test_read_from_offset(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    rt_logfile_set_local(l, true);
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDOUT, "one\n", 4, T0, &e), 0);
    got g = {0};
    rt_log_query all = {.stdout_ = true, .stderr_ = true, .tail = -1};
    int64_t off = 0;
    assert_int_equal(rt_log_read(f->path, 1, &all, collect, &g, &off, &e), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDERR, "two\n", 4, T0 + SEC, &e), 0);
    /* half a record, as a reader may see it mid-write */
    char rec[RT_LOCALREC_MAX(6)];
    size_t n = rt_localrec_encode(rec, RT_LOG_STDOUT, "three\n", 6, T0 + 2 * SEC);
    FILE *fp = fopen(f->path, "ab");
    assert_int_equal(fwrite(rec, 1, n / 2, fp), n / 2);
    fclose(fp);
    memset(&g, 0, sizeof g);
    assert_int_equal(rt_log_read_from(f->path, &off, &all, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "two\n");
    assert_int_equal(g.stream[0], RT_LOG_STDERR);
    fp = fopen(f->path, "ab");
    assert_int_equal(fwrite(rec + n / 2, 1, n - n / 2, fp), n - n / 2);
    fclose(fp);
    memset(&g, 0, sizeof g);
    assert_int_equal(rt_log_read_from(f->path, &off, &all, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "three\n");
    rt_logfile_close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoding),
        cmocka_unit_test_setup_teardown(test_rotation_compressed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_offset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
