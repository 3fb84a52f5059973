"""13. Short tasks on a process pool reporting through handles, beside the same pool
without progbar."""

from __future__ import annotations

import statistics
from typing import Any

from progbar import Progbar

from .common import Pty, Row, round_robin


def _short_task(v: int) -> float:
    """A short task: some 35 µs of work (here, 2 cores, Python 3.11)."""
    return float(sum(range(3000)) + v)


def _short_task_reporting(h: Any, v: int) -> float:
    h.add(1, [("loss", float(v))])
    return _short_task(v)


def case_pool(tasks: int, procs: int, rounds: int, tty: Pty) -> list[Row]:
    """13. ``tasks`` short tasks on one ``multiprocessing`` pool of ``procs`` processes,
    each ``handle.add(1, [("loss", v)])``, against the same pool without progbar
    (target <= 1.3x; ratio of wall times, median over rounds).  The progbar side
    includes everything a run pays: the bar, its listener, each worker's connection
    and handshake, and ``close()`` taking in the counts -- a cost per run and per
    worker, not per call, so it weighs most on short runs of short tasks."""
    import functools
    import multiprocessing as mp

    values = list(range(tasks))
    with mp.get_context("fork").Pool(procs) as pool:
        def bare() -> int:
            pool.map(_short_task, values)
            return 1

        def ours() -> int:
            bar = Progbar(tasks, file=tty.file, dynamic=True)
            pool.map(functools.partial(_short_task_reporting, bar.handle()), values)
            bar.close()
            assert bar.current == tasks, bar.current  # exact, or the row means nothing
            return 1

        res = round_robin({"pool.map, no progbar": bare, "pool.map + handle.add": ours},
                          rounds)
    ratios = sorted(o / b for o, b in zip(res["pool.map + handle.add"],
                                          res["pool.map, no progbar"]))
    ratio = statistics.median(ratios)
    case = f"13. {tasks:,} tasks, pool of {procs}"
    rows = []
    for name, ts in res.items():
        ours = "handle" in name
        rows.append(Row(case, name, "live" if ours else "-",
                        f"{min(ts) / 1e6:,.1f} ms", f"{statistics.median(ts) / 1e6:,.1f} ms", "",
                        f"{ratio:.2f}× no progbar (target ≤ 1.3)" if ours else "",
                        ratio if ours else None))
    return rows
