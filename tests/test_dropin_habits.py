"""tqdm's and Keras's habits that ported code relies on: ``len(bar)``, ``bool(bar)``,
``disable=True``, ``total=float("inf")``, and a target raised after it was reached."""

from __future__ import annotations

import io

import pytest
from conftest import FakeClock
from support.ptyscreen import run_with_checkpoints

from progbar import Progbar, track


def test_len_is_the_target_and_bool_is_always_true() -> None:
    assert len(Progbar(40, verbose=0)) == 40
    assert len(Progbar(7.5, verbose=0)) == 7  # a float target: its whole part
    assert len(track(range(12), verbose=0)) == 12
    empty = Progbar(0, verbose=0)
    assert len(empty) == 0 and bool(empty) is True  # `if bar:` never reads the length
    unknown = track(x for x in range(3))
    with pytest.raises(TypeError, match="unknown"):
        len(unknown)
    assert bool(unknown) is True
    unknown.close()


def test_disable_true_is_verbose_0() -> None:
    out = io.StringIO()
    items = []
    for x in (bar := track(range(5), file=out, disable=True)):
        bar.log(loss=1.0)
        items.append(x)
    assert items == [0, 1, 2, 3, 4] and out.getvalue() == ""
    assert bar.verbose == 0 and bar.current == 5
    assert Progbar(3, disable=False, verbose=0).verbose == 0


def test_infinite_target_means_unknown() -> None:
    out = io.StringIO()
    bar = Progbar(float("inf"), file=out, dynamic=False, clock=FakeClock(), interval=0)
    assert bar.target is None
    bar.add(3)
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("3 ")
    assert track(range(2), total=float("inf"), verbose=0).target is None
    with pytest.raises(ValueError, match="finite"):
        Progbar(float("-inf"))


def test_raising_the_target_of_a_finished_bar_reopens_it_in_a_log() -> None:
    out = io.StringIO()
    clock = FakeClock()
    bar = Progbar(2, file=out, dynamic=False, clock=clock, interval=0)
    bar.add(2)
    assert out.getvalue().splitlines()[-1].startswith("2/2 100%")
    bar.target = 4
    clock.now += 1
    bar.add(1)
    assert bar.current == 3
    assert out.getvalue().splitlines()[-1].startswith("3/4")
    bar.close()  # not at the new target: close() writes the new final line
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("3/4") and lines.count(lines[-1]) == 1


def test_a_reopened_bar_finishes_again_at_its_new_target() -> None:
    out = io.StringIO()
    bar = Progbar(2, file=out, dynamic=False, clock=FakeClock(), interval=0, verbose=2)
    bar.add(2)
    bar.target = 5
    bar.add(3)
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["2/2", "5/5"]


def test_lowering_or_equal_target_does_not_reopen() -> None:
    out = io.StringIO()
    bar = Progbar(None, file=out, dynamic=False, clock=FakeClock(), interval=0)
    bar.add(6)
    bar.target = 6  # Keras's loggers learn the target of a loop at its end
    bar.update(6, finalize=True)
    bar.close()
    assert sum(line.startswith("6/6") for line in out.getvalue().splitlines()) == 1


def test_reopened_bar_on_a_terminal_shows_the_true_count() -> None:
    run = run_with_checkpoints(
        """
        from progbar import Progbar
        bar = Progbar(2, clock=Clock(), color=False)
        bar.add(2)
        checkpoint("reached")
        bar.target = 4
        bar.add(1)
        checkpoint("raised")
        bar.close()
        """,
        cols=60,
    )
    assert run.rows("reached")[-1].startswith("2/2 100%")
    assert any(row.startswith("3/4") for row in run.rows("raised"))
    assert run.rows()[-1].startswith("3/4") and not any(
        row.startswith("2/2") and "3/4" in row for row in run.rows())


def test_a_repeated_finalizing_update_writes_no_second_final_line() -> None:
    for dynamic in (False, True):
        out = io.StringIO()
        clock = FakeClock()
        bar = Progbar(5, file=out, dynamic=dynamic, clock=clock, interval=0)
        bar.update(5, [("loss", 1.0)])
        clock.now += 1
        bar.update(5)  # the same state: no second record
        bar.close()
        assert out.getvalue().count("5/5") == 1, out.getvalue()
        bar2 = Progbar(5, file=out, dynamic=dynamic, clock=clock, interval=0)
        bar2.update(5, [("loss", 1.0)])
        bar2.update(5, [("val_loss", 2.0)], finalize=True)  # new metrics: a new record
        bar2.close()
        assert "val_loss: 2.0000" in out.getvalue().splitlines()[-1]
