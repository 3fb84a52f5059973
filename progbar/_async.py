"""Async code: ``async for`` over ``track()``, ``gather`` and ``as_completed``.

Loaded on first use (``progbar.gather``, ``async for``), so ``import progbar`` never
imports asyncio.
"""

from __future__ import annotations

import asyncio
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generic,
    Iterable,
    Iterator,
    TypeVar,
)

from ._progbar import Progbar

__all__ = ["aiterate", "as_completed", "gather"]

T = TypeVar("T")


class _AsyncCount:
    """The count of an ``async for`` loop, as the bar reads a running loop's."""

    __slots__ = ("steps",)

    def __init__(self, steps: float | int) -> None:
        self.steps = steps  # the items whose bodies ended

    def count(self) -> float | int:
        return self.steps


class _AsyncTrack(Generic[T]):
    """``async for x in track(aiterable)``: counts as the sync loop does.

    The count is the steps done: an item counts once its body has run (when the
    next item is asked for).  At exhaustion the bar is finalized and closed.  A
    class rather than an async generator so that ``break`` or an exception in the
    body closes the bar at once (the loop drops the iterator; ``__del__`` runs
    then) instead of whenever the event loop finalizes an abandoned generator.
    """

    __slots__ = ("_bar", "_source", "_pending", "_done", "_leave", "_count")

    def __init__(
        self,
        bar: Progbar[T],
        aiterable: AsyncIterable[T],
        enter: Callable[[Any], None],
        leave: Callable[[float | int, bool], None],
    ) -> None:
        self._bar = bar
        self._source: AsyncIterator[T] = aiter(aiterable)
        self._pending = False  # an item was handed out and its body has not ended
        self._done = False
        self._leave = leave
        # What the bar holds while the loop runs: not this iterator, which must go
        # away as soon as the ``async for`` drops it (see ``__del__``).
        self._count = _AsyncCount(bar.current)
        enter(self._count)

    def __aiter__(self) -> _AsyncTrack[T]:
        return self

    async def __anext__(self) -> T:
        bar = self._bar
        if self._done:
            raise StopAsyncIteration
        if self._pending:
            self._pending = False
            # not finalizing here: that happens once, at exhaustion, as in the sync loop
            step = bar.current + 1
            bar.update(step, finalize=False)
            self._count.steps = step
        try:
            item = await anext(self._source)
        except StopAsyncIteration:
            self._finish(exhausted=True)
            raise
        except BaseException:
            self._finish(exhausted=False)
            raise
        self._pending = True
        return item

    def _finish(self, exhausted: bool) -> None:
        if self._done:
            return
        self._done = True
        self._leave(self._count.steps, exhausted)

    def __del__(self) -> None:
        # ``break`` or an exception in the body: the item in progress does not count.
        try:
            self._finish(exhausted=False)
        except Exception:
            pass


def aiterate(
    bar: Progbar[T],
    aiterable: AsyncIterable[T],
    enter: Callable[[Any], None],
    leave: Callable[[float | int, bool], None],
) -> AsyncIterator[T]:
    """The iterator behind ``async for x in track(aiterable)``: ``enter(loop)`` as it
    starts, ``leave(count, exhausted)`` once as it ends (the bar's loop hooks)."""
    return _AsyncTrack(bar, aiterable, enter, leave)


async def gather(
    *aws: Awaitable[Any], return_exceptions: bool = False, **options: Any
) -> list[Any]:
    """``asyncio.gather`` with a bar: results in the order given, the bar moving as
    each awaitable finishes.  ``options`` are :class:`progbar.Progbar`'s."""
    futures = [asyncio.ensure_future(aw) for aw in aws]
    bar: Progbar[Any] = Progbar(len(futures), **options)

    def finished(_: object) -> None:
        bar.add(1)

    for future in futures:
        future.add_done_callback(finished)
    try:
        return await asyncio.gather(*futures, return_exceptions=return_exceptions)
    finally:
        for future in futures:
            future.remove_done_callback(finished)
        bar.close()


def as_completed(
    aws: Iterable[Awaitable[T]], *, timeout: float | None = None, **options: Any
) -> Iterator[Awaitable[T]]:
    """``asyncio.as_completed`` with a bar: ``for fut in as_completed(aws): await fut``
    gives results in finishing order; the bar moves as each finishes."""
    todo = list(aws)
    return _as_completed(todo, timeout, Progbar(len(todo), **options))


def _as_completed(
    aws: list[Awaitable[T]], timeout: float | None, bar: Progbar[Any]
) -> Iterator[Awaitable[T]]:
    try:
        futures = [asyncio.ensure_future(aw) for aw in aws]

        def finished(_: object) -> None:
            bar.add(1)

        for future in futures:
            future.add_done_callback(finished)
        yield from asyncio.as_completed(futures, timeout=timeout)
    finally:
        bar.close()
