"""Fuzzing the formatter and the metric store (hypothesis, bounded by the CI profile),
plus the committed corpus of inputs that once broke something (tests/corpus/)."""

from __future__ import annotations

import decimal
import json
import os
import pty
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.reliability import (
    Clock,
    TTYCapture,
    cells,
    final_lines,
    frames,
    reliability,
    set_winsize,
    tick,
)

from progbar import Progbar
from progbar import _format as fmt
from progbar._metrics import MetricStore

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.json"))

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
finite = st.floats(-1e12, 1e12, allow_nan=False)
shown = st.one_of(st.floats(), text)
snapshots = st.builds(
    fmt.Snapshot,
    current=st.one_of(st.integers(-(10**15), 10**15), finite),
    target=st.one_of(st.none(), st.integers(0, 10**15)),
    elapsed=finite,
    per_step=finite,
    metrics=st.lists(st.tuples(text, shown), max_size=6),
    final=st.booleans(),
    unit=text,
    eta=st.one_of(st.none(), finite),
)
glyphs = st.sampled_from([fmt.UNICODE, fmt.UNICODE_PLAIN, fmt.ASCII])


@reliability("Fuzzing", "formatter: random snapshots (huge/negative counts, odd times, any text) × widths × 4 styles + summaries → never raises; fitted lines ≤ max cells")
@given(
    snap=snapshots,
    width=st.integers(1, 500),
    max_cells=st.one_of(st.none(), st.integers(0, 400)),
    glyph=glyphs,
    with_bar=st.booleans(),
)
def test_fuzz_formatter(
    snap: fmt.Snapshot, width: int, max_cells: int | None, glyph: fmt.Glyphs, with_bar: bool
) -> None:
    tick()
    snap = fmt.Snapshot(
        current=snap.current, target=snap.target, elapsed=snap.elapsed,
        per_step=snap.per_step, metrics=snap.metrics, final=snap.final,
        unit=fmt.clean_name(snap.unit), eta=snap.eta,
    )
    lines = [
        fmt.format_default(snap, width, glyph, max_cells, with_bar),
        fmt.format_keras(snap, width, glyph, max_cells),
        fmt.format_keras2(snap, width, max_cells),
        fmt.format_tf_keras(snap, width, max_cells),
    ]
    for segs in lines:
        line = fmt.join_segments(segs, True)
        assert isinstance(line, str)
        if max_cells is not None:
            assert fmt.segments_width(segs) <= max_cells
            assert cells(fmt.join_segments(segs, False)) <= max_cells
    for summary in (fmt.format_keras_summary(snap), fmt.format_keras2_summary(snap),
                    fmt.format_tf_keras_summary(snap, snap.elapsed)):
        assert "\n" not in summary and "\r" not in summary


class Weird:
    def __float__(self) -> float:
        raise ValueError("weird")


values = st.one_of(
    st.floats(),
    st.integers(-(10**400), 10**400),
    text,
    st.none(),
    st.complex_numbers(),
    st.decimals(allow_nan=True),
    st.builds(np.float32, st.floats(width=32)),
    st.builds(np.array, st.lists(st.floats(), max_size=4)),
    st.lists(st.one_of(st.floats(), st.integers()), max_size=4),
    st.just(Weird()),
    st.binary(max_size=4),
)


@reliability("Fuzzing", "metric store: random record sequences (floats, 10**400 ints, Decimal, complex, numpy, lists, bytes, raising `__float__`) → never raises; snapshot is floats or text")
@given(
    stateful=st.one_of(st.none(), st.sets(st.sampled_from("abc"))),
    records=st.lists(
        st.tuples(st.lists(st.tuples(st.sampled_from("abcd"), values), max_size=4),
                  st.integers(1, 10**6), st.booleans()),
        max_size=8,
    ),
)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # numpy's own, on huge values
def test_fuzz_metric_store(
    stateful: set[str] | None, records: list[tuple[list[tuple[str, Any]], int, bool]]
) -> None:
    tick()
    store = MetricStore(stateful)
    with decimal.localcontext() as ctx:
        ctx.traps[decimal.InvalidOperation] = False
        for vals, weight, replace in records:
            store.record(vals, weight, replace)
            for name, value in store.snapshot():
                assert isinstance(name, str)
                assert isinstance(value, (float, str))
                line = fmt.format_metric_value(value)
                assert isinstance(line, str)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        if value.startswith("@bigint:"):
            return 10 ** int(value.split(":")[1])
        return float(value[1:])
    return value


@reliability("Fuzzing", "corpus replay: inputs that once broke the fit, the escaping or the averaging (tests/corpus/*.json)")
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    master, slave = pty.openpty()
    set_winsize(slave, case["columns"])
    out = TTYCapture(slave)
    bar: Progbar[Any] = Progbar(case["target"], case["width"], unit_name=case.get("unit", "step"),
                                style=case["style"], file=out, clock=Clock(), interval=0)
    for current, vals in case["calls"]:
        bar.update(current, [(n, _decode(v)) for n, v in vals])
    bar.close()
    assert not bar._display.dead
    for frame in frames(out.getvalue(), live=True):  # live lines fit the terminal
        assert cells(frame) <= case["columns"] - 1, frame
    if bar.metrics():  # the final line is a record: it keeps every metric (broken
        record = " ".join(final_lines(out.getvalue()))  # onto more lines if it must)
        for name in bar.metrics():
            assert fmt.clean_name(name) + ": " in record, (name, record)
    for value in bar.metrics().values():
        assert isinstance(value, (float, str))
    os.close(master)
    os.close(slave)
