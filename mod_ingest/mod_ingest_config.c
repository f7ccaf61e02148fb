#include <httpd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <limits.h>
#include <http_core.h>
#include <http_config.h>

#include <openssl/rand.h>

#include "mod_ingest.h"
#include "ingest_parse.h"
#include "ingest_profile.h"
#include "mod_ingest_cache.h"
#include "mod_ingest_config.h"
#include "mod_ingest_storage.h"
#include "ingest_s3.h"

#include <curl/curl.h>

/* ------------------------------------------------------------ create/merge */

void *ingest_create_dir_conf(apr_pool_t *p, char *dir)
{
    ingest_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)dir;
    c->jwt_require_exp = INGEST_UNSET_INT;
    c->jwt_leeway = INGEST_UNSET_INT;
    c->max_body = INGEST_UNSET_INT;
    c->max_upload = INGEST_UNSET_INT;
    c->upload_ttl = INGEST_UNSET_INT;
    c->retry_after = INGEST_UNSET_INT;
    c->tenant_max_active = INGEST_UNSET_INT;
    c->tenant_max_storage = INGEST_UNSET_INT;
    c->tenant_env_admin = INGEST_UNSET_INT;
    c->profile = INGEST_UNSET_INT;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
#define MERGE_INT(f) c->f = (add->f != INGEST_UNSET_INT) ? add->f : base->f

void *ingest_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ingest_dir_conf *base = basev, *add = addv;
    ingest_dir_conf *c = apr_pcalloc(p, sizeof(*c));

    if (add->jwt_secret) {
        c->jwt_secret = add->jwt_secret;
        c->jwt_secret_len = add->jwt_secret_len;
    } else {
        c->jwt_secret = base->jwt_secret;
        c->jwt_secret_len = base->jwt_secret_len;
    }
    MERGE_PTR(jwt_tenant_claim);
    MERGE_PTR(jwt_user_claim);
    MERGE_INT(jwt_require_exp);
    MERGE_INT(jwt_leeway);
    MERGE_PTR(jwt_issuer);
    MERGE_PTR(jwt_audience);
    if (add->tenant_env_set) {
        c->tenant_env = add->tenant_env;
        c->tenant_env_set = 1;
    } else {
        c->tenant_env = base->tenant_env;
        c->tenant_env_set = base->tenant_env_set;
    }
    if (add->admin_claim) {
        c->admin_claim = add->admin_claim;
        c->admin_value = add->admin_value;
    } else {
        c->admin_claim = base->admin_claim;
        c->admin_value = base->admin_value;
    }
    MERGE_INT(tenant_env_admin);
    MERGE_INT(profile);
    MERGE_INT(max_body);
    MERGE_INT(max_upload);
    MERGE_INT(upload_ttl);
    MERGE_INT(retry_after);
    MERGE_INT(tenant_max_active);
    MERGE_INT(tenant_max_storage);
    return c;
}

void *ingest_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    ingest_srv_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    c->processor = INGEST_UNSET_INT;
    c->worker_interval = INGEST_UNSET_INT;
    c->worker_notify = INGEST_UNSET_INT;
    c->worker_batch = INGEST_UNSET_INT;
    c->worker_threads = INGEST_UNSET_INT;
    c->lease_time = INGEST_UNSET_INT;
    c->max_attempts = INGEST_UNSET_INT;
    c->sim_delay_min = INGEST_UNSET_INT;
    c->sim_delay_max = INGEST_UNSET_INT;
    c->sim_duration = INGEST_UNSET_INT;
    c->sim_failure_rate = INGEST_UNSET_INT;
    c->external_deadline = INGEST_UNSET_INT;
    c->retention_days = INGEST_UNSET_INT;
    c->callback_tolerance = INGEST_UNSET_INT;
    c->callback_auth = INGEST_UNSET_INT;
    c->batch_size = INGEST_UNSET_INT;
    c->sim_success_rate = INGEST_UNSET_INT;
    c->max_record = INGEST_UNSET_INT;
    c->on_bad_record = INGEST_UNSET_INT;
    c->max_bad_records = INGEST_UNSET_INT;
    c->s3_path_style = INGEST_UNSET_INT;
    c->s3_part_size = INGEST_UNSET_INT;
    c->events_max_streams = INGEST_UNSET_INT;
    c->events_heartbeat = INGEST_UNSET_INT;
    c->events_history = INGEST_UNSET_INT;
    c->notify_max_attempts = INGEST_UNSET_INT;
    c->notify_backoff = INGEST_UNSET_INT;
    c->notify_timeout = INGEST_UNSET_INT;
    return c;
}

void *ingest_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ingest_srv_conf *base = basev, *add = addv;
    ingest_srv_conf *c = apr_pcalloc(p, sizeof(*c));
    if (add->upload_secret) {
        c->upload_secret = add->upload_secret;
        c->upload_secret_len = add->upload_secret_len;
    } else {
        c->upload_secret = base->upload_secret;
        c->upload_secret_len = base->upload_secret_len;
    }
    c->upload_secret_generated = 0; /* decided in post_config */
    MERGE_INT(processor);
    MERGE_INT(worker_interval);
    MERGE_INT(worker_notify);
    MERGE_INT(worker_batch);
    MERGE_INT(worker_threads);
    MERGE_INT(lease_time);
    MERGE_INT(max_attempts);
    MERGE_INT(sim_delay_min);
    MERGE_INT(sim_delay_max);
    MERGE_INT(sim_duration);
    MERGE_INT(sim_failure_rate);
    MERGE_INT(external_deadline);
    MERGE_INT(retention_days);
    MERGE_INT(callback_tolerance);
    MERGE_INT(callback_auth);
    MERGE_PTR(storage_dir);
    MERGE_PTR(storage_s3);
    MERGE_PTR(s3_endpoint);
    MERGE_PTR(s3_region);
    MERGE_PTR(s3_credentials);
    MERGE_PTR(s3_profile);
    MERGE_INT(s3_path_style);
    MERGE_INT(s3_part_size);
    MERGE_PTR(storage);
    MERGE_PTR(tenant_weights);
    MERGE_PTR(mock_dataset);
    MERGE_INT(max_record);
    MERGE_INT(on_bad_record);
    MERGE_INT(max_bad_records);
    MERGE_INT(batch_size);
    MERGE_INT(sim_success_rate);
    MERGE_INT(events_max_streams);
    MERGE_INT(events_heartbeat);
    MERGE_INT(events_history);
    MERGE_PTR(notify_allow);
    MERGE_INT(notify_max_attempts);
    MERGE_INT(notify_backoff);
    MERGE_INT(notify_timeout);
    /* a vhost that names its own secrets replaces the inherited set */
    {
        const ingest_srv_conf *cb = add->callback_secret_count ? add : base;
        const ingest_srv_conf *nb = add->notify_secret_count ? add : base;
        memcpy(c->callback_secrets, cb->callback_secrets, sizeof(c->callback_secrets));
        c->callback_secret_count = cb->callback_secret_count;
        memcpy(c->notify_secrets, nb->notify_secrets, sizeof(c->notify_secrets));
        c->notify_secret_count = nb->notify_secret_count;
    }
    return c;
}

/* ------------------------------------------------------------ getters */

const ingest_dir_conf *ingest_dconf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &ingest_module);
}

const ingest_srv_conf *ingest_sconf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &ingest_module);
}

const char *ingest_conf_tenant_claim(const ingest_dir_conf *c)
{
    return c->jwt_tenant_claim ? c->jwt_tenant_claim : INGEST_DEFAULT_TENANT_CLAIM;
}

const char *ingest_conf_user_claim(const ingest_dir_conf *c)
{
    return c->jwt_user_claim ? c->jwt_user_claim : INGEST_DEFAULT_USER_CLAIM;
}

int ingest_conf_jwt_require_exp(const ingest_dir_conf *c)
{
    return c->jwt_require_exp != INGEST_UNSET_INT ? c->jwt_require_exp : 1;
}

apr_interval_time_t ingest_conf_jwt_leeway(const ingest_dir_conf *c)
{
    return c->jwt_leeway != INGEST_UNSET_INT ? c->jwt_leeway : 0;
}

const char *ingest_conf_jwt_issuer(const ingest_dir_conf *c)
{
    return c->jwt_issuer;
}

const char *ingest_conf_jwt_audience(const ingest_dir_conf *c)
{
    return c->jwt_audience;
}

const char *ingest_conf_tenant_env(const ingest_dir_conf *c)
{
    return c->tenant_env_set ? c->tenant_env : NULL;
}

apr_off_t ingest_conf_max_body(const ingest_dir_conf *c)
{
    return c->max_body != INGEST_UNSET_INT ? c->max_body : INGEST_DEFAULT_MAX_BODY;
}

apr_off_t ingest_conf_max_upload(const ingest_dir_conf *c)
{
    return c->max_upload != INGEST_UNSET_INT ? c->max_upload : INGEST_DEFAULT_MAX_UPLOAD;
}

int ingest_conf_upload_ttl(const ingest_dir_conf *c)
{
    return c->upload_ttl != INGEST_UNSET_INT ? c->upload_ttl : INGEST_DEFAULT_UPLOAD_TTL;
}

int ingest_conf_retry_after(const ingest_dir_conf *c)
{
    return c->retry_after != INGEST_UNSET_INT ? c->retry_after : INGEST_DEFAULT_RETRY_AFTER;
}

int ingest_conf_tenant_max_active(const ingest_dir_conf *c)
{
    return c->tenant_max_active != INGEST_UNSET_INT ? c->tenant_max_active : 0;
}

apr_off_t ingest_conf_tenant_max_storage(const ingest_dir_conf *c)
{
    return c->tenant_max_storage != INGEST_UNSET_INT ? c->tenant_max_storage : 0;
}

#define SRV_GETTER(type, name, field, dflt)                                                                  \
    type ingest_conf_##name(const ingest_srv_conf *c)                                                        \
    {                                                                                                        \
        return c->field != INGEST_UNSET_INT ? (type)c->field : (dflt);                                       \
    }

SRV_GETTER(ingest_processor_e, processor, processor, INGEST_PROC_NONE)

const char *ingest_conf_tenant_weights(const ingest_srv_conf *c)
{
    return c->tenant_weights ? c->tenant_weights : "{}";
}
SRV_GETTER(apr_interval_time_t, worker_interval, worker_interval, INGEST_DEFAULT_WORKER_INTERVAL)
SRV_GETTER(int, worker_notify, worker_notify, 1)
SRV_GETTER(int, worker_batch, worker_batch, INGEST_DEFAULT_WORKER_BATCH)
SRV_GETTER(int, worker_threads, worker_threads, INGEST_DEFAULT_WORKER_THREADS)
SRV_GETTER(apr_interval_time_t, lease_time, lease_time, INGEST_DEFAULT_LEASE_TIME)
SRV_GETTER(int, max_attempts, max_attempts, INGEST_DEFAULT_MAX_ATTEMPTS)
SRV_GETTER(apr_interval_time_t, sim_delay_min, sim_delay_min, INGEST_DEFAULT_SIM_DELAY_MIN)
SRV_GETTER(apr_interval_time_t, sim_delay_max, sim_delay_max, INGEST_DEFAULT_SIM_DELAY_MAX)
SRV_GETTER(apr_interval_time_t, sim_duration, sim_duration, INGEST_DEFAULT_SIM_DURATION)
SRV_GETTER(double, sim_failure_rate, sim_failure_rate, INGEST_DEFAULT_SIM_FAILURE)
SRV_GETTER(apr_interval_time_t, external_deadline, external_deadline, INGEST_DEFAULT_EXT_DEADLINE)
SRV_GETTER(int, retention_days, retention_days, 0)
SRV_GETTER(apr_interval_time_t, callback_tolerance, callback_tolerance, INGEST_DEFAULT_CB_TOLERANCE)
SRV_GETTER(int, callback_auth, callback_auth, 1)
SRV_GETTER(int, batch_size, batch_size, INGEST_DEFAULT_BATCH_SIZE)
SRV_GETTER(double, sim_success_rate, sim_success_rate, INGEST_DEFAULT_SIM_SUCCESS)
SRV_GETTER(apr_size_t, max_record, max_record, INGEST_PARSE_DEFAULT_RECORD)
SRV_GETTER(ingest_on_bad_e, on_bad_record, on_bad_record, INGEST_ON_BAD_FAIL)

#define OR_DEFAULT(v, d) ((v) == INGEST_UNSET_INT ? (d) : (v))
int ingest_conf_events_max_streams(const ingest_srv_conf *c)
{
    return c->events_max_streams;
}
int ingest_conf_events_heartbeat(const ingest_srv_conf *c)
{
    return OR_DEFAULT(c->events_heartbeat, INGEST_DEFAULT_EVENTS_HEARTBEAT);
}
int ingest_conf_events_history(const ingest_srv_conf *c)
{
    return OR_DEFAULT(c->events_history, INGEST_DEFAULT_EVENTS_HISTORY);
}
int ingest_conf_notify_secrets(const ingest_srv_conf *c, const ingest_webhook_secret_t **secrets)
{
    *secrets = c->notify_secrets;
    return c->notify_secret_count;
}
const apr_array_header_t *ingest_conf_notify_allow(const ingest_srv_conf *c)
{
    return c->notify_allow;
}
int ingest_conf_notify_max_attempts(const ingest_srv_conf *c)
{
    return OR_DEFAULT(c->notify_max_attempts, INGEST_DEFAULT_NOTIFY_ATTEMPTS);
}
int ingest_conf_notify_backoff(const ingest_srv_conf *c)
{
    return OR_DEFAULT(c->notify_backoff, INGEST_DEFAULT_NOTIFY_BACKOFF);
}
int ingest_conf_notify_timeout(const ingest_srv_conf *c)
{
    return OR_DEFAULT(c->notify_timeout, INGEST_DEFAULT_NOTIFY_TIMEOUT);
}

apr_int64_t ingest_conf_max_bad_records(const ingest_srv_conf *c)
{
    return c->max_bad_records == INGEST_UNSET_INT || c->max_bad_records == INT_MAX ? -1 : c->max_bad_records;
}

const char *ingest_conf_admin_claim(const ingest_dir_conf *c)
{
    return c->admin_claim && strcasecmp(c->admin_claim, "none") ? c->admin_claim : NULL;
}

const char *ingest_conf_admin_value(const ingest_dir_conf *c)
{
    return c->admin_value;
}

int ingest_conf_tenant_env_admin(const ingest_dir_conf *c)
{
    return c->tenant_env_admin == 1;
}

int ingest_conf_profile(const ingest_dir_conf *c)
{
    return c->profile == INGEST_UNSET_INT ? INGEST_PROFILE_NATIVE : c->profile;
}

const char *ingest_conf_mock_dataset(const ingest_srv_conf *c)
{
    return c->mock_dataset ? c->mock_dataset : INGEST_DEFAULT_MOCK_DATASET;
}

const struct ingest_storage *ingest_conf_storage(const ingest_srv_conf *c)
{
    return c->storage;
}

const char *ingest_conf_processor_name(const ingest_srv_conf *c)
{
    switch (ingest_conf_processor(c)) {
    case INGEST_PROC_SIMULATE: return "simulate";
    case INGEST_PROC_EXTERNAL: return "external";
    case INGEST_PROC_PARSE: return "parse";
    default: return "none";
    }
}

/* ------------------------------------------------------------ parsers */

/* A secret given inline or as "file:/path" (relative to ServerRoot), so it
 * need not sit in a world-readable httpd.conf. Trailing whitespace (the
 * newline an editor adds) is not part of the secret. */
static const char *read_secret(cmd_parms *cmd, const char *arg, const unsigned char **out, apr_size_t *len)
{
    char *buf;
    apr_size_t n;

    if (!strncmp(arg, "file:", 5)) {
        const char *path = ap_server_root_relative(cmd->temp_pool, arg + 5);
        apr_file_t *f;
        apr_finfo_t fi;
        apr_status_t rv;

        if (!path) {
            return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, arg + 5);
        }
        rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, cmd->temp_pool);
        if (rv == APR_SUCCESS) {
            rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
        }
        if (rv != APR_SUCCESS) {
            return apr_psprintf(cmd->pool, "%s: cannot read '%s': %pm", cmd->cmd->name, path, &rv);
        }
        if (fi.size > 4096) {
            apr_file_close(f);
            return apr_psprintf(cmd->pool, "%s: '%s' is larger than 4096 bytes", cmd->cmd->name, path);
        }
        buf = apr_palloc(cmd->pool, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(f, buf, (apr_size_t)fi.size, &n);
        apr_file_close(f);
        if (rv != APR_SUCCESS && rv != APR_EOF) {
            return apr_psprintf(cmd->pool, "%s: cannot read '%s': %pm", cmd->cmd->name, path, &rv);
        }
    } else {
        buf = apr_pstrdup(cmd->pool, arg);
        n = strlen(buf);
    }
    while (n > 0 && apr_isspace(buf[n - 1])) {
        --n;
    }
    buf[n] = '\0';
    if (n < 16) {
        return apr_psprintf(cmd->pool, "%s: the secret must be at least 16 bytes", cmd->cmd->name);
    }
    *out = (const unsigned char *)buf;
    *len = n;
    return NULL;
}

/* Bytes with an optional K, M or G suffix (powers of 1024). */
static const char *parse_size(cmd_parms *cmd, const char *arg, apr_off_t min, apr_off_t *out)
{
    char *end;
    apr_off_t v, mult = 1;
    apr_status_t rv = apr_strtoff(&v, arg, &end, 10);
    if (rv != APR_SUCCESS || end == arg || v < 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size", cmd->cmd->name, arg);
    }
    switch (apr_toupper(*end)) {
    case 'K':
        mult = 1024;
        ++end;
        break;
    case 'M':
        mult = 1024 * 1024;
        ++end;
        break;
    case 'G':
        mult = (apr_off_t)1024 * 1024 * 1024;
        ++end;
        break;
    default: break;
    }
    if (v > APR_INT64_MAX / mult) {
        return apr_psprintf(cmd->pool, "%s: '%s' is too large", cmd->cmd->name, arg);
    }
    v *= mult;
    if (*end) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size (bytes, or a number with K, M or G)",
                            cmd->cmd->name, arg);
    }
    if (v < min) {
        return apr_psprintf(cmd->pool, "%s: must be at least %" APR_OFF_T_FMT, cmd->cmd->name, min);
    }
    *out = v;
    return NULL;
}

static const char *parse_seconds(cmd_parms *cmd, const char *arg, int min, int max, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be whole seconds from %d to %d", cmd->cmd->name, arg,
                            min, max);
    }
    *out = (int)v;
    return NULL;
}

static const char *set_jwt_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_dir_conf *c = dc;
    return read_secret(cmd, arg, &c->jwt_secret, &c->jwt_secret_len);
}

static const char *set_claim(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_dir_conf *c = dc;
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: the claim name must not be empty", cmd->cmd->name);
    }
    if (cmd->info) {
        c->jwt_user_claim = arg;
    } else {
        c->jwt_tenant_claim = arg;
    }
    return NULL;
}

static const char *set_profile(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_profile_e which;
    if (ingest_profile_parse(arg, &which) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not one of native, seed000, seed001, seed002, seed003",
                            cmd->cmd->name, arg);
    }
    ((ingest_dir_conf *)dc)->profile = (int)which;
    return NULL;
}

/* IngestJWTAdminClaim NAME VALUE, or "none" to turn an inherited one off */
static const char *set_admin_claim(cmd_parms *cmd, void *dc, const char *name, const char *value)
{
    ingest_dir_conf *c = dc;
    if (!*name || (value && !*value)) {
        return apr_psprintf(cmd->pool, "%s: the claim name and value must not be empty", cmd->cmd->name);
    }
    if (!value && strcasecmp(name, "none")) {
        return apr_psprintf(cmd->pool, "%s takes a claim name and the value that makes an admin, or none",
                            cmd->cmd->name);
    }
    c->admin_claim = name;
    c->admin_value = value;
    return NULL;
}

static const char *set_tenant_env(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_dir_conf *c = dc;
    if (!*arg) {
        return apr_psprintf(cmd->pool, "%s: the variable name must not be empty", cmd->cmd->name);
    }
    c->tenant_env = strcasecmp(arg, "none") ? arg : NULL;
    c->tenant_env_set = 1;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_size(cmd, arg, 64, &((ingest_dir_conf *)dc)->max_body);
}

static const char *set_max_upload(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_size(cmd, arg, 0, &((ingest_dir_conf *)dc)->max_upload);
}

static const char *set_upload_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_seconds(cmd, arg, 1, 7 * 24 * 3600, &((ingest_dir_conf *)dc)->upload_ttl);
}

static const char *set_retry_after(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_seconds(cmd, arg, 1, 3600, &((ingest_dir_conf *)dc)->retry_after);
}

static const char *set_upload_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_srv_conf *c = ap_get_module_config(cmd->server->module_config, &ingest_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dc;
    if (err) {
        return err;
    }
    return read_secret(cmd, arg, &c->upload_secret, &c->upload_secret_len);
}

/* The worker is one per httpd server and reads the main server's
 * configuration: in a <VirtualHost> these would be silently ignored. */
#define WORKER_DIRECTIVE(cmd)                                                                                \
    do {                                                                                                     \
        const char *ctx_err_ = ap_check_cmd_context((cmd), GLOBAL_ONLY);                                     \
        if (ctx_err_) {                                                                                      \
            return ctx_err_;                                                                                 \
        }                                                                                                    \
    } while (0)

static ingest_srv_conf *srv_of(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &ingest_module);
}

/* A duration with httpd's units (ms, s, mi, h); unit is the default. */
static const char *parse_duration(cmd_parms *cmd, const char *arg, const char *unit, apr_interval_time_t min,
                                  apr_interval_time_t max, apr_interval_time_t *out)
{
    apr_interval_time_t v;
    if (ap_timeout_parameter_parse(arg, &v, unit) != APR_SUCCESS || v < min || v > max) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' must be a duration from %" APR_TIME_T_FMT "ms to %" APR_TIME_T_FMT
                            "s (default unit %s)",
                            cmd->cmd->name, arg, apr_time_as_msec(min), apr_time_sec(max), unit);
    }
    *out = v;
    return NULL;
}

static const char *parse_count(cmd_parms *cmd, const char *arg, int min, int max, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a whole number from %d to %d", cmd->cmd->name, arg,
                            min, max);
    }
    *out = (int)v;
    return NULL;
}

/* "off" (an inherited quota lifted) or a limit of at least 1 */
static const char *set_tenant_max_active(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!strcasecmp(arg, "off")) {
        ((ingest_dir_conf *)dc)->tenant_max_active = 0;
        return NULL;
    }
    return parse_count(cmd, arg, 1, INT_MAX, &((ingest_dir_conf *)dc)->tenant_max_active);
}

static const char *set_tenant_max_storage(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!strcasecmp(arg, "off")) {
        ((ingest_dir_conf *)dc)->tenant_max_storage = 0;
        return NULL;
    }
    return parse_size(cmd, arg, 1, &((ingest_dir_conf *)dc)->tenant_max_storage);
}

static const char *set_jwt_leeway(cmd_parms *cmd, void *dc, const char *arg)
{
    return parse_duration(cmd, arg, "s", 0, apr_time_from_sec(3600), &((ingest_dir_conf *)dc)->jwt_leeway);
}

static const char *set_processor(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    ingest_srv_conf *c = srv_of(cmd);
    (void)dc;
    if (!strcasecmp(arg, "none"))
        c->processor = INGEST_PROC_NONE;
    else if (!strcasecmp(arg, "simulate"))
        c->processor = INGEST_PROC_SIMULATE;
    else if (!strcasecmp(arg, "external"))
        c->processor = INGEST_PROC_EXTERNAL;
    else if (!strcasecmp(arg, "parse"))
        c->processor = INGEST_PROC_PARSE;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not one of none, simulate, parse, external",
                            cmd->cmd->name, arg);
    return NULL;
}

static const char *set_worker_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_duration(cmd, arg, "ms", apr_time_from_msec(10), apr_time_from_sec(3600),
                          &srv_of(cmd)->worker_interval);
}

static const char *set_worker_notify(cmd_parms *cmd, void *dc, int on)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    srv_of(cmd)->worker_notify = on ? 1 : 0;
    return NULL;
}

static const char *set_worker_batch(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_count(cmd, arg, 1, 10000, &srv_of(cmd)->worker_batch);
}

/* IngestTenantWeight TENANT WEIGHT: the tenant's share of each claim,
 * relative to the others' (default 1). Kept as the JSON text the claim
 * statement reads. */
static const char *set_tenant_weight(cmd_parms *cmd, void *dc, const char *tenant, const char *arg)
{
    ingest_srv_conf *c = srv_of(cmd);
    json_t *weights;
    const char *err;
    char *text;
    int weight;

    WORKER_DIRECTIVE(cmd);
    (void)dc;
    if (!*tenant || strlen(tenant) > 128) {
        return apr_psprintf(cmd->pool, "%s: the tenant must be 1 to 128 characters", cmd->cmd->name);
    }
    if ((err = parse_count(cmd, arg, 1, 1000, &weight))) {
        return err;
    }
    weights = json_loads(c->tenant_weights ? c->tenant_weights : "{}", 0, NULL);
    if (!weights) {
        return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
    }
    if (json_object_get(weights, tenant)) {
        json_decref(weights);
        return apr_psprintf(cmd->pool, "%s: tenant '%s' already has a weight", cmd->cmd->name, tenant);
    }
    json_object_set_new(weights, tenant, json_integer(weight));
    text = json_dumps(weights, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(weights);
    if (!text) {
        return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
    }
    c->tenant_weights = apr_pstrdup(cmd->pool, text);
    free(text);
    return NULL;
}

static const char *set_worker_threads(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_count(cmd, arg, 0, INGEST_MAX_WORKER_THREADS, &srv_of(cmd)->worker_threads);
}

static const char *set_lease_time(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_duration(cmd, arg, "s", apr_time_from_sec(1), apr_time_from_sec(86400),
                          &srv_of(cmd)->lease_time);
}

static const char *set_max_attempts(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_count(cmd, arg, 1, 100, &srv_of(cmd)->max_attempts);
}

static const char *set_sim_delay(cmd_parms *cmd, void *dc, const char *lo, const char *hi)
{
    WORKER_DIRECTIVE(cmd);
    ingest_srv_conf *c = srv_of(cmd);
    const char *err;
    (void)dc;
    if ((err = parse_duration(cmd, lo, "s", 0, apr_time_from_sec(86400), &c->sim_delay_min))
        || (err = parse_duration(cmd, hi ? hi : lo, "s", 0, apr_time_from_sec(86400), &c->sim_delay_max))) {
        return err;
    }
    if (c->sim_delay_max < c->sim_delay_min) {
        return apr_psprintf(cmd->pool, "%s: MAX must not be less than MIN", cmd->cmd->name);
    }
    return NULL;
}

static const char *set_sim_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_duration(cmd, arg, "s", 0, apr_time_from_sec(86400), &srv_of(cmd)->sim_duration);
}

static const char *set_sim_failure_rate(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    char *end;
    double v = strtod(arg, &end);
    (void)dc;
    if (end == arg || *end || !(v >= 0.0 && v <= 1.0)) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a number from 0 to 1", cmd->cmd->name, arg);
    }
    srv_of(cmd)->sim_failure_rate = v;
    return NULL;
}

static const char *set_external_deadline(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_duration(cmd, arg, "s", apr_time_from_sec(1), apr_time_from_sec(30 * 86400),
                          &srv_of(cmd)->external_deadline);
}

static const char *set_retention(cmd_parms *cmd, void *dc, const char *arg)
{
    WORKER_DIRECTIVE(cmd);
    (void)dc;
    return parse_count(cmd, arg, 0, 36500, &srv_of(cmd)->retention_days);
}

static const char *set_mock_dataset(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    (void)dc;
    if (!path || !*arg) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a usable path", cmd->cmd->name, arg);
    }
    srv_of(cmd)->mock_dataset = path;
    return NULL;
}

static const char *set_storage_dir(cmd_parms *cmd, void *dc, const char *arg);

/* IngestStorage file:DIR | s3://bucket/prefix: a directory (the same as
 * IngestStorageDir DIR) or a bucket; the last of the two wins. */
static const char *set_storage(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *bucket, *prefix, *why;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (!strncmp(arg, "file:", 5)) {
        return set_storage_dir(cmd, dc, arg + 5);
    }
    if (ingest_s3_location_parse(cmd->temp_pool, arg, &bucket, &prefix, &why) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not file:/path or s3://bucket/prefix: %s", cmd->cmd->name,
                            arg, !strncmp(arg, "s3://", 5) ? why : "unknown scheme");
    }
    srv_of(cmd)->storage_s3 = arg;
    srv_of(cmd)->storage_dir = NULL;
    return NULL;
}

/* IngestS3Endpoint, IngestS3Region, IngestS3Credentials, IngestS3Profile:
 * one setter, the field named by cmd->info (as mod_dbd's). */
static const char *set_s3_string(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_srv_conf *c = srv_of(cmd);
    const char *field = cmd->info, *scheme, *authority, *why;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (!strcmp(field, "endpoint")) {
        if (ingest_s3_endpoint_parse(cmd->temp_pool, arg, &scheme, &authority, &why) != APR_SUCCESS) {
            return apr_psprintf(cmd->pool, "%s: '%s' %s", cmd->cmd->name, arg, why);
        }
        c->s3_endpoint = arg;
    } else if (!strcmp(field, "region")) {
        c->s3_region = arg;
    } else if (!strcmp(field, "credentials")) {
        const char *path = strncmp(arg, "file:", 5) ? NULL : ap_server_root_relative(cmd->pool, arg + 5);
        if (!path) {
            return apr_psprintf(cmd->pool,
                                "%s: '%s' must be file:/path (an AWS shared-credentials file; keys are never "
                                "written in the configuration)",
                                cmd->cmd->name, arg);
        }
        c->s3_credentials = path;
    } else {
        c->s3_profile = arg;
    }
    return NULL;
}

static const char *set_s3_path_style(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    srv_of(cmd)->s3_path_style = on ? 1 : 0;
    return NULL;
}

static const char *set_s3_part_size(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_off_t v;
    const char *err;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if ((err = parse_size(cmd, arg, INGEST_S3_MIN_PART, &v))) {
        return err;
    }
    if (v > INGEST_S3_MAX_PART) {
        return apr_psprintf(cmd->pool, "%s: must be at most %" APR_OFF_T_FMT, cmd->cmd->name,
                            (apr_off_t)INGEST_S3_MAX_PART);
    }
    srv_of(cmd)->s3_part_size = v;
    return NULL;
}

static const char *set_storage_dir(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path;
    apr_finfo_t fi;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an existing directory", cmd->cmd->name, arg);
    }
    srv_of(cmd)->storage_dir = path;
    srv_of(cmd)->storage_s3 = NULL;
    return NULL;
}

static const char *set_max_record(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_off_t v;
    const char *err;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if ((err = parse_size(cmd, arg, 1024, &v))) {
        return err;
    }
    if (v > INGEST_MAX_RECORD_LIMIT) {
        return apr_psprintf(cmd->pool, "%s: must be at most %" APR_OFF_T_FMT, cmd->cmd->name,
                            (apr_off_t)INGEST_MAX_RECORD_LIMIT);
    }
    srv_of(cmd)->max_record = v;
    return NULL;
}

static const char *set_on_bad_record(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (!strcasecmp(arg, "fail"))
        srv_of(cmd)->on_bad_record = INGEST_ON_BAD_FAIL;
    else if (!strcasecmp(arg, "skip"))
        srv_of(cmd)->on_bad_record = INGEST_ON_BAD_SKIP;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not fail or skip", cmd->cmd->name, arg);
    return NULL;
}

/* "unlimited" (the default) or a count, 0 included (the first bad record
 * fails the job, as fail does, but counted and kept) */
static const char *set_max_bad_records(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (!strcasecmp(arg, "unlimited")) {
        srv_of(cmd)->max_bad_records = INT_MAX;
        return NULL;
    }
    return parse_count(cmd, arg, 0, INT_MAX - 1, &srv_of(cmd)->max_bad_records);
}

static const char *set_batch_size(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    return parse_count(cmd, arg, 1, 1000, &srv_of(cmd)->batch_size);
}

static const char *set_sim_success_rate(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (end == arg || *end || !(v >= 0.0 && v <= 1.0)) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be a number from 0 to 1", cmd->cmd->name, arg);
    }
    srv_of(cmd)->sim_success_rate = v;
    return NULL;
}

/* IngestCallbackSecret (cmd->info NULL) and IngestNotifySecret ("notify"):
 * up to two whsec_ keys each, for rotation */
static const char *set_webhook_secret(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_srv_conf *c = srv_of(cmd);
    ingest_webhook_secret_t *set = cmd->info ? c->notify_secrets : c->callback_secrets;
    int *count = cmd->info ? &c->notify_secret_count : &c->callback_secret_count;
    const unsigned char *raw;
    apr_size_t len;
    const char *err, *why = NULL;
    (void)dc;
    if (cmd->info) {
        WORKER_DIRECTIVE(cmd); /* the sender signs with the main server's */
    }
    if (*count >= INGEST_WEBHOOK_MAX_SECRETS) {
        return apr_psprintf(cmd->pool, "%s: at most %d secrets (the current one and the next)",
                            cmd->cmd->name, INGEST_WEBHOOK_MAX_SECRETS);
    }
    if ((err = read_secret(cmd, arg, &raw, &len))) {
        return err;
    }
    if (ingest_webhook_secret_parse(cmd->pool, (const char *)raw, &set[*count], &why) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, why);
    }
    (*count)++;
    return NULL;
}

/* The whole-number directives of live updates and notifications, one
 * setter by name (as mod_dbd's dbd_param): where each goes, its bounds. */
static const struct {
    const char *name;
    apr_size_t off;
    int min, max;
} live_counts[] = {
    {"IngestEventsMaxStreams", APR_OFFSETOF(ingest_srv_conf, events_max_streams), 0, 100000},
    {"IngestEventsHeartbeat", APR_OFFSETOF(ingest_srv_conf, events_heartbeat), 1, 300},
    {"IngestEventsHistory", APR_OFFSETOF(ingest_srv_conf, events_history), 60, 30 * 86400},
    {"IngestNotifyMaxAttempts", APR_OFFSETOF(ingest_srv_conf, notify_max_attempts), 1, 100},
    {"IngestNotifyBackoff", APR_OFFSETOF(ingest_srv_conf, notify_backoff), 1, 86400},
    {"IngestNotifyTimeout", APR_OFFSETOF(ingest_srv_conf, notify_timeout), 1, 300},
};

static const char *set_live_count(cmd_parms *cmd, void *dc, const char *arg)
{
    size_t i;
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    for (i = 0; i < sizeof(live_counts) / sizeof(live_counts[0]); ++i) {
        if (!strcasecmp(cmd->cmd->name, live_counts[i].name)) {
            return parse_count(cmd, arg, live_counts[i].min, live_counts[i].max,
                               (int *)((char *)srv_of(cmd) + live_counts[i].off));
        }
    }
    return apr_psprintf(cmd->pool, "%s: no such directive", cmd->cmd->name);
}

/* IngestNotifyAllow PATTERN...: host names or addresses (apr_fnmatch
 * patterns, so *.corp.example) a notify_url may reach although they are
 * private, and by http */
static const char *set_notify_allow(cmd_parms *cmd, void *dc, const char *arg)
{
    ingest_srv_conf *c = srv_of(cmd);
    (void)dc;
    WORKER_DIRECTIVE(cmd);
    if (!*arg || strpbrk(arg, "/@ \t")) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a host name pattern", cmd->cmd->name, arg);
    }
    if (!c->notify_allow) {
        c->notify_allow = apr_array_make(cmd->pool, 4, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->notify_allow, const char *) = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_callback_tolerance(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return parse_duration(cmd, arg, "s", apr_time_from_sec(1), apr_time_from_sec(86400),
                          &srv_of(cmd)->callback_tolerance);
}

static const char *set_callback_auth(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "signature"))
        srv_of(cmd)->callback_auth = 1;
    else if (!strcasecmp(arg, "none"))
        srv_of(cmd)->callback_auth = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not signature or none", cmd->cmd->name, arg);
    return NULL;
}

/* The backend the main server's directives describe (the worker and every
 * virtual host use it): NULL with *why on a mistake. */
static ingest_storage_t *assemble_storage(apr_pool_t *p, server_rec *s, const ingest_srv_conf *c,
                                          const char **why)
{
    ingest_storage_t *st = apr_pcalloc(p, sizeof(*st));
    const char *endpoint, *profile = c->s3_profile ? c->s3_profile : "default";
    apr_file_t *fd;
    apr_finfo_t fi;
    char *text;
    apr_size_t n;
    apr_status_t rv;

    st->s = s;
    if (!c->storage_s3) {
        if (!c->storage_dir) {
            return NULL;
        }
        st->ops = &ingest_storage_file_ops;
        st->root = c->storage_dir;
        st->describe = apr_pstrcat(p, "file:", c->storage_dir, NULL);
        return st;
    }
    st->ops = &ingest_storage_s3_ops;
    ingest_s3_location_parse(p, c->storage_s3, &st->bucket, &st->prefix, why);
    st->describe = apr_pstrcat(p, "s3://", st->bucket, *st->prefix ? "/" : "", st->prefix, NULL);
    st->region = c->s3_region ? c->s3_region : "us-east-1";
    endpoint =
        c->s3_endpoint ? c->s3_endpoint : apr_pstrcat(p, "https://s3.", st->region, ".amazonaws.com", NULL);
    if (ingest_s3_endpoint_parse(p, endpoint, &st->scheme, &st->authority, why) != APR_SUCCESS) {
        *why = apr_psprintf(p, "IngestS3Endpoint %s %s", endpoint, *why);
        return NULL;
    }
    st->path_style = c->s3_path_style == 1;
    st->part_size =
        c->s3_part_size != INGEST_UNSET_INT ? (apr_size_t)c->s3_part_size : INGEST_S3_DEFAULT_PART;
    if (!c->s3_credentials) {
        *why = apr_psprintf(p, "IngestStorage %s needs IngestS3Credentials file:/path", c->storage_s3);
        return NULL;
    }
    /* read now, as the user httpd starts as: the file may be readable by
     * root alone */
    if ((rv = apr_file_open(&fd, c->s3_credentials, APR_FOPEN_READ, 0, p)) != APR_SUCCESS
        || (rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd)) != APR_SUCCESS || fi.size > 1024 * 1024) {
        *why = apr_psprintf(p, "IngestS3Credentials: cannot read %s: %pm", c->s3_credentials, &rv);
        return NULL;
    }
    text = apr_palloc(p, (apr_size_t)fi.size + 1);
    n = (apr_size_t)fi.size;
    if ((rv = apr_file_read_full(fd, text, n, &n)) != APR_SUCCESS && rv != APR_EOF) {
        *why = apr_psprintf(p, "IngestS3Credentials: cannot read %s: %pm", c->s3_credentials, &rv);
        return NULL;
    }
    apr_file_close(fd);
    if (ingest_s3_credentials_parse(p, text, n, profile, &st->key_id, &st->secret, why) != APR_SUCCESS) {
        *why = apr_psprintf(p, "IngestS3Credentials %s: %s", c->s3_credentials, *why);
        return NULL;
    }
    memset(text, 0, n);
    return st;
}

apr_status_t ingest_config_post_config(apr_pool_t *p, server_rec *s)
{
    unsigned char *rnd = NULL;
    server_rec *vs;
    ingest_srv_conf *main_conf = ap_get_module_config(s->module_config, &ingest_module);
    ingest_storage_t *storage;
    const char *why = NULL;
    static int curl_ready;

    if (!curl_ready) {
        /* once, in the parent before any child or thread: not thread-safe */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, IGLOGNO(00103) "curl_global_init failed");
            return APR_EGENERAL;
        }
        curl_ready = 1;
    }
    storage = assemble_storage(p, s, main_conf, &why);
    if (!storage && why) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, IGLOGNO(00103) "%s", why);
        return APR_EGENERAL;
    }
    for (vs = s; vs; vs = vs->next) {
        ingest_srv_conf *c = ap_get_module_config(vs->module_config, &ingest_module);
        c->storage = storage;
    }

    for (vs = s; vs; vs = vs->next) {
        ingest_srv_conf *c = ap_get_module_config(vs->module_config, &ingest_module);
        if (c->upload_secret) {
            continue;
        }
        if (!rnd) {
            rnd = apr_palloc(p, 32);
            if (RAND_bytes(rnd, 32) != 1) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                             IGLOGNO(00101) "cannot generate a random IngestUploadSecret");
                return APR_EGENERAL;
            }
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         IGLOGNO(00102) "IngestUploadSecret is not set: using a random one; upload URLs "
                                        "become invalid on restart and on other hosts");
        }
        c->upload_secret = rnd;
        c->upload_secret_len = 32;
        c->upload_secret_generated = 1;
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------ table */

#define DIR_CTX (RSRC_CONF | ACCESS_CONF)

const command_rec ingest_cmds[] = {
    AP_INIT_TAKE1("IngestJWTSecret", set_jwt_secret, NULL, DIR_CTX,
                  "HS256 secret for bearer tokens, inline or file:/path"),
    AP_INIT_TAKE1("IngestJWTTenantClaim", set_claim, NULL, DIR_CTX,
                  "JWT claim that names the tenant (default org_id)"),
    AP_INIT_TAKE1("IngestJWTUserClaim", set_claim, (void *)1, DIR_CTX,
                  "JWT claim that names the user (default sub)"),
    AP_INIT_FLAG("IngestJWTRequireExp", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(ingest_dir_conf, jwt_require_exp), DIR_CTX,
                 "refuse bearer tokens without an exp claim (default On)"),
    AP_INIT_TAKE1("IngestJWTLeeway", set_jwt_leeway, NULL, DIR_CTX,
                  "clock skew allowed on exp and nbf (default 0)"),
    AP_INIT_TAKE1("IngestJWTIssuer", ap_set_string_slot, (void *)APR_OFFSETOF(ingest_dir_conf, jwt_issuer),
                  DIR_CTX, "the iss claim a bearer token must carry (default: not checked)"),
    AP_INIT_TAKE1("IngestJWTAudience", ap_set_string_slot,
                  (void *)APR_OFFSETOF(ingest_dir_conf, jwt_audience), DIR_CTX,
                  "a value the aud claim of a bearer token must hold (default: not checked)"),
    AP_INIT_TAKE1("IngestTenantEnv", set_tenant_env, NULL, DIR_CTX,
                  "request environment variable that names the tenant, or none"),
    AP_INIT_TAKE12(
        "IngestJWTAdminClaim", set_admin_claim, NULL, DIR_CTX,
        "a JWT claim NAME and the VALUE (or an array holding it) that makes a token an admin's, or none"),
    AP_INIT_FLAG(
        "IngestTenantEnvAdmin", ap_set_flag_slot, (void *)APR_OFFSETOF(ingest_dir_conf, tenant_env_admin),
        DIR_CTX,
        "identities from IngestTenantEnv are admins here (guard the location with Require; default Off)"),
    AP_INIT_TAKE1("IngestAPIProfile", set_profile, NULL, DIR_CTX,
                  "the API this location speaks: native (default), seed000, seed001, seed002, seed003"),
    AP_INIT_TAKE1("IngestMaxBodySize", set_max_body, NULL, DIR_CTX,
                  "largest JSON request body in bytes (K, M, G suffixes; default 1M)"),
    AP_INIT_TAKE1("IngestMaxUploadSize", set_max_upload, NULL, DIR_CTX,
                  "largest file_size an ingestion may declare (default 1G)"),
    AP_INIT_TAKE1("IngestUploadTTL", set_upload_ttl, NULL, DIR_CTX,
                  "seconds an upload URL stays valid (default 3600)"),
    AP_INIT_TAKE1("IngestRetryAfter", set_retry_after, NULL, DIR_CTX,
                  "Retry-After seconds sent with 503 when the database is down (default 5)"),
    AP_INIT_TAKE1("IngestTenantMaxActiveJobs", set_tenant_max_active, NULL, DIR_CTX,
                  "most pending + queued + running jobs a tenant may have, or off (default off)"),
    AP_INIT_TAKE1(
        "IngestTenantMaxStorage", set_tenant_max_storage, NULL, DIR_CTX,
        "most bytes of stored and announced files a tenant may have (K, M, G), or off (default off)"),
    AP_INIT_TAKE1("IngestUploadSecret", set_upload_secret, NULL, RSRC_CONF,
                  "key that signs upload URLs, inline or file:/path"),
    AP_INIT_TAKE1("IngestProcessor", set_processor, NULL, RSRC_CONF,
                  "what the background worker does: none (default), simulate, parse, external"),
    AP_INIT_TAKE1("IngestWorkerInterval", set_worker_interval, NULL, RSRC_CONF,
                  "pause between worker passes when no work is due (default 200ms)"),
    AP_INIT_FLAG("IngestWorkerNotify", set_worker_notify, NULL, RSRC_CONF,
                 "wake the worker through LISTEN/NOTIFY when a job is queued (default On)"),
    AP_INIT_TAKE1("IngestWorkerBatch", set_worker_batch, NULL, RSRC_CONF,
                  "jobs claimed per statement (default 100)"),
    AP_INIT_TAKE2(
        "IngestTenantWeight", set_tenant_weight, NULL, RSRC_CONF,
        "TENANT WEIGHT: the tenant's share of each worker claim against the others' (1 to 1000, default 1)"),
    AP_INIT_TAKE1(
        "IngestWorkerThreads", set_worker_threads, NULL, RSRC_CONF,
        "threads that run the worker's long steps, 0 to 64; 0: on the worker's own thread (default 2)"),
    AP_INIT_TAKE1("IngestLeaseTime", set_lease_time, NULL, RSRC_CONF,
                  "how long a claimed job stays with its worker unless renewed (default 30s)"),
    AP_INIT_TAKE1("IngestMaxAttempts", set_max_attempts, NULL, RSRC_CONF,
                  "lease expiries after which a job fails (default 3)"),
    AP_INIT_TAKE12("IngestSimulateDelay", set_sim_delay, NULL, RSRC_CONF,
                   "simulate: delay MIN [MAX] before a queued job starts (default 5 10)"),
    AP_INIT_TAKE1("IngestSimulateDuration", set_sim_duration, NULL, RSRC_CONF,
                  "simulate: length of the running phase (default 2s)"),
    AP_INIT_TAKE1("IngestSimulateFailureRate", set_sim_failure_rate, NULL, RSRC_CONF,
                  "simulate: share of jobs that fail, 0 to 1 (default 0.1)"),
    AP_INIT_TAKE1("IngestExternalDeadline", set_external_deadline, NULL, RSRC_CONF,
                  "external: time the pipeline has to finish a handed-over job (default 1h)"),
    AP_INIT_TAKE1("IngestRetention", set_retention, NULL, RSRC_CONF,
                  "days terminal jobs are kept; 0 keeps them (default 0)"),
    AP_INIT_TAKE1("IngestCallbackSecret", set_webhook_secret, NULL, RSRC_CONF,
                  "webhook signing secret (whsec_... or file:/path); give twice to rotate"),
    AP_INIT_TAKE1("IngestCallbackTolerance", set_callback_tolerance, NULL, RSRC_CONF,
                  "accepted clock skew of webhook-timestamp (default 300s)"),
    AP_INIT_TAKE1("IngestCallbackAuth", set_callback_auth, NULL, RSRC_CONF,
                  "signature (default) or none (demos only)"),
    AP_INIT_TAKE1("IngestEventsMaxStreams", set_live_count, NULL, RSRC_CONF,
                  "event streams one child process may hold open (default: half its ThreadsPerChild)"),
    AP_INIT_TAKE1("IngestEventsHeartbeat", set_live_count, NULL, RSRC_CONF,
                  "seconds between heartbeat comments on an idle event stream (default 15)"),
    AP_INIT_TAKE1("IngestEventsHistory", set_live_count, NULL, RSRC_CONF,
                  "seconds of job events kept for Last-Event-ID replay (default 3600)"),
    AP_INIT_TAKE1("IngestNotifySecret", set_webhook_secret, "notify", RSRC_CONF,
                  "key notifications are signed with (whsec_... or file:/path); give twice to rotate"),
    AP_INIT_ITERATE("IngestNotifyAllow", set_notify_allow, NULL, RSRC_CONF,
                    "hosts a notify_url may name although private (and by http)"),
    AP_INIT_TAKE1("IngestNotifyMaxAttempts", set_live_count, NULL, RSRC_CONF,
                  "attempts to deliver one notification (default 8)"),
    AP_INIT_TAKE1("IngestNotifyBackoff", set_live_count, NULL, RSRC_CONF,
                  "seconds before the second attempt, tripled for each next one (default 10)"),
    AP_INIT_TAKE1("IngestNotifyTimeout", set_live_count, NULL, RSRC_CONF,
                  "seconds one attempt may take (default 10)"),
    AP_INIT_TAKE1("IngestStorage", set_storage, NULL, RSRC_CONF,
                  "where files are kept: file:/path (a directory) or s3://bucket/prefix"),
    AP_INIT_TAKE1("IngestS3Endpoint", set_s3_string, "endpoint", RSRC_CONF,
                  "the S3 service, http[s]://host[:port] (default: AWS in IngestS3Region)"),
    AP_INIT_TAKE1("IngestS3Region", set_s3_string, "region", RSRC_CONF,
                  "the bucket's region (default us-east-1)"),
    AP_INIT_TAKE1("IngestS3Credentials", set_s3_string, "credentials", RSRC_CONF,
                  "file:/path of an AWS shared-credentials file"),
    AP_INIT_TAKE1("IngestS3Profile", set_s3_string, "profile", RSRC_CONF,
                  "the section of the credentials file (default: default)"),
    AP_INIT_FLAG("IngestS3PathStyle", set_s3_path_style, NULL, RSRC_CONF,
                 "On: http://host/bucket/key; Off (default): http://bucket.host/key"),
    AP_INIT_TAKE1("IngestS3PartSize", set_s3_part_size, NULL, RSRC_CONF,
                  "the size of a multipart upload's parts, and of a ranged read (default 8M)"),
    AP_INIT_TAKE1("IngestStorageDir", set_storage_dir, NULL, RSRC_CONF,
                  "directory uploaded files are stored in (required for uploads)"),
    AP_INIT_TAKE1("IngestMaxRecordSize", set_max_record, NULL, RSRC_CONF,
                  "parse: the largest record (CSV row, JSON element, NDJSON line) in bytes (default 1M)"),
    AP_INIT_TAKE1("IngestOnBadRecord", set_on_bad_record, NULL, RSRC_CONF,
                  "fail (default: a bad record fails the job) or skip (counted, the first 1,000 kept)"),
    AP_INIT_TAKE1("IngestMaxBadRecords", set_max_bad_records, NULL, RSRC_CONF,
                  "unlimited (default) or N: a job with more than N bad records fails"),
    AP_INIT_TAKE1("IngestBatchSize", set_batch_size, NULL, RSRC_CONF,
                  "mappings processed per step of a mappings job (default 5)"),
    AP_INIT_TAKE1("IngestSimulateSuccessRate", set_sim_success_rate, NULL, RSRC_CONF,
                  "share of simulated external calls per mapping that succeed, 0 to 1 (default 0.9)"),
    AP_INIT_TAKE1("IngestMockDataset", set_mock_dataset, NULL, RSRC_CONF,
                  "the ML job metadata POST /api/admin/ingest/jobs/mock loads (default: the bundled one)"),
    AP_INIT_TAKE1("IngestStatusCache", ingest_cache_cmd_provider, NULL, RSRC_CONF,
                  "socache provider[:args] for GET status answers (shmcb, redis:host:port, ...) or none"),
    AP_INIT_TAKE1("IngestStatusCacheTTL", ingest_cache_cmd_ttl, NULL, RSRC_CONF,
                  "how long a cached status answer may be used (default 30s)"),
    {NULL, {NULL}, NULL, 0, RAW_ARGS, NULL},
};
