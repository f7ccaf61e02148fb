/* libFuzzer's entry points for one target: compiled once per target with
 * -DFUZZ_ENTRY=fuzz_<target> (see Makefile.am). */

#include <stdlib.h>

#include <apr_general.h>

#include "fuzz.h"

#ifndef FUZZ_ENTRY
#error "compile with -DFUZZ_ENTRY=fuzz_<target>"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS) {
        fuzz_fail("main", "apr_initialize failed");
    }
    atexit(apr_terminate);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return FUZZ_ENTRY(data, size);
}
