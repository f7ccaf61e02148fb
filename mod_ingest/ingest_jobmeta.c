#include <math.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_jobmeta.h"

#define US_PER_SEC  1000000LL
#define SEC_PER_DAY 86400LL
#define US_PER_DAY  (SEC_PER_DAY * US_PER_SEC)

static const char *const STATUSES[] = {"queued", "running", "completed", "failed", "cancelled", NULL};

#define DETAIL_STATUS  "must be one of queued, running, completed, failed, cancelled"
#define DETAIL_TIME    "must be an RFC 3339 date-time with a UTC offset, e.g. 2026-01-03T22:00:00Z"
#define DETAIL_NUMBER  "must be a number >= 0"
#define DETAIL_BEFORE  "must not be before started_at"
#define DETAIL_NOT_OBJ "the record must be a JSON object"

/* ------------------------------------------------------------------ calendar */

/* a / b rounded towards minus infinity, b > 0 */
static apr_int64_t floor_div(apr_int64_t a, apr_int64_t b)
{
    return a / b - (a % b < 0);
}

static int is_leap(apr_int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(apr_int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (Howard
 * Hinnant's days_from_civil: eras of 400 years, years starting in March). */
static apr_int64_t days_from_civil(apr_int64_t y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Its inverse. */
static void civil_from_days(apr_int64_t z, apr_int64_t *y, int *m, int *d)
{
    apr_int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Exactly n ASCII digits at s (stops at the first non-digit, NUL included). */
static int digits(const char *s, int n, int *out)
{
    int i, v = 0;
    for (i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* "YYYY-MM-DD" at the start of s, years 0001..9999, calendar-valid. */
static int date_prefix(const char *s, apr_int64_t *day)
{
    int y, m, d;

    if (!(digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &m) && s[7] == '-' && digits(s + 8, 2, &d))) {
        return 0;
    }
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        return 0;
    }
    *day = days_from_civil(y, m, d);
    return 1;
}

apr_status_t ingest_date_parse(const char *s, apr_int64_t *day)
{
    apr_int64_t v;

    if (!s || !date_prefix(s, &v) || s[10] != '\0') {
        return APR_EINVAL;
    }
    *day = v;
    return APR_SUCCESS;
}

apr_status_t ingest_rfc3339_parse(const char *s, apr_int64_t *us)
{
    apr_int64_t day, frac = 0, secs, offset = 0;
    int h, mi, sec, oh, om, n = 0;

    if (!s || !date_prefix(s, &day)) {
        return APR_EINVAL;
    }
    s += 10;
    if (*s != 'T' && *s != 't' && *s != ' ') {
        return APR_EINVAL;
    }
    ++s;
    if (!(digits(s, 2, &h) && s[2] == ':' && digits(s + 3, 2, &mi) && s[5] == ':'
          && digits(s + 6, 2, &sec))) {
        return APR_EINVAL;
    }
    /* a leap second (60) is refused: it has no microsecond of its own */
    if (h > 23 || mi > 59 || sec > 59) {
        return APR_EINVAL;
    }
    s += 8;
    if (*s == '.') {
        for (++s; *s >= '0' && *s <= '9'; ++s, ++n) {
            if (n == 9) {
                return APR_EINVAL;
            }
            /* truncated to the microsecond */
            if (n < 6) {
                frac = frac * 10 + (*s - '0');
            }
        }
        if (n == 0) {
            return APR_EINVAL;
        }
        for (; n < 6; ++n) {
            frac *= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        ++s;
    } else if (*s == '+' || *s == '-') {
        if (!(digits(s + 1, 2, &oh) && s[3] == ':' && digits(s + 4, 2, &om)) || oh > 23 || om > 59) {
            return APR_EINVAL;
        }
        /* local time = UTC + offset */
        offset = (*s == '+' ? 1 : -1) * (oh * 3600LL + om * 60LL);
        s += 6;
    } else {
        return APR_EINVAL;
    }
    if (*s != '\0') {
        return APR_EINVAL;
    }
    secs = day * SEC_PER_DAY + h * 3600LL + mi * 60LL + sec - offset;
    /* the offset may move a time at the edge of the years out of them: in
     * UTC too it must be 0001..9999, which the formatter writes back */
    if (secs < days_from_civil(1, 1, 1) * SEC_PER_DAY || secs >= days_from_civil(10000, 1, 1) * SEC_PER_DAY) {
        return APR_EINVAL;
    }
    *us = secs * US_PER_SEC + frac;
    return APR_SUCCESS;
}

const char *ingest_date_format(apr_pool_t *p, apr_int64_t day)
{
    apr_int64_t y;
    int m, d;

    civil_from_days(day, &y, &m, &d);
    return apr_psprintf(p, "%04" APR_INT64_T_FMT "-%02d-%02d", y, m, d);
}

const char *ingest_rfc3339_format(apr_pool_t *p, apr_int64_t us)
{
    apr_int64_t day = floor_div(us, US_PER_DAY), rest = us - day * US_PER_DAY, y;
    apr_int64_t secs = rest / US_PER_SEC;
    int m, d;

    civil_from_days(day, &y, &m, &d);
    return apr_psprintf(p, "%04" APR_INT64_T_FMT "-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
                        (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                        (int)(rest % US_PER_SEC));
}

/* ------------------------------------------------------------------ the record */

/* A present string value: 1..max bytes of UTF-8 without control characters. */
static apr_status_t check_string(apr_pool_t *p, json_t *v, const char *name, apr_size_t max, const char **out,
                                 ingest_verr_t *err)
{
    const char *s;
    apr_size_t len;

    if (!json_is_string(v) || (len = json_string_length(v)) == 0 || len > max) {
        return ingest_verr(err, name,
                           apr_psprintf(p, "must be a string of 1 to %" APR_SIZE_T_FMT " bytes", max));
    }
    s = json_string_value(v);
    if (!ingest_utf8_valid(s, len)) {
        return ingest_verr(err, name, "must be valid UTF-8");
    }
    /* NUL included: the C string must be the whole value */
    if (ingest_has_control(s, len)) {
        return ingest_verr(err, name, "must not contain control characters");
    }
    *out = apr_pstrmemdup(p, s, len);
    return APR_SUCCESS;
}

/* The member, or NULL when it is absent or null. */
static json_t *member(json_t *rec, const char *name)
{
    json_t *v = json_object_get(rec, name);
    return v && !json_is_null(v) ? v : NULL;
}

static apr_status_t required_string(apr_pool_t *p, json_t *rec, const char *name, apr_size_t max,
                                    const char **out, ingest_verr_t *err)
{
    json_t *v = member(rec, name);

    if (!v) {
        return ingest_verr(err, name, "is required");
    }
    return check_string(p, v, name, max, out, err);
}

static apr_status_t time_value(json_t *v, const char *name, apr_int64_t *us, ingest_verr_t *err)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)
        || ingest_rfc3339_parse(json_string_value(v), us) != APR_SUCCESS) {
        return ingest_verr(err, name, DETAIL_TIME);
    }
    return APR_SUCCESS;
}

static apr_status_t number_value(json_t *v, const char *name, double *out, ingest_verr_t *err)
{
    double d;

    if (!json_is_number(v)) {
        return ingest_verr(err, name, DETAIL_NUMBER);
    }
    d = json_number_value(v);
    if (!isfinite(d) || d < 0) {
        return ingest_verr(err, name, DETAIL_NUMBER);
    }
    /* -0.0 is 0 and is written so */
    *out = d == 0 ? 0.0 : d;
    return APR_SUCCESS;
}

apr_status_t ingest_jobmeta_parse(apr_pool_t *p, json_t *rec, ingest_jobmeta_t *out, ingest_verr_t *err)
{
    apr_status_t rv;
    json_t *v;
    int i;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(rec)) {
        return ingest_verr(err, NULL, DETAIL_NOT_OBJ);
    }
    if ((rv = required_string(p, rec, "job_id", INGEST_JOBMETA_ID_MAX, &out->job_id, err)) != APR_SUCCESS
        || (rv = required_string(p, rec, "team", INGEST_JOBMETA_ID_MAX, &out->team, err)) != APR_SUCCESS
        || (rv = required_string(p, rec, "model_name", INGEST_JOBMETA_MODEL_MAX, &out->model_name, err))
               != APR_SUCCESS
        || (rv = required_string(p, rec, "gpu_type", INGEST_JOBMETA_ID_MAX, &out->gpu_type, err))
               != APR_SUCCESS
        || (rv = required_string(p, rec, "provider", INGEST_JOBMETA_ID_MAX, &out->provider, err))
               != APR_SUCCESS) {
        goto fail;
    }

    if ((v = member(rec, "status")) != NULL) {
        if (json_is_string(v)) {
            for (i = 0; STATUSES[i]; ++i) {
                /* strcmp would take "completed\u0000x" for "completed" */
                if (json_string_length(v) == strlen(STATUSES[i])
                    && !strcmp(json_string_value(v), STATUSES[i])) {
                    out->status = STATUSES[i];
                    break;
                }
            }
        }
        if (!out->status) {
            rv = ingest_verr(err, "status", DETAIL_STATUS);
            goto fail;
        }
    }

    if ((v = member(rec, "started_at")) == NULL) {
        rv = ingest_verr(err, "started_at", "is required");
        goto fail;
    }
    if ((rv = time_value(v, "started_at", &out->started_us, err)) != APR_SUCCESS) {
        goto fail;
    }

    if ((v = member(rec, "ended_at")) != NULL) {
        if ((rv = time_value(v, "ended_at", &out->ended_us, err)) != APR_SUCCESS) {
            goto fail;
        }
        if (out->ended_us < out->started_us) {
            rv = ingest_verr(err, "ended_at", DETAIL_BEFORE);
            goto fail;
        }
        if (out->ended_us - out->started_us > INGEST_JOBMETA_SPAN_MAX * US_PER_DAY) {
            rv = ingest_verr(
                err, "ended_at",
                apr_psprintf(p, "must be at most %d days after started_at", INGEST_JOBMETA_SPAN_MAX));
            goto fail;
        }
        out->has_ended = 1;
    }

    if ((v = member(rec, "gpu_hours")) != NULL) {
        if ((rv = number_value(v, "gpu_hours", &out->gpu_hours, err)) != APR_SUCCESS) {
            goto fail;
        }
        out->has_gpu_hours = 1;
    }

    if ((v = member(rec, "cost_usd")) == NULL) {
        rv = ingest_verr(err, "cost_usd", "is required");
        goto fail;
    }
    if ((rv = number_value(v, "cost_usd", &out->cost_usd, err)) != APR_SUCCESS) {
        goto fail;
    }
    return APR_SUCCESS;

fail:
    /* nothing half-filled for a caller that looks anyway */
    memset(out, 0, sizeof(*out));
    return rv;
}

/* ------------------------------------------------------------------ cost per day */

/* The spacing of the doubles at x (finite, >= 0), its unit in the last
 * place: 2^(e - 52) for a normal x of exponent e, 2^-1074 below. Without
 * libm: the module links none. */
static double ulp_of(double x)
{
    apr_uint64_t bits, e;
    double u;

    memcpy(&bits, &x, sizeof(bits));
    e = (bits >> 52) & 0x7FF;
    if (e > 52) {
        bits = (e - 52) << 52;
    } else if (e >= 1) {
        bits = (apr_uint64_t)1 << (e - 1);
    } else {
        bits = 1;
    }
    memcpy(&u, &bits, sizeof(u));
    return u;
}

/* total * r (0 <= r <= 1) cut down to a multiple of q = ulp_of(total). Such
 * multiples up to total are exact doubles, and so are their sums and
 * differences as long as they stay in [0, total]. */
static double share(double total, double r, double q)
{
    /* <= total / q < 2^53, and dividing by a power of two is exact */
    double k = total * r / q;
    return (double)(apr_int64_t)k * q;
}

apr_array_header_t *ingest_jobmeta_days(apr_pool_t *p, const ingest_jobmeta_t *m)
{
    double gpu = m->has_gpu_hours ? m->gpu_hours : 0.0;
    double q_cost = ulp_of(m->cost_usd), q_gpu = ulp_of(gpu);
    double cum_cost = 0, cum_gpu = 0, r, c, g;
    apr_int64_t first, last, total, d;
    apr_array_header_t *days;
    ingest_jobmeta_day_t *day;

    first = floor_div(m->started_us, US_PER_DAY);
    if (!m->has_ended || m->ended_us <= m->started_us) {
        days = apr_array_make(p, 1, sizeof(ingest_jobmeta_day_t));
        day = apr_array_push(days);
        day->day = first;
        day->cost_usd = m->cost_usd;
        day->gpu_hours = gpu;
        return days;
    }
    /* [started, ended): the microsecond before ended is the last one */
    last = floor_div(m->ended_us - 1, US_PER_DAY);
    total = m->ended_us - m->started_us;
    days = apr_array_make(p, (int)(last - first + 1), sizeof(ingest_jobmeta_day_t));
    for (d = first; d < last; ++d) {
        /* Each day is the growth of the share of the time up to its end
         * rather than a product of its own: the cumulative shares never
         * decrease, so no day is negative; they are multiples of the total's
         * last place, so every day, and every sum of days in any order, is
         * exact, and the last day's remainder makes the total. A day is at
         * most one unit in the last place of the total off its proportion.
         * The microseconds are exact in a double (< 2^53). */
        r = (double)((d + 1) * US_PER_DAY - m->started_us) / (double)total;
        c = share(m->cost_usd, r, q_cost);
        g = share(gpu, r, q_gpu);
        day = apr_array_push(days);
        day->day = d;
        day->cost_usd = c - cum_cost;
        day->gpu_hours = g - cum_gpu;
        cum_cost = c;
        cum_gpu = g;
    }
    /* the remainder: cum_cost is exactly the sum of the days before */
    day = apr_array_push(days);
    day->day = last;
    day->cost_usd = m->cost_usd - cum_cost;
    day->gpu_hours = gpu - cum_gpu;
    return days;
}

/* ------------------------------------------------------------------ the row */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *ingest_jobmeta_row(apr_pool_t *p, apr_size_t idx, json_t *rec)
{
    ingest_jobmeta_t m;
    ingest_verr_t err = {NULL, NULL};
    const char *job_id = NULL;
    apr_array_header_t *days;
    json_t *row, *arr, *o, *v;
    int i, bad = 0;

    row = json_object();
    if (!row) {
        return NULL;
    }
    bad |= json_object_set_new(row, "idx", json_integer((json_int_t)idx));

    if (ingest_jobmeta_parse(p, rec, &m, &err) != APR_SUCCESS) {
        /* the record's id when it is one, so the error can be told apart */
        if ((v = member(rec, "job_id")) != NULL) {
            ingest_verr_t ignored;
            if (check_string(p, v, "job_id", INGEST_JOBMETA_ID_MAX, &job_id, &ignored) != APR_SUCCESS) {
                job_id = NULL;
            }
        }
        bad |= json_object_set_new(row, "ok", json_false());
        bad |= json_object_set_new(row, "job_id", string_or_null(job_id));
        bad |= json_object_set_new(
            row, "error",
            json_string(err.field ? apr_pstrcat(p, err.field, ": ", err.detail, NULL) : err.detail));
    } else {
        bad |= json_object_set_new(row, "ok", json_true());
        bad |= json_object_set_new(row, "job_id", json_string(m.job_id));
        bad |= json_object_set_new(row, "team", json_string(m.team));
        bad |= json_object_set_new(row, "model_name", json_string(m.model_name));
        bad |= json_object_set_new(row, "gpu_type", json_string(m.gpu_type));
        bad |= json_object_set_new(row, "provider", json_string(m.provider));
        bad |= json_object_set_new(row, "status", string_or_null(m.status));
        bad |= json_object_set_new(row, "started_at", json_string(ingest_rfc3339_format(p, m.started_us)));
        bad |= json_object_set_new(row, "ended_at",
                                   string_or_null(m.has_ended ? ingest_rfc3339_format(p, m.ended_us) : NULL));
        bad |= json_object_set_new(row, "gpu_hours", m.has_gpu_hours ? json_real(m.gpu_hours) : json_null());
        bad |= json_object_set_new(row, "cost_usd", json_real(m.cost_usd));
        days = ingest_jobmeta_days(p, &m);
        arr = json_array();
        bad |= json_object_set_new(row, "days", arr);
        for (i = 0; arr && i < days->nelts; ++i) {
            ingest_jobmeta_day_t *day = &APR_ARRAY_IDX(days, i, ingest_jobmeta_day_t);
            o = json_object();
            bad |= json_array_append_new(arr, o);
            if (o) {
                bad |= json_object_set_new(o, "day", json_string(ingest_date_format(p, day->day)));
                bad |= json_object_set_new(o, "cost_usd", json_real(day->cost_usd));
                bad |= json_object_set_new(o, "gpu_hours", json_real(day->gpu_hours));
            }
        }
    }
    if (bad) {
        json_decref(row);
        return NULL;
    }
    return row;
}
