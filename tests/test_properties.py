"""Property-based tests (hypothesis) over random call sequences, in every style.

- the count shown is the last ``current`` passed;
- averaged metrics equal the step-weighted mean computed independently here;
- in live mode on a terminal of any width 10..300 every line drawn fits ``columns - 1``
  cells, whatever the metric names and values (wide Unicode, emoji, escapes);
- line mode never emits ``\\r``, ``\\b`` or ANSI.
"""

from __future__ import annotations

import io
import math
import os
import pty
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from support.reliability import Clock, TTYCapture, cells, frames, reliability, set_winsize, tick

from progbar import Progbar, track

STYLES = ("default", "keras", "keras2", "tf_keras")

_PTY: tuple[int, int] | None = None


def tty_fd() -> int:
    """The slave side of one pty shared by this module (sized per example)."""
    global _PTY
    if _PTY is None:
        _PTY = pty.openpty()
    return _PTY[1]


# Names and values that are hard to display: wide CJK, emoji (with VS16 and ZWJ),
# combining marks, right-to-left, control characters and escape sequences.
SPECIAL = [
    "", "loss", "漢字", "🎉", "❤️", "👨‍👩‍👧", "🇺🇸", "e\u0301", "\u202e", "a\nb", "\r",
    "\x1b[31m", "\x1b]0;x\x07", "\x9b2J", "\t", "\u3000", "ｗｉｄｅ", "\u200b", "🫨",
]
chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
text = st.one_of(st.sampled_from(SPECIAL), st.text(chars, max_size=12))
names = text
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    text,
    st.none(),
)
targets = st.one_of(st.none(), st.integers(0, 10**6))


def _call_sequence(max_current: int) -> Any:
    return st.lists(
        st.tuples(
            st.integers(-5, max_current),
            st.lists(st.tuples(names, values), max_size=4),
        ),
        min_size=1,
        max_size=8,
    )


# --------------------------------------------------------------------------- fit


@reliability(
    "Properties",
    "live mode: every line fits `columns - 1` cells (widths 10-300, 4 styles, random "
    "names/values incl. wide Unicode, emoji, escapes; current past target/negative)",
)
@given(
    style=st.sampled_from(STYLES),
    columns=st.integers(10, 300),
    target=targets,
    width=st.one_of(st.none(), st.integers(1, 400)),
    calls=_call_sequence(3 * 10**6),
    unit=st.sampled_from(["step", "sample", "漢字", "🎉x"]),
    message=st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                         max_size=8)),
)
def test_live_line_fits_terminal(
    style: str,
    columns: int,
    target: int | None,
    width: int | None,
    calls: list[tuple[int, list[tuple[str, Any]]]],
    unit: str,
    message: str | None,
) -> None:
    tick()
    fd = tty_fd()
    set_winsize(fd, columns)
    out = TTYCapture(fd)
    bar: Progbar[Any] = Progbar(
        target, width, unit_name=unit, style=style, file=out, clock=Clock(), interval=0
    )
    for current, vals in calls:
        bar.update(current, vals)
        if message is not None:
            bar.write(message)
    bar.close()
    for frame in frames(out.getvalue(), live=True):  # live lines fit the terminal
        assert cells(frame) <= columns - 1, (columns, frame)


# --------------------------------------------------------------------------- count

COUNT = re.compile(r"^\s*(-?\d+)(?:/| )")


def _last_count(output: str) -> int:
    shown = [f for f in frames(output) if f.strip()]
    match = COUNT.match(shown[-1])
    assert match, shown[-1]
    return int(match.group(1))


@reliability("Properties", "the count shown is the last `current` passed (4 styles, live and line mode, backwards and past target)")
@given(
    style=st.sampled_from(STYLES),
    live=st.booleans(),
    target=st.one_of(st.none(), st.integers(0, 1000)),
    currents=st.lists(st.integers(-10, 3000), min_size=1, max_size=12),
)
def test_count_shown_is_last_current(
    style: str, live: bool, target: int | None, currents: list[int]
) -> None:
    tick()
    if live:
        fd = tty_fd()
        set_winsize(fd, 300)
        out: Any = TTYCapture(fd)
    else:
        out = io.StringIO()
    bar: Progbar[Any] = Progbar(target, style=style, file=out, clock=Clock(), interval=0)
    for c in currents:
        bar.update(c, [("loss", 0.5)])
    bar.close()
    assert bar.current == currents[-1]
    assert _last_count(out.getvalue()) == currents[-1]


@reliability("Properties", "`track()`: count shown equals the items yielded; items unchanged")
@given(n=st.integers(0, 3000), live=st.booleans(), sized=st.booleans())
def test_track_count(n: int, live: bool, sized: bool) -> None:
    tick()
    out: Any = TTYCapture(tty_fd()) if live else io.StringIO()
    if live:
        set_winsize(tty_fd(), 200)
    source = range(n) if sized else (i for i in range(n))
    bar = track(source, file=out, clock=Clock(0.001), interval=0)
    seen = [x for x in bar]
    assert seen == list(range(n))
    assert bar.current == n
    assert _last_count(out.getvalue()) == n


# --------------------------------------------------------------------------- means

METRIC_NAMES = ("loss", "acc", "lr")
numbers = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False), st.integers(-(10**6), 10**6)
)


def _expected_means(
    calls: list[tuple[int, list[tuple[str, float]]]],
    stateful: set[str],
    target: int | None,
    keras3: bool,
) -> dict[str, float]:
    """design.md, "The parts" independently: ``sum += v*w``, ``count += w``, ``w = max(current - seen, 1)``;
    stateful metrics are shown as passed; Keras 3 replaces an averaged metric by the
    value passed on a finalizing call (current >= target)."""
    totals: dict[str, list[float]] = {}
    seen = 0
    for current, vals in calls:
        w = max(current - seen, 1)
        finalize = target is not None and current >= target
        for name, v in vals:
            if name in stateful or (keras3 and finalize):
                totals[name] = [float(v), 1]
            elif name not in totals:
                totals[name] = [v * w, w]
            else:
                totals[name][0] += v * w
                totals[name][1] += w
        seen = current
    return {k: float(t / c) for k, (t, c) in totals.items()}


def _shown_value(line: str, name: str) -> float:
    m = re.search(re.escape(name) + r": (\S+)", line)
    assert m, (name, line)
    return float(m.group(1))


@reliability("Properties", "averaged metrics equal an independently computed step-weighted mean; stateful shown as passed (4 styles)")
@given(
    style=st.sampled_from(STYLES),
    target=st.one_of(st.none(), st.integers(1, 500)),
    stateful=st.sets(st.sampled_from(METRIC_NAMES)),
    calls=st.lists(
        st.tuples(
            st.integers(-3, 600),
            st.lists(st.tuples(st.sampled_from(METRIC_NAMES), numbers), max_size=3),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_means_are_step_weighted(
    style: str,
    target: int | None,
    stateful: set[str],
    calls: list[tuple[int, list[tuple[str, float]]]],
) -> None:
    tick()
    out = io.StringIO()
    bar: Progbar[Any] = Progbar(
        target, stateful_metrics=stateful, style=style, file=out, dynamic=False,
        clock=Clock(), interval=0,
    )
    for current, vals in calls:
        bar.update(current, vals)
    bar.close()
    expected = _expected_means(calls, stateful, target, style == "keras")
    got = bar.metrics()
    assert list(got) == list(dict.fromkeys(n for _, vals in calls for n, _ in vals))
    for name, want in expected.items():
        have = got[name]
        assert isinstance(have, float)
        assert math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-9), (name, have, want)
    # and the line shows it (4 decimals or scientific, Keras's rule)
    lines = [f for f in frames(out.getvalue()) if f.strip()]
    if expected and lines:
        last = lines[-1]
        for name, want in expected.items():
            assert math.isclose(_shown_value(last, name), want,
                                rel_tol=1e-4, abs_tol=1e-4), (name, last, want)


@reliability("Properties", "`track()` + `log()`: each log stands for the steps since the previous one")
@given(
    logs=st.lists(st.one_of(st.none(), st.floats(-1e3, 1e3)), min_size=1, max_size=60)
)
def test_track_log_means(logs: list[float | None]) -> None:
    tick()
    bar = track(range(len(logs)), file=io.StringIO(), clock=Clock(), interval=0)
    total = 0.0
    count = 0
    mark = 0
    for i in bar:
        v = logs[i]
        if v is not None:
            w = max(i + 1 - mark, 1)
            mark = i + 1
            total += v * w
            count += w
            bar.log(loss=v)
    if count:
        assert math.isclose(bar.metrics()["loss"], total / count, rel_tol=1e-9, abs_tol=1e-9)
    else:
        assert bar.metrics() == {}


# --------------------------------------------------------------------------- line mode


@reliability("Properties", "line mode never emits `\\r`, `\\b` or ANSI (4 styles, verbose 1 and 2, escapes in names/values/units)")
@given(
    style=st.sampled_from(STYLES),
    verbose=st.sampled_from([1, 2]),
    target=targets,
    calls=_call_sequence(2000),
    unit=st.sampled_from(["step", "a\rb", "\x1b[1m"]),
    messages=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
                              max_size=10), max_size=3),
)
def test_line_mode_is_plain(
    style: str,
    verbose: int,
    target: int | None,
    calls: list[tuple[int, list[tuple[str, Any]]]],
    unit: str,
    messages: list[str],
) -> None:
    tick()
    out = io.StringIO()
    bar: Progbar[Any] = Progbar(target, verbose=verbose, unit_name=unit, style=style,
                                file=out, clock=Clock(), interval=0)
    for i, (current, vals) in enumerate(calls):
        bar.update(current, vals)
        if i < len(messages):
            bar.write(messages[i])
    bar.close()
    text = out.getvalue()
    assert "\r" not in text and "\b" not in text and "\x1b" not in text, repr(text)
    assert "\x9b" not in text, repr(text)


def teardown_module() -> None:
    global _PTY
    if _PTY is not None:
        for fd in _PTY:
            os.close(fd)
        _PTY = None
