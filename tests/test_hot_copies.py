"""The copies kept for speed equal the plain code they copy, over random inputs:

* the pair loop of ``update()`` and its copy in ``add()`` record what the store's
  general code records (``update(..., finalize=False)`` always takes it);
* ``Progbar.current`` (and ``log()``'s step) inline ``TrackLoop.count()``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progbar import Progbar, track
from progbar._track import TrackLoop

names = st.sampled_from(["loss", "acc", "lr", "note"])
numbers = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False), st.integers(-(10**6), 10**6),
    st.sampled_from([10**400, Decimal("1.5"), True]),
)
values = st.one_of(numbers, st.sampled_from(["warm", None, float("nan")]))
pairs = st.lists(st.tuples(names, values), max_size=4)
malformed = st.sampled_from([[("bad",)], [("loss", 1.0), 3]])
steps = st.lists(st.tuples(st.integers(1, 3), st.one_of(pairs, malformed)), max_size=25)


def _record(bar: Progbar[Any], how: str, n: int, vals: Any) -> None:
    try:
        if how == "update":
            bar.update(bar.current + n, vals)
        elif how == "add":
            bar.add(n, vals)
        else:  # finalize=False: always the general code
            bar.update(bar.current + n, vals, finalize=False)
    except TypeError:
        pass  # malformed: nothing recorded, the count unchanged


def _state(bar: Progbar[Any]) -> tuple[Any, ...]:
    def same(x: Any) -> Any:
        if x != x:  # nan (float or Decimal) is not equal to itself
            return "nan"
        return x

    shown = {k: same(v) for k, v in bar.metrics().items()}
    totals = {k: (same(t), c) for k, (t, c) in bar.totals().items()}
    return bar.current, shown, totals


@given(steps=steps, stateful=st.booleans())
def test_the_pair_loops_of_update_and_add_equal_the_general_code(
    steps: list[tuple[int, Any]], stateful: bool
) -> None:
    bars = {how: Progbar(10**9, verbose=0, stateful_metrics=["lr"] if stateful else None)
            for how in ("update", "add", "general")}
    for n, vals in steps:
        for how, bar in bars.items():
            _record(bar, how, n, list(vals))
    assert _state(bars["update"]) == _state(bars["general"]) == _state(bars["add"])


@pytest.mark.parametrize("kind", ["range", "tuple", "list", "generator", "growing list"])
@given(n=st.integers(0, 300), stop=st.integers(0, 300), moves=st.integers(0, 2))
def test_current_inlines_the_loops_count(kind: str, n: int, stop: int, moves: int) -> None:
    items: Any = {"range": range(n), "tuple": tuple(range(n)), "list": list(range(n)),
                  "generator": (i for i in range(n)), "growing list": list(range(n))}[kind]
    bar = track(items, verbose=0)
    seen = 0
    for i, _ in enumerate(bar):
        assert bar.current == i == seen
        loop = bar._loop  # the loop object this bar's ``current`` inlines
        assert isinstance(loop, TrackLoop)
        assert loop.count() == bar.current
        if kind == "growing list" and i < 5:
            items.append(i)
        if moves and i == stop // 2:
            bar.log(loss=1.0)
        if i == stop:
            break  # the body of item ``i`` did not end: it does not count
        seen += 1
    assert bar.current == seen
