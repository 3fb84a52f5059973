"""``Progbar`` and ``track``: the controller.

It reads the clock, decides when to render, asks the metric store for a snapshot, the
formatter for text and the writer to show it.  It holds no formatting and no I/O of
its own.
"""

from __future__ import annotations

import _operator as operator  # what ``operator`` re-exports, without its Python layer
import gc
import math
import os
import sys
import time
from _thread import RLock, allocate_lock
from _weakref import ref as _weakref
from itertools import chain, compress, islice

from . import _format as fmt
from ._display import (
    Display,
    LineDisplay,
    LiveDisplay,
    NotebookDisplay,
    NullDisplay,
    Row,
    display_for,
)
from ._metrics import MetricStore
from ._rank import is_main_process
from ._style import STYLES, make_style
from ._writer import (
    can_encode,
    detect_color,
    detect_dynamic,
    disabled_by_env,
    log_interval,
    notebook_display,
)

__all__ = ["Progbar", "track"]

# ``import progbar`` stays cheap (design.md §9: <= 5 ms): ``typing`` (~10 ms with what it
# pulls in) is for mypy only -- mypy takes any name TYPE_CHECKING as true -- and
# ``threading``/``weakref`` are imported when a ticker thread first starts.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import (
        Any,
        AsyncIterable,
        AsyncIterator,
        Callable,
        Generic,
        Iterable,
        Iterator,
        Mapping,
        Protocol,
        TypeVar,
    )

    from ._handle import Handle
    from ._writer import Stream

    T = TypeVar("T")
    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

    class _Exact(Protocol):
        """An iterator whose length hint is exact (list, tuple and range iterators)."""

        def __length_hint__(self) -> int: ...
else:
    T = None

    class Generic:
        """``Progbar[int]`` at run time without ``typing``: subscripting a subclass
        gives the class itself (as ``list[int]`` would be used in annotations)."""

        __slots__ = ()

        def __class_getitem__(cls, item):
            return cls


# The hot paths take no lock where the GIL makes their straight runs atomic (see
# Progbar.update): from 3.11, where the interpreter checks for a thread switch only
# at calls, backward jumps and function starts.  3.10 may switch between other
# instructions too (a 16-thread add(1) test lost counts there), and a free-threaded
# build (3.13t: ``sys._is_gil_enabled()`` false, or a "t" ABI) has no GIL: both take
# the lock on every call.
_LOCK_FREE = (
    sys.version_info >= (3, 11)
    and "t" not in getattr(sys, "abiflags", "")
    and bool(getattr(sys, "_is_gil_enabled", lambda: True)())
)
_MAX_STRIDE = 1024  # calls between clock reads at most, while the ticker draws
_PEND_MAX = 1024  # records left for the store at most before they are applied
_SILENT_EVERY = 4096  # a silent bar's stride: it only applies the records
_NO_FAST = -math.inf  # ``_lim`` where the fast paths must not run


def _check_target(target: object) -> int | float | None:
    """A target as Keras takes it: None, an int, or a float / numpy scalar >= 0
    (``len(x) / batch_size``; the count shows its whole part, as Keras's ``%d``)."""
    if target is None:
        return None
    if isinstance(target, bool):
        raise TypeError(f"target must be a number >= 0 or None, not the bool {target!r}")
    try:
        value: int | float = operator.index(target)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(target, (str, bytes, complex)) or not hasattr(type(target), "__float__"):
            raise TypeError(
                f"target must be a number >= 0 or None, not {type(target).__name__} {target!r}"
            ) from None
        try:
            value = float(target)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(
                f"target must be a finite number >= 0 or None, got {target!r}"
            ) from None
        if value.is_integer():
            value = int(value)
    if value < 0:
        raise ValueError(f"target must be >= 0 or None, got {value}")
    return int(value) if type(value) is not float else value


def _one_of(name: str, value: object, alias: str, alias_value: object) -> object:
    """``target``/``total`` and ``label``/``desc``: either name, not both."""
    if alias_value is None:
        return value
    if value is not None:
        raise TypeError(f"pass {name} or {alias} (its tqdm name), not both")
    return alias_value


def _check_current(current: object) -> float | int:
    cls = type(current)
    if cls is int or cls is float:
        value = current
    elif isinstance(current, (str, bytes)):
        raise TypeError(f"current must be a number, not {cls.__name__}")
    elif isinstance(current, bool):
        value = int(current)
    else:
        try:
            value = operator.index(current)  # type: ignore[arg-type]
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


class Progbar(Generic[T]):
    """A progress bar with Keras's running-average metrics.

    Args:
        target: total number of steps, or None if unknown.
        width: width of the bar in cells (None: the style's default).
        verbose: 0 silent, 1 live bar, 2 one line per finished bar.
        interval: least seconds between two renders (None: 0.05 s; for the default
            style in line mode, the log interval, ``PROGBAR_LOG_INTERVAL`` or 10 s).
        stateful_metrics: names shown as passed; all others are averaged.
        stateless_metrics: names that are averaged; all others are shown as passed.
        unit_name: what a step is called (``"step"``, ``"sample"``...).
        style: ``"default"``, ``"keras"`` (Keras 3's bytes) or ``"keras2"``.
        file: a text stream; None means ``sys.stdout`` looked up at each write.
        dynamic: True/False force live redraw / line mode; None detects.
        color: True/False force colour on/off; None detects.
        clock: a zero-argument callable returning seconds (default ``time.monotonic``).
    """

    def __init__(
        self,
        target: float | None = None,
        width: int | None = None,
        verbose: int = 1,
        interval: float | None = None,
        stateful_metrics: Iterable[str] | None = None,
        stateless_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
        *,
        style: str = "default",
        file: Stream | None = None,
        dynamic: bool | None = None,
        color: bool | None = None,
        clock: Callable[[], float] | None = None,
        label: str | None = None,
        leave: bool = True,
        total: float | None = None,
        desc: str | None = None,
    ) -> None:
        target = _one_of("target", target, "total", total)  # type: ignore[assignment]
        label = _one_of("label", label, "desc", desc)  # type: ignore[assignment]
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a str or None, got {type(label).__name__}")
        if not isinstance(style, str) or style not in STYLES:
            raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
        self._target = _check_target(target)
        if width is not None and (isinstance(width, bool) or not isinstance(width, int)
                                  or width < 1):
            raise ValueError(f"width must be an int >= 1 or None, got {width!r}")
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if interval is not None and (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not interval >= 0
        ):
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}")
        if clock is not None and not callable(clock):
            raise TypeError("clock must be a zero-argument callable returning seconds")
        if not isinstance(unit_name, str):
            raise TypeError(f"unit_name must be a str, got {type(unit_name).__name__}")

        self._store = MetricStore(stateful_metrics, stateless_metrics)
        self._record = self._store.record  # bound once: update() is the hot path
        self._fast = self._store._fast  # averaged int/float entries (see update)
        self._pend = self._store._pend  # log()'s records, applied later (see log)
        # The fast paths run while the count is below ``_lim`` (see _set_lim); the
        # first call takes the slow path, which draws the first frame and sets it.
        self._lim: float = _NO_FAST
        self._cap: float = _NO_FAST  # the target (reaching it finalizes), inf or -inf
        self._log_left = _PEND_MAX  # log() calls until it checks the records waiting
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._start = self._clock()
        # The style: throttle rule, time estimate, finalize rule and formatter.
        self._style = make_style(style, self._start)
        self._keras_finalize = self._style.keras_finalize  # read on the hot path
        self._width = width if width is not None else self._style.default_width
        self._verbose = verbose
        self._unit = fmt.clean_name(unit_name)  # one line, whatever it holds
        self._label = fmt.clean_name(label) if label is not None else None
        self._lock = RLock()

        # The display: one per stream, shared with the other bars drawing on it.
        stream = file
        self._file = file  # as given (None: sys.stdout at each write); child bars reuse it
        self._drain: Callable[[], None] | None = None  # set by _handle.add_drainer
        self._display: Display
        live = False
        if verbose == 0 or disabled_by_env() or not is_main_process():
            self._display = NullDisplay()
        else:
            live = detect_dynamic(stream, dynamic)
            if live and self._style.notebook_html and notebook_display(stream):
                self._display = display_for(NotebookDisplay, stream)
            else:
                self._display = display_for(LiveDisplay if live else LineDisplay, stream)
        self._row = Row(self._style.keras_framing, bool(leave), _weakref(self))
        if verbose == 1:
            self._display.join(self._row)  # its place in the block, in starting order
        self._color = detect_color(stream, color)
        self._glyphs = self._pick_glyphs(self._display.stream)

        if interval is None:
            interval = self._style.interval(live, log_interval)
            if isinstance(self._display, NotebookDisplay):
                interval = NotebookDisplay.interval
        self._interval = float(interval)

        self._seen: float | int = 0
        self._last_update = self._style.first_update_mark(live)
        self._finished = False
        self._summarized = False
        self._closed = False
        self._ended = False  # close() has drawn its last line: no bar is drawn again
        self._iterable: Iterable[T] | AsyncIterable[T] | None = None
        self._iterating = False
        self._iterated = False
        self._log_mark: float | int = 0
        # Fast-path state (see _iterate and update).  While track() runs,
        # _handed() counts the items handed out, read from C-level iterators.
        self._handed: Callable[[], int] | None = None
        # ``current`` in track(): ``_top - _it.__length_hint__()`` (+ ``len(_seq)`` for
        # a list, which may grow), one C call; ``_it`` is an exact-length iterator (the
        # source's or the counter's).  The method is looked up at each read rather
        # than kept bound: CPython specialises ``it.method()`` (no bound-method object).
        self._it: _Exact | None = None
        # The same iterator while the count is its alone: a loop over a range, a
        # tuple or a counted source, with no update() inside it that moved ``_seen``.
        # ``current`` and ``log()`` then read ``_top(1) - _run_it.__length_hint__()``.
        self._run_it: _Exact | None = None
        self._top: float | int = 0
        self._top1: float | int = 1  # _top + 1: log()'s step in progress
        self._seq: list[Any] | None = None
        self._base: float | int = 0
        self._ticking = False  # registered with the shared ticker thread
        self._tick_mark: float | int | None = None  # count the ticker last drew
        self._tick_moved = 0.0  # when the ticker last saw the count move
        self._lock_acquire = self._lock.acquire
        self._lock_release = self._lock.release
        # update() reads the clock once per this many calls where the style allows
        # it (0: every call -- the keras styles, and any injected clock, whose reads
        # a test or a caller may count on).
        self._clock_every = 1 if self._style.reads_clock_lazily(clock is not None) else 0
        self._clock_t = self._start
        # A ticker thread renders from real time; with an injected clock the caller
        # owns time, so renders happen only on the caller's thread (deterministic).
        self._may_tick = clock is None
        self._shown: tuple[Any, ...] | None = None  # (current, metrics) last drawn
        self._cache: dict[object, tuple[str, int]] = {}  # the formatter's, see _format

    # ------------------------------------------------------------------ properties

    @property
    def current(self) -> float | int:
        """The step reached so far (Keras's ``_seen_so_far``)."""
        it = self._run_it
        if it is not None:  # a track() loop: items handed out minus the running one
            return self._top - it.__length_hint__()  # (``_top`` folds the constants)
        it = self._it
        if it is None:
            return self._seen
        # A list (which may grow) or an update() moved the count inside the loop.
        seq = self._seq
        done = (self._top - it.__length_hint__() if seq is None
                else self._top + len(seq) - it.__length_hint__())
        seen = self._seen
        return done if done > seen else seen

    @property
    def target(self) -> int | float | None:
        """Total number of steps, or None if unknown.  Settable, as Keras's
        ``progbar.target`` is: a loop of unknown length learns it at its end."""
        return self._target

    @target.setter
    def target(self, value: float | None) -> None:
        target = _check_target(value)
        with self._lock:
            self._target = target
            self._set_lim(self._seen, 0)  # the next call takes the slow path

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    @property
    def live(self) -> bool:
        """True while the bar is redrawn in place on a terminal (or ``dynamic=True``):
        text for its screen should go through :meth:`write`."""
        display = self._display
        return display.live and not display.dead and not self._closed

    @property
    def stream(self) -> object:
        """The stream the bar writes to now (``sys.stdout`` when ``file`` is None)."""
        return self._display.stream

    @property
    def style(self) -> str:
        """The style's name: ``"default"``, ``"keras"`` or ``"keras2"``."""
        return self._style.name

    @property
    def label(self) -> str | None:
        """The text shown before the count (None: none)."""
        return self._label

    @property
    def verbose(self) -> int:
        return self._verbose

    def metrics(self) -> dict[str, float | str]:
        """The metrics as the bar shows them now: averaged, or as passed if stateful.

        Converting them reads tensors back to the host (one sync per metric).
        """
        with self._lock:
            return dict(self._store.snapshot())

    def totals(self) -> dict[str, tuple[Any, float]]:
        """Each numeric metric's raw ``(total, count)``, unconverted (tensors stay
        tensors).  With :meth:`set_totals` this lets an adapter combine bars, e.g.
        sum totals and counts over the ranks of a distributed job."""
        with self._lock:
            return self._store.averages()

    def set_totals(self, totals: Mapping[str, tuple[Any, float]]) -> None:
        """Replace the ``(total, count)`` of the named metrics (see :meth:`totals`)."""
        with self._lock:
            self._store.set_totals(totals)

    # ------------------------------------------------------------------ state changes

    # The hot paths: update(), add(), log() and ``current``.
    #
    # What must happen per call is small: move the count, add each averaged value
    # (times its weight) to its running total and count, and every so many calls
    # read the clock.  Conversion to float, the mean, the time estimate and the
    # drawing wait for a render, which runs under ``self._lock``.
    #
    # The count is compared with two limits (see _set_lim): ``_cap``, the target
    # (reaching it finalizes: the general code), and ``_lim``, the count at which the
    # clock is next due.  Below ``_lim`` a call only stores the count and adds its
    # values; past it the slow path (_due) reads the clock, lets the style draw and
    # sets the next limit.
    #
    # log(loss=, acc=) does even less: its keyword dict is new at every call and
    # nobody else holds it, so once its values are checked to be ints/floats it is
    # appended as it is to the store's ``_pend`` list (one C call), and the store
    # sums the waiting dicts in C before anyone reads it (design.md §9).
    #
    # Thread safety.  With the GIL (every build but a free-threaded one), CPython
    # 3.11+ switches threads only at an "eval breaker" check: a call's end, a
    # backward jump, a function's start -- never between the loads and the store of
    # ``self._seen = self._seen + n`` or ``entry[0] += v`` on ints and floats (no
    # Python runs there: attributes, list items, dict subscripts by str, int/float
    # arithmetic).  So the per-call work is written as such straight runs with no
    # call inside a read-modify-write, and takes no lock:
    #
    # * the count moves in one run (read ``_seen``, compare with a limit, store),
    #   so 16 threads calling ``add(1)`` lose no count (tests/test_load.py); the
    #   general code of add() moves it in one run too, under the lock;
    # * a value is added to an entry only if the entry is already in the store's
    #   ``_fast`` dict (an averaged metric with an int/float total), found with a
    #   subscript (not ``.get``, a call), so an entry is read and written in one run;
    #   entries are changed in place, never inserted or removed here, so a render
    #   iterating the store on another thread sees no dict change under it;
    # * log() appends with one ``list.append`` (atomic); the store takes a batch
    #   with ``pend[:n]`` then ``del pend[:n]``, so an append made meanwhile stays
    #   for the next drain;
    # * everything else -- a new name, a tensor or any non-float value, a stateful
    #   metric, a float count, a step that does not move forward, a finalizing call,
    #   a malformed list, a render due -- takes the lock and the general code (the
    #   store's ``_record``: tensors detached at once).
    #
    # 3.10 may switch threads between other instructions too, and a free-threaded
    # build (3.13t) has no GIL: there the limits stay at -inf, so update() and add()
    # always take the general code, and log() runs under the lock (see the end of
    # the class), which keeps counts and sums exact at the cost of the lock.
    #
    # The clock: an injected clock (tests, Keras's byte-exact runs) and the Keras
    # styles are read exactly once per update() call (``_lim`` is the count itself,
    # so every call takes the slow path); the default style on the real clock reads
    # it once per ``_clock_every`` calls' worth of steps, a stride that adapts; a
    # bar on the real clock (terminal, log file or notebook, as a track() loop) is
    # also drawn by the ticker thread (see _due).

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
                    fast = self._fast
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
            fast = self._fast
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
            current = _check_current(current)
        self._lock_acquire()  # bound methods: cheaper than ``with self._lock``
        try:
            if finalize is None:
                target = self._target
                finalize = target is not None and current >= target
            elif finalize is not True and finalize is not False:
                finalize = bool(finalize)
            if added is not None:
                step = added
            elif self._iterating:  # ``_seen`` lags inside a chunk: the count is current
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
                self._run_it = None  # inside a track() loop: ``_seen`` counts now too
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
                if len(self._pend) >= _PEND_MAX:
                    self._store.drain()
            else:
                now = self._clock()
                if every:
                    # The default style may skip clock reads (design.md §9): read it
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
                        _ticker_add(self)
                        if not self._ticking:  # no thread: strides of 16, no retry
                            self._may_tick = False
                    self._clock_every = every
                    self._clock_t = now
                try:
                    self._advance(current, now, finalize)
                except Exception:  # a display bug must never stop the loop
                    self._display.dead = True
                if finalize and self._ticking:
                    _ticker_discard(self)
                if len(self._pend) >= _PEND_MAX:  # not drawn yet: apply them anyway
                    self._store.drain()
            self._set_lim(current, every * step if step >= 1 else every)
        finally:
            self._lock_release()

    def _set_lim(self, current: float | int, ahead: float | int) -> None:
        """The fast paths' limits (under the lock): ``_cap``, the target (reaching it
        finalizes) or inf, and ``_lim``, ``ahead`` steps on and never past ``_cap``.
        Both -inf while a track() loop runs (the count is read from its iterators)
        or where the lock-free paths may not run."""
        if self._iterating or not _LOCK_FREE:
            self._lim = self._cap = _NO_FAST
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
                    fast = self._fast
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
            n = _check_current(n)
        self._lock_acquire()
        try:
            if self._it is not None:  # a track() loop: the count is its iterators'
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
                it = self._run_it
                if it is not None:
                    step = self._top1 - it.__length_hint__()
                elif self._iterating:
                    it = self._it
                    step = self._seen + 1
                    if it is not None:
                        seq = self._seq
                        done = (self._top1 - it.__length_hint__() if seq is None
                                else self._top1 + len(seq) - it.__length_hint__())
                        if done > step:
                            step = done
                else:
                    step = self._seen
                weight = step - self._log_mark
                self._log_mark = step
                if weight <= 1:  # one log per step (or more): a record, one C call
                    self._pend.append(metrics)
                    left = self._log_left - 1
                    if left:
                        self._log_left = left
                        return
                    self._log_left = _PEND_MAX
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
            step = self.current + 1 if self._iterating else self._seen
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
        if len(self._pend) >= _PEND_MAX:
            self._lock_acquire()
            try:
                self._store.drain()
            finally:
                self._lock_release()

    if not _LOCK_FREE:
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

    def refresh(self) -> None:
        """Draw the bar now, with its current count and metrics, whatever the render
        interval (before a pause: an evaluation, a checkpoint).  Not a final line."""
        with self._lock:
            if self._verbose != 1 or self._closed:
                return
            self._last_update = -math.inf
            try:
                self._advance(self.current, self._clock(), False)
            except Exception:
                self._display.dead = True

    def write(self, message: object) -> None:
        """Print a line above the bar; the bar is redrawn below it."""
        with self._lock:
            if self._verbose == 0:
                return
            try:
                self._display.message(str(message))
            except Exception:
                self._display.dead = True

    def close(self) -> None:
        """Finish the bar's line (idempotent)."""
        drain = self._drain  # worker handles: take in what workers sent (see _handle)
        if drain is not None:
            try:
                drain()  # before the lock: the listener thread merges under it
            except BaseException:  # Ctrl-C while it waits for workers: end the line all the same
                self._drain = None
                self.close()
                raise
        self._stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._verbose == 0:
                return
            try:
                self._style.at_close(self)  # the default style draws its final line
                self._display.finish(self._row)
            except Exception:
                self._display.dead = True
            finally:
                self._ended = True

    def __enter__(self) -> Progbar[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _take_iterable(self) -> Iterable[T] | AsyncIterable[T]:
        iterable = self._iterable
        if iterable is None:
            if self._iterated:
                raise TypeError(
                    "this track() bar has been iterated already; call track() again "
                    "for another loop"
                )
            raise TypeError("this Progbar wraps no iterable; use progbar.track(iterable)")
        self._iterable = None
        self._iterated = True
        return iterable

    def __iter__(self) -> Iterator[T]:
        iterable = self._iterable
        if iterable is not None and not hasattr(type(iterable), "__iter__") and hasattr(
            type(iterable), "__aiter__"
        ):
            raise TypeError("this track() wraps an async iterable: use `async for`")
        return self._iterate(self._take_iterable())  # type: ignore[arg-type]

    def __aiter__(self) -> AsyncIterator[T]:
        iterable = self._iterable
        if iterable is not None and not hasattr(type(iterable), "__aiter__"):
            raise TypeError("this track() wraps a plain iterable: use `for`, not `async for`")
        from ._async import aiterate

        return aiterate(self, self._take_iterable())  # type: ignore[arg-type]

    def handle(self) -> Handle:
        """A picklable :class:`progbar.Handle` that reports into this bar from worker
        processes or threads (``add``, ``log``, ``write``, child bars)."""
        from ._handle import handle_for

        return handle_for(self)

    def _merge(
        self,
        n: float,
        totals: Mapping[str, tuple[Any, float]] | None = None,
        last: Mapping[str, Any] | None = None,
    ) -> None:
        """Take in a batch from a worker: ``n`` more steps, averaged metrics as raw
        ``(sum of v*w, sum of w)`` added to this bar's own (an exact merge), and
        stateful metrics replaced by the last value received."""
        with self._lock:
            if totals or last:
                self._store.merge(totals or {}, last or {})
            self._add(n)

    # ------------------------------------------------------------------ internals

    # The track loop.  Wrapping an iterable costs what Python runs per item, so the
    # fast path runs no Python per item at all: the loop the user writes pulls from
    # ``chain.from_iterable(chunks)``, where each chunk is ``islice(source, size)``
    # and Python (``_chunks``) runs once per chunk.  What Python would have counted
    # per item is read, when someone asks, from C-level iterator state:
    #
    # * list, tuple, range (exact types): ``len(seq) - length_hint(iter)`` is the
    #   number of items handed out, exactly, even if a list grows (~3 ns/item).
    # * anything else (generators, data loaders, iterables whose len() may lie):
    #   ``compress(iterator, counter)`` pulls an item, then steps ``counter`` (a
    #   range iterator, read with length_hint) -- only once the item exists, so an
    #   exhausted or failing source is never counted (~20 ns/item, against ~30-40
    #   for a per-item Python generator, which would also need a store per item to
    #   keep ``bar.current`` true).
    #
    # Chunks grow from 1 by doubling, to 65,536 items at most, but each is kept to
    # about interval/8 of time at the rate just seen, so boundaries alone render on
    # time while the rate holds (a fast loop runs Python ~16 times, then once per
    # 65,536 items).  A chunk can still last long when the loop suddenly slows, so
    # renders cannot wait for boundaries: while a loop on the real clock runs, the
    # process's one ticker thread (see _run_ticker) shows its exact count whenever it
    # moved, every 20 ms at most and throttled by the bar's interval.  Registering
    # a loop costs a set insertion; the thread starts once per process.  An injected
    # clock gets no ticker: the caller owns time, so renders stay deterministic.
    # This leans on CPython: iterators freed at once, and islice dropping its
    # source when spent (checked with gc.get_referents); the package says CPython.
    # The count shown is "steps done": items handed out minus the one whose body
    # runs.  When the loop ends early (break, exception in the body or the source,
    # a dropped iterator), CPython closes ``_chunks`` as the chain is freed; whether
    # the body of the last item was running is told by the current islice: it
    # drops its source only when a pull from it failed.

    def _iterate(self, iterable: Iterable[T]) -> Iterator[T]:
        it = iter(iterable)
        source: Iterator[T]
        handed: Callable[[], int]
        # handed() == ``length + (len(grows) if grows is not None) - exact.__length_hint__()``
        grows: list[Any] | None = None
        if type(iterable) in _SEQUENCES and type(it) in _SEQUENCE_ITERATORS:
            seq: Any = iterable
            source = it
            exact: Any = it
            length = 0
            if type(seq) is list:
                grows = seq  # a list may grow while it is iterated: len() at each read
            else:
                try:
                    length = len(seq)
                except OverflowError:  # a range beyond sys.maxsize: len() as before
                    grows = seq

            def handed() -> int:
                return len(seq) - operator.length_hint(it)

        else:
            counter = iter(range(1, sys.maxsize))
            top = sys.maxsize - 1
            source = compress(it, counter)
            exact = counter
            length = top

            def handed() -> int:
                return top - operator.length_hint(counter)

        return chain.from_iterable(self._chunks(source, handed, exact, length, grows))

    def _chunks(
        self,
        source: Iterator[T],
        handed: Callable[[], int],
        exact: _Exact | None = None,
        length: int = 0,
        grows: list[Any] | None = None,
    ) -> Iterator[Iterator[T]]:
        with self._lock:
            base = self._seen
            self._base = base
            self._log_mark = base
            self._handed = handed
            self._lim = self._cap = _NO_FAST  # the count is read from the iterators
            if exact is not None:
                self._top = base - 1 + length  # current = _top (+ len(_seq)) - remaining
                self._top1 = base + length
                self._seq = grows
                self._it = exact
                self._run_it = exact if grows is None else None
            self._iterating = True
        clock = self._clock
        t_prev = clock()
        size = 1
        done = 0  # items handed out when the current chunk began
        chunk: Iterator[T] = iter(())
        exhausted = False
        try:
            if self._may_tick and self._verbose == 1 and not self._display.dead:
                _ticker_add(self)  # renders on time even inside one long chunk
            while True:
                chunk = islice(source, size)
                yield chunk
                # Here the chunk is spent: every item it handed out has run its body.
                got = handed()
                if got - done < size:
                    exhausted = True
                    break
                done = got
                self._seen = base + got
                if not self._verbose:
                    size = min(size * 2, _MAX_CHUNK)
                    continue
                now = clock()
                self._tick(now)
                # Next chunk: double it, but keep it to about interval/8 of the time
                # the last one took, so boundaries alone render on time while the
                # rate holds (and with an injected clock, which gets no ticker).
                want = size * 2
                dt = now - t_prev
                if dt > 0:
                    fit = int(size * self._interval * 0.125 / dt)
                    if fit < want:
                        want = fit if fit > 1 else 1
                size = want if want < _MAX_CHUNK else _MAX_CHUNK
                t_prev = now
        finally:
            with self._lock:
                got = handed()
                if not exhausted and _holds_source(chunk):
                    got -= 1  # the islice still holds its source: a body was running
                if base + got > self._seen:
                    self._seen = base + got
                self._handed = None
                self._it = None
                self._run_it = None
                self._seq = None
                self._iterating = False
                self._set_lim(self._seen, 0)  # the next call takes the slow path
            self._stop()
            if exhausted:
                self.update(self._seen, finalize=True)
            self.close()

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
            counting = self._handed is None  # a bar moved by update()/add() (see _due)
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
                if counting and now - self._tick_moved > _IDLE_EXIT:
                    self._clock_every = 1
                    self._set_lim(current, 0)
                    _ticker_discard(self)
                return
            self._tick_moved = now
            if not counting:
                self._seen = current  # (a counting bar's count is moved without the lock)
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
        if self._ticking:
            _ticker_discard(self)

    def _use_ascii(self) -> None:
        self._glyphs = self._style.ascii_glyphs()

    def _pick_glyphs(self, stream: object) -> fmt.Glyphs:
        return self._style.glyphs(lambda text: can_encode(stream, text), self._color)

    def _advance(self, current: float | int, now: float, finalize: bool) -> None:
        """Draw now or not: the style's throttle rule decides (see _style)."""
        self._style.advance(self, current, now, finalize)

    def _labelled(self, line: str, cells: int, max_cells: int | None) -> tuple[str, int]:
        """``label`` + a space before the line (cut to a third of the width at most)."""
        label = self._label
        if label is None:
            return line, cells
        if max_cells is not None and fmt.cell_width(label) > max(max_cells // 3, 1):
            label = fmt.truncate_cells(label, max(max_cells // 3 - 1, 0)) + "…"
        head = label + " "
        return head + line, cells + fmt.cell_width(head)

    def _show(self, current: float | int, now: float, per_step: float, final: bool) -> None:
        """Format the line (the style) and hand it to the display."""
        display = self._display
        if display.dead or self._ended:  # after close() a redraw would reopen the line
            return
        columns = display.columns()
        max_cells = columns - 1 if columns else None
        room = max_cells
        if self._label is not None and max_cells is not None:
            room = max_cells - self._labelled("", 0, max_cells)[1]
        color = self._color and (display.live or self._style.keras_framing)
        metrics = self._store.snapshot()
        self._shown = (current, metrics)
        line, cells = self._style.format_line(
            self, current, now, per_step, final, metrics, room, display.live, color
        )
        line, cells = self._labelled(line, cells, max_cells)
        target = self._target
        self._row.fraction = float(current) / target if target else None
        display.draw(self._row, line, cells, final)

    def _summary(self, current: float | int, now: float, per_step: float) -> None:
        """The one line of a verbose=2 bar."""
        text = self._style.format_summary(self, current, now, per_step)
        self._display.summary(self._labelled(text, 0, None)[0])


def _holds_source(chunk: object) -> bool:
    """Does this islice still hold its source iterator?  It drops it when a pull from
    it failed (exhausted or raised), so after a loop ends early this tells whether the
    last item's body was running.  From Python 3.12 islice is a heap type and lists its
    own type among its referents: only a referent other than the type is the source."""
    for ref in gc.get_referents(chunk):
        if ref is not islice:
            return True
    return False


_SEQUENCES = (list, tuple, range)
_MAX_CHUNK = 65536  # Python runs once per this many items, at the most
# Iterators whose length_hint is exact: what iter() gives for the exact types above.
_SEQUENCE_ITERATORS: tuple[type, ...] = (
    type(iter([])),
    type(iter(())),
    type(iter(range(0))),
    type(iter(range(1 << 70))),
)

# The ticker: one daemon thread for the whole process, started with the first live
# track() loop on the real clock and ended after a second with nothing to do (so a
# later fork() finds a single-threaded process).  Loops register while they run;
# the thread wakes every min(interval) (20 ms to 1 s) and redraws a loop only when
# its count moved since it last drew it, and of several loops drawing on one
# stream only the newest (an inner loop's line is never drawn over by its outer
# loop).  After a fork the child gets fresh locks and starts its own thread when it
# needs one (a lock held by the parent's ticker at fork time would stay held).
_TICK = 0.02
_IDLE_EXIT = 1.0
# Weak references (a bar dropped without close() still goes away), registration
# order: newest last.
_ticking: list[Any] = []
_ticking_lock = allocate_lock()
_ticker_wake: threading.Event | None = None
_ticker_thread: threading.Thread | None = None
_fork_hook = False


def _ticker_add(bar: Progbar[Any]) -> None:
    """Register a running loop; never raises (no thread: boundaries still render)."""
    global _ticker_wake, _ticker_thread, _fork_hook
    import threading

    with _ticking_lock:
        if not _fork_hook and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook = True
        if _ticker_wake is None:
            _ticker_wake = threading.Event()
        entry = _weakref(bar)
        _ticking.append(entry)
        bar._ticking = True
        if _ticker_thread is None:
            thread = threading.Thread(target=_run_ticker, name="progbar-ticker", daemon=True)
            try:
                thread.start()
            except (RuntimeError, OSError):  # interpreter shutdown, thread limit
                _ticking.remove(entry)
                bar._ticking = False
                return
            _ticker_thread = thread
    _ticker_wake.set()


def _ticker_discard(bar: Progbar[Any]) -> None:
    with _ticking_lock:
        bar._ticking = False
        _ticking[:] = [r for r in _ticking if r() not in (bar, None)]


def _ticking_bars() -> list[Progbar[Any]]:
    """The registered bars still alive (dropped ones pruned; under _ticking_lock)."""
    bars = [r() for r in _ticking]
    if None in bars:
        _ticking[:] = [r for r in _ticking if r() is not None]
    return [bar for bar in bars if bar is not None]


def _to_tick(bars: list[Progbar[Any]]) -> list[Progbar[Any]]:
    """The bars the ticker redraws: every running loop and every counting bar
    registered by its slow path, each on its own row of its stream's block (an
    outer loop's row above its inner loop's)."""
    return [bar for bar in bars
            if not bar._closed and (bar._handed is not None or bar._ticking)]


def _run_ticker() -> None:
    global _ticker_thread
    wake = _ticker_wake
    assert wake is not None
    while True:
        try:
            with _ticking_lock:
                bars = _ticking_bars()
            if not bars:
                if not wake.wait(_IDLE_EXIT):
                    with _ticking_lock:
                        if not _ticking_bars():
                            _ticker_thread = None
                            return
                wake.clear()
                continue
            pause = min(bar._interval for bar in bars)
            del bars
            time.sleep(min(max(pause, _TICK), 1.0))
            _tick_due()
        except Exception:  # a display problem must not end the thread
            time.sleep(_TICK)


def _tick_due() -> None:
    """One round of the ticker.  A function of its own, so that no reference to a bar
    outlives the round: a bar dropped without close() must go away while the thread
    sleeps (else the next bar on its stream would find it there and draw a block)."""
    with _ticking_lock:
        due = _to_tick(_ticking_bars())
    for bar in due:
        bar._tick(from_ticker=True)


def _after_fork_in_child() -> None:
    global _ticking_lock, _ticker_wake, _ticker_thread

    for bar in _ticking_bars():
        bar._lock = RLock()
        bar._lock_acquire = bar._lock.acquire
        bar._lock_release = bar._lock.release
        bar._ticking = False
        # The ticker may have been drawing it at the fork, holding its display's lock
        # too: a child that goes on using the bar must not wait for a dead thread.
        bar._display.lock = RLock()
    _ticking.clear()
    _ticking_lock = allocate_lock()
    _ticker_wake = None
    _ticker_thread = None


def track(
    iterable: Iterable[T] | AsyncIterable[T],
    target: float | None = None,
    **options: Any,
) -> Progbar[T]:
    """Wrap ``iterable`` in a :class:`Progbar`: iterate it to get the same items.

    ``target`` (or tqdm's ``total=``) defaults to ``len(iterable)`` when it has one.
    ``bar.log(...)`` records metrics for the step in progress.  An async iterable
    works the same way with ``async for``.
    """
    cls = type(iterable)
    if not (hasattr(cls, "__iter__") or hasattr(cls, "__aiter__") or hasattr(cls, "__getitem__")):
        raise TypeError(
            f"track() needs an iterable (or an async iterable) to wrap, got "
            f"{cls.__name__}; for a bar you move by hand use Progbar(target)"
        )
    if target is None and options.get("total") is None:
        try:
            target = len(iterable)  # type: ignore[arg-type]
        except Exception:
            target = None
    bar: Progbar[T] = Progbar(target, **options)
    bar._iterable = iterable
    return bar
