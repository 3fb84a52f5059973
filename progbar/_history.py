"""The picture at the end: a training history as a table with a trend per metric.

The formatting here is pure — ``format_*`` and :func:`sparkline` turn a history (one
list of per-epoch values per metric) into text or HTML/SVG and touch nothing else.
:class:`History` collects epochs and hands the text or HTML to the writer to show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._format import cell_width, clean_name, format_metric_value
from ._html import escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Iterable, Sequence

__all__ = [
    "SPARK_ASCII",
    "SPARK_UNICODE",
    "History",
    "format_history_html",
    "format_history_table",
    "format_svg_trend",
    "sparkline",
]

SPARK_UNICODE = "▁▂▃▄▅▆▇█"
SPARK_ASCII = "_.-:=+*#"
_MAX_POINTS = 40  # longer histories are averaged into this many buckets


def _resample(values: Sequence[float], points: int) -> list[float]:
    """At most ``points`` values: the mean of each bucket (nan ignored)."""
    n = len(values)
    if n <= points:
        return list(values)
    out: list[float] = []
    for i in range(points):
        bucket = [v for v in values[i * n // points:(i + 1) * n // points] if not math.isnan(v)]
        out.append(sum(bucket) / len(bucket) if bucket else math.nan)
    return out


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def sparkline(values: Sequence[float], ascii: bool = False, width: int = _MAX_POINTS) -> str:
    """``▁▃▅█``: each value scaled between the series' min and max.

    A constant series sits in the middle; nan/inf show as a space.  More than
    ``width`` values are averaged down to ``width`` characters.
    """
    chars = SPARK_ASCII if ascii else SPARK_UNICODE
    values = _resample(values, max(width, 1))
    finite = _finite(values)
    if not finite:
        return " " * len(values)
    lo, hi = min(finite), max(finite)
    top = len(chars) - 1
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(" ")
        elif hi == lo:
            out.append(chars[top // 2])
        else:
            out.append(chars[round((v - lo) / (hi - lo) * top)])
    return "".join(out)


def _stats(values: Sequence[float]) -> tuple[str, str, str, str]:
    """first, last, min, max, formatted as the bar formats metrics."""
    finite = _finite(values)

    def show(v: float | None) -> str:
        return "-" if v is None else format_metric_value(v)

    first = values[0] if values else None
    last = values[-1] if values else None
    return (
        show(first),
        show(last),
        show(min(finite) if finite else None),
        show(max(finite) if finite else None),
    )


_HEADER = ("metric", "first", "last", "min", "max", "trend")


def format_history_table(history: Mapping[str, Sequence[float]], ascii: bool = False) -> str:
    """A compact text table, one row per metric, with a sparkline of its trend::

        5 epochs     first    last     min     max  trend
        loss        0.6329  0.3271  0.3271  0.6329  █▃▂▁▁
        accuracy    0.7000  0.8764  0.7000  0.8764  ▁▆▇██
    """
    if not history:
        return "no epochs recorded"
    epochs = max(len(v) for v in history.values())
    rows = [
        (clean_name(name), *_stats(values), sparkline(values, ascii))
        for name, values in history.items()
    ]
    header = (f"{epochs} epoch" + ("" if epochs == 1 else "s"), *_HEADER[1:])
    widths = [max(cell_width(row[i]) for row in [header, *rows]) for i in range(5)]

    def line(row: Sequence[str]) -> str:
        name = row[0] + " " * (widths[0] - cell_width(row[0]))
        nums = [" " * (widths[i] - len(row[i])) + row[i] for i in range(1, 5)]
        return "  ".join([name, *nums, row[5]]).rstrip()

    return "\n".join(line(row) for row in [header, *rows])


def format_svg_trend(values: Sequence[float], width: int = 160, height: int = 28) -> str:
    """An inline SVG line chart of one metric, min to max, with its last point marked."""
    points = _resample(values, 200)
    finite = _finite(points)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    )
    if not finite:
        return head + "</svg>"
    lo, hi = min(finite), max(finite)
    pad = 3.0
    n = len(points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        frac = 0.5 if hi == lo else (v - lo) / (hi - lo)
        return x, height - pad - (height - 2 * pad) * frac

    coords = [xy(i, v) for i, v in enumerate(points) if math.isfinite(v)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    lx, ly = coords[-1]
    return (
        head
        + f'<polyline points="{path}" fill="none" stroke="#2e7d32" stroke-width="1.5" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
        + f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.5" fill="#2e7d32"/></svg>'
    )


def format_history_html(history: Mapping[str, Sequence[float]]) -> str:
    """The table of :func:`format_history_table` in HTML, an SVG chart per metric."""
    if not history:
        return "<p>no epochs recorded</p>"
    epochs = max(len(v) for v in history.values())
    cell = 'style="padding:2px 10px;text-align:{}"'
    head = "".join(
        f"<th {cell.format('left' if i in (0, 5) else 'right')}>{escape(h)}</th>"
        for i, h in enumerate((f"{epochs} epoch" + ("" if epochs == 1 else "s"), *_HEADER[1:]))
    )
    rows = []
    for name, values in history.items():
        stats = "".join(f"<td {cell.format('right')}>{s}</td>" for s in _stats(values))
        rows.append(
            f"<tr><td {cell.format('left')}>{escape(clean_name(name))}</td>{stats}"
            f"<td {cell.format('left')}>{format_svg_trend(values)}</td></tr>"
        )
    return (
        '<table class="progbar-history" style="font-family:var(--jp-code-font-family,'
        'monospace);font-size:13px;border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except Exception:  # a string, None, an object: not a number to chart
        return None


class History:
    """Per-epoch metrics, shown at the end as a table with a trend per metric.

    ``History()`` then ``history.add({"loss": 0.41, "accuracy": 0.88})`` once per
    epoch, or ``History(keras_history.history)`` from a dict of per-epoch lists.
    ``print(history)`` or ``history.show()`` draws the table (sparklines ``▁▂▃▄▅▆▇█``,
    ASCII where the stream cannot encode them); in a notebook, ``history.show()`` and
    a cell ending in ``history`` draw an HTML table with an SVG chart per metric.
    """

    def __init__(self, history: Mapping[str, Iterable[Any]] | None = None) -> None:
        self._data: dict[str, list[float]] = {}
        self._epochs = 0
        if history:
            columns = {name: list(values) for name, values in history.items()}
            for epoch in range(max(len(v) for v in columns.values())):
                self.add({k: v[epoch] for k, v in columns.items() if epoch < len(v)})

    def add(self, metrics: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Record one epoch: ``{"loss": v, ...}`` or ``[("loss", v), ...]``.

        Values are converted with ``float()`` (tensors, numpy scalars); anything
        that is not a number is skipped.  A metric missing from an epoch is nan there.
        """
        items = metrics.items() if isinstance(metrics, Mapping) else metrics
        for name, value in items:
            number = _to_float(value)
            if number is None:
                continue
            column = self._data.get(str(name))
            if column is None:
                column = self._data[str(name)] = [math.nan] * self._epochs
            if len(column) > self._epochs:  # the same name twice in one epoch: last wins
                column[-1] = number
            else:
                column.append(number)
        self._epochs += 1
        for column in self._data.values():
            column.extend([math.nan] * (self._epochs - len(column)))

    @property
    def epochs(self) -> int:
        """How many epochs (rows added with :meth:`add`) the history holds."""
        return self._epochs

    def as_dict(self) -> dict[str, list[float]]:
        """``{"loss": [epoch 1, epoch 2, ...], ...}`` (Keras's ``History.history`` shape)."""
        return {name: list(values) for name, values in self._data.items()}

    def format(self, ascii: bool = False) -> str:
        """The text table (see :func:`format_history_table`)."""
        return format_history_table(self._data, ascii)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"History({self.as_dict()!r})"

    def _repr_html_(self) -> str:
        return format_history_html(self._data)

    def show(self, file: IO[str] | None = None) -> None:
        """Draw the table on ``file`` (default ``sys.stdout``), or as HTML with SVG
        charts when running in a Jupyter kernel and ``file`` is None."""
        from ._writer import show_block

        show_block(lambda ascii: self.format(ascii), self._repr_html_, file)
