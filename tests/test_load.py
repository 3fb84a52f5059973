"""Load: many threads at once, and many updates (design.md, "Output rules" on locking, "Performance targets" on memory)."""

from __future__ import annotations

import io
import os
import pty
import re
import threading
import tracemalloc
from typing import Any

import pyte
from support.reliability import Clock, reliability, set_winsize, tick

from progbar import Progbar

THREADS = 16
CALLS = 10**6
MESSAGE_EVERY = 5000


@reliability("Load", "16 threads × 62,500 `add(1, values)` with `write()`s at once, on a real pty: exact final count, no torn or lost line (pyte)")
def test_threads_on_a_pty() -> None:
    master, slave = pty.openpty()
    set_winsize(slave, 120)
    data = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            data.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stream = open(slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    bar: Progbar[Any] = Progbar(CALLS, file=stream, clock=Clock(step=1e-4), interval=0.05)
    per_thread = CALLS // THREADS
    start = threading.Barrier(THREADS)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            bar.add(1, [("loss", 0.5), ("thread", t)])
            if i % MESSAGE_EVERY == MESSAGE_EVERY - 1:
                bar.write(f"msg t{t} #{i}")

    workers = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    bar.close()
    stream.close()
    tick(CALLS)
    assert bar.current == CALLS  # not one count lost
    os.close(slave)
    reader.join(timeout=60)
    os.close(master)

    messages = THREADS * (per_thread // MESSAGE_EVERY)
    screen = pyte.Screen(120, messages + 5)
    pyte.ByteStream(screen).feed(bytes(data))
    rows = [row.rstrip() for row in screen.display if row.strip()]
    msg = re.compile(r"^msg t\d+ #\d+$")
    shown = [r for r in rows if msg.match(r)]
    assert len(shown) == messages == len(set(shown))  # every message whole, none lost
    others = [r for r in rows if not msg.match(r)]
    assert len(others) == 1, others[:5]  # one bar, not torn
    assert others[0].startswith("1000000/1000000 100%"), others[0]
    assert rows[-1] == others[0]


class Sink:
    """A stream that forgets what it is given (so only progbar's memory is measured)."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@reliability("Load", "10**6 updates with 2 metrics (5×10**5 live + 5×10**5 line mode): memory flat (tracemalloc, < 64 KiB growth)")
def test_memory_is_flat() -> None:
    for live in (True, False):
        bar: Progbar[Any] = Progbar(CALLS, file=Sink(), dynamic=live, clock=Clock(1e-3),
                                    interval=0.05)
        tracemalloc.start()
        try:
            # CPython keeps freed small tuples on a free list (up to 2,000 of each size),
            # which tracemalloc counts as held: fill it first, so that what is measured
            # is the bar's memory, not the interpreter's caches warming up.
            warm = [(i, float(i)) for i in range(5_000)]
            del warm
            for i in range(1, 10_001):
                bar.update(i, [("loss", 1.0 / i), ("acc", 0.5)])
            before, _ = tracemalloc.get_traced_memory()
            for i in range(10_001, CALLS // 2 + 1):
                bar.update(i, [("loss", 1.0 / i), ("acc", 0.5)])
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        bar.close()
        tick(CALLS // 2)
        assert after - before < 64 * 1024, (live, after - before)


def test_adds_stay_exact_with_thread_switches_forced() -> None:
    # A tiny switch interval makes the interpreter switch threads as often as it can:
    # a read-add-store of the count outside the bar's lock would lose counts here.
    import sys

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        bar = Progbar(None, file=io.StringIO(), dynamic=False)
        bar.add(1, [("loss", 1.0)])

        def work() -> None:
            for k in range(20_000):
                if k % 7 == 0:
                    bar.add(1, [("loss", 1.0)])
                else:
                    bar.add(1)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert bar.current == 8 * 20_000 + 1
    total, count = bar.totals()["loss"]
    assert (total, count) == (8 * 2858 + 1, 8 * 2858 + 1)
