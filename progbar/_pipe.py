"""Pipe mode: ``... | python -m progbar [--total N] [--bytes] | ...``.

Copies stdin to stdout byte for byte, in chunks as they arrive (so ``tail -f`` style
sources stream through), and shows a bar on stderr counting lines or bytes.
"""

from __future__ import annotations

import os
from typing import IO, Any, Callable

from ._progbar import Progbar

__all__ = ["CHUNK", "copy_with_progress"]

CHUNK = 1 << 16


def copy_with_progress(
    source: IO[bytes],
    sink: IO[bytes],
    stderr: IO[str],
    total: int | None = None,
    count_bytes: bool = False,
    unit: str | None = None,
    clock: Callable[[], float] | None = None,
) -> int:
    """Copy ``source`` to ``sink`` unchanged; return the count shown (lines or bytes).

    Lines are counted as newline bytes, plus one for a last line without a newline
    (so ``printf 'a\\nb'`` is 2 lines, like Python's ``splitlines``).  A reader that
    goes away (``| head``) ends the copy quietly.
    """
    unit = unit or ("B" if count_bytes else "line")
    bar: Progbar[Any] = Progbar(total, unit_name=unit, file=stderr, clock=clock,
                                unit_scale=count_bytes)
    read = getattr(source, "read1", source.read)
    count = 0
    last = b"\n"
    try:
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            try:
                sink.write(chunk)
                sink.flush()
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
