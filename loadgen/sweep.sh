#!/usr/bin/env bash
# The issue-14 load bench, one run (about 25 minutes on 2 cores): the release server on
# PostgreSQL and SQLite, every workload, a concurrency sweep beside pgbench, profiles at 8
# workers, and the plot. Loopback only; every run is bounded by a count and a time.
#   bash loadgen/sweep.sh [OUT_DIR]     (default: target/loadgen)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/loadgen}
mkdir -p "$out"
rm -f "$out/sweep.csv"
cargo build --locked --release -q -p password-mgmt-server -p password-mgmt-loadgen
load=./target/release/password-mgmt-loadgen
sweep=1,2,4,8,16,32
{
    # The reset flow at the production costs (Argon2id 19 MiB t=2, RSA-3072).
    $load --workloads pairs --concurrency $sweep --ops 1200 --seconds 40 --pgbench --csv "$out/sweep.csv"
    # The same with the cheapest Argon2id: the server and its database, less the hash.
    $load --workloads pairs --concurrency $sweep --ops 3000 --seconds 40 --argon2 minimal --pgbench --csv "$out/sweep.csv"
    # Generate alone: no RSA, no Argon2id.
    $load --workloads generate --concurrency $sweep --ops 6000 --seconds 40 --pgbench --csv "$out/sweep.csv"
    # Set-password and status at 8 workers.
    $load --workloads set-password --concurrency 8 --ops 1200 --seconds 40 --csv "$out/sweep.csv"
    # Where the server's CPU goes (perf, 8 workers, PostgreSQL).
    $load --backends postgres --workloads pairs,generate --concurrency 8 --ops 1200 --seconds 40 --perf
    $load --backends postgres --workloads pairs --concurrency 8 --ops 3000 --seconds 40 --argon2 minimal --perf
} 2>&1 | tee "$out/sweep.txt"
python3 loadgen/plot.py "$out/sweep.csv" docs/load.png
