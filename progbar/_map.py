"""``progbar.map``: ``list(map(fn, ...))`` on a pool, the bar moving as items finish.

Threads take the items one at a time and count each as it ends with ``bar.add(1)``;
a process pool gets them in chunks of ``chunksize`` and counts each through a
``bar.handle()`` (a worker's counts reach the bar while the chunk still runs, and
``bar.close()`` takes in the last of them).  Only the public API of ``Progbar`` is
used.  Loaded on first use of ``progbar.map``, so ``import progbar`` imports no
``concurrent.futures``.
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import (
    FIRST_EXCEPTION,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from typing import Any, Callable, Iterable, TypeVar

from ._progbar import Progbar

__all__ = ["map"]

R = TypeVar("R")


def _map_threads(fn: Callable[..., R], items: list[tuple[Any, ...]], workers: int,
                 bar: Progbar[Any]) -> list[R]:
    """Threads that each take the next item as soon as they are free.  No future, no
    queue per item: an item costs a locked ``next()`` on a shared range iterator, the
    call, a store and ``bar.add(1)`` -- less than ``ThreadPoolExecutor.map`` spends on
    each."""
    results: list[Any] = [None] * len(items)
    order = iter(range(len(items)))
    failed: list[BaseException] = []  # the first error to occur is failed[0]
    add = bar.add
    take = _locked_next(order)

    def work() -> None:
        try:
            for i in iter(take, None):
                if failed:  # an item failed (or Ctrl-C): start no other
                    return
                results[i] = fn(*items[i])
                add(1)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    threads = [threading.Thread(target=work, name="progbar-map", daemon=True)
               for _ in range(min(workers, len(items)) or 1)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: no item starts from now on; running ones end
        failed.insert(0, KeyboardInterrupt())
        bar.close()
        raise
    bar.close()
    if failed:
        raise failed[0]
    return results


def _locked_next(it: Any) -> Callable[[], Any]:
    """``next(it, None)`` safe from several threads (a generator pulled from two
    threads at once raises ``ValueError``)."""
    lock = threading.Lock()

    def take() -> Any:
        with lock:
            return next(it, None)

    return take


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

    Threads by default (``workers``: as ``ThreadPoolExecutor``'s default); threads take
    the items one at a time.  ``processes=True`` uses a process pool, sent
    ``chunksize`` items per task (``fn`` and the items must pickle).  Results come in
    the order of the items; the bar moves as items finish.  If a call raises, the
    items not yet started are cancelled, those running are waited for, and the first
    exception to occur propagates with its traceback.
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
    options.setdefault("unit_name", "item")
    bar: Progbar[Any] = Progbar(len(items), **options)
    if not processes:
        return _map_threads(fn, items, workers or min(32, (os.cpu_count() or 1) + 4), bar)
    chunks = [items[i:i + chunksize] for i in range(0, len(items), chunksize)]
    executor: Executor | None = None
    futures: list[Future[list[R]]] = []
    try:
        executor = ProcessPoolExecutor(workers, initializer=_ignore_sigint)
        handle = bar.handle()
        futures = [executor.submit(_run_in_process, fn, chunk, handle) for chunk in chunks]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # Ctrl-C while submitting or waiting
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
