#!/usr/bin/env python3
"""Prints a Google Benchmark JSON file (--benchmark_out) as a table with Amalgam/raw ratios.

Benchmarks are named "<case>/<impl>[/args...]". With repetitions, the median is used. For every
case that has a "raw" implementation, each other implementation gets ratio = its time per item
divided by raw's time per item (1.30 means 30% slower than raw RocksDB)."""
import json
import sys


def main(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        case, impl = parts[0], parts[1]
        rest = [p for p in parts[2:] if p != "real_time"]
        key = (case, impl, "/".join(rest))
        if b.get("run_type") == "iteration" and key in rows and rows[key].get("run_type") == "aggregate":
            continue
        rows[key] = b
    raw = {(c, r): b for (c, i, r), b in rows.items() if i == "raw"}
    print(f"{'benchmark':<44} {'items/s':>12} {'ns/item':>10} {'vs raw':>8} {'extra':>s}")
    order = sorted(rows, key=lambda k: (k[0], k[2], k[1] == "raw", k[1]))
    for (case, impl, rest) in order:
        b = rows[(case, impl, rest)]
        ips = b.get("items_per_second", 0.0)
        ns = 1e9 / ips if ips else float("nan")
        ratio = ""
        base = raw.get((case, rest))
        if base is not None and impl != "raw" and base.get("items_per_second"):
            ratio = f"{base['items_per_second'] / ips:.2f}x"
        extra = ""
        if "aborts_per_txn" in b:
            extra = f"aborts/txn={b['aborts_per_txn']:.3f}"
        label = "/".join(x for x in (case, impl, rest) if x)
        if b.get("error_occurred"):
            print(f"{label:<44} error: {b.get('error_message', '?')}")
            continue
        print(f"{label:<44} {ips:>12,.0f} {ns:>10,.0f} {ratio:>8} {extra}")


if __name__ == "__main__":
    main(sys.argv[1])
