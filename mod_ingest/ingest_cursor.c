#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ingest_cursor.h"
#include "ingest_jobmeta.h"
#include "ingest_sign.h"
#include "ingest_validate.h"

#define NOT_OURS "is not a cursor of this listing: "

static char *lower(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s), *c;
    for (c = out; *c; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

const char *ingest_cursor_format(apr_pool_t *p, apr_int64_t created_us, const char *job_id)
{
    const char *text;
    if (!ingest_is_uuid(job_id)) {
        return NULL;
    }
    text = apr_pstrcat(p, ingest_rfc3339_format(p, created_us), "~", lower(p, job_id), NULL);
    return ingest_b64url(p, (const unsigned char *)text, strlen(text));
}

apr_status_t ingest_cursor_parse(apr_pool_t *p, const char *s, ingest_cursor_t *out, const char **why)
{
    unsigned char *text;
    apr_size_t len;
    char *tilde;

    if (!s || !*s) {
        *why = "must not be empty";
        return APR_EINVAL;
    }
    if (strlen(s) > INGEST_CURSOR_MAX) {
        *why = NOT_OURS "longer than 128 characters";
        return APR_EINVAL;
    }
    if (!(text = ingest_b64url_decode(p, s, &len))) {
        *why = NOT_OURS "not base64url";
        return APR_EINVAL;
    }
    /* one '~', nothing (no NUL) hidden in the bytes */
    tilde = strchr((char *)text, '~');
    if (strlen((char *)text) != len || !tilde || strchr(tilde + 1, '~')) {
        *why = NOT_OURS "expected <created_at>~<job_id>";
        return APR_EINVAL;
    }
    *tilde = '\0';
    if (ingest_rfc3339_parse((char *)text, &out->created_us) != APR_SUCCESS) {
        *why = NOT_OURS "created_at is not an RFC 3339 time";
        return APR_EINVAL;
    }
    if (!ingest_is_uuid(tilde + 1)) {
        *why = NOT_OURS "job_id is not a UUID";
        return APR_EINVAL;
    }
    out->created_at = ingest_rfc3339_format(p, out->created_us);
    out->job_id = lower(p, tilde + 1);
    return APR_SUCCESS;
}
