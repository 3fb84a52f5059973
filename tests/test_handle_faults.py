"""progbar.Handle under faults: dying workers, strangers, closed bars (design.md, "Workers, async code, Ray")."""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import pickle
import socket
import stat
import struct
import subprocess
import sys
import threading
from multiprocessing import connection as mpc

import pytest

import progbar
from progbar._workers import handle as _handle
from progbar._workers import listener as _listener
from progbar._workers import wire as _wire

sys.path.insert(0, os.path.dirname(__file__))
from support import handle_workers as w  # noqa: E402

fork_ok = pytest.mark.filterwarnings("ignore:This process .*fork:DeprecationWarning")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def new_bar(target: int | None = None, **kw: object) -> tuple[progbar.Progbar, io.StringIO]:
    out = io.StringIO()
    return progbar.Progbar(target, file=out, dynamic=False, **kw), out  # type: ignore[arg-type]


def close_within(bar: progbar.Progbar, seconds: float) -> None:
    """bar.close() must return: run it in a thread and fail (not hang) if it does not."""
    done = threading.Thread(target=bar.close, daemon=True)
    done.start()
    done.join(seconds)
    assert not done.is_alive(), "bar.close() hung"


def report_once(bar: progbar.Progbar, n: int) -> None:
    """A real worker process reports n steps (the listener still works)."""
    proc = mp.get_context("spawn").Process(target=w.add_steps, args=(bar.handle(), 0, n))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0


@fork_ok
def test_worker_killed_mid_run_never_hangs_the_parent() -> None:
    bar, out = new_bar(None, interval=3600)
    h = bar.handle()
    proc = mp.get_context("fork").Process(target=w.die_mid_run, args=(h,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 1
    close_within(bar, 30)
    lines = out.getvalue().splitlines()
    # what it sent before dying counts; its child bar is ended where it stood (2/10)
    assert any(" 2/10 " in f" {line} " for line in lines), lines
    assert lines[-1].strip().startswith("3 ")


@fork_ok
def test_worker_killed_in_a_pool_never_hangs_the_parent() -> None:
    import concurrent.futures as cf

    bar, _ = new_bar(None)
    h = bar.handle()
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as pool:
        future = pool.submit(w.die_mid_run, h)
        with pytest.raises(cf.process.BrokenProcessPool):
            future.result(60)
    close_within(bar, 30)
    assert bar.closed and bar.current == 3


def test_handle_used_after_its_bar_closed_does_nothing() -> None:
    bar, out = new_bar(10)
    h = bar.handle()
    h.add(1)
    bar.close()
    before = out.getvalue()
    w.use_after_close(h)  # same process: no error
    late = bar.handle()  # a handle asked for after close: also inert
    late.add(4)
    late.close()
    proc = mp.get_context("spawn").Process(target=w.use_after_close, args=(h,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert out.getvalue() == before and bar.current == 1


def test_wrong_key_and_raw_garbage_change_nothing(tmp_path: object) -> None:
    bar, out = new_bar(None)
    h = bar.handle()
    server = _listener._servers[bar]
    address, family = h._spec[0], h._spec[1]
    # A client with the wrong key is refused, and so is one that speaks
    # multiprocessing's own challenge; nothing either could send is read.
    with pytest.raises(mpc.AuthenticationError):
        _wire.authenticate(_wire.open_socket(address, family, 10), b"not the key", 10)
    with pytest.raises((mpc.AuthenticationError, AssertionError)):  # (3.11: an assert)
        mpc.Client(address, family, authkey=h._spec[2])
    # Raw bytes: a framed pickle that would create a file if it were ever unpickled,
    # then garbage, then a length header promising a huge message.
    marker = os.path.join(str(tmp_path), "unpickled")
    payload = b"c__builtin__\nopen\n(" + pickle.dumps(marker, 0)[:-1] + b"S'w'\ntR."
    for data in (struct.pack("!i", len(payload)) + payload, os.urandom(512),
                 struct.pack("!i", 2**31 - 1) + b"x" * 64):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(address)
            sock.sendall(data)
    # A stranger that connects and says nothing stalls neither workers nor close().
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.connect(address)
    try:
        report_once(bar, 7)
        assert server.thread.is_alive()
        close_within(bar, 30)
    finally:
        silent.close()
    assert not os.path.exists(marker)
    assert bar.current == 7 and out.getvalue().splitlines()[-1].strip().startswith("7 ")


def test_a_recorded_answer_is_refused_on_the_next_challenge() -> None:
    """Each challenge is fresh: what a worker answered once proves nothing later."""
    bar, _ = new_bar(None)
    h = bar.handle()
    address, family, key = h._spec[:3]
    sock = _wire.open_socket(address, family, 10)
    hello = _wire.Framed(sock).recv_bytes(100)
    nonce = os.urandom(_wire.NONCE)
    answer = nonce + _wire.mac(key, b"worker", hello[len(_wire.HELLO):], nonce)
    _wire.Framed(sock).send_bytes(answer)
    assert len(_wire.Framed(sock).recv_bytes(100)) == _wire.MAC  # accepted
    sock.close()
    replay = _wire.open_socket(address, family, 10)
    framed = _wire.Framed(replay)
    framed.recv_bytes(100)  # a new challenge
    framed.send_bytes(answer)  # the old answer
    assert framed.recv_bytes(100) == _wire.REFUSED
    replay.close()
    report_once(bar, 2)
    close_within(bar, 30)
    assert bar.current == 2


def test_a_workers_first_call_does_not_wait_for_the_parent(
        tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's connect is queued by the kernel; the challenge is its sender
    thread's.  A parent that accepts nothing (busy, out of descriptors) costs the
    worker's own calls nothing."""
    monkeypatch.setattr(_handle, "_CONNECT_TIMEOUT", 3600.0)  # a wait would be a hang
    path = os.path.join(str(tmp_path), "sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)  # never accepts
    h = _handle.Handle((path, "AF_UNIX", os.urandom(32), 0.05, None, None, os.getpid()))
    calls = threading.Thread(target=lambda: [h.add(1, [("loss", 0.5)]) for _ in range(3)],
                             daemon=True)
    calls.start()
    calls.join(30)
    try:
        assert not calls.is_alive(), "a worker's add() waited for the parent"
    finally:
        listener.close()


def test_a_worker_the_parent_dropped_mid_challenge_connects_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose sender thread got no turn before the parent gave up on its
    answer (a main thread in a long C call) connects again: no count lost."""
    bar, out = new_bar(None)
    h = bar.handle()
    server = _listener._servers[bar]
    monkeypatch.setattr(_handle._Client, "start_sender", lambda self: None)
    monkeypatch.setattr(_listener, "_HANDSHAKE_TIMEOUT", 0.2)  # the parent's patience
    h.add(1)  # connected, not answered: nobody answers for it
    client = h._client()
    assert client.sock is not None and client.conn is None
    for seen in (True, False):  # accepted as a stranger, then dropped after 0.2 s
        for _ in range(1500):
            if bool(server.strangers) is seen:
                break
            threading.Event().wait(0.02)
        assert bool(server.strangers) is seen
    monkeypatch.undo()
    h.flush()  # answers now: the parent hung up, so it will try again
    assert client.state == "retry"
    client.retry_at = 0.0
    h.add(2)  # connects again; the sender thread answers and sends
    close_within(bar, 30)
    assert bar.current == 3, out.getvalue()


def test_socket_directory_is_private_and_removed() -> None:
    bar, _ = new_bar(None)
    h = bar.handle()
    address = h._spec[0]
    directory = os.path.dirname(address)
    info = os.stat(directory)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert stat.S_ISSOCK(os.stat(address).st_mode)
    bar.close()
    assert not os.path.exists(directory)


def test_each_bar_has_its_own_random_key() -> None:
    a, _ = new_bar(None)
    b, _ = new_bar(None)
    ka, kb = a.handle()._spec[2], b.handle()._spec[2]
    assert len(ka) == 32 and ka != kb
    a.close()
    b.close()


PARENT = r"""
import sys, pickle, progbar
bar = progbar.Progbar(None, file=open('/dev/null', 'w'), dynamic=False)
sys.stdout.write(pickle.dumps(bar.handle()).hex() + '\n'); sys.stdout.flush()
sys.stdin.readline()  # killed while waiting here
"""

WORKER = r"""
import sys, pickle
h = pickle.loads(bytes.fromhex(sys.argv[1]))
h.add(1); h.flush()                      # connected to a live parent
print('connected', flush=True)
sys.stdin.readline()                     # the parent is killed meanwhile
for i in range(1000):
    h.add(1, [('loss', i)])
h.write('anyone?')
with h.bar(3) as child:
    child.add(3)
h.close()
print('done', flush=True)
"""


def test_worker_whose_parent_is_gone_goes_on_silently() -> None:
    import shutil

    env = dict(os.environ, PYTHONPATH=ROOT)
    with subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env) as parent:
        assert parent.stdout is not None
        handle_hex = parent.stdout.readline().strip()
        with subprocess.Popen([sys.executable, "-c", WORKER, handle_hex],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) as worker:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "connected"
            parent.kill()
            parent.wait(30)
            out, err = worker.communicate("go\n", timeout=60)
    assert worker.returncode == 0 and out.strip() == "done" and err == ""
    directory = os.path.dirname(pickle.loads(bytes.fromhex(handle_hex))._spec[0])
    shutil.rmtree(directory, ignore_errors=True)  # the killed parent could not


# --------------------------------------------------------------------------- socket directory


def long_tmpdir(tmp_path: object) -> str:
    path = os.path.join(str(tmp_path), "a-temporary-directory-with-a-long-name" * 3)
    os.makedirs(path)
    assert len(path) > 100
    return path


def progbar_dirs(base: str) -> list[str]:
    return [name for name in os.listdir(base) if name.startswith("progbar-")]


def test_long_tmpdir_falls_back_to_a_short_directory(tmp_path: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    long = long_tmpdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", long)
    bar, out = new_bar(None)
    h = bar.handle()
    directory = os.path.dirname(h._spec[0])
    assert not directory.startswith(long) and len(h._spec[0]) <= 100
    assert os.path.basename(directory).startswith(f"progbar-{os.getpid()}-")
    report_once(bar, 7)
    bar.close()
    assert bar.current == 7 and out.getvalue().splitlines()[-1].startswith("7 ")
    assert not os.path.exists(directory) and progbar_dirs(long) == []


def test_no_directory_fits_one_clear_oserror(tmp_path: object,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    long = long_tmpdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", long)
    monkeypatch.setattr(_listener, "_SHORT_DIRS", ())
    bar, _ = new_bar(None)
    with pytest.raises(OSError, match="progbar: no directory") as info:
        bar.handle()
    assert long in str(info.value)
    # A socket that cannot be bound (the length check passed): one OSError naming it.
    monkeypatch.setattr(_listener, "_MAX_SOCKET_PATH", 10_000)
    with pytest.raises(OSError, match="progbar: cannot listen on") as info:
        bar.handle()
    assert long in str(info.value) and info.value.__suppress_context__
    assert progbar_dirs(long) == []
    bar.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_later_start_removes_stale_directories(tmp_path: object,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    base = str(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", base)
    monkeypatch.setattr(_listener, "_scanned", set())
    stale = os.path.join(base, f"progbar-{dead_pid()}-k1lled0")
    os.mkdir(stale, 0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(os.path.join(stale, "bar"))  # a socket file nobody listens on
    alive = os.path.join(base, f"progbar-{os.getppid()}-running")  # a live process's
    os.mkdir(alive, 0o700)
    other = os.path.join(base, "progbar-not-ours")
    os.mkdir(other, 0o700)
    bar, _ = new_bar(None)
    bar.handle()
    assert not os.path.exists(stale)
    assert os.path.exists(alive) and os.path.exists(other)
    bar.close()
    assert sorted(progbar_dirs(base)) == sorted(["progbar-not-ours", os.path.basename(alive)])


def test_directory_removed_mid_run_is_made_again(tmp_path: object) -> None:
    import shutil

    bar, out = new_bar(None)
    h = bar.handle()
    directory = os.path.dirname(h._spec[0])
    report_once(bar, 2)
    shutil.rmtree(directory)  # a temp cleaner
    report_once(bar, 5)  # a worker that starts after: its counts still arrive
    bar.close()
    assert bar.current == 7 and out.getvalue().splitlines()[-1].startswith("7 ")
    assert not os.path.exists(directory)


def test_directory_removed_and_blocked_is_reported_once(tmp_path: object) -> None:
    import shutil

    bar, out = new_bar(None)
    h = bar.handle()
    directory = os.path.dirname(h._spec[0])
    shutil.rmtree(directory)
    with open(directory, "w"):  # something else took the path: it cannot be made again
        pass
    try:
        report_once(bar, 5)
        report_once(bar, 5)
        bar.close()
    finally:
        os.remove(directory)
    lines = out.getvalue().splitlines()
    assert sum("cannot be made again" in line for line in lines) == 1, lines


# --------------------------------------------------------------------------- stalled peers


def test_peer_stalled_mid_message_delays_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_listener, "_DRAIN_TIMEOUT", 1.0)
    bar, out = new_bar(None)
    h = bar.handle()
    address, family, key = h._spec[:3]
    stalled = _wire.authenticate(_wire.open_socket(address, family, 10), key, 10)
    # Half a message: a length header promising 100 bytes, then 10 of them.
    os.write(stalled.fileno(), struct.pack("!i", 100) + b"x" * 10)
    try:
        report_once(bar, 3)  # a new worker connects and its count arrives
        report_once(bar, 4)
        close_within(bar, 1.0 + 10)  # the drain timeout, and no more than it
    finally:
        stalled.close()
    assert bar.current == 7 and out.getvalue().splitlines()[-1].strip().startswith("7 ")


# --------------------------------------------------------------------------- descriptors

OUT_OF_FDS = r"""
import os, pickle, resource, subprocess, sys, time
import progbar
from progbar._workers import listener as _listener

WORKER = '''
import pickle, sys
h = pickle.loads(bytes.fromhex(sys.argv[1]))
sys.stdin.readline()
h.add(5)
h.close()
'''
bar = progbar.Progbar(None, file=sys.stdout, dynamic=False)
h = bar.handle()
worker = subprocess.Popen([sys.executable, "-c", WORKER, pickle.dumps(h).hex()],
                          stdin=subprocess.PIPE)
listener = _listener._servers[bar].thread
clock = time.pthread_getcpuclockid(listener.ident)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
cpu0, wall0 = time.clock_gettime(clock), time.monotonic()
worker.stdin.write(b"go\n")
worker.stdin.flush()
code = worker.wait(60)  # the worker never blocks for good
cpu, wall = time.clock_gettime(clock) - cpu0, time.monotonic() - wall0
for fd in held:
    os.close(fd)
bar.close()
print(f"worker={code} cpu={cpu:.3f} wall={wall:.3f}")
"""


def test_parent_out_of_descriptors_no_spin_no_hang_reported_once() -> None:
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", OUT_OF_FDS], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum("out of file descriptors" in line for line in lines) == 1, lines
    stats = dict(part.split("=") for part in lines[-1].split())
    assert stats["worker"] == "0"
    # A listener that spins burns a core for the whole wait; a waiting one, next to
    # nothing.  Half the wall time separates the two by far.
    assert float(stats["cpu"]) < 0.5 * float(stats["wall"]), lines[-1]


# --------------------------------------------------------------------------- signals

CTRL_C_IN_CLOSE = r"""
import os, pickle, signal, subprocess, sys, threading, time
sys.path.insert(0, {tests!r})
import progbar

bar = progbar.Progbar(10)
h = bar.handle()
print("dir=" + os.path.dirname(h._spec[0]))
code = "import pickle, sys; from support import handle_workers as w; w.stop_after_connecting(pickle.loads(bytes.fromhex(sys.argv[1])))"
worker = subprocess.Popen([sys.executable, "-c", code, pickle.dumps(h).hex()],
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)  # the pty ends with this script
print(f"worker={{worker.pid}}")
os.waitpid(worker.pid, os.WUNTRACED)  # connected, then stopped: it will never answer
bar.add(3)

def ctrl_c_while_close_waits():
    main = threading.main_thread().ident
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        frame, names = sys._current_frames().get(main), set()
        while frame is not None:
            names.add(frame.f_code.co_name)
            frame = frame.f_back
        if {{"close", "drain", "wait"}} <= names:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C
            return
        time.sleep(0.01)

threading.Thread(target=ctrl_c_while_close_waits, daemon=True).start()
bar.close()
"""


def test_ctrl_c_while_close_waits_for_a_worker() -> None:
    import signal

    from support.ptyscreen import run_on_pty

    tests = os.path.dirname(os.path.abspath(__file__))
    # A tall screen: the traceback's depth depends on where the signal lands, and its
    # first row must not scroll off.
    got = run_on_pty(CTRL_C_IN_CLOSE.format(tests=tests), rows=200, env={"PYTHONPATH": ROOT})
    text = got.text
    pid = int(text.split("worker=")[1].split()[0])
    os.kill(pid, signal.SIGKILL)
    directory = text.split("dir=")[1].split()[0]
    assert got.returncode == -signal.SIGINT  # KeyboardInterrupt went all the way out
    rows = got.nonblank()
    at = next(i for i, row in enumerate(rows) if row.startswith("Traceback"))
    assert rows[at - 1].strip().startswith("4/10"), rows  # the bar's final line, then a fresh line
    assert rows[-1] == "KeyboardInterrupt", rows
    assert not os.path.exists(directory)


SIGTERMED = r"""
import os, sys, progbar
bar = progbar.Progbar(None, file=open(os.devnull, "w"), dynamic=False)
h = bar.handle()
print(os.path.dirname(h._spec[0]), flush=True)
sys.stdin.readline()  # SIGTERM arrives while it waits here
"""


def test_sigterm_to_the_parent_leaves_no_directory() -> None:
    import signal

    env = dict(os.environ, PYTHONPATH=ROOT)
    with subprocess.Popen([sys.executable, "-c", SIGTERMED], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True, env=env) as parent:
        assert parent.stdout is not None
        directory = parent.stdout.readline().strip()
        assert os.path.isdir(directory)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(30) == -signal.SIGTERM  # still "killed by SIGTERM"
    assert not os.path.exists(directory)
