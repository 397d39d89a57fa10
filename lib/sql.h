/* SQLite helpers shared by every store that keeps rows in SQLite (the local
 * store's images, containers, networks and volumes; the tables are created
 * by node/localstore.c's migrations).  Failures map to -EIO with SQLite's
 * own message. */
#ifndef BERTH_LIB_SQL_H
#define BERTH_LIB_SQL_H

#include <sqlite3.h>

#include "lib/err.h"

/* Runs sql (no parameters, no rows) and maps failure to -EIO. */
int sql_exec(sqlite3 *db, const char *sql, berr *e);

/* Prepares sql; on failure fills e and returns -EIO.  Finalize the
 * statement with sqlite3_finalize (or use cleanup_stmt). */
int sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, berr *e);

static inline void cleanup_stmtp(sqlite3_stmt **st) { if (*st) sqlite3_finalize(*st); }
#define cleanup_stmt __attribute__((cleanup(cleanup_stmtp)))

#endif
