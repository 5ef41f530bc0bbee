"""Throughput and p99 against concurrency, from the CSV of loadgen/sweep.sh.

    python3 loadgen/plot.py target/loadgen/sweep.csv docs/load.png   (needs matplotlib)
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
series = defaultdict(list)
for row in csv.DictReader(open(source)):
    if row["workload"] == "set-password":
        continue
    series[(row["workload"], row["argon2"], row["backend"])].append(row)

panels = [("pairs", "owasp"), ("pairs", "minimal"), ("generate", "owasp")]
titles = {
    ("pairs", "owasp"): "generate + redeem pairs\n(Argon2id 19 MiB t=2, RSA-3072)",
    ("pairs", "minimal"): "generate + redeem pairs\n(Argon2id 8 KiB t=1, RSA-3072)",
    ("generate", "owasp"): "generate alone\n(no RSA, no Argon2id)",
}
fig, axes = plt.subplots(2, 3, figsize=(14, 8), sharex=True)
for col, (workload, costs) in enumerate(panels):
    top, bottom = axes[0][col], axes[1][col]
    for backend, style in (("postgres", "o-"), ("sqlite", "s-")):
        rows = sorted(series.get((workload, costs, backend), []), key=lambda r: int(r["concurrency"]))
        if not rows:
            continue
        c = [int(r["concurrency"]) for r in rows]
        top.plot(c, [float(r["ops_per_s"]) for r in rows], style, label=f"server on {backend}")
        bottom.plot(c, [float(r["op_p99_ms"]) for r in rows], style, label=f"server on {backend}")
        if backend == "postgres":
            tps = [float(r["pgbench_tps"]) for r in rows]
            if all(t == t for t in tps):  # no NaN
                top.plot(c, tps, "k--", label="pgbench, the same SQL")
    top.set_title(titles[(workload, costs)])
    top.set_ylabel("operations/s")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("concurrent workers")
    for ax in (top, bottom):
        ax.set_xscale("log", base=2)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    top.set_yscale("log")
fig.suptitle("password-mgmt-server over loopback, 2 cores (loadgen/sweep.sh)")
fig.tight_layout()
fig.savefig(target, dpi=90)
print(f"wrote {target}")
