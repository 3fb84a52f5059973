"""A timing trace: what happened when, in a run with bars.

A trace is a list of events ``[t, kind, label, value]`` in seconds from the start:

* ``begin`` -- the run starts; ``value`` is its number of epochs (None: no epoch bar);
* ``open`` -- a bar ``label`` starts, ``value`` steps long;
* ``step`` -- the open bar ``label`` moves ``value`` steps (1 for a training step,
  bytes for a download);
* ``close`` -- the bar ``label`` ends;
* ``epoch`` -- an epoch ends (the epoch bar moves);
* ``end`` -- the run ends.

:class:`Recorder` writes one while a real run goes on; :func:`load` reads one back,
time-scaled.  The truth a bar's estimate is judged against is in the trace: a bar ends
at its last step, the run at its last event.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Event = tuple[float, str, "str | None", Any]


class Recorder:
    """Events of a real run, timed with ``time.perf_counter``."""

    def __init__(self, family: str, source: str) -> None:
        self.family = family
        self.source = source
        self.events: list[list[Any]] = []
        self._t0: float | None = None

    def _now(self) -> float:
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
        return now - self._t0

    def begin(self, epochs: int | None) -> None:
        self.events.append([self._now(), "begin", None, epochs])

    def open(self, label: str, steps: int) -> None:
        self.events.append([self._now(), "open", label, steps])

    def step(self, label: str, n: float = 1) -> None:
        self.events.append([self._now(), "step", label, n])

    def close(self, label: str) -> None:
        self.events.append([self._now(), "close", label, None])

    def epoch_done(self) -> None:
        self.events.append([self._now(), "epoch", None, None])

    def end(self) -> None:
        self.events.append([self._now(), "end", None, None])

    def as_json(self) -> dict[str, Any]:
        return {"family": self.family, "source": self.source, "recorded": True,
                "events": [[round(e[0], 6), *e[1:]] for e in self.events]}


@dataclass
class Trace:
    family: str
    source: str  # how it was made: the run recorded, or the generator's parameters
    recorded: bool
    scale: float  # the factor its times were multiplied by
    events: list[Event] = field(default_factory=list)

    @property
    def epochs(self) -> int | None:
        return next((e[3] for e in self.events if e[1] == "begin"), None)

    @property
    def duration(self) -> float:
        return self.events[-1][0] - self.events[0][0]


def load(path: Path, scale: float) -> Trace:
    data = json.loads(path.read_text())
    return from_events(data["family"], data["source"], data.get("recorded", False),
                       data["events"], scale)


def from_events(family: str, source: str, recorded: bool, events: list[list[Any]],
                scale: float) -> Trace:
    t0 = events[0][0]
    return Trace(family, source, recorded, scale,
                 [((e[0] - t0) * scale, e[1], e[2], e[3]) for e in events])
