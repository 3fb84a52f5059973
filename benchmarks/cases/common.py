"""What every case shares: the peers (imported where installed), the sinks, the
round-robin timer and the typed row a case returns."""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Pty", "Recorder", "Row", "add_loop", "fmt_ns", "keras", "keras_update_loop",
           "net_ratio", "rich_console", "rich_progress", "round_robin", "tqdm_mod"]


@dataclass
class Row:
    """One measured line of the table: its cells as shown, and the numbers the
    targets read (never parsed back from the cells)."""

    case: str
    variant: str
    output: str
    min: str = ""
    median: str = ""
    net: str = ""
    note: str = ""  # the ratio column, as shown
    ratio: float | None = None  # the number the row's target reads (a ratio, seconds...)
    value: float | None = None  # a second number where a target needs one

    def cells(self) -> list[str]:
        return [self.case, self.variant, self.output, self.min, self.median, self.net,
                self.note]


def _optional(name: str) -> Any:
    try:
        return __import__(name, fromlist=["_"])
    except Exception:
        return None


tqdm_mod = _optional("tqdm")
rich_progress = _optional("rich.progress")
rich_console = _optional("rich.console")
keras = _optional("keras")


# --------------------------------------------------------------------------- sinks


class Pty:
    """A pseudo-terminal: writes go to its slave end, a thread drains the master."""

    def __init__(self) -> None:
        import pty

        self.master, self.slave = pty.openpty()
        self.file = os.fdopen(self.slave, "w", buffering=1, encoding="utf-8")
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def close(self) -> None:
        self._stop = True
        self.file.close()
        os.close(self.master)


class Recorder(io.StringIO):
    """Keeps (time, text) of every write: what a reader of the stream saw, and when."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.events.append((time.monotonic(), text))
        return len(text)

    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------- timing


def _per_item(fn: Callable[[], int]) -> float:
    t0 = time.perf_counter()
    n = fn()
    return (time.perf_counter() - t0) / n * 1e9


def round_robin(variants: dict[str, Callable[[], int]], rounds: int) -> dict[str, list[float]]:
    """Every variant once per round, the order rotated each round (so no variant
    always runs right after a given other one), after one untimed warm-up round."""
    out: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for fn in variants.values():
        fn()
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            out[name].append(_per_item(variants[name]))
    return out


def net_ratio(res: dict[str, list[float]], ours: str, base: str, peer: str,
              peer_base: str | None = None) -> float:
    """The median over rounds of (ours - base) / (peer - peer_base), each pair taken in
    the same round: steadier than a ratio of minima on a noisy machine."""
    pb = res[peer_base or base]
    ratios = [
        (o - b) / (p - q)
        for o, b, p, q in zip(res[ours], res[base], res[peer], pb)
        if p - q > 0
    ]
    return statistics.median(ratios) if ratios else float("nan")


def fmt_ns(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def keras_update_loop(n: int, file: Any) -> Callable[[], int]:
    """``keras.utils.Progbar(n).update(i, [loss, acc])`` for i in 1..n, drawn on ``file``
    (Keras writes to stdout)."""
    import contextlib

    def run() -> int:
        with contextlib.redirect_stdout(file):
            bar = keras.utils.Progbar(n)
            up = bar.update
            for i in range(1, n + 1):
                up(i, [("loss", 0.5), ("acc", 0.9)])
        return n

    return run


def add_loop(n: int, file: Any) -> Callable[[], int]:
    """``bar.add(1)`` n times on a live progbar bar drawn on ``file``."""
    from progbar import Progbar

    def run() -> int:
        bar = Progbar(n, file=file, dynamic=True)
        add = bar.add
        for _ in range(n):
            add(1)
        bar.close()
        return n

    return run
