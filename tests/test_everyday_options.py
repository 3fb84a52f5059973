"""Everyday bars outside training: scaled units, resumed runs (``initial``), ``delay``,
``reset()``, a settable label and ``format=`` templates -- in a log, on a real
terminal (read back through pyte) and in a block of several bars."""

from __future__ import annotations

import io
import re

import pytest
from conftest import FakeClock
from support.ptyscreen import run_with_checkpoints

from progbar import Progbar, track
from progbar import _format as fmt


def _log_bar(target: float | None, **options: object) -> tuple[Progbar[object], io.StringIO,
                                                                FakeClock]:
    out, clock = io.StringIO(), FakeClock()
    bar: Progbar[object] = Progbar(target, file=out, dynamic=False, clock=clock, interval=0,
                                   color=False, **options)  # type: ignore[arg-type]
    return bar, out, clock


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("current", "target", "divisor", "text"),
    [
        (1.2e9, 3.5e9, 1000, "1.20/3.50 GB"),
        (1.2e9, 3.5e9, 1024, "1.12/3.26 GiB"),
        (5e8, 3.5e9, 1000, "0.50/3.50 GB"),
        (500, 800, 1000, "500/800 B"),
        (999_600, 10**6, 1000, "1.00/1.00 MB"),
        (12_345, 54_321, 1000, "12.3/54.3 kB"),
        (5e8, None, 1000, "500 MB"),
        (1536, None, 1024, "1.50 KiB"),
        (7, None, 1000, "7 B"),
        (50_000, 1000, 1000, "50.0/1.0 kB"),  # far past its target: the count's prefix
    ],
)
def test_scaled_count_has_three_significant_figures_in_the_targets_prefix(
    current: float, target: float | None, divisor: int, text: str
) -> None:
    assert fmt.format_scaled_count(current, target, "B", divisor) == text


@pytest.mark.parametrize(
    ("per_step", "divisor", "text"),
    [(1 / 45.1e6, 1000, "45.1 MB/s"), (1 / 45.1e6, 1024, "43.0 MiB/s"),
     (1 / 5.6e9, 1000, "5.60 GB/s"), (2.0, 1000, "0.50 B/s"), (0.0, 1000, "")],
)
def test_scaled_rate(per_step: float, divisor: int, text: str) -> None:
    assert fmt.format_scaled_rate(per_step, "B", divisor) == text


def test_a_download_bar_in_a_log_reads_in_bytes() -> None:
    bar, out, clock = _log_bar(3_500_000_000, unit_name="B", unit_scale=True)
    clock.now += 26.6
    bar.update(1_200_000_000)
    assert re.match(r"1\.20/3\.50 GB  34% 0:26<0:5\d 45\.1 MB/s$", out.getvalue().splitlines()[-1])
    bar.close()


def test_unit_scale_is_for_the_default_style() -> None:
    with pytest.raises(ValueError, match="unit_scale"):
        Progbar(10, style="keras", unit_scale=True)
    with pytest.raises(ValueError, match="unit_divisor"):
        Progbar(10, unit_scale=True, unit_divisor=1)


# --------------------------------------------------------------------------- initial


def test_a_resumed_bar_counts_its_rate_and_eta_from_this_runs_work() -> None:
    bar, out, clock = _log_bar(1000, initial=400)
    assert bar.current == 400
    clock.now += 10.0
    bar.update(500)  # 100 steps in 10 s: 10 step/s, 500 left: 50 s
    last = out.getvalue().splitlines()[-1]
    assert last.startswith(" 500/1000  50% 0:10<0:50 10.0 step/s"), last
    bar.add(500)
    assert out.getvalue().splitlines()[-1].startswith("1000/1000 100% 0:10 ")


def test_a_resumed_track_loop_counts_on_from_initial() -> None:
    out = io.StringIO()
    for _ in (bar := track(range(3), total=10, initial=7, file=out, dynamic=False,
                           clock=FakeClock(), interval=0)):
        pass
    assert bar.current == 10
    assert out.getvalue().splitlines()[-1].startswith("10/10 100%")


# --------------------------------------------------------------------------- delay


def test_a_loop_that_ends_before_the_delay_draws_nothing() -> None:
    out = io.StringIO()
    clock = FakeClock()
    for _ in (bar := track(range(50), file=out, dynamic=True, clock=clock, delay=2.0)):
        bar.log(loss=1.0)
        clock.now += 0.01
    bar.close()
    assert out.getvalue() == ""


def test_after_the_delay_the_bar_draws() -> None:
    bar, out, clock = _log_bar(100, delay=2.0)
    bar.update(10)
    assert out.getvalue() == ""
    clock.now += 2.5
    bar.update(20)
    assert out.getvalue().splitlines()[-1].startswith(" 20/100")
    bar.close()
    with pytest.raises(ValueError, match="delay"):
        Progbar(3, delay=-1)


# --------------------------------------------------------------------------- reset, label


def test_reset_starts_over_for_reuse() -> None:
    bar, out, clock = _log_bar(10, initial=2)
    clock.now += 4
    bar.update(6, [("loss", 3.0)])
    bar.reset(target=20)
    assert bar.current == 2 and bar.target == 20 and bar.metrics() == {}
    clock.now += 1
    bar.update(4, [("loss", 1.0)])
    last = out.getvalue().splitlines()[-1]
    assert last.startswith(" 4/20  20% 0:01<0:08 2.0 step/s - loss: 1.0000"), last
    bar.reset()  # the target stays
    assert bar.target == 20 and bar.current == 2
    bar.close()


def test_reset_of_a_closed_bar_opens_it_again() -> None:
    bar, out, clock = _log_bar(3)
    bar.add(3)
    bar.close()
    bar.reset()
    assert not bar.closed
    bar.add(3)
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["3/3", "3/3"]


def test_reset_inside_its_own_loop_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        for _ in (bar := track(range(3), verbose=0)):
            bar.reset()


def test_label_is_settable_mid_run() -> None:
    bar, out, clock = _log_bar(4, label="train")
    bar.update(1)
    bar.label = "valid\n"
    bar.update(2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("train 1/4") and lines[1].startswith("valid\\n 2/4")
    with pytest.raises(TypeError):
        bar.label = 3  # type: ignore[assignment]
    bar.close()


def test_reset_on_a_terminal_replaces_the_unfinished_line() -> None:
    run = run_with_checkpoints(
        """
        from progbar import Progbar
        bar = Progbar(10, clock=Clock(), color=False)
        bar.update(5, [("loss", 9.0)])
        checkpoint("half")
        bar.reset(target=20)
        bar.update(3)
        bar.close()
        """,
        cols=60,
    )
    assert run.rows("half")[-1].startswith(" 5/10")
    rows = run.rows()
    assert rows[-1].startswith(" 3/20") and not any("5/10" in row for row in rows)
    assert "loss" not in rows[-1]


# --------------------------------------------------------------------------- templates


def test_a_template_lays_out_the_line() -> None:
    bar, out, clock = _log_bar(100, label="dl", unit_name="B", width=10,
                               format="{label}: {percent} {count}/{target} {unit} [{bar}] "
                                      "{elapsed}<{eta} {rate} | {metrics}")
    clock.now += 5
    bar.update(50, [("loss", 0.25)])
    assert out.getvalue().splitlines()[-1] == (
        "dl:  50% 50/100 B [━━━━━─────] 0:05<0:05 10.0 B/s | loss: 0.2500")
    bar.close()


def test_a_template_with_scaled_units() -> None:
    bar, out, clock = _log_bar(3.5e9, unit_name="B", unit_scale=True,
                               format="{count}/{target} {unit} {rate}")
    clock.now += 26.6
    bar.update(1.2e9)
    assert out.getvalue().splitlines()[-1] == "1.20/3.50 GB 45.1 MB/s"
    bar.close()


def test_a_template_with_a_unit_name_of_two_words() -> None:
    bar, out, clock = _log_bar(3.5e9, unit_name="raw B", unit_scale=True,
                               format="{count}/{target} [{unit}]")
    bar.update(1.2e9)
    bar.close()
    assert out.getvalue().splitlines()[-1] == "1.20/3.50 [Graw B]"


@pytest.mark.parametrize(("template", "field"), [
    ("{percent:d}", "{percent:d}"), ("{count:,}", "{count:,}"), ("{label!x}", "{label!x}"),
    ("{count:{percent}}", "{count:{percent}}"), ("{bar:>5}", "{bar:>5}"), ("{bar!r}", "{bar!r}"),
])
def test_a_template_field_that_cannot_be_drawn_is_refused_at_once(template: str,
                                                                   field: str) -> None:
    # Once accepted, such a template failed at every render and the bar drew nothing,
    # not even its final line.
    with pytest.raises(ValueError) as caught:
        Progbar(3, format=template)
    assert field in str(caught.value)


def test_a_template_with_specs_that_apply_to_text() -> None:
    bar, out, clock = _log_bar(100, label="dl", format="{label:>4}|{count:>5}|{percent!s}")
    bar.update(50)
    bar.close()
    assert out.getvalue().splitlines()[-1] == "  dl|   50| 50%"


def test_verbose_2_lines_follow_the_template_with_their_label() -> None:
    bar, out, clock = _log_bar(10, label="eval", verbose=2, format="{label} {count}/{target}")
    bar.update(10, [("acc", 0.5)])
    bar.close()
    assert out.getvalue().splitlines() == ["eval 10/10"]


def test_template_errors_name_the_known_fields() -> None:
    with pytest.raises(ValueError, match=r"unknown field \{speed\}.*\{label\}, \{count\}"):
        Progbar(3, format="{count} {speed}")
    with pytest.raises(ValueError, match="default style"):
        Progbar(3, style="keras", format="{count}")
    with pytest.raises(ValueError, match="template"):
        Progbar(3, format="{count")


def test_a_template_line_fits_a_narrow_terminal_and_its_bar_takes_the_room_left() -> None:
    run = run_with_checkpoints(
        """
        from progbar import Progbar
        clock = Clock()
        bar = Progbar(100, clock=clock, color=False, label="copy",
                      format="{label} {count}/{target} |{bar}| {eta} {metrics}")
        clock.t += 5
        bar.update(50, [("loss", 0.5)])
        checkpoint("wide")
        clock.t += 1
        bar.update(60, [("a_very_long_metric_name", 0.5), ("another_long_one", 1.0)])
        checkpoint("narrow")
        bar.close()
        """,
        cols=40,
    )
    wide = run.rows("wide")[-1]
    assert len(wide.rstrip()) == 39  # the bar took the cells left, no more
    assert re.fullmatch(r"copy 50/100 \|[━╸]+─+\| 0:05 loss: 0\.5000", wide.rstrip()), wide
    narrow = run.rows("narrow")[-1]
    assert narrow.startswith("copy 60/100") and len(narrow.rstrip()) <= 39
