"""2. Liveness: after a loop slows down, how long until the count shown is true."""

from __future__ import annotations

import re
import time
from typing import Any, Callable

from progbar import track

from .common import Recorder, Row, tqdm_mod


def case_liveness(fast: int, slow: int, pause: float) -> list[Row]:
    """Fast for `fast` items, then `pause` s per item: how stale is the count shown?"""
    rows = []

    def items() -> list[int]:
        return list(range(fast + slow))

    def run(make_bar: Callable[[list[int], Recorder], Any], name: str, pattern: str) -> None:
        rec = Recorder()
        truth: list[tuple[float, int]] = []  # (time, steps done)
        t_start = time.monotonic()
        done = 0
        for i in make_bar(items(), rec):
            if i >= fast:
                time.sleep(pause)
            done = i + 1
            if i >= fast - 1:
                truth.append((time.monotonic(), done))
        t_end = time.monotonic()
        del t_start
        shown = []
        for t, text in rec.events:
            found = re.findall(pattern, text)
            if found:
                shown.append((t, int(found[-1].replace(",", ""))))
        # lag: for each moment a step finished, how long until a line showed it
        # (before the loop ended: the final line always shows the truth)
        lags = []
        for t, n in truth[:-1]:
            seen = [ts for ts, c in shown if c >= n and ts >= t and ts < t_end]
            lags.append((seen[0] - t) if seen else (t_end - t))
        worst = max(lags) if lags else 0.0
        never = any(not [1 for ts, c in shown if c >= n and ts < t_end] for _, n in truth[:-1])
        rows.append(Row(
            f"2. liveness ({fast:,} fast, then {slow} × {pause} s)", name, "live (recorder)",
            f"{worst:.2f} s", "", "not shown before the end" if never else "", "",
            ratio=worst if not never else float("inf"),
        ))

    run(lambda it, rec: track(it, file=rec, dynamic=True), "progbar track", r"(\d+)/\d+")
    if tqdm_mod is not None:
        run(lambda it, rec: tqdm_mod.tqdm(it, file=rec), "tqdm", r"(\d+)/\d+")
    return rows
