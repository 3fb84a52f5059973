"""The terminal's own progress indicator (OSC 9;4: ``ESC ] 9 ; 4 ; state ; percent BEL``),
read back from the raw bytes a program writes to a real pseudo-terminal: set with the
right percentage, cleared when the last bar ends, at exit and after Ctrl-C; absent
where the terminal is not known to show it, inside tmux, in a pipe, in line mode."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
from typing import Any, Iterator

import pytest
from support.ptyscreen import run_on_pty

from progbar._writer import terminal_progress

OSC = re.compile(rb"\x1b\]9;4;(\d+);(\d+)\x07")

# What the known terminals put in the environment, and what blanks them all.
BLANK = {"WT_SESSION": "", "ConEmuANSI": "", "TERM_PROGRAM": "", "TERM_PROGRAM_VERSION": "",
         "TMUX": "", "STY": ""}
WINDOWS_TERMINAL = dict(BLANK, WT_SESSION="0e5f6a3c-1d2b-4c5d-8e9f-0a1b2c3d4e5f")


def sequences(raw: bytes) -> list[tuple[int, int]]:
    """The OSC 9;4 sequences in ``raw``, as (state, percent), in order."""
    return [(int(state), int(percent)) for state, percent in OSC.findall(raw)]


# --------------------------------------------------------------------------- detection


@pytest.fixture()
def terminal() -> Iterator[Any]:
    """A real terminal stream (the slave end of a pty)."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w")
    yield stream
    stream.close()
    os.close(master)


@pytest.mark.parametrize(("env", "shown"), [
    ({"WT_SESSION": "abc"}, True),  # Windows Terminal
    ({"ConEmuANSI": "ON"}, True),
    ({"ConEmuANSI": "OFF"}, False),
    ({"TERM_PROGRAM": "ghostty"}, True),
    ({"TERM_PROGRAM": "WezTerm"}, True),
    ({"TERM_PROGRAM": "iTerm.app", "TERM_PROGRAM_VERSION": "3.6.6"}, True),
    ({"TERM_PROGRAM": "iTerm.app", "TERM_PROGRAM_VERSION": "3.10.0"}, True),  # numerically
    ({"TERM_PROGRAM": "iTerm.app", "TERM_PROGRAM_VERSION": "3.6.5"}, False),  # a notification
    ({"TERM_PROGRAM": "iTerm.app", "TERM_PROGRAM_VERSION": "3.5.14"}, False),
    ({"TERM_PROGRAM": "iTerm.app"}, False),  # version unknown
    ({"TERM_PROGRAM": "Apple_Terminal"}, False),
    ({"VTE_VERSION": "7600"}, False),  # GNOME Terminal & co.: only when forced
    ({}, False),
    ({"WT_SESSION": "abc", "TMUX": "/tmp/tmux-1000/default,1,0"}, False),
    ({"WT_SESSION": "abc", "STY": "1234.pts-0.host"}, False),
    ({"WT_SESSION": "abc", "TERM": "screen-256color"}, False),
    ({"WT_SESSION": "abc", "TERM": "tmux-256color"}, False),
    ({"PROGBAR_TERMINAL_PROGRESS": "1"}, True),  # forced: any terminal
    ({"PROGBAR_TERMINAL_PROGRESS": "1", "TMUX": "/tmp/tmux"}, True),  # forced wins there too
    ({"PROGBAR_TERMINAL_PROGRESS": "0", "WT_SESSION": "abc"}, False),
    ({"PROGBAR_TERMINAL_PROGRESS": "1", "TERM": "dumb"}, False),  # no escapes, ever
])
def test_on_only_where_the_terminal_is_known_to_show_it(
    terminal: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], shown: bool,
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert terminal_progress(terminal) is shown


def test_never_on_a_stream_that_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setenv("WT_SESSION", "abc")
    monkeypatch.setenv("PROGBAR_TERMINAL_PROGRESS", "1")
    assert terminal_progress(io.StringIO()) is False


# --------------------------------------------------------------------------- on a pty

STEPS = """
from progbar import Progbar
t = [0.0]
bar = Progbar(100, clock=lambda: t[0])
for i in range(1, 101):
    t[0] += 1.0
    bar.update(i)
"""


def test_the_tab_shows_the_percentage_and_is_cleared_when_the_bar_ends() -> None:
    res = run_on_pty(STEPS, env=WINDOWS_TERMINAL)
    seen = sequences(res.raw)
    assert seen[-1] == (0, 0)  # cleared: never left set
    shown = seen[:-1]
    assert {state for state, _ in shown} == {1}
    # each change once, in order; the final frame ends the block: cleared, not 100
    assert [p for _, p in shown] == list(range(1, 100))
    (line,) = res.nonblank()
    assert line.startswith("100/100")


def test_at_most_one_sequence_per_frame_and_only_when_the_percentage_changes() -> None:
    code = """
    from progbar import Progbar
    t = [0.0]
    bar = Progbar(1000, clock=lambda: t[0], interval=0)
    for i in range(1, 1001):
        t[0] += 0.01
        bar.update(i)  # 1000 frames, 100 percentages
    """
    res = run_on_pty(code, env=WINDOWS_TERMINAL)
    seen = sequences(res.raw)
    frames = res.raw.count(b"\r")
    # 0 to 100 % (rounded as the line rounds: 995/1000 shows 100 %), then the clear
    assert len(seen) == 102 <= frames
    assert all(a != b for a, b in zip(seen, seen[1:]))
    assert [p for _, p in seen[:-1]] == list(range(101)) and seen[-1] == (0, 0)


def test_the_outermost_bar_with_a_target_gives_the_percentage() -> None:
    code = """
    import os
    from progbar import Progbar
    t = [0.0]
    clock = lambda: t[0]
    epochs = Progbar(4, label="epoch", clock=clock)
    epochs.update(1)  # 25 %
    steps = Progbar(200, label="step", clock=clock)
    for i in range(1, 101):
        t[0] += 1.0
        steps.update(i)  # 50 % at the end: not the block's first bar
    steps.close()
    epochs.close()
    os.write(1, b"|")  # a marker between the two blocks
    unknown = Progbar(None, label="outer", clock=clock)
    unknown.update(3)
    inner = Progbar(10, label="inner", clock=clock)
    t[0] += 1.0
    inner.update(7)
    inner.close()
    unknown.close()
    """
    res = run_on_pty(code, env=WINDOWS_TERMINAL)
    first, second = res.raw.split(b"|")
    # the epoch bar's, whatever the steps'; cleared when the block's last bar ends
    assert sequences(first) == [(1, 25), (0, 0)]
    # An outer bar of unknown length: the percentage of the first bar that has one.
    assert sequences(second) == [(3, 0), (1, 70), (3, 0), (0, 0)]


def test_no_bar_with_a_target_is_indeterminate() -> None:
    code = """
    from progbar import Progbar
    t = [0.0]
    bar = Progbar(None, clock=lambda: t[0])
    for i in range(1, 50):
        t[0] += 1.0
        bar.update(i)
    bar.close()
    """
    assert sequences(run_on_pty(code, env=WINDOWS_TERMINAL).raw) == [(3, 0), (0, 0)]


def test_cleared_at_exit_when_a_bar_is_left_open() -> None:
    code = """
    from progbar import Progbar
    t = [0.0]
    bar = Progbar(100, clock=lambda: t[0])
    for i in range(1, 38):
        t[0] += 1.0
        bar.update(i)
    print()  # the bar is never closed: the interpreter's exit clears the indicator
    """
    seen = sequences(run_on_pty(code, env=WINDOWS_TERMINAL).raw)
    assert seen[-2:] == [(1, 37), (0, 0)]


def test_cleared_when_a_scheduler_sends_sigterm() -> None:
    # SIGTERM ends a process without running atexit: the indicator is cleared by the
    # SIGTERM handler (installed with the first sequence, where no one else handles it).
    code = """
    import os, signal
    from progbar import Progbar
    t = [0.0]
    bar = Progbar(100, clock=lambda: t[0])
    for i in range(1, 38):
        t[0] += 1.0
        bar.update(i)
    os.kill(os.getpid(), signal.SIGTERM)
    print("not reached")
    """
    res = run_on_pty(code, env=WINDOWS_TERMINAL)
    assert res.returncode == -signal.SIGTERM
    assert "not reached" not in res.text
    assert sequences(res.raw)[-2:] == [(1, 37), (0, 0)]


LOOPS = {
    "with": """
with Progbar(100, clock=clock) as bar:
    for i in range(1, 101):
        step(i)
        bar.update(i)
""",
    "track": """
for i in track(range(1, 101), clock=clock):
    step(i)
""",
    "bare": """
bar = Progbar(100, clock=clock)
for i in range(1, 101):
    step(i)
    bar.update(i)
""",
}


@pytest.mark.parametrize("how", list(LOOPS))
def test_cleared_after_ctrl_c(how: str) -> None:
    # A real SIGINT in the middle of the loop, never caught: the indicator is cleared
    # by the bar's close (with, track) or by the exit hook (a bar nobody closes).
    code = """
import os, signal
from progbar import Progbar, track
t = [0.0]
clock = lambda: t[0]

def step(i):
    t[0] += 1.0
    if i == 43:
        os.kill(os.getpid(), signal.SIGINT)
""" + LOOPS[how]
    res = run_on_pty(code, env=WINDOWS_TERMINAL)
    assert res.returncode != 0 and "KeyboardInterrupt" in res.text
    seen = sequences(res.raw)
    assert seen[-1] == (0, 0)
    assert (1, 42) in seen


@pytest.mark.parametrize("env", [
    dict(WINDOWS_TERMINAL, TMUX="/tmp/tmux-1000/default,1,0"),
    dict(WINDOWS_TERMINAL, PROGBAR_TERMINAL_PROGRESS="0"),
    dict(WINDOWS_TERMINAL, PROGBAR_DYNAMIC="0"),  # line mode on a terminal
    BLANK,  # an xterm: not known to show it
], ids=["tmux", "forced-off", "line-mode", "unknown-terminal"])
def test_absent_where_it_must_not_be_sent(env: dict[str, str]) -> None:
    res = run_on_pty(STEPS, env=env)
    assert b"\x1b]9;4" not in res.raw
    assert res.nonblank()[-1].startswith("100/100")


def test_absent_in_a_pipe_even_when_forced() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    env.update(WINDOWS_TERMINAL, PROGBAR_TERMINAL_PROGRESS="1")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(STEPS)], env=env,
                         capture_output=True, timeout=60, check=True).stdout
    assert b"\x1b" not in out and out.decode().endswith("\n")
