/* Unit tests for the json-file log driver (runtime/logfile*.c): the exact
 * bytes dockerd would write, line cutting, rotation, and reading back with
 * since/until/tail and from an offset.  Each test works in its own scratch
 * directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/buf.h"
#include "lib/fsutil.h"
#include "runtime/logs/logfile.h"

#define T0 (1767323045LL * 1000000000LL)   /* 2026-01-02T03:04:05Z */
#define SEC 1000000000LL

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/berth-logfile-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/c-json.log", f->dir);
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

/* ---- helpers ---- */

typedef struct got {
    size_t n;
    rt_log_stream stream[256];
    int64_t time[256];
    char *text[256];
    size_t len[256];
    size_t stop_after;   /* 0 = never stop */
} got;

static int collect(void *ctx, const rt_log_entry *ent)
{
    got *g = ctx;
    if (g->n < 256) {
        g->stream[g->n] = ent->stream;
        g->time[g->n] = ent->time_ns;
        g->text[g->n] = malloc(ent->len + 1);
        memcpy(g->text[g->n], ent->line, ent->len);
        g->text[g->n][ent->len] = 0;
        g->len[g->n] = ent->len;
    }
    g->n++;
    return g->stop_after && g->n >= g->stop_after;
}

static void got_reset(got *g)
{
    for (size_t i = 0; i < g->n && i < 256; i++)
        free(g->text[i]);
    memset(g, 0, sizeof *g);
}

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    if (fs_read_file(path, &data, &n, NULL) < 0)
        return NULL;
    if (len)
        *len = n;
    return data;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void wr(rt_logfile *l, rt_log_stream s, const char *text, int64_t t)
{
    berr e;
    assert_int_equal(rt_logfile_write(l, s, text, strlen(text), t, &e), 0);
}

static const rt_log_query ALL = {.stdout_ = true, .stderr_ = true, .tail = -1};

static void read_all(const char *path, int max_file, const rt_log_query *q, got *g, int64_t *off)
{
    berr e;
    int r = rt_log_read(path, max_file, q, collect, g, off, &e);
    if (r < 0)
        fail_msg("rt_log_read: %s", e.msg);
}

/* ---- writing ---- */

static void test_roundtrip(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    wr(l, RT_LOG_STDOUT, "hello\nwor", T0);
    wr(l, RT_LOG_STDERR, "oops\n", T0 + 1);
    wr(l, RT_LOG_STDOUT, "ld\nbye\n", T0 + 500 * 1000000);
    wr(l, RT_LOG_STDERR, "no newline", T0 + 2 * SEC);
    assert_int_equal(rt_logfile_flush(l, &e), 0);
    rt_logfile_close(l);

    char *data = slurp(f->path, NULL);
    /* the partial "wor" is written when its line completes, with that time */
    const char *want =
        "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05Z\"}\n"
        "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"2026-01-02T03:04:05.000000001Z\"}\n"
        "{\"log\":\"world\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05.5Z\"}\n"
        "{\"log\":\"bye\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05.5Z\"}\n"
        /* flush stamps with the clock */
        "{\"log\":\"no newline\",\"stream\":\"stderr\",\"time\":\"";
    assert_memory_equal(data, want, strlen(want));
    free(data);

    got g = {0};
    int64_t off = -1;
    read_all(f->path, 1, &ALL, &g, &off);
    assert_int_equal(g.n, 5);
    assert_string_equal(g.text[0], "hello\n");
    assert_int_equal(g.stream[0], RT_LOG_STDOUT);
    assert_true(g.time[0] == T0);
    assert_string_equal(g.text[1], "oops\n");
    assert_int_equal(g.stream[1], RT_LOG_STDERR);
    assert_true(g.time[1] == T0 + 1);
    assert_string_equal(g.text[2], "world\n");
    assert_true(g.time[2] == T0 + 500 * 1000000);
    assert_string_equal(g.text[3], "bye\n");
    assert_string_equal(g.text[4], "no newline");
    assert_int_equal(g.len[4], 10);
    assert_int_equal(g.stream[4], RT_LOG_STDERR);
    assert_true(off == file_size(f->path));
    got_reset(&g);

    /* reopening appends */
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    wr(l, RT_LOG_STDOUT, "again\n", T0 + 3 * SEC);
    wr(l, RT_LOG_STDOUT, "unfinished", T0 + 3 * SEC);
    rt_logfile_close(l);   /* close logs the unfinished line too */
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, 7);
    assert_string_equal(g.text[5], "again\n");
    assert_string_equal(g.text[6], "unfinished");
    got_reset(&g);
}

static void test_escaping(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    const char in[] = "q\"b\\c\x01\x1f\t\r<a>&\x7f "
                      "\xff|\xe2\x82|\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|"
                      "\xe2\x80\xa8\xe2\x80\xa9|\xf0\x9f\x9a\x80\xcf\x88\xef\xbf\xbd\n";
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDOUT, in, sizeof in - 1, T0, &e), 0);
    rt_logfile_close(l);
    char *data = slurp(f->path, NULL);
    assert_string_equal(data,
        "{\"log\":\"q\\\"b\\\\c\\u0001\\u001f\\u0009\\r\\u003ca\\u003e\\u0026\x7f "
        "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd|"
        "\\u2028\\u2029|\xf0\x9f\x9a\x80\xcf\x88\xef\xbf\xbd\\n\","
        "\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05Z\"}\n");
    free(data);

    got g = {0};
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, 1);
    const char want[] = "q\"b\\c\x01\x1f\t\r<a>&\x7f "
                        "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xe2\x80\xa8\xe2\x80\xa9|\xf0\x9f\x9a\x80\xcf\x88\xef\xbf\xbd\n";
    assert_int_equal(g.len[0], sizeof want - 1);
    assert_memory_equal(g.text[0], want, sizeof want - 1);
    got_reset(&g);

    /* a NUL byte survives the round trip (entries carry a length) */
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDERR, "a\0b\n", 4, T0, &e), 0);
    rt_logfile_close(l);
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.len[1], 4);
    assert_memory_equal(g.text[1], "a\0b\n", 4);
    got_reset(&g);
}

static void test_times(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    int64_t times[] = {T0 + 123400000, T0, T0 + 1, T0 + 999999999, T0 + 100000000, T0 + 120000,
                       0, 951782400LL * SEC + 10};
    const char *want[] = {"2026-01-02T03:04:05.1234Z", "2026-01-02T03:04:05Z",
                          "2026-01-02T03:04:05.000000001Z", "2026-01-02T03:04:05.999999999Z",
                          "2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.00012Z",
                          "1970-01-01T00:00:00Z", "2000-02-29T00:00:00.00000001Z"};
    size_t n = sizeof times / sizeof times[0];
    for (size_t i = 0; i < n; i++)
        wr(l, RT_LOG_STDOUT, "x\n", times[i]);
    rt_logfile_close(l);
    char *data = slurp(f->path, NULL);
    char *line = data;
    for (size_t i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = 0;
        char expect[128];
        snprintf(expect, sizeof expect, "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"%s\"}", want[i]);
        assert_string_equal(line, expect);
        line = nl + 1;
    }
    free(data);
    got g = {0};
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, n);
    for (size_t i = 0; i < n; i++)
        assert_true(g.time[i] == times[i]);
    got_reset(&g);
}

/* Records as dockerd and other writers may have left them: extra fields,
 * other key orders, offsets, fewer fraction digits, JSON escapes we never
 * write; and lines that are not records at all, which are skipped. */
static void test_foreign_and_corrupt(void **state)
{
    fixture *f = *state;
    const char *content =
        "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"attrs\":{\"k\":\"v\",\"n\":[1,2,{\"x\":null}]},\"time\":\"2026-01-02T03:04:05.1Z\"}\n"
        "not json at all\n"
        "{\"time\":\"2026-01-02T04:04:05.2+01:00\", \"stream\" : \"stderr\" , \"log\":\"b\\t\\u00e9\\ud83d\\ude80\\/\\n\"}\n"
        "{\"log\":\"no stream\\n\",\"time\":\"2026-01-02T03:04:05Z\"}\n"
        "{\"log\":\"bad time\\n\",\"stream\":\"stdout\",\"time\":\"yesterday\"}\n"
        "{\"log\":\"bad stream\\n\",\"stream\":\"stdin\",\"time\":\"2026-01-02T03:04:05Z\"}\n"
        "{\"log\":\"trailing\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05Z\"} x\n"
        "{\"log\":\"lone \\udc00 surrogate\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:06Z\"}\n"
        "\n"
        "{\"log\":\"c\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:07.000000000Z\"}\n"
        "{\"log\":\"partial record being writ";
    berr e;
    assert_int_equal(fs_write_file_atomic(f->path, content, strlen(content), 0640, &e), 0);
    got g = {0};
    int64_t off;
    read_all(f->path, 1, &ALL, &g, &off);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.text[0], "a\n");
    assert_true(g.time[0] == T0 + 100000000);
    assert_string_equal(g.text[1], "b\t\xc3\xa9\xf0\x9f\x9a\x80/\n");
    assert_int_equal(g.stream[1], RT_LOG_STDERR);
    assert_true(g.time[1] == T0 + 200000000);
    assert_string_equal(g.text[2], "lone \xef\xbf\xbd surrogate");
    assert_string_equal(g.text[3], "c\n");
    assert_true(g.time[3] == T0 + 2 * SEC);
    /* the unfinished last line is not consumed */
    assert_true(off == (int64_t)(strrchr(content, '\n') - content + 1));
    got_reset(&g);

    rt_log_query q = ALL;
    q.tail = 3;
    read_all(f->path, 1, &q, &g, &off);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "b\t\xc3\xa9\xf0\x9f\x9a\x80/\n");
    assert_string_equal(g.text[2], "c\n");
    assert_true(off == (int64_t)(strrchr(content, '\n') - content + 1));
    got_reset(&g);
}

static void write_raw(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* A garbage "line" of more than a record's worth of bytes is skipped by
 * both the forward and the backward reader. */
static void test_overlong_garbage(void **state)
{
    fixture *f = *state;
    const char *rec1 = "{\"log\":\"before\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:05Z\"}\n";
    const char *rec2 = "{\"log\":\"after\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:06Z\"}\n";
    write_raw(f->path, rec1, strlen(rec1));
    size_t big = 3 * 1024 * 1024 + 12345;
    char *junk = malloc(big);
    memset(junk, 'j', big);
    junk[big - 1] = '\n';
    write_raw(f->path, junk, big);
    free(junk);
    write_raw(f->path, rec2, strlen(rec2));

    got g = {0};
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "before\n");
    assert_string_equal(g.text[1], "after\n");
    got_reset(&g);
    rt_log_query q = ALL;
    q.tail = 2;
    read_all(f->path, 1, &q, &g, NULL);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "before\n");
    assert_string_equal(g.text[1], "after\n");
    got_reset(&g);
}

/* dockerd's copier logs a line that fills its 16 KiB buffer as a partial
 * record of exactly 16 KiB, without newline. */
static void test_long_lines(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    size_t n = 40000;
    char *line = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        line[i] = (char)('a' + i % 26);
    line[n] = '\n';
    /* fed in odd pieces, as a pipe delivers them */
    for (size_t off = 0; off < n + 1; off += 777) {
        size_t k = n + 1 - off < 777 ? n + 1 - off : 777;
        assert_int_equal(rt_logfile_write(l, RT_LOG_STDOUT, line + off, k, T0, &e), 0);
    }
    /* exactly 16384 bytes then newline: a full partial, then "\n" alone */
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDERR, line, 16384, T0, &e), 0);
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDERR, "\n", 1, T0, &e), 0);
    /* 16383 bytes and its newline fit: one record */
    char *one = malloc(16384);
    memcpy(one, line, 16383);
    one[16383] = '\n';
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDOUT, one, 16384, T0, &e), 0);
    /* in one write of 40001 bytes: same pieces as above */
    assert_int_equal(rt_logfile_write(l, RT_LOG_STDERR, line, n + 1, T0, &e), 0);
    rt_logfile_close(l);

    got g = {0};
    read_all(f->path, 1, &ALL, &g, NULL);
    size_t want_len[] = {16384, 16384, 40000 - 32768 + 1, 16384, 1, 16384, 16384, 16384, 40000 - 32768 + 1};
    assert_int_equal(g.n, 9);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(g.len[i], want_len[i]);
    assert_memory_equal(g.text[0], line, 16384);
    assert_memory_equal(g.text[1], line + 16384, 16384);
    assert_memory_equal(g.text[2], line + 32768, 40000 - 32768 + 1);
    assert_string_equal(g.text[4], "\n");
    assert_memory_equal(g.text[5], one, 16384);
    assert_memory_equal(g.text[8], line + 32768, 40000 - 32768 + 1);
    got_reset(&g);
    free(one);
    free(line);

    /* the partial pieces have no "\n" in the file */
    char *data = slurp(f->path, NULL);
    char *first_end = strchr(data, '\n');
    assert_non_null(first_end);
    assert_true(first_end[-1] == '}' && first_end[-2] == '"');
    assert_null(strstr(data, "xyzab\\n"));   /* no newline inside piece boundaries */
    free(data);
}

/* ---- rotation ---- */

static void test_rotation(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    /* each record is 68 bytes: 2 fit in 150 */
    assert_int_equal(rt_logfile_open(f->path, 150, 3, &l, &e), 0);
    char text[32];
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "line %02d\n", i);
        wr(l, RT_LOG_STDOUT, text, T0 + i * SEC);
    }
    char name[160];
    snprintf(name, sizeof name, "%s.1", f->path);
    assert_true(file_size(name) == 136);
    snprintf(name, sizeof name, "%s.2", f->path);
    assert_true(file_size(name) == 136);
    snprintf(name, sizeof name, "%s.3", f->path);
    assert_true(file_size(name) == -1);
    assert_true(file_size(f->path) == 136);

    got g = {0};
    int64_t off;
    read_all(f->path, 3, &ALL, &g, &off);
    assert_int_equal(g.n, 6);
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "line %02d\n", i + 4);
        assert_string_equal(g.text[i], text);
    }
    assert_true(off == 136);
    got_reset(&g);

    /* the tail crosses files */
    rt_log_query q = ALL;
    q.tail = 3;
    read_all(f->path, 3, &q, &g, &off);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text[0], "line 07\n");
    assert_string_equal(g.text[2], "line 09\n");
    assert_true(off == 136);
    got_reset(&g);

    /* reading with a smaller max_file sees fewer files */
    read_all(f->path, 2, &ALL, &g, NULL);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.text[0], "line 06\n");
    got_reset(&g);

    /* a record larger than max-size still goes into a file of its own */
    char big[400];
    memset(big, 'b', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = 0;
    wr(l, RT_LOG_STDERR, big, T0 + 20 * SEC);
    wr(l, RT_LOG_STDERR, "small\n", T0 + 21 * SEC);
    rt_logfile_close(l);
    assert_true(file_size(f->path) == 66);
    snprintf(name, sizeof name, "%s.1", f->path);
    assert_true(file_size(name) > 400);
    read_all(f->path, 3, &ALL, &g, NULL);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.text[0], "line 08\n");
    assert_string_equal(g.text[2], big);
    assert_string_equal(g.text[3], "small\n");
    got_reset(&g);
}

static void test_rotation_max_file_1(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 150, 1, &l, &e), 0);
    char text[32];
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "line %02d\n", i);
        wr(l, RT_LOG_STDOUT, text, T0 + i * SEC);
    }
    rt_logfile_close(l);
    char name[160];
    snprintf(name, sizeof name, "%s.1", f->path);
    assert_true(file_size(name) == -1);
    assert_true(file_size(f->path) == 68);
    got g = {0};
    read_all(f->path, 1, &ALL, &g, NULL);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "line 04\n");
    got_reset(&g);

    /* an existing file already over max-size is rotated on the next write */
    assert_int_equal(rt_logfile_open(f->path, 100, 1, &l, &e), 0);
    wr(l, RT_LOG_STDOUT, "line 05\n", T0 + 5 * SEC);
    assert_true(file_size(f->path) == 68);
    rt_logfile_close(l);

    assert_int_equal(rt_logfile_open(f->path, 100, 0, &l, &e), -EINVAL);
    assert_int_equal(rt_logfile_open(f->path, -1, 1, &l, &e), -EINVAL);
}

/* ---- queries ---- */

static void write_ten(fixture *f)
{
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    char text[32];
    for (int i = 0; i < 10; i++) {
        snprintf(text, sizeof text, "%d\n", i);
        wr(l, i % 2 ? RT_LOG_STDERR : RT_LOG_STDOUT, text, T0 + i * SEC);
    }
    rt_logfile_close(l);
}

/* Checks that the entries read are exactly the numbered ones in want. */
static void expect(const char *path, const rt_log_query *q, const char *want)
{
    got g = {0};
    read_all(path, 1, q, &g, NULL);
    buf b = BUF_INIT;
    for (size_t i = 0; i < g.n; i++)
        buf_append(&b, g.text[i], 1);
    buf_append(&b, "", 0);
    assert_string_equal(b.data, want);
    buf_free(&b);
    got_reset(&g);
}

static void test_queries(void **state)
{
    fixture *f = *state;
    write_ten(f);
    rt_log_query q = ALL;
    expect(f->path, &q, "0123456789");
    q.tail = 0;
    expect(f->path, &q, "");
    q.tail = 3;
    expect(f->path, &q, "789");
    q.tail = 10;
    expect(f->path, &q, "0123456789");
    q.tail = 100;
    expect(f->path, &q, "0123456789");

    q = ALL;
    q.since_ns = T0 + 5 * SEC;   /* inclusive */
    expect(f->path, &q, "56789");
    q.since_ns = T0 + 5 * SEC + 1;
    expect(f->path, &q, "6789");
    q.since_ns = 0;
    q.until_ns = T0 + 3 * SEC;   /* inclusive */
    expect(f->path, &q, "0123");
    q.since_ns = T0 + 2 * SEC;
    expect(f->path, &q, "23");
    q.tail = 1;
    expect(f->path, &q, "3");
    q.tail = 5;
    expect(f->path, &q, "23");
    q.since_ns = T0 + 20 * SEC;
    q.until_ns = 0;
    expect(f->path, &q, "");

    q = ALL;
    q.stderr_ = false;
    expect(f->path, &q, "02468");
    q.tail = 2;
    expect(f->path, &q, "68");
    q.stdout_ = false;
    expect(f->path, &q, "");
    q = ALL;
    q.stdout_ = false;
    q.tail = 2;
    q.until_ns = T0 + 6 * SEC;
    expect(f->path, &q, "35");

    /* fn stops the read */
    got g = {.stop_after = 2};
    int64_t off;
    read_all(f->path, 1, &ALL, &g, &off);
    assert_int_equal(g.n, 2);
    assert_true(off == 2 * 62);   /* after the second record */
    got_reset(&g);

    /* no log file yet: nothing, not an error */
    char none[160];
    snprintf(none, sizeof none, "%s/none.log", f->dir);
    read_all(none, 3, &ALL, &g, &off);
    assert_int_equal(g.n, 0);
    assert_true(off == 0);
}

static void test_read_from(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    /* records here are 64-66 bytes: three fit in 250 (the writer does not
     * count "four", which the test appends by hand) */
    assert_int_equal(rt_logfile_open(f->path, 250, 2, &l, &e), 0);
    wr(l, RT_LOG_STDOUT, "one\n", T0);
    wr(l, RT_LOG_STDOUT, "two\n", T0 + SEC);
    got g = {0};
    int64_t off;
    rt_log_query q = ALL;
    q.tail = 0;   /* `logs -f --tail 0`: only what comes next */
    read_all(f->path, 2, &q, &g, &off);
    assert_int_equal(g.n, 0);
    assert_true(off == file_size(f->path));

    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 0);
    wr(l, RT_LOG_STDERR, "three\n", T0 + 2 * SEC);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "three\n");
    assert_true(off == file_size(f->path));
    got_reset(&g);

    /* an unfinished record is left for the next round */
    const char *rec = "{\"log\":\"four\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-02T03:04:08Z\"}\n";
    write_raw(f->path, rec, 20);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 0);
    write_raw(f->path, rec + 20, strlen(rec) - 20);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "four\n");
    got_reset(&g);

    /* rotation: the new file is shorter than the offset; what was written
     * before the rotation is at the end of path.1 */
    wr(l, RT_LOG_STDOUT, "five\n", T0 + 4 * SEC);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "five\n");
    assert_true(off == file_size(f->path));
    assert_true(off < 100);
    got_reset(&g);

    /* rotation again, and the new file grew past our offset before we
     * looked: the offset no longer falls on a line boundary there */
    int64_t old = off;
    wr(l, RT_LOG_STDOUT, "six\n", T0 + 5 * SEC);
    wr(l, RT_LOG_STDOUT, "seven\n", T0 + 6 * SEC);
    wr(l, RT_LOG_STDOUT, "eight\n", T0 + 7 * SEC);
    wr(l, RT_LOG_STDOUT, "nine\n", T0 + 8 * SEC);
    wr(l, RT_LOG_STDOUT, "ten\n", T0 + 9 * SEC);
    assert_true(file_size(f->path) > old);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 5);
    assert_string_equal(g.text[0], "six\n");
    assert_string_equal(g.text[1], "seven\n");
    assert_string_equal(g.text[2], "eight\n");
    assert_string_equal(g.text[4], "ten\n");
    assert_true(off == file_size(f->path));
    got_reset(&g);

    /* filters apply while following, also to what is found in path.1;
     * until stops before the record */
    q = ALL;
    q.stdout_ = false;
    wr(l, RT_LOG_STDOUT, "out\n", T0 + 10 * SEC);
    wr(l, RT_LOG_STDERR, "err\n", T0 + 10 * SEC);
    assert_int_equal(rt_log_read_from(f->path, &off, &q, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "err\n");
    got_reset(&g);
    q = ALL;
    q.until_ns = T0 + 11 * SEC;
    wr(l, RT_LOG_STDOUT, "in time\n", T0 + 11 * SEC);
    wr(l, RT_LOG_STDOUT, "too late\n", T0 + 12 * SEC);
    assert_int_equal(rt_log_read_from(f->path, &off, &q, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "in time\n");
    got_reset(&g);
    rt_logfile_close(l);

    /* with max-file 1 the file is truncated: start over */
    char older[160];
    snprintf(older, sizeof older, "%s.1", f->path);
    unlink(older);
    unlink(f->path);
    assert_int_equal(rt_logfile_open(f->path, 150, 1, &l, &e), 0);
    wr(l, RT_LOG_STDOUT, "a\n", T0);
    wr(l, RT_LOG_STDOUT, "b\n", T0);
    off = 0;
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 2);
    got_reset(&g);
    wr(l, RT_LOG_STDOUT, "c\n", T0);
    assert_int_equal(rt_log_read_from(f->path, &off, &ALL, collect, &g, &e), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text[0], "c\n");
    got_reset(&g);
    rt_logfile_close(l);

    char none[160];
    snprintf(none, sizeof none, "%s/none.log", f->dir);
    off = 0;
    assert_int_equal(rt_log_read_from(none, &off, &ALL, collect, &g, &e), -ENOENT);
}

/* ---- sizes ---- */

static void test_parse_size(void **state)
{
    (void)state;
    struct { const char *s; int64_t v; } ok[] = {
        {"100", 100}, {"0", 0}, {"10m", 10 << 20}, {"10M", 10 << 20}, {"10mb", 10 << 20},
        {"10MiB", 10 << 20}, {"512k", 512 << 10}, {"512KB", 512 << 10}, {"1g", 1LL << 30},
        {"1.5m", 3 << 19}, {"2t", 2LL << 40}, {"1p", 1LL << 50}, {"10b", 10}, {"10B", 10},
        {"10 k", 10 << 10}, {"0.5k", 512}, {".5k", 512}, {"1.k", 1024}, {"7 ", 7},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        if (rt_log_parse_size(ok[i].s, &v) != 0 || v != ok[i].v)
            fail_msg("\"%s\": got %lld", ok[i].s, (long long)v);
    }
    const char *bad[] = {"", "m", "-1", "-1m", "10x", "10kk", "10kbb", "10kb ", "1.2.3", "10mab",
                         "10bi", "abc", "1e3", " 10", "10  k", "9999999p", NULL};
    int64_t v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (rt_log_parse_size(bad[i], &v) != -EINVAL)
            fail_msg("\"%s\" accepted", bad[i] ? bad[i] : "(null)");
    }
}

/* ---- big files ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A 50 MB log: a tail read touches only its end, and a full read streams
 * it through a small buffer. */
static void test_big_file(void **state)
{
    fixture *f = *state;
    rt_logfile *l;
    berr e;
    assert_int_equal(rt_logfile_open(f->path, 0, 1, &l, &e), 0);
    char text[160];
    memset(text, 'z', sizeof text);
    int64_t i = 0;
    while (file_size(f->path) < 50 * 1000 * 1000) {
        for (int k = 0; k < 10000; k++, i++) {
            int n = snprintf(text, sizeof text, "%08lld some log text ", (long long)i);
            text[n] = 'z';
            text[120] = '\n';
            assert_int_equal(rt_logfile_write(l, RT_LOG_STDOUT, text, 121, T0 + i * 1000, &e), 0);
        }
    }
    rt_logfile_close(l);
    int64_t total = i;

    long rss0 = maxrss_kb();
    double t0 = now_s();
    got g = {0};
    rt_log_query q = ALL;
    q.tail = 5;
    int64_t off;
    read_all(f->path, 1, &q, &g, &off);
    double dt = now_s() - t0;
    assert_int_equal(g.n, 5);
    char want[32];
    snprintf(want, sizeof want, "%08lld", (long long)(total - 1));
    assert_memory_equal(g.text[4], want, 8);
    assert_true(off == file_size(f->path));
    got_reset(&g);
    assert_true(dt < 0.5);
    assert_true(maxrss_kb() - rss0 < 10 * 1024);

    /* a full read, counting only */
    t0 = now_s();
    got count = {.stop_after = 0};
    q = ALL;
    q.stderr_ = false;
    q.since_ns = T0 + (total - 3) * 1000;   /* everything is scanned, 3 are passed on */
    read_all(f->path, 1, &q, &count, &off);
    dt = now_s() - t0;
    assert_int_equal(count.n, 3);
    got_reset(&count);
    assert_true(off == file_size(f->path));
    assert_true(maxrss_kb() - rss0 < 10 * 1024);
    print_message("50 MB: %lld records, full scan %.2fs\n", (long long)total, dt);
    assert_true(dt < 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_and_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlong_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_max_file_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from, setup, teardown),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test_setup_teardown(test_big_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
