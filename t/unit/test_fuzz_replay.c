/* Every input of t/fuzz/corpus/<target>/ and t/fuzz/regressions/<target>/
 * through its fuzz target (t/fuzz/fuzz_<target>.c), on every run of the
 * unit tests (plain, ASan+UBSan, valgrind): a crash once found stays
 * fixed, and the targets keep building and keeping their promises on the
 * seeds without clang. A target that breaks a promise aborts, naming the
 * input; under ASan, a sanitizer report names it too. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "fuzz.h"
#include "unit.h"

#ifndef INGEST_FUZZ_DIR
#error "compile with -DINGEST_FUZZ_DIR=\"<top_srcdir>/t/fuzz\""
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>

static void name_input(void)
{
    if (fuzz_current_input) {
        fprintf(stderr, "fuzz replay: the input was %s\n", fuzz_current_input);
    }
}
#endif

static const struct {
    const char *name;
    int (*fn)(const uint8_t *data, size_t size);
} targets[] = {
    {"parse", fuzz_parse},     {"ingest_json", fuzz_ingest_json},
    {"query", fuzz_query},     {"webhook", fuzz_webhook},
    {"sign", fuzz_sign},       {"identity", fuzz_identity},
    {"records", fuzz_records},
};

#define NTARGETS ((int)(sizeof(targets) / sizeof(targets[0])))

/* The file whole, in a block of exactly its size (as libFuzzer gives it). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    ck_assert_msg(n >= 0, "cannot size %s", path);
    rewind(f);
    buf = malloc(n ? (size_t)n : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Replays every file of dir; how many, or -1 when there is no dir. */
static int replay_dir(int t, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    const char *path;
    uint8_t *data;
    size_t len;
    int n = 0;

    if (apr_dir_open(&d, dir, unit_pool) != APR_SUCCESS) {
        return -1;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        if (fi.filetype != APR_REG || fi.name[0] == '.') {
            continue;
        }
        path = apr_pstrcat(unit_pool, dir, "/", fi.name, NULL);
        data = slurp(path, &len);
        fuzz_current_input = path;
        targets[t].fn(data, len);
        fuzz_current_input = NULL;
        free(data);
        n++;
    }
    apr_dir_close(d);
    return n;
}

START_TEST(replay)
{
    const char *name = targets[_i].name;
    int seeds, past;

#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(name_input);
#endif
    seeds = replay_dir(_i, apr_pstrcat(unit_pool, INGEST_FUZZ_DIR "/corpus/", name, NULL));
    ck_assert_msg(seeds > 0, "no seed corpus for fuzz_%s in " INGEST_FUZZ_DIR "/corpus/%s", name, name);
    past = replay_dir(_i, apr_pstrcat(unit_pool, INGEST_FUZZ_DIR "/regressions/", name, NULL));
    (void)past; /* a target without a past crash has no directory */
}
END_TEST

Suite *suite_fuzz_replay(void)
{
    Suite *s = suite_create("fuzz_replay");
    TCase *tc;
    int i;

    /* a test case per target, so that TAP names it */
    for (i = 0; i < NTARGETS; ++i) {
        tc = unit_tcase(targets[i].name);
        /* the seeds run through each target twice (whole and in chunks) */
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, replay, i, i + 1);
        suite_add_tcase(s, tc);
    }
    return s;
}
