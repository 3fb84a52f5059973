"""Pipe mode: ``python -m progbar`` copies stdin to stdout and reports on stderr."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeClock

from progbar._pipe import copy_with_progress

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_cli(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    # stdout and stderr are pipes: not terminals, so the bar is in line mode
    return subprocess.run(
        [sys.executable, "-m", "progbar", *args],
        input=data, capture_output=True, env=ENV, cwd=ROOT, timeout=60,
    )


def test_a_million_lines_pass_through_unchanged_and_are_counted() -> None:
    data = b"".join(b"%d\n" % i for i in range(10**6))
    proc = run_cli(["--total", str(10**6)], data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data
    err = proc.stderr.decode()
    assert not any(c in err for c in "\r\b\x1b")
    assert err.splitlines()[-1].startswith("1000000/1000000 100% ")


def test_bytes_mode_is_binary_safe() -> None:
    data = bytes(range(256)) * 4099 + b"\r\n\x00\xff no newline at the end"
    proc = run_cli(["--bytes", "--unit", "B"], data)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == data
    last = proc.stderr.decode().splitlines()[-1]
    assert len(data) == 1_049_370
    assert re.match(r"1\.05 MB 0:\d\d [\d.]+ [kMGT]?B/s$", last), last


def test_bytes_mode_scales_count_target_and_rate() -> None:
    data = b"x" * 2_500_000
    proc = run_cli(["--bytes", "--total", "5000000"], data)
    assert proc.stdout == data
    last = proc.stderr.decode().splitlines()[-1]
    assert re.match(r"2\.50/5\.00 MB  50% 0:\d\d [\d.]+ [kMGT]?B/s$", last), last


def test_unknown_total_counts_a_last_line_without_newline() -> None:
    proc = run_cli([], b"a\nb\nc")
    assert proc.stdout == b"a\nb\nc"
    assert proc.stderr.decode().splitlines()[-1].startswith("3 line ")


def test_help_explains_pipe_mode() -> None:
    proc = run_cli(["--help"], b"")
    text = proc.stdout.decode()
    assert proc.returncode == 0
    for word in ("stdin", "stdout", "stderr", "--total", "--bytes", "--unit", "demo"):
        assert word in text


def test_demo_subcommand_still_works() -> None:
    proc = run_cli(["demo", "--epochs", "1"], b"")
    assert proc.returncode == 0, proc.stderr
    assert b"Epoch 1/1" in proc.stdout and b"1 epoch" in proc.stdout


@pytest.mark.parametrize("count_bytes", [False, True])
def test_copy_in_process_with_an_injected_clock(count_bytes: bool) -> None:
    clock = FakeClock()

    class Slow(io.BytesIO):
        def read1(self, n: int = -1) -> bytes:  # one small chunk per read, 1 s apart
            clock.now += 1.0
            return super().read1(7)

    data = b"one\ntwo\nthree\nfour\n" * 3
    out, err = io.BytesIO(), io.StringIO()
    n = copy_with_progress(Slow(data), out, err, count_bytes=count_bytes, clock=clock)
    assert out.getvalue() == data
    assert n == (len(data) if count_bytes else 12)
    assert err.getvalue().splitlines()[-1].startswith(f"{n} {'B' if count_bytes else 'line'}")


def test_a_reader_that_goes_away_ends_the_copy_quietly() -> None:
    class Closed(io.BytesIO):
        def write(self, b: Any) -> int:
            raise BrokenPipeError

        def fileno(self) -> int:
            raise io.UnsupportedOperation

    err = io.StringIO()
    copy_with_progress(io.BytesIO(b"x\n" * 10), Closed(), err, clock=FakeClock())
    assert "Traceback" not in err.getvalue()


# --------------------------------------------------------------------------- odd descriptors


def _sh(command: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["sh", "-c", command], input=data, capture_output=True, env=ENV,
                          cwd=ROOT, timeout=60)


def _waiting_in_select(pid: int) -> bool:
    """Is the process asleep in select()/poll() (Linux: its wait channel)?"""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            channel = f.read()
    except OSError:
        return False
    return "select" in channel or "poll" in channel


@pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="needs Linux's /proc")
def test_a_non_blocking_stdin_is_waited_on_not_taken_as_its_end() -> None:
    # O_NONBLOCK left on the pipe by another process: a read that finds no data yet
    # is not the end of the input.  The data is written only once the child is seen
    # asleep waiting for it (an early exit fails the test at once).
    r, w = os.pipe()
    os.set_blocking(r, False)
    child = subprocess.Popen([sys.executable, "-m", "progbar", "--bytes"], stdin=r,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    os.close(r)
    data = bytes(range(256)) * 40
    try:
        deadline = time.monotonic() + 60
        while not _waiting_in_select(child.pid):
            assert child.poll() is None, "the copy ended on an empty non-blocking stdin"
            assert time.monotonic() < deadline
            time.sleep(0.01)  # polling for the child's state, not timing anything
        os.write(w, data)
    finally:
        os.close(w)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out == data


def test_with_stderr_closed_there_is_no_bar_and_stdout_is_the_input() -> None:
    data = b"".join(b"%d\n" % i for i in range(5000))
    proc = _sh(f"{sys.executable} -m progbar --total 5000 2>&-", data)
    assert proc.returncode == 0
    assert proc.stdout == data  # byte for byte: no bar on stdout


def test_with_stdout_closed_one_clear_line_and_a_failure() -> None:
    proc = _sh(f"{sys.executable} -m progbar >&-", b"x\n" * 100)
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["progbar: stdout is closed: there is nowhere to copy the input to"]
