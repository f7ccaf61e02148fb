#ifndef UNIT_H
#define UNIT_H

/* Unit tests of the pure core (mod_ingest/ingest_*.c), one suite per
 * source file, all run by unit_main.c and reported as TAP on stdout. */

#include <check.h>

#include <apr_pools.h>
#include <jansson.h>

Suite *suite_job(void);
Suite *suite_validate(void);
Suite *suite_query(void);
Suite *suite_identity(void);
Suite *suite_problem(void);
Suite *suite_sign(void);
Suite *suite_webhook(void);
Suite *suite_callback(void);
Suite *suite_simulate(void);
Suite *suite_parse(void);
Suite *suite_ingest_json(void);
Suite *suite_jobmeta(void);
Suite *suite_parse_regress(void);
Suite *suite_fuzz_replay(void);
Suite *suite_records(void);
Suite *suite_profile(void);
Suite *suite_metrics(void);
Suite *suite_cache(void);
Suite *suite_cursor(void);
Suite *suite_copy(void);
Suite *suite_schema(void);
Suite *suite_notify_url(void);

/* The pool of the running test. Every TCase installs unit_pool_setup and
 * unit_pool_teardown as a checked fixture, so each test gets a fresh pool
 * (apr_pool_create) that is destroyed when the test ends, also when an
 * assertion fails in CK_NOFORK mode. */
extern apr_pool_t *unit_pool;
void unit_pool_setup(void);
void unit_pool_teardown(void);

/* A TCase with the pool fixture installed. */
TCase *unit_tcase(const char *name);

/* Hands a jansson reference to unit_pool: it is json_decref'd when the
 * pool is destroyed, so a failing assertion does not leak it. Returns j. */
json_t *unit_json_own(json_t *j);

/* The same for a malloc'd string (free()). Returns s. */
char *unit_str_own(char *s);

/* Parses JSON text that the test knows is valid, owned by unit_pool. */
json_t *unit_json(const char *text);

#endif
