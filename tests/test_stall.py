"""A stalled loop says so: ``stalled 1:05`` in place of a live line's ETA, one line in a
log when the stall starts and at each doubling, every thread's stack on stderr with
``PROGBAR_STALL_DUMP=1`` (on every rank).

The rule is driven with an injected clock through ``bar.tick()`` (the ticker's hook);
the real ticker is proven end to end with a small ``stall_after``, waiting on what
is drawn (an event, a pty's screen, a pipe's lines) with a generous cap, no sleeps.
"""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from conftest import FakeClock, Screen, needs
from support.ptyscreen import run_on_pty, run_with_checkpoints, screen_lines

from progbar import Progbar, _ticker, track
from progbar._format import format_stall_line, format_stalled, format_step_time
from progbar._stall import stall_report, stall_threshold, stalled_for
from progbar._writer import dump_stacks

OSC = re.compile(rb"\x1b\]9;4;(\d+);(\d+)\x07")


# --------------------------------------------------------------------------- the rule


def test_the_stall_rule_is_a_function_of_time_pace_and_stall_after() -> None:
    # stall_after=None: max(60 s, 30 x the smoothed step time)
    assert stall_threshold(0.21, None) == 60.0
    assert stall_threshold(3.0, None) == 90.0
    assert stall_threshold(3.0, 5.0) == 5.0
    assert stalled_for(1059.9, 1000.0, 0.21, None) is None
    assert stalled_for(1060.0, 1000.0, 0.21, None) == 60.0
    assert stalled_for(1089.0, 1000.0, 3.0, None) is None
    assert stalled_for(1000.3, 1000.0, 3.0, 0.2) == pytest.approx(0.3)


def test_reports_come_at_the_start_and_at_each_doubling() -> None:
    assert [stall_report(s, 60.0) for s in (60, 119, 120, 239.9, 240, 500)] == [
        60, 60, 120, 120, 240, 480]


def test_the_stall_texts() -> None:
    assert format_stalled(65) == "stalled 1:05"
    assert format_stall_line("train", 420, 1000, "step", 60.0, 0.21) == (
        "train 420/1000 stalled for 1:00 (steps took 0.21 s)")
    assert format_stall_line(None, 420, None, "batch", 120.0, 12.5) == (
        "420 batch stalled for 2:00 (steps took 12 s)")
    assert format_stall_line("x", 0, 10, "step", 60.0, 0.0) == "x 0/10 stalled for 1:00"
    assert [format_step_time(s) for s in (0.21, 1.5, 42.0, 0.0035, 8e-7)] == [
        "0.21 s", "1.50 s", "42 s", "3.50 ms", "0.80 us"]


# --------------------------------------------------------------------------- a log


def run_to(bar: Progbar[Any], clock: FakeClock, steps: int, dt: float) -> None:
    for i in range(1, steps + 1):
        clock.now += dt
        bar.update(i)


def stall_lines(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if "stalled" in line]


def test_a_log_gets_one_line_when_a_stall_starts_and_at_each_doubling() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, label="train", file=out, dynamic=False, clock=clock)
    run_to(bar, clock, 420, 0.21)
    clock.now += 59.5
    bar.tick()
    assert stall_lines(out) == []  # not yet: a minute without a step
    for _ in range(16):  # the ticker's rounds over four more minutes
        clock.now += 15.0
        bar.tick()
    assert stall_lines(out) == [
        "train 420/1000 stalled for 1:00 (steps took 0.21 s)",
        "train 420/1000 stalled for 2:00 (steps took 0.21 s)",
        "train 420/1000 stalled for 4:00 (steps took 0.21 s)",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    bar.close()


def test_the_next_step_clears_a_stall() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, label="train", file=out, dynamic=False, clock=clock, stall_after=30)
    run_to(bar, clock, 420, 0.21)
    clock.now += 45
    bar.tick()
    bar.update(421)
    bar.tick()
    clock.now += 29
    bar.tick()
    assert len(stall_lines(out)) == 1  # cleared: the clock starts again from step 421
    clock.now += 2
    bar.tick()
    assert stall_lines(out)[-1].startswith("train 421/1000 stalled for 0:30")
    bar.close()


def test_stall_after_from_the_argument_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stalls_after(seconds: float, **options: Any) -> bool:
        clock, out = FakeClock(), io.StringIO()
        bar = Progbar(10, file=out, dynamic=False, clock=clock, **options)
        run_to(bar, clock, 3, 0.1)
        clock.now += seconds
        bar.tick()
        bar.close()
        return bool(stall_lines(out))

    assert not stalls_after(5) and stalls_after(60)
    assert stalls_after(5, stall_after=5) and not stalls_after(4.9, stall_after=5)
    monkeypatch.setenv("PROGBAR_STALL_AFTER", "2.5")
    assert stalls_after(2.5) and not stalls_after(2.4)
    assert not stalls_after(9, stall_after=10)  # the argument is the bar's own
    monkeypatch.setenv("PROGBAR_STALL_AFTER", "0")  # never
    assert not stalls_after(10**6)
    assert not stalls_after(10**6, stall_after=float("inf"))


@pytest.mark.parametrize("bad", [0, -1, "60", True, float("nan")])
def test_stall_after_must_be_a_positive_number(bad: Any) -> None:
    with pytest.raises(ValueError, match="stall_after"):
        Progbar(10, stall_after=bad)


@pytest.mark.parametrize("case", ["verbose=0", "verbose=2", "finished", "closed"])
def test_silent_summary_finished_and_closed_bars_never_say_stalled(case: str) -> None:
    clock, out = FakeClock(), io.StringIO()
    verbose = {"verbose=0": 0, "verbose=2": 2}.get(case, 1)
    bar = Progbar(10, file=out, dynamic=False, clock=clock, stall_after=1, verbose=verbose)
    run_to(bar, clock, 10 if case == "finished" else 4, 0.1)
    if case == "closed":
        bar.close()
    clock.now += 100
    bar.tick()
    assert "stalled" not in out.getvalue()


def test_an_outer_loop_is_not_stalled_while_its_inner_loop_moves() -> None:
    clock, out = FakeClock(), io.StringIO()
    epochs = Progbar(4, label="epoch", file=out, dynamic=False, clock=clock, stall_after=30)
    epochs.update(1)
    for _ in range(2):  # two epochs of 100 s each, made of 1 s steps
        steps = Progbar(100, label="step", file=out, dynamic=False, clock=clock,
                        stall_after=30)
        for i in range(1, 101):
            clock.now += 1.0
            steps.update(i)
            if i % 10 == 0:  # the ticker's rounds
                steps.tick()
                epochs.tick()
        steps.close()
        clock.now += 20.0  # an evaluation between epochs, with no bar
        epochs.tick()
        epochs.update(epochs.current + 1)
    assert stall_lines(out) == []
    clock.now += 31.0
    epochs.tick()  # nothing inside it moves now: the outer loop is stalled
    assert stall_lines(out) == ["epoch 3/4 stalled for 0:30 (steps took 120 s)"]
    epochs.close()


def test_reset_starts_a_new_watch() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(100, label="epoch", file=out, dynamic=False, clock=clock, stall_after=30)
    run_to(bar, clock, 40, 1.0)
    clock.now += 31
    bar.tick()
    bar.reset()  # a new epoch: its own clock, nothing stalled yet
    clock.now += 29
    bar.tick()
    run_to(bar, clock, 10, 1.0)
    clock.now += 31
    bar.tick()
    assert [line.split(" stalled")[0] for line in stall_lines(out)] == [
        "epoch 40/100", "epoch 10/100"]
    bar.close()


# --------------------------------------------------------------------------- live


def screen_of(text: str, cols: int = 100) -> list[str]:
    return [row for row in screen_lines(text.encode(), cols, 4) if row.strip()]


def test_a_live_line_shows_the_stall_in_place_of_its_eta_ticking_then_the_eta_again() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, label="train", file=out, dynamic=True, color=False, clock=clock,
                  stall_after=60)
    run_to(bar, clock, 420, 0.21)
    before = screen_of(out.getvalue())[-1]
    assert before.startswith("train  420/1000  42% ") and " 1:28<" in before
    clock.now += 65.0
    bar.tick()
    stalled = screen_of(out.getvalue())[-1]
    assert stalled.startswith("train  420/1000  42% ") and " stalled 1:05 " in stalled
    assert "<" not in stalled  # the ETA's place
    clock.now += 0.4
    bar.tick()  # the same second: nothing redrawn
    drawn = out.getvalue()
    clock.now += 0.7
    bar.tick()
    assert out.getvalue() != drawn and " stalled 1:06 " in screen_of(out.getvalue())[-1]
    clock.now += 0.21
    bar.update(421)
    bar.tick()
    after = screen_of(out.getvalue())[-1]
    assert "stalled" not in after and "421/1000" in after and "<" in after
    bar.close()


def test_a_template_shows_the_stall_in_its_eta_field() -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, file=out, dynamic=True, color=False, clock=clock, stall_after=60,
                  format="{count}/{target} [{eta}]")
    run_to(bar, clock, 420, 0.21)
    clock.now += 65.0
    bar.tick()
    assert screen_of(out.getvalue())[-1] == "420/1000 [stalled 1:05]"


@pytest.mark.parametrize("style", ["keras", "keras2", "tf_keras"])
def test_the_keras_styles_show_the_stall_in_place_of_their_eta(style: str) -> None:
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, file=out, dynamic=True, color=False, clock=clock, style=style,
                  stall_after=60)
    run_to(bar, clock, 420, 0.21)
    clock.now += 65.0
    bar.tick()
    line = screen_of(out.getvalue(), 120)[-1]
    assert line.startswith(" 420/1000") and "stalled 1:05" in line and "ETA" not in line


# --------------------------------------------------------------------------- the real ticker


def test_an_idle_counting_bar_stays_watched_after_leaving_the_ticker() -> None:
    # A counting bar idle past the ticker's idle limit is drawn by it no more, but its
    # stall watch stays (at a low rate): the stall is still shown, ticking.  The limit
    # counts from the ticker's last sight of a move, a round after the last step, so
    # the bar may still be drawn at "stalled 0:01"; by 0:02 it has moved for sure.
    screen = Screen("stalled 0:02")
    bar = Progbar(10**6, file=screen, dynamic=True, color=False, stall_after=0.2)
    for _ in range(2000):
        bar.add(1)
    assert bar in _ticker.registered()
    assert screen.seen.wait(timeout=30) is True  # more than IDLE_EXIT later
    assert bar not in _ticker.registered() and bar in _ticker.watched()
    bar.add(1)  # a step: drawn by the ticker again, the stall cleared
    assert bar in _ticker.registered()
    bar.close()
    assert bar not in _ticker.registered() and bar not in _ticker.watched()
    assert screen.getvalue().rsplit("\r", 1)[-1].lstrip().startswith("2001/1000000")


def test_a_track_loop_whose_body_hangs_is_shown_stalled_by_the_ticker() -> None:
    # The body of item 3 waits until the ticker has drawn the stall: were nobody
    # watching, the loop would wait for the cap and fail.
    screen = Screen("stalled 0:00")
    for i in (bar := track(range(10), file=screen, dynamic=True, color=False,
                           stall_after=0.2)):
        if i == 3:
            assert screen.seen.wait(timeout=30) is True
            assert "3/10" in screen.getvalue().rsplit("\r", 1)[-1]
    last = screen.getvalue().rsplit("\r", 1)[-1]
    assert last.startswith("10/10 100% ") and "stalled" not in last
    assert bar not in _ticker.registered() and bar not in _ticker.watched()


STALL_ON_A_TERMINAL = """
import sys, threading
from progbar import Progbar

class Seen:
    # sys.stdout, setting an event once a text has been written (a pty's screen)
    def __init__(self, wanted):
        self.wanted, self.event = wanted, threading.Event()
    def write(self, text):
        if self.wanted in text:
            self.event.set()
        return sys.stdout.write(text)
    def __getattr__(self, name):
        return getattr(sys.stdout, name)

out = Seen("stalled 0:01")
bar = Progbar(1000, label="train", file=out, stall_after=0.2)
for i in range(1, 421):
    bar.update(i)
assert out.event.wait(30)  # the loop hangs; the ticker shows it, ticking
checkpoint("stalled")
bar.update(421)
bar.refresh()
checkpoint("resumed")
bar.close()
"""


def test_a_stall_is_shown_mid_run_on_a_terminal_and_the_tab_pauses() -> None:
    run = run_with_checkpoints(STALL_ON_A_TERMINAL, cols=100, env={
        "WT_SESSION": "abc", "TERM_PROGRAM": "", "TMUX": "", "STY": ""})
    assert run.returncode == 0, run.raw[-2000:]
    (stalled,) = run.rows("stalled")
    assert stalled.startswith("train  420/1000  42% ") and " stalled 0:01 " in stalled
    (resumed,) = run.rows("resumed")
    assert "421/1000" in resumed and "stalled" not in resumed
    states = [(int(a), int(b)) for a, b in OSC.findall(run.raw)]
    paused = states.index((4, 42))  # the tab: paused while stalled
    assert (1, 42) in states[:paused] and (1, 42) in states[paused:]  # and back
    assert states[-1] == (0, 0)


def read_until(stream: Any, pattern: str, timeout: float = 30.0) -> str:
    """What ``stream`` (a pipe) gives until ``pattern`` is in it (or the cap)."""
    text = b""
    deadline = time.monotonic() + timeout
    while re.search(pattern, text.decode(errors="replace")) is None:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise TimeoutError(f"{pattern!r} never came; got {text[-3000:]!r}")
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            raise EOFError(f"{pattern!r} never came; got {text[-3000:]!r}")
        text += chunk
    return text.decode(errors="replace")


def start(code: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    full.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=full,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # its DataLoader worker goes with it if it is killed
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Let the program go on (a line on its stdin) and collect the rest."""
    try:
        out, err = proc.communicate(b"go on\n", timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
    return out.decode(), err.decode()


HANGS = """
import sys
from progbar import Progbar

def wait_for_peer():  # a collective waiting for a rank that died, say
    sys.stdin.readline()

bar = Progbar(1000, label="train", stall_after=0.2)
for i in range(1, 421):
    bar.update(i)
wait_for_peer()
bar.update(1000)
"""


def test_a_log_in_a_pipe_gets_the_stall_line_from_the_ticker() -> None:
    proc = start(HANGS, {})
    try:
        seen = read_until(proc.stdout, r"stalled for .*\n")
    finally:
        out, err = finish(proc)
    lines = (seen + out).splitlines()
    stall = [line for line in lines if "stalled" in line]
    assert re.fullmatch(r"train 420/1000 stalled for 0:00 \(steps took [0-9.]+ (s|ms|us)\)",
                        stall[0]), stall
    assert lines[-1].startswith("train 1000/1000 100% ")
    assert "\r" not in seen + out and err == ""


def test_a_silent_rank_dumps_every_stack_on_stderr_and_prints_nothing() -> None:
    proc = start(HANGS, {"RANK": "1", "PROGBAR_STALL_DUMP": "1"})
    try:
        dump = read_until(proc.stderr, r"in wait_for_peer")
    finally:
        out, err = finish(proc)
    assert out == ""  # rank 1 draws nothing
    assert re.search(r"progbar \(rank 1, pid \d+\): train 420/1000 stalled for 0:00", dump)
    assert "most recent call first" in dump and 'File "<string>"' in dump
    assert (dump + err).count("stack of every thread") == 1  # once per stall


def test_the_dump_without_a_file_descriptor_lists_every_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captured = io.StringIO()  # no fileno(): faulthandler cannot write to it
    monkeypatch.setattr(sys, "stderr", captured)
    dump_stacks("progbar: a header")
    text = captured.getvalue()
    assert text.startswith("progbar: a header\n")
    assert "(MainThread), most recent call last:" in text
    assert "in test_the_dump_without_a_file_descriptor_lists_every_thread" in text


def test_on_a_terminal_the_dump_starts_on_a_line_of_its_own() -> None:
    code = """
    import os
    os.environ["PROGBAR_STALL_DUMP"] = "1"
    from progbar import Progbar
    t = [0.0]
    bar = Progbar(1000, clock=lambda: t[0], stall_after=10)
    for i in range(1, 6):
        t[0] += 0.5
        bar.update(i)
    t[0] += 11.0
    bar.tick()  # the stall: its dump goes to stderr, the same terminal
    t[0] += 0.5
    bar.update(6)
    bar.close()
    """
    res = run_on_pty(code, rows=60)
    rows = res.nonblank()
    header = [row for row in rows if "progbar (rank 0" in row]
    assert header and header[0].startswith("progbar (rank 0"), rows
    assert rows[-1].startswith("   6/1000")  # the bar goes on below the dump


def test_the_dump_comes_once_per_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stderr", captured)
    monkeypatch.setenv("PROGBAR_STALL_DUMP", "1")
    clock, out = FakeClock(), io.StringIO()
    bar = Progbar(1000, file=out, dynamic=False, clock=clock, stall_after=10)
    run_to(bar, clock, 5, 0.5)
    for _ in range(10):  # 10, 20, 40 s: three lines, one dump
        clock.now += 5.0
        bar.tick()
    assert len(stall_lines(out)) == 3 and captured.getvalue().count("progbar (rank") == 1
    bar.update(6)
    clock.now += 11
    bar.tick()  # a new stall: a new dump
    assert captured.getvalue().count("progbar (rank") == 2
    bar.close()


DATALOADER = """
import os, sys
from torch.utils.data import DataLoader, Dataset
from progbar import track

FIFO = sys.argv[1]


class WaitsForAFile(Dataset):
    # Item 3 blocks its worker until someone opens the FIFO for writing (the test
    # does, once it has seen the dump): a worker that deadlocks, as far as the loop
    # can tell.
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            with open(FIFO) as fifo:
                fifo.read()
        return i


def main():
    loader = DataLoader(WaitsForAFile(), num_workers=1, batch_size=1)
    for batch in track(loader, label="train", stall_after=0.2):
        pass


if __name__ == "__main__":
    main()
"""


@needs("torch")
def test_a_dataloader_whose_worker_blocks_dumps_where_the_loop_waits(tmp_path: Any) -> None:
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    proc = start(DATALOADER, {"PROGBAR_STALL_DUMP": "1"}, str(fifo))
    try:
        dump = read_until(proc.stderr, r"in <module>")  # the main thread's stack is out
        log = read_until(proc.stdout, r"stalled for .*\n")
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the worker goes on
    finally:
        out, err = finish(proc)
    assert "train 3/6 stalled for 0:00" in log
    assert "stack of every thread" in dump
    # the main thread waits in the DataLoader for the worker's batch
    (main_thread,) = [block for block in dump.split("\n\n") if "in main" in block]
    assert "torch/utils/data/dataloader.py" in main_thread and "_next_data" in main_thread
    assert (log + out).splitlines()[-1].startswith("train 6/6 100% ")
    assert proc.returncode == 0


def test_a_log_dates_a_stall_from_the_last_step_and_reports_the_true_pace() -> None:
    # Inside a track() chunk the count moves with no clock read; the watch first sees
    # the last steps at its own turn.  The stall is dated from when they happened (at
    # the pace the loop showed), not from when the watch saw them, and the log line
    # says the true step time (it read the time since the start spread over the steps:
    # ten and more times too long for a short, fast run).
    clock, out = FakeClock(0.0), io.StringIO()
    source = (i for i in range(1000))
    bar = track(source, target=1000, label="train", file=out, dynamic=False, clock=clock,
                stall_after=2.0)
    lines: list[str] = []
    for i in bar:
        if i == 200:  # 200 steps done; the 201st hangs
            clock.now += 3.0
            bar.tick()  # the watch's turn: 200 steps, the last one 3 s ago
            lines = stall_lines(out)
            break
        clock.now += 0.001  # the body: 1 ms a step
    assert lines == ["train 200/1000 stalled for 0:02 (steps took 1.00 ms)"], lines
