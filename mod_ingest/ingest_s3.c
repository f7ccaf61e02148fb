#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ingest_s3.h"

/* ------------------------------------------------------- credentials */

static const char *trim(apr_pool_t *p, const char *s, apr_size_t n)
{
    while (n && apr_isspace(*s)) {
        s++;
        n--;
    }
    while (n && apr_isspace(s[n - 1])) {
        n--;
    }
    return apr_pstrmemdup(p, s, n);
}

apr_status_t ingest_s3_credentials_parse(apr_pool_t *p, const char *text, apr_size_t len, const char *profile,
                                         const char **key_id, const char **secret, const char **why)
{
    const char *end = text + len, *line = text, *nl, *eq, *c;
    int in = 0, found = 0;

    *key_id = *secret = NULL;
    while (line < end) {
        const char *s;
        apr_size_t n;
        nl = memchr(line, '\n', (apr_size_t)(end - line));
        n = (apr_size_t)((nl ? nl : end) - line);
        s = trim(p, line, n);
        line = nl ? nl + 1 : end;
        if (!*s || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            c = strchr(s, ']');
            in = c && !strcmp(trim(p, s + 1, (apr_size_t)(c - s - 1)), profile);
            found |= in;
            continue;
        }
        if (!in || !(eq = strchr(s, '='))) {
            continue;
        }
        if (!strcmp(trim(p, s, (apr_size_t)(eq - s)), "aws_access_key_id")) {
            *key_id = trim(p, eq + 1, strlen(eq + 1));
        } else if (!strcmp(trim(p, s, (apr_size_t)(eq - s)), "aws_secret_access_key")) {
            *secret = trim(p, eq + 1, strlen(eq + 1));
        }
    }
    if (!found) {
        *why = apr_psprintf(p, "no [%s] section", profile);
    } else if (!*key_id || !**key_id) {
        *why = apr_psprintf(p, "[%s] has no aws_access_key_id", profile);
    } else if (!*secret || !**secret) {
        *why = apr_psprintf(p, "[%s] has no aws_secret_access_key", profile);
    } else {
        return APR_SUCCESS;
    }
    *key_id = *secret = NULL;
    return APR_EINVAL;
}

/* -------------------------------------------------------------- URLs */

const char *ingest_s3_uri_encode(apr_pool_t *p, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *w = out;
    const unsigned char *c;

    for (c = (const unsigned char *)s; *c; ++c) {
        if (apr_isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~'
            || (keep_slash && *c == '/')) {
            *w++ = (char)*c;
        } else {
            *w++ = '%';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 15];
        }
    }
    *w = '\0';
    return out;
}

static int bucket_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

apr_status_t ingest_s3_location_parse(apr_pool_t *p, const char *spec, const char **bucket,
                                      const char **prefix, const char **why)
{
    const char *b, *slash;
    apr_size_t n, i;

    if (strncmp(spec, "s3://", 5)) {
        *why = "must begin with s3://";
        return APR_EINVAL;
    }
    b = spec + 5;
    slash = strchr(b, '/');
    n = slash ? (apr_size_t)(slash - b) : strlen(b);
    for (i = 0; i < n && bucket_char(b[i]); ++i) {
    }
    if (n < 3 || n > 63 || i < n || !apr_isalnum(b[0]) || !apr_isalnum(b[n - 1])) {
        *why = "the bucket must be 3 to 63 characters of a-z, 0-9, '.' and '-', beginning and ending with a "
               "letter or digit";
        return APR_EINVAL;
    }
    *bucket = apr_pstrmemdup(p, b, n);
    b = slash ? slash : b + n;
    while (*b == '/') {
        b++;
    }
    n = strlen(b);
    while (n && b[n - 1] == '/') {
        n--;
    }
    *prefix = apr_pstrmemdup(p, b, n);
    return APR_SUCCESS;
}

apr_status_t ingest_s3_endpoint_parse(apr_pool_t *p, const char *url, const char **scheme,
                                      const char **authority, const char **why)
{
    const char *a;
    apr_size_t n, i;

    if (!strncmp(url, "http://", 7)) {
        *scheme = "http";
        a = url + 7;
    } else if (!strncmp(url, "https://", 8)) {
        *scheme = "https";
        a = url + 8;
    } else {
        *why = "must begin with http:// or https://";
        return APR_EINVAL;
    }
    n = strlen(a);
    if (n && a[n - 1] == '/') {
        n--;
    }
    for (i = 0; i < n; ++i) {
        if (!(apr_isalnum(a[i]) || a[i] == '.' || a[i] == '-' || a[i] == ':' || a[i] == '[' || a[i] == ']')) {
            *why = "must be a scheme and a host[:port], with no path, query or credentials";
            return APR_EINVAL;
        }
    }
    if (!n) {
        *why = "has no host";
        return APR_EINVAL;
    }
    *authority = apr_pstrmemdup(p, a, n);
    return APR_SUCCESS;
}

const char *ingest_s3_url(apr_pool_t *p, const char *scheme, const char *authority, const char *bucket,
                          const char *prefix, int path_style, const char *key, const char *query)
{
    const char *path = key ? (*prefix ? apr_pstrcat(p, prefix, "/", key, NULL) : key) : "";

    path = ingest_s3_uri_encode(p, path, 1);
    return apr_pstrcat(p, scheme, "://", path_style ? "" : bucket, path_style ? "" : ".", authority, "/",
                       path_style ? bucket : "", path_style ? "/" : "", path, query ? "?" : "",
                       query ? query : "", NULL);
}

/* --------------------------------------------------------------- XML */

const char *ingest_s3_xml_value(apr_pool_t *p, const char *xml, apr_size_t len, const char *tag)
{
    const char *open = apr_pstrcat(p, "<", tag, ">", NULL), *close = apr_pstrcat(p, "</", tag, ">", NULL);
    const char *text = apr_pstrmemdup(p, xml, len), *a, *b;
    char *out, *w;

    if (!(a = strstr(text, open)) || !(b = strstr(a, close))) {
        return NULL;
    }
    a += strlen(open);
    w = out = apr_pstrmemdup(p, a, (apr_size_t)(b - a));
    for (a = out; *a; ++w) {
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        apr_size_t k;
        for (k = 0; k < sizeof(ents) / sizeof(ents[0]); ++k) {
            if (!strncmp(a, ents[k].ent, strlen(ents[k].ent))) {
                break;
            }
        }
        if (k < sizeof(ents) / sizeof(ents[0])) {
            *w = ents[k].c;
            a += strlen(ents[k].ent);
        } else {
            *w = *a++;
        }
    }
    *w = '\0';
    return out;
}

static const char *xml_escape(apr_pool_t *p, const char *s)
{
    const char *c, *out = "";
    for (c = s; *c; ++c) {
        const char *rep = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : NULL;
        out = rep ? apr_pstrcat(p, out, rep, NULL) : apr_pstrcat(p, out, apr_pstrmemdup(p, c, 1), NULL);
    }
    return out;
}

const char *ingest_s3_complete_body(apr_pool_t *p, const apr_array_header_t *etags)
{
    apr_array_header_t *parts = apr_array_make(p, etags->nelts + 2, sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(parts, const char *) = "<CompleteMultipartUpload>";
    for (i = 0; i < etags->nelts; ++i) {
        APR_ARRAY_PUSH(parts, const char *) =
            apr_psprintf(p, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1,
                         xml_escape(p, APR_ARRAY_IDX(etags, i, const char *)));
    }
    APR_ARRAY_PUSH(parts, const char *) = "</CompleteMultipartUpload>";
    return apr_array_pstrcat(p, parts, '\0');
}
