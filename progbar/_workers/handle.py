"""Handles, the worker's side: progress from worker processes and threads into one
bar (design.md, "Workers, async code, Ray" and the two "Workers" sections after it).

A :class:`Handle` is a small picklable record (address, key, interval, which metrics
are averaged, the parent's pid) that ``bar.handle()`` makes (the listener, in
``listener``, is the parent's side).  It opens nothing until it is first used in a
process, and every handle for one bar in one process shares one :class:`_Client`:
calls add into it -- no clock read, no I/O -- and its thread sends what gathered at
most once per interval (the bar's), plus at once when asked.  The first call only
queues a connection on the parent's socket; that thread answers the challenge (see
``wire``), so no call waits for the parent.

Exactness.  What a worker holds leaves it however it ends: a
``multiprocessing.util.Finalize`` at its exit (also where a ``multiprocessing`` child
ends with ``os._exit``), the parent's ``close()`` asking live workers (``sync``), and a
SIGTERM handler (``Pool.__exit__`` terminates its workers) -- see ``signals``.
"""

from __future__ import annotations

import os
import threading
import time
from _thread import get_ident as _get_ident
from multiprocessing import connection as mpc
from multiprocessing import util as mputil
from typing import NamedTuple

from .._metrics import MetricStore
from . import signals as sigterm
from .signals import MAIN_IDENT, SIGNAL_LOCK_WAIT, main_left, start_raw_thread
from .wire import authenticate, open_socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any, Iterable, Mapping

    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

__all__ = ["ChildBar", "Handle"]

_MIN_INTERVAL = 0.02  # a worker sends at most this often, whatever the bar's interval
# A worker's connect, and its sender thread's wait for the challenge, at most: a
# parent that accepts nothing (out of descriptors, stopped) costs this long.
_CONNECT_TIMEOUT = 3.0
RETRY_FIRST = 0.05  # a worker that could not connect tries again after this, doubling
RETRY_MAX = 1.0
_EXIT_WAIT = 2.0  # at exit, how long a worker waits for a removed socket to be made anew
# Options a worker may give a child bar (no file: it is the parent's; no clock).
CHILD_OPTIONS = frozenset({
    "width", "verbose", "interval", "stateful_metrics", "stateless_metrics", "unit_name",
    "style", "dynamic", "color", "label", "leave", "desc", "total",
})


class _Acc:
    """What a process has gathered for one bar (the parent's or a child) since the
    last send: steps, and the metrics in a store of their own (the core's rules and
    weights: ``w = max(steps the values stand for, 1)``), merged exactly by the
    parent (``Progbar.merge``)."""

    __slots__ = ("n", "sent", "metrics", "log_mark")

    def __init__(self, names: tuple[frozenset[str] | None, frozenset[str] | None]) -> None:
        self.n: float = 0  # steps not sent yet
        self.sent: float = 0  # steps sent so far; seen = sent + n
        self.metrics = MetricStore(*names)
        self.log_mark: float = 0

    def holds(self) -> bool:
        return bool(self.n) or self.metrics.holds()

    def take(self) -> tuple[float, dict[str, tuple[Any, float]], dict[str, Any]] | None:
        """What to send, and nothing held any more (under the client's lock)."""
        if not self.holds():
            return None
        n = self.n
        self.n = 0
        totals, last = self.metrics.batch()
        self.metrics.clear()
        self.sent += n
        return (n, {k: (_plain(t), w) for k, (t, w) in totals.items()},
                {k: _plain(v) for k, v in last.items()})


def _plain(value: Any) -> Any:
    """A tensor or numpy scalar as a float for the wire (one conversion per send)."""
    if type(value) in (int, float, str):
        return value
    try:
        return float(value)
    except Exception:
        return value


class _Guard:
    """A client's lock that knows whether the main thread is in it (or waits for it):
    a SIGTERM handler that interrupts our own code there lets it finish first (see
    ``signals``), rather than find the lock taken and lose what it holds."""

    __slots__ = ("lock", "main_inside")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.main_inside = 0

    def enter(self, wait: float | None = None) -> bool:
        main = _get_ident() == MAIN_IDENT[0]
        if main:
            self.main_inside += 1
        ok = self.lock.acquire() if wait is None else self.lock.acquire(timeout=wait)
        if not ok and main:
            self.main_inside -= 1
        return ok

    def exit(self) -> None:
        self.lock.release()
        if _get_ident() == MAIN_IDENT[0]:
            self.main_inside -= 1
            main_left()

    def __enter__(self) -> None:
        self.enter()

    def __exit__(self, *exc: object) -> None:
        self.exit()


_NEW, _LIVE, _RETRY, _DEAD = "new", "live", "retry", "dead"
# Failures to reach the parent that may pass (see _Client.attempt).
_PASSING = (FileNotFoundError, ConnectionRefusedError, TimeoutError, BlockingIOError,
            InterruptedError)


class WorkerSpec(NamedTuple):
    """What a handle carries to a worker: where its bar listens and how to report."""

    address: Any  # a socket path (the Unix transport), or a transport's own name
    family: str | None  # "AF_UNIX", or None where a transport has no socket
    key: Any  # the authentication key (bytes), or a transport's own channel
    interval: float  # least seconds between two sends
    stateful: frozenset[str] | None  # the bar's stateful names (one of the two is None)
    stateless: frozenset[str] | None
    owner: int | None = None  # the parent's pid: a worker that outlives it stops


class _Client:
    """Everything one process sends to one bar, shared by all its handles."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec = WorkerSpec(*spec)
        self.address = spec.address
        self.family = spec.family
        self.key = spec.key
        self.owner = spec.owner  # the parent's pid
        self.interval = max(float(spec.interval), _MIN_INTERVAL)
        self.stateful = spec.stateful
        self.stateless = spec.stateless
        self.fresh()

    def fresh(self) -> None:
        """Start over: a new process (after a fork) owns nothing it inherited."""
        self.lock = _Guard()
        self.send_lock = _Guard()
        self.start_lock = threading.Lock()
        self.main = _Acc(self.names())
        self.kids: dict[int, _Acc] = {}
        self.events: list[tuple[Any, ...]] = []
        self.next_kid = 1
        self.state = _NEW if self.address is not None else _DEAD
        self.live = False  # the fast path's test: connected and not dead
        self.conn: mpc.Connection | None = None
        self.sock: socket.socket | None = None  # connected, not yet authenticated
        self.sent_messages = 0
        self.pid = os.getpid()
        self.retry_at = 0.0
        self.backoff = RETRY_FIRST
        self.missing = False  # the last try found no socket (a temp cleaner removed it?)
        self.at_exit = False  # the exit flush is registered
        self.sending = False  # the sender thread runs

    def names(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """``(stateful, stateless)`` as the parent's store has them (one is None)."""
        if self.stateful is not None and self.stateless is not None:
            return self.stateful, None
        return self.stateful, self.stateless

    # -- starting and stopping

    def start(self) -> bool:
        """Connect on first use in this process (and again, after a failure, when the
        back-off has passed); False while the bar cannot be reached."""
        with self.start_lock:
            if self.state is _NEW or (
                self.state is _RETRY and time.monotonic() >= self.retry_at
            ):
                self.attempt(_CONNECT_TIMEOUT)
            return self.state is _LIVE

    def attempt(self, timeout: float) -> None:
        """One try at connecting.  A failure that may pass (no socket file: a temp
        cleaner; refused or unanswered: a parent out of descriptors or busy) keeps
        what was gathered and tries again later; any other ends this client."""
        if self.state is _NEW:
            # First use in this process: a SIGTERM sends what it holds first.
            sigterm.install(watcher=self.owner != os.getpid())
            self.register_exit()
        try:
            self.connect(timeout)
        except _PASSING as exc:
            self.retry_later(exc)
            return
        except Exception:  # a wrong key, the bar closing meanwhile: go on silently
            self.die()
            return
        self.state = _LIVE
        self.live = True
        if not self.sending:
            self.start_sender()

    def retry_later(self, exc: BaseException) -> None:
        """A failure that may pass: keep what gathered, try again after the back-off."""
        if not process_alive(self.owner):  # the parent is gone: nobody will ever listen
            self.die()
            return
        self.missing = isinstance(exc, FileNotFoundError)
        self.state = _RETRY
        self.live = False
        # An unanswered handshake already cost ``timeout``: wait longer.
        wait = RETRY_MAX * 5 if isinstance(exc, TimeoutError) else self.backoff
        self.retry_at = time.monotonic() + wait
        self.backoff = min(self.backoff * 2, RETRY_MAX)

    def start_sender(self) -> None:
        try:
            start_raw_thread(self.run)
            self.sending = True
        except RuntimeError:  # interpreter shutting down: sends happen on close
            pass

    def connect(self, timeout: float) -> None:
        """Open the way to the parent (a transport overrides it: see progbar.transport).
        Here, only the socket's connect, which the kernel queues at once: the
        handshake is left to the first send (:meth:`authenticate`), so that a
        worker's first call does not wait on the parent (design.md, "Workers")."""
        self.sock = open_socket(self.address, self.family or "AF_UNIX", timeout)

    def authenticate(self) -> None:
        """The handshake of the connection :meth:`connect` opened, by whichever thread
        sends first (under ``send_lock``): the sender thread as it starts, or a flush
        at exit or on SIGTERM."""
        sock = self.sock  # kept there while it runs: final_flush waits longer then
        if sock is None:
            return
        try:
            self.conn = authenticate(sock, self.key, _CONNECT_TIMEOUT)
        except (*_PASSING, EOFError, ConnectionError) as exc:
            # EOF: the parent closed it unanswered -- its timeout for a challenge,
            # met by a worker whose sender thread got no turn; the bar closing.
            self.sock = None
            self.retry_later(exc)
        except Exception:  # a wrong key, the bar closed meanwhile: go on silently
            self.sock = None
            self.die()
        else:
            self.sock = None

    def register_exit(self) -> None:
        if not self.at_exit:
            self.at_exit = True
            mputil.Finalize(None, self.final_flush, exitpriority=50)

    def run(self) -> None:
        """The sender: authenticates, then waits an interval or for the parent's
        ``sync``, and sends."""
        pid = self.pid
        try:
            self.flush()  # the handshake first, and what gathered meanwhile
            conn = self.conn
            while conn is not None and self.pid == pid and self.state is _LIVE:
                if conn.poll(self.interval):
                    msg = conn.recv()  # from the authenticated parent: ("sync", seq)
                    self.flush(msg[1])
                else:
                    self.flush()
        except Exception:  # EOF: the bar closed or the parent is gone -- go quiet
            if self.pid == pid:
                self.die()
        finally:
            if self.pid == pid:
                with self.start_lock:
                    self.sending = False
                    if self.sock is not None and self.state is _LIVE:
                        self.start_sender()  # connected again while this one ended

    def die(self) -> None:
        self.state = _DEAD
        self.live = False
        conn, self.conn = self.conn, None
        sock, self.sock = self.sock, None
        for end in (conn, sock):
            if end is not None:
                try:
                    end.close()
                except Exception:
                    pass

    def final_flush(self, wait: float | None = None) -> None:
        """At process exit (interpreter exit or a ``multiprocessing`` child's end) and
        on SIGTERM (``wait``: how long to wait for a lock the interrupted code may
        hold).  A client that could not connect tries once more; if the socket file
        was missing (a temp cleaner) it waits a little for the parent to make it anew."""
        if self.pid != os.getpid():
            return
        if self.state is _RETRY and self.pending():
            deadline = time.monotonic() + (_EXIT_WAIT if self.missing else 0.0)
            while True:
                self.attempt(min(_CONNECT_TIMEOUT, 1.0))
                if self.state is not _RETRY or time.monotonic() >= deadline:
                    break
                time.sleep(RETRY_FIRST)
        if self.state is not _LIVE:
            return
        if wait is not None and self.sock is not None:
            wait = max(wait, _CONNECT_TIMEOUT)  # the sender thread's handshake, bounded
        self.flush(wait=wait)
        if self.send_lock.enter(wait):
            try:
                self.die()
            finally:
                self.send_lock.exit()

    # -- sending

    def pending(self) -> bool:
        with self.lock:
            return bool(self.events or self.main.holds()
                        or any(acc.holds() for acc in self.kids.values()))

    def take(self, wait: float | None = None) -> tuple[Any, ...] | None:
        if not self.lock.enter(wait):
            return None
        try:
            main = self.main.take()
            kids = {}
            for cid, acc in self.kids.items():
                got = acc.take()
                if got is not None:
                    kids[cid] = got
            events = self.events
            if main is None and not kids and not events:
                return None
            self.events = []
            for event in events:
                if event[0] == "close":
                    self.kids.pop(event[1], None)
        finally:
            self.lock.exit()
        return (main, kids, events)

    def flush(self, ack: object = None, wait: float | None = None) -> None:
        """Send what is pending (and the answer to a ``sync``), in order."""
        if not self.send_lock.enter(wait):
            return
        try:
            if self.sock is not None:
                self.authenticate()
            if self.state is not _LIVE:
                return
            batch = self.take(wait)
            if batch is None and ack is None:
                return
            try:
                self.send(("batch", ack, batch))
            except Exception:
                self.die()
        finally:
            self.send_lock.exit()

    def send(self, msg: tuple[Any, ...]) -> None:
        conn = self.conn
        if conn is None:
            raise OSError("not connected")
        conn.send(msg)
        self.sent_messages += 1

    # -- recording (the handle's slow path and child bars)

    def usable(self) -> bool:
        """Whether calls are recorded: connected, or waiting to connect again (what
        gathers meanwhile is sent once connected, or at exit)."""
        if self.live:
            return True
        if self.state is _NEW or self.state is _RETRY:
            self.start()
        return self.state is _LIVE or self.state is _RETRY

    def add(self, kid: int, n: float, values: Values | None) -> None:
        if not self.usable():
            return
        # ``with self.lock``, inlined: the common call with values comes here.
        guard = self.lock
        main = _get_ident() == MAIN_IDENT[0]
        if main:
            guard.main_inside += 1
        guard.lock.acquire()
        try:
            acc = self.main if kid == 0 else self.kids.get(kid)
            if acc is not None:
                acc.n += n
                if values:
                    acc.metrics.record(values, n if n >= 1 else 1)
        finally:
            guard.lock.release()
            if main:
                guard.main_inside -= 1
                main_left()

    def log(self, kid: int, values: Values | None, metrics: dict[str, Any]) -> None:
        if not self.usable():
            return
        with self.lock:
            acc = self.main if kid == 0 else self.kids.get(kid)
            if acc is None:
                return
            seen = acc.sent + acc.n
            weight = seen - acc.log_mark
            acc.log_mark = seen
            weight = weight if weight >= 1 else 1
            if values:
                acc.metrics.record(values, weight)
            if metrics:
                acc.metrics.record(metrics, weight)

    def event(self, event: tuple[Any, ...]) -> None:
        if not self.usable():
            return
        with self.lock:
            self.events.append(event)

    def open_kid(self, target: float | None, options: dict[str, Any]) -> int:
        if not self.usable():
            return -1
        with self.lock:
            cid = self.next_kid
            self.next_kid += 1
            self.kids[cid] = _Acc(self.names())
            self.events.append(("open", cid, target, options))
        return cid


def process_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists (None: unknown, taken as alive)."""
    if pid is None or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


_clients: dict[tuple[Any, ...], _Client] = {}
_clients_lock = threading.Lock()


def _client_for(spec: WorkerSpec) -> _Client:
    key = (spec.address, spec.family, spec.key)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _Client(spec)
        return client


class Handle:
    """Reports into a :class:`progbar.Progbar` from worker processes or threads.

    Get one with ``bar.handle()`` and pass it to workers (as a task argument, a
    ``Dataset`` attribute...): it pickles under fork, spawn and forkserver and opens
    nothing until first used in a process.  Calls are gathered in the worker and sent
    at most once per the bar's interval; the parent merges them exactly (counts,
    step-weighted means, last stateful values).  If the bar is closed or its process
    is gone, a handle does nothing, silently.
    """

    __slots__ = ("_spec", "_c")

    def __init__(self, spec: WorkerSpec | tuple[Any, ...]) -> None:
        self._spec = WorkerSpec(*spec)
        self._c: _Client | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._spec,))

    def __repr__(self) -> str:
        return f"<progbar.Handle {self._spec.address!r}>"

    def _client(self) -> _Client:
        c = self._c
        if c is None:
            c = self._c = _client_for(self._spec)
        return c

    def add(self, n: float = 1, values: Values | None = None) -> None:
        """``n`` more steps done; ``values`` as in ``Progbar.add``."""
        c = self._c
        if c is not None and c.live and values is None:
            # The hot path: one sum under the client's lock (``with c.lock``, inlined:
            # half the cost).  No clock, no I/O (the sender thread does those once per
            # interval).
            guard = c.lock
            main = _get_ident() == MAIN_IDENT[0]
            if main:
                guard.main_inside += 1
            guard.lock.acquire()
            try:
                c.main.n += n
            finally:
                guard.lock.release()
                if main:
                    guard.main_inside -= 1
                    main_left()
            return
        self._client().add(0, n, values)

    def log(self, values: Values | None = None, /, **metrics: Any) -> None:
        """Metrics for this worker's latest steps, as ``Progbar.log``."""
        self._client().log(0, values, metrics)

    def write(self, message: object) -> None:
        """A line printed above the parent's bar."""
        self._client().event(("write", 0, str(message)))

    def bar(self, target: float | None = None, **options: Any) -> ChildBar:
        """A child bar shown by the parent (in the parent's block), e.g. one per task.

        ``options`` are ``Progbar``'s, except ``file`` (the parent's stream is used)
        and ``clock``.  A context manager; ``close()`` ends its line.
        """
        unknown = set(options) - CHILD_OPTIONS
        if unknown:
            raise TypeError(
                f"a child bar takes Progbar's options except file and clock; got "
                f"{', '.join(sorted(unknown))}"
            )
        client = self._client()
        return ChildBar(client, client.open_kid(target, options))

    def flush(self) -> None:
        """Send what this process gathered now, instead of at the next interval."""
        c = self._client()
        if c.usable() and c.state is _LIVE:
            c.flush()

    def close(self) -> None:
        """Send what is pending now.  The handle stays usable (it holds nothing)."""
        self.flush()

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChildBar:
    """A bar driven from a worker and shown by the parent (``handle.bar(...)``)."""

    __slots__ = ("_c", "_id", "_closed")

    def __init__(self, client: _Client, cid: int) -> None:
        self._c = client
        self._id = cid
        self._closed = cid < 0

    def add(self, n: float = 1, values: Values | None = None) -> None:
        if not self._closed:
            self._c.add(self._id, n, values)

    def log(self, values: Values | None = None, /, **metrics: Any) -> None:
        if not self._closed:
            self._c.log(self._id, values, metrics)

    def write(self, message: object) -> None:
        if not self._closed:
            self._c.event(("write", self._id, str(message)))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._c.event(("close", self._id))

    def __enter__(self) -> ChildBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rebuild(spec: WorkerSpec) -> Handle:
    return Handle(spec)



def _flush_all_at_sigterm() -> None:
    for client in list(_clients.values()):
        client.final_flush(wait=SIGNAL_LOCK_WAIT)


def _main_inside_a_client() -> bool:
    """Whether the main thread is in (or waits for) any client's lock."""
    return any(c.lock.main_inside or c.send_lock.main_inside
               for c in list(_clients.values()))


sigterm.on_terminate(_flush_all_at_sigterm)
sigterm.on_main_inside(_main_inside_a_client)


def _close_quietly(conn: mpc.Connection) -> None:
    try:
        conn.close()
    except Exception:
        pass


def _after_fork_in_child() -> None:
    global _clients_lock
    _clients_lock = threading.Lock()
    for client in list(_clients.values()):
        conn = client.conn
        client.fresh()  # a fresh start: reconnect on first use, nothing inherited
        if conn is not None:
            _close_quietly(conn)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
