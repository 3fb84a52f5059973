"""8. A worker's ``handle.add(1)``, in the parent and in a forked worker, beside a local
``bar.add(1)``."""

from __future__ import annotations

import statistics
import time
from typing import Any

from progbar import Progbar

from .common import Pty, Row, add_loop, fmt_ns, round_robin


def case_handle(n: int, rounds: int, tty: Pty) -> list[Row]:
    """8. A worker's ``handle.add(1)`` against a local ``bar.add(1)`` (target <= 2x).

    Both run here, round-robin; the handle's calls take the same path as in a worker
    process (a lock and a sum; its sender thread sends once per interval).  A row
    measured inside a forked worker process follows, for the record.
    """
    import multiprocessing as mp

    def noop(k: int) -> None:
        pass

    def base() -> int:
        for _ in range(n):
            noop(1)
        return n

    def via_handle() -> int:
        bar = Progbar(n, file=tty.file, dynamic=True)
        add = bar.handle().add
        for _ in range(n):
            add(1)
        bar.close()
        return n

    res = round_robin({"no-op call": base, "local bar.add(1)": add_loop(n, tty.file),
                       "worker handle.add(1)": via_handle}, rounds)

    def in_worker(h: Any, conn: Any) -> None:
        add = h.add
        add(1)  # connects (once per process)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                add(1)
            times.append((time.perf_counter() - t0) / n * 1e9)
        h.close()
        conn.send(times)

    bar = Progbar(None, file=tty.file, dynamic=True)
    ctx = mp.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=in_worker, args=(bar.handle(), theirs))
    proc.start()
    res["worker handle.add(1) · in a forked worker"] = ours.recv()
    proc.join()
    bar.close()
    b_min = min(res["no-op call"])
    l_net = min(res["local bar.add(1)"]) - b_min
    rows = []
    for name, ts in res.items():
        what, _, mode = name.partition(" · ")
        net = min(ts) - b_min
        ratio = net / l_net if "handle" in name and l_net > 0 else None
        rows.append(Row(
            "8. worker handle.add(1)", what, mode or ("-" if name == "no-op call" else "live"),
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == "no-op call" else fmt_ns(net),
            f"{ratio:.2f}× local add" if ratio is not None else "", ratio,
        ))
    return rows
