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
    kw.setdefault("dynamic", False)
    return Progbar(target, style=style, clock=clock, file=io.StringIO(), **kw), clock


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


# --------------------------------------------------------------------------- the default
# style's estimate on small constructed traces (design.md, "The estimate")

def _run(steps: list[float], target: int, **kw: Any) -> tuple[Progbar[Any], FakeClock]:
    """A bar moved one step after each of ``steps`` seconds."""
    bar, clock = _bar(target, **kw)
    for i, seconds in enumerate(steps, 1):
        clock.now += seconds
        bar.update(i)
    return bar, clock


def test_a_slow_first_step_is_left_out() -> None:
    # step one compiles (30 s), the others take 1 s
    bar, _ = _run([30.0] + [1.0] * 9, 100)
    assert bar.eta == pytest.approx(90.0, rel=0.02)
    assert bar.rate == pytest.approx(1.0, rel=0.02)


def test_a_first_step_no_slower_than_the_others_counts() -> None:
    bar, _ = _run([1.2] + [1.0] * 9, 100)  # (the mean of all ten: 1.02 s)
    assert bar.eta == pytest.approx(90 * 1.02, rel=0.01)


def test_pauses_every_n_steps_are_learned_and_counted_for_those_to_come() -> None:
    # 1 s steps; an evaluation of 30 s after every 20th step, inside the bar
    steps = [1.0 + (30.0 if i % 20 == 0 else 0.0) for i in range(1, 51)]
    bar, _ = _run(steps, 100)
    true_left = 50 * 1.0 + 2 * 30.0  # evaluations after steps 60 and 80 are to come
    assert bar.eta == pytest.approx(true_left, rel=0.1)
    # the pace shown is the steps', pauses spread in; a pause is not a change of pace
    assert 1.0 < 1 / bar.rate < 2.5  # type: ignore[operator]


def test_the_step_after_a_pause_does_not_throw_the_estimate() -> None:
    before, _ = _run([1.0] * 30, 100)
    after, _ = _run([1.0] * 29 + [61.0], 100)  # a checkpoint of a minute before step 30
    assert before.eta == pytest.approx(70.0, rel=0.02)
    # one pause in 30 steps, spread over the 70 to come -- not the pace of that one
    # step, as an exponential average takes it (tqdm: 0.3 x 61 + 0.7 x 1 = 19 s/step)
    assert after.eta == pytest.approx(70 * (1 + 60 / 30), rel=0.1)


def test_a_rate_that_halves_is_followed() -> None:
    # 1 s steps for 200 steps, then 2 s steps: after 40 slow steps the estimate is
    # the new pace's, not the mean since the start (1.17 s)
    bar, _ = _run([1.0] * 200 + [2.0] * 40, 1000)
    assert bar.rate == pytest.approx(0.5, rel=0.05)
    assert bar.eta == pytest.approx(760 * 2.0, rel=0.15)


def test_a_pace_that_moves_back_and_forth_is_expected_to_revert() -> None:
    # a download whose bandwidth switched from 1 to 4 steps/s and back twice: the pace
    # now is expected to last as long as paces have lasted, the mean after that
    steps = ([1.0] * 100 + [0.25] * 400) * 2 + [1.0] * 100
    bar, _ = _run(steps, 5000)
    eta = bar.eta
    assert eta is not None
    all_at_the_slow_pace = 3900 * 1.0
    assert eta < all_at_the_slow_pace * 0.8


def test_steady_noisy_steps_give_the_mean() -> None:
    import random

    rng = random.Random(7)
    steps = [rng.lognormvariate(0, 0.3) for _ in range(300)]
    bar, _ = _run(steps, 600)
    mean = sum(steps[1:]) / 299
    assert bar.eta == pytest.approx(300 * mean, rel=0.05)


def test_the_eta_never_reads_zero_while_steps_remain() -> None:
    bar, clock = _run([1.0] * 10, 11)
    clock.now += 50.0  # the last step is long overdue
    eta = bar.eta
    assert eta is not None and eta > 0
    line = bar.file.getvalue()  # type: ignore[attr-defined]
    bar.refresh()
    assert "<0:00 " not in bar.file.getvalue()[len(line):]  # type: ignore[attr-defined]


def test_the_time_since_the_last_step_is_behind_us() -> None:
    bar, clock = _run([2.0] * 10, 100)
    first = bar.eta
    clock.now += 1.0  # half a step later
    assert bar.eta == pytest.approx(first - 1.0)  # type: ignore[operator]


# --------------------------------------------------------------------------- nesting:
# what earlier epochs taught, and the whole run

def _epoch(outer_clock: FakeClock, sink: io.StringIO, *, train: float = 1.0,
           first: float = 1.0, val: float = 0.5, gap: float = 0.0,
           probe: Any = None) -> None:
    """One epoch: 20 train steps (the first taking ``first``), 10 validation steps and
    a ``gap`` (a checkpoint) after them."""
    bar = Progbar(20, label="train", clock=outer_clock, file=sink)
    if probe is not None:
        probe(bar)
    for i in range(1, 21):
        outer_clock.now += first if i == 1 else train
        bar.update(i)
    bar.close()
    v = Progbar(10, label="val", clock=outer_clock, file=sink)
    for i in range(1, 11):
        outer_clock.now += val
        v.update(i)
    v.close()
    outer_clock.now += gap


def test_a_bar_starts_from_what_the_last_one_of_its_label_learned() -> None:
    clock, sink = FakeClock(0.0), io.StringIO()
    seen: list[float | None] = []
    epochs = Progbar(3, label="epoch", clock=clock, file=sink)
    epochs.update(0)  # counting: the bars started from now on are its inner bars
    for e in range(3):
        _epoch(clock, sink, first=10.0, probe=lambda bar: seen.append(bar.eta))
        epochs.update(e + 1)
    epochs.close()
    # epoch one's train bar cannot tell before its first step; epoch two's can: 20
    # steps at the pace learned (a warm-up seen once, compiling say, is not expected
    # again); epoch three's has seen it twice: it comes again (workers that restart)
    assert seen[0] is None
    assert seen[1] == pytest.approx(20 * 1.0, rel=0.05)
    assert seen[2] == pytest.approx(20 * 1.0 + 9.0, rel=0.05)


def test_a_bar_started_beside_another_is_not_its_inner_bar() -> None:
    clock, sink = FakeClock(0.0), io.StringIO()
    first = Progbar(10, clock=clock, file=sink)
    second = Progbar(10, clock=clock, file=sink)  # the first has not moved: no nesting
    for i in range(1, 11):
        clock.now += 1.0
        first.update(i)
    assert first.eta == 0.0
    for i in range(1, 6):
        clock.now += 2.0
        second.update(i)
    assert second.eta == pytest.approx(10.0)


def test_the_outer_bar_estimates_the_whole_run_validation_and_pauses_included() -> None:
    clock, sink = FakeClock(0.0), io.StringIO()
    readings = []
    epochs = Progbar(5, label="epoch", clock=clock, file=sink)
    epochs.update(0)

    def probe(bar: Progbar[Any]) -> None:
        readings.append((clock.now, epochs.eta))

    for e in range(5):
        _epoch(clock, sink, gap=15.0, first=5.0 if e == 0 else 1.0, probe=probe)
        epochs.update(e + 1)
    end = clock.now
    epochs.close()
    # an epoch: 20 s of training, 5 s of validation, 15 s of checkpoint
    for at, eta in readings[1:]:
        assert eta == pytest.approx(end - at, rel=0.03)
    # a per-epoch ETA x epochs left, what people compute by hand, misses half
    assert readings[1][1] > 1.8 * (4 * 20.0)


def test_the_outer_bar_mid_epoch_adds_the_phases_not_yet_begun() -> None:
    clock, sink = FakeClock(0.0), io.StringIO()
    epochs = Progbar(3, label="epoch", clock=clock, file=sink)
    epochs.update(0)
    _epoch(clock, sink, gap=15.0)
    epochs.update(1)
    bar = Progbar(20, label="train", clock=clock, file=sink)
    for i in range(1, 11):
        clock.now += 1.0
        bar.update(i)
    # this epoch: 10 s of training, 5 s of validation, 15 s of checkpoint; one more
    # epoch of 40 s
    assert epochs.eta == pytest.approx(10 + 5 + 15 + 40, rel=0.03)
    bar.close()
    epochs.close()


def test_a_silent_outer_bar_estimates_the_run_too() -> None:
    # what the framework adapters do: an epoch bar of their own, verbose=0
    clock, sink = FakeClock(0.0), io.StringIO()
    epochs = Progbar(4, verbose=0, clock=clock)
    epochs.update(0)
    for e in range(2):
        _epoch(clock, sink)
        epochs.update(e + 1)
    assert epochs.eta == pytest.approx(2 * 25.0, rel=0.03)
    epochs.close()


def test_inner_bars_in_a_few_steps_only_leave_the_bars_own_estimate() -> None:
    # an evaluation bar every 10 training steps, as Lightning and HF show them: the
    # training bar is no epoch bar, its evaluations are pauses it learns
    clock, sink = FakeClock(0.0), io.StringIO()
    train = Progbar(100, label="train", clock=clock, file=sink)
    for i in range(1, 51):
        clock.now += 1.0
        train.update(i)
        if i % 10 == 0:
            ev = Progbar(5, label="eval", clock=clock, file=sink)
            for j in range(1, 6):
                clock.now += 2.0
                ev.update(j)
            ev.close()
    # 50 steps and 4 evaluations (of 10 s) to come (the one after step 100 is not the
    # bar's), the one after step 50 just done
    assert train.eta == pytest.approx(50 + 40, rel=0.05)
    train.close()


# --------------------------------------------------------------------------- when it ends

def test_a_log_says_when_a_long_bar_will_be_done(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from progbar import _format

    noon = time.mktime((2026, 12, 7, 12, 0, 0, 0, 0, -1))
    monkeypatch.setattr(_format, "wall_clock", lambda: noon)
    bar, clock = _bar(1000, interval=0)
    for i in range(1, 11):
        clock.now += 2.0
        bar.update(i)
    out = bar.file.getvalue()  # type: ignore[attr-defined]
    # 990 steps of 2 s: 33 minutes from noon
    assert out.splitlines()[-1].split("<")[1].startswith("33:00 done ~12:33 ")
    bar.close()
    # a bar ending in less than ten minutes says nothing of it
    short, clock = _bar(100, interval=0)
    for i in range(1, 11):
        clock.now += 2.0
        short.update(i)
    assert "done ~" not in short.file.getvalue()  # type: ignore[attr-defined]
    # a live bar neither (its line is read now, not later)
    live, clock = _bar(1000, interval=0, dynamic=True)
    for i in range(1, 11):
        clock.now += 2.0
        live.update(i)
    assert "done ~" not in live.file.getvalue()  # type: ignore[attr-defined]


def test_the_finish_field_and_the_date_when_not_today(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from progbar import _format

    evening = time.mktime((2026, 12, 7, 23, 0, 0, 0, 0, -1))
    monkeypatch.setattr(_format, "wall_clock", lambda: evening)
    bar, clock = _bar(10_000, interval=0, format="{count}/{target} ends {finish}")
    for i in range(1, 11):
        clock.now += 2.0
        bar.update(i)
    # 9990 steps of 2 s: 5 h 33 min after 23:00
    assert bar.file.getvalue().splitlines()[-1] == "10/10000 ends Dec 8 04:33"  # type: ignore[attr-defined]
    bar.close()


def test_a_step_of_many_inner_bars_of_one_label_is_timed_as_a_whole() -> None:
    # step one holds one 10 s "file" bar, step two four 1 s ones: no negative or zero
    # estimate from replacing the one phase four times
    clock, sink = FakeClock(0.0), io.StringIO()
    files = Progbar(100, label="files", clock=clock, file=sink)
    files.update(0)
    etas = []
    for step, sizes in enumerate(([10.0], [1.0, 1.0, 1.0, 1.0]), 1):
        for size in sizes:
            bar = Progbar(1, label="file", clock=clock, file=sink)
            clock.now += size
            bar.update(1)
            bar.close()
            if step == 2:
                etas.append(files.eta)
                assert files.state()["eta"] == pytest.approx(etas[-1])  # type: ignore[index]
        files.update(step)
    files.close()
    # after one file the step may be one file long; from the second on it is not laid
    # out as the last one, and the steps' mean (10 s) paces the 98 to come
    assert all(eta is not None and eta > 0 for eta in etas)
    assert all(eta > 98 * 9.0 for eta in etas[1:])  # type: ignore[operator]


def test_a_bar_made_beside_a_counting_bar_and_outliving_its_step_is_not_a_phase() -> None:
    # a "bytes" bar over the whole run, made once the "files" bar counts: it spans
    # the files' steps, so the files bar keeps its own estimate
    clock, sink = FakeClock(0.0), io.StringIO()
    files = Progbar(10, label="files", clock=clock, file=sink)
    files.update(0)
    total = Progbar(1000, label="bytes", clock=clock, file=sink)
    for i in range(1, 4):
        for _ in range(100):
            clock.now += 0.1
            total.update(total.current + 1)
        files.update(i)
    assert files.eta == pytest.approx(70.0, rel=0.02)
    total.close()
    files.close()


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_past_the_target_nothing_is_left(style: str) -> None:
    bar, clock = _run([1.0] * 5, 3, style=style)
    assert bar.eta == 0.0
    assert bar.state()["eta"] == 0.0  # type: ignore[index]
