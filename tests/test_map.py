"""progbar.map: results in order on real thread and process pools, the bar moving as items
finish, the first error propagated after cancelling the rest, Ctrl-C on a real pty."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import textwrap
import threading
import traceback
from pathlib import Path
from typing import Any

import pyte
import pytest

import progbar

REPO = Path(__file__).resolve().parent.parent


class Watching(io.StringIO):
    """A live stream that runs ``then`` once a given text has been drawn."""

    def __init__(self, wanted: str, then: Any) -> None:
        super().__init__()
        self.wanted, self.then, self.fired = wanted, then, False

    def write(self, text: str) -> int:
        if not self.fired and self.wanted in text:
            self.fired = True
            self.then()
        return super().write(text)


def square(x: int) -> int:
    return x * x


def power(x: int, y: int) -> int:
    return x**y


def fail_on_three(x: int) -> int:
    if x == 3:
        raise KeyError(f"item {x}")
    return x


def wait_on_fifo_for_the_last(path_and_item: tuple[str, int]) -> int:
    """The last item waits (at most 30 s) until the parent's bar shows the others
    done: proof that a worker's counts reach the bar while its chunk still runs."""
    path, item = path_and_item
    if item == 4:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready and os.read(fd, 1) == b"x", "the bar never showed 4/5"
        finally:
            os.close(fd)
    return item


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


@pytest.mark.parametrize("processes", [False, True])
@pytest.mark.parametrize("chunksize", [1, 3])
def test_results_in_order(processes: bool, chunksize: int) -> None:
    out = io.StringIO()
    got = progbar.map(square, range(50), workers=3, processes=processes, chunksize=chunksize,
                      file=out, dynamic=False, label="squares")
    assert got == [x * x for x in range(50)]
    assert lines(out)[-1].split()[:3] == ["squares", "50/50", "100%"]
    assert lines(out)[-1].split()[-1] == "item/s"


def test_several_iterables_zip_as_map_does() -> None:
    assert progbar.map(power, [2, 3, 4], [5, 2], verbose=0) == [32, 9]


def test_nothing_to_do() -> None:
    out = io.StringIO()
    assert progbar.map(square, [], file=out, dynamic=False) == []
    assert lines(out)[-1].split()[0] == "0/0"


def test_threads_count_each_item_as_it_finishes() -> None:
    # one worker: item 4 starts only when 0-3 have ended, and waits until the bar
    # shows those four -- it never would if the bar moved only at the end
    shown = threading.Event()

    def work(item: int) -> int:
        if item == 4:
            assert shown.wait(30), "the bar never showed 4/5"
        return item

    stream = Watching("4/5", shown.set)
    assert progbar.map(work, range(5), workers=1, file=stream, dynamic=True) == list(range(5))
    assert lines(stream)[-1].split()[0] == "5/5"


def test_processes_count_through_the_handle_as_items_finish(tmp_path: Path) -> None:
    fifo = str(tmp_path / "go")
    os.mkfifo(fifo)

    def release() -> None:
        fd = os.open(fifo, os.O_WRONLY)  # the worker has the read end open already
        os.write(fd, b"x")
        os.close(fd)

    stream = Watching("4/5", release)
    items = [(fifo, i) for i in range(5)]
    # one chunk of all five items in one worker: only the handle can move the bar
    got = progbar.map(wait_on_fifo_for_the_last, items, workers=1, processes=True,
                      chunksize=5, file=stream, dynamic=True)
    assert got == list(range(5))
    assert stream.fired


def test_first_error_propagates_with_its_traceback_and_cancels_the_rest() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        return fail_on_three(item)

    out = io.StringIO()
    with pytest.raises(KeyError, match="item 3") as caught:
        progbar.map(work, range(200), workers=1, file=out, dynamic=False)
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "fail_on_three"  # the frame that raised, in the worker
    assert max(started) <= 4 and len(started) <= 5  # at most the one picked up meanwhile
    assert lines(out)[-1].split()[0] == "3/200"  # the bar is closed at the true count


def test_first_error_in_a_process_pool() -> None:
    with pytest.raises(KeyError, match="item 3") as caught:
        progbar.map(fail_on_three, range(20), workers=2, processes=True, verbose=0)
    # the worker's traceback comes along, as concurrent.futures attaches it
    assert "fail_on_three" in str(caught.value.__cause__)


@pytest.mark.parametrize("kw", [{"chunksize": 0}, {"workers": 0}, {"chunksize": 1.5}])
def test_bad_arguments(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        progbar.map(square, range(3), verbose=0, **kw)


def test_no_iterable_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        progbar.map(square)


# --------------------------------------------------------------------------- Ctrl-C

CHILD = """
import os, sys, threading
import progbar

ready = int(sys.argv[1])
release = threading.Event()
started = []

def work(item):
    started.append(item)
    if item >= 3:
        if item == 3:
            os.write(ready, b"r")  # items 0-2 are done; 3 and 4 now block
        release.wait(60)
    return item

try:
    progbar.map(work, range(50), workers=2, interval=0)
except KeyboardInterrupt as exc:
    release.set()
    sys.stdout.write(f"CAUGHT plain={type(exc) is KeyboardInterrupt} started={max(started)}\\n")
"""

WRAPPER = ("import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0);"
           "os.execv(sys.executable, [sys.executable] + sys.argv[1:])")


def test_ctrl_c_on_a_real_terminal_cancels_and_leaves_a_fresh_line(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    master, slave = pty.openpty()
    ready_r, ready_w = os.pipe()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), COLUMNS="80", LINES="24")
    proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(script), str(ready_w)],
                            stdin=slave, stdout=slave, stderr=slave, pass_fds=(ready_w,),
                            env=env, cwd=str(REPO))
    os.close(slave)
    os.close(ready_w)
    data = bytearray()

    def drain(timeout: float) -> bool:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return False
        data.extend(chunk)
        return bool(chunk)

    try:
        assert select.select([ready_r], [], [], 60)[0], "the child never got to item 3"
        while b"3/50" not in data:  # ^C drops output not yet read: read the bar first
            assert drain(30), data
        os.write(master, b"\x03")
        while drain(60):
            pass
        assert proc.wait(60) == 0, data.decode(errors="replace")
    finally:
        proc.kill()
        os.close(master)
        os.close(ready_r)
    screen = pyte.Screen(80, 24)
    pyte.ByteStream(screen).feed(bytes(data))
    rows = [row.rstrip() for row in screen.display if row.strip()]
    caught = [row for row in rows if "CAUGHT" in row]
    assert caught and caught[0].startswith("CAUGHT plain=True"), rows  # column 0
    assert int(caught[0].split("started=")[1]) < 10, rows  # the rest was cancelled
    bars = [row for row in rows if "/50" in row]
    assert len(bars) == 1 and bars[0].split()[0] == "3/50", rows  # closed at the true count
