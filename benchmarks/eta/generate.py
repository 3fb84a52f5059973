"""Generated traces, each from stated parameters and a fixed seed.

Recorded runs (``record.py``) show what frameworks do; these show what they cannot in
a few minutes on this machine: a download whose bandwidth moves between regimes, a
curriculum whose step time grows stepwise, steady steps with noise, and epochs with
checkpoint pauses.  Times are in realistic seconds already (scale 1).
"""

from __future__ import annotations

import random
from typing import Any, Callable

Events = list[list[Any]]


def _epochs(rng: random.Random, epochs: int, phases: Callable[[int, float, Events], float]
            ) -> Events:
    events: Events = [[0.0, "begin", None, epochs]]
    t = 0.0
    for epoch in range(epochs):
        t = phases(epoch, t, events)
        events.append([t, "epoch", None, None])
    events.append([t, "end", None, None])
    return events


def _bar(events: Events, rng: random.Random, t: float, label: str, steps: int,
         step_time: Callable[[int], float], pause: Callable[[int], float] = lambda i: 0.0,
         ) -> float:
    events.append([t, "open", label, steps])
    for i in range(steps):
        t += step_time(i) + pause(i)
        events.append([t, "step", label, 1])
    events.append([t, "close", label, None])
    return t


def _lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    # a log-normal step time with the given mean
    return mean * rng.lognormvariate(-sigma * sigma / 2, sigma)


def download_regimes(seed: int = 1) -> tuple[str, Events]:
    """One bar of 20 GB (counted in MB) read in 10 MB chunks; the bandwidth moves
    between 8, 25 and 60 MB/s, staying in a regime for an exponential time of mean
    120 s; each chunk's time varies by 20 % (log-normal)."""
    rng = random.Random(seed)
    events: Events = [[0.0, "begin", None, None], [0.0, "open", "download", 20000]]
    t, regime_end, bandwidth = 0.0, 0.0, 25.0
    for _ in range(2000):
        if t >= regime_end:
            bandwidth = rng.choice([8.0, 25.0, 60.0])
            regime_end = t + rng.expovariate(1 / 120)
        t += _lognormal(rng, 10.0 / bandwidth, 0.2)
        events.append([t, "step", "download", 10])
    events += [[t, "close", "download", None], [t, "end", None, None]]
    return download_regimes.__doc__ or "", events


def curriculum_growth(seed: int = 2) -> tuple[str, Events]:
    """8 epochs of 300 training steps and 40 validation steps; the training step
    takes 1.0 s (15 % noise) and grows by a quarter every second epoch (longer
    sequences); validation steps take 0.5 s."""
    rng = random.Random(seed)

    def phases(epoch: int, t: float, events: Events) -> float:
        mean = 1.0 * 1.25 ** (epoch // 2)
        t = _bar(events, rng, t, "train", 300, lambda i: _lognormal(rng, mean, 0.15))
        return _bar(events, rng, t, "val", 40, lambda i: _lognormal(rng, 0.5, 0.15))

    return curriculum_growth.__doc__ or "", _epochs(rng, 8, phases)


def steady_noisy(seed: int = 3) -> tuple[str, Events]:
    """6 epochs of 400 training steps of 1.2 s with 30 % noise (log-normal), and 60
    validation steps of 0.4 s with 30 % noise."""
    rng = random.Random(seed)

    def phases(epoch: int, t: float, events: Events) -> float:
        t = _bar(events, rng, t, "train", 400, lambda i: _lognormal(rng, 1.2, 0.3))
        return _bar(events, rng, t, "val", 60, lambda i: _lognormal(rng, 0.4, 0.3))

    return steady_noisy.__doc__ or "", _epochs(rng, 6, phases)


def checkpoint_pauses(seed: int = 4) -> tuple[str, Events]:
    """8 epochs of 500 training steps of 0.8 s (20 % noise) with a 40 s checkpoint
    every 100 steps inside the bar, then 50 validation steps of 0.3 s, then a 90 s
    save of the epoch's checkpoint."""
    rng = random.Random(seed)

    def phases(epoch: int, t: float, events: Events) -> float:
        t = _bar(events, rng, t, "train", 500, lambda i: _lognormal(rng, 0.8, 0.2),
                 lambda i: _lognormal(rng, 40.0, 0.1) if i % 100 == 99 and i < 499 else 0.0)
        t = _bar(events, rng, t, "val", 50, lambda i: _lognormal(rng, 0.3, 0.2))
        return t + _lognormal(rng, 90.0, 0.1)

    return checkpoint_pauses.__doc__ or "", _epochs(rng, 8, phases)


GENERATED: dict[str, Callable[[], tuple[str, Events]]] = {
    "download_regimes": download_regimes,
    "curriculum_growth": curriculum_growth,
    "steady_noisy": steady_noisy,
    "checkpoint_pauses": checkpoint_pauses,
}
