#include <string.h>
#include <arpa/inet.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "ingest_notify_url.h"
#include "unit.h"

static apr_array_header_t *allow_list(const char *a, const char *b)
{
    apr_array_header_t *arr = apr_array_make(unit_pool, 2, sizeof(const char *));
    if (a) {
        APR_ARRAY_PUSH(arr, const char *) = a;
    }
    if (b) {
        APR_ARRAY_PUSH(arr, const char *) = b;
    }
    return arr;
}

static ingest_notify_url_t ok(const char *url, const apr_array_header_t *allow)
{
    ingest_notify_url_t u;
    const char *why = NULL;
    ck_assert_msg(ingest_notify_url_parse(unit_pool, url, allow, &u, &why) == APR_SUCCESS, "%s refused: %s",
                  url, why ? why : "(no reason)");
    return u;
}

static void bad(const char *url, const apr_array_header_t *allow, const char *want)
{
    ingest_notify_url_t u;
    const char *why = NULL;
    ck_assert_msg(ingest_notify_url_parse(unit_pool, url, allow, &u, &why) == APR_EINVAL, "%s accepted",
                  url ? url : "(null)");
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, want) != NULL, "%s: '%s' does not say '%s'", url, why, want);
}

/* the class of an address given as text, NULL: public */
static const char *cls(const char *text)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, text, a) == 1) {
        return ingest_notify_addr_class(4, a);
    }
    ck_assert_msg(inet_pton(AF_INET6, text, a) == 1, "bad test address %s", text);
    return ingest_notify_addr_class(6, a);
}

START_TEST(parses_https)
{
    ingest_notify_url_t u = ok("https://Hooks.Example.com/a/b?x=1#f", NULL);
    ck_assert_int_eq(u.https, 1);
    ck_assert_str_eq(u.host, "hooks.example.com");
    ck_assert_int_eq(u.port, 443);
    ck_assert_int_eq(u.ip_literal, 0);

    u = ok("HTTPS://example.com:8443", NULL);
    ck_assert_int_eq(u.port, 8443);
    u = ok("https://example.com:1/", NULL);
    ck_assert_int_eq(u.port, 1);
    u = ok("https://example.com:65535/", NULL);
    ck_assert_int_eq(u.port, 65535);
    u = ok("https://[2001:db8::1]:9443/x", NULL);
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert_int_eq(u.ip_literal, 6);
    ck_assert_int_eq(u.port, 9443);
    u = ok("https://93.184.216.34/x", NULL);
    ck_assert_int_eq(u.ip_literal, 4);
}
END_TEST

START_TEST(refuses_bad_forms)
{
    char *longer = apr_palloc(unit_pool, INGEST_NOTIFY_URL_MAX + 2);
    bad("", NULL, "empty");
    bad("example.com/hook", NULL, "absolute https URL");
    bad("ftp://example.com/", NULL, "absolute https URL");
    bad("//example.com/", NULL, "absolute https URL");
    bad("https://user:pw@example.com/", NULL, "userinfo");
    bad("https://user@example.com/", NULL, "userinfo");
    bad("https://example.com:0/", NULL, "port");
    bad("https://example.com:65536/", NULL, "port");
    bad("https://example.com:/", NULL, "port");
    bad("https://example.com:12ab/", NULL, "port");
    bad("https://example.com:123456/", NULL, "port");
    bad("https:///path", NULL, "no host");
    bad("https://exa mple.com/", NULL, "spaces");
    bad("https://example.com/\x01", NULL, "control");
    bad("https://ex%61mple.com/", NULL, "invalid host");
    bad("https://[::1/", NULL, "closing ]");
    bad("https://[not:an:address]/", NULL, "invalid IPv6");
    bad("https://[fe80::1%25eth0]/", NULL, "invalid IPv6");
    bad("https://[::1]x/", NULL, "not a port");
    memcpy(longer, "https://example.com/", 20);
    memset(longer + 20, 'a', INGEST_NOTIFY_URL_MAX + 1 - 20);
    longer[INGEST_NOTIFY_URL_MAX + 1] = '\0';
    bad(longer, NULL, "longer than 2048");
    longer[INGEST_NOTIFY_URL_MAX] = '\0';
    ok(longer, NULL);
}
END_TEST

START_TEST(http_only_when_allowed)
{
    apr_array_header_t *allow = allow_list("127.0.0.1", "*.Corp.Example");
    ingest_notify_url_t u;
    bad("http://example.com/hook", NULL, "http:// is only allowed for a host in IngestNotifyAllow");
    bad("http://example.com/hook", allow, "use https://");
    u = ok("http://127.0.0.1:8080/hook", allow);
    ck_assert_int_eq(u.https, 0);
    ck_assert_int_eq(u.port, 8080);
    u = ok("http://hooks.CORP.example/x", allow);
    ck_assert_int_eq(u.port, 80);
    ck_assert(ingest_notify_host_allowed(allow, "a.b.corp.example"));
    ck_assert(!ingest_notify_host_allowed(allow, "corp.example"));
    ck_assert(!ingest_notify_host_allowed(allow, "127.0.0.10"));
    ck_assert(!ingest_notify_host_allowed(NULL, "127.0.0.1"));
}
END_TEST

START_TEST(classifies_ipv4)
{
    ck_assert_ptr_null(cls("93.184.216.34"));
    ck_assert_ptr_null(cls("8.8.8.8"));
    ck_assert_ptr_null(cls("172.15.255.255"));
    ck_assert_ptr_null(cls("172.32.0.1"));
    ck_assert_ptr_null(cls("100.63.255.255"));
    ck_assert_ptr_null(cls("100.128.0.1"));
    ck_assert_ptr_null(cls("169.253.1.1"));
    ck_assert_ptr_null(cls("223.255.255.255"));
    ck_assert_str_eq(cls("127.0.0.1"), "a loopback address");
    ck_assert_str_eq(cls("127.255.1.2"), "a loopback address");
    ck_assert_str_eq(cls("10.0.0.1"), "a private (RFC 1918) address");
    ck_assert_str_eq(cls("172.16.0.1"), "a private (RFC 1918) address");
    ck_assert_str_eq(cls("172.31.255.255"), "a private (RFC 1918) address");
    ck_assert_str_eq(cls("192.168.1.1"), "a private (RFC 1918) address");
    ck_assert_str_eq(cls("169.254.169.254"), "a link-local address");
    ck_assert_str_eq(cls("100.64.0.1"), "a shared (100.64.0.0/10, carrier-grade NAT) address");
    ck_assert_str_eq(cls("100.127.255.255"), "a shared (100.64.0.0/10, carrier-grade NAT) address");
    ck_assert_str_eq(cls("0.0.0.0"), "an unspecified address");
    ck_assert_str_eq(cls("0.1.2.3"), "a 'this network' (0.0.0.0/8) address");
    ck_assert_str_eq(cls("224.0.0.1"), "a multicast address");
    ck_assert_str_eq(cls("239.255.255.255"), "a multicast address");
    ck_assert_str_eq(cls("255.255.255.255"), "the broadcast address");
    ck_assert_str_eq(cls("240.0.0.1"), "a reserved (240.0.0.0/4) address");
}
END_TEST

START_TEST(classifies_ipv6)
{
    ck_assert_ptr_null(cls("2001:4860:4860::8888"));
    ck_assert_ptr_null(cls("2606:4700::1111"));
    ck_assert_ptr_null(cls("::ffff:93.184.216.34"));
    ck_assert_str_eq(cls("::"), "an unspecified address");
    ck_assert_str_eq(cls("::1"), "a loopback address");
    ck_assert_str_eq(cls("fe80::1"), "a link-local address");
    ck_assert_str_eq(cls("febf:ffff::1"), "a link-local address");
    ck_assert_str_eq(cls("fec0::1"), "a site-local address");
    ck_assert_str_eq(cls("fc00::1"), "a unique-local address");
    ck_assert_str_eq(cls("fdff:1234::1"), "a unique-local address");
    ck_assert_str_eq(cls("ff02::1"), "a multicast address");
    /* IPv4-mapped: judged as the IPv4 address */
    ck_assert_str_eq(cls("::ffff:127.0.0.1"), "a loopback address");
    ck_assert_str_eq(cls("::ffff:10.1.2.3"), "a private (RFC 1918) address");
    ck_assert_str_eq(cls("::ffff:169.254.169.254"), "a link-local address");
}
END_TEST

START_TEST(addr_check_words)
{
    unsigned char a[16];
    const char *why = NULL;
    ingest_notify_url_t lit = ok("https://127.0.0.1/x", NULL);
    ingest_notify_url_t name = ok("https://localhost/x", NULL);
    ingest_notify_url_t v6 = ok("https://[::1]/x", NULL);

    ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", a), 1);
    ck_assert_int_eq(ingest_notify_addr_check(unit_pool, &lit, 0, 4, a, &why), APR_EACCES);
    ck_assert_str_eq(why, "127.0.0.1 is a loopback address; add the host to IngestNotifyAllow to allow it");
    ck_assert_int_eq(ingest_notify_addr_check(unit_pool, &name, 0, 4, a, &why), APR_EACCES);
    ck_assert_str_eq(why, "localhost resolves to 127.0.0.1, a loopback address; add the host to "
                          "IngestNotifyAllow to allow it");
    /* an allowed host may be anything */
    ck_assert_int_eq(ingest_notify_addr_check(unit_pool, &lit, 1, 4, a, &why), APR_SUCCESS);
    ck_assert_int_eq(inet_pton(AF_INET6, "::1", a), 1);
    ck_assert_int_eq(ingest_notify_addr_check(unit_pool, &v6, 0, 6, a, &why), APR_EACCES);
    ck_assert_str_eq(why, "::1 is a loopback address; add the host to IngestNotifyAllow to allow it");
    ck_assert_int_eq(inet_pton(AF_INET, "93.184.216.34", a), 1);
    ck_assert_int_eq(ingest_notify_addr_check(unit_pool, &name, 0, 4, a, &why), APR_SUCCESS);
}
END_TEST

Suite *suite_notify_url(void)
{
    Suite *s = suite_create("notify_url");
    TCase *tc = unit_tcase("notify_url");
    tcase_add_test(tc, parses_https);
    tcase_add_test(tc, refuses_bad_forms);
    tcase_add_test(tc, http_only_when_allowed);
    tcase_add_test(tc, classifies_ipv4);
    tcase_add_test(tc, classifies_ipv6);
    tcase_add_test(tc, addr_check_words);
    suite_add_tcase(s, tc);
    return s;
}
