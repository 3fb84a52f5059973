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
* :class:`LearnedPace` -- the default style: step one left out as warm-up, pauses
  (a reading far slower than the pace) counted apart and spread over the steps, and
  the mean pace since the last real change of pace (design.md, "The estimate").  It
  takes a reading at every clock read of the bar, not only at renders, and what one
  bar learned (:class:`Learned`) starts the next bar of the same label.
"""

from __future__ import annotations

import math

__all__ = ["Learned", "LearnedPace", "MeanAfterFirstPace", "MeanPace", "Pace", "eta_up"]


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

    def observe(self, current: float, now: float) -> None:
        """A reading of the count at a clock read that draws nothing (the Keras paces
        take theirs at renders only, as Keras does)."""

    def remaining(self, current: float, target: float, now: float) -> float | None:
        """Seconds until ``target`` as of ``now``, leaving the pace as it is; None
        when it cannot tell."""
        if current >= target:
            return 0.0
        per_step = self.peek(current, now)
        if not per_step > 0:
            return None
        return per_step * (target - current)


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


# A reading this many times slower than the pace is a pause (an evaluation, a save),
# unless PAUSE_RUN of them come in a row: then the pace itself changed.
PAUSE_FACTOR = 4.0
PAUSE_RUN = 3
# The last CHANGE_WINDOW regular readings are tested against the older ones of the
# same stretch at each reading: a pace that differs by more than CHANGE_SIGMAS times
# the spread of a window's mean (and by CHANGE_LEAST at the least, as a log ratio,
# about 16 %) starts a new stretch from that window.
CHANGE_WINDOW = 16
CHANGE_SIGMAS = 4.0
CHANGE_LEAST = 0.05
CHANGE_EVERY = 4  # readings between two tests (a test costs more than a reading)
# Step one is judged once this many regular readings are in: slower than the pace
# by WARMUP_FACTOR, it was warm-up (left out); else it counts as a step like others.
WARMUP_JUDGED = 3
WARMUP_FACTOR = 1.5
# A bar whose pace changed this many times is taken to move between regimes (a
# download's bandwidth): the pace now lasts a while, then the bar's mean returns.
# Fewer changes are followed for good.
REVERTING = 2
# What an earlier bar of the same label taught counts as this many steps at most, so
# that this bar's own steps soon outweigh it.
PRIOR_STEPS = 200


class Learned:
    """What a finished bar learned, to start the next bar of its label with.  (Not a
    NamedTuple: ``typing`` costs ``import progbar`` ten milliseconds.)"""

    __slots__ = ("per_step", "pause_per_step", "warmup", "warmups", "steps")

    def __init__(self, per_step: float, pause_per_step: float, warmup: float,
                 warmups: int, steps: float) -> None:
        self.per_step = per_step  # seconds per step, pauses left out
        self.pause_per_step = pause_per_step  # the pauses' seconds, spread over the steps
        self.warmup = warmup  # seconds step one took beyond the pace
        self.warmups = warmups  # bars in a row, up to this one, whose step one was slow
        self.steps = steps  # the steps behind these numbers

    @property
    def expected_warmup(self) -> float:
        """The warm-up the next bar is expected to have: one seen in two bars in a
        row comes again (workers that start each epoch); one seen once does not
        (compiling)."""
        return self.warmup if self.warmups >= 2 else 0.0

    def __repr__(self) -> str:
        return (f"Learned(per_step={self.per_step!r}, pause_per_step={self.pause_per_step!r}, "
                f"warmup={self.warmup!r}, warmups={self.warmups!r}, steps={self.steps!r})")


class LearnedPace(Pace):
    """The default style's estimate (see the module docstring and design.md)."""

    def __init__(self, start: float, initial: float, learned: Learned | None = None) -> None:
        super().__init__(start, initial)
        self.learned = learned
        self.restart(start)

    def restart(self, start: float) -> None:
        super().restart(start)
        self._last_t = start  # the last reading that moved the count
        self._last_c: float = 0  # its count, from ``initial``
        self._warmup: tuple[float, float] | None = None  # step one's (seconds, steps)
        # The stretch since the last change of pace: seconds and steps, an earlier
        # bar's prior while no change was seen, and the spread of its readings.
        self._seg_t = self._seg_n = 0.0
        self._prior_t = self._prior_n = 0.0
        learned = self.learned
        if learned is not None and learned.per_step > 0:
            self._prior_n = min(learned.steps, PRIOR_STEPS)
            self._prior_t = learned.per_step * self._prior_n
        self._logs = 0  # regular readings in the stretch, and their log-pace moments
        self._log_mean = self._log_m2 = 0.0
        self._window: list[tuple[float, float]] = []  # the last CHANGE_WINDOW of them
        self._win_t = self._win_n = 0.0  # and their sums
        self._pending: list[tuple[float, float]] = []  # slow readings: pauses, or a change
        self._pause_t = 0.0  # seconds of pauses seen
        self._steps = 0.0  # steps after step one, pauses' included
        self._warmup_open = True  # step one not judged yet (see WARMUP_JUDGED)
        # Every regular reading of this bar, whatever stretch it fell in, and the
        # changes of pace seen: how long a pace lasts here (see remaining()).
        self._all_t = self._all_n = 0.0
        self._changes = 0

    # -- readings ----------------------------------------------------------------

    def observe(self, current: float, now: float) -> None:
        done = current - self.initial
        if done <= self._last_c:
            if done < self._last_c:  # the count went back: read on from here
                self._last_c, self._last_t = done, now
            return
        dn = done - self._last_c
        dt = now - self._last_t
        self._last_c, self._last_t = done, now
        if self._warmup is None:
            self._warmup = (dt, dn)
            return
        self._steps += dn
        pace = self._regular()
        if pace is not None and dt > PAUSE_FACTOR * dn * pace:
            self._pending.append((dt, dn))
            if len(self._pending) >= PAUSE_RUN:  # not pauses: a slower pace
                self._new_stretch(self._pending, fresh=True)
                self._pending = []
            return
        for pause_t, pause_n in self._pending:  # the slow readings were pauses
            if pace is not None:
                self._pause_t += pause_t - pause_n * pace
                self._regular_reading(pause_n * pace, pause_n)
        self._pending = []
        self._regular_reading(dt, dn)
        if self._warmup_open and self._logs >= WARMUP_JUDGED:
            self._warmup_open = False
            # Step one was no slower than the others: it was no warm-up, and counts.
            warm_t, warm_n = self._warmup
            pace = self._regular()
            if pace is not None and warm_t <= WARMUP_FACTOR * warm_n * pace:
                self._steps += warm_n
                self._regular_reading(warm_t, warm_n)

    def per_step(self, current: float, now: float) -> float:
        self.observe(current, now)
        return self.peek(current, now)

    def _regular_reading(self, dt: float, dn: float, fresh: bool = True) -> None:
        """A reading at the pace (not a pause) joins the stretch; ``fresh``: a reading
        not taken in before (a new stretch takes some in again)."""
        if fresh:
            self._all_t += dt
            self._all_n += dn
        self._seg_t += dt
        self._seg_n += dn
        window = self._window
        window.append((dt, dn))
        self._win_t += dt
        self._win_n += dn
        if len(window) > CHANGE_WINDOW:
            old_dt, old_dn = window.pop(0)
            self._win_t -= old_dt
            self._win_n -= old_dn
        if dt > 0:
            self._logs += 1
            x = math.log(dt / dn)
            delta = x - self._log_mean
            self._log_mean += delta / self._logs
            self._log_m2 += delta * (x - self._log_mean)
        if self._prior_n and self._logs >= 3:
            # An earlier bar's pace that this bar's own steps belie is dropped.
            ratio = abs(math.log((self._seg_t / self._seg_n) / (self._prior_t / self._prior_n)))
            if ratio > max(CHANGE_LEAST, 1 / math.sqrt(self._logs)):
                self._prior_t = self._prior_n = 0.0
        if (len(window) < CHANGE_WINDOW or self._logs < 2 * CHANGE_WINDOW
                or self._logs % CHANGE_EVERY):
            return
        win_t, win_n = self._win_t, self._win_n
        old_t = self._seg_t - win_t + self._prior_t
        old_n = self._seg_n - win_n + self._prior_n
        if win_t <= 0 or old_t <= 0 or old_n <= 0:
            return
        old = old_t / old_n
        ratio = abs(math.log((win_t / win_n) / old))
        spread = math.sqrt(self._log_m2 / (self._logs - 1) / CHANGE_WINDOW)
        if ratio > max(CHANGE_LEAST, CHANGE_SIGMAS * spread):
            # A change that lasts, not a few odd readings: the new stretch is the
            # readings since it, at least half the window all on its side.
            slower = win_t / win_n > old
            since: list[tuple[float, float]] = []
            for dt, dn in reversed(window):
                if (dt / dn > old) != slower:
                    break
                since.append((dt, dn))
            if len(since) >= CHANGE_WINDOW // 2:
                self._new_stretch(since[::-1], fresh=False)

    def _new_stretch(self, readings: list[tuple[float, float]], fresh: bool) -> None:
        """The pace changed: the stretch starts over from ``readings``."""
        self._changes += 1
        self._seg_t = self._seg_n = self._prior_t = self._prior_n = 0.0
        self._logs = 0
        self._log_mean = self._log_m2 = 0.0
        self._window = []
        self._win_t = self._win_n = 0.0
        for dt, dn in readings:
            self._regular_reading(dt, dn, fresh)

    # -- the estimate --------------------------------------------------------------

    def _regular(self) -> float | None:
        """Seconds per step, pauses and step one left out (None: no such step yet)."""
        n = self._seg_n + self._prior_n
        return (self._seg_t + self._prior_t) / n if n > 0 else None

    def _pause_per_step(self, pending: bool = True) -> float:
        """Pauses' seconds per step; with ``pending``, slow readings not yet told from
        a change count as pauses (the likelier), as they do not in a bar's lesson (a
        slow last step -- compiling a last partial batch -- is no pattern)."""
        learned = self.learned
        pause_t, steps = self._pause_t, self._steps
        if not pause_t and not self._pending and learned is None:
            return 0.0  # (the usual case, at every render)
        pace = self._regular()
        if pending and pace is not None:
            pause_t += sum(max(dt - dn * pace, 0.0) for dt, dn in self._pending)
        if learned is not None:
            pause_t += learned.pause_per_step * learned.steps
            steps += learned.steps
        return pause_t / steps if steps > 0 else 0.0

    def peek(self, current: float, now: float) -> float:
        """Seconds per step, pauses spread in (0.0: no step yet).  Steps made since
        the last reading count while too few readings tell (a silent bar takes none)."""
        pace = self._regular()
        if pace is None:
            done = current - self.initial
            warmup = self._warmup
            if warmup is None:
                return (now - self.start) / done if done > 0 else 0.0
            if done > self._last_c:
                return (now - self._last_t) / (done - self._last_c)
            return warmup[0] / warmup[1]  # step one is all there is
        return pace + self._pause_per_step()

    def remaining(self, current: float, target: float, now: float) -> float | None:
        left = target - current
        if left <= 0:
            return 0.0
        since = now - self._last_t if current - self.initial <= self._last_c else 0.0
        per_step = self.peek(current, now)
        if not per_step > 0:
            return None
        this_step = per_step
        learned = self.learned
        if self._warmup is None and learned is not None:
            # Nothing read yet: the pace the last bar of this label learned, and its
            # step one's warm-up if warm-ups come again.
            this_step += learned.expected_warmup
        ahead = per_step * left
        if self._changes >= REVERTING and self._all_n > 0:
            # The pace moved back and forth: the pace now is expected to last as long
            # as paces have lasted in this bar, and the bar's mean pace after that.
            lasting = self._all_t / (self._changes + 1)
            steps_now = min(left, lasting / per_step)
            mean = self._all_t / self._all_n + self._pause_per_step()
            ahead = steps_now * per_step + (left - steps_now) * mean
        # The step under way: its time so far is behind us, up to most of what it
        # takes (one that is overdue may end any moment, but not in no time).
        return max(ahead + this_step - per_step - min(since, 0.9 * this_step), 0.0)

    def lesson(self) -> Learned | None:
        """What this bar learned, for the next bar of its label (None: too little)."""
        pace = self._regular()
        if pace is None:
            return self.learned
        warmup = self._warmup
        extra = max(warmup[0] - warmup[1] * pace, 0.0) if warmup is not None else 0.0
        before = self.learned
        slow = warmup is not None and warmup[0] > WARMUP_FACTOR * warmup[1] * pace
        warmups = (before.warmups if before is not None else 0) + 1 if slow else 0
        return Learned(pace, self._pause_per_step(pending=False), extra, warmups,
                       self._steps + (before.steps if before is not None else 0.0))
