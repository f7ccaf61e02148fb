#ifndef INGEST_COPY_H
#define INGEST_COPY_H

/* PostgreSQL's binary COPY format (COPY ... FROM STDIN WITH (FORMAT
 * binary)), written into a growing buffer: the header, tuples of typed
 * fields, the trailer. What the worker sends with PQputCopyData to land a
 * file's records (mod_ingest_store_records.c). Pure: no libpq here.
 *
 * Binary, not text: a record's JSON needs no escaping for COPY, and
 * PostgreSQL reads integers and uuids without parsing them. */

#include <apr.h>

typedef struct {
    char *data; /* malloc'd; free with ingest_copy_free */
    apr_size_t len, cap;
    int failed; /* an allocation failed: the buffer is unusable */
} ingest_copy_t;

/* Empties the buffer (keeps its memory) and writes the format's header. */
void ingest_copy_start(ingest_copy_t *b);
/* A tuple of nfields fields, each written by one of the calls below. */
void ingest_copy_tuple(ingest_copy_t *b, int nfields);
/* uuid: its 16 bytes */
void ingest_copy_uuid(ingest_copy_t *b, const unsigned char id[16]);
/* bigint */
void ingest_copy_int8(ingest_copy_t *b, apr_int64_t v);
/* text (valid UTF-8: the server checks) */
void ingest_copy_text(ingest_copy_t *b, const char *s, apr_size_t len);
/* jsonb from JSON text: the format's version byte, then the text. The text
 * of a field written piecewise: ingest_copy_jsonb_open, appends with
 * ingest_copy_put, ingest_copy_jsonb_close (which sets the length). */
apr_size_t ingest_copy_jsonb_open(ingest_copy_t *b);
void ingest_copy_jsonb_close(ingest_copy_t *b, apr_size_t opened);
/* The end of the data. */
void ingest_copy_finish(ingest_copy_t *b);

/* Raw bytes. */
void ingest_copy_put(ingest_copy_t *b, const void *s, apr_size_t len);
void ingest_copy_free(ingest_copy_t *b);

/* The 16 bytes of a uuid's text form; 0 when it is not one. */
int ingest_copy_uuid_parse(const char *text, unsigned char id[16]);

#endif
