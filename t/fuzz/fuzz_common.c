#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "ingest_problem.h"

const char *fuzz_current_input;

void fuzz_fail(const char *target, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fuzz_%s: broken promise: ", target);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (fuzz_current_input) {
        fprintf(stderr, "fuzz_%s: input %s\n", target, fuzz_current_input);
    }
    fflush(stderr);
    abort();
}

void fuzz_reportable(const char *target, const char *field, const char *detail)
{
    ingest_problem_t pb = {0};
    json_t *doc;

    pb.status = 422;
    pb.type = INGEST_PROBLEM_BASE "invalid-field";
    pb.title = "Invalid request field";
    pb.field = field;
    pb.detail = detail;
    doc = ingest_problem_json(&pb);
    if (!doc || (field && !json_is_string(json_object_get(doc, "field")))
        || !json_is_string(json_object_get(doc, "detail"))) {
        fuzz_fail(target, "the refusal of field \"%s\" (%s) does not reach the problem document",
                  field ? field : "(none)", detail ? detail : "no detail");
    }
    json_decref(doc);
}

apr_pool_t *fuzz_pool(void)
{
    apr_pool_t *p = NULL;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS || !p) {
        fuzz_fail("common", "apr_pool_create failed");
    }
    return p;
}

static char *copy(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);

    if (!s) {
        fuzz_fail("common", "out of memory");
    }
    if (n) {
        memcpy(s, d, n);
    }
    s[n] = '\0';
    return s;
}

void fuzz_split(const uint8_t *data, size_t size, fuzz_field_t *fields, int n)
{
    size_t off = 0, len;
    const uint8_t *nl;
    int i;

    for (i = 0; i < n; ++i) {
        nl = i < n - 1 && off < size ? memchr(data + off, '\n', size - off) : NULL;
        len = nl ? (size_t)(nl - (data + off)) : size - off;
        fields[i].s = copy(data + off, len);
        fields[i].len = len;
        off += nl ? len + 1 : len;
    }
}

void fuzz_split_free(fuzz_field_t *fields, int n)
{
    int i;

    for (i = 0; i < n; ++i) {
        free(fields[i].s);
        fields[i].s = NULL;
    }
}

char *fuzz_exact_copy(const char *target, const uint8_t *s, size_t n)
{
    char *copy = malloc(n ? n : 1);

    if (!copy) {
        fuzz_fail(target, "out of memory");
    }
    if (n) {
        memcpy(copy, s, n);
    }
    return copy;
}
