"""Watching a running job: ``progbar ls`` and ``progbar watch`` (design.md, "Watching a
job").

In the job, :func:`serve` is the ticker's turn (no thread of its own): once bars have
been running for two seconds (the ticker's rule), the process listens on a Unix socket
in a private per-user directory, and each round it accepts watchers, reads their hello
and sends each one the bars' state as one JSON line -- only while someone watches, so
nobody watching costs a bar nothing.  A watcher that stops reading is dropped (a send
never blocks the job); anything but the hello closes the connection.  The socket goes
at exit and on SIGTERM.

On the watcher's side, :func:`list_jobs` finds the jobs (every place one may have
published: the runtime directory and the usual temp directories), and :func:`watch`
draws one job's bars here until it ends or Ctrl-C.

Loaded only when a bar has run for a while (socket and JSON code are not paid for at
``import progbar``).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import tempfile
import time
from typing import Any, Callable, Iterable, Iterator

from ._display import shown_bars

__all__ = ["SEND_EVERY", "WatchError", "list_jobs", "serve", "socket_dirs", "watch",
           "watching"]

SEND_EVERY = 0.25  # seconds between two states sent to a watcher (the ticker's round then)
_HELLO = b"progbar-watch 1\n"
_MAX_LINE = 1 << 20  # a state larger than this is not a progbar state


class WatchError(Exception):
    """One clear line for the user (``progbar ls`` / ``watch``)."""


# --------------------------------------------------------------------------- places


def socket_dirs() -> list[str]:
    """Where this user's jobs may publish, the preferred place first: the runtime
    directory's ``progbar``, then ``progbar-<uid>`` in the temp directory and in the
    usual temp directories (a job started from cron or a scheduler often has another
    environment than the shell that looks for it) -- or only ``PROGBAR_WATCH_DIR``,
    where that is set."""
    chosen = os.environ.get("PROGBAR_WATCH_DIR", "").strip()
    if chosen:  # one place for all, chosen by the user (a shared scratch, a test)
        return [chosen]
    uid = os.getuid()
    found: list[str] = []
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        found.append(os.path.join(runtime, "progbar"))
    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        path = os.path.join(base, f"progbar-{uid}")
        if path not in found:
            found.append(path)
    return found


def private_dir(path: str, create: bool) -> str | None:
    """``path`` if it is a directory of this user's, open to nobody else and not a
    symlink (made so, 0700, when ``create`` and missing); None if missing; a
    :class:`WatchError` saying why if it exists but cannot be trusted."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
        info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise WatchError(f"{path} is not a directory (a symlink?): not used")
    if info.st_uid != os.getuid():
        raise WatchError(f"{path} belongs to another user: not used")
    if info.st_mode & 0o077:
        raise WatchError(f"{path} is open to other users: not used")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _peer_uid(sock: socket.socket) -> int | None:
    """The peer's uid (SO_PEERCRED, Linux), None where the system cannot tell."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    import struct

    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    except OSError:
        return None


# --------------------------------------------------------------------------- the job's side


class _Watcher:
    __slots__ = ("sock", "hello", "sent")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.hello = b""  # what it sent so far: the hello, then nothing
        self.sent = 0.0  # when it was last sent a state


class _Publisher:
    """This process's socket and its watchers (served from the ticker's thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self.started = time.time()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600
        try:
            self.server.bind(path)
        finally:
            os.umask(old)
        self.server.listen(64)
        self.server.setblocking(False)
        self.watchers: list[_Watcher] = []
        self.last_bars: list[dict[str, Any]] = []  # the bars as last sent
        self.known: list[Any] = []  # weak references to the bars shown, first seen first

    def round(self) -> None:
        self._accept()
        if not self.watchers:
            return  # nobody watching: no state is even made
        now = time.monotonic()
        due = [w for w in self._read_hellos() if now - w.sent >= SEND_EVERY]
        if not due:
            return
        line = (json.dumps(self.state(self._bars()), separators=(",", ":")) + "\n").encode()
        for watcher in due:
            self._send(watcher, line, now)

    def _bars(self) -> list[Any]:
        """The bars on the displays now; remembered (weakly) for the last state."""
        import weakref

        bars = shown_bars()
        known = [ref for ref in self.known if ref() is not None]
        seen = {id(ref()) for ref in known}
        known += [weakref.ref(bar) for bar in bars if id(bar) not in seen]
        self.known = known
        return bars

    def final_bars(self) -> list[Any]:
        """At the end: the bars still shown, else those shown last that still exist
        (their final state: a bar leaves its display when it ends)."""
        bars = shown_bars()
        if bars:
            return bars
        return [bar for bar in (ref() for ref in self.known) if bar is not None]

    def state(self, bars: Iterable[Any], ended: bool = False,
              stopped: str | None = None) -> dict[str, Any]:
        shown = []
        for bar in bars:
            view = bar.state(blocking=False)
            if view is not None:
                shown.append(view)
        if not shown and ended:  # the bars were done before the end: as last sent
            shown = self.last_bars
        self.last_bars = shown
        return {"pid": self.pid, "argv": sys.argv, "started": self.started,
                "ended": ended, "stopped": stopped, "bars": shown}

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            uid = _peer_uid(sock)
            if uid is not None and uid != os.getuid():
                sock.close()  # another user: never served (the 0700 directory stops them)
                continue
            sock.setblocking(False)
            self.watchers.append(_Watcher(sock))

    def _read_hellos(self) -> list[_Watcher]:
        """Watchers that said hello; anything else than the hello closes one."""
        ready = []
        for watcher in list(self.watchers):
            try:
                data = watcher.sock.recv(64)
                if not data:  # the watcher left
                    self._drop(watcher)
                    continue
                watcher.hello += data
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._drop(watcher)
                continue
            if len(watcher.hello) < len(_HELLO):
                if not _HELLO.startswith(watcher.hello):
                    self._drop(watcher)
                continue
            if watcher.hello != _HELLO:  # more than the hello: read-only, closed
                self._drop(watcher)
                continue
            ready.append(watcher)
        return ready

    def _send(self, watcher: _Watcher, line: bytes, now: float) -> None:
        try:
            sent = watcher.sock.send(line)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(watcher)
            return
        if sent < len(line):  # it stopped reading: dropped, the job never waits
            self._drop(watcher)
            return
        watcher.sent = now

    def _drop(self, watcher: _Watcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)
        try:
            watcher.sock.close()
        except OSError:
            pass

    def close(self, bars: Iterable[Any] = (), stopped: str | None = None) -> None:
        """The job ends (``stopped``: by that signal): watchers get the last state,
        marked ended; the socket goes."""
        if self.pid != os.getpid():
            return  # a forked child: the socket is the parent's
        try:
            if self.watchers:
                line = (json.dumps(self.state(bars, True, stopped)) + "\n").encode()
                for watcher in list(self.watchers):
                    self._send(watcher, line, 0.0)
                    self._drop(watcher)
        finally:
            try:
                self.server.close()
            finally:
                try:
                    os.unlink(self.path)
                    # the directory too, if no other job uses it: nothing left behind
                    os.rmdir(os.path.dirname(self.path))
                except OSError:
                    pass


_publisher: list[_Publisher] = []  # this process's, once it publishes
_refused: list[bool] = []  # publishing was tried and is off (said once)


def enabled() -> bool:
    """``PROGBAR_WATCH=0`` turns publishing off; so does a system without Unix sockets."""
    return os.environ.get("PROGBAR_WATCH", "").strip() != "0" and hasattr(socket, "AF_UNIX")


def watching() -> bool:
    """Is someone watching this process now?"""
    return bool(_publisher and _publisher[0].watchers)


def serve(on_main_thread: Callable[[Callable[[], None]], None]) -> None:
    """The ticker's turn, once bars have run for two seconds: publish (the first time),
    then serve the watchers the bars of every display.  ``on_main_thread(work)`` has
    ``work`` run on the main thread (the SIGTERM handler).  Never raises."""
    try:
        if not enabled():
            return
        if not _publisher:
            if _refused:
                return
            if _start() is None:
                return
            on_main_thread(_handle_sigterm)
        _publisher[0].round()
    except Exception:
        pass


def _start() -> _Publisher | None:
    """The socket of this process, in the first private directory that can be made."""
    for directory in socket_dirs():
        try:
            path = private_dir(directory, create=True)
        except WatchError as refused:
            _refused.append(True)
            _say(f"progbar: {refused} (progbar watch will not see this job)")
            return None
        if path is None:
            continue
        _remove_stale(path)
        try:
            publisher = _Publisher(os.path.join(path, f"{os.getpid()}.sock"))
        except OSError:
            continue
        _publisher.append(publisher)
        import atexit

        atexit.register(_close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_forget_in_child)
        return publisher
    _refused.append(True)
    return None


def _handle_sigterm() -> None:
    """On the main thread: SIGTERM (a scheduler's stop) sends the watchers the last
    state and removes the socket -- where SIGTERM has its default action (a program's
    own handler stays; see _workers.signals)."""
    from ._workers import signals

    signals.on_terminate(_close_terminated)
    signals.install(watcher=False)


def _close(stopped: str | None = None) -> None:
    if _publisher:
        publisher = _publisher.pop()
        publisher.close(publisher.final_bars() if publisher.watchers else (), stopped)


def _close_terminated() -> None:
    _close("SIGTERM")


def _forget_in_child() -> None:
    """A forked child does not serve its parent's socket (nor remove it)."""
    _publisher.clear()


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except Exception:
        pass


def _remove_stale(directory: str) -> None:
    """Sockets of this user's processes that are gone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        pid = _pid_of(name)
        if pid is not None and not _alive(pid):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _pid_of(name: str) -> int | None:
    stem, dot, ext = name.partition(".")
    if ext != "sock" or not stem.isdigit():
        return None
    return int(stem)


# --------------------------------------------------------------------------- the watcher's side


def _sockets() -> list[tuple[int, str]]:
    """(pid, socket path) of this user's live jobs, stale sockets removed."""
    found: dict[int, str] = {}
    problems = []
    for directory in socket_dirs():
        try:
            path = private_dir(directory, create=False)
        except WatchError as refused:
            problems.append(str(refused))
            continue
        if path is None:
            continue
        _remove_stale(path)
        try:
            names = sorted(os.listdir(path))
        except OSError:
            continue
        for name in names:
            pid = _pid_of(name)
            if pid is not None and pid not in found:
                found[pid] = os.path.join(path, name)
    for problem in problems:
        _say(f"progbar: {problem}")
    return sorted(found.items())


def _connect(path: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        uid = _peer_uid(sock)
        if uid is not None and uid != os.getuid():
            raise WatchError(f"{path} is served by another user: not read")
        sock.sendall(_HELLO)
    except OSError:
        sock.close()
        raise
    return sock


def _states(sock: socket.socket, pid: int) -> Iterator[dict[str, Any]]:
    """The job's states as they come; ends after the state marked ended.  A job that
    goes without one raises :class:`WatchError`."""
    buf = b""
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            raise WatchError(f"job {pid} ended without finishing its bars "
                             "(killed, or it crashed)")
        buf += data
        if len(buf) > _MAX_LINE and b"\n" not in buf:
            raise WatchError(f"job {pid}'s socket does not speak progbar's protocol")
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                state = json.loads(line)
                if not isinstance(state, dict) or not isinstance(state.get("bars"), list):
                    raise ValueError
            except ValueError:
                raise WatchError(
                    f"job {pid}'s socket does not speak progbar's protocol") from None
            yield state
            if state.get("ended"):
                return


def list_jobs(timeout: float = 2.0) -> list[dict[str, Any]]:
    """The state of each of this user's jobs with bars on this host (the ones that
    answer within ``timeout``)."""
    jobs = []
    for pid, path in _sockets():
        try:
            sock = _connect(path, timeout)
        except (OSError, WatchError):
            continue
        try:
            jobs.append(next(_states(sock, pid)))
        except (OSError, WatchError, StopIteration):
            pass
        finally:
            sock.close()
    return jobs


def pick_job(pid: int | None) -> tuple[int, str, str | None]:
    """The job to watch: ``pid``, or the only one, or the most recent (with a hint that
    names the others).  (pid, socket path, hint)."""
    jobs = _sockets()
    if pid is not None:
        for found, path in jobs:
            if found == pid:
                return found, path, None
        raise WatchError(f"no job {pid} with bars is running for this user on this host")
    if not jobs:
        raise WatchError("no job with bars is running for this user on this host")
    newest = max(jobs, key=lambda job: _started(job[1]))
    others = [str(found) for found, _ in jobs if found != newest[0]]
    hint = (f"watching job {newest[0]}, the most recent; the others: {', '.join(others)} "
            "(progbar watch PID)") if others else None
    return newest[0], newest[1], hint


def _started(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def watch(pid: int, path: str, out: Any, as_json: bool) -> int:
    """Draw job ``pid``'s bars on ``out`` until it ends (0) or goes (1)."""
    sock = _connect(path)
    sock.settimeout(1.0)
    drawn = 0
    live = not as_json and hasattr(out, "isatty") and out.isatty()
    state: dict[str, Any] = {}
    try:
        for state in _states(sock, pid):
            if as_json:
                out.write(json.dumps(state) + "\n")
                out.flush()
                continue
            lines = _lines(state, _columns(out) if live else None, live)
            if live:
                up = f"\x1b[{drawn - 1}A" if drawn > 1 else ""
                out.write(up + "\r" + "\x1b[J" + "\n".join(lines))
                drawn = len(lines)
                if state.get("ended"):
                    out.write("\n")
            elif state.get("ended"):
                out.write("\n".join(lines) + "\n")
            out.flush()
    finally:
        sock.close()
    if state.get("stopped"):
        raise WatchError(f"job {pid} was stopped by {state['stopped']}")
    return 0


def _columns(out: Any) -> int | None:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def _lines(state: dict[str, Any], columns: int | None, color: bool) -> list[str]:
    """The job's bars as lines here: the default style's line for each, fitted to this
    terminal (its label first)."""
    from . import _format as fmt

    out = []
    max_cells = columns - 1 if columns else None
    for bar in state["bars"]:
        rate = bar.get("rate")
        metrics = [(str(k), v if isinstance(v, (int, float, str)) else str(v))
                   for k, v in (bar.get("metrics") or {}).items()]
        snap = fmt.Snapshot(
            current=bar.get("current", 0), target=bar.get("target"),
            elapsed=bar.get("elapsed", 0.0), per_step=1.0 / rate if rate else 0.0,
            metrics=metrics, final=bar.get("state") == "done", unit=bar.get("unit", "step"),
            eta=bar.get("eta"))
        label = bar.get("label")
        head = fmt.clean_name(label) + " " if label else ""
        room = None if max_cells is None else max(max_cells - fmt.cell_width(head), 10)
        segs = fmt.format_default(snap, 30, fmt.UNICODE, room, with_bar=color)
        out.append(head + fmt.join_segments(segs, color))
    return out or ["(no bar running)"]
