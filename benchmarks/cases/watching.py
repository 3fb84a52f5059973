"""14. A job that publishes its bars for ``progbar watch`` while nobody watches, beside
the same job with ``PROGBAR_WATCH=0``: the publishing is the ticker's, per round, so a
loop pays nothing for it per step."""

from __future__ import annotations

import os
import statistics
from typing import Callable

from progbar import track

from .common import Pty, Row, fmt_ns, round_robin


def case_watching(n: int, rounds: int, tty: Pty) -> list[Row]:
    """``track(range(n))`` with a little work per item (about 3 s in all at full size:
    publishing starts after two), with ``PROGBAR_WATCH`` on and off, in the same rounds."""

    def loop(setting: str) -> Callable[[], int]:
        def run() -> int:
            os.environ["PROGBAR_WATCH"] = setting
            total = 0
            for i in track(range(n), file=tty.file, dynamic=True):
                total += i * i % 7
            return n

        return run

    try:
        res = round_robin({"track, PROGBAR_WATCH=0": loop("0"),
                           "track, PROGBAR_WATCH on, nobody watching": loop("1")}, rounds)
    finally:
        os.environ.pop("PROGBAR_WATCH", None)
    off = res["track, PROGBAR_WATCH=0"]
    rows = []
    for name, ts in res.items():
        ratio = None if ts is off else statistics.median(t / o for t, o in zip(ts, off))
        rows.append(Row(f"14. publishing for progbar watch ({n:,} items)", name, "live pty",
                        fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), "",
                        "" if ratio is None else f"{ratio:.3f}× off", ratio))
    return rows
