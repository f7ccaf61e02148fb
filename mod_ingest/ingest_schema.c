#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ingest_jobmeta.h"
#include "ingest_schema.h"

/* {value, name}: parsing, naming and the error's list of choices alike */
static const struct {
    ingest_field_type_e type;
    const char *name;
} types[] = {
    {INGEST_FT_STRING, "string"},   {INGEST_FT_INTEGER, "integer"}, {INGEST_FT_NUMBER, "number"},
    {INGEST_FT_BOOLEAN, "boolean"}, {INGEST_FT_DATE, "date"},       {INGEST_FT_TIMESTAMP, "timestamp"},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

const char *ingest_field_type_name(ingest_field_type_e t)
{
    apr_size_t i;
    for (i = 0; i < NTYPES; i++) {
        if (types[i].type == t) {
            return types[i].name;
        }
    }
    return NULL;
}

static const char *type_choices(apr_pool_t *p)
{
    const char *s = "must be one of ";
    apr_size_t i;
    for (i = 0; i < NTYPES; i++) {
        s = apr_pstrcat(p, s, i ? ", " : "", types[i].name, NULL);
    }
    return s;
}

static apr_status_t field_of(apr_pool_t *p, const char *name, const json_t *def, ingest_schema_field_t *f,
                             ingest_verr_t *err)
{
    const char *path = apr_pstrcat(p, "schema.fields.", name, NULL), *k;
    const json_t *v;
    apr_size_t i;

    if (!json_is_object(def)) {
        return ingest_verr(err, path, "must be an object with a type");
    }
    json_object_foreach((json_t *)def, k, v)
    {
        if (strcmp(k, "type") && strcmp(k, "required")) {
            return ingest_verr(err, apr_pstrcat(p, path, ".", k, NULL),
                               "is not a member of a field (type, required)");
        }
    }
    v = json_object_get(def, "type");
    for (i = 0; json_is_string(v) && i < NTYPES; i++) {
        if (!strcmp(json_string_value(v), types[i].name)) {
            break;
        }
    }
    if (!json_is_string(v) || i == NTYPES) {
        return ingest_verr(err, apr_pstrcat(p, path, ".type", NULL), type_choices(p));
    }
    v = json_object_get(def, "required");
    if (v && !json_is_boolean(v)) {
        return ingest_verr(err, apr_pstrcat(p, path, ".required", NULL), "must be true or false");
    }
    f->name = apr_pstrdup(p, name);
    f->type = types[i].type;
    f->required = json_is_true(v);
    return APR_SUCCESS;
}

apr_status_t ingest_schema_parse(apr_pool_t *p, const json_t *j, ingest_schema_t **out, ingest_verr_t *err)
{
    ingest_schema_t *s;
    const json_t *fields, *v;
    const char *k;

    *out = NULL;
    if (!json_is_object(j)) {
        return ingest_verr(err, "schema", "must be an object with fields");
    }
    json_object_foreach((json_t *)j, k, v)
    {
        if (strcmp(k, "fields") && strcmp(k, "additional")) {
            return ingest_verr(err, apr_pstrcat(p, "schema.", k, NULL),
                               "is not a member of a schema (fields, additional)");
        }
    }
    fields = json_object_get(j, "fields");
    if (!json_is_object(fields) || json_object_size(fields) == 0) {
        return ingest_verr(err, "schema.fields", "must be an object of at least one field");
    }
    if (json_object_size(fields) > INGEST_SCHEMA_MAX_FIELDS) {
        return ingest_verr(err, "schema.fields", "must have at most 1000 fields");
    }
    v = json_object_get(j, "additional");
    if (v && !json_is_boolean(v)) {
        return ingest_verr(err, "schema.additional", "must be true or false");
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->fields = apr_array_make(p, (int)json_object_size(fields), sizeof(ingest_schema_field_t));
    s->by_name = apr_hash_make(p);
    s->additional = !json_is_false(v);
    json_object_foreach((json_t *)fields, k, v)
    {
        ingest_schema_field_t *f;
        if (!*k || strlen(k) > 255) {
            return ingest_verr(err, "schema.fields", "a field's name must be 1 to 255 bytes");
        }
        f = apr_array_push(s->fields);
        if (field_of(p, k, v, f, err) != APR_SUCCESS) {
            return APR_EINVAL;
        }
        apr_hash_set(s->by_name, f->name, APR_HASH_KEY_STRING, f);
    }
    *out = s;
    return APR_SUCCESS;
}

/* An optional sign and digits, nothing else, within 64 bits. */
static int parse_integer(const char *s, apr_int64_t *out)
{
    const char *d = s + (*s == '-' || *s == '+');
    char *end;
    long long v;

    if (!(*d >= '0' && *d <= '9')) {
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        return 0;
    }
    *out = (apr_int64_t)v;
    return 1;
}

/* JSON's number syntax, whole. */
static int is_json_number(const char *s)
{
    const char *c = s;
    if (*c == '-') {
        c++;
    }
    if (*c == '0') {
        c++;
    } else if (*c >= '1' && *c <= '9') {
        while (*c >= '0' && *c <= '9') {
            c++;
        }
    } else {
        return 0;
    }
    if (*c == '.') {
        if (!(*++c >= '0' && *c <= '9')) {
            return 0;
        }
        while (*c >= '0' && *c <= '9') {
            c++;
        }
    }
    if (*c == 'e' || *c == 'E') {
        c++;
        if (*c == '+' || *c == '-') {
            c++;
        }
        if (!(*c >= '0' && *c <= '9')) {
            return 0;
        }
        while (*c >= '0' && *c <= '9') {
            c++;
        }
    }
    return *c == '\0';
}

/* v converted to t: a new value, or NULL with *why. */
static json_t *convert(apr_pool_t *p, ingest_field_type_e t, const json_t *v, const char **why)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    apr_int64_t n;
    double d;
    char *end;

    /* a string with a NUL is no number, date or time */
    if (s && strlen(s) != json_string_length(v) && t != INGEST_FT_STRING) {
        s = "";
    }
    switch (t) {
    case INGEST_FT_STRING:
        if (s) {
            return json_incref((json_t *)v);
        }
        *why = "must be a string";
        return NULL;
    case INGEST_FT_INTEGER:
        if (json_is_integer(v)) {
            return json_incref((json_t *)v);
        }
        if (s && parse_integer(s, &n)) {
            return json_integer((json_int_t)n);
        }
        *why = "must be an integer";
        return NULL;
    case INGEST_FT_NUMBER:
        if (json_is_number(v)) {
            return json_incref((json_t *)v);
        }
        /* "6" stays 6 (a JSON integer), "6.0" a real: the CSV export
         * writes the value back as it came */
        if (s && is_json_number(s)) {
            if (!strpbrk(s, ".eE") && parse_integer(s, &n)) {
                return json_integer((json_int_t)n);
            }
            errno = 0;
            d = strtod(s, &end);
            if (*end == '\0' && errno != ERANGE && isfinite(d)) {
                return json_real(d);
            }
        }
        *why = "must be a number";
        return NULL;
    case INGEST_FT_BOOLEAN:
        if (json_is_boolean(v)) {
            return json_incref((json_t *)v);
        }
        if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "false"))) {
            return json_boolean(!strcasecmp(s, "true"));
        }
        *why = "must be true or false";
        return NULL;
    case INGEST_FT_DATE:
        if (s && ingest_date_parse(s, &n) == APR_SUCCESS) {
            return json_string(ingest_date_format(p, n));
        }
        *why = "must be a date (YYYY-MM-DD)";
        return NULL;
    case INGEST_FT_TIMESTAMP:
        if (s && ingest_rfc3339_parse(s, &n) == APR_SUCCESS) {
            return json_string(ingest_rfc3339_format(p, n));
        }
        *why = "must be an RFC 3339 timestamp with an offset";
        return NULL;
    }
    *why = "has an unknown type";
    return NULL;
}

json_t *ingest_schema_apply(apr_pool_t *p, const ingest_schema_t *s, const json_t *rec, ingest_verr_t *err)
{
    json_t *out, *v, *c;
    const char *k, *why = NULL;
    int i;

    if (!json_is_object(rec)) {
        ingest_verr(err, NULL, "the record is not an object");
        return NULL;
    }
    out = json_object();
    json_object_foreach((json_t *)rec, k, v)
    {
        if (!apr_hash_get(s->by_name, k, APR_HASH_KEY_STRING)) {
            if (!s->additional) {
                ingest_verr(err, apr_pstrdup(p, k), "is not in the schema");
                json_decref(out);
                return NULL;
            }
            json_object_set(out, k, v);
        }
    }
    for (i = 0; i < s->fields->nelts; i++) {
        const ingest_schema_field_t *f = &APR_ARRAY_IDX(s->fields, i, ingest_schema_field_t);
        v = json_object_get(rec, f->name);
        if (!v && !f->required) {
            continue; /* left out, and it may be */
        }
        if (!v || (f->required && (json_is_null(v) || (json_is_string(v) && !json_string_length(v))))) {
            ingest_verr(err, f->name, "is required");
            json_decref(out);
            return NULL;
        }
        /* null, or an empty CSV field of a type a string is not */
        if (json_is_null(v) || (json_is_string(v) && !json_string_length(v) && f->type != INGEST_FT_STRING)) {
            json_object_set_new(out, f->name, json_null());
            continue;
        }
        if (!(c = convert(p, f->type, v, &why))) {
            ingest_verr(err, f->name, why);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, f->name, c);
    }
    return out;
}
