#include "ingest_problem.h"

json_t *ingest_problem_json(const ingest_problem_t *pb)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(pb->type ? pb->type : "about:blank"));
    json_object_set_new(o, "title", json_string(pb->title ? pb->title : "Error"));
    json_object_set_new(o, "status", json_integer(pb->status));
    if (pb->detail) {
        json_object_set_new(o, "detail", json_string(pb->detail));
    }
    if (pb->field) {
        json_object_set_new(o, "field", json_string(pb->field));
    }
    if (pb->line > 0) {
        json_object_set_new(o, "line", json_integer(pb->line));
        json_object_set_new(o, "column", json_integer(pb->column));
    }
    return o;
}
