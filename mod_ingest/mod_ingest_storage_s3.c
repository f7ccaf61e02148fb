/* The S3 backend (IngestStorage s3://bucket/prefix): objects in an
 * S3-compatible bucket through libcurl, every request signed by curl's own
 * AWS Signature V4 (CURLOPT_AWS_SIGV4).
 *
 * Debian 12's curl (7.88) does not add x-amz-content-sha256: it is sent
 * here, the SHA-256 of the payload. It signs the query string as written,
 * so queries are written sorted, encoded and with '=' ("uploads=",
 * "partNumber=1&uploadId=...").
 *
 * A file is written in parts of IngestS3PartSize held in memory: one that
 * ends within the first part is one PUT at commit; a longer one is a
 * multipart upload (the object exists only once completed), aborted when
 * the file is abandoned. A file is read with ranged GETs of at most a part,
 * so memory stays bounded whatever the object's size. */

#include <curl/curl.h>
#include <openssl/evp.h>

#include <apr_strings.h>

#include "ingest_s3.h"
#include "mod_ingest.h"
#include "mod_ingest_storage.h"

/* what an answer that is not data may be: an XML error, an upload id */
#define SMALL_ANSWER (64 * 1024)

typedef struct {
    apr_pool_t *p;
    CURL *h;
    long status;
    char *body;
    apr_size_t len, max, cap; /* cap: body's size, reused by the next request */
    int overflow;
    const char *etag, *content_length;
} s3_call_t;

static apr_status_t curl_cleanup(void *data)
{
    curl_easy_cleanup(data);
    return APR_SUCCESS;
}

/* A curl handle that lives as long as p (its connection is reused by the
 * requests of one file). */
static CURL *handle(apr_pool_t *p)
{
    CURL *h = curl_easy_init();
    if (h) {
        apr_pool_cleanup_register(p, h, curl_cleanup, apr_pool_cleanup_null);
    }
    return h;
}

static const char *sha256_hex(apr_pool_t *p, const char *buf, apr_size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *hex = apr_palloc(p, 65);
    EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
    for (i = 0; i < n && i < 32; ++i) {
        apr_snprintf(hex + i * 2, 3, "%02x", md[i]);
    }
    hex[64] = '\0';
    return hex;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    s3_call_t *c = ctx;
    apr_size_t len = size * n;
    long status = 0;

    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        /* an error's XML (a 404 of an object deleted meanwhile may be
         * longer than the range asked for): kept as far as it fits, its
         * Code and Message come first */
        apr_size_t room = c->cap - c->len;
        memcpy(c->body + c->len, data, len < room ? len : room);
        c->len += len < room ? len : room;
        return len;
    }
    if (c->len + len > c->max) {
        c->overflow = 1;
        return 0; /* ends the transfer: more than was asked for */
    }
    memcpy(c->body + c->len, data, len);
    c->len += len;
    return len;
}

/* The value of header name (lower case) in a header line, or NULL. */
static const char *header_value(apr_pool_t *p, const char *line, apr_size_t len, const char *name)
{
    apr_size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) || line[n] != ':') {
        return NULL;
    }
    line += n + 1;
    len -= n + 1;
    while (len && (*line == ' ' || *line == '\t')) {
        line++;
        len--;
    }
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ')) {
        len--;
    }
    return apr_pstrmemdup(p, line, len);
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    s3_call_t *c = ctx;
    const char *v;
    if ((v = header_value(c->p, data, size * n, "etag")) != NULL) {
        c->etag = v;
    } else if ((v = header_value(c->p, data, size * n, "content-length")) != NULL) {
        c->content_length = v;
    }
    return size * n;
}

/* One signed request: method on key (NULL: the bucket) with query (sorted,
 * encoded, as it is signed), a body (NULL: none) and a Range (NULL: none);
 * the answer's body kept up to max bytes. APR_SUCCESS for a 2xx,
 * APR_ENOENT for 404, INGEST_ESTORAGE_DOWN when S3 cannot be reached or
 * answers 5xx or 429, APR_EACCES for 403 (logged: the credentials or the
 * bucket's policy), APR_EGENERAL otherwise (logged). */
static apr_status_t s3_call(s3_call_t *c, const ingest_storage_t *st, const char *method, const char *key,
                            const char *query, const char *body, apr_size_t body_len, const char *range,
                            apr_size_t max)
{
    struct curl_slist *hdrs = NULL;
    CURLcode res;
    const char *code, *msg;
    apr_status_t rv;

    c->status = 0;
    c->len = 0;
    c->max = max;
    c->overflow = 0;
    c->etag = c->content_length = NULL;
    if (!c->body || max > c->cap) {
        /* room for an error's XML too, however small the range */
        c->cap = max > SMALL_ANSWER ? max : SMALL_ANSWER;
        c->body = apr_palloc(c->p, c->cap + 1);
    }
    curl_easy_reset(c->h);
    curl_easy_setopt(
        c->h, CURLOPT_URL,
        ingest_s3_url(c->p, st->scheme, st->authority, st->bucket, st->prefix, st->path_style, key, query));
    curl_easy_setopt(c->h, CURLOPT_AWS_SIGV4, apr_pstrcat(c->p, "aws:amz:", st->region, ":s3", NULL));
    curl_easy_setopt(c->h, CURLOPT_USERNAME, st->key_id);
    curl_easy_setopt(c->h, CURLOPT_PASSWORD, st->secret);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* a stalled transfer, not a long one, is a failure */
    curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    hdrs = curl_slist_append(hdrs, apr_pstrcat(c->p, "x-amz-content-sha256: ",
                                               sha256_hex(c->p, body ? body : "", body_len), NULL));
    if (range) {
        hdrs = curl_slist_append(hdrs, apr_pstrcat(c->p, "Range: ", range, NULL));
    }
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c->h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "PUT") || !strcmp(method, "POST")) {
        /* no "Expect:" to switch 100-continue off: curl 7.88 would sign
         * the header it then leaves out, and S3 refuses the signature */
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
    res = curl_easy_perform(c->h);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
    c->body[c->len] = '\0';
    if (res != CURLE_OK && !c->overflow) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s, IGLOGNO(00612) "S3 %s %s/%s: %s", method, st->describe,
                     key ? key : "", curl_easy_strerror(res));
        return INGEST_ESTORAGE_DOWN;
    }
    if (c->overflow) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                     IGLOGNO(00613) "S3 %s %s/%s: the answer is longer than asked for (HTTP %ld; a server "
                                    "that ignores Range?)",
                     method, st->describe, key ? key : "", c->status);
        return APR_EGENERAL;
    }
    if (c->status >= 200 && c->status < 300) {
        return APR_SUCCESS;
    }
    rv = c->status == 404                       ? APR_ENOENT
         : c->status >= 500 || c->status == 429 ? INGEST_ESTORAGE_DOWN
         : c->status == 403                     ? APR_EACCES
                                                : APR_EGENERAL;
    /* a missing object is the caller's to judge */
    if (rv != APR_ENOENT) {
        code = ingest_s3_xml_value(c->p, c->body, c->len, "Code");
        msg = ingest_s3_xml_value(c->p, c->body, c->len, "Message");
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s, IGLOGNO(00614) "S3 %s %s/%s: HTTP %ld %s%s%s", method,
                     st->describe, key ? key : "", c->status, code ? code : "", msg ? ": " : "",
                     msg ? msg : "");
    }
    return rv;
}

static apr_status_t call_init(s3_call_t *c, apr_pool_t *p)
{
    memset(c, 0, sizeof(*c));
    c->p = p;
    c->h = handle(p);
    return c->h ? APR_SUCCESS : APR_ENOMEM;
}

/* ------------------------------------------------------------ writing */

typedef struct {
    s3_call_t call;
    char *part; /* the part being filled, part_size bytes */
    apr_size_t part_len;
    const char *upload_id; /* once the multipart upload is initiated */
    apr_array_header_t *etags;
} s3_file_t;

static apr_status_t s3_begin(ingest_storage_file_t *f)
{
    s3_file_t *sf = apr_pcalloc(f->p, sizeof(*sf));
    apr_status_t rv = call_init(&sf->call, f->p);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    sf->part = apr_palloc(f->p, f->st->part_size);
    sf->etags = apr_array_make(f->p, 8, sizeof(const char *));
    f->impl = sf;
    return APR_SUCCESS;
}

/* Sends the part filled (the multipart upload initiated first). */
static apr_status_t send_part(ingest_storage_file_t *f)
{
    s3_file_t *sf = f->impl;
    const ingest_storage_t *st = f->st;
    apr_status_t rv;

    if (!sf->upload_id) {
        rv = s3_call(&sf->call, st, "POST", f->rel, "uploads=", NULL, 0, NULL, SMALL_ANSWER);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        sf->upload_id = ingest_s3_xml_value(f->p, sf->call.body, sf->call.len, "UploadId");
        if (!sf->upload_id || !*sf->upload_id) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                         IGLOGNO(00615) "S3 %s/%s: the multipart upload was not given an UploadId",
                         st->describe, f->rel);
            sf->upload_id = NULL;
            return APR_EGENERAL;
        }
    }
    rv = s3_call(&sf->call, st, "PUT", f->rel,
                 apr_psprintf(f->p, "partNumber=%d&uploadId=%s", sf->etags->nelts + 1,
                              ingest_s3_uri_encode(f->p, sf->upload_id, 0)),
                 sf->part, sf->part_len, NULL, SMALL_ANSWER);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!sf->call.etag) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, st->s,
                     IGLOGNO(00615) "S3 %s/%s: part %d was stored without an ETag", st->describe, f->rel,
                     sf->etags->nelts + 1);
        return APR_EGENERAL;
    }
    APR_ARRAY_PUSH(sf->etags, const char *) = sf->call.etag;
    sf->part_len = 0;
    return APR_SUCCESS;
}

static apr_status_t s3_write(ingest_storage_file_t *f, const char *buf, apr_size_t len)
{
    s3_file_t *sf = f->impl;
    apr_status_t rv;

    while (len) {
        apr_size_t n = f->st->part_size - sf->part_len;
        if (n > len) {
            n = len;
        }
        memcpy(sf->part + sf->part_len, buf, n);
        sf->part_len += n;
        buf += n;
        len -= n;
        /* a full part goes once more follows: the last part may be short,
         * the others may not */
        if (sf->part_len == f->st->part_size && len && (rv = send_part(f)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t s3_commit(ingest_storage_file_t *f)
{
    s3_file_t *sf = f->impl;
    const char *body, *err;
    apr_status_t rv;

    if (!sf->upload_id) {
        /* it fits in one part: one PUT */
        return s3_call(&sf->call, f->st, "PUT", f->rel, NULL, sf->part, sf->part_len, NULL, SMALL_ANSWER);
    }
    if (sf->part_len && (rv = send_part(f)) != APR_SUCCESS) {
        return rv;
    }
    body = ingest_s3_complete_body(f->p, sf->etags);
    rv = s3_call(&sf->call, f->st, "POST", f->rel,
                 apr_pstrcat(f->p, "uploadId=", ingest_s3_uri_encode(f->p, sf->upload_id, 0), NULL), body,
                 strlen(body), NULL, SMALL_ANSWER);
    /* S3 may answer 200 and an error in the body */
    if (rv == APR_SUCCESS && (err = ingest_s3_xml_value(f->p, sf->call.body, sf->call.len, "Code")) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, f->st->s, IGLOGNO(00614) "S3 POST %s/%s (complete): %s",
                     f->st->describe, f->rel, err);
        rv = !strcmp(err, "InternalError") || !strcmp(err, "SlowDown") ? INGEST_ESTORAGE_DOWN : APR_EGENERAL;
    }
    if (rv == APR_SUCCESS) {
        sf->upload_id = NULL; /* nothing to abort */
    }
    return rv;
}

static void s3_abandon(ingest_storage_file_t *f)
{
    s3_file_t *sf = f->impl;
    apr_status_t rv;

    if (!sf || !sf->upload_id) {
        return; /* nothing was sent */
    }
    rv = s3_call(&sf->call, f->st, "DELETE", f->rel,
                 apr_pstrcat(f->p, "uploadId=", ingest_s3_uri_encode(f->p, sf->upload_id, 0), NULL), NULL, 0,
                 NULL, SMALL_ANSWER);
    if (rv != APR_SUCCESS && rv != APR_ENOENT) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, f->st->s,
                     IGLOGNO(00616) "S3 %s/%s: could not abort multipart upload %s: its parts remain until "
                                    "the bucket's lifecycle rule removes them",
                     f->st->describe, f->rel, sf->upload_id);
    }
    sf->upload_id = NULL;
}

/* ------------------------------------------------------------ reading */

typedef struct {
    s3_call_t call;
    apr_off_t at;    /* the object's bytes fetched so far */
    apr_off_t total; /* its size (HEAD) */
    apr_size_t pos;  /* bytes of call.body handed out */
} s3_reader_t;

/* The next range: at most a part, never past the end (a range past the
 * end of an object is 416 on S3, and not every server agrees). */
static apr_status_t fetch(ingest_storage_reader_t *rd)
{
    s3_reader_t *sr = rd->impl;
    apr_off_t last = sr->at + (apr_off_t)rd->st->part_size - 1;
    apr_status_t rv;

    if (last >= sr->total) {
        last = sr->total - 1;
    }
    rv = s3_call(&sr->call, rd->st, "GET", rd->rel, NULL, NULL, 0,
                 apr_psprintf(rd->p, "bytes=%" APR_OFF_T_FMT "-%" APR_OFF_T_FMT, sr->at, last),
                 (apr_size_t)(last - sr->at + 1));
    sr->pos = 0;
    if (rv != APR_SUCCESS) {
        sr->call.len = 0;
        return rv;
    }
    if (sr->call.len != (apr_size_t)(last - sr->at + 1)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rd->st->s,
                     IGLOGNO(00613) "S3 GET %s/%s: %" APR_SIZE_T_FMT " bytes for a range of %" APR_OFF_T_FMT
                                    " (HTTP %ld; the object changed?)",
                     rd->st->describe, rd->rel, sr->call.len, last - sr->at + 1, sr->call.status);
        sr->call.len = 0;
        return APR_EGENERAL;
    }
    sr->at += (apr_off_t)sr->call.len;
    return APR_SUCCESS;
}

static apr_status_t s3_open(ingest_storage_reader_t *rd)
{
    s3_reader_t *sr = apr_pcalloc(rd->p, sizeof(*sr));
    apr_status_t rv = call_init(&sr->call, rd->p);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rd->impl = sr;
    /* its size first: a missing object is known at once, and no range
     * asked for goes past the end */
    if ((rv = s3_call(&sr->call, rd->st, "HEAD", rd->rel, NULL, NULL, 0, NULL, 0)) != APR_SUCCESS) {
        return rv;
    }
    if (!sr->call.content_length) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rd->st->s, IGLOGNO(00613) "S3 HEAD %s/%s: no Content-Length",
                     rd->st->describe, rd->rel);
        return APR_EGENERAL;
    }
    sr->total = apr_atoi64(sr->call.content_length);
    return APR_SUCCESS;
}

static apr_status_t s3_read(ingest_storage_reader_t *rd, char *buf, apr_size_t *len)
{
    s3_reader_t *sr = rd->impl;
    apr_size_t n;
    apr_status_t rv;

    if (sr->pos == sr->call.len) {
        if (sr->at >= sr->total) {
            *len = 0;
            return APR_EOF;
        }
        if ((rv = fetch(rd)) != APR_SUCCESS) {
            *len = 0;
            return rv;
        }
    }
    n = sr->call.len - sr->pos;
    if (n > *len) {
        n = *len;
    }
    memcpy(buf, sr->call.body + sr->pos, n);
    sr->pos += n;
    *len = n;
    return APR_SUCCESS;
}

static apr_status_t s3_remove(apr_pool_t *p, const ingest_storage_t *st, const char *rel)
{
    s3_call_t c;
    apr_status_t rv = call_init(&c, p);

    if (rv == APR_SUCCESS) {
        rv = s3_call(&c, st, "DELETE", rel, NULL, NULL, 0, NULL, SMALL_ANSWER);
    }
    return rv == APR_ENOENT ? APR_SUCCESS : rv;
}

const ingest_storage_ops_t ingest_storage_s3_ops = {
    .name = "s3",
    .begin = s3_begin,
    .write = s3_write,
    .commit = s3_commit,
    .abandon = s3_abandon,
    .open = s3_open,
    .read = s3_read,
    .remove = s3_remove,
};
