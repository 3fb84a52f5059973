"""A fake Progbar for adapter logic tests: the same public methods, every call recorded
(as Lightning's own tests use a MockTqdm)."""

from __future__ import annotations

import sys
from typing import Any


class RecordingBar:
    """A fake Progbar with the same public methods; records every call."""

    bars: list[RecordingBar] = []

    def __init__(self, target: int | None, **options: Any) -> None:
        self._target = target
        self.options = options
        self.calls: list[tuple[Any, ...]] = []
        self.current: float = 0
        RecordingBar.bars.append(self)

    @property
    def target(self) -> int | None:
        return self._target

    @target.setter
    def target(self, value: int | None) -> None:
        self.calls.append(("target", value))
        self._target = value

    def update(self, current: float, values: Any = None, finalize: bool | None = None) -> None:
        self.current = current
        self.calls.append(("update", current, values, finalize))

    def write(self, message: str) -> None:
        self.calls.append(("write", message))

    @property
    def live(self) -> bool:
        return False

    @property
    def verbose(self) -> int:
        return int(self.options.get("verbose", 1))

    @property
    def stream(self) -> Any:
        file = self.options.get("file")
        return sys.stdout if file is None else file

    def refresh(self) -> None:
        self.calls.append(("refresh",))

    def close(self) -> None:
        self.calls.append(("close",))
