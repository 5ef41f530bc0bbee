#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30), one after another:
#   bash fuzz/run.sh 30
# Needs the nightly toolchain; installs cargo-fuzz from crates.io when it is missing.
# The committed seeds in fuzz/corpus/<target>/ are read, never written: new inputs go to
# fuzz/work/corpus/<target>/ and logs to fuzz/work/<target>.log (neither committed). A
# crash or failed assertion is saved by libFuzzer under fuzz/artifacts/<target>/; the
# script runs the other targets, prints a summary and exits 1.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build
targets=$(cargo +nightly fuzz list)
failed=()
summary=()
for target in $targets; do
    mkdir -p "work/corpus/$target"
    printf '\n== fuzz %s for %s s\n' "$target" "$seconds"
    if cargo +nightly fuzz run "$target" "work/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        >"work/$target.log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        tail -n 40 "work/$target.log"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "work/$target.log" | tail -n 1)
    rate=$(sed -n 's/^#[0-9]* *DONE .*exec\/s: *\([0-9]*\).*/\1/p' "work/$target.log" | tail -n 1)
    corpus=$(find "work/corpus/$target" "corpus/$target" -type f | wc -l)
    summary+=("$(printf '%-14s %-6s %12s runs %8s exec/s %6s corpus files' \
        "$target" "$status" "${runs:-?}" "${rate:-?}" "$corpus")")
done

printf '\n== summary (%s s per target)\n' "$seconds"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    printf 'failed: %s (see fuzz/work/<target>.log and fuzz/artifacts/<target>/)\n' "${failed[*]}"
    exit 1
fi
