#!/usr/bin/env bash
# The no_std proof, both ways:
#   1. the checker (no default features of password-mgmt) builds, links and runs (exit 0);
#   2. the same checker with the crate's `std` feature turned on must fail with E0152
#      (duplicate lang item `panic_impl`), which shows the check would catch std.
# Run from anywhere: bash tests/no_std_check/check.sh
set -euo pipefail
cd "$(dirname "$0")"

cargo build --locked
./target/debug/password-mgmt-no-std-check
echo "no_std checker: built without std and ran (exit 0)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cargo build --locked --features password-mgmt/std >"$log" 2>&1; then
    echo "the checker built with password-mgmt/std enabled: it would not notice std" >&2
    exit 1
fi
if ! grep -q 'error\[E0152\]: found duplicate lang item `panic_impl`' "$log"; then
    echo "the build with std failed, but not with E0152:" >&2
    cat "$log" >&2
    exit 1
fi
echo "no_std checker with password-mgmt/std: fails with E0152, as it must"
