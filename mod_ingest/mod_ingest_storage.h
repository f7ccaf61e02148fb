#ifndef MOD_INGEST_STORAGE_H
#define MOD_INGEST_STORAGE_H

/* Files under IngestStorageDir: <tenant>/<job_id>.<nonce>. A file is
 * written under a temporary name, fsync'ed, renamed and the directory
 * fsync'ed, so a name that exists is a whole, durable file; an abandoned
 * write leaves nothing behind. */

#include "mod_ingest.h"

typedef struct ingest_storage_file ingest_storage_file_t;

/* The tenant's directory name: bytes outside [A-Za-z0-9_-] are %XX, so
 * no tenant id can climb out of IngestStorageDir or collide with another. */
const char *ingest_storage_tenant_dir(apr_pool_t *p, const char *tenant);

/* Starts a file for job_id; the temporary file is removed with p unless
 * committed. */
apr_status_t ingest_storage_begin(apr_pool_t *p, const char *root, const char *tenant, const char *job_id,
                                  ingest_storage_file_t **out);
apr_status_t ingest_storage_write(ingest_storage_file_t *f, const char *buf, apr_size_t len);
apr_off_t ingest_storage_size(const ingest_storage_file_t *f);

/* Makes the file durable under its final name. *rel is that name relative
 * to the root, *sha256 the lowercase hex digest of the content. */
apr_status_t ingest_storage_commit(ingest_storage_file_t *f, const char **rel, const char **sha256);

/* Removes a committed file (no error when it is already gone). */
apr_status_t ingest_storage_remove(apr_pool_t *p, const char *root, const char *rel);

/* The absolute path of a committed file. */
const char *ingest_storage_path(apr_pool_t *p, const char *root, const char *rel);

#endif
