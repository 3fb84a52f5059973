"""The public API, the default style's text, metric values and the writer's rules."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pty
from fractions import Fraction
from typing import Any

import pytest
from conftest import FakeClock, needs

import progbar
from progbar import Progbar, track
from progbar import _format as fmt
from progbar._writer import detect_color, detect_dynamic


def make(target: int | None = 10, **kw: Any) -> tuple[Progbar[Any], io.StringIO, FakeClock]:
    clock = FakeClock(0.0)
    out = io.StringIO()
    kw.setdefault("dynamic", False)
    kw.setdefault("color", False)
    bar: Progbar[Any] = Progbar(target, file=out, clock=clock, **kw)
    return bar, out, clock


# ----------------------------------------------------------------------------- API


def test_public_names_are_pinned() -> None:
    assert progbar.__all__ == sorted(progbar.__all__)
    assert {"Progbar", "track", "__version__"} <= set(progbar.__all__)
    for name in progbar.__all__:
        assert hasattr(progbar, name)


def test_positional_order_is_keras_3s() -> None:
    bar = Progbar(5, 12, 2, 0.5, ["lr"], None, "sample")
    assert (bar.target, bar.verbose) == (5, 2)
    with pytest.raises(TypeError):
        Progbar(5, 12, 2, 0.5, None, None, "step", "keras")  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"target": -1}, ValueError, "target must be >= 0"),
        ({"target": float("nan")}, ValueError, "target must be a finite number"),
        ({"target": [3]}, TypeError, "target must be a number"),
        ({"target": True}, TypeError, "bool"),
        ({"target": "10"}, TypeError, "target must be a number"),
        ({"target": 3, "style": "fancy"}, ValueError, "unknown style 'fancy'"),
        ({"target": 3, "verbose": 3}, ValueError, "verbose must be 0, 1 or 2"),
        ({"target": 3, "width": 0}, ValueError, "width must be"),
        ({"target": 3, "interval": -1}, ValueError, "interval must be"),
        ({"target": 3, "stateful_metrics": ["a"], "stateless_metrics": ["b"]}, ValueError,
         "^Only one of `stateful_metrics` or `stateless_metrics`"),
        ({"target": 3, "clock": 5}, TypeError, "clock must be"),
    ],
)
def test_programming_errors_raise_at_once(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Progbar(**kwargs)


def test_bad_current_and_values_raise_clear_errors() -> None:
    bar, out, _ = make()
    with pytest.raises(TypeError, match="current must be a number"):
        bar.update("3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        bar.update(float("nan"))
    with pytest.raises(TypeError, match=r"\(name, value\) pairs"):
        bar.update(3, [0.5])  # type: ignore[list-item]
    assert bar.current == 0


def test_add_and_current() -> None:
    bar, out, _ = make(None)
    bar.add(3)
    bar.add(4, [("loss", 1.0)])
    assert bar.current == 7


def test_track_yields_the_same_items_and_takes_len_as_target() -> None:
    out = io.StringIO()
    items = ["a", "b", "c"]
    bar = track(items, file=out, dynamic=False)
    assert bar.target == 3
    assert list(bar) == items
    assert bar.current == 3
    assert out.getvalue().startswith("3/3 100% ")
    gen_bar = track(iter(items), file=io.StringIO())
    assert gen_bar.target is None
    assert list(gen_bar) == items


def test_track_log_averages_over_steps() -> None:
    out = io.StringIO()
    for i in (bar := track(range(4), file=out, dynamic=False)):
        bar.log(loss=float(i))
    assert bar.metrics() == {"loss": 1.5}
    assert out.getvalue().rstrip().endswith("- loss: 1.5000")


def test_context_manager_closes_the_line() -> None:
    bar, out, clock = make(10, dynamic=True)
    with bar:
        clock.now = 1.0
        bar.update(4, [("loss", 2.0)])
    assert out.getvalue().endswith("\n")
    assert out.getvalue().count("\n") == 1
    before = out.getvalue()
    bar.close()  # idempotent
    assert out.getvalue() == before


def test_file_none_follows_redirect_stdout() -> None:
    bar: Progbar[Any] = Progbar(2, interval=0, dynamic=False, color=False)
    first, second = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(first):
        bar.update(1)
    with contextlib.redirect_stdout(second):
        bar.update(2)
    assert first.getvalue().startswith("1/2  50%")
    assert second.getvalue().startswith("2/2 100%")


# ----------------------------------------------------------------- default style text


def test_default_style_live_lines() -> None:
    bar, out, clock = make(1000, dynamic=True, interval=0)
    clock.now = 0.5
    bar.update(1, [("loss", 0.9)])
    clock.now = 12.5
    bar.update(450, [("loss", 0.4), ("acc", 0.88)])
    frames = out.getvalue().split("\r")[1:]
    # first frame: 0.5 s for one step; no ETA smoothing yet beyond the first step
    assert frames[0] == "   1/1000   0% ────────────────────────────── 0:00<8:20 2.0 step/s - loss: 0.9000"
    # step one is excluded: 449 steps in 12 s -> 37.4 step/s, 550 left -> 14.7 s, shown rounded up
    assert frames[1] == (
        " 450/1000  45% ━━━━━━━━━━━━━╸──────────────── 0:12<0:15 37.4 step/s"
        " - loss: 0.4011 - acc: 0.8800"
    )


def test_default_style_final_and_unknown_target() -> None:
    bar, out, clock = make(4, dynamic=True)
    clock.now = 2.0
    bar.update(4, [("loss", 0.25)])
    assert out.getvalue() == "\r4/4 100% ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 0:02 2.0 step/s - loss: 0.2500\n"
    bar, out, clock = make(None, dynamic=False)
    clock.now = 30.0
    bar.update(120)
    bar.close()
    assert out.getvalue() == "120 step 0:30 4.0 step/s\n"


def test_default_style_slow_steps_and_long_runs() -> None:
    bar, out, clock = make(3, dynamic=False, unit_name="epoch")
    clock.now = 3 * 3600 + 75.0
    bar.update(3)
    assert out.getvalue() == "3/3 100% 3:01:15 3625.0s/epoch\n"


def test_default_line_mode_is_rate_limited_to_the_log_interval() -> None:
    bar, out, clock = make(1000, dynamic=False)
    for i in range(1, 1001):
        clock.now = i * 0.05  # 50 s in all
        bar.update(i, [("loss", 1.0)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 5  # at 10, 20, 30, 40 s, then the final line
    assert lines[-1].startswith("1000/1000 100% 0:50 ")


def test_log_interval_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROGBAR_LOG_INTERVAL", "25")
    bar, out, clock = make(1000, dynamic=False)
    for i in range(1, 1001):
        clock.now = i * 0.05
        bar.update(i)
    assert len(out.getvalue().splitlines()) == 2  # at 25 s, then the final line at 50 s


def test_verbose_2_prints_one_line_per_bar() -> None:
    bar, out, clock = make(100, verbose=2, dynamic=True)
    for i in range(1, 101):
        clock.now = i
        bar.update(i, [("loss", 2.0)])
    bar.close()
    assert out.getvalue() == "100/100 100% 1:40 1.0 step/s - loss: 2.0000\n"


def test_default_style_keeps_averages_at_finalize() -> None:
    bar, out, clock = make(2)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 3.0)])
    assert bar.metrics() == {"loss": 2.0}
    kbar, _, _ = make(2, style="keras")
    kbar.update(1, [("loss", 1.0)])
    kbar.update(2, [("loss", 3.0)])
    assert kbar.metrics() == {"loss": 3.0}  # Keras 3: a finalize call replaces it


# ----------------------------------------------------------------------- metric values


class Weird:
    def __str__(self) -> str:
        return "weird!"


class FloatLike:
    def __init__(self, v: float) -> None:
        self.v = v

    def __float__(self) -> float:
        return self.v


@pytest.mark.parametrize(
    "values, shown",
    [
        ([1, 2], "1.5000"),
        ([Fraction(1, 4), Fraction(3, 4)], "0.5000"),
        ([FloatLike(0.5), FloatLike(1.5)], "1.0000"),
        ([[1.0, 2.0, 3.0], (5.0, 7.0)], "4.0000"),
        ([float("nan"), 1.0], "nan"),
        ([float("inf"), 1.0], "inf"),
        ([None, None], "None"),
        (["warm", "up"], "up"),
        ([Weird(), Weird()], "weird!"),
        ([True, False], "0.5000"),
        ([1e-5, 1e-5], "1.0000e-05"),
    ],
)
def test_metric_values_are_shown_never_raise(values: list[Any], shown: str) -> None:
    bar, out, _ = make(2, interval=0)
    bar.update(1, [("m", values[0])])
    bar.update(2, [("m", values[1])])
    assert out.getvalue().rstrip("\n").endswith(f"- m: {shown}")


def test_numpy_values_without_numpy_in_the_core() -> None:
    np = importlib.import_module("numpy")
    bar, out, _ = make(2)
    bar.update(1, [("a", np.array([1.0, 3.0])), ("b", np.float32(0.5))])
    bar.update(2, [("a", np.array(4.0)), ("b", np.int64(1))])
    assert bar.metrics() == {"a": 3.0, "b": 0.75}


@needs("torch")
def test_tensor_values_are_detached_and_stay_tensors_until_render() -> None:
    torch = importlib.import_module("torch")
    w = torch.tensor([2.0], requires_grad=True)
    bar, _, _ = make(3, verbose=0)
    bar.update(1, [("loss", (w * 3).sum())])
    bar.update(2, [("loss", (w * 1).sum())])
    total, count = bar.totals()["loss"]
    assert isinstance(total, torch.Tensor) and not total.requires_grad
    assert total.grad_fn is None and count == 2
    assert bar.metrics() == {"loss": 4.0}


def test_metric_names_with_control_characters_stay_on_one_line() -> None:
    bar, out, _ = make(1)
    bar.update(1, [("a\nb\x1b[31m", 1.0)])
    assert out.getvalue().count("\n") == 1
    assert "a\\nb\\e[31m: 1.0000" in out.getvalue()


# ------------------------------------------------------------------------------ writer


def test_ascii_fallback_for_streams_that_cannot_encode_glyphs() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    bar: Progbar[Any] = Progbar(4, file=stream, dynamic=True, color=False,
                                clock=FakeClock(0.0))
    bar.update(2)
    bar.update(4)
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "[===============...............]" in text
    assert "[==============================]" in text


def test_closed_stream_makes_the_bar_quiet() -> None:
    bar, out, _ = make(10, interval=0)
    bar.update(1)
    out.close()
    for i in range(2, 11):
        bar.update(i, [("loss", 1.0)])  # no exception reaches the loop
    bar.write("still fine")
    bar.close()
    assert bar.current == 10


def test_color_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w")
    try:
        for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
            monkeypatch.delenv(name, raising=False)
        assert detect_color(tty, None) is True
        assert detect_color(io.StringIO(), None) is False
        monkeypatch.setenv("NO_COLOR", "1")
        assert detect_color(tty, None) is False
        monkeypatch.delenv("NO_COLOR")
        monkeypatch.setenv("TERM", "dumb")
        assert detect_color(tty, None) is False
        monkeypatch.setenv("FORCE_COLOR", "1")
        assert detect_color(io.StringIO(), None) is True
        assert detect_color(tty, False) is False
    finally:
        tty.close()
        os.close(master)


def test_dynamic_detection_order(monkeypatch: pytest.MonkeyPatch) -> None:
    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w")
    try:
        assert detect_dynamic(tty, None) is True
        assert detect_dynamic(io.StringIO(), None) is False
        assert detect_dynamic(tty, False) is False
        monkeypatch.setenv("PROGBAR_DYNAMIC", "0")
        assert detect_dynamic(tty, None) is False
        assert detect_dynamic(tty, True) is True
        monkeypatch.setenv("PROGBAR_DYNAMIC", "1")
        assert detect_dynamic(io.StringIO(), None) is True
    finally:
        tty.close()
        os.close(master)
    closed = io.StringIO()
    closed.close()
    monkeypatch.delenv("PROGBAR_DYNAMIC")
    assert detect_dynamic(closed, None) is False


def test_fit_line_shrinks_the_bar_then_drops_metrics() -> None:
    snap = fmt.Snapshot(current=5, target=10, elapsed=5.0, per_step=1.0,
                        metrics=[("loss", 0.5), ("accuracy", 0.75)], final=False, eta=5.0)
    full = fmt.join_segments(fmt.format_default(snap, 30, fmt.UNICODE_PLAIN), False)
    assert full == " 5/10  50% ━━━━━━━━━━━━━━━─────────────── 0:05<0:05 1.0 step/s - loss: 0.5000 - accuracy: 0.7500"
    narrow = fmt.join_segments(fmt.format_default(snap, 30, fmt.UNICODE_PLAIN, max_cells=90), False)
    assert fmt.cell_width(narrow) == 90  # the bar shrank from 30 to 24 cells
    assert "━" * 12 + "─" * 12 + " " in narrow and narrow.endswith("accuracy: 0.7500")
    # the bar keeps 10 cells or more while a metric is dropped: 70 cells keep a
    # 21-cell bar and the loss, and elide the accuracy
    mid = fmt.join_segments(fmt.format_default(snap, 30, fmt.UNICODE_PLAIN, max_cells=70), False)
    assert mid == " 5/10  50% ━━━━━━━━━━╸────────── 0:05<0:05 1.0 step/s - loss: 0.5000 …"
    assert fmt.cell_width(mid) == 70
    tiny = fmt.join_segments(fmt.format_default(snap, 30, fmt.UNICODE_PLAIN, max_cells=40), False)
    assert fmt.cell_width(tiny) <= 40 and tiny.endswith("…")
    assert fmt.cell_width(fmt.join_segments(fmt.format_default(snap, 30, fmt.UNICODE_PLAIN, max_cells=8), False)) <= 8


@needs("torch")
def test_the_callers_arrays_and_tensors_are_never_changed() -> None:
    np = importlib.import_module("numpy")
    torch = importlib.import_module("torch")
    a = np.array(1.0)
    t = torch.tensor(1.0)
    bar, _, _ = make(10, style="keras", verbose=0)
    bar.update(5, [("a", a), ("t", t)], finalize=True)  # keras: stored as passed
    bar.update(6, [("a", 2.0), ("t", 2.0)])  # then averaged onto it
    assert float(a) == 1.0 and float(t) == 1.0
    assert t._version == 0  # no in-place op on the caller's tensor
    stateful, _, _ = make(10, stateful_metrics=["lr"], verbose=0)
    lr = np.array(0.5)  # 0-d: kept as a number, not reduced to a new mean
    stateful.update(1, [("lr", lr)])
    lr += 100  # the caller changes its array afterwards
    assert stateful.metrics() == {"lr": 0.5}


def test_fractional_steps_weigh_fractionally_as_in_keras() -> None:
    bar, _, _ = make(None, verbose=0)
    bar.update(2.5, [("loss", 1.0)])
    bar.update(4, [("loss", 3.0)])
    # Keras: (1.0 * 2.5 + 3.0 * 1.5) / 4.0 = 1.75
    assert bar.metrics() == {"loss": 1.75}


def test_format_epoch_and_large_rates() -> None:
    assert progbar.format_epoch(3, 10) == "Epoch 3/10"
    assert progbar.format_epoch(3) == "Epoch 3"
    assert fmt.format_rate(1 / 36.2, "step") == "36.2 step/s"
    assert fmt.format_rate(1 / 25_471_280, "line") == "25.5M line/s"
    assert fmt.format_rate(1 / 254_000, "B") == "254k B/s"
    assert fmt.format_rate(2.5, "epoch") == "2.5s/epoch"


def test_iterating_a_track_bar_twice_says_so() -> None:
    bar = track([1, 2], file=io.StringIO())
    assert list(bar) == [1, 2]
    with pytest.raises(TypeError, match="iterated already"):
        iter(bar)


def test_a_huge_int_after_floats_never_raises() -> None:
    # found by the fuzzer: the store's float fast path overflowed on a 10**300 int
    bar, out, _ = make(3, interval=0)
    bar.update(1, [("b", 0.0)])
    bar.update(2, [("b", 10**400)])
    bar.update(3, [("b", 0.5)])
    assert bar.current == 3
    # (0.0 + 10**400 + 0.5) / 3, summed exactly past a float's range
    assert out.getvalue().splitlines()[-1].endswith("b: 3.3333e+399")
    huge, _, _ = make(3, verbose=0)
    huge.update(1, [("h", 5 * 10**400)])
    huge.update(2, [("h", 1.5)])
    assert huge.metrics() == {"h": "2.5000e+400"}


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_refresh_draws_the_true_count_whatever_the_interval(style: str) -> None:
    bar, out, clock = make(10, dynamic=True, interval=60, style=style)
    for i in range(1, 9):
        clock.now += 0.1
        bar.update(i, [("loss", 0.5)])
    assert "8/10" not in out.getvalue()  # throttled: the last frame drawn was earlier
    bar.refresh()
    assert out.getvalue().rsplit("\r", 1)[-1].lstrip("\b").lstrip().startswith("8/10")
    bar.close()
    closed = out.getvalue()
    bar.refresh()  # after close: nothing more
    assert out.getvalue() == closed


@pytest.mark.parametrize("mode", ["stateful", "stateless", "log"])
def test_add_stateful_metrics_shows_those_as_passed_from_then_on(mode: str) -> None:
    # Keras 2's logger learns the model's metric names after the first step: from
    # then on those are shown as passed; the others stay averaged.
    kw: dict[str, Any] = {"stateless_metrics": ["loss", "extra"]} if mode == "stateless" else {}
    bar, out, clock = make(4, **kw)
    bar.update(1, [("loss", 1.0), ("extra", 1.0)])
    if mode == "log":
        bar.log(loss=3.0, extra=3.0)  # waiting records are applied before the change
        bar.update(2)
    else:
        bar.update(2, [("loss", 3.0), ("extra", 3.0)])
    assert bar.metrics() == {"loss": 2.0, "extra": 2.0}
    bar.add_stateful_metrics(["loss"])
    bar.update(3, [("loss", 5.0), ("extra", 5.0)])
    assert bar.metrics() == {"loss": 5.0, "extra": 3.0}
