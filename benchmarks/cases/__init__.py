"""The benchmark's cases, one module each, and the registry: every case with its sizes
(full and ``--quick``) and the targets its rows are held against (design.md,
"Performance targets").  A case returns typed rows (:class:`Row`); a target reads the
numbers a row carries, never the text of its cells."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from .block import case_block
from .common import Pty, Row
from .files import case_files
from .handle import case_handle
from .imports import case_import
from .liveness import case_liveness
from .loops import case_loop
from .memory import case_memory
from .metrics import case_metrics
from .pool import case_pool
from .render import case_render
from .tensors import case_tensors
from .thread_map import case_map
from .watching import case_watching
from .wrapping import case_wrapping

__all__ = ["CASES", "TARGETS", "Case", "Row", "Shared", "Target"]

# A target's reading of the rows: (what was measured, as shown; met or not), or None.
Reading = Callable[[list[Row]], "tuple[str, bool] | None"]


def _rows(rows: list[Row], case: str | tuple[str, ...], variant: str,
          output: str | None = None) -> list[Row]:
    return [r for r in rows if r.case.startswith(case) and r.variant == variant
            and (output is None or r.output == output)]


def ratio_at_most(case: str | tuple[str, ...], variant: str, limit: float,
                  output: str | None = None, unit: str = "×") -> Reading:
    """Met when every matching row's ``ratio`` is at most ``limit``."""

    def read(rows: list[Row]) -> tuple[str, bool] | None:
        values = [r.ratio for r in _rows(rows, case, variant, output) if r.ratio is not None]
        if not values:
            return None
        text = " / ".join(f"{v:.2f}{unit}" for v in values)
        return text, max(values) <= limit

    return read


def _map_overhead(rows: list[Row]) -> tuple[str, bool] | None:
    """progbar.map's net time per item (``value``, above the plain pool) as a share of
    tqdm's (``ratio``); at or below zero it is no slower than the plain pool."""
    found = _rows(rows, "12. map", "progbar.map")
    if not found or found[0].value is None:
        return None
    net, share = found[0].value, found[0].ratio
    if net <= 0:
        return "faster than the plain pool", True
    if share is None or share != share:
        return f"{net:,.0f} ns/item above the plain pool (tqdm's net not measurable)", False
    return f"{share:.2f}× tqdm's net", share <= 0.5


def _memory(rows: list[Row]) -> tuple[str, bool] | None:
    found = [r for r in rows if r.case.startswith("6. memory") and r.value is not None]
    if len(found) < 2:
        return None
    text = ", ".join(f"{r.value:.1f} KiB peak over {r.case.split('over ')[1]}" for r in found)
    first, last = found[0].value, found[-1].value
    assert first is not None and last is not None
    return text, last <= first * 1.5 + 1


def _tensor_syncs(rows: list[Row]) -> tuple[str, bool] | None:
    found = [r for r in rows if r.case.startswith("7. tensor metrics") and r.ratio is not None]
    if not found or found[0].value is None:
        return None
    per_render, metrics = found[0].ratio, found[0].value
    assert per_render is not None
    return f"{per_render:g} per render for {metrics:g} metrics", per_render <= metrics


def _import(rows: list[Row]) -> tuple[str, bool] | None:
    found = _rows(rows, "5. import", "import progbar")
    if not found or found[0].ratio is None or found[0].value is None:
        return None
    return (f"{found[0].value:.1f} ms, {found[0].ratio:.2f}× `import tqdm`",
            found[0].ratio <= 0.1)


@dataclass(frozen=True)
class Target:
    """One performance target: what is measured, the goal, how it is read off the rows."""

    what: str
    goal: str
    read: Reading


@dataclass
class Shared:
    """What the cases share in one run: the pseudo-terminal and a null stream."""

    tty: Pty
    null: Any

    @classmethod
    def open(cls) -> Shared:
        return cls(Pty(), open(os.devnull, "w", encoding="utf-8"))


@dataclass(frozen=True)
class Case:
    """One case of the benchmark: its number (as in the table), how to run it at full
    and at smoke (``--quick``) sizes, and the targets its rows are held against."""

    number: int
    run: Callable[[Shared, bool], list[Row]]
    targets: tuple[Target, ...] = ()


CASES: list[Case] = [
    Case(1, lambda s, q: case_wrapping(20_000 if q else 1_000_000, 2 if q else 11, s.tty), (
        Target("`track()` over a range / a list, net", "≤ 0.1 × tqdm's",
               ratio_at_most(("1. wrap range", "1. wrap list"), "progbar track", 0.1)),
        Target("`track()` over a generator, net", "≤ 0.3 × tqdm's",
               ratio_at_most("1. wrap generator", "progbar track", 0.3)),
    )),
    Case(2, lambda s, q: case_liveness(100_000, 2 if q else 5, 0.05 if q else 0.2), (
        Target("count shown lags the truth after a slowdown", "≤ 1 s",
               ratio_at_most("2. liveness", "progbar track", 1.0, unit=" s")),
    )),
    Case(3, lambda s, q: case_metrics(5_000 if q else 100_000, 2 if q else 11, s.tty, s.null), (
        Target("`update(i, [loss, acc])` net (live / line / silent)", "≤ 0.5 × Keras's net",
               ratio_at_most("3. update", "progbar update", 0.5)),
    )),
    Case(4, lambda s, q: case_render(500 if q else 20_000, 2 if q else 7, s.null), (
        Target("one full render, 4 metrics, keras style", "≤ 1 × Keras's",
               ratio_at_most("4. render", "progbar keras style", 1.0)),
        Target("one full render, 4 metrics, default style (more fields)", "≤ 1.5 × Keras's",
               ratio_at_most("4. render", "progbar default", 1.5)),
    )),
    Case(5, lambda s, q: case_import(2 if q else 15, with_keras=not q), (
        Target("`import progbar` above `python -c pass`", "≤ 0.1 × `import tqdm`'s, same run",
               _import),
    )),
    Case(6, lambda s, q: case_memory([1_000, 10_000] if q else [100_000, 1_000_000], s.null), (
        Target("memory over 10⁶ updates", "flat", _memory),
    )),
    Case(7, lambda s, q: case_tensors(50 if q else 400), (
        Target("tensor metrics: host syncs", "≤ 1 per metric per render", _tensor_syncs),
    )),
    Case(8, lambda s, q: case_handle(5_000 if q else 200_000, 2 if q else 7, s.tty), (
        Target("a worker's `handle.add(1)` (in the parent / a forked worker)",
               "≤ 2 × a local `bar.add(1)`",
               ratio_at_most("8. worker", "worker handle.add(1)", 2.0)),
    )),
    Case(9, lambda s, q: case_block(500 if q else 20_000, 2 if q else 7, s.null), (
        Target("one frame of a 3-bar block", "≤ 3 × one single-bar render",
               ratio_at_most("9. several bars", "3-bar block", 3.0)),
    )),
    Case(10, lambda s, q: case_loop(5_000 if q else 100_000, 2 if q else 11, s.tty), (
        Target("`track` + `bar.log(loss=, acc=)` net", "≤ 0.75 × Keras's `update` net",
               ratio_at_most("10.", "progbar track + bar.log(loss=, acc=)", 0.75)),
        Target("`bar.add(1)` net (thread-safe; tqdm's is not)", "≤ 1 × tqdm's `update(1)` net",
               ratio_at_most("10.", "progbar bar.add(1)", 1.0)),
        Target("`bar.current` inside a `track` loop", "≤ 3 × a plain `@property` read",
               ratio_at_most("10.", "progbar track + bar.current", 3.0)),
    )),
    Case(11, lambda s, q: case_files(4 if q else 64, 2 if q else 9, s.tty), (
        Target("`progbar.open` 64 KiB reads", "≤ 1.05 × a plain `read()` loop",
               ratio_at_most("11. file read", "progbar.open", 1.05)),
    )),
    Case(12, lambda s, q: case_map(2_000 if q else 20_000, 2 if q else 9, s.tty), (
        Target("`progbar.map` net over `ThreadPoolExecutor.map`", "≤ 0.5 × tqdm's `thread_map`",
               _map_overhead),
    )),
    Case(13, lambda s, q: case_pool(200 if q else 1_000, 8 if q else 32, 2 if q else 7, s.tty), (
        Target("1,000 short tasks on a pool of 32, each `handle.add(1, [(loss, v)])`",
               "≤ 1.3 × the same pool without progbar",
               ratio_at_most("13. ", "pool.map + handle.add", 1.3)),
    )),
    Case(14, lambda s, q: case_watching(20_000 if q else 20_000_000, 2 if q else 3, s.tty), (
        Target("`track` publishing for `progbar watch`, nobody watching",
               "≤ 1.05 × with `PROGBAR_WATCH=0`",
               ratio_at_most("14. ", "track, PROGBAR_WATCH on, nobody watching", 1.05)),
    )),
]
TARGETS: list[Target] = [t for case in CASES for t in case.targets]
