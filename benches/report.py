#!/usr/bin/env python3
"""Medians and ratios from criterion's output, as a Markdown table and a PNG plot.

Run from the repository root after `cargo bench -p password-mgmt-benches` (and, for the
OpenSSL rows, `cargo bench` in benches/peers):

    python3 benches/report.py            # prints the tables; writes docs/benchmarks-ratios.png

Each row is a figure beside a baseline measured in the same criterion group and run. The
paired ratios (`cargo bench -p password-mgmt-benches --bench paired`, which writes
target/tmp/paired.tsv, the workspace's target directory) alternate
figure and baseline in short blocks and are the ones to judge the goals by on a busy machine.
The plot needs matplotlib (`pip install matplotlib`); without it only the table is printed.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUNS = [ROOT / "target" / "criterion", ROOT / "benches" / "peers" / "target" / "criterion"]
PNG = ROOT / "docs" / "benchmarks-ratios.png"
PAIRED = ROOT / "target" / "tmp" / "paired.tsv"

# (group, figure, baseline, goal): goal is the highest ratio allowed, or None.
ROWS = []
for n in (6, 12, 18):
    g = f"generate_{n}"
    ROWS += [
        (g, "DigitToken_generate", "baseline_next_u64", None),
        (g, "DigitToken_generate", "baseline_next_u64_plus_digits", 1.3),
        (g, "DigitToken_generate", "baseline_rand_random_range_format", 1 / 3),
    ]
ROWS += [
    ("issue_verify", "baseline_hmac_sha256_prekeyed_clone", "baseline_hmac_sha256_usual", None),
    ("issue_verify", "issue", "baseline_hmac_sha256_usual", None),
    ("issue_verify", "verify_accepted", "baseline_hmac_sha256_usual", 1.0),
    ("issue_verify", "verify_mismatch", "baseline_hmac_sha256_usual", 1.0),
    ("issue_verify", "verify_expired", "baseline_hmac_sha256_usual", 1.0),
    ("issue_verify", "verify_malformed", "baseline_hmac_sha256_usual", 1.0),
    ("record", "encode", "baseline_copy_58_bytes", None),
    ("record", "decode", "baseline_copy_58_bytes", None),
    ("org_config", "update_valid", "baseline_plain_update", None),
    ("org_config", "update_two_violations", "baseline_plain_update", None),
    ("request", "resolve", "baseline_plain_resolve", None),
]
for bits in (2048, 4096):
    for scheme in ("pkcs1v15", "oaep_sha256"):
        g = f"rsa{bits}_encrypt_{scheme}"
        ROWS.append((g, "PasswordEncryptor_encrypt", "baseline_rsa_PublicKey_encrypt", 1.05))
        if scheme == "pkcs1v15":
            ROWS.append((g, "PasswordEncryptor_parse_and_encrypt", "PasswordEncryptor_encrypt", None))
    for scheme in ("pkcs1v15", "oaep_sha256"):
        g = f"rsa{bits}_decrypt_{scheme}"
        ROWS.append((g, "PasswordKeyPair_decrypt", "baseline_rsa_PrivateKey_decrypt_blinded", 1.05))
        if scheme == "pkcs1v15":
            ROWS.append((g, "PasswordKeyPair_parse_and_decrypt", "PasswordKeyPair_decrypt", None))
    ROWS += [
        (f"rsa{bits}_parse_public", "PasswordEncryptor_from_spki_base64",
         "baseline_rsa_PublicKey_from_der_of_base64", None),
        (f"rsa{bits}_parse_private", "PasswordKeyPair_from_pkcs8_pem",
         "baseline_rsa_PrivateKey_from_pkcs8_pem", None),
    ]
for bits in (2048, 4096):
    for op, ours in (("encrypt", "PasswordEncryptor_encrypt"), ("decrypt", "PasswordKeyPair_decrypt")):
        for scheme in ("pkcs1v15", "oaep_sha256"):
            ROWS.append((f"peers_rsa{bits}_{op}_{scheme}", ours, f"baseline_openssl_{op}", None))


def medians():
    """{(group, function): median in ns} over every run directory that exists."""
    found = {}
    for run in RUNS:
        for meta_path in run.glob("**/new/benchmark.json"):
            meta = json.loads(meta_path.read_text())
            est = json.loads((meta_path.parent / "estimates.json").read_text())
            found[(meta["group_id"], meta["function_id"])] = est["median"]["point_estimate"]
    return found


def paired_rows():
    """[(label, ratio, goal or None)] from the paired bench, if it ran."""
    rows = []
    if PAIRED.exists():
        for line in PAIRED.read_text().splitlines():
            figure, baseline, ratio, goal = line.split("\t")
            goal = float(goal.strip("≤ x")) if goal else None
            rows.append((f"{figure} / {baseline}", float(ratio), goal))
    return rows


def human(ns):
    for unit, scale in (("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    found = medians()
    table = []
    for group, figure, baseline, goal in ROWS:
        a, b = found.get((group, figure)), found.get((group, baseline))
        if a is None or b is None:
            continue
        ratio = a / b
        verdict = "" if goal is None else ("met" if ratio <= goal else "**not met**")
        goal_text = "" if goal is None else f"≤ {goal:.2f}x"
        table.append((group, figure, a, baseline, b, ratio, goal_text, verdict, goal))
    if not table:
        sys.exit("no criterion results found: run `cargo bench -p password-mgmt-benches` first")

    print("| group | figure | median | baseline | baseline median | ratio | goal | |")
    print("|---|---|---:|---|---:|---:|---|---|")
    for group, figure, a, baseline, b, ratio, goal_text, verdict, _ in table:
        print(f"| {group} | {figure} | {human(a)} | {baseline} | {human(b)} "
              f"| {ratio:.2f}x | {goal_text} | {verdict} |")

    if paired_rows():
        print("\n| paired figure / baseline | ratio | goal | |")
        print("|---|---:|---|---|")
        for label, ratio, goal in paired_rows():
            verdict = "" if goal is None else ("met" if ratio <= goal else "**not met**")
            goal_text = "" if goal is None else f"≤ {goal:.2f}x"
            print(f"| {label} | {ratio:.3f}x | {goal_text} | {verdict} |")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot)", file=sys.stderr)
        return
    paired = paired_rows()
    panels = [("criterion medians, figure and baseline measured one after the other",
               [(f"{g}: {f} / {b}", r, goal) for g, f, _, b, _, r, _, _, goal in table])]
    if paired:
        panels.append(("paired: figure and baseline alternating in short blocks "
                       "(median of per-round ratios)", paired))
    heights = [len(rows) for _, rows in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 0.26 * sum(heights) + 2.5),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, rows) in zip(axes[:, 0], panels):
        y = range(len(rows))
        colors = ["tab:gray" if goal is None else ("tab:green" if r <= goal else "tab:red")
                  for _, r, goal in rows]
        ax.barh(y, [r for _, r, _ in rows], color=colors)
        for i, (_, _, goal) in enumerate(rows):
            if goal is not None:
                ax.plot([goal, goal], [i - 0.4, i + 0.4], color="black", linewidth=1.5)
        ax.axvline(1.0, color="black", linewidth=0.6, linestyle=":")
        ax.set_xscale("log")
        ax.set_yticks(list(y))
        ax.set_yticklabels([label for label, _, _ in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=9)
    axes[-1, 0].set_xlabel("ratio to baseline (log scale); black tick: goal; "
                           "green: met, red: not met, grey: no goal")
    fig.suptitle("password-mgmt: each figure beside its baseline in the same run")
    fig.tight_layout()
    PNG.parent.mkdir(exist_ok=True)
    fig.savefig(PNG, dpi=110)
    print(f"\nwrote {PNG.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
