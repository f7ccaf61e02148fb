#ifndef MOD_INGEST_CONFIG_H
#define MOD_INGEST_CONFIG_H

/* Directives and their merged, typed values. Each field starts "unset" so
 * a <Location> inherits what it does not say; the getters below apply the
 * defaults, and nothing else reads the structs directly. */

#include <apr_time.h>

#include "ingest_webhook.h"
#include "mod_ingest.h"

#define INGEST_UNSET_INT            (-1)
#define INGEST_DEFAULT_MAX_BODY     (1024 * 1024)
#define INGEST_DEFAULT_MAX_UPLOAD   ((apr_off_t)1024 * 1024 * 1024)
#define INGEST_DEFAULT_UPLOAD_TTL   3600
#define INGEST_DEFAULT_RETRY_AFTER  5
#define INGEST_DEFAULT_TENANT_CLAIM "org_id"
#define INGEST_DEFAULT_USER_CLAIM   "sub"
#ifndef INGEST_DATADIR
#define INGEST_DATADIR "/usr/local/share/mod_ingest"
#endif
#define INGEST_DEFAULT_MOCK_DATASET INGEST_DATADIR "/mock_jobs.json"

typedef struct {
    const unsigned char *jwt_secret; /* NULL: unset */
    apr_size_t jwt_secret_len;
    const char *jwt_tenant_claim;
    const char *jwt_user_claim;
    int jwt_require_exp;
    apr_interval_time_t jwt_leeway;
    const char *jwt_issuer;   /* NULL: iss is not checked */
    const char *jwt_audience; /* NULL: aud is not checked */
    const char *tenant_env;
    int tenant_env_set;                    /* "IngestTenantEnv none" turns an inherited one off */
    const char *admin_claim, *admin_value; /* IngestJWTAdminClaim; NULL: no admin by token */
    int tenant_env_admin;                  /* IngestTenantEnvAdmin */
    int profile;                           /* IngestAPIProfile (ingest_profile_e) */
    apr_off_t max_body;
    apr_off_t max_upload;
    int upload_ttl;
    int retry_after;
    int tenant_max_active;        /* IngestTenantMaxActiveJobs; 0: off */
    apr_off_t tenant_max_storage; /* IngestTenantMaxStorage; 0: off */
} ingest_dir_conf;

typedef enum {
    INGEST_PROC_NONE = 0, /* no worker: jobs wait for an upload or the pipeline */
    INGEST_PROC_SIMULATE, /* the seeds' mock processing, by due time */
    INGEST_PROC_EXTERNAL, /* hand running jobs to a pipeline that calls back */
    INGEST_PROC_PARSE,    /* read the uploaded file for real */
} ingest_processor_e;

#define INGEST_DEFAULT_WORKER_INTERVAL apr_time_from_msec(200)
#define INGEST_DEFAULT_WORKER_BATCH    100
#define INGEST_DEFAULT_WORKER_THREADS  2
#define INGEST_MAX_WORKER_THREADS      64
#define INGEST_DEFAULT_LEASE_TIME      apr_time_from_sec(30)
#define INGEST_DEFAULT_MAX_ATTEMPTS    3
#define INGEST_DEFAULT_SIM_DELAY_MIN   apr_time_from_sec(5)
#define INGEST_DEFAULT_SIM_DELAY_MAX   apr_time_from_sec(10)
#define INGEST_DEFAULT_SIM_DURATION    apr_time_from_sec(2)
#define INGEST_DEFAULT_SIM_FAILURE     0.1
#define INGEST_DEFAULT_EXT_DEADLINE    apr_time_from_sec(3600)
#define INGEST_DEFAULT_CB_TOLERANCE    apr_time_from_sec(300)
#define INGEST_DEFAULT_BATCH_SIZE      5
#define INGEST_DEFAULT_SIM_SUCCESS     0.9
/* IngestMaxRecordSize may be at most this: the parse of one job holds a
 * small multiple of it. */
#define INGEST_MAX_RECORD_LIMIT ((apr_off_t)64 * 1024 * 1024)
/* IngestS3PartSize: S3's smallest part, the default, and a bound on the
 * memory an upload holds */
#define INGEST_S3_MIN_PART     ((apr_off_t)5 * 1024 * 1024)
#define INGEST_S3_DEFAULT_PART ((apr_size_t)8 * 1024 * 1024)
#define INGEST_S3_MAX_PART     ((apr_off_t)512 * 1024 * 1024)

typedef struct {
    const unsigned char *upload_secret;
    apr_size_t upload_secret_len;
    int upload_secret_generated; /* no IngestUploadSecret: random per start */
    int processor;
    apr_interval_time_t worker_interval;
    int worker_notify; /* IngestWorkerNotify; 1 by default */
    int worker_batch;
    int worker_threads; /* IngestWorkerThreads; 0: steps on the watchdog thread */
    apr_interval_time_t lease_time;
    int max_attempts;
    apr_interval_time_t sim_delay_min, sim_delay_max;
    apr_interval_time_t sim_duration;
    double sim_failure_rate;
    apr_interval_time_t external_deadline;
    int retention_days;
    ingest_webhook_secret_t callback_secrets[INGEST_WEBHOOK_MAX_SECRETS];
    int callback_secret_count;
    apr_interval_time_t callback_tolerance;
    int callback_auth;       /* 1: signature (default), 0: none (demos only) */
    const char *storage_dir; /* IngestStorageDir, or IngestStorage file:DIR */
    const char *storage_s3;  /* IngestStorage s3://bucket/prefix, NULL: a directory (or none) */
    /* IngestS3Endpoint, IngestS3Region, IngestS3Credentials (the file's
     * path), IngestS3Profile, IngestS3PathStyle, IngestS3PartSize */
    const char *s3_endpoint, *s3_region, *s3_credentials, *s3_profile;
    int s3_path_style;
    apr_off_t s3_part_size;
    struct ingest_storage *storage; /* assembled in post_config; NULL: none */
    apr_off_t max_record;
    int batch_size;
    double sim_success_rate;
    const char *mock_dataset;
    const char *tenant_weights; /* IngestTenantWeight: JSON object tenant -> weight; NULL: none */
    int on_bad_record;          /* IngestOnBadRecord: ingest_on_bad_e */
    int max_bad_records;        /* IngestMaxBadRecords; INT_MAX: unlimited */
    /* live updates (IngestEvents*) and notifications (IngestNotify*) */
    int events_max_streams, events_heartbeat, events_history;
    ingest_webhook_secret_t notify_secrets[INGEST_WEBHOOK_MAX_SECRETS];
    int notify_secret_count;
    apr_array_header_t *notify_allow; /* IngestNotifyAllow host patterns (const char *) */
    int notify_max_attempts, notify_backoff, notify_timeout;
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
int ingest_conf_jwt_require_exp(const ingest_dir_conf *c);
apr_interval_time_t ingest_conf_jwt_leeway(const ingest_dir_conf *c);
const char *ingest_conf_jwt_issuer(const ingest_dir_conf *c);   /* NULL: not checked */
const char *ingest_conf_jwt_audience(const ingest_dir_conf *c); /* NULL: not checked */
const char *ingest_conf_tenant_env(const ingest_dir_conf *c);
const char *ingest_conf_admin_claim(const ingest_dir_conf *c); /* NULL: none */
const char *ingest_conf_admin_value(const ingest_dir_conf *c);
int ingest_conf_tenant_env_admin(const ingest_dir_conf *c);
int ingest_conf_profile(const ingest_dir_conf *c); /* ingest_profile_e */
apr_off_t ingest_conf_max_body(const ingest_dir_conf *c);
apr_off_t ingest_conf_max_upload(const ingest_dir_conf *c);
int ingest_conf_upload_ttl(const ingest_dir_conf *c);
int ingest_conf_retry_after(const ingest_dir_conf *c);
int ingest_conf_tenant_max_active(const ingest_dir_conf *c);        /* 0: no quota */
apr_off_t ingest_conf_tenant_max_storage(const ingest_dir_conf *c); /* 0: no quota */

ingest_processor_e ingest_conf_processor(const ingest_srv_conf *c);
const char *ingest_conf_processor_name(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_worker_interval(const ingest_srv_conf *c);
int ingest_conf_worker_notify(const ingest_srv_conf *c);
int ingest_conf_worker_batch(const ingest_srv_conf *c);
/* IngestTenantWeight as a JSON object {"tenant": weight, ...}; "{}" when
 * no tenant has one (every tenant weighs 1) */
const char *ingest_conf_tenant_weights(const ingest_srv_conf *c);
int ingest_conf_worker_threads(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_lease_time(const ingest_srv_conf *c);
int ingest_conf_max_attempts(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_sim_delay_min(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_sim_delay_max(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_sim_duration(const ingest_srv_conf *c);
double ingest_conf_sim_failure_rate(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_external_deadline(const ingest_srv_conf *c);
int ingest_conf_retention_days(const ingest_srv_conf *c);
apr_interval_time_t ingest_conf_callback_tolerance(const ingest_srv_conf *c);
int ingest_conf_callback_auth(const ingest_srv_conf *c);
/* The storage backend (IngestStorage, IngestStorageDir), NULL when none is
 * configured (uploads, records and job metadata refused with 503). */
const struct ingest_storage *ingest_conf_storage(const ingest_srv_conf *c);
apr_size_t ingest_conf_max_record(const ingest_srv_conf *c);
int ingest_conf_batch_size(const ingest_srv_conf *c);
double ingest_conf_sim_success_rate(const ingest_srv_conf *c);
/* What a parse does with a bad record (IngestOnBadRecord, or a job's own
 * "on_bad_record"): fail the job (the default) or step over it. */
typedef enum { INGEST_ON_BAD_FAIL = 0, INGEST_ON_BAD_SKIP = 1 } ingest_on_bad_e;
ingest_on_bad_e ingest_conf_on_bad_record(const ingest_srv_conf *c);
/* IngestMaxBadRecords: -1 for unlimited (the default) */
apr_int64_t ingest_conf_max_bad_records(const ingest_srv_conf *c);
/* IngestEventsMaxStreams: streams one child may hold open; -1 when unset
 * (the child then allows half its ThreadsPerChild) */
int ingest_conf_events_max_streams(const ingest_srv_conf *c);
int ingest_conf_events_heartbeat(const ingest_srv_conf *c); /* seconds, default 15 */
int ingest_conf_events_history(const ingest_srv_conf *c);   /* seconds, default 3600 */
/* IngestNotifySecret: the keys notifications are signed with (0 to 2) */
int ingest_conf_notify_secrets(const ingest_srv_conf *c, const ingest_webhook_secret_t **secrets);
/* IngestNotifyAllow: host patterns (apr_fnmatch, case-insensitive) whose
 * addresses may be private and whose URLs may be http; NULL: none */
const apr_array_header_t *ingest_conf_notify_allow(const ingest_srv_conf *c);
int ingest_conf_notify_max_attempts(const ingest_srv_conf *c); /* default 8 */
int ingest_conf_notify_backoff(const ingest_srv_conf *c); /* seconds before the 2nd attempt, default 10 */
int ingest_conf_notify_timeout(const ingest_srv_conf *c); /* seconds per attempt, default 10 */
#define INGEST_DEFAULT_EVENTS_HEARTBEAT 15
#define INGEST_DEFAULT_EVENTS_HISTORY   3600
#define INGEST_DEFAULT_NOTIFY_ATTEMPTS  8
#define INGEST_DEFAULT_NOTIFY_BACKOFF   10
#define INGEST_DEFAULT_NOTIFY_TIMEOUT   10
/* IngestMockDataset, or where make install puts the bundled one */
const char *ingest_conf_mock_dataset(const ingest_srv_conf *c);

#endif
