#include <stdlib.h>
#include <string.h>

#include "ingest_problem.h"
#include "ingest_validate.h"

json_t *ingest_problem_string(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    apr_size_t len, i = 0, out = 0, n;
    json_t *j;
    char *buf;

    if (!s) {
        return NULL;
    }
    len = strlen(s);
    if (ingest_utf8_valid(s, len)) {
        return json_stringn(s, len);
    }
    buf = malloc(3 * len + 1);
    if (!buf) {
        return NULL;
    }
    while (i < len) {
        if ((n = ingest_utf8_char(s, i, len)) != 0) {
            memcpy(buf + out, s + i, n);
            out += n;
            i += n;
        } else {
            buf[out++] = '%';
            buf[out++] = hex[(unsigned char)s[i] >> 4];
            buf[out++] = hex[(unsigned char)s[i] & 15];
            i++;
        }
    }
    j = json_stringn(buf, out);
    free(buf);
    return j;
}

json_t *ingest_problem_json(const ingest_problem_t *pb)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(pb->type ? pb->type : "about:blank"));
    json_object_set_new(o, "title", json_string(pb->title ? pb->title : "Error"));
    json_object_set_new(o, "status", json_integer(pb->status));
    if (pb->detail) {
        json_object_set_new(o, "detail", ingest_problem_string(pb->detail));
    }
    if (pb->field) {
        json_object_set_new(o, "field", ingest_problem_string(pb->field));
    }
    if (pb->line > 0) {
        json_object_set_new(o, "line", json_integer(pb->line));
        json_object_set_new(o, "column", json_integer(pb->column));
    }
    return o;
}
