"""Time estimates: seconds per step, and the seconds left, for each style's line.

One room for "how long does a step take?": each style holds one pace object and asks
it at each render (``per_step``); ``Progbar.rate`` and ``Progbar.eta`` ask it too,
without moving it (``peek``: what the next frame would show).  Each pace is a small
state machine over ``(count, time)`` readings on the bar's clock; none reads a clock
itself.  Keras's rule and ours differ on purpose (the keras styles reproduce Keras's
numbers byte for byte):

* :class:`MeanPace` -- Keras 2's classic: the mean since the start.
* :class:`MeanAfterFirstPace` -- Keras 3 and tf_keras: the mean since step one once a
  second step is there (step one holds compilation and warm-up).
* :class:`SmoothedPace` -- the default style: the mean at the first render, then an
  exponential average of the pace between renders; the first render's estimate, which
  holds step one, is dropped at the second.
"""

from __future__ import annotations

import math

__all__ = ["MeanAfterFirstPace", "MeanPace", "Pace", "SmoothedPace", "eta_up"]


def eta_up(per_step: float, remaining: float) -> float:
    """Seconds left, rounded up to a whole second while steps remain: an ETA never
    reads zero while there is work left."""
    eta = per_step * remaining
    if remaining > 0 and per_step > 0:
        return float(max(math.ceil(eta), 1)) if eta == eta else eta
    return max(eta, 0.0)


class Pace:
    """Seconds per step from ``(count, time)`` readings, counted from ``initial`` (a
    resumed bar's rate counts only what this run did)."""

    def __init__(self, start: float, initial: float) -> None:
        self.start = start
        self.initial = initial

    def restart(self, start: float) -> None:
        """Start over at ``start`` (``Progbar.reset``)."""
        self.start = start

    def per_step(self, current: float, now: float) -> float:
        """Seconds per step as of ``now``, at count ``current`` (0.0: no step yet); a
        render's reading, which the pace takes in."""
        return self.peek(current, now)

    def peek(self, current: float, now: float) -> float:
        """What :meth:`per_step` would answer now, leaving the pace as it is."""
        raise NotImplementedError


class MeanPace(Pace):
    def peek(self, current: float, now: float) -> float:
        current = current - self.initial
        return (now - self.start) / current if current else 0.0


class MeanAfterFirstPace(Pace):
    def __init__(self, start: float, initial: float) -> None:
        super().__init__(start, initial)
        self._after_first: float | None = None  # when step one was seen

    def restart(self, start: float) -> None:
        super().restart(start)
        self._after_first = None

    def peek(self, current: float, now: float) -> float:
        # Keras records the time of step one when it sees it and leaves step one out
        # once a second is there (it holds compilation, warm-up...).
        current = current - self.initial
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            return (now - self._after_first) / (current - 1)
        return (now - self.start) / current

    def per_step(self, current: float, now: float) -> float:
        per = self.peek(current, now)
        if current - self.initial == 1:
            self._after_first = now
        return per


class SmoothedPace(Pace):
    def __init__(self, start: float, initial: float) -> None:
        super().__init__(start, initial)
        self.restart(start)

    def restart(self, start: float) -> None:
        super().restart(start)
        self._ema: float | None = None
        self._dropped_first = False
        self._prev_t = start
        self._prev_c: float = 0

    def _next(self, current: float, now: float) -> tuple[float | None, bool]:
        """The estimate after a reading at ``(current, now)``, and whether that
        reading is taken in (a count that moved on since the last one)."""
        if self._ema is None:
            return (now - self.start) / current, True
        if current <= self._prev_c:
            return self._ema, False
        instant = (now - self._prev_t) / (current - self._prev_c)
        if not self._dropped_first:  # the first estimate held step one
            return instant, True
        return 0.3 * instant + 0.7 * self._ema, True

    def peek(self, current: float, now: float) -> float:
        current = current - self.initial
        if current <= 0:
            return 0.0
        ema, _ = self._next(current, now)
        return ema if ema is not None else 0.0

    def per_step(self, current: float, now: float) -> float:
        current = current - self.initial
        if current <= 0:
            return 0.0
        first = self._ema is None
        ema, taken = self._next(current, now)
        if taken:
            if not first:
                self._dropped_first = True
            self._ema = ema
            self._prev_t, self._prev_c = now, current
        return self._ema if self._ema is not None else 0.0
