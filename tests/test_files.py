"""progbar.open and progbar.wrap_file: reads and writes move a bar of the file's bytes."""

from __future__ import annotations

import gc
import io
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock

import progbar
from progbar._files import ProgressFile

PLAIN: dict[str, Any] = {"unit_scale": False}  # exact counts in the lines

TEXT = "héllo wörld\n" * 300 + "ünïcode at the end\n"  # 2 bytes per accented letter


class TickingClock(FakeClock):
    """Moves a second at each read: the lines show a rate (and so the unit)."""

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def options(out: io.StringIO, **kw: Any) -> dict[str, Any]:
    return {"file": out, "dynamic": False, "color": False, "clock": FakeClock(), **PLAIN, **kw}


def real_clock(out: io.StringIO, **kw: Any) -> dict[str, Any]:
    """On the real clock ``progbar.open`` gives the standard library's file, whose
    position the bar follows (nothing of ours runs per read)."""
    return {"file": out, "dynamic": False, "color": False, **PLAIN, **kw}


# Both ways a file is counted: each read moving the bar (an injected clock), and the
# bar following the file's position (the real clock).
BOTH = pytest.mark.parametrize("opts", [options, real_clock], ids=["per-read", "followed"])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    return path


def final(out: io.StringIO) -> str:
    return out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("how", ["read", "read-chunks", "read1", "readinto", "readline",
                                 "readlines", "iterate"])
@pytest.mark.parametrize("followed", [False, True], ids=["per-read", "followed"])
def test_every_read_moves_the_bar_to_the_file_size(data: Path, how: str,
                                                   followed: bool) -> None:
    out = io.StringIO()
    got = b""
    kw = real_clock(out) if followed else options(out, clock=TickingClock())
    with progbar.open(data, **kw) as f:
        if followed:  # the standard library's reads, untouched
            assert type(f).read is io.BufferedReader.read
            assert isinstance(f, io.BufferedReader)
        if how == "read":
            got = f.read()
        elif how == "read-chunks":
            while chunk := f.read(1000):
                got += chunk
        elif how == "read1":
            while chunk := f.read1(1000):
                got += chunk
        elif how == "readinto":
            buffer = bytearray(3000)
            while n := f.readinto(buffer):
                got += bytes(buffer[:n])
        elif how == "readline":
            while line := f.readline():
                got += line
        elif how == "readlines":
            got = b"".join(f.readlines())
        else:
            got = b"".join(f)
        assert f.bar.current == 10240 and f.bar.target == 10240
    assert got == data.read_bytes()
    assert f.closed and f.bar.closed
    assert final(out).startswith("data.bin 10240/10240 100%")
    assert final(out).split()[-1] == "B/s"


@BOTH
def test_text_mode_counts_the_bytes_underneath(tmp_path: Path, opts: Any) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(TEXT, encoding="utf-8")
    size = path.stat().st_size
    assert size > len(TEXT)  # the accented letters take two bytes each
    out = io.StringIO()
    with progbar.open(path, "r", encoding="utf-8", **opts(out)) as f:
        lines = list(f)
        assert isinstance(f, io.TextIOWrapper)
        assert f.buffer.bar.current == size
    assert "".join(lines) == TEXT
    assert f.closed and f.buffer.bar.closed
    assert final(out).startswith(f"notes.txt {size}/{size} 100%")


def test_text_mode_keeps_newline_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a\r\nb\xff\r\n")
    with progbar.open(path, "r", encoding="utf-8", errors="replace", newline="",
                      verbose=0) as f:
        assert f.read() == "a\r\nb\ufffd\r\n"
    with progbar.open(path, "r", encoding="utf-8", errors="replace", verbose=0) as f:
        assert f.read() == "a\nb\ufffd\n"


@BOTH
def test_a_partial_read_closes_at_its_count(data: Path, opts: Any) -> None:
    out = io.StringIO()
    f = progbar.open(data, **opts(out, label="part"))
    f.read(4096)
    f.close()
    f.close()  # idempotent, as a file's close is
    assert final(out).split()[:3] == ["part", "4096/10240", "40%"]
    assert len(out.getvalue().splitlines()) == 1


def test_seek_moves_the_bar_to_the_position(data: Path) -> None:
    with progbar.open(data, verbose=0) as f:
        f.seek(5000)
        assert f.bar.current == 5000
        f.read(100)
        assert f.bar.current == 5100
        f.seek(0)
        assert f.bar.current == 0 and f.tell() == 0


@pytest.mark.parametrize("mode", ["wb", "w", "ab"])
@BOTH
def test_writes_are_counted(tmp_path: Path, mode: str, opts: Any) -> None:
    path = tmp_path / "out.bin"
    out = io.StringIO()
    payload = b"x" * 5000
    with progbar.open(path, mode, **opts(out)) as f:
        if "b" in mode:
            assert f.write(payload) == 5000
            f.writelines([b"yz"] * 3)
        else:
            f.write("é" * 2500)  # 5,000 bytes in UTF-8
            f.writelines(["yz"] * 3)
    assert path.stat().st_size == 5006
    assert final(out).split()[:2] == ["out.bin", "5006"]  # a new file: no target


def test_wrap_file_takes_the_bytes_left(data: Path) -> None:
    out = io.StringIO()
    with open(data, "rb") as raw:
        raw.seek(240)
        with progbar.wrap_file(raw, **options(out, label="rest")) as f:
            assert f.bar.target == 10000
            assert len(f.read()) == 10000
            assert f.name == str(data)  # the file's own attributes show through
        assert raw.closed  # closing the wrapper closes the file
    assert final(out).startswith("rest 10000/10000 100%")


def test_wrap_file_of_a_pipe_has_no_target() -> None:
    r, w = os.pipe()
    os.write(w, b"abc" * 100)
    os.close(w)
    out = io.StringIO()
    with progbar.wrap_file(os.fdopen(r, "rb"), **options(out, label="pipe")) as f:
        assert f.bar.target is None
        assert f.read() == b"abc" * 100
    assert final(out).split()[:2] == ["pipe", "300"]


def test_wrap_file_of_a_text_stream_counts_characters() -> None:
    out = io.StringIO()
    stream = io.StringIO("ab\ncd\n")
    with progbar.wrap_file(stream, target=6, **options(out, label="t", clock=TickingClock())) as f:
        assert list(f) == ["ab\n", "cd\n"]
    assert final(out).startswith("t 6/6 100%")
    assert final(out).split()[-1] == "char/s"


def test_a_missing_file_raises_and_draws_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    with pytest.raises(FileNotFoundError):
        progbar.open(tmp_path / "absent", **options(out))
    assert out.getvalue() == ""


@pytest.mark.parametrize("mode, kw", [("rq", {}), ("rbt", {}), ("rb", {"encoding": "utf-8"})])
def test_bad_modes_raise_as_open_does(data: Path, mode: str, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        open(data, mode, **kw)  # noqa: SIM115 -- the built-in's error...
    with pytest.raises(ValueError):
        progbar.open(data, mode, **kw)  # ...is ours too


def test_unbuffered_text_is_refused_as_open_refuses_it(data: Path) -> None:
    with pytest.raises(ValueError, match="unbuffered text"):
        progbar.open(data, "r", buffering=0)


def test_a_bad_option_closes_the_file(data: Path) -> None:
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError):
        progbar.open(data, verbose=7)
    assert set(os.listdir("/proc/self/fd")) == before


@BOTH
def test_bytes_are_scaled_by_default(data: Path, opts: Any) -> None:
    out = io.StringIO()
    kw = opts(out)
    del kw["unit_scale"]
    with progbar.open(data, **kw) as f:
        f.read()
    assert "10.2/10.2 kB" in final(out)


@pytest.mark.parametrize("mode", ["rbb", "rw", "b", "r++"])
def test_modes_open_refuses_are_refused(data: Path, mode: str) -> None:
    with pytest.raises(ValueError):
        open(data, mode)  # noqa: SIM115
    out = io.StringIO()
    with pytest.raises(ValueError):
        progbar.open(data, mode, **real_clock(out))
    assert out.getvalue() == ""


def test_a_mode_that_is_not_a_string_is_a_type_error(data: Path) -> None:
    with pytest.raises(TypeError, match="must be str"):
        progbar.open(data, 5)  # type: ignore[arg-type]


def test_line_buffering_in_binary_mode_warns_as_open_does(data: Path) -> None:
    with pytest.warns(RuntimeWarning, match="line buffering"):
        f = progbar.open(data, "rb", buffering=1, verbose=0)
    with f:
        assert f.read() == data.read_bytes()


@pytest.mark.parametrize("kw, error", [({"encoding": "no-such-codec"}, LookupError),
                                       ({"newline": "x"}, ValueError)])
@BOTH
def test_a_text_option_open_refuses_draws_nothing(data: Path, kw: dict[str, Any],
                                                  error: type[Exception], opts: Any) -> None:
    out = io.StringIO()
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(error):
        progbar.open(data, "r", **kw, **opts(out))
    assert out.getvalue() == ""
    assert set(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("mode", ["r", "rb", "w", "a+b"])
@BOTH
def test_name_and_mode_are_the_builtins(tmp_path: Path, mode: str, opts: Any) -> None:
    path = tmp_path / "f.txt"
    path.write_text("x")
    with open(path, mode) as plain, progbar.open(path, mode, **opts(io.StringIO())) as ours:
        assert (ours.name, ours.mode) == (plain.name, plain.mode)
        assert isinstance(ours.name, str)


# ---------------------------------------------------------------- a followed position


def test_the_ticker_draws_a_followed_file_where_its_reads_are(data: Path) -> None:
    out = io.StringIO()
    with progbar.open(data, **real_clock(out, dynamic=True, interval=0, label="mid")) as f:
        for _ in range(3):
            f.read(1000)
        assert f.bar.current == 3000  # the reading thread: exact
        # The ticker's turn, from another thread: it reads the raw file's offset,
        # which takes no lock and is at most a buffer ahead of the reads.
        drawn: list[float] = []
        ticker = threading.Thread(target=lambda: (f.bar.tick(), drawn.append(f.bar.current)))
        ticker.start()
        ticker.join()
        assert 3000 <= drawn[0] <= 3000 + io.DEFAULT_BUFFER_SIZE * 2
        last = out.getvalue().split("\r")[-1]
        count = int(last.split()[1].split("/")[0])
        assert 3000 <= count <= drawn[0]  # what was drawn mid-read
        f.read()
    assert final(out).startswith("mid 10240/10240 100%")


def test_other_threads_read_where_the_file_has_read_to(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every thread sees the exact position (buffered bytes not counted), the ticker
    # alone the raw file's offset, which takes no lock and also moves inside one long
    # read() call (it must never wait for a read to end).
    from progbar import _ticker

    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    with progbar.open(path, verbose=0) as f:
        raw = f.raw
        f.read(150_000)
        f.read(10)  # a short read: the buffer reads ahead of it
        ticker = threading.Thread(target=lambda: seen.append(("ticker", f.bar.current)))
        other = threading.Thread(target=lambda: seen.append(("other", f.bar.current)))
        monkeypatch.setattr(_ticker, "on_ticker_thread",
                            lambda: threading.current_thread() is ticker)
        seen: list[tuple[str, float]] = []
        for t in (ticker, other):
            t.start()
            t.join()
        assert seen == [("ticker", raw.tell()), ("other", 150_010)]
        assert raw.tell() > 150_010 and f.bar.current == 150_010


def test_a_file_opened_on_one_thread_and_read_on_another_is_exact(data: Path) -> None:
    with progbar.open(data, verbose=0) as f:
        got: list[float] = []

        def read() -> None:
            f.read(100)
            got.append(f.bar.current)

        t = threading.Thread(target=read)
        t.start()
        t.join()
        assert got == [100] and f.tell() == 100


@pytest.mark.parametrize("followed", [False, True], ids=["per-read", "followed"])
def test_closefd_false_leaves_the_callers_descriptor_open(data: Path, followed: bool) -> None:
    out = io.StringIO()
    fd = os.open(data, os.O_RDONLY)
    try:
        opts = real_clock(out) if followed else options(out)
        with progbar.open(fd, "rb", closefd=False, **opts) as f:
            assert len(f.read()) == 10_240
        os.fstat(fd)  # still open
        assert final(out).startswith("10240/10240 100%")
    finally:
        os.close(fd)


def test_opener_is_the_builtins(data: Path) -> None:
    out = io.StringIO()
    opened: list[str] = []

    def opener(path: str, flags: int) -> int:
        opened.append(path)
        return os.open(path, flags)

    with progbar.open(data, "rb", opener=opener, **real_clock(out)) as f:
        f.read()
    assert opened == [str(data)] and final(out).split()[:3] == ["data.bin", "10240/10240", "100%"]


def test_closefd_false_with_a_name_is_refused_as_open_refuses_it(data: Path) -> None:
    out = io.StringIO()
    with pytest.raises(ValueError, match="closefd"):
        progbar.open(data, "rb", closefd=False, **real_clock(out))
    assert out.getvalue() == ""


def test_detach_ends_the_bar_at_its_count(data: Path) -> None:
    out = io.StringIO()
    f = progbar.open(data, "rb", **real_clock(out))
    f.read(100)
    raw = f.detach()
    try:
        assert f.bar.closed
        assert final(out).split()[:2] == ["data.bin", "100/10240"]
    finally:
        raw.close()


def test_a_wrapped_file_can_be_copied(data: Path) -> None:
    import copy

    with data.open("rb") as raw:
        f = progbar.wrap_file(raw, verbose=0)
        twin = copy.copy(f)
        assert twin.read(10) == bytes(range(10)) and twin.bar is f.bar
        f.close()


def test_a_fifo_is_counted_read_by_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = b"abc" * 10_000

    def feed() -> None:
        with open(fifo, "wb") as w:
            w.write(payload)

    writer = threading.Thread(target=feed)
    writer.start()
    out = io.StringIO()
    with progbar.open(fifo, **real_clock(out, label="fifo")) as f:
        assert isinstance(f, ProgressFile)  # no position to follow
        assert f.bar.target is None
        assert f.read() == payload
        assert f.bar.current == len(payload)
    writer.join()
    assert final(out).split()[:2] == ["fifo", "30000"]


@pytest.mark.parametrize("mode", ["rb", "wb"])
def test_a_file_closed_by_another_thread_closes_at_its_exact_count(
        data: Path, tmp_path: Path, mode: str) -> None:
    # The closing thread reads the buffered file's position, not the raw file's (a
    # buffer ahead when reading, behind when writing).
    out = io.StringIO()
    path = data if mode == "rb" else tmp_path / "out.bin"
    f = progbar.open(path, mode, **real_clock(out))

    def work() -> None:
        with f:
            if mode == "rb":
                assert len(f.read(10)) == 10
            else:
                f.write(b"x" * 100)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if mode == "rb":
        assert f.bar.current == 10 and " 10/10240 " in final(out)
    else:
        assert f.bar.current == 100 and final(out).split()[1:3] == ["100", "B"]


def test_a_followed_file_dropped_unclosed_closes_its_bar(data: Path) -> None:
    out = io.StringIO()
    f = progbar.open(data, **real_clock(out, label="dropped"))
    bar = f.bar
    f.read(5000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # as for any file dropped unclosed
        del f
        gc.collect()
    assert bar.closed
    assert final(out).split()[:3] == ["dropped", "5000/10240", "49%"]


def test_follow_reads_a_count_kept_elsewhere() -> None:
    out = io.StringIO()
    clock = FakeClock()
    box = [0]
    bar = progbar.Progbar(10, file=out, dynamic=False, color=False, clock=clock,
                          label="kept", initial=2)
    bar.follow(lambda: box[0])
    box[0] = 3
    assert bar.current == 5  # the count when it started following, plus the position
    with pytest.raises(RuntimeError):
        bar.follow(lambda: 0)
    with pytest.raises(RuntimeError):
        bar.reset()
    box[0] = 8
    bar.close()
    assert bar.current == 10
    assert final(out).split()[:3] == ["kept", "10/10", "100%"]
    with pytest.raises(RuntimeError):
        bar.follow(lambda: 0)  # closed


def test_a_position_that_fails_shows_its_last_reading() -> None:
    box: list[Any] = [4]

    def position() -> int:
        value = box[0]
        if isinstance(value, Exception):
            raise value
        return int(value)

    out = io.StringIO()
    bar = progbar.Progbar(None, file=out, dynamic=False, color=False, clock=FakeClock(),
                          label="flaky")
    bar.follow(position)
    assert bar.current == 4
    box[0] = OSError("gone")
    assert bar.current == 4  # never raises into whoever asks
    bar.close()
    assert final(out).split()[:2] == ["flaky", "4"]
