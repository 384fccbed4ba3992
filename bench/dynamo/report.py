"""Prints the RESULT lines of bench/dynamo/dynamo.lua as Markdown tables, Amalgam against
dynalite per operation and GetItem against the nginx ceiling, and checks issue 5's targets.
Usage: /usr/bin/python3 bench/dynamo/report.py RESULTS_FILE"""
import sys

OPS = [("get", "GetItem"), ("query", "Query (10 items)"), ("update", "UpdateItem (ADD)"),
       ("put", "PutItem")]


def ms(us: int) -> str:
    return f"{us / 1000:.2f}"


def main() -> None:
    res = {}
    for line in open(sys.argv[1]):
        _, label, op, conns, requests, rps, p50, p99, p999, errors = line.split()
        res[(label, op, int(conns))] = dict(requests=int(requests), rps=float(rps), p50=int(p50),
                                            p99=int(p99), p999=int(p999), errors=int(errors))
    conns = sorted({c for (_, _, c) in res})
    print("| operation | conns | Amalgam req/s | p50 / p99 / p99.9 ms | dynalite req/s "
          "| p50 / p99 / p99.9 ms | Amalgam / dynalite |")
    print("|---|---|---|---|---|---|---|")
    for op, name in OPS:
        for c in conns:
            a, d = res.get(("amalgam", op, c)), res.get(("dynalite", op, c))
            if not a or not d:
                continue
            print(f"| {name} | {c} | {a['rps']:,.0f} | {ms(a['p50'])} / {ms(a['p99'])} / "
                  f"{ms(a['p999'])} | {d['rps']:,.0f} | {ms(d['p50'])} / {ms(d['p99'])} / "
                  f"{ms(d['p999'])} | {a['rps'] / d['rps']:.1f}x |")
    print()
    print("| nginx static 200 B | conns | req/s | p50 / p99 / p99.9 ms | Amalgam GetItem / nginx |")
    print("|---|---|---|---|---|")
    for c in conns:
        n, a = res.get(("nginx", "static", c)), res.get(("amalgam", "get", c))
        if n and a:
            print(f"| | {c} | {n['rps']:,.0f} | {ms(n['p50'])} / {ms(n['p99'])} / {ms(n['p999'])} "
                  f"| {a['rps'] / n['rps']:.0%} |")
    errs = {k: v["errors"] for k, v in res.items() if v["errors"]}
    if errs:
        print()
        print("errors (socket errors, timeouts, non-2xx replies):",
              ", ".join(f"{l} {o} c={c}: {e}" for (l, o, c), e in sorted(errs.items())))
    print()
    # Targets (issue 5): judged at the highest connection count measured for throughput.
    top = max(conns)
    a, n, d = (res.get(("amalgam", "get", top)), res.get(("nginx", "static", top)),
               res.get(("dynalite", "get", top)))
    if a and n:
        r = a["rps"] / n["rps"]
        print(f"target GetItem >= 50% of nginx at {top} conns: {r:.0%} -> {'met' if r >= 0.5 else 'MISSED'}")
    if a and d:
        r = a["rps"] / d["rps"]
        print(f"target GetItem >= 20x dynalite at {top} conns: {r:.1f}x -> {'met' if r >= 20 else 'MISSED'}")
    a16 = res.get(("amalgam", "get", 16))
    if a16:
        print(f"target GetItem p99 < 1 ms at 16 conns: {ms(a16['p99'])} ms -> "
              f"{'met' if a16['p99'] < 1000 else 'MISSED'}")


if __name__ == "__main__":
    main()
