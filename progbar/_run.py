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

# Outer steps with no inner bars: the mean of the last few paces the steps to come.
RECENT_STEPS = 5
# The phases of one outer step that are kept (a step of many small inner bars --
# files, say -- is timed as a whole past that).
MAX_PHASES = 64


class RunEstimate:
    """The remaining time of an outer bar from its inner bars (module docstring)."""

    def __init__(self, start: float, initial: float) -> None:
        self._lock = allocate_lock()
        self._count = initial  # the outer count last seen
        self._step_start = start  # when the outer step under way began
        self._durations: list[float] = []  # seconds each finished outer step took
        # Finished steps, and those that held inner bars: a bar whose inner bars come
        # in a few of its steps only (an evaluation every 100 steps) is not an outer
        # bar of phases, and its own estimate (pauses learned) serves it.
        self._steps = 0.0
        self._with_phases = 0
        # An inner bar still running when its outer step ended spans steps (a bar made
        # beside the outer bar once it counted): the outer bar's own estimate serves.
        self._spanning = False
        # This step's phases (seconds from the step's start), and the last finished
        # step's, which the phases not yet begun are read from.
        self._phases: list[_PhaseTimes] = []
        self._template: list[_PhaseTimes] | None = None
        self._running: tuple[str, float, float] | None = None  # (key, time, seconds left)
        self._learned: dict[str, Learned] = {}
        self.used = False  # an inner bar has reported: the outer bar shows this estimate

    # -- the outer bar's side --------------------------------------------------------

    def step(self, count: float, now: float) -> None:
        """The outer bar's count read at ``now``: a step ended if it moved."""
        with self._lock:
            last = self._count
            self._count = count
            if count <= last:
                return
            took = now - self._step_start
            first = not self._durations
            moved = count - last
            self._steps += moved
            if self._phases:
                self._with_phases += 1
                if self._phases[-1].end is None:
                    self._spanning = True
                layout = _layout(self._phases, took, first)
                took = layout[-1].end or took
                if moved >= 1:  # (a part of a step -- a resumed epoch -- lays out nothing)
                    self._template = layout
            self._durations += [took / moved] * max(int(min(moved, RECENT_STEPS)), 1)
            del self._durations[:-RECENT_STEPS]
            self._phases = []
            self._step_start = now
            self._running = None

    def remaining(self, count: float, target: float, now: float) -> float | None:
        """Seconds until the outer bar reaches ``target``, at ``count`` now; None when
        nothing tells (no step finished and no inner bar running)."""
        self.step(count, now)
        steps_after = max(target - count - 1, 0)
        with self._lock:
            running = self._running
            in_step = now - self._step_start
            left = 0.0
            if running is not None:
                left = max(running[2] - (now - running[1]), 0.0)
            template = self._template
            if self._with_phases * 2 < self._steps or self._spanning:
                return None
            if not self._durations:
                if running is None:
                    return None
                # Only this step's phases so far tell what a step takes (a lower bound:
                # the phases not yet begun are unknown).
                return left + steps_after * (in_step + left)
            if template is None:  # steps with no inner bars: their mean
                recent = self._durations[-RECENT_STEPS:]
                per_step = sum(recent) / len(recent)
                return max(self._durations[-1] - in_step, left) + steps_after * per_step
            rest, per_step = self._from_template(template, running, left, in_step)
        return max(rest + steps_after * max(per_step, 0.0), 0.0)

    def _from_template(self, template: list[_PhaseTimes], running: tuple[str, float, float]
                       | None, left: float, in_step: float) -> tuple[float, float]:
        """What remains of the step under way, and what a step to come takes (under the
        lock): the last step's layout, each phase this step has shown replaced by what
        it takes now (a finished one's time, the running one's elapsed + left)."""
        total = template[-1].end or 0.0
        # (a key that comes more than once in a step -- many "file" bars -- is not
        # replaced phase by phase: the step's layout serves as a whole)
        keys = [p.key for p in template]
        now_keys = [p.key for p in self._phases]
        if any(now_keys.count(key) > keys.count(key) for key in now_keys):
            # This step is not laid out as the last one: the steps' mean serves.
            recent = self._durations[-RECENT_STEPS:]
            per_step = sum(recent) / len(recent)
            return max(per_step - in_step, left), per_step
        once = [p for p in template[:-1] if keys.count(p.key) == 1]
        took = {p.key: (p.end or 0.0) - p.start for p in once}
        ends = {p.key: p.end or 0.0 for p in once}
        per_step = total
        for phase in self._phases:
            if phase.key not in took:
                continue
            if phase.end is not None:
                per_step += phase.end - phase.start - took[phase.key]
            elif running is not None and running[0] == phase.key:
                per_step += in_step - phase.start + left - took[phase.key]
        if running is None:  # a phase begun that has not told its estimate yet: as
            # long as it took last step
            begun = [p for p in self._phases if p.end is None and p.key in took]
            if begun:
                phase = begun[-1]
                left = max(took[phase.key] - (in_step - phase.start), 0.0)
                running = (phase.key, 0.0, left)
        if running is not None:
            if running[0] in ends:
                return left + max(total - ends[running[0]], 0.0), per_step
            return max(total - in_step, left), per_step
        done = [p for p in self._phases if p.end is not None and p.key in ends]
        if done:
            last = done[-1]
            return max(total - ends[last.key] - (in_step - (last.end or 0.0)), 0.0), per_step
        return max(total - in_step, 0.0), per_step

    # -- the inner bars' side -------------------------------------------------------

    def begin(self, label: str | None, now: float) -> tuple[str, Learned | None]:
        """An inner bar labelled ``label`` starts: its key (the label, or its place in
        the step for a bar with none) and what the last one of that key learned."""
        with self._lock:
            phases = self._phases
            key = label if label is not None else f"#{min(len(phases), MAX_PHASES)}"
            if phases and phases[-1].end is None:  # phases follow one another
                phases[-1].end = now - self._step_start
            if len(phases) < MAX_PHASES:
                phases.append(_PhaseTimes(key, now - self._step_start, None))
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
                for phase in reversed(self._phases):
                    if phase.key == key:
                        phase.warmup = learned.warmup
                        break


class _PhaseTimes:
    """One phase of an outer step: its key, its start and end (None while it runs)
    in seconds from the step's start, and its step one's warm-up."""

    __slots__ = ("key", "start", "end", "warmup")

    def __init__(self, key: str, start: float, end: float | None, warmup: float = 0.0) -> None:
        self.key = key
        self.start = start
        self.end = end
        self.warmup = warmup


def _layout(phases: list[_PhaseTimes], took: float, first: bool) -> list[_PhaseTimes]:
    """A finished step's phases as the steps to come will have them, and its end (a
    last entry, key ""): the first step's warm-ups (compiling, say) left out."""
    layout: list[_PhaseTimes] = []
    shift = 0.0
    for phase in phases:
        end = phase.end if phase.end is not None else took
        start = phase.start - shift
        if first:
            shift += min(phase.warmup, (end - phase.start) * 0.9)
        layout.append(_PhaseTimes(phase.key, start, end - shift))
    layout.append(_PhaseTimes("", took - shift, took - shift))
    return layout


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
