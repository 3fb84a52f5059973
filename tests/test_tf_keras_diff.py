"""Differential tests: style="tf_keras" against the installed tf_keras.utils.Progbar.

tf_keras 2.21 is Keras 2 as TensorFlow ships it today; its bar differs from the
classic Keras 2 one (style="keras2"): verbose=2 lines end ``- 25ms/epoch - 3ms/step``,
an unknown target is throttled too, ``0s/step`` at step 0, and its time estimate
leaves the first step out.  Both bars get the same calls on random scenarios
(hypothesis), the same clock (tf_keras reads ``time.time()`` through the ``time`` name
of its ``generic_utils`` module: that name is replaced by a fake clock for the
oracle only; ours takes ``clock=``), the same dynamic flag, and write to a StringIO (a
stream of unknown size, so nothing is fitted).  Output is compared byte for byte,
after two deliberate fixes of ours are applied to the oracle's output:

* under verbose=2 a negative average is formatted as under verbose=1 (tf_keras tests
  ``avg > 1e-3`` there): the oracle is fed :class:`SignFixFloat` values, as in
  test_keras_diff.py, and its ``np.mean`` keeps their type;
* a verbose=2 line always ends with a newline (tf_keras writes none when no update
  reached the target exactly, and the next output lands on the same line).

Scenarios tf_keras itself crashes on (target 0: ``log10(0)``; verbose=2 with an
unknown target and ``finalize=True``: ``log10(None)``) are left out here; ours shows
them (tests/test_bad_input.py).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import FakeClock
from hypothesis import example, given
from hypothesis import strategies as st

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter
tf_keras = pytest.importorskip("tf_keras", reason="needs tf_keras (the `tf` extra)")
np = pytest.importorskip("numpy")
from tf_keras.src.utils import generic_utils  # noqa: E402

from progbar import Progbar  # noqa: E402

NAMES = ["loss", "acc", "val_loss", "lr", "mae", "f1"]


class SignFixFloat(float):
    """A float whose ``.4e`` formatting of a value above 1e-3 in size gives ``.4f``:
    the verbose=2 sign fix, applied to the oracle; all arithmetic keeps the type."""

    def _wrap(self, x: Any) -> Any:
        return SignFixFloat(x) if isinstance(x, (int, float)) else x

    def __mul__(self, o: Any) -> Any:
        return self._wrap(float(self) * o)

    __rmul__ = __mul__

    def __add__(self, o: Any) -> Any:
        return self._wrap(float(self) + o)

    __radd__ = __add__

    def __truediv__(self, o: Any) -> Any:
        return self._wrap(float(self) / o)

    def __format__(self, spec: str) -> str:
        if spec == ".4e" and abs(self) > 1e-3:
            return format(float(self), ".4f")
        return format(float(self), spec)


class _NumpyKeepingSignFix:
    """numpy for the oracle's module, whose ``mean`` of a :class:`SignFixFloat` stays
    one (numpy would make it a plain float64 and lose the fix)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def mean(x: Any) -> Any:
        return SignFixFloat(float(x)) if isinstance(x, SignFixFloat) else np.mean(x)


Step = tuple[float, float, list[tuple[str, Any]], "bool | None"]


@dataclass
class Scenario:
    target: float | None
    width: int
    verbose: int
    interval: float
    dynamic: bool
    stateful: list[str] | None
    unit_name: str
    t0: float
    steps: list[Step] = field(default_factory=list)


values = st.one_of(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.sampled_from([0.0, 1e-7, -1e-4, 0.0005, -0.002, 0.5, -37.25, 1e15]),
    st.integers(-1000, 10**6),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    target = draw(st.one_of(
        st.none(), st.just(1), st.integers(2, 60), st.integers(100, 10**6),
        st.integers(9, 600).map(lambda n: n / 8),  # len(x) / batch_size
    ))
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=6))
    stateful = draw(st.one_of(st.none(), st.lists(st.sampled_from(names or ["loss"]),
                                                   unique=True)))
    verbose = draw(st.sampled_from([1, 1, 2]))
    sc = Scenario(
        target=target,
        width=draw(st.sampled_from([30, 30, 1, 7, 40])),
        verbose=verbose,
        interval=draw(st.sampled_from([0.0, 0.05, 1.0])),
        dynamic=draw(st.booleans()),
        stateful=stateful,
        unit_name=draw(st.sampled_from(["step", "sample"])),
        t0=draw(st.sampled_from([0.0, 0.02, 1000.0, 1.7e9])),
    )
    t = sc.t0
    current: float = 0
    span = math.ceil(target) if target else 50
    fractional = draw(st.booleans()) and draw(st.booleans())  # a quarter of them
    for _ in range(draw(st.integers(1, 20))):
        t += draw(st.sampled_from([0.0, 0.001, 0.02, 0.04, 0.3, 2.5, 75.0, 4000.0, 90000.0]))
        move = draw(st.sampled_from(["small", "small", "same", "jump", "one"]))
        if move == "small":
            current += draw(st.integers(1, max(1, span // 8)))
        elif move == "jump":  # often past the target
            current += draw(st.integers(span // 2 + 1, span * 2 + 2))
        elif move == "one":
            current += 1
        if fractional:
            current += draw(st.sampled_from([0.5, 0.25]))
        step_values = [(n, draw(values)) for n in names if draw(st.booleans())]
        finalize = draw(st.sampled_from([None] * 6 + [True, False]))
        if finalize is True and target is None and verbose == 2:
            finalize = None  # tf_keras crashes there (log10(None))
        sc.steps.append((t, current, step_values, finalize))
    if target is not None and draw(st.booleans()):  # Keras's own end: at the target
        t += draw(st.sampled_from([0.01, 1.0, 30.0]))
        sc.steps.append((t, target, [(n, draw(values)) for n in names], None))
    return sc


def run_tf_keras(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    clock = FakeClock(sc.t0)
    out = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(generic_utils, "time", clock)  # the oracle's clock, nothing else's
        patch.setattr(generic_utils, "np", _NumpyKeepingSignFix())
        with contextlib.redirect_stdout(out):
            bar = tf_keras.utils.Progbar(
                sc.target, width=sc.width, verbose=sc.verbose, interval=sc.interval,
                stateful_metrics=sc.stateful, unit_name=sc.unit_name,
            )
            bar._dynamic_display = sc.dynamic
            for t, current, step_values, finalize in sc.steps:
                clock.now = t
                if sc.verbose == 2:
                    step_values = [(k, SignFixFloat(v)) for k, v in step_values]
                before = out.tell()
                bar.update(current, step_values, finalize=finalize)
                if sc.verbose == 2 and out.tell() > before and not out.getvalue().endswith("\n"):
                    out.write("\n")  # our fix: a verbose=2 line always ends its line
    return out.getvalue()


def run_ours(sc: Scenario) -> str:
    clock = FakeClock(sc.t0)
    out = io.StringIO()
    bar = Progbar(
        sc.target, sc.width, sc.verbose, sc.interval, stateful_metrics=sc.stateful,
        unit_name=sc.unit_name, style="tf_keras", file=out, dynamic=sc.dynamic,
        color=True, clock=clock,
    )
    for t, current, step_values, finalize in sc.steps:
        clock.now = t
        bar.update(current, step_values, finalize=finalize)
    return out.getvalue()


@given(sc=scenarios())
@example(sc=Scenario(  # a mean of -0.0: numpy's mean (tf_keras's) shows 0.0
    target=None, width=30, verbose=1, interval=0.0, dynamic=False, stateful=None,
    unit_name="step", t0=0.0,
    steps=[(0.0, 1, [], None), (0.0, 5, [("f1", -0.0)], None)]))
def test_tf_keras_style_matches_tf_keras_byte_for_byte(sc: Scenario) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = run_tf_keras(sc, monkeypatch)
    assert run_ours(sc) == expected


# The rules that set tf_keras 2.21 apart from the classic Keras 2 bar, each shown once
# against the oracle with literal bytes (the random scenarios above cover them too).


def _both(sc: Scenario) -> tuple[str, str]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_tf_keras(sc, monkeypatch), run_ours(sc)


def test_verbose_2_ends_with_time_per_epoch_and_per_step() -> None:
    sc = Scenario(8, 30, 2, 0.05, False, None, "step", 100.0, [
        (100.1, 4, [("loss", 0.5)], None), (100.2, 8, [("loss", 0.25)], None)])
    theirs, ours = _both(sc)
    assert ours == theirs == "8/8 - 0s - loss: 0.3750 - 200ms/epoch - 25ms/step\n"


def test_unknown_target_is_throttled_and_step_zero_says_0s() -> None:
    sc = Scenario(None, 30, 1, 1.0, False, None, "step", 100.0, [
        (100.0, 0, [], None), (100.5, 3, [], None), (101.5, 6, [], None)])
    theirs, ours = _both(sc)
    # step 0 at 100.0 draws ("0s/step"); step 3, 0.5 s later, is throttled
    assert ours == theirs == ("\n      0/Unknown - 0s 0s/step"
                              "\n      6/Unknown - 2s 250ms/step")


def test_first_step_left_out_of_the_estimate() -> None:
    sc = Scenario(10, 30, 1, 0.0, False, None, "step", 100.0, [
        (110.0, 1, [], None), (111.0, 2, [], None), (112.0, 10, [], None)])
    theirs, ours = _both(sc)
    # after step one (10 s of warm-up), a step takes 1 s: 8 steps left, ETA 8s
    assert ours == theirs
    assert ours.splitlines()[2].rstrip() == " 2/10 [=====>........................] - ETA: 8s"


def test_verbose_2_times_only_after_an_update_at_the_target_on_a_true_clock() -> None:
    # tf_keras keeps the time the count hit the target, and tests its truth: at a
    # clock reading of 0.0 it has none, and writes neither time (nor a newline --
    # ours ends the line, see the module docstring).
    at_zero = Scenario(4, 30, 2, 0.05, False, None, "step", 0.0, [(0.0, 4, [], None)])
    past = Scenario(4, 30, 2, 0.05, False, None, "step", 1.0, [(2.0, 5, [], True)])
    for sc in (at_zero, past):
        theirs, ours = _both(sc)
        assert ours == theirs
    assert _both(at_zero)[1] == "4/4 - 0s\n"
    assert _both(past)[1] == "5/4 - 1s\n"  # finalized past the target: no times either
