#!/usr/bin/env python3
"""Writes the seed corpus of the bson_validate fuzz target: a few small, valid BSON documents
that together hold every element type (incl. old binary subtype 2, dbPointer, code-with-scope)
and a little nesting. Run from the repository root: fuzz/make_bson_seeds.py
"""
import pathlib
import struct

OUT = pathlib.Path(__file__).parent / "corpus" / "bson_validate"


def doc(*elements: bytes) -> bytes:
    body = b"".join(elements) + b"\x00"
    return struct.pack("<i", 4 + len(body)) + body


def el(type_byte: int, name: str, value: bytes = b"") -> bytes:
    return bytes([type_byte]) + name.encode() + b"\x00" + value


def lstr(s: bytes) -> bytes:
    return struct.pack("<i", len(s) + 1) + s + b"\x00"


OID = bytes(range(1, 13))
SEEDS = {
    "empty": doc(),
    "scalars": doc(
        el(0x01, "d", struct.pack("<d", -0.5)),
        el(0x10, "i", struct.pack("<i", -7)),
        el(0x12, "l", struct.pack("<q", 1 << 53)),
        el(0x13, "m", struct.pack("<QQ", 15, 0x303E000000000000)),  # decimal128 1.5
        el(0x08, "t", b"\x01"),
        el(0x09, "date", struct.pack("<q", 1700000000000)),
        el(0x11, "ts", struct.pack("<II", 1, 2)),
        el(0x0A, "n"), el(0x06, "u"), el(0xFF, "min"), el(0x7F, "max"),
    ),
    "strings": doc(
        el(0x02, "s", lstr("h\u00e9\x00llo".encode())),
        el(0x0E, "sym", lstr(b"sym")),
        el(0x0D, "code", lstr(b"function() {}")),
        el(0x0B, "re", b"^a.*b$\x00im\x00"),
        el(0x07, "_id", OID),
    ),
    "binary": doc(
        el(0x05, "b0", struct.pack("<i", 3) + b"\x00abc"),
        el(0x05, "b2", struct.pack("<i", 7) + b"\x02" + struct.pack("<i", 3) + b"xyz"),
        el(0x05, "uuid", struct.pack("<i", 16) + b"\x04" + bytes(16)),
        el(0x05, "user", struct.pack("<i", 1) + b"\x80\xff"),
    ),
    "nested": doc(
        el(0x03, "a", doc(el(0x04, "b", doc(el(0x10, "0", struct.pack("<i", 1)),
                                            el(0x03, "1", doc(el(0x0A, "c"))))))),
        el(0x04, "empty", doc()),
    ),
    "deprecated": doc(
        el(0x0C, "ptr", lstr(b"db.coll") + OID),
        el(0x0F, "cws", (lambda code, scope: struct.pack("<i", 4 + len(code) + len(scope)) + code + scope)(
            lstr(b"x + 1"), doc(el(0x10, "x", struct.pack("<i", 41))))),
    ),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / f"{name}.bson").write_bytes(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
