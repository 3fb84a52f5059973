"""Worker functions for the handle tests: a light module, quick to import in spawned
children (the test modules import pytest and more)."""

from __future__ import annotations

import os
from typing import Any


def add_steps(h: Any, i: int, steps: int = 3) -> int:
    """``steps`` steps, a step-weighted loss ``i`` (weight ``steps``) and a stateful lr."""
    h.add(steps, [("loss", i)])
    h.log(lr=0.5)
    return i


def add_ones(h: Any, i: int) -> int:
    h.add(1, {"loss": i})
    return os.getpid()


def child_bar_task(h: Any, i: int) -> int:
    with h.bar(5, label=f"task {i}") as child:
        for k in range(5):
            child.add(1, [("part", k)])
    h.add(1)
    return i


def many_adds(h: Any, n: int, conn: Any) -> None:
    """n adds, then report how many messages the process sent (close() flushes)."""
    for _ in range(n):
        h.add(1)
    h.close()
    conn.send(h._client().sent_messages)
    conn.close()


def hold_until(h: Any, n: int, ready: Any, go: Any) -> int:
    """Add n, tell the parent, and wait (alive, with the counts unsent) until told."""
    for _ in range(n):
        h.add(1)
    ready.set()
    go.wait(60)
    return n


def die_mid_run(h: Any) -> None:
    h.add(3)
    child = h.bar(10, label="doomed")
    child.add(2)
    h.flush()
    os._exit(1)


def use_after_close(h: Any) -> None:
    h.add(5, [("loss", 1.0)])
    h.write("too late")
    with h.bar(3) as child:
        child.add(3)
    h.close()


class CountingDataset:
    """A torch-style map dataset that counts each item it produces."""

    def __init__(self, n: int, handle: Any) -> None:
        self.n = n
        self.handle = handle

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        self.handle.add(1, [("item", float(i))])
        return i


def stop_after_connecting(h: Any) -> None:
    """Connect, send a step, then stop (SIGSTOP): a worker that never answers again."""
    import signal

    h.add(1)
    h.flush()
    os.kill(os.getpid(), signal.SIGSTOP)


# A parent's script for the subprocess tests: `with Pool(4) as pool: pool.starmap(...)`
# (whose exit terminates the workers), the bar closed after the block, five times.
POOL_WITH_BLOCK = r"""
import multiprocessing as mp, os, sys
sys.path.insert(0, {tests!r})
import progbar
from support import handle_workers as w

if __name__ == "__main__":
    ctx = mp.get_context({method!r})
    for rep in range(5):
        bar = progbar.Progbar(40, label=f"rep {{rep}}")
        h = bar.handle()
        with ctx.Pool(4) as pool:
            pool.starmap(w.add_ones, [(h, i) for i in range(40)])
        bar.close()
"""
