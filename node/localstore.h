/* The local store: node-scoped objects (images, layers and, later,
 * containers, volumes, local networks) in SQLite at <data-root>/local.db.
 *
 * The schema evolves through numbered migrations kept in node/localstore.c;
 * PRAGMA user_version records how far a database has come, and opening a
 * database newer than this binary knows is refused rather than guessed at.
 * The store is used only from the loop thread. */
#ifndef BERTH_NODE_LOCALSTORE_H
#define BERTH_NODE_LOCALSTORE_H

#include <sqlite3.h>

#include "lib/err.h"

/* Opens (creating and migrating as needed) the database at path.  *db is
 * owned by the caller; close with localstore_close. */
int localstore_open(const char *path, sqlite3 **db, berr *e);
void localstore_close(sqlite3 *db);

/* The schema version this binary writes. */
int localstore_schema_version(void);

/* Runs sql (no parameters, no rows) and maps failure to -EIO. */
int localstore_exec(sqlite3 *db, const char *sql, berr *e);

/* Prepares sql; on failure fills e and returns -EIO.  Finalize the
 * statement with sqlite3_finalize (or use cleanup_stmt). */
int localstore_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, berr *e);

static inline void cleanup_stmtp(sqlite3_stmt **st) { if (*st) sqlite3_finalize(*st); }
#define cleanup_stmt __attribute__((cleanup(cleanup_stmtp)))

#endif
