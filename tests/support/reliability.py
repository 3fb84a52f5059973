"""Shared helpers for the reliability tests (properties, bad input, faults, load, fuzz).

Each reliability test is tagged with :func:`reliability` (what was tried) and may call
:func:`tick` once per case it tries (a hypothesis example, an input of a table); the
``reliability_plugin`` turns both into the table of docs/reliability.md.  Nothing here is
a pytest plugin, so the test files also run on their own.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import termios
from collections import Counter
from typing import Any, Callable, TypeVar

import wcwidth

F = TypeVar("F", bound=Callable[..., Any])

#: cases tried, by pytest node id (read by ``reliability_plugin``)
CASES: Counter[str] = Counter()


def reliability(area: str, what: str) -> Callable[[F], F]:
    """Tag a test as one row of the Reliability table."""

    def tag(fn: F) -> F:
        fn._reliability = (area, what)  # type: ignore[attr-defined]
        return fn

    return tag


def tick(n: int = 1) -> None:
    """Count ``n`` cases for the running test."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    CASES[current.rsplit(" (", 1)[0]] += n


class Clock:
    """A clock that moves by ``step`` seconds each time it is read (no sleeps)."""

    def __init__(self, step: float = 0.5, start: float = 1000.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


# --------------------------------------------------------------------------- cells

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def cells(text: str) -> int:
    """Display cells of ``text`` by our reference (wcwidth, grapheme aware), which is
    independent of progbar's own ``cell_width``.  A control character is an error."""
    n = wcwidth.wcswidth(text)
    assert n >= 0, f"control character in displayed text: {text!r}"
    # pyte (and older terminals) add widths per code point; take the wider reading
    per_char = sum(max(wcwidth.wcwidth(ch), 0) for ch in text)
    return max(n, per_char)


def frames(output: str, live: bool = False) -> list[str]:
    """The lines a live writer drew: split on ``\\r``/``\\n``, backspaces and ANSI
    removed (a keras style moves back with ``\\b`` before its ``\\r``).

    ``live=True`` keeps only the lines redrawn in place, leaving out those ended by a
    newline: final lines (records, which wrap rather than lose a metric) and messages.
    """
    text = strip_ansi(output).replace("\b", "")
    if not live:
        return [part for part in re.split(r"[\r\n]", text)]
    parts = re.split(r"([\r\n])", text.replace("\r\n", "\n"))  # a pty's ONLCR
    return [p for p, end in zip(parts[::2], parts[1::2] + [""]) if end != "\n"]


def final_lines(output: str) -> list[str]:
    """The lines ended by a newline (final lines and messages), as written."""
    text = strip_ansi(output).replace("\b", "").replace("\r\n", "\n")
    parts = re.split(r"([\r\n])", text)
    return [p for p, end in zip(parts[::2], parts[1::2] + [""]) if end == "\n" and p]


# --------------------------------------------------------------------------- ptys


def set_winsize(fd: int, columns: int, rows: int = 24) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class TTYCapture:
    """A text stream that *is* a terminal of a known size to progbar (``isatty()`` is
    True and ``fileno()`` is a real pty, so the size comes from the kernel) but keeps
    what is written in memory, for fast property tests."""

    encoding = "utf-8"

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.chunks: list[str] = []

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, text: str) -> int:
        self.chunks.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.chunks)

    def clear(self) -> None:
        self.chunks.clear()
