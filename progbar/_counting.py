"""The count and the hot calls: ``update()``, ``add()``, ``log()`` and ``current``; the
readings of the count (``rate``, ``eta``, ``state()``); the loops that own the count;
and the ticker's side of a bar (the count drawn on time, ``tick()``).

:class:`Counting` is the part of a bar that runs per step, the base of ``Progbar``.
Every write to the count and to the metric store happens here, under the bar's one
lock (``_lock``), whatever thread calls: nothing rests on where the interpreter may
switch threads.  What a call does under it is small -- move the count, hand the
values to the store, compare the count with ``_lim`` -- and a render waits until the
count reaches ``_lim`` (design.md, "The count and the metrics").  The one exception is
a ``track()`` loop, whose single writer is the loop itself: its count is read from
the loop's iterators (``_track``).

What it asks of the bar built on it (``Progbar``): ``_advance(current, now,
finalize)`` draws if the style says so; ``_stop_ticking()``; and the fields set in
``Progbar.__init__`` (the clock, the display, the verbosity, the ticker flags).
"""

from __future__ import annotations

import math
from _thread import RLock  # not threading: see _progbar's imports
from itertools import chain
from operator import index

from ._track import TrackLoop

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

    from ._display import Display, Row
    from ._metrics import MetricStore
    from ._stall import StallWatch
    from ._style import Style

    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

    class Loop(Protocol):
        """A running loop (``TrackLoop``, async's, or a ``FollowedCount``): it owns the count."""

        owns_count: bool  # add() moves the count from count(), not from the bar's own

        def count(self) -> float | int: ...

__all__ = ["NO_FAST", "Counting", "FollowedCount", "check_current"]

_MAX_STRIDE = 1024  # calls between clock reads at most, while the ticker draws
_SILENT_STRIDE = 4096  # a silent bar reads no clock: its slow path only keeps _lim
NO_FAST = -math.inf  # ``_lim`` while every call must take the slow path

# Work the ticker left for the main thread (installing a signal handler: Python takes
# them from there only), run when a bar's own call passes by on it -- the slow path, a
# track() chunk's end, log().  The ticker's list, shared once it is loaded.
_main_work: list[Callable[[], None]] = []


def _share_main_work(work: list[Callable[[], None]]) -> None:
    global _main_work
    _main_work = work


def _run_main_work() -> None:
    from . import _ticker  # (loaded: it shared the list)

    _ticker.run_main_thread_work()


def check_current(current: object) -> float | int:
    cls = type(current)
    if cls is int or cls is float:
        value = current
    elif isinstance(current, (str, bytes)):
        raise TypeError(f"current must be a number, not {cls.__name__}")
    elif isinstance(current, bool):
        value = int(current)
    else:
        try:
            value = index(current)  # type: ignore[arg-type]
        except TypeError:
            try:
                value = float(current)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise TypeError(
                    f"current must be a number, not {type(current).__name__}"
                ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"current must be a finite number, got {value!r}")
    return value  # type: ignore[return-value]


class FollowedCount:
    """A count kept outside the bar (a file's offset), read whenever the bar shows it:
    the bar's count when it started following, plus ``position()``.  The code that
    moves it calls nothing (see ``Progbar.follow``)."""

    __slots__ = ("position", "base", "last")

    owns_count = True

    def __init__(self, position: Callable[[], float | int], base: float | int) -> None:
        self.position = position
        self.base = base
        self.last = base  # the last count read: what a failing read shows

    def count(self) -> float | int:
        try:
            moved = self.position()
            if type(moved) is not int:
                moved = check_current(moved)
        except Exception:  # a position that cannot be read (a closed file): keep the last
            return self.last
        self.last = last = self.base + moved
        return last


class Counting:
    """The count of a bar, the calls that move it, and its drawing on time by the
    ticker (see the module docstring)."""

    # Set by _start_counting, or by Progbar.__init__ (declared for the type checker).
    _seen: float | int
    _log_mark: float | int
    _loop: Loop | None
    _stall: StallWatch | None
    _target: int | float | None
    _keras_finalize: bool
    _verbose: int
    _interval: float
    _clock: Callable[[], float]
    _clock_every: int
    _clock_t: float
    _display: Display
    _may_tick: bool
    _closed: bool
    _watch_stall: Callable[[], None]  # the stall watch's turn (see _stall.StallWatching)
    _style: Style
    _row: Row
    _label: str | None
    _start: float

    def _advance(self, current: float | int, now: float, finalize: bool) -> None:
        raise NotImplementedError  # the bar's: draw if the style says so

    def close(self) -> None:
        raise NotImplementedError  # the bar's: its last line


    def _start_counting(self, store: MetricStore, initial: float | int) -> None:
        """The counting state of a new bar at ``initial``, its metrics in ``store``."""
        self._store = store
        self._initial = initial  # the count it starts at (and reset() goes back to)
        self._seen = initial
        self._log_mark = initial  # the step of the last log(): its weight's start
        # Below ``_lim`` a call only moves the count and records its values; reaching
        # it takes the slow path (_due: the clock, a render, the next limit).  It never
        # passes the target, so reaching the target always finalizes.  The first call
        # takes the slow path, which draws the first frame.
        self._lim = NO_FAST
        # The loop running now (a TrackLoop, async's, a FollowedCount), which owns the
        # count while it runs (see ``current``); None outside a loop.
        self._loop = None
        self._new_lock()
        self._ticking = False  # registered with the ticker (see _ticker)
        self._tick_mark: float | int | None = None  # count the ticker last drew
        self._tick_moved = 0.0  # when the ticker last saw the count move
        self._stall = None  # the stall watch (see _stall), set by the bar
        self._shown: tuple[Any, ...] | None = None  # (current, metrics) last drawn
        # A failure while drawing this bar (a formatting bug) silences this bar only;
        # a stream that fails silences its display (every bar on it).
        self._broken = False
        self._outer = False  # an inner bar started under this one (see adopt)
        self._started = False  # an update() or a loop has begun counting

    def _new_lock(self) -> None:
        """The lock of the count and the store: every write to them holds it.  Its
        bound methods are kept, since ``acquire()``/``release()`` cost half of what
        ``with`` costs on the hot calls (``with self._lock`` serves everywhere else)."""
        self._lock = RLock()
        self._lock_acquire = self._lock.acquire
        self._lock_release = self._lock.release

    def _display_dead(self) -> bool:
        """Nothing more is drawn for this bar: it failed, or its stream did."""
        return self._broken or self._display.dead

    def _display_failed(self) -> None:
        """Drawing this bar raised: it goes quiet, the loop goes on."""
        self._broken = True

    @property
    def current(self) -> float | int:
        """The step reached so far (Keras's ``_seen_so_far``)."""
        loop = self._loop
        if loop is None:
            return self._seen
        done = loop.count()
        seen = self._seen  # update() inside the loop may have moved it further
        return done if done > seen else seen

    def update(
        self,
        current: float | int,
        values: Values | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Move the bar to step ``current`` and record ``values`` for the last step.

        ``values`` is a list of ``(name, value)`` pairs (or a mapping).  Averaged
        metrics stand for the steps since the previous update.  ``finalize``
        defaults to ``current >= target``.
        """
        cls = type(current)
        # ``x - x != 0`` is true only for nan and inf: the common int/float cases
        # skip the full check.
        if cls is not int and (cls is not float or current - current != 0.0):
            current = check_current(current)
        self._lock_acquire()  # (bound methods: half the cost of ``with`` here)
        try:
            prev = self._seen
            # The usual call: a step forward, short of ``_lim`` (which is never past
            # the target, and -inf while a loop owns the count).  Nothing is due.
            if finalize is None and prev < current < self._lim:
                if values:
                    step = current - prev
                    self._store.record(values, step if step >= 1 else 1)
                self._seen = current
                return
            self._update_due(current, values, finalize)
        finally:
            self._lock_release()

    def _update_due(self, current: float | int, values: Values | None,
                    finalize: bool | None) -> None:
        """update() where something may be due (under the lock): a finalizing step,
        ``_lim`` reached, a step back, a loop's count."""
        if finalize is not None and finalize is not True and finalize is not False:
            finalize = bool(finalize)
        prev = self._seen if self._loop is None else self.current
        step = current - prev
        if finalize is None:
            target = self._target
            finalize = target is not None and current >= target
        if values:
            self._store.record(values, step if step >= 1 else 1,
                               finalize and self._keras_finalize)
        self._seen = current
        if finalize or not prev < current < self._lim:
            self._due(current, finalize, step)

    def add(self, n: float | int = 1, values: Values | None = None) -> None:
        """``update(current + n, values)``; safe to call from several threads."""
        if type(n) is not int and (type(n) is not float or n - n != 0.0):
            n = check_current(n)
        self._lock_acquire()
        try:
            current = self._seen + n
            if 0 < n and current < self._lim:  # the usual call: nothing due (see update)
                if values:
                    self._store.record(values, n if n >= 1 else 1)
                self._seen = current
                return
            if self._loop is not None and self._loop.owns_count:  # a track loop's, a file's
                self._update_due(self.current + n, values, None)
                return
            if values:
                self._store.record(values, n if n >= 1 else 1)
            self._seen = current
            target = self._target
            self._due(current, target is not None and current >= target, n)
        finally:
            self._lock_release()

    def log(self, values: Values | None = None, /, **metrics: Any) -> None:
        """Record metrics for the step in progress, without moving the bar.

        ``bar.log(loss=v, acc=a)`` or ``bar.log([("loss", v)])``.  Each value stands
        for the steps since the previous ``log()`` (one, in a loop that logs once per
        step; logs within one step each count once).
        """
        self._lock_acquire()
        try:
            loop = self._loop
            if loop is None:
                step = self._seen
            else:  # the step whose body runs: one past the steps done
                step = loop.count() + 1
                if step <= self._seen:
                    step = self._seen + 1
            weight = step - self._log_mark
            if weight < 1:
                weight = 1
            if values:
                self._store.record(values, weight)
            if metrics:
                self._store.record(metrics, weight)
            self._log_mark = step
        finally:
            self._lock_release()
        if _main_work:  # (the loop's body calls log(): a turn on its thread)
            _run_main_work()

    def _due(self, current: float | int, finalize: bool, step: float | int = 1) -> None:
        """The slow path of the count (under the lock): read the clock if it is time
        to, let the style draw, and set ``_lim``, the count up to which calls may
        skip this."""
        every = self._clock_every
        self._started = True
        if self._verbose == 0:
            every = _SILENT_STRIDE  # nothing to draw
            if self._outer:  # but its steps time its inner bars' run (see _run)
                every = 1
                self._style.observe(current, self._clock())
        else:
            now = self._clock()
            if every:
                # The default style on the real clock need not read it at every call:
                # once per ``every`` calls' worth of steps, a stride that doubles while
                # reads come much faster than the render interval and drops back to 1
                # as soon as they do not.  Up to 16, so that a render is late by a few
                # calls at most -- or up to 1024 once the ticker thread draws the bar
                # on time whatever its calls do (a loop that slows down is shown at
                # once, or its log line written when due).
                if now - self._clock_t < self._interval * 0.125:
                    if every < (_MAX_STRIDE if self._ticking else 16):
                        every *= 2
                else:
                    every = 1
                if (not self._ticking and self._may_tick and self._verbose == 1
                        and not self._display_dead()):
                    self._tick_moved = now
                    from . import _ticker  # loaded with the first bar it draws

                    _share_main_work(_ticker.main_thread_work)
                    self._ticking = _ticker.register(self)
                    if not self._ticking:  # no thread: strides of 16, no retry
                        self._may_tick = False
                self._clock_every = every
                self._clock_t = now
            try:
                self._advance(current, now, finalize)
            except Exception:  # a display bug must never stop the loop
                self._display_failed()
            if _main_work:
                _run_main_work()
            if finalize and self._ticking:
                self._stop_ticking()
        self._set_lim(current, every * step if step >= 1 else every)

    def _set_lim(self, current: float | int, ahead: float | int) -> None:
        """``_lim`` (under the lock): ``ahead`` steps on, never past the target; -inf
        while a loop owns the count (every call takes the slow path)."""
        if self._loop is not None:
            self._lim = NO_FAST
            return
        lim = current + ahead
        target = self._target
        self._lim = lim if target is None or lim < target else target

    # ------------------------------------------------------------------ estimates, state

    @property
    def rate(self) -> float | None:
        """Steps per second as the bar estimates it now, on its clock (what its next
        frame would show; between two lines of a log too); None before it can tell."""
        with self._lock:
            per_step = self._style.pace.peek(self.current, self._clock())
        return 1.0 / per_step if per_step > 0 else None

    @property
    def eta(self) -> float | None:
        """Seconds until the bar reaches its target as it estimates them now, on its
        clock; 0.0 once it has, None when it cannot tell (no target, no step yet).
        Never 0.0 while steps remain."""
        with self._lock:
            target = self._target
            if target is None:
                return None
            current = self.current
            if current >= target:
                return 0.0
            left = self._style.estimate(current, target, self._clock())
        if left is None:
            return None
        return left if left > 1e-9 else 1e-9

    def state(self, blocking: bool = True) -> dict[str, Any] | None:
        """The bar as ``progbar watch --json`` shows it: ``label``, ``current``,
        ``target``, ``unit``, ``elapsed``, ``rate``, ``eta``, ``metrics`` (numbers, or
        text for values shown as text) and ``state`` (``"running"``, ``"stalled"``,
        ``"done"`` or ``"closed"``), as of now.  ``blocking=False``: None rather than
        wait while another thread holds the bar (the ticker's way)."""
        if not self._lock.acquire(blocking):
            return None
        try:
            now = self._clock()
            current = self.current
            target = self._target
            per_step = self._style.pace.peek(current, now)
            eta = None
            if target is not None:
                eta = self._style.estimate(current, target, now)
                if eta is not None and current < target:
                    eta = max(eta, 1e-9)  # never 0 while steps remain
            if self._closed:
                state = "closed" if target is None or current < target else "done"
            elif target is not None and current >= target:
                state = "done"
            else:
                state = "stalled" if self._row.stalled else "running"
            metrics = {name: value for name, value in self._store.snapshot()}
        finally:
            self._lock.release()
        return {"label": self._label, "current": current, "target": target,
                "unit": self._style.unit, "elapsed": now - self._start,
                "rate": 1.0 / per_step if per_step > 0 else None, "eta": eta,
                "metrics": metrics, "state": state}

    # ------------------------------------------------------------------ loops

    def follow(self, position: Callable[[], float | int]) -> None:
        """From now until :meth:`close`, the count is the count now plus ``position()``,
        read whenever the bar is shown: for progress kept by other code (a file's
        offset), which then pays nothing per step.  On the real clock the ticker
        thread draws it on time; with an injected clock, at ``refresh()`` and
        ``close()``.  ``close()`` reads it a last time (finalizing at the target).
        ``position`` is called from the ticker thread too: it must be cheap and
        thread-safe; if it raises, the last value read stays shown."""
        with self._lock:
            if self._loop is not None or self._closed:
                raise RuntimeError("follow() on a bar that is closed or already counting a loop")
            loop = FollowedCount(position, self._seen)
        self._enter_loop(loop)

    def _unfollow(self, loop: FollowedCount) -> None:
        """The followed count ends (close()): its last reading is the count."""
        with self._lock:
            if self._loop is not loop:
                return
            count = self.current
            self._loop = None
            self._seen = count
            self._set_lim(count, 0)  # the next call takes the slow path
        self._stop()
        target = self._target
        if target is not None and count >= target:
            self.update(count, finalize=True)

    def _iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """The items of ``iterable`` through a :class:`TrackLoop` (see ``_track``)."""
        loop = TrackLoop(iterable, self._seen)
        return chain.from_iterable(loop.chunks(
            lambda: self._enter_loop(loop), self._at_chunk_end, self._leave_loop,
            self._clock, self._interval,
        ))

    def _enter_loop(self, loop: Loop) -> None:
        """A loop starts: it owns the count until it ends (see ``current``)."""
        with self._lock:
            self._log_mark = self._seen
            self._loop = loop
            self._started = True
            self._lim = NO_FAST  # the count is the loop's: every call takes the slow path
            if self._stall is not None:
                self._stall.arm(self._clock())  # its first item is due from now on
        if (isinstance(loop, (TrackLoop, FollowedCount)) and self._may_tick and self._verbose == 1
                and not self._display_dead()):
            from . import _ticker  # loaded with the first bar it draws

            _share_main_work(_ticker.main_thread_work)
            self._ticking = _ticker.register(self)  # on time inside one long chunk

    def _at_chunk_end(self, count: float | int) -> float | None:
        """A chunk is spent and ``count`` is exact: store it and draw if due.  Returns
        the time read (None for a silent bar, which reads no clock)."""
        self._seen = count
        if not self._verbose:
            return None
        now = self._clock()
        self._tick(now)
        if _main_work:
            _run_main_work()
        return now

    def _leave_loop(self, count: float | int, exhausted: bool) -> None:
        """The loop ended at ``count``: finalized if it ran out, closed in any case."""
        with self._lock:
            if count > self._seen:
                self._seen = count
            self._loop = None
            self._set_lim(self._seen, 0)  # the next call takes the slow path
        self._stop()
        if exhausted:
            self.update(self._seen, finalize=True)
        self.close()

    # ------------------------------------------------------------------ the ticker's side

    def _tick(self, now: float | None = None, from_ticker: bool = False) -> None:
        """Show the true count now if a render is due (chunk boundaries, ticker)."""
        if not from_ticker:
            self._lock.acquire()
        elif not self._lock.acquire(blocking=False):
            # The bar's own thread is in its slow path (drawing, most likely): it does
            # what a tick would.  Waiting here would cost that thread a wake-up of
            # this one at every release of the lock -- the convoy that made a loop
            # drawing at every call (interval=0) half again slower.
            return
        try:
            if self._closed:
                return
            # A bar moved by update()/add() (see _due), or a count its loop owns and
            # the ticker draws: a track() loop's, or a followed one (a file's offset)
            loop = self._loop
            counting = not isinstance(loop, (TrackLoop, FollowedCount))
            if counting and not self._ticking:
                return
            current = self.current
            if self._seen > current:  # at a chunk boundary: no body runs, none to take off
                current = self._seen
            now = self._clock() if now is None else now
            if from_ticker and current == self._tick_mark:
                # Nothing moved since the ticker last drew it: leave the line alone.
                # A counting bar idle for a while leaves the ticker (its next call
                # takes the slow path, which registers it again).
                from ._ticker import IDLE_EXIT  # (loaded: the ticker calls this)

                if counting and now - self._tick_moved > IDLE_EXIT:
                    self._clock_every = 1
                    self._set_lim(current, 0)
                    self._idle_ticking()
                return
            self._tick_moved = now
            if isinstance(loop, TrackLoop):
                # (A followed count may go back -- a seek -- so it is read afresh,
                # never stored.)
                self._seen = current
            shown = self._shown
            if from_ticker and shown is not None and shown[0] == current:
                # The bar's own thread has drawn this very count: in a log a second
                # line would only repeat it.
                self._tick_mark = current
                return
            target = self._target
            if target is not None and current >= target and not self._display.live:
                return  # a log gets the final line in a moment, not this one before it
            if self._verbose:
                shown = self._shown
                try:
                    self._advance(current, now, False)
                except Exception:
                    self._display_failed()
                if from_ticker and self._shown is not shown:
                    self._tick_mark = current  # drawn: the next tick waits for a move
        finally:
            self._lock.release()

    def _stop(self) -> None:
        if self._ticking or self._stall is not None:
            self._stop_ticking()

    def _stop_ticking(self) -> None:
        """Off the ticker: the bar (or its loop) ended or reached its target; its
        stall watch ends too."""
        self._ticking = False
        from . import _ticker

        _ticker.unregister(self)
        watch = self._stall
        if watch is not None:
            self._stall = None
            watch.retire(self._clock())

    def _idle_ticking(self) -> None:
        """An idle counting bar is drawn by the ticker no more (its next call takes the
        slow path, which registers it again), but its stall watch stays, at a low rate."""
        self._ticking = False
        from . import _ticker  # (loaded: the ticker calls this)

        if self._stall is None or not _ticker.watch(self):
            _ticker.unregister(self)

    # ------------------------------------------------------------------ the ticker's hooks

    @property
    def interval(self) -> float:
        """Least seconds between two renders."""
        return self._interval

    def tick(self) -> None:
        """Show the true count now if it moved and a render is due, and watch for a
        stall (see ``_stall``).  The ticker thread calls it (see ``_ticker``); it never
        waits for the bar's lock."""
        if not self._closed:
            if self._ticking:
                self._tick(from_ticker=True)
            if self._stall is not None:
                self._watch_stall()

    def after_fork(self) -> None:
        """In a child after ``fork()``: locks the parent's threads may have held are
        replaced (the ticker may have been drawing this bar, holding its display's
        lock too), and the bar is off the ticker."""
        self._new_lock()
        self._ticking = False
        self._stall = None  # the parent watches its own bars
        self._display.after_fork()
