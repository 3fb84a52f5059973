"""4. One full render of a 4-metric line (update + draw), beside Keras and tqdm."""

from __future__ import annotations

import contextlib
import statistics
from typing import Any, Callable

from progbar import Progbar

from .common import Row, fmt_ns, keras, round_robin, tqdm_mod


def case_render(n: int, rounds: int, null: Any) -> list[Row]:
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]

    def ours(style: str) -> Callable[[], int]:
        def run() -> int:
            bar = Progbar(10 * n, file=null, dynamic=True, interval=0, style=style)
            for i in range(1, n + 1):
                bar.update(i, four)
            return n

        return run

    variants: dict[str, Callable[[], int]] = {
        "progbar default": ours("default"),
        "progbar keras style": ours("keras"),
    }
    if keras is not None:

        def kr() -> int:
            with contextlib.redirect_stdout(null):
                bar = keras.utils.Progbar(10 * n, interval=0)
                for i in range(1, n + 1):
                    bar.update(i, four)
            return n

        variants["keras Progbar"] = kr
    if tqdm_mod is not None:

        def tq() -> int:
            bar = tqdm_mod.tqdm(total=10 * n, file=null, mininterval=0, miniters=1)
            for _ in range(n):
                bar.update(1)
                bar.set_postfix(loss=0.41, acc=0.88, val_loss=0.52, val_acc=0.84)
            bar.close()
            return n

        variants["tqdm update+set_postfix"] = tq
    res = round_robin(variants, rounds)
    k = res.get("keras Progbar")
    rows = []
    for name, ts in res.items():
        ratio = min(ts) / min(k) if k else None
        rows.append(Row(
            "4. render, 4 metrics (update+draw)", name, "live → /dev/null",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), "",
            f"{ratio:.2f}× keras" if ratio is not None else "", ratio,
        ))
    return rows
