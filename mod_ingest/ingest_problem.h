#ifndef INGEST_PROBLEM_H
#define INGEST_PROBLEM_H

/* RFC 9457 problem details. Pure: builds the JSON document only. */

#include <jansson.h>

typedef struct {
    int status;         /* HTTP status, also the "status" member */
    const char *type;   /* a URI; NULL means "about:blank" */
    const char *title;  /* short, the same for every occurrence of the type */
    const char *detail; /* this occurrence, may be NULL */
    const char *field;  /* the offending request field or parameter, may be NULL */
    int line, column;   /* JSON parse position; 0 when not applicable */
} ingest_problem_t;

#define INGEST_PROBLEM_BASE "urn:mod-ingest:problem:"

/* A new reference the caller owns (json_decref). detail and field go
 * through ingest_problem_string. */
json_t *ingest_problem_json(const ingest_problem_t *pb);

/* s as a JSON string, bytes that are not part of valid UTF-8 written as
 * %XX (as a URL carries them): a name the client sent, such as a query
 * parameter "%FF", stays readable in the answer, where jansson would
 * refuse the string and the member would silently be missing. NULL only
 * when s is NULL or memory runs out. */
json_t *ingest_problem_string(const char *s);

#endif
