/* Signed notifications when a job ends: the notify_url check shared by the
 * requests and the sender, and the sender itself.
 *
 * Each second, on its own watchdog singleton, the sender
 *  1. opens a pooled connection, claims up to BATCH due deliveries (one
 *     statement: FOR UPDATE SKIP LOCKED, each leased for
 *     IngestNotifyTimeout + LEASE_MARGIN), and closes the connection: no
 *     connection is held while a receiver takes its time;
 *  2. checks every URL again (resolved now, every address public unless
 *     the host is in IngestNotifyAllow) and pins the addresses it checked
 *     (CURLOPT_RESOLVE), so DNS cannot change between check and connect;
 *  3. POSTs them in parallel (curl multi), each bounded by
 *     IngestNotifyTimeout, no redirects, http and https only, no proxy;
 *  4. opens a connection again and records every attempt in one
 *     statement: delivered on a 2xx, else due again after the backoff, or
 *     failed after IngestNotifyMaxAttempts.
 * When the child's exit begins, the sends are abandoned and nothing more
 * is opened: the claimed rows are due again when their lease ends, so a
 * notification is sent at least once, never lost with a child. */

#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <curl/curl.h>
#include <http_protocol.h>
#include <mod_watchdog.h>

#include "ingest_job.h"
#include "ingest_version.h"
#include "ingest_webhook.h"
#include "mod_ingest_db.h"
#include "mod_ingest_deliver.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"
#include "mod_ingest_watchdog.h"

#define BATCH        16
#define LEASE_MARGIN apr_time_from_sec(5)
/* a tick goes on claiming while its batches are full, at most this long */
#define TICK_BUDGET apr_time_from_sec(1)
/* how often the sends look at the child's exit */
#define POLL_MS 100
/* the longest error kept for an attempt */
#define ERROR_MAX 300

typedef struct {
    server_rec *s;
    const ingest_srv_conf *conf;
    volatile apr_uint32_t stopping; /* the child's exit has begun */
    ingest_tick_t tick;             /* a RUNNING call is under way */
    int db_complaint;               /* the database is down: said once */
} sender_t;

static sender_t *the_sender; /* per generation, set in post_config */

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * wd_register_callback;

/* ---- the notify_url check */

apr_status_t ingest_notify_vet(apr_pool_t *p, const ingest_srv_conf *c, const char *url,
                               ingest_notify_target_t *t, const char **why)
{
    struct addrinfo hints, *res = NULL, *ai;
    const char *addrs = NULL;
    char port[8];
    int allowed, gai;

    memset(t, 0, sizeof(*t));
    if (ingest_notify_url_parse(p, url, ingest_conf_notify_allow(c), &t->url, why) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    allowed = ingest_notify_host_allowed(ingest_conf_notify_allow(c), t->url.host);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    apr_snprintf(port, sizeof(port), "%d", t->url.port);
    if ((gai = getaddrinfo(t->url.host, port, &hints, &res)) != 0 || !res) {
        *why = apr_psprintf(p, "the host %s cannot be resolved (%s)", t->url.host, gai_strerror(gai));
        if (res) {
            freeaddrinfo(res);
        }
        return APR_ENOENT;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        const unsigned char *a;
        int family;
        const char *text;
        if (ai->ai_family == AF_INET) {
            a = (const unsigned char *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
            family = 4;
        } else if (ai->ai_family == AF_INET6) {
            a = (const unsigned char *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            family = 6;
        } else {
            continue;
        }
        if (ingest_notify_addr_check(p, &t->url, allowed, family, a, why) != APR_SUCCESS) {
            freeaddrinfo(res);
            return APR_EACCES;
        }
        text = ingest_notify_addr_text(p, family, a);
        if (family == 6) {
            text = apr_pstrcat(p, "[", text, "]", NULL);
        }
        if (!addrs || !strstr(apr_pstrcat(p, ",", addrs, ",", NULL), apr_pstrcat(p, ",", text, ",", NULL))) {
            addrs = addrs ? apr_pstrcat(p, addrs, ",", text, NULL) : text;
        }
    }
    freeaddrinfo(res);
    if (!addrs) {
        *why = apr_psprintf(p, "the host %s has no IPv4 or IPv6 address", t->url.host);
        return APR_ENOENT;
    }
    if (!t->url.ip_literal) {
        t->resolve = apr_psprintf(p, "%s:%d:%s", t->url.host, t->url.port, addrs);
    }
    return APR_SUCCESS;
}

static int refuse(request_rec *r, const char *detail)
{
    ingest_problem_t pb = {0};
    pb.status = HTTP_UNPROCESSABLE_ENTITY;
    pb.type = INGEST_PROBLEM_BASE "invalid-field";
    pb.title = "Invalid request field";
    pb.field = "notify_url";
    pb.detail = apr_pstrcat(r->pool, "notify_url: ", detail, NULL);
    return ingest_send_problem(r, &pb);
}

int ingest_notify_accept(request_rec *r, const char *url)
{
    const ingest_srv_conf *c = ingest_sconf(r->server);
    const ingest_webhook_secret_t *secrets;
    ingest_notify_target_t t;
    const char *why = NULL;

    if (!url) {
        return DECLINED;
    }
    if (ingest_conf_notify_secrets(c, &secrets) < 1) {
        return refuse(r, "this server has no IngestNotifySecret to sign notifications with, so it "
                         "accepts no notify_url");
    }
    if (ingest_notify_vet(r->pool, c, url, &t, &why) != APR_SUCCESS) {
        return refuse(r, why);
    }
    return DECLINED;
}

/* ---- the sender */

typedef struct {
    json_t *row; /* the claim's {delivery_id, url, job, attempts} */
    const char *delivery_id, *webhook_id;
    CURL *h;
    struct curl_slist *headers, *resolve;
    char *body;
    char errbuf[CURL_ERROR_SIZE];
    apr_time_t start;
    int done;
    long http_status;
    const char *error; /* NULL: a 2xx */
    apr_int64_t duration_ms;
} send_t;

static size_t discard(char *ptr, size_t size, size_t n, void *data)
{
    (void)ptr;
    (void)data;
    return size * n;
}

static void send_free(send_t *sd)
{
    if (sd->h) {
        curl_easy_cleanup(sd->h);
        sd->h = NULL;
    }
    curl_slist_free_all(sd->headers);
    curl_slist_free_all(sd->resolve);
    sd->headers = sd->resolve = NULL;
    free(sd->body);
    sd->body = NULL;
}

/* The request of one attempt; APR_SUCCESS, or sd->error says why the
 * attempt ends before it starts (the URL no longer passes the policy). */
static apr_status_t send_prepare(sender_t *sn, apr_pool_t *p, send_t *sd)
{
    const ingest_webhook_secret_t *secrets;
    int n = ingest_conf_notify_secrets(sn->conf, &secrets), i;
    const char *url = json_string_value(json_object_get(sd->row, "url"));
    const char *why = NULL, *ts, *sigs = NULL;
    json_t *job = json_object_get(sd->row, "job");
    ingest_notify_target_t t;
    long timeout_ms = (long)ingest_conf_notify_timeout(sn->conf) * 1000L;

    sd->start = apr_time_now();
    if (ingest_notify_vet(p, sn->conf, url, &t, &why) != APR_SUCCESS) {
        sd->error = apr_pstrcat(p, "refused: ", why, NULL);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sn->s, IGLOGNO(00434) "notification %s to %s not sent: %s",
                     sd->webhook_id, url, why);
        return APR_EACCES;
    }
    /* what GET /api/ingest/status/{id} shows, in the same bytes */
    ingest_job_add_derived(job);
    sd->body = json_dumps(job, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    if (!sd->body || !(sd->h = curl_easy_init())) {
        sd->error = "cannot prepare the request (out of memory)";
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sn->s, IGLOGNO(00434) "notification %s not sent: %s",
                     sd->webhook_id, sd->error);
        return APR_ENOMEM;
    }
    ts = apr_psprintf(p, "%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    for (i = 0; i < n; ++i) {
        const char *sig =
            ingest_webhook_signature(p, &secrets[i], sd->webhook_id, ts, sd->body, strlen(sd->body));
        if (sig) {
            sigs = sigs ? apr_pstrcat(p, sigs, " ", sig, NULL) : sig;
        }
    }
    if (!sigs) {
        sd->error = "cannot sign the notification";
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sn->s, IGLOGNO(00434) "notification %s not sent: %s",
                     sd->webhook_id, sd->error);
        return APR_EGENERAL;
    }
    sd->headers = curl_slist_append(sd->headers, "Content-Type: application/json");
    sd->headers = curl_slist_append(sd->headers, apr_pstrcat(p, "webhook-id: ", sd->webhook_id, NULL));
    sd->headers = curl_slist_append(sd->headers, apr_pstrcat(p, "webhook-timestamp: ", ts, NULL));
    sd->headers = curl_slist_append(sd->headers, apr_pstrcat(p, "webhook-signature: ", sigs, NULL));
    sd->headers = curl_slist_append(sd->headers, "Expect:");
    if (t.resolve) {
        sd->resolve = curl_slist_append(NULL, t.resolve);
        curl_easy_setopt(sd->h, CURLOPT_RESOLVE, sd->resolve);
    }
    curl_easy_setopt(sd->h, CURLOPT_URL, url);
    curl_easy_setopt(sd->h, CURLOPT_HTTPHEADER, sd->headers);
    curl_easy_setopt(sd->h, CURLOPT_POSTFIELDS, sd->body);
    curl_easy_setopt(sd->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(sd->body));
    curl_easy_setopt(sd->h, CURLOPT_USERAGENT, "mod_ingest/" INGEST_VERSION);
    curl_easy_setopt(sd->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sd->h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(sd->h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(sd->h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(sd->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(sd->h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(sd->h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(sd->h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* a proxy would connect where the check did not look */
    curl_easy_setopt(sd->h, CURLOPT_PROXY, "");
    curl_easy_setopt(sd->h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(sd->h, CURLOPT_ERRORBUFFER, sd->errbuf);
    curl_easy_setopt(sd->h, CURLOPT_PRIVATE, sd);
    sd->start = apr_time_now();
    return APR_SUCCESS;
}

static void send_finished(apr_pool_t *p, send_t *sd, CURLcode res)
{
    sd->done = 1;
    sd->duration_ms = (apr_time_now() - sd->start) / 1000;
    if (res != CURLE_OK) {
        const char *e = sd->errbuf[0] ? sd->errbuf : curl_easy_strerror(res);
        sd->error = apr_pstrndup(p, e, ERROR_MAX);
        return;
    }
    curl_easy_getinfo(sd->h, CURLINFO_RESPONSE_CODE, &sd->http_status);
    if (sd->http_status < 200 || sd->http_status > 299) {
        sd->error = apr_psprintf(p, "the receiver answered %ld", sd->http_status);
    }
}

/* Sends the prepared attempts in parallel; 0 when the child's exit cut
 * them short (nothing is to be recorded then). */
static int send_all(sender_t *sn, apr_pool_t *p, send_t *sds, int n)
{
    CURLM *m = curl_multi_init();
    int i, running = 0, added = 0, ok = 1;
    CURLMsg *msg;
    int left;

    if (!m) {
        for (i = 0; i < n; ++i) {
            if (!sds[i].done) {
                sds[i].done = 1;
                sds[i].error = "cannot start the transfers (curl_multi_init)";
            }
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, sn->s,
                     IGLOGNO(00434) "notifications not sent: curl_multi_init failed");
        return 1;
    }
    for (i = 0; i < n; ++i) {
        if (!sds[i].done && sds[i].h && curl_multi_add_handle(m, sds[i].h) == CURLM_OK) {
            ++added;
        } else if (!sds[i].done) {
            sds[i].done = 1;
            sds[i].error = "cannot start the transfer";
        }
    }
    if (added) {
        do {
            if (curl_multi_perform(m, &running) != CURLM_OK) {
                break;
            }
            while ((msg = curl_multi_info_read(m, &left))) {
                send_t *sd = NULL;
                if (msg->msg != CURLMSG_DONE) {
                    continue;
                }
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sd);
                if (sd) {
                    send_finished(p, sd, msg->data.result);
                }
            }
            if (apr_atomic_read32(&sn->stopping)) {
                ok = 0;
                break;
            }
            if (running) {
                curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
            }
        } while (running);
    }
    for (i = 0; i < n; ++i) {
        if (sds[i].h) {
            curl_multi_remove_handle(m, sds[i].h);
        }
        if (!sds[i].done) {
            /* the multi handle failed under it */
            sds[i].done = 1;
            sds[i].error = "the transfer did not complete";
            sds[i].duration_ms = (apr_time_now() - sds[i].start) / 1000;
        }
    }
    curl_multi_cleanup(m);
    return ok;
}

static json_t *attempt_json(const send_t *sd)
{
    json_t *a = json_object();
    json_object_set(a, "delivery_id", json_object_get(sd->row, "delivery_id"));
    json_object_set(a, "attempts", json_object_get(sd->row, "attempts"));
    json_object_set_new(a, "delivered", json_boolean(!sd->error));
    json_object_set_new(a, "http_status", sd->http_status ? json_integer(sd->http_status) : json_null());
    json_object_set_new(a, "error", sd->error ? json_string(sd->error) : json_null());
    json_object_set_new(a, "duration_ms", json_integer(sd->duration_ms));
    return a;
}

/* A pooled connection, ready (schema checked, statements prepared); NULL
 * when the child is exiting or the database cannot be used. */
static ap_dbd_t *open_ready(sender_t *sn, apr_pool_t *p)
{
    ap_dbd_t *dbd;
    if (apr_atomic_read32(&sn->stopping) || !(dbd = ingest_db_open(p, sn->s))) {
        return NULL;
    }
    if (ingest_db_ready(p, sn->s, dbd) != APR_SUCCESS) {
        ingest_db_close(sn->s, dbd);
        return NULL;
    }
    return dbd;
}

/* One batch: claim, send, record. *full: the batch was full (more may be
 * due). */
static void send_batch(sender_t *sn, apr_pool_t *p, int *full)
{
    ap_dbd_t *dbd;
    json_t *claimed = NULL, *outcome = NULL, *attempts;
    apr_interval_time_t lease = apr_time_from_sec(ingest_conf_notify_timeout(sn->conf)) + LEASE_MARGIN;
    send_t *sds;
    apr_status_t rv;
    char *text;
    size_t i, n;

    *full = 0;
    if (!(dbd = open_ready(sn, p))) {
        if (!apr_atomic_read32(&sn->stopping) && !ingest_db_closing() && !sn->db_complaint) {
            sn->db_complaint = 1;
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sn->s,
                         IGLOGNO(00431) "notifications: the database cannot be used; will retry");
        }
        return;
    }
    if (sn->db_complaint) {
        sn->db_complaint = 0;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, sn->s, IGLOGNO(00435) "notifications: the database is back");
    }
    rv = ingest_store_deliveries_claim(p, sn->s, dbd, BATCH, lease, &claimed);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, rv == INGEST_EDB_DOWN ? APLOG_WARNING : APLOG_ERR, rv, sn->s,
                     IGLOGNO(00432) "notifications: cannot claim due deliveries: %s",
                     ingest_db_error(p, dbd));
    }
    /* no connection is held while receivers answer */
    ingest_db_close(sn->s, dbd);
    if (rv != APR_SUCCESS || !(n = json_array_size(claimed))) {
        return;
    }
    *full = n == BATCH;
    sds = apr_pcalloc(p, n * sizeof(*sds));
    for (i = 0; i < n; ++i) {
        sds[i].row = json_array_get(claimed, i);
        sds[i].delivery_id = json_string_value(json_object_get(sds[i].row, "delivery_id"));
        sds[i].webhook_id = apr_pstrcat(p, "msg_", sds[i].delivery_id, NULL);
        if (send_prepare(sn, p, &sds[i]) != APR_SUCCESS) {
            sds[i].done = 1;
            sds[i].duration_ms = (apr_time_now() - sds[i].start) / 1000;
        }
    }
    if (!send_all(sn, p, sds, (int)n)) {
        for (i = 0; i < n; ++i) {
            send_free(&sds[i]);
        }
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, sn->s,
            IGLOGNO(00436) "notifications: the child is stopping; %d delivery(ies) in flight are due "
                           "again when their lease ends",
            (int)n);
        return;
    }
    attempts = ingest_json_pool_own(p, json_array());
    for (i = 0; i < n; ++i) {
        send_t *sd = &sds[i];
        send_free(sd);
        json_array_append_new(attempts, attempt_json(sd));
        if (sd->error) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, sn->s,
                         IGLOGNO(00433) "notification %s to %s: attempt %d failed after %" APR_INT64_T_FMT
                                        " ms: %s",
                         sd->webhook_id, json_string_value(json_object_get(sd->row, "url")),
                         (int)json_integer_value(json_object_get(sd->row, "attempts")) + 1, sd->duration_ms,
                         sd->error);
        }
    }
    if (!(text = json_dumps(attempts, JSON_COMPACT))) {
        return;
    }
    dbd = open_ready(sn, p);
    if (!dbd) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sn->s,
                     IGLOGNO(00437) "notifications: %d attempt(s) made but not recorded (%s); they are due "
                                    "again when their lease ends",
                     (int)n,
                     ingest_db_closing() || apr_atomic_read32(&sn->stopping) ? "the child is stopping"
                                                                             : "the database cannot "
                                                                               "be used");
        free(text);
        return;
    }
    rv = ingest_store_deliveries_record(p, sn->s, dbd, text, ingest_conf_notify_max_attempts(sn->conf),
                                        ingest_conf_notify_backoff(sn->conf), &outcome);
    free(text);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, sn->s,
                     IGLOGNO(00437) "notifications: cannot record %d attempt(s): %s; they are due again when "
                                    "their lease ends",
                     (int)n, ingest_db_error(p, dbd));
    } else {
        json_t *failed = json_object_get(outcome, "failed"), *f;
        json_array_foreach(failed, i, f)
        {
            ap_log_error(
                APLOG_MARK, APLOG_WARNING, 0, sn->s,
                IGLOGNO(00438) "notification msg_%s failed: no attempt succeeded within "
                               "IngestNotifyMaxAttempts (%d); POST .../deliveries/redeliver sends it again",
                json_string_value(f), ingest_conf_notify_max_attempts(sn->conf));
        }
    }
    ingest_db_close(sn->s, dbd);
}

static apr_status_t sender_callback(int state, void *data, apr_pool_t *pool)
{
    sender_t *sn = data;
    apr_pool_t *p;
    apr_time_t start = apr_time_now();
    int full = 1;

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, sn->s,
                     IGLOGNO(00439) "notification sender started in process %ld", (long)getpid());
        break;
    case AP_WATCHDOG_STATE_RUNNING:
        ingest_tick_enter(&sn->tick);
        if (apr_pool_create(&p, pool) == APR_SUCCESS) {
            while (full && !apr_atomic_read32(&sn->stopping) && apr_time_now() - start < TICK_BUDGET) {
                send_batch(sn, p, &full);
                apr_pool_clear(p);
            }
            apr_pool_destroy(p);
        }
        ingest_tick_leave(&sn->tick);
        break;
    case AP_WATCHDOG_STATE_STOPPING: apr_atomic_set32(&sn->stopping, 1); break;
    default: break;
    }
    /* anything but success and mod_watchdog never calls again */
    return APR_SUCCESS;
}

/* A tick still sending would be cut off by the exit without a word
 * (mod_ingest_watchdog.h): the exit waits for it to notice, within
 * POLL_MS while sending, after its statement otherwise, and leave its
 * attempts to their leases (IG00436, or IG00437 when they were answered
 * but can no longer be recorded). */
static apr_status_t sender_child_exit(void *data)
{
    sender_t *sn = data;
    apr_atomic_set32(&sn->stopping, 1);
    ingest_tick_wait(&sn->tick, INGEST_TICK_EXIT_WAIT);
    return APR_SUCCESS;
}

void ingest_deliver_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    if (the_sender) {
        apr_pool_pre_cleanup_register(pchild, the_sender, sender_child_exit);
    }
}

apr_status_t ingest_deliver_post_config(apr_pool_t *pconf, server_rec *s)
{
    const ingest_srv_conf *c = ingest_sconf(s);
    const ingest_webhook_secret_t *secrets;
    ap_watchdog_t *wd;
    sender_t *sn;
    apr_status_t rv;

    the_sender = NULL;
    if (ingest_conf_notify_secrets(c, &secrets) < 1) {
        return APR_SUCCESS;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register_callback = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register_callback) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     IGLOGNO(00430) "IngestNotifySecret: notifications are sent by a mod_watchdog thread, "
                                    "and mod_watchdog is not loaded");
        return APR_ENOTIMPL;
    }
    /* singleton: one sender per httpd server, whichever child holds it */
    if ((rv = wd_get_instance(&wd, "mod_ingest_notify", 0, 1, pconf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     IGLOGNO(00430) "cannot create the notification sender's watchdog");
        return rv;
    }
    sn = apr_pcalloc(pconf, sizeof(*sn));
    sn->s = s;
    sn->conf = c;
    if ((rv = wd_register_callback(wd, apr_time_from_sec(1), sn, sender_callback)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, IGLOGNO(00430) "cannot register the notification sender");
        return rv;
    }
    the_sender = sn;
    return APR_SUCCESS;
}
