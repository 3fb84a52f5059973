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
* once bars have run for two seconds, each round calls ``_watch.serve()``, which may ask
  the displays' bars for ``bar.state(blocking=False)`` while someone runs
  ``progbar watch``.

A bar is registered in one of two ways: :func:`register` (drawn: ticked every round,
whose length is the shortest ``interval``) or :func:`watch` (only watched for a stall,
see ``_stall``: ticked about every ``WATCH_ROUND`` seconds, and setting no pace).

The thread starts with the first registration and ends after ``IDLE_EXIT`` seconds
with no bar registered either way, so that a later ``fork()`` usually finds a
single-threaded process.  Registration holds weak references: a bar dropped without
``close()`` still goes away.
"""

from __future__ import annotations

import os
import time
from _thread import allocate_lock, get_ident
from weakref import ref

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from typing import Any, Callable, Protocol

    class Tickable(Protocol):
        """What the ticker asks of a bar (see the module docstring)."""

        @property
        def interval(self) -> float: ...

        def tick(self) -> None: ...

        def after_fork(self) -> None: ...

        def state(self, blocking: bool = True) -> dict[str, object] | None: ...

__all__ = ["IDLE_EXIT", "WATCH_ROUND", "main_thread_work", "on_ticker_thread", "register",
           "registered", "run_main_thread_work", "unregister", "watch", "watched"]

_TICK = 0.02  # the shortest round, whatever the bars' intervals
IDLE_EXIT = 1.0  # seconds with nothing to do before the thread ends
_MAX_ROUND = 1.0  # the longest round, whatever the bars' intervals
WATCH_ROUND = 0.5  # seconds between two ticks of a watched bar (a stall's clock ticks)
# Bars that have run this long are published for `progbar watch` (see _watch; the same
# number as its PUBLISH_AFTER, kept here so that _watch loads only then).
_PUBLISH_AFTER = 2.0
_publish_at = [float("inf")]  # when this run of the thread starts publishing
_served: list[Any] = []  # the _watch module, once loaded
# Work for the main thread (a signal handler can be installed from there only), done
# when a bar's own call passes by on it (see Counting._main_thread_turn).
main_thread_work: list[Callable[[], None]] = []

_bars: list[ref[Tickable]] = []  # drawn bars, in registration order: newest last
_watched: list[ref[Tickable]] = []  # bars only watched for a stall
_next_watch = 0.0  # when the watched bars are next ticked (time.monotonic)
_lock = allocate_lock()
_wake: threading.Event | None = None
_thread: threading.Thread | None = None
_fork_hook = False


def register(bar: Tickable) -> bool:
    """Have the ticker draw ``bar`` (a watched bar becomes a drawn one); False if no
    thread could be started (interpreter shutdown, a thread limit): the bar then draws
    only from its own calls."""
    return _add(bar, _bars, _watched)


def watch(bar: Tickable) -> bool:
    """Have the ticker only watch ``bar`` for a stall (a drawn bar becomes a watched
    one): its ``tick()`` about every ``WATCH_ROUND`` seconds.  False as for
    :func:`register`."""
    return _add(bar, _watched, _bars)


def _add(bar: Tickable, into: list[ref[Tickable]], out_of: list[ref[Tickable]]) -> bool:
    global _wake, _thread, _fork_hook
    import threading

    with _lock:
        if not _fork_hook and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook = True
        if _wake is None:
            _wake = threading.Event()
        out_of[:] = [r for r in out_of if r() not in (bar, None)]
        entry = ref(bar)
        if not any(r() is bar for r in into):
            into.append(entry)
        if _thread is None:
            thread = threading.Thread(target=_run, name="progbar-ticker", daemon=True)
            try:
                _start_without_signals(thread)
            except (RuntimeError, OSError):
                into[:] = [r for r in into if r() not in (bar, None)]
                return False
            _thread = thread
    _wake.set()
    return True


def _start_without_signals(thread: threading.Thread) -> None:
    """Start ``thread`` with SIGINT and SIGTERM blocked in it: a signal sent to the
    process then goes to a thread that takes it -- the main one, whose blocking call
    it interrupts.  (Taken by the ticker, Ctrl-C would leave the main thread asleep in
    its read, and the process hanging.)"""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - Windows
        thread.start()
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        thread.start()
    finally:
        mask(signal.SIG_SETMASK, old)


def unregister(bar: Tickable) -> None:
    """The ticker neither draws nor watches ``bar`` any more (idempotent)."""
    with _lock:
        _bars[:] = [r for r in _bars if r() not in (bar, None)]
        _watched[:] = [r for r in _watched if r() not in (bar, None)]


def registered() -> list[Tickable]:
    """The bars drawn now and still alive, oldest first."""
    with _lock:
        return _alive(_bars)


def watched() -> list[Tickable]:
    """The bars only watched now and still alive, oldest first."""
    with _lock:
        return _alive(_watched)


def thread() -> threading.Thread | None:
    """The ticker's thread while it runs, else None."""
    return _thread


def run_main_thread_work() -> None:
    """Run, once, the work left for the main thread -- if this is it."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    while main_thread_work:
        work = main_thread_work.pop(0)
        try:
            work()
        except Exception:
            pass


def on_ticker_thread() -> bool:
    """Is the caller the ticker's thread (which must never wait on a lock)?"""
    running = _thread
    return running is not None and running.ident == get_ident()


def _alive(entries: list[ref[Tickable]]) -> list[Tickable]:
    """The bars of ``entries`` still alive, dropped ones pruned (under ``_lock``)."""
    bars = [r() for r in entries]
    if None in bars:
        entries[:] = [r for r in entries if r() is not None]
    return [bar for bar in bars if bar is not None]


def _run() -> None:
    global _thread
    wake = _wake
    assert wake is not None
    _publish_at[0] = time.monotonic() + _PUBLISH_AFTER
    while True:
        try:
            pause = _pause()
            if pause is None:
                if not wake.wait(IDLE_EXIT):
                    with _lock:
                        if not _alive(_bars) and not _alive(_watched):
                            _thread = None
                            return
                wake.clear()
                continue
            time.sleep(min(max(pause, _TICK), _MAX_ROUND))
            _round()
        except Exception:  # a display problem must not end the thread
            time.sleep(_TICK)


def _pause() -> float | None:
    """Seconds until the next round (None: no bar registered).  A function of its
    own, as _round is, so that no reference to a bar outlives it."""
    with _lock:
        bars = _alive(_bars)
        pauses = [bar.interval for bar in bars]
        if _alive(_watched):
            pauses.append(WATCH_ROUND)
    if pauses and _served and _served[0].watching():  # someone runs `progbar watch`
        pauses.append(_served[0].SEND_EVERY)
    return min(pauses) if pauses else None


def _round() -> None:
    """One round.  A function of its own, so that no reference to a bar outlives it:
    a bar dropped without close() must go away while the thread sleeps (else the next
    bar on its stream would find it still there and draw a two-row block)."""
    global _next_watch
    with _lock:
        due = _alive(_bars)
        now = time.monotonic()
        if now >= _next_watch:
            due += _alive(_watched)
            _next_watch = now + WATCH_ROUND * 0.9  # (a round a little late still ticks)
    for bar in due:
        bar.tick()
    if now >= _publish_at[0] and os.environ.get("PROGBAR_WATCH", "").strip() != "0":
        # bars have run a while: `progbar watch` may see them
        from . import _watch  # (loaded only then: sockets and JSON)

        if not _served:
            _served.append(_watch)
        _watch.serve(main_thread_work.append)


def _after_fork_in_child() -> None:
    global _lock, _wake, _thread
    for bar in _alive(_bars) + _alive(_watched):
        bar.after_fork()
    _bars.clear()
    _watched.clear()
    _lock = allocate_lock()
    _wake = None
    _thread = None
