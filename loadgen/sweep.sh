#!/usr/bin/env bash
# The issue-14 load bench, one run (about 21 minutes on 2 cores): the release server on
# PostgreSQL and SQLite, every workload, a concurrency sweep beside pgbench running the
# same SQL, profiles at 8 workers, and the plot (docs/load.png; needs matplotlib).
# Loopback only; every run is bounded by a count and a time.
#   bash loadgen/sweep.sh [OUT_DIR]     (default: target/loadgen)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/loadgen}
mkdir -p "$out"
rm -f "$out/sweep.csv"
cargo build --locked --release -q -p password-mgmt-server -p password-mgmt-loadgen
load="./target/release/password-mgmt-loadgen --csv $out/sweep.csv"
sweep=1,2,4,8,16,32
{
    # The reset flow at the production costs (Argon2id 19 MiB t=2, RSA-3072).
    $load --workloads pairs --concurrency $sweep --ops 1200 --seconds 40 --pgbench
    # The same with the cheapest Argon2id: the server and its database, less the hash.
    $load --workloads pairs --concurrency $sweep --ops 3000 --seconds 40 --argon2 minimal --pgbench
    # ... and with RSA-2048.
    $load --backends postgres --workloads pairs --concurrency 8 --ops 3000 --seconds 40 --argon2 minimal --rsa-bits 2048 --pgbench
    # Generate alone (no RSA, no Argon2id): one OAuth client (every generate counts in one
    # limiter row), then 32 clients.
    $load --workloads generate --concurrency $sweep --ops 6000 --seconds 40 --pgbench
    $load --backends postgres --workloads generate --clients 32 --concurrency $sweep --ops 6000 --seconds 40 --pgbench
    # Set-password and status at 8 workers.
    $load --workloads set-password --concurrency 8 --ops 1200 --seconds 40
} 2>&1 | tee "$out/sweep.txt"
{
    # Where the server's CPU goes (perf, 8 workers, PostgreSQL; not in the CSV).
    ./target/release/password-mgmt-loadgen --backends postgres --workloads pairs,generate --concurrency 8 --ops 1200 --seconds 40 --perf
    ./target/release/password-mgmt-loadgen --backends postgres --workloads pairs --concurrency 8 --ops 3000 --seconds 40 --argon2 minimal --perf
} 2>&1 | tee "$out/perf.txt"
python3 loadgen/plot.py "$out/sweep.csv" docs/load.png
