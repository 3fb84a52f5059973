"""The stall watch: a running bar that has not moved for long says so.

Week-long jobs hang -- a DataLoader worker deadlocks, a collective waits for a rank
that died -- and the bar just stops; in a log the last line grows old with nothing
after it.  The ticker (``_ticker``) calls each unfinished bar's ``tick()`` (at a low
rate while the bar is idle), and the bar asks its :class:`StallWatch`.

The rule is one pure function of (now, last step time, seconds per step,
``stall_after``): :func:`stalled_for`, with ``stall_after=None`` meaning
max(60 s, 30 x the smoothed step time).  A stall is reported when it starts and again
at each doubling of its length (:func:`stall_report`); the next step clears it.

Nested loops: an epoch bar does not move while its step bars do.  A bar made later on
the same thread (with the same clock) counts as nested in the earlier ones: its steps,
its start and its end are steps of theirs too, so an outer loop is stalled only when
nothing inside it moves (design.md, "The stall watch").
"""

from __future__ import annotations

import math
import os
from _thread import allocate_lock, get_ident
from _weakref import ref

from . import _format as fmt
from ._display import LineDisplay
from ._rank import is_main_process, process_rank
from ._writer import disabled_by_env, dump_stacks, stall_after_from_env, stall_dump_enabled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ._display import Display, Row
    from ._style import Style

__all__ = [
    "DEFAULT_STALL",
    "STALL_STEPS",
    "StallWatch",
    "StallWatching",
    "stall_report",
    "stall_threshold",
    "stalled_for",
]

DEFAULT_STALL = 60.0  # seconds without a step before a stall, at the least (by default)
STALL_STEPS = 30.0  # ... or this many smoothed step times, if that is longer


def stall_threshold(per_step: float, stall_after: float | None) -> float:
    """Seconds without a step that make a stall: ``stall_after``, or by default
    max(60 s, 30 x ``per_step``)."""
    if stall_after is not None:
        return stall_after
    return max(DEFAULT_STALL, STALL_STEPS * per_step)


def stalled_for(now: float, last_step: float, per_step: float,
                stall_after: float | None) -> float | None:
    """Seconds since the last step if that makes a stall, else None."""
    idle = now - last_step
    return idle if idle >= stall_threshold(per_step, stall_after) else None


def stall_report(stalled: float, threshold: float) -> float:
    """The report a stall of ``stalled`` seconds has reached: ``threshold`` doubled as
    often as fits (60, 120, 240... for a threshold of 60 s)."""
    level = threshold
    if level <= 0:
        return stalled
    while level * 2 <= stalled:
        level *= 2
    return level


_watches: list[ref[StallWatch]] = []  # the watches of unfinished bars, oldest first
_lock = allocate_lock()
_fork_hook: list[bool] = []


def _after_fork_in_child() -> None:
    """A forked child watches none of its parent's bars; the lock may have been held."""
    global _lock
    _lock = allocate_lock()
    _watches.clear()


class StallWatch:
    """One bar's stall watch: when its count last moved, and what was reported.

    The bar feeds it (``step``) and asks it (``check``, ``report``) from the ticker's
    thread under the bar's lock; ``retire`` when the bar ends.
    """

    __slots__ = ("after", "clock", "thread", "count", "last_step", "armed", "stalled",
                 "per_step", "reported", "shown", "__weakref__")

    def __init__(self, after: float | None, clock: Callable[[], float], now: float,
                 count: float | int) -> None:
        self.after = after  # stall_after (None: the default rule)
        self.clock = clock  # only watches on one clock nest
        self.thread = get_ident()  # only watches made on one thread nest
        self.count = count  # the count last seen
        self.last_step = now  # when it last moved (or a nested bar did)
        self.armed = False  # steps are due: the count moved once, or a loop started
        self.stalled = False
        self.per_step = 0.0  # the step time the threshold uses; kept while stalled
        self.reported = 0.0  # the last report's length in this stall (0: none yet)
        self.shown = -1  # a live line: the whole second of the stall drawn last
        if not _fork_hook:  # at the first watch: importing progbar registers nothing
            _fork_hook.append(True)
            import os

            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
        with _lock:
            _watches[:] = [r for r in _watches if r() is not None]  # bars dropped unended
            _watches.append(ref(self))

    def arm(self, now: float) -> None:
        """A loop starts pulling items: steps are due from now on."""
        self.armed = True
        self._moved(now)

    def step(self, count: float | int, at: float) -> None:
        """The count is ``count`` now; if it moved, it moved at ``at`` (which ends a
        stall, even if a new one has begun since)."""
        if count != self.count:
            self.count = count
            self.armed = True
            self.stalled = False
            self.reported = 0.0
            self.shown = -1
            self._moved(at)

    def check(self, now: float, per_step: float) -> float | None:
        """Seconds the bar has been stalled, or None (no steps due, or one came
        lately: that clears a stall)."""
        if not self.armed:
            return None
        if not self.stalled:
            self.per_step = per_step  # a stall is judged by the pace before it
        stalled = stalled_for(now, self.last_step, self.per_step, self.after)
        if stalled is None:
            self.stalled = False
            self.reported = 0.0
            self.shown = -1
            return None
        self.stalled = True
        return stalled

    def report(self, stalled: float) -> tuple[float, bool] | None:
        """The report due now, once each: ``(its length, first of this stall)``."""
        level = stall_report(stalled, stall_threshold(self.per_step, self.after))
        if level <= self.reported:
            return None
        first = not self.reported
        self.reported = level
        return level, first

    def retire(self, now: float) -> None:
        """The bar ended: it is watched no more, and its end is a step of the bars it
        was nested in."""
        self._moved(now)
        with _lock:
            _watches[:] = [r for r in _watches if r() not in (self, None)]

    def _moved(self, at: float) -> None:
        if at > self.last_step:
            self.last_step = at
        with _lock:
            outer = []
            for entry in _watches:
                watch = entry()
                if watch is self:
                    break
                if watch is not None and watch.thread == self.thread and (
                        watch.clock is self.clock):
                    outer.append(watch)
        for watch in outer:
            if at > watch.last_step:
                watch.last_step = at

class StallWatching:
    """The bar's side of the stall watch, a base of ``Progbar``: it starts a watch,
    takes the ticker's turn, and shows a stall (in place of the ETA, or one log line
    per report).  It uses the bar's fields, as :class:`Counting` does (both are parts
    of the one bar object)."""

    _stall: StallWatch | None
    _stall_after: float | None
    _verbose: int
    _display: Display
    _style: Style
    _row: Row
    _seen: float | int
    _start: float
    _initial: float | int
    _clock: Callable[[], float]
    _clock_every: int
    _may_tick: bool
    _closed: bool
    _target: int | float | None
    _loop: Any
    _label: str | None
    _quiet_until: float | None
    _moved_count: float | int
    _moved_at: float
    _step_time: float
    _lock: Any
    _display_dead: Callable[[], bool]
    _display_failed: Callable[[], None]

    # The bar's own (see _counting.Counting, _progbar.Progbar).
    _stop_ticking: Callable[[], None]
    _advance: Callable[[float | int, float, bool], None]
    if TYPE_CHECKING:  # (no definition at run time: Counting's is the one)
        @property
        def current(self) -> float | int: ...

    def _start_stall_watch(self) -> None:
        """A new stall watch (see _stall) for a bar that shows a stall: verbose=1,
        drawn -- or silenced by its rank while the stall dump is on (the rank that
        hangs is rarely rank 0) -- and ``stall_after`` (the argument, else the
        environment's) finite.

        A default-style bar joins the ticker at its first slow path or loop start
        (and stays watched once idle); one that never would -- the keras styles read
        the clock at every call, a bar silenced by rank draws nothing -- is watched
        from here.  (Not every bar: a thread started here would be running before a
        DataLoader forks its workers.)"""
        self._moved_count = self._seen  # when the count last moved, as _advance saw it
        self._moved_at = self._start
        self._step_time = 0.0  # the step time of the last line drawn
        self._stall = None
        self._style.set_stall(None)
        self._row.stalled = False
        if self._verbose != 1:
            return
        if self._display_dead() and (
                disabled_by_env() or is_main_process() or not stall_dump_enabled()):
            return
        after = self._stall_after
        if after is None:
            after = stall_after_from_env()
        if after is not None and after == math.inf:
            return
        self._stall = StallWatch(after, self._clock, self._start, self._seen)
        if self._may_tick and (not self._clock_every or self._display_dead()):
            from . import _ticker

            if not _ticker.watch(self):  # type: ignore[arg-type]  # a Progbar
                self._stall = None  # no ticker thread (interpreter shutdown): no watch

    def _watch_stall(self) -> None:
        """The stall watch's turn (the ticker's, or a test's ``tick()``): note a step,
        show a stall or clear it.  It never waits for the bar's lock: a thread that
        holds it is not stalled."""
        if not self._lock.acquire(blocking=False):
            return
        dump = None
        try:
            watch = self._stall
            if watch is None or self._closed:
                return
            now = self._clock()
            current = self.current
            if self._seen > current:
                current = self._seen
            target = self._target
            if target is not None and current >= target and self._loop is None:
                self._stop_ticking()  # finished: nothing to watch
                return
            was = watch.stalled
            # The pace the bar's own clock readings show (the slow path notes when each
            # count it sees arrived): exact times, unlike what the watch sees late.
            seen = self._moved_count - self._initial
            pace = max(self._moved_at - self._start, 0.0) / seen if seen > 0 else None
            if current == self._moved_count:  # the slow path saw it arrive: exact
                at = self._moved_at
            elif pace is not None and current > self._moved_count:
                # Steps no clock was read for (inside a track() chunk, between two
                # strides): dated at that pace, never later than now.
                at = min(now, self._moved_at + (current - self._moved_count) * pace)
            else:
                at = now
            watch.step(current, at)
            per_step = self._step_time
            if per_step <= 0 and current > self._initial:  # no line yet: the mean so far
                per_step = pace if pace is not None else (
                    max(watch.last_step - self._start, 0.0) / (current - self._initial))
            stalled = watch.check(now, per_step)
            if stalled is None:
                if was:
                    self._show_stall(watch, None, current, now, None)
                return
            report = watch.report(stalled)
            self._show_stall(watch, stalled, current, now, report)
            if report is not None and report[1] and stall_dump_enabled():
                line = fmt.format_stall_line(self._label, current, target, self._style.unit,
                                             report[0], watch.per_step)
                dump = (f"progbar (rank {process_rank()}, pid {os.getpid()}): {line}; "
                        "the Python stack of every thread follows")
        finally:
            self._lock.release()
        if dump is not None:
            self._display.step_aside()  # on a terminal the dump starts on a line of its own
            dump_stacks(dump)  # outside the lock: stderr may block

    def _show_stall(self, watch: StallWatch, stalled: float | None, current: float | int,
                    now: float, report: tuple[float, bool] | None) -> None:
        """A live line shows ``stalled 1:05`` in place of its ETA, redrawn each second
        (None: back to the ETA); a log gets one line per report."""
        self._style.set_stall(None if stalled is None else (current, stalled))
        self._row.stalled = stalled is not None  # the terminal's indicator: paused
        display = self._display
        quiet_until = self._quiet_until
        if self._display_dead() or (quiet_until is not None and now < quiet_until):
            return  # (delay=: a bar not drawn yet says nothing)
        try:
            if isinstance(display, LineDisplay):
                if report is not None:
                    display.message(fmt.format_stall_line(
                        self._label, current, self._target, self._style.unit, report[0],
                        watch.per_step))
                return
            if stalled is not None:
                if int(stalled) == watch.shown:
                    return
                watch.shown = int(stalled)
            self._style.draw_now()
            self._advance(current, now, False)
        except Exception:  # a display bug must never stop the loop
            self._display_failed()
