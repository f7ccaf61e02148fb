#ifndef INGEST_CACHE_H
#define INGEST_CACHE_H

/* The status cache's keys and entries (IngestStatusCache), without httpd:
 * mod_ingest_cache.c keeps them in an ap_socache provider.
 *
 * Key: the job's UUID as its 16 bytes (a job id is unique across
 * tenants). Entry: who may read it (the tenant), which answer it is (the
 * API profile's route, the HTTP status, the content type), when it was
 * read (the writing host's boot id and the job's generation then) and the
 * exact body sent. */

#include <apr_pools.h>
#include <apr_time.h>

#define INGEST_CACHE_KEY_LEN 16
/* the longest body kept; a longer answer is always read from the database */
#define INGEST_CACHE_MAX_BODY (32 * 1024)
/* the most an encoded entry can take */
#define INGEST_CACHE_MAX_ENTRY (INGEST_CACHE_MAX_BODY + 512)

typedef struct {
    apr_uint64_t boot;    /* the host (shared memory) that read it */
    apr_uint32_t gen;     /* the job's generation there, before the read */
    apr_uint32_t variant; /* the profile's route that worded it */
    int status;           /* HTTP status */
    const char *ctype;    /* at most 255 bytes */
    const char *tenant;   /* at most 65535 bytes */
    const char *body;     /* not NUL-terminated when decoded */
    apr_size_t body_len;  /* at most INGEST_CACHE_MAX_BODY */
} ingest_cache_entry_t;

/* The 16 bytes of a UUID in its text form (any case); APR_EINVAL if it is
 * not one. */
apr_status_t ingest_cache_key(const char *uuid, unsigned char key[INGEST_CACHE_KEY_LEN]);

/* The slot of a key in a generation table of `slots` entries (a power of
 * two). */
apr_uint32_t ingest_cache_slot(const unsigned char key[INGEST_CACHE_KEY_LEN], apr_uint32_t slots);

/* The entry's bytes, allocated from p; APR_ENOSPC when the body (or
 * tenant, or content type) is too long to be kept. */
apr_status_t ingest_cache_encode(apr_pool_t *p, const ingest_cache_entry_t *e, unsigned char **out,
                                 apr_size_t *len);

/* APR_EINVAL for bytes that are not an entry, truncated or not; the
 * decoded strings point into buf (ctype and tenant copied, NUL-terminated,
 * into p). */
apr_status_t ingest_cache_decode(apr_pool_t *p, const unsigned char *buf, apr_size_t len,
                                 ingest_cache_entry_t *e);

/* Whether a decoded entry may answer this request: the same tenant and
 * route, and, when this host wrote it, no change to the job since
 * (gen_now is the job's generation slot now). An entry another host wrote
 * is trusted until it expires (IngestStatusCacheTTL). */
int ingest_cache_usable(const ingest_cache_entry_t *e, const char *tenant, apr_uint32_t variant,
                        apr_uint64_t boot, apr_uint32_t gen_now);

#endif
