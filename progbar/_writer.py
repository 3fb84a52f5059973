"""The writer: the only code that touches a stream or the environment.

It decides, in one fixed order, whether output is live (``\\r`` redraw) or a log
(one line per render): explicit argument, then ``PROGBAR_DYNAMIC`` /
``PROGBAR_DISABLE``, then a Jupyter kernel, then ``file.isatty()``.  It knows the
terminal's width, colour rules and encoding, and it never lets a display error reach
the loop being reported on: a closed stream, a broken pipe or a full disk make the
bar go quiet.
"""

from __future__ import annotations

import math
import os
import sys
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Callable

    Stream = IO[str]

__all__ = [
    "isatty",
    "StdoutRedirect",
    "StreamOutput",
    "can_encode",
    "detect_color",
    "detect_dynamic",
    "disabled_by_env",
    "dump_stacks",
    "forks",
    "in_notebook",
    "log_interval",
    "notebook_display",
    "padding",
    "show_block",
    "stall_after_from_env",
    "stall_dump_enabled",
    "terminal_columns",
    "terminal_progress",
    "terminal_size",
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


# --------------------------------------------------------------------------- terminal progress

# Terminals known to show OSC 9;4 as progress in their tab or taskbar, by what they put
# in the environment.  Others (VTE-based ones included) only when forced: older iTerm2
# turns OSC 9 into a desktop notification, and an unknown terminal may print it.
_PROGRESS_TERMINALS = ("ghostty", "wezterm")
_ITERM_PROGRESS = (3, 6, 6)  # the first iTerm2 that shows it as progress


def _version(text: str) -> tuple[int, ...]:
    """``"3.6.10beta2"`` -> (3, 6, 10): the leading digits of each dotted part."""
    parts = []
    for part in text.strip().split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def terminal_progress(stream: object) -> bool:
    """Should a live display on ``stream`` send the terminal's own progress
    indicator (OSC 9;4)?  Only on a terminal (never a pipe, a file or a notebook);
    ``PROGBAR_TERMINAL_PROGRESS=0`` / ``1`` forces it off / on -- on even inside tmux
    or screen, for one set to pass it through; else on only where the terminal is
    known to show it (``WT_SESSION``, ``ConEmuANSI=ON``, ``TERM_PROGRAM`` ghostty or
    WezTerm, iTerm.app from 3.6.6) and not inside tmux or screen, which do not pass
    it on.  Never under ``TERM=dumb``."""
    forced = _env_flag("PROGBAR_TERMINAL_PROGRESS")
    env = os.environ
    term = env.get("TERM", "")
    if forced is False or term == "dumb":  # TERM=dumb takes no escapes, forced or not
        return False
    if not isatty(stream if stream is not None else sys.stdout):
        return False
    if forced:
        return True
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return False
    program = env.get("TERM_PROGRAM", "")
    if program.lower() in _PROGRESS_TERMINALS:
        return True
    if program == "iTerm.app":
        return _version(env.get("TERM_PROGRAM_VERSION", "")) >= _ITERM_PROGRESS
    return bool(env.get("WT_SESSION")) or env.get("ConEmuANSI") == "ON"


# --------------------------------------------------------------------------- stalls


def stall_after_from_env() -> float | None:
    """``PROGBAR_STALL_AFTER``: seconds without a step that make a stall (0 or less:
    never); None when unset or unreadable (the default rule)."""
    raw = os.environ.get("PROGBAR_STALL_AFTER", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value:  # nan
        return None
    return value if value > 0 else math.inf


def stall_dump_enabled() -> bool:
    """``PROGBAR_STALL_DUMP=1``: a stall also writes every thread's stack to stderr."""
    return bool(_env_flag("PROGBAR_STALL_DUMP"))


def dump_stacks(header: str) -> None:
    """Write ``header`` and every thread's Python stack to stderr, as ``faulthandler``
    does (through its file descriptor); where stderr has none (a captured stream),
    the same from ``sys._current_frames()``.  Never raises."""
    stream: Any = sys.stderr if sys.stderr is not None else sys.__stderr__
    if stream is None:
        return
    try:
        stream.write(header + "\n")
        stream.flush()
    except Exception:
        return
    try:
        fd = stream.fileno()
    except Exception:
        fd = -1
    if fd >= 0:
        try:
            import faulthandler

            faulthandler.dump_traceback(fd, all_threads=True)
            return
        except Exception:
            pass
    try:
        import threading
        import traceback

        names = {thread.ident: thread.name for thread in threading.enumerate()}
        me = threading.get_ident()
        parts = []
        for ident, frame in sys._current_frames().items():
            which = "Current thread" if ident == me else "Thread"
            parts.append(f"{which} 0x{ident:016x} ({names.get(ident, '?')}), "
                         "most recent call last:\n")
            parts.extend(traceback.format_stack(frame))
            parts.append("\n")
        stream.write("".join(parts))
        stream.flush()
    except Exception:
        pass


def terminal_size(stream: object) -> tuple[int, int] | None:
    """``(columns, lines)`` of the terminal behind ``stream`` (measured at each call,
    so a resize is seen at the next render), or None when it is not one."""
    if not isatty(stream):
        return None
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        size = os.get_terminal_size(fd)
    except Exception:
        return None
    if size.columns <= 0:
        return None
    return size.columns, size.lines if size.lines > 0 else 0


def terminal_columns(stream: object) -> int | None:
    """The width of the terminal behind ``stream``, or None when it is not one."""
    size = terminal_size(stream)
    return size[0] if size is not None else None


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


# --------------------------------------------------------------------------- stream output

# fork()s this process has gone through: output made before a fork is dead in the
# child.  An at-fork hook counts them (cheaper than a getpid() per write).
_forks = [0]


def _count_fork() -> None:
    _forks[0] += 1


def forks() -> int:
    """How many fork()s this process has gone through since progbar first wrote or
    asked (a display made before a fork is dead in the child; see StreamOutput)."""
    _watch_forks()
    return _forks[0]


_fork_hook = False


def _watch_forks() -> None:
    global _fork_hook
    if not _fork_hook and hasattr(os, "register_at_fork"):
        _fork_hook = True  # once, at the first output: nothing happens at import
        os.register_at_fork(after_in_child=_count_fork)


class StreamOutput:
    """Writes to one stream; display errors make it go quiet, never raise.

    ``file=None`` means ``sys.stdout``, looked up at every write so that
    ``contextlib.redirect_stdout`` works.  The displays (``_display``) build on this.
    """

    def __init__(self, file: Stream | None) -> None:
        self._file = file
        self.dead = False
        self.on_encoding_error: Callable[[], None] | None = None
        _watch_forks()
        self.fork_generation = _forks[0]

    @property
    def file(self) -> Stream | None:
        """The stream as given (None: ``sys.stdout``, looked up at each write)."""
        return self._file

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
        if _forks[0] != self.fork_generation:  # a fork()ed child must not draw on our line
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


def padding(prev_cells: int, cells: int, columns: int | None) -> str:
    """Spaces that blank the rest of the previous line, never past ``columns - 1``:
    after the terminal shrinks, padding to the old width would wrap, so the rest of
    the old line (cut by the terminal, not reflowed) is erased with EL instead."""
    erase = ""
    if columns and prev_cells > columns - 1:
        prev_cells = columns - 1
        if os.environ.get("TERM") != "dumb":  # a dumb terminal takes no control codes
            erase = "\x1b[K"
    return (" " * (prev_cells - cells) if prev_cells > cells else "") + erase


# --------------------------------------------------------------------------- notebook


def notebook_display(stream: object) -> bool:
    """True when a bar on ``stream`` should be drawn as HTML: inside a Jupyter kernel,
    writing to the cell's own output (``file=None`` or ``sys.stdout``)."""
    return in_notebook() and stream in (None, sys.stdout)


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
    :attr:`original` (see :attr:`StreamOutput.stream`), never through this object.
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
