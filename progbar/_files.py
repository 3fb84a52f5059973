"""Files: a bar of a file's size in bytes, moved by its reads and writes.

``progbar.open(path, mode)`` builds the file as the built-in ``open`` does, and the
bar follows its position (``Progbar.follow``): reads and writes run the standard
library's C code and call nothing of ours; the ticker reads the position when it draws
(design.md, "Files").  A text mode's layers read the file underneath, so it counts
bytes, not characters.  With an injected clock nothing draws on its own, so there the
file is wrapped in a :class:`ProgressFile`, whose every read moves the bar
(deterministic, as a test wants).  ``wrap_file`` wraps a
file object that is already open in a :class:`ProgressFile`.  Only the public API of
``Progbar`` is used.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
import weakref
from typing import IO, Any, Callable, Iterable, Iterator

from . import _ticker
from ._progbar import Progbar

__all__ = ["ProgressFile", "open", "wrap_file"]

_builtin_open = open


def _byte_options(options: dict[str, Any], name: object) -> dict[str, Any]:
    options.setdefault("unit_name", "B")
    options.setdefault("unit_scale", True)
    if "label" not in options and "desc" not in options and isinstance(name, str):
        options["label"] = os.path.basename(name)
    return options


class ProgressFile:
    """A file object whose reads and writes move :attr:`bar` by the bytes they move.

    Every other attribute is the wrapped file's.  Closing it closes the file and the
    bar; it is a context manager and iterates lines as the file does.
    """

    def __init__(self, fileobj: Any, bar: Progbar[Any]) -> None:
        self._file = fileobj
        self.bar = bar
        self._add = bar.add  # bound once: every read calls it
        try:
            self._start = fileobj.tell() if fileobj.seekable() else 0
        except (AttributeError, OSError, ValueError):
            self._start = 0

    # Reads.  Each moves the bar by what it returned (a sized bytes or str).

    def read(self, size: int | None = -1) -> Any:
        data = self._file.read(size)
        if data:
            self._add(len(data))
        return data

    def read1(self, size: int = -1) -> Any:
        data = self._file.read1(size)
        if data:
            self._add(len(data))
        return data

    def readinto(self, buffer: Any) -> int | None:
        n: int | None = self._file.readinto(buffer)
        if n:
            self._add(n)
        return n

    def readinto1(self, buffer: Any) -> int | None:
        n: int | None = self._file.readinto1(buffer)
        if n:
            self._add(n)
        return n

    def readline(self, size: int | None = -1) -> Any:
        line = self._file.readline(size)
        if line:
            self._add(len(line))
        return line

    def readlines(self, hint: int = -1) -> list[Any]:
        lines: list[Any] = self._file.readlines(hint)
        n = sum(map(len, lines))
        if n:
            self._add(n)
        return lines

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        line = self._file.readline()
        if not line:
            raise StopIteration
        self._add(len(line))
        return line

    # Writes.

    def write(self, data: Any) -> int:
        n = self._file.write(data)
        if n is None:  # a raw stream may say nothing: count what was passed
            n = len(data)
        if n:
            self._add(n)
        return int(n)

    def writelines(self, lines: Iterable[Any]) -> None:
        for line in lines:
            self.write(line)

    # Position: the bar shows where in the file the reads are.

    def seek(self, offset: int, whence: int = 0) -> int:
        position: int = self._file.seek(offset, whence)
        self.bar.update(max(position - self._start, 0))
        return position

    # The file's life is the bar's.

    @property
    def closed(self) -> bool:
        return bool(self._file.closed)

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self.bar.close()

    def __enter__(self) -> ProgressFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        # name, mode, fileno, tell, flush, readable, seekable... are the file's own.
        # (Not while the object is being built -- copy.copy() makes it without
        # __init__ -- where asking for _file would come back here for ever.)
        if name.startswith("__") or name in ("_file", "bar", "_add", "_start"):
            raise AttributeError(name)
        return getattr(self._file, name)

    def __repr__(self) -> str:
        return f"<progbar.ProgressFile {self._file!r}>"


class _Followed:
    """What ``progbar.open`` returns in a binary mode (a text file's ``buffer``): the
    standard library's file, whose position a bar follows (see ``Progbar.follow``).
    Only ``close`` and ``detach`` are ours: each ends the bar first (the position is
    read a last time, exactly, while the file is whole), then does its work."""

    bar: Progbar[Any]

    def close(self) -> None:
        bar = self.__dict__.get("bar")
        try:
            if bar is not None:
                bar.close()
        finally:
            super().close()  # type: ignore[misc]

    def detach(self) -> Any:
        bar = self.__dict__.get("bar")
        if bar is not None:
            bar.close()  # what follows the raw file alone is not this file's count
        return super().detach()  # type: ignore[misc]


class _FollowedRaw(_Followed, io.FileIO):
    pass


class _FollowedReader(_Followed, io.BufferedReader):
    pass


class _FollowedWriter(_Followed, io.BufferedWriter):
    pass


class _FollowedRandom(_Followed, io.BufferedRandom):
    pass


def _follow(binary: Any, raw: io.FileIO, bar: Progbar[Any]) -> None:
    """Have ``bar`` follow ``binary``'s position.  Every thread but the ticker's asks
    the binary layer (exact: what was read or written, buffered bytes included; a
    thread asking while another is inside a read waits for that read to end).  The
    ticker asks the raw file, which takes no lock (the buffer's is held through a
    whole read), so it is never kept waiting and sees a long ``read()`` progress; it
    is at most a buffer away.  Both are held weakly: a file dropped unclosed is
    collected, and its close closes the bar."""
    binary.bar = bar
    start = binary.tell()
    exact = weakref.ref(binary)
    near = weakref.ref(raw)

    def position() -> int:
        file: Any = exact()
        if file is not None and not _ticker.on_ticker_thread():
            try:
                moved: int = file.tell() - start
                return moved
            except (OSError, ValueError):  # detached from its raw file: ask that
                pass
        raw_file: Any = near()
        moved = raw_file.tell() - start  # (file gone: None, an error: the last count)
        return moved

    bar.follow(position)


def _size_left(fileobj: Any) -> int | None:
    """Bytes from the position to the end of a regular file; None when unknown."""
    try:
        info = os.fstat(fileobj.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        position = fileobj.tell() if fileobj.seekable() else 0
        return max(info.st_size - position, 0)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def wrap_file(fileobj: Any, target: float | None = None, **options: Any) -> ProgressFile:
    """Wrap a file object already open (a file, a socket's file, a response body) so
    that its reads and writes move a bar.

    ``target`` defaults to the bytes left in a regular binary file, else unknown.  A
    binary file counts bytes; a text file counts what its reads return (characters).
    ``options`` are :class:`progbar.Progbar`'s (``unit_name="B"`` by default).
    Closing the returned object closes the file and the bar.
    """
    text = isinstance(fileobj, io.TextIOBase)
    if target is None and options.get("total") is None and not text:
        target = _size_left(fileobj)
    if text:
        options.setdefault("unit_name", "char")
    bar: Progbar[Any] = Progbar(target, **_byte_options(options, getattr(fileobj, "name", None)))
    return ProgressFile(fileobj, bar)


def open(
    path: str | os.PathLike[str] | os.PathLike[bytes] | bytes,
    mode: str = "rb",
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: Callable[[str, int], int] | None = None,
    **options: Any,
) -> IO[Any]:
    """Open a file as the built-in ``open`` does, with a bar of its size in bytes.

    Returns what the built-in returns (a buffered binary file, or a text file over
    one), and the bar follows the file's position: reads and writes (``read``,
    ``readinto``, ``readline``, iteration, ``seek``...) run the standard library's
    code, and the bar's ticker reads the position when it draws.  The binary file's
    bar is ``f.bar`` (``f.buffer.bar`` in a text mode, which counts the bytes of the
    file underneath).  With an injected ``clock`` or a file with no position (a FIFO)
    each read moves the bar instead.  The target is the file's size when reading,
    unknown when writing a new file.  ``options`` are :class:`progbar.Progbar`'s; the
    label defaults to the file's name.  Closing the file closes the bar.
    """
    buffering = _check_arguments(mode, buffering, encoding, errors, newline)
    text = "b" not in mode
    if isinstance(path, os.PathLike):
        path = os.fspath(path)  # (the file's name is the str or bytes, as the built-in's)
    binary_mode = mode.replace("t", "") + ("b" if text else "")
    # On the real clock the bar follows the file's position (the ticker draws it);
    # with an injected clock, or a file that has no position (a FIFO, a device), each
    # read moves the bar through a ProgressFile.
    follow = options.get("clock") is None and _regular_or_new(path)
    raw: Any
    if follow:
        raw = _FollowedRaw(path, binary_mode.replace("b", ""), closefd=closefd, opener=opener)
    else:
        raw = _builtin_open(path, binary_mode, -1 if text and buffering == 1 else buffering,
                            closefd=closefd, opener=opener)
    try:
        if text:  # the text layer's own errors (an unknown encoding...), before a bar shows
            _check_text_options(encoding, errors, newline)
        reading = "r" in mode
        target = options.pop("target", None)
        if target is None and options.get("total") is None and reading:
            target = _size_left(raw)
        name = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else None
        bar: Progbar[Any] = Progbar(target, **_byte_options(options, name))
    except BaseException:
        raw.close()
        raise
    if follow:
        try:
            return _layers(raw, mode, buffering, encoding, errors, newline, bar)
        except BaseException:
            bar.close()
            raw.close()
            raise
    wrapped = ProgressFile(raw, bar)
    if not text:
        return wrapped  # type: ignore[return-value]
    try:
        text_file = io.TextIOWrapper(
            wrapped,
            encoding=encoding,
            errors=errors,
            newline=newline,
            line_buffering=buffering == 1,
        )
    except BaseException:
        wrapped.close()
        raise
    text_file.mode = mode  # type: ignore[misc]  # (as the built-in's text file has it)
    return text_file


def _check_arguments(mode: object, buffering: int, encoding: str | None, errors: str | None,
                     newline: str | None) -> int:
    """The built-in ``open``'s checks of its arguments, with its errors and its warning;
    the buffering to use."""
    _check_mode(mode)
    assert isinstance(mode, str)
    text = "b" not in mode
    if text and buffering == 0:
        raise ValueError("can't have unbuffered text I/O")
    if not text and (encoding is not None or errors is not None or newline is not None):
        raise ValueError("binary mode doesn't take an encoding, errors or newline argument")
    if not text and buffering == 1:
        warnings.warn("line buffering (buffering=1) isn't supported in binary mode, the "
                      "default buffer size will be used", RuntimeWarning, stacklevel=3)
        buffering = -1
    return buffering


def _check_mode(mode: object) -> None:
    """The built-in ``open``'s checks of ``mode``, with its errors."""
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    if not set(mode) <= set("rwaxbt+") or len(set(mode)) != len(mode):
        raise ValueError(f"invalid mode: {mode!r}")
    if sum(c in mode for c in "rwax") != 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    if "b" in mode and "t" in mode:
        raise ValueError("can't have text and binary mode at once")


def _check_text_options(encoding: str | None, errors: str | None, newline: str | None) -> None:
    """Raise what a text layer with these options would raise, building it over nothing."""
    io.TextIOWrapper(io.BytesIO(), encoding="utf-8" if encoding is None else encoding,
                     errors=errors, newline=newline)


def _regular_or_new(path: Any) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True  # a new file: a regular one
    except (OSError, ValueError, TypeError):
        return False  # (open() says what is wrong with it)


def _layers(raw: _FollowedRaw, mode: str, buffering: int, encoding: str | None,
            errors: str | None, newline: str | None, bar: Progbar[Any]) -> IO[Any]:
    """The buffer and text layers that the built-in ``open`` puts over ``raw`` for
    ``mode`` and ``buffering``, the binary one following ``bar``."""
    text = "b" not in mode
    line_buffering = False
    if buffering == 1 or (buffering < 0 and raw.isatty()):
        buffering = -1
        line_buffering = True
    if buffering < 0:
        buffering = io.DEFAULT_BUFFER_SIZE
        try:
            block = os.fstat(raw.fileno()).st_blksize
            if block > 1:
                buffering = block
        except OSError:
            pass
    binary: Any
    if buffering == 0:
        binary = raw  # binary only: unbuffered text was refused above
    elif "+" in mode:
        binary = _FollowedRandom(raw, buffering)
    elif "r" in mode:
        binary = _FollowedReader(raw, buffering)
    else:
        binary = _FollowedWriter(raw, buffering)
    _follow(binary, raw, bar)
    if not text:
        return binary  # type: ignore[no-any-return]
    text_file = io.TextIOWrapper(binary, encoding=encoding, errors=errors, newline=newline,
                                 line_buffering=line_buffering)
    text_file.mode = mode  # type: ignore[misc]  # (as the built-in's text file has it)
    return text_file
