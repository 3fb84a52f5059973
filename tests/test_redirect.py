"""Logs: logging_redirect() and print redirection above a live bar, and line mode.

Live output is fed through a terminal emulator (pyte) and the screen is checked.
Line mode is checked on a real file written by a child process whose bar runs on an
injected clock (no sleeping: the child advances its own fake time).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pyte
import pytest
from conftest import FakeClock

import progbar
from progbar import Progbar, logging_redirect, track

ROOT = Path(__file__).resolve().parents[1]


def screen_of(text: str, columns: int = 100, lines: int = 12) -> list[str]:
    screen = pyte.Screen(columns, lines)
    screen.set_mode(pyte.modes.LNM)  # "\n" returns to column 0, like a tty's onlcr
    pyte.Stream(screen).feed(text)
    return [row.rstrip() for row in screen.display if row.strip()]


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    buf = io.StringIO()
    log = logging.getLogger("progbar-test")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.handlers = [handler]
    yield log, buf
    log.handlers = []


def test_log_records_appear_above_the_live_bar(logger: Any) -> None:
    log, buf = logger
    clock = FakeClock()
    with logging_redirect(loggers=[log]):
        bar: Progbar[Any] = Progbar(10, file=buf, dynamic=True, color=False, clock=clock)
        for i in range(1, 11):
            clock.now += 1
            bar.update(i, [("loss", 1.0)])
            if i in (3, 6):
                log.info("checkpoint %d saved", i)
        bar.close()
    rows = screen_of(buf.getvalue())
    assert rows[0] == "INFO checkpoint 3 saved"
    assert rows[1] == "INFO checkpoint 6 saved"
    assert rows[2].startswith("10/10 100% ") and rows[2].endswith("loss: 1.0000")
    assert len(rows) == 3  # nothing torn, no stray partial bars
    assert log.handlers[0].__class__ is logging.StreamHandler  # put back


def test_without_a_live_bar_records_go_where_they_always_went(logger: Any) -> None:
    log, buf = logger
    bar_out = io.StringIO()
    with logging_redirect(loggers=[log]):
        log.warning("before any bar")
        bar: Progbar[Any] = Progbar(5, file=bar_out, dynamic=False, clock=FakeClock())
        bar.update(2)
        log.warning("line-mode bar open")  # not routed: line mode cannot tear
        bar.update(5)
    assert buf.getvalue() == "WARNING before any bar\nWARNING line-mode bar open\n"
    assert "WARNING" not in bar_out.getvalue()


def test_records_filtered_and_leveled_as_by_the_original_handler(logger: Any) -> None:
    log, buf = logger
    log.handlers[0].setLevel(logging.WARNING)
    with logging_redirect(loggers=[log]):
        bar: Progbar[Any] = Progbar(4, file=buf, dynamic=True, color=False, clock=FakeClock())
        bar.update(1)
        log.info("hidden")
        log.error("shown")
        bar.update(4)
    rows = screen_of(buf.getvalue())
    assert rows[0] == "ERROR shown" and not any("hidden" in r for r in rows)


def test_print_is_routed_only_when_asked() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        clock = FakeClock()
        with logging_redirect(stdout=True):
            bar: Progbar[Any] = Progbar(4, dynamic=True, color=False, clock=clock)
            bar.update(1)
            print("epoch", 1, "half done")
            print("partial", end="")
            print(" line")
            bar.update(4)
            print("after the bar")
        assert sys.stdout is out
    rows = screen_of(out.getvalue())
    assert rows == [
        "epoch 1 half done",
        "partial line",
        rows[2],
        "after the bar",
    ]
    assert rows[2].startswith("4/4 100% ")


def test_redirect_follows_the_newest_bar_across_epochs(logger: Any) -> None:
    log, buf = logger
    with logging_redirect(loggers=[log]):
        for epoch in range(2):
            for _ in (bar := track(range(3), file=buf, dynamic=True, color=False,
                                   clock=FakeClock())):
                pass
            log.info("epoch %d done", epoch)
            assert bar.current == 3
    rows = screen_of(buf.getvalue())
    assert [r for r in rows if r.startswith("INFO")] == ["INFO epoch 0 done", "INFO epoch 1 done"]


def test_logging_redirect_is_public() -> None:
    assert progbar.logging_redirect is logging_redirect
    assert "logging_redirect" in progbar.__all__


def _run_child(script: str, out: Path, **env: str) -> bytes:
    with open(out, "wb") as fh:
        subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            stdout=fh,
            stderr=subprocess.PIPE,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            timeout=60,
        )
    return out.read_bytes()


CHILD = """
    import logging, sys
    import progbar
    from progbar import Progbar

    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    t = [0.0]
    with progbar.logging_redirect():
        bar = Progbar(1000, clock=lambda: t[0])
        for i in range(1, 1001):
            t[0] += {dt}
            bar.update(i, [("loss", 1.0 / i)])
            if i % 500 == 0:
                logging.info("step %d", i)
"""


@pytest.mark.parametrize(
    ("dt", "env", "expected_bar_lines"),
    [
        # (binary fractions, so that the fake time adds up exactly)
        (2**-5, {}, 4),  # 31.25 s at the default 10 s log interval: 10, 20, 30 s + final
        (2**-8, {"PROGBAR_LOG_INTERVAL": "1"}, 4),  # 3.9 s at 1 s: 1, 2, 3 s + final
    ],
)
def test_line_mode_in_a_log_file_is_a_handful_of_clean_lines(
    tmp_path: Path, dt: float, env: dict[str, str], expected_bar_lines: int
) -> None:
    data = _run_child(CHILD.format(dt=dt), tmp_path / "train.log", **env)
    assert not any(c in data for c in b"\r\b\x1b"), data
    lines = data.decode().splitlines()
    bar_lines = [ln for ln in lines if "/1000" in ln]
    assert len(bar_lines) == expected_bar_lines
    assert [ln for ln in lines if ln.startswith("step")] == ["step 500", "step 1000"]
    assert len(lines) == expected_bar_lines + 2
    assert bar_lines[-1].startswith("1000/1000 100% ")
    assert "loss: 0.0075" in bar_lines[-1]  # mean of 1/i for i <= 1000


@pytest.mark.parametrize("dynamic", [False, True])
def test_verbose_2_prints_exactly_one_line_per_finished_bar(dynamic: bool) -> None:
    out = io.StringIO()
    clock = FakeClock()
    for epoch in range(3):
        bar: Progbar[Any] = Progbar(100, verbose=2, file=out, dynamic=dynamic, clock=clock)
        for i in range(1, 101):
            clock.now += 0.5
            bar.update(i, [("loss", float(epoch))])
        bar.close()
    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    assert len(lines[:-1]) == 3
    assert all(ln.startswith("100/100 100% ") for ln in lines[:-1])
    assert "\r" not in out.getvalue()


def test_import_progbar_loads_neither_logging_nor_ipython() -> None:
    code = (
        "import sys, progbar\n"
        "bad = [m for m in ('logging', 'IPython', 'ipywidgets', 'html') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_child_logger_propagating_to_a_console_handler_prints_once() -> None:
    buf = io.StringIO()
    parent = logging.getLogger("progbar-parent")
    parent.propagate = False
    parent.handlers = [logging.StreamHandler(buf)]
    child = logging.getLogger("progbar-parent.child")
    try:
        bar: Progbar[Any] = Progbar(10, file=buf, dynamic=True, color=False,
                                    clock=FakeClock())
        bar.update(3)
        with logging_redirect(loggers=[child]):
            child.warning("child warning")
        bar.update(10)
        assert child.handlers == []  # nothing was added to the child
        rows = screen_of(buf.getvalue())
        assert rows[0] == "child warning"
        assert rows[1].startswith("10/10 100% ")
        assert len(rows) == 2  # printed once, above the bar
        assert type(parent.handlers[0]) is logging.StreamHandler  # put back
    finally:
        parent.handlers = []


def test_records_that_only_go_to_a_file_stay_out_of_the_console(tmp_path: Path) -> None:
    buf = io.StringIO()
    log = logging.getLogger("progbar-file-only")
    log.propagate = False
    file_handler = logging.FileHandler(tmp_path / "run.log")
    log.handlers = [file_handler]
    try:
        bar: Progbar[Any] = Progbar(10, file=buf, dynamic=True, color=False,
                                    clock=FakeClock())
        bar.update(3)
        with logging_redirect(loggers=[log]):
            log.warning("to the file only")
        bar.close()
        assert "to the file only" not in buf.getvalue()
        file_handler.close()
        assert (tmp_path / "run.log").read_text() == "to the file only\n"
        assert log.handlers == [file_handler]
    finally:
        log.handlers = []


def test_a_logger_without_any_handler_prints_warnings_above_the_bar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = logging.getLogger("progbar-bare")
    log.propagate = False
    try:
        # lastResort prints on stderr: a bar on stderr shares that screen
        bar: Progbar[Any] = Progbar(10, file=sys.stderr, dynamic=True, color=False,
                                    clock=FakeClock())
        bar.update(3)
        with logging_redirect(bar, loggers=[log]):
            log.info("not shown: below lastResort's level")
            log.warning("shown like lastResort would")
        bar.close()
        rows = screen_of(capsys.readouterr().err)
        assert rows[0] == "shown like lastResort would"
        assert rows[1].startswith(" 3/10  30% ")
        assert log.handlers == []
    finally:
        log.handlers = []


def test_handlers_added_inside_the_block_survive_it(tmp_path: Path) -> None:
    buf = io.StringIO()
    log = logging.getLogger("progbar-added")
    log.propagate = False
    console = logging.StreamHandler(buf)
    log.handlers = [console]
    try:
        with logging_redirect(loggers=[log]):
            file_handler = logging.FileHandler(tmp_path / "app.log")
            log.addHandler(file_handler)
        assert log.handlers == [console, file_handler]  # ours unwrapped, theirs kept
        log.warning("after the block")
        file_handler.close()
        assert (tmp_path / "app.log").read_text() == "after the block\n"
    finally:
        log.handlers = []


def test_basic_config_inside_the_block_still_configures_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    root.handlers = []
    last_resort = logging.lastResort
    try:
        with logging_redirect():
            logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s",
                                force=False)
            logging.getLogger("progbar-basic").info("configured inside")
        assert logging.lastResort is last_resort  # the stand-in is gone
        assert "configured inside" in capsys.readouterr().out
    finally:
        for h in root.handlers:
            if h not in saved_handlers:
                h.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)
