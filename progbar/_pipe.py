"""Pipe mode: ``... | python -m progbar [--total N] [--bytes] | ...``.

Copies stdin to stdout byte for byte, in chunks as they arrive (so ``tail -f`` style
sources stream through), and shows a bar on stderr counting lines or bytes.  Stdout
equals stdin in every case: a non-blocking stdin (``O_NONBLOCK`` left by another
process) is waited on, never read as the end of the input; a non-blocking stdout is
waited on too; with no stderr there is no bar (never one on stdout).
"""

from __future__ import annotations

import os
import select
from typing import IO, Any, Callable

from ._progbar import Progbar

__all__ = ["CHUNK", "copy_with_progress"]

CHUNK = 1 << 16


def _reader(source: IO[bytes]) -> Callable[[], bytes]:
    """The next chunk of ``source`` (b"" only at its end), waiting for data."""
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream
        return lambda: getattr(source, "read1", source.read)(CHUNK)

    def read() -> bytes:
        while True:
            try:
                return os.read(fd, CHUNK)
            except BlockingIOError:  # no data yet: wait for some, or for the end
                select.select([fd], [], [])
            except InterruptedError:
                continue

    return read


def _writer(sink: IO[bytes]) -> Callable[[bytes], None]:
    """Write all of a chunk to ``sink``, waiting while a non-blocking one is full."""
    try:
        fd = sink.fileno()
        sink.flush()
    except (AttributeError, OSError, ValueError):  # an in-memory stream
        def write_flush(data: bytes) -> None:
            sink.write(data)
            sink.flush()

        return write_flush

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                select.select([], [fd], [])
            except InterruptedError:
                continue

    return write


def copy_with_progress(
    source: IO[bytes],
    sink: IO[bytes],
    stderr: IO[str] | None,
    total: int | None = None,
    count_bytes: bool = False,
    unit: str | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Copy ``source`` to ``sink`` unchanged; return the count shown (lines or bytes).

    Lines are counted as newline bytes, plus one for a last line without a newline
    (so ``printf 'a\\nb'`` is 2 lines, like Python's ``splitlines``).  A reader that
    goes away (``| head``) ends the copy quietly.  ``stderr=None`` (it is closed):
    the copy runs with no bar.
    """
    unit = unit or ("B" if count_bytes else "line")
    bar: Progbar[Any] = Progbar(total, unit_name=unit, file=stderr, clock=clock,
                                unit_scale=count_bytes, verbose=1 if stderr is not None else 0)
    read = _reader(source)
    write = _writer(sink)
    count = 0
    last = b"\n"
    try:
        while True:
            chunk = read()
            if not chunk:
                break
            try:
                write(chunk)
            except BrokenPipeError:
                _quiet_stdout(sink)
                break
            count += len(chunk) if count_bytes else chunk.count(b"\n")
            last = chunk[-1:]
            # finalize only at the end: a --total that is reached early must not end
            # the bar while data still flows
            bar.update(count + (0 if count_bytes or last == b"\n" else 1), finalize=False)
        if not count_bytes and last != b"\n":
            count += 1
        bar.update(count, finalize=True)
    finally:
        bar.close()
    return count


def _quiet_stdout(sink: IO[bytes]) -> None:
    """Point the broken stdout at /dev/null so the interpreter's last flush of the
    buffered bytes does not print a traceback (the Python docs' advice)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sink.fileno())
        os.close(null)
    except Exception:
        pass
