/* fuzz_parse: the streaming file parsers (ingest_parse*.c) as the worker
 * drives them, fed in chunks whose ends the input chooses, under limits it
 * chooses.
 *
 * Input: byte 0 picks the parser ((byte - '0') modulo 5: '0' csv, '1'
 * json, '2' ndjson, '3' text, '4' binary); byte 1 is the size of the
 * chunks after the first ones (0: the rest in one); byte 2 says how many
 * first chunks there are (its low 3 bits) and which limits are small (its
 * high 5 bits, one a limit: a 64-byte record, 3 names, 40 bytes of names,
 * 5-byte cells, 60 bytes of preview; none: the defaults); the bytes after
 * it give the first chunks' sizes (0..255, 0 being an empty feed). The
 * rest is the file.
 *
 * Promises checked (ingest_parse.h):
 *  - the result never depends on where the chunks end: fed whole, the file
 *    fails at the same stage (a feed or finish) with the same error, line
 *    and column, or succeeds with the same summary; records agree, and
 *    lines too when it succeeded;
 *  - after an error, every later call fails the same way, and there is no
 *    summary; the error is UTF-8 (it goes to a text column and to JSON);
 *  - the summary serializes to JSON that jansson reads back equal (strict
 *    UTF-8 without NUL: it is stored as jsonb), its counts are the
 *    parser's, and lines are the newlines plus an unterminated last line;
 *  - the summary keeps within the limits: at most the names allowed, each
 *    name, key and string at most a cell, at most INGEST_PARSE_PREVIEW
 *    records, its JSON text under names_json + preview_json +
 *    INGEST_PARSE_SUMMARY_FIXED bytes, and "truncated" true or absent;
 *  - with a record sink attached, it is handed every record counted, in
 *    order (seq 1, 2, ...; lines that do not go back), each as its format
 *    says (a CSV row of the header's count of NUL-ended fields, a JSON
 *    object, a text line without a line feed and at most record_bytes),
 *    the same records however the input is cut; and the parse ends as
 *    without a sink (text: unless a line is too long for a record);
 *  - with a handler of bad records too (skip mode), the bad records and
 *    the good ones share one seq in file order, each bad one has a UTF-8
 *    reason, the result does not depend on the chunks either, and a parse
 *    that stepped over none ends as without the handler. */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "ingest_parse.h"
#include "ingest_validate.h"

#define T "parse"

typedef struct {
    int failed; /* 0; 1: a feed failed; 2: finish did */
    char *error;
    int line, col;
    apr_int64_t records, lines;
    json_t *summary;
    /* with a sink: the records handed over, and a hash of them */
    apr_int64_t handed, last_line;
    apr_int64_t bad; /* with the handler: bad records stepped over */
    uint64_t digest;
    apr_size_t record_bytes;
} outcome_t;

/* FNV-1a */
static void hash(outcome_t *o, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n--) {
        o->digest = (o->digest ^ *b++) * 1099511628211ULL;
    }
}

static apr_status_t sink(void *baton, const ingest_parser_t *ps, const ingest_record_t *rec)
{
    outcome_t *o = baton;
    const char *const *names;
    const apr_size_t *lens;
    char *text;
    size_t i;

    FUZZ_CHECK(T, rec->seq == o->handed + o->bad + 1 && rec->line >= 1 && rec->line >= o->last_line);
    o->handed++;
    o->last_line = rec->line;
    hash(o, &rec->seq, sizeof(rec->seq));
    hash(o, &rec->line, sizeof(rec->line));
    if (rec->fields) {
        FUZZ_CHECK(T, rec->nfields == ingest_parser_columns(ps, &names, &lens) && !rec->value && !rec->text);
        for (i = 0; i < rec->nfields; ++i) {
            FUZZ_CHECK(T, rec->fields[i][rec->field_lens[i]] == '\0');
            hash(o, &rec->field_lens[i], sizeof(rec->field_lens[i]));
            hash(o, rec->fields[i], rec->field_lens[i]);
        }
    } else if (rec->value) {
        FUZZ_CHECK(T, json_is_object(rec->value) && !rec->text);
        text = json_dumps(rec->value, JSON_COMPACT);
        FUZZ_CHECK(T, text != NULL);
        hash(o, text, strlen(text));
        free(text);
    } else {
        FUZZ_CHECK(T, rec->text != NULL && rec->text_len <= o->record_bytes);
        FUZZ_CHECK(T, !memchr(rec->text, '\n', rec->text_len));
        hash(o, rec->text, rec->text_len);
    }
    return APR_SUCCESS;
}

static apr_status_t on_bad(void *baton, const ingest_parser_t *ps, const ingest_bad_record_t *bad)
{
    outcome_t *o = baton;

    FUZZ_CHECK(T, bad->seq == o->handed + o->bad + 1 && bad->seq == ingest_parser_records(ps) + o->bad + 1);
    FUZZ_CHECK(T, bad->line >= 1 && bad->line >= o->last_line && bad->col >= 0);
    FUZZ_CHECK(T, bad->reason && ingest_utf8_valid(bad->reason, strlen(bad->reason)));
    o->bad++;
    o->last_line = bad->line;
    hash(o, &bad->seq, sizeof(bad->seq));
    hash(o, &bad->line, sizeof(bad->line));
    hash(o, &bad->col, sizeof(bad->col));
    hash(o, bad->reason, strlen(bad->reason));
    return APR_SUCCESS;
}

/* Each chunk from an allocation of exactly its size, so that ASan sees a
 * parser reading past the chunk it was given. */
static apr_status_t feed_copy(ingest_parser_t *ps, const uint8_t *s, size_t n)
{
    char *copy = fuzz_exact_copy(T, s, n);
    apr_status_t rv = ingest_parser_feed(ps, copy, n);

    free(copy);
    return rv;
}

/* Feeds nsizes chunks of the given sizes, then the rest in chunks of step
 * bytes (0: at once), and finishes, under lim (NULL: the defaults); with_sink
 * 1: a record sink attached, 2: and a handler of bad records. */
static void run(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const uint8_t *file, size_t len,
                const uint8_t *sizes, size_t nsizes, size_t step, int with_sink, outcome_t *o)
{
    apr_pool_t *p = fuzz_pool();
    ingest_parser_t *ps = NULL;
    size_t off = 0, n, i = 0;
    const char *e;

    memset(o, 0, sizeof(*o));
    o->digest = 14695981039346656037ULL;
    o->record_bytes = lim ? lim->record_bytes : INGEST_PARSE_DEFAULT_RECORD;
    if (ingest_parser_create(p, kind, lim, &ps) != APR_SUCCESS || !ps) {
        fuzz_fail(T, "ingest_parser_create failed");
    }
    if (with_sink && ingest_parser_add_sink(ps, sink, o) != APR_SUCCESS) {
        fuzz_fail(T, "ingest_parser_add_sink failed");
    }
    if (with_sink == 2 && ingest_parser_on_bad_record(ps, on_bad, o) != APR_SUCCESS) {
        fuzz_fail(T, "ingest_parser_on_bad_record failed");
    }
    while (!o->failed && (i < nsizes || off < len)) {
        n = i < nsizes ? sizes[i++] : step ? step : len - off;
        if (n > len - off) {
            n = len - off;
        }
        if (feed_copy(ps, file + off, n) != APR_SUCCESS) {
            o->failed = 1;
        }
        off += n;
    }
    if (!o->failed && ingest_parser_finish(ps) != APR_SUCCESS) {
        o->failed = 2;
    }
    e = ingest_parser_error(ps, &o->line, &o->col);
    o->error = e ? strdup(e) : NULL;
    o->records = ingest_parser_records(ps);
    o->lines = ingest_parser_lines(ps);
    o->summary = ingest_parser_summary(ps);
    /* every record counted was handed over */
    FUZZ_CHECK(T, !with_sink || o->handed == o->records);
    FUZZ_CHECK(T, o->bad == ingest_parser_bad_records(ps));
    if (o->failed) {
        FUZZ_CHECK(T, o->error != NULL && ingest_utf8_valid(o->error, strlen(o->error)));
        FUZZ_CHECK(T, o->line >= 0 && o->col >= 0);
        FUZZ_CHECK(T, o->summary == NULL);
        /* every later call fails the same way */
        FUZZ_CHECK(T, ingest_parser_feed(ps, "x", 1) == APR_EINVAL);
        FUZZ_CHECK(T, ingest_parser_finish(ps) == APR_EINVAL);
        FUZZ_CHECK(T, !strcmp(ingest_parser_error(ps, NULL, NULL), o->error));
        FUZZ_CHECK(T, ingest_parser_summary(ps) == NULL);
    } else {
        FUZZ_CHECK(T, e == NULL && o->line == 0 && o->col == 0);
        FUZZ_CHECK(T, o->summary != NULL);
        /* finishing twice is harmless */
        FUZZ_CHECK(T, ingest_parser_finish(ps) == APR_SUCCESS);
    }
    /* destroyed early, then again by its pool */
    ingest_parser_destroy(ps);
    apr_pool_destroy(p);
}

static void release(outcome_t *o)
{
    free(o->error);
    json_decref(o->summary);
}

static void same(const outcome_t *got, const outcome_t *want)
{
    if (got->handed != want->handed || got->bad != want->bad || got->digest != want->digest) {
        fuzz_fail(T,
                  "the chunks changed the records handed over: %" APR_INT64_T_FMT ", whole %" APR_INT64_T_FMT,
                  got->handed, want->handed);
    }
    if (got->failed != want->failed || (!got->error != !want->error)
        || (got->error && strcmp(got->error, want->error)) || got->line != want->line || got->col != want->col
        || got->records != want->records || (!got->failed && got->lines != want->lines)
        || (!got->summary != !want->summary) || (got->summary && !json_equal(got->summary, want->summary))) {
        char *gs = got->summary ? json_dumps(got->summary, JSON_COMPACT) : NULL;
        char *ws = want->summary ? json_dumps(want->summary, JSON_COMPACT) : NULL;
        fuzz_fail(T,
                  "the chunks changed the result: failed %d \"%s\" at %d:%d, %" APR_INT64_T_FMT
                  " records, %" APR_INT64_T_FMT " lines, summary %s; whole: failed %d \"%s\" at %d:%d, "
                  "%" APR_INT64_T_FMT " records, %" APR_INT64_T_FMT " lines, summary %s",
                  got->failed, got->error ? got->error : "", got->line, got->col, got->records, got->lines,
                  gs ? gs : "-", want->failed, want->error ? want->error : "", want->line, want->col,
                  want->records, want->lines, ws ? ws : "-");
    }
}

/* Every string and key of the preview is cut to a cell. */
static void check_cells(json_t *v, apr_size_t cell)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING: FUZZ_CHECK(T, json_string_length(v) <= cell); break;
    case JSON_OBJECT:
        json_object_foreach(v, key, item)
        {
            FUZZ_CHECK(T, strlen(key) <= cell);
            check_cells(item, cell);
        }
        break;
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            check_cells(item, cell);
        }
        break;
    default: break;
    }
}

static void check_summary(ingest_parse_kind_e kind, const ingest_parse_limits_t *lim, const uint8_t *file,
                          size_t len, const outcome_t *o)
{
    apr_int64_t newlines = 0;
    json_error_t jerr;
    json_t *back, *preview, *names, *truncated;
    char *text;
    size_t i;

    text = json_dumps(o->summary, JSON_COMPACT);
    FUZZ_CHECK(T, text != NULL);
    back = json_loads(text, 0, &jerr);
    if (!back || !json_equal(back, o->summary)) {
        fuzz_fail(T, "the summary does not read back (%s): %s", back ? "not equal" : jerr.text, text);
    }
    json_decref(back);
    if (strlen(text) >= lim->names_json + lim->preview_json + INGEST_PARSE_SUMMARY_FIXED) {
        fuzz_fail(T, "a summary of %zu bytes: %s", strlen(text), text);
    }
    free(text);
    truncated = json_object_get(o->summary, "truncated");
    FUZZ_CHECK(T, !truncated || json_is_true(truncated));

    if (kind == INGEST_PARSE_BINARY) {
        FUZZ_CHECK(T, json_object_size(o->summary) == 1 && o->records == 0);
        return;
    }
    for (i = 0; i < len; ++i) {
        newlines += file[i] == '\n';
    }
    FUZZ_CHECK(T, o->lines == newlines + (len && file[len - 1] != '\n'));
    FUZZ_CHECK(T, json_integer_value(json_object_get(o->summary, "records")) == o->records);
    FUZZ_CHECK(T, json_integer_value(json_object_get(o->summary, "lines")) == o->lines);
    FUZZ_CHECK(T, kind != INGEST_PARSE_TEXT || o->records == o->lines);
    names = json_object_get(o->summary, kind == INGEST_PARSE_CSV ? "columns" : "keys");
    if (kind == INGEST_PARSE_CSV || kind == INGEST_PARSE_JSON || kind == INGEST_PARSE_NDJSON) {
        FUZZ_CHECK(T, json_is_array(names) && json_array_size(names) <= lim->names);
        check_cells(names, lim->cell_bytes);
    }
    preview = json_object_get(o->summary, "preview");
    FUZZ_CHECK(T, json_is_array(preview) && json_array_size(preview) <= INGEST_PARSE_PREVIEW);
    FUZZ_CHECK(T, (apr_int64_t)json_array_size(preview) <= o->records);
    check_cells(preview, lim->cell_bytes);
}

/* The limits the high bits of b choose, each bit one small limit; every
 * limit is spelled out (the parser's defaults for the others), so that the
 * checks know them. */
static void choose_limits(uint8_t b, ingest_parse_limits_t *lim)
{
    lim->record_bytes = b & 1 ? 64 : INGEST_PARSE_DEFAULT_RECORD;
    lim->names = b & 2 ? 3 : INGEST_PARSE_DEFAULT_NAMES;
    lim->names_json = b & 4 ? 40 : INGEST_PARSE_DEFAULT_NAMES_JSON;
    lim->cell_bytes = b & 8 ? 5 : INGEST_PARSE_DEFAULT_CELL;
    lim->preview_json = b & 16 ? 60 : INGEST_PARSE_DEFAULT_PREVIEW_JSON;
}

int fuzz_parse(const uint8_t *data, size_t size)
{
    ingest_parse_limits_t lim;
    ingest_parse_kind_e kind;
    size_t step, nsizes, hdr;
    outcome_t whole, chunked, sunk, skipped;

    if (size < 3) {
        return 0;
    }
    kind = (ingest_parse_kind_e)((uint8_t)(data[0] - '0') % 5);
    step = data[1];
    nsizes = data[2] & 7;
    choose_limits(data[2] >> 3, &lim);
    hdr = 3 + nsizes;
    if (size < hdr) {
        return 0;
    }
    /* the defaults as NULL, the way the worker asks for them */
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, NULL, 0, 0, 0, &whole);
    if (!whole.failed) {
        check_summary(kind, &lim, data + hdr, size - hdr, &whole);
    }
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, data + 3, nsizes, step, 0, &chunked);
    same(&chunked, &whole);
    release(&chunked);

    /* with a sink: the same records however the input is cut, and the
     * same end as without one (text: unless a line is too long) */
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, NULL, 0, 0, 1, &sunk);
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, data + 3, nsizes, step, 1, &chunked);
    same(&chunked, &sunk);
    release(&chunked);

    /* skip mode: the same however the input is cut; with nothing to step
     * over, the same as without the handler */
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, NULL, 0, 0, 2, &skipped);
    run(kind, data[2] >> 3 ? &lim : NULL, data + hdr, size - hdr, data + 3, nsizes, step, 2, &chunked);
    same(&chunked, &skipped);
    if (skipped.bad == 0) {
        same(&skipped, &sunk);
    }
    FUZZ_CHECK(T, skipped.bad == 0 || sunk.failed);

    if (kind != INGEST_PARSE_TEXT || !sunk.failed) {
        sunk.handed = whole.handed;
        sunk.digest = whole.digest;
        same(&sunk, &whole);
    }
    release(&whole);
    release(&chunked);
    release(&sunk);
    release(&skipped);
    return 0;
}
