#ifndef FUZZ_H
#define FUZZ_H

/* Fuzz targets: one function per parser of untrusted input in the pure
 * core, each taking the fuzzer's bytes. The same functions build twice:
 *   - with clang -fsanitize=fuzzer,address,undefined, one binary per
 *     target (fuzz_main.c maps LLVMFuzzerTestOneInput to one of them):
 *     `make fuzz` and t/fuzz/fuzz.t;
 *   - into the unit tests (t/unit/test_fuzz_replay.c), which replay every
 *     input of t/fuzz/corpus/<target>/ and t/fuzz/regressions/<target>/
 *     on each run of the suite, plain, under ASan+UBSan and valgrind.
 * A target checks what its parser promises as well as surviving it: a
 * broken promise calls fuzz_fail, which aborts, and the fuzzer counts that
 * as a crash like any other. */

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>
#include <apr_time.h>

int fuzz_parse(const uint8_t *data, size_t size);
int fuzz_ingest_json(const uint8_t *data, size_t size);
int fuzz_query(const uint8_t *data, size_t size);
int fuzz_webhook(const uint8_t *data, size_t size);
int fuzz_sign(const uint8_t *data, size_t size);
int fuzz_identity(const uint8_t *data, size_t size);
int fuzz_records(const uint8_t *data, size_t size);

/* The clock every target runs at (2023-11-14T22:13:20Z), so that the
 * seeds' timestamps and expiries stay valid. */
#define FUZZ_NOW_SEC 1700000000
#define FUZZ_NOW     apr_time_from_sec(FUZZ_NOW_SEC)

/* The input being replayed, named by fuzz_fail (NULL under libFuzzer,
 * which names it itself). */
extern const char *fuzz_current_input;

/* Says which promise of which target broke, and aborts. */
void fuzz_fail(const char *target, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* n bytes of s in an allocation of exactly their size (malloc; free it),
 * so that ASan sees a reader going past the chunk it was given. */
char *fuzz_exact_copy(const char *target, const uint8_t *s, size_t n);

#define FUZZ_CHECK(target, cond)                                                                             \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fuzz_fail(target, "%s:%d: %s", __FILE__, __LINE__, #cond);                                       \
        }                                                                                                    \
    } while (0)

/* Checks that a refusal reaches the client: the 422 problem document the
 * handlers send (ingest_problem_json) carries the field (when there is
 * one) and the detail, whatever bytes they hold. */
void fuzz_reportable(const char *target, const char *field, const char *detail);

/* A pool of its own for one input; the caller destroys it. */
apr_pool_t *fuzz_pool(void);

/* Input fields: a NUL-terminated copy in a malloc'd block of exactly
 * len + 1 bytes, so that ASan sees a read past the end (a pool would hide
 * it). s may hold NULs for fields that are bytes (a body), not strings. */
typedef struct {
    char *s;
    size_t len;
} fuzz_field_t;

/* Splits data at its first n - 1 newlines into n fields (the last one
 * takes the rest, newlines included; missing ones are empty). */
void fuzz_split(const uint8_t *data, size_t size, fuzz_field_t *fields, int n);
void fuzz_split_free(fuzz_field_t *fields, int n);

#endif
