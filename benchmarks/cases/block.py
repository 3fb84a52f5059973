"""9. Several bars: one frame of a 3-bar block, beside one single-bar render."""

from __future__ import annotations

import statistics
from typing import Any

from progbar import Progbar

from .common import Row, fmt_ns, round_robin


def case_block(n: int, rounds: int, null: Any) -> list[Row]:
    """9. Several bars: one frame of a 3-bar block (a bar's update redraws the whole
    block: its line formatted, the other two as drawn, one write) against one
    single-bar render (design.md, "Performance targets": <= 3x)."""
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]

    def single() -> int:
        bar = Progbar(10 * n, file=null, dynamic=True, interval=0)
        for i in range(1, n + 1):
            bar.update(i, four)
        bar.close()
        return n

    def block() -> int:
        epoch = Progbar(3, file=null, dynamic=True, interval=0, label="epoch")
        train = Progbar(10 * n, file=null, dynamic=True, interval=0, label="train")
        valid = Progbar(10 * n, file=null, dynamic=True, interval=0, label="valid")
        epoch.update(1)
        valid.update(1, four)
        for i in range(1, n + 1):
            train.update(i, four)  # one frame: three rows, one write
        for bar in (train, valid, epoch):
            bar.close()
        return n

    res = round_robin({"one bar": single, "3-bar block": block}, rounds)
    one = min(res["one bar"])
    return [
        Row("9. several bars: one frame (update+draw)", name, "live → /dev/null",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), "",
            f"{min(ts) / one:.2f}× one bar", min(ts) / one)
        for name, ts in res.items()
    ]
