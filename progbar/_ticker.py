"""The ticker: one daemon thread per process that keeps running bars on time.

A ``track()`` chunk or a burst of ``update()`` calls between two clock reads can
outlast a slowdown; the ticker draws such a bar from real time, so the count shown
is never stale (design.md, "The ticker").

Its contract with a bar, the whole of it:

* it reads ``bar.interval`` (seconds) to know how often it is wanted, and calls
  ``bar.tick()`` from its own thread, at most once per round.  ``tick()`` must never
  wait for the bar's lock, and never raise; it unregisters the bar itself when the
  bar has nothing more for the ticker.
* in a child process after ``fork()`` it calls ``bar.after_fork()`` for each bar that
  was registered (their locks may be held by a thread the child does not have), and
  forgets them all.

The thread starts with the first registration and ends after ``IDLE_EXIT`` seconds
with nothing to do, so that a later ``fork()`` usually finds a single-threaded
process.  Registration holds weak references: a bar dropped without ``close()``
still goes away.
"""

from __future__ import annotations

import os
import time
from _thread import allocate_lock
from weakref import ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import Protocol

    class Tickable(Protocol):
        """What the ticker asks of a bar (see the module docstring)."""

        @property
        def interval(self) -> float: ...

        def tick(self) -> None: ...

        def after_fork(self) -> None: ...

__all__ = ["IDLE_EXIT", "register", "registered", "unregister"]

_TICK = 0.02  # the shortest round, whatever the bars' intervals
IDLE_EXIT = 1.0  # seconds with nothing to do before the thread ends
_MAX_ROUND = 1.0  # the longest round, whatever the bars' intervals

_bars: list[ref[Tickable]] = []  # registration order: newest last
_lock = allocate_lock()
_wake: threading.Event | None = None
_thread: threading.Thread | None = None
_fork_hook = False


def register(bar: Tickable) -> bool:
    """Have the ticker draw ``bar``; False if no thread could be started (interpreter
    shutdown, a thread limit): the bar then draws only from its own calls."""
    global _wake, _thread, _fork_hook
    import threading

    with _lock:
        if not _fork_hook and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook = True
        if _wake is None:
            _wake = threading.Event()
        entry = ref(bar)
        _bars.append(entry)
        if _thread is None:
            thread = threading.Thread(target=_run, name="progbar-ticker", daemon=True)
            try:
                thread.start()
            except (RuntimeError, OSError):
                _bars.remove(entry)
                return False
            _thread = thread
    _wake.set()
    return True


def unregister(bar: Tickable) -> None:
    """The ticker no longer draws ``bar`` (idempotent)."""
    with _lock:
        _bars[:] = [r for r in _bars if r() not in (bar, None)]


def registered() -> list[Tickable]:
    """The bars registered now and still alive, oldest first."""
    with _lock:
        return _alive()


def thread() -> threading.Thread | None:
    """The ticker's thread while it runs, else None."""
    return _thread


def _alive() -> list[Tickable]:
    """The registered bars still alive, dropped ones pruned (under ``_lock``)."""
    bars = [r() for r in _bars]
    if None in bars:
        _bars[:] = [r for r in _bars if r() is not None]
    return [bar for bar in bars if bar is not None]


def _run() -> None:
    global _thread
    wake = _wake
    assert wake is not None
    while True:
        try:
            with _lock:
                bars = _alive()
            if not bars:
                if not wake.wait(IDLE_EXIT):
                    with _lock:
                        if not _alive():
                            _thread = None
                            return
                wake.clear()
                continue
            pause = min(bar.interval for bar in bars)
            del bars
            time.sleep(min(max(pause, _TICK), _MAX_ROUND))
            _round()
        except Exception:  # a display problem must not end the thread
            time.sleep(_TICK)


def _round() -> None:
    """One round.  A function of its own, so that no reference to a bar outlives it:
    a bar dropped without close() must go away while the thread sleeps (else the next
    bar on its stream would find it still there and draw a two-row block)."""
    with _lock:
        due = _alive()
    for bar in due:
        bar.tick()


def _after_fork_in_child() -> None:
    global _lock, _wake, _thread
    for bar in _alive():
        bar.after_fork()
    _bars.clear()
    _lock = allocate_lock()
    _wake = None
    _thread = None
