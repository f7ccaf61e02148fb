/* The directory backend (IngestStorage file:/path, or IngestStorageDir): a
 * file is written under a temporary name in its tenant's directory,
 * fsync'ed, renamed and the directory fsync'ed, so a name that exists is a
 * whole, durable file. */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "mod_ingest_storage.h"

#define DIR_PERMS                                                                                            \
    (APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE | APR_FPROT_GREAD | APR_FPROT_GEXECUTE)

typedef struct {
    const char *dir, *tmp;
    apr_file_t *fd;
} file_impl_t;

static const char *full_path(apr_pool_t *p, const ingest_storage_t *st, const char *rel)
{
    return apr_pstrcat(p, st->root, "/", rel, NULL);
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

static apr_status_t file_begin(ingest_storage_file_t *f)
{
    file_impl_t *fi = apr_pcalloc(f->p, sizeof(*fi));
    const char *root = f->st->root, *slash = strchr(f->rel, '/');
    char *tmpl;
    apr_status_t rv;

    fi->dir = apr_pstrcat(f->p, root, "/", apr_pstrmemdup(f->p, f->rel, (apr_size_t)(slash - f->rel)), NULL);
    /* A tenant's first file creates its directory: the new entry in the
     * root must be durable before any job says its file is there. */
    rv = apr_dir_make(fi->dir, DIR_PERMS, f->p);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = apr_dir_make_recursive(fi->dir, DIR_PERMS, f->p); /* the root itself is missing */
    }
    if (rv == APR_SUCCESS) {
        rv = sync_dir(root);
    } else if (APR_STATUS_IS_EEXIST(rv)) {
        rv = APR_SUCCESS;
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    tmpl = apr_pstrcat(f->p, fi->dir, "/.upload-XXXXXX", NULL);
    if ((rv = apr_file_mktemp(&fi->fd, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL, f->p))
        != APR_SUCCESS) {
        return rv;
    }
    fi->tmp = tmpl;
    f->impl = fi;
    return APR_SUCCESS;
}

static apr_status_t file_write(ingest_storage_file_t *f, const char *buf, apr_size_t len)
{
    file_impl_t *fi = f->impl;
    apr_size_t n = len;
    return apr_file_write_full(fi->fd, buf, len, &n);
}

static apr_status_t file_commit(ingest_storage_file_t *f)
{
    file_impl_t *fi = f->impl;
    const char *final = full_path(f->p, f->st, f->rel);
    apr_status_t rv;

    if ((rv = apr_file_sync(fi->fd)) != APR_SUCCESS || (rv = apr_file_close(fi->fd)) != APR_SUCCESS) {
        return rv;
    }
    fi->fd = NULL;
    if ((rv = apr_file_rename(fi->tmp, final, f->p)) != APR_SUCCESS) {
        return rv;
    }
    fi->tmp = NULL;
    if ((rv = sync_dir(fi->dir)) != APR_SUCCESS) {
        /* not durable, so not committed: the caller answers an error and
         * the client sends the file again under a new name */
        apr_file_remove(final, f->p);
        return rv;
    }
    return APR_SUCCESS;
}

static void file_abandon(ingest_storage_file_t *f)
{
    file_impl_t *fi = f->impl;
    if (!fi) {
        return;
    }
    if (fi->fd) {
        apr_file_close(fi->fd);
        fi->fd = NULL;
    }
    if (fi->tmp) {
        apr_file_remove(fi->tmp, f->p);
        fi->tmp = NULL;
    }
}

static apr_status_t file_open(ingest_storage_reader_t *rd)
{
    apr_file_t *fd;
    apr_status_t rv = apr_file_open(&fd, full_path(rd->p, rd->st, rd->rel), APR_FOPEN_READ, 0, rd->p);
    if (rv == APR_SUCCESS) {
        rd->impl = fd;
    }
    return APR_STATUS_IS_ENOENT(rv) ? APR_ENOENT : rv;
}

static apr_status_t file_read(ingest_storage_reader_t *rd, char *buf, apr_size_t *len)
{
    apr_status_t rv = apr_file_read(rd->impl, buf, len);
    if (rv == APR_SUCCESS && *len == 0) {
        rv = APR_EOF;
    }
    if (rv == APR_EOF) {
        *len = 0;
    }
    return rv;
}

static apr_status_t file_remove(apr_pool_t *p, const ingest_storage_t *st, const char *rel)
{
    apr_status_t rv = apr_file_remove(full_path(p, st, rel), p);
    return APR_STATUS_IS_ENOENT(rv) ? APR_SUCCESS : rv;
}

const ingest_storage_ops_t ingest_storage_file_ops = {
    .name = "file",
    .begin = file_begin,
    .write = file_write,
    .commit = file_commit,
    .abandon = file_abandon,
    .open = file_open,
    .read = file_read,
    .remove = file_remove,
};
