"""The count and the hot calls: ``update()``, ``add()``, ``log()`` and ``current``,
and the ticker's side of a bar (the count drawn on time, ``tick()``).

:class:`Counting` is the part of a bar that runs per step, the base of ``Progbar``.
What must happen per call is small -- move the count, add each averaged value times
its weight to its running total -- and on a GIL build of 3.11+ the common call
takes no lock: it is written as straight runs of bytecode that no thread switch can
split.  Everything unusual takes the lock and the general code.  The long story --
the two limits, the deferred log() dicts, why each run is atomic, the clock stride --
is design.md, "The hot calls".

What it asks of the bar built on it (``Progbar``): ``_advance(current, now,
finalize)`` draws if the style says so; ``_stop_ticking()``; and the fields set in
``Progbar.__init__`` (the store's ``running``/``waiting``, the clock, the display,
the verbosity, the ticker flags).
"""

from __future__ import annotations

import math
import sys
from _thread import RLock  # not threading: see _progbar's imports
from operator import index

from ._track import TrackLoop

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping, Protocol

    from ._display import Display
    from ._metrics import MetricStore
    from ._stall import StallWatch

    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

    class Loop(Protocol):
        """A running loop (``TrackLoop``, async's, or a ``FollowedCount``): it owns the count."""

        plain: bool  # count() is ``top - exact.__length_hint__()``
        top: float | int
        exact: Any

        def count(self) -> float | int: ...

__all__ = ["LOCK_FREE", "NO_FAST", "WAITING_MAX", "Counting", "FollowedCount", "check_current"]

# The hot paths take no lock where the GIL makes their straight runs atomic (see
# design.md, "The hot calls"): from 3.11, where the interpreter checks for a thread switch only
# at calls, backward jumps and function starts.  3.10 may switch between other
# instructions too (a 16-thread add(1) test lost counts there), and a free-threaded
# build (3.13t: ``sys._is_gil_enabled()`` false, or a "t" ABI) has no GIL: both take
# the lock on every call.
LOCK_FREE = (
    sys.version_info >= (3, 11)
    and "t" not in getattr(sys, "abiflags", "")
    and bool(getattr(sys, "_is_gil_enabled", lambda: True)())
)
_MAX_STRIDE = 1024  # calls between clock reads at most, while the ticker draws
WAITING_MAX = 1024  # records left for the store at most before they are applied
_SILENT_EVERY = 4096  # a silent bar's stride: it only applies the records
NO_FAST = -math.inf  # ``_lim`` where the fast paths must not run



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

    __slots__ = ("position", "base", "last", "plain")

    top: float | int = 0  # (``plain`` stays False: the bar reads ``count()``, see ``current``)
    exact: Any = None

    def __init__(self, position: Callable[[], float | int], base: float | int) -> None:
        self.position = position
        self.base = base
        self.last = base  # the last count read: what a failing read shows
        self.plain = False

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
    _watch_stall: Callable[[], None]  # the stall watch's turn (see _stall.Watched)

    def _advance(self, current: float | int, now: float, finalize: bool) -> None:
        raise NotImplementedError


    def _start_counting(self, store: MetricStore, initial: float | int) -> None:
        """The counting state of a new bar at ``initial``, its metrics in ``store``."""
        self._store = store
        self._record = store.record
        # What the hot paths add to and append to without the lock (see MetricStore).
        self._running = store.running
        self._waiting = store.waiting
        self._initial = initial  # the count it starts at (and reset() goes back to)
        self._seen = initial
        self._log_mark = initial  # the step of the last log(): its weight's start
        # The fast paths run while the count is below ``_lim`` (see _set_lim); the
        # first call takes the slow path, which draws the first frame and sets it.
        self._lim = NO_FAST
        self._cap = NO_FAST  # the target (reaching it finalizes), inf or -inf
        self._log_left = WAITING_MAX  # log() calls until it checks the records waiting
        # The loop running now (a TrackLoop, async's, a FollowedCount), which owns the
        # count while it runs (see ``current``); None outside a loop.
        self._loop = None
        self._lock = RLock()
        self._lock_acquire = self._lock.acquire
        self._lock_release = self._lock.release
        self._ticking = False  # registered with the ticker (see _ticker)
        self._tick_mark: float | int | None = None  # count the ticker last drew
        self._tick_moved = 0.0  # when the ticker last saw the count move
        self._stall = None  # the stall watch (see _stall), set by the bar
        self._shown: tuple[Any, ...] | None = None  # (current, metrics) last drawn

    @property
    def current(self) -> float | int:
        """The step reached so far (Keras's ``_seen_so_far``)."""
        loop = self._loop
        if loop is None:
            return self._seen
        if loop.plain:  # ``loop.count()`` inlined: the hot read of a track() loop
            return loop.top - loop.exact.__length_hint__()  # type: ignore[no-any-return]
        done = loop.count()  # a list, which may grow, or update() moved the count
        seen = self._seen
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
        if type(current) is int and finalize is None and (
            values is None or type(values) is list
        ):
            prev = self._seen
            if prev < current < self._cap:  # one run: read, compare, store
                self._seen = current
                if values:
                    weight = current - prev
                    fast = self._running
                    try:  # the usual pairs; the first other one ends the loop
                        for pair in values:
                            name, v = pair
                            if type(v) is not float and type(v) is not int:
                                break
                            entry = fast[name]  # one run: read, add, store
                            entry[0] += v if weight == 1 else v * weight
                            entry[1] += weight
                        else:
                            values = None  # all recorded
                    except (KeyError, TypeError, ValueError, ArithmeticError):
                        pass
                    if values is not None:
                        self._record_rest(values, pair, weight, prev, current)
                if current >= self._lim:
                    self._due(current, False, current - prev)
                return
        self._update(current, values, finalize)

    def _record_rest(
        self, values: list[Any], stop: object, weight: float | int,
        prev: float | int | None, current: float | int,
    ) -> None:
        """The pairs the pair loop of update()/add() left, from ``stop`` (the pair it
        stopped at, found by identity: the loop keeps no counter, which cost a few
        percent of the call) on, by the store's general code (under the lock).  A
        malformed list records nothing and leaves the count where it was (``prev``;
        None: an add() of ``weight``, taken back)."""
        done = 0
        for pair in values:
            if pair is stop:
                break
            done += 1
        self._lock_acquire()
        try:
            self._record(values[done:] if done else values, weight, False)
        except TypeError:
            fast = self._running
            for name, v in values[:done]:  # undo the pairs already added
                entry = fast[name]
                entry[0] -= v if weight == 1 else v * weight
                entry[1] -= weight
            if prev is not None:
                if self._seen == current:
                    self._seen = prev
            else:
                self._seen -= weight  # an add(): one run, adds on other threads stay
            raise
        finally:
            self._lock_release()

    def _update(
        self,
        current: float | int,
        values: Values | None = None,
        finalize: bool | None = None,
        added: float | int | None = None,
    ) -> None:
        """update()'s general code, under the lock.  ``added``: add() already moved
        the count by this much (in one run with its read, see _add); the count is
        then not stored again, and is moved back if the values are malformed."""
        cls = type(current)
        # ``x - x != 0`` is true only for nan and inf: the common int/float cases
        # skip the full check (a function call and isinstance chain).
        if cls is not int and (cls is not float or current - current != 0.0):
            current = check_current(current)
        self._lock_acquire()  # bound methods: cheaper than ``with self._lock``
        try:
            if finalize is None:
                target = self._target
                finalize = target is not None and current >= target
            elif finalize is not True and finalize is not False:
                finalize = bool(finalize)
            if added is not None:
                step = added
            elif self._loop is not None:  # ``_seen`` lags inside a chunk
                step = current - self.current
            else:
                step = current - self._seen
            if values:
                weight = step
                if type(weight) is not int or weight < 1:
                    weight = weight if weight >= 1 else 1
                try:
                    self._record(values, weight, finalize and self._keras_finalize)
                except BaseException:
                    if added is not None:
                        self._seen -= added  # one run: adds on other threads stay
                    raise
            if added is None:
                self._seen = current
                if self._loop is not None:
                    self._loop.plain = False  # ``_seen`` counts now too (see current)
            self._due(current, finalize, step)
        finally:
            self._lock_release()

    def _due(self, current: float | int, finalize: bool, step: float | int = 1) -> None:
        """The slow path of the count: read the clock if it is time to, let the style
        draw, and set ``_lim``, the count up to which the fast paths may run without
        coming here (under the lock)."""
        self._lock_acquire()
        try:
            every = self._clock_every
            if self._verbose == 0:
                every = _SILENT_EVERY  # nothing to draw: only the records to apply
                if len(self._waiting) >= WAITING_MAX:
                    self._store.drain()
            else:
                now = self._clock()
                if every:
                    # The default style may skip clock reads (design.md, "The hot calls"): read it
                    # once per ``every`` calls' worth of steps, a stride that doubles
                    # while reads come much faster than the render interval and drops
                    # back to 1 as soon as they do not.  Up to 16, so that a render is
                    # late by a few calls at most -- or up to 1024 once the ticker
                    # thread draws the bar on time whatever its calls do (any bar on
                    # the real clock; a loop that slows down is shown at once, or its
                    # log line written when due).
                    if now - self._clock_t < self._interval * 0.125:
                        if every < (_MAX_STRIDE if self._ticking else 16):
                            every *= 2
                    else:
                        every = 1
                    if (not self._ticking and self._may_tick and self._verbose == 1
                            and not self._display.dead):
                        self._tick_moved = now
                        from . import _ticker  # loaded with the first bar it draws

                        self._ticking = _ticker.register(self)
                        if not self._ticking:  # no thread: strides of 16, no retry
                            self._may_tick = False
                    self._clock_every = every
                    self._clock_t = now
                try:
                    self._advance(current, now, finalize)
                except Exception:  # a display bug must never stop the loop
                    self._display.dead = True
                if finalize and self._ticking:
                    self._stop_ticking()
                if len(self._waiting) >= WAITING_MAX:  # not drawn yet: apply them anyway
                    self._store.drain()
            self._set_lim(current, every * step if step >= 1 else every)
        finally:
            self._lock_release()

    def _set_lim(self, current: float | int, ahead: float | int) -> None:
        """The fast paths' limits (under the lock): ``_cap``, the target (reaching it
        finalizes) or inf, and ``_lim``, ``ahead`` steps on and never past ``_cap``.
        Both -inf while a track() loop runs (the count is read from its iterators)
        or where the lock-free paths may not run."""
        if self._loop is not None or not LOCK_FREE:
            self._lim = self._cap = NO_FAST
            return
        target = self._target
        cap = target if target is not None else math.inf
        lim = current + ahead
        self._cap = cap
        self._lim = lim if lim < cap else cap

    def add(self, n: float | int = 1, values: Values | None = None) -> None:
        """``update(current + n, values)``; safe to call from several threads."""
        if type(n) is int and n > 0:
            if values is None:
                current = self._seen + n  # one run: read, add, compare, store
                if current < self._lim:
                    self._seen = current
                    return
                if current < self._cap:
                    self._seen = current
                    self._due(current, False, n)
                    return
            elif type(values) is list:
                current = self._seen + n  # one run (see above)
                if current < self._cap:
                    self._seen = current
                    fast = self._running
                    # The usual pairs, as in update(): a copy, not a shared helper, on
                    # purpose -- a call would cost about a fifth of this one.
                    try:
                        for pair in values:
                            name, v = pair
                            if type(v) is not float and type(v) is not int:
                                break
                            entry = fast[name]  # one run: read, add, store
                            entry[0] += v if n == 1 else v * n
                            entry[1] += n
                        else:
                            values = None  # all recorded
                    except (KeyError, TypeError, ValueError, ArithmeticError):
                        pass
                    if values is not None:
                        self._record_rest(values, pair, n, None, current)
                    if current >= self._lim:
                        self._due(current, False, n)
                    return
        self._add(n, values)

    def _add(self, n: float | int, values: Values | None = None) -> None:
        """add()'s general code, under the lock.  The count is read, moved and stored
        in one run (as on the fast path), so adds that other threads make meanwhile
        without the lock are kept."""
        if type(n) is not int and (type(n) is not float or n - n != 0.0):
            n = check_current(n)
        self._lock_acquire()
        try:
            if isinstance(self._loop, (TrackLoop, FollowedCount)):  # the count is the loop's
                self._update(self.current + n, values)
                return
            current = self._seen + n  # one run: read, add, store
            self._seen = current
            self._update(current, values, None, n)
        finally:
            self._lock_release()

    def log(self, values: Values | None = None, /, **metrics: Any) -> None:
        """Record metrics for the step in progress, without moving the bar.

        ``bar.log(loss=v, acc=a)`` or ``bar.log([("loss", v)])``.
        """
        if values is None:
            for v in metrics.values():  # plain numbers only
                if type(v) is not float and type(v) is not int:
                    break
            else:
                # The step in progress (``current + 1`` in a loop), read as ``current``
                # does, then the weight, the mark and the record in one run.
                loop = self._loop
                if loop is None:
                    step = self._seen
                elif loop.plain:  # ``current`` inlined, as there
                    step = loop.top + 1 - loop.exact.__length_hint__()
                else:
                    step = loop.count() + 1
                    if step <= self._seen:
                        step = self._seen + 1
                weight = step - self._log_mark
                self._log_mark = step
                if weight <= 1:  # one log per step (or more): a record, one C call
                    self._waiting.append(metrics)
                    left = self._log_left - 1
                    if left:
                        self._log_left = left
                        return
                    self._log_left = WAITING_MAX
                    self._spill()
                    return
                self._lock_acquire()  # a log standing for several steps
                try:
                    self._store.record(metrics, weight)
                finally:
                    self._lock_release()
                return
        self._log(values, metrics)

    def _log(self, values: Values | None, metrics: dict[str, Any]) -> None:
        """log()'s general code, under the lock."""
        self._lock_acquire()
        try:
            step = self.current + 1 if self._loop is not None else self._seen
            weight = step - self._log_mark
            self._log_mark = step
            w = weight if weight >= 1 else 1
            if values:
                self._store.record(values, w)
            if metrics:
                self._store.record(metrics, w)
        finally:
            self._lock_release()

    def _spill(self) -> None:
        """Apply the waiting records if many piled up (log() does not move the count,
        so it never reaches the slow path of the count)."""
        if len(self._waiting) >= WAITING_MAX:
            self._lock_acquire()
            try:
                self._store.drain()
            finally:
                self._lock_release()

    if not LOCK_FREE:
        # 3.10 and free-threaded builds: log() runs the same code under the lock
        # (update() and add() find their limits at -inf there: the general code).
        _log_fast = log

        def log(self, values: Values | None = None, /, **metrics: Any) -> None:
            self._lock_acquire()
            try:
                self._log_fast(values, **metrics)
            finally:
                self._lock_release()

        log.__doc__ = _log_fast.__doc__

    # ------------------------------------------------------------------ the ticker's side

    def _tick(self, now: float | None = None, from_ticker: bool = False) -> None:
        """Show the true count now if a render is due (chunk boundaries, ticker)."""
        if not from_ticker:
            self._lock_acquire()
        elif not self._lock_acquire(False):
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
                # (A counting bar's count is moved without the lock; a followed count
                # may go back -- a seek -- so it is read afresh, never stored.)
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
                    self._display.dead = True
                if from_ticker and self._shown is not shown:
                    self._tick_mark = current  # drawn: the next tick waits for a move
        finally:
            self._lock_release()

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
        self._lock = RLock()
        self._lock_acquire = self._lock.acquire
        self._lock_release = self._lock.release
        self._ticking = False
        self._stall = None  # the parent watches its own bars
        self._display.after_fork()
