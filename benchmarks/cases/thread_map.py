"""12. ``progbar.map`` on threads, beside ``ThreadPoolExecutor.map`` and tqdm's ``thread_map``."""

from __future__ import annotations

import statistics
from typing import Callable

import progbar

from .common import Pty, Row, fmt_ns, net_ratio, round_robin, tqdm_mod


def case_map(n: int, rounds: int, tty: Pty) -> list[Row]:
    """12. A pool over ``n`` trivial items on 4 threads: ``ThreadPoolExecutor.map``,
    ``progbar.map`` and tqdm's ``thread_map``; each makes its own pool, as a user's
    call does.  Net = above ``ThreadPoolExecutor.map`` (target: <= 0.5x tqdm's);
    ns per item."""
    from concurrent.futures import ThreadPoolExecutor

    items = list(range(n))

    def fn(x: int) -> int:
        return x

    def executor_map() -> int:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fn, items))
        return n

    def ours() -> int:
        progbar.map(fn, items, workers=4, file=tty.file, dynamic=True)
        return n

    variants: dict[str, Callable[[], int]] = {"ThreadPoolExecutor.map": executor_map,
                                              "progbar.map": ours}
    if tqdm_mod is not None:
        from tqdm.contrib.concurrent import thread_map

        def tq() -> int:
            thread_map(fn, items, max_workers=4, file=tty.file)
            return n

        variants["tqdm thread_map"] = tq
    res = round_robin(variants, rounds)
    base = "ThreadPoolExecutor.map"
    rows = []
    for name, ts in res.items():
        note = ""
        share: float | None = None
        if name == "progbar.map" and "tqdm thread_map" in res:
            share = net_ratio(res, name, base, "tqdm thread_map")
            # Below the plain pool (no future per item), a share of tqdm's net reads
            # as a negative ratio: say what it is instead.
            note = (f"{share:.2f}× tqdm's net (target ≤ 0.5)" if share >= 0 else
                    f"faster than {base}: {min(ts) / min(res[base]):.2f}× its time "
                    "(target ≤ 0.5 × tqdm's net)")
        rows.append(Row(
            f"12. map over a thread pool ({n:,} items)", name,
            "-" if name == base else "live pty", fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == base else fmt_ns(min(ts) - min(res[base])), note, share,
            None if name == base else min(ts) - min(res[base]),
        ))
    return rows
