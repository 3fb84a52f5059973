"""The iteration of ``track()``: the source's items in chunks, and the one place a
loop's count is derived (design.md, "Wrapping a loop").

Wrapping an iterable costs what Python runs per item, so none runs per item: the
user's loop pulls from ``chain.from_iterable`` over ``islice`` chunks, and Python runs
once per chunk.  The loop is the count's only writer, and the count is read, when
someone asks, from the state of C iterators: for a list, tuple or range, the length
hint of its iterator (items handed out); for anything else the length hint of a
counter that ``zip`` steps *before* each pull from the source (pulls begun), so that
a pull in progress -- a slow generator, a source that raises -- already counts the
body before it as ended.  Either way the count is one less than that, the item whose
body runs (tqdm's ``n``: bodies that ended).
"""

from __future__ import annotations

import sys
from itertools import chain, islice
from operator import itemgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Protocol

    class Exact(Protocol):
        """An iterator whose length hint is exact (list, tuple and range iterators)."""

        def __length_hint__(self) -> int: ...

__all__ = ["MAX_CHUNK", "TrackLoop"]

MAX_CHUNK = 65536  # Python runs once per this many items, at the most
_SEQUENCES = (list, tuple, range)
# What iter() gives for the exact types above: iterators whose length hint is exact.
_SEQUENCE_ITERATORS: tuple[type, ...] = (type(iter([])), type(iter(())), type(iter(range(0))))
_second = itemgetter(1)


class _EndOfSource:
    """Chained after a source that is not a sequence: its one pull says the source ran
    out (``zip`` stops at the first iterator that ends, so it is pulled once)."""

    __slots__ = ("ended",)

    def __init__(self) -> None:
        self.ended = False

    def __iter__(self) -> _EndOfSource:
        return self

    def __next__(self) -> Any:
        self.ended = True
        raise StopIteration


class TrackLoop:
    """One ``track()`` loop over a source; ``count()`` is its steps done."""

    __slots__ = ("source", "exact", "top", "grows", "base", "end")

    owns_count = True  # add() inside the loop moves the count from the loop's count

    def __init__(self, iterable: Iterable[Any], base: float | int) -> None:
        it = iter(iterable)
        grows: list[Any] | None = None
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
        self.end: _EndOfSource | None = None
        if length >= 0:
            self.source: Iterator[Any] = it
            self.exact: Exact = it  # type: ignore[assignment]
        else:
            pulls = iter(range(sys.maxsize))  # stepped before each pull from the source
            self.end = _EndOfSource()
            # zip's left-to-right order is guaranteed: the counter moves first.
            self.source = map(_second, zip(pulls, chain(it, self.end)))
            self.exact = pulls  # type: ignore[assignment]
            length = sys.maxsize
        self.base = base
        self.grows = grows
        # handed out (or pulls begun) == top + 1 (+ len(grows)) - the length hint
        self.top = base - 1 + length  # see handed()

    def handed(self) -> float | int:
        """Items handed out (a sequence) or pulls begun (any other source), counted
        from the count the loop started at."""
        grows = self.grows
        handed = self.top + 1 - self.exact.__length_hint__()
        return handed if grows is None else handed + len(grows)

    def count(self) -> float | int:
        """Steps done so far: bodies that ended -- one less than :meth:`handed`, the
        item whose body runs (or whose pull is under way) -- never below the count
        the loop started at.  (``handed() - 1``, written out: ``bar.current`` reads it
        inside the loop, where a call more shows.)"""
        done = self.top - self.exact.__length_hint__()
        grows = self.grows
        if grows is not None:
            done += len(grows)
        return done if done > self.base else self.base

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
        end = self.end
        t_prev = clock()
        size = 1
        done = self.base  # bodies ended at the last boundary
        inside = False  # a chunk is being consumed (the generator waits at its yield)
        exhausted = False
        got = done
        try:
            while True:
                inside = True
                yield islice(source, size)
                inside = False
                # The chunk is spent: every item it handed out has run its body.
                got = self.handed()
                if end is not None:  # the end's pull ran out: it is not an item
                    exhausted = end.ended
                    if exhausted:
                        got -= 1
                else:  # a sequence: only the last chunk comes up short
                    exhausted = got - done < size
                if exhausted:
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
            # Ran out: every item's body ran.  Left early inside a chunk (break, an
            # exception in the body or the source, a dropped iterator): the item whose
            # body ran -- or whose pull failed -- is not a step done.  Left at a
            # boundary (an exception while drawing): every item handed out is.
            final = self.count() if inside else got
            on_end(final, exhausted)
