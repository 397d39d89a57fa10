#include "lib/sql.h"

int sql_exec(sqlite3 *db, const char *sql, berr *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        berr_set(e, -EIO, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

int sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, berr *e)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return berr_set(e, -EIO, "sqlite: %s", sqlite3_errmsg(db));
    return 0;
}
