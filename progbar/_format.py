"""The formatter: pure functions from a snapshot of a bar to the text of one line.

Nothing here touches a stream, a clock, the environment or a global.  A line is built
as a list of *segments* ``(text, sgr)``: the text a person sees and the SGR colour code
that wraps it (``""`` for none).  Widths are measured on the visible text, never by
counting escape bytes, and a line is fitted to a width by shrinking the bar first and
dropping metrics second.
"""

from __future__ import annotations

import math
import time

# ``typing`` and ``dataclasses`` cost ~20 ms at ``import progbar``: types are for mypy
# only (mypy takes any name TYPE_CHECKING as true), and the two records below are
# plain classes with ``__slots__``.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Sequence, Tuple, Union

    Segment = Tuple[str, str]
    Shown = Union[float, str]
    BarMaker = Callable[[int], "list[Segment]"]

BOLD = "1"
GREEN = "32"
WHITE = "37"
DIM = "2"
CYAN = "36"
YELLOW = "33"


class Glyphs:
    """The characters a bar is drawn with (immutable)."""

    __slots__ = ("done", "tip", "rest", "open", "close", "ellipsis")

    done: str
    tip: str
    rest: str
    open: str
    close: str
    ellipsis: str

    def __init__(
        self,
        done: str,
        tip: str,
        rest: str,
        open: str = "",
        close: str = "",
        ellipsis: str = "…",
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "done", done)
        setattr_(self, "tip", tip)
        setattr_(self, "rest", rest)
        setattr_(self, "open", open)
        setattr_(self, "close", close)
        setattr_(self, "ellipsis", ellipsis)

    def _key(self) -> tuple[str, ...]:
        return (self.done, self.tip, self.rest, self.open, self.close, self.ellipsis)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Glyphs is immutable: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Glyphs:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        names = ("done", "tip", "rest", "open", "close", "ellipsis")
        return "Glyphs(" + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._key())) + ")"


UNICODE = Glyphs(done="━", tip="╸", rest="━")
UNICODE_PLAIN = Glyphs(done="━", tip="╸", rest="─")  # no colour: rest must differ
ASCII = Glyphs(done="=", tip=">", rest=".", open="[", close="]", ellipsis="...")
KERAS_ASCII = Glyphs(done="=", tip="=", rest="=", ellipsis="...")  # keras style, no UTF-8


class Snapshot:
    """Everything a line shows, captured at one instant by the controller."""

    __slots__ = ("current", "target", "elapsed", "per_step", "metrics", "final", "unit", "eta",
                 "scale", "stalled", "finish")

    current: float
    target: float | None
    elapsed: float
    per_step: float
    metrics: Sequence[tuple[str, Shown]]
    final: bool
    unit: str
    eta: float | None
    scale: int  # unit_scale's divisor (1000 or 1024), or 0: plain counts
    stalled: float | None  # seconds since the last step, while the bar is stalled
    finish: str | None  # when the bar is expected to end, local time ("14:32")

    def __init__(
        self,
        current: float,
        target: float | None,
        elapsed: float,
        per_step: float,
        metrics: Sequence[tuple[str, Shown]],
        final: bool,
        unit: str = "step",
        eta: float | None = None,
        scale: int = 0,
        stalled: float | None = None,
        finish: str | None = None,
    ) -> None:
        self.current = current
        self.target = target
        self.elapsed = elapsed
        self.per_step = per_step
        self.metrics = metrics
        self.final = final
        self.unit = unit
        self.eta = eta
        self.scale = scale
        self.stalled = stalled
        self.finish = finish

    def __eq__(self, other: object) -> bool:
        if type(other) is not Snapshot:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in Snapshot.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in Snapshot.__slots__))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in Snapshot.__slots__)
        return f"Snapshot({inner})"


# --------------------------------------------------------------------------- cells


_NARROW_GLYPHS = "━╸─…"  # the bar's glyphs, one cell each (no wide East Asian width)


def cell_width(text: str) -> int:
    """Terminal cells that ``text`` occupies (wide East Asian and emoji count 2)."""
    if text.isascii() or not text.strip(_NARROW_GLYPHS):  # the bar: one cell a glyph
        return len(text)
    import unicodedata  # only for text beyond ASCII and the bar's glyphs

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
    import unicodedata

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


def truncate_ansi(line: str, cells: int) -> str:
    """The longest prefix of a rendered ``line`` (text with SGR colour codes) that fits
    in ``cells`` terminal cells; escape codes take no cells and colour is reset at the
    cut.  For a line drawn for a wider terminal than it has now (a resize)."""
    out: list[str] = []
    used = 0
    i = 0
    coloured = False
    n = len(line)
    while i < n:
        ch = line[i]
        if ch == "\x1b":
            end = line.find("m", i)
            if end < 0:
                break
            out.append(line[i : end + 1])
            coloured = True
            i = end + 1
            continue
        w = cell_width(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
        i += 1
    if coloured:
        out.append("\x1b[0m")
    return "".join(out)


def ansi_cells(line: str) -> int:
    """Terminal cells of a rendered line: its SGR colour codes take none."""
    if "\x1b" not in line:
        return cell_width(line)
    parts = line.split("\x1b")
    return cell_width(parts[0]) + sum(cell_width(p.partition("m")[2]) for p in parts[1:])


def wrap_record(line: str, max_cells: int) -> tuple[str, int]:
    """A final line too wide for ``max_cells``, broken before metrics (`` - name: v``)
    onto as many lines as it needs, so that no metric is cut in the middle.  A piece
    wider than the terminal on its own is left to the terminal to wrap.  Returns the
    text (lines joined by ``\\n``) and the cells of its widest line."""
    parts = line.split(" - ")
    lines = [parts[0]]
    for part in parts[1:]:
        piece = " - " + part
        if ansi_cells(lines[-1]) + ansi_cells(piece) <= max_cells:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(lines), max(ansi_cells(x) for x in lines)


def segments_width(segments: Sequence[Segment]) -> int:
    # (ASCII text, most segments, is measured by its length without a call)
    return sum([len(text) if text.isascii() else cell_width(text) for text, _ in segments])


def join_segments(segments: Sequence[Segment], color: bool) -> str:
    """Render segments, wrapping coloured ones in SGR codes when ``color`` is on."""
    if not color:
        return "".join([text for text, _ in segments])
    return "".join([
        f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text for text, sgr in segments
    ])


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
    """Keras's rule for one averaged value: ``%.4f`` above 1e-3 in size, else ``%.4e``;
    text (a value shown as passed) made safe for one line."""
    if type(value) is float:
        return f"{value:.4f}" if value > 1e-3 or value < -1e-3 else f"{value:.4e}"
    if isinstance(value, str):
        return clean_name(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def format_epoch(epoch: int, epochs: int | None = None, left: float | None = None,
                 upper_bound: bool = False) -> str:
    """The header Keras prints before an epoch: ``format_epoch(3, 10) == "Epoch 3/10"``.

    ``epoch`` counts from 1, as printed; ``epochs=None`` gives ``"Epoch 3"``.  With
    ``left``, the run's seconds left (a second at least): ``"Epoch 3/40 - 1:02:13 left,
    done ~14:32"``
    (when it ends, local time, if more than ten minutes off); ``upper_bound`` (a run
    that may stop early) shows it as at most: ``"... - ≤ 1:02:13 left, ..."``.
    """
    head = f"Epoch {epoch}/{epochs}" if epochs is not None else f"Epoch {epoch}"
    if left is None or not left >= 1:  # (a run of a second or less: nothing worth saying)
        return head
    head += " - " + ("≤ " if upper_bound else "") + format_duration(left) + " left"
    if left > FINISH_AFTER:
        now = wall_clock()
        finish = format_finish(now + left, now)
        if finish is not None:
            head += ", done ~" + finish
    return head


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


wall_clock = time.time  # what "done ~14:32" counts from (whatever clock the bar has)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FINISH_AFTER = 600.0  # a line shows when the bar ends if that is this far off (seconds)


def format_finish(at: float, now: float) -> str | None:
    """When (wall-clock seconds ``at``) in local time, as seen at ``now``: ``14:32``,
    with the date when not today: ``Dec 8 14:32``; None past a year from now (a
    target of 1e30 steps has no date to show)."""
    if not at - now < 366 * 86400:
        return None
    when = time.localtime(at)
    clock = f"{when.tm_hour:02d}:{when.tm_min:02d}"
    today = time.localtime(now)
    if (when.tm_year, when.tm_yday) == (today.tm_year, today.tm_yday):
        return clock
    return f"{_MONTHS[when.tm_mon - 1]} {when.tm_mday} {clock}"


def format_stalled(seconds: float) -> str:
    """``stalled 1:05``: what a live line shows in place of its ETA while no step
    comes (the time since the last one)."""
    return "stalled " + format_duration(seconds)


def format_step_time(per_step: float) -> str:
    """A step's duration for a person: ``0.21 s``, ``12 s``, ``3.50 ms``, ``0.80 us``."""
    if per_step >= 10 or not math.isfinite(per_step):
        return f"{per_step:.0f} s"
    if per_step >= 0.01:
        return f"{per_step:.2f} s"
    if per_step >= 1e-5:
        return f"{per_step * 1e3:.2f} ms"
    return f"{per_step * 1e6:.2f} us"


def format_stall_line(label: str | None, current: float, target: float | None, unit: str,
                      seconds: float, per_step: float) -> str:
    """The line a log gets when a stall starts and at each doubling of its length:
    ``train 420/1000 stalled for 1:00 (steps took 0.21 s)``."""
    count = "%d/%d" % (current, target) if target is not None else "%d %s" % (current, unit)
    line = f"{count} stalled for {format_duration(seconds)}"
    if per_step > 0:
        line += f" (steps took {format_step_time(per_step)})"
    return line if label is None else f"{label} {line}"


def format_rate(per_step: float, unit: str) -> str:
    """``36.2 step/s`` when steps are quick, ``2.5s/step`` when they are slow, and
    ``254k line/s`` / ``2.4M line/s`` past 100,000 a second."""
    if per_step <= 0 or not math.isfinite(per_step):
        return ""
    if per_step > 1:
        return f"{per_step:.1f}s/{unit}"
    rate = 1.0 / per_step
    if rate >= 1e5:
        for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
            if rate >= scale:
                value = rate / scale
                return f"{value:.0f}{prefix} {unit}/s" if value >= 100 else (
                    f"{value:.1f}{prefix} {unit}/s")
    if rate >= 100:
        return f"{rate:.0f} {unit}/s"
    return f"{rate:.1f} {unit}/s"


def _digits(target: float) -> int:
    # Keras: int(log10(target)) + 1, i.e. the digits of the whole part ("%d")
    return len("%d" % target)


def format_count(current: float, target: float) -> str:
    """``%Nd/T`` with N the digits of the target, as Keras pads it."""
    return ("%" + str(_digits(target)) + "d/%d") % (current, target)


# --------------------------------------------------------------------------- scaled units

_SI_PREFIXES = ("", "k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")
_BINARY_PREFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")


def _prefix(value: float, divisor: int) -> tuple[int, str]:
    """The power of ``divisor`` that brings ``value`` below 999.5 (so that three
    significant figures never read ``1000``), and its prefix."""
    prefixes = _BINARY_PREFIXES if divisor == 1024 else _SI_PREFIXES
    power = 0
    value = abs(value)
    while value >= 999.5 and power < len(prefixes) - 1:
        value /= divisor
        power += 1
    return power, prefixes[power]


def _decimals(scaled: float) -> int:
    """Decimals for three significant figures: ``3.50``, ``45.1``, ``500``."""
    scaled = abs(scaled)
    return 2 if scaled < 9.995 else 1 if scaled < 99.95 else 0


def scaled_count_parts(current: float, target: float | None, divisor: int
                       ) -> tuple[str, str | None, str]:
    """``("1.20", "3.50", "G")``: count and target (None with no target) with the
    prefix they share, three significant figures.  The prefix is the target's, or the
    count's once the count has passed the target (``50.0/1.0 kB``, never
    ``50000.00/1.00 kB``).  Below the first prefix, whole numbers stay whole."""
    if target is None:
        power, prefix = _prefix(current, divisor)
        if power == 0 and float(current).is_integer():
            return f"{current:.0f}", None, ""
        scaled = current / divisor**power
        return f"{scaled:.{_decimals(scaled)}f}", None, prefix
    larger = current if current > target else target
    power, prefix = _prefix(larger, divisor)
    if power == 0 and float(target).is_integer() and float(current).is_integer():
        return f"{current:.0f}", f"{target:.0f}", ""
    places = _decimals(larger / divisor**power)
    return (f"{current / divisor**power:.{places}f}", f"{target / divisor**power:.{places}f}",
            prefix)


def format_scaled_count(current: float, target: float | None, unit: str, divisor: int) -> str:
    """``1.20/3.50 GB``: count and target with SI (or binary, ``divisor=1024``)
    prefixes (see :func:`scaled_count_parts`); ``500 MB`` with no target."""
    count, total, prefix = scaled_count_parts(current, target, divisor)
    if total is None:
        return f"{count} {prefix}{unit}"
    return f"{count}/{total} {prefix}{unit}"


def format_scaled_rate(per_step: float, unit: str, divisor: int) -> str:
    """``45.1 MB/s``: the rate with a prefix, three significant figures."""
    if per_step <= 0 or not math.isfinite(per_step):
        return ""
    rate = 1.0 / per_step
    power, prefix = _prefix(rate, divisor)
    scaled = rate / divisor**power
    return f"{scaled:.{_decimals(scaled)}f} {prefix}{unit}/s"


# --------------------------------------------------------------------------- fitting


def _metric_segments(
    metrics: Sequence[tuple[str, Shown]], sep: str = " - "
) -> list[Segment]:
    return [
        (f"{sep}{clean_name(k)}: {format_metric_value(v)}", "")
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
    changed.  Otherwise the bar shrinks first, to ``MIN_BAR`` cells; then metrics are
    dropped from the end (an ellipsis shows that some are hidden); then the bar
    shrinks further (to 4 cells, then away): a progress bar keeps its bar as long
    as it can.  As a last resort the text is cut.
    """
    line = head + (bar(bar_width) if bar_width > 0 else []) + tail + metrics
    if max_cells is None:
        return line
    fixed = segments_width(head) + segments_width(tail)
    frame = _bar_frame(glyphs)
    more: Segment = (" " + glyphs.ellipsis, "")

    def with_bar(extra: list[Segment], least: int) -> list[Segment] | None:
        if bar_width <= 0:
            return head + tail + extra if fixed + segments_width(extra) <= max_cells else None
        width = min(bar_width, max_cells - fixed - segments_width(extra) - frame)
        if width >= least:
            return head + bar(width) + tail + extra
        return None

    least = min(MIN_BAR, bar_width)
    fitted = with_bar(metrics, least)
    if fitted is not None:
        return fitted
    shown = list(metrics)
    while shown:  # drop metrics from the end, keeping a bar of MIN_BAR cells
        shown.pop()
        fitted = with_bar(shown + [more], least)
        if fitted is not None:
            return fitted
    tail_more = [more] if metrics else []
    fitted = with_bar(tail_more, min(4, bar_width))
    if fitted is not None:
        return fitted
    if fixed + segments_width(tail_more) <= max_cells:
        return head + tail + tail_more
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


MIN_BAR = 10  # cells of bar kept before any metric is dropped


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


def _keras_bar(current: float, target: float, glyphs: Glyphs, fit: bool = False) -> BarMaker:
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
    with_bar: bool = True,
    eta_up: bool = False,
) -> list[Segment]:
    """Keras 3's verbose=1 line (without the ``\\b``/``\\r`` framing or padding).

    ``with_bar=False`` leaves the bar glyphs out (a final line too long for the
    terminal); ``eta_up`` rounds the ETA up to a whole second (never ``0s`` while
    steps remain) where the bytes need not be Keras's own.
    """
    target = snap.target
    metrics = _metric_segments(snap.metrics)
    if target is not None and target > 0:
        head: list[Segment] = [(format_count(snap.current, target), BOLD), (" ", "")]
        bar = _keras_bar(snap.current, target, glyphs, max_cells is not None)
        bar_width = width if with_bar else 0
        if not with_bar:
            head = head[:1]
    else:
        head = [("%7d/Unknown" % snap.current, "")]
        bar = _no_bar
        bar_width = 0
    if snap.stalled is not None and not snap.final:
        clock = format_stalled(snap.stalled)  # in place of the ETA
    elif target is not None and target > 0 and not snap.final:
        eta = snap.per_step * (target - snap.current)
        if eta_up and snap.eta is not None:
            eta = snap.eta
        clock = format_eta_keras(eta)
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


def _keras2_bar(current: float, target: float, fit: bool = False) -> BarMaker:
    # Keras 2's bar is ASCII whatever the stream: `[====>....]`
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
    with_bar: bool = True,
    eta_up: bool = False,
    per_unit: Callable[[float, str], str] | None = None,
) -> list[Segment]:
    """Keras 2's verbose=1 line: `` 120/500 [=====>....] - ETA: 41s - loss: 0.4132``
    (``with_bar`` and ``eta_up`` as in :func:`format_keras`; ``per_unit`` formats
    the time per step of a final or unknown-length line, Keras 2's by default)."""
    target = snap.target
    metrics = _metric_segments(snap.metrics)
    if target is not None and target > 0:
        count = format_count(snap.current, target)
        head: list[Segment] = [(count + " " if with_bar else count, "")]
        bar = _keras2_bar(snap.current, target, max_cells is not None)
        bar_width = width if with_bar else 0
    else:
        head = [("%7d/Unknown" % snap.current, "")]
        bar = _no_bar
        bar_width = 0
    if snap.stalled is not None and not snap.final:
        info = " - " + format_stalled(snap.stalled)  # in place of the ETA
    elif target is not None and target > 0 and not snap.final:
        eta = snap.per_step * (target - snap.current)
        if eta_up and snap.eta is not None:
            eta = snap.eta
        info = " - ETA: " + format_eta_keras(eta)
    else:
        per_unit = _keras2_per_step if per_unit is None else per_unit
        info = " - %.0fs" % snap.elapsed + per_unit(snap.per_step, snap.unit)
    # keras 2's bar has no separating space before it, and its brackets are ASCII
    return fit_line(head, bar, bar_width, [(info, "")], metrics, max_cells, ASCII)



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


# --------------------------------------------------------------------------- tf_keras


def format_tf_keras(
    snap: Snapshot,
    width: int,
    max_cells: int | None = None,
    with_bar: bool = True,
    eta_up: bool = False,
) -> list[Segment]:
    """tf_keras 2.21's verbose=1 line: Keras 2's (`` 120/500 [=====>....] - ETA: 41s``),
    whose final or unknown-length line gives the time per step as Keras 3 does
    (``0s/step`` when it is zero, where Keras 2 says ``0us/step``)."""
    return format_keras2(snap, width, max_cells, with_bar, eta_up,
                         per_unit=format_time_per_unit)


def format_tf_keras_summary(snap: Snapshot, epoch_time: float | None) -> str:
    """tf_keras 2.21's verbose=2 line: ``8/8 - 2s - loss: 0.4132 - 25ms/epoch -
    3ms/step`` (the sign fix applied).  ``epoch_time``: seconds from the bar's start
    (or its previous summary) to the update that reached the target exactly; None
    (tf_keras had no such update) leaves both times out, as tf_keras does."""
    target = snap.target
    count = format_count(snap.current, target) if target else "%d/Unknown" % snap.current
    line = count + " - %.0fs" % snap.elapsed
    line += "".join(text for text, _ in _metric_segments(snap.metrics))
    if epoch_time is not None and target:
        line += " -" + format_time_per_unit(epoch_time, "epoch")
        line += " -" + format_time_per_unit(epoch_time / target, snap.unit)
    return line


# --------------------------------------------------------------------------- default


def _default_bar(current: float, target: float, glyphs: Glyphs) -> BarMaker:
    def make(width: int) -> list[Segment]:
        frac = min(max(float(current) / target, 0.0), 1.0) if target else 1.0
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
    log: bool = False,
) -> list[Segment]:
    """Our own line.

    Live:  `` 450/1000  45% ━━━━━━━━━╸━━━━━━━━━━ 0:12<0:15 36.2 step/s - loss: 0.4132``
    Stalled: `` 450/1000  45% ━━━━━━━━━╸━━━━━━━━━━ 1:17 stalled 1:05 36.2 step/s - ...``
    Log:   `` 450/1000  45% 0:12<0:15 36.2 step/s - loss: 0.4132``
    A log's line (``log``) of a bar ending more than ten minutes from now says when:
           `` 45/1000   4% 2:12<48:15 done ~14:32 3.0s/step - loss: 0.4132``
    Done:  ``1000/1000 100% ━━━━━━━━━━━━━━━━━━━━ 0:27 36.9 step/s - loss: 0.4132``
    """
    target = snap.target
    known = target is not None  # target=0: nothing to do, so done: "0/0 100%"
    if known:
        assert target is not None
        pct = 100.0 * snap.current / target if target else 100.0
        count = (format_scaled_count(snap.current, target, snap.unit, snap.scale)
                 if snap.scale else format_count(snap.current, target))
        head: list[Segment] = [(count, BOLD), (f" {pct:3.0f}%", "")]
        bar = _default_bar(snap.current, target, glyphs)
        bar_width = width if with_bar else 0
    else:
        if snap.scale:
            count = format_scaled_count(snap.current, None, snap.unit, snap.scale)
        elif isinstance(snap.current, float):
            count = f"{snap.current:.0f} {snap.unit}"
        else:
            count = f"{snap.current} {snap.unit}"
        head = [(count, BOLD)]
        bar = _no_bar
        bar_width = 0
    clock = format_duration(snap.elapsed)
    stalled: list[Segment] = []
    if snap.stalled is not None and not snap.final:
        stalled = [(" ", ""), (format_stalled(snap.stalled), YELLOW)]  # in place of the ETA
    elif known and not snap.final and snap.eta is not None:
        clock += "<" + format_duration(snap.eta)
        if log and snap.finish is not None and snap.eta > FINISH_AFTER:
            clock += " done ~" + snap.finish
    tail: list[Segment] = [(" ", ""), (clock, CYAN)] + stalled
    rate = (format_scaled_rate(snap.per_step, snap.unit, snap.scale) if snap.scale
            else format_rate(snap.per_step, snap.unit))
    if rate:
        tail.append((" " + rate, ""))
    return fit_line(head, bar, bar_width, tail, _metric_segments(snap.metrics),
                    max_cells, glyphs)


# --------------------------------------------------------------------------- templates

TEMPLATE_FIELDS = ("label", "count", "target", "percent", "bar", "elapsed", "eta", "finish",
                   "rate", "unit", "metrics")


# What each field looks like (all are text when a line is drawn): a template is tried
# on these at construction, so a spec or conversion that cannot apply is found there.
_SAMPLE_FIELDS = {"label": "train", "count": "12", "target": "100", "percent": " 12%",
                  "bar": "", "elapsed": "0:01", "eta": "0:09", "finish": "14:32",
                  "rate": "9.8 step/s",
                  "unit": "step", "metrics": "loss: 0.4132"}


def check_template(template: str) -> None:
    """A ``format=`` template's fields must be :data:`TEMPLATE_FIELDS`, each with a
    format spec and conversion that apply to its text (``{bar}`` takes none: it takes
    the width left): a ``ValueError`` that names the field otherwise."""
    from string import Formatter  # only where a template is given (imports re)

    try:
        fields = [(name, spec, conv) for _, name, spec, conv in Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"format={template!r} is not a valid template: {exc}") from None
    for name, spec, conv in fields:
        if name not in TEMPLATE_FIELDS:
            known = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            raise ValueError(
                f"unknown field {{{name}}} in format={template!r}; the fields are {known}")
        field = "{" + name + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
        if name == "bar" and (spec or conv):
            raise ValueError(f"{field} in format={template!r}: {{bar}} takes no format spec "
                             "or conversion (it takes the width left on the line)")
        try:
            field.format(**_SAMPLE_FIELDS)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"{field} in format={template!r} cannot be drawn: {exc} "
                             f"(the field {{{name}}} is text)") from None


def format_template(
    snap: Snapshot,
    template: str,
    width: int,
    glyphs: Glyphs,
    max_cells: int | None,
    label: str | None,
    color: bool,
) -> tuple[str, int]:
    """A line from a ``format=`` template and its cells.  ``{bar}`` takes the cells
    left within ``max_cells`` (``width`` at most; ``width`` where the size is
    unknown); a live line still too long is cut with an ellipsis, a final one (a
    record) is wrapped."""
    target = snap.target
    scale = snap.scale
    if scale:
        count, scaled_total, prefix = scaled_count_parts(snap.current, target, scale)
        total = scaled_total if scaled_total is not None else "?"
        unit = prefix + snap.unit
        rate = format_scaled_rate(snap.per_step, snap.unit, scale)
    else:
        count = "%d" % snap.current if math.isfinite(snap.current) else str(snap.current)
        total = "%d" % target if target is not None else "?"
        unit = snap.unit
        rate = format_rate(snap.per_step, snap.unit)
    pct = 100.0 * snap.current / target if target else 100.0
    fields = {
        "label": label or "",
        "count": count,
        "target": total,
        "percent": f"{pct:3.0f}%" if target is not None else "",
        "elapsed": format_duration(snap.elapsed),
        "eta": ("0:00" if snap.final
                else format_stalled(snap.stalled) if snap.stalled is not None
                else format_duration(snap.eta) if snap.eta is not None else "?"),
        "finish": snap.finish if snap.finish is not None and not snap.final else "",
        "rate": rate,
        "unit": unit,
        "metrics": " - ".join(text[3:] for text, _ in _metric_segments(snap.metrics)),
        "bar": "",
    }
    plain = template.format(**fields)
    cells = cell_width(plain)
    if "{bar}" in template:
        room = width if max_cells is None else min(width, max_cells - cells)
        room = max(room, 0)
        if room and target is not None:
            segs = _default_bar(snap.current, target, glyphs)(room)[1:]  # no leading space
        else:
            segs = [(" " * room, "")]
        cells += segments_width(segs)
        fields["bar"] = join_segments(segs, color)
    line = template.format(**fields)
    if max_cells is not None and cells > max_cells:
        if snap.final:
            return wrap_record(line, max_cells)
        cut = truncate_ansi(line, max(max_cells - 1, 0)) + glyphs.ellipsis
        return cut, ansi_cells(cut)
    return line, cells


# --------------------------------------------------------------------------- fast path

