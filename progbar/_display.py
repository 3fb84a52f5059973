"""Displays: one object per stream, shared by every bar drawing on it.

A bar does not write to its stream itself; it hands each rendered line to its
stream's display, through its :class:`Row`.  The display owns the stream, its lock
and what is on the screen:

* :class:`LiveDisplay` -- a terminal (or ``dynamic=True``).  One bar is one line
  redrawn in place (``\\r``, or Keras's ``\\b``...``\\r`` for the keras styles, byte
  for byte).  When a second bar starts while one is live, the display becomes a
  **block**: one line per live bar in the order they started, redrawn as one write
  per frame (cursor up over the lines drawn last time, each line fitted to the
  terminal, erase below).  A bar that finishes prints its final line *above* the
  block (if it ``leave``\\s), and the block closes up; messages land above it too;
  the block never grows past the terminal's height (``… +N more``).
* :class:`LineDisplay` -- a pipe, a file, CI: each bar writes its own lines.
* :class:`NotebookDisplay` -- a Jupyter kernel: one HTML output per block, updated in
  place; finished bars and messages stay as rows above the live ones.
* :class:`NullDisplay` -- nothing (verbose=0, ``PROGBAR_DISABLE``, rank != 0).

A live display on a terminal that shows progress in its tab or taskbar also sends it
the block's progress (OSC 9;4, see :meth:`LiveDisplay.send_progress`), and clears it
when the block's last bar ends and at interpreter exit.

:func:`display_for` gives the display of a stream, making one when the stream has
none with a live bar; a display whose rows are all gone is forgotten, so the next
bar starts afresh.
"""

from __future__ import annotations

import os
from _thread import RLock, allocate_lock

from ._format import ansi_cells, cell_width, truncate_ansi
from ._writer import StreamOutput, forks, padding, terminal_progress, terminal_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    import weakref
    from typing import Any

    from ._writer import Stream

__all__ = [
    "Display",
    "LineDisplay",
    "LiveDisplay",
    "NotebookDisplay",
    "NullDisplay",
    "Row",
    "display_for",
    "newest_live_display",
]


class Row:
    """One bar's place on its display: the line it drew last and how to frame it."""

    __slots__ = ("keras", "leave", "line", "cells", "prev", "fraction", "stalled", "_bar")

    def __init__(
        self,
        keras_framing: bool,
        leave: bool,
        bar: weakref.ref[Any] | None = None,
    ) -> None:
        self.keras = keras_framing  # framed as Keras frames its lines (\b...\r, \n first)
        self.leave = leave  # keep the final line (False: a transient bar)
        self.line: str | None = None  # the text last drawn, None before the first draw
        self.cells = 0
        self.prev = 0  # keras framing: the width of this bar's previous line
        self.fraction: float | None = None  # share of the target done (None: no target)
        self.stalled = False  # the bar's stall watch says it is stalled (see _stall)
        self._bar = bar  # a weak reference: a forgotten bar drops out of the block

    def alive(self) -> bool:
        return self._bar is None or self._bar() is not None

    def bar(self) -> Any:
        """The bar this row is the place of, or None (gone, or none was given)."""
        return self._bar() if self._bar is not None else None

    def to_ascii(self) -> None:
        """The stream cannot encode the bar's glyphs: its bar draws in ASCII from now."""
        bar = self._bar() if self._bar is not None else None
        if bar is not None:
            bar.use_ascii()


def _longest(text: str) -> int:
    return max((cell_width(part) for part in text.split("\n")), default=0)


class Display(StreamOutput):
    """The interface every display implements; rows join in the order bars start."""

    live = False  # redrawn in place: text for this screen should go through message()

    def __init__(self, file: Stream | None) -> None:
        super().__init__(file)
        self.lock = RLock()
        self.rows: list[Row] = []
        self.on_encoding_error = self._to_ascii
        self.scope = self.current_scope()

    @staticmethod
    def current_scope() -> object:
        """Bars join a display only within one scope (a notebook cell; else one)."""
        return None

    def _to_ascii(self) -> None:
        for row in list(self.rows):
            row.to_ascii()

    def join(self, row: Row) -> None:
        with self.lock:
            self.rows.append(row)

    def after_fork(self) -> None:
        """In a child after ``fork()``: a fresh lock (a thread of the parent's, the
        ticker say, may have held this one at the fork)."""
        self.lock = RLock()

    def draw(self, row: Row, line: str, cells: int, final: bool) -> None:
        """Show ``row``'s new line; ``final`` ends the bar (its line stays if it leaves)."""
        raise NotImplementedError

    def message(self, text: str) -> None:
        """Print ``text`` on its own line(s), above any live bar."""
        with self.lock:
            self.emit(text if text.endswith("\n") else text + "\n")

    def summary(self, line: str) -> None:
        """A verbose=2 bar's one line: a message."""
        self.message(line)

    def finish(self, row: Row) -> None:
        """``row``'s bar ends without a final line of its own (close, Ctrl-C, break):
        what it drew last stays (if it leaves) and its place is given up."""
        with self.lock:
            self._leave_row(row)

    def step_aside(self) -> None:
        """Something else is about to write to the terminal directly (a stack dump):
        leave the cursor at the start of a fresh line, below what is drawn."""

    def columns(self) -> int | None:
        return None

    def _leave_row(self, row: Row) -> bool:
        """Take ``row`` out; forget this display once no row is left."""
        try:
            self.rows.remove(row)
        except ValueError:
            return False
        if not self.rows:
            _forget(self)
        return True

    def _prune(self) -> None:
        """Rows of bars that were garbage-collected without closing drop out."""
        if not all(row.alive() for row in self.rows):
            self.rows = [row for row in self.rows if row.alive()]


class NullDisplay(Display):
    """Shows nothing; never shared."""

    def __init__(self) -> None:
        super().__init__(None)
        self.dead = True

    def join(self, row: Row) -> None:
        return

    def draw(self, row: Row, line: str, cells: int, final: bool) -> None:
        return

    def message(self, text: str) -> None:
        return

    def finish(self, row: Row) -> None:
        return


# --------------------------------------------------------------------------- line mode


class LineDisplay(Display):
    """A log file, pipe or CI console: each bar writes its own plain lines (its label
    first), no control bytes; a transient bar writes no final line.  The keras styles
    keep Keras's framing (a newline *before* each line, padding to the previous one)."""

    def __init__(self, file: Stream | None) -> None:
        super().__init__(file)
        self._open: Row | None = None  # a keras-framed row whose line awaits its newline
        self._open_on: object = None  # the stream that line is on (file=None follows stdout)

    def draw(self, row: Row, line: str, cells: int, final: bool) -> None:
        with self.lock:
            if row.keras:
                if final and not row.leave:  # transient: no final line, end the open one
                    if self._open is row:
                        self._end_open()
                else:
                    pad = padding(row.prev, cells, None)
                    self.emit("\n" + line + pad + ("\n" if final else ""))
                    self._open = None if final else row
                    self._open_on = self.stream
                row.prev = cells
            else:
                self._end_open()
                if not final or row.leave:
                    self.emit(line + "\n")
            row.line, row.cells = line, cells
            if final:
                self._leave_row(row)
            elif row not in self.rows:
                self.rows.append(row)

    def _end_open(self) -> None:
        if self._open is not None:
            if self.stream is self._open_on:  # (not a stream redirect_stdout has left)
                self.emit("\n")
            self._open = None

    def message(self, text: str) -> None:
        with self.lock:
            self._end_open()
            super().message(text)

    def finish(self, row: Row) -> None:
        with self.lock:
            if self._open is row:
                self._end_open()
            self._leave_row(row)


# --------------------------------------------------------------------------- terminal


class LiveDisplay(Display):
    """A terminal: one line per live bar, redrawn in place (see the module docstring)."""

    live = True
    _not_tty: object = None  # the last stream found not to be a terminal

    def __init__(self, file: Stream | None) -> None:
        super().__init__(file)
        self._cols: int | None = None  # the terminal's width at the last render
        self._cur: Row | None = None  # one-line mode: the row on the cursor's line
        self._prev = 0  # one-line mode, default framing: cells on the cursor's line
        self._block = False  # several rows: frames are drawn as a block
        self._drawn = 0  # block: the lines the last frame left on the screen
        # The terminal's own progress indicator (see send_progress): on for terminals
        # known to show it (decided once, by the writer); the code sent last.
        self.progress = terminal_progress(self.stream)
        self._progress_sent = 0

    # -- geometry ---------------------------------------------------------------

    def columns(self) -> int | None:
        stream = self.stream
        if stream is self._not_tty:  # asked before: not a terminal
            self._cols = None
            return None
        size = terminal_size(stream)
        if size is None:
            self._not_tty = stream
            self._cols = None
            return None
        self._cols = size[0]
        return self._cols

    def _prune(self) -> None:
        super()._prune()
        if self._cur is not None and self._cur not in self.rows:
            # its bar was dropped without a last line (garbage-collected): the next
            # bar draws over that line, as a new Keras bar would, not a block below it
            self._cur = None

    def _height(self) -> int | None:
        size = terminal_size(self.stream)
        return size[1] if size is not None else None

    # -- drawing ----------------------------------------------------------------

    def draw(self, row: Row, line: str, cells: int, final: bool) -> None:
        with self.lock:
            row.line, row.cells = line, cells
            rows = self.rows
            if len(rows) == 1 and rows[0] is row and not self._block:  # alone: the hot path
                if final:
                    self._leave_row(row)
                self._one_line(row, line, cells, final)
                if self.progress:
                    self.send_progress()
                return
            try:
                self._draw_rows(row, line, cells, final)
            finally:
                if self.progress:
                    self.send_progress()

    def _draw_rows(self, row: Row, line: str, cells: int, final: bool) -> None:
        """draw() of a row that is not alone: a block, or its first frame (under the lock)."""
        rows = self.rows
        if final:
            self._leave_row(row)
        elif row not in rows:
            rows.append(row)  # a bar drawn again after its final line
        self._prune()
        if not self._block:
            others = [r for r in self.rows if r is not row and r.line is not None]
            if not others and self._cur in (None, row):
                self._one_line(row, line, cells, final)
                return
            if os.environ.get("TERM") == "dumb":  # no cursor movement: newest wins
                self._dumb(row, line, cells, final)
                return
            self._block = True  # from here on the rows are drawn as a block
            self._drawn = 1 if self._cur is not None else 0  # the line now shown
        self._frame([line] if final and row.leave else [])

    def _one_line(self, row: Row, line: str, cells: int, final: bool) -> None:
        """One bar alone: today's single line, Keras's bytes for the keras styles."""
        if row.keras:
            head = "\b" * row.prev + "\r"
            prev = row.prev
            row.prev = cells
        else:
            head = "\r"
            prev = self._prev
            self._prev = 0 if final else cells
        if final and not row.leave:  # transient: its line goes away
            text = head + _erase(prev)
        elif "\n" in line:  # a record broken onto several lines: pad the first one
            first, rest = line.split("\n", 1)
            text = head + first + padding(prev, ansi_cells(first), self._cols) + "\n" + rest
            text += "\n" if final else ""
        else:
            text = head + line + padding(prev, cells, self._cols) + ("\n" if final else "")
        self._cur = None if final else row
        self.emit(text)

    def _dumb(self, row: Row, line: str, cells: int, final: bool) -> None:
        """TERM=dumb takes no cursor movement: the line shows the bar drawn last;
        finished bars' final lines still go above it."""
        cur = self._cur
        if final and cur is not None and cur is not row:
            if row.leave:
                self.message(line)
            return
        prev, self._prev = self._prev, (0 if final else cells)
        if final and not row.leave:
            self.emit("\r" + _erase(prev))
        else:
            self.emit("\r" + line + padding(prev, cells, self._cols) + ("\n" if final else ""))
        self._cur = None if final else row

    def _frame(self, above: list[str]) -> None:
        """One write: back to the block's first line, the lines to keep above it, then
        every live row fitted to the width, then erase what is left below."""
        self._prune()
        cols = self.columns()
        width = cols - 1 if cols else None
        lines = [
            truncate_ansi(r.line, width) if width is not None and r.cells > width else r.line
            for r in self.rows if r.line is not None
        ]
        height = self._height()
        if height is not None and len(lines) > max(height - 1, 1):
            keep = max(height - 2, 0)  # the last row says how many are hidden
            more = f"… +{len(lines) - keep} more"
            if not self._can_encode(more):
                more = f"... +{len(lines) - keep} more"
            lines = lines[:keep] + [truncate_ansi(more, width) if width is not None else more]
        out = ["\r"]
        if self._drawn > 1:
            out.append(f"\x1b[{self._drawn - 1}A")
        for text in above:
            for part in text.split("\n"):
                out.append(part + "\x1b[K\n")
        out.append("\n".join(line + "\x1b[K" for line in lines))
        out.append("\x1b[J")
        self._drawn = len(lines)
        if not lines:  # the block is gone: the cursor is on a fresh line
            self._block = False
            self._cur = None
            self._prev = 0
        self.emit("".join(out))

    def _can_encode(self, text: str) -> bool:
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            return False
        return True

    def message(self, text: str) -> None:
        with self.lock:
            lines = text.rstrip("\n")
            if self._block:
                self._frame([lines])
                return
            cur = self._cur
            if cur is None or cur.line is None:
                self.emit(lines + "\n")
            elif cur.keras:
                self.emit("\r" + lines + padding(cur.prev, _longest(lines), self._cols) + "\n")
                cur.prev = 0
                self._one_line(cur, cur.line, cur.cells, False)
            else:
                pad = padding(self._prev, _longest(lines), self._cols)
                self.emit("\r" + lines + pad + "\n" + cur.line)
                self._prev = cur.cells

    def step_aside(self) -> None:
        with self.lock:
            if self._block:
                if self._drawn:
                    self.emit("\n")
                    self._drawn = 0  # the next frame starts below, moving up over nothing
            elif self._cur is not None:
                self.emit("\n")  # the line stays; the next frame starts a fresh one
                self._cur = None
                self._prev = 0

    def finish(self, row: Row) -> None:
        with self.lock:
            try:
                if not self._block:
                    if self._cur is row:
                        self.emit("\n")  # its line stays; the cursor goes to a fresh one
                        self._cur = None
                        self._prev = 0
                    self._leave_row(row)
                    return
                if row not in self.rows:
                    return
                self._leave_row(row)
                self._frame([row.line] if row.line is not None and row.leave else [])
            finally:
                if self.progress:
                    self.send_progress()

    # -- the terminal's progress indicator ----------------------------------------

    def send_progress(self) -> None:
        """Send the block's progress to the terminal's tab or taskbar (OSC 9;4) if it
        changed (one sequence per frame at most): state 1 with the percentage of the
        first bar that has a target, 3 (indeterminate) when none has, 4 (paused)
        while a bar is stalled, 0 (cleared) once no bar is left.  The percentage is
        rounded as the default style's line rounds it."""
        code = _progress_code(self.rows)
        if code == self._progress_sent:
            return
        if code and _exiting:
            return  # cleared at exit: a daemon thread must not set it again
        if code:
            _indicating(self)  # before the write: a Ctrl-C during it still clears
        self.emit("\x1b]9;4;%d;%d\x07" % divmod(code, 1000))
        self._progress_sent = code
        if not code:
            _indicators.discard(self)

    def clear_progress(self) -> None:
        """Clear the terminal's indicator if this display set it (at exit)."""
        locked = self.lock.acquire(timeout=0.5)  # a daemon thread may hold it
        try:
            if self._progress_sent:
                self.emit("\x1b]9;4;0;0\x07")
                self._progress_sent = 0
            _indicators.discard(self)
        finally:
            if locked:
                self.lock.release()


def _progress_code(rows: list[Row]) -> int:
    """``state * 1000 + percent`` of the OSC 9;4 sequence for a block's rows."""
    if not rows:
        return 0
    stalled = False
    percent = -1
    for row in rows:
        if row.stalled:
            stalled = True
        if percent < 0 and row.fraction is not None:
            share = row.fraction
            percent = 0 if share <= 0 else 100 if share >= 1 else round(share * 100)
    if percent < 0:
        return 4000 if stalled else 3000
    return (4000 if stalled else 1000) + percent


_indicators: set[LiveDisplay] = set()  # displays whose terminal shows a progress now
_exiting: list[bool] = []  # non-empty once the exit hook has run


def _indicating(display: LiveDisplay) -> None:
    """``display`` sets the terminal's indicator: clear it at exit and on SIGTERM (the
    hooks are registered at the first sequence, so that importing progbar registers
    nothing)."""
    if not _indicators and not _exit_hook:
        import atexit

        from ._workers import signals  # SIGTERM's handler and its list of last work

        atexit.register(_clear_at_exit)
        # A scheduler's SIGTERM ends the process without atexit: clear it then too
        # (where no one else handles SIGTERM; SIGKILL and os._exit cannot be cleaned).
        signals.on_terminate(_clear_at_exit)
        signals.install(watcher=False)
        _exit_hook.append(True)
    _indicators.add(display)


_exit_hook: list[bool] = []


def _clear_at_exit() -> None:
    """Never leave a terminal's indicator set (an unclosed bar, Ctrl-C, an error)."""
    _exiting.append(True)
    for display in list(_indicators):
        display.clear_progress()


def _erase(prev: int) -> str:
    """Blank the cursor's line and return to its start."""
    if os.environ.get("TERM") == "dumb":
        return " " * prev + "\r"
    return "\x1b[K"


# --------------------------------------------------------------------------- notebook


class NotebookDisplay(Display):
    """A Jupyter kernel: one HTML output per block, updated in place.

    IPython is imported on the first draw (only a kernel gets here).  Each bar
    renders at most every :attr:`interval` seconds (the controller's throttle);
    identical frames are not sent, so the messages to the browser grow with time,
    never with steps.  Finished bars that leave, and messages written while a bar
    is live, stay as rows above the live bars.
    """

    interval = 0.1  # the controller's default render interval in a notebook

    @staticmethod
    def current_scope() -> object:
        # One output per cell: a bar left unfinished in an earlier cell (an
        # interrupted loop) must not pull this cell's bars into that cell's output.
        try:
            from IPython import get_ipython

            shell: Any = get_ipython()
            return getattr(shell, "execution_count", None)
        except Exception:
            return None

    def __init__(self, file: Stream | None) -> None:
        super().__init__(file)
        self._handle: Any = None
        self._records: list[tuple[str, str]] = []  # (html, text) kept above the bars
        self._last_html = ""
        self.updates = 0  # display updates sent (the first display not counted)

    def draw(self, row: Row, line: str, cells: int, final: bool) -> None:
        with self.lock:
            row.line, row.cells = line, cells
            if final:
                if row.leave:
                    self._records.append(self._bar_html(row, True))
                self._leave_row(row)
                self._publish()
                return
            if row not in self.rows:
                self.rows.append(row)
            self._publish()

    @staticmethod
    def _bar_html(row: Row, final: bool) -> tuple[str, str]:
        from ._html import format_html_bar

        line = row.line or ""
        return format_html_bar(line, row.fraction, final), line

    def message(self, text: str) -> None:
        with self.lock:
            if not any(r.line is not None for r in self.rows):
                super().message(text)  # no block open: plain text in the cell
                return
            from ._html import format_html_message

            text = text.rstrip("\n")
            self._records.append((format_html_message(text), text))
            self._publish()

    def finish(self, row: Row) -> None:
        with self.lock:
            keep = row in self.rows and row.line is not None and row.leave
            if keep:
                self._records.append(self._bar_html(row, True))
            if self._leave_row(row):
                self._publish()

    def _publish(self) -> None:
        if self.dead:
            return
        parts = list(self._records)
        parts += [self._bar_html(r, False) for r in self.rows if r.line is not None]
        html = "".join(h for h, _ in parts)
        if html == self._last_html:
            return
        self._last_html = html
        # A MIME bundle, not a bare HTML object: frontends that cannot show HTML
        # (jupyter console, qtconsole) show the text lines instead of an object repr.
        bundle = {"text/html": html, "text/plain": "\n".join(t for _, t in parts)}
        try:
            if self._handle is None:
                from IPython import display as ipython_display

                ipd: Any = ipython_display  # untyped
                self._handle = ipd.display(bundle, raw=True, display_id=True)
                if self._handle is None:  # not a display-capable shell after all
                    self.dead = True
            else:
                self._handle.update(bundle, raw=True)
                self.updates += 1
        except Exception:
            self.dead = True


# --------------------------------------------------------------------------- registry

# The displays of the streams that have a live bar, newest last.  Keyed by the stream
# object the bars were given (0 for ``file=None``: sys.stdout, looked up at each
# write) and the kind of display.
_displays: dict[tuple[int, type[Display]], Display] = {}
_registry_lock = allocate_lock()


def display_for(kind: type[Display], file: Stream | None) -> Display:
    """The display of ``kind`` that bars on ``file`` share (a new one if none is open,
    or the open one is dead or was made before a fork)."""
    key = (id(file) if file is not None else 0, kind)
    _check_fork()
    with _registry_lock:
        display = _displays.get(key)
        if (
            display is None
            or display.dead
            or display.fork_generation != forks()
            or display.file is not file
            or display.scope != kind.current_scope()
        ):
            display = _displays[key] = kind(file)
        return display


_registry_forks = [0]  # the fork generation the registry belongs to (see _writer.forks)


def _check_fork() -> None:
    """A forked child starts with no display of its parent's, and a fresh lock (the
    parent's may have been held by another thread at the fork)."""
    global _registry_lock
    if _registry_forks[0] != forks():
        _registry_forks[0] = forks()
        _displays.clear()
        _registry_lock = allocate_lock()


def _forget(display: Display) -> None:
    with _registry_lock:
        for key, value in list(_displays.items()):
            if value is display:
                del _displays[key]


def shown_bars() -> list[Any]:
    """Every bar that has a place on a display now (a live line, a log, a notebook
    row), display by display in the order they took it: what ``progbar watch`` shows.
    A display busy drawing this instant is left out of this reading (never waited for:
    the ticker asks)."""
    _check_fork()
    with _registry_lock:
        displays = list(_displays.values())
    bars = []
    for display in displays:
        if display.dead or display.fork_generation != forks():
            continue
        if not display.lock.acquire(blocking=False):
            continue
        try:
            rows = list(display.rows)
        finally:
            display.lock.release()
        bars += [bar for bar in (row.bar() for row in rows) if bar is not None]
    return bars


def newest_live_display() -> LiveDisplay | None:
    """The newest terminal display with a bar on it (for ``logging_redirect``)."""
    _check_fork()
    with _registry_lock:
        displays = list(_displays.values())
    for display in reversed(displays):
        if (
            isinstance(display, LiveDisplay)
            and not display.dead
            and display.fork_generation == forks()
            and any(row.alive() for row in display.rows)
        ):
            return display
    return None

