"""10. The loops people write, each beside its peer in the same rounds."""

from __future__ import annotations

import statistics
import threading
from typing import Any, Callable

from progbar import track

from .common import (
    Pty,
    Row,
    add_loop,
    fmt_ns,
    keras,
    keras_update_loop,
    net_ratio,
    round_robin,
    tqdm_mod,
)


def case_loop(n: int, rounds: int, tty: Pty) -> list[Row]:
    """10. The loops people write, each beside its peer in the same rounds:
    ``track`` + ``bar.log(loss=, acc=)`` against Keras's ``update(i, [loss, acc])``;
    ``bar.add(1)`` against tqdm's ``update(1)``; ``bar.current`` in a ``track`` loop
    against the bare ``track`` loop.  Net = above the bare ``for`` loop for track +
    log (as the performance targets define it; the net above a no-op call with the
    same keywords is shown too), above a no-op call with the same arguments for the
    others, or above the bare track loop; the ratio is the median of per-round ratios."""

    def bare_for() -> int:
        for _ in range(n):
            pass
        return n

    def noop_kw(**kw: Any) -> None:
        pass

    def noop_pairs(i: int, values: Any) -> None:
        pass

    def noop_one(k: int) -> None:
        pass

    def base_kw() -> int:
        for _ in range(n):
            noop_kw(loss=0.5, acc=0.9)
        return n

    def track_log() -> int:
        bar = track(range(n), file=tty.file, dynamic=True)
        log = bar.log
        for _ in bar:
            log(loss=0.5, acc=0.9)
        return n

    def base_pairs() -> int:
        for i in range(1, n + 1):
            noop_pairs(i, [("loss", 0.5), ("acc", 0.9)])
        return n

    def base_one() -> int:
        for _ in range(n):
            noop_one(1)
        return n

    class Locked:
        """The floor of a thread-safe add: a method that takes a lock and lets it go."""

        def __init__(self) -> None:
            lock = threading.RLock()
            self.acquire, self.release = lock.acquire, lock.release

        def add(self, k: int) -> None:
            self.acquire()
            try:
                pass
            finally:
                self.release()

    def locked_floor() -> int:
        add = Locked().add
        for _ in range(n):
            add(1)
        return n

    def bare_track() -> int:
        for _ in track(range(n), file=tty.file, dynamic=True):
            pass
        return n

    def track_current() -> int:
        bar = track(range(n), file=tty.file, dynamic=True)
        for _ in bar:
            bar.current  # noqa: B018
        return n

    class Plain:
        def __init__(self) -> None:
            self._seen = 0

        @property
        def current(self) -> int:
            return self._seen

    def track_property() -> int:
        plain = Plain()
        for _ in track(range(n), file=tty.file, dynamic=True):
            plain.current  # noqa: B018
        return n

    variants: dict[str, Callable[[], int]] = {
        "bare for loop": bare_for,
        "no-op call (loss=, acc=)": base_kw,
        "progbar track + bar.log(loss=, acc=)": track_log,
        "no-op call (i, [loss, acc])": base_pairs,
        "no-op call (1)": base_one,
        "progbar bar.add(1)": add_loop(n, tty.file),
        "floor: a method that takes a lock (1)": locked_floor,
        "bare track loop": bare_track,
        "progbar track + bar.current": track_current,
        "progbar track + a plain @property read": track_property,
    }
    if keras is not None:
        variants["keras Progbar.update(i, [loss, acc])"] = keras_update_loop(n, tty.file)
    if tqdm_mod is not None:

        def tq() -> int:
            bar = tqdm_mod.tqdm(total=n, file=tty.file)
            up = bar.update
            for _ in range(n):
                up(1)
            bar.close()
            return n

        variants["tqdm update(1)"] = tq
    res = round_robin(variants, rounds)
    nets = {
        "progbar track + bar.log(loss=, acc=)": "bare for loop",
        "keras Progbar.update(i, [loss, acc])": "no-op call (i, [loss, acc])",
        "progbar bar.add(1)": "no-op call (1)",
        "floor: a method that takes a lock (1)": "no-op call (1)",
        "tqdm update(1)": "no-op call (1)",
        "progbar track + bar.current": "bare track loop",
        "progbar track + a plain @property read": "bare track loop",
    }
    rows = []
    for name, ts in res.items():
        base = nets.get(name)
        net = ""
        if base is not None:
            diffs = [a - b for a, b in zip(ts, res[base])]
            net = f"{fmt_ns(min(ts) - min(res[base]))} (med {fmt_ns(statistics.median(diffs))})"
        note = ""
        r: float | None = None
        kr_name = "keras Progbar.update(i, [loss, acc])"
        if name.startswith("progbar track + bar.log") and kr_name in res:
            r = net_ratio(res, name, base or "", kr_name,
                          "no-op call (i, [loss, acc])")
            r_kw = net_ratio(res, name, "no-op call (loss=, acc=)", kr_name,
                             "no-op call (i, [loss, acc])")
            note = (f"{r:.2f}× keras update (target ≤ 0.75); "
                    f"{r_kw:.2f}× above a no-op keyword call")
        elif name.startswith("floor: a method") and "tqdm update(1)" in res:
            r = net_ratio(res, name, base or "", "tqdm update(1)")
            note = f"{r:.2f}× tqdm"
        elif name == "progbar bar.add(1)" and "tqdm update(1)" in res:
            r = net_ratio(res, name, base or "", "tqdm update(1)")
            note = f"{r:.2f}× tqdm (target ≤ 1)"
        elif name == "progbar track + bar.current":
            r = net_ratio(res, name, "bare track loop", "progbar track + a plain @property read",
                          "bare track loop")
            note = f"{r:.2f}× a plain @property read (target ≤ 3)"
        rows.append(Row(
            "10. loops people write", name,
            "-" if name.startswith(("no-op", "bare", "floor")) and "track" not in name
            else "live pty",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), net, note, r,
        ))
    return rows
