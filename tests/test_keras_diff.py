"""Differential tests: style="keras" against the installed keras.utils.Progbar.

Both bars get the same calls, the same clock (Keras's module-level `time` is replaced
by a fake for the oracle; ours takes `clock=`), the same dynamic flag, and write to a
StringIO (a stream of unknown size, so nothing is fitted).  Output is compared byte
for byte: with colour on, ours equals Keras's; with colour off, Keras's minus ANSI.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from conftest import FakeClock

keras = importlib.import_module("keras")
from keras.src.utils import progbar as keras_progbar_module  # noqa: E402

from progbar import Progbar  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
N_SCENARIOS = 400


class SignFixFloat(float):
    """Keras's verbose=2 line formats a negative average in scientific notation
    (`avg > 1e-3`, where verbose=1 has `abs(avg) > 1e-3`).  design.md, "Styles" fixes that in
    both keras styles.  To compare the rest byte for byte, the oracle is fed values
    of this float subclass, whose `.4e` formatting applies the same fix; all
    arithmetic stays in this type so the fix reaches the average."""

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


@dataclass
class Scenario:
    seed: int
    target: int | None
    width: int
    verbose: int
    interval: float
    dynamic: bool
    stateful: list[str] | None
    stateless: list[str] | None
    unit_name: str
    t0: float
    steps: list[tuple[float, Any, list[tuple[str, Any]], bool | None]] = field(
        default_factory=list
    )


def _value(rng: random.Random) -> Any:
    kind = rng.random()
    scale = rng.choice([1e-7, 1e-4, 1e-3, 0.5, 1.0, 37.0, 1e3, 1e9, 1e15])
    v = rng.gauss(0, 1) * scale
    if kind < 0.1:
        return int(v) if abs(v) < 1e12 else 7
    if kind < 0.2:
        return -abs(v)
    if kind < 0.25:
        return 0.0
    return v


def make_scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    target = rng.choice([None, 0, 1, rng.randint(2, 60), rng.randint(100, 10**6),
                         rng.randint(9, 600) / 8])  # len(x) / batch_size
    names = rng.sample(["loss", "acc", "val_loss", "lr", "mae", "f1"], rng.randint(0, 6))
    mode = rng.random()
    stateful = stateless = None
    if mode < 0.25:
        stateful = [n for n in names if rng.random() < 0.5]
    elif mode < 0.4:
        stateless = [n for n in names if rng.random() < 0.5]
    sc = Scenario(
        seed=seed,
        target=target,
        width=rng.choice([20, 20, 20, 1, 7, 40]),
        verbose=rng.choice([1, 1, 1, 2]),
        interval=rng.choice([0.0, 0.05, 1.0]),
        dynamic=rng.random() < 0.6,
        stateful=stateful,
        stateless=stateless,
        unit_name=rng.choice(["step", "step", "sample"]),
        t0=rng.choice([0.0, 0.02, 1000.0, 1.7e9]),
    )
    t = sc.t0
    current: float = 0
    span = math.ceil(target) if target else 50
    # some scenarios count in fractional steps (samples of a partial batch, epochs):
    # the step weights are then fractional too, as in Keras
    fractional = rng.random() < 0.12
    for _ in range(rng.randint(1, 25)):
        t += rng.choice([0.0, 0.001, 0.02, 0.04, 0.3, 2.5, 75.0, 4000.0, 90000.0])
        r = rng.random()
        if r < 0.55:
            current += rng.randint(1, max(1, span // 8))
        elif r < 0.65:
            pass  # the same step again
        elif r < 0.75:
            current += rng.randint(span // 2 + 1, span * 2 + 2)  # jump, often past target
        elif r < 0.8:
            current = max(current - rng.randint(1, 3), 0)  # backwards
        else:
            current += 1
        if fractional:
            current += rng.choice([0.5, 0.25, -0.75])
        values = [(n, _value(rng)) for n in names if rng.random() < 0.8]
        finalize = rng.choice([None] * 8 + [True, False])
        sc.steps.append((t, current, values, finalize))
    if target is not None and rng.random() < 0.5:
        t += rng.choice([0.01, 1.0, 30.0])
        sc.steps.append((t, target, [(n, _value(rng)) for n in names], None))
    return sc


def run_keras(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> str:
    clock = FakeClock(sc.t0)
    monkeypatch.setattr(keras_progbar_module, "time", clock)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bar = keras.utils.Progbar(
            sc.target, sc.width, sc.verbose, sc.interval,
            stateful_metrics=sc.stateful, stateless_metrics=sc.stateless,
            unit_name=sc.unit_name,
        )
        bar._dynamic_display = sc.dynamic
        for t, current, values, finalize in sc.steps:
            clock.now = t
            if sc.verbose == 2:
                values = [(k, SignFixFloat(v)) for k, v in values]
            bar.update(current, values, finalize=finalize)
    return out.getvalue()


def run_ours(sc: Scenario, color: bool) -> str:
    clock = FakeClock(sc.t0)
    out = io.StringIO()
    bar = Progbar(
        sc.target, sc.width, sc.verbose, sc.interval,
        stateful_metrics=sc.stateful, stateless_metrics=sc.stateless,
        unit_name=sc.unit_name,
        style="keras", file=out, dynamic=sc.dynamic, color=color, clock=clock,
    )
    for t, current, values, finalize in sc.steps:
        clock.now = t
        bar.update(current, values, finalize=finalize)
    return out.getvalue()


def run_has_output(sc: Scenario) -> bool:
    return bool(run_ours(sc, color=False))


@pytest.mark.parametrize("seed", range(N_SCENARIOS))
def test_keras_style_matches_keras_byte_for_byte(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = make_scenario(seed)
    expected = run_keras(sc, monkeypatch)
    assert run_ours(sc, color=True) == expected
    assert run_ours(sc, color=False) == ANSI.sub("", expected)


def test_scenarios_cover_what_they_claim() -> None:
    """The generator really produces the cases the comparison is meant to cover."""
    scs = [make_scenario(s) for s in range(N_SCENARIOS)]
    assert {sc.target for sc in scs} >= {None, 0, 1}
    assert any(sc.target and sc.target > 1000 for sc in scs)
    assert any(isinstance(sc.target, float) and not sc.target.is_integer() for sc in scs)
    assert {sc.verbose for sc in scs} == {1, 2}
    assert {sc.dynamic for sc in scs} == {True, False}
    assert {sc.interval for sc in scs} == {0.0, 0.05, 1.0}
    assert {len({k for _, _, v, _ in sc.steps for k, _ in v}) for sc in scs} >= set(range(7))
    assert any(sc.stateful for sc in scs) and any(sc.stateless for sc in scs)
    assert any(f is True for sc in scs for *_, f in sc.steps)
    steps = [(sc.target, c) for sc in scs for _, c, _, _ in sc.steps]
    assert any(t is not None and c > t for t, c in steps)  # overshoot
    gaps = [b[0] - a[0] for sc in scs for a, b in zip(sc.steps, sc.steps[1:])]
    assert min(g for g in gaps if g > 0) <= 0.001 and max(gaps) >= 3600
    values = [v for sc in scs for _, _, vs, _ in sc.steps for _, v in vs]
    assert any(v < -1e-3 for v in values) and any(0 < abs(v) < 1e-3 for v in values)
    assert any(abs(v) > 1e9 for v in values)
    assert any(c != int(c) for _, c in steps)  # fractional steps
    assert sum(run_has_output(sc) for sc in scs) >= 300


# Keras 3's own progbar_test.py cases, run against progbar.Progbar --------------------


@pytest.mark.parametrize("style", ["default", "keras"])
@pytest.mark.parametrize(
    "values", [1.0, np.array(1.0), [0.0, 1.0, 2.0]], ids=["float", "np", "list"]
)
def test_keras_case_update(style: str, values: Any) -> None:
    out = io.StringIO()
    pb = Progbar(target=1, verbose=1, style=style, file=out)
    pb.update(1, values=[("values", values)], finalize=True)
    assert "values: 1.0000" in out.getvalue()


@pytest.mark.parametrize("style", ["default", "keras", "keras2"])
@pytest.mark.parametrize("verbose", [1, 2])
def test_keras_case_zero_target(style: str, verbose: int) -> None:
    out = io.StringIO()
    pb = Progbar(target=0, verbose=verbose, style=style, file=out)
    pb.update(0, finalize=True)
    pb.close()
    expected = {
        (1, "default"): "0/0 100% 0:00\n",
        (2, "default"): "0/0 100% 0:00\n",
        (1, "keras"): "\n      0/Unknown 0s 0s/step\n",  # Keras 3's own bytes
        (2, "keras"): "",  # Keras 3 prints no summary for target 0; nor do we
        (1, "keras2"): "\n      0/Unknown - 0s 0us/step\n",
        (2, "keras2"): " - 0s\n",
    }
    assert out.getvalue() == expected[verbose, style]


def test_keras_case_stateful_stateless_raises() -> None:
    with pytest.raises(ValueError, match="^Only one of `stateful_metrics` or `stateless_metrics`"):
        Progbar(target=1, stateful_metrics=[], stateless_metrics=[])


@pytest.mark.parametrize("style", ["default", "keras"])
@pytest.mark.parametrize(
    "stateful, stateless, expected",
    [([], None, "1."), (["value"], None, "2."), (None, [], "2."), (None, ["value"], "1.")],
    ids=["all_stateless", "one_stateless", "all_stateful", "one_stateful"],
)
def test_keras_case_stateful_stateless_output(
    style: str, stateful: Any, stateless: Any, expected: str
) -> None:
    captured = io.StringIO()
    pb = Progbar(target=3, stateful_metrics=stateful, stateless_metrics=stateless,
                 interval=0.0, verbose=1, style=style)
    pb.update(1, values=[("value", 0.0)])
    with contextlib.redirect_stdout(captured):
        pb.update(2, values=[("value", 2.0)])
    assert f"value: {expected}" in captured.getvalue()
