#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "mod_ingest_storage.h"

#define DIR_PERMS                                                                                            \
    (APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE | APR_FPROT_GREAD | APR_FPROT_GEXECUTE)

struct ingest_storage_file {
    apr_pool_t *p;
    const char *root, *dir, *tmp, *final_rel;
    apr_file_t *fd;
    EVP_MD_CTX *md;
    apr_off_t size;
    int committed;
};

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

static apr_status_t file_cleanup(void *data)
{
    ingest_storage_file_t *f = data;
    if (f->md) {
        EVP_MD_CTX_free(f->md);
        f->md = NULL;
    }
    if (!f->committed && f->tmp) {
        if (f->fd) {
            apr_file_close(f->fd);
            f->fd = NULL;
        }
        apr_file_remove(f->tmp, f->p);
    }
    return APR_SUCCESS;
}

/* A rename is durable only once the directory entry is on disk too. */
static apr_status_t sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc;
    if (fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    rc = fsync(fd);
    close(fd);
    return rc ? APR_FROM_OS_ERROR(errno) : APR_SUCCESS;
}

apr_status_t ingest_storage_begin(apr_pool_t *p, const char *root, const char *tenant, const char *job_id,
                                  ingest_storage_file_t **out)
{
    ingest_storage_file_t *f = apr_pcalloc(p, sizeof(*f));
    unsigned char nonce[6];
    char *tmpl;
    apr_status_t rv;

    f->p = p;
    f->root = root;
    f->dir = apr_pstrcat(p, root, "/", ingest_storage_tenant_dir(p, tenant), NULL);
    /* A tenant's first file creates its directory: the new entry in the
     * root must be durable before any job says its file is there. */
    rv = apr_dir_make(f->dir, DIR_PERMS, p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = apr_dir_make_recursive(f->dir, DIR_PERMS, p); /* the root itself is missing */
    }
    if (rv == APR_SUCCESS) {
        rv = sync_dir(root);
    } else if (APR_STATUS_IS_EEXIST(rv)) {
        rv = APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_generate_random_bytes(nonce, sizeof(nonce));
    f->final_rel = apr_psprintf(p, "%s/%s.%02x%02x%02x%02x%02x%02x", ingest_storage_tenant_dir(p, tenant),
                                job_id, nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5]);
    tmpl = apr_pstrcat(p, f->dir, "/.upload-XXXXXX", NULL);
    if ((rv = apr_file_mktemp(&f->fd, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p))
        != APR_SUCCESS) {
        return rv;
    }
    f->tmp = tmpl;
    f->md = EVP_MD_CTX_new();
    apr_pool_cleanup_register(p, f, file_cleanup, apr_pool_cleanup_null);
    if (!f->md || EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
        return APR_EGENERAL;
    }
    *out = f;
    return APR_SUCCESS;
}

apr_status_t ingest_storage_write(ingest_storage_file_t *f, const char *buf, apr_size_t len)
{
    apr_size_t n = len;
    apr_status_t rv = apr_file_write_full(f->fd, buf, len, &n);
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

    if ((rv = apr_file_sync(f->fd)) != APR_SUCCESS || (rv = apr_file_close(f->fd)) != APR_SUCCESS) {
        return rv;
    }
    f->fd = NULL;
    if (EVP_DigestFinal_ex(f->md, md, &mdlen) != 1) {
        return APR_EGENERAL;
    }
    hex = apr_palloc(f->p, mdlen * 2 + 1);
    for (i = 0; i < mdlen; ++i) {
        apr_snprintf(hex + i * 2, 3, "%02x", md[i]);
    }
    if ((rv = apr_file_rename(f->tmp, apr_pstrcat(f->p, f->root, "/", f->final_rel, NULL), f->p))
        != APR_SUCCESS) {
        return rv;
    }
    f->committed = 1;
    if ((rv = sync_dir(f->dir)) != APR_SUCCESS) {
        /* not durable, so not committed: the caller answers an error and
         * the client sends the file again under a new name */
        apr_file_remove(apr_pstrcat(f->p, f->root, "/", f->final_rel, NULL), f->p);
        return rv;
    }
    *rel = f->final_rel;
    *sha256 = hex;
    return APR_SUCCESS;
}

const char *ingest_storage_path(apr_pool_t *p, const char *root, const char *rel)
{
    return apr_pstrcat(p, root, "/", rel, NULL);
}

apr_status_t ingest_storage_remove(apr_pool_t *p, const char *root, const char *rel)
{
    apr_status_t rv;
    if (!root || !rel || !*rel) {
        return APR_SUCCESS;
    }
    rv = apr_file_remove(ingest_storage_path(p, root, rel), p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}
