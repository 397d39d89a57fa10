#include "node/localstore.h"

#include <stdio.h>

/* Each entry moves the schema from version i to i+1.  Never edit a released
 * migration: add a new one. */
static const char *const migrations[] = {
    /* 1: images and their layers */
    "CREATE TABLE layers ("
    "  chain_id TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL,"
    "  parent TEXT REFERENCES layers(chain_id),"
    "  size INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX layers_parent ON layers(parent);"
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY,"            /* sha256 of the config = image ID */
    "  top_layer TEXT REFERENCES layers(chain_id)," /* NULL for an image without layers */
    "  parent TEXT,"                    /* parent image ID (commit), '' if none */
    "  created INTEGER NOT NULL,"       /* config 'created' as unix seconds */
    "  size INTEGER NOT NULL,"          /* bytes of all its layers */
    "  labels TEXT NOT NULL DEFAULT '{}'," /* config.Labels as JSON, for filters */
    "  last_tag_time TEXT NOT NULL DEFAULT ''"
    ");"
    "CREATE TABLE image_tags ("
    "  ref TEXT PRIMARY KEY,"           /* familiar 'name:tag' */
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL"            /* order tags were made, for stable output */
    ");"
    "CREATE INDEX image_tags_image ON image_tags(image_id);",
    /* 2: containers, each as the JSON documents inspect is made of */
    "CREATE TABLE containers ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  image_id TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  doc TEXT NOT NULL"             /* {Config, HostConfig, State, ...} */
    ");",
    /* 3: local networks, each as the document network inspect shows
     * (without Containers, which come from the containers' endpoints) */
    "CREATE TABLE networks ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created TEXT NOT NULL,"
    "  doc TEXT NOT NULL"
    ");",
    /* 4: volumes (the local driver's; the data is <data-root>/volumes/<name>/_data) */
    "CREATE TABLE volumes ("
    "  name TEXT PRIMARY KEY,"
    "  driver TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"       /* unix seconds */
    "  labels TEXT,"                    /* JSON object, NULL when none were given */
    "  options TEXT"                    /* driver options as a JSON object, or NULL */
    ");",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int localstore_schema_version(void) { return N_MIGRATIONS; }

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static int migrate(sqlite3 *db, const char *path, berr *e)
{
    int v = user_version(db);
    if (v < 0)
        return berr_set(e, -EIO, "local store %s: cannot read schema version: %s", path, sqlite3_errmsg(db));
    while (v < N_MIGRATIONS) {
        int r = sql_exec(db, "BEGIN IMMEDIATE", e);
        if (r < 0)
            return berr_wrap(e, "migrating %s", path);
        /* Another process may have migrated while we waited for the lock. */
        v = user_version(db);
        if (v >= N_MIGRATIONS) {
            sql_exec(db, "COMMIT", NULL);
            break;
        }
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
        r = sql_exec(db, migrations[v], e);
        if (r == 0)
            r = sql_exec(db, pragma, e);
        if (r == 0)
            r = sql_exec(db, "COMMIT", e);
        if (r < 0) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return berr_wrap(e, "migrating %s to schema %d", path, v + 1);
        }
        v++;
    }
    return 0;
}

int localstore_open(const char *path, sqlite3 **out, berr *e)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        berr_set(e, -EIO, "open local store %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    /* Look before touching: even journal_mode is written into the file. */
    int v = user_version(db);
    if (v > N_MIGRATIONS) {
        berr_set(e, -EINVAL, "local store %s has schema version %d, newer than this berthd knows (%d): refusing to touch it",
                 path, v, N_MIGRATIONS);
        sqlite3_close(db);
        return -EINVAL;
    }
    /* WAL keeps readers cheap; synchronous=NORMAL in WAL mode is durable
     * against process crashes, which is what the local store must survive. */
    int r = sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", e);
    if (r == 0)
        r = migrate(db, path, e);
    if (r < 0) {
        sqlite3_close(db);
        return r;
    }
    *out = db;
    return 0;
}

void localstore_close(sqlite3 *db)
{
    if (db)
        sqlite3_close(db);
}
