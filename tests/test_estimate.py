"""``bar.rate`` and ``bar.eta``: the bar's estimate as of the moment they are read, on
its clock, leaving the estimate as it is (the next frame shows the same)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import FakeClock

from progbar import Progbar


def _bar(target: float | None, style: str = "default", **kw: Any) -> tuple[Progbar[Any], FakeClock]:
    clock = FakeClock(0.0)
    return Progbar(target, style=style, clock=clock, file=io.StringIO(), dynamic=False,
                   **kw), clock


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_nothing_to_tell_before_the_first_step(style: str) -> None:
    bar, clock = _bar(100, style)
    clock.now = 5.0
    assert bar.rate is None and bar.eta is None
    bar.close()


def test_rate_and_eta_follow_the_clock_between_lines() -> None:
    bar, clock = _bar(100, verbose=0)
    clock.now = 10.0
    bar.update(10)
    assert bar.rate == pytest.approx(1.0) and bar.eta == pytest.approx(90.0)
    clock.now = 20.0  # no step for 10 s: the estimate as of now, not as of the last line
    assert bar.rate == pytest.approx(0.5) and bar.eta == pytest.approx(180.0)


def test_reading_them_changes_nothing_the_next_frame_shows() -> None:
    read, clock_a = _bar(100, interval=0)
    unread, clock_b = _bar(100, interval=0)
    for step in range(1, 31):
        for bar, clock in ((read, clock_a), (unread, clock_b)):
            clock.now += 0.5 if step > 1 else 3.0  # a slow first step
            bar.update(step)
        assert read.eta is not None and read.rate is not None
    assert read.file.getvalue() == unread.file.getvalue()  # type: ignore[attr-defined]


def test_the_keras_style_leaves_step_one_out() -> None:
    bar, clock = _bar(100, style="keras")
    clock.now = 5.0
    bar.update(1)  # compilation
    for step in range(2, 12):
        clock.now += 0.1
        bar.update(step)
    assert bar.rate == pytest.approx(10.0)
    assert bar.eta == pytest.approx(8.9)


def test_no_target_has_a_rate_and_no_eta_and_a_finished_bar_has_none_left() -> None:
    bar, clock = _bar(None, verbose=0)
    clock.now = 2.0
    bar.update(4)
    assert bar.rate == pytest.approx(2.0) and bar.eta is None
    bar.target = 4
    assert bar.eta == 0.0


def test_inside_a_track_loop() -> None:
    from progbar import track

    clock = FakeClock(0.0)
    bar = track(range(10), clock=clock, verbose=0)
    seen = []
    for _ in bar:
        seen.append(bar.eta)
        clock.now += 1.0
    assert seen[0] is None  # no step done yet while the first body runs
    assert seen[-1] == pytest.approx(1.0)  # nine done in nine seconds, one to go
