"""The peers' estimates: tqdm, rich, Keras 3's ``Progbar`` and enlighten, their own code
driven on a replayed clock (no sleeping), each read for the ETA it would show.

Interface of every peer:
    p = XPeer(total, start)   # bar created at time `start`
    p.step(n, t)              # n MORE units done at time t (the library's update/advance call)
    p.eta(t) -> float|None    # seconds remaining the bar would show if it drew a frame at t
    p.close()

Clocks: times must be non-decreasing per peer; peers may be interleaved freely in ONE
thread. Each peer keeps its own `now`; module-level `time` names are swapped in only for
the duration of a library call and restored afterwards (not thread-safe, but harmless to
other code in the process between calls).
"""
import io
import os
import time as _real_time
from contextlib import contextmanager
from weakref import WeakSet

os.environ.setdefault("KERAS_BACKEND", "torch")

import enlighten
import enlighten._basecounter as _en_base
import enlighten._basemanager as _en_mgr
import enlighten._counter as _en_counter
import tqdm.std as _tqdm_std
from keras.src.utils import progbar as _kprog
from rich.console import Console
from rich.progress import Progress

_DEVNULL = open(os.devnull, "w")


class _FakeTimeModule:
    """Stand-in for the `time` module: .time() returns the owning peer's clock."""

    def __init__(self, owner):
        self._owner = owner

    def time(self):
        return self._owner.now

    def __getattr__(self, name):  # anything else (sleep, monotonic, ...) -> real module
        return getattr(_real_time, name)


@contextmanager
def _swap(pairs):
    old = [(m, k, getattr(m, k)) for m, k, _ in pairs]
    for m, k, v in pairs:
        setattr(m, k, v)
    try:
        yield
    finally:
        for m, k, v in old:
            setattr(m, k, v)


# ---------------------------------------------------------------- tqdm
class _QuietTqdm(_tqdm_std.tqdm):
    # No TMonitor thread: it compares REAL time.time() with our fake last_print_t and would
    # set miniters=1 at random wall-clock moments. TqdmPeer emulates it in fake time instead.
    monitor_interval = 0
    _instances = WeakSet()


class TqdmPeer:
    """tqdm.std.tqdm, defaults (smoothing=0.3, mininterval=0.1, maxinterval=10, dynamic
    miniters). Clock: tqdm.std.time (a `from time import time` name) swapped during
    __init__, then the instance attribute `bar._time` is our closure (no global patch)."""

    def __init__(self, total, start, emulate_monitor=True):
        self.now = start
        self.emulate_monitor = emulate_monitor
        with _swap([(_tqdm_std, "time", lambda: self.now)]):
            self.bar = _QuietTqdm(total=total, file=_DEVNULL)  # disable stays False
        self.bar._time = lambda: self.now

    def step(self, n, t):
        self.now = t
        b = self.bar
        # What TMonitor does for a stalled bar (approx.: the real thread only looks every
        # monitor_interval=10 s of wall time, so it fires 10..20 s after the last print).
        if self.emulate_monitor and b.miniters > 1 and t - b.last_print_t >= b.maxinterval:
            b.miniters = 1
        b.update(n)  # EMA(dn), EMA(dt) only move here when n-last_print_n>=miniters and dt>=0.1

    def eta(self, t):
        self.now = t
        d = self.bar.format_dict  # rate = _ema_dn()/_ema_dt() or None; elapsed = t - start_t
        d["bar_format"] = "{remaining_s!r}|{remaining}"
        s_val, shown = _tqdm_std.tqdm.format_meter(**d).split("|", 1)
        return None if shown == "?" else float(s_val)  # format_meter falls back to n/elapsed

    def close(self):
        self.bar.close()


# ---------------------------------------------------------------- rich
class RichPeer:
    """rich.progress.Progress (speed_estimate_period=30). Clock: Progress(get_time=...) is a
    documented per-instance hook -> no global patch. Reads Task.time_remaining
    (= ceil(remaining / Task.speed), None if no speed, 0.0 once finished)."""

    def __init__(self, total, start):
        self.now = start
        self.progress = Progress(console=Console(file=io.StringIO()), auto_refresh=False,
                                 redirect_stdout=False, redirect_stderr=False,
                                 get_time=lambda: self.now)  # never .start()ed: no rendering
        self.tid = self.progress.add_task("", total=total)
        self.task = self.progress._tasks[self.tid]

    def step(self, n, t):
        self.now = t
        self.progress.advance(self.tid, n)  # prunes samples older than t-30 s, keeps <=1001

    def eta(self, t):
        self.now = t  # irrelevant: speed uses only sample timestamps, window pruned on advance
        r = self.task.time_remaining
        return None if r is None else float(r)

    def close(self):
        self.progress.remove_task(self.tid)


# ---------------------------------------------------------------- keras
class _NullIO:
    @staticmethod
    def print_msg(message, line_break=True):
        pass


class KerasPeer:
    """keras.utils.Progbar (= keras.src.utils.progbar.Progbar), verbose=1, interval=0.05.
    Clock: module global keras.src.utils.progbar.time swapped for each call; output: that
    module's io_utils swapped for a no-op print_msg (the message is still built)."""

    def __init__(self, total, start):
        self.now = start
        self.done = 0
        self._patch = [(_kprog, "time", _FakeTimeModule(self)), (_kprog, "io_utils", _NullIO)]
        with _swap(self._patch):
            self.bar = _kprog.Progbar(total)

    def step(self, n, t):
        self.now = t
        self.done += n
        with _swap(self._patch):
            self.bar.update(self.done)  # update() takes the CUMULATIVE count

    def eta(self, t):
        b, cur = self.bar, self.bar._seen_so_far
        if b.target is None or cur >= b.target:
            return None  # finalize frame shows elapsed, no ETA
        saved = b._time_after_first_step  # _estimate_step_duration mutates it when cur == 1
        tpu = b._estimate_step_duration(cur, t)
        b._time_after_first_step = saved
        return float(tpu * (b.target - cur))  # update()'s eta = time_per_unit * (target - current)

    def close(self):
        pass


# ---------------------------------------------------------------- enlighten
_EN_MANAGER = None


def _en_manager():
    global _EN_MANAGER
    if _EN_MANAGER is None:  # one shared manager: it registers atexit once
        _EN_MANAGER = enlighten.Manager(stream=_DEVNULL, no_resize=True, set_scroll=False,
                                        width=80)
    return _EN_MANAGER


class EnlightenPeer:
    """enlighten Counter (min_delta=0.1). Clock: module globals `time` in enlighten._counter,
    enlighten._basecounter, enlighten._basemanager swapped for each call.
    ETA: Counter.format() computes rate = iterations/elapsed (whole-run average) and
    eta = (total - iterations)/rate; we put {rate} in bar_format at full precision and
    apply that same one-line formula (the {eta} field itself is an mm:ss string)."""

    FMT = "{rate:.17g}|{eta}|{bar}"

    def __init__(self, total, start):
        self.now = start
        fake = _FakeTimeModule(self)
        self._patch = [(_en_counter, "time", fake), (_en_base, "time", fake),
                       (_en_mgr, "time", fake)]
        with _swap(self._patch):
            self.c = _en_manager().counter(total=total, bar_format=self.FMT, leave=False)

    def step(self, n, t):
        self.now = t
        with _swap(self._patch):
            self.c.update(n)  # redraws only if >= min_delta since last draw (or at total)

    def eta(self, t):
        self.now = t
        with _swap(self._patch):
            rate_s, shown, _ = self.c.format().split("|", 2)
        if shown == "?":
            return None
        rate = float(rate_s)
        iters = abs(self.c.count - self.c.start_count)
        return (self.c.total - iters) / rate if rate else 0.0  # total==0 case shows 00:00

    def close(self):
        with _swap(self._patch):
            self.c.close()


PEERS = (TqdmPeer, RichPeer, KerasPeer, EnlightenPeer)
