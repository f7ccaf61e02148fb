#ifndef MOD_INGEST_H
#define MOD_INGEST_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

extern module AP_MODULE_DECLARE_DATA ingest_module;

/* Module-local log numbers, in the spirit of httpd's APLOGNO: every line
 * this module logs carries a stable "IGnnnnn: " tag an operator can grep
 * for and the docs can list. Numbers are never reused. */
#define IGLOGNO(n) "IG" #n ": "

#ifdef APLOG_USE_MODULE
APLOG_USE_MODULE(ingest);
#endif

#endif
