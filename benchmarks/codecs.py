"""The composer's parsers and the text view's decoder on 10 MB: seconds, best of 3.

    .venv/bin/python -m benchmarks.codecs [--quick]

Target: every row under 0.5 s (a Python loop per character takes several seconds, which is
the regression this watches for). A miss is printed, not an error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from benchmarks.recv_throughput import load
from workbench.core.codecs import decode_visible, escape_bytes, hex_pairs, parse_escaped, parse_hex

TARGET_S = 0.5


def best(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 MB, one repeat")
    args = parser.parse_args(argv)
    size, repeats = (1_000_000, 1) if args.quick else (10_000_000, 3)
    data = os.urandom(size // 3)
    line = "The quick brown fox \x00 jumps over the lazy dog \u00e9\u20ac.\r\n".encode()
    text_data = line * (size // len(line))
    hex_text, escaped, noise = hex_pairs(data), escape_bytes(data), os.urandom(size)
    rows = [
        ("parse_hex of a hex paste", lambda: parse_hex(hex_text)),
        ("parse_escaped of escaped bytes", lambda: parse_escaped(escaped)),
        ("decode_visible of text, UTF-8", lambda: decode_visible(text_data, "UTF-8")),
        ("decode_visible of random bytes, UTF-8", lambda: decode_visible(noise, "UTF-8")),
        ("decode_visible of random bytes, Latin-1",
         lambda: decode_visible(noise, "ISO-8859-1")),
    ]
    print(f"{size:,} bytes, best of {repeats}; load {load()}")
    print("| input | s | target |\n|---|---:|---|")
    for name, fn in rows:
        took = best(fn, repeats)
        verdict = "ok" if took < TARGET_S else "MISSED"
        print(f"| {name} | {took:.3f} | < {TARGET_S} s: {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
