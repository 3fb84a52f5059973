"""Bad input (design.md, "Metric values" and "Faults and bad input"): programming errors raise a clear ValueError/TypeError at the
call that made them; anything else is displayed and never raises into the loop."""

from __future__ import annotations

import io
import math
import os
import pty
from typing import Any

import numpy as np
import pytest
from conftest import optional_import
from support.reliability import Clock, TTYCapture, cells, frames, reliability, set_winsize

from progbar import Progbar, track

torch = optional_import("torch")  # absent from the core-only runs on other Pythons

STYLES = ("default", "keras", "keras2", "tf_keras")


def _bar(style: str = "default", live: bool = False, **kw: Any) -> tuple[Progbar[Any], Any]:
    out = io.StringIO()
    kw.setdefault("target", 10)
    bar: Progbar[Any] = Progbar(style=style, file=out, dynamic=live, clock=Clock(),
                                interval=0, **kw)
    return bar, out


# --------------------------------------------------------------------------- target


@reliability("Bad input", "`target` negative, float, bool, str, nan, a list → clear error at the call")
@pytest.mark.parametrize(
    ("target", "error", "words"),
    [
        (-1, ValueError, ">= 0"),
        (-(10**30), ValueError, ">= 0"),
        (-0.5, ValueError, ">= 0"),
        (float("nan"), ValueError, "finite"),
        (-float("inf"), ValueError, "finite"),
        (1 + 2j, TypeError, "complex"),
        (True, TypeError, "bool"),
        (False, TypeError, "bool"),
        ("10", TypeError, "str"),
        ([10], TypeError, "list"),
        (object(), TypeError, "object"),
    ],
)
def test_bad_target_raises(target: Any, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        Progbar(target, file=io.StringIO())


@reliability("Bad input", "`target` huge (10**30, 10**100), numpy int, 0 → displayed, every style")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("target", [10**30, 10**100, np.int64(7), 0, 7.5, 2.0, np.float64(7.5),
                                    np.float32(0.5)])
@pytest.mark.parametrize("live", [True, False])
def test_odd_but_valid_target(style: str, target: Any, live: bool) -> None:
    # Keras takes float and numpy targets (`Progbar(len(x) / batch_size)`): so do we
    bar, out = _bar(style, live, target=target)
    bar.update(3, [("loss", 1.0)])
    bar.update(math.ceil(target) if target else 5)
    bar.close()
    assert bar.target == target
    assert "loss" in out.getvalue()


# --------------------------------------------------------------------------- current


@reliability("Bad input", "`current` negative, backwards, far past target (10**12), float, numpy int → shown honestly")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize(
    ("sequence", "shown"),
    [
        ([5, -3], "-3/10"),
        ([8, 2], " 2/10"),
        ([5, 10**12], "1000000000000/10"),
        ([2.5], " 2/10"),
        ([np.int64(4)], " 4/10"),
        ([10, 4], " 4/10"),
    ],
)
def test_odd_current_is_shown(style: str, live: bool, sequence: list[Any], shown: str) -> None:
    bar, out = _bar(style, live)
    for c in sequence:
        bar.update(c, [("loss", 0.25)])
    bar.close()
    assert bar.current == sequence[-1]
    assert shown in out.getvalue()
    assert not bar._display.dead  # the display survived


@reliability("Bad input", "`current` far past target on a fitted terminal: bar stays in the line (keras styles)")
@pytest.mark.parametrize("style", STYLES)
def test_current_past_target_fits(style: str) -> None:
    master, slave = pty.openpty()
    set_winsize(slave, 80)
    out = TTYCapture(slave)
    bar: Progbar[Any] = Progbar(10, style=style, file=out, clock=Clock(), interval=0)
    for c in (5, 40, 10**9, -7):
        bar.update(c, [("loss", 0.5)])
    bar.close()
    assert all(cells(f) <= 79 for f in frames(out.getvalue(), live=True))
    assert "1000000000/10" in out.getvalue()
    os.close(master)
    os.close(slave)


@reliability("Bad input", "`current` nan, inf, None, str → clear error at the call; the bar goes on")
@pytest.mark.parametrize(
    ("current", "error"),
    [
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (-float("inf"), ValueError),
        (None, TypeError),
        ("3", TypeError),
        (object(), TypeError),
    ],
)
def test_bad_current_raises(current: Any, error: type[Exception]) -> None:
    bar, out = _bar()
    bar.update(2)
    with pytest.raises(error, match="current"):
        bar.update(current)
    assert bar.current == 2
    bar.update(10)
    assert "10/10" in out.getvalue()


# --------------------------------------------------------------------------- values


class FloatRaises:
    def __float__(self) -> float:
        raise RuntimeError("no float for you")

    def __repr__(self) -> str:
        return "FloatRaises()"


class ArithmeticRaises(FloatRaises):
    def __mul__(self, other: object) -> Any:
        raise ZeroDivisionError("nope")

    __rmul__ = __add__ = __radd__ = __mul__


class StrRaises:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


VALUES: list[tuple[str, Any, str]] = [
    ("None", None, "m: None"),
    ("str", "warming up", "m: warming up"),
    ("str with newline", "a\nb", "m: a\\nb"),
    ("str with escape", "\x1b[2J", "m: \\e[2J"),
    ("bytes", b"x", "m: b'x'"),
    ("nan", float("nan"), "m: nan"),
    ("inf", float("inf"), "m: inf"),
    ("-inf", -float("inf"), "m: -inf"),
    ("-0.0", -0.0, "m: 0.0000e+00"),  # a mean of -0.0 reads 0.0, as numpy's (Keras's)
    ("huge int 10**30", 10**30, "m: 1000000000000000019884624838656.0000"),
    ("huge int 10**400", 10**400, "m: 1.0000e+400"),
    ("complex", 1 + 2j, "m: (1+2j)"),
    ("bool", True, "m: 1.0000"),
    ("numpy float32", np.float32(1.5), "m: 1.5000"),
    ("numpy int64", np.int64(3), "m: 3.0000"),
    ("numpy bool", np.bool_(True), "m: 1.0000"),
    ("numpy 0-d", np.array(2.0), "m: 2.0000"),
    ("numpy n-d", np.arange(6.0).reshape(2, 3), "m: 2.5000"),
    ("numpy empty", np.array([]), "m: nan"),
    ("numpy str array", np.array(["a"]), "m: ['a']"),
    ("numpy float64 max", np.float64(1.7e308), "m: "),
    *([
        ("torch 0-d", torch.tensor(1.5), "m: 1.5000"),
        ("torch n-d", torch.ones(2, 3) * 3, "m: 3.0000"),
        ("torch int", torch.tensor([1, 2]), "m: 1.5000"),
        ("torch with grad", torch.tensor([1.0, 2.0], requires_grad=True) * 2, "m: 3.0000"),
        ("torch leaf with grad", torch.tensor(0.5, requires_grad=True), "m: 0.5000"),
        ("torch empty", torch.tensor([]), "m: nan"),
    ] if torch is not None else []),
    ("list of numbers", [1, 2, 3], "m: 2.0000"),
    ("list mixed", [1, "a"], "m: [1, 'a']"),
    ("empty list", [], "m: nan"),
    ("dict", {"a": 1}, "m: {'a': 1}"),
    ("__float__ raises", FloatRaises(), "m: FloatRaises()"),
    ("arithmetic raises", ArithmeticRaises(), "m: FloatRaises()"),
    ("__str__ raises", StrRaises(), "m: <StrRaises>"),
    ("object", object(), "m: <object object"),
]


@reliability("Bad input", "metric values: None, str, bytes, nan, ±inf, -0.0, huge ints, complex, numpy scalars/0-d/n-d/empty, torch with/without grad, raising `__float__`/`__str__` → displayed, never raise")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize(("label", "value", "shown"), VALUES, ids=[v[0] for v in VALUES])
def test_values_are_displayed(style: str, live: bool, label: str, value: Any, shown: str) -> None:
    bar, out = _bar(style, live, target=None)
    bar.update(1, [("m", value)])
    bar.update(2, [("m", value)])
    bar.close()
    text = out.getvalue()
    assert shown in text, (label, text)
    assert not bar._display.dead
    for t, _ in bar.totals().values():  # no autograd graph is kept alive
        assert not getattr(t, "requires_grad", False)


@reliability("Bad input", "metric values mixed over time (number then str then number, tensor then float)")
@pytest.mark.parametrize("style", STYLES)
def test_values_that_change_kind(style: str) -> None:
    bar, out = _bar(style, target=None)
    tensor = torch.tensor(5.0) if torch is not None else 5.0
    for i, v in enumerate([1.0, "oops", 3.0, tensor, 7, None, np.float32(1.0)]):
        bar.update(i + 1, [("m", v)])
    bar.close()
    assert "m: 1.0000" in out.getvalue().splitlines()[-1]


# --------------------------------------------------------------------------- names

NAMES: list[tuple[str, Any, str]] = [
    ("empty", "", " - : 0.5000"),
    ("newline", "a\nb", "a\\nb: 0.5000"),
    ("carriage return", "a\rb", "a\\rb: 0.5000"),
    ("escape sequence", "\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m: 0.5000"),
    ("C1 CSI", "\x9b2J", "\\x9b2J: 0.5000"),
    ("OSC title", "\x1b]0;pwned\x07", "\\e]0;pwned\\x07: 0.5000"),
    ("bidi override", "\u202egol", "\\u202egol: 0.5000"),
    ("line separator", "a\u2028b", "a\\u2028b: 0.5000"),
    ("backspace", "ab\b\b", "ab\\x08\\x08: 0.5000"),
    ("NUL", "a\x00", "a\\x00: 0.5000"),
    ("emoji ZWJ kept", "👨‍👩‍👧", "👨‍👩‍👧: 0.5000"),
    ("int name", 7, " - 7: 0.5000"),
    ("None name", None, " - None: 0.5000"),
]


@reliability("Bad input", "metric names: empty, newline, CR, escape/OSC/C1 sequences, bidi, NUL, non-str → one intact line")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize(("label", "name", "shown"), NAMES, ids=[n[0] for n in NAMES])
def test_names_cannot_break_the_line(
    style: str, live: bool, label: str, name: Any, shown: str
) -> None:
    bar, out = _bar(style, live, target=None)
    bar.update(1, [(name, 0.5)])
    bar.close()
    text = out.getvalue()
    assert shown in text
    body = text.replace("\x1b[0m", "").replace("\x1b[1m", "")
    for code in ("\x1b", "\x9b", "\x00", "\u202e", "\u2028"):
        assert code not in body
    # one line per render: only the writer's own framing bytes
    assert text.count("\n") <= 2


@reliability("Bad input", "malformed `values` (not pairs), bad options (stateful+stateless, style, width, verbose, interval, clock) → clear error")
@pytest.mark.parametrize(
    ("make", "error", "words"),
    [
        (lambda b: b.update(1, 5), TypeError, "pairs"),
        (lambda b: b.update(1, "ab"), TypeError, "pairs"),
        (lambda b: b.update(1, [("a", 1, 2)]), TypeError, "pairs"),
        (lambda b: b.log(7), TypeError, "pairs"),
        (lambda b: Progbar(1, stateful_metrics=["a"], stateless_metrics=["b"]), ValueError,
         "^Only one of `stateful_metrics` or `stateless_metrics`"),
        (lambda b: Progbar(1, style="tqdm"), ValueError, "style"),
        (lambda b: Progbar(1, width=0), ValueError, "width"),
        (lambda b: Progbar(1, verbose=3), ValueError, "verbose"),
        (lambda b: Progbar(1, interval=-1), ValueError, "interval"),
        (lambda b: Progbar(1, interval=float("nan")), ValueError, "interval"),
        (lambda b: Progbar(1, clock=5), TypeError, "clock"),
        (lambda b: Progbar(1, unit_name=None), TypeError, "unit_name"),
    ],
)
def test_programming_errors_raise(make: Any, error: type[Exception], words: str) -> None:
    bar, out = _bar()
    bar.update(1, [("loss", 1.0)])
    with pytest.raises(error, match=words):
        make(bar)
    # nothing half-recorded
    assert bar.metrics() == {"loss": 1.0}


@reliability("Bad input", "`track()` over odd iterables: empty, len() raising, len() lying, generator")
@pytest.mark.parametrize("case", ["empty", "len raises", "len lies short", "len lies long", "gen"])
def test_track_odd_iterables(case: str) -> None:
    class LenRaises:
        def __len__(self) -> int:
            raise RuntimeError("no len")

        def __iter__(self) -> Any:
            return iter(range(3))

    class LenLies:
        def __init__(self, n: int) -> None:
            self.n = n

        def __len__(self) -> int:
            return self.n

        def __iter__(self) -> Any:
            return iter(range(3))

    source: Any = {
        "empty": [],
        "len raises": LenRaises(),
        "len lies short": LenLies(1),
        "len lies long": LenLies(100),
        "gen": (i for i in range(3)),
    }[case]
    out = io.StringIO()
    items = list(track(source, file=out, clock=Clock(), interval=0))
    assert items == ([] if case == "empty" else [0, 1, 2])
    assert out.getvalue().endswith("\n")




def test_a_bar_that_fails_to_draw_goes_quiet_alone() -> None:
    # One bar's drawing bug (here: its style raises) silences that bar only; the other
    # bar on the same stream keeps drawing, and neither loop sees an error.
    out = io.StringIO()
    broken = Progbar(10, file=out, dynamic=False, interval=0, label="broken")
    healthy = Progbar(10, file=out, dynamic=False, interval=0, label="healthy")

    def fail(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("a formatting bug")

    broken._style.format_line = fail  # type: ignore[method-assign]
    for step in range(1, 11):
        broken.update(step)
        healthy.update(step)
    broken.close()
    healthy.close()
    lines = out.getvalue().splitlines()
    assert not any(line.startswith("broken") for line in lines)
    assert lines[-1].startswith("healthy 10/10 100%")
