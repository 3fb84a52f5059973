"""The picture at the end: history table, sparklines and the SVG chart."""

from __future__ import annotations

import io
import math

import progbar
from progbar import History
from progbar._history import format_history_table, format_svg_trend, sparkline


def test_sparkline_scales_between_min_and_max() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([4.0, 2.0, 1.0, 0.5]) == "█▄▂▁"
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], ascii=True) == "_.-:=+*#"
    assert sparkline([0.3, 0.3, 0.3]) == "▄▄▄"
    assert sparkline([1.0, math.nan, 3.0]) == "▁ █"
    assert sparkline([]) == ""


def test_long_histories_are_averaged_down() -> None:
    line = sparkline([float(i) for i in range(400)], width=40)
    assert len(line) == 40 and line[0] == "▁" and line[-1] == "█"


def test_table_is_compact_and_aligned() -> None:
    table = format_history_table(
        {"loss": [0.6329, 0.4105, 0.3271], "accuracy": [0.7, 0.85, 0.8764]}
    )
    assert table == (
        "3 epochs   first    last     min     max  trend\n"
        "loss      0.6329  0.3271  0.3271  0.6329  █▃▁\n"
        "accuracy  0.7000  0.8764  0.7000  0.8764  ▁▇█"
    )


def test_history_add_keeps_epochs_aligned() -> None:
    h = History()
    h.add({"loss": 1.0, "note": "skipped: not a number"})
    h.add([("loss", 0.5), ("val_loss", 0.7)])
    d = h.as_dict()
    assert h.epochs == 2
    assert d["loss"] == [1.0, 0.5]
    assert math.isnan(d["val_loss"][0]) and d["val_loss"][1] == 0.7
    assert "note" not in d
    assert History(d).as_dict().keys() == d.keys()


def test_show_writes_text_and_falls_back_to_ascii() -> None:
    h = History({"loss": [3.0, 2.0, 1.0]})
    out = io.StringIO()
    h.show(out)
    assert out.getvalue().endswith("█▅▁\n")
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    h.show(ascii_out)  # type: ignore[arg-type]
    ascii_out.seek(0)
    assert ascii_out.read().endswith("#=_\n")


def test_html_has_one_svg_chart_per_metric() -> None:
    h = History({"loss": [3.0, 2.0, 1.0], "a<b": [1.0, 2.0, 2.0]})
    html = h._repr_html_()
    assert html.count("<svg") == 2 and "a&lt;b" in html and "a<b" not in html
    svg = format_svg_trend([3.0, 2.0, 1.0], width=100, height=20)
    assert svg.startswith("<svg") and 'points="3.0,3.0 50.0,10.0 97.0,17.0"' in svg


def test_history_is_public() -> None:
    assert progbar.History is History and "History" in progbar.__all__
