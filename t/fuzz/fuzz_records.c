/* fuzz_records: the job metadata files as the worker reads them: the
 * streaming reader of JSON records (ingest_records.c), fed in chunks whose
 * ends the input chooses, under a record size it chooses, and every record
 * it hands over made into the row the worker stores (ingest_jobmeta.c);
 * and the RFC 3339 and date parsers on the raw bytes.
 *
 * Input: byte 0 picks the shape ((byte - '0') modulo 2: '0' JSON, an array
 * of records or {"jobs": [...]}, '1' NDJSON); byte 1 is the size of the
 * chunks after the first ones (0: the rest in one); byte 2 says how many
 * first chunks there are (its low 3 bits), the record size (bits 3-4: the
 * default, 256, 64 or 8 bytes) and whether a last pass has its callback
 * fail, and on which record (bits 5-7: n, on record n - 1; 0: no such
 * pass); the bytes after it give the first chunks' sizes (0..255, 0 being
 * an empty feed). The rest is the file. The raw input and the file, each
 * as a C string (up to its first NUL), also go to ingest_rfc3339_parse
 * and ingest_date_parse.
 *
 * Promises checked (ingest_records.h, ingest_jobmeta.h):
 *  - the result never depends on where the chunks end: fed whole and in
 *    chunks, the same records (compact JSON, or an NDJSON line's reason)
 *    with the same index and line, the same verdict and the same error;
 *  - a record is a JSON value: its strings and keys are UTF-8 (jansson's
 *    strings must be: json_dumps refuses the record otherwise);
 *  - the counting pass (build = 0) hands over as many records, with NULL,
 *    and gives the same verdict and error as the building pass;
 *  - a read that fails has an error (printable ASCII, so UTF-8) unless its
 *    callback failed, when it ends with the callback's status, no error,
 *    and the records before it; a failed read stays failed and hands
 *    nothing more; ingest_records_count is the records handed over; an
 *    NDJSON line that is not JSON says why in printable ASCII;
 *  - every record gives a row (NULL only when out of memory) with its idx
 *    and "ok" true or false, which the worker can write as JSON; a refused
 *    record has a non-empty UTF-8 "error"; an accepted one has its
 *    started_at/ended_at as RFC 3339 text that reads back to the
 *    record's instants and writes back the same, and "days": the UTC days
 *    from started_at's to the one of ended_at's last microsecond, in
 *    order, each a valid "YYYY-MM-DD", each share >= 0, summing (first to
 *    last and last to first) to cost_usd and gpu_hours exactly;
 *  - ingest_rfc3339_parse survives any string, and what it accepts is
 *    written (ingest_rfc3339_format) as a string that it reads back to the
 *    same instant; ingest_date_parse accepts only what
 *    ingest_date_format writes back the same, whose midnight
 *    ingest_rfc3339_parse reads as that day. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "fuzz.h"
#include "ingest_jobmeta.h"
#include "ingest_records.h"
#include "ingest_validate.h"

#define T "records"

#define US_PER_DAY APR_INT64_C(86400000000)

/* What the callback of the last pass returns on its chosen record. */
#define STOP APR_EGENERAL

typedef struct {
    int build, rows;
    apr_int64_t stop_at; /* -1: never */
    apr_pool_t *rows_pool;
    apr_int64_t calls; /* records handed over, the failing one included */
    apr_status_t rv;
    char *error; /* ingest_records_error */
    apr_int64_t count;
    char *seen; /* "idx@line record\n" for each record handed over */
    size_t seen_len, seen_cap;
} outcome_t;

static void say(outcome_t *o, const char *s)
{
    size_t n = strlen(s);

    if (o->seen_len + n + 1 > o->seen_cap) {
        size_t cap = o->seen_cap ? o->seen_cap : 256;
        while (cap < o->seen_len + n + 1) {
            cap *= 2;
        }
        o->seen = realloc(o->seen, cap);
        if (!o->seen) {
            fuzz_fail(T, "out of memory");
        }
        o->seen_cap = cap;
    }
    memcpy(o->seen + o->seen_len, s, n + 1);
    o->seen_len += n;
}

static int printable_ascii(const char *s)
{
    for (; *s; ++s) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E) {
            return 0;
        }
    }
    return 1;
}

static apr_int64_t floor_day(apr_int64_t us)
{
    return us / US_PER_DAY - (us % US_PER_DAY < 0);
}

/* ------------------------------------------------------------ dates */

/* s as ingest_rfc3339_parse and ingest_date_parse see it. */
static void check_times(const char *s)
{
    apr_pool_t *p = fuzz_pool();
    apr_int64_t us, back, day;
    const char *text;

    if (ingest_rfc3339_parse(s, &us) == APR_SUCCESS) {
        text = ingest_rfc3339_format(p, us);
        if (!text || ingest_rfc3339_parse(text, &back) != APR_SUCCESS || back != us) {
            fuzz_fail(T, "\"%s\" reads as %" APR_INT64_T_FMT " us, written \"%s\", which %s", s, us,
                      text ? text : "(null)",
                      text && ingest_rfc3339_parse(text, &back) == APR_SUCCESS
                          ? apr_psprintf(p, "reads back as %" APR_INT64_T_FMT, back)
                          : "does not read back");
        }
        /* the day of the instant, as the cost per day writes it */
        text = ingest_date_format(p, floor_day(us));
        if (ingest_date_parse(text, &day) != APR_SUCCESS || day != floor_day(us)) {
            fuzz_fail(T,
                      "\"%s\" (%" APR_INT64_T_FMT " us) is on day %" APR_INT64_T_FMT
                      ", written \"%s\", which does not read back",
                      s, us, floor_day(us), text);
        }
    }
    if (ingest_date_parse(s, &day) == APR_SUCCESS) {
        text = ingest_date_format(p, day);
        if (strcmp(text, s)) {
            fuzz_fail(T, "the date \"%s\" (day %" APR_INT64_T_FMT ") is written \"%s\"", s, day, text);
        }
        text = apr_pstrcat(p, s, "T00:00:00Z", NULL);
        if (ingest_rfc3339_parse(text, &us) != APR_SUCCESS || us != day * US_PER_DAY) {
            fuzz_fail(T, "the date \"%s\" is day %" APR_INT64_T_FMT ", but \"%s\" is not its midnight", s,
                      day, text);
        }
    }
    apr_pool_destroy(p);
}

/* ------------------------------------------------------------ rows */

static apr_int64_t instant(json_t *rec, const char *name, const char *what)
{
    json_t *v = json_object_get(rec, name);
    apr_int64_t us;

    if (!json_is_string(v) || ingest_rfc3339_parse(json_string_value(v), &us) != APR_SUCCESS) {
        fuzz_fail(T, "the %s's %s \"%s\" does not read as an RFC 3339 date-time", what, name,
                  json_is_string(v) ? json_string_value(v) : "(not a string)");
    }
    return us;
}

/* The row's own text for name reads back to the record's instant, and is
 * written back the same. */
static apr_int64_t same_instant(apr_pool_t *p, json_t *row, json_t *rec, const char *name)
{
    apr_int64_t us = instant(row, name, "row"), want = instant(rec, name, "record");
    const char *text = json_string_value(json_object_get(row, name));

    if (us != want || strcmp(ingest_rfc3339_format(p, us), text)) {
        fuzz_fail(T,
                  "the record's %s \"%s\" (%" APR_INT64_T_FMT
                  " us) is in the row as \"%s\" (%" APR_INT64_T_FMT " us), written back \"%s\"",
                  name, json_string_value(json_object_get(rec, name)), want, text, us,
                  ingest_rfc3339_format(p, us));
    }
    return us;
}

static void check_accepted(apr_pool_t *p, json_t *row, json_t *rec)
{
    json_t *days = json_object_get(row, "days"), *day, *gpu_row = json_object_get(row, "gpu_hours");
    apr_int64_t started, ended = 0, first, last, d;
    double cost = json_number_value(json_object_get(row, "cost_usd")), gpu, c, g;
    double sum_cost = 0, sum_gpu = 0, back_cost = 0, back_gpu = 0;
    const char *text;
    size_t i, n;

    FUZZ_CHECK(T, json_is_real(json_object_get(row, "cost_usd")));
    FUZZ_CHECK(T, cost >= 0 && cost == json_number_value(json_object_get(rec, "cost_usd")));
    FUZZ_CHECK(T, json_is_null(gpu_row) || json_is_real(gpu_row));
    gpu = json_is_real(gpu_row) ? json_real_value(gpu_row) : 0;
    FUZZ_CHECK(T, gpu >= 0);
    FUZZ_CHECK(T, json_is_null(gpu_row) || gpu == json_number_value(json_object_get(rec, "gpu_hours")));
    FUZZ_CHECK(T, json_is_string(json_object_get(row, "job_id")));
    FUZZ_CHECK(T, json_equal(json_object_get(row, "job_id"), json_object_get(rec, "job_id")));

    started = same_instant(p, row, rec, "started_at");
    first = last = floor_day(started);
    if (!json_is_null(json_object_get(row, "ended_at"))) {
        ended = same_instant(p, row, rec, "ended_at");
        FUZZ_CHECK(T, ended >= started);
        FUZZ_CHECK(T, ended - started <= INGEST_JOBMETA_SPAN_MAX * US_PER_DAY);
        if (ended > started) {
            last = floor_day(ended - 1);
        }
    }

    FUZZ_CHECK(T, json_is_array(days) && json_array_size(days) > 0);
    n = json_array_size(days);
    if ((apr_int64_t)n != last - first + 1) {
        fuzz_fail(T, "%zu days from %s to %s", n, json_string_value(json_object_get(row, "started_at")),
                  json_string_value(json_object_get(row, "ended_at")));
    }
    json_array_foreach(days, i, day)
    {
        text = json_string_value(json_object_get(day, "day"));
        if (!text || ingest_date_parse(text, &d) != APR_SUCCESS || d != first + (apr_int64_t)i) {
            fuzz_fail(T, "day %zu of a job started at %s is \"%s\", not day %" APR_INT64_T_FMT, i,
                      json_string_value(json_object_get(row, "started_at")), text ? text : "(none)",
                      first + (apr_int64_t)i);
        }
        FUZZ_CHECK(T, json_is_real(json_object_get(day, "cost_usd")));
        FUZZ_CHECK(T, json_is_real(json_object_get(day, "gpu_hours")));
        c = json_real_value(json_object_get(day, "cost_usd"));
        g = json_real_value(json_object_get(day, "gpu_hours"));
        FUZZ_CHECK(T, c >= 0 && g >= 0);
        FUZZ_CHECK(T, !json_is_null(gpu_row) || g == 0);
        sum_cost += c;
        sum_gpu += g;
    }
    for (i = n; i-- > 0;) {
        back_cost += json_real_value(json_object_get(json_array_get(days, i), "cost_usd"));
        back_gpu += json_real_value(json_object_get(json_array_get(days, i), "gpu_hours"));
    }
    if (sum_cost != cost || back_cost != cost || sum_gpu != gpu || back_gpu != gpu) {
        fuzz_fail(T,
                  "the days sum to cost %.17g (%.17g backwards) for %.17g, gpu_hours %.17g (%.17g) for %.17g",
                  sum_cost, back_cost, cost, sum_gpu, back_gpu, gpu);
    }
}

/* Record idx as the worker makes it a row. */
static void check_row(apr_pool_t *p, apr_int64_t idx, json_t *rec)
{
    json_t *row = ingest_jobmeta_row(p, (apr_size_t)idx, rec), *ok, *err, *back;
    ingest_jobmeta_t m;
    ingest_verr_t verr = {NULL, NULL};
    json_error_t jerr;
    char *text, *r;

    if (!row) {
        r = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
        fuzz_fail(T, "no row for record %" APR_INT64_T_FMT ": %s", idx, r ? r : "(not dumpable)");
    }
    FUZZ_CHECK(T, json_is_integer(json_object_get(row, "idx"))
                      && json_integer_value(json_object_get(row, "idx")) == idx);
    ok = json_object_get(row, "ok");
    FUZZ_CHECK(T, json_is_boolean(ok));
    FUZZ_CHECK(T, json_is_string(json_object_get(row, "job_id"))
                      || json_is_null(json_object_get(row, "job_id")));
    /* the row says what ingest_jobmeta_parse says */
    FUZZ_CHECK(T, (ingest_jobmeta_parse(p, rec, &m, &verr) == APR_SUCCESS) == json_is_true(ok));
    if (json_is_true(ok)) {
        check_accepted(p, row, rec);
    } else {
        err = json_object_get(row, "error");
        FUZZ_CHECK(T, json_is_string(err) && json_string_length(err) > 0);
        FUZZ_CHECK(T, ingest_utf8_valid(json_string_value(err), json_string_length(err)));
    }
    /* the worker sends the rows to the database as JSON text */
    text = json_dumps(row, JSON_COMPACT);
    FUZZ_CHECK(T, text != NULL);
    back = json_loads(text, 0, &jerr);
    if (!back || !json_equal(back, row)) {
        fuzz_fail(T, "the row does not read back (%s): %s", back ? "not equal" : jerr.text, text);
    }
    json_decref(back);
    free(text);
    json_decref(row);
}

/* ------------------------------------------------------------ reading */

/* The bytes of s as C escapes, for a message. */
static const char *escaped(apr_pool_t *p, const char *s, size_t len)
{
    char *out = apr_palloc(p, 4 * len + 1), *o = out;
    size_t i;

    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7E || c == '\\') {
            o += sprintf(o, "\\x%02X", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

/* A string or key of a record that is not UTF-8, or NULL: a record is a
 * JSON value, and jansson's strings are UTF-8 (json_dumps refuses them
 * otherwise, and writes keys as they are). */
static const char *not_utf8(apr_pool_t *p, json_t *v)
{
    const char *key, *bad;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        if (!ingest_utf8_valid(json_string_value(v), json_string_length(v))) {
            return apr_pstrcat(p, "the string \"", escaped(p, json_string_value(v), json_string_length(v)),
                               "\"", NULL);
        }
        break;
    case JSON_OBJECT:
        json_object_foreach(v, key, item)
        {
            /* keys may hold NUL (\u0000): a key is its C string here */
            if (!ingest_utf8_valid(key, strlen(key))) {
                return apr_pstrcat(p, "the key \"", escaped(p, key, strlen(key)), "\"", NULL);
            }
            if ((bad = not_utf8(p, item)) != NULL) {
                return bad;
            }
        }
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            if ((bad = not_utf8(p, item)) != NULL) {
                return bad;
            }
        }
        break;
    default: break;
    }
    return NULL;
}

static apr_status_t collect(void *ctx, apr_int64_t idx, apr_int64_t line, json_t *rec, const char *bad)
{
    outcome_t *o = ctx;
    char head[64], *text;
    const char *why;

    FUZZ_CHECK(T, idx == o->calls);
    FUZZ_CHECK(T, line >= 1);
    if (o->build) {
        FUZZ_CHECK(T, (rec != NULL) != (bad != NULL));
    } else {
        FUZZ_CHECK(T, rec == NULL && bad == NULL);
    }
    o->calls++;
    if (idx == o->stop_at) {
        return STOP;
    }
    snprintf(head, sizeof(head), "%" APR_INT64_T_FMT "@%" APR_INT64_T_FMT " ", idx, line);
    say(o, head);
    if (bad) {
        if (!*bad || !printable_ascii(bad)) {
            fuzz_fail(T, "record %" APR_INT64_T_FMT " is refused with \"%s\", not printable ASCII", idx, bad);
        }
        say(o, "! ");
        say(o, bad);
    } else if (rec) {
        if ((why = not_utf8(o->rows_pool, rec)) != NULL) {
            fuzz_fail(T, "record %" APR_INT64_T_FMT " (line %" APR_INT64_T_FMT ") holds %s, not UTF-8", idx,
                      line, why);
        }
        text = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
        FUZZ_CHECK(T, text != NULL);
        say(o, text);
        free(text);
        if (o->rows) {
            check_row(o->rows_pool, idx, rec);
            apr_pool_clear(o->rows_pool);
        }
    } else {
        say(o, "-");
    }
    say(o, "\n");
    return APR_SUCCESS;
}

/* Each chunk from an allocation of exactly its size, so that ASan sees the
 * reader reading past the chunk it was given. */
static apr_status_t feed_copy(ingest_records_t *rr, const uint8_t *s, size_t n)
{
    char *copy = fuzz_exact_copy(T, s, n);
    apr_status_t rv = ingest_records_feed(rr, copy, n);

    free(copy);
    return rv;
}

/* Feeds nsizes chunks of the given sizes, then the rest in chunks of step
 * bytes (0: at once), and finishes. */
static void run(int ndjson, apr_size_t record_bytes, int build, int rows, apr_int64_t stop_at,
                const uint8_t *file, size_t len, const uint8_t *sizes, size_t nsizes, size_t step,
                outcome_t *o)
{
    apr_pool_t *p = fuzz_pool();
    ingest_records_t *rr = NULL;
    apr_status_t rv = APR_SUCCESS;
    size_t off = 0, n, i = 0;
    const char *e;

    memset(o, 0, sizeof(*o));
    o->build = build;
    o->rows = rows;
    o->stop_at = stop_at;
    say(o, "");
    if (apr_pool_create(&o->rows_pool, p) != APR_SUCCESS) {
        fuzz_fail(T, "apr_pool_create failed");
    }
    if (ingest_records_create(p, ndjson, "jobs", record_bytes, build, collect, o, &rr) != APR_SUCCESS
        || !rr) {
        fuzz_fail(T, "ingest_records_create failed");
    }
    while (rv == APR_SUCCESS && (i < nsizes || off < len)) {
        n = i < nsizes ? sizes[i++] : step ? step : len - off;
        if (n > len - off) {
            n = len - off;
        }
        rv = feed_copy(rr, file + off, n);
        off += n;
    }
    if (rv == APR_SUCCESS) {
        rv = ingest_records_finish(rr);
    }
    o->rv = rv;
    e = ingest_records_error(rr);
    o->error = e ? strdup(e) : NULL;
    o->count = ingest_records_count(rr);
    FUZZ_CHECK(T, o->count == o->calls);
    if (rv == APR_SUCCESS) {
        FUZZ_CHECK(T, e == NULL);
        FUZZ_CHECK(T, stop_at < 0 || o->calls <= stop_at);
    } else if (stop_at >= 0 && o->calls == stop_at + 1) {
        /* the callback's failure, as it is */
        FUZZ_CHECK(T, rv == STOP && e == NULL);
    } else {
        FUZZ_CHECK(T, rv == APR_EINVAL && e != NULL && *e != '\0');
        if (!printable_ascii(e) || !ingest_utf8_valid(e, strlen(e))) {
            fuzz_fail(T, "the error is not printable ASCII: \"%s\"", e);
        }
    }
    if (rv != APR_SUCCESS) {
        /* every later call fails the same way and hands nothing over */
        FUZZ_CHECK(T, ingest_records_feed(rr, "[1]\n", 4) == rv);
        FUZZ_CHECK(T, ingest_records_finish(rr) == rv);
        FUZZ_CHECK(T, ingest_records_count(rr) == o->count);
        e = ingest_records_error(rr);
        FUZZ_CHECK(T, !e == !o->error && (!e || !strcmp(e, o->error)));
    }
    apr_pool_destroy(p);
}

static void release(outcome_t *o)
{
    free(o->error);
    free(o->seen);
}

static void fail_differ(const char *what, const outcome_t *got, const outcome_t *want)
{
    fuzz_fail(T,
              "%s: status %d, error \"%s\", %" APR_INT64_T_FMT " records:\n%s"
              "-- whole and building: status %d, error \"%s\", %" APR_INT64_T_FMT " records:\n%s",
              what, got->rv, got->error ? got->error : "(none)", got->count, got->seen, want->rv,
              want->error ? want->error : "(none)", want->count, want->seen);
}

static int same_verdict(const outcome_t *a, const outcome_t *b)
{
    return a->rv == b->rv && a->count == b->count && !a->error == !b->error
           && (!a->error || !strcmp(a->error, b->error));
}

/* The first n lines of s. */
static size_t lines_len(const char *s, apr_int64_t n)
{
    const char *c = s;

    while (n-- > 0 && (c = strchr(c, '\n')) != NULL) {
        ++c;
    }
    return c ? (size_t)(c - s) : strlen(s);
}

static const apr_size_t RECORD_BYTES[] = {0, 256, 64, 8};

int fuzz_records(const uint8_t *data, size_t size)
{
    fuzz_field_t raw, file;
    outcome_t whole, chunked, counted, stopped;
    apr_size_t record_bytes;
    size_t step, nsizes, hdr, len;
    apr_int64_t stop_at;
    int ndjson;

    fuzz_split(data, size, &raw, 1);
    check_times(raw.s);
    fuzz_split_free(&raw, 1);
    if (size < 3) {
        return 0;
    }
    ndjson = (uint8_t)(data[0] - '0') % 2;
    step = data[1];
    nsizes = data[2] & 7;
    record_bytes = RECORD_BYTES[(data[2] >> 3) & 3];
    stop_at = (apr_int64_t)(data[2] >> 5) - 1;
    hdr = 3 + nsizes;
    if (size < hdr) {
        return 0;
    }
    len = size - hdr;
    fuzz_split(data + hdr, len, &file, 1);
    check_times(file.s);
    fuzz_split_free(&file, 1);

    run(ndjson, record_bytes, 1, 1, -1, data + hdr, len, NULL, 0, 0, &whole);
    run(ndjson, record_bytes, 1, 0, -1, data + hdr, len, data + 3, nsizes, step, &chunked);
    if (!same_verdict(&chunked, &whole) || strcmp(chunked.seen, whole.seen)) {
        fail_differ("the chunks changed the result", &chunked, &whole);
    }
    run(ndjson, record_bytes, 0, 0, -1, data + hdr, len, data + 3, nsizes, step, &counted);
    if (!same_verdict(&counted, &whole)) {
        fail_differ("the counting pass differs", &counted, &whole);
    }
    if (stop_at >= 0) {
        run(ndjson, record_bytes, 1, 0, stop_at, data + hdr, len, data + 3, nsizes, step, &stopped);
        if (whole.count > stop_at) {
            /* the records before the failing one, then nothing */
            if (stopped.rv != STOP || stopped.count != stop_at + 1
                || stopped.seen_len != lines_len(whole.seen, stop_at)
                || strncmp(stopped.seen, whole.seen, stopped.seen_len)) {
                fail_differ("the callback failed on a record", &stopped, &whole);
            }
        } else if (!same_verdict(&stopped, &whole) || strcmp(stopped.seen, whole.seen)) {
            fail_differ("a callback failing past the last record changed the result", &stopped, &whole);
        }
        release(&stopped);
    }
    release(&whole);
    release(&chunked);
    release(&counted);
    return 0;
}
