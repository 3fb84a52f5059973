"""3. ``update(i, [loss, acc])`` per call, in every output, beside Keras and tqdm."""

from __future__ import annotations

import statistics
import threading
from typing import Any, Callable

from progbar import Progbar

from .common import Pty, Row, fmt_ns, keras, keras_update_loop, net_ratio, round_robin, tqdm_mod


def case_metrics(n: int, rounds: int, tty: Pty, null: Any) -> list[Row]:
    def noop(i: int, values: Any) -> None:
        pass

    def base() -> int:
        for i in range(1, n + 1):
            noop(i, [("loss", 0.5), ("acc", 0.9)])
        return n

    def ours(**kw: Any) -> Callable[[], int]:
        def run() -> int:
            bar = Progbar(n, **kw)
            up = bar.update
            for i in range(1, n + 1):
                up(i, [("loss", 0.5), ("acc", 0.9)])
            bar.close()
            return n

        return run

    def floor() -> int:
        # The least any thread-safe, per-call-averaging update can do in pure Python:
        # take a lock, add each value to its running sum and count, store the step.
        # Not a progress bar; it shows where the design's 0.35x target sits against
        # what the interpreter itself costs on this machine.
        lock = threading.RLock()
        acquire, release = lock.acquire, lock.release
        sums: dict[str, list[float]] = {"loss": [0.0, 0.0], "acc": [0.0, 0.0]}
        state = [0]

        def up(i: int, values: Any) -> None:
            acquire()
            try:
                for name, v in values:
                    entry = sums[name]
                    entry[0] += v
                    entry[1] += 1
                state[0] = i
            finally:
                release()

        for i in range(1, n + 1):
            up(i, [("loss", 0.5), ("acc", 0.9)])
        return n

    variants: dict[str, Callable[[], int]] = {
        "no-op call": base,
        "floor: lock + running sums, pure Python": floor,
        "progbar update · live pty": ours(file=tty.file, dynamic=True),
        "progbar update · line file": ours(file=null, dynamic=False),
        "progbar update · silent": ours(verbose=0),
        "progbar keras style · live pty": ours(file=tty.file, dynamic=True, style="keras"),
    }
    if keras is not None:
        variants["keras Progbar.update · live pty"] = keras_update_loop(n, tty.file)
    if tqdm_mod is not None:

        def tq() -> int:
            bar = tqdm_mod.tqdm(total=n, file=tty.file)
            for _ in range(1, n + 1):
                bar.update(1)
                bar.set_postfix(loss=0.5, acc=0.9, refresh=False)
            bar.close()
            return n

        variants["tqdm update+set_postfix · live pty"] = tq
    res = round_robin(variants, rounds)
    b_min = min(res["no-op call"])
    k = res.get("keras Progbar.update · live pty")
    k_net = min(k) - b_min if k else None
    rows = []
    for name, ts in res.items():
        what, _, mode = name.partition(" · ")
        net = min(ts) - b_min
        ratio = (net_ratio(res, name, "no-op call", "keras Progbar.update · live pty")
                 if k_net and name != "no-op call" else None)
        rows.append(Row(
            "3. update(i, [loss, acc])", what, mode or "-", fmt_ns(min(ts)),
            fmt_ns(statistics.median(ts)), "" if name == "no-op call" else fmt_ns(net),
            f"{ratio:.2f}× keras" if ratio is not None else "", ratio,
        ))
    return rows
