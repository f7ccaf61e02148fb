#include <stdio.h>
#include <string.h>

#include "ingest_record_json.h"
#include "ingest_validate.h"

#define PUTS(b, lit) ingest_copy_put((b), (lit), sizeof(lit) - 1)

void ingest_record_json_string(ingest_copy_t *b, const char *s, apr_size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    apr_size_t i = 0, run = 0, n;
    char esc[6] = {'\\', 'u', '0', '0', 0, 0};

    PUTS(b, "\"");
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            run++;
            continue;
        }
        /* a run of plain ASCII goes out in one piece */
        ingest_copy_put(b, s + i - run, run);
        run = 0;
        if (c >= 0x80) {
            if ((n = ingest_utf8_char(s, i, len)) != 0) {
                ingest_copy_put(b, s + i, n);
                i += n;
            } else {
                PUTS(b, "\xEF\xBF\xBD");
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': PUTS(b, "\\\""); break;
        case '\\': PUTS(b, "\\\\"); break;
        case '\n': PUTS(b, "\\n"); break;
        case '\r': PUTS(b, "\\r"); break;
        case '\t': PUTS(b, "\\t"); break;
        case 0: PUTS(b, "\xEF\xBF\xBD"); break;
        default:
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 15];
            ingest_copy_put(b, esc, sizeof(esc));
        }
        i++;
    }
    ingest_copy_put(b, s + i - run, run);
    PUTS(b, "\"");
}

void ingest_record_json_csv(ingest_copy_t *b, apr_size_t n, const char *const *names,
                            const apr_size_t *name_lens, const char *const *fields,
                            const apr_size_t *field_lens)
{
    apr_size_t i;

    PUTS(b, "{");
    for (i = 0; i < n; i++) {
        if (i) {
            PUTS(b, ",");
        }
        ingest_record_json_string(b, names[i], name_lens[i]);
        PUTS(b, ":");
        ingest_record_json_string(b, fields[i], field_lens[i]);
    }
    PUTS(b, "}");
}

void ingest_record_json_line(ingest_copy_t *b, const char *s, apr_size_t len)
{
    PUTS(b, "{\"line\":");
    ingest_record_json_string(b, s, len);
    PUTS(b, "}");
}

void ingest_record_json_value(ingest_copy_t *b, const json_t *v)
{
    char num[64];
    const char *key;
    apr_size_t key_len, i;
    json_t *item;
    int n, first = 1;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        PUTS(b, "{");
        json_object_keylen_foreach((json_t *)v, key, key_len, item)
        {
            if (!first) {
                PUTS(b, ",");
            }
            first = 0;
            ingest_record_json_string(b, key, key_len);
            PUTS(b, ":");
            ingest_record_json_value(b, item);
        }
        PUTS(b, "}");
        break;
    case JSON_ARRAY:
        PUTS(b, "[");
        json_array_foreach((json_t *)v, i, item)
        {
            if (i) {
                PUTS(b, ",");
            }
            ingest_record_json_value(b, item);
        }
        PUTS(b, "]");
        break;
    case JSON_STRING: ingest_record_json_string(b, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
        n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        ingest_copy_put(b, num, (apr_size_t)n);
        break;
    case JSON_REAL:
        /* jansson's own form of a real (always with '.' or an exponent) */
        n = (int)json_dumpb(v, num, sizeof(num), JSON_ENCODE_ANY);
        ingest_copy_put(b, num, n > 0 && (apr_size_t)n < sizeof(num) ? (apr_size_t)n : 0);
        break;
    case JSON_TRUE: PUTS(b, "true"); break;
    case JSON_FALSE: PUTS(b, "false"); break;
    default: PUTS(b, "null"); break;
    }
}
