"""Throughput and p99 against concurrency, from the CSV of loadgen/sweep.sh.

    python3 loadgen/plot.py target/loadgen/sweep.csv docs/load.png   (needs matplotlib)
"""
import csv
import math
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
series = defaultdict(list)
for row in csv.DictReader(open(source)):
    if row["workload"] == "set-password" or row["rsa_bits"] != "3072":
        continue
    key = (row["workload"], row["argon2"], row["backend"], int(row["clients"]))
    series[key].append(row)

panels = [
    ("pairs", "owasp", "generate + redeem pairs\n(Argon2id 19 MiB t=2, RSA-3072)"),
    ("pairs", "minimal", "generate + redeem pairs\n(Argon2id 8 KiB t=1, RSA-3072)"),
    ("generate", "owasp", "generate alone\n(no RSA, no Argon2id)"),
]
fig, axes = plt.subplots(2, 3, figsize=(15, 8), sharex=True)
for col, (workload, costs, title) in enumerate(panels):
    top, bottom = axes[0][col], axes[1][col]
    for (w, a, backend, clients), rows in sorted(series.items()):
        if (w, a) != (workload, costs):
            continue
        rows.sort(key=lambda r: int(r["concurrency"]))
        c = [int(r["concurrency"]) for r in rows]
        who = f"{backend}" + (f", {clients} clients" if clients > 1 else "")
        style = ("o-" if backend == "postgres" else "s-") if clients == 1 else "^-"
        top.plot(c, [float(r["ops_per_s"]) for r in rows], style, label=f"server on {who}")
        bottom.plot(c, [float(r["op_p99_ms"]) for r in rows], style, label=f"server on {who}")
        tps = [float(r["pgbench_tps"]) for r in rows]
        if backend == "postgres" and not any(math.isnan(t) for t in tps):
            dash = "k--" if clients == 1 else "k:"
            top.plot(c, tps, dash, label="pgbench, same SQL" + (f", {clients} clients" if clients > 1 else ""))
    top.set_title(title)
    top.set_ylabel("operations/s")
    bottom.set_ylabel("p99 latency of an operation (ms)")
    bottom.set_xlabel("concurrent workers (connections)")
    for ax in (top, bottom):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
fig.suptitle("password-mgmt-server over loopback on 2 cores, beside pgbench (loadgen/sweep.sh)")
fig.tight_layout()
fig.savefig(target, dpi=90)
print(f"wrote {target}")
