"""Handles, the parent's side: the listener that takes worker handles' counts into a
bar (design.md, "Workers: the transport under faults").

The first ``bar.handle()`` starts a :class:`_Server` for that bar: a listening Unix
socket in a fresh private directory (``progbar-<pid>-<random>``, mode 0700, in
``$TMPDIR`` or a short system directory; loopback TCP where there are no Unix
sockets), a random 32-byte key, and one thread that accepts, reads and applies what
workers send with ``bar.merge`` (steps, exact metric sums) and ``bar.write``.  Each
accepted connection must answer the challenge (see ``wire``) within 2 s; the
listener reads answers and then messages without ever blocking on one peer, with
``Connection.send``'s framing: a peer stopped mid-message keeps only its own bytes
waiting.  Nothing from an unauthenticated peer is unpickled.  ``close()`` first asks
every live worker for what it holds (``sync``).
"""

from __future__ import annotations

import errno
import hmac
import os
import pickle
import re
import selectors
import shutil
import socket
import stat
import struct
import tempfile
import threading
import time
import weakref

from . import signals as sigterm
from .handle import CHILD_OPTIONS, RETRY_FIRST, RETRY_MAX, Handle, WorkerSpec, process_alive
from .signals import start_thread
from .wire import HELLO, MAC, NONCE, REFUSED, frame, listen, mac

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from .._progbar import Progbar

__all__ = ["add_drainer", "handle_for"]

_DRAIN_TIMEOUT = 5.0  # how long close() waits for live workers to answer
_JOIN_TIMEOUT = 5.0
# A connection that has not answered the challenge in this long is a stranger: it is
# dropped (a worker's sender thread answers in milliseconds).
_HANDSHAKE_TIMEOUT = 2.0
_CHECK_EVERY = 0.25  # the listener checks that its socket file is still there
_READ_SIZE = 65536
# sun_path holds 108 bytes on Linux, 104 on macOS and the BSDs: keep well below.
_MAX_SOCKET_PATH = 100
_SHORT_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # where a too-long $TMPDIR falls back


class _Stranger:
    """A connection accepted and not yet authenticated: the challenge sent, the bytes
    of the answer read so far (never more than an answer holds), and when it must
    have answered.  Served by the listener's loop like a peer: no thread of its own,
    so a stranger that says nothing delays nobody."""

    __slots__ = ("nonce", "inbuf", "outbuf", "deadline")

    def __init__(self, deadline: float) -> None:
        self.nonce = os.urandom(NONCE)
        self.inbuf = bytearray()
        self.outbuf = bytearray(frame(HELLO + self.nonce))
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
        options = {k: v for k, v in options.items() if k in CHILD_OPTIONS}
        options.setdefault("style", bar.style)
        if bar.verbose == 0:
            options["verbose"] = 0
        else:
            options.setdefault("dynamic", bar.live)
        try:
            # a bar of the parent's own class (this module never imports the bar's)
            self.kids[cid] = type(bar)(target, file=_file_of(bar), **options)
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
                lsock = listen(address)
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
        self.accept_backoff = RETRY_FIRST
        self.sel: selectors.BaseSelector | None = None
        try:
            self.wake_r, self.wake_w = socket.socketpair()
            self.wake_r.setblocking(False)
            self.thread = threading.Thread(target=self.run, name="progbar-handle-listen",
                                           daemon=True)
            start_thread(self.thread)
        except BaseException:
            lsock.close()
            self.remove_dir()
            raise
        _servers_here.add(self)

    def spec(self, bar: Progbar[Any]) -> WorkerSpec:
        stateful, stateless = bar.stateful_names
        return WorkerSpec(self.address, self.family, self.key, bar.interval, stateful,
                          stateless, self.pid)

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
                self.accept_backoff = RETRY_FIRST
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
        self.accept_backoff = min(self.accept_backoff * 2, RETRY_MAX)
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
            lsock = listen(self.address)
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
        size = 4 + NONCE + MAC
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
        if len(buf) >= 4 and struct.unpack_from("!i", buf)[0] != NONCE + MAC:
            self.drop(sock)  # not a worker of ours: garbage, another protocol
            return
        if len(buf) < size:
            return
        theirs = bytes(buf[4:4 + NONCE])
        if not hmac.compare_digest(bytes(buf[4 + NONCE:]),
                                   mac(self.key, b"worker", stranger.nonce, theirs)):
            try:
                sock.send(frame(REFUSED))  # a wrong key: the worker gives up
            except OSError:
                pass
            self.drop(sock)
            return
        del self.strangers[sock]
        peer = self.peers[sock] = _Peer()
        peer.outbuf += frame(mac(self.key, b"parent", stranger.nonce, theirs))
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
        if pid == me or process_alive(pid):
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
    sigterm.install(watcher=False)
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


def _remove_dirs_at_sigterm() -> None:
    for server in list(_servers_here):
        server.remove_dir()


sigterm.on_terminate(_remove_dirs_at_sigterm)


def _after_fork_in_child() -> None:
    global _servers_lock
    _servers_lock = threading.Lock()
    for server in list(_servers.values()):
        server.forget_after_fork()
    _servers.clear()
    _drainers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
