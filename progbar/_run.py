"""The whole run's estimate: an outer bar whose steps hold inner bars.

An epoch bar over train and validation bars knows more than each of them: how long
its steps took, and which phases (inner bars, and the gaps between them -- a
checkpoint, a log) make up a step.  :class:`RunEstimate` gathers that, and answers
"how long until the outer bar is done?" with its steps still to come at the pace of
the finished ones, plus what remains of the current step: the running inner bar's
own estimate, and the phases not yet begun at the length they had in the last step
(design.md, "The estimate").

Nesting needs no new object (as on the screen): a bar that starts on a thread while
another bar of that thread with a target is counting and unfinished (its loop runs, or
it has moved) is that bar's inner bar.  :func:`enter` lists the open bars of the
thread and :func:`leave` takes a closed one off.  Inner bars
hand their estimate to the run (:class:`Phase`), and what each learned is kept for
the next inner bar of its label (it starts from that pace and shows an ETA before
its first step).

Every method takes the run's own lock, which is a leaf: nothing is called while it is
held, so inner bars (holding their lock) and the outer bar (holding its own) may both
call in.
"""

from __future__ import annotations

from _thread import _local, allocate_lock
from _weakref import ref as _weakref

from ._estimate import Learned

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Phase", "RunEstimate", "enter", "leave"]

# The last steps of the outer bar whose mean paces the steps to come (a pace that
# drifts is followed; the first step, which holds warm-up, is left out once a second
# is there).
RECENT_STEPS = 5


class RunEstimate:
    """The remaining time of an outer bar from its inner bars (module docstring)."""

    def __init__(self, start: float) -> None:
        self._lock = allocate_lock()
        self._count: float | None = None  # the outer count last seen
        self._step_start = start  # when the outer step under way began
        self._durations: list[float] = []  # seconds each finished outer step took
        # This step's phases (seconds from the step's start), and the last finished
        # step's, which the phases not yet begun are read from.
        self._phases: list[_PhaseTimes] = []
        self._template: list[_PhaseTimes] | None = None
        self._running: tuple[str, float, float] | None = None  # (key, time, seconds left)
        self._learned: dict[str, Learned] = {}
        self._warmup = 0.0  # the inner bars' warm-up in the first step (see step())
        self.used = False  # an inner bar has reported: the outer bar shows this estimate

    # -- the outer bar's side --------------------------------------------------------

    def step(self, count: float, now: float) -> None:
        """The outer bar's count read at ``now``: a step ended if it moved."""
        with self._lock:
            last = self._count
            self._count = count
            if last is None or count <= last:
                return
            took = (now - self._step_start) / (count - last)
            if not self._durations:  # step one's warm-up is not what later steps take
                took = max(took - self._warmup, took / 2)
            self._durations += [took] * int(min(count - last, RECENT_STEPS + 1))
            if self._phases:
                took_all = now - self._step_start
                self._template = [
                    _PhaseTimes(p.key, p.start, p.end if p.end is not None else took_all)
                    for p in self._phases]
                self._template.append(_PhaseTimes("", took_all, took_all))
            self._phases = []
            self._step_start = now
            self._running = None

    def remaining(self, count: float, target: float, now: float) -> float | None:
        """Seconds until the outer bar reaches ``target``, at ``count`` now; None when
        nothing tells (no step finished and no inner bar running)."""
        self.step(count, now)
        steps_after = max(target - count - 1, 0)
        with self._lock:
            durations = self._durations
            running = self._running
            in_step = now - self._step_start
            if running is not None:
                key, at, left = running
                left = max(left - (now - at), 0.0)
            if not durations:
                if running is None:
                    return None
                # Only this step's phases so far tell what a step takes (a lower bound:
                # the phases not yet begun are unknown).
                return left + steps_after * (in_step + left)
            recent = (durations[1:] if len(durations) > 1 else durations)[-RECENT_STEPS:]
            per_step = sum(recent) / len(recent)
            this_step = self._rest_of_step(running, left if running else 0.0, in_step, now)
        return this_step + steps_after * per_step

    def _rest_of_step(self, running: tuple[str, float, float] | None, left: float,
                      in_step: float, now: float) -> float:
        """What remains of the step under way (under the lock): the running phase's
        own estimate, then the phases after it as long as they were last step."""
        template = self._template
        if template is None:
            return max(self._durations[-1] - in_step, left)
        total = template[-1].start
        if running is not None:
            ends = [p.end for p in template if p.key == running[0] and p.end is not None]
            if ends:
                return left + max(total - ends[0], 0.0)
            return max(total - in_step, left)
        done = [p for p in self._phases if p.end is not None]
        if done:
            last = done[-1]
            ends = [p.end for p in template if p.key == last.key and p.end is not None]
            if ends and last.end is not None:
                return max(total - ends[0] - (in_step - last.end), 0.0)
        return max(total - in_step, 0.0)

    # -- the inner bars' side -------------------------------------------------------

    def begin(self, label: str | None, now: float) -> tuple[str, Learned | None]:
        """An inner bar labelled ``label`` starts: its key (the label, or its place in
        the step for a bar with none) and what the last one of that key learned."""
        with self._lock:
            key = label if label is not None else f"#{len(self._phases)}"
            self._phases.append(_PhaseTimes(key, now - self._step_start, None))
            self._running = None
            self.used = True
            return key, self._learned.get(key)

    def report(self, key: str, now: float, left: float | None) -> None:
        """The running inner bar's estimate at ``now``."""
        with self._lock:
            self._running = (key, now, left) if left is not None else None

    def end(self, key: str, now: float, learned: Learned | None) -> None:
        """The inner bar of ``key`` ended at ``now``, having learned ``learned``."""
        with self._lock:
            for phase in reversed(self._phases):
                if phase.key == key and phase.end is None:
                    phase.end = now - self._step_start
                    break
            if self._running is not None and self._running[0] == key:
                self._running = None
            if learned is not None:
                self._learned[key] = learned
                if not self._durations:
                    self._warmup += learned.warmup


class _PhaseTimes:
    """One phase of an outer step: its key, and its start and end (None while it
    runs) in seconds from the step's start."""

    __slots__ = ("key", "start", "end")

    def __init__(self, key: str, start: float, end: float | None) -> None:
        self.key = key
        self.start = start
        self.end = end


class Phase:
    """An inner bar's link to its outer bar's run."""

    __slots__ = ("run", "key", "learned", "ended")

    def __init__(self, run: RunEstimate, label: str | None, now: float) -> None:
        self.run = run
        self.key, self.learned = run.begin(label, now)
        self.ended = False

    def report(self, now: float, left: float | None) -> None:
        if not self.ended:
            self.run.report(self.key, now, left)

    def end(self, now: float, learned: Learned | None) -> None:
        if not self.ended:
            self.ended = True
            self.run.end(self.key, now, learned)


# ---------------------------------------------------------------------------- nesting

class _OpenBars(_local):
    """This thread's open bars with a target, oldest first (weak references)."""

    def __init__(self) -> None:
        self.bars: list[Any] = []


_open = _OpenBars()


def enter(bar: Any) -> list[Any]:
    """``bar`` starts on this thread: the open bars of this thread that may be its
    outer bar, newest first (the bar picks: see ``Progbar``); ``bar`` may be one
    from now on if it has a target."""
    bars = _open.bars
    bars[:] = [ref for ref in bars if (b := ref()) is not None and not b.closed]
    candidates = [b for b in (ref() for ref in reversed(bars)) if b is not None]
    if bar.target is not None:
        bars.append(_weakref(bar))
    return candidates


def leave(bar: Any) -> None:
    """``bar`` closed: it is nobody's outer bar any more."""
    bars = _open.bars
    bars[:] = [ref for ref in bars if (b := ref()) is not None and b is not bar]
