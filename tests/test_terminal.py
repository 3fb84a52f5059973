"""Terminal behaviour on a real pseudo-terminal, read back through pyte: what a user
sees, not only the bytes."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from support.ptyscreen import run_on_pty

from progbar._format import cell_width

ANSI = re.compile(r"\x1b\[[0-9;]*m")

# A script that drives a bar with an injected clock (1 s per step) and 8 metrics.
SCRIPT = """
import os, sys
from progbar import Progbar
t = [0.0]
b = Progbar(100, style={style!r}, clock=lambda: t[0])
names = ["loss", "accuracy", "val_loss", "val_accuracy", "precision", "recall", "auc", "lr"]
for i in range(1, {stop} + 1):
    t[0] += 1.0
    b.update(i, [(n, 0.5 + j / 10 + i / 1000) for j, n in enumerate(names)])
if {hard_exit}:
    sys.stdout.flush()
    os._exit(0)
"""


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_narrow_terminal_shows_one_unwrapped_line(style: str) -> None:
    res = run_on_pty(SCRIPT.format(style=style, stop=50, hard_exit=True), cols=40)
    assert res.returncode == 0
    lines = res.nonblank()
    assert len(lines) == 1, lines  # nothing wrapped onto a second row
    assert "50/100" in lines[0]
    assert cell_width(lines[0]) <= 39


NAMES = ("loss", "accuracy", "val_loss", "val_accuracy", "precision", "recall", "auc", "lr")


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_final_line_is_a_record_with_every_metric(style: str) -> None:
    # The final line is never elided: too long for 40 columns, it drops the bar
    # glyphs and wraps (it is printed once, never redrawn), keeping every metric.
    res = run_on_pty(SCRIPT.format(style=style, stop=100, hard_exit=False), cols=40)
    assert res.returncode == 0
    lines = res.nonblank()
    assert lines[0].startswith("100/100")
    record = "".join(line.ljust(40) if len(line) == 40 else line for line in lines)
    for name in NAMES:
        assert f"{name}: " in record, (name, lines)
    assert "━" not in record and "[" not in record and "=" not in record  # no bar glyphs
    # the cursor ended on a fresh line: the final line ends with a newline
    assert res.raw.rstrip(b" ").endswith(b"\n")


@pytest.mark.parametrize("style", ["default", "keras", "keras2", "tf_keras"])
def test_final_line_that_fits_keeps_its_bar(style: str) -> None:
    res = run_on_pty(SCRIPT.format(style=style, stop=100, hard_exit=False), cols=200)
    (line,) = res.nonblank()
    assert line.startswith("100/100") and cell_width(line) <= 199
    assert ("[" if style in ("keras2", "tf_keras") else "━") in line


def test_wide_terminal_shows_every_metric() -> None:
    res = run_on_pty(SCRIPT.format(style="default", stop=100, hard_exit=False), cols=200)
    (line,) = res.nonblank()
    for name in ("loss", "accuracy", "val_loss", "val_accuracy", "precision", "recall",
                 "auc", "lr"):
        assert f"{name}: " in line
    assert "100/100 100% " in line
    assert "━" * 30 in line  # full bar in the default width


def test_live_mode_on_a_terminal_uses_carriage_returns_not_backspaces() -> None:
    res = run_on_pty(SCRIPT.format(style="default", stop=100, hard_exit=False), cols=120)
    assert b"\r" in res.raw and b"\b" not in res.raw
    assert b"\x1b[" in res.raw  # colour on a terminal


def test_no_color_and_term_dumb_switch_colour_off() -> None:
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        res = run_on_pty(SCRIPT.format(style="default", stop=100, hard_exit=False),
                         cols=120, env=env)
        assert b"\x1b[" not in res.raw, env
        assert res.nonblank()[0].startswith("100/100")


def test_progbar_dynamic_0_gives_line_mode_on_a_terminal() -> None:
    res = run_on_pty(SCRIPT.format(style="default", stop=100, hard_exit=False),
                     cols=120, env={"PROGBAR_DYNAMIC": "0"})
    assert b"\r" not in res.raw.replace(b"\r\n", b"\n")  # the pty turns \n into \r\n
    assert b"\x1b" not in res.raw  # no colour in line mode, even on a terminal
    logged = [ANSI.sub("", line) for line in res.text.replace("\r\n", "\n").splitlines()]
    assert logged[-1].startswith("100/100 100% 1:40 ")  # full lines: a log keeps every metric
    assert logged[-1].endswith("lr: 1.2505")


def test_progbar_disable_silences_the_bar() -> None:
    res = run_on_pty(SCRIPT.format(style="default", stop=100, hard_exit=False),
                     cols=120, env={"PROGBAR_DISABLE": "1"})
    assert res.raw == b""


def test_write_puts_messages_above_the_bar() -> None:
    code = """
    from progbar import Progbar
    t = [0.0]
    b = Progbar(10, clock=lambda: t[0])
    for i in range(1, 11):
        t[0] += 1.0
        b.update(i, [("loss", 1.0)])
        if i in (3, 7):
            b.write(f"checkpoint saved at step {i}")
    """
    res = run_on_pty(code, cols=80)
    lines = res.nonblank()
    assert lines[0] == "checkpoint saved at step 3"
    assert lines[1] == "checkpoint saved at step 7"
    assert lines[2].startswith("10/10 100% ")
    assert len(lines) == 3


@pytest.mark.parametrize("kind", ["with", "track"])
def test_ctrl_c_leaves_the_cursor_on_a_fresh_line(kind: str) -> None:
    body = {
        "with": """
    with Progbar(100, clock=lambda: t[0]) as b:
        for i in range(1, 40):
            t[0] += 1.0
            b.update(i)
        raise KeyboardInterrupt
    """,
        "track": """
    for i in track(range(100), clock=lambda: t[0], interval=0):
        t[0] += 1.0
        if i == 39:
            raise KeyboardInterrupt
    """,
    }[kind]
    code = "from progbar import Progbar, track\nt = [0.0]\n" + textwrap.dedent(body)
    res = run_on_pty(code, cols=100)
    assert res.returncode != 0
    lines = res.nonblank()
    bar_line = next(line for line in lines if "/100" in line)
    assert "Traceback" not in bar_line
    assert lines[lines.index(bar_line) + 1].startswith("Traceback")
    assert lines[-1] == "KeyboardInterrupt"


def test_a_pipe_gives_line_mode() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(style="default", stop=100, hard_exit=False)],
        capture_output=True, check=True,
    ).stdout.decode()
    assert "\r" not in out and "\b" not in out and "\x1b" not in out
    lines = out.splitlines()
    # 100 s of fake time at the 10 s log interval: about ten lines, then the final one
    assert 2 <= len(lines) <= 12
    assert lines[-1].startswith("100/100 100% 1:40 ")
    assert "━" not in out  # no bar glyphs in a log


def test_broken_pipe_exits_cleanly() -> None:
    code = """
from progbar import Progbar
b = Progbar(10**6, interval=0)
for i in range(1, 200001):
    b.update(i, [("loss", 0.5)])
print("the loop went on to the end")
"""
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # like `| head -1`
        err = proc.stderr.read()
        assert proc.wait(60) == 0
    assert first.startswith(b"      1/1000000   0% ")
    assert err == b""


def test_shell_pipeline_into_head() -> None:
    code = ("from progbar import track\\n"
            "for i in (b := track(range(300000), interval=0)):\\n    b.log(loss=i)")
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -c $'{code}' | head -1"],
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    assert proc.stdout.count(b"\n") == 1


def test_import_loads_no_numpy_no_framework_and_no_pool() -> None:
    code = ("import sys, progbar\n"
            "heavy = ['numpy', 'keras', 'torch', 'lightning', 'IPython', 'tensorflow',\n"
            "         'pandas', 'dask', 'distributed', 'concurrent.futures', 'inspect']\n"
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
