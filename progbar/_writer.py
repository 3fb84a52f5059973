"""The writer: the only code that touches a stream or the environment.

It decides, in one fixed order, whether output is live (``\\r`` redraw) or a log
(one line per render): explicit argument, then ``PROGBAR_DYNAMIC`` /
``PROGBAR_DISABLE``, then a Jupyter kernel, then ``file.isatty()``.  It knows the
terminal's width, colour rules and encoding, and it never lets a display error reach
the loop being reported on: a closed stream, a broken pipe or a full disk make the
bar go quiet.
"""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Callable

    Stream = IO[str]

__all__ = [
    "isatty",
    "KerasWriter",
    "LineWriter",
    "LiveWriter",
    "NotebookWriter",
    "NullWriter",
    "StdoutRedirect",
    "Writer",
    "can_encode",
    "detect_color",
    "detect_dynamic",
    "disabled_by_env",
    "in_notebook",
    "log_interval",
    "notebook_display",
    "show_block",
    "terminal_columns",
]

_devnull_installed = False
_devnull_lock = allocate_lock()


# --------------------------------------------------------------------------- detection


def isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:  # closed, detached, or not a file at all
        return False


def _env_flag(name: str) -> bool | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip().lower() not in ("0", "false", "no", "off")


def disabled_by_env() -> bool:
    """``PROGBAR_DISABLE=1`` silences every bar."""
    return bool(_env_flag("PROGBAR_DISABLE"))


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython is only looked at if already imported)."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    if get is None:
        return False
    try:
        shell = get()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def detect_dynamic(stream: object, explicit: bool | None) -> bool:
    """Live redraw or line mode, in the documented order (never ``"posix" in sys.modules``)."""
    if explicit is not None:
        return bool(explicit)
    env = _env_flag("PROGBAR_DYNAMIC")
    if env is not None:
        return env
    if notebook_display(stream):
        return True
    return isatty(stream if stream is not None else sys.stdout)


def detect_color(stream: object, explicit: bool | None) -> bool:
    """Colour: forced by the argument or ``FORCE_COLOR``; off for ``NO_COLOR``,
    ``TERM=dumb`` and anything that is not a terminal."""
    if explicit is not None:
        return bool(explicit)
    force = os.environ.get("FORCE_COLOR")
    if force is not None and force not in ("", "0"):
        return True
    if os.environ.get("NO_COLOR", "") != "":
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return isatty(stream if stream is not None else sys.stdout)


def log_interval() -> float:
    """Seconds between two lines of the default style in line mode (``PROGBAR_LOG_INTERVAL``)."""
    raw = os.environ.get("PROGBAR_LOG_INTERVAL")
    if raw:
        try:
            value = float(raw)
            if value >= 0:
                return value
        except ValueError:
            pass
    return 10.0


def terminal_columns(stream: object) -> int | None:
    """The width of the terminal behind ``stream``, or None when it is not one."""
    if not isatty(stream):
        return None
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        columns = os.get_terminal_size(fd).columns
    except Exception:
        return None
    return columns if columns > 0 else None


def can_encode(stream: object, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _silence_stdout_fd(stream: object) -> None:
    """After a broken pipe on stdout, point its fd at /dev/null so that the
    interpreter's final flush does not print a traceback (the Python docs' advice)."""
    global _devnull_installed
    with _devnull_lock:
        if _devnull_installed:
            return
        try:
            fd = stream.fileno()  # type: ignore[attr-defined]
            if fd not in (1, 2):
                return
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
            _devnull_installed = True
        except Exception:
            pass


# --------------------------------------------------------------------------- writers

# fork()s this process has gone through: a writer made before a fork is dead in the
# child.  An at-fork hook counts them (cheaper than a getpid() per write).
_forks = [0]


def _count_fork() -> None:
    _forks[0] += 1


_fork_hook = False


def _watch_forks() -> None:
    global _fork_hook
    if not _fork_hook and hasattr(os, "register_at_fork"):
        _fork_hook = True  # once, at the first writer: nothing happens at import
        os.register_at_fork(after_in_child=_count_fork)




class Writer:
    """Shows lines of one bar on one stream; display errors make it go quiet.

    ``file=None`` means ``sys.stdout``, looked up at every write so that
    ``contextlib.redirect_stdout`` works.
    """

    live = False
    _cols: int | None = None  # the terminal's width at the last render, if known
    _not_tty: object = None  # the last stream found not to be a terminal

    def __init__(self, file: Stream | None) -> None:
        self._file = file
        self.dead = False
        self.on_encoding_error: Callable[[], None] | None = None
        _watch_forks()
        self._forks = _forks[0]

    @property
    def stream(self) -> Any:
        stream = self._file if self._file is not None else sys.stdout
        if isinstance(stream, StdoutRedirect):  # logging_redirect(stdout=True)
            return stream.original
        return stream

    def emit(self, text: str) -> None:
        """Write and flush ``text``; never raises."""
        if self.dead or not text:
            return
        if _forks[0] != self._forks:  # a fork()ed child must not draw on our line
            self.dead = True
            return
        stream = self.stream
        if stream is None:
            return
        try:
            stream.write(text)
            stream.flush()
        except UnicodeEncodeError:
            self._encoding_fallback(stream, text)
        except BrokenPipeError:
            self.dead = True
            _silence_stdout_fd(stream)
        except Exception:  # closed stream (ValueError), full disk (OSError), ...
            self.dead = True

    def _encoding_fallback(self, stream: Any, text: str) -> None:
        if self.on_encoding_error is not None:
            self.on_encoding_error()
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            safe = text.replace("━", "=").encode(encoding, "replace").decode(encoding)
            stream.write(safe)
            stream.flush()
        except Exception:
            self.dead = True

    # The interface every writer implements -------------------------------------

    def show(self, line: str, cells: int, final: bool) -> None:
        """Display one rendered line; ``final`` ends the bar."""
        raise NotImplementedError

    def message(self, text: str) -> None:
        """Print ``text`` on its own line above the bar."""
        self.emit(text if text.endswith("\n") else text + "\n")

    def summary(self, line: str) -> None:
        """One complete line (verbose=2)."""
        self.emit(line + "\n")

    def finish(self) -> None:
        """End an open line, if any (close, Ctrl-C, early break)."""

    def columns(self) -> int | None:
        return None


class NullWriter(Writer):
    """verbose=0, PROGBAR_DISABLE, or rank != 0: shows nothing."""

    def __init__(self) -> None:
        super().__init__(None)
        self.dead = True

    def show(self, line: str, cells: int, final: bool) -> None:
        return

    def message(self, text: str) -> None:
        return

    def summary(self, line: str) -> None:
        return


class LiveWriter(Writer):
    """A terminal: ``\\r`` + line + padding over the previous one; ``\\n`` when done."""

    live = True

    def __init__(self, file: Stream | None) -> None:
        super().__init__(file)
        self._prev_cells = 0
        self._last = ""
        self._last_cells = 0
        self._open = False

    def columns(self) -> int | None:
        stream = self.stream
        if stream is self._not_tty:  # asked before: not a terminal (see terminal_columns)
            return None
        self._cols = cols = terminal_columns(stream)
        if cols is None and not isatty(stream):
            self._not_tty = stream
        return cols

    def show(self, line: str, cells: int, final: bool) -> None:
        pad = _padding(self._prev_cells, cells, self._cols)
        self.emit("\r" + line + pad + ("\n" if final else ""))
        self._prev_cells = 0 if final else cells
        self._last, self._last_cells = ("", 0) if final else (line, cells)
        self._open = not final

    def message(self, text: str) -> None:
        if not self._open:
            super().message(text)
            return
        lines = text.rstrip("\n")
        pad = _padding(self._prev_cells, _longest(lines), self._cols)
        self.emit("\r" + lines + pad + "\n" + self._last)
        self._prev_cells = self._last_cells

    def summary(self, line: str) -> None:
        self.finish()
        super().summary(line)

    def finish(self) -> None:
        if self._open:
            self.emit("\n")
            self._open = False
            self._prev_cells = 0


def _padding(prev_cells: int, cells: int, columns: int | None) -> str:
    """Spaces that blank the rest of the previous line, never past ``columns - 1``:
    after the terminal shrinks, padding to the old width would wrap, so the rest of
    the old line (cut by the terminal, not reflowed) is erased with EL instead."""
    erase = ""
    if columns and prev_cells > columns - 1:
        prev_cells = columns - 1
        if os.environ.get("TERM") != "dumb":  # a dumb terminal takes no control codes
            erase = "\x1b[K"
    return (" " * (prev_cells - cells) if prev_cells > cells else "") + erase


def _longest(text: str) -> int:
    from ._format import cell_width

    return max((cell_width(part) for part in text.split("\n")), default=0)


class LineWriter(Writer):
    """A log file, pipe or CI console: one plain line per render, no control bytes."""

    def show(self, line: str, cells: int, final: bool) -> None:
        self.emit(line + "\n")


class KerasWriter(Writer):
    """Keras's own framing, byte for byte: ``\\b`` * previous width + ``\\r`` when
    dynamic, ``\\n`` before each line otherwise; padding to the previous width."""

    def __init__(self, file: Stream | None, dynamic: bool) -> None:
        super().__init__(file)
        self.live = dynamic
        self._prev_cells = 0
        self._last = ""
        self._last_cells = 0
        self._open = False

    def columns(self) -> int | None:
        self._cols = terminal_columns(self.stream) if self.live else None
        return self._cols

    def show(self, line: str, cells: int, final: bool) -> None:
        head = "\b" * self._prev_cells + "\r" if self.live else "\n"
        pad = _padding(self._prev_cells, cells, self._cols)
        self.emit(head + line + pad + ("\n" if final else ""))
        self._prev_cells = cells
        self._last, self._last_cells = line, cells
        self._open = not final

    def message(self, text: str) -> None:
        if not (self._open and self.live):
            self.finish()
            super().message(text)
            return
        lines = text.rstrip("\n")
        pad = _padding(self._prev_cells, _longest(lines), self._cols)
        self.emit("\r" + lines + pad + "\n")
        self._prev_cells = 0
        self.show(self._last, self._last_cells, False)

    def finish(self) -> None:
        if self._open:
            self.emit("\n")
            self._open = False


# --------------------------------------------------------------------------- notebook


def notebook_display(stream: object) -> bool:
    """True when a bar on ``stream`` should be drawn as HTML: inside a Jupyter kernel,
    writing to the cell's own output (``file=None`` or ``sys.stdout``)."""
    return in_notebook() and stream in (None, sys.stdout)


class NotebookWriter(Writer):
    """A Jupyter kernel: an HTML bar shown once with ``display(..., display_id=True)``
    and then updated in place, so a cell holds one bar however long the loop runs.

    IPython is imported on the first draw (only a kernel gets here).  The controller
    renders at most every :attr:`interval` seconds; identical frames are not sent, so
    the number of messages to the browser grows with time, never with steps.
    Messages and verbose=2 summaries stay plain text in the cell's output.
    """

    live = False  # the line it gets is the text beside the HTML bar: no glyph bar
    interval = 0.1  # the controller's default render interval in a notebook

    def __init__(
        self, file: Stream | None, progress: Callable[[], tuple[float | int, float | None]]
    ) -> None:
        super().__init__(file)
        self._progress = progress
        self._handle: Any = None
        self._last_html = ""
        self.updates = 0  # display updates sent (the first display not counted)

    def show(self, line: str, cells: int, final: bool) -> None:
        if self.dead:
            return
        from ._html import format_html_bar

        current, target = self._progress()
        fraction = float(current) / target if target else None
        html = format_html_bar(line, fraction, final)
        if html == self._last_html:
            return
        self._last_html = html
        # A MIME bundle, not a bare HTML object: frontends that cannot show HTML
        # (jupyter console, qtconsole) show the text line instead of an object repr.
        bundle = {"text/html": html, "text/plain": line}
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


def show_block(
    format_text: Callable[[bool], str], format_html: Callable[[], str], file: Stream | None
) -> None:
    """Show a finished block (the history table): HTML in a Jupyter kernel when
    ``file`` is None, else text on ``file`` (ASCII where its encoding needs it).
    Like the bars, it never raises on a display error."""
    try:
        if file is None and in_notebook():
            from IPython import display as ipython_display

            ipd: Any = ipython_display  # untyped
            ipd.display({"text/html": format_html(), "text/plain": format_text(False)},
                        raw=True)
            return
        stream: Any = file if file is not None else sys.stdout
        if isinstance(stream, StdoutRedirect):
            stream = stream.original
        text = format_text(False)
        if not can_encode(stream, text):
            text = format_text(True)
        stream.write(text + "\n")
        stream.flush()
    except Exception:
        pass


# --------------------------------------------------------------------------- print redirect


class StdoutRedirect:
    """What ``logging_redirect(stdout=True)`` puts on ``sys.stdout``.

    Complete lines printed while a live bar is open go through ``route`` (the bar's
    ``write``), so they appear above the bar instead of tearing it; otherwise text
    goes straight to the original stream.  Bars writing to ``sys.stdout`` draw on
    :attr:`original` (see :attr:`Writer.stream`), never through this object.
    """

    def __init__(self, original: Any, route: Callable[[], Callable[[str], None] | None]) -> None:
        self.original = original
        self._route = route
        self._pending = ""
        self._lock = allocate_lock()

    def write(self, text: str) -> int:
        write = self._route()
        with self._lock:
            if write is None:
                pending, self._pending = self._pending, ""
                self.original.write(pending + text)
                return len(text)
            self._pending += text
            if "\n" not in self._pending:
                return len(text)
            lines, _, self._pending = self._pending.rpartition("\n")
        write(lines)
        return len(text)

    def drain(self) -> None:
        """Write out a partial line left at the end."""
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self.original.write(pending)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer, ...
        return getattr(self.original, name)
