"""Handles: progress from worker processes and threads into one bar.

See design.md, "Workers, async code, Ray".

Parent side.  The first ``bar.handle()`` starts a :class:`_Server` for that bar: a
listening Unix socket in a fresh private directory (``mkdtemp``: mode 0700, so only
the same user can reach it; loopback TCP where there are no Unix sockets), a random
32-byte key, and one thread that accepts, authenticates and applies what workers
send with ``bar._merge`` (steps, exact metric sums) and ``bar.write``.  Each accepted
connection is authenticated by ``multiprocessing.connection``'s challenge in a
short thread of its own, so a stranger that connects and says nothing cannot stall
the listener; only an authenticated connection is ever read with ``recv()`` (which
unpickles).  Wrong keys and raw bytes are dropped with the connection.

Worker side.  A :class:`Handle` is a small picklable record (address, key, interval,
which metrics are averaged).  It opens nothing until it is first used in a process,
and every handle for one bar in one process shares one :class:`_Client`: calls add
into it under a lock -- no clock read, no I/O -- and its thread sends what gathered
at most once per interval (the bar's interval), plus at once when the parent asks.

Exactness.  Worker exits are covered by a ``multiprocessing.util.Finalize`` (it runs
at interpreter exit *and* when a ``multiprocessing`` child -- pool workers,
DataLoader workers, loky workers -- ends with ``os._exit`` after its run, where
``atexit`` does not run).  For workers still alive, the parent's ``close()`` first
calls the drain hook: the listener takes in every connection already made (a worker
connects, synchronously, on its first call, so any count that exists has one), asks
each for what it holds (``sync``) and waits for the answers or the connection's end,
at most ``_DRAIN_TIMEOUT`` seconds; only then is the final line drawn.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
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
# A peer that has not answered the challenge in this long is a stranger: a drain stops
# waiting for it and its socket is shut (a real client answers in milliseconds).
_HANDSHAKE_TIMEOUT = 2.0
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


_NEW, _LIVE, _DEAD = "new", "live", "dead"


class _Client:
    """Everything one process sends to one bar, shared by all its handles."""

    def __init__(self, spec: tuple[Any, ...]) -> None:
        self.spec = spec
        address, family, key, interval, stateful, stateless = spec
        self.address = address
        self.family = family
        self.key = key
        self.interval = max(float(interval), _MIN_INTERVAL)
        self.stateful: frozenset[str] | None = stateful
        self.stateless: frozenset[str] | None = stateless
        self.fresh()

    def fresh(self) -> None:
        """Start over: a new process (after a fork) owns nothing it inherited."""
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.start_lock = threading.Lock()
        self.main = _Acc()
        self.kids: dict[int, _Acc] = {}
        self.events: list[tuple[Any, ...]] = []
        self.next_kid = 1
        self.state = _NEW if self.address is not None else _DEAD
        self.live = False  # the fast path's test: connected and not dead
        self.conn: mpc.Connection | None = None
        self.sent_messages = 0
        self.pid = os.getpid()

    def averaged(self, name: str) -> bool:
        if self.stateful is not None:
            return name not in self.stateful
        return self.stateless is not None and name in self.stateless

    # -- starting and stopping

    def start(self) -> bool:
        """Connect on first use in this process; False when the bar cannot be reached."""
        with self.start_lock:
            if self.state is _NEW:
                try:
                    self.connect()
                except Exception:  # parent gone, bar closed, wrong key: go on silently
                    self.die()
                    return False
                self.state = _LIVE
                self.live = True
                mputil.Finalize(None, self.final_flush, exitpriority=50)
                thread = threading.Thread(target=self.run, name="progbar-handle-send",
                                          daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # interpreter shutting down: sends happen on close
                    pass
            return self.state is _LIVE

    def connect(self) -> None:
        self.conn = mpc.Client(self.address, self.family, authkey=self.key)

    def run(self) -> None:
        """The sender: waits an interval or for the parent's ``sync``, then sends."""
        conn = self.conn
        pid = self.pid
        try:
            while conn is not None and self.pid == pid and self.state is _LIVE:
                if conn.poll(self.interval):
                    msg = conn.recv()  # from the authenticated parent: ("sync", seq)
                    self.flush(msg[1])
                else:
                    self.flush()
        except Exception:  # EOF: the bar closed or the parent is gone -- go quiet
            if self.pid == pid:
                self.die()

    def die(self) -> None:
        self.state = _DEAD
        self.live = False
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def final_flush(self) -> None:
        """At process exit (interpreter exit or a ``multiprocessing`` child's end)."""
        if self.pid != os.getpid() or self.state is not _LIVE:
            return
        self.flush()
        with self.send_lock:
            self.die()

    # -- sending

    def take(self) -> tuple[Any, ...] | None:
        with self.lock:
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
        return (main, kids, events)

    def flush(self, ack: object = None) -> None:
        """Send what is pending (and the answer to a ``sync``), in order."""
        with self.send_lock:
            if self.state is not _LIVE:
                return
            batch = self.take()
            if batch is None and ack is None:
                return
            try:
                self.send(("batch", ack, batch))
            except Exception:
                self.die()

    def send(self, msg: tuple[Any, ...]) -> None:
        conn = self.conn
        if conn is None:
            raise OSError("not connected")
        conn.send(msg)
        self.sent_messages += 1

    # -- recording (the handle's slow path and child bars)

    def usable(self) -> bool:
        if self.live:
            return True
        if self.state is _NEW:
            return self.start()
        return False

    def add(self, kid: int, n: float, values: Values | None) -> None:
        if not self.usable():
            return
        with self.lock:
            acc = self.main if kid == 0 else self.kids.get(kid)
            if acc is None:
                return
            acc.n += n
            if values:
                acc.record(values, n if n >= 1 else 1, self.averaged)

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


_clients: dict[tuple[Any, ...], _Client] = {}
_clients_lock = threading.Lock()


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
        if c.state is _LIVE:
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


class _Peer:
    """One worker connection as the parent sees it: its child bars, what it owes."""

    __slots__ = ("kids", "awaiting", "messages")

    def __init__(self) -> None:
        self.kids: dict[int, Progbar[Any]] = {}
        self.awaiting: int | None = None  # the sync sequence number not yet answered
        self.messages = 0

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
                child._merge(*got)
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
            bar._merge(*main)

    def open(self, bar: Progbar[Any], cid: int, target: Any, options: dict[str, Any]) -> None:
        from ._progbar import Progbar

        options = {k: v for k, v in options.items() if k in _CHILD_OPTIONS}
        options.setdefault("style", bar.style)
        if bar.verbose == 0:
            options["verbose"] = 0
        else:
            options.setdefault("dynamic", bar._display.live)
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
    return bar._file


class _Server:
    """The listener for one bar: accepts, authenticates, applies, drains."""

    def __init__(self, bar: Progbar[Any]) -> None:
        self.bar = weakref.ref(bar)
        self.key = os.urandom(32)
        self.dir: str | None = None
        if hasattr(socket, "AF_UNIX"):
            self.dir = tempfile.mkdtemp(prefix="progbar-")  # mode 0700: this user only
            address: Any = os.path.join(self.dir, "bar")
            lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.family = "AF_UNIX"
        else:  # pragma: no cover - Windows
            address = ("127.0.0.1", 0)
            lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.family = "AF_INET"
        try:
            lsock.bind(address)
            lsock.listen(128)
            lsock.setblocking(False)
        except BaseException:
            lsock.close()
            self.remove_dir()
            raise
        self.address = lsock.getsockname() if self.family == "AF_INET" else address
        self.lsock = lsock
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.lock = threading.Lock()
        self.inbox: list[mpc.Connection] = []  # authenticated, not yet read by the loop
        self.handshakes: dict[mpc.Connection, float] = {}  # -> when it was accepted
        self.asks: list[threading.Event] = []
        self.stopping = False
        self.peers: dict[mpc.Connection, _Peer] = {}
        self.received = 0  # batches applied (tests count traffic with it)
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self.run, name="progbar-handle-listen",
                                       daemon=True)
        self.thread.start()

    def spec(self, bar: Progbar[Any]) -> tuple[Any, ...]:
        store = getattr(bar, "_store", None)
        stateful: frozenset[str] | None = getattr(store, "_stateful", frozenset())
        stateless = getattr(store, "_stateless", None)
        return (self.address, self.family, self.key, bar._interval, stateful, stateless)

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

    def stop(self, wait: bool = True) -> None:
        with self.lock:
            self.stopping = True
        self.poke()
        if wait and threading.current_thread() is not self.thread:
            self.thread.join(_JOIN_TIMEOUT)

    # -- the listener thread

    def run(self) -> None:
        waiting: list[threading.Event] = []
        deadline = 0.0
        seq = 0
        try:
            while True:
                with self.lock:
                    fresh, self.inbox = self.inbox, []
                    asked, self.asks = self.asks, []
                    stopping = self.stopping
                if asked:
                    seq += 1
                    if not waiting:
                        deadline = time.monotonic() + _DRAIN_TIMEOUT
                    waiting += asked
                    self.accept()  # connections still in the backlog
                    for conn, peer in list(self.peers.items()):
                        self.sync(conn, peer, seq)
                for conn in fresh:
                    peer = self.peers[conn] = _Peer()
                    if waiting:  # authenticated during a drain: it is asked too
                        self.sync(conn, peer, seq)
                wake_at = deadline
                if waiting:
                    now = time.monotonic()
                    with self.lock:
                        starts = list(self.handshakes.items())
                        handshaking = bool(self.inbox)
                    for conn, started in starts:
                        if now - started >= _HANDSHAKE_TIMEOUT:
                            _shut(conn)  # a silent stranger: its thread ends, it is dropped
                        else:
                            handshaking = True
                            wake_at = min(wake_at, started + _HANDSHAKE_TIMEOUT)
                    owed = any(p.awaiting is not None for p in self.peers.values())
                    if (not handshaking and not owed) or now >= deadline:
                        for event in waiting:
                            event.set()
                        waiting = []
                if stopping and not waiting:
                    return
                timeout = max(wake_at - time.monotonic(), 0.0) if waiting else None
                ready = mpc.wait([self.lsock, self.wake_r, *self.peers], timeout)
                for obj in ready:
                    if obj is self.lsock:
                        self.accept()
                    elif obj is self.wake_r:
                        try:
                            self.wake_r.recv(4096)
                        except OSError:
                            pass
                    else:
                        self.receive(obj)  # type: ignore[arg-type]
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
            except OSError:
                return
            sock.setblocking(True)
            conn = mpc.Connection(sock.detach())
            with self.lock:
                self.handshakes[conn] = time.monotonic()
            thread = threading.Thread(target=self.handshake, args=(conn,),
                                      name="progbar-handle-auth", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                with self.lock:
                    self.handshakes.pop(conn, None)
                conn.close()

    def handshake(self, conn: mpc.Connection) -> None:
        """multiprocessing's mutual challenge (as ``Listener.accept`` runs it): only
        ``recv_bytes`` with a small limit, never ``recv`` -- nothing is unpickled."""
        ok = False
        try:
            mpc.deliver_challenge(conn, self.key)
            mpc.answer_challenge(conn, self.key)
            ok = True
        except Exception:  # wrong key, garbage, a peer gone: drop it
            pass
        with self.lock:
            self.handshakes.pop(conn, None)
            if ok and not self.stopping:
                self.inbox.append(conn)
                conn = None  # type: ignore[assignment]
        if conn is not None:
            _close_quietly(conn)
        self.poke()

    def sync(self, conn: mpc.Connection, peer: _Peer, seq: int) -> None:
        peer.awaiting = seq
        try:
            conn.send(("sync", seq))
        except Exception:
            pass  # gone: its EOF arrives after whatever it sent

    def receive(self, conn: mpc.Connection) -> None:
        peer = self.peers[conn]
        try:
            msg = conn.recv()
        except Exception:  # EOF, a worker killed mid-message
            self.drop(conn)
            return
        peer.messages += 1
        try:
            _, ack, batch = msg
            bar = self.bar()
            if batch is not None and bar is not None:
                self.received += 1
                peer.apply(bar, batch)
            if ack is not None and ack == peer.awaiting:
                peer.awaiting = None
        except Exception:  # a malformed batch never ends the listener
            pass

    def drop(self, conn: mpc.Connection) -> None:
        peer = self.peers.pop(conn, None)
        _close_quietly(conn)
        if peer is not None:
            peer.end()

    def shutdown(self) -> None:
        for conn in list(self.peers):
            self.drop(conn)
        with self.lock:
            self.stopping = True
            pending = list(self.handshakes) + self.inbox
            self.inbox = []
        for conn in pending:  # wake handshake threads blocked on a silent stranger
            _shut(conn)
        for sock in (self.lsock, self.wake_r, self.wake_w):
            try:
                sock.close()
            except Exception:
                pass
        self.remove_dir()

    def remove_dir(self) -> None:
        if self.dir is not None and self.pid == os.getpid():
            shutil.rmtree(self.dir, ignore_errors=True)

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited sockets; the parent owns them."""
        self.pid = -1
        for conn in list(self.peers) + list(self.handshakes) + self.inbox:
            _close_quietly(conn)
        for sock in (self.lsock, self.wake_r, self.wake_w):
            try:
                sock.close()
            except Exception:
                pass


def _shut(conn: mpc.Connection) -> None:
    """Shut a connection's socket down: a thread blocked reading it sees EOF."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:
        pass


def _close_quietly(conn: mpc.Connection) -> None:
    try:
        conn.close()
    except Exception:
        pass


# Per process: the bars that have a listener here, and what drains each bar on close.
_servers: weakref.WeakKeyDictionary[Progbar[Any], _Server] = weakref.WeakKeyDictionary()
_drainers: weakref.WeakKeyDictionary[Progbar[Any], list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)
_servers_lock = threading.Lock()


def add_drainer(bar: Progbar[Any], drainer: Callable[[], None]) -> None:
    """Run ``drainer`` at the start of ``bar.close()`` (before its final line).

    The core's hook: ``close()`` calls ``bar._drain()`` when it is set.
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

            bar._drain = drain
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
    weakref.finalize(bar, server.stop, False)  # a bar dropped unclosed frees its listener

    def close_listener() -> None:
        server.drain()
        server.stop()

    add_drainer(bar, close_listener)
    return Handle(server.spec(bar))


def _after_fork_in_child() -> None:
    global _clients_lock, _servers_lock
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


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
