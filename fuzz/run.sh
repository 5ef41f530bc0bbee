#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30), JOBS targets at a time
# (default 1; each target runs on one core):
#   bash fuzz/run.sh 30        # one after another
#   bash fuzz/run.sh 30 2      # two at a time
# Uses the nightly toolchain when rustup has one; otherwise the stable toolchain with
# RUSTC_BOOTSTRAP=1, which lets stable accept the sanitizer flags cargo-fuzz passes (no
# toolchain is downloaded; FUZZ_STABLE=1 forces this). Installs cargo-fuzz from crates.io
# when it is missing.
# The committed seeds in fuzz/corpus/<target>/ are read, never written: new inputs go to
# fuzz/work/corpus/<target>/ and logs to fuzz/work/<target>.log (neither is committed). A
# crash or failed assertion is saved by libFuzzer under fuzz/artifacts/<target>/; the
# other targets still run, then the script prints a summary and exits 1.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-30}"
jobs="${2:-1}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [[ -z ${FUZZ_STABLE:-} ]] && cargo +nightly --version >/dev/null 2>&1; then
    fuzz() { cargo +nightly fuzz "$@"; }
else
    echo "no nightly toolchain: stable with RUSTC_BOOTSTRAP=1"
    fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi

fuzz build
targets=$(fuzz list)

run_one() {
    local target=$1
    mkdir -p "work/corpus/$target"
    rm -f "work/$target.status"
    if fuzz run "$target" "work/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        >"work/$target.log" 2>&1; then
        echo ok >"work/$target.status"
    else
        echo FAILED >"work/$target.status"
    fi
}

mkdir -p work
printf '\n== fuzz each target for %s s, %s at a time\n' "$seconds" "$jobs"
for target in $targets; do
    while (($(jobs -rp | wc -l) >= jobs)); do
        wait -n || true
    done
    printf '%s\n' "$target"
    run_one "$target" &
done
wait

failed=()
printf '\n== summary (%s s per target)\n' "$seconds"
for target in $targets; do
    log="work/$target.log"
    status=$(cat "work/$target.status" 2>/dev/null || echo FAILED)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^#[0-9]*[[:space:]]*DONE .*exec\/s: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    corpus=$(find "work/corpus/$target" "corpus/$target" -type f | wc -l)
    printf '%-14s %-6s %12s runs %8s exec/s %6s corpus files\n' \
        "$target" "$status" "${runs:-?}" "${rate:-?}" "$corpus"
    if [[ $status != ok ]]; then
        failed+=("$target")
    fi
done
for target in "${failed[@]}"; do
    printf '\n== %s failed; the end of fuzz/work/%s.log:\n' "$target" "$target"
    tail -n 40 "work/$target.log"
done
if ((${#failed[@]})); then
    printf '\nfailed: %s (inputs in fuzz/artifacts/<target>/)\n' "${failed[*]}"
    exit 1
fi
