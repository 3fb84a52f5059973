"""6. Memory over many updates: flat, whatever the number of steps."""

from __future__ import annotations

import tracemalloc
from typing import Any

from progbar import Progbar

from .common import Row


def case_memory(sizes: list[int], null: Any) -> list[Row]:
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]
    rows = []
    for n in sizes:
        bar = Progbar(n, file=null, dynamic=False)
        tracemalloc.start()
        for i in range(1, n + 1):
            bar.update(i, four)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        bar.close()
        rows.append(Row(
            f"6. memory over {n:,} updates", "progbar update, 4 metrics", "line file",
            f"{peak / 1024:.1f} KiB peak", value=peak / 1024,
        ))
    return rows
