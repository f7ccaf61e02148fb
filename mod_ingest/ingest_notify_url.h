#ifndef INGEST_NOTIFY_URL_H
#define INGEST_NOTIFY_URL_H

/* The notify_url policy (issue 15): which URLs a job may ask to be told at
 * when it ends, so that a tenant cannot make this server call into the
 * operator's own network (SSRF). Pure: the glue resolves the host and
 * hands each address to ingest_notify_addr_check().
 *
 *  - an absolute URL of at most 2048 bytes, no spaces or control
 *    characters, scheme https; http only for a host IngestNotifyAllow
 *    names;
 *  - no userinfo (user:password@); a port, when given, 1..65535; the host
 *    a DNS name or an IP literal ([...] for IPv6, no zone);
 *  - every address the host resolves to public: not loopback, private
 *    (RFC 1918), link-local, unique-local, site-local, unspecified,
 *    0.0.0.0/8, multicast, broadcast, reserved (240/4) or shared
 *    (100.64.0.0/10, carrier-grade NAT); an IPv4-mapped IPv6 address
 *    (::ffff:a.b.c.d) is judged as its IPv4 address. A host that matches
 *    an IngestNotifyAllow pattern (apr_fnmatch, case-insensitive) is
 *    exempt. */

#include <apr_pools.h>
#include <apr_tables.h>

#define INGEST_NOTIFY_URL_MAX 2048

typedef struct {
    int https;        /* 0: http */
    const char *host; /* lower case; an IPv6 literal without its brackets */
    int port;         /* given or the scheme's */
    int ip_literal;   /* 4 or 6 when the host is an address, else 0 */
} ingest_notify_url_t;

/* The URL's form and scheme (http only when the host is allowed); *why a
 * sentence that follows "notify_url: ", APR_EINVAL otherwise. */
apr_status_t ingest_notify_url_parse(apr_pool_t *p, const char *url, const apr_array_header_t *allow,
                                     ingest_notify_url_t *out, const char **why);

/* Whether host matches one of the patterns (const char *), case-blind;
 * allow may be NULL. */
int ingest_notify_host_allowed(const apr_array_header_t *allow, const char *host);

/* What kind of non-public address addr is ("a loopback address", ...), or
 * NULL for a public one. family is 4 (addr: 4 bytes) or 6 (16 bytes). */
const char *ingest_notify_addr_class(int family, const unsigned char *addr);

/* APR_SUCCESS for a public address (or any, when the host is allowed);
 * APR_EACCES with *why ("127.0.0.1 is a loopback address; add the host to
 * IngestNotifyAllow to allow it", or "localhost resolves to 127.0.0.1, ..."
 * when the host is a name) otherwise. */
apr_status_t ingest_notify_addr_check(apr_pool_t *p, const ingest_notify_url_t *u, int allowed, int family,
                                      const unsigned char *addr, const char **why);

/* An address as text (IPv6 in its short form), in p. */
const char *ingest_notify_addr_text(apr_pool_t *p, int family, const unsigned char *addr);

#endif
