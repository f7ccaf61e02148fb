#ifndef INGEST_S3_H
#define INGEST_S3_H

/* What the S3 storage backend (mod_ingest_storage_s3.c) needs that is
 * text, not I/O: the AWS shared-credentials file, object keys and URLs,
 * the few XML members S3 answers with, and the CompleteMultipartUpload
 * body. The signing itself is curl's (CURLOPT_AWS_SIGV4). Pure. */

#include <apr_pools.h>
#include <apr_tables.h>

/* An AWS shared-credentials file (~/.aws/credentials): INI sections
 * "[name]" with "aws_access_key_id = ..." and "aws_secret_access_key =
 * ..."; '#' and ';' begin comments; spaces around names and values do
 * not count. The section profile's two keys, or APR_EINVAL with *why
 * ("no [backup] section", "[default] has no aws_secret_access_key"). */
apr_status_t ingest_s3_credentials_parse(apr_pool_t *p, const char *text, apr_size_t len, const char *profile,
                                         const char **key_id, const char **secret, const char **why);

/* s as S3 wants it in a URI (RFC 3986): every byte but A-Z a-z 0-9 - _ . ~
 * as %XX (upper-case hex), and '/' too unless keep_slash. */
const char *ingest_s3_uri_encode(apr_pool_t *p, const char *s, int keep_slash);

/* "s3://bucket[/prefix]": the bucket (3 to 63 of a-z 0-9 . -, starting
 * and ending with a letter or digit) and the prefix without leading or
 * trailing '/' ("" for none); APR_EINVAL with *why. */
apr_status_t ingest_s3_location_parse(apr_pool_t *p, const char *spec, const char **bucket,
                                      const char **prefix, const char **why);

/* "http[s]://host[:port]" with nothing after it but an optional '/':
 * APR_SUCCESS with the scheme ("http" or "https") and the authority
 * (host[:port]); APR_EINVAL with *why. */
apr_status_t ingest_s3_endpoint_parse(apr_pool_t *p, const char *url, const char **scheme,
                                      const char **authority, const char **why);

/* The URL of an object (key: relative to the prefix, as the storage names
 * it; NULL: the bucket itself) with query appended as written (NULL:
 * none): path style http://host/bucket/prefix/key, else the bucket in the
 * host name, http://bucket.host/prefix/key; the key's bytes encoded. */
const char *ingest_s3_url(apr_pool_t *p, const char *scheme, const char *authority, const char *bucket,
                          const char *prefix, int path_style, const char *key, const char *query);

/* The text of the first <tag>…</tag> in an XML answer, entities (&amp;
 * &lt; &gt; &quot; &apos;) decoded; NULL when there is none. */
const char *ingest_s3_xml_value(apr_pool_t *p, const char *xml, apr_size_t len, const char *tag);

/* The CompleteMultipartUpload body of the parts' ETags (const char *, in
 * part order, as S3 gave them, quotes included), XML-escaped. */
const char *ingest_s3_complete_body(apr_pool_t *p, const apr_array_header_t *etags);

#endif
