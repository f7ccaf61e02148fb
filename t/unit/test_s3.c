/* ingest_s3.c: the AWS shared-credentials file, bucket locations and
 * endpoints, object URLs (path and virtual-host style, keys encoded as S3
 * encodes them), the XML members read from S3's answers, and the
 * CompleteMultipartUpload body. */

#include <string.h>

#include "ingest_s3.h"
#include "unit.h"

static const char *creds(const char *text, const char *profile, const char **secret)
{
    const char *id, *why = NULL;
    if (ingest_s3_credentials_parse(unit_pool, text, strlen(text), profile, &id, secret, &why)
        != APR_SUCCESS) {
        ck_assert_ptr_null(id);
        return why;
    }
    return id;
}

START_TEST(credentials)
{
    static const char file[] = "# AWS\n"
                               "[default]\n"
                               "aws_access_key_id = AKIDDEFAULT\n"
                               "aws_secret_access_key=  s3cr3t/with+chars  \r\n"
                               "\n"
                               "; another\n"
                               "[ backup ]\n"
                               "aws_access_key_id=AKIDBACKUP\n"
                               "aws_secret_access_key = other\n"
                               "aws_session_token = ignored\n"
                               "[partial]\n"
                               "aws_access_key_id = X\n";
    const char *secret = NULL;

    ck_assert_str_eq(creds(file, "default", &secret), "AKIDDEFAULT");
    ck_assert_str_eq(secret, "s3cr3t/with+chars");
    ck_assert_str_eq(creds(file, "backup", &secret), "AKIDBACKUP");
    ck_assert_str_eq(secret, "other");
    ck_assert_str_eq(creds(file, "nope", &secret), "no [nope] section");
    ck_assert_str_eq(creds(file, "partial", &secret), "[partial] has no aws_secret_access_key");
    ck_assert_str_eq(creds("[default]\naws_secret_access_key = s\n", "default", &secret),
                     "[default] has no aws_access_key_id");
    /* a key of another section does not leak into the one asked for */
    ck_assert_str_eq(creds("[a]\naws_access_key_id = A\n[b]\naws_secret_access_key = B\n", "b", &secret),
                     "[b] has no aws_access_key_id");
}
END_TEST

START_TEST(locations_and_endpoints)
{
    const char *bucket, *prefix, *why, *scheme, *auth;

    ck_assert_int_eq(
        ingest_s3_location_parse(unit_pool, "s3://my-bucket/some/prefix/", &bucket, &prefix, &why),
        APR_SUCCESS);
    ck_assert_str_eq(bucket, "my-bucket");
    ck_assert_str_eq(prefix, "some/prefix");
    ck_assert_int_eq(ingest_s3_location_parse(unit_pool, "s3://b.c1", &bucket, &prefix, &why), APR_SUCCESS);
    ck_assert_str_eq(prefix, "");
    ck_assert_int_eq(ingest_s3_location_parse(unit_pool, "s3://Upper/x", &bucket, &prefix, &why), APR_EINVAL);
    ck_assert_int_eq(ingest_s3_location_parse(unit_pool, "s3://ab", &bucket, &prefix, &why), APR_EINVAL);
    ck_assert_int_eq(ingest_s3_location_parse(unit_pool, "s3://-abc", &bucket, &prefix, &why), APR_EINVAL);
    ck_assert_int_eq(ingest_s3_location_parse(unit_pool, "gs://abc", &bucket, &prefix, &why), APR_EINVAL);
    ck_assert_str_eq(why, "must begin with s3://");

    ck_assert_int_eq(ingest_s3_endpoint_parse(unit_pool, "http://127.0.0.1:9000/", &scheme, &auth, &why),
                     APR_SUCCESS);
    ck_assert_str_eq(scheme, "http");
    ck_assert_str_eq(auth, "127.0.0.1:9000");
    ck_assert_int_eq(
        ingest_s3_endpoint_parse(unit_pool, "https://s3.eu-west-1.amazonaws.com", &scheme, &auth, &why),
        APR_SUCCESS);
    ck_assert_str_eq(scheme, "https");
    ck_assert_int_eq(ingest_s3_endpoint_parse(unit_pool, "ftp://x", &scheme, &auth, &why), APR_EINVAL);
    ck_assert_int_eq(ingest_s3_endpoint_parse(unit_pool, "http://h/path", &scheme, &auth, &why), APR_EINVAL);
    ck_assert_int_eq(ingest_s3_endpoint_parse(unit_pool, "http://user:pw@h", &scheme, &auth, &why),
                     APR_EINVAL);
    ck_assert_int_eq(ingest_s3_endpoint_parse(unit_pool, "http://", &scheme, &auth, &why), APR_EINVAL);
}
END_TEST

START_TEST(urls)
{
    /* a tenant directory's %XX is itself encoded; '/' is kept */
    ck_assert_str_eq(
        ingest_s3_url(unit_pool, "http", "127.0.0.1:9000", "bkt", "in/files", 1, "acme%2Fx/01a2.ab~c d",
                      "partNumber=1&uploadId=a%2Bb"),
        "http://127.0.0.1:9000/bkt/in/files/acme%252Fx/01a2.ab~c%20d?partNumber=1&uploadId=a%2Bb");
    ck_assert_str_eq(ingest_s3_url(unit_pool, "https", "s3.amazonaws.com", "bkt", "", 0, "t/f", NULL),
                     "https://bkt.s3.amazonaws.com/t/f");
    ck_assert_str_eq(ingest_s3_url(unit_pool, "http", "h:1", "bkt", "", 1, NULL, "uploads="),
                     "http://h:1/bkt/?uploads=");
    ck_assert_str_eq(ingest_s3_uri_encode(unit_pool, "a/b+c=d", 0), "a%2Fb%2Bc%3Dd");
}
END_TEST

START_TEST(xml)
{
    static const char init[] =
        "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>"
        "<Key>k</Key><UploadId>VXBsb2Fk&amp;SUQ=</UploadId></InitiateMultipartUploadResult>";
    apr_array_header_t *etags = apr_array_make(unit_pool, 2, sizeof(const char *));

    ck_assert_str_eq(ingest_s3_xml_value(unit_pool, init, strlen(init), "UploadId"), "VXBsb2Fk&SUQ=");
    ck_assert_ptr_null(ingest_s3_xml_value(unit_pool, init, strlen(init), "Code"));
    ck_assert_str_eq(ingest_s3_xml_value(unit_pool, "<Error><Code>NoSuchKey</Code></Error>", 37, "Code"),
                     "NoSuchKey");
    APR_ARRAY_PUSH(etags, const char *) = "\"e1\"";
    APR_ARRAY_PUSH(etags, const char *) = "\"a&b\"";
    ck_assert_str_eq(
        ingest_s3_complete_body(unit_pool, etags),
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>\"a&amp;b\"</ETag></Part></CompleteMultipartUpload>");
}
END_TEST

/* Declared here and in unit_main.c (not in unit.h). */
Suite *suite_s3(void);

Suite *suite_s3(void)
{
    Suite *s = suite_create("s3");
    TCase *tc = unit_tcase("s3");

    tcase_add_test(tc, credentials);
    tcase_add_test(tc, locations_and_endpoints);
    tcase_add_test(tc, urls);
    tcase_add_test(tc, xml);
    suite_add_tcase(s, tc);
    return s;
}
