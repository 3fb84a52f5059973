"""progbar beside tqdm, rich and keras.utils.Progbar, measured in one process run.

    python benchmarks/run.py            # the full run (about two minutes)
    python benchmarks/run.py --quick    # a smoke run for CI: seconds, no time asserts
    python benchmarks/run.py --only 3,4 # some cases only (numbers as in the table)

Peers come from the ``bench`` extra (``pip install -e '.[bench]'``); a peer that is not
installed is left out of the table.  Nothing is installed here.  Timed cases run
round-robin: every variant once per round, several rounds, so that a noisy machine
slows all of them alike; the table shows the minimum and the median over rounds.
Each row names the output mode it measured: live (a pseudo-terminal whose other end a
thread drains), line (a log file), silent (verbose=0 / disabled).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable

os.environ.setdefault("KERAS_BACKEND", "torch")
for _name in ("PROGBAR_DYNAMIC", "PROGBAR_DISABLE", "PROGBAR_LOG_INTERVAL"):
    os.environ.pop(_name, None)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import progbar  # noqa: E402
from progbar import Progbar, track  # noqa: E402


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


Row = tuple[str, str, str, str, str]  # case, variant, mode, min, median (+ratio)


def fmt_ns(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


# --------------------------------------------------------------------------- cases


def case_wrapping(n: int, rounds: int, tty: Pty) -> list[list[str]]:
    data = list(range(n))

    def sources() -> dict[str, Callable[[], Any]]:
        return {
            "range": lambda: range(n),
            "list": lambda: data,
            "generator": lambda: (i for i in range(n)),
        }

    rows: list[list[str]] = []
    for kind, make in sources().items():
        total = n if kind != "generator" else None

        def bare(make: Callable[[], Any] = make) -> int:
            for _ in make():
                pass
            return n

        def ours(make: Callable[[], Any] = make, total: int | None = total) -> int:
            for _ in track(make(), target=total, file=tty.file, dynamic=True):
                pass
            return n

        variants: dict[str, Callable[[], int]] = {"bare loop": bare, "progbar track": ours}
        if tqdm_mod is not None:

            def tq(make: Callable[[], Any] = make, total: int | None = total) -> int:
                for _ in tqdm_mod.tqdm(make(), total=total, file=tty.file):
                    pass
                return n

            variants["tqdm"] = tq
        if rich_progress is not None:
            console = rich_console.Console(file=tty.file, force_terminal=True, width=100)

            def rc(
                make: Callable[[], Any] = make, total: int | None = total, console: Any = console
            ) -> int:
                for _ in rich_progress.track(make(), total=total, console=console):
                    pass
                return n

            variants["rich track"] = rc
        res = round_robin(variants, rounds)
        base_min = min(res["bare loop"])
        base_med = statistics.median(res["bare loop"])
        tq_net = min(res["tqdm"]) - base_min if "tqdm" in res else None
        for name, ts in res.items():
            net = min(ts) - base_min
            net_med = statistics.median(ts) - base_med
            ratio = (f"{net_ratio(res, name, 'bare loop', 'tqdm'):.2f}× tqdm"
                     if tq_net and name != "bare loop" else "")
            rows.append([
                f"1. wrap {kind} ({n:,})", name, "-" if name == "bare loop" else "live pty",
                fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
                "" if name == "bare loop" else f"{fmt_ns(net)} (med {fmt_ns(net_med)})",
                ratio,
            ])
    return rows


def case_liveness(fast: int, slow: int, pause: float) -> list[list[str]]:
    """Fast for `fast` items, then `pause` s per item: how stale is the count shown?"""
    rows = []

    def items() -> list[int]:
        return list(range(fast + slow))

    def run(make_bar: Callable[[list[int], Recorder], Any], name: str, pattern: str) -> None:
        rec = Recorder()
        truth: list[tuple[float, int]] = []  # (time, steps done)
        t_start = time.monotonic()
        done = 0
        for i in make_bar(items(), rec):
            if i >= fast:
                time.sleep(pause)
            done = i + 1
            if i >= fast - 1:
                truth.append((time.monotonic(), done))
        t_end = time.monotonic()
        del t_start
        shown = []
        for t, text in rec.events:
            found = re.findall(pattern, text)
            if found:
                shown.append((t, int(found[-1].replace(",", ""))))
        # lag: for each moment a step finished, how long until a line showed it
        # (before the loop ended: the final line always shows the truth)
        lags = []
        for t, n in truth[:-1]:
            seen = [ts for ts, c in shown if c >= n and ts >= t and ts < t_end]
            lags.append((seen[0] - t) if seen else (t_end - t))
        worst = max(lags) if lags else 0.0
        never = any(not [1 for ts, c in shown if c >= n and ts < t_end] for _, n in truth[:-1])
        rows.append([
            f"2. liveness ({fast:,} fast, then {slow} × {pause} s)", name, "live (recorder)",
            f"{worst:.2f} s", "", "not shown before the end" if never else "", "",
        ])

    run(lambda it, rec: track(it, file=rec, dynamic=True), "progbar track", r"(\d+)/\d+")
    if tqdm_mod is not None:
        run(lambda it, rec: tqdm_mod.tqdm(it, file=rec), "tqdm", r"(\d+)/\d+")
    return rows


def case_metrics(n: int, rounds: int, tty: Pty, null: Any) -> list[list[str]]:
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

        def kr() -> int:
            with contextlib.redirect_stdout(tty.file):
                bar = keras.utils.Progbar(n)
                up = bar.update
                for i in range(1, n + 1):
                    up(i, [("loss", 0.5), ("acc", 0.9)])
            return n

        variants["keras Progbar.update · live pty"] = kr
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
        rows.append([
            "3. update(i, [loss, acc])", what, mode or "-", fmt_ns(min(ts)),
            fmt_ns(statistics.median(ts)), "" if name == "no-op call" else fmt_ns(net),
            f"{net_ratio(res, name, 'no-op call', 'keras Progbar.update · live pty'):.2f}× keras"
            if k_net and name != "no-op call" else "",
        ])
    return rows


def case_render(n: int, rounds: int, null: Any) -> list[list[str]]:
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]

    def ours(style: str) -> Callable[[], int]:
        def run() -> int:
            bar = Progbar(10 * n, file=null, dynamic=True, interval=0, style=style)
            for i in range(1, n + 1):
                bar.update(i, four)
            return n

        return run

    variants: dict[str, Callable[[], int]] = {
        "progbar default": ours("default"),
        "progbar keras style": ours("keras"),
    }
    if keras is not None:

        def kr() -> int:
            with contextlib.redirect_stdout(null):
                bar = keras.utils.Progbar(10 * n, interval=0)
                for i in range(1, n + 1):
                    bar.update(i, four)
            return n

        variants["keras Progbar"] = kr
    if tqdm_mod is not None:

        def tq() -> int:
            bar = tqdm_mod.tqdm(total=10 * n, file=null, mininterval=0, miniters=1)
            for _ in range(n):
                bar.update(1)
                bar.set_postfix(loss=0.41, acc=0.88, val_loss=0.52, val_acc=0.84)
            bar.close()
            return n

        variants["tqdm update+set_postfix"] = tq
    res = round_robin(variants, rounds)
    k = res.get("keras Progbar")
    rows = []
    for name, ts in res.items():
        rows.append([
            "4. render, 4 metrics (update+draw)", name, "live → /dev/null",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), "",
            f"{min(ts) / min(k):.2f}× keras" if k else "",
        ])
    return rows


def case_import(reps: int, with_keras: bool) -> list[list[str]]:
    stmts = {"python -c pass": "pass", "import progbar": "import progbar"}
    if tqdm_mod is not None:
        stmts["import tqdm"] = "import tqdm"
    if rich_progress is not None:
        stmts["import rich.progress"] = "import rich.progress"
    if keras is not None and with_keras:
        stmts["import keras (torch)"] = "import keras"
    # Bytecode is cached in a private folder, as an installed package has it (a
    # source tree where writing bytecode is off would be compiled at every import).
    import tempfile

    cache = tempfile.mkdtemp(prefix="progbar-bench-pyc-")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."),
               PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for stmt in stmts.values():  # warm the cache (and the OS's file cache)
        subprocess.run([sys.executable, "-c", stmt], env=env, check=True)
    times: dict[str, list[float]] = {k: [] for k in stmts}
    for r in range(reps):
        for name, stmt in stmts.items():
            if name.startswith("import keras") and r >= 3:
                continue
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], env=env, check=True)
            times[name].append((time.perf_counter() - t0) * 1e3)
    base = min(times["python -c pass"])
    base_med = statistics.median(times["python -c pass"])
    tqdm_net = min(times["import tqdm"]) - base if "import tqdm" in times else None
    rows = []
    for name, ts in times.items():
        scaled = ""
        if name == "import progbar" and tqdm_net:
            scaled = f"{(min(ts) - base) / tqdm_net:.2f}× import tqdm"
        rows.append([
            "5. import (ms, subprocess)", name, "-", f"{min(ts):.1f}",
            f"{statistics.median(ts):.1f}",
            "" if name == "python -c pass"
            else f"{min(ts) - base:.1f} (med {statistics.median(ts) - base_med:.1f})", scaled,
        ])
    return rows


def case_memory(sizes: list[int], null: Any) -> list[list[str]]:
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]
    rows = []
    for n in sizes:
        bar = Progbar(n, file=null, dynamic=False)
        tracemalloc.start()
        for i in range(1, n + 1):
            bar.update(i, four)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        bar.close()
        rows.append([
            f"6. memory over {n:,} updates", "progbar update, 4 metrics", "line file",
            f"{peak / 1024:.1f} KiB peak", "", "", "",
        ])
    return rows


def case_tensors(steps: int) -> list[list[str]]:
    try:
        import torch

        import progbar.torch as pt
    except Exception as exc:
        return [["7. tensor host syncs", "skipped", "-", f"({type(exc).__name__})", "", "", ""]]
    if not hasattr(pt, "track"):
        return [["7. tensor host syncs", "skipped", "-", "(no progbar.torch.track)", "", "", ""]]
    counts = {"n": 0}
    names = {"item", "__float__", "tolist", "cpu", "numpy", "__bool__", "__int__"}

    class Counting(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func: Any, types: Any, args: Any = (), kw: Any = None) -> Any:
            if getattr(func, "__name__", "") in names:
                counts["n"] += 1
            return super().__torch_function__(func, types, args, kw or {})

    rec = Recorder()
    w = torch.randn(8).as_subclass(Counting)
    for i in (bar := pt.track(range(steps), file=rec, dynamic=False, interval=0.005)):
        h = w * (i % 7)
        bar.log(loss=(h**2).sum(), acc=(h > 0).float().mean())
        time.sleep(0.0005)
    renders = sum(1 for _, text in rec.events if "/" in text)
    return [[
        f"7. tensor metrics ({steps} steps, 2 metrics)", "progbar.torch track", "line (recorder)",
        f"{counts['n']} syncs", f"{renders} renders", f"{counts['n'] / max(renders, 1):.1f}/render",
        "",
    ]]


def case_handle(n: int, rounds: int, tty: Pty) -> list[list[str]]:
    """8. A worker's ``handle.add(1)`` against a local ``bar.add(1)`` (target <= 2x).

    Both run here, round-robin; the handle's calls take the same path as in a worker
    process (a lock and a sum; its sender thread sends once per interval).  A row
    measured inside a forked worker process follows, for the record.
    """
    import multiprocessing as mp

    def noop(k: int) -> None:
        pass

    def base() -> int:
        for _ in range(n):
            noop(1)
        return n

    def local() -> int:
        bar = Progbar(n, file=tty.file, dynamic=True)
        add = bar.add
        for _ in range(n):
            add(1)
        bar.close()
        return n

    def via_handle() -> int:
        bar = Progbar(n, file=tty.file, dynamic=True)
        add = bar.handle().add
        for _ in range(n):
            add(1)
        bar.close()
        return n

    res = round_robin({"no-op call": base, "local bar.add(1)": local,
                       "worker handle.add(1)": via_handle}, rounds)

    def in_worker(h: Any, conn: Any) -> None:
        add = h.add
        add(1)  # connects (once per process)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                add(1)
            times.append((time.perf_counter() - t0) / n * 1e9)
        h.close()
        conn.send(times)

    bar = Progbar(None, file=tty.file, dynamic=True)
    ctx = mp.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=in_worker, args=(bar.handle(), theirs))
    proc.start()
    res["worker handle.add(1) · in a forked worker"] = ours.recv()
    proc.join()
    bar.close()
    b_min = min(res["no-op call"])
    l_net = min(res["local bar.add(1)"]) - b_min
    rows = []
    for name, ts in res.items():
        what, _, mode = name.partition(" · ")
        net = min(ts) - b_min
        rows.append([
            "8. worker handle.add(1)", what, mode or ("-" if name == "no-op call" else "live"),
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == "no-op call" else fmt_ns(net),
            f"{net / l_net:.2f}× local add" if "handle" in name and l_net > 0 else "",
        ])
    return rows


def _short_task(v: int) -> float:
    """A short task: some 35 µs of work (here, 2 cores, Python 3.11)."""
    return float(sum(range(3000)) + v)


def _short_task_reporting(h: Any, v: int) -> float:
    h.add(1, [("loss", float(v))])
    return _short_task(v)


def case_pool(tasks: int, procs: int, rounds: int, tty: Pty) -> list[list[str]]:
    """13. ``tasks`` short tasks on one ``multiprocessing`` pool of ``procs`` processes,
    each ``handle.add(1, [("loss", v)])``, against the same pool without progbar
    (target <= 1.2x; ratio of wall times, median over rounds).  The progbar side
    includes everything a run pays: the bar, its listener, each worker's connection
    and handshake, and ``close()`` taking in the counts -- a cost per run and per
    worker, not per call, so it weighs most on short runs of short tasks."""
    import functools
    import multiprocessing as mp

    values = list(range(tasks))
    with mp.get_context("fork").Pool(procs) as pool:
        def bare() -> int:
            pool.map(_short_task, values)
            return 1

        def ours() -> int:
            bar = Progbar(tasks, file=tty.file, dynamic=True)
            pool.map(functools.partial(_short_task_reporting, bar.handle()), values)
            bar.close()
            assert bar.current == tasks, bar.current  # exact, or the row means nothing
            return 1

        res = round_robin({"pool.map, no progbar": bare, "pool.map + handle.add": ours},
                          rounds)
    ratios = sorted(o / b for o, b in zip(res["pool.map + handle.add"],
                                          res["pool.map, no progbar"]))
    ratio = statistics.median(ratios)
    case = f"13. {tasks:,} tasks, pool of {procs}"
    rows = []
    for name, ts in res.items():
        rows.append([case, name, "live" if "handle" in name else "-",
                     f"{min(ts) / 1e6:,.1f} ms", f"{statistics.median(ts) / 1e6:,.1f} ms", "",
                     f"{ratio:.2f}× no progbar (target ≤ 1.3)"
                     if "handle" in name else ""])
    return rows


def case_loop(n: int, rounds: int, tty: Pty) -> list[list[str]]:
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

    def add_one() -> int:
        bar = Progbar(n, file=tty.file, dynamic=True)
        add = bar.add
        for _ in range(n):
            add(1)
        bar.close()
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
        "progbar bar.add(1)": add_one,
        "floor: a method that takes a lock (1)": locked_floor,
        "bare track loop": bare_track,
        "progbar track + bar.current": track_current,
        "progbar track + a plain @property read": track_property,
    }
    if keras is not None:

        def kr() -> int:
            with contextlib.redirect_stdout(tty.file):
                bar = keras.utils.Progbar(n)
                up = bar.update
                for i in range(1, n + 1):
                    up(i, [("loss", 0.5), ("acc", 0.9)])
            return n

        variants["keras Progbar.update(i, [loss, acc])"] = kr
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
        ratio = ""
        kr_name = "keras Progbar.update(i, [loss, acc])"
        if name.startswith("progbar track + bar.log") and kr_name in res:
            r = net_ratio(res, name, base or "", kr_name,
                          "no-op call (i, [loss, acc])")
            r_kw = net_ratio(res, name, "no-op call (loss=, acc=)", kr_name,
                             "no-op call (i, [loss, acc])")
            ratio = (f"{r:.2f}× keras update (target ≤ 0.75); "
                     f"{r_kw:.2f}× above a no-op keyword call")
        elif name.startswith("floor: a method") and "tqdm update(1)" in res:
            ratio = f"{net_ratio(res, name, base or '', 'tqdm update(1)'):.2f}× tqdm"
        elif name == "progbar bar.add(1)" and "tqdm update(1)" in res:
            ratio = f"{net_ratio(res, name, base or '', 'tqdm update(1)'):.2f}× tqdm (target ≤ 1)"
        elif name == "progbar track + bar.current":
            r = net_ratio(res, name, "bare track loop", "progbar track + a plain @property read",
                          "bare track loop")
            ratio = f"{r:.2f}× a plain @property read (target ≤ 3)"
        rows.append([
            "10. loops people write", name,
            "-" if name.startswith(("no-op", "bare", "floor")) and "track" not in name
            else "live pty",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), net, ratio,
        ])
    return rows


def case_files(mib: int, rounds: int, tty: Pty) -> list[list[str]]:
    """11. Reading a file in 64 KiB reads: a plain ``read()`` loop, ``progbar.open`` and
    ``tqdm.wrapattr`` (target: <= 1.05x plain).  The file is read from the page
    cache, so the bar's share is as large as it can be; ns per read."""
    import tempfile

    chunk = 64 * 1024
    fd, path = tempfile.mkstemp(prefix="progbar-bench-")
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(1024 * 1024) * mib)
    reads = mib * 16

    def plain() -> int:
        with open(path, "rb") as f:
            read = f.read
            while read(chunk):
                pass
        return reads

    def ours(**kw: Any) -> Callable[[], int]:
        def run() -> int:
            with progbar.open(path, **kw) as f:
                read = f.read
                while read(chunk):
                    pass
            return reads

        return run

    variants: dict[str, Callable[[], int]] = {
        "plain read() loop": plain,
        "progbar.open": ours(file=tty.file, dynamic=True),
        "progbar.open · silent": ours(verbose=0),
    }
    if tqdm_mod is not None:

        def tq() -> int:
            with open(path, "rb") as raw, tqdm_mod.tqdm.wrapattr(
                raw, "read", total=os.path.getsize(path), file=tty.file
            ) as f:
                read = f.read
                while read(chunk):
                    pass
            return reads

        variants["tqdm.wrapattr"] = tq
    try:
        res = round_robin(variants, rounds)
    finally:
        os.unlink(path)
    base = "plain read() loop"
    rows = []
    for name, ts in res.items():
        ratios = [t / b for t, b in zip(ts, res[base])]
        what, _, mode = name.partition(" · ")
        rows.append([
            f"11. file read, 64 KiB reads ({mib} MiB)", what,
            "-" if name == base else mode or "live pty",
            fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == base else fmt_ns(min(ts) - min(res[base])),
            "" if name == base else
            f"{statistics.median(ratios):.3f}× plain"
            + (" (target ≤ 1.05)" if what == "progbar.open" else ""),
        ])
    return rows


def case_map(n: int, rounds: int, tty: Pty) -> list[list[str]]:
    """12. A pool over ``n`` trivial items on 4 threads: ``ThreadPoolExecutor.map``,
    ``progbar.map`` and tqdm's ``thread_map``; each makes its own pool, as a user's
    call does.  Net = above ``ThreadPoolExecutor.map`` (target: <= 0.5x tqdm's);
    ns per item."""
    from concurrent.futures import ThreadPoolExecutor

    items = list(range(n))

    def fn(x: int) -> int:
        return x

    def executor_map() -> int:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fn, items))
        return n

    def ours() -> int:
        progbar.map(fn, items, workers=4, file=tty.file, dynamic=True)
        return n

    variants: dict[str, Callable[[], int]] = {"ThreadPoolExecutor.map": executor_map,
                                              "progbar.map": ours}
    if tqdm_mod is not None:
        from tqdm.contrib.concurrent import thread_map

        def tq() -> int:
            thread_map(fn, items, max_workers=4, file=tty.file)
            return n

        variants["tqdm thread_map"] = tq
    res = round_robin(variants, rounds)
    base = "ThreadPoolExecutor.map"
    rows = []
    for name, ts in res.items():
        ratio = ""
        if name == "progbar.map" and "tqdm thread_map" in res:
            share = net_ratio(res, name, base, "tqdm thread_map")
            # Below the plain pool (no future per item), a share of tqdm's net reads
            # as a negative ratio: say what it is instead.
            ratio = (f"{share:.2f}× tqdm's net (target ≤ 0.5)" if share >= 0 else
                     f"faster than {base}: {min(ts) / min(res[base]):.2f}× its time "
                     "(target ≤ 0.5 × tqdm's net)")
        rows.append([
            f"12. map over a thread pool ({n:,} items)", name,
            "-" if name == base else "live pty", fmt_ns(min(ts)), fmt_ns(statistics.median(ts)),
            "" if name == base else fmt_ns(min(ts) - min(res[base])), ratio,
        ])
    return rows


# --------------------------------------------------------------------------- main


def case_block(n: int, rounds: int, null: Any) -> list[list[str]]:
    """9. Several bars: one frame of a 3-bar block (a bar's update redraws the whole
    block: its line formatted, the other two as drawn, one write) against one
    single-bar render (design.md, "Performance targets": <= 3x)."""
    four = [("loss", 0.41), ("acc", 0.88), ("val_loss", 0.52), ("val_acc", 0.84)]

    def single() -> int:
        bar = Progbar(10 * n, file=null, dynamic=True, interval=0)
        for i in range(1, n + 1):
            bar.update(i, four)
        bar.close()
        return n

    def block() -> int:
        epoch = Progbar(3, file=null, dynamic=True, interval=0, label="epoch")
        train = Progbar(10 * n, file=null, dynamic=True, interval=0, label="train")
        valid = Progbar(10 * n, file=null, dynamic=True, interval=0, label="valid")
        epoch.update(1)
        valid.update(1, four)
        for i in range(1, n + 1):
            train.update(i, four)  # one frame: three rows, one write
        for bar in (train, valid, epoch):
            bar.close()
        return n

    res = round_robin({"one bar": single, "3-bar block": block}, rounds)
    one = min(res["one bar"])
    return [
        ["9. several bars: one frame (update+draw)", name, "live → /dev/null",
         fmt_ns(min(ts)), fmt_ns(statistics.median(ts)), "",
         f"{min(ts) / one:.2f}× one bar"]
        for name, ts in res.items()
    ]


# --------------------------------------------------------------------------- the performance page
#
# docs/performance.md is this script's output (--write), never edited by hand.  Its
# targets table is read off the measured rows: each target names the row it reads
# (case prefix, variant, output) and the column, and says met or missed.

PAGE_MARKER = "<!-- generated by benchmarks/run.py --write docs/performance.md; do not edit -->"
HEAD = ["case", "variant", "output", "min", "median", "net", "ratio"]
COLUMN = {name: i for i, name in enumerate(HEAD)}
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _first_number(text: str) -> float | None:
    match = NUMBER.search(text)
    return float(match.group().replace(",", "")) if match else None


def _find(rows: list[list[str]], case: str, variant: str, output: str | None = None
          ) -> list[str] | None:
    for r in rows:
        if r[0].startswith(case) and r[1] == variant and (output is None or r[2] == output):
            return r
    return None


Reading = Callable[[list[list[str]]], "tuple[str, bool] | None"]


def _ratio_target(case: str | tuple[str, ...], variant: str, limit: float,
                  output: str | None = None, column: str = "ratio", unit: str = "×",
                  ) -> Reading:
    def read(rows: list[list[str]]) -> tuple[str, bool] | None:
        found = [r for r in rows if r[0].startswith(case) and r[1] == variant
                 and (output is None or r[2] == output)]
        values = [v for v in (_first_number(r[COLUMN[column]]) for r in found) if v is not None]
        if not values:
            return None
        worst = max(values)
        text = " / ".join((f"{v:.2f}" if unit == "×" else f"{v:g}") + unit for v in values)
        return text, worst <= limit
    return read


def _map_overhead(rows: list[list[str]]) -> tuple[str, bool] | None:
    """progbar.map's net time per item beside tqdm's (both above the plain pool)."""
    ours = _find(rows, "12. map", "progbar.map")
    peer = _find(rows, "12. map", "tqdm thread_map")
    if ours is None or peer is None:
        return None
    net, peer_net = _first_number(ours[5]), _first_number(peer[5])
    if net is None or peer_net is None:
        return None
    text = f"{net:+,.0f} ns/item against tqdm's {peer_net:+,.0f}"
    if net < 0:
        text += " (faster than the plain pool)"
    return text, net <= 0.5 * peer_net


def _memory(rows: list[list[str]]) -> tuple[str, bool] | None:
    found = [(r[0], _first_number(r[3])) for r in rows if r[0].startswith("6. memory")]
    found = [(c, v) for c, v in found if v is not None]
    if len(found) < 2:
        return None
    text = ", ".join(f"{v:g} KiB peak over {c.split('over ')[1]}" for c, v in found)
    return text, found[-1][1] <= found[0][1] * 1.5 + 1  # type: ignore[operator]


def _tensor_syncs(rows: list[list[str]]) -> tuple[str, bool] | None:
    r = next((r for r in rows if r[0].startswith("7. tensor metrics")), None)
    if r is None:
        return None
    per_render, metrics = _first_number(r[5]), _first_number(r[0].split(",")[-1])
    if per_render is None or not metrics:
        return None
    return f"{per_render:g} per render for {metrics:g} metrics", per_render <= metrics


def _import(rows: list[list[str]]) -> tuple[str, bool] | None:
    """``import progbar`` above ``python -c pass``, beside ``import tqdm``'s, as measured."""
    r = _find(rows, "5. import", "import progbar")
    if r is None:
        return None
    here, ratio = _first_number(r[5]), _first_number(r[6])
    if here is None or ratio is None:
        return None
    return f"{here:g} ms, {ratio:.2f}× `import tqdm`", ratio <= 0.1


@dataclass(frozen=True)
class Target:
    """One performance target: what is measured, the goal, how it is read off the rows."""

    what: str
    goal: str
    read: Reading


@dataclass(frozen=True)
class Case:
    """One case of the benchmark: its number (as in the table), how to run it at full
    and at smoke (``--quick``) sizes, and the targets its rows are held against."""

    number: int
    run: Callable[[Shared, bool], list[list[str]]]
    targets: tuple[Target, ...] = ()


@dataclass
class Shared:
    """What the cases share in one run: the pseudo-terminal and a null stream."""

    tty: Pty
    null: Any


# The registry: every case with its sizes (full, quick) and its targets, stated once
# (design.md, "Performance targets").  The page's targets table is read from here.
CASES: list[Case] = [
    Case(1, lambda s, q: case_wrapping(20_000 if q else 1_000_000, 2 if q else 11, s.tty), (
        Target("`track()` over a range / a list, net", "≤ 0.1 × tqdm's",
               _ratio_target(("1. wrap range", "1. wrap list"), "progbar track", 0.1)),
        Target("`track()` over a generator, net", "≤ 0.3 × tqdm's",
               _ratio_target("1. wrap generator", "progbar track", 0.3)),
    )),
    Case(2, lambda s, q: case_liveness(100_000, 2 if q else 5, 0.05 if q else 0.2), (
        Target("count shown lags the truth after a slowdown", "≤ 1 s",
               _ratio_target("2. liveness", "progbar track", 1.0, column="min", unit=" s")),
    )),
    Case(3, lambda s, q: case_metrics(5_000 if q else 100_000, 2 if q else 11, s.tty, s.null), (
        Target("`update(i, [loss, acc])` net (live / line / silent)", "≤ 0.5 × Keras's net",
               _ratio_target("3. update", "progbar update", 0.5)),
    )),
    Case(4, lambda s, q: case_render(500 if q else 20_000, 2 if q else 7, s.null), (
        Target("one full render, 4 metrics, keras style", "≤ 1 × Keras's",
               _ratio_target("4. render", "progbar keras style", 1.0)),
        Target("one full render, 4 metrics, default style (more fields)", "≤ 1.5 × Keras's",
               _ratio_target("4. render", "progbar default", 1.5)),
    )),
    Case(5, lambda s, q: case_import(2 if q else 15, with_keras=not q), (
        Target("`import progbar` above `python -c pass`", "≤ 0.1 × `import tqdm`'s, same run",
               _import),
    )),
    Case(6, lambda s, q: case_memory([1_000, 10_000] if q else [100_000, 1_000_000], s.null), (
        Target("memory over 10⁶ updates", "flat", _memory),
    )),
    Case(7, lambda s, q: case_tensors(50 if q else 400), (
        Target("tensor metrics: host syncs", "≤ 1 per metric per render", _tensor_syncs),
    )),
    Case(8, lambda s, q: case_handle(5_000 if q else 200_000, 2 if q else 7, s.tty), (
        Target("a worker's `handle.add(1)` (in the parent / a forked worker)",
               "≤ 2 × a local `bar.add(1)`",
               _ratio_target("8. worker", "worker handle.add(1)", 2.0)),
    )),
    Case(9, lambda s, q: case_block(500 if q else 20_000, 2 if q else 7, s.null), (
        Target("one frame of a 3-bar block", "≤ 3 × one single-bar render",
               _ratio_target("9. several bars", "3-bar block", 3.0)),
    )),
    Case(10, lambda s, q: case_loop(5_000 if q else 100_000, 2 if q else 11, s.tty), (
        Target("`track` + `bar.log(loss=, acc=)` net", "≤ 0.75 × Keras's `update` net",
               _ratio_target("10.", "progbar track + bar.log(loss=, acc=)", 0.75)),
        Target("`bar.add(1)` net (thread-safe; tqdm's is not)", "≤ 1 × tqdm's `update(1)` net",
               _ratio_target("10.", "progbar bar.add(1)", 1.0)),
        Target("`bar.current` inside a `track` loop", "≤ 3 × a plain `@property` read",
               _ratio_target("10.", "progbar track + bar.current", 3.0)),
    )),
    Case(11, lambda s, q: case_files(4 if q else 64, 2 if q else 9, s.tty), (
        Target("`progbar.open` 64 KiB reads", "≤ 1.05 × a plain `read()` loop",
               _ratio_target("11. file read", "progbar.open", 1.05)),
    )),
    Case(12, lambda s, q: case_map(2_000 if q else 20_000, 2 if q else 9, s.tty), (
        Target("`progbar.map` net over `ThreadPoolExecutor.map`", "≤ 0.5 × tqdm's `thread_map`",
               _map_overhead),
    )),
]
CASES.append(
    Case(13, lambda s, q: case_pool(200 if q else 1_000, 8 if q else 32, 2 if q else 7, s.tty), (
        Target("1,000 short tasks on a pool of 32, each `handle.add(1, [(loss, v)])`",
               "≤ 1.3 × the same pool without progbar",
               _ratio_target("13. ", "pool.map + handle.add", 1.3)),
    )))
TARGETS: list[Target] = [t for case in CASES for t in case.targets]
TARGETS_HEAD = "| target | goal | measured | |"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "| " + " | ".join("-" * w for w in widths) + " |"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return lines


def _versions() -> str:
    from importlib import metadata

    found = []
    for name in ("tqdm", "rich", "keras"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found) or "no peers installed"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def performance_page(rows: list[list[str]], quick: bool, seconds: float) -> str:
    targets = []
    for what, goal, read in ((t.what, t.goal, t.read) for t in TARGETS):
        result = read(rows)
        if result is None:
            targets.append(f"| {what} | {goal} | not measured | |")
        else:
            verdict = "met" if result[1] else "missed"
            targets.append(f"| {what} | {goal} | {result[0]} | {verdict} |")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        PAGE_MARKER,
        "",
        "# Performance",
        "",
        "progbar measured side by side with tqdm, rich and `keras.utils.Progbar` in one process,",
        "on one machine, by `benchmarks/run.py`, which wrote this page. Each round runs every",
        "variant of a case in a rotated order after a warm-up round; ratios are taken per round,",
        "so they read the same from one run to the next even when absolute times drift. On a",
        "shared machine single runs move by ±20%: read the ratios, not the nanoseconds.",
        "Why the numbers are what they are: [the design](design.md#9-performance-targets).",
        "",
        f"- **Run:** {when}, {'quick (smoke sizes: not a measurement)' if quick else 'full'} "
        f"run in {seconds:.0f} s",
        f"- **Machine:** {os.cpu_count()} cores ({_cpu()}), {platform.system()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"- **progbar** {progbar.__version__}; peers: {_versions()}",
        "- **Command:** `pip install -e '.[bench]' && python benchmarks/run.py --write "
        "docs/performance.md`",
        "",
        "## Targets",
        "",
        TARGETS_HEAD,
        "| --- | --- | --- | --- |",
        *targets,
        "",
        "## Every measurement",
        "",
        "ns per item / per call unless stated; *net* is above the bare loop (case 1) or above a",
        "no-op function called with the same arguments (cases 3, 8, 10). Each row names the",
        "output it measured: *live pty* (a pseudo-terminal drained by a thread), *line file*",
        "(a log file), *silent* (verbose=0), *recorder* (a stream that notes when each line",
        "was written).",
        "",
        *_table(HEAD, rows),
        "",
    ]
    return "\n".join(lines)


def check_page(text: str) -> list[str]:
    """What makes ``text`` not this script's page: the marker, the sections, the targets
    (each of this script's, in order) and the columns of the measurements.  Numbers are
    not compared: they differ from run to run."""
    problems = []
    lines = text.splitlines()
    if not lines or lines[0] != PAGE_MARKER:
        problems.append("the first line is not the generator's marker")
    for heading in ("# Performance", "## Targets", "## Every measurement"):
        if heading not in lines:
            problems.append(f"no {heading!r} section")
    if TARGETS_HEAD not in lines:
        problems.append("no targets table")
    else:
        start = lines.index(TARGETS_HEAD) + 2
        shown = [line.split(" | ")[0].removeprefix("| ") for line in lines[start:]
                 if line.startswith("| ")]
        wanted = [t.what for t in TARGETS]
        if shown[:len(wanted)] != wanted:
            problems.append(f"targets table rows {shown} are not the script's {wanted}")
    head = [line for line in lines if line.startswith("| case ")]
    if not head or [c.strip() for c in head[0].strip("|").split("|")] != HEAD:
        problems.append("the measurements table does not have the script's columns")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: seconds, small sizes")
    ap.add_argument("--only", default="", metavar="CASES",
                    help="run only these case numbers, e.g. --only 3,4 (default: all)")
    ap.add_argument("--write", metavar="PAGE",
                    help="also write the Markdown page (docs/performance.md) from this run")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the run as JSON: every row, every target's reading")
    ap.add_argument("--check", metavar="PAGE",
                    help="run nothing; fail unless PAGE is this script's page format")
    args = ap.parse_args(argv)
    if args.check:
        with open(args.check, encoding="utf-8") as page:
            problems = check_page(page.read())
        for problem in problems:
            print(f"{args.check}: {problem}; regenerate it with "
                  "`python benchmarks/run.py --write docs/performance.md`", file=sys.stderr)
        return 1 if problems else 0
    q = args.quick
    only = {c.strip() for c in args.only.split(",") if c.strip()}
    shared = Shared(Pty(), open(os.devnull, "w", encoding="utf-8"))
    started = time.monotonic()
    rows: list[list[str]] = []
    for case in CASES:
        if not only or str(case.number) in only:
            rows += case.run(shared, q)
    shared.tty.close()
    seconds = time.monotonic() - started
    print(f"progbar {progbar.__version__} · Python {platform.python_version()} · "
          f"{os.cpu_count()} cores · {platform.machine()} · "
          f"{'quick' if q else 'full'} run in {seconds:.0f} s")
    print("ns per item / per call unless stated; net = above the bare loop or no-op call")
    print("\n".join(_table(HEAD, rows)))
    if args.write:
        with open(args.write, "w", encoding="utf-8") as page:
            page.write(performance_page(rows, q, seconds))
        print(f"wrote {args.write}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results(rows, q, seconds), out, indent=1)
        print(f"wrote {args.json}")
    return 0


def results(rows: list[list[str]], quick: bool, seconds: float) -> dict[str, Any]:
    """The run as data: every row by column, every target with its reading."""
    targets = []
    for t in TARGETS:
        reading = t.read(rows)
        targets.append({"target": t.what, "goal": t.goal,
                        "measured": reading[0] if reading else None,
                        "met": reading[1] if reading else None})
    return {
        "progbar": progbar.__version__, "python": platform.python_version(),
        "cores": os.cpu_count(), "machine": _cpu(), "quick": quick,
        "seconds": round(seconds, 1),
        "rows": [dict(zip(HEAD, r)) for r in rows],
        "targets": targets,
    }


if __name__ == "__main__":
    sys.exit(main())
