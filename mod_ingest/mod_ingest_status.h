#ifndef MOD_INGEST_STATUS_H
#define MOD_INGEST_STATUS_H

/* mod_ingest's section of mod_status's server-status page (mod_ingest_status.c). */

#include "mod_ingest.h"

/* From register_hooks: mod_status's optional status_hook. */
void ingest_status_register_hooks(apr_pool_t *p);

#endif
