#ifndef MOD_INGEST_STORAGE_H
#define MOD_INGEST_STORAGE_H

/* Where uploaded files and the NDJSON of JSON records live: a storage
 * backend (IngestStorage), one file per implementation behind one table of
 * operations, as mod_md's md_store_t: a directory (mod_ingest_storage_file.c)
 * or an S3 bucket (mod_ingest_storage_s3.c). The handlers and the worker
 * use only the functions below and never know which one serves them.
 *
 * A file is named <tenant>/<job_id>.<nonce> (relative to the directory or
 * the bucket's prefix). It is written in one go and exists under its name
 * only once whole and durable (a renamed, fsync'ed file; a completed S3
 * upload): an abandoned write leaves nothing behind. */

#include <httpd.h>

#include "mod_ingest.h"

/* The backend cannot be reached (or answers 5xx): a request answers 503
 * with Retry-After, the worker gives the job back for later without
 * counting an attempt. */
#define INGEST_ESTORAGE_DOWN (APR_OS_START_USERERR + 120)

/* The status to log with a failure: the OS error, or 0 for this module's
 * own codes (the backend logged why). */
#define INGEST_LOG_RV(rv) ((rv) == INGEST_ESTORAGE_DOWN ? 0 : (rv))

typedef struct ingest_storage ingest_storage_t;
typedef struct ingest_storage_file ingest_storage_file_t;
typedef struct ingest_storage_reader ingest_storage_reader_t;

/* One backend's operations (each file's impl and rd->impl are its own). */
typedef struct {
    const char *name;
    /* a file to write: f's st, p, rel are set */
    apr_status_t (*begin)(ingest_storage_file_t *f);
    apr_status_t (*write)(ingest_storage_file_t *f, const char *buf, apr_size_t len);
    /* whole and durable under f->rel */
    apr_status_t (*commit)(ingest_storage_file_t *f);
    /* a file begun and not committed, or whose begin failed (impl may be
     * NULL then): nothing of it is to remain */
    void (*abandon)(ingest_storage_file_t *f);
    /* a committed file to read: rd's st, p, rel are set; APR_ENOENT when
     * there is none */
    apr_status_t (*open)(ingest_storage_reader_t *rd);
    /* up to *len bytes; *len 0 and APR_EOF at the end */
    apr_status_t (*read)(ingest_storage_reader_t *rd, char *buf, apr_size_t *len);
    /* no error when it is already gone */
    apr_status_t (*remove)(apr_pool_t *p, const ingest_storage_t *st, const char *rel);
} ingest_storage_ops_t;

extern const ingest_storage_ops_t ingest_storage_file_ops;
extern const ingest_storage_ops_t ingest_storage_s3_ops;

/* A configured backend (ingest_storage_configure): what each needs. */
struct ingest_storage {
    const ingest_storage_ops_t *ops;
    const char *describe; /* "file:/var/lib/mod_ingest", "s3://bucket/prefix": for logs */
    server_rec *s;        /* for the backend's own log lines */
    /* file */
    const char *root;
    /* s3 */
    const char *bucket, *prefix, *scheme, *authority, *region, *key_id, *secret;
    int path_style;
    apr_size_t part_size;
};

struct ingest_storage_file {
    apr_pool_t *p;
    const ingest_storage_t *st;
    const char *rel;
    void *md; /* the SHA-256 of the content (EVP_MD_CTX) */
    apr_off_t size;
    int committed;
    void *impl;
};

struct ingest_storage_reader {
    apr_pool_t *p;
    const ingest_storage_t *st;
    const char *rel;
    void *impl;
};

/* The tenant's directory name: bytes outside [A-Za-z0-9_-] are %XX, so
 * no tenant id can climb out of the storage or collide with another. */
const char *ingest_storage_tenant_dir(apr_pool_t *p, const char *tenant);

/* Starts a file for job_id; abandoned with p unless committed. */
apr_status_t ingest_storage_begin(apr_pool_t *p, const ingest_storage_t *st, const char *tenant,
                                  const char *job_id, ingest_storage_file_t **out);
apr_status_t ingest_storage_write(ingest_storage_file_t *f, const char *buf, apr_size_t len);
apr_off_t ingest_storage_size(const ingest_storage_file_t *f);

/* Makes the file whole and durable. *rel is its name, *sha256 the
 * lowercase hex digest of the content. */
apr_status_t ingest_storage_commit(ingest_storage_file_t *f, const char **rel, const char **sha256);

/* Removes a committed file (no error when it is already gone, or when
 * st or rel is NULL). */
apr_status_t ingest_storage_remove(apr_pool_t *p, const ingest_storage_t *st, const char *rel);

/* Reads a committed file from its start; APR_ENOENT when it is missing.
 * Memory stays bounded whatever its size. */
apr_status_t ingest_storage_open(apr_pool_t *p, const ingest_storage_t *st, const char *rel,
                                 ingest_storage_reader_t **out);
apr_status_t ingest_storage_read(ingest_storage_reader_t *rd, char *buf, apr_size_t *len);

/* Which backend serves, for logs and errors ("file:/srv/ingest"). */
const char *ingest_storage_describe(const ingest_storage_t *st);

#endif
