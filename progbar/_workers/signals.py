"""SIGTERM while handles are in use: what a process holds leaves it first (design.md,
"Workers: what makes counts exact").

``Pool.__exit__`` terminates its workers and schedulers stop jobs with SIGTERM.  The
handle machinery registers here what must happen then (:func:`on_terminate`: a worker
sends what it holds, a parent removes its socket directories) and how to tell that
the main thread is inside its own locks (:func:`on_main_inside`: the handler then
waits for that code to finish, see :func:`main_left`).  This module knows nothing of
clients or listeners; it owns the handler, the watcher thread, the fork hooks that
keep a freshly forked worker killable, and how our threads start (SIGTERM blocked).
"""

from __future__ import annotations

import _thread
import os
import signal
import socket
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

SIGNAL_LOCK_WAIT = 0.5  # on SIGTERM, how long to wait for a lock another thread holds
# On SIGTERM, how long the main thread may take to run the handler before the process
# is ended anyway (it runs no bytecode: a long call in C).
_SIGTERM_GRACE = 2.0

MAIN_IDENT = [threading.main_thread().ident]  # this process's main thread (after forks too)
_work: list[Callable[[], None]] = []
_inside: list[Callable[[], bool]] = []


def on_terminate(work: Callable[[], None]) -> None:
    """Run ``work`` on SIGTERM, before the process ends (once per registration)."""
    _work.append(work)


def on_main_inside(test: Callable[[], bool]) -> None:
    """``test()`` says whether the main thread is inside (or waits for) a lock of the
    caller's: a SIGTERM handler that interrupted it there lets it finish first."""
    _inside.append(test)


def main_inside() -> bool:
    return any(test() for test in _inside)


def main_left() -> None:
    """The main thread left a lock of ours: a SIGTERM deferred meanwhile runs now."""
    watch = _watch
    if watch is not None and watch.deferred and not main_inside():
        watch.finish()


def start_thread(thread: threading.Thread) -> None:
    """Start ``thread`` with SIGTERM blocked in it.  A process-wide signal is taken
    by any thread that does not block it; if one of ours took it, Python would run
    the handler only when the main thread next runs bytecode -- never, for a pool
    worker asleep on its task queue, which then outlives ``Pool.terminate()``."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - Windows
        thread.start()
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        thread.start()
    finally:
        mask(signal.SIG_SETMASK, old)


def start_raw_thread(run: Callable[[], None]) -> None:
    """``run`` in a new thread, SIGTERM blocked there (see start_thread), without
    ``Thread.start()``'s wait for the thread to be scheduled: on a loaded machine
    (a pool of more workers than cores) that wait costs milliseconds."""
    mask = getattr(signal, "pthread_sigmask", None)
    old = mask(signal.SIG_BLOCK, {signal.SIGTERM}) if mask is not None else None
    try:
        _thread.start_new_thread(run, ())
    finally:
        if mask is not None:
            mask(signal.SIG_SETMASK, old)


class SigtermWatch:
    """This process's SIGTERM handling while handles are in use (one per process).

    Python runs a signal handler in the main thread, between bytecodes.  A pool
    worker's main thread may sit in a blocking call that a signal arriving a moment
    too early does not interrupt (a ``Pool`` worker waiting on its queue's lock when
    ``terminate()`` comes): the handler would never run and the worker never die.
    So Python's wakeup fd tells a watcher thread at once; it does the work (a worker
    sends what it holds, a parent removes its socket directories) and then sends
    SIGTERM to the main thread itself, which wakes any blocking call; the handler
    there restores the default action and raises the signal again, so the exit
    status still says "killed by SIGTERM"."""

    def __init__(self) -> None:
        self.fresh()
        self.wake_r: socket.socket | None = None
        self.wake_w: socket.socket | None = None

    def fresh(self) -> None:
        self.pid = os.getpid()
        self.started = threading.Lock()  # the work runs once, whoever comes first
        self.finished = threading.Event()
        self.in_main = False  # the main thread's handler is running
        self.deferred = False  # it interrupted our own code: it ends when that is done

    def start_watcher(self) -> None:
        """From the main thread, in a worker.  Only a worker gets the watcher: a fork
        child shares the wakeup fd until its at-fork hook runs, so a SIGTERM that a
        pool sends a worker it has just forked would reach the parent's watcher."""
        if self.wake_w is not None:
            return
        try:
            self.wake_r, self.wake_w = socket.socketpair()
            self.wake_w.setblocking(False)
            old = signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
            if old != -1:  # someone's (asyncio's): theirs stays, the handler alone runs
                signal.set_wakeup_fd(old)
                self.close()
            else:
                start_thread(threading.Thread(target=self.watch, daemon=True,
                                               name="progbar-sigterm"))
        except (OSError, ValueError, RuntimeError):
            self.close()

    def close(self) -> None:
        for sock in (self.wake_r, self.wake_w):
            if sock is not None:
                sock.close()
        self.wake_r = self.wake_w = None

    def watch(self) -> None:
        wake_r = self.wake_r
        try:
            while wake_r is not None and self.pid == os.getpid():
                data = wake_r.recv(64)
                if not data:
                    return
                if signal.SIGTERM in data:
                    self.rescue()
        except OSError:
            pass

    def rescue(self) -> None:
        self.work()
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, signal.SIGTERM)  # wakes a blocking call there
        deadline = time.monotonic() + _SIGTERM_GRACE
        while time.monotonic() < deadline or self.in_main:
            time.sleep(0.05)
        # The main thread runs no bytecode (a long call in C): Python cannot run the
        # handler there; end the process as the signal meant to.
        os.kill(os.getpid(), signal.SIGKILL)

    def work(self) -> None:
        if not self.started.acquire(blocking=False):
            self.finished.wait(_SIGTERM_GRACE)  # the other thread is at it
            return
        for work in list(_work):
            try:
                work()
            except Exception:
                pass
        self.finished.set()

    def handler(self, signum: int, frame: Any) -> None:
        try:
            ours = signal.getsignal(signal.SIGTERM) == self.handler
        except (ValueError, OSError):
            ours = True
        if not ours:
            # Another handler took SIGTERM over and calls ours (Lightning composes the
            # handlers it finds): do our work, and leave the ending to it.
            self.work()
            return
        if main_inside():
            self.deferred = True  # see _Guard.exit
            return
        self.finish()

    def finish(self) -> None:
        self.in_main = True
        try:
            self.work()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    def forget_after_fork(self) -> None:
        """In a forked child: back to the default action (SIGTERM is blocked across
        the fork, see _before_fork, so one sent meanwhile now ends the child as
        before), no wakeup fd shared with the parent; the child installs its own on
        first use, as a spawned one."""
        try:
            if signal.getsignal(signal.SIGTERM) == self.handler:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if self.wake_w is not None:
                signal.set_wakeup_fd(-1)
        except (OSError, ValueError):
            pass
        self.close()


_watch: SigtermWatch | None = None  # this process's, once installed


def install(watcher: bool) -> None:
    """Handle SIGTERM (see SigtermWatch) -- only where nobody set a handler (the
    default action), and only from the main thread (Python's rule); ``watcher``: in a
    worker, with the watcher thread."""
    global _watch
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if _watch is None:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return  # the user's own handler (or SIG_IGN): theirs to run
            _watch = SigtermWatch()
            signal.signal(signal.SIGTERM, _watch.handler)
        if watcher and signal.getsignal(signal.SIGTERM) == _watch.handler:
            _watch.start_watcher()
    except (ValueError, OSError, AttributeError):  # no SIGTERM here, an odd interpreter
        pass


def _after_fork_in_child() -> None:
    global _watch
    try:
        if _watch is not None:
            _watch.forget_after_fork()
            _watch = None
    finally:
        _unblock_after_fork()
    MAIN_IDENT[0] = threading.main_thread().ident


# A pool may SIGTERM a worker it has just forked.  With our handler inherited, Python
# would catch the signal, then drop it (it clears pending signals after a fork, and
# the child's hook puts the default action back), or run it too late (a worker
# blocked on its queue's lock): the worker would outlive terminate(), which waits for
# it forever.  So SIGTERM is blocked in the forking thread across the fork; the child
# unblocks it once the default action is back, and a signal sent meanwhile ends it.
_fork_mask: list[Any] = []


def _before_fork() -> None:
    if _watch is not None and hasattr(signal, "pthread_sigmask"):
        _fork_mask.append(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}))


def _unblock_after_fork() -> None:
    if _fork_mask:
        signal.pthread_sigmask(signal.SIG_SETMASK, _fork_mask.pop())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_unblock_after_fork,
                        after_in_child=_after_fork_in_child)
