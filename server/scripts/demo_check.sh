#!/usr/bin/env bash
# Runs `password-mgmt-server demo` and its printed curl lines exactly as printed, as a new
# user would: the last must set Abby Smith's password (FINISHED), and the same code again
# must be refused. Then Ctrl-C (SIGINT) must stop the demo and remove its directory.
# Needs curl and openssl. Loopback only; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in curl openssl sed; do
    command -v "$tool" >/dev/null || { echo "demo_check: $tool is missing" >&2; exit 1; }
done
cargo build --locked -q -p password-mgmt-server
out=$(mktemp) err=$(mktemp) lines=$(mktemp)
./target/debug/password-mgmt-server demo --listen 127.0.0.1:0 >"$out" 2>"$err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out" "$err" "$lines"' EXIT

for _ in $(seq 1 120); do
    grep -q '^Ctrl-C stops' "$out" && break
    kill -0 "$pid" 2>/dev/null || { echo "demo_check: the demo exited:" >&2; cat "$err" >&2; exit 1; }
    sleep 0.5
done
grep -q '^Ctrl-C stops' "$out" || { echo "demo_check: the demo did not start in 60 s" >&2; cat "$err" >&2; exit 1; }
dir=$(sed -nE 's/.*SQLite in ([^)]*)\).*/\1/p' "$out")
# The lines between "In another shell:" and the blank line after them.
sed -n '/^In another shell:$/,/^$/p' "$out" | sed '1d;$d' >"$lines"
echo "demo_check: running the $(wc -l <"$lines") printed lines"
# The printed lines, then the last one again in the same shell (the same code, now used).
result=$(timeout 60 bash -c "$(cat "$lines"; tail -n 1 "$lines")")
printf '%s\n' "$result"
redeemed=$(printf '%s\n' "$result" | tail -n 2 | head -n 1)
again=$(printf '%s\n' "$result" | tail -n 1)
case "$redeemed" in
    *'"state":"FINISHED"'*) ;;
    *) echo "demo_check: the redemption did not finish: $redeemed" >&2; exit 1 ;;
esac
case "$again" in
    *'the code is wrong or has expired'*) ;;
    *) echo "demo_check: a used code was not refused: $again" >&2; exit 1 ;;
esac
echo "demo_check: a used code is refused"
kill -INT "$pid"
for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
if kill -0 "$pid" 2>/dev/null; then echo "demo_check: the demo ignored Ctrl-C" >&2; exit 1; fi
wait "$pid" || { echo "demo_check: the demo exited with an error" >&2; cat "$err" >&2; exit 1; }
if [ -e "$dir" ]; then echo "demo_check: $dir was not removed" >&2; exit 1; fi
echo "demo_check: Ctrl-C stopped the demo and removed $dir"
