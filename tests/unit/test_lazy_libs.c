/* lib/lazylib.c, lazy_curl.c, lazy_archive.c: libcurl and libarchive are
 * not mapped until a wrapper is called; then the wrappers reach the real
 * functions (a tar written and read back, a file:// transfer through the
 * multi interface, every kind of setopt and getinfo argument); first calls
 * racing in threads all get the library; and a library that cannot be
 * loaded makes the calls fail as the library reports failure.
 * The first two tests fork, so each child starts with neither library
 * loaded: they must run before anything in this process loads one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <cmocka.h>

#include "lib/lazylib.h"

/* Whether a mapping of this process is a file whose name has `name`. */
static int mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* cmocka's asserts longjmp into the runner, which a forked child must not
 * do: a child reports its first failure and exits with 1. */
#define CHECK(c)                                                                                                      \
    do {                                                                                                              \
        if (!(c)) {                                                                                                   \
            fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #c);                                            \
            _exit(1);                                                                                                 \
        }                                                                                                             \
    } while (0)

static void run_child(void (*body)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        body();
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void missing_body(void)
{
    lazy_archive_lib.soname = "libberth-absent-archive.so.0";
    lazy_curl_lib.soname = "libberth-absent-curl.so.0";
    /* releasing nothing does not even try to load */
    CHECK(archive_read_free(NULL) == ARCHIVE_OK);
    archive_entry_free(NULL);
    curl_slist_free_all(NULL);
    CHECK(curl_multi_cleanup(NULL) == CURLM_BAD_HANDLE);
    CHECK(__atomic_load_n(&lazy_archive_lib.state, __ATOMIC_ACQUIRE) == 0);
    CHECK(__atomic_load_n(&lazy_curl_lib.state, __ATOMIC_ACQUIRE) == 0);

    errno = EPIPE;
    CHECK(archive_read_new() == NULL);
    CHECK(errno == EPIPE);
    CHECK(archive_write_new() == NULL);
    CHECK(archive_entry_new() == NULL);
    CHECK(archive_read_support_format_tar(NULL) == ARCHIVE_FATAL);
    CHECK(archive_read_next_header(NULL, NULL) == ARCHIVE_FATAL);
    CHECK(archive_write_data(NULL, "x", 1) == ARCHIVE_FATAL);
    CHECK(archive_errno(NULL) == ELIBACC);
    CHECK(strstr(archive_error_string(NULL), "libarchive") != NULL);
    CHECK(archive_entry_pathname(NULL) == NULL);
    archive_entry_set_pathname(NULL, "a");
    archive_set_error(NULL, EIO, "write: %s", "nothing");

    CHECK(curl_easy_init() == NULL);
    CHECK(curl_easy_setopt(NULL, CURLOPT_URL, "http://localhost/") == CURLE_FAILED_INIT);
    long code = -1;
    CHECK(curl_easy_getinfo(NULL, CURLINFO_RESPONSE_CODE, &code) == CURLE_FAILED_INIT && code == -1);
    CHECK(curl_multi_init() == NULL);
    CHECK(curl_multi_setopt(NULL, CURLMOPT_MAXCONNECTS, 4L) == CURLM_BAD_HANDLE);
    CHECK(curl_multi_add_handle(NULL, NULL) == CURLM_BAD_HANDLE);
    CHECK(curl_slist_append(NULL, "Expect:") == NULL);
    CHECK(curl_easy_escape(NULL, "a b", 0) == NULL);
    CHECK(strstr(curl_easy_strerror(CURLE_FAILED_INIT), "libcurl") != NULL);

    CHECK(lazy_archive_lib.state == -1 && lazy_curl_lib.state == -1);
    CHECK(!mapped("libarchive.so") && !mapped("libcurl"));
}

static void missing_library_fails_as_the_library_would(void **state)
{
    (void)state;
    run_child(missing_body);
}

enum { RACERS = 8 };
static pthread_barrier_t start_line;

static void *racer(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start_line);
    CURL *c = curl_easy_init();
    struct archive_entry *en = archive_entry_new();
    int ok = c && en && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    archive_entry_set_pathname(en, "racer");
    ok = ok && strcmp(archive_entry_pathname(en), "racer") == 0;
    archive_entry_free(en);
    curl_easy_cleanup(c);
    return ok ? arg : NULL;
}

static void race_body(void)
{
    CHECK(!mapped("libarchive.so") && !mapped("libcurl"));
    pthread_t t[RACERS];
    CHECK(pthread_barrier_init(&start_line, NULL, RACERS) == 0);
    for (long i = 0; i < RACERS; i++)
        CHECK(pthread_create(&t[i], NULL, racer, (void *)(i + 1)) == 0);
    for (long i = 0; i < RACERS; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        CHECK(r == (void *)(i + 1));
    }
    CHECK(mapped("libarchive.so") && mapped("libcurl"));
}

static void first_calls_racing_in_threads_all_get_the_library(void **state)
{
    (void)state;
    run_child(race_body);
}

static void archive_round_trip(void **state)
{
    (void)state;
    assert_false(mapped("libarchive.so"));
    char path[] = "/tmp/berth-test-lazy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct archive *w = archive_write_new();
    assert_non_null(w);
    assert_true(mapped("libarchive.so"));
    assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
    assert_int_equal(archive_write_open_fd(w, fd), ARCHIVE_OK);
    static const char body[] = "hello, lazy world\n";
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, "dir/hello.txt");
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0640);
    archive_entry_set_size(en, (la_int64_t)strlen(body));
    archive_entry_set_uid(en, 1234);
    archive_entry_set_mtime(en, 1700000000, 5);
    assert_int_equal(archive_write_header(w, en), ARCHIVE_OK);
    assert_int_equal(archive_write_data(w, body, strlen(body)), (la_ssize_t)strlen(body));
    archive_entry_clear(en);
    archive_entry_set_pathname(en, "dir/link");
    archive_entry_set_filetype(en, AE_IFLNK);
    archive_entry_set_symlink(en, "hello.txt");
    assert_int_equal(archive_write_header(w, en), ARCHIVE_OK);
    archive_entry_free(en);
    assert_int_equal(archive_write_close(w), ARCHIVE_OK);
    assert_int_equal(archive_write_free(w), ARCHIVE_OK);
    close(fd);

    struct archive *r = archive_read_new();
    archive_read_support_filter_all(r);
    archive_read_support_format_tar(r);
    assert_int_equal(archive_read_open_filename(r, path, 10240), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(r, &en), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(en), "dir/hello.txt");
    assert_int_equal(archive_entry_filetype(en), AE_IFREG);
    assert_int_equal(archive_entry_perm(en), 0640);
    assert_int_equal(archive_entry_uid(en), 1234);
    assert_int_equal(archive_entry_mtime(en), 1700000000);
    char got[64] = {0};
    assert_int_equal(archive_read_data(r, got, sizeof got), (la_ssize_t)strlen(body));
    assert_string_equal(got, body);
    assert_int_equal(archive_read_next_header(r, &en), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(en), "dir/link");
    assert_string_equal(archive_entry_symlink(en), "hello.txt");
    assert_int_equal(archive_read_next_header(r, &en), ARCHIVE_EOF);
    /* an error message set through the variadic wrapper comes back whole */
    archive_set_error(r, EIO, "write: %s (%d)", "disk on fire", 42);
    assert_string_equal(archive_error_string(r), "write: disk on fire (42)");
    assert_int_equal(archive_errno(r), EIO);
    assert_int_equal(archive_read_free(r), ARCHIVE_OK);
    unlink(path);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    strncat(userp, data, size * nmemb);
    return size * nmemb;
}

/* A file:// transfer through the multi interface exercises each kind of
 * argument the variadic wrappers forward: longs, strings, object and
 * function pointers, a curl_off_t; getinfo's long, pointer and off_t. */
static void curl_multi_transfer(void **state)
{
    (void)state;
    assert_false(mapped("libcurl"));
    char path[] = "/tmp/berth-test-lazy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char body[] = "fetched lazily\n";
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    char url[64], got[64] = {0}, errbuf[CURL_ERROR_SIZE] = {0};
    snprintf(url, sizeof url, "file://%s", path);

    CURL *c = curl_easy_init();
    assert_non_null(c);
    assert_true(mapped("libcurl"));
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "file"), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, got), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_PRIVATE, path), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 20), CURLE_OK);
    /* a wrong value is still refused by curl itself */
    assert_int_equal(curl_easy_setopt(c, CURLOPT_SSLVERSION, 999L), CURLE_BAD_FUNCTION_ARGUMENT);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    assert_non_null(h);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_HTTPHEADER, h), CURLE_OK);

    CURLM *m = curl_multi_init();
    assert_non_null(m);
    assert_int_equal(curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 4L), CURLM_OK);
    assert_int_equal(curl_multi_add_handle(m, c), CURLM_OK);
    int running = 1;
    for (int i = 0; i < 1000 && running; i++)
        assert_int_equal(curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running), CURLM_OK);
    assert_int_equal(running, 0);
    int left;
    CURLMsg *msg = curl_multi_info_read(m, &left);
    assert_non_null(msg);
    assert_int_equal(msg->msg, CURLMSG_DONE);
    assert_int_equal(msg->data.result, CURLE_OK);
    assert_string_equal(got, body);
    char *priv = NULL;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_PRIVATE, &priv), CURLE_OK);
    assert_ptr_equal(priv, path);
    long code = -1;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    assert_int_equal(code, 0);
    curl_off_t size = 0;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
    assert_int_equal(size, (curl_off_t)strlen(body));
    assert_int_equal(curl_multi_remove_handle(m, c), CURLM_OK);
    assert_int_equal(curl_multi_cleanup(m), CURLM_OK);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);

    char *esc = curl_easy_escape(NULL, "a b/c", 0);
    assert_string_equal(esc, "a%20b%2Fc");
    curl_free(esc);
    assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_library_fails_as_the_library_would),
        cmocka_unit_test(first_calls_racing_in_threads_all_get_the_library),
        cmocka_unit_test(archive_round_trip),
        cmocka_unit_test(curl_multi_transfer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
