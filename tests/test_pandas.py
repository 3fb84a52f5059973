"""progbar.pandas.register(): each progress_* method returns what the plain method returns,
and its bar counts rows, columns, cells, groups or windows."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any, Callable

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas", reason="needs pandas (the data extra)")

import progbar.pandas  # noqa: E402  (after the skip above)

out = io.StringIO()


@pytest.fixture(autouse=True)
def registered() -> None:
    out.seek(0)
    out.truncate()
    progbar.pandas.register(file=out, dynamic=False, color=False, label="pd")


def final() -> list[str]:
    """The fields of the last line written: label, count, percent..."""
    return out.getvalue().splitlines()[-1].split()


SERIES = pd.Series([3.0, 1.5, np.nan, 7.25, -2.0, 4.0], name="x")
FRAME = pd.DataFrame({
    "key": ["a", "b", "a", "c", "b", "a", "c"],
    "n": [1, 2, 3, 4, 5, 6, 7],
    "f": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
})
NUMBERS = FRAME[["n", "f"]]

# (name, plain call, progress call, expected count, unit)
Case = tuple[str, Callable[[], Any], Callable[[], Any], int, str]
CASES: list[Case] = [
    ("Series.apply", lambda: SERIES.apply(lambda v: v * 2),
     lambda: SERIES.progress_apply(lambda v: v * 2), 6, "row"),
    ("Series.apply args", lambda: SERIES.apply(lambda v, k: v + k, args=(1,)),
     lambda: SERIES.progress_apply(lambda v, k: v + k, args=(1,)), 6, "row"),
    ("Series.apply ufunc", lambda: SERIES.apply(np.sqrt),
     lambda: SERIES.progress_apply(np.sqrt), 6, "row"),
    ("Series.map", lambda: SERIES.map(lambda v: f"{v:.1f}"),
     lambda: SERIES.progress_map(lambda v: f"{v:.1f}"), 6, "row"),
    ("Series.map na_action", lambda: SERIES.map(lambda v: v + 1, na_action="ignore"),
     lambda: SERIES.progress_map(lambda v: v + 1, na_action="ignore"), 6, "row"),
    ("Series.map dict", lambda: SERIES.map({3.0: "three"}),
     lambda: SERIES.progress_map({3.0: "three"}), 6, "row"),
    ("DataFrame.apply axis=0", lambda: NUMBERS.apply(lambda c: c.max() - c.min()),
     lambda: NUMBERS.progress_apply(lambda c: c.max() - c.min()), 2, "column"),
    ("DataFrame.apply axis=1", lambda: NUMBERS.apply(lambda r: r["n"] * r["f"], axis=1),
     lambda: NUMBERS.progress_apply(lambda r: r["n"] * r["f"], axis=1), 7, "row"),
    ("DataFrame.apply axis=columns raw",
     lambda: NUMBERS.apply(np.sum, axis="columns", raw=True),
     lambda: NUMBERS.progress_apply(np.sum, axis="columns", raw=True), 7, "row"),
    ("DataFrame.apply expand", lambda: NUMBERS.apply(lambda r: [r.n, r.f], axis=1,
                                                     result_type="expand"),
     lambda: NUMBERS.progress_apply(lambda r: [r.n, r.f], axis=1, result_type="expand"),
     7, "row"),
    ("DataFrame.apply string", lambda: NUMBERS.apply("sum"),
     lambda: NUMBERS.progress_apply("sum"), 2, "column"),
    ("DataFrame.map", lambda: FRAME.map(str), lambda: FRAME.progress_map(str), 21, "cell"),
    ("DataFrameGroupBy.apply", lambda: FRAME.groupby("key").apply(lambda g: g.n.sum() * 2),
     lambda: FRAME.groupby("key").progress_apply(lambda g: g.n.sum() * 2), 3, "group"),
    ("DataFrameGroupBy.apply frames",
     lambda: FRAME.groupby("key").apply(lambda g: g.assign(r=g.n.rank())),
     lambda: FRAME.groupby("key").progress_apply(lambda g: g.assign(r=g.n.rank())),
     3, "group"),
    ("SeriesGroupBy.apply", lambda: FRAME.groupby("key")["f"].apply(lambda s: s.mean()),
     lambda: FRAME.groupby("key")["f"].progress_apply(lambda s: s.mean()), 3, "group"),
    ("DataFrameGroupBy.aggregate", lambda: FRAME.groupby("key").aggregate(lambda s: s.max()),
     lambda: FRAME.groupby("key").progress_aggregate(lambda s: s.max()), 3, "group"),
    ("SeriesGroupBy.aggregate", lambda: FRAME.groupby("key")["n"].aggregate(lambda s: s.sum()),
     lambda: FRAME.groupby("key")["n"].progress_aggregate(lambda s: s.sum()), 3, "group"),
    ("DataFrameGroupBy.transform",
     lambda: FRAME.groupby("key")[["n", "f"]].transform(lambda s: s - s.mean()),
     lambda: FRAME.groupby("key")[["n", "f"]].progress_transform(lambda s: s - s.mean()),
     3, "group"),
    ("SeriesGroupBy.transform", lambda: FRAME.groupby("key")["n"].transform(lambda s: s.cumsum()),
     lambda: FRAME.groupby("key")["n"].progress_transform(lambda s: s.cumsum()), 3, "group"),
    ("Rolling.apply", lambda: SERIES.rolling(2).apply(lambda w: w.sum()),
     lambda: SERIES.rolling(2).progress_apply(lambda w: w.sum()), 6, "window"),
    ("Rolling.apply frame raw", lambda: NUMBERS.rolling(3).apply(np.max, raw=True),
     lambda: NUMBERS.rolling(3).progress_apply(np.max, raw=True), 14, "window"),
    ("Expanding.apply", lambda: SERIES.expanding().apply(lambda w: w.max()),
     lambda: SERIES.expanding().progress_apply(lambda w: w.max()), 6, "window"),
]


def assert_same(got: Any, want: Any) -> None:
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want)
    else:
        pd.testing.assert_series_equal(got, want)


@pytest.mark.parametrize("name, plain, progress, steps, unit", CASES,
                         ids=[case[0] for case in CASES])
def test_result_equals_the_plain_call_and_the_bar_counts(
    name: str, plain: Callable[[], Any], progress: Callable[[], Any], steps: int, unit: str
) -> None:
    assert_same(progress(), plain())
    assert final()[:3] == ["pd", f"{steps}/{steps}", "100%"]
    assert len(out.getvalue().splitlines()) == 1  # one bar, one final line
    assert out.getvalue().count(f"{unit}/s") <= 1  # the unit names what is counted


def test_the_bar_moves_as_rows_are_processed() -> None:
    counts: list[str] = []

    class Watching(io.StringIO):
        def write(self, text: str) -> int:
            counts.extend(w for w in text.split() if "/" in w and w[0].isdigit())
            return super().write(text)

    progbar.pandas.register(file=Watching(), dynamic=True, interval=0)
    SERIES.progress_apply(lambda v: v)
    assert counts[:2] == ["1/6", "2/6"] and counts[-1] == "6/6"


def test_an_error_in_the_function_propagates_and_closes_the_bar() -> None:
    def boom(v: float) -> float:
        if v > 5:
            raise ValueError("too big")
        return v

    with pytest.raises(ValueError, match="too big"):
        SERIES.progress_apply(boom)
    assert final()[:2] == ["pd", "3/6"]  # closed at the rows done before it (NaN counts)


def test_groupby_has_no_progress_map_as_it_has_no_map() -> None:
    assert not hasattr(FRAME.groupby("key"), "map")
    assert not hasattr(FRAME.groupby("key"), "progress_map")


def test_import_progbar_does_not_import_pandas() -> None:
    code = "import sys, progbar; print('pandas' in sys.modules)"
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert got == "False"
