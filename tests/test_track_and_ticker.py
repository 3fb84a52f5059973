"""The fast paths: track()'s chunked iteration, update()'s skipped clock
reads and record()'s hot path lose no item, no count and no exception.

No sleeps and no timing assertions: an injected clock keeps renders deterministic
(and keeps the ticker thread off), except where the ticker itself is under test.
"""

from __future__ import annotations

import io
import threading
from typing import Any, Iterator

import pytest
from conftest import FakeClock, Screen

from progbar import Progbar, _ticker, track

SIZES = [0, 1, 2, 3, 7, 8, 100, 1000, 70_000]  # across chunk boundaries (1, 2, 4, ...)


def _bar(iterable: Any, **kw: Any) -> tuple[Progbar[Any], io.StringIO]:
    out = io.StringIO()
    kw.setdefault("clock", FakeClock())
    kw.setdefault("dynamic", True)
    return track(iterable, file=out, **kw), out


def _gen(n: int) -> Iterator[int]:
    yield from range(n)


class Lying:
    """len() says `claimed`; iteration yields `actual` items."""

    def __init__(self, claimed: int, actual: int) -> None:
        self.claimed, self.actual = claimed, actual

    def __len__(self) -> int:
        return self.claimed

    def __iter__(self) -> Iterator[int]:
        return iter(list(range(self.actual)))  # a list iterator: must not be trusted


class Raising:
    """An iterator class (not a generator) that raises after `n` items."""

    def __init__(self, n: int) -> None:
        self.n, self.i = n, 0

    def __iter__(self) -> Raising:
        return self

    def __next__(self) -> int:
        if self.i == self.n:
            raise ValueError("boom")
        self.i += 1
        return self.i - 1


SOURCES = {
    "list": lambda n: list(range(n)),
    "tuple": lambda n: tuple(range(n)),
    "range": lambda n: range(n),
    "generator": _gen,
    "dict": lambda n: dict.fromkeys(range(n)),
    "iterator class": lambda n: iter(list(range(n))),
}


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("n", SIZES)
def test_every_item_in_order_and_current_true(kind: str, n: int) -> None:
    bar, out = _bar(SOURCES[kind](n))
    seen = []
    for i, x in enumerate(bar):
        assert bar.current == i  # steps done: the one in progress is not
        seen.append(x)
    assert seen == list(range(n))
    assert bar.current == n
    assert out.getvalue().endswith("\n")
    assert f"{n}" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("where", [0, 1, 2, 3, 6, 7, 100, 5000])
@pytest.mark.parametrize("kind", ["generator", "iterator class"])
def test_source_raising_mid_way(kind: str, where: int) -> None:
    def gen() -> Iterator[int]:
        yield from range(where)
        raise ValueError("boom")

    source = gen() if kind == "generator" else Raising(where)
    bar, out = _bar(source, target=where + 10)
    got = []
    with pytest.raises(ValueError, match="boom"):
        for x in bar:
            got.append(x)
    assert got == list(range(where))
    assert bar.current == where  # every item handed out finished its body
    assert out.getvalue().endswith("\n")
    assert f"{where}/{where + 10}" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("kind", ["list", "range", "generator", "dict"])
@pytest.mark.parametrize("where", [0, 1, 2, 3, 4, 100, 4095])
def test_body_raising_and_early_break(kind: str, where: int) -> None:
    n = 5000
    bar, out = _bar(SOURCES[kind](n), target=n)
    with pytest.raises(KeyError):
        for i, _ in enumerate(bar):
            if i == where:
                raise KeyError(i)
    assert bar.current == where  # the failing body's step is not done
    assert out.getvalue().endswith("\n")

    bar, out = _bar(SOURCES[kind](n), target=n)
    for i, _ in enumerate(bar):
        if i == where:
            break
    assert bar.current == where
    assert f"{where}/{n}" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("actual", [0, 3, 5, 8, 300])
def test_len_that_lies(actual: int) -> None:
    bar, out = _bar(Lying(5, actual))
    assert bar.target == 5
    assert list(bar) == list(range(actual))
    assert bar.current == actual
    assert f"{actual}/5" in out.getvalue().splitlines()[-1]


def test_source_generator_closed_mid_loop() -> None:
    source = _gen(100)
    bar, out = _bar(source, target=100)
    got = []
    for x in bar:
        got.append(x)
        if x == 9:
            source.close()  # the next pull ends the loop
    assert got == list(range(10))
    assert bar.current == 10
    assert out.getvalue().splitlines()[-1].startswith(" 10/100")


def test_dropped_iterator_closes_the_bar() -> None:
    bar, out = _bar(list(range(10)))
    it = iter(bar)
    assert next(it) == 0 and next(it) == 1
    del it  # CPython frees the chain now: the bar ends on the step reached
    assert bar.current == 1
    assert out.getvalue().endswith("\n")
    n = len(out.getvalue())
    bar.close()
    assert len(out.getvalue()) == n


def test_keyboard_interrupt_leaves_the_line_ended() -> None:
    bar, out = _bar(range(1000))
    with pytest.raises(KeyboardInterrupt):
        for i in bar:
            if i == 17:
                raise KeyboardInterrupt
    assert out.getvalue().endswith("\n")
    assert "17/1000" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("kind", ["list", "generator"])
def test_nested_tracks(kind: str) -> None:
    out = io.StringIO()
    clock = FakeClock()
    outer = track(SOURCES[kind](3), file=out, dynamic=False, clock=clock)
    inner_counts = []
    for i in outer:
        assert outer.current == i
        inner = track(SOURCES[kind](4 + i), file=out, dynamic=False, clock=clock)
        for j in inner:
            assert inner.current == j and outer.current == i
        inner_counts.append(inner.current)
    assert inner_counts == [4, 5, 6] and outer.current == 3


@pytest.mark.parametrize("kind", ["list", "range", "generator"])
def test_zero_length(kind: str) -> None:
    bar, out = _bar(SOURCES[kind](0))
    assert list(bar) == []
    assert bar.current == 0
    assert out.getvalue().endswith("\n")


def test_list_growing_during_the_loop() -> None:
    data = [0, 1, 2]
    bar, _ = _bar(data)
    got = []
    for x in bar:
        got.append(x)
        if x < 5000:
            data.append(x + 3)
    assert got == list(range(5003))
    assert bar.current == 5003


def test_log_attaches_to_the_step_in_progress() -> None:
    bar, out = _bar([1.0, 2.0, 3.0, 10.0])
    for v in bar:
        bar.log(loss=v)
    assert bar.metrics() == {"loss": 4.0}
    # logging every other step: each value stands for the steps since the last log
    bar, out = _bar(range(6))
    for i in bar:
        if i % 2:
            bar.log([("loss", float(i))])
    assert bar.metrics() == {"loss": 3.0}  # (1*2 + 3*2 + 5*2) / 6


@pytest.mark.parametrize("moves", ["none", "update", "add", "sparse logs"])
def test_current_and_log_read_the_same_over_every_source(moves: str) -> None:
    # A range or tuple reads ``current`` and log()'s step from its iterator alone;
    # a list (which may grow) and a generator take the general reading.  Whatever
    # the loop body does to the count, every source must show the same counts and
    # the same weighted averages.
    n = 40
    results = []
    for kind in ("range", "tuple", "list", "generator"):
        bar, _ = _bar(SOURCES[kind](n))
        counts = []
        for i in bar:
            if moves == "update" and i == 5:
                bar.update(20)
            if moves == "add" and i in (3, 9):
                bar.add(4, [("loss", 100.0), ("x", 1.0)])
            counts.append(bar.current)
            if moves != "sparse logs" or i % 3 == 0:
                bar.log(loss=float(i), acc=i % 2)
        results.append((counts, bar.current, bar.totals()))
    assert all(r == results[0] for r in results[1:]), results
    counts, final, totals = results[0]
    assert final == n
    if moves == "update":  # the count jumps to 20 and stays there until the loop passes
        assert counts[4:7] == [4, 20, 20] and counts[21:23] == [21, 22]
    elif moves == "add":  # add(4) moves the count on from where the loop is
        assert counts[2:5] == [2, 7, 7] and counts[9] == 13
        assert totals["x"] == (8.0, 8)  # each add weighs its own 4 steps
    else:
        assert counts == list(range(n))


def test_threads_adding_concurrently() -> None:
    bar = Progbar(None, file=io.StringIO(), dynamic=False)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(10_000):
            bar.add(1, [("loss", 1.0)])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bar.current == 80_000
    assert bar.totals()["loss"] == (80_000.0, 80_000)


def test_real_clock_ticker_registers_while_looping_and_stops_after_close() -> None:
    out = io.StringIO()
    bar = track(range(300_000), file=out, dynamic=True, interval=0.01)
    during = []
    for i in bar:
        if i == 150_000:
            during.append(bar in _ticker.registered())
    assert during == [True]
    assert bar.current == 300_000
    assert bar not in _ticker.registered()
    text = out.getvalue()
    assert text.endswith("\n") and "300000/300000" in text
    bar.tick()  # what the thread would do: nothing after close
    assert out.getvalue() == text


def test_a_loop_that_slows_after_a_fast_start_is_shown_while_it_stalls() -> None:
    # 5,000 instant items grow the chunks; item 5,000 then blocks until the screen
    # shows "5000/6000" -- which only the ticker thread can draw, since no chunk
    # boundary comes while the body waits.  No sleep: the body waits on an event
    # (with a generous cap, so a broken ticker fails the test instead of hanging).
    screen = Screen("5000/6000")
    bar = track(range(6000), file=screen, dynamic=True, color=False)
    shown_while_stalled = None
    for i in bar:
        if i == 5000:
            shown_while_stalled = screen.seen.wait(timeout=30)
    assert shown_while_stalled is True
    assert bar.current == 6000


def test_update_fast_path_matches_the_general_path() -> None:
    # ints, floats, a new name mid-way, a stateful one, a non-number, a bad pair
    bar = Progbar(100, stateful_metrics=["lr"], verbose=0)
    bar.update(1, [("loss", 1.0), ("acc", 1)])
    bar.update(3, [("loss", 2.0), ("acc", 0), ("lr", 0.5)])
    bar.update(4, [("loss", 4.0), ("note", "warm"), ("acc", 1)])
    assert bar.metrics() == {"loss": 2.25, "acc": 0.5, "lr": 0.5, "note": "warm"}
    with pytest.raises(TypeError, match="pairs"):
        bar.update(5, [("loss", 100.0), ("acc", 1), ("bad",)])
    assert bar.metrics() == {"loss": 2.25, "acc": 0.5, "lr": 0.5, "note": "warm"}
    assert bar.current == 4


def test_skipped_clock_reads_still_render_and_finalize() -> None:
    out = io.StringIO()
    bar = Progbar(50_000, file=out, dynamic=False)  # real clock: reads are skipped
    for i in range(1, 50_001):
        bar.update(i, [("loss", 1.0)])
    assert out.getvalue().splitlines()[-1].startswith("50000/50000 100%")
    assert bar.current == 50_000


def test_ticker_thread_ends_when_no_loop_runs() -> None:
    # A lingering thread would make every later fork() warn (and risk deadlocks in
    # forked DataLoader workers); the ticker leaves after a second with nothing to do.
    for _ in track(range(50_000), file=io.StringIO(), dynamic=True):
        pass
    thread = _ticker.thread()
    if thread is not None:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert _ticker.thread() is None or not _ticker.registered()


def test_a_thread_that_cannot_start_leaves_the_loop_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    thread = _ticker.thread()
    if thread is not None:  # let an earlier test's ticker leave first
        thread.join(timeout=30)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    out = io.StringIO()
    items = list(track(range(1000), file=out, dynamic=True, color=False))
    assert items == list(range(1000))
    assert "1000/1000 100%" in out.getvalue() and out.getvalue().endswith("\n")
    assert _ticker.thread() is None and not _ticker.registered()


def test_only_live_verbose_1_loops_are_ticked() -> None:

    seen = []
    for _ in (bar := track(range(3), file=io.StringIO(), dynamic=True, verbose=2)):
        seen.append(bar in _ticker.registered())
    assert seen == [False, False, False]


def test_the_ticker_draws_every_running_bar_and_drops_closed_ones() -> None:
    # Several bars on one stream share its block, one row each: the ticker draws all
    # of them in starting order (the outer bar's row above the inner one's).
    screen, other = io.StringIO(), io.StringIO()
    outer = Progbar(2, file=screen, dynamic=True)
    inner = Progbar(400, file=screen, dynamic=True)
    elsewhere = Progbar(9, file=other, dynamic=True)
    for bar in (outer, inner, elsewhere):
        bar.add(1)  # the slow path of a bar on the real clock registers it
    assert [b for b in _ticker.registered() if b in (outer, inner, elsewhere)] == [
        outer, inner, elsewhere]
    inner.close()
    assert [b for b in _ticker.registered() if b in (outer, inner, elsewhere)] == [
        outer, elsewhere]
    for bar in (outer, elsewhere):
        bar.close()
