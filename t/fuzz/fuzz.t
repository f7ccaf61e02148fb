#!/usr/bin/env bash
# Runs every libFuzzer target (t/fuzz/fuzz_<target>.c) for FUZZ_SECONDS
# (default 30) each, FUZZ_JOBS (default 2) at a time, over a scratch copy
# of its seed corpus (t/fuzz/corpus/<target>/, never written to) and its
# past crashes (t/fuzz/regressions/<target>/): one TAP assertion per
# target, which fails if the target crashed, leaked, hung or broke one of
# its promises. A failing input is kept in t/fuzz/artifacts/<target>/.
# The fuzzers run at nice FUZZ_NICE (19): they take the CPU that the tests
# running next to this one leave.
# Skips when configure found no clang that links libFuzzer. Run by prove
# (scripts/test.sh) and by `make fuzz` (FUZZ_SECONDS=60 there).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
nice=${FUZZ_NICE:-19}
build=${FUZZ_BUILDDIR:-$top}

if [ -z "${FUZZ_BUILT:-}" ]; then
    # the last line: make may first say that it regenerates the Makefile
    if ! status=$(make -s -C "$build" fuzz-status 2>&1); then
        echo "1..1"
        echo "not ok 1 - make fuzz-status in $build (configured?)"
        printf '%s\n' "$status" | tail -n 20 | sed 's/^/# /'
        exit 1
    fi
    status=$(printf '%s\n' "$status" | tail -n 1)
    if [ "$status" != yes ]; then
        echo "1..0 # SKIP fuzzing unavailable: $status"
        exit 0
    fi
    if ! out=$(make -s -C "$build" fuzz-build 2>&1); then
        echo "1..1"
        echo "not ok 1 - the fuzz targets build"
        printf '%s\n' "$out" | tail -n 40 | sed 's/^/# /'
        exit 1
    fi
fi
targets=${FUZZ_TARGETS:-$(sed -n 's/^FUZZ_TARGETS = //p' "$top/Makefile.am")}
read -r -a targets <<<"$targets"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# run TARGET: fuzzes it into $scratch/TARGET/{log,rc}
run() {
    local t=$1 w="$scratch/$1" art="$top/t/fuzz/artifacts/$1/" dict=()
    mkdir -p "$w/corpus" "$w/regressions" "$art"
    cp -R "$top/t/fuzz/corpus/$t/." "$w/corpus/"
    if [ -d "$top/t/fuzz/regressions/$t" ]; then
        cp -R "$top/t/fuzz/regressions/$t/." "$w/regressions/"
    fi
    if [ -f "$top/t/fuzz/dict/$t.dict" ]; then
        dict=("-dict=$top/t/fuzz/dict/$t.dict")
    fi
    # new inputs go to the first directory only: the scratch corpus. Niced:
    # prove runs integration tests next to this one, and some of them time
    # what they watch; the fuzzers take what CPU is left (the time is
    # fixed, the number of inputs run is what varies).
    nice -n "$nice" "$build/t/fuzz/build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" "$w/corpus" "$w/regressions" \
        >"$w/log" 2>&1
    echo $? >"$w/rc"
}

echo "1..${#targets[@]}"
i=0
while [ $i -lt ${#targets[@]} ]; do
    for t in "${targets[@]:$i:$jobs}"; do
        run "$t" &
    done
    wait
    i=$((i + jobs))
done

failed=0
n=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    w="$scratch/$t"
    rc=$(cat "$w/rc" 2>/dev/null || echo '?')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -n 1)
    corpus=$(find "$w/corpus" -type f | wc -l)
    if [ "$rc" = 0 ]; then
        echo "ok $n - $t: ${execs:-?} execs in ${seconds} s, corpus now $corpus inputs"
    else
        failed=1
        echo "not ok $n - $t: exit $rc after ${execs:-?} execs"
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$w/log" | tail -n 1)
        [ -n "$artifact" ] && echo "# failing input: $artifact"
        echo "# minimize it: $build/t/fuzz/build/fuzz_$t -minimize_crash=1 -max_total_time=60 ${artifact:-CRASH_FILE}"
        grep -v -e '^#[0-9]' -e '^INFO:' "$w/log" | grep -m 60 -A 60 -e 'ERROR' -e 'broken promise' -e 'runtime error' \
            | head -n 60 | sed 's/^/# /'
    fi
done
exit $failed
