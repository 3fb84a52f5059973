"""style="keras2": the classic Keras 2 Progbar (its generic-utils listing), checked against
literal strings worked out by hand from that listing."""

from __future__ import annotations

import io

from conftest import FakeClock

from progbar import Progbar


def bar(target: int | None, dynamic: bool, verbose: int = 1, **kw: object) -> tuple[Progbar, io.StringIO, FakeClock]:
    clock = FakeClock(100.0)
    out = io.StringIO()
    b = Progbar(target, verbose=verbose, style="keras2", file=out, dynamic=dynamic,
                color=False, clock=clock, **kw)  # type: ignore[arg-type]
    return b, out, clock


def test_line_mode_two_updates() -> None:
    b, out, clock = bar(10, dynamic=False)
    clock.now = 103.0
    b.update(5, [("loss", 0.5)])
    clock.now = 104.0
    b.update(10, [("loss", 0.25)])
    # 5/10 of 30 cells = 15: 14 '=' and the '>' tip, then 15 '.'.  ETA = 3 s / 5 steps
    # * 5 left = 3 s.  At the end: (0.5*5 + 0.25*5) / 10 = 0.375, 4 s / 10 = 400 ms.
    assert out.getvalue() == (
        "\n 5/10 [==============>...............] - ETA: 3s - loss: 0.5000"
        "\n10/10 [==============================] - 4s 400ms/step - loss: 0.3750\n"
    )


def test_dynamic_redraw_uses_backspaces_and_carriage_return() -> None:
    b, out, clock = bar(10, dynamic=True)
    clock.now = 103.0
    b.update(5, [("loss", 0.5)])
    clock.now = 104.0
    b.update(10, [("loss", 0.25)])
    first = " 5/10 [==============>...............] - ETA: 3s - loss: 0.5000"
    assert len(first) == 63
    assert out.getvalue() == (
        "\r" + first
        + "\b" * 63 + "\r10/10 [==============================] - 4s 400ms/step - loss: 0.3750\n"
    )


def test_shorter_line_is_padded_to_the_previous_width() -> None:
    b, out, clock = bar(100, dynamic=True)
    clock.now = 101.0
    b.update(1, [("loss", 12345.678)])
    clock.now = 102.0
    b.update(2, [("loss", 0.5 - 12345.678)])  # average 0.25: shorter text
    a = "  1/100 [..............................] - ETA: 1:39 - loss: 12345.6780"
    c = "  2/100 [..............................] - ETA: 1:38 - loss: 0.2500"
    assert out.getvalue() == "\r" + a + "\b" * len(a) + "\r" + c + " " * (len(a) - len(c))


def test_eta_forms() -> None:
    b, out, clock = bar(10000, dynamic=False)
    clock.now = 110.0
    b.update(1)  # 10 s/step * 9999 left = 99990 s = 27:46:30
    b2, out2, clock2 = bar(100, dynamic=False)
    clock2.now = 225.0
    b2.update(50)  # 2.5 s/step * 50 = 125 s = 2:05
    b3, out3, clock3 = bar(100, dynamic=False)
    clock3.now = 100.0 + 41.5
    b3.update(50)  # 0.83 s/step * 50 = 41.5 s -> "41s"
    assert out.getvalue() == "\n    1/10000 [..............................] - ETA: 27:46:30"
    assert out2.getvalue() == "\n 50/100 [==============>...............] - ETA: 2:05"
    assert out3.getvalue() == "\n 50/100 [==============>...............] - ETA: 41s"


def test_unknown_target() -> None:
    b, out, clock = bar(None, dynamic=False)
    clock.now = 105.0
    b.update(42, [("acc", 0.0004)])
    # elapsed 5 s, 5/42 s = 119 ms per step; a tiny value goes to %.4e
    assert out.getvalue() == "\n     42/Unknown - 5s 119ms/step - acc: 4.0000e-04"


def test_time_per_step_units() -> None:
    for elapsed, unit in [(24.0, " 2s/step"), (0.024, " 2ms/step"), (0.000024, " 2us/step")]:
        b, out, clock = bar(12, dynamic=False)
        clock.now = 100.0 + elapsed
        b.update(12)
        assert out.getvalue().endswith(f"] - {elapsed:.0f}s{unit}\n")


def test_verbose_2_prints_one_line_at_the_end() -> None:
    b, out, clock = bar(10, dynamic=True, verbose=2)
    clock.now = 103.0
    b.update(5, [("loss", 0.5), ("gain", -2.0)])
    assert out.getvalue() == ""
    clock.now = 112.4
    b.update(10, [("loss", 0.25), ("gain", -3.0)])
    # negative averages are fixed to %.4f as under verbose=1 (design.md, "Styles")
    assert out.getvalue() == " - 12s - loss: 0.3750 - gain: -2.5000\n"


def test_stateful_metric_is_shown_as_passed() -> None:
    b, out, clock = bar(4, dynamic=False, stateful_metrics=["lr"])
    clock.now = 102.0
    b.update(2, [("lr", 0.1), ("loss", 1.0)])
    clock.now = 104.0
    b.update(4, [("lr", 0.05), ("loss", 3.0)])
    assert out.getvalue().endswith("] - 4s 1s/step - lr: 0.0500 - loss: 2.0000\n")


def test_target_zero_does_not_crash() -> None:
    b, out, clock = bar(0, dynamic=False)
    b.update(0)
    b.close()
    assert "0/Unknown" in out.getvalue()
