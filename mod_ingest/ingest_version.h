#ifndef INGEST_VERSION_H
#define INGEST_VERSION_H

#define INGEST_VERSION "0.1.0"

/* The lowest schema (highest applied sql/NNN_*.sql) this build can run
 * against. The module refuses to run SQL on an older database instead of
 * failing statement by statement. */
#define INGEST_SCHEMA_VERSION 17

#endif
