"""``progbar.map``: ``list(map(fn, ...))`` on a pool, the bar moving as items finish.

Items are sent in chunks of ``chunksize``; a chunk runs its items one by one and
counts each as it ends: from a thread with ``bar.add(1)``, from a process through a
``bar.handle()`` (a worker's counts reach the bar while the chunk still runs, and
``bar.close()`` takes in the last of them).  Only the public API of ``Progbar`` is
used.  Loaded on first use of ``progbar.map``, so ``import progbar`` imports no
``concurrent.futures``.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import (
    FIRST_EXCEPTION,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from typing import Any, Callable, Iterable, TypeVar

from ._progbar import Progbar

__all__ = ["map"]

R = TypeVar("R")


def _run_in_thread(fn: Callable[..., R], chunk: list[tuple[Any, ...]],
                   add: Callable[[int], None], stop: threading.Event) -> list[R]:
    # A worker thread takes the next chunk as soon as it is free, often before the
    # waiting thread has woken to cancel it: ``stop`` is set at the first error.
    if stop.is_set():
        return []
    out = []
    try:
        for args in chunk:
            out.append(fn(*args))
            add(1)
    except BaseException:
        stop.set()
        raise
    return out


def _run_in_process(fn: Callable[..., R], chunk: list[tuple[Any, ...]], handle: Any) -> list[R]:
    out = []
    add = handle.add
    for args in chunk:
        out.append(fn(*args))
        add(1)
    return out


def _ignore_sigint() -> None:
    # Ctrl-C reaches every process of the terminal's foreground group: the parent
    # handles it (cancels, closes the bar); workers would each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def map(
    fn: Callable[..., R],
    *iterables: Iterable[Any],
    workers: int | None = None,
    processes: bool = False,
    chunksize: int = 1,
    **options: Any,
) -> list[R]:
    """``list(map(fn, *iterables))`` on a pool of ``workers``, with a bar.

    Threads by default; ``processes=True`` uses a process pool (``fn`` and the items
    must pickle).  Results come in the order of the items; the bar moves as items
    finish.  If a call raises, the items not yet started are cancelled, those running
    are waited for, and the first exception to occur propagates with its traceback.
    Ctrl-C cancels what has not started, closes the bar on a fresh line and
    re-raises (items already running end on their own).  ``options`` are
    :class:`progbar.Progbar`'s (``unit_name="item"`` by default).
    """
    if not iterables:
        raise TypeError("map() needs at least one iterable")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize must be an int >= 1, got {chunksize!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an int >= 1 or None, got {workers!r}")
    items = list(zip(*iterables))
    chunks = [items[i:i + chunksize] for i in range(0, len(items), chunksize)]
    options.setdefault("unit_name", "item")
    bar: Progbar[Any] = Progbar(len(items), **options)
    executor: Executor | None = None
    stop = threading.Event()
    futures: list[Future[list[R]]] = []
    try:
        if processes:
            executor = ProcessPoolExecutor(workers, initializer=_ignore_sigint)
            handle = bar.handle()
            futures = [executor.submit(_run_in_process, fn, chunk, handle) for chunk in chunks]
        else:
            executor = ThreadPoolExecutor(workers)
            add = bar.add
            futures = [executor.submit(_run_in_thread, fn, chunk, add, stop) for chunk in chunks]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # Ctrl-C while submitting or waiting
        stop.set()
        for future in futures:
            future.cancel()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        bar.close()
        raise
    failed = [f for f in futures if f in done and not f.cancelled() and f.exception()]
    if failed:
        for future in futures:
            future.cancel()
        try:
            executor.shutdown(wait=True, cancel_futures=True)
        finally:
            bar.close()
        # the one that raised first is among those done when wait() returned; their
        # order of finishing is not kept, so the earliest item of them stands for it
        failed[0].result()
    executor.shutdown(wait=True)
    bar.close()
    results: list[R] = []
    for future in futures:
        results += future.result()
    return results
