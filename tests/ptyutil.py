"""Run a Python snippet on a real pseudo-terminal and read the screen back with pyte."""

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
from dataclasses import dataclass

import pyte


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


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def run_on_pty(
    code: str,
    cols: int = 80,
    rows: int = 24,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> PtyResult:
    master, slave = pty.openpty()
    set_size(slave, rows, cols)
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("PROGBAR_", "NO_COLOR", "FORCE_COLOR"))}
    full_env.update({"TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=slave, stdout=slave, stderr=slave, env=full_env, close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            raise TimeoutError("the program on the pty did not finish")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout)
    os.close(master)
    raw = b"".join(chunks)
    return PtyResult(raw, screen_lines(raw, cols, rows), proc.returncode)


def screen_lines(raw: bytes, cols: int, rows: int) -> list[str]:
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    return [line.rstrip() for line in screen.display]
