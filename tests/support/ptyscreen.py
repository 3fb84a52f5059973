"""Run a script on a real pseudo-terminal and read its screen through pyte: at the end
(:func:`run_on_pty`) or *mid-run* (:func:`run_with_checkpoints`).

The script calls ``checkpoint(name)`` (defined for it): the child flushes, tells the
parent, and waits.  The parent reads everything the child has written so far, feeds
it to a pyte screen, keeps a copy of the screen, optionally resizes the terminal, and
lets the child go on.  What is checked is what a user would see at that moment.

"Everything written so far" is known by a marker the child writes on the terminal
before it tells the parent: Linux moves pty output to the reading side a moment
later (the flip buffer), so what is readable when the message arrives may not be all
of it yet on a loaded machine.  The marker is taken out of what the screen and
``raw`` get.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import pyte

MARK = b"\x1b]ckpt\x07"

PREAMBLE = """
import os as _os, sys as _sys
_CTL = int(_os.environ.get("CKPT_CTL", -1))  # none: run straight through (a pipe)
_ACK = int(_os.environ.get("CKPT_ACK", -1))

def checkpoint(name):
    if _CTL < 0:
        return
    _sys.stdout.flush()
    _sys.stderr.flush()
    _os.write(1, b"\\x1b]ckpt\\x07")  # on the pty, after all that came before
    _os.write(_CTL, name.encode() + b"\\n")
    _os.read(_ACK, 1)

class Clock:
    def __init__(self):
        self.t = 1000.0
    def __call__(self):
        return self.t
"""


@dataclass
class Run:
    screens: dict[str, list[str]] = field(default_factory=dict)  # at each checkpoint
    final: list[str] = field(default_factory=list)  # when the child has ended
    raw: bytes = b""
    offsets: dict[str, int] = field(default_factory=dict)  # len(raw) at each checkpoint
    returncode: int = 0
    columns: int = 80

    def rows(self, name: str | None = None) -> list[str]:
        """The non-blank rows of a screen (the final one by default)."""
        screen = self.final if name is None else self.screens[name]
        return [row for row in screen if row.strip()]


@dataclass
class PtyResult:
    raw: bytes
    lines: list[str]  # the screen, trailing blanks stripped
    returncode: int

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def nonblank(self) -> list[str]:
        return [line for line in self.lines if line.strip()]


def screen_lines(raw: bytes, cols: int, rows: int) -> list[str]:
    """The screen a terminal of that size shows after ``raw``."""
    screen = pyte.Screen(cols, rows)
    pyte.ByteStream(screen).feed(raw)
    return [line.rstrip() for line in screen.display]


def run_on_pty(
    code: str,
    cols: int = 80,
    rows: int = 24,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> PtyResult:
    """Run ``code`` (as written: no checkpoints) on a pty; its final screen."""
    run = run_with_checkpoints(code, cols, rows, env=env, timeout=timeout, preamble=False)
    return PtyResult(run.raw, run.final, run.returncode)


def _winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def run_with_checkpoints(
    code: str,
    cols: int = 80,
    rows: int = 24,
    resize: Callable[[str], tuple[int, int] | None] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    preamble: bool = True,
) -> Run:
    """``resize(name)`` may return ``(rows, cols)``: the terminal takes that size
    after the screen of checkpoint ``name`` is read, before the child goes on.
    ``preamble=False`` runs ``code`` exactly as written (no ``checkpoint``)."""
    master, slave = pty.openpty()
    _winsize(slave, rows, cols)
    ctl_r, ctl_w = os.pipe()
    ack_r, ack_w = os.pipe()
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("PROGBAR_", "NO_COLOR", "FORCE_COLOR"))}
    full_env.update({"TERM": "xterm-256color", "PYTHONUNBUFFERED": "1",
                     "CKPT_CTL": str(ctl_w), "CKPT_ACK": str(ack_r)})
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-c", (PREAMBLE if preamble else "") + textwrap.dedent(code)],
        stdin=slave, stdout=slave, stderr=slave, env=full_env,
        pass_fds=(ctl_w, ack_r),
    )
    os.close(slave)
    os.close(ctl_w)
    os.close(ack_r)
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    run = Run(columns=cols)
    chunks: list[bytes] = []
    held = b""  # read from the pty, not yet shown: it may end in part of a marker
    marks = 0  # markers read and not yet matched by a checkpoint's message
    pending = b""
    pty_open = ctl_open = True

    def show(data: bytes) -> None:
        chunks.append(data)
        stream.feed(data)

    def read_pty(wait: float) -> None:
        nonlocal pty_open, held, marks
        ready, _, _ = select.select([master], [], [], wait)
        if not ready:
            return
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            pty_open = False
            data, held = held, b""
            show(data)
            return
        held += data
        while MARK in held:
            before, held = held.split(MARK, 1)
            show(before)
            marks += 1
        keep = next((k for k in range(len(MARK) - 1, 0, -1) if held.endswith(MARK[:k])), 0)
        show(held[:len(held) - keep])
        held = held[len(held) - keep:]

    try:
        while pty_open or ctl_open:
            fds = ([master] if pty_open else []) + ([ctl_r] if ctl_open else [])
            ready, _, _ = select.select(fds, [], [], timeout)
            if not ready:
                raise TimeoutError("the program on the pty did not go on")
            if master in ready:
                read_pty(0)
            if ctl_r in ready:
                data = os.read(ctl_r, 4096)
                if not data:
                    ctl_open = False
                    continue
                pending += data
                while b"\n" in pending:
                    name_b, pending = pending.split(b"\n", 1)
                    name = name_b.decode()
                    while marks == 0 and pty_open:  # all written before it is read
                        read_pty(timeout)
                    marks -= 1
                    run.screens[name] = [row.rstrip() for row in screen.display]
                    run.offsets[name] = sum(len(chunk) for chunk in chunks)
                    size = resize(name) if resize is not None else None
                    if size is not None:
                        _winsize(master, *size)
                        screen.resize(*size)
                        run.columns = size[1]
                    os.write(ack_w, b"k")
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for fd in (master, ctl_r, ack_w):
            try:
                os.close(fd)
            except OSError:
                pass
    run.raw = b"".join(chunks)
    run.final = [row.rstrip() for row in screen.display]
    run.returncode = proc.returncode
    return run
