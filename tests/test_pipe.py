"""Pipe mode: ``python -m progbar`` copies stdin to stdout and reports on stderr."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
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
