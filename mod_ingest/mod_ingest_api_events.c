/* GET /api/ingest/events: the tenant's job events as Server-Sent Events
 * (issue 15). One "job" event per visible change of a job (its status,
 * its progress, its result), its data the job as GET status shows it, its
 * id the event's place in the log (sql/017); ?job_id= narrows to one job
 * and ends after its terminal event. Last-Event-ID (or ?after=) resumes:
 * every event after it, then live; an id the log no longer has (older than
 * IngestEventsHistory) or never had answers a "reload" event, and the
 * stream goes on live from there.
 *
 * The stream holds its request thread; it takes a seat of
 * IngestEventsMaxStreams first (503 over it, so a browser polls instead)
 * and holds no database connection while it waits: live events come from
 * the child's listener (mod_ingest_events.c), and a replay opens a pooled
 * connection for one page at a time. It ends when the client goes (seen
 * within CLIENT_CHECK even while there is nothing to send), when
 * the child stops (a graceful restart: the client reconnects with its
 * Last-Event-ID to another child), or after a job's terminal event. */

#include <apr_strings.h>
#include <http_protocol.h>

#include "ingest_job.h"
#include "ingest_query.h"
#include "ingest_sse.h"
#include "ingest_validate.h"
#include "mod_ingest_api.h"
#include "mod_ingest_config.h"
#include "mod_ingest_events.h"
#include "mod_ingest_http.h"
#include "mod_ingest_store.h"

/* the browser's reconnection delay (EventSource's "retry") */
#define RETRY_MS "3000"
/* how often a stream with nothing to send looks whether its client has
 * gone */
#define CLIENT_CHECK apr_time_from_msec(250)
/* how long a first stream waits for its child's listener to read */
#define LIVE_WAIT apr_time_from_sec(3)

typedef struct {
    request_rec *r;
    const char *tenant, *job_id;
    apr_int64_t cursor;
    int ended; /* the job's terminal event was sent */
} stream_t;

static apr_status_t leave_seat(void *data)
{
    (void)data;
    ingest_events_leave();
    return APR_SUCCESS;
}

static int unavailable(request_rec *r, const char *type, const char *title, const char *detail)
{
    apr_table_setn(r->headers_out, "Retry-After",
                   apr_itoa(r->pool, ingest_conf_retry_after(ingest_dconf(r))));
    return ingest_send_error(r, HTTP_SERVICE_UNAVAILABLE, type, title, detail);
}

/* 0, or -1 when the client has gone */
static int emit(stream_t *st, const char *text)
{
    if (ap_rputs(text, st->r) < 0 || ap_rflush(st->r) < 0 || st->r->connection->aborted) {
        return -1;
    }
    return 0;
}

static int emit_event(stream_t *st, apr_pool_t *p, apr_int64_t id, const char *data, int terminal)
{
    if (emit(st, ingest_sse_event(p, id, "job", data)) < 0) {
        return -1;
    }
    st->cursor = id;
    if (st->job_id && terminal) {
        st->ended = 1;
    }
    return 0;
}

static int emit_reload(stream_t *st, apr_pool_t *p, apr_int64_t horizon, const char *why)
{
    json_t *j = json_pack("{s:s, s:s}", "reason", why, "last_event_id",
                          apr_psprintf(p, "%" APR_INT64_T_FMT, st->cursor));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int rc = text ? emit(st, ingest_sse_event(p, horizon - 1, "reload", text)) : -1;
    free(text);
    json_decref(j);
    st->cursor = horizon - 1;
    return rc;
}

/* A page of the log from the database. APR_SUCCESS with *page, or the
 * database's error. */
static apr_status_t read_page(stream_t *st, apr_pool_t *p, json_t **page)
{
    ap_dbd_t *dbd = ingest_db_open(p, st->r->server);
    apr_status_t rv;
    if (!dbd) {
        return INGEST_EDB_DOWN;
    }
    if ((rv = ingest_db_ready(p, st->r->server, dbd)) == APR_SUCCESS) {
        rv = ingest_store_events_replay(p, st->r->server, dbd, st->tenant, st->job_id, st->cursor, page);
    }
    ingest_db_close(st->r->server, dbd);
    return rv;
}

/* Sends a page read from the database: a reload when the position is not
 * in the log, else its events; 0, or -1 when the client has gone. */
static int send_page(stream_t *st, apr_pool_t *p, json_t *page)
{
    apr_int64_t horizon = json_integer_value(json_object_get(page, "horizon"));
    apr_int64_t pruned = json_integer_value(json_object_get(page, "pruned"));
    json_t *events = json_object_get(page, "events"), *ev;
    size_t i;

    if (st->cursor > 0 && st->cursor < pruned) {
        return emit_reload(st, p, horizon,
                           "the events after this id are no longer kept (IngestEventsHistory)");
    }
    if (st->cursor >= horizon) {
        return emit_reload(st, p, horizon, "this id was not sent by this service");
    }
    json_array_foreach(events, i, ev)
    {
        json_t *job = json_object_get(ev, "job");
        char *data = json_is_object(job) ? json_dumps(job, 0) : NULL;
        char *text = data ? ingest_events_render(data, strlen(data)) : NULL;
        int rc = text ? emit_event(st, p, json_integer_value(json_object_get(ev, "id")), text,
                                   json_is_true(json_object_get(ev, "terminal")))
                      : 0;
        free(data);
        free(text);
        if (rc < 0) {
            return -1;
        }
        if (st->ended) {
            return 0;
        }
    }
    /* a page not full: every final event below the horizon was in it */
    if (json_array_size(events) < INGEST_EVENTS_REPLAY_PAGE && horizon - 1 > st->cursor) {
        st->cursor = horizon - 1;
    }
    return 0;
}

static void stream(stream_t *st, json_t *first)
{
    request_rec *r = st->r;
    apr_interval_time_t heartbeat = apr_time_from_sec(ingest_conf_events_heartbeat(ingest_sconf(r->server)));
    apr_array_header_t *got;
    apr_time_t beat_at;
    apr_pool_t *p;

    r->status = HTTP_OK;
    ap_set_content_type(r, "text/event-stream");
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    /* for nginx-style proxies; mod_proxy needs flushpackets=on */
    apr_table_setn(r->headers_out, "X-Accel-Buffering", "no");
    /* mod_deflate would hold events back to fill its blocks */
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    if (emit(st, "retry: " RETRY_MS "\n: job events\n\n") < 0) {
        return;
    }
    if (first && send_page(st, r->pool, first) < 0) {
        return;
    }
    if (apr_pool_create(&p, r->pool) != APR_SUCCESS) {
        return;
    }
    beat_at = apr_time_now() + heartbeat;
    while (!st->ended) {
        ingest_events_take_e t;
        apr_interval_time_t wait = beat_at - apr_time_now();
        int i;
        apr_pool_clear(p);
        got = apr_array_make(p, 16, sizeof(ingest_event_t));
        if (wait > CLIENT_CHECK) {
            wait = CLIENT_CHECK;
        } else if (wait < 0) {
            wait = 0;
        }
        t = ingest_events_take(p, st->tenant, st->job_id, &st->cursor, wait, got);
        if (t == INGEST_EVENTS_STOPPING) {
            break;
        }
        if (t == INGEST_EVENTS_BEHIND) {
            json_t *page = NULL;
            /* the client resumes where it was when it comes back */
            if (read_page(st, p, &page) != APR_SUCCESS || send_page(st, p, page) < 0) {
                break;
            }
            continue;
        }
        for (i = 0; i < got->nelts && !st->ended; ++i) {
            const ingest_event_t *ev = &APR_ARRAY_IDX(got, i, ingest_event_t);
            if (emit_event(st, p, ev->id, ev->data, ev->terminal) < 0) {
                return;
            }
        }
        if (got->nelts) {
            beat_at = apr_time_now() + heartbeat;
        } else if (apr_time_now() >= beat_at) {
            if (emit(st, ": heartbeat\n\n") < 0) {
                break;
            }
            beat_at = apr_time_now() + heartbeat;
        } else if (ingest_client_gone(r->connection)) {
            break; /* its seat and its thread are free at once */
        }
    }
}

int ingest_api_events(request_rec *r, const ingest_identity_t *id, const char *param)
{
    stream_t st = {r, id->tenant, NULL, 0, 0};
    const char *after, *bad;
    ingest_events_req_t req;
    ingest_verr_t verr;
    int resume;
    apr_table_t *args;
    json_t *first = NULL;
    apr_int64_t head;
    (void)param;

    if (ingest_query_parse(r->pool, r->args, &args, &bad) != APR_SUCCESS) {
        return ingest_send_invalid(r, bad, "is not correctly %-encoded");
    }
    if (ingest_validate_events(r->pool, args, &req, &verr) != APR_SUCCESS) {
        return ingest_send_invalid(r, verr.field, verr.detail);
    }
    st.job_id = req.job_id;
    st.cursor = req.after;
    resume = req.has_after;
    /* EventSource's reconnection: the URL's ?after= is the first
     * connection's, the header the last event seen since */
    if ((after = apr_table_get(r->headers_in, "Last-Event-ID")) && *after) {
        if (ingest_sse_parse_id(after, &st.cursor) != APR_SUCCESS) {
            return ingest_send_invalid(r, "Last-Event-ID", "must be an event id this service sent (digits)");
        }
        resume = 1;
    }
    if (ingest_events_enter(r) != APR_SUCCESS) {
        return unavailable(r, "too-many-streams", "Too many event streams",
                           "this server process has IngestEventsMaxStreams event streams open; "
                           "poll GET /api/ingest/status/{job_id} instead, or retry later");
    }
    apr_pool_cleanup_register(r->pool, NULL, leave_seat, apr_pool_cleanup_null);
    if (ingest_events_live(LIVE_WAIT, &head) != APR_SUCCESS) {
        return unavailable(r, "events-unavailable", "Live events unavailable",
                           "job events cannot be read now (the database cannot be reached); "
                           "poll GET /api/ingest/status/{job_id} instead, or retry later");
    }
    if (st.job_id || resume) {
        /* one job's stream starts with its history; a resumed one with
         * what it missed: a first page from the database, before the
         * answer's status is settled */
        apr_status_t rv = read_page(&st, r->pool, &first);
        if (rv != APR_SUCCESS) {
            return ingest_send_db_error(r, rv);
        }
        if (st.job_id) {
            json_t *job = json_object_get(first, "job"), *events = json_object_get(first, "events");
            ingest_status_e status;
            if (!json_is_object(job)) {
                return ingest_send_not_found(r);
            }
            if (!json_array_size(events)
                && ingest_status_parse(json_string_value(json_object_get(job, "status")), &status)
                       == APR_SUCCESS
                && ingest_status_is_terminal(status)) {
                if (resume) {
                    /* nothing more will come: 204 tells EventSource not
                     * to reconnect */
                    return HTTP_NO_CONTENT;
                }
                /* an ended job whose events are older than the history:
                 * how it ended, as its one event */
                json_array_append_new(
                    events, json_pack("{s:I, s:O, s:b}", "id",
                                      (json_int_t)json_integer_value(json_object_get(first, "horizon")) - 1,
                                      "job", job, "terminal", 1));
            }
        }
    } else {
        st.cursor = head;
    }
    stream(&st, first);
    return OK;
}
