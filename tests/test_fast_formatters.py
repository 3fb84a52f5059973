"""The render fast path (``format_default_fast`` / ``format_keras_fast``) gives the
same line and width as the general segment path, whatever the snapshot."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from progbar import Progbar
from progbar import _format as fmt

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
plain = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
names = st.one_of(plain, text, st.sampled_from(["loss", "acc", "値", "😀️", "e\u0301", "a\x1b[31m"]))
finite = st.floats(-1e9, 1e9, allow_nan=False)
values = st.one_of(st.floats(), finite, st.sampled_from([0.0, 1e-3, -1e-3, 5e-4]), text)
glyph_sets = st.sampled_from([fmt.UNICODE, fmt.UNICODE_PLAIN, fmt.ASCII, fmt.KERAS_ASCII])
cases = st.fixed_dictionaries({
    "current": st.one_of(st.integers(-50, 10**7), finite),
    "target": st.integers(1, 10**7),
    "elapsed": st.one_of(finite, st.floats(0, 200_000)),
    "per_step": st.one_of(finite, st.floats(0, 5), st.just(0.0)),
    "metrics": st.lists(st.tuples(names, values), max_size=5),
    "final": st.booleans(),
    "unit": st.one_of(st.just("step"), text.map(fmt.clean_name)),
    "eta": st.one_of(st.none(), finite, st.floats(0, 200_000)),
    "width": st.integers(1, 60),
    "glyphs": glyph_sets,
    "color": st.booleans(),
    "max_cells": st.one_of(st.none(), st.integers(0, 200)),
    "with_bar": st.booleans(),
})


def _general(segs: list[fmt.Segment], color: bool) -> tuple[str, int]:
    return fmt.join_segments(segs, color), fmt.segments_width(segs)


@given(case=cases)
def test_default_fast_path_equals_general_path(case: dict[str, Any]) -> None:
    c = case
    snap = fmt.Snapshot(current=c["current"], target=c["target"], elapsed=c["elapsed"],
                        per_step=c["per_step"], metrics=c["metrics"], final=c["final"],
                        unit=c["unit"], eta=c["eta"])
    cache: dict[object, tuple[str, int]] = {}
    for _ in range(2):  # a cold and a warm cache
        fast = fmt.format_default_fast(
            c["current"], c["target"], c["elapsed"], c["per_step"], c["metrics"], c["final"],
            c["unit"], c["eta"], c["width"], c["glyphs"], c["color"], c["max_cells"],
            c["with_bar"], cache,
        )
        general = _general(
            fmt.format_default(snap, c["width"], c["glyphs"], c["max_cells"], c["with_bar"]),
            c["color"],
        )
        if c["max_cells"] is None:
            assert fast is not None  # the common case takes the fast path
        if fast is not None:
            assert fast == general


@given(case=cases)
def test_keras_fast_path_equals_general_path(case: dict[str, Any]) -> None:
    c = case
    snap = fmt.Snapshot(current=c["current"], target=c["target"], elapsed=c["elapsed"],
                        per_step=c["per_step"], metrics=c["metrics"], final=c["final"],
                        unit=c["unit"], eta=c["eta"])
    cache: dict[object, tuple[str, int]] = {}
    for _ in range(2):
        fast = fmt.format_keras_fast(
            c["current"], c["target"], c["elapsed"], c["per_step"], c["metrics"], c["final"],
            c["unit"], c["width"], c["glyphs"], c["color"], c["max_cells"], cache,
        )
        general = _general(
            fmt.format_keras(snap, c["width"], c["glyphs"], c["max_cells"]), c["color"]
        )
        if c["max_cells"] is None and not c["glyphs"].open:
            assert fast is not None
        if fast is not None:
            assert fast == general


def test_keras_line_of_exactly_max_cells_takes_the_general_path() -> None:
    # format_keras's fitting reserves one cell it does not draw: a line that fills
    # max_cells exactly is fitted (bar one cell shorter), so the fast path declines.
    metrics = [("loss", 0.5)]
    _, cells = fmt.format_keras_fast(3, 10, 1.0, 0.1, metrics, False, "step", 20,
                                     fmt.UNICODE, False, None, {}) or ("", 0)
    assert cells > 0
    assert fmt.format_keras_fast(3, 10, 1.0, 0.1, metrics, False, "step", 20,
                                 fmt.UNICODE, False, cells, {}) is None
    assert fmt.format_keras_fast(3, 10, 1.0, 0.1, metrics, False, "step", 20,
                                 fmt.UNICODE, False, cells + 1, {}) is not None


def test_fast_path_cache_stays_bounded() -> None:
    cache: dict[object, tuple[str, int]] = {}
    for i in range(3 * fmt._CACHE_MAX):
        fmt.format_default_fast(i, 10**6, float(i), 0.01, [(f"m{i}", 1.0)], False, "step",
                                1.0, 20, fmt.UNICODE, True, None, True, cache)
    assert len(cache) <= fmt._CACHE_MAX


def test_unknown_glyphs_take_the_general_path() -> None:
    odd = fmt.Glyphs(done="█", tip="▌", rest="░")
    assert fmt.format_default_fast(1, 10, 1.0, 0.1, [], False, "step", None, 10, odd,
                                   False, None, True, {}) is None


@given(
    style=st.sampled_from(["default", "keras"]),
    color=st.booleans(),
    steps=st.lists(st.tuples(st.integers(-2, 12), st.floats(-5, 5, allow_nan=False), text),
                   min_size=1, max_size=8),
)
def test_bar_writes_the_same_bytes_with_and_without_the_fast_path(
    style: str, color: bool, steps: list[tuple[int, float, str]]
) -> None:
    def run() -> str:
        t = [0.0]

        def clock() -> float:
            t[0] += 0.25
            return t[0]

        out = io.StringIO()
        bar: Progbar[Any] = Progbar(8, file=out, dynamic=True, color=color, clock=clock,
                                    interval=0, style=style)
        for current, v, note in steps:
            bar.update(current, [("loss", v), ("名前", float(current)), ("note", note)])
        bar.close()
        return out.getvalue()

    fast = run()
    saved = fmt.format_default_fast, fmt.format_keras_fast
    try:
        fmt.format_default_fast = lambda *a, **k: None  # type: ignore[assignment]
        fmt.format_keras_fast = lambda *a, **k: None  # type: ignore[assignment]
        general = run()
    finally:
        fmt.format_default_fast, fmt.format_keras_fast = saved
    assert fast == general
