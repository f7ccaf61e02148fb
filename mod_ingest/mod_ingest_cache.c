/* The status cache (IngestStatusCache, IngestStatusCacheTTL): an
 * ap_socache provider, a global mutex when the provider needs one, and a
 * table of job generations in shared memory. See mod_ingest_cache.h. */

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_log.h>
#include <util_mutex.h>

#include "mod_ingest.h"
#include "mod_ingest_cache.h"
#include "mod_ingest_metrics.h"
#include "mod_ingest_router.h"

#define MUTEX_TYPE "ingest-cache"
/* socache's consumer name: at most 16 bytes (redis keys start with it) */
#define CACHE_NAME "ingest-status"
/* generation slots: a power of two; 256 KiB of shared memory */
#define GEN_SLOTS 65536
/* how long a failing cache is left alone before it is tried again */
#define COOL_OFF apr_time_from_sec(5)
#define GEN_KEY  "mod_ingest:cache-generations"

typedef struct {
    apr_uint64_t boot;
    volatile apr_uint32_t gen[GEN_SLOTS];
} gen_table_t;

/* One cache for the whole server, set by the directive in this
 * configuration generation (as mod_authn_socache does). */
static const ap_socache_provider_t *provider;
static ap_socache_instance_t *instance;
static const char *provider_name;
static apr_interval_time_t ttl = INGEST_DEFAULT_CACHE_TTL;
static apr_global_mutex_t *mutex;
static int ready;
static gen_table_t *gens;
/* per process: until when the cache is left alone after a failure, and
 * whether the failure was logged (once, until the cache answers again) */
static volatile apr_time_t cooling_until;
static volatile int failing;

const char *ingest_cache_cmd_provider(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep = strchr(arg, ':');
    const char *name = sep ? apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(sep - arg)) : arg;
    (void)dc;
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "none")) {
        provider = NULL;
        instance = NULL;
        provider_name = NULL;
        return NULL;
    }
    provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (!provider) {
        return apr_psprintf(cmd->pool,
                            "%s: unknown socache provider '%s'; load its module first "
                            "(LoadModule socache_%s_module, or a2enmod socache_%s), or say none",
                            cmd->cmd->name, name, name, name);
    }
    instance = NULL;
    err = provider->create(&instance, sep ? sep + 1 : NULL, cmd->temp_pool, cmd->pool);
    if (err) {
        provider = NULL;
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, arg, err);
    }
    provider_name = provider->name;
    return NULL;
}

const char *ingest_cache_cmd_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_interval_time_t v;
    (void)dc;
    if (err) {
        return err;
    }
    if (ap_timeout_parameter_parse(arg, &v, "s") != APR_SUCCESS || v < apr_time_from_sec(1)
        || v > apr_time_from_sec(3600)) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a duration from 1s to 3600s (default unit s)",
                            cmd->cmd->name, arg);
    }
    ttl = v;
    return NULL;
}

void ingest_cache_pre_config(apr_pool_t *pconf)
{
    provider = NULL;
    instance = NULL;
    provider_name = NULL;
    ttl = INGEST_DEFAULT_CACHE_TTL;
    mutex = NULL;
    ready = 0;
    /* the Mutex directive may name it: Mutex sysvsem ingest-cache */
    ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t destroy_instance(void *data)
{
    if (instance && provider) {
        provider->destroy(instance, data);
    }
    instance = NULL;
    ready = 0;
    return APR_SUCCESS;
}

/* The generations outlive configuration generations (a graceful restart
 * keeps them, and the boot id with them): an entry another child wrote
 * before the restart is still checked against them. */
static apr_status_t generations(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    apr_shm_t *shm;
    apr_status_t rv;

    apr_pool_userdata_get(&data, GEN_KEY, pp);
    if (data) {
        gens = data;
        return APR_SUCCESS;
    }
    if ((rv = apr_shm_create(&shm, sizeof(gen_table_t), NULL, pp)) != APR_SUCCESS) {
        return rv;
    }
    gens = apr_shm_baseaddr_get(shm);
    memset((void *)gens, 0, sizeof(*gens));
    apr_generate_random_bytes((unsigned char *)&gens->boot, sizeof(gens->boot));
    apr_pool_userdata_set(gens, GEN_KEY, apr_pool_cleanup_null, pp);
    return APR_SUCCESS;
}

apr_status_t ingest_cache_post_config(apr_pool_t *pconf, server_rec *s)
{
    /* id: a UUID's 16 bytes; entry: a status answer, about 1 KiB */
    static const struct ap_socache_hints hints = {INGEST_CACHE_KEY_LEN, 1024, 0};
    apr_status_t rv;

    if (!provider) {
        return APR_SUCCESS;
    }
    if ((rv = generations(s)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     IGLOGNO(00701) "IngestStatusCache: cannot create the shared generation table");
        return rv;
    }
    if (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&mutex, NULL, MUTEX_TYPE, NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         IGLOGNO(00702) "IngestStatusCache: cannot create the %s mutex", MUTEX_TYPE);
            return rv;
        }
    }
    if ((rv = provider->init(instance, CACHE_NAME, &hints, s, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     IGLOGNO(00703) "IngestStatusCache: the %s cache cannot be initialised", provider_name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, s, destroy_instance, apr_pool_cleanup_null);
    ready = 1;
    cooling_until = 0;
    failing = 0;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 IGLOGNO(00704) "IngestStatusCache: %s, entries kept %" APR_TIME_T_FMT " s", provider_name,
                 apr_time_sec(ttl));
    return APR_SUCCESS;
}

void ingest_cache_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;
    if (!ready || !mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex), p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     IGLOGNO(00705) "IngestStatusCache: the %s mutex cannot be opened in this child; "
                                    "the cache is off in it",
                     MUTEX_TYPE);
        ready = 0;
    }
}

static int usable(void)
{
    return ready && apr_time_now() >= cooling_until;
}

/* The database answers alone for COOL_OFF; one line per outage. */
static void failed(server_rec *s, apr_status_t rv, const char *what)
{
    ingest_metrics_inc(INGEST_M_CACHE_ERROR);
    cooling_until = apr_time_now() + COOL_OFF;
    if (!failing) {
        failing = 1;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     IGLOGNO(00706) "IngestStatusCache: %s failed on the %s cache; status answers come from "
                                    "the database, and the cache is tried again every %" APR_TIME_T_FMT " s",
                     what, provider_name, apr_time_sec(COOL_OFF));
    }
}

static void answered(server_rec *s)
{
    if (failing) {
        failing = 0;
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     IGLOGNO(00707) "IngestStatusCache: the %s cache answers again", provider_name);
    }
}

static int lock(server_rec *s)
{
    apr_status_t rv;
    if (!mutex) {
        return 1;
    }
    if ((rv = apr_global_mutex_lock(mutex)) != APR_SUCCESS) {
        failed(s, rv, "locking");
        return 0;
    }
    return 1;
}

static void unlock(void)
{
    if (mutex) {
        apr_global_mutex_unlock(mutex);
    }
}

apr_status_t ingest_cache_lookup(request_rec *r, const char *tenant, const char *job_id,
                                 ingest_cache_ticket_t *t, ingest_cache_entry_t *e)
{
    unsigned char *buf;
    unsigned int len = INGEST_CACHE_MAX_ENTRY;
    apr_status_t rv;

    memset(t, 0, sizeof(*t));
    if (!usable()) {
        return APR_ENOTIMPL;
    }
    if (ingest_cache_key(job_id, t->key) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    t->slot = ingest_cache_slot(t->key, GEN_SLOTS);
    /* read before the database is: a change committed after this bumps it */
    t->gen = apr_atomic_read32(&gens->gen[t->slot]);
    t->variant = ingest_route_variant(r);
    t->active = 1;
    buf = apr_palloc(r->pool, len);
    if (!lock(r->server)) {
        t->active = 0;
        return APR_EGENERAL;
    }
    rv = provider->retrieve(instance, r->server, t->key, INGEST_CACHE_KEY_LEN, buf, &len, r->pool);
    unlock();
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        failed(r->server, rv, "a lookup");
        t->active = 0;
        return rv;
    }
    answered(r->server);
    if (rv == APR_NOTFOUND || ingest_cache_decode(r->pool, buf, len, e) != APR_SUCCESS
        || !ingest_cache_usable(e, tenant, t->variant, gens->boot, apr_atomic_read32(&gens->gen[t->slot]))) {
        ingest_metrics_inc(INGEST_M_CACHE_MISS);
        return APR_NOTFOUND;
    }
    ingest_metrics_inc(INGEST_M_CACHE_HIT);
    return APR_SUCCESS;
}

void ingest_cache_store(request_rec *r, const ingest_cache_ticket_t *t, const char *tenant, int status,
                        const char *ctype, const char *body, apr_size_t len)
{
    ingest_cache_entry_t e;
    unsigned char *buf;
    apr_size_t n;
    apr_status_t rv;

    if (!t->active || status != HTTP_OK || !usable()) {
        return;
    }
    e.boot = gens->boot;
    e.gen = t->gen;
    e.variant = t->variant;
    e.status = status;
    e.ctype = ctype;
    e.tenant = tenant;
    e.body = body;
    e.body_len = len;
    if (ingest_cache_encode(r->pool, &e, &buf, &n) != APR_SUCCESS) {
        return; /* too large to keep: read from the database each time */
    }
    if (!lock(r->server)) {
        return;
    }
    rv = provider->store(instance, r->server, t->key, INGEST_CACHE_KEY_LEN, apr_time_now() + ttl, buf,
                         (unsigned int)n, r->pool);
    unlock();
    if (rv != APR_SUCCESS) {
        failed(r->server, rv, "a store");
    }
}

void ingest_cache_forget(server_rec *s, apr_pool_t *p, const char *job_id)
{
    unsigned char key[INGEST_CACHE_KEY_LEN];
    apr_status_t rv;

    if (!ready || !job_id || ingest_cache_key(job_id, key) != APR_SUCCESS) {
        return;
    }
    /* first the generation: an entry read before this can no longer be
     * used here, even one stored after the remove below */
    apr_atomic_inc32(&gens->gen[ingest_cache_slot(key, GEN_SLOTS)]);
    if (!usable() || !lock(s)) {
        return; /* other hosts: until IngestStatusCacheTTL */
    }
    rv = provider->remove(instance, s, key, INGEST_CACHE_KEY_LEN, p);
    unlock();
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        failed(s, rv, "a removal");
    }
}

void ingest_cache_forget_all(server_rec *s, apr_pool_t *p, json_t *ids)
{
    size_t i;
    json_t *id;
    if (!ready || !json_is_array(ids)) {
        return;
    }
    json_array_foreach(ids, i, id)
    {
        ingest_cache_forget(s, p, json_string_value(id));
    }
}
