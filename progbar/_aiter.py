"""``async for x in track(aiterable)``: the loop's count, as the sync loop counts.

Loaded on the first ``async for`` over a bar; imports nothing of the bar's (the bar
hands it its hooks), so the bar's module and this one do not import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterable, AsyncIterator, Callable, Generic, TypeVar

if TYPE_CHECKING:
    from ._progbar import Progbar

__all__ = ["aiterate"]

T = TypeVar("T")


class _AsyncCount:
    """The count of an ``async for`` loop, as the bar reads a running loop's."""

    __slots__ = ("steps",)

    owns_count = False  # the loop moves the bar with update(): add() adds to it

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
