"""``Progbar`` and ``track``: the controller.

It reads the clock, decides when to render, asks the metric store for a snapshot, the
formatter for text and the writer to show it.  It holds no formatting and no I/O of
its own.
"""

from __future__ import annotations

import math
import operator
import threading
import time
from typing import Any, Callable, Generic, Iterable, Iterator, Mapping, TypeVar

from . import _format as fmt
from . import _redirect
from ._metrics import MetricStore
from ._writer import (
    KerasWriter,
    LineWriter,
    LiveWriter,
    NotebookWriter,
    NullWriter,
    Stream,
    Writer,
    can_encode,
    detect_color,
    detect_dynamic,
    disabled_by_env,
    log_interval,
    notebook_display,
)

__all__ = ["Progbar", "track"]

T = TypeVar("T")
Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

STYLES = ("default", "keras", "keras2")
_DEFAULT_WIDTH = {"default": 30, "keras": 20, "keras2": 30}
_KERAS_ASCII = fmt.Glyphs(done="=", tip="=", rest="=", ellipsis="...")


def _check_target(target: object) -> int | None:
    if target is None:
        return None
    if isinstance(target, bool):
        raise TypeError(f"target must be an int >= 0 or None, not the bool {target!r}")
    try:
        value = operator.index(target)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"target must be an int >= 0 or None, not {type(target).__name__} {target!r}"
        ) from None
    if value < 0:
        raise ValueError(f"target must be >= 0 or None, got {value}")
    return int(value)


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
        target: int | None,
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
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
        self._target = _check_target(target)
        if width is None:
            width = _DEFAULT_WIDTH[style]
        elif isinstance(width, bool) or not isinstance(width, int) or width < 1:
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
        self._style = style
        self._width = width
        self._verbose = verbose
        self._unit = unit_name
        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._lock = threading.RLock()

        stream = file
        self._writer: Writer
        if verbose == 0 or disabled_by_env():
            self._writer = NullWriter()
            live = False
        else:
            live = detect_dynamic(stream, dynamic)
            if style == "default" and live and notebook_display(stream):
                self._writer = NotebookWriter(stream, lambda: (self._seen, self._target))
            elif style == "default":
                self._writer = LiveWriter(stream) if live else LineWriter(stream)
            else:
                self._writer = KerasWriter(stream, live)
            if self._writer.live:  # so that logging_redirect() can find it
                _redirect.register(self)
        self._writer.on_encoding_error = self._use_ascii
        self._color = detect_color(stream, color)
        self._glyphs = self._pick_glyphs(self._writer.stream)

        if interval is None:
            interval = 0.05 if (live or style != "default") else log_interval()
            if isinstance(self._writer, NotebookWriter):
                interval = NotebookWriter.interval
        self._interval = float(interval)

        self._seen: float | int = 0
        self._start = self._clock()
        # Keras starts its throttle at 0, not at the start time; the keras styles
        # keep that so that their first render happens exactly when Keras's does.
        if style != "default" or live:
            self._last_update = 0.0 if style != "default" else -math.inf
        else:
            self._last_update = self._start
        self._time_after_first_step: float | None = None
        self._ema: float | None = None
        self._prev_t = self._start
        self._prev_c: float | int = 0
        self._finished = False
        self._summarized = False
        self._closed = False
        self._iterable: Iterable[T] | None = None
        self._iterating = False
        self._log_mark: float | int = 0
        self._shown: tuple[Any, ...] | None = None  # (current, metrics) last drawn

    # ------------------------------------------------------------------ properties

    @property
    def current(self) -> float | int:
        """The step reached so far (Keras's ``_seen_so_far``)."""
        return self._seen

    @property
    def target(self) -> int | None:
        """Total number of steps, or None if unknown.  Settable, as Keras's
        ``progbar.target`` is: a loop of unknown length learns it at its end."""
        return self._target

    @target.setter
    def target(self, value: int | None) -> None:
        target = _check_target(value)
        with self._lock:
            self._target = target

    @property
    def style(self) -> str:
        return self._style

    @property
    def verbose(self) -> int:
        return self._verbose

    def metrics(self) -> dict[str, float | str]:
        """The metrics as the bar shows them now: averaged, or as passed if stateful.

        Converting them reads tensors back to the host (one sync per metric).
        """
        with self._lock:
            return dict(self._store.snapshot())

    def totals(self) -> dict[str, tuple[Any, int]]:
        """Each numeric metric's raw ``(total, count)``, unconverted (tensors stay
        tensors).  With :meth:`set_totals` this lets an adapter combine bars, e.g.
        sum totals and counts over the ranks of a distributed job."""
        with self._lock:
            return self._store.averages()

    def set_totals(self, totals: Mapping[str, tuple[Any, int]]) -> None:
        """Replace the ``(total, count)`` of the named metrics (see :meth:`totals`)."""
        with self._lock:
            self._store.set_totals(totals)

    # ------------------------------------------------------------------ state changes

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
        current = _check_current(current)
        with self._lock:
            target = self._target
            if finalize is None:
                finalize = target is not None and current >= target
            if values:
                weight = current - self._seen
                self._store.record(
                    values,
                    int(weight) if weight >= 1 else 1,
                    replace=bool(finalize) and self._style == "keras",
                )
            self._seen = current
            if self._verbose == 0:
                return
            now = self._clock()
            try:
                self._advance(current, now, bool(finalize))
            except Exception:  # a display bug must never stop the loop
                self._writer.dead = True

    def add(self, n: float | int, values: Values | None = None) -> None:
        """``update(current + n, values)``; safe to call from several threads."""
        with self._lock:
            self.update(self._seen + n, values)

    def log(self, values: Values | None = None, /, **metrics: Any) -> None:
        """Record metrics for the step in progress, without moving the bar.

        ``bar.log(loss=v, acc=a)`` or ``bar.log([("loss", v)])``.
        """
        with self._lock:
            step = self._seen + 1 if self._iterating else self._seen
            weight = step - self._log_mark
            self._log_mark = step
            w = int(weight) if weight >= 1 else 1
            if values:
                self._store.record(values, w)
            if metrics:
                self._store.record(metrics, w)

    def write(self, message: object) -> None:
        """Print a line above the bar; the bar is redrawn below it."""
        with self._lock:
            if self._verbose == 0:
                return
            try:
                self._writer.message(str(message))
            except Exception:
                self._writer.dead = True

    def close(self) -> None:
        """Finish the bar's line (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._verbose == 0:
                return
            try:
                if self._style == "default" and not self._finished:
                    # A log already holding this very state gets no duplicate line.
                    if self._writer.live or self._shown != self._state_key(self._seen):
                        self._render(self._seen, self._clock(), final=True)
                self._writer.finish()
            except Exception:
                self._writer.dead = True

    def __enter__(self) -> Progbar[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        iterable = self._iterable
        if iterable is None:
            raise TypeError("this Progbar wraps no iterable; use progbar.track(iterable)")
        self._iterable = None
        return self._iterate(iterable)

    # ------------------------------------------------------------------ internals

    def _iterate(self, iterable: Iterable[T]) -> Iterator[T]:
        n = self._seen
        self._log_mark = n
        next_check = n + 1
        stride = 1
        clock = self._clock
        last_t = clock()
        last_n = n
        self._iterating = True
        try:
            for item in iterable:
                yield item
                n += 1
                self._seen = n
                if n >= next_check:
                    # Read the clock once per stride of items: often enough to render
                    # every interval, rarely enough to cost little per item.
                    now = clock()
                    self.update(n, finalize=False)  # only exhaustion ends the bar
                    dt = now - last_t
                    if dt > 0:
                        per_item = dt / (n - last_n)
                        stride = max(1, min(1024, int(self._interval / 8 / per_item)))
                    last_t, last_n = now, n
                    next_check = n + stride
            self._iterating = False
            self.update(n, finalize=True)
        finally:
            self._iterating = False
            self.close()

    def _state_key(self, current: float | int) -> tuple[Any, ...]:
        return (current, tuple(self._store.snapshot()))

    def _use_ascii(self) -> None:
        self._glyphs = _KERAS_ASCII if self._style == "keras" else fmt.ASCII

    def _pick_glyphs(self, stream: object) -> fmt.Glyphs:
        if self._style == "keras2":
            return fmt.ASCII
        if self._style == "keras":
            return fmt.UNICODE if can_encode(stream, "━") else _KERAS_ASCII
        if not can_encode(stream, "━╸─…"):
            return fmt.ASCII
        return fmt.UNICODE if self._color else fmt.UNICODE_PLAIN

    def _per_step(self, current: float | int, now: float) -> float:
        """Seconds per step as each style estimates it."""
        style = self._style
        if style == "keras":
            # Keras 3: exclude the first step (it holds compilation, warm-up...).
            if not current:
                return 0.0
            if self._time_after_first_step is not None and current > 1:
                per = (now - self._time_after_first_step) / (current - 1)
            else:
                per = (now - self._start) / current
            if current == 1:
                self._time_after_first_step = now
            return per
        if style == "keras2":
            return (now - self._start) / current if current else 0.0
        # default: the mean since the first render, then smoothed between renders
        if current <= 0:
            return 0.0
        if self._ema is None or current <= self._prev_c:
            if self._ema is None:
                self._ema = (now - self._start) / current
                self._prev_t, self._prev_c = now, current
            return self._ema
        instant = (now - self._prev_t) / (current - self._prev_c)
        if self._time_after_first_step is None:  # the first estimate held step one
            self._time_after_first_step = now
            self._ema = instant
        else:
            self._ema = 0.3 * instant + 0.7 * self._ema
        self._prev_t, self._prev_c = now, current
        return self._ema

    def _advance(self, current: float | int, now: float, finalize: bool) -> None:
        style = self._style
        if style == "keras":
            per_step = self._per_step(current, now)
            if self._verbose == 1:
                if now - self._last_update < self._interval and not finalize:
                    return
                self._show(current, now, per_step, finalize)
            elif finalize and self._target:
                self._summary(current, now, per_step)
            self._last_update = now
        elif style == "keras2":
            target = self._target
            if self._verbose == 1:
                if (
                    now - self._last_update < self._interval
                    and target is not None
                    and current < target
                    and not finalize
                ):
                    return
                self._show(current, now, self._per_step(current, now), finalize)
            elif target is None or finalize:
                self._summary(current, now, 0.0)
            self._last_update = now
        else:
            if not finalize and now - self._last_update < self._interval:
                return
            self._last_update = now
            self._render(current, now, finalize)

    def _render(self, current: float | int, now: float, final: bool) -> None:
        """Default style: draw the line (verbose 1) or the one summary line (verbose 2)."""
        per_step = self._per_step(current, now)
        if final:
            self._finished = True
            if current > 0:
                per_step = (now - self._start) / current
        if self._verbose == 2:
            if final and not self._summarized:
                self._summarized = True
                snap = self._snapshot(current, now, per_step, True)
                segs = fmt.format_default(snap, 0, self._glyphs, None, with_bar=False)
                self._writer.summary(fmt.join_segments(segs, False))
            return
        self._show(current, now, per_step, final)

    def _snapshot(
        self, current: float | int, now: float, per_step: float, final: bool
    ) -> fmt.Snapshot:
        eta = None
        target = self._target
        if target is not None and not final and per_step > 0:
            eta = max(per_step * (target - current), 0.0)
        return fmt.Snapshot(
            current=current,
            target=target,
            elapsed=now - self._start,
            per_step=per_step,
            metrics=self._store.snapshot(),
            final=final,
            unit=self._unit,
            eta=eta,
        )

    def _show(self, current: float | int, now: float, per_step: float, final: bool) -> None:
        writer = self._writer
        if writer.dead:
            return
        snap = self._snapshot(current, now, per_step, final)
        self._shown = (current, tuple(snap.metrics))
        columns = writer.columns()
        max_cells = columns - 1 if columns else None
        style = self._style
        if style == "keras":
            segs = fmt.format_keras(snap, self._width, self._glyphs, max_cells)
        elif style == "keras2":
            segs = fmt.format_keras2(snap, self._width, max_cells)
        else:
            segs = fmt.format_default(
                snap, self._width, self._glyphs, max_cells, with_bar=writer.live
            )
        color = self._color and (writer.live or style != "default")
        writer.show(fmt.join_segments(segs, color), fmt.segments_width(segs), final)

    def _summary(self, current: float | int, now: float, per_step: float) -> None:
        snap = self._snapshot(current, now, per_step, True)
        if self._style == "keras":
            self._writer.summary(fmt.format_keras_summary(snap))
        else:
            self._writer.summary(fmt.format_keras2_summary(snap))


def track(
    iterable: Iterable[T],
    target: int | None = None,
    **options: Any,
) -> Progbar[T]:
    """Wrap ``iterable`` in a :class:`Progbar`: iterate it to get the same items.

    ``target`` defaults to ``len(iterable)`` when it has one.  ``bar.log(...)``
    records metrics for the step in progress.
    """
    if target is None:
        try:
            target = len(iterable)  # type: ignore[arg-type]
        except Exception:
            target = None
    bar: Progbar[T] = Progbar(target, **options)
    bar._iterable = iterable
    return bar
