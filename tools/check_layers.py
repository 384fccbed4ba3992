#!/usr/bin/env python3
"""Checks that #include lines point down the layers (STYLE.md, principle 1).

Usage: check_layers.py SRC_DIR. Exits 1 and names every offending include.
Also checks that only storage/ includes RocksDB headers.
"""
import pathlib
import re
import sys

# Lower layers first. A file may include its own layer and any layer before it.
ORDER = ["common", "bson", "storage", "catalog", "index", "engine", "query",
         "api/mongo", "api/dynamo", "server"]
# The two API faces are peers: neither may include the other.
PEERS = {("api/mongo", "api/dynamo"), ("api/dynamo", "api/mongo")}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')


def layer_of(rel: str):
    for name in sorted(ORDER, key=len, reverse=True):
        if rel == name or rel.startswith(name + "/"):
            return name
    return None


def main() -> int:
    src = pathlib.Path(sys.argv[1])
    errors = []
    files = [p for p in src.rglob("*") if p.suffix in (".h", ".cc")]
    for path in files:
        rel = path.relative_to(src).as_posix()
        mine = layer_of(rel)
        if mine is None:
            errors.append(f"{rel}: not in a known layer {ORDER}")
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target.startswith("rocksdb/") and mine != "storage":
                errors.append(f"{rel}:{lineno}: only storage/ may include RocksDB ({target})")
            theirs = layer_of(target)
            if theirs is None:
                continue
            if (mine, theirs) in PEERS or ORDER.index(theirs) > ORDER.index(mine):
                errors.append(f"{rel}:{lineno}: layer '{mine}' includes higher layer '{theirs}' ({target})")
    for e in errors:
        print(e)
    print(f"check_layers: {len(files)} files, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
