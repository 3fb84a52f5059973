"""Handles: progress from worker processes and threads into one bar (design.md,
"Workers, async code, Ray" and the two "Workers" sections after it).

Parent side.  The first ``bar.handle()`` starts a :class:`_Server` for that bar: a
listening Unix socket in a fresh private directory (``progbar-<pid>-<random>``, mode
0700, in ``$TMPDIR`` or a short system directory; loopback TCP where there are no Unix
sockets), a random 32-byte key, and one thread that accepts, reads and applies what
workers send with ``bar.merge`` (steps, exact metric sums) and ``bar.write``.  Each
accepted connection must answer a challenge (HMAC-SHA256 of fresh nonces under the
key, see _Stranger) within 2 s; the listener reads answers and then messages without
ever blocking on one peer, with ``Connection.send``'s framing: a peer stopped
mid-message keeps only its own bytes waiting.  Nothing from an unauthenticated peer
is unpickled.

Worker side.  A :class:`Handle` is a small picklable record (address, key, interval,
which metrics are averaged, the parent's pid).  It opens nothing until it is first
used in a process, and every handle for one bar in one process shares one
:class:`_Client`: calls add into it -- no clock read, no I/O -- and its thread sends
what gathered at most once per interval (the bar's), plus at once when asked.  The
first call only queues a connection on the parent's socket; that thread answers the
challenge, so no call waits for the parent.

Exactness.  What a worker holds leaves it however it ends: a
``multiprocessing.util.Finalize`` at its exit (also where a ``multiprocessing`` child
ends with ``os._exit``), the parent's ``close()`` asking live workers (``sync``), and a
SIGTERM handler (``Pool.__exit__`` terminates its workers) -- see _SigtermWatch.
"""

from __future__ import annotations

import _thread
import errno
import hmac
import os
import pickle
import re
import selectors
import shutil
import signal
import socket
import stat
import struct
import tempfile
import threading
import time
import weakref
from _thread import get_ident as _get_ident
from multiprocessing import AuthenticationError
from multiprocessing import connection as mpc
from multiprocessing import util as mputil

from ._counting import LOCK_FREE as _LOCK_FREE
from ._metrics import _Raw, as_pairs, coerce

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping

    from ._progbar import Progbar

    Values = Iterable[tuple[str, Any]] | Mapping[str, Any]

__all__ = ["Handle", "handle_for"]

_MIN_INTERVAL = 0.02  # a worker sends at most this often, whatever the bar's interval
_DRAIN_TIMEOUT = 5.0  # how long close() waits for live workers to answer
_JOIN_TIMEOUT = 5.0
# A peer that has not answered the challenge in this long (each read) is a stranger:
# it is dropped (a real client answers in milliseconds).
_HANDSHAKE_TIMEOUT = 2.0
# A worker's connect and handshake, at most: a parent that accepts nothing (out of
# descriptors, stopped) costs a worker's first call this long, never more.
_CONNECT_TIMEOUT = 3.0
_RETRY_FIRST = 0.05  # a worker that could not connect tries again after this, doubling
_RETRY_MAX = 1.0
_EXIT_WAIT = 2.0  # at exit, how long a worker waits for a removed socket to be made anew
_CHECK_EVERY = 0.25  # the listener checks that its socket file is still there
_SIGNAL_LOCK_WAIT = 0.5  # on SIGTERM, how long to wait for a lock another thread holds
# On SIGTERM, how long the main thread may take to run the handler before the process
# is ended anyway (it runs no bytecode: a long call in C).
_SIGTERM_GRACE = 2.0
_READ_SIZE = 65536
# sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs: keep well below.
_MAX_SOCKET_PATH = 100
_SHORT_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # where a too-long $TMPDIR falls back
# Options a worker may give a child bar (no file: it is the parent's; no clock).
_CHILD_OPTIONS = frozenset({
    "width", "verbose", "interval", "stateful_metrics", "stateless_metrics", "unit_name",
    "style", "dynamic", "color", "label", "leave", "desc", "total",
})


# ----------------------------------------------------------------------------- worker


class _Acc:
    """What a process has gathered for one bar (the parent's or a child) since the
    last send: steps, ``{name: [sum of v*w, sum of w]}`` and last stateful values.
    Weights are the core's: ``w = max(steps the values stand for, 1)``."""

    __slots__ = ("n", "sent", "totals", "last", "log_mark")

    def __init__(self) -> None:
        self.n: float = 0  # steps not sent yet
        self.sent: float = 0  # steps sent so far; seen = sent + n
        self.totals: dict[str, list[Any]] = {}
        self.last: dict[str, Any] = {}
        self.log_mark: float = 0

    def record(self, values: Values, weight: float, averaged: Callable[[str], bool]) -> None:
        pairs = as_pairs(values)
        totals = self.totals
        for name, value in pairs:
            name = name if type(name) is str else str(name)
            v = coerce(value)
            if isinstance(v, _Raw):
                self.last[name] = v.value
                totals.pop(name, None)
            elif averaged(name):
                entry = totals.get(name)
                try:
                    if entry is None:
                        totals[name] = [v * weight, weight]
                    else:
                        entry[0] = entry[0] + v * weight
                        entry[1] += weight
                except Exception:  # a value that cannot be summed: show it as passed
                    self.last[name] = value
            else:
                self.last[name] = v

    def take(self) -> tuple[float, dict[str, tuple[Any, float]], dict[str, Any]] | None:
        if not (self.n or self.totals or self.last):
            return None
        # Read and reset the count in one straight run (no call between): Handle.add
        # adds to it without the lock (see there).
        n = self.n
        self.n = 0
        out = (n, {k: (_plain(t), w) for k, (t, w) in self.totals.items()},
               {k: _plain(v) for k, v in self.last.items()})
        self.sent += n
        self.totals = {}
        self.last = {}
        return out


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
    _SigtermWatch), rather than find the lock taken and lose what it holds."""

    __slots__ = ("lock", "main_inside")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.main_inside = 0

    def enter(self, wait: float | None = None) -> bool:
        main = _get_ident() == _main_ident[0]
        if main:
            self.main_inside += 1
        ok = self.lock.acquire() if wait is None else self.lock.acquire(timeout=wait)
        if not ok and main:
            self.main_inside -= 1
        return ok

    def exit(self) -> None:
        self.lock.release()
        if _get_ident() == _main_ident[0]:
            self.main_inside -= 1
            if _sigterm is not None and _sigterm.deferred and not _main_inside():
                _sigterm.finish()

    def __enter__(self) -> None:
        self.enter()

    def __exit__(self, *exc: object) -> None:
        self.exit()


_main_ident = [threading.main_thread().ident]  # this process's main thread


def _main_inside() -> bool:
    """Whether the main thread is in (or waits for) any client's lock."""
    return any(c.lock.main_inside or c.send_lock.main_inside
               for c in list(_clients.values()))


_NEW, _LIVE, _RETRY, _DEAD = "new", "live", "retry", "dead"
# Failures to reach the parent that may pass (see _Client.attempt).
_PASSING = (FileNotFoundError, ConnectionRefusedError, TimeoutError, BlockingIOError,
            InterruptedError)


class _Client:
    """Everything one process sends to one bar, shared by all its handles."""

    def __init__(self, spec: tuple[Any, ...]) -> None:
        self.spec = spec
        address, family, key, interval, stateful, stateless = spec[:6]
        self.address = address
        self.family = family
        self.key = key
        self.owner: int | None = spec[6] if len(spec) > 6 else None  # the parent's pid
        self.interval = max(float(interval), _MIN_INTERVAL)
        self.stateful: frozenset[str] | None = stateful
        self.stateless: frozenset[str] | None = stateless
        self.fresh()

    def fresh(self) -> None:
        """Start over: a new process (after a fork) owns nothing it inherited."""
        self.lock = _Guard()
        self.send_lock = _Guard()
        self.start_lock = threading.Lock()
        self.main = _Acc()
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
        self.backoff = _RETRY_FIRST
        self.missing = False  # the last try found no socket (a temp cleaner removed it?)
        self.at_exit = False  # the exit flush is registered
        self.sending = False  # the sender thread runs

    def averaged(self, name: str) -> bool:
        if self.stateful is not None:
            return name not in self.stateful
        return self.stateless is not None and name in self.stateless

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
            _watch_sigterm(watcher=self.owner != os.getpid())
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
        if not _alive(self.owner):  # the parent is gone: nobody will ever listen
            self.die()
            return
        self.missing = isinstance(exc, FileNotFoundError)
        self.state = _RETRY
        self.live = False
        # An unanswered handshake already cost ``timeout``: wait longer.
        wait = _RETRY_MAX * 5 if isinstance(exc, TimeoutError) else self.backoff
        self.retry_at = time.monotonic() + wait
        self.backoff = min(self.backoff * 2, _RETRY_MAX)

    def start_sender(self) -> None:
        try:
            _start_raw_thread(self.run)
            self.sending = True
        except RuntimeError:  # interpreter shutting down: sends happen on close
            pass

    def connect(self, timeout: float) -> None:
        """Open the way to the parent (a transport overrides it: see progbar.transport).
        Here, only the socket's connect, which the kernel queues at once: the
        handshake is left to the first send (:meth:`authenticate`), so that a
        worker's first call does not wait on the parent (design.md, "Workers")."""
        self.sock = _open_socket(self.address, self.family, timeout)

    def authenticate(self) -> None:
        """The handshake of the connection :meth:`connect` opened, by whichever thread
        sends first (under ``send_lock``): the sender thread as it starts, or a flush
        at exit or on SIGTERM."""
        sock = self.sock  # kept there while it runs: final_flush waits longer then
        if sock is None:
            return
        try:
            self.conn = _authenticate(sock, self.key, _CONNECT_TIMEOUT)
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
                time.sleep(_RETRY_FIRST)
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
            return bool(self.events or _holds(self.main)
                        or any(_holds(acc) for acc in self.kids.values()))

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
        main = _get_ident() == _main_ident[0]
        if main:
            guard.main_inside += 1
        guard.lock.acquire()
        try:
            acc = self.main if kid == 0 else self.kids.get(kid)
            if acc is not None:
                acc.n += n
                if values:
                    acc.record(values, n if n >= 1 else 1, self.averaged)
        finally:
            guard.lock.release()
            if main:
                guard.main_inside -= 1
                if _sigterm is not None and _sigterm.deferred and not _main_inside():
                    _sigterm.finish()

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
                acc.record(values, weight, self.averaged)
            if metrics:
                acc.record(metrics, weight, self.averaged)

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
            self.kids[cid] = _Acc()
            self.events.append(("open", cid, target, options))
        return cid


def _holds(acc: _Acc) -> bool:
    return bool(acc.n or acc.totals or acc.last)


def _alive(pid: int | None) -> bool:
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


class _Framed:
    """``multiprocessing.connection``'s framing (a 4-byte length, then the bytes) over
    a socket with a timeout: what its challenge functions call, and no more."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(struct.pack("!i", len(data)) + bytes(data))

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        (size,) = struct.unpack("!i", self.read(4))
        if size < 0 or (maxlength is not None and size > maxlength):
            raise OSError("bad message length")
        return self.read(size)

    def read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)


def _open_socket(address: Any, family: str, timeout: float) -> socket.socket:
    """A connected socket to the parent's listener (queued in its backlog: the
    parent need not have accepted it), or the error, within ``timeout``."""
    fam = socket.AF_INET if family == "AF_INET" else socket.AF_UNIX
    sock = socket.socket(fam, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        return sock
    except BaseException:
        sock.close()
        raise


def _authenticate(sock: socket.socket, key: bytes, timeout: float) -> mpc.Connection:
    """The worker's half of the challenge (see _Stranger) on ``sock``, bounded: a
    parent that accepts nothing (out of file descriptors, stopped) makes this fail
    after ``timeout``, not hang.  A wrong key is ``AuthenticationError``; a parent
    that closed the connection unanswered, ``EOFError`` (it may pass: see
    _Client.authenticate).  The socket is the connection's, or closed."""
    try:
        sock.settimeout(timeout)
        framed = _Framed(sock)
        hello = framed.recv_bytes(len(_HELLO) + _NONCE)
        if len(hello) != len(_HELLO) + _NONCE or not hello.startswith(_HELLO):
            raise AuthenticationError("not a progbar listener")
        theirs, ours = hello[len(_HELLO):], os.urandom(_NONCE)
        framed.send_bytes(ours + _mac(key, b"worker", theirs, ours))
        proof = framed.recv_bytes(_MAC)
        if not hmac.compare_digest(proof, _mac(key, b"parent", theirs, ours)):
            raise AuthenticationError("the listener refused this handle's key")
        sock.settimeout(None)
        return mpc.Connection(sock.detach())
    except BaseException:
        sock.close()
        raise


# The challenge: the parent sends _HELLO and a fresh nonce; the worker answers with its
# own nonce and a MAC of both under the key; the parent checks it and answers with
# its own MAC of both (or _REFUSED).  Fresh nonces on both sides: nothing recorded
# can be replayed to either.
_HELLO = b"progbar-handle-1 "
_REFUSED = b"refused"
_NONCE = 32
_MAC = 32


def _mac(key: bytes, who: bytes, parent_nonce: bytes, worker_nonce: bytes) -> bytes:
    return hmac.digest(key, who + parent_nonce + worker_nonce, "sha256")


def _frame(data: bytes) -> bytes:
    """``Connection.send_bytes``'s framing: a 4-byte length, then the bytes."""
    return struct.pack("!i", len(data)) + data


_clients: dict[tuple[Any, ...], _Client] = {}
_clients_lock = threading.Lock()


def _start_thread(thread: threading.Thread) -> None:
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


def _start_raw_thread(run: Callable[[], None]) -> None:
    """``run`` in a new thread, SIGTERM blocked there (see _start_thread), without
    ``Thread.start()``'s wait for the thread to be scheduled: on a loaded machine
    (a pool of more workers than cores) that wait costs milliseconds."""
    mask = getattr(signal, "pthread_sigmask", None)
    old = mask(signal.SIG_BLOCK, {signal.SIGTERM}) if mask is not None else None
    try:
        _thread.start_new_thread(run, ())
    finally:
        if mask is not None:
            mask(signal.SIG_SETMASK, old)


def _client_for(spec: tuple[Any, ...]) -> _Client:
    key = spec[:3]
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

    def __init__(self, spec: tuple[Any, ...]) -> None:
        self._spec = spec
        self._c: _Client | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._spec,))

    def __repr__(self) -> str:
        return f"<progbar.Handle {self._spec[0]!r}>"

    def _client(self) -> _Client:
        c = self._c
        if c is None:
            c = self._c = _client_for(self._spec)
        return c

    def add(self, n: float = 1, values: Values | None = None) -> None:
        """``n`` more steps done; ``values`` as in ``Progbar.add``."""
        c = self._c
        if c is not None and c.live and values is None:
            # The hot path: one sum.  No clock, no I/O (the sender thread does those
            # once per interval).  With the GIL, ``main.n += n`` on an int or float is
            # one straight run that no thread switch splits (as Progbar.add's count,
            # see _progbar), and take() reads and resets it in one run too; a
            # free-threaded build takes the lock.
            if _LOCK_FREE and (type(n) is int or type(n) is float):
                c.main.n += n
            else:
                with c.lock:
                    c.main.n += n
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
        unknown = set(options) - _CHILD_OPTIONS
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


def _rebuild(spec: tuple[Any, ...]) -> Handle:
    return Handle(spec)


# ----------------------------------------------------------------------------- parent


class _Stranger:
    """A connection accepted and not yet authenticated: the challenge sent, the bytes
    of the answer read so far (never more than an answer holds), and when it must
    have answered.  Served by the listener's loop like a peer: no thread of its own,
    so a stranger that says nothing delays nobody."""

    __slots__ = ("nonce", "inbuf", "outbuf", "deadline")

    def __init__(self, deadline: float) -> None:
        self.nonce = os.urandom(_NONCE)
        self.inbuf = bytearray()
        self.outbuf = bytearray(_frame(_HELLO + self.nonce))
        self.deadline = deadline


class _Peer:
    """One worker connection as the parent sees it: its child bars, what it owes, and
    the bytes read or to write that do not make a whole message yet."""

    __slots__ = ("kids", "awaiting", "messages", "inbuf", "outbuf")

    def __init__(self) -> None:
        self.kids: dict[int, Progbar[Any]] = {}
        self.awaiting: int | None = None  # the sync sequence number not yet answered
        self.messages = 0
        self.inbuf = bytearray()
        self.outbuf = bytearray()

    def apply(self, bar: Progbar[Any], batch: tuple[Any, ...]) -> None:
        """Take in one batch: child bars' opens, their counts, writes and closes in
        the order the worker made them, then the parent bar's counts and metrics (a
        task usually closes its child bar, then counts itself done)."""
        main, kids, events = batch
        for event in events:
            if event[0] == "open":
                self.open(bar, event[1], event[2], event[3])
        for cid, got in kids.items():
            child = self.kids.get(cid)
            if child is not None:
                child.merge(*got)
        for event in events:
            kind = event[0]
            if kind == "write":
                target = bar if event[1] == 0 else self.kids.get(event[1])
                if target is not None:
                    target.write(event[2])
            elif kind == "close":
                child = self.kids.pop(event[1], None)
                if child is not None:
                    child.close()
        if main is not None:
            bar.merge(*main)

    def open(self, bar: Progbar[Any], cid: int, target: Any, options: dict[str, Any]) -> None:
        from ._progbar import Progbar

        options = {k: v for k, v in options.items() if k in _CHILD_OPTIONS}
        options.setdefault("style", bar.style)
        if bar.verbose == 0:
            options["verbose"] = 0
        else:
            options.setdefault("dynamic", bar.live)
        try:
            self.kids[cid] = Progbar(target, file=_file_of(bar), **options)
        except Exception:  # bad options from a worker: no child bar, nothing breaks
            pass

    def end(self) -> None:
        """The worker is gone: its child bars are ended where they stand."""
        kids, self.kids = self.kids, {}
        for child in kids.values():
            try:
                child.close()
            except Exception:
                pass


def _file_of(bar: Progbar[Any]) -> Any:
    """The ``file`` the parent bar was given (None: ``sys.stdout`` at each write), so
    that a child bar draws on the same stream and joins the parent's block."""
    return bar.file



_LISTEN, _WAKE = "listen", "wake"


class _Server:
    """The listener for one bar: accepts, authenticates, reads, applies, drains."""

    def __init__(self, bar: Progbar[Any]) -> None:
        self.pid = os.getpid()  # first: remove_dir() reads it on every way out
        self.dir: str | None = None
        self.bar = weakref.ref(bar)
        self.key = os.urandom(32)
        self.reported: set[str] = set()
        self.ident: tuple[int, int] | None = None  # the socket file we bound
        if hasattr(socket, "AF_UNIX"):
            self.family = "AF_UNIX"
            self.dir = _socket_dir()
            address: Any = os.path.join(self.dir, "bar")
            try:
                lsock = _listen(address)
                self.ident = _file_id(address)
            except OSError as exc:
                self.remove_dir()
                raise OSError(exc.errno or errno.EINVAL, f"progbar: cannot listen on {address}: "
                                         f"{exc.strerror or exc}", address) from None
        else:  # pragma: no cover - Windows
            self.family = "AF_INET"
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                lsock.bind(("127.0.0.1", 0))
                lsock.listen(128)
                lsock.setblocking(False)
            except BaseException:
                lsock.close()
                raise
            address = lsock.getsockname()
        self.address = address
        self.lsock = lsock
        self.lock = threading.Lock()
        self.strangers: dict[socket.socket, _Stranger] = {}  # not yet authenticated
        self.asks: list[threading.Event] = []
        self.stopping = False
        self.abandon = False  # stop waiting for a drain now (Ctrl-C in close())
        self.peers: dict[socket.socket, _Peer] = {}
        self.draining: int | None = None  # the sync sequence of a drain under way
        self.received = 0  # batches applied (tests count traffic with it)
        self.accept_at = 0.0  # after running out of descriptors: when to accept again
        self.accept_backoff = _RETRY_FIRST
        self.sel: selectors.BaseSelector | None = None
        try:
            self.wake_r, self.wake_w = socket.socketpair()
            self.wake_r.setblocking(False)
            self.thread = threading.Thread(target=self.run, name="progbar-handle-listen",
                                           daemon=True)
            _start_thread(self.thread)
        except BaseException:
            lsock.close()
            self.remove_dir()
            raise
        _servers_here.add(self)

    def spec(self, bar: Progbar[Any]) -> tuple[Any, ...]:
        stateful, stateless = bar.stateful_names
        return (self.address, self.family, self.key, bar.interval, stateful, stateless,
                self.pid)

    # -- the caller's side

    def poke(self) -> None:
        try:
            self.wake_w.send(b"\0")
        except OSError:
            pass

    def drain(self) -> None:
        """Take in everything workers already sent or hold (close()'s first step)."""
        if threading.current_thread() is self.thread or not self.thread.is_alive():
            return
        done = threading.Event()
        with self.lock:
            if self.stopping:
                return
            self.asks.append(done)
        self.poke()
        done.wait(_DRAIN_TIMEOUT + 1.0)

    def stop(self, wait: bool = True, abandon: bool = False) -> None:
        with self.lock:
            self.stopping = True
            self.abandon = self.abandon or abandon
        self.poke()
        if abandon or not wait:
            self.remove_dir()  # at once: the thread may not get to it (Ctrl-C, exit)
        if wait and threading.current_thread() is not self.thread:
            self.thread.join(_JOIN_TIMEOUT)

    def report(self, kind: str, message: str) -> None:
        """A fault that costs counts, said once on the bar's stream."""
        if kind in self.reported:
            return
        self.reported.add(kind)
        bar = self.bar()
        if bar is not None:
            try:
                bar.write(message)
            except Exception:
                pass

    # -- the listener thread

    def run(self) -> None:
        waiting: list[threading.Event] = []
        deadline = 0.0
        seq = 0
        next_check = time.monotonic() + _CHECK_EVERY
        try:
            sel = self.sel = selectors.DefaultSelector()
            sel.register(self.lsock, selectors.EVENT_READ, _LISTEN)
            sel.register(self.wake_r, selectors.EVENT_READ, _WAKE)
            while True:
                with self.lock:
                    asked, self.asks = self.asks, []
                    stopping = self.stopping
                    abandon = self.abandon
                if asked:
                    self.check_socket()  # a removal is seen by close() at the latest
                    seq += 1
                    if not waiting:
                        deadline = time.monotonic() + _DRAIN_TIMEOUT
                    waiting += asked
                    self.draining = seq  # peers authenticated from now on are asked too
                    self.accept()  # connections still in the backlog
                    for sock, peer in list(self.peers.items()):
                        self.sync(sock, peer, seq)
                now = time.monotonic()
                if self.accept_at and now >= self.accept_at:
                    self.accept()
                if now >= next_check:
                    self.check_socket()
                    next_check = now + _CHECK_EVERY
                wake_at = next_check
                if self.accept_at:
                    wake_at = min(wake_at, self.accept_at)
                for sock, stranger in list(self.strangers.items()):
                    if now >= stranger.deadline:  # no answer in time: a stranger indeed
                        self.drop(sock)
                    else:
                        wake_at = min(wake_at, stranger.deadline)
                if waiting:
                    owed = any(p.awaiting is not None for p in self.peers.values())
                    if (not self.strangers and not owed) or now >= deadline or abandon:
                        for event in waiting:
                            event.set()
                        waiting = []
                        self.draining = None
                    else:
                        wake_at = min(wake_at, deadline)
                if stopping and not waiting:
                    return
                timeout = max(wake_at - time.monotonic(), 0.0)
                for key, mask in sel.select(timeout):
                    if key.data is _LISTEN:
                        self.accept()
                    elif key.data is _WAKE:
                        try:
                            self.wake_r.recv(4096)
                        except OSError:
                            pass
                    else:
                        peer_sock: socket.socket = key.fileobj  # type: ignore[assignment]
                        if mask & selectors.EVENT_WRITE:
                            self.push(peer_sock, key.data)
                        if mask & selectors.EVENT_READ:
                            if peer_sock in self.peers:
                                self.receive(peer_sock, key.data)
                            elif peer_sock in self.strangers:
                                self.answer(peer_sock, key.data)
        except Exception:  # never raise out of the thread; close down quietly
            pass
        finally:
            for event in waiting:
                event.set()
            self.shutdown()

    def accept(self) -> None:
        while True:
            try:
                sock, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.short_of_descriptors()
                return
            if self.accept_at:  # descriptors again: back to waiting on the socket
                self.accept_at = 0.0
                self.accept_backoff = _RETRY_FIRST
                self.listen_again(True)
            stranger = self.strangers[sock] = _Stranger(time.monotonic() + _HANDSHAKE_TIMEOUT)
            try:
                sock.setblocking(False)
                if self.sel is not None:
                    self.sel.register(sock, selectors.EVENT_READ, stranger)
            except (OSError, ValueError):
                self.drop(sock)
                continue
            self.push(sock, stranger)

    def short_of_descriptors(self) -> None:
        """accept() failed for want of a descriptor.  The connection stays in the
        backlog and the socket stays readable: waiting on it would spin.  Stop
        watching it and try again later; the worker's handshake times out meanwhile
        and it tries again itself (what it holds is kept)."""
        if not self.accept_at:
            self.listen_again(False)
        self.accept_at = time.monotonic() + self.accept_backoff
        self.accept_backoff = min(self.accept_backoff * 2, _RETRY_MAX)
        self.report("descriptors", "progbar: out of file descriptors: workers cannot "
                    "connect until some are free; counts they cannot deliver are "
                    "missing from this bar")

    def listen_again(self, on: bool) -> None:
        sel = self.sel
        if sel is None:
            return
        try:
            if on:
                sel.register(self.lsock, selectors.EVENT_READ, _LISTEN)
            else:
                sel.unregister(self.lsock)
        except (KeyError, ValueError):
            pass

    def check_socket(self) -> None:
        """A temp cleaner may remove the socket directory under a long job: make it
        anew at the same path (workers that start later connect there), or say once
        that later workers cannot report."""
        if self.dir is None or self.ident is None or self.stopping:
            return
        try:
            if _file_id(self.address) == self.ident:
                return
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError:
            return
        try:
            try:
                os.mkdir(self.dir, 0o700)
            except FileExistsError:
                info = os.lstat(self.dir)
                if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
                        or stat.S_IMODE(info.st_mode) & 0o077):
                    raise OSError(errno.EEXIST, "not ours") from None
                if os.path.lexists(self.address):
                    raise OSError(errno.EEXIST, "not ours") from None
            lsock = _listen(self.address)
            ident = _file_id(self.address)
        except OSError:
            self.ident = None  # checked no more
            self.report("removed", f"progbar: the socket directory {self.dir} was removed "
                        "and cannot be made again; workers that start now cannot report "
                        "to this bar")
            return
        if not self.accept_at:
            self.listen_again(False)
        self.lsock.close()
        self.lsock, self.ident = lsock, ident
        if not self.accept_at:
            self.listen_again(True)

    def answer(self, sock: socket.socket, stranger: _Stranger) -> None:
        """Read a stranger's answer to the challenge, without blocking and never more
        than an answer holds; once whole, make it a peer or refuse it."""
        size = 4 + _NONCE + _MAC
        try:
            data = sock.recv(size - len(stranger.inbuf))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(sock)
            return
        buf = stranger.inbuf
        buf += data
        if len(buf) >= 4 and struct.unpack_from("!i", buf)[0] != _NONCE + _MAC:
            self.drop(sock)  # not a worker of ours: garbage, another protocol
            return
        if len(buf) < size:
            return
        theirs = bytes(buf[4:4 + _NONCE])
        if not hmac.compare_digest(bytes(buf[4 + _NONCE:]),
                                   _mac(self.key, b"worker", stranger.nonce, theirs)):
            try:
                sock.send(_frame(_REFUSED))  # a wrong key: the worker gives up
            except OSError:
                pass
            self.drop(sock)
            return
        del self.strangers[sock]
        peer = self.peers[sock] = _Peer()
        peer.outbuf += _frame(_mac(self.key, b"parent", stranger.nonce, theirs))
        if self.draining is not None:
            self.sync(sock, peer, self.draining)  # (pushes the proof before the sync)
        else:
            self.push(sock, peer)

    def sync(self, sock: socket.socket, peer: _Peer, seq: int) -> None:
        peer.awaiting = seq
        payload = pickle.dumps(("sync", seq))
        peer.outbuf += struct.pack("!i", len(payload)) + payload
        self.push(sock, peer)

    def push(self, sock: socket.socket, peer: _Peer | _Stranger) -> None:
        """Write what is owed to a peer without blocking; the rest when it can take it."""
        if peer.outbuf:
            try:
                sent = sock.send(peer.outbuf)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:  # gone: its EOF comes after whatever it sent
                peer.outbuf.clear()
                sent = 0
            del peer.outbuf[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if peer.outbuf else 0)
        if self.sel is not None:
            try:
                self.sel.modify(sock, events, peer)
            except (KeyError, ValueError):
                pass

    def receive(self, sock: socket.socket, peer: _Peer) -> None:
        """Read what the peer sent, without blocking, and apply each whole message.  A
        peer that stops mid-message only keeps its own bytes waiting here."""
        ended = False
        for _ in range(16):  # a bounded share: other peers are served in between
            try:
                data = sock.recv(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                ended = True
                break
            peer.inbuf += data
            if len(data) < _READ_SIZE:
                break
        if not self.take_messages(peer) or ended:
            self.drop(sock)

    def take_messages(self, peer: _Peer) -> bool:
        """Apply the whole messages in ``peer.inbuf`` (``Connection.send``'s framing:
        a 4-byte signed length, or -1 and an 8-byte one); False if it is malformed."""
        buf = peer.inbuf
        pos = 0
        try:
            while len(buf) - pos >= 4:
                (size,) = struct.unpack_from("!i", buf, pos)
                head = 4
                if size == -1:
                    if len(buf) - pos < 12:
                        break
                    (size,) = struct.unpack_from("!Q", buf, pos + 4)
                    head = 12
                elif size < 0:
                    return False
                end = pos + head + size
                if len(buf) < end:
                    break
                payload = bytes(buf[pos + head:end])
                pos = end
                self.apply(peer, payload)
        finally:
            del buf[:pos]
        return True

    def apply(self, peer: _Peer, payload: bytes) -> None:
        peer.messages += 1
        try:
            _, ack, batch = pickle.loads(payload)  # an authenticated peer's message
            bar = self.bar()
            if batch is not None and bar is not None:
                self.received += 1
                peer.apply(bar, batch)
            if ack is not None and ack == peer.awaiting:
                peer.awaiting = None
        except Exception:  # a malformed batch never ends the listener
            pass

    def drop(self, sock: socket.socket) -> None:
        self.strangers.pop(sock, None)
        peer = self.peers.pop(sock, None)
        if self.sel is not None:
            try:
                self.sel.unregister(sock)
            except (KeyError, ValueError):
                pass
        sock.close()
        if peer is not None:
            peer.end()

    def shutdown(self) -> None:
        for sock in list(self.peers) + list(self.strangers):
            self.drop(sock)
        with self.lock:
            self.stopping = True
        for obj in (self.lsock, self.wake_r, self.wake_w, self.sel):
            try:
                obj.close()  # type: ignore[union-attr]
            except Exception:
                pass
        self.remove_dir()
        _servers_here.discard(self)

    def remove_dir(self) -> None:
        if self.dir is not None and self.pid == os.getpid():
            shutil.rmtree(self.dir, ignore_errors=True)

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited sockets; the parent owns them."""
        self.pid = -1
        for sock in list(self.peers) + list(self.strangers):
            sock.close()
        for obj in (self.lsock, self.wake_r, self.wake_w):
            try:
                obj.close()
            except Exception:
                pass


def _listen(address: str) -> socket.socket:
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        lsock.bind(address)
        lsock.listen(128)
        lsock.setblocking(False)
    except BaseException:
        lsock.close()
        raise
    return lsock


def _file_id(path: str) -> tuple[int, int]:
    info = os.lstat(path)
    return (info.st_dev, info.st_ino)


# -- the socket directory: short enough, private, named with the pid, never left behind

_NAME = re.compile(r"progbar-(\d+)-[a-z0-9_]+\Z")
_scanned: set[str] = set()


def _socket_dir() -> str:
    """A fresh private directory (``mkdtemp``: mode 0700) for the socket, named
    ``progbar-<pid>-<random>``.  Where ``$TMPDIR`` is too long for a socket path, a
    short system directory is used instead; where none fits, one ``OSError``."""
    prefix = f"progbar-{os.getpid()}-"
    bases: list[str] = []
    for base in (tempfile.gettempdir(), *_SHORT_DIRS):
        if base not in bases and os.path.isdir(base):
            bases.append(base)
    tried = []
    for base in bases:
        probe = os.path.join(base, prefix + "x" * 8, "bar")
        if len(os.fsencode(probe)) > _MAX_SOCKET_PATH:
            tried.append(f"{base} (too long for a socket path)")
            continue
        _remove_stale(base)
        try:
            return tempfile.mkdtemp(prefix=prefix, dir=base)
        except OSError as exc:
            tried.append(f"{base} ({exc.strerror or exc})")
    where = tempfile.gettempdir()
    raise OSError(errno.ENAMETOOLONG, "progbar: no directory for the workers' socket: "
                  + "; ".join(tried or [where]), where)


def _remove_stale(base: str) -> None:
    """Remove what processes of this user that died unclosed (SIGKILL, a crash) left
    in ``base``: a ``progbar-<pid>-*`` directory whose process is gone and whose
    socket answers nobody.  Once per directory per process."""
    if base in _scanned:
        return
    _scanned.add(base)
    uid = os.getuid()
    me = os.getpid()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        found = _NAME.match(entry.name)
        if found is None:
            continue
        pid = int(found.group(1))
        if pid == me or _alive(pid):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            continue
        if _answers(os.path.join(entry.path, "bar")):
            continue  # a live listener (a process in another pid namespace)
        shutil.rmtree(entry.path, ignore_errors=True)


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            return False
        except OSError:
            return True
        return True


# -- SIGTERM: schedulers and Pool.terminate() stop processes with it


class _SigtermWatch:
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
                _start_thread(threading.Thread(target=self.watch, daemon=True,
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
        for client in list(_clients.values()):
            try:
                client.final_flush(wait=_SIGNAL_LOCK_WAIT)
            except Exception:
                pass
        for server in list(_servers_here):
            server.remove_dir()
        self.finished.set()

    def handler(self, signum: int, frame: Any) -> None:
        if _main_inside():
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


_sigterm: _SigtermWatch | None = None


def _watch_sigterm(watcher: bool) -> None:
    """Handle SIGTERM (see _SigtermWatch) -- only where nobody set a handler (the
    default action), and only from the main thread (Python's rule); ``watcher``: in a
    worker, with the watcher thread."""
    global _sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if _sigterm is None:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return  # the user's own handler (or SIG_IGN): theirs to run
            _sigterm = _SigtermWatch()
            signal.signal(signal.SIGTERM, _sigterm.handler)
        if watcher and signal.getsignal(signal.SIGTERM) == _sigterm.handler:
            _sigterm.start_watcher()
    except (ValueError, OSError, AttributeError):  # no SIGTERM here, an odd interpreter
        pass


def _close_quietly(conn: mpc.Connection) -> None:
    try:
        conn.close()
    except Exception:
        pass


# Per process: the bars that have a listener here, and what drains each bar on close.
_servers: weakref.WeakKeyDictionary[Progbar[Any], _Server] = weakref.WeakKeyDictionary()
_servers_here: weakref.WeakSet[_Server] = weakref.WeakSet()  # for SIGTERM: their directories
_drainers: weakref.WeakKeyDictionary[Progbar[Any], list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)
_servers_lock = threading.Lock()


def add_drainer(bar: Progbar[Any], drainer: Callable[[], None]) -> None:
    """Run ``drainer`` at the start of ``bar.close()`` (before its final line).

    The core's hook: ``close()`` calls the drain hook (``Progbar.set_drain_hook``).
    """
    with _servers_lock:
        drainers = _drainers.get(bar)
        if drainers is None:
            drainers = _drainers[bar] = []
            ref = weakref.ref(bar)

            def drain() -> None:
                target = ref()
                if target is None:
                    return
                with _servers_lock:
                    todo = list(_drainers.pop(target, ()))
                for fn in todo:
                    try:
                        fn()
                    except Exception:
                        pass

            bar.set_drain_hook(drain)
        drainers.append(drainer)


def handle_for(bar: Progbar[Any]) -> Handle:
    """The handle of ``bar`` (its listener starts on the first call)."""
    with _servers_lock:
        server = _servers.get(bar)
        if server is not None and not server.stopping:
            return Handle(server.spec(bar))
        if bar.closed or server is not None:
            return Handle((None, None, None, 1.0, frozenset(), None))
        server = _servers[bar] = _Server(bar)
    _watch_sigterm(watcher=False)
    weakref.finalize(bar, server.stop, False)  # a bar dropped unclosed (or at exit)

    def close_listener() -> None:
        try:
            server.drain()
        except BaseException:  # Ctrl-C while waiting for a worker: stop waiting now
            server.stop(wait=False, abandon=True)
            raise
        server.stop()

    add_drainer(bar, close_listener)
    return Handle(server.spec(bar))


def _after_fork_in_child() -> None:
    global _clients_lock, _servers_lock, _sigterm
    try:
        if _sigterm is not None:
            _sigterm.forget_after_fork()
            _sigterm = None
    finally:
        _unblock_after_fork()
    _main_ident[0] = threading.main_thread().ident
    _clients_lock = threading.Lock()
    _servers_lock = threading.Lock()
    for client in list(_clients.values()):
        conn = client.conn
        client.fresh()  # a fresh start: reconnect on first use, nothing inherited
        if conn is not None:
            _close_quietly(conn)
    for server in list(_servers.values()):
        server.forget_after_fork()
    _servers.clear()
    _drainers.clear()


# A pool may SIGTERM a worker it has just forked.  With our handler inherited, Python
# would catch the signal, then drop it (it clears pending signals after a fork, and
# the child's hook puts the default action back), or run it too late (a worker
# blocked on its queue's lock): the worker would outlive terminate(), which waits for
# it forever.  So SIGTERM is blocked in the forking thread across the fork; the child
# unblocks it once the default action is back, and a signal sent meanwhile ends it.
_fork_mask: list[Any] = []


def _before_fork() -> None:
    if _sigterm is not None and hasattr(signal, "pthread_sigmask"):
        _fork_mask.append(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}))


def _unblock_after_fork() -> None:
    if _fork_mask:
        signal.pthread_sigmask(signal.SIG_SETMASK, _fork_mask.pop())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_unblock_after_fork,
                        after_in_child=_after_fork_in_child)
