"""The iteration of ``track()``: the source's items in chunks, and the one place a
loop's count is derived (design.md, "Wrapping a loop").

Wrapping an iterable costs what Python runs per item, so none runs per item: the
user's loop pulls from ``chain.from_iterable`` over ``islice`` chunks, and Python runs
once per chunk.  The count is read, when someone asks, from C-level iterator state:
for a list, tuple or range, the length hint of its iterator; for anything else the
length hint of a counter that ``compress`` steps only once an item exists.
"""

from __future__ import annotations

import gc
import sys
from itertools import compress, islice

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

    T = TypeVar("T")

    class Exact(Protocol):
        """An iterator whose length hint is exact (list, tuple and range iterators)."""

        def __length_hint__(self) -> int: ...

__all__ = ["MAX_CHUNK", "TrackLoop"]

MAX_CHUNK = 65536  # Python runs once per this many items, at the most
_SEQUENCES = (list, tuple, range)
# What iter() gives for the exact types above: iterators whose length hint is exact.
_SEQUENCE_ITERATORS: tuple[type, ...] = (type(iter([])), type(iter(())), type(iter(range(0))))


class TrackLoop:
    """One ``track()`` loop over a source.

    ``count()`` is the steps done: the items handed out minus the one whose body runs.
    ``plain`` says that ``count()`` is the one subtraction ``top - exact.__length_hint__()``
    (a range, a tuple, or a source counted by ``compress``), which ``Progbar.current``
    inlines for speed; the bar clears it once an ``update()`` inside the loop moves the
    count itself.  Tests hold the inlined form equal to ``count()``.
    """

    __slots__ = ("source", "exact", "top", "grows", "base", "plain")

    def __init__(self, iterable: Iterable[Any], base: float | int) -> None:
        it = iter(iterable)
        grows: list[Any] | None = None
        length: int
        length = -1
        if type(iterable) in _SEQUENCES and type(it) in _SEQUENCE_ITERATORS:
            if type(iterable) is list:
                grows = iterable  # a list may grow: len() at each read
                length = 0
            else:
                try:
                    length = len(iterable)  # type: ignore[arg-type]
                except OverflowError:  # a range beyond sys.maxsize: counted as below
                    pass
        if length >= 0:
            self.source: Iterator[Any] = it
            self.exact: Exact = it  # type: ignore[assignment]
        else:
            counter = iter(range(1, sys.maxsize))  # stepped once an item exists
            self.source = compress(it, counter)
            self.exact = counter  # type: ignore[assignment]
            length = sys.maxsize - 1
        self.base = base
        self.grows = grows
        self.top = base - 1 + length  # count() == top (+ len(grows)) - exact's length hint
        self.plain = grows is None

    def count(self) -> float | int:
        """Steps done so far: items handed out minus the one whose body runs."""
        grows = self.grows
        if grows is None:
            return self.top - self.exact.__length_hint__()
        return self.top + len(grows) - self.exact.__length_hint__()

    def chunks(
        self,
        on_start: Callable[[], None],
        on_boundary: Callable[[float | int], float | None],
        on_end: Callable[[float | int, bool], None],
        clock: Callable[[], float],
        interval: float,
    ) -> Iterator[Iterator[Any]]:
        """The items in chunks, for ``chain.from_iterable``.  ``on_start()`` runs at
        the first pull; ``on_boundary(count)`` after each full chunk, with the exact
        count, returning the time it read (None: the bar draws nothing, so chunks are
        not sized by time); ``on_end(count, exhausted)`` once, however the loop ends."""
        # Chunks grow from 1 by doubling, to MAX_CHUNK items, but each is kept to about
        # interval/8 of time at the rate just seen, so chunk boundaries alone draw on
        # time while the rate holds (the ticker covers a sudden slowdown).
        on_start()
        source = self.source
        t_prev = clock()
        size = 1
        done = self.count() + 1  # items handed out, counted from base
        chunk: Iterator[Any] = iter(())
        exhausted = False
        try:
            while True:
                chunk = islice(source, size)
                yield chunk
                # Here the chunk is spent: every item it handed out has run its body.
                got = self.count() + 1
                if got - done < size:
                    exhausted = True
                    break
                done = got
                now = on_boundary(got)
                if now is None:
                    size = min(size * 2, MAX_CHUNK)
                    continue
                want = size * 2
                dt = now - t_prev
                if dt > 0:
                    fit = int(size * interval * 0.125 / dt)
                    if fit < want:
                        want = fit if fit > 1 else 1
                size = want if want < MAX_CHUNK else MAX_CHUNK
                t_prev = now
        finally:
            # After an early exit (break, an exception in the body or the source, a
            # dropped iterator) the last item counts only if its body ended: the
            # islice drops its source only when a pull from it failed.
            got = self.count() + 1
            if not exhausted and _holds_source(chunk):
                got -= 1
            on_end(got, exhausted)


def _holds_source(chunk: object) -> bool:
    """Does this islice still hold its source iterator?  From Python 3.12 islice is a
    heap type and lists its own type among its referents: only a referent other than
    the type is the source."""
    for ref in gc.get_referents(chunk):
        if ref is not islice:
            return True
    return False
