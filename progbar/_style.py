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

The bar (``_progbar.Progbar``) holds the count, the metrics and the display; it asks
its style and never tests a style's name.  The style's view of the bar is narrow and
read-only: what a call passes it (count, target, time, metrics, width left), plus what
it was given at its start (start time, live or not, bar width, unit).  It answers with
decisions (:class:`Draw`) and text; it writes no state of the bar's and touches no
stream.  What it owns is its own: the throttle mark, the time estimate, the glyphs.
"""

from __future__ import annotations

import math

from . import _format as fmt
from ._estimate import LearnedPace, MeanAfterFirstPace, MeanPace, Pace, eta_up
from ._run import Phase, RunEstimate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

__all__ = ["STYLES", "DefaultStyle", "Draw", "Keras2Style", "KerasStyle", "Style", "TfKerasStyle",
           "make_style"]

LINE = "line"  # the bar's line (verbose=1)
SUMMARY = "summary"  # the one line of a verbose=2 bar

# A style's answer to "draw now?": (what, seconds per step, final), or None.
Draw = tuple[str, float, bool]


class Style:
    """The interface every style implements (see the module docstring)."""

    name = ""
    default_width = 30
    keras_finalize = False  # Keras 3: a finalizing update replaces averaged metrics
    keras_framing = False  # lines framed as Keras frames them (``\\b``...``\\r``, ``\\n``)
    notebook_html = False  # drawn as an HTML bar in a Jupyter kernel

    places_label = False  # the style puts the bar's label in its line itself
    own_line = False  # its line is ours to lay out (unit_scale=, format=), not Keras's
    pace_class: type[Pace] = MeanPace  # how it estimates seconds per step (_estimate)
    run: RunEstimate | None = None  # the whole run's estimate, if it keeps one (_run)
    phase: Phase | None = None  # the link to an outer bar's run, if it is an inner bar

    def __init__(self, start: float, live: bool, width: int | None, unit: str,
                 initial: float = 0, scale: int = 0, template: str | None = None) -> None:
        self.start = start  # the bar's start time
        self.initial = initial  # the count the bar started at: rates count from there
        self.live = live  # redrawn in place (else a log)
        self.width = width if width is not None else self.default_width  # bar cells
        self.unit = unit  # what a step is called, one clean line
        self.scale = scale  # unit_scale's divisor, or 0
        self.glyphs = fmt.ASCII
        self.last_update = self.first_update_mark()  # the throttle's mark
        # ``(count, seconds)`` while the bar is stalled at that count (see set_stall):
        # a line of that count shows the stall, not the ETA.
        self.stall: tuple[float, float] | None = None
        self.pace = self.pace_class(start, initial)

    # -- set-up -----------------------------------------------------------------

    def interval(self, log_interval: Callable[[], float]) -> float:
        """The render interval when the caller gives none."""
        return 0.05

    def first_update_mark(self) -> float:
        """The throttle's starting mark.  Keras starts it at 0, not at the start
        time, so that its first render happens exactly when Keras's does."""
        return 0.0

    def reads_clock_lazily(self, injected_clock: bool) -> bool:
        """May ``update()`` skip clock reads while calls come fast?  Not where a
        caller (Keras, a test) may count on one read per call."""
        return False

    def pick_glyphs(self, can_encode: Callable[[str], bool], color: bool) -> None:
        """Choose the bar glyphs the stream can encode."""
        self.glyphs = fmt.UNICODE if can_encode("━") else fmt.KERAS_ASCII

    def use_ascii(self) -> None:
        """The stream turned out not to encode the glyphs: ASCII from now on."""
        self.glyphs = fmt.ASCII

    @property
    def finished(self) -> bool:
        """Has the final line been drawn?  (The keras styles draw each finalizing call,
        as Keras does.)"""
        return False

    def reopen(self) -> None:
        """The target was raised past the count: the bar is not finished any more.
        (The keras styles keep no finished state: Keras draws on as it did.)"""

    def restart(self, start: float) -> None:
        """``Progbar.reset()``: the estimate and the throttle start over at ``start``."""
        self.start = start
        self.last_update = self.first_update_mark()
        self.pace.restart(start)

    def set_stall(self, stall: tuple[float, float] | None) -> None:
        """``(count, seconds)`` while the bar is stalled at that count, else None (the
        bar's stall watch tells it): a line of that count shows the stall."""
        self.stall = stall

    def draw_now(self) -> None:
        """The next ``advance`` draws, whatever the interval (``Progbar.refresh``)."""
        self.last_update = -math.inf

    # -- time, throttle, drawing -----------------------------------------------------

    def per_step(self, current: float, now: float) -> float:
        """Seconds per step as of ``now`` (the style's pace, see _estimate)."""
        return self.pace.per_step(current, now)

    def estimate(self, current: float, target: float, now: float) -> float | None:
        """Seconds until ``target`` as of ``now``, leaving the estimate as it is (what
        the next frame would show; None: cannot tell)."""
        return self.pace.remaining(current, target, now)

    def nest(self, run: RunEstimate, label: str | None, now: float) -> None:
        """The bar is an inner bar of the outer bar whose run is ``run`` (see _run)."""

    def observe(self, current: float, now: float) -> None:
        """A clock read at ``current`` that may draw nothing (a silent outer bar's)."""

    def end(self, now: float) -> None:
        """The bar ended (closed, or finalized)."""

    def advance(self, current: float, target: float | None, now: float, finalize: bool,
                verbose: int, interval: float) -> Draw | None:
        """Called on every update with the clock read: what to draw now, if anything."""
        raise NotImplementedError

    def at_close(self, unchanged: Callable[[], bool]) -> bool:
        """``close()``: should a final line be drawn (through ``advance`` with
        ``finalize``)?  ``unchanged()``: does the last line drawn show this very state
        (asked only if needed: it reads tensor metrics back to the host)?"""
        return False

    def format_line(
        self,
        current: float,
        target: float | None,
        now: float,
        per_step: float,
        final: bool,
        metrics: list[tuple[str, fmt.Shown]],
        max_cells: int | None,
        color: bool,
        label: str | None,
    ) -> tuple[str, int]:
        """The line and its width in cells, within ``max_cells`` (None: unfitted)
        except for a final line, which follows the final-line rule.  ``label``: the
        bar's label (it goes before the line unless ``places_label``; a labelled
        line is not Keras's byte-exact one)."""
        raise NotImplementedError

    def format_summary(self, current: float, target: float | None, now: float,
                       per_step: float, metrics: list[tuple[str, fmt.Shown]],
                       label: str | None = None) -> str:
        raise NotImplementedError

    # -- shared helpers ---------------------------------------------------------

    def snapshot(self, current: float, target: float | None, now: float, per_step: float,
                 final: bool, exact: bool, metrics: list[tuple[str, fmt.Shown]]
                 ) -> fmt.Snapshot:
        eta = finish = None
        if target is not None and not final:
            eta = self._eta(current, target, now, per_step, exact)
            if eta is not None and self.shows_finish(eta):
                wall = fmt.wall_clock()
                finish = fmt.format_finish(wall + eta, wall)
        stall = self.stall
        return fmt.Snapshot(
            current=current,
            target=target,
            elapsed=now - self.start,
            per_step=per_step,
            metrics=metrics,
            final=final,
            unit=self.unit,
            eta=eta,
            scale=self.scale,
            stalled=stall[1] if stall is not None and stall[0] == current else None,
            finish=finish,
        )


    def shows_finish(self, eta: float) -> bool:
        """Does a line with this ETA show when the bar ends (``done ~14:32``)?"""
        return False

    def _eta(self, current: float, target: float, now: float, per_step: float,
             exact: bool) -> float | None:
        """The ETA a line shows (Keras's: the pace times the steps left)."""
        if not per_step > 0:
            return None
        remaining = target - current
        return max(per_step * remaining, 0.0) if exact else eta_up(per_step, remaining)


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
    pace_class = MeanAfterFirstPace

    def __init__(self, start: float, live: bool, width: int | None, unit: str,
                 initial: float = 0, scale: int = 0, template: str | None = None) -> None:
        super().__init__(start, live, width, unit, initial)

    def use_ascii(self) -> None:
        self.glyphs = fmt.KERAS_ASCII

    def advance(self, current: float, target: float | None, now: float, finalize: bool,
                verbose: int, interval: float) -> Draw | None:
        # Keras estimates on every call, drawn or not (it must see step one).
        per_step = self.per_step(current, now)
        draw: Draw | None = None
        if verbose == 1:
            if now - self.last_update < interval and not finalize:
                return None
            draw = (LINE, per_step, finalize)
        elif finalize and target:
            draw = (SUMMARY, per_step, True)
        self.last_update = now
        return draw

    def format_line(self, current: float, target: float | None, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    color: bool, label: str | None) -> tuple[str, int]:
        exact = max_cells is None and label is None  # Keras's own bytes
        snap = self.snapshot(current, target, now, per_step, final, exact, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_keras(
                snap, self.width, self.glyphs, limit, with_bar=with_bar, eta_up=not exact
            ),
            color, max_cells, final, record=not exact,
        )

    def format_summary(self, current: float, target: float | None, now: float,
                       per_step: float, metrics: list[tuple[str, fmt.Shown]],
                       label: str | None = None) -> str:
        return fmt.format_keras_summary(
            self.snapshot(current, target, now, per_step, True, True, metrics))


# --------------------------------------------------------------------------- keras 2


class Keras2Style(Style):
    """The classic Keras 2 ``Progbar`` (``[=====>....]``), byte for byte."""

    name = "keras2"
    default_width = 30
    keras_framing = True
    def pick_glyphs(self, can_encode: Callable[[str], bool], color: bool) -> None:
        self.glyphs = fmt.ASCII  # Keras 2's bar is ASCII whatever the stream

    def advance(self, current: float, target: float | None, now: float, finalize: bool,
                verbose: int, interval: float) -> Draw | None:
        draw: Draw | None = None
        if verbose == 1:
            if (
                now - self.last_update < interval
                and target is not None
                and current < target
                and not finalize
            ):
                return None
            draw = (LINE, self.per_step(current, now), finalize)
        elif target is None or finalize:
            draw = (SUMMARY, 0.0, True)
        self.last_update = now
        return draw

    def format_line(self, current: float, target: float | None, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    color: bool, label: str | None) -> tuple[str, int]:
        exact = max_cells is None and label is None
        snap = self.snapshot(current, target, now, per_step, final, exact, metrics)
        return _fit(
            lambda limit, with_bar: self.line_segments(snap, limit, with_bar, not exact),
            color, max_cells, final, record=not exact,
        )

    def line_segments(self, snap: fmt.Snapshot, max_cells: int | None, with_bar: bool,
                      eta_up: bool) -> list[fmt.Segment]:
        """The line's text (tf_keras's differs in its time per step only)."""
        return fmt.format_keras2(snap, self.width, max_cells, with_bar, eta_up)

    def format_summary(self, current: float, target: float | None, now: float,
                       per_step: float, metrics: list[tuple[str, fmt.Shown]],
                       label: str | None = None) -> str:
        return fmt.format_keras2_summary(
            self.snapshot(current, target, now, per_step, True, True, metrics))


# --------------------------------------------------------------------------- tf_keras


class TfKerasStyle(Keras2Style):
    """tf_keras 2.21's ``tf_keras.utils.Progbar`` (Keras 2 as TensorFlow ships it),
    byte for byte: Keras 2's ``[=====>....]`` line, throttled whatever the target;
    Keras 3's time estimate (the first step left out), made at drawn lines only; a
    verbose=2 line per finalizing update, ending ``- 25ms/epoch - 3ms/step``.
    Averaged metrics stay averaged at finalize."""

    name = "tf_keras"
    # Keras 3's estimate; tf_keras asks only when it draws a line, so a step one that
    # was not drawn is not left out.
    pace_class = MeanAfterFirstPace

    def __init__(self, start: float, live: bool, width: int | None, unit: str,
                 initial: float = 0, scale: int = 0, template: str | None = None) -> None:
        super().__init__(start, live, width, unit, initial)
        self._epoch_start = start  # tf_keras's epoch clock, for the verbose=2 times
        self._epoch_end: float | None = None
        self._epoch_time: float | None = None

    def restart(self, start: float) -> None:
        super().restart(start)
        self._epoch_start, self._epoch_end, self._epoch_time = start, None, None

    def advance(self, current: float, target: float | None, now: float, finalize: bool,
                verbose: int, interval: float) -> Draw | None:
        draw: Draw | None = None
        if current == target:
            self._epoch_end = now  # the epoch's time ends where the count hit the target
        if verbose == 1:
            if now - self.last_update < interval and not finalize:
                return None
            draw = (LINE, self.per_step(current, now), finalize)
        elif finalize:
            self._epoch_time = None
            # tf_keras tests the time's truth (a clock reading 0.0 counts as none)
            if self._epoch_end and target:
                self._epoch_time = self._epoch_end - self._epoch_start
                self._epoch_start = now
                self._epoch_end = None
            draw = (SUMMARY, 0.0, True)
        self.last_update = now
        return draw

    def line_segments(self, snap: fmt.Snapshot, max_cells: int | None, with_bar: bool,
                      eta_up: bool) -> list[fmt.Segment]:
        return fmt.format_tf_keras(snap, self.width, max_cells, with_bar, eta_up)

    def format_summary(self, current: float, target: float | None, now: float,
                       per_step: float, metrics: list[tuple[str, fmt.Shown]],
                       label: str | None = None) -> str:
        snap = self.snapshot(current, target, now, per_step, True, True, metrics)
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
    own_line = True
    pace_class = LearnedPace

    def __init__(self, start: float, live: bool, width: int | None, unit: str,
                 initial: float = 0, scale: int = 0, template: str | None = None) -> None:
        super().__init__(start, live, width, unit, initial, scale)
        self.pace: LearnedPace
        self.run: RunEstimate = RunEstimate(start, initial)  # the run's, once inner bars start
        self.template = template  # format=: the line's layout, or None for ours
        self.places_label = template is not None
        self._finished = False  # the final line (or summary) is drawn
        self._summarized = False

    def interval(self, log_interval: Callable[[], float]) -> float:
        return 0.05 if self.live else log_interval()

    def first_update_mark(self) -> float:
        # live: the first update draws; a log waits one interval for its first line
        return -math.inf if self.live else self.start

    def reads_clock_lazily(self, injected_clock: bool) -> bool:
        return not injected_clock

    def pick_glyphs(self, can_encode: Callable[[str], bool], color: bool) -> None:
        if not can_encode("━╸─…"):
            self.glyphs = fmt.ASCII
        else:
            self.glyphs = fmt.UNICODE if color else fmt.UNICODE_PLAIN

    def shows_finish(self, eta: float) -> bool:
        # a log's line, read later, when the end is far; a template that asks
        return ((not self.live and eta > fmt.FINISH_AFTER)
                or (self.template is not None and "{finish" in self.template))

    def nest(self, run: RunEstimate, label: str | None, now: float) -> None:
        self.phase = phase = Phase(run, label, now)
        self.pace.learned = phase.learned
        self.pace.restart(self.start)

    def observe(self, current: float, now: float) -> None:
        # Every clock read is a reading of the pace, drawn or not (see _estimate).
        self.pace.observe(current, now)
        if self.run.used:
            self.run.step(current, now)

    def end(self, now: float) -> None:
        if self.phase is not None:
            self.phase.end(now, self.pace.lesson())

    def estimate(self, current: float, target: float, now: float) -> float | None:
        run = self.run
        if run.used:
            left = run.remaining(current, target, now)
            if left is not None:
                return left
        return self.pace.remaining(current, target, now)

    def _eta(self, current: float, target: float, now: float, per_step: float,
             exact: bool) -> float | None:
        left = self.estimate(current, target, now)
        if left is None or current >= target:
            return left
        return float(max(math.ceil(left), 1))  # never 0 while steps remain

    def advance(self, current: float, target: float | None, now: float, finalize: bool,
                verbose: int, interval: float) -> Draw | None:
        self.observe(current, now)
        if self.phase is not None and target is not None:
            if finalize:
                self.end(now)
            else:
                self.phase.report(now, self.estimate(current, target, now))
        if not finalize and now - self.last_update < interval:
            return None
        self.last_update = now
        per_step = self.pace.peek(current, now)
        if finalize:
            self._finished = True
            if current > self.initial:  # the whole run's mean
                per_step = (now - self.start) / (current - self.initial)
        if verbose == 2:
            if finalize and not self._summarized:
                self._summarized = True
                return (SUMMARY, per_step, True)
            return None
        return (LINE, per_step, finalize)

    @property
    def finished(self) -> bool:
        return self._finished

    def restart(self, start: float) -> None:
        super().restart(start)
        self.run = RunEstimate(start, self.initial)
        self._finished = self._summarized = False

    def reopen(self) -> None:
        if self._finished:
            self._finished = self._summarized = False
            self.draw_now()

    def at_close(self, unchanged: Callable[[], bool]) -> bool:
        # A log already holding this very state gets no duplicate line.
        return not self._finished and (self.live or not unchanged())

    def format_line(self, current: float, target: float | None, now: float, per_step: float,
                    final: bool, metrics: list[tuple[str, fmt.Shown]], max_cells: int | None,
                    color: bool, label: str | None) -> tuple[str, int]:
        if self.template is not None:
            snap = self.snapshot(current, target, now, per_step, final, False, metrics)
            return fmt.format_template(snap, self.template, self.width, self.glyphs,
                                       max_cells, label, color)
        snap = self.snapshot(current, target, now, per_step, final, False, metrics)
        return _fit(
            lambda limit, with_bar: fmt.format_default(
                snap, self.width, self.glyphs, limit, with_bar=with_bar and self.live,
                log=not self.live),
            color, max_cells, final, record=True,
        )

    def format_summary(self, current: float, target: float | None, now: float,
                       per_step: float, metrics: list[tuple[str, fmt.Shown]],
                       label: str | None = None) -> str:
        snap = self.snapshot(current, target, now, per_step, True, False, metrics)
        if self.template is not None:  # format= lays out this line too (no bar glyphs)
            return fmt.format_template(snap, self.template, 0, self.glyphs, None, label,
                                       False)[0]
        segs = fmt.format_default(snap, 0, self.glyphs, None, with_bar=False)
        return fmt.join_segments(segs, False)


STYLES: dict[str, type[Style]] = {
    "default": DefaultStyle,
    "keras": KerasStyle,
    "keras2": Keras2Style,
    "tf_keras": TfKerasStyle,
}


def make_style(name: str, start: float, live: bool, width: int | None, unit: str,
               initial: float = 0, scale: int = 0, template: str | None = None) -> Style:
    """A new style object for one bar (see :class:`Style`)."""
    try:
        cls = STYLES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown style {name!r}; choose one of {', '.join(STYLES)}") from None
    return cls(start, live, width, unit, initial, scale, template)
