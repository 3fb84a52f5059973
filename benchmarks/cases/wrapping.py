"""1. Wrapping a loop: ``track()`` over a range, a list and a generator."""

from __future__ import annotations

import statistics
from typing import Any, Callable

from progbar import track

from .common import Pty, Row, fmt_ns, net_ratio, rich_console, rich_progress, round_robin, tqdm_mod


def case_wrapping(n: int, rounds: int, tty: Pty) -> list[Row]:
    data = list(range(n))

    def sources() -> dict[str, Callable[[], Any]]:
        return {
            "range": lambda: range(n),
            "list": lambda: data,
            "generator": lambda: (i for i in range(n)),
        }

    rows: list[list[str]] = []
    for kind, make in sources().items():
        total = n if kind != "generator" else None

        def bare(make: Callable[[], Any] = make) -> int:
            for _ in make():
                pass
            return n

        def ours(make: Callable[[], Any] = make, total: int | None = total) -> int:
            for _ in track(make(), target=total, file=tty.file, dynamic=True):
                pass
            return n

        variants: dict[str, Callable[[], int]] = {"bare loop": bare, "progbar track": ours}
        if tqdm_mod is not None:

            def tq(make: Callable[[], Any] = make, total: int | None = total) -> int:
                for _ in tqdm_mod.tqdm(make(), total=total, file=tty.file):
                    pass
                return n

            variants["tqdm"] = tq
        if rich_progress is not None:
            console = rich_console.Console(file=tty.file, force_terminal=True, width=100)

            def rc(
                make: Callable[[], Any] = make, total: int | None = total, console: Any = console
            ) -> int:
                for _ in rich_progress.track(make(), total=total, console=console):
                    pass
                return n

            variants["rich track"] = rc
        res = round_robin(variants, rounds)
        base_min = min(res["bare loop"])
        base_med = statistics.median(res["bare loop"])
        tq_net = min(res["tqdm"]) - base_min if "tqdm" in res else None
        for name, ts in res.items():
            net = min(ts) - base_min
            net_med = statistics.median(ts) - base_med
            ratio = (net_ratio(res, name, "bare loop", "tqdm")
                     if tq_net and name != "bare loop" else None)
            rows.append(Row(
                f"1. wrap {kind} ({n:,})", name, "-" if name == "bare loop" else "live pty",
                fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
                "" if name == "bare loop" else f"{fmt_ns(net)} (med {fmt_ns(net_med)})",
                f"{ratio:.2f}× tqdm" if ratio is not None else "", ratio,
            ))
    return rows
