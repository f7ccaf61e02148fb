#ifndef MOD_INGEST_CONFIG_H
#define MOD_INGEST_CONFIG_H

/* Directives and their merged, typed values. Each field starts "unset" so
 * a <Location> inherits what it does not say; the getters below apply the
 * defaults, and nothing else reads the structs directly. */

#include <apr_time.h>

#include "mod_ingest.h"

#define INGEST_UNSET_INT            (-1)
#define INGEST_DEFAULT_MAX_BODY     (1024 * 1024)
#define INGEST_DEFAULT_MAX_UPLOAD   ((apr_off_t)1024 * 1024 * 1024)
#define INGEST_DEFAULT_UPLOAD_TTL   3600
#define INGEST_DEFAULT_RETRY_AFTER  5
#define INGEST_DEFAULT_TENANT_CLAIM "org_id"
#define INGEST_DEFAULT_USER_CLAIM   "sub"

typedef struct {
    const unsigned char *jwt_secret; /* NULL: unset */
    apr_size_t jwt_secret_len;
    const char *jwt_tenant_claim;
    const char *jwt_user_claim;
    const char *tenant_env;
    int tenant_env_set; /* "IngestTenantEnv none" turns an inherited one off */
    apr_off_t max_body;
    apr_off_t max_upload;
    int upload_ttl;
    int retry_after;
} ingest_dir_conf;

typedef struct {
    const unsigned char *upload_secret;
    apr_size_t upload_secret_len;
    int upload_secret_generated; /* no IngestUploadSecret: random per start */
} ingest_srv_conf;

extern const command_rec ingest_cmds[];

void *ingest_create_dir_conf(apr_pool_t *p, char *dir);
void *ingest_merge_dir_conf(apr_pool_t *p, void *base, void *add);
void *ingest_create_srv_conf(apr_pool_t *p, server_rec *s);
void *ingest_merge_srv_conf(apr_pool_t *p, void *base, void *add);

/* Fills every server's missing IngestUploadSecret with one random secret,
 * in the parent before fork, so all children agree. */
apr_status_t ingest_config_post_config(apr_pool_t *p, server_rec *s);

const ingest_dir_conf *ingest_dconf(request_rec *r);
const ingest_srv_conf *ingest_sconf(server_rec *s);

const char *ingest_conf_tenant_claim(const ingest_dir_conf *c);
const char *ingest_conf_user_claim(const ingest_dir_conf *c);
const char *ingest_conf_tenant_env(const ingest_dir_conf *c);
apr_off_t ingest_conf_max_body(const ingest_dir_conf *c);
apr_off_t ingest_conf_max_upload(const ingest_dir_conf *c);
int ingest_conf_upload_ttl(const ingest_dir_conf *c);
int ingest_conf_retry_after(const ingest_dir_conf *c);

#endif
