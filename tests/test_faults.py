"""Faults (design.md, "Faults and bad input"): a display error never reaches the loop, and the terminal is left
tidy.  Pipes, ptys, signals and fork() are real; nothing sleeps."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pyte
import pytest
from support.reliability import (
    Clock,
    cells,
    final_lines,
    frames,
    reliability,
    set_winsize,
    strip_ansi,
)

from progbar import Progbar

REPO = Path(__file__).resolve().parent.parent
STYLES = ("default", "keras", "keras2")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGBAR_")}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    env["PYTHONPATH"] = str(REPO)
    env["TERM"] = "xterm-256color"
    return env


# --------------------------------------------------------------------------- closed


@reliability("Faults", "stream closed mid-run (StringIO, real file, `sys.stdout` replaced by a closed stream), 3 styles × live/line")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("kind", ["stringio", "file", "stdout"])
def test_stream_closed_mid_run(style: str, live: bool, kind: str, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "stringio":
        stream: Any = io.StringIO()
    else:
        stream = open(tmp_path / "log.txt", "w", encoding="utf-8")  # noqa: SIM115
    if kind == "stdout":
        monkeypatch.setattr(sys, "stdout", stream)
    bar: Progbar[Any] = Progbar(
        100, style=style, file=None if kind == "stdout" else stream, dynamic=live,
        clock=Clock(), interval=0,
    )
    bar.update(10, [("loss", 1.0)])
    stream.close()
    for i in range(11, 101):  # the loop goes on; nothing raises
        bar.update(i, [("loss", 1.0)])
        bar.write("message")
    bar.close()
    bar.close()
    assert bar.current == 100


# --------------------------------------------------------------------------- pipes

PIPE_SCRIPTS = {
    "track": """
        from progbar import track
        for i in (bar := track(range(20000), interval=0)):
            bar.log(loss=i * 0.5)
    """,
    "keras": """
        from progbar import Progbar
        bar = Progbar(20000, style="keras", interval=0)
        for i in range(20000):
            bar.update(i + 1, [("loss", 0.5)])
    """,
    "write": """
        from progbar import Progbar
        with Progbar(20000, interval=0) as bar:
            for i in range(20000):
                bar.update(i + 1)
                bar.write(f"line {i}")
    """,
    "verbose2": """
        from progbar import Progbar
        for epoch in range(2000):
            with Progbar(10, verbose=2, interval=0) as bar:
                bar.update(10, [("loss", 0.5)])
    """,
}


@reliability("Faults", "`BrokenPipeError`: `python script.py | head -1` as a real pipeline → exit 0, no traceback")
@pytest.mark.parametrize("script", sorted(PIPE_SCRIPTS))
def test_broken_pipe(script: str, tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(PIPE_SCRIPTS[script]))
    cmd = f'"{sys.executable}" "{path}" | head -1; exit ${{PIPESTATUS[0]}}'
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert len(proc.stdout.splitlines()) == 1


@reliability("Faults", "`OSError` on write: a file on /dev/full (no space left), 3 styles × live/line")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
def test_full_disk(style: str, live: bool) -> None:
    stream = open("/dev/full", "w", encoding="utf-8", buffering=1)  # noqa: SIM115
    bar: Progbar[Any] = Progbar(1000, style=style, file=stream, dynamic=live,
                                clock=Clock(), interval=0)
    for i in range(1000):
        bar.update(i + 1, [("loss", 0.5)])
    bar.write("x")
    bar.close()
    assert bar._display.dead  # it went quiet
    try:
        stream.close()  # the user's own file: its buffered bytes cannot be written either
    except OSError:
        pass


@reliability("Faults", "stdout redirected to /dev/full (`python script.py > /dev/full`) → the loop finishes")
def test_stdout_full_disk(tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(PIPE_SCRIPTS["track"]) + "\nimport sys; sys.stderr.write('END')\n")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, str(path)], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=_env(), timeout=120)
    assert "END" in proc.stderr  # the loop ran to its end
    assert "Traceback" not in proc.stderr.split("END")[0]


# --------------------------------------------------------------------------- encodings


@reliability("Faults", "stream encoding ASCII and cp1252 (strict): ASCII glyphs, `?` for the rest, no crash")
@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
def test_narrow_encodings(encoding: str, style: str, live: bool) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    bar: Progbar[Any] = Progbar(10, style=style, file=stream, dynamic=live, clock=Clock(),
                                interval=0, unit_name="étape")
    for i in range(1, 11):
        bar.update(i, [("loss", 0.5), ("准确率🎉", 0.75), ("café", 1.0)])
        bar.write("message ✓")
    bar.close()
    text = raw.getvalue().decode(encoding)
    assert "10/10" in text and "loss: 0.5000" in text
    assert "━" not in text and "╸" not in text
    assert "?" in text  # what cannot be encoded is replaced, not dropped silently
    assert not bar._display.dead


# --------------------------------------------------------------------------- ptys


class PtyChild:
    """tests/support/pty_child.py in its own session, with the pty as controlling terminal
    (so resizes send SIGWINCH and ^C sends SIGINT, as in a real terminal)."""

    WRAPPER = (
        "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0);"
        "os.execv(sys.executable, [sys.executable] + sys.argv[1:])"
    )

    def __init__(self, mode: str, columns: int = 100) -> None:
        self.master, slave = pty.openpty()
        set_winsize(slave, columns)
        ctl_r, self.ctl_w = os.pipe()
        self.ack_r, ack_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.WRAPPER, str(Path(__file__).parent / "support" / "pty_child.py"),
             mode, str(ctl_r), str(ack_w)],
            stdin=slave, stdout=slave, stderr=slave, pass_fds=(ctl_r, ack_w), env=_env(),
            cwd=str(REPO),
        )
        for fd in (slave, ctl_r, ack_w):
            os.close(fd)
        self.acks = os.fdopen(self.ack_r, "rb", buffering=0)
        self.data = bytearray()
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.data += b""
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.data += chunk
                self.cond.notify_all()

    def ack(self) -> int:
        line = self.acks.readline()
        assert line, "child died: " + self.text()
        return int(line)

    def step(self) -> int:
        os.write(self.ctl_w, b"s")
        return self.ack()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait_output(self, n: int) -> bytes:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.data) >= n or getattr(self, "eof", False),
                                      timeout=60)
            return bytes(self.data[:n])

    def finish(self) -> int:
        os.close(self.ctl_w)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=60)
        self.acks.close()
        os.close(self.master)
        return code

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", "replace")


def _screen(columns: int, rows: int = 12) -> tuple[pyte.Screen, pyte.ByteStream]:
    screen = pyte.Screen(columns, rows)
    return screen, pyte.ByteStream(screen)


@reliability("Faults", "SIGWINCH: terminal resized mid-run on a real pty (120→40→200→10 columns), screen read back with pyte")
def test_sigwinch_resize() -> None:
    child = PtyChild("winch", columns=120)
    screen, stream = _screen(120)
    fed = 0
    for columns in (120, 40, 200, 10):
        if columns != 120:
            set_winsize(child.master, columns)  # the kernel sends SIGWINCH to the child
            screen.resize(12, columns)
        for _ in range(3):
            n = child.step()
        stream.feed(child.wait_output(n)[fed:])
        fed = n
        bars = [row for row in screen.display if "/1000" in row]
        assert len(bars) == 1, screen.display  # one line, nothing wrapped or left behind
        assert screen.cursor.y == 0
        assert len(bars[0].rstrip()) <= columns - 1
        # and each frame drawn after the resize fits the new width
    os.write(child.ctl_w, b"q")
    n = child.ack()
    stream.feed(child.wait_output(n)[fed:])
    assert child.finish() == 0
    last = [f for f in frames(child.text()[-400:], live=True) if "/1000" in f][-1]
    assert cells(last) <= 9  # the last live frame fits the 10 columns
    record = " ".join(final_lines(child.text()[-400:]))
    for name in ("loss", "accuracy", "a_rather_long_metric_name"):  # the final line is
        assert f"{name}: " in record  # a record: it keeps every metric, on more lines


def _run_sigint(mode: str) -> tuple[int, list[str], str]:
    child = PtyChild(mode, columns=100)
    child.ack()  # the first step is drawn before the child waits
    for _ in range(5):
        n = child.step()  # returns once the child has drawn the step and waits again
    # ^C makes the line discipline drop output not yet read (as on a real terminal):
    # read all that was drawn first
    child.wait_output(n)
    child.send(b"\x03")  # Ctrl-C, through the terminal's line discipline
    child.proc.wait(timeout=60)  # the child is blocked on its next step until then
    code = child.finish()
    screen, stream = _screen(100, 30)
    stream.feed(bytes(child.data))
    return code, [row.rstrip() for row in screen.display], child.text()


@reliability("Faults", "SIGINT (a real ^C on a pty) in `track` loops and `with` blocks (3 styles): fresh line, KeyboardInterrupt unchanged")
@pytest.mark.parametrize("mode", ["track", "with", "with-keras", "with-keras2"])
def test_sigint_leaves_a_fresh_line(mode: str) -> None:
    code, rows, text = _run_sigint(mode)
    assert code == 0, text
    caught = [i for i, row in enumerate(rows) if "CAUGHT" in row]
    assert caught, rows
    row = rows[caught[0]]
    assert row.startswith("CAUGHT unchanged=True"), rows  # at column 0: a fresh line
    bar_rows = [r for r in rows if "/1000" in r]
    current = int(row.split("current=")[1])
    assert len(bar_rows) == 1 and f" {current}/1000" in bar_rows[0], rows  # the true count


@reliability("Faults", "SIGINT uncaught at top level: traceback starts on a fresh line, exit by SIGINT")
def test_sigint_uncaught() -> None:
    code, rows, text = _run_sigint("uncaught")
    assert code in (-signal.SIGINT, 130), text
    assert "Traceback (most recent call last):" in rows, rows
    assert rows[[r for r in rows if r].index("Traceback (most recent call last):")]
    assert any(r == "KeyboardInterrupt" for r in rows), rows


@reliability("Faults", "KeyboardInterrupt raised inside the stream's write (signal during a render), then close()")
@pytest.mark.parametrize("style", STYLES)
def test_interrupt_inside_write(style: str) -> None:
    class Interrupting(io.StringIO):
        calls = 0

        def write(self, text: str) -> int:
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return super().write(text)

    out = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        with Progbar(10, style=style, file=out, dynamic=True, clock=Clock(), interval=0) as bar:
            for i in range(10):
                bar.update(i + 1)
    assert out.getvalue().endswith("\n")


# --------------------------------------------------------------------------- fork

FORK_SCRIPT = """
import os, sys
from progbar import Progbar

class Clock:
    t = 0.0
    def __call__(self):
        self.t += 1.0
        return self.t

out = open(sys.argv[1], "w", encoding="utf-8")
bar = Progbar(10, file=out, dynamic=True, interval=0, clock=Clock())
bar.update(3, [("loss", 0.5)])
pid = os.fork()
if pid == 0:
    bar.update(7, [("child", 1.0)])
    bar.write("from the child")
    bar.close()
    if sys.argv[2] == "exit":
        sys.exit(0)  # a normal exit flushes what the child inherited
    os._exit(0)
os.waitpid(pid, 0)
for i in range(4, 11):
    bar.update(i, [("loss", 0.5)])
bar.close()
out.close()
"""


@reliability("Faults", "a `fork()`ed child using the parent's bar (os._exit and normal exit) does not touch the parent's line")
@pytest.mark.parametrize("how", ["exit", "_exit"])
def test_fork_child_is_silent(how: str, tmp_path: Path) -> None:
    log = tmp_path / "out.txt"
    script = tmp_path / "fork.py"
    script.write_text(FORK_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(log), how], env=_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = log.read_bytes().decode("utf-8")  # keep the \r (no newline translation)
    assert "child" not in text
    screen, stream = _screen(100, 5)
    stream.feed(text.replace("\n", "\r\n").encode())
    bars = [row.rstrip() for row in screen.display if row.strip()]
    assert len(bars) == 1 and bars[0].startswith("10/10 100%"), bars


# --------------------------------------------------------------------------- after close


@reliability("Faults", "the bar used after `close()`: update/add/log/write/close again, 3 styles × live/line")
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("live", [True, False])
def test_use_after_close(style: str, live: bool) -> None:
    out = io.StringIO()
    bar: Progbar[Any] = Progbar(10, style=style, file=out, dynamic=live, clock=Clock(),
                                interval=0)
    bar.update(4, [("loss", 1.0)])
    bar.close()
    n = len(out.getvalue())
    assert out.getvalue().endswith("\n")
    bar.update(6, [("loss", 3.0)])
    bar.add(2)
    bar.log(loss=2.0)
    bar.write("after")
    bar.close()
    assert bar.current == 8
    assert out.getvalue()[n:] == "after\n"  # no bar reopened below a finished one


class _AsciiOnly(io.StringIO):
    """A stream that declares no encoding but takes ASCII only (a misconfigured
    terminal, a strict log sink): the first non-ASCII write raises."""

    encoding = None  # type: ignore[assignment]

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text.isascii():
            raise UnicodeEncodeError("ascii", text, 0, 1, "not ASCII")
        return super().write(text)


@reliability("Faults", "a stream that rejects non-ASCII mid-run: the bars on it switch to ASCII glyphs, the loop goes on")
def test_encoding_error_switches_every_bar_on_the_stream_to_ascii() -> None:
    out = _AsciiOnly()
    clock = Clock()
    outer = Progbar(4, file=out, clock=clock, interval=0, dynamic=True, label="epoch")
    inner = Progbar(10, file=out, clock=clock, interval=0, dynamic=True, label="train")
    for i in range(1, 11):
        inner.update(i, [("loss", 0.5)])
        outer.update(min(i, 3))
    outer.update(4)
    text = strip_ansi(out.getvalue())
    assert text.isascii() and "[" in text and "=" in text  # ASCII bars after the switch
    assert not inner._display.dead
    assert "train 10/10" in text and "epoch 4/4" in text
