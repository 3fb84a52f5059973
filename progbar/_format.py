"""The formatter: pure functions from a snapshot of a bar to the text of one line.

Nothing here touches a stream, a clock, the environment or a global.  A line is built
as a list of *segments* ``(text, sgr)``: the text a person sees and the SGR colour code
that wraps it (``""`` for none).  Widths are measured on the visible text, never by
counting escape bytes, and a line is fitted to a width by shrinking the bar first and
dropping metrics second.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence, Tuple, Union

Segment = Tuple[str, str]
Shown = Union[float, str]
BarMaker = Callable[[int], "list[Segment]"]

BOLD = "1"
GREEN = "32"
WHITE = "37"
DIM = "2"
CYAN = "36"


@dataclass(frozen=True)
class Glyphs:
    """The characters a bar is drawn with."""

    done: str
    tip: str
    rest: str
    open: str = ""
    close: str = ""
    ellipsis: str = "…"


UNICODE = Glyphs(done="━", tip="╸", rest="━")
UNICODE_PLAIN = Glyphs(done="━", tip="╸", rest="─")  # no colour: rest must differ
ASCII = Glyphs(done="=", tip=">", rest=".", open="[", close="]", ellipsis="...")


@dataclass(frozen=True)
class Snapshot:
    """Everything a line shows, captured at one instant by the controller."""

    current: float
    target: int | None
    elapsed: float
    per_step: float
    metrics: Sequence[tuple[str, Shown]]
    final: bool
    unit: str = "step"
    eta: float | None = None


# --------------------------------------------------------------------------- cells


_NARROW_GLYPHS = "━╸─…"  # the bar's glyphs, one cell each (no wide East Asian width)


def cell_width(text: str) -> int:
    """Terminal cells that ``text`` occupies (wide East Asian and emoji count 2)."""
    if text.isascii() or not text.strip(_NARROW_GLYPHS):  # the bar: one cell a glyph
        return len(text)
    cells = 0
    prev = 0
    for ch in text:
        if ch == "\ufe0f":  # emoji presentation: terminals draw the base 2 cells wide
            if prev == 1:
                cells += 1
                prev = 2
            continue
        if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0e":
            continue
        prev = _char_cells(ch)
        cells += prev
    return cells


def _char_cells(ch: str) -> int:
    eaw = unicodedata.east_asian_width(ch)
    if eaw in "WF" or "\U0001f1e6" <= ch <= "\U0001f1ff":  # regional indicator: a
        return 2  # flag's half, 2 cells where terminals draw code points one by one
    # A code point newer than this Python's Unicode tables (a new emoji, say) may be
    # wide on the terminal: count 2 so that a fitted line never overflows.
    if eaw == "N" and unicodedata.category(ch) == "Cn":
        return 2
    return 1


def truncate_cells(text: str, cells: int) -> str:
    """The longest prefix of ``text`` that fits in ``cells`` terminal cells."""
    if cell_width(text) <= cells:
        return text
    out: list[str] = []
    used = 0
    prev = 0
    for ch in text:
        if ch == "\ufe0f" and prev == 1:  # widens the character before it
            if used + 1 > cells:
                out.pop()
                break
            used += 1
            prev = 2
            out.append(ch)
            continue
        w = prev = cell_width(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out)


def segments_width(segments: Sequence[Segment]) -> int:
    return sum(cell_width(text) for text, _ in segments)


def join_segments(segments: Sequence[Segment], color: bool) -> str:
    """Render segments, wrapping coloured ones in SGR codes when ``color`` is on."""
    if not color:
        return "".join(text for text, _ in segments)
    return "".join(
        f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text for text, sgr in segments
    )


_CONTROL = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x1B: "\\e"}


def _visible(ch: str) -> str:
    if ch.isprintable() or ch == "\u200d":  # keep the joiner of emoji sequences
        return ch
    code = ord(ch)
    if code in _CONTROL:
        return _CONTROL[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_name(name: str) -> str:
    """Text safe to put on one line: control characters (C0 and C1, so no escape
    sequence can start), line and paragraph separators, bidi overrides and other
    invisible formatting characters are shown as escapes."""
    if name.isprintable():
        return name
    return "".join(_visible(ch) for ch in name)


# --------------------------------------------------------------------------- numbers


def format_metric_value(value: Shown) -> str:
    """Keras's rule for one averaged value: ``%.4f`` above 1e-3 in size, else ``%.4e``."""
    if isinstance(value, str):
        return value
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def format_eta_keras(eta: float) -> str:
    """Keras's ETA: ``1:02:03`` past an hour, ``2:05`` past a minute, else ``41s``."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def format_time_per_unit(per_step: float, unit: str) -> str:
    """Keras 3's `` 12ms/step`` (seconds, milliseconds or microseconds)."""
    if per_step >= 1 or per_step == 0:
        return f" {per_step:.0f}s/{unit}"
    if per_step >= 1e-3:
        return f" {per_step * 1000.0:.0f}ms/{unit}"
    return f" {per_step * 1000000.0:.0f}us/{unit}"


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``, ``3d 01:02:03`` — a clock reading, not Keras's."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{s:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{s:02d}"
    return f"{minutes}:{s:02d}"


def format_rate(per_step: float, unit: str) -> str:
    """``36.2 step/s`` when steps are quick, ``2.5s/step`` when they are slow."""
    if per_step <= 0 or not math.isfinite(per_step):
        return ""
    if per_step > 1:
        return f"{per_step:.1f}s/{unit}"
    rate = 1.0 / per_step
    if rate >= 100:
        return f"{rate:.0f} {unit}/s"
    return f"{rate:.1f} {unit}/s"


def _digits(target: int) -> int:
    return len(str(target))


def format_count(current: float, target: int) -> str:
    """``%Nd/T`` with N the digits of the target, as Keras pads it."""
    return ("%" + str(_digits(target)) + "d/%d") % (current, target)


# --------------------------------------------------------------------------- fitting


def _metric_segments(
    metrics: Sequence[tuple[str, Shown]], sep: str = " - "
) -> list[Segment]:
    return [
        (f"{sep}{clean_name(k)}: {clean_name(format_metric_value(v))}", "")
        for k, v in metrics
    ]


def fit_line(
    head: list[Segment],
    bar: BarMaker,
    bar_width: int,
    tail: list[Segment],
    metrics: list[Segment],
    max_cells: int | None,
    glyphs: Glyphs,
) -> list[Segment]:
    """Assemble ``head + bar + tail + metrics`` within ``max_cells``.

    ``bar`` is a callable ``width -> list[Segment]``.  Without a limit nothing is
    changed.  Otherwise the bar shrinks first (down to 4 cells, then away), then
    metrics are dropped from the end (an ellipsis shows that some are hidden), and
    as a last resort the text is cut.
    """
    make_bar = bar
    line = head + (make_bar(bar_width) if bar_width > 0 else []) + tail + metrics
    if max_cells is None:
        return line
    fixed = segments_width(head) + segments_width(tail)
    room = max_cells - fixed - segments_width(metrics)
    if bar_width > 0 and room < bar_width + _bar_frame(glyphs):
        width = room - _bar_frame(glyphs)
        if width >= 4:
            return head + make_bar(width) + tail + metrics
        line = head + tail + metrics
    if segments_width(line) <= max_cells:
        return line
    # Drop metrics from the end until the rest fits beside an ellipsis.
    shown = list(metrics)
    more = (" " + glyphs.ellipsis, "")
    while shown:
        shown.pop()
        candidate = head + tail + shown + [more]
        if segments_width(candidate) <= max_cells:
            return candidate
    # Still too wide: cut the text, segment by segment.
    out: list[Segment] = []
    room = max_cells
    for text, sgr in head + tail:
        piece = truncate_cells(text, room)
        if piece or (sgr and not text):
            out.append((piece, sgr))
        room -= cell_width(piece)
        if room <= 0:
            break
    return out


def _bar_frame(glyphs: Glyphs) -> int:
    # the separating space and any brackets around the bar
    return 1 + len(glyphs.open) + len(glyphs.close)


# --------------------------------------------------------------------------- keras 3


def _overshoot(prog_width: int, width: int, fit: bool) -> int:
    """Keras draws a bar longer than ``width`` past the target (and for a negative
    current): kept for its bytes on a stream of unknown size, within ``_MAX_BAR``
    cells; on a terminal that is fitted the bar stays ``width`` cells."""
    if fit:
        return min(max(prog_width, 0), width)
    return min(max(prog_width, -_MAX_BAR), _MAX_BAR)


_MAX_BAR = 100_000  # bounded, so that current=10**12 cannot exhaust memory


def _keras_bar(current: float, target: int, glyphs: Glyphs, fit: bool = False) -> BarMaker:
    def make(width: int) -> list[Segment]:
        prog_width = _overshoot(int(width * (float(current) / target)), width, fit)
        segs: list[Segment] = []
        if glyphs.open:
            segs.append((glyphs.open, ""))
        if prog_width > 0:
            segs.append((glyphs.done * prog_width, GREEN))
        segs.append((glyphs.done * (width - prog_width), WHITE))
        if glyphs.close:
            segs.append((glyphs.close, ""))
        return segs

    return make


def format_keras(
    snap: Snapshot,
    width: int,
    glyphs: Glyphs = UNICODE,
    max_cells: int | None = None,
) -> list[Segment]:
    """Keras 3's verbose=1 line (without the ``\\b``/``\\r`` framing or padding)."""
    target = snap.target
    metrics = _metric_segments(snap.metrics)
    if target is not None and target > 0:
        head: list[Segment] = [(format_count(snap.current, target), BOLD), (" ", "")]
        bar = _keras_bar(snap.current, target, glyphs, max_cells is not None)
        bar_width = width
    else:
        head = [("%7d/Unknown" % snap.current, "")]
        bar = _no_bar
        bar_width = 0
    if target is not None and target > 0 and not snap.final:
        clock = format_eta_keras(snap.per_step * (target - snap.current))
    else:
        clock = f"{snap.elapsed:.0f}s"
    tail: list[Segment] = [
        (" ", ""),
        (clock, BOLD),
        (format_time_per_unit(snap.per_step, snap.unit), ""),
    ]
    return fit_line(head, bar, bar_width, tail, metrics, max_cells, glyphs)


def format_keras_summary(snap: Snapshot) -> str:
    """Keras 3's verbose=2 line, with the sign fix (``abs(avg)`` as under verbose=1)."""
    if snap.target is not None and snap.target > 0:
        count = format_count(snap.current, snap.target)
    else:
        count = "%d/Unknown" % snap.current
    info = f"{count} - {snap.elapsed:.0f}s -{format_time_per_unit(snap.per_step, snap.unit)}"
    return info + "".join(text for text, _ in _metric_segments(snap.metrics))


def _no_bar(width: int) -> list[Segment]:
    return []


# --------------------------------------------------------------------------- keras 2


def _keras2_bar(current: float, target: int, glyphs: Glyphs, fit: bool = False) -> BarMaker:
    def make(width: int) -> list[Segment]:
        prog_width = _overshoot(int(width * (float(current) / target)), width, fit)
        text = "["
        if prog_width > 0:
            text += "=" * (prog_width - 1)
            text += ">" if current < target else "="
        text += "." * (width - prog_width) + "]"
        return [(text, "")]

    return make


def format_keras2(
    snap: Snapshot,
    width: int,
    max_cells: int | None = None,
) -> list[Segment]:
    """Keras 2's verbose=1 line: `` 120/500 [=====>....] - ETA: 41s - loss: 0.4132``."""
    target = snap.target
    metrics = _metric_segments(snap.metrics)
    if target is not None and target > 0:
        head: list[Segment] = [(format_count(snap.current, target) + " ", "")]
        bar = _keras2_bar(snap.current, target, ASCII, max_cells is not None)
        bar_width = width
    else:
        head = [("%7d/Unknown" % snap.current, "")]
        bar = _no_bar
        bar_width = 0
    if target is not None and target > 0 and not snap.final:
        info = " - ETA: " + format_eta_keras(snap.per_step * (target - snap.current))
    else:
        info = " - %.0fs" % snap.elapsed + _keras2_per_step(snap.per_step, snap.unit)
    # keras 2's bar has no separating space before it, and its brackets are ASCII
    return fit_line(head, bar, bar_width, [(info, "")], metrics, max_cells, _KERAS2_FIT)


_KERAS2_FIT = Glyphs(done="=", tip=">", rest=".", open="[", close="]", ellipsis="...")


def _keras2_per_step(per_step: float, unit: str) -> str:
    if per_step >= 1:
        return " %.0fs/%s" % (per_step, unit)
    if per_step >= 1e-3:
        return " %.0fms/%s" % (per_step * 1e3, unit)
    return " %.0fus/%s" % (per_step * 1e6, unit)


def format_keras2_summary(snap: Snapshot) -> str:
    """Keras 2's verbose=2 line: `` - 12s - loss: 0.4132`` (sign fix applied)."""
    info = " - %.0fs" % snap.elapsed
    return info + "".join(text for text, _ in _metric_segments(snap.metrics))


# --------------------------------------------------------------------------- default


def _default_bar(current: float, target: int, glyphs: Glyphs) -> BarMaker:
    def make(width: int) -> list[Segment]:
        frac = min(max(float(current) / target, 0.0), 1.0)
        halves = int(width * 2 * frac)
        full, half = divmod(halves, 2)
        segs: list[Segment] = [(" ", "")]
        if glyphs.open:
            segs.append((glyphs.open, ""))
        done = glyphs.done * full + (glyphs.tip if half else "")
        segs.append((done, GREEN))
        segs.append((glyphs.rest * (width - full - half), DIM))
        if glyphs.close:
            segs.append((glyphs.close, ""))
        return segs

    return make


def format_default(
    snap: Snapshot,
    width: int,
    glyphs: Glyphs = UNICODE,
    max_cells: int | None = None,
    with_bar: bool = True,
) -> list[Segment]:
    """Our own line.

    Live:  `` 450/1000  45% ━━━━━━━━━╸━━━━━━━━━━ 0:12<0:15 36.2 step/s - loss: 0.4132``
    Log:   `` 450/1000  45% 0:12<0:15 36.2 step/s - loss: 0.4132``
    Done:  ``1000/1000 100% ━━━━━━━━━━━━━━━━━━━━ 0:27 36.9 step/s - loss: 0.4132``
    """
    target = snap.target
    known = target is not None and target > 0
    if known:
        assert target is not None
        pct = 100.0 * snap.current / target
        head: list[Segment] = [
            (format_count(snap.current, target), BOLD),
            (f" {pct:3.0f}%", ""),
        ]
        bar = _default_bar(snap.current, target, glyphs)
        bar_width = width if with_bar else 0
    else:
        head = [(f"{snap.current:.0f} {snap.unit}" if isinstance(snap.current, float)
                 else f"{snap.current} {snap.unit}", BOLD)]
        bar = _no_bar
        bar_width = 0
    clock = format_duration(snap.elapsed)
    if known and not snap.final and snap.eta is not None:
        clock += "<" + format_duration(snap.eta)
    tail: list[Segment] = [(" ", ""), (clock, CYAN)]
    rate = format_rate(snap.per_step, snap.unit)
    if rate:
        tail.append((" " + rate, ""))
    return fit_line(head, bar, bar_width, tail, _metric_segments(snap.metrics),
                    max_cells, glyphs)
