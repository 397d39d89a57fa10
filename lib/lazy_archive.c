/* libarchive (libarchive.so.13), loaded on the first call of any of these:
 * with it come acl, lzma, lz4, bz2, zstd, xml2 and, through xml2, ICU and
 * libstdc++.  Every function the daemon and its unit tests call is here
 * (a missing one would fail the link, which no longer names -larchive). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/lazylib.h"

lazylib lazy_archive_lib = LAZYLIB_INIT("libarchive.so.13", NULL);

#define L lazy_archive_lib

/* Without the library: the constructors answer NULL (as on out of memory),
 * the rest ARCHIVE_FATAL, 0 or NULL, and the error ELIBACC with a message
 * that says why, so a failed load reads as a failed operation, not as bad
 * input. */
#define F ARCHIVE_FATAL

/* ---- readers ------------------------------------------------------------- */
LAZY_FN(L, struct archive *, archive_read_new, (void), (), NULL)
LAZY_FREE(L, int, archive_read_free, struct archive *, a, ARCHIVE_OK, F)
LAZY_FN(L, int, archive_read_support_filter_all, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_filter_bzip2, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_filter_gzip, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_filter_xz, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_filter_zstd, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_format_empty, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_format_raw, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_support_format_tar, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_open_fd, (struct archive * a, int fd, size_t block_size), (a, fd, block_size), F)
LAZY_FN(L, int, archive_read_open_filename, (struct archive * a, const char *filename, size_t block_size),
        (a, filename, block_size), F)
LAZY_FN(L, int, archive_read_open_memory, (struct archive * a, const void *buff, size_t size), (a, buff, size), F)
LAZY_FN(L, int, archive_read_next_header, (struct archive * a, struct archive_entry **entry), (a, entry), F)
LAZY_FN(L, int, archive_read_next_header2, (struct archive * a, struct archive_entry *entry), (a, entry), F)
LAZY_FN(L, la_ssize_t, archive_read_data, (struct archive * a, void *buff, size_t size), (a, buff, size), F)
LAZY_FN(L, int, archive_read_data_block, (struct archive * a, const void **buff, size_t *size, la_int64_t *offset),
        (a, buff, size, offset), F)

/* ---- the disk reader (a directory walked as entries) ---------------------- */
LAZY_FN(L, struct archive *, archive_read_disk_new, (void), (), NULL)
LAZY_FN(L, int, archive_read_disk_open, (struct archive * a, const char *path), (a, path), F)
LAZY_FN(L, int, archive_read_disk_set_standard_lookup, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_disk_set_symlink_physical, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_read_disk_can_descend, (struct archive * a), (a), 0)
LAZY_FN(L, int, archive_read_disk_descend, (struct archive * a), (a), F)

/* ---- writers ------------------------------------------------------------- */
LAZY_FN(L, struct archive *, archive_write_new, (void), (), NULL)
LAZY_FREE(L, int, archive_write_free, struct archive *, a, ARCHIVE_OK, F)
LAZY_FN(L, int, archive_write_set_format, (struct archive * a, int format_code), (a, format_code), F)
LAZY_FN(L, int, archive_write_set_format_pax_restricted, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_set_format_raw, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_add_filter_bzip2, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_add_filter_gzip, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_add_filter_xz, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_add_filter_zstd, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_set_bytes_in_last_block, (struct archive * a, int bytes_in_last_block),
        (a, bytes_in_last_block), F)
LAZY_FN(L, int, archive_write_open_fd, (struct archive * a, int fd), (a, fd), F)
LAZY_FN(L, int, archive_write_open_filename, (struct archive * a, const char *file), (a, file), F)
LAZY_FN(L, int, archive_write_open2,
        (struct archive * a, void *client_data, archive_open_callback *opener, archive_write_callback *writer,
         archive_close_callback *closer, archive_free_callback *freer),
        (a, client_data, opener, writer, closer, freer), F)
LAZY_FN(L, int, archive_write_header, (struct archive * a, struct archive_entry *entry), (a, entry), F)
LAZY_FN(L, la_ssize_t, archive_write_data, (struct archive * a, const void *buff, size_t size), (a, buff, size), F)
LAZY_FN(L, la_ssize_t, archive_write_data_block, (struct archive * a, const void *buff, size_t size, la_int64_t offset),
        (a, buff, size, offset), F)
LAZY_FN(L, int, archive_write_finish_entry, (struct archive * a), (a), F)
LAZY_FN(L, int, archive_write_close, (struct archive * a), (a), F)
LAZY_FN(L, struct archive *, archive_write_disk_new, (void), (), NULL)
LAZY_FN(L, int, archive_write_disk_set_options, (struct archive * a, int flags), (a, flags), F)

/* ---- errors and formats -------------------------------------------------- */
LAZY_FN(L, int, archive_errno, (struct archive * a), (a), ELIBACC)
LAZY_FN(L, const char *, archive_error_string, (struct archive * a), (a), "libarchive.so.13 could not be loaded")
LAZY_FN(L, int, archive_format, (struct archive * a), (a), 0)

/* A "..." cannot be handed on and libarchive has no va_list variant, so the
 * message is formatted here and passed as "%s".  It is cut at 1 KiB: these
 * are one-line messages (a write callback's strerror). */
void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
    static void *slot;
    void (*fn)(struct archive *, int, const char *, ...) = lazylib_sym(&L, "archive_set_error", &slot);
    if (!fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(a, err, "%s", msg);
}

/* ---- entries ------------------------------------------------------------- */
LAZY_FN(L, struct archive_entry *, archive_entry_new, (void), (), NULL)
LAZY_FREE_VOID(L, archive_entry_free, struct archive_entry *, entry)
LAZY_FN(L, struct archive_entry *, archive_entry_clear, (struct archive_entry * entry), (entry), NULL)
LAZY_VOID(L, archive_entry_copy_stat, (struct archive_entry * entry, const struct stat *st), (entry, st))

LAZY_FN(L, const char *, archive_entry_pathname, (struct archive_entry * entry), (entry), NULL)
LAZY_FN(L, const char *, archive_entry_pathname_utf8, (struct archive_entry * entry), (entry), NULL)
LAZY_FN(L, const char *, archive_entry_sourcepath, (struct archive_entry * entry), (entry), NULL)
LAZY_FN(L, const char *, archive_entry_hardlink, (struct archive_entry * entry), (entry), NULL)
LAZY_FN(L, const char *, archive_entry_symlink, (struct archive_entry * entry), (entry), NULL)
LAZY_FN(L, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, __LA_MODE_T, archive_entry_mode, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, __LA_MODE_T, archive_entry_perm, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, la_int64_t, archive_entry_size, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, la_int64_t, archive_entry_uid, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, la_int64_t, archive_entry_gid, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, dev_t, archive_entry_rdev, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, time_t, archive_entry_mtime, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, long, archive_entry_mtime_nsec, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, int, archive_entry_atime_is_set, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, time_t, archive_entry_atime, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, long, archive_entry_atime_nsec, (struct archive_entry * entry), (entry), 0)

LAZY_VOID(L, archive_entry_set_pathname, (struct archive_entry * entry, const char *name), (entry, name))
LAZY_VOID(L, archive_entry_set_hardlink, (struct archive_entry * entry, const char *target), (entry, target))
LAZY_VOID(L, archive_entry_set_symlink, (struct archive_entry * entry, const char *target), (entry, target))
LAZY_VOID(L, archive_entry_set_filetype, (struct archive_entry * entry, unsigned int type), (entry, type))
LAZY_VOID(L, archive_entry_set_mode, (struct archive_entry * entry, __LA_MODE_T mode), (entry, mode))
LAZY_VOID(L, archive_entry_set_perm, (struct archive_entry * entry, __LA_MODE_T perm), (entry, perm))
LAZY_VOID(L, archive_entry_set_size, (struct archive_entry * entry, la_int64_t size), (entry, size))
LAZY_VOID(L, archive_entry_set_uid, (struct archive_entry * entry, la_int64_t uid), (entry, uid))
LAZY_VOID(L, archive_entry_set_gid, (struct archive_entry * entry, la_int64_t gid), (entry, gid))
LAZY_VOID(L, archive_entry_set_uname, (struct archive_entry * entry, const char *name), (entry, name))
LAZY_VOID(L, archive_entry_set_gname, (struct archive_entry * entry, const char *name), (entry, name))
LAZY_VOID(L, archive_entry_set_rdev, (struct archive_entry * entry, dev_t rdev), (entry, rdev))
LAZY_VOID(L, archive_entry_set_mtime, (struct archive_entry * entry, time_t sec, long nsec), (entry, sec, nsec))
LAZY_VOID(L, archive_entry_unset_atime, (struct archive_entry * entry), (entry))
LAZY_VOID(L, archive_entry_unset_birthtime, (struct archive_entry * entry), (entry))
LAZY_VOID(L, archive_entry_unset_ctime, (struct archive_entry * entry), (entry))

LAZY_VOID(L, archive_entry_xattr_add_entry,
          (struct archive_entry * entry, const char *name, const void *value, size_t size),
          (entry, name, value, size))
LAZY_FN(L, int, archive_entry_xattr_reset, (struct archive_entry * entry), (entry), 0)
LAZY_FN(L, int, archive_entry_xattr_next,
        (struct archive_entry * entry, const char **name, const void **value, size_t *size),
        (entry, name, value, size), ARCHIVE_WARN)

/* ---- hard links (a writer's link resolver) ------------------------------- */
LAZY_FN(L, struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (void), (), NULL)
LAZY_FREE_VOID(L, archive_entry_linkresolver_free, struct archive_entry_linkresolver *, res)
LAZY_VOID(L, archive_entry_linkresolver_set_strategy, (struct archive_entry_linkresolver * res, int format),
          (res, format))
LAZY_VOID(L, archive_entry_linkify,
          (struct archive_entry_linkresolver * res, struct archive_entry **entry, struct archive_entry **spare),
          (res, entry, spare))
