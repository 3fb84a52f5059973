"""``Progbar`` and ``track``: the controller.

It reads the clock, decides when to render, asks the metric store for a snapshot, the
formatter for text and the writer to show it.  It holds no formatting and no I/O of
its own.
"""

from __future__ import annotations

import math
import operator
import time

# ``threading`` and ``weakref`` cost milliseconds at ``import progbar`` (design.md,
# "Performance targets"); their C cores are what a bar needs.
from _weakref import ref as _weakref

from . import _format as fmt
from . import _run
from ._counting import Counting, FollowedCount, check_current
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
from ._stall import StallWatching
from ._style import LINE, STYLES, Style, make_style
from ._writer import (
    can_encode,
    detect_color,
    detect_dynamic,
    disabled_by_env,
    log_interval,
    notebook_display,
)

__all__ = ["Progbar", "track"]

# ``import progbar`` stays cheap (<= 5 ms, design.md, "Performance targets"):
# ``typing`` (~10 ms with what it pulls in) is for mypy only -- mypy takes any name
# TYPE_CHECKING as true -- and ``threading`` is imported when the ticker first starts.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import (
        Any,
        AsyncIterable,
        AsyncIterator,
        Callable,
        Generic,
        Iterable,
        Iterator,
        Mapping,
        TypeVar,
    )

    from ._workers.handle import Handle
    from ._writer import Stream

    T = TypeVar("T")
    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

else:
    T = None

    class Generic:
        """``Progbar[int]`` at run time without ``typing``: subscripting a subclass
        gives the class itself (as ``list[int]`` would be used in annotations)."""

        __slots__ = ()

        def __class_getitem__(cls, item):
            return cls


def _check_target(target: object) -> int | float | None:
    """A target as Keras takes it: None, an int, or a float / numpy scalar >= 0
    (``len(x) / batch_size``; the count shows its whole part, as Keras's ``%d``).
    Infinity means unknown, as tqdm takes ``total=float("inf")``."""
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
        if value == math.inf:
            return None
        if not math.isfinite(value):
            raise ValueError(
                f"target must be a finite number >= 0 or None, got {target!r}"
            ) from None
        if value.is_integer():
            value = int(value)
    if value < 0:
        raise ValueError(f"target must be >= 0 or None, got {value}")
    return int(value) if type(value) is not float else value


def _check_stall_after(stall_after: object) -> float | None:
    if stall_after is None:
        return None
    if isinstance(stall_after, bool) or not isinstance(stall_after, (int, float)) or not (
            stall_after > 0):
        raise ValueError(f"stall_after must be a number of seconds > 0 or None, "
                         f"got {stall_after!r}")
    return float(stall_after)


def _one_of(name: str, value: object, alias: str, alias_value: object) -> object:
    """``target``/``total`` and ``label``/``desc``: either name, not both."""
    if alias_value is None:
        return value
    if value is not None:
        raise TypeError(f"pass {name} or {alias} (its tqdm name), not both")
    return alias_value


class _Keep:
    """The type of :data:`KEEP`."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # reset(): "keep the target as it is"


def _check_everyday(style: type[Style], unit_scale: object, unit_divisor: object,
                    delay: object, template: object) -> None:
    """The options of everyday bars (scaled units, delay, templates)."""
    if (isinstance(unit_divisor, bool) or not isinstance(unit_divisor, (int, float))
            or not unit_divisor > 1):
        raise ValueError(f"unit_divisor must be a number > 1 (1000 or 1024), got {unit_divisor!r}")
    if (isinstance(delay, bool) or not isinstance(delay, (int, float))
            or not 0 <= delay < math.inf):
        raise ValueError(f"delay must be a number of seconds >= 0, got {delay!r}")
    if unit_scale and not style.own_line:
        raise ValueError("unit_scale applies to the default style; the keras styles print "
                         "Keras's own count")
    if template is not None:
        if not isinstance(template, str):
            raise TypeError(f"format must be a str or None, got {type(template).__name__}")
        if not style.own_line:
            raise ValueError("format= applies to the default style; the keras styles print "
                             "Keras's own line")
        fmt.check_template(template)


def _check_options(
    label: object, style: object, width: object, verbose: object, interval: object,
    clock: object, unit_name: object,
) -> None:
    """Programming errors in the options raise at once, with a clear message."""
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str or None, got {type(label).__name__}")
    if not isinstance(style, str) or style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
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


class Progbar(Counting, StallWatching, Generic[T]):
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
        style: ``"default"``, ``"keras"`` (Keras 3's bytes), ``"keras2"`` (the classic
            Keras 2 bar) or ``"tf_keras"`` (tf_keras 2.21's bytes).
        file: a text stream; None means ``sys.stdout`` looked up at each write.
        dynamic: True/False force live redraw / line mode; None detects.
        color: True/False force colour on/off; None detects.
        clock: a zero-argument callable returning seconds (default ``time.monotonic``).
        label: a short text shown before the count (``"epoch"``, ``"shard 3"``).
        leave: False makes the bar transient: its line is erased when it ends.
        total: tqdm's name for ``target``.
        desc: tqdm's name for ``label``.
        disable: True is ``verbose=0`` (tqdm's switch).
        unit_scale: show count, target and rate with SI prefixes (``1.20/3.50 GB``,
            ``45.1 MB/s``); the default style only.
        unit_divisor: 1000 (SI: kB, MB) or 1024 (binary: KiB, MiB) for ``unit_scale``.
        initial: the count the bar starts at (a resumed run); rate and ETA count only
            what this run does.
        delay: seconds before the bar first draws; a bar that ends sooner draws nothing.
        format: a template for the default style's line, from the fields ``{label}``,
            ``{count}``, ``{target}``, ``{percent}``, ``{bar}``, ``{elapsed}``,
            ``{eta}``, ``{finish}`` (local time the bar is expected to end, ``14:32``),
            ``{rate}``, ``{unit}`` and ``{metrics}``.
        stall_after: seconds without a step after which a running bar says it is
            stalled (None: ``PROGBAR_STALL_AFTER``, else max(60 s, 30 x the smoothed
            step time); ``math.inf``: never).  See docs/terminal.md.

    ``len(bar)`` is the target (``TypeError`` when it is unknown); ``bool(bar)`` is
    always True.  A target of ``float("inf")`` means unknown.
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
        disable: bool = False,
        unit_scale: bool = False,
        unit_divisor: int = 1000,
        initial: float = 0,
        delay: float = 0.0,
        format: str | None = None,
        stall_after: float | None = None,
    ) -> None:
        target = _one_of("target", target, "total", total)  # type: ignore[assignment]
        if disable:  # tqdm's switch
            verbose = 0
        label = _one_of("label", label, "desc", desc)  # type: ignore[assignment]
        _check_options(label, style, width, verbose, interval, clock, unit_name)
        _check_everyday(STYLES[style], unit_scale, unit_divisor, delay, format)
        initial = check_current(initial)
        self._stall_after = _check_stall_after(stall_after)
        self._target = _check_target(target)

        self._clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._start = self._clock()
        self._verbose = verbose
        self._label = fmt.clean_name(label) if label is not None else None
        self._start_counting(MetricStore(stateful_metrics, stateless_metrics), initial)

        # The display: one per stream, shared with the other bars drawing on it.
        self._file = file  # as given (None: sys.stdout at each write); child bars reuse it
        self._drain: Callable[[], None] | None = None  # see set_drain_hook
        self._leave = bool(leave)
        self._dynamic = dynamic
        live = self._open_display(STYLES[style])
        self._color = detect_color(file, color)
        # The style: throttle rule, time estimate, finalize rule and formatter.
        self._style = make_style(
            style, self._start, live, width, fmt.clean_name(unit_name), initial,
            int(unit_divisor) if unit_scale else 0, format)
        self._delay = float(delay)  # nothing is drawn before start + delay
        self._quiet_until = self._start + self._delay if self._delay else None
        self._keras_finalize = self._style.keras_finalize  # read on the hot path
        self._nest()  # an inner bar of an open bar of this thread? (_run)
        stream = self._display.stream
        self._style.pick_glyphs(lambda text: can_encode(stream, text), self._color)

        if interval is None:
            interval = self._style.interval(log_interval)
            if isinstance(self._display, NotebookDisplay):
                interval = NotebookDisplay.interval
        self._interval = float(interval)

        self._closed = False
        self._ended = False  # close() has drawn its last line: no bar is drawn again
        self._iterable: Iterable[T] | AsyncIterable[T] | None = None  # track()'s source
        self._iterated = False
        # update() reads the clock once per this many calls where the style allows
        # it (0: every call -- the keras styles, and any injected clock, whose reads
        # a test or a caller may count on).
        self._clock_every = 1 if self._style.reads_clock_lazily(clock is not None) else 0
        self._clock_t = self._start
        # A ticker thread renders from real time; with an injected clock the caller
        # owns time, so renders happen only on the caller's thread (deterministic).
        self._may_tick = clock is None
        self._start_stall_watch()

    # ------------------------------------------------------------------ properties

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
            if target is None or target > self.current:
                # A bar that reached its old target goes on: later updates are drawn
                # and a new final line comes at the new target or at close().
                self._style.reopen()
            self._set_lim(self._seen, 0)  # the next call takes the slow path

    def __len__(self) -> int:
        """The target (as ``len(tqdm(x))``); ``TypeError`` when it is unknown."""
        target = self._target
        if target is None:
            raise TypeError("len() of a Progbar whose target is unknown")
        return int(target)

    def __bool__(self) -> bool:
        return True  # a bar is a bar, whatever its length

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    @property
    def live(self) -> bool:
        """True while the bar is redrawn in place on a terminal (or ``dynamic=True``):
        text for its screen should go through :meth:`write`."""
        display = self._display
        return display.live and not self._display_dead() and not self._closed

    @property
    def stream(self) -> object:
        """The stream the bar writes to now (``sys.stdout`` when ``file`` is None)."""
        return self._display.stream

    @property
    def style(self) -> str:
        """The style's name: ``"default"``, ``"keras"``, ``"keras2"`` or ``"tf_keras"``."""
        return self._style.name

    @property
    def label(self) -> str | None:
        """The text shown before the count (None: none).  Settable mid-run (tqdm's
        ``set_description``): the next line shows the new label."""
        return self._label

    @label.setter
    def label(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"label must be a str or None, got {type(value).__name__}")
        with self._lock:
            self._label = fmt.clean_name(value) if value is not None else None

    def reset(self, target: float | None | _Keep = KEEP) -> None:
        """Start over, for reuse (a new epoch): the count back to ``initial``, the
        metrics cleared, the clock restarted, and ``target`` replaced if given.  A
        live line not yet finished is drawn over; a closed bar opens again."""
        new_target = self._target if target is KEEP else _check_target(target)
        with self._lock:
            if self._loop is not None:
                raise RuntimeError("reset() while this bar's own track() loop runs "
                                   "(or while it follows a count)")
            self._stop()
            self._target = new_target
            self._store.clear()
            start = self._start = self._clock_t = self._clock()
            self._style.restart(start)
            self._quiet_until = start + self._delay if self._delay else None
            self._seen = self._log_mark = self._initial
            self._shown = self._tick_mark = None
            self._started = False
            if self._clock_every:
                self._clock_every = 1
            if self._closed:  # reused after close(): take a place on the stream again
                self._closed = self._ended = False
                self._open_display(type(self._style))
            self._set_lim(self._seen, 0)  # the next call takes the slow path
            self._start_stall_watch()

    @property
    def verbose(self) -> int:
        """0 silent, 1 a live bar, 2 one line when the bar finishes (Keras's meaning)."""
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

    def add_stateful_metrics(self, names: Iterable[str]) -> None:
        """Show the metrics ``names`` as passed from now on, as if they had been in
        ``stateful_metrics`` (Keras 2's ``_update_stateful_metrics``): for an adapter
        that learns which of its values are running means already only after the
        bar has started (Keras 2 knows a model's metrics after its first step)."""
        with self._lock:
            self._store.add_stateful(names)

    def refresh(self) -> None:
        """Draw the bar now, with its current count and metrics, whatever the render
        interval (before a pause: an evaluation, a checkpoint).  Not a final line."""
        with self._lock:
            if self._verbose != 1 or self._closed:
                return
            self._style.draw_now()
            try:
                self._advance(self.current, self._clock(), False)
            except Exception:
                self._display_failed()

    def write(self, message: object) -> None:
        """Print a line above the bar; the bar is redrawn below it."""
        with self._lock:
            if self._verbose == 0:
                return
            try:
                self._display.message(str(message))
            except Exception:
                self._display_failed()

    def close(self) -> None:
        """Finish the bar's line (idempotent)."""
        loop = self._loop
        if type(loop) is FollowedCount:
            self._unfollow(loop)
        drain = self._drain  # worker handles: take in what workers sent (see _workers.handle)
        if drain is not None:
            try:
                drain()  # before the lock: the listener thread merges under it
            except BaseException:  # Ctrl-C while it waits for workers: end the line all the same
                self._drain = None
                self.close()
                raise
        self._stop()
        _run.leave(self)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._style.phase is not None:  # an inner bar: its phase ends now
                self._style.end(self._clock())
            if self._verbose == 0:
                return
            try:
                # The default style draws a final line; the keras styles leave theirs.
                seen = self._seen
                if self._style.at_close(lambda: self._shown == (seen, self._store.snapshot())):
                    self._advance(seen, self._clock(), True)
                self._display.finish(self._row)
            except Exception:
                self._display_failed()
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
        from ._aiter import aiterate

        return aiterate(
            self, self._take_iterable(), self._enter_loop, self._leave_loop  # type: ignore[arg-type]
        )

    @property
    def file(self) -> object:
        """The ``file`` the bar was given (None: ``sys.stdout`` at each write); a bar
        made for this one's workers takes it to join the same block."""
        return self._file

    @property
    def stateful_names(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """``(stateful, stateless)`` names as the metric store reads them (one is
        None): what a worker needs to accumulate its metrics the same way."""
        return self._store.names()

    def set_drain_hook(self, drain: Callable[[], None] | None) -> None:
        """Have ``close()`` call ``drain()`` first (outside the bar's lock): worker
        handles take in what workers still hold before the final line."""
        self._drain = drain

    def handle(self) -> Handle:
        """A picklable :class:`progbar.Handle` that reports into this bar from worker
        processes or threads (``add``, ``log``, ``write``, child bars)."""
        from ._workers.listener import handle_for

        return handle_for(self)

    def merge(
        self,
        n: float,
        totals: Mapping[str, tuple[Any, float]] | None = None,
        last: Mapping[str, Any] | None = None,
    ) -> None:
        """Take in a batch from a worker: ``n`` more steps, averaged metrics as raw
        ``(sum of v*w, sum of w)`` added to this bar's own (an exact merge), and
        stateful metrics replaced by the last value received.  What worker handles
        (``progbar.Handle``, ``progbar.ray``) deliver through."""
        with self._lock:
            if totals or last:
                self._store.merge(totals or {}, last or {})
            self.add(n)

    # ------------------------------------------------------------------ internals

    def use_ascii(self) -> None:
        """Draw with ASCII glyphs from now on (the display found that its stream
        cannot encode the others)."""
        self._style.use_ascii()

    def _nest(self) -> None:
        """An inner bar of an open bar of this thread, if one counts (see _run)."""
        for outer in _run.enter(self):
            if outer._holds_inner():
                run = outer._style.run
                if run is not None:
                    outer._adopt()
                    self._style.nest(run, self._label, self._start)
                return

    def _holds_inner(self) -> bool:
        """May a bar starting now be an inner bar of this one?  Yes once it counts
        (its loop runs, or it has been updated, to 0 even) and while it is short of its
        target (see _run): a bar merely made beside it is not inside it."""
        target = self._target
        if target is None or self._closed:
            return False
        return self._started and self.current < target

    def _adopt(self) -> None:
        """An inner bar started under this one (``_run``): a silent bar reads the clock
        at each step from now on, to time the run's steps."""
        with self._lock:
            self._outer = True
            self._set_lim(self._seen, 0)

    def _advance(self, current: float | int, now: float, finalize: bool) -> None:
        """Draw now or not: the style's throttle rule decides (see _style)."""
        if current != self._moved_count:  # when the count moved, for the stall watch
            self._moved_count = current
            self._moved_at = now
        if finalize and self._style.finished and self._shown == (
                current, self._store.snapshot()):
            return  # the final line is a record: the same one is not written twice
        draw = self._style.advance(
            current, self._target, now, finalize, self._verbose, self._interval)
        if draw is not None:
            quiet_until = self._quiet_until
            if quiet_until is not None:
                if now < quiet_until:
                    return  # delay=: not yet (and a bar ending now draws nothing)
                self._quiet_until = None
            what, per_step, final = draw
            if what == LINE:
                self._show(current, now, per_step, final)
            else:
                self._summary(current, now, per_step)

    def _open_display(self, style_class: type[Style]) -> bool:
        """Take this bar's place on its stream's display; True if it is live."""
        verbose = self._verbose
        file = self._file
        self._display: Display
        live = False
        if verbose == 0 or disabled_by_env() or not is_main_process():
            self._display = NullDisplay()
        else:
            live = detect_dynamic(file, self._dynamic)
            if live and style_class.notebook_html and notebook_display(file):
                self._display = display_for(NotebookDisplay, file)
            else:
                self._display = display_for(LiveDisplay if live else LineDisplay, file)
        self._row = Row(style_class.keras_framing, self._leave, _weakref(self))
        if verbose == 1:
            self._display.join(self._row)  # its place in the block, in starting order
        return live

    def _labelled(self, line: str, cells: int, max_cells: int | None) -> tuple[str, int]:
        """``label`` + a space before the line (cut to a third of the width at most)."""
        label = self._label
        if label is None or self._style.places_label:
            return line, cells
        if max_cells is not None and fmt.cell_width(label) > max(max_cells // 3, 1):
            label = fmt.truncate_cells(label, max(max_cells // 3 - 1, 0)) + "…"
        head = label + " "
        return head + line, cells + fmt.cell_width(head)

    def _show(self, current: float | int, now: float, per_step: float, final: bool) -> None:
        """Format the line (the style) and hand it to the display."""
        self._step_time = per_step  # (the stall watch's pace)
        display = self._display
        if self._display_dead() or self._ended:  # after close() a redraw would reopen the line
            return
        columns = display.columns()
        max_cells = columns - 1 if columns else None
        room = max_cells
        if self._label is not None and max_cells is not None:
            room = max_cells - self._labelled("", 0, max_cells)[1]  # 0 if the style places it
        color = self._color and (display.live or self._style.keras_framing)
        metrics = self._store.snapshot()
        self._shown = (current, metrics)
        line, cells = self._style.format_line(
            current, self._target, now, per_step, final, metrics, room, color, self._label)
        line, cells = self._labelled(line, cells, max_cells)
        target = self._target
        self._row.fraction = float(current) / target if target else None
        if self._style.stall is not None:  # a step ends a stall: the tab goes on at once
            self._row.stalled = self._style.stall[0] == current
        display.draw(self._row, line, cells, final)

    def _summary(self, current: float | int, now: float, per_step: float) -> None:
        """The one line of a verbose=2 bar."""
        text = self._style.format_summary(
            current, self._target, now, per_step, self._store.snapshot(), self._label)
        self._display.summary(self._labelled(text, 0, None)[0])


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
