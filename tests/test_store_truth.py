"""The count and the metrics tell the truth: every call, from any thread, in any mix.

- Random sequences of ``update``/``add``/``log`` (one name per call or several,
  stateful names, new names, bars that never draw, line mode and live) are held
  against a short reference of the documented averaging: ``sum += v * w``,
  ``count += w``, ``w = max(steps the values stand for, 1)``, stateful values shown
  as passed.
- The calls that once took a lock-free path: ``log()`` of a different name at each
  step, many times, on a bar that draws rarely; a stateful name between averaged ones.
- Threads: 8 of them mixing the calls on one bar, at the default switch interval and
  at 1 microsecond, lose no count, no value and no weight, and the final line shows
  the exact means.
"""

from __future__ import annotations

import io
import itertools
import sys
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progbar import Progbar, track

STATEFUL = frozenset({"lr"})


class Reference:
    """The documented averaging, in the plainest code."""

    def __init__(self) -> None:
        self.seen = 0
        self.log_mark = 0
        self.sums: dict[str, list[float]] = {}
        self.last: dict[str, float] = {}

    def record(self, pairs: list[tuple[str, float]], weight: int) -> None:
        for name, v in pairs:
            if name in STATEFUL:
                self.last[name] = v
            else:
                entry = self.sums.setdefault(name, [0.0, 0])
                entry[0] += v * weight
                entry[1] += weight

    def update(self, current: int, pairs: list[tuple[str, float]]) -> None:
        self.record(pairs, max(current - self.seen, 1))
        self.seen = current

    def add(self, n: int, pairs: list[tuple[str, float]]) -> None:
        self.update(self.seen + n, pairs)

    def log(self, pairs: list[tuple[str, float]]) -> None:
        self.record(pairs, max(self.seen - self.log_mark, 1))
        self.log_mark = self.seen


metric_names = st.sampled_from(["loss", "acc", "lr", "task0", "task1", "task2"])
# Multiples of 1/4: every sum below is exact in floats, so == holds.
metric_values = st.integers(-400, 400).map(lambda k: k / 4)
pairs = st.lists(st.tuples(metric_names, metric_values), max_size=3)
calls = st.lists(
    st.one_of(
        st.tuples(st.just("update"), st.integers(-2, 4), pairs),
        st.tuples(st.just("add"), st.integers(1, 3), pairs),
        st.tuples(st.just("log"), st.just(0), pairs),
    ),
    max_size=60,
)
outputs = st.sampled_from(["silent", "line", "live", "line, rarely"])


def _bar(output: str) -> Progbar[Any]:
    options: dict[str, Any] = {"stateful_metrics": STATEFUL, "file": io.StringIO()}
    if output == "silent":
        options["verbose"] = 0
    elif output == "line, rarely":
        options.update(dynamic=False, interval=3600)
    else:
        options["dynamic"] = output == "live"
    return Progbar(None, **options)


def _check(bar: Progbar[Any], ref: Reference) -> None:
    assert bar.current == ref.seen
    totals = bar.totals()
    for name, (total, count) in ref.sums.items():
        assert totals[name] == (total, count), name
    shown = bar.metrics()
    for name, value in ref.last.items():
        assert shown[name] == value, name
    assert set(shown) == set(ref.sums) | set(ref.last)


@given(calls, outputs)
def test_random_calls_equal_the_reference(sequence: list[Any], output: str) -> None:
    bar, ref = _bar(output), Reference()
    for how, n, values in sequence:
        if how == "update":
            current = max(ref.seen + n, 0)
            bar.update(current, values)
            ref.update(current, values)
        elif how == "add":
            bar.add(n, values)
            ref.add(n, values)
        else:
            bar.log(values)
            ref.log(values)
        if len(sequence) < 10:
            _check(bar, ref)  # read mid-way too: reading changes nothing
    _check(bar, ref)
    bar.close()
    _check(bar, ref)


@pytest.mark.parametrize("options", [
    {"verbose": 0}, {"disable": True}, {"verbose": 2}, {"dynamic": False}, {"delay": 3600.0},
], ids=["verbose=0", "disable", "verbose=2", "line mode", "delay"])
def test_log_of_a_different_name_each_step_many_times(options: dict[str, Any]) -> None:
    # Separate log() calls per name, and one name per step (per-task losses), on bars
    # that draw rarely: once raised KeyError after about a thousand calls.
    bar = Progbar(None, file=io.StringIO(), **options)
    for step in range(5000):
        bar.log(loss=1.0)
        bar.log(acc=0.5)
        bar.log(**{f"task{step % 7}": 2.0})
        bar.add(1)
    totals = bar.totals()
    assert totals["loss"] == (5000.0, 5000) and totals["acc"] == (2500.0, 5000)
    assert sum(totals[f"task{k}"][1] for k in range(7)) == 5000
    assert all(totals[f"task{k}"][0] == 2.0 * totals[f"task{k}"][1] for k in range(7))
    bar.close()


def test_a_stateful_log_between_averaged_ones_drops_nothing() -> None:
    # log(lr=...); work; log(loss=...); add(1) -- the values between two stateful
    # records were once thrown away.
    bar = Progbar(None, verbose=0, stateful_metrics=["lr"])
    for step in range(20000):
        bar.log(lr=1e-3 * (step % 10))
        bar.log(loss=0.25)
        bar.add(1)
    assert bar.totals()["loss"] == (5000.0, 20000)
    assert bar.metrics()["lr"] == 1e-3 * 9


def test_logs_inside_a_track_loop_each_stand_for_their_step() -> None:
    bar = track(range(3000), verbose=0, stateful_metrics=["lr"])
    for step in bar:
        bar.log(loss=float(step % 2))
        bar.log(acc=1.0, lr=0.1)
    assert bar.totals()["loss"] == (1500.0, 3000)
    assert bar.totals()["acc"] == (3000.0, 3000)


@pytest.fixture(params=["default", "1us"])
def switch_interval(request: pytest.FixtureRequest) -> Any:
    old = sys.getswitchinterval()
    if request.param == "1us":
        sys.setswitchinterval(1e-6)  # a thread switch wherever the interpreter allows one
    yield
    sys.setswitchinterval(old)


THREADS = 8


def _run_threads(work: Any) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _final_metrics(out: io.StringIO) -> dict[str, str]:
    line = out.getvalue().splitlines()[-1]
    return dict(part.split(": ") for part in line.split(" - ")[1:])


@pytest.mark.parametrize("output", ["line", "silent"])
def test_threads_mixing_add_and_log_lose_nothing(switch_interval: Any, output: str) -> None:
    out = io.StringIO()
    bar = Progbar(None, file=out, dynamic=False, verbose=0 if output == "silent" else 1,
                  stateful_metrics=["lr"])
    bar.add(1, [("loss", 1.0)])  # a known name, and new names from the threads below
    calls = 4000

    def work(i: int) -> None:
        for k in range(calls):
            bar.log(loss=1.0)
            bar.log(half=0.5, lr=float(i))
            if k % 3 == 0:
                bar.add(1, [("loss", 1.0), (f"thread{i}", 2.0)])
            elif k % 3 == 1:
                bar.add(1, {"half": 0.5})
            else:
                bar.add(1)

    _run_threads(work)
    assert bar.current == 1 + THREADS * calls
    totals = bar.totals()
    loss, w = totals["loss"]
    assert loss == w  # every value 1.0: the mean is exactly 1
    assert w >= 1 + THREADS * calls  # each log and each add stands for a step at least
    half, w = totals["half"]
    assert half == 0.5 * w
    for i in range(THREADS):
        assert totals[f"thread{i}"] == (2.0 * len(range(0, calls, 3)), len(range(0, calls, 3)))
    assert bar.metrics()["lr"] in {float(i) for i in range(THREADS)}
    bar.close()
    if output == "line":
        shown = _final_metrics(out)
        assert shown["loss"] == "1.0000" and shown["half"] == "0.5000"


def test_threads_mixing_update_and_log_keep_every_sum_exact(switch_interval: Any) -> None:
    out = io.StringIO()
    bar = Progbar(None, file=out, dynamic=False)
    steps = itertools.count(1)  # each update() moves to a new step
    lock = threading.Lock()

    def work(i: int) -> None:
        for _ in range(3000):
            with lock:
                step = next(steps)
            bar.update(step, [("loss", 0.5), (f"new{i}", 1.0)])
            bar.log(acc=0.25)

    _run_threads(work)
    totals = bar.totals()
    loss, w = totals["loss"]
    assert loss == 0.5 * w and w >= THREADS * 3000
    acc, w = totals["acc"]
    assert acc == 0.25 * w and w >= THREADS * 3000
    for i in range(THREADS):
        total, w = totals[f"new{i}"]
        assert total == w >= 3000
    bar.close()
    shown = _final_metrics(out)
    assert shown["loss"] == "0.5000" and shown["acc"] == "0.2500"
