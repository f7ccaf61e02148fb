#ifndef INGEST_SSE_H
#define INGEST_SSE_H

/* Server-Sent Events (the WHATWG HTML standard's text/event-stream): the
 * text of one event, and the event ids GET /api/ingest/events takes back
 * (Last-Event-ID, ?after=). Pure. */

#include <apr_pools.h>

/* "id: <id>\nevent: <event>\ndata: <line>\n...\n\n": one data line per line
 * of data (a CR, LF or CRLF ends a line, as the standard's parser reads
 * them), so any text arrives whole. id < 0: no id line; event NULL: no
 * event line (the client's default, "message"). */
char *ingest_sse_event(apr_pool_t *p, apr_int64_t id, const char *event, const char *data);

/* An event id as this server writes them: 1 to 19 decimal digits, at most
 * 2^63 - 1, no sign, no space. APR_EINVAL otherwise. */
apr_status_t ingest_sse_parse_id(const char *text, apr_int64_t *out);

#endif
