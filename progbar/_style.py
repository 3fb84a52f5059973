"""The styles: how a bar of each style decides, estimates and formats.

A style is one object per bar (it holds the bar's time estimate).  It owns four
things, each answered in one place:

* its **throttle rule** -- when an update is drawn (:meth:`Style.advance`);
* its **time estimate** -- seconds per step (:meth:`Style.per_step`);
* its **finalize rule** -- whether a finalizing update replaces averaged metrics
  (:attr:`Style.keras_finalize`) and whether ``close()`` draws a last line;
* its **formatter** -- the text of a line (:meth:`Style.format_line`) and of a
  verbose=2 summary (:meth:`Style.format_summary`), built from the pure functions in
  ``_format``.

The controller (``_progbar.Progbar``) holds state and asks its style; it never tests
a style's name.  A style never touches a stream: it hands text to the bar's display.
"""

from __future__ import annotations

import math

from . import _format as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ._progbar import Progbar

__all__ = ["STYLES", "DefaultStyle", "Keras2Style", "KerasStyle", "Style", "TfKerasStyle",
           "make_style"]


def _eta_up(per_step: float, remaining: float) -> float:
    """Seconds left, rounded up to a whole second while steps remain: an ETA never
    reads zero while there is work left."""
    eta = per_step * remaining
    if remaining > 0 and per_step > 0:
        return float(max(math.ceil(eta), 1)) if eta == eta else eta
    return max(eta, 0.0)


class Style:
    """The interface every style implements (see the module docstring)."""

    name = ""
    default_width = 30
    keras_finalize = False  # Keras 3: a finalizing update replaces averaged metrics
    keras_framing = False  # lines framed as Keras frames them (``\\b``...``\\r``, ``\\n``)
    notebook_html = False  # drawn as an HTML bar in a Jupyter kernel

    def __init__(self, start: float) -> None:
        self.start = start

    # -- set-up -----------------------------------------------------------------

    def interval(self, live: bool, log_interval: Callable[[], float]) -> float:
        """The render interval when the caller gives none."""
        return 0.05

    def first_update_mark(self, live: bool) -> float:
        """The throttle's starting mark.  Keras starts it at 0, not at the start
        time, so that its first render happens exactly when Keras's does."""
        return 0.0

    def reads_clock_lazily(self, injected_clock: bool) -> bool:
        """May ``update()`` skip clock reads while calls come fast?  Not where a
        caller (Keras, a test) may count on one read per call."""
        return False

    def glyphs(self, can_encode: Callable[[str], bool], color: bool) -> fmt.Glyphs:
        return fmt.UNICODE if can_encode("━") else fmt.KERAS_ASCII

    def ascii_glyphs(self) -> fmt.Glyphs:
        return fmt.ASCII

    # -- time, throttle, drawing -----------------------------------------------------

    def per_step(self, current: float, now: float) -> float:
        raise NotImplementedError

    def advance(self, bar: Progbar[Any], current: float, now: float, finalize: bool) -> None:
        """Called on every update with the clock read: draw now or not."""
        raise NotImplementedError

    def at_close(self, bar: Progbar[Any]) -> None:
        """``close()`` on a bar that has not drawn its final line."""

    def format_line(
        self,
        bar: Progbar[Any],
        current: float,
        now: float,
        per_step: float,
        final: bool,
        metrics: list[tuple[str, fmt.Shown]],
        max_cells: int | None,
        live: bool,
        color: bool,
    ) -> tuple[str, int]:
        """The line and its width in cells, within ``max_cells`` (None: unfitted)
        except for a final line, which follows the final-line rule."""
        raise NotImplementedError

    def format_summary(self, bar: Progbar[Any], current: float, now: float, per_step: float
                       ) -> str:
        raise NotImplementedError

    # -- shared helpers ---------------------------------------------------------

    @staticmethod
    def snapshot(bar: Progbar[Any], current: float, now: float, per_step: float, final: bool,
                 exact: bool, metrics: list[tuple[str, fmt.Shown]] | None = None
                 ) -> fmt.Snapshot:
        eta = None
        target = bar._target
        if target is not None and not final and per_step > 0:
            remaining = target - current
            eta = max(per_step * remaining, 0.0) if exact else _eta_up(per_step, remaining)
        return fmt.Snapshot(
            current=current,
            target=target,
            elapsed=now - bar._start,
            per_step=per_step,
            metrics=bar._store.snapshot() if metrics is None else metrics,
            final=final,
            unit=bar._unit,
            eta=eta,
        )


def _fit(
    segments: Callable[[int | None, bool], list[fmt.Segment]],
    color: bool,
    max_cells: int | None,
    final: bool,
    record: bool,
) -> tuple[str, int]:
    """A line from ``segments(limit, with_bar)``, and its cells.  A live line is fitted
    to ``max_cells``.  With ``record``, a final line follows the final-line rule: it is
    a record, never elided -- with its bar if that fits; else without the bar glyphs,
    every metric kept, broken before a metric onto more lines if it must (it is
    printed once, never redrawn)."""

    def render(limit: int | None, with_bar: bool) -> tuple[str, int]:
        segs = segments(limit, with_bar)
        return fmt.join_segments(segs, color), fmt.segments_width(segs)

    if not (final and record):
        return render(max_cells, True)
    line, cells = render(None, True)
    if max_cells is None or cells <= max_cells:
        return line, cells
    line, cells = render(None, False)
    if cells <= max_cells:
        return line, cells
    return fmt.wrap_record(line, max_cells)


# --------------------------------------------------------------------------- keras 3


class KerasStyle(Style):
    """Keras 3's ``keras.utils.Progbar``, byte for byte (with colour on; minus the
    ANSI escapes with colour off) wherever its line is not fitted to a terminal."""

    name = "keras"
    default_width = 20
    keras_finalize = True
    keras_framing = True

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self._after_first: float | None = None

    def ascii_glyphs(self) -> fmt.Glyphs:
        return fmt.KERAS_ASCII

    def per_step(self, current: float, now: float) -> float:
        # Keras 3 excludes the first step (it holds compilation, warm-up...) once a
        # second one is there; it records the time of step one when it sees it.
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            per = (now - self._after_first) / (current - 1)
        else:
            per = (now - self.start) / current
        if current == 1:
            self._after_first = now
        return per

    def advance(self, bar: Progbar[Any], current: float, now: float, finalize: bool) -> None:
        # Keras estimates on every call, drawn or not (it must see step one).
        per_step = self.per_step(current, now)
        if bar._verbose == 1:
            if now - bar._last_update < bar._interval and not finalize:
                return
            bar._show(current, now, per_step, finalize)
        elif finalize and bar._target:
            bar._summary(current, now, per_step)
        bar._last_update = now

    def format_line(self, bar: Progbar[Any], current: float, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    live: bool, color: bool) -> tuple[str, int]:
        exact = max_cells is None and bar._label is None  # Keras's own bytes
        target = bar._target
        if target and exact:  # the fast path: one string, no segments (see _format)
            fast = fmt.format_keras_fast(
                current, target, now - bar._start, per_step, metrics, final,
                bar._unit, bar._width, bar._glyphs, color, max_cells, bar._cache,
            )
            if fast is not None:
                return fast
        snap = self.snapshot(bar, current, now, per_step, final, exact, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_keras(
                snap, bar._width, bar._glyphs, limit, with_bar=with_bar, eta_up=not exact
            ),
            color, max_cells, final, record=not exact,
        )

    def format_summary(self, bar: Progbar[Any], current: float, now: float, per_step: float
                       ) -> str:
        return fmt.format_keras_summary(self.snapshot(bar, current, now, per_step, True, True))


# --------------------------------------------------------------------------- keras 2


class Keras2Style(Style):
    """The classic Keras 2 ``Progbar`` (``[=====>....]``), byte for byte."""

    name = "keras2"
    default_width = 30
    keras_framing = True

    def glyphs(self, can_encode: Callable[[str], bool], color: bool) -> fmt.Glyphs:
        return fmt.ASCII  # Keras 2's bar is ASCII whatever the stream

    def per_step(self, current: float, now: float) -> float:
        return (now - self.start) / current if current else 0.0

    def advance(self, bar: Progbar[Any], current: float, now: float, finalize: bool) -> None:
        target = bar._target
        if bar._verbose == 1:
            if (
                now - bar._last_update < bar._interval
                and target is not None
                and current < target
                and not finalize
            ):
                return
            bar._show(current, now, self.per_step(current, now), finalize)
        elif target is None or finalize:
            bar._summary(current, now, 0.0)
        bar._last_update = now

    def format_line(self, bar: Progbar[Any], current: float, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    live: bool, color: bool) -> tuple[str, int]:
        exact = max_cells is None and bar._label is None
        snap = self.snapshot(bar, current, now, per_step, final, exact, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_keras2(
                snap, bar._width, limit, with_bar=with_bar, eta_up=not exact
            ),
            color, max_cells, final, record=not exact,
        )

    def format_summary(self, bar: Progbar[Any], current: float, now: float, per_step: float
                       ) -> str:
        return fmt.format_keras2_summary(self.snapshot(bar, current, now, per_step, True, True))


# --------------------------------------------------------------------------- tf_keras


class TfKerasStyle(Style):
    """tf_keras 2.21's ``tf_keras.utils.Progbar`` (Keras 2 as TensorFlow ships it),
    byte for byte: Keras 2's ``[=====>....]`` line, throttled whatever the target;
    Keras 3's time estimate (the first step left out), made at drawn lines only; a
    verbose=2 line per finalizing update, ending ``- 25ms/epoch - 3ms/step``.
    Averaged metrics stay averaged at finalize."""

    name = "tf_keras"
    default_width = 30
    keras_framing = True

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self._after_first: float | None = None
        self._epoch_start = start  # tf_keras's epoch clock, for the verbose=2 times
        self._epoch_end: float | None = None
        self._epoch_time: float | None = None

    def glyphs(self, can_encode: Callable[[str], bool], color: bool) -> fmt.Glyphs:
        return fmt.ASCII  # Keras 2's bar is ASCII whatever the stream

    def per_step(self, current: float, now: float) -> float:
        # As Keras 3 (KerasStyle.per_step); tf_keras asks only when it draws a line,
        # so a step one that was not drawn is not left out.
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            per = (now - self._after_first) / (current - 1)
        else:
            per = (now - self.start) / current
        if current == 1:
            self._after_first = now
        return per

    def advance(self, bar: Progbar[Any], current: float, now: float, finalize: bool) -> None:
        target = bar._target
        if current == target:
            self._epoch_end = now  # the epoch's time ends where the count hit the target
        if bar._verbose == 1:
            if now - bar._last_update < bar._interval and not finalize:
                return
            bar._show(current, now, self.per_step(current, now), finalize)
        elif finalize:
            self._epoch_time = None
            # tf_keras tests the time's truth (a clock reading 0.0 counts as none)
            if self._epoch_end and target:
                self._epoch_time = self._epoch_end - self._epoch_start
                self._epoch_start = now
                self._epoch_end = None
            bar._summary(current, now, 0.0)
        bar._last_update = now

    def format_line(self, bar: Progbar[Any], current: float, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    live: bool, color: bool) -> tuple[str, int]:
        exact = max_cells is None and bar._label is None
        snap = self.snapshot(bar, current, now, per_step, final, exact, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_tf_keras(
                snap, bar._width, limit, with_bar=with_bar, eta_up=not exact
            ),
            color, max_cells, final, record=not exact,
        )

    def format_summary(self, bar: Progbar[Any], current: float, now: float, per_step: float
                       ) -> str:
        snap = self.snapshot(bar, current, now, per_step, True, True)
        return fmt.format_tf_keras_summary(snap, self._epoch_time)


# --------------------------------------------------------------------------- default


class DefaultStyle(Style):
    """Ours: count, percentage, bar, elapsed<ETA, rate, metrics; readable in a log.

    Averaged metrics stay averaged at finalize (Keras 2's rule: what a plain loop
    means); ``close()`` draws the final line of a bar that has not drawn it.
    """

    name = "default"
    default_width = 30
    notebook_html = True

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self._ema: float | None = None
        self._after_first: float | None = None
        self._prev_t = start
        self._prev_c: float = 0

    def interval(self, live: bool, log_interval: Callable[[], float]) -> float:
        return 0.05 if live else log_interval()

    def first_update_mark(self, live: bool) -> float:
        # live: the first update draws; a log waits one interval for its first line
        return -math.inf if live else self.start

    def reads_clock_lazily(self, injected_clock: bool) -> bool:
        return not injected_clock

    def glyphs(self, can_encode: Callable[[str], bool], color: bool) -> fmt.Glyphs:
        if not can_encode("━╸─…"):
            return fmt.ASCII
        return fmt.UNICODE if color else fmt.UNICODE_PLAIN

    def per_step(self, current: float, now: float) -> float:
        # The mean since the start at the first render, then smoothed between renders
        # (the first step, with its warm-up, leaves the estimate at the second).
        if current <= 0:
            return 0.0
        if self._ema is None or current <= self._prev_c:
            if self._ema is None:
                self._ema = (now - self.start) / current
                self._prev_t, self._prev_c = now, current
            return self._ema
        instant = (now - self._prev_t) / (current - self._prev_c)
        if self._after_first is None:  # the first estimate held step one
            self._after_first = now
            self._ema = instant
        else:
            self._ema = 0.3 * instant + 0.7 * self._ema
        self._prev_t, self._prev_c = now, current
        return self._ema

    def advance(self, bar: Progbar[Any], current: float, now: float, finalize: bool) -> None:
        if not finalize and now - bar._last_update < bar._interval:
            return
        bar._last_update = now
        self.render(bar, current, now, finalize)

    def render(self, bar: Progbar[Any], current: float, now: float, final: bool) -> None:
        """Draw the line (verbose 1) or the one summary line (verbose 2)."""
        per_step = self.per_step(current, now)
        if final:
            bar._finished = True
            if current > 0:
                per_step = (now - bar._start) / current  # the whole run's mean
        if bar._verbose == 2:
            if final and not bar._summarized:
                bar._summarized = True
                bar._summary(current, now, per_step)
            return
        bar._show(current, now, per_step, final)

    def at_close(self, bar: Progbar[Any]) -> None:
        # A log already holding this very state gets no duplicate line.
        if not bar._finished and (
            bar._display.live or bar._shown != (bar._seen, bar._store.snapshot())
        ):
            self.render(bar, bar._seen, bar._clock(), True)

    def format_line(self, bar: Progbar[Any], current: float, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    live: bool, color: bool) -> tuple[str, int]:
        target = bar._target
        if target:
            # The fast path: one string, no segments, no Snapshot (see _format).
            eta = None
            if not final and per_step > 0:
                eta = _eta_up(per_step, target - current)
            fast = fmt.format_default_fast(
                current, target, now - bar._start, per_step, metrics, final,
                bar._unit, eta, bar._width, bar._glyphs, color, max_cells, live, bar._cache,
            )
            if fast is not None:
                return fast
        snap = self.snapshot(bar, current, now, per_step, final, False, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_default(
                snap, bar._width, bar._glyphs, limit, with_bar=with_bar and live
            ),
            color, max_cells, final, record=True,
        )

    def format_summary(self, bar: Progbar[Any], current: float, now: float, per_step: float
                       ) -> str:
        snap = self.snapshot(bar, current, now, per_step, True, False)
        segs = fmt.format_default(snap, 0, bar._glyphs, None, with_bar=False)
        return fmt.join_segments(segs, False)


STYLES: dict[str, type[Style]] = {
    "default": DefaultStyle,
    "keras": KerasStyle,
    "keras2": Keras2Style,
    "tf_keras": TfKerasStyle,
}


def make_style(name: str, start: float) -> Style:
    try:
        cls = STYLES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown style {name!r}; choose one of {', '.join(STYLES)}") from None
    return cls(start)
