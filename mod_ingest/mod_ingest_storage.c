/* The storage interface (mod_ingest_storage.h): what every backend
 * shares (the file's name, its size and SHA-256, abandoning it with its
 * pool), and the dispatch to the backend's operations. */

#include <apr_strings.h>
#include <openssl/evp.h>

#include "mod_ingest_storage.h"

const char *ingest_storage_tenant_dir(apr_pool_t *p, const char *tenant)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, strlen(tenant) * 3 + 1), *w = out;
    const unsigned char *c;
    for (c = (const unsigned char *)tenant; *c; ++c) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'
            || *c == '-') {
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

static apr_status_t md_cleanup(void *data)
{
    ingest_storage_file_t *f = data;
    EVP_MD_CTX_free(f->md);
    f->md = NULL;
    return APR_SUCCESS;
}

/* Registered after the backend's begin, so that it runs before the
 * cleanups the backend registered (its curl handle, its temporary file). */
static apr_status_t abandon_cleanup(void *data)
{
    ingest_storage_file_t *f = data;
    if (!f->committed) {
        f->st->ops->abandon(f);
    }
    return APR_SUCCESS;
}

apr_status_t ingest_storage_begin(apr_pool_t *p, const ingest_storage_t *st, const char *tenant,
                                  const char *job_id, ingest_storage_file_t **out)
{
    ingest_storage_file_t *f = apr_pcalloc(p, sizeof(*f));
    unsigned char nonce[6];
    apr_status_t rv;

    f->p = p;
    f->st = st;
    apr_generate_random_bytes(nonce, sizeof(nonce));
    f->rel = apr_psprintf(p, "%s/%s.%02x%02x%02x%02x%02x%02x", ingest_storage_tenant_dir(p, tenant), job_id,
                          nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5]);
    f->md = EVP_MD_CTX_new();
    apr_pool_cleanup_register(p, f, md_cleanup, apr_pool_cleanup_null);
    if (!f->md || EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
        return APR_EGENERAL;
    }
    if ((rv = st->ops->begin(f)) != APR_SUCCESS) {
        st->ops->abandon(f);
        return rv;
    }
    apr_pool_cleanup_register(p, f, abandon_cleanup, apr_pool_cleanup_null);
    *out = f;
    return APR_SUCCESS;
}

apr_status_t ingest_storage_write(ingest_storage_file_t *f, const char *buf, apr_size_t len)
{
    apr_status_t rv = f->st->ops->write(f, buf, len);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (EVP_DigestUpdate(f->md, buf, len) != 1) {
        return APR_EGENERAL;
    }
    f->size += (apr_off_t)len;
    return APR_SUCCESS;
}

apr_off_t ingest_storage_size(const ingest_storage_file_t *f)
{
    return f->size;
}

apr_status_t ingest_storage_commit(ingest_storage_file_t *f, const char **rel, const char **sha256)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;
    char *hex;
    apr_status_t rv;

    if (EVP_DigestFinal_ex(f->md, md, &mdlen) != 1) {
        return APR_EGENERAL;
    }
    if ((rv = f->st->ops->commit(f)) != APR_SUCCESS) {
        return rv;
    }
    f->committed = 1;
    hex = apr_palloc(f->p, mdlen * 2 + 1);
    for (i = 0; i < mdlen; ++i) {
        apr_snprintf(hex + i * 2, 3, "%02x", md[i]);
    }
    *rel = f->rel;
    *sha256 = hex;
    return APR_SUCCESS;
}

apr_status_t ingest_storage_remove(apr_pool_t *p, const ingest_storage_t *st, const char *rel)
{
    if (!st || !rel || !*rel) {
        return APR_SUCCESS;
    }
    return st->ops->remove(p, st, rel);
}

apr_status_t ingest_storage_open(apr_pool_t *p, const ingest_storage_t *st, const char *rel,
                                 ingest_storage_reader_t **out)
{
    ingest_storage_reader_t *rd = apr_pcalloc(p, sizeof(*rd));
    apr_status_t rv;

    if (!st || !rel || !*rel) {
        return APR_ENOENT;
    }
    rd->p = p;
    rd->st = st;
    rd->rel = rel;
    if ((rv = st->ops->open(rd)) != APR_SUCCESS) {
        return rv;
    }
    *out = rd;
    return APR_SUCCESS;
}

apr_status_t ingest_storage_read(ingest_storage_reader_t *rd, char *buf, apr_size_t *len)
{
    return rd->st->ops->read(rd, buf, len);
}

const char *ingest_storage_describe(const ingest_storage_t *st)
{
    return st ? st->describe : "none";
}
