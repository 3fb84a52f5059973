"""Several bars at once (design.md, "Several bars"): the block on a real terminal, read
back through pyte mid-run and at the end; the same scripts into a pipe; a property
test over any interleaving of bars and messages."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
import textwrap
from typing import Any

import pyte
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.ptyscreen import PREAMBLE, run_with_checkpoints
from support.reliability import Clock, TTYCapture, cells, set_winsize

from progbar import Progbar

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

NESTED = """
from progbar import track
clock = Clock()
for epoch in (outer := track(range(3), label="epoch", clock=clock, interval={interval})):
    for step in (inner := track(range(50), label="train", clock=clock, interval={interval},
                                leave={leave})):
        clock.t += 0.1
        inner.log(loss=1.0 / (step + 1))
        if epoch == 1 and step == 25:
            inner.write("checkpoint saved")
            checkpoint("mid")
"""

THREADS = """
import threading
from progbar import Progbar
clock = Clock()
ready = threading.Barrier(5)
go = threading.Event()

def work(i):
    bar = Progbar(40, label=f"thread {{i}}", clock=clock, interval={interval})
    for k in range(1, 11 + i):
        bar.update(k, [("loss", 1.0 / k)])
    ready.wait()
    go.wait()
    bar.update(40, [("loss", 0.5)])

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
ready.wait()
checkpoint("mid")
go.set()
for t in threads:
    t.join()
"""

MANY = """
from progbar import Progbar
clock = Clock()
bars = [Progbar(100, label=f"bar {{i:02d}}", clock=clock, interval={interval})
        for i in range(12)]
for k in range(1, 20):
    for i, b in enumerate(bars):
        b.update(k + i, [("loss", 0.5)])
checkpoint("mid")
for b in bars:
    b.update(100)
"""

RESIZE = """
from progbar import Progbar
clock = Clock()
bars = [Progbar(100, label=name, clock=clock, interval={interval})
        for name in ("epoch", "train", "valid")]
metrics = [("loss", 0.25), ("accuracy", 0.5), ("a_long_metric_name", 1.5)]
for k in range(1, 6):
    for b in bars:
        clock.t += 0.1
        b.update(k, metrics)
checkpoint("wide")
for k in range(6, 9):
    for b in bars:
        clock.t += 0.1
        b.update(k, metrics)
checkpoint("narrow")
for b in bars:
    b.close()
"""


def _live(code: str, **kw: Any) -> Any:
    return run_with_checkpoints(code.format(interval=0, leave=kw.pop("leave", True)), **kw)


def _once(rows: list[str], prefix: str) -> str:
    found = [row for row in rows if row.startswith(prefix)]
    assert len(found) == 1, (prefix, rows)
    return found[0]


# --------------------------------------------------------------------------- terminal


def test_nested_loops_show_epoch_above_step_with_records_and_messages_above() -> None:
    run = _live(NESTED, cols=100, rows=12)
    assert run.returncode == 0
    mid = run.rows("mid")
    # epoch 0's step bar finished: its final line is a record, above the block; the
    # message is above the block; the epoch line is above the live step line
    assert mid[0].startswith("train 50/50 100%") and "loss: 0.0900" in mid[0]
    assert mid[1] == "checkpoint saved"
    assert mid[2].startswith("epoch 1/3  33%")
    assert mid[3].startswith("train 25/50  50%")
    assert len(mid) == 4  # nothing else: no duplicate, no stale row
    for row in mid:
        assert cells(row) <= 99
    final = run.rows()
    assert final[0].startswith("train 50/50 100%")
    assert final[1] == "checkpoint saved"
    assert [row.split()[0:2] for row in final[2:]] == [
        ["train", "50/50"], ["train", "50/50"], ["epoch", "3/3"],
    ]
    assert run.raw.endswith(b"\n\x1b[J")  # the cursor ends on a fresh line


def test_transient_inner_bars_vanish() -> None:
    run = _live(NESTED, cols=100, rows=12, leave=False)
    mid = run.rows("mid")
    assert mid[0] == "checkpoint saved"
    assert mid[1].startswith("epoch 1/3")
    assert mid[2].startswith("train 25/50")
    assert len(mid) == 3  # epoch 0's step bar left no line
    final = run.rows()
    assert final == ["checkpoint saved", _once(final, "epoch 3/3 100%")]


def test_four_threads_share_one_block() -> None:
    run = _live(THREADS, cols=80, rows=12)
    assert run.returncode == 0
    mid = run.rows("mid")
    assert len(mid) == 4
    for i in range(4):  # one row per thread, each showing its own count
        row = _once(mid, f"thread {i}")
        assert f"{10 + i}/40" in row
    final = run.rows()
    assert len(final) == 4
    for i in range(4):
        assert "40/40 100%" in _once(final, f"thread {i}")


def test_twelve_bars_on_an_eight_row_terminal() -> None:
    run = _live(MANY, cols=80, rows=8)
    mid = run.rows("mid")
    assert len(mid) == 7  # capped to the terminal: the block never scrolls
    assert [row[:6] for row in mid[:6]] == [f"bar {i:02d}" for i in range(6)]
    assert mid[6] == "… +6 more"
    final = run.rows()  # each bar's record once, in finishing order; the first ones
    assert [row[:14] for row in final] == [f"bar {i:02d} 100/100" for i in range(5, 12)]
    assert run.final[-1] == ""  # scrolled away; the cursor waits on a fresh line


def test_resize_between_two_frames_fits_every_line_again() -> None:
    run = _live(RESIZE, cols=120, rows=20, resize=lambda name: (20, 40) if name == "wide" else None)
    wide = run.rows("wide")
    assert [row.split()[0] for row in wide] == ["epoch", "train", "valid"]
    assert "a_long_metric_name: 1.5000" in wide[0]
    narrow = run.screens["narrow"]
    live = [row for row in narrow if row.startswith(("epoch", "train", "valid"))]
    assert [row.split()[:2] for row in live] == [
        ["epoch", "8/100"], ["train", "8/100"], ["valid", "8/100"],
    ]
    for row in live:
        assert cells(row) <= 39
    final = run.rows()
    for name in ("epoch", "train", "valid"):  # closed: each its record, once, broken
        assert sum(row.startswith(name) for row in final) == 1  # before metrics to fit
    assert all(cells(row) <= 39 for row in final)
    assert final.count(" - a_long_metric_name: 1.5000") == 3


def test_dumb_terminal_gets_no_cursor_movement() -> None:
    run = _live(NESTED, cols=100, rows=12, env={"TERM": "dumb"})
    assert b"\x1b[" not in run.raw.replace(b"\x1b[0m", b"").replace(b"\x1b[1m", b"") \
        .replace(b"\x1b[32m", b"").replace(b"\x1b[2m", b"").replace(b"\x1b[36m", b"")
    final = run.rows()
    assert "checkpoint saved" in final
    assert final[-1].startswith("epoch 3/3 100%")


# --------------------------------------------------------------------------- pipes


def _piped(code: str, leave: bool = True) -> list[str]:
    script = PREAMBLE + textwrap.dedent(code.format(interval="None", leave=leave))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    env["PROGBAR_LOG_INTERVAL"] = "1"
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert not CONTROL.search(res.stdout), repr(res.stdout[:200])
    assert "\x1b" not in res.stdout
    return res.stdout.splitlines()


@pytest.mark.parametrize("leave", [True, False])
def test_nested_loops_into_a_pipe_write_labelled_lines(leave: bool) -> None:
    lines = _piped(NESTED, leave)
    for line in lines:
        assert line.startswith(("epoch ", "train ")) or line == "checkpoint saved", line
    finals = [line for line in lines if line.startswith("train 50/50 100%")]
    assert len(finals) == (3 if leave else 0)  # a transient bar writes no final line
    assert lines[-1].startswith("epoch 3/3 100%")
    assert sum(line.startswith("epoch 3/3") for line in lines) == 1
    assert len(lines) <= 40  # bounded: at most one line a second per bar, plus finals


def test_threads_into_a_pipe() -> None:
    lines = _piped(THREADS)
    assert sorted(line.split()[1] for line in lines if "40/40 100%" in line) == list("0123")
    assert all(line.startswith("thread ") for line in lines)


def test_verbose_2_bars_write_final_lines_in_finishing_order() -> None:
    out = io.StringIO()
    clock = Clock()
    a = Progbar(3, label="a", verbose=2, file=out, clock=clock)
    b = Progbar(3, label="b", verbose=2, file=out, clock=clock)
    a.update(1)
    b.update(3)
    a.update(3)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["b", "a"]


# --------------------------------------------------------------------------- property

ops = st.lists(
    st.tuples(st.sampled_from(["start", "update", "finish", "write"]), st.integers(0, 3),
              st.integers(1, 40), st.booleans()),
    max_size=40,
)


@given(ops=ops, columns=st.integers(20, 200))
def test_any_interleaving_leaves_an_honest_screen(
    ops: list[tuple[str, int, int, bool]], columns: int
) -> None:
    master, slave = pty.openpty()
    rows = 60
    set_winsize(slave, columns, rows)
    out = TTYCapture(slave)
    clock = Clock()
    bars: dict[int, Progbar[Any]] = {}
    leaves: dict[int, bool] = {}
    done: set[int] = set()
    shown: dict[int, int] = {}
    messages = 0
    try:
        for op, i, n, flag in ops:
            clock.now += 0.1
            if op == "start" and i not in bars:
                bars[i] = Progbar(40, label=f"B{i}:", file=out, clock=clock, interval=0,
                                  leave=flag)
                leaves[i] = flag
            elif op == "update" and i in bars and i not in done:
                bars[i].update(min(n, 39), [("loss", n / 7), ("accuracy", 1 / n)])
                shown[i] = min(n, 39)
            elif op == "finish" and i in bars and i not in done:
                if flag:
                    bars[i].update(40, [("loss", 0.5)])
                else:
                    bars[i].close()
                done.add(i)
            elif op == "write" and messages < 8:
                target = bars.get(i)
                text = f"message {messages}"
                if target is not None and i not in done:
                    target.write(text)
                else:
                    Progbar(None, file=out, clock=clock).write(text)
                messages += 1
        screen = pyte.Screen(columns, rows)
        pyte.Stream(screen).feed(out.getvalue().replace("\n", "\r\n"))
        lines = [line.rstrip() for line in screen.display]
        for i in bars:
            starts = [line for line in lines if line.startswith(f"B{i}:")]
            if i in done:
                # a finished bar that leaves has exactly one final line; a transient none
                assert len(starts) == (1 if leaves[i] else 0), (i, lines)
            elif i in shown:
                # a live bar has one row, showing its latest count (nothing stale), fitted
                assert len(starts) == 1, (i, lines)
                assert re.match(rf"B{i}: +{shown[i]}/40 ", starts[0]), (shown[i], starts)
                assert cells(starts[0]) <= columns - 1
            else:
                assert not starts  # started but never drawn
        for k in range(messages):
            assert sum(line == f"message {k}" for line in lines) == 1
    finally:
        for bar in bars.values():
            bar.close()
        os.close(master)
        os.close(slave)


def test_logging_and_print_land_above_the_block() -> None:
    code = """
import logging
import progbar
from progbar import track
clock = Clock()
logging.basicConfig(format="%(levelname)s %(message)s")
with progbar.logging_redirect(stdout=True):
    for epoch in (outer := track(range(2), label="epoch", clock=clock, interval=0)):
        for step in (inner := track(range(20), label="train", clock=clock, interval=0)):
            clock.t += 0.1
            if epoch == 1 and step == 10:
                logging.warning("lr reduced")
                print("printed line")
                checkpoint("mid")
"""
    run = run_with_checkpoints(code, cols=100, rows=12)
    mid = run.rows("mid")
    assert mid[0].startswith("train 20/20 100%")
    assert mid[1:3] == ["WARNING lr reduced", "printed line"]
    assert mid[3].startswith("epoch 1/2") and mid[4].startswith("train 10/20")
    assert len(mid) == 5
    final = run.rows()
    assert final[1:3] == ["WARNING lr reduced", "printed line"]
    assert [row.split()[0] for row in final] == ["train", "WARNING", "printed", "train", "epoch"]


def test_a_bar_dropped_without_closing_leaves_no_block_behind() -> None:
    out = io.StringIO()
    clock = Clock()
    first = Progbar(100, file=out, clock=clock, interval=0, dynamic=True)
    first.update(5)
    del first  # never closed: garbage-collected, its row goes with it
    second = Progbar(100, file=out, clock=clock, interval=0, dynamic=True)
    second.update(7)
    second.update(8)
    assert "\x1b[" not in out.getvalue().replace("\x1b[K", "")  # one line, no block
    assert out.getvalue().rsplit("\r", 1)[-1].startswith("  8/100")
