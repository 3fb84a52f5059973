"""The hot calls: log(), update() and add() between renders, the count limit that
decides when a render is due, and the ticker thread drawing live counting bars.

Values must read back exactly as if each were applied at once, in call order (the
reference model is tests/test_store_truth.py); a live bar moved by add() must be
drawn on time even when its calls stop coming.  No sleeps: the ticker cases wait on
an event with a generous cap, idle time is an injected clock.
"""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys
import threading
import weakref
from decimal import Decimal
from typing import Any

from conftest import FakeClock, Screen

from progbar import Progbar, _ticker, track


def _silent(**kw: object) -> Progbar[object]:
    return Progbar(None, verbose=0, **kw)  # type: ignore[arg-type]


def test_logged_values_read_back_in_call_order() -> None:
    bar = _silent(stateful_metrics=["lr"])
    for k in range(1, 101):
        bar.log(loss=float(k), acc=k % 2, lr=0.1 * k)
    # read mid-way
    assert bar.metrics() == {"loss": 50.5, "acc": 0.5, "lr": 0.1 * 100}
    for _ in range(50):
        bar.log(loss=1.0)  # other names than before: applied one by one, in order
    bar.log(loss=1.0, note="warm")  # a str: the general code, after what waits
    for _ in range(10):
        bar.log(loss=1.0, acc=1, extra=2.0)  # a new name mid-way
    totals = bar.totals()
    assert totals["loss"] == (5050.0 + 61.0, 161)
    assert totals["acc"] == (50 + 10, 110)
    assert totals["extra"] == (20.0, 10)
    assert bar.metrics()["note"] == "warm"
    assert list(bar.metrics()) == ["loss", "acc", "lr", "note", "extra"]  # first seen


def test_logged_ints_beyond_a_float_stay_exact() -> None:
    bar = _silent()
    for _ in range(20):
        bar.log(big=10**400, small=1)
    shown = bar.metrics()
    assert shown["big"] == "1.0000e+400" and shown["small"] == 1.0
    assert bar.totals()["big"][1] == 20


def test_a_log_stands_for_the_steps_since_the_last_one() -> None:
    bar = _silent()
    bar.update(0)
    bar.log(loss=1.0)
    bar.update(10)
    bar.log(loss=3.0)  # stands for the 10 steps since the last log
    assert bar.totals()["loss"] == (1.0 + 30.0, 11)


def test_threads_logging_and_adding_lose_nothing() -> None:
    import sys

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a thread switch wherever the interpreter allows one
    try:
        bar = Progbar(None, file=io.StringIO(), dynamic=False)
        bar.log(loss=1.0)
        bar.add(1, [("acc", 1.0)])

        def work() -> None:
            for k in range(5000):
                bar.log(loss=1.0)
                if k % 3:
                    bar.add(1)
                else:
                    bar.add(1, [("acc", 1.0)])

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    totals = bar.totals()
    assert bar.current == 8 * 5000 + 1
    assert totals["acc"] == (float(8 * 1667 + 1), 8 * 1667 + 1)
    # each log stands for the steps since the previous one (at least 1): the mean
    # stays exact, and no log is lost
    loss_total, loss_count = totals["loss"]
    assert loss_total == loss_count >= 8 * 5000 + 1
    bar.close()


def test_a_malformed_list_after_a_slow_path_leaves_count_and_sums() -> None:
    bar = Progbar(100, file=io.StringIO(), dynamic=False, clock=FakeClock())
    bar.add(1, [("loss", 1.0)])
    bar.add(2, [("loss", 2.0)])
    before = (bar.current, bar.totals())
    try:
        bar.add(1, [("loss", 5.0), ("bad",)])
    except TypeError as e:
        assert "pairs" in str(e)
    else:
        raise AssertionError("a malformed list must raise")
    assert (bar.current, bar.totals()) == before


def test_repeated_and_mixed_pairs_are_each_recorded_once() -> None:
    # Known numbers, text, new names and the same pair object repeated, in one list:
    # every value is recorded once, in order.
    for weight in (1, 3):
        bar = _silent()
        ok = ("loss", 0.5)
        text = ("phase", "warm-up")  # not a number: the general code shows it as passed
        bar.update(weight, [ok, ("acc", 1.0)])  # names known to the fast path
        bar.update(2 * weight, [ok, ok, text, text, ("acc", 0.25), ("new", 2.0)])
        bar.add(weight, [ok, ("new", 4.0), ok, text])
        totals = bar.totals()
        assert totals["loss"] == (0.5 * weight * 5, weight * 5)
        assert totals["acc"] == (1.0 * weight + 0.25 * weight, 2 * weight)
        assert totals["new"] == (2.0 * weight + 4.0 * weight, 2 * weight)
        assert bar.current == 3 * weight
        assert bar.metrics()["phase"] == "warm-up"
        bar.close()


def test_a_counting_loop_that_stalls_is_drawn_by_the_ticker() -> None:
    # 5,000 instant add(1) calls grow the clock stride past the 16 a bar without the
    # ticker keeps; then the loop stalls.  Only the ticker can draw "5000/6000" now.
    screen = Screen("5000/6000")
    bar = Progbar(6000, file=screen, dynamic=True, color=False)
    for _ in range(5000):
        bar.add(1)
    assert bar in _ticker.registered()
    assert screen.seen.wait(timeout=30) is True
    for _ in range(1000):
        bar.add(1)
    assert bar.current == 6000 and bar not in _ticker.registered()  # finished: off the ticker
    bar.close()
    assert screen.getvalue().endswith("\n")
    assert screen.getvalue().rsplit("\r", 1)[-1].startswith("6000/6000")


def test_a_counting_bar_dropped_without_close_leaves_the_ticker() -> None:
    bar = Progbar(10**6, file=io.StringIO(), dynamic=True)
    for _ in range(2000):
        bar.add(1)
    assert bar in _ticker.registered()
    ref = weakref.ref(bar)
    del bar
    gc.collect()
    assert ref() is None  # the ticker holds no strong reference
    assert all(bar is not None for bar in _ticker.registered())


def test_a_bar_the_ticker_drew_goes_away_once_dropped(monkeypatch: Any) -> None:
    # The ticker thread must keep no reference to a bar between its rounds: a bar
    # dropped without close() goes away, and the next bar on its stream draws over
    # its line, not a two-row block below it (which also cost a frame per render).
    rounds = threading.Event()
    real_round = _ticker._round

    def counted_round() -> None:
        real_round()
        rounds.set()

    monkeypatch.setattr(_ticker, "_round", counted_round)
    screen = Screen("5000/6000")
    bar = Progbar(6000, file=screen, dynamic=True, color=False)
    for _ in range(5000):
        bar.add(1)
    assert screen.seen.wait(timeout=30) is True  # the ticker drew it (the loop stalled)
    ref = weakref.ref(bar)
    rounds.clear()
    del bar
    assert rounds.wait(timeout=30) is True  # the round that drew it is over
    gc.collect()
    assert ref() is None
    after = Progbar(10, file=screen, dynamic=True, color=False)
    after.update(3)
    assert not after._display._block
    tail = screen.getvalue().rsplit("5000/6000", 1)[-1]
    assert "\x1b[J" not in tail and tail.rsplit("\r", 1)[-1].startswith(" 3/10")
    after.close()


def test_the_ticker_never_waits_for_a_busy_bar() -> None:
    # While the bar's own thread holds its lock (drawing), a tick leaves it alone at
    # once: waiting would make every release of the lock wake the ticker thread.
    out = io.StringIO()
    bar = Progbar(10**6, file=out, dynamic=True, interval=0)
    for _ in range(2000):
        bar.add(1)
    assert bar in _ticker.registered()
    with bar._lock:  # (the real ticker thread skips it now too)
        drawn = out.getvalue()
        ticker = threading.Thread(target=bar.tick)
        ticker.start()
        ticker.join(timeout=30)
        assert not ticker.is_alive()
        assert out.getvalue() == drawn  # skipped, not queued
    bar.tick()  # free again: the tick draws the count
    assert out.getvalue().rsplit("\r", 1)[-1].lstrip().startswith("2000/1000000")
    bar.close()


def test_the_ticker_repeats_no_line_the_bar_has_just_written() -> None:
    out = io.StringIO()
    bar = Progbar(10**6, file=out, dynamic=False, interval=0)  # a line at every call
    with bar._lock:  # (keeps the real ticker thread off while the test looks)
        for _ in range(100):
            bar.add(1)
        assert bar in _ticker.registered()
        written = out.getvalue()
        assert written.splitlines()[-1].lstrip().startswith("100/1000000")
        bar.tick()  # the count it would show is on the last line
        assert out.getvalue() == written
        bar.add(1)
        bar.tick()
    assert out.getvalue().count("101/1000000") == 1
    bar.close()


def test_an_idle_counting_bar_leaves_the_ticker_and_comes_back() -> None:
    bar = Progbar(10**6, file=io.StringIO(), dynamic=True)
    for _ in range(2000):
        bar.add(1)
    assert bar in _ticker.registered()
    now = [bar._clock() + 1.0]  # past the render interval
    real = bar._clock
    bar._clock = lambda: now[0]  # the ticker's view of time, stepped by hand
    bar.tick()  # draws the moved count
    assert bar._tick_mark == 2000
    now[0] += _ticker.IDLE_EXIT + 0.5
    bar.tick()  # nothing moved for longer than the idle limit
    assert bar not in _ticker.registered()
    bar._clock = real
    bar.add(1)  # the next call takes the slow path, which registers it again
    assert (bar in _ticker.registered()) and bar.current == 2001
    bar.close()
    assert bar not in _ticker.registered()


def test_injected_clock_bars_never_use_the_ticker_and_line_mode_bars_do() -> None:
    a = Progbar(10**6, file=io.StringIO(), dynamic=True, clock=FakeClock())
    b = Progbar(10**6, file=io.StringIO(), dynamic=False)
    for _ in range(3000):
        a.add(1)
        b.add(1)
    assert a not in _ticker.registered() and (b in _ticker.registered())
    assert a._clock_every == 0  # an injected clock is read at every call
    assert b._clock_every > 16  # a log on the real clock: the stride grows too
    a.close()
    b.close()
    assert b not in _ticker.registered()


def test_a_counting_loop_that_stalls_gets_its_log_line_from_the_ticker() -> None:
    # Line mode (a log file, CI): once the stride has grown, a loop that stalls still
    # gets its line when the interval is up -- written by the ticker thread.
    screen = Screen("5000/6000")
    bar = Progbar(6000, file=screen, dynamic=False, interval=0.05)
    for _ in range(5000):
        bar.add(1)
    assert bar in _ticker.registered()
    assert screen.seen.wait(timeout=30) is True
    for _ in range(1000):
        bar.add(1)
    bar.close()
    lines = screen.getvalue().splitlines()
    assert "\r" not in screen.getvalue() and "\x1b" not in screen.getvalue()
    assert any(line.startswith("5000/6000") for line in lines)
    assert lines[-1].startswith("6000/6000") and lines.count(lines[-1]) == 1


def test_update_and_add_reaching_the_target_finalize_once() -> None:
    for step in ("update", "add"):
        out = io.StringIO()
        bar = Progbar(5000, file=out, dynamic=False)
        for i in range(1, 5001):
            if step == "update":
                bar.update(i, [("loss", 1.0)])
            else:
                bar.add(1, [("loss", 1.0)])
        lines = out.getvalue().splitlines()
        assert lines[-1].startswith("5000/5000 100%") and "loss: 1.0000" in lines[-1]
        assert sum("5000/5000" in line for line in lines) == 1
        bar.close()
        assert out.getvalue().count("5000/5000") == 1


def test_track_then_log_after_the_loop_uses_the_count_reached() -> None:
    bar = track(range(10), file=io.StringIO(), dynamic=False, clock=FakeClock())
    for _ in bar:
        bar.log(loss=Decimal(1))  # not an int/float: the general code, each step
    assert bar.totals()["loss"][1] == 10


FORK_WHILE_DRAWING = """
import os, sys, threading
from progbar import Progbar
out = open(sys.argv[1], "w")
bar = Progbar(10**6, file=out, dynamic=False)  # a log on the real clock: on the ticker
for _ in range(3000):
    bar.add(1)
from progbar import _ticker
assert bar in _ticker.registered()
held, go_on = threading.Event(), threading.Event()

def draw():  # what the ticker thread does while it draws the bar
    with bar._display.lock:
        held.set()
        go_on.wait()

drawing = threading.Thread(target=draw)
drawing.start()
held.wait()
pid = os.fork()
if pid == 0:  # the drawing thread does not exist here: its lock must not be waited for
    bar.add(5)
    bar.write("from the child")
    bar.close()
    os._exit(0)
go_on.set()
drawing.join()
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
bar.close()
print("parent done")
"""


def test_a_child_forked_while_the_ticker_draws_can_use_the_bar(tmp_path: Any) -> None:
    script = tmp_path / "fork.py"
    script.write_text(FORK_WHILE_DRAWING)
    proc = subprocess.run([sys.executable, "-W", "ignore", str(script), str(tmp_path / "log")],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0 and proc.stdout == "parent done\n", proc.stderr
    log = (tmp_path / "log").read_text()
    assert "child" not in log and log.splitlines()[-1].lstrip().startswith("3000/1000000")
