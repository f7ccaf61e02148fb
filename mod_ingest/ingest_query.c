#include <string.h>

#include <apr_strings.h>

#include "ingest_query.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

apr_status_t ingest_url_decode(char *s)
{
    char *w = s;
    for (; *s; ++s) {
        if (*s == '+') {
            *w++ = ' ';
        } else if (*s == '%') {
            int hi, lo;
            if (!s[1] || !s[2])
                return APR_EINVAL;
            hi = hexval(s[1]);
            lo = hexval(s[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return APR_EINVAL;
            *w++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return APR_SUCCESS;
}

apr_status_t ingest_query_parse(apr_pool_t *p, const char *qs, apr_table_t **out, const char **bad)
{
    apr_table_t *t = apr_table_make(p, 8);
    char *copy, *pair, *state = NULL;

    *out = t;
    *bad = NULL;
    if (!qs || !*qs) {
        return APR_SUCCESS;
    }
    copy = apr_pstrdup(p, qs);
    for (pair = apr_strtok(copy, "&", &state); pair; pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        /* "flag" alone has an empty value: point at its own terminator,
         * which is writable, unlike a "" literal the decoder would write */
        char *val = pair + strlen(pair);
        const char *raw_key;
        if (eq) {
            *eq = '\0';
            val = eq + 1;
        }
        raw_key = apr_pstrdup(p, pair); /* the error names the key as sent */
        if (ingest_url_decode(pair) != APR_SUCCESS) {
            *bad = raw_key;
            return APR_EINVAL;
        }
        if (ingest_url_decode(val) != APR_SUCCESS) {
            *bad = pair; /* the key itself decoded fine: name it so */
            return APR_EINVAL;
        }
        if (!*pair) {
            continue; /* "a=1&&b=2" */
        }
        apr_table_add(t, pair, val);
    }
    return APR_SUCCESS;
}
