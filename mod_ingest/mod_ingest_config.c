#include <httpd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <http_core.h>
#include <http_config.h>

#include <openssl/rand.h>

#include "mod_ingest.h"
#include "mod_ingest_config.h"

/* ------------------------------------------------------------ create/merge */

void *ingest_create_dir_conf(apr_pool_t *p, char *dir)
{
    ingest_dir_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)dir;
    c->max_body = INGEST_UNSET_INT;
    c->max_upload = INGEST_UNSET_INT;
    c->upload_ttl = INGEST_UNSET_INT;
    c->retry_after = INGEST_UNSET_INT;
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
    if (add->tenant_env_set) {
        c->tenant_env = add->tenant_env;
        c->tenant_env_set = 1;
    } else {
        c->tenant_env = base->tenant_env;
        c->tenant_env_set = base->tenant_env_set;
    }
    MERGE_INT(max_body);
    MERGE_INT(max_upload);
    MERGE_INT(upload_ttl);
    MERGE_INT(retry_after);
    return c;
}

void *ingest_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(ingest_srv_conf));
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

apr_status_t ingest_config_post_config(apr_pool_t *p, server_rec *s)
{
    unsigned char *rnd = NULL;
    server_rec *vs;

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
    AP_INIT_TAKE1("IngestTenantEnv", set_tenant_env, NULL, DIR_CTX,
                  "request environment variable that names the tenant, or none"),
    AP_INIT_TAKE1("IngestMaxBodySize", set_max_body, NULL, DIR_CTX,
                  "largest JSON request body in bytes (K, M, G suffixes; default 1M)"),
    AP_INIT_TAKE1("IngestMaxUploadSize", set_max_upload, NULL, DIR_CTX,
                  "largest file_size an ingestion may declare (default 1G)"),
    AP_INIT_TAKE1("IngestUploadTTL", set_upload_ttl, NULL, DIR_CTX,
                  "seconds an upload URL stays valid (default 3600)"),
    AP_INIT_TAKE1("IngestRetryAfter", set_retry_after, NULL, DIR_CTX,
                  "Retry-After seconds sent with 503 when the database is down (default 5)"),
    AP_INIT_TAKE1("IngestUploadSecret", set_upload_secret, NULL, RSRC_CONF,
                  "key that signs upload URLs, inline or file:/path"),
    {NULL, {NULL}, NULL, 0, RAW_ARGS, NULL},
};
