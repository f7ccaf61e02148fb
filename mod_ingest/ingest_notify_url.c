#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ingest_notify_url.h"

int ingest_notify_host_allowed(const apr_array_header_t *allow, const char *host)
{
    int i;
    if (!allow || !host) {
        return 0;
    }
    for (i = 0; i < allow->nelts; ++i) {
        if (apr_fnmatch(APR_ARRAY_IDX(allow, i, const char *), host, APR_FNM_CASE_BLIND) == APR_SUCCESS) {
            return 1;
        }
    }
    return 0;
}

static int host_char(char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_';
}

apr_status_t ingest_notify_url_parse(apr_pool_t *p, const char *url, const apr_array_header_t *allow,
                                     ingest_notify_url_t *out, const char **why)
{
    const char *auth, *end, *host_end, *port_at = NULL;
    apr_size_t len, i;
    unsigned char addr[16];
    char *host;

    memset(out, 0, sizeof(*out));
    len = url ? strlen(url) : 0;
    if (!len) {
        *why = "must not be empty";
        return APR_EINVAL;
    }
    if (len > INGEST_NOTIFY_URL_MAX) {
        *why = apr_psprintf(p, "is longer than %d bytes", INGEST_NOTIFY_URL_MAX);
        return APR_EINVAL;
    }
    for (i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            *why = "must not contain spaces, control or non-ASCII characters (percent-encode them)";
            return APR_EINVAL;
        }
    }
    if (!strncasecmp(url, "https://", 8)) {
        out->https = 1;
        auth = url + 8;
    } else if (!strncasecmp(url, "http://", 7)) {
        auth = url + 7;
    } else {
        *why = "must be an absolute https URL (https://host/path)";
        return APR_EINVAL;
    }
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (apr_size_t)(end - auth))) {
        *why = "must not contain userinfo (user:password@)";
        return APR_EINVAL;
    }
    if (*auth == '[') {
        const char *close = memchr(auth, ']', (apr_size_t)(end - auth));
        if (!close) {
            *why = "has an IPv6 address without its closing ]";
            return APR_EINVAL;
        }
        host = apr_pstrmemdup(p, auth + 1, (apr_size_t)(close - auth - 1));
        if (inet_pton(AF_INET6, host, addr) != 1) {
            *why = apr_psprintf(p, "has an invalid IPv6 address [%s]", host);
            return APR_EINVAL;
        }
        out->ip_literal = 6;
        host_end = close + 1;
        if (host_end < end) {
            if (*host_end != ':') {
                *why = "has characters after the IPv6 address that are not a port";
                return APR_EINVAL;
            }
            port_at = host_end + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', (apr_size_t)(end - auth));
        host_end = colon ? colon : end;
        if (colon) {
            port_at = colon + 1;
        }
        host = apr_pstrmemdup(p, auth, (apr_size_t)(host_end - auth));
        if (!*host) {
            *why = "has no host";
            return APR_EINVAL;
        }
        for (i = 0; host[i]; ++i) {
            if (!host_char(host[i])) {
                *why = apr_psprintf(p, "has an invalid host name '%s'", host);
                return APR_EINVAL;
            }
        }
        if (inet_pton(AF_INET, host, addr) == 1) {
            out->ip_literal = 4;
        }
    }
    for (i = 0; host[i]; ++i) {
        host[i] = (char)apr_tolower(host[i]);
    }
    out->host = host;
    out->port = out->https ? 443 : 80;
    if (port_at) {
        apr_size_t n = (apr_size_t)(end - port_at);
        long v = 0;
        if (n < 1 || n > 5) {
            *why = "has a port that is not a number from 1 to 65535";
            return APR_EINVAL;
        }
        for (i = 0; i < n; ++i) {
            if (!apr_isdigit(port_at[i])) {
                *why = "has a port that is not a number from 1 to 65535";
                return APR_EINVAL;
            }
            v = v * 10 + (port_at[i] - '0');
        }
        if (v < 1 || v > 65535) {
            *why = "has a port that is not a number from 1 to 65535";
            return APR_EINVAL;
        }
        out->port = (int)v;
    }
    if (!out->https && !ingest_notify_host_allowed(allow, out->host)) {
        *why = apr_psprintf(p,
                            "http:// is only allowed for a host in IngestNotifyAllow, and %s is not; "
                            "use https://",
                            out->host);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static const char *v4_class(const unsigned char *a)
{
    if (a[0] == 0) {
        return a[1] == 0 && a[2] == 0 && a[3] == 0 ? "an unspecified address"
                                                   : "a 'this network' (0.0.0.0/8) address";
    }
    if (a[0] == 127) {
        return "a loopback address";
    }
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)) {
        return "a private (RFC 1918) address";
    }
    if (a[0] == 169 && a[1] == 254) {
        return "a link-local address";
    }
    if (a[0] == 100 && (a[1] & 0xc0) == 64) {
        return "a shared (100.64.0.0/10, carrier-grade NAT) address";
    }
    if ((a[0] & 0xf0) == 224) {
        return "a multicast address";
    }
    if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) {
        return "the broadcast address";
    }
    if ((a[0] & 0xf0) == 240) {
        return "a reserved (240.0.0.0/4) address";
    }
    return NULL;
}

const char *ingest_notify_addr_class(int family, const unsigned char *a)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (family == 4) {
        return v4_class(a);
    }
    if (!memcmp(a, zero, 16)) {
        return "an unspecified address";
    }
    if (!memcmp(a, zero, 15) && a[15] == 1) {
        return "a loopback address";
    }
    if (!memcmp(a, mapped, 12)) {
        return v4_class(a + 12);
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
        return "a link-local address";
    }
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
        return "a site-local address";
    }
    if ((a[0] & 0xfe) == 0xfc) {
        return "a unique-local address";
    }
    if (a[0] == 0xff) {
        return "a multicast address";
    }
    return NULL;
}

const char *ingest_notify_addr_text(apr_pool_t *p, int family, const unsigned char *addr)
{
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, sizeof(buf))) {
        return "?";
    }
    return apr_pstrdup(p, buf);
}

apr_status_t ingest_notify_addr_check(apr_pool_t *p, const ingest_notify_url_t *u, int allowed, int family,
                                      const unsigned char *addr, const char **why)
{
    const char *cls, *text;
    if (allowed || !(cls = ingest_notify_addr_class(family, addr))) {
        return APR_SUCCESS;
    }
    text = ingest_notify_addr_text(p, family, addr);
    *why = u->ip_literal
               ? apr_psprintf(p, "%s is %s; add the host to IngestNotifyAllow to allow it", text, cls)
               : apr_psprintf(p, "%s resolves to %s, %s; add the host to IngestNotifyAllow to allow it",
                              u->host, text, cls);
    return APR_EACCES;
}
