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
#include "lib/sql.h"

/* Opens (creating and migrating as needed) the database at path.  *db is
 * owned by the caller; close with localstore_close. */
int localstore_open(const char *path, sqlite3 **db, berr *e);
void localstore_close(sqlite3 *db);

/* The schema version this binary writes. */
int localstore_schema_version(void);

#endif
